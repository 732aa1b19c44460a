"""`factory adopt`: bring wheels that were not built here into the wheelhouse.

A wheel in the wheelhouse is published through its catalog line and its ``.metadata``
file (PEP 658), both written when the wheel is added: by ``factory build``, or by this
for a wheel built elsewhere. The index only reads them, so a wheel dropped in by hand
is an error there until it is adopted.

Each wheel is checked (file name, METADATA against it), then its ``.metadata`` and
catalog line land and the wheel last, by rename, as ``add_to_wheelhouse`` does. No
build time is known, so the line has none and the index shows no upload time (PEP 700
makes it optional). A published file name never gets new bytes: a name already in
the wheelhouse with other bytes is refused; with the same bytes it is kept as it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ._fs import copy_atomically, write_atomically
from .catalog import CatalogEntry, append_to_catalog, read_catalog
from .errors import ConfigError
from .hashing import sha256_file
from .wheelmeta import METADATA_SUFFIX, read_wheel_metadata


@dataclass(frozen=True)
class Adopted:
    filename: str
    outcome: str  # "adopted", "catalogued" (already in the wheelhouse) or "unchanged"


def wheels_to_adopt(paths: Iterable[Path]) -> list[Path]:
    """The wheels named, and those directly inside the directories named, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.name.endswith(".whl"))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"{path}: no such file or directory", hint="name wheels or folders")
    if not found:
        raise ConfigError("no wheels to adopt", hint="name .whl files or folders holding them")
    return found


def adopt(wheelhouse: Path, wheels: Iterable[Path]) -> list[Adopted]:
    """Check every wheel first, then add each one; nothing is added if any is refused."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    catalog = read_catalog(wheelhouse)
    planned = []
    for wheel in wheels:
        metadata = read_wheel_metadata(wheel)  # raises on a bad name, METADATA or zip
        sha256 = sha256_file(wheel)
        destination = wheelhouse / wheel.name
        if destination.exists() and sha256_file(destination) != sha256:
            raise ConfigError(
                f"{destination} already exists with other bytes than {wheel}; nothing was adopted",
                hint="a published file name never gets new bytes: raise the build tag "
                "(or version) of the new wheel",
            )
        entry = CatalogEntry(
            wheel.name,
            metadata.name,
            metadata.version,
            sha256,
            os.path.getsize(wheel),
            metadata.sha256,
            metadata.requires_python or "",
            started="",  # not built here: no upload time
            log="",
        )
        planned.append((wheel, destination, metadata.content, entry))
    results = []
    for wheel, destination, content, entry in planned:
        metadata_path = destination.with_name(destination.name + METADATA_SUFFIX)
        catalogued = wheel.name in catalog
        if destination.exists() and catalogued and metadata_path.is_file():
            results.append(Adopted(wheel.name, "unchanged"))
            continue
        if not metadata_path.is_file() or metadata_path.read_bytes() != content:
            write_atomically(metadata_path, content)
        if not catalogued:
            append_to_catalog(wheelhouse, [entry])
            catalog[wheel.name] = entry.line()
        if destination.exists():
            results.append(Adopted(wheel.name, "catalogued"))
        else:
            copy_atomically(wheel, destination)  # last: readers ignore files without it
            results.append(Adopted(wheel.name, "adopted"))
    return results
