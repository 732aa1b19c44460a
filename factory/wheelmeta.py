"""A wheel's core metadata: read once, when the wheel is made, and kept beside it.

PEP 658/714 indexes serve ``<wheel>.metadata`` so that installers resolve without
downloading wheels; the wheelhouse keeps that file next to each wheel so the index
never has to open a wheel again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)

from .errors import ConfigError

METADATA_SUFFIX = ".metadata"  # PEP 658: the metadata file's URL is the wheel's plus this
RECORD_SUFFIX = ".build.json"  # the build record (records.py) kept beside the wheel too


@dataclass(frozen=True)
class WheelMetadata:
    name: str
    version: str
    requires_python: str | None  # the Requires-Python header as written
    content: bytes  # the METADATA file, byte for byte

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def wheel_project(filename: str) -> NormalizedName:
    """A wheel file name's normalized project: everything before its first "-" (PEP 427
    escapes "-" in names; the whole name is checked where the wheel is read)."""
    return canonicalize_name(filename.partition("-")[0])


def invalid_wheel_filename(filename: str, reason: InvalidWheelFilename) -> ConfigError:
    """The error for a wheel file name that does not parse, wherever it is found."""
    return ConfigError(
        f"{filename}: not a valid wheel file name ({reason})",
        hint="wheel names follow {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl;"
        " rename or remove the file",
    )


def read_wheel_metadata(wheel: Path) -> WheelMetadata:
    """Read and cross-check a wheel's METADATA; raise ConfigError naming what is wrong."""
    # Imported here: the index imports this module for its errors, and packaging.metadata
    # costs an index run 30 ms (it compiles the grammar of every metadata field).
    import zipfile

    from packaging.metadata import Metadata, parse_email

    try:
        name, version, _, _ = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        raise invalid_wheel_filename(wheel.name, exc) from None
    try:
        with zipfile.ZipFile(wheel) as zipped:
            candidates = [
                n
                for n in zipped.namelist()
                if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            if len(candidates) != 1:
                raise ConfigError(
                    f"{wheel.name}: expected one .dist-info/METADATA, found {len(candidates)}"
                )
            content = zipped.read(candidates[0])
    except (zipfile.BadZipFile, OSError, KeyError) as exc:
        raise ConfigError(
            f"{wheel.name}: corrupt wheel ({exc})",
            hint="rebuild it or remove it from the wheelhouse",
        ) from None
    try:
        metadata = Metadata.from_email(content, validate=False)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{wheel.name}: unreadable METADATA ({exc})") from None
    if canonicalize_name(str(metadata.name)) != name or metadata.version != version:
        raise ConfigError(
            f"{wheel.name}: its metadata says {metadata.name} {metadata.version}, "
            f"its file name says {name} {version}",
            hint="the wheel was renamed or built wrongly; rebuild it",
        )
    # The header exactly as written: PyPI serves it so (data-requires-python, PEP 503),
    # where packaging's SpecifierSet would reorder and respace it.
    raw, _ = parse_email(content)
    requires_python = raw.get("requires_python") or None
    return WheelMetadata(str(metadata.name), str(version), requires_python, content)
