"""The one place files that users can observe are written: atomically and durably.

A reader (pip through the index, the next factory run, a publisher) sees a file's
old bytes or its new bytes, never half of them, and after a crash a rename that
returned is still there. Everything goes through ``replace`` so that crash tests
inject their faults in one place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

# tempfile and shutil are imported by the functions that use them: together they cost
# a run of `factory index` with nothing new (which writes nothing) a tenth of its time.

# Published files must be readable by the web server whatever the umask
# (mkstemp creates 0600).
PUBLISHED_MODE = 0o644
TEMP_PREFIX = ".tmp-"


class DirectoryObserver(Protocol):
    """Told just before and just after each change a write makes to the directory
    (creating its temporary file, renaming it into place): see catalog.DirectoryWatch."""

    def before(self) -> None: ...

    def after(self) -> None: ...


class _Unobserved:
    def before(self) -> None:
        pass

    def after(self) -> None:
        pass


UNOBSERVED = _Unobserved()


def replace(source: str | Path, destination: str | Path) -> None:
    """os.replace, the step that makes a new file visible (faults are injected here)."""
    os.replace(source, destination)


def fsync_directory(directory: str | Path) -> None:
    """Make the renames inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, observer: DirectoryObserver = UNOBSERVED) -> None:
    """Temp file in the same directory, fsync, rename, fsync the directory."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    observer.before()
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
    observer.after()
    try:
        os.fchmod(fd, PUBLISHED_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        observer.before()
        replace(temp, path)
        observer.after()
    except BaseException:
        os.unlink(temp)
        raise
    fsync_directory(path.parent)


def copy_atomically(
    source: Path, destination: Path, observer: DirectoryObserver = UNOBSERVED
) -> None:
    """Copy ``source`` to ``destination`` the same way: all of it appears at once, or nothing."""
    import shutil
    import tempfile

    destination.parent.mkdir(parents=True, exist_ok=True)
    observer.before()
    fd, temp = tempfile.mkstemp(dir=destination.parent, prefix=TEMP_PREFIX)
    observer.after()
    try:
        os.fchmod(fd, PUBLISHED_MODE)
        with os.fdopen(fd, "wb") as handle, source.open("rb") as original:
            shutil.copyfileobj(original, handle, 1 << 20)
            handle.flush()
            os.fsync(handle.fileno())
        observer.before()
        replace(temp, destination)
        observer.after()
    except BaseException:
        os.unlink(temp)
        raise
    fsync_directory(destination.parent)
