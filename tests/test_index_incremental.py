"""A run after a change reads only what changed (the catalog from where the last run
stopped, the listing against the wheels it knew) and still gives the pages a fresh
index of the same wheelhouse gives: whatever happened to the wheelhouse in between."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from factory._fs import copy_atomically
from factory.catalog import CATALOG_FILE
from factory.errors import ConfigError
from factory.index import IndexOptions, IndexReport, generate_index
from factory.index.stamp import RACY_NS
from factory.index.yanks import yank

from .index_helpers import add_wheel

SIDE_FILES = ("", ".metadata", ".build.json")


def index(wheelhouse: Path, out: Path) -> IndexReport:
    return generate_index(IndexOptions(wheelhouse=wheelhouse, out=out))


def settle_then_index(wheelhouse: Path, out: Path) -> IndexReport:
    """Wait until the wheelhouse's last change is old enough to be trusted (stamp.py),
    then index: the next run may then take the catalog's word for what changed since."""
    time.sleep(RACY_NS / 1e9 + 0.02)
    return index(wheelhouse, out)


def pages(out: Path) -> dict[str, bytes]:
    """Every published page (not the bookkeeping, not what the links lead to)."""
    found = {}
    for directory, _, names in os.walk(out):  # does not follow files/ into the wheelhouse
        for name in names:
            path = Path(directory, name)
            if not name.startswith(".factory") and not path.is_symlink():
                found[str(path.relative_to(out))] = path.read_bytes()
    return found


def assert_same_as_a_fresh_index(wheelhouse: Path, out: Path, fresh: Path) -> None:
    shutil.rmtree(fresh, ignore_errors=True)
    index(wheelhouse, fresh)
    assert pages(out) == pages(fresh)


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    house = tmp_path / "wheelhouse"
    for name, version in (("alpha", "1.0"), ("alpha", "1.1"), ("beta", "1.0"), ("gamma", "0.1")):
        add_wheel(house, tmp_path / "scratch", name, version)
    return house


def remove_by_hand(wheelhouse: Path, wheel: str) -> None:
    for suffix in SIDE_FILES:
        (wheelhouse / f"{wheel}{suffix}").unlink()


def test_each_kind_of_change_gives_the_pages_of_a_fresh_index(
    wheelhouse: Path, tmp_path: Path
) -> None:
    out, scratch, kept = tmp_path / "index", tmp_path / "more", tmp_path / "kept"
    gamma = "gamma-0.1-py3-none-any.whl"
    index(wheelhouse, out)
    kept.mkdir()
    for suffix in SIDE_FILES:
        shutil.copy2(wheelhouse / f"{gamma}{suffix}", kept)
    remove_by_hand(wheelhouse, gamma)
    index(wheelhouse, out)
    assert "gamma" not in (out / "simple/index.html").read_text()

    def put_gamma_back() -> None:  # its old catalog line, before where the last run stopped
        for suffix in SIDE_FILES:
            shutil.copy2(kept / f"{gamma}{suffix}", wheelhouse)

    def delete_by_hand_then_add() -> None:
        remove_by_hand(wheelhouse, "beta-1.1-py3-none-any.whl")
        add_wheel(wheelhouse, scratch, "beta", "1.2")

    changes: dict[str, Callable[[], object]] = {
        "a wheel added": lambda: add_wheel(wheelhouse, scratch, "beta", "1.1"),
        "a new project": lambda: add_wheel(wheelhouse, scratch, "delta", "2.0"),
        "a wheel deleted by hand": lambda: remove_by_hand(wheelhouse, "alpha-1.0-py3-none-any.whl"),
        "a wheel deleted by hand, then one added": delete_by_hand_then_add,
        "a wheel put back by hand": put_gamma_back,
        "a yank": lambda: yank(wheelhouse, "beta==1.0", "broken"),
        "a project's last wheel deleted": lambda: remove_by_hand(
            wheelhouse, "delta-2.0-py3-none-any.whl"
        ),
    }
    for what, change in changes.items():
        change()
        report = settle_then_index(wheelhouse, out)
        assert report.written, what  # the change is published
        assert_same_as_a_fresh_index(wheelhouse, out, tmp_path / "fresh")
    assert "gamma-0.1" in (out / "simple/gamma/index.html").read_text()
    assert "alpha-1.0" not in (out / "simple/alpha/index.html").read_text()
    assert "beta-1.1" not in (out / "simple/beta/index.html").read_text()
    assert not (out / "simple/delta").exists()


def test_wheels_the_factory_added_are_found_without_listing_the_wheelhouse(
    wheelhouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "index"
    settle_then_index(wheelhouse, out)
    add_wheel(wheelhouse, tmp_path / "more", "beta", "1.1")
    add_wheel(wheelhouse, tmp_path / "more", "delta", "2.0")
    listdir = os.listdir

    def no_wheelhouse_listing(path: str | os.PathLike[str] = ".") -> list[str]:
        assert Path(path) != wheelhouse, "the wheelhouse was listed"
        return listdir(path)

    monkeypatch.setattr(os, "listdir", no_wheelhouse_listing)
    report = index(wheelhouse, out)
    monkeypatch.undo()
    assert report.rendered == ("beta", "delta")
    assert_same_as_a_fresh_index(wheelhouse, out, tmp_path / "fresh")


def test_a_wheel_deleted_by_hand_while_the_factory_adds_one_is_noticed(
    wheelhouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "index"
    settle_then_index(wheelhouse, out)

    def delete_alpha_then_copy(*args: object, **kwargs: object) -> None:
        remove_by_hand(wheelhouse, "alpha-1.0-py3-none-any.whl")  # between two of its writes
        copy_atomically(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("factory.wheelhouse.copy_atomically", delete_alpha_then_copy)
    add_wheel(wheelhouse, tmp_path / "more", "beta", "1.1")
    monkeypatch.undo()
    index(wheelhouse, out)
    assert "alpha-1.0" not in (out / "simple/alpha/index.html").read_text()
    assert "beta-1.1" in (out / "simple/beta/index.html").read_text()
    assert_same_as_a_fresh_index(wheelhouse, out, tmp_path / "fresh")


def test_a_replaced_catalog_is_read_again_whole(wheelhouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    catalog = wheelhouse / CATALOG_FILE
    # Rewritten with the same lines in another order (e.g. restored from a backup): a
    # new inode, and the offsets the last run remembered point elsewhere.
    header, *lines = catalog.read_text().splitlines(keepends=True)
    replacement = wheelhouse / "catalog.new"
    replacement.write_text(header + "".join(reversed(lines)))
    replacement.replace(catalog)
    add_wheel(wheelhouse, tmp_path / "more", "beta", "1.1")
    index(wheelhouse, out)
    assert_same_as_a_fresh_index(wheelhouse, out, tmp_path / "fresh")


def test_a_cut_catalog_is_noticed_and_refused(wheelhouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    before = pages(out)
    catalog = wheelhouse / CATALOG_FILE
    text = catalog.read_text()
    with open(catalog, "r+") as handle:  # same inode, shorter: gamma's line is gone
        handle.truncate(len(text[: text.index("\ngamma-0.1") + 1].encode()))
    with pytest.raises(ConfigError) as error:
        index(wheelhouse, out)
    assert "gamma-0.1-py3-none-any.whl: a wheel without a line in" in error.value.message
    assert pages(out) == before


def test_an_index_written_before_the_wheel_shards_is_brought_up_to_date(
    wheelhouse: Path, tmp_path: Path
) -> None:
    """Published branches carry a manifest of the previous format (4: each project's
    wheel list inside it): the next run re-renders from the whole wheelhouse, once,
    instead of refusing the index it wrote itself."""
    out = tmp_path / "index"
    index(wheelhouse, out)
    manifest = out / ".factory-manifest.json"
    header_line, *lines = manifest.read_text().splitlines()
    header = json.loads(header_line)
    header["format"] = 4
    stored = {}
    for shard in (out / ".factory-wheels").iterdir():
        for line in shard.read_text().splitlines():
            name, names, offsets = line.split("\t")
            stored[name] = (names, offsets)
    old_lines = []
    for line in lines:  # name, digest, files, row, wheel names, their offsets
        name, _, _, files, row = line.split("\t")
        old_lines.append("\t".join([name, "0" * 64, files, row, *stored[name]]) + "\n")
    manifest.write_text(json.dumps(header) + "\n" + "".join(old_lines))
    shutil.rmtree(out / ".factory-wheels")
    add_wheel(wheelhouse, tmp_path / "more", "beta", "1.1")

    report = index(wheelhouse, out)

    assert sorted(report.rendered) == ["alpha", "beta", "gamma"]
    assert json.loads(manifest.read_text().splitlines()[0])["format"] == 5
    assert_same_as_a_fresh_index(wheelhouse, out, tmp_path / "fresh")
    assert index(wheelhouse, out).rendered == ()  # and from then on, only what changed


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda line: line.rpartition("\t")[0], "too few or many fields"),  # no row
        (lambda line: line.replace("\t1\t", "\tone\t", 1), "invalid literal for int"),
    ],
    ids=["a field missing", "a count that is not a number"],
)
def test_a_damaged_project_line_in_the_manifest_is_one_error_and_changes_nothing(
    wheelhouse: Path, tmp_path: Path, damage: Callable[[str], str], why: str
) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    manifest = out / ".factory-manifest.json"
    header, *lines = manifest.read_text().splitlines()
    [beta] = [n for n, line in enumerate(lines) if line.startswith("beta\t")]
    lines[beta] = damage(lines[beta])
    assert lines[beta] != manifest.read_text().splitlines()[beta + 1]
    manifest.write_text("\n".join([header, *lines]) + "\n")
    before = pages(out)
    add_wheel(wheelhouse, tmp_path / "more", "beta", "1.1")  # beta's line is read now

    with pytest.raises(ConfigError, match="unreadable index bookkeeping") as error:
        index(wheelhouse, out)

    assert why in error.value.message and str(manifest) in error.value.message
    assert pages(out) == before
