"""The wheelhouse: repaired, tested wheels beside their build records, added atomically."""

from __future__ import annotations

from pathlib import Path

from ._fs import copy_atomically, write_atomically
from .catalog import CatalogEntry, DirectoryWatch, catalog_appender
from .records import BuildRecord
from .wheelmeta import METADATA_SUFFIX, RECORD_SUFFIX


def add_to_wheelhouse(wheelhouse: Path, wheel: Path, metadata: bytes, record: BuildRecord) -> bool:
    """Add a wheel built here with its metadata, record and catalog line; return True if
    an existing wheel was kept (published names never change content)."""
    if (wheelhouse / wheel.name).exists():
        return True
    entry = CatalogEntry.from_record(record)
    put_wheel(wheelhouse, entry, wheel, metadata, record.to_json().encode())
    return False


def put_wheel(
    wheelhouse: Path,
    entry: CatalogEntry,
    wheel: Path | bytes,
    metadata: bytes | None,
    record: bytes | None,
) -> None:
    """Write a wheel (a file to copy, or its bytes) beside its ``.metadata`` and build
    record, with its catalog line.

    Metadata, record and catalog line land first and the wheel last, by rename: a killed
    run leaves either nothing or files without their wheel, which readers ignore. Then,
    when nothing else changed the directory meanwhile, the line that tells the index
    this addition is all that changed it (see the catalog). One addition at a time.
    """
    wheelhouse.mkdir(parents=True, exist_ok=True)
    destination = wheelhouse / entry.filename
    with catalog_appender(wheelhouse) as append:
        watch = DirectoryWatch(wheelhouse)
        for suffix, data in ((METADATA_SUFFIX, metadata), (RECORD_SUFFIX, record)):
            if data is not None:
                write_atomically(destination.with_name(destination.name + suffix), data, watch)
        append(entry.line())
        if isinstance(wheel, bytes):
            write_atomically(destination, wheel, watch)
        else:
            copy_atomically(wheel, destination, watch)
        if watch.intact:
            append(watch.line())
