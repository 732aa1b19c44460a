"""The wheelhouse catalog: one tab-separated line per wheel, appended as each one lands.

The index needs a few facts per wheel (hash, size, metadata hash, Requires-Python,
build time, log). Reading them from 100,000 JSON records costs seconds; from this one
file, a tenth of that. Lines are appended by whatever adds a wheel (``factory build``,
``factory adopt``); the index only reads them. A line only counts while its wheel is
in the wheelhouse, and the last line for a file name wins.

Tab-separated rather than JSON lines: splitting is five times cheaper than decoding,
and only the free-text fields (project, Requires-Python, log) can ever need escaping.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .records import BuildRecord

from .errors import ConfigError

CATALOG_FILE = "catalog.tsv"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_ESCAPED = re.compile(r"\\(.)")
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


class CatalogEntry(NamedTuple):
    filename: str
    project: str  # as the recipe (or an adopted wheel's METADATA) spells it
    version: str
    sha256: str
    size: int
    metadata_sha256: str  # of <wheel>.metadata beside it; "" in records older than it
    requires_python: str  # "" when the wheel declares none
    started: str  # ISO 8601, the build's start: the index's upload time; "" if not built here
    log: str  # the build log's path when it was built, "" when unknown
    # How a riscv64 build compiled ("emulated", "host-native cross (...)"): the record's
    # informational toolchain entry; "" when unknown (adopted, or lines older than it).
    compiler: str = ""

    @classmethod
    def from_record(cls, record: BuildRecord) -> CatalogEntry:
        wheel = record.wheel
        if wheel is None:
            raise ValueError(f"the record of {record.project} {record.version} has no wheel")
        return cls(
            wheel.filename,
            record.project,
            record.version,
            wheel.sha256,
            wheel.size,
            wheel.metadata_sha256 or "",
            wheel.requires_python or "",
            record.started,
            record.log,
            record.inputs.toolchain.get("compiler", ""),
        )

    def line(self) -> str:
        return "\t".join(str(value).translate(_ESCAPES) for value in self) + "\n"


_HEADER = "#" + "\t".join(CatalogEntry._fields) + "\n"


def parse_line(line: str) -> CatalogEntry | None:
    """A line (without its newline) as an entry; None for a line that is not one."""
    fields = line.split("\t")
    # Lines written before the compiler field have one field less: still complete.
    if len(fields) not in _FIELD_COUNTS or not fields[4].isdigit():
        return None
    if "\\" in line:
        fields = [_ESCAPED.sub(_unescape, field) for field in fields]
    filename, project, version, sha256, size, metadata, requires, started, log = fields[:9]
    compiler = fields[9] if len(fields) > 9 else ""
    return CatalogEntry(
        filename, project, version, sha256, int(size), metadata, requires, started, log, compiler
    )


_FIELD_COUNTS = (len(CatalogEntry._fields) - 1, len(CatalogEntry._fields))


def _unescape(match: re.Match[str]) -> str:
    return _UNESCAPES.get(match.group(1), match.group(1))


def read_catalog(wheelhouse: Path) -> dict[str, str]:
    """File name -> its newest line (unparsed: most runs only need a few of them)."""
    path = wheelhouse / CATALOG_FILE
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return {}
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 ({exc.reason})",
            hint="the catalog is written by `factory build` and `factory adopt`; remove "
            "or fix that line, then `factory adopt` the wheel it was for",
        ) from None
    lines = text.split("\n")
    lines.pop()  # "" after the last newline, or a line a killed writer left unfinished
    return {line[: line.find("\t")]: line for line in lines if not line.startswith("#")}


def append_to_catalog(wheelhouse: Path, entries: Iterable[CatalogEntry]) -> None:
    """Append lines durably, one writer at a time (builds and index runs may overlap)."""
    data = "".join(entry.line() for entry in entries)
    if not data:
        return
    fd = os.open(wheelhouse / CATALOG_FILE, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size == 0:
            data = _HEADER + data
        elif os.pread(fd, 1, size - 1) != b"\n":
            data = "\n" + data  # end a line a killed writer left unfinished: it stays unparsed
        view = memoryview(data.encode())
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock
