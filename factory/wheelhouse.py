"""The wheelhouse: repaired, tested wheels beside their build records, added atomically."""

from __future__ import annotations

from pathlib import Path

from ._fs import copy_atomically, write_atomically
from .catalog import CatalogEntry, append_to_catalog
from .records import RECORD_SUFFIX, BuildRecord
from .wheelmeta import METADATA_SUFFIX


def add_to_wheelhouse(wheelhouse: Path, wheel: Path, metadata: bytes, record: BuildRecord) -> bool:
    """Add the wheel, its metadata, record and catalog line; return True if an existing
    wheel was kept.

    Metadata, record and catalog line land first and the wheel last, by rename: a killed
    build leaves either nothing or files without their wheel, which readers ignore. A
    file name that already exists keeps its bytes (published names never change content).
    """
    wheelhouse.mkdir(parents=True, exist_ok=True)
    destination = wheelhouse / wheel.name
    if destination.exists():
        return True
    write_atomically(destination.with_name(destination.name + METADATA_SUFFIX), metadata)
    write_atomically(
        destination.with_name(destination.name + RECORD_SUFFIX), record.to_json().encode()
    )
    append_to_catalog(wheelhouse, [CatalogEntry.from_record(record)])
    copy_atomically(wheel, destination)
    return False
