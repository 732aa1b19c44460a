"""Work trees: a fresh one per build, removed after it, and leftovers of killed runs swept."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from factory.scratch import work_tree
from factory.workspace import Workspace


def workspace(root: Path) -> Workspace:
    return Workspace(root / "recipes", root / "patches", root / "wheels", root / "builds", root)


def test_a_work_tree_is_empty_and_removed_after_use_even_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), work_tree(workspace(tmp_path), prefix="demo-") as tree:
        assert tree.parent == tmp_path / "work" and tree.name.startswith("demo-")
        assert not any(tree.iterdir())
        (tree / "half-made.o").write_bytes(b"\0")
        raise RuntimeError("the compiler failed")
    assert not tree.exists()


def test_two_work_trees_at_once_are_different_directories(tmp_path: Path) -> None:
    with (
        work_tree(workspace(tmp_path), prefix="demo-") as first,
        work_tree(workspace(tmp_path), prefix="demo-") as second,
    ):
        assert first != second
        assert first.is_dir() and second.is_dir()  # the second did not sweep the first


def test_a_tree_nobody_holds_is_swept_and_one_in_use_is_kept(tmp_path: Path) -> None:
    killed = tmp_path / "work" / "demo-killed"  # its process died without cleaning up
    (killed / "build").mkdir(parents=True)
    (killed / "build" / "module.o").write_bytes(b"\0")
    running = tmp_path / "work" / "demo-running"  # another process is building in it
    running.mkdir()
    holder = os.open(running, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with work_tree(workspace(tmp_path), prefix="demo-"):
            pass
        assert not killed.exists()
        assert running.is_dir()
    finally:
        os.close(holder)
