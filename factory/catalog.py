"""The wheelhouse catalog: one tab-separated line per wheel, appended as each one lands.

The index needs a few facts per wheel (hash, size, metadata hash, Requires-Python,
build time, log). Reading them from 100,000 JSON records costs seconds; from this one
file, a tenth of that. Lines are appended by whatever adds a wheel (``factory build``,
``factory adopt``); the index only reads them. A line only counts while its wheel is
in the wheelhouse, and the last line for a file name wins.

Tab-separated rather than JSON lines: splitting is five times cheaper than decoding,
and only the free-text fields (project, Requires-Python, log) can ever need escaping.

After each wheel it adds, ``put_wheel`` appends a comment line with the wheelhouse
directory's state (inode and mtime) before and after the addition, when nothing else
changed the directory in between (``DirectoryWatch``). When those lines chain from the
state a run of the index last listed to the directory's state now, every change since
is one the catalog announces, and the index need not list 300,000 names to find a wheel
deleted or dropped in by hand (``accounts_for``); any other change breaks the chain, and
the index lists the directory as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

if TYPE_CHECKING:
    from .records import BuildRecord

from .errors import ConfigError

CATALOG_FILE = "catalog.tsv"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_ESCAPED = re.compile(r"\\(.)")
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
# A comment line: the wheelhouse directory's state before and after one addition.
_ADDITION = "#added\t"


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
    # The RISC-V ISA the wheel's compiled code needs (the record's ``isa``, "rv64gc"):
    # "" for pure Python, adopted wheels and lines older than it.
    isa: str = ""

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
            record.isa,
        )

    def line(self) -> str:
        return "\t".join(str(value).translate(_ESCAPES) for value in self) + "\n"


_HEADER = "#" + "\t".join(CatalogEntry._fields) + "\n"


def parse_line(line: str) -> CatalogEntry | None:
    """A line (without its newline) as an entry; None for a line that is not one."""
    fields = line.split("\t")
    # Lines written before the compiler and isa fields lack them: still complete.
    if len(fields) not in _FIELD_COUNTS or not fields[4].isdigit():
        return None
    if "\\" in line:
        fields = [_ESCAPED.sub(_unescape, field) for field in fields]
    filename, project, version, sha256, size, metadata, requires, started, log = fields[:9]
    compiler = fields[9] if len(fields) > 9 else ""
    isa = fields[10] if len(fields) > 10 else ""
    return CatalogEntry(
        filename, project, version, sha256, int(size), metadata, requires, started, log, compiler,
        isa,
    )  # fmt: skip


_FIELD_COUNTS = tuple(range(len(CatalogEntry._fields) - 2, len(CatalogEntry._fields) + 1))


def _unescape(match: re.Match[str]) -> str:
    return _UNESCAPES.get(match.group(1), match.group(1))


def read_catalog(wheelhouse: Path) -> dict[str, str]:
    """File name -> its newest line (unparsed: most runs only need a few of them)."""
    return {name: line for name, (_, line) in read_catalog_lines(wheelhouse).lines.items()}


class CatalogRead(NamedTuple):
    """Complete lines from a byte offset on: a run that remembers where the last one
    stopped reads only what was appended since."""

    lines: dict[str, tuple[int, str]]  # file name -> byte offset and text of its newest line
    inode: int  # the catalog is only appended to: a new inode means it was replaced
    end: int  # the offset after the last complete line: where the next read starts
    # The wheelhouse directory's states ("inode:mtime_ns") before and after each addition
    # recorded in these lines, in order; None when a wheel's line follows the last one
    # (its addition is still under way, or was killed).
    additions: tuple[tuple[str, str], ...] | None = ()


def read_catalog_lines(wheelhouse: Path) -> CatalogRead:
    path = wheelhouse / CATALOG_FILE
    try:
        with open(path, "rb") as handle:
            return _read_lines(path, handle, 0)
    except FileNotFoundError:
        return CatalogRead({}, 0, 0)


def read_catalog_tail(wheelhouse: Path, inode: int, start: int) -> CatalogRead | None:
    """The lines appended after ``start``, where a previous read of the catalog file
    ``inode`` ended; None when the catalog no longer continues there (replaced or cut)."""
    path = wheelhouse / CATALOG_FILE
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_ino != inode:
                return None
            if start:
                handle.seek(start - 1)
                if handle.read(1) != b"\n":
                    return None
            return _read_lines(path, handle, start)
    except FileNotFoundError:
        return None


def _read_lines(path: Path, handle: BinaryIO, start: int) -> CatalogRead:
    handle.seek(start)
    data = handle.read()
    # A line a killed writer left unfinished is not read (nor counted in ``end``):
    # the next append ends it with a newline, and it stays unparsed.
    data = data[: data.rfind(b"\n") + 1]
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, start + exc.start, exc.reason) from None
    lines: dict[str, tuple[int, str]] = {}
    additions: list[tuple[str, str]] = []
    settled = True  # no wheel line after the last addition's
    offset = start
    # Byte offsets: in ASCII text (nearly always), a line's length in characters is its
    # length in bytes.
    ascii_text = text.isascii()
    for line in text.split("\n")[:-1]:
        if line[:1] != "#":
            lines[line[: line.find("\t")]] = (offset, line)
            settled = False
        elif line.startswith(_ADDITION):
            # (A damaged line pairs states no addition left: it breaks the chain.)
            before, _, after = line[len(_ADDITION) :].partition("\t")
            additions.append((before, after))
            settled = True
        offset += (len(line) if ascii_text else len(line.encode())) + 1
    inode = os.fstat(handle.fileno()).st_ino
    return CatalogRead(lines, inode, offset, tuple(additions) if settled else None)


class CatalogPosition(NamedTuple):
    """Where a run of the index stopped reading the catalog, and the wheelhouse
    directory's state ("inode:mtime_ns") its wheels were found in ("" when that state
    was too fresh to trust: see stamp.py): where the next run starts."""

    inode: int
    end: int
    directory: str = ""


def directory_state(path: Path) -> str:
    """The directory's inode and mtime: every entry added, removed or renamed changes it."""
    info = os.stat(path)
    return f"{info.st_ino}:{info.st_mtime_ns}"


def accounts_for(read: CatalogRead, before: str, after: str) -> bool:
    """Whether the additions recorded in ``read`` are every change of the wheelhouse
    directory from state ``before`` to state ``after``: each began where the previous one
    left it, and no wheel's line follows the last (an addition still under way)."""
    if read.additions is None or not before:
        return False
    state = before
    for started, ended in read.additions:
        if started != state:
            return False
        state = ended
    return state == after


class DirectoryWatch:
    """The wheelhouse directory's state around one addition's own changes to it (the
    ``DirectoryObserver`` of its writes): ``intact`` while nothing else changed it in
    between. (A change by hand in the very clock tick of one of the addition's own, after
    it, is not seen; kernels with fine-grained timestamps, Linux 6.13 on, give it a
    later mtime.)"""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.first = self.last = directory_state(directory)
        self.intact = True

    def before(self) -> None:
        if directory_state(self.directory) != self.last:
            self.intact = False

    def after(self) -> None:
        self.last = directory_state(self.directory)

    def line(self) -> str:
        return f"{_ADDITION}{self.first}\t{self.last}\n"


def read_line_at(handle: BinaryIO, offset: int) -> str:
    """The line that starts at ``offset`` (one ``read_catalog_from`` reported)."""
    handle.seek(offset)
    return handle.readline().decode().removesuffix("\n")


def _not_utf8(path: Path, position: int, reason: str) -> ConfigError:
    with open(path, "rb") as handle:
        line = handle.read(position).count(b"\n") + 1
    return ConfigError(
        f"{path}:{line}: not UTF-8 ({reason})",
        hint="the catalog is written by `factory build` and `factory adopt`; remove "
        "or fix that line, then `factory adopt` the wheel it was for",
    )


def append_to_catalog(wheelhouse: Path, entries: Iterable[CatalogEntry]) -> None:
    """Append lines durably, one writer at a time (builds and index runs may overlap)."""
    data = "".join(entry.line() for entry in entries)
    if data:
        with catalog_appender(wheelhouse) as append:
            append(data)


@contextlib.contextmanager
def catalog_appender(wheelhouse: Path) -> Iterator[Callable[[str], None]]:
    """Hold the catalog's lock (for a whole addition) and append durably with it."""
    fd = os.open(wheelhouse / CATALOG_FILE, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield lambda data: _append(fd, data)
    finally:
        os.close(fd)  # releases the lock


def _append(fd: int, data: str) -> None:
    size = os.fstat(fd).st_size
    if size == 0:
        data = _HEADER + data
    elif os.pread(fd, 1, size - 1) != b"\n":
        data = "\n" + data  # end a line a killed writer left unfinished: it stays unparsed
    view = memoryview(data.encode())
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)
