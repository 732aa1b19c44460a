"""`factory publish` / `unpublish` with real git against local bare repositories: a first
publish, no change (no commit), an update, a second machine, refused changes, removal."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import git
from .publish_helpers import (
    Publisher,
    branch_files,
    commits,
    directory_files,
    make_remote,
    publisher,
)

pytestmark = pytest.mark.integration
ALPHA = "alpha-1.0-py3-none-any.whl"
# Files every publish may rewrite: pages, the catalog and the factory's bookkeeping.
REWRITTEN = ("simple/", "projects/", "index.html", ".factory-manifest.json", "files/catalog.tsv")


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return make_remote(tmp_path / "remote.git")


@pytest.fixture
def first(tmp_path: Path) -> Publisher:
    machine = publisher(tmp_path / "a")
    machine.add("alpha", "1.0")
    machine.add("beta", "1.0", requires_python=">=3.9")
    log = machine.root / "builds" / "beta" / "1.0-0-ffffffffffff.log"
    log.parent.mkdir(parents=True)
    log.write_text("beta's build log\n")
    return machine


def kept(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """Paths published before that are missing or changed (apart from rewritten pages)."""
    return [
        path
        for path, data in before.items()
        if not path.startswith(REWRITTEN) and after.get(path) != data
    ]


def test_first_publish_is_one_self_contained_commit_and_the_site_dir(
    first: Publisher, remote: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    result = first.run("publish", remote, "--site-dir", str(site))
    assert result.returncode == 0, result.stderr
    assert f"published 2 wheels to {remote} gh-pages" in result.stdout
    assert len(commits(remote)) == 1
    files = branch_files(remote)  # refuses symbolic links
    wheelhouse = first.wheelhouse
    for name in (ALPHA, "beta-1.0-py3-none-any.whl"):
        for suffix in ("", ".metadata", ".build.json"):
            assert files[f"files/{name}{suffix}"] == (wheelhouse / f"{name}{suffix}").read_bytes()
    assert files["logs/beta/1.0-0-ffffffffffff.log"] == b"beta's build log\n"
    assert (
        b'href="../../files/alpha-1.0-py3-none-any.whl#sha256=' in files["simple/alpha/index.html"]
    )
    assert json.loads(files["simple/index.json"])["projects"] == [
        {"name": "alpha"},
        {"name": "beta"},
    ]
    assert not [
        p
        for p in files
        if p.rpartition("/")[2].startswith((".factory-lock", ".factory-journal", ".factory-tmp"))
    ]
    assert directory_files(site) == files  # the same tree, for upload-pages-artifact


def test_no_change_makes_no_commit_and_an_update_keeps_everything(
    first: Publisher, remote: Path, tmp_path: Path
) -> None:
    assert first.run("publish", remote).returncode == 0
    before = branch_files(remote)
    again = first.run("publish", remote)
    assert again.returncode == 0, again.stderr
    assert "is up to date" in again.stdout and len(commits(remote)) == 1
    first.add("gamma", "0.1")
    update = first.run("publish", remote, "--json")
    assert update.returncode == 0, update.stderr
    report = json.loads(update.stdout)
    assert report["pushed"] and report["added"] == ["gamma-0.1-py3-none-any.whl"]
    assert sorted(report["unchanged"]) == [ALPHA, "beta-1.0-py3-none-any.whl"]
    assert report["commit"] == commits(remote)[0]
    after = branch_files(remote)
    assert len(commits(remote)) == 2
    assert kept(before, after) == []
    assert "files/gamma-0.1-py3-none-any.whl" in after
    # Another machine with nothing but its own new wheel keeps all of it too.
    other = publisher(tmp_path / "b")
    other.add("delta", "2.0")
    result = other.run("publish", remote)
    assert result.returncode == 0, result.stderr
    final = branch_files(remote)
    assert kept(after, final) == []
    names = [p["name"] for p in json.loads(final["simple/index.json"])["projects"]]
    assert names == ["alpha", "beta", "delta", "gamma"]
    assert b"beta's build log" in final["logs/beta/1.0-0-ffffffffffff.log"]
    assert b"log</a>" in final["projects/beta.html"]  # the other machine's log still linked


def test_a_published_name_with_other_bytes_is_refused_and_the_remote_is_unchanged(
    first: Publisher, remote: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    assert first.run("publish", remote, "--site-dir", str(site)).returncode == 0
    head, before, site_before = commits(remote), branch_files(remote), directory_files(site)
    other = publisher(tmp_path / "b")
    other.add("alpha", "1.0", requires=("beta",))  # same name, other bytes
    other.add("zeta", "1.0")
    result = other.run("publish", remote, "--site-dir", str(site))
    assert result.returncode == 8
    assert result.stderr.splitlines()[-2:] == [
        f"ERROR: {ALPHA} is already published with other bytes; nothing was published and "
        "the remote is unchanged",
        "  hint: a published file name never gets new bytes: raise the recipe's build_number "
        "(`factory bump --rebuild PROJECT`: it becomes the wheel's build tag) and build again",
    ]
    assert "Traceback" not in result.stderr
    assert commits(remote) == head and branch_files(remote) == before
    assert directory_files(site) == site_before
    # The same bytes under the same name are nothing to do.
    same = publisher(tmp_path / "c")
    same.wheelhouse.mkdir()
    for path in first.wheelhouse.iterdir():
        shutil.copy(path, same.wheelhouse / path.name)
    result = same.run("publish", remote)
    assert result.returncode == 0 and "is up to date" in result.stdout
    assert commits(remote) == head


def test_unpublish_removes_with_the_reason_and_the_name_stays_taken(
    first: Publisher, remote: Path, tmp_path: Path
) -> None:
    first.add("alpha", "1.1")
    assert first.run("publish", remote).returncode == 0
    result = first.run("unpublish", remote, ALPHA, "--reason", "miscompiled <on K1>")
    assert result.returncode == 0, result.stderr
    assert f"removed {ALPHA} from {remote} gh-pages" in result.stdout
    files = branch_files(remote)
    assert not [p for p in files if p.startswith(f"files/{ALPHA}")]
    assert ALPHA.encode() not in files["simple/alpha/index.html"]
    assert b"alpha-1.1-py3-none-any.whl" in files["simple/alpha/index.html"]
    assert f"<li>{ALPHA}: miscompiled &lt;on K1&gt;</li>".encode() in files["projects/alpha.html"]
    hosting = json.loads(files["files/hosting.json"])
    assert hosting["removed"][ALPHA]["reason"] == "miscompiled <on K1>"
    # The wheel is still in the local wheelhouse: it is not published again.
    head = commits(remote)
    again = first.run("publish", remote)
    assert again.returncode == 0, again.stderr
    assert f"not published again (removed on purpose): {ALPHA}" in again.stdout
    assert commits(remote) == head
    # Removing it again is nothing to do; a name that is not published is one error.
    assert first.run("unpublish", remote, ALPHA, "--reason", "again").returncode == 0
    assert commits(remote) == head
    unknown = first.run("unpublish", remote, "nope-1.0-py3-none-any.whl", "--reason", "x")
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines()[0] == (
        "ERROR: nope-1.0-py3-none-any.whl is not published on gh-pages; nothing was changed"
    )
    assert commits(remote) == head


def test_a_project_whose_every_wheel_was_removed_keeps_its_page_with_the_reasons(
    first: Publisher, remote: Path
) -> None:
    assert first.run("publish", remote).returncode == 0
    result = first.run("unpublish", remote, ALPHA, "--reason", "miscompiled <on K1>")
    assert result.returncode == 0, result.stderr
    files = branch_files(remote)
    page = files["projects/alpha.html"].decode()
    assert f"<li>{ALPHA}: miscompiled &lt;on K1&gt;</li>" in page
    assert "0 files" in page
    assert b"alpha-1.0" not in files["simple/alpha/index.html"]  # pip finds nothing to install
    assert json.loads(files["simple/alpha/index.json"])["files"] == []
    assert b"projects/alpha.html" in files["index.html"]
    assert b"beta-1.0-py3-none-any.whl" in files["simple/beta/index.html"]


def test_bad_options_are_one_error_each(first: Publisher, remote: Path) -> None:
    big = first.run("publish", remote, "--asset-threshold", "200M")
    assert big.returncode == 2 and "above GitHub's limit" in big.stderr
    nonsense = first.run("publish", remote, "--asset-threshold", "lots")
    assert nonsense.returncode == 2 and "'lots' is not a size" in nonsense.stderr
    missing = first.run("publish", first.root / "no-such-remote.git")
    assert missing.returncode == 9
    assert "ERROR: git ls-remote" in missing.stderr and "Traceback" not in missing.stderr
    no_reason = first.run("unpublish", remote, ALPHA, "--reason", " ")
    assert no_reason.returncode == 2
    assert commits(remote) == []


def test_a_wheel_above_the_threshold_without_a_release_is_refused(
    first: Publisher, remote: Path
) -> None:
    first.add("huge", "1.0", payload=b"x" * 50_000)
    result = first.run("publish", remote, "--asset-threshold", "20K")
    assert result.returncode == 2
    assert "huge-1.0-py3-none-any.whl is" in result.stderr
    assert "it must become a release asset, which needs --release-repo" in result.stderr
    assert commits(remote) == []


def test_the_site_nearing_the_pages_limit_is_a_warning(first: Publisher, remote: Path) -> None:
    quiet = first.run("publish", remote)
    assert quiet.returncode == 0 and "WARNING" not in quiet.stderr
    total = sum(len(data) for data in branch_files(remote).values())
    near = first.run("publish", remote, "--pages-limit", str(int(total * 1.1)))
    assert near.returncode == 0, near.stderr
    # 91% of the limit, give or take the index's bookkeeping of this second run.
    share = re.search(r"WARNING: the site is [\d.]+ kB, (\d+)% of the", near.stderr)
    assert share is not None and 89 <= int(share.group(1)) <= 93, near.stderr
    assert "GitHub Pages serves: lower --asset-threshold soon" in near.stderr
    above = first.run("publish", remote, "--pages-limit", str(total // 2))
    assert above.returncode == 0, above.stderr
    assert "GitHub Pages serves: lower --asset-threshold" in above.stderr


def test_a_branch_with_pages_the_factory_did_not_write_is_refused(
    first: Publisher, remote: Path, tmp_path: Path
) -> None:
    handmade = tmp_path / "handmade"
    (handmade / "simple" / "alpha").mkdir(parents=True)
    (handmade / "simple" / "alpha" / "index.html").write_text("<a href='x.whl'>x</a>\n")
    git(handmade.parent, "init", "-q", "-b", "gh-pages", str(handmade))
    git(handmade, "add", "-A")
    git(handmade, "commit", "-q", "-m", "an index made by hand")
    git(handmade, "push", "-q", str(remote), "gh-pages")
    head = commits(remote)
    result = first.run("publish", remote)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "ERROR: refusing to write the index: gh-pages:simple/alpha/index.html already exists "
        "and was not written by the factory; nothing was changed",
        "  hint: the branch holds files the factory did not write: publish to a new branch "
        "(--branch) or remove them from gh-pages",
    ]
    assert commits(remote) == head
    elsewhere = first.run("publish", remote, "--branch", "riscv64-index")
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert len(commits(remote, "riscv64-index")) == 1 and commits(remote) == head


def test_yanks_are_published_and_kept_by_other_machines(
    first: Publisher, remote: Path, tmp_path: Path
) -> None:
    yanked = subprocess.run(
        [sys.executable, "-m", "factory", "yank", "--wheelhouse", str(first.wheelhouse),
         "alpha==1.0", "--reason", "segfaults on K1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert yanked.returncode == 0, yanked.stderr
    assert first.run("publish", remote).returncode == 0
    page = branch_files(remote)["simple/alpha/index.html"]
    assert b'data-yanked="segfaults on K1"' in page
    other = publisher(tmp_path / "b")
    other.add("delta", "1.0")
    assert other.run("publish", remote).returncode == 0
    files = branch_files(remote)
    assert b'data-yanked="segfaults on K1"' in files["simple/alpha/index.html"]
    assert json.loads(files["files/yanks.json"]) == {"yanked": {"alpha==1.0": "segfaults on K1"}}
