"""The wheelhouse: repaired, tested wheels beside their build records, added atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .records import RECORD_SUFFIX, BuildRecord, write_atomically


def add_to_wheelhouse(wheelhouse: Path, wheel: Path, record: BuildRecord) -> bool:
    """Add the wheel and its record; return True if an existing wheel was kept instead.

    The record lands first and the wheel last, each by rename: a killed build leaves
    either nothing or a record without its wheel, which readers ignore. A file name
    that already exists keeps its bytes (published names never change content).
    """
    wheelhouse.mkdir(parents=True, exist_ok=True)
    destination = wheelhouse / wheel.name
    if destination.exists():
        return True
    write_atomically(
        destination.with_name(destination.name + RECORD_SUFFIX), record.to_json().encode()
    )
    fd, temp = tempfile.mkstemp(dir=wheelhouse, prefix=".tmp-", suffix=".whl.part")
    os.fchmod(fd, 0o644)
    os.close(fd)
    try:
        shutil.copyfile(wheel, temp)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, destination)
    except BaseException:
        os.unlink(temp)
        raise
    return False
