"""`factory publish` with a wheel above the threshold: a release asset on the GitHub
stand-in, linked by URL with its hash and PEP 658 metadata; killed mid-upload; API errors."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .github_standin import Fault, GitHubStandIn, serve_standin
from .publish_helpers import Publisher, branch_files, commits, make_remote, publisher

pytestmark = pytest.mark.integration
TOKEN = "ghp_assetsTOKEN0123456789abcdefghijklmnopq"
BIG = "torchlet-2.0-py3-none-any.whl"


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    with serve_standin(GitHubStandIn(TOKEN)) as server:
        yield server


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)  # incompressible: the wheel is this large


def release_args(standin: GitHubStandIn) -> list[str]:
    return [
        "--asset-threshold",
        "50K",
        "--release-repo",
        standin.repo,
        "--github-api",
        standin.url,
    ]


def machine_with_big_wheel(root: Path, seed: int = 0) -> Publisher:
    machine = publisher(root)
    machine.add("alpha", "1.0", requires=("torchlet",))
    machine.add("torchlet", "2.0", payload=payload(120_000, seed))
    return machine


def uploads(standin: GitHubStandIn) -> int:
    return sum(1 for method, path in standin.requests if method == "POST" and "/uploads/" in path)


def test_a_large_wheel_is_a_release_asset_linked_by_url(
    standin: GitHubStandIn, tmp_path: Path
) -> None:
    remote = make_remote(tmp_path / "remote.git")
    machine = machine_with_big_wheel(tmp_path / "a")
    token = {"GITHUB_TOKEN": TOKEN}
    result = machine.run("publish", remote, *release_args(standin), extra_env=token)
    assert result.returncode == 0, result.stderr
    assert "1 in files/, 1 as release assets" in result.stdout
    files = branch_files(remote)
    wheel = machine.wheelhouse / BIG
    assert f"files/{BIG}" not in files  # too large for Pages: only on the release
    assert files[f"files/{BIG}.metadata"] == (machine.wheelhouse / f"{BIG}.metadata").read_bytes()
    assert f"files/{BIG}.build.json" in files
    assets = standin.assets()
    assert sorted(assets) == [BIG, f"{BIG}.build.json", f"{BIG}.metadata"]
    assert assets[BIG].data == wheel.read_bytes()
    assert assets[f"{BIG}.metadata"].data == files[f"files/{BIG}.metadata"]
    assert assets[f"{BIG}.build.json"].data == files[f"files/{BIG}.build.json"]
    url = f"{standin.url}/download/wheels/{BIG}"
    assert json.loads(files["files/hosting.json"])["hosted"] == {BIG: url}
    page = files["simple/torchlet/index.html"].decode()
    catalog = {
        line.split("\t")[0]: line.split("\t")
        for line in files["files/catalog.tsv"].decode().splitlines()
    }
    assert f'href="{url}#sha256={catalog[BIG][3]}"' in page
    assert f'data-core-metadata="sha256={catalog[BIG][5]}"' in page
    entry = json.loads(files["simple/torchlet/index.json"])["files"][0]
    assert entry["url"] == url and entry["hashes"]["sha256"] == catalog[BIG][3]
    human = files["projects/torchlet.html"].decode()
    assert f'<a href="{url}">' in human
    assert f'href="../files/{BIG}.build.json"' in human  # the record stays on Pages
    # Published again, or from another machine with the same bytes: nothing uploaded.
    before = uploads(standin)
    assert (
        "is up to date"
        in machine.run("publish", remote, *release_args(standin), extra_env=token).stdout
    )
    same = publisher(tmp_path / "b")
    same.wheelhouse.mkdir()
    for path in machine.wheelhouse.glob("torchlet*"):
        (same.wheelhouse / path.name).write_bytes(path.read_bytes())
    (same.wheelhouse / "catalog.tsv").write_bytes((machine.wheelhouse / "catalog.tsv").read_bytes())
    again = same.run("publish", remote, *release_args(standin), extra_env=token)
    assert again.returncode == 0 and "is up to date" in again.stdout, again.stderr
    assert uploads(standin) == before and len(commits(remote)) == 1


def test_the_same_asset_name_with_other_bytes_is_refused(
    standin: GitHubStandIn, tmp_path: Path
) -> None:
    remote = make_remote(tmp_path / "remote.git")
    token = {"GITHUB_TOKEN": TOKEN}
    first = machine_with_big_wheel(tmp_path / "a")
    assert first.run("publish", remote, *release_args(standin), extra_env=token).returncode == 0
    head = commits(remote)
    other = publisher(tmp_path / "b")
    other.add("torchlet", "2.0", payload=payload(120_000, seed=1))
    result = other.run("publish", remote, *release_args(standin), extra_env=token)
    assert result.returncode == 8
    assert f"ERROR: {BIG} is already published with other bytes" in result.stderr
    assert commits(remote) == head
    assert standin.assets()[BIG].data == (first.wheelhouse / BIG).read_bytes()


def test_unpublishing_a_hosted_wheel_deletes_its_assets(
    standin: GitHubStandIn, tmp_path: Path
) -> None:
    remote = make_remote(tmp_path / "remote.git")
    machine = machine_with_big_wheel(tmp_path / "a")
    token = {"GITHUB_TOKEN": TOKEN}
    assert machine.run("publish", remote, *release_args(standin), extra_env=token).returncode == 0
    result = machine.run(
        "unpublish", remote, BIG, "--reason", "too slow", *release_args(standin), extra_env=token
    )
    assert result.returncode == 0, result.stderr
    assert standin.assets() == {}
    files = branch_files(remote)
    hosting = json.loads(files["files/hosting.json"])
    assert hosting["hosted"] == {} and hosting["removed"][BIG]["reason"] == "too slow"
    assert not [path for path in files if BIG in path]
    assert json.loads(files["simple/torchlet/index.json"])["files"] == []  # its only wheel
    assert f"<li>{BIG}: too slow</li>" in files["projects/torchlet.html"].decode()


def test_killed_during_an_upload_then_run_again(standin: GitHubStandIn, tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "remote.git")
    machine = machine_with_big_wheel(tmp_path / "a")
    token = {"GITHUB_TOKEN": TOKEN}
    standin.fail("upload", Fault("hang"))
    process = machine.start("publish", remote, *release_args(standin), extra_env=token)
    assert standin.hanging.wait(timeout=120), process.communicate()
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    standin.release_hang.set()
    assert commits(remote) == [] and standin.assets()[BIG].state == "open"  # half uploaded
    again = machine.run("publish", remote, *release_args(standin), extra_env=token)
    assert again.returncode == 0, again.stderr
    assert "removing the incomplete upload" in again.stderr
    assets = standin.assets()
    # One of each: no duplicate.
    assert sorted(assets) == [BIG, f"{BIG}.build.json", f"{BIG}.metadata"]
    assert assets[BIG].data == (machine.wheelhouse / BIG).read_bytes()
    assert len(commits(remote)) == 1


def test_a_dropped_upload_and_a_5xx_are_retried(standin: GitHubStandIn, tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "remote.git")
    machine = machine_with_big_wheel(tmp_path / "a")
    standin.fail("find", Fault("status", 502))
    standin.fail("upload", Fault("drop-half"))
    result = machine.run(
        "publish", remote, *release_args(standin), extra_env={"GITHUB_TOKEN": TOKEN}
    )
    assert result.returncode == 0, result.stderr
    assert "502; trying again" in result.stderr and "was cut off" in result.stderr
    assert sorted(standin.assets()) == [BIG, f"{BIG}.build.json", f"{BIG}.metadata"]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (None, "answered 401: Bad credentials"),
        (Fault("status", 503, {"Retry-After": "0"}, times=100), "did not succeed in 6 attempts"),
        (
            Fault("status", 403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9999999999"}),
            "rate limit",
        ),
    ],
    ids=["bad-token", "5xx-always", "rate-limited-for-long"],
)
def test_api_failures_are_one_error_and_nothing_is_published(
    standin: GitHubStandIn, tmp_path: Path, fault: Fault | None, message: str
) -> None:
    remote = make_remote(tmp_path / "remote.git")
    machine = machine_with_big_wheel(tmp_path / "a")
    token = TOKEN if fault is not None else TOKEN + "-wrong"
    if fault is not None:
        standin.fail("find", fault)
    started = time.monotonic()
    result = machine.run(
        "publish", remote, *release_args(standin), extra_env={"GITHUB_TOKEN": token}
    )
    assert result.returncode == 9, result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(error) == 1 and message in error[0], result.stderr
    assert "Traceback" not in result.stderr
    assert commits(remote) == [] and standin.assets() == {}
    assert time.monotonic() - started < 60
