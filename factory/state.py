"""The published state: which wheels are built, from which inputs, and which builds failed.

A fresh CI runner knows nothing but the published index, so this is read from it: its
PEP 691 JSON pages (``simple/index.json``, ``simple/<name>/index.json``) and the build
record published beside each wheel (``<wheel>.build.json``), plus the listing of the
logs directory (``logs/index.json``, written by ``factory merge``) for failed builds.
The same reader serves a URL of a published index, a local copy of one, and a local
wheelhouse with its logs directory (what ``factory build`` writes).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .errors import ConfigError
from .index import layout
from .records import BuildRecord, read_record, wheelhouse_records
from .wheelmeta import RECORD_SUFFIX

# The logs directory's own listing: a static host (GitHub Pages) lists no directories.
BUILDS_LISTING = "index.json"
PEP691_JSON = "application/vnd.pypi.simple.v1+json"
# Records over HTTP are fetched this many at a time.
FETCH_THREADS = 8


@dataclass(frozen=True)
class PublishedState:
    """Successful builds whose wheel is published, and the failed builds on record."""

    where: str  # for messages: the URL or directory read
    records: tuple[BuildRecord, ...]
    failures: tuple[BuildRecord, ...]
    failures_known: bool  # False: the state lists no logs (failed builds unknown)


@dataclass(frozen=True)
class ListedBuild:
    """One line of the logs listing: a build record and its log, relative to logs/."""

    record: str  # "<project>/<stem>.json"
    outcome: str
    log: str | None = None


def local_state(wheelhouse: Path, logs: Path) -> PublishedState:
    """A wheelhouse and its logs directory, as ``factory build`` leaves them."""
    failures = [r for r in _records_in(logs) if r.outcome != "success"]
    return PublishedState(
        str(wheelhouse), tuple(wheelhouse_records(wheelhouse)), tuple(failures), logs.is_dir()
    )


def read_state(location: str, python: str | None = None) -> PublishedState:
    """The state at ``location``: a published index's URL or directory, or a directory
    holding ``wheelhouse/`` and ``builds/`` (what ``factory merge`` writes).

    With ``python`` ("3.13"), the records of wheels that only another CPython can have
    built (``cp312-cp312``) are not read: over HTTP each is a request, and they cannot
    count for that target.
    """
    root = Path(location)
    if "://" not in location and not (root / layout.SIMPLE_ROOT_JSON).is_file():
        if (root / "wheelhouse").is_dir():
            return local_state(root / "wheelhouse", root / "builds")
        raise ConfigError(
            f"{location} is neither a published index (no {layout.SIMPLE_ROOT_JSON}) nor a "
            "state directory (no wheelhouse/)",
            hint="pass the URL or directory of the published index (the one `factory index` "
            "writes), or a directory made by `factory merge`",
        )
    with open_index(location) as reader:
        return _read_index(reader, python)


class IndexReader(Protocol):
    where: str  # the index's root, ending in "/"

    def read(self, path: str) -> bytes | None:
        """The file at ``path`` (relative to the root); None when there is none."""
        ...

    def read_many(self, paths: Iterable[str]) -> list[bytes | None]: ...


@contextmanager
def open_index(location: str) -> Iterator[IndexReader]:
    """A reader of the published index at a URL (http/https) or in a directory."""
    if location.startswith(("http://", "https://")):
        from .webclient import Client

        with Client() as client:
            yield _UrlReader(location.rstrip("/") + "/", client)
        return
    if "://" in location:
        raise ConfigError(
            f"{location}: only http(s) URLs and directories hold a published index",
            hint="pass https://OWNER.github.io/REPO/ or a directory",
        )
    yield _DirectoryReader(Path(location))


def project_files(
    reader: IndexReader, only: Collection[str] | None = None
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(project, its page's path, file entry) for every file of every PEP 691 page, or
    of the pages of the projects ``only`` names (normalized)."""
    root = _json(reader, layout.SIMPLE_ROOT_JSON, required=True)
    names = [str(p["name"]) for p in _list(root, "projects", reader.where)]
    if only is not None:
        names = [name for name in names if name in only]
    pages = reader.read_many(layout.simple_json(name) for name in names)
    for name, body in zip(names, pages, strict=True):
        page_path = layout.simple_json(name)
        if body is None:
            continue  # listed, then removed while read: nothing published under it
        page = _parse(body, reader.where, page_path)
        for file in _list(page, "files", f"{reader.where}{page_path}"):
            yield name, page_path, file


def _records_in(logs: Path) -> list[BuildRecord]:
    """Every build record in a logs directory; files that are not records are skipped."""
    found = []
    for path in sorted(logs.glob("*/*.json")):
        try:
            found.append(read_record(path))
        except ConfigError:
            continue  # the logs directory is informative: a stray file is not an error
    return found


# --- reading a published index, from a directory or over HTTP -----------------------


class _DirectoryReader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = f"{root}/"

    def read(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def read_many(self, paths: Iterable[str]) -> list[bytes | None]:
        return [self.read(path) for path in paths]


class _UrlReader:
    def __init__(self, base: str, client: Any) -> None:
        self.base = base
        self.client = client
        self.where = base

    def read(self, path: str) -> bytes | None:
        body: bytes | None = self.client.get_bytes(self.base + path, accept=PEP691_JSON)
        return body

    def read_many(self, paths: Iterable[str]) -> list[bytes | None]:
        with ThreadPoolExecutor(FETCH_THREADS) as pool:
            return list(pool.map(self.read, paths))


def _read_index(reader: IndexReader, python: str | None) -> PublishedState:
    record_paths = [
        resolve(page, str(file["url"])) + RECORD_SUFFIX
        for _, page, file in project_files(reader)
        if python is None or _may_be_built_by(str(file.get("filename", "")), python)
    ]
    records = []
    for path, body in zip(record_paths, reader.read_many(record_paths), strict=True):
        if body is not None:  # a wheel without a record (adopted): built elsewhere
            records.append(_record(body, reader.where, path))
    listing = reader.read(f"{layout.LOGS_LINK}/{BUILDS_LISTING}")
    failures: list[BuildRecord] = []
    known = listing is not None
    if listing is not None:
        listed = parse_listing(listing, f"{reader.where}{layout.LOGS_LINK}/{BUILDS_LISTING}")
        failed = [f"{layout.LOGS_LINK}/{b.record}" for b in listed if b.outcome != "success"]
        for path, body in zip(failed, reader.read_many(failed), strict=True):
            if body is not None:
                failures.append(_record(body, reader.where, path))
    elif isinstance(reader, _DirectoryReader) and (reader.root / layout.LOGS_LINK).is_dir():
        # A local index made by `factory index`: its logs directory can be listed.
        failures = [
            r for r in _records_in(reader.root / layout.LOGS_LINK) if r.outcome != "success"
        ]
        known = True
    return PublishedState(reader.where, tuple(records), tuple(failures), known)


def _may_be_built_by(filename: str, python: str) -> bool:
    """Whether a build by CPython ``python`` can have made this wheel: a pure (py3), abi3
    or unknown tag could come from any; ``cp312-cp312`` only from 3.12."""
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return True
    wanted = "cp" + python.replace(".", "")
    return any(
        tag.interpreter == wanted
        or not (tag.interpreter.startswith("cp") and tag.abi.startswith(tag.interpreter))
        for tag in tags
    )


def resolve(page_path: str, url: str) -> str:
    """A file's URL from a project page, relative to the index root."""
    if "://" in url or url.startswith("/"):
        raise ConfigError(
            f"a project page links {url}, outside the published index",
            hint="`factory stale --state` reads indexes whose wheels are published with "
            "them (files/); pass the state directory of one with --base-url instead",
        )
    return posixpath.normpath(posixpath.join(posixpath.dirname(page_path), url))


def _json(reader: IndexReader, path: str, required: bool = False) -> Any:
    body = reader.read(path)
    if body is None:
        if required:
            raise ConfigError(
                f"{reader.where}{path} not found: not a published index",
                hint="pass the index's root (the directory or URL that holds simple/)",
            )
        return None
    return _parse(body, reader.where, path)


def _parse(body: bytes, where: str, path: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:
        raise ConfigError(
            f"{where}{path}: not JSON ({error})", hint="is this the published index's root?"
        ) from None


def _list(data: Any, key: str, where: str) -> list[dict[str, Any]]:
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(
            f"{where}: no {key!r} list (not a PEP 691 page)",
            hint="is this the published index's root?",
        )
    return items


def _record(body: bytes, where: str, path: str) -> BuildRecord:
    try:
        return BuildRecord.from_json(body.decode())
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(
            f"{where}{path}: not a readable build record ({error})",
            hint="the published index is damaged there; rebuild that wheel's project",
        ) from None


# --- the logs listing ---------------------------------------------------------------


def parse_listing(body: bytes, where: str) -> list[ListedBuild]:
    try:
        data = json.loads(body)
        return [
            ListedBuild(str(b["record"]), str(b["outcome"]), b.get("log")) for b in data["builds"]
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"{where}: not a builds listing ({error})",
            hint="it is written by `factory merge`; delete it and merge again",
        ) from None


def builds_listing(logs: Path) -> bytes:
    """The listing of a logs directory: every build record with its outcome and log."""
    builds = []
    for path in sorted(logs.glob("*/*.json")):
        try:
            record = read_record(path)
        except ConfigError:
            continue
        relative = f"{path.parent.name}/{path.name}"
        log = path.with_suffix(".log")
        builds.append(
            {
                "record": relative,
                "outcome": record.outcome,
                "log": f"{path.parent.name}/{log.name}" if log.is_file() else None,
            }
        )
    return (json.dumps({"builds": builds}, indent=1, sort_keys=True) + "\n").encode()
