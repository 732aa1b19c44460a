"""Publishers racing, and publishes killed between steps: real git, local bare remotes.

A pre-receive hook on the remote holds one publisher's push until the test lets it go,
so the race is the same every run: the other publisher wins, the held one is refused,
fetches, re-applies its change on top and pushes again.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from factory.catalog import CatalogEntry, append_to_catalog

from .publish_helpers import (
    Publisher,
    branch_files,
    commits,
    directory_files,
    install_hook,
    make_remote,
    publisher,
)

pytestmark = pytest.mark.integration


def hold_pushes(remote: Path, gate: Path, matching: str, hook: str = "pre-receive") -> None:
    """Hold a push whose commit has a file matching ``matching`` until ``gate/released``
    exists (at most a minute); the hook's pid is in ``gate/pid`` meanwhile."""
    gate.mkdir()
    install_hook(
        remote,
        hook,
        f"""
while read old new ref; do
  if git ls-tree -r --name-only "$new" | grep -q '{matching}' && [ ! -e '{gate}/released' ]; then
    echo $$ > '{gate}/pid'
    touch '{gate}/waiting'
    n=0
    while [ ! -e '{gate}/released' ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done
  fi
done
exit 0
""",
    )


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"the publish ended before {path.name}: {stderr}")
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def catalog_names(files: dict[str, bytes]) -> list[str]:
    lines = files["files/catalog.tsv"].decode().splitlines()
    return [line.split("\t")[0] for line in lines if not line.startswith("#")]


@pytest.mark.parametrize("first_publish", [True, False], ids=["empty-remote", "published"])
def test_the_loser_of_a_race_publishes_on_top_of_the_winner(
    tmp_path: Path, first_publish: bool
) -> None:
    remote = make_remote(tmp_path / "remote.git")
    if not first_publish:
        base = publisher(tmp_path / "base")
        base.add("base", "1.0")
        assert base.run("publish", remote).returncode == 0
    slow, fast = publisher(tmp_path / "slow"), publisher(tmp_path / "fast")
    slow.add("alpha", "1.0")
    fast.add("beta", "1.0")
    gate = tmp_path / "gate"
    hold_pushes(remote, gate, "files/alpha-")
    held = slow.start("publish", remote)
    wait_for(gate / "waiting", held)
    winner = fast.run("publish", remote)
    assert winner.returncode == 0, winner.stderr
    (gate / "released").touch()
    _, stderr = held.communicate(timeout=120)
    assert held.returncode == 0, stderr
    assert "moved on while this publish ran (another publisher): publishing on top of it" in stderr
    files = branch_files(remote)
    expected = ["alpha-1.0-py3-none-any.whl", "beta-1.0-py3-none-any.whl"]
    if not first_publish:
        expected.append("base-1.0-py3-none-any.whl")
    assert sorted(catalog_names(files)) == sorted(expected)  # each once: nothing duplicated
    for name in expected:
        assert f"files/{name}" in files
        assert name.encode() in files[f"simple/{name.split('-')[0]}/index.html"]
    assert len(commits(remote)) == (2 if first_publish else 3)


def test_two_publishes_from_one_machine_take_turns(tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "remote.git")
    machine = publisher(tmp_path / "a")
    machine.add("alpha", "1.0")
    gate = tmp_path / "gate"
    hold_pushes(remote, gate, "files/alpha-")
    first = machine.start("publish", remote)
    wait_for(gate / "waiting", first)
    second = machine.start("publish", remote)
    deadline = time.monotonic() + 60
    waiting = ""
    assert second.stderr is not None
    while "waiting" not in waiting:  # the first line it writes
        assert time.monotonic() < deadline and second.poll() is None
        waiting += second.stderr.readline()
    assert (
        f"another factory publish to {remote} gh-pages is running here (pid {first.pid})" in waiting
    )
    (gate / "released").touch()
    for process in (first, second):
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    assert len(commits(remote)) == 1  # the second found it published


def test_three_publishers_at_once_all_end_up_published(tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "remote.git")
    machines = []
    for name in ("red", "green", "blue"):
        machine = publisher(tmp_path / name)
        machine.add(name, "1.0")
        machines.append(machine)
    running = [m.start("publish", remote, "--attempts", "10") for m in machines]
    for process in running:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    files = branch_files(remote)
    assert sorted(catalog_names(files)) == [
        "blue-1.0-py3-none-any.whl",
        "green-1.0-py3-none-any.whl",
        "red-1.0-py3-none-any.whl",
    ]
    assert len(commits(remote)) == 3


def kill(process: subprocess.Popen[str], how: signal.Signals) -> None:
    os.kill(process.pid, how)
    process.communicate(timeout=60)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "terminated"])
def test_killed_during_the_push_then_run_again(tmp_path: Path, how: signal.Signals) -> None:
    remote = make_remote(tmp_path / "remote.git")
    machine = publisher(tmp_path / "a")
    machine.add("alpha", "1.0")
    gate = tmp_path / "gate"
    hold_pushes(remote, gate, "files/alpha-")
    process = machine.start("publish", remote)
    wait_for(gate / "waiting", process)
    kill(process, how)
    if how == signal.SIGTERM:
        assert process.returncode == 130  # it stopped its git processes on the way out
    else:  # the machine died: the push died with it
        os.kill(int((gate / "pid").read_text()), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (gate / "pid").exists() and _alive(int((gate / "pid").read_text())):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert commits(remote) == []  # nothing half-published
    (gate / "released").touch()
    again = machine.run("publish", remote)
    assert again.returncode == 0, again.stderr
    assert len(commits(remote)) == 1
    assert catalog_names(branch_files(remote)) == ["alpha-1.0-py3-none-any.whl"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_killed_after_the_push_the_rerun_finishes_without_a_second_commit(
    tmp_path: Path,
) -> None:
    remote = make_remote(tmp_path / "remote.git")
    machine = publisher(tmp_path / "a")
    machine.add("alpha", "1.0")
    gate = tmp_path / "gate"
    hold_pushes(remote, gate, "files/alpha-", hook="post-receive")  # the branch has moved
    site = tmp_path / "site"
    process = machine.start("publish", remote, "--site-dir", str(site))
    wait_for(gate / "waiting", process)
    kill(process, signal.SIGKILL)
    os.kill(int((gate / "pid").read_text()), signal.SIGKILL)
    assert len(commits(remote)) == 1 and not site.exists()
    again = machine.run("publish", remote, "--site-dir", str(site))
    assert again.returncode == 0, again.stderr
    assert "is up to date" in again.stdout
    assert len(commits(remote)) == 1
    assert directory_files(site) == branch_files(remote)


def many_wheels(machine: Publisher, count: int) -> None:
    """Catalogued wheels with their .metadata (publishing reads neither wheel nor record)."""
    machine.wheelhouse.mkdir(parents=True)
    entries = []
    for number in range(count):
        name = f"project{number}"
        filename = f"{name}-1.0-py3-none-any.whl"
        content = f"wheel {number}".encode()
        (machine.wheelhouse / filename).write_bytes(content)
        (machine.wheelhouse / f"{filename}.metadata").write_bytes(b"Name: x\n")
        entries.append(
            CatalogEntry(
                filename,
                name,
                "1.0",
                hashlib.sha256(content).hexdigest(),
                len(content),
                hashlib.sha256(b"Name: x\n").hexdigest(),
                "",
                "2026-01-01T00:00:00+00:00",
                "",
            )
        )
    append_to_catalog(machine.wheelhouse, entries)


def test_killed_while_writing_the_site_then_run_again(tmp_path: Path) -> None:
    expected_remote = make_remote(tmp_path / "expected.git")
    machine = publisher(tmp_path / "a")
    many_wheels(machine, 300)
    assert machine.run("publish", expected_remote).returncode == 0
    remote = make_remote(tmp_path / "remote.git")
    process = machine.start("publish", remote)
    trees = machine.cache / "publish"
    deadline = time.monotonic() + 120
    while not list(trees.glob("*/tree/.factory-journal.json")):  # pages are being written
        assert process.poll() is None, "the publish finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    kill(process, signal.SIGKILL)
    assert commits(remote) == []
    again = machine.run("publish", remote)
    assert again.returncode == 0, again.stderr
    published, expected = branch_files(remote), branch_files(expected_remote)
    published.pop(".factory-manifest.json")  # holds the stamp of this machine's inputs
    expected.pop(".factory-manifest.json")
    assert published == expected
    assert len(commits(remote)) == 1
