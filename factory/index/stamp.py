"""A cheap fingerprint of every input directory, from ``stat`` alone: whether anything
at all may have changed since the last run.

A run with nothing new compares this with the manifest and stops, without listing the
wheelhouse (300,000 names on a large one) or reading its catalog. It covers the
wheelhouse directory (a wheel added or removed, by the factory or by hand, changes its
mtime), the catalog (appended to: its size; replaced: its inode), the yanks file, every
recipe file, every patch file (project pages show their headers), every project's
folder in the logs directory, and the hosting file of a published wheelhouse.

Like git's index ("racy git"), a stamp taken right after an input's change is not
trusted: a second change in the same clock tick would leave the mtime as it was. Such
a stamp is not kept, and the next run compares the inputs themselves. Linux stamps
files with a clock that ticks every 1 to 10 ms (or finer: Linux 6.13 and later stamp
a file whose times were just read to the nanosecond); 20 ms is twice the coarsest
tick, and short enough that `factory build && factory index` usually leaves a stamp
the next run can trust (a network filesystem whose server clock runs ahead of this
one makes every stamp untrusted, which is slow but safe).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..catalog import CATALOG_FILE
from ..hashing import small_sha256
from .hosting import HOSTING_FILE
from .yanks import YANKS_FILE

RACY_NS = 20_000_000


def inputs_stamp(
    wheelhouse: Path, recipes: Path | None, logs: Path | None, patches: Path | None = None
) -> str:
    """The stamp, or "" when it cannot be trusted (an input changed a moment ago)."""
    now = time.time_ns()
    parts = [
        _stat(wheelhouse),
        _stat(wheelhouse / CATALOG_FILE),
        _stat(wheelhouse / YANKS_FILE),
        _stat(wheelhouse / HOSTING_FILE),
    ]
    for directory in (recipes, logs):
        parts += _listing(directory)
    if patches is not None:  # patches/<project>/<file>: a file edited in place too
        for entry in _listing(patches)[1:]:
            parts.append(entry)
            parts += _listing(patches / entry.partition(":")[0])[1:]
    newest = max((int(p.rpartition(":")[2]) for p in parts if p[-1].isdigit()), default=0)
    if now - newest < RACY_NS:
        return ""
    return small_sha256("\n".join(parts).encode()).hexdigest()


def _listing(directory: Path | None) -> list[str]:
    """The directory's own stat, then each entry's as ``name:stat``."""
    if directory is None:
        return ["-"]
    parts = [_stat(directory)]
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return parts
    return parts + [f"{name}:{_stat(directory / name)}" for name in names]


def _stat(path: Path) -> str:
    """inode, size and mtime ("-" when missing), mtime last."""
    try:
        info = os.stat(path)
    except OSError:
        return "-"
    return f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"
