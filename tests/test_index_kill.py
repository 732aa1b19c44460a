"""`factory index` killed with SIGKILL halfway through a large run: the next run finishes it."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factory.catalog import CatalogEntry, append_to_catalog

pytestmark = pytest.mark.integration
PROJECTS = 3000  # enough for a run of about a second: long enough to be killed mid-way


def large_wheelhouse(wheelhouse: Path) -> None:
    """Catalogued wheels (the index reads their catalog lines, never the wheels)."""
    wheelhouse.mkdir()
    entries = []
    for number in range(PROJECTS):
        name = f"project{number}"
        filename = f"{name}-1.0-py3-none-any.whl"
        content = f"wheel {number}".encode()
        (wheelhouse / filename).write_bytes(content)
        (wheelhouse / f"{filename}.metadata").write_bytes(b"Name: x\n")
        entries.append(
            CatalogEntry(
                filename,
                name,
                "1.0",
                hashlib.sha256(content).hexdigest(),
                len(content),
                hashlib.sha256(b"Name: x\n").hexdigest(),
                ">=3.9",
                "2026-01-01T00:00:00+00:00",
                "",
            )
        )
    append_to_catalog(wheelhouse, entries)


def run_index(wheelhouse: Path, out: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "factory", "index", "--wheelhouse", str(wheelhouse)]
    return subprocess.Popen(
        [*argv, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def rendering(pid: int) -> list[int]:
    """The run's worker processes (it forks them when it renders this many projects),
    once each has used 50 ms of CPU: well past its first step, asking to die with it."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    workers = [int(child) for child in listed]
    return workers if workers and all(cpu_ticks(worker) >= 5 for worker in workers) else []


def stat_fields(pid: int) -> list[str]:
    # After the command name in parentheses: state, ppid, ... utime (12th), stime (13th).
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def cpu_ticks(pid: int) -> int:
    try:
        fields = stat_fields(pid)
    except FileNotFoundError:
        return 0
    return int(fields[11]) + int(fields[12])


def running(pid: int) -> bool:
    try:
        state = stat_fields(pid)[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited, and waits only for init to reap it


def pages(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith(".factory-")
    }


def test_kill_9_mid_run_then_the_next_run_completes_the_index(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    large_wheelhouse(wheelhouse)
    expected = tmp_path / "expected"
    assert run_index(wheelhouse, expected).wait(timeout=120) == 0
    out = tmp_path / "index"
    process = run_index(wheelhouse, out)
    journal = out / ".factory-journal.json"
    deadline = time.monotonic() + 60
    while not (journal.exists() and (workers := rendering(process.pid))):
        assert process.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    for pid in workers:  # stopped, a worker could only die of its parent's death
        os.kill(pid, signal.SIGSTOP)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert journal.exists() and not (out / ".factory-manifest.json").exists()  # mid-run
    deadline = time.monotonic() + 10
    try:
        while alive := [pid for pid in workers if running(pid)]:  # they die with the run
            assert time.monotonic() < deadline, f"worker processes {alive} outlived the run"
            time.sleep(0.01)
    finally:
        for pid in workers:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
    again = run_index(wheelhouse, out)
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr.decode()  # no lock left held by anyone
    assert pages(out) == pages(expected)
    assert not journal.exists() and not list(out.rglob(".factory-tmp.*"))
