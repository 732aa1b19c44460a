"""Work trees for builds and checks: one fresh directory each, none left behind.

A build removes its tree when it ends, even on Ctrl-C or SIGTERM, but a SIGKILL, a
crash or a power cut cannot: such a tree would stay in the cache for good. So each
tree is flocked by the process using it, and whoever makes a new tree first deletes
the trees nobody holds. The kernel drops an flock with its holder, so a tree is swept
only once its process is gone, however it died.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .locks import exclusive_lock, try_lock
from .workspace import Workspace

# Held while sweeping and while a new tree is made and locked, so a sweep never sees a
# tree in the instant between its creation and its lock (in the locks directory).
SWEEP_LOCK = "scratch-sweep.lock"
# Held for a sweep (deleting a large leftover tree takes seconds), never for a build.
SWEEP_WAIT_LIMIT = 300.0


@contextlib.contextmanager
def work_tree(workspace: Workspace, prefix: str) -> Iterator[Path]:
    """A new, empty directory in the workspace's scratch directory for the block;
    removed afterwards."""
    scratch = workspace.scratch
    scratch.mkdir(parents=True, exist_ok=True)
    sweep_lock = workspace.locks / SWEEP_LOCK
    with exclusive_lock(sweep_lock, what=str(scratch), wait_limit=SWEEP_WAIT_LIMIT):
        _sweep(scratch)
        tree = Path(tempfile.mkdtemp(prefix=prefix, dir=scratch))
        held = _try_lock(tree)
    assert held is not None, "a directory just made cannot be locked by anyone else"
    try:
        yield tree
    finally:
        shutil.rmtree(tree, ignore_errors=True)
        os.close(held)


def _sweep(scratch: Path) -> None:
    """Delete the trees no living process holds (their builds were killed)."""
    for entry in os.scandir(scratch):
        if not entry.is_dir(follow_symlinks=False):
            continue
        tree = Path(entry.path)
        held = _try_lock(tree)
        if held is None:
            continue  # in use
        try:
            # rmtree would empty a mount's source on the host. Builds mount only in
            # their own namespace, so this is someone's manual mount: leave it alone.
            if first_mount_inside(tree) is None:
                shutil.rmtree(tree, ignore_errors=True)
        finally:
            os.close(held)


def first_mount_inside(path: Path) -> str | None:
    """A mount point at or below ``path`` in this process's mount namespace, if any."""
    inside = str(path.resolve())
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].encode().decode("unicode_escape")  # octal escapes
            if point == inside or point.startswith(inside + "/"):
                return point
    return None


def _try_lock(tree: Path) -> int | None:
    """An open descriptor of ``tree`` holding its lock, or None if another holds it."""
    try:
        fd = os.open(tree, os.O_RDONLY | os.O_DIRECTORY)  # not inherited by commands
    except OSError:
        return None  # removed meanwhile
    if try_lock(fd):
        return fd
    os.close(fd)
    return None
