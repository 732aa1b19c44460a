"""Locks between factory processes: flock on a file, so a dead holder frees it at once.

The kernel drops an flock when the file descriptor closes, which a crash or SIGKILL
does too: a lock can never outlive its holder, so there is no stale-lock cleanup.
The holder's pid is written into the file only to name it in messages.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LockHeld

POLL_SECONDS = 0.25


@contextmanager
def exclusive_lock(
    path: Path, *, what: str, wait_limit: float, on_wait: Callable[[str], None] | None = None
) -> Iterator[bool]:
    """Hold the lock at ``path`` for the block; yields whether another process held it first.

    ``on_wait`` is told once when the lock is busy (with the holder's pid), so the user
    knows why nothing happens; after ``wait_limit`` seconds of waiting, LockHeld.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        waited = not try_lock(handle.fileno())
        if waited:
            holder = _holder(path)
            if on_wait is not None:
                on_wait(holder)
            deadline = time.monotonic() + wait_limit
            while not try_lock(handle.fileno()):
                if time.monotonic() >= deadline:
                    raise LockHeld(
                        f"{what} is still locked by another factory process ({holder}) "
                        f"after {wait_limit:g} s of waiting",
                        hint=f"let it finish or stop it, then run again; the lock ({path}) "
                        "is released when that process exits",
                    )
                time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield waited
    # Closing the file released the lock.


def try_lock(fd: int) -> bool:
    """Take the exclusive flock of the open file ``fd`` if nobody holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="utf-8").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "pid unknown"
