"""The index's inputs: the wheelhouse (wheels, their metadata and records), yanks,
recipes (optional) and the build logs directory (optional). The edge that reads them.

Listing the wheelhouse is cheap and done every run; a project's records are read only
when its listing (or its yanks, recipe or logs) changed, and a wheel is opened only
when it has no record.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from packaging.utils import NormalizedName, canonicalize_name

from ..errors import ConfigError
from ..recipe import LoadedRecipe
from ..records import RECORD_SUFFIX
from ..wheelmeta import METADATA_SUFFIX, read_wheel_metadata
from . import layout
from .model import Build, WheelInput


class WheelhouseEntry(NamedTuple):
    """A wheel file in the wheelhouse and what lies beside it."""

    filename: str
    has_record: bool
    has_metadata: bool


class WheelSources(NamedTuple):
    """Where a wheel's published files come from (a tuple: made 100,000 times on a big index)."""

    wheel: str
    metadata: str | bytes  # <wheel>.metadata in the wheelhouse, or read from the wheel
    record: bytes | None = None  # the build record, as read
    log: str | None = None


@dataclass(frozen=True)
class BuildSources:
    """A build from the logs directory, with the files its human page links to."""

    build: Build
    record: str
    log: str | None


@dataclass(frozen=True)
class Wheelhouse:
    """The wheelhouse's listing: read once per run, the only per-wheel work of a no-op run."""

    path: Path
    names: frozenset[str]  # every file in it
    projects: dict[NormalizedName, list[str]]  # wheel file names by normalized project, sorted

    def entries(self, project: NormalizedName) -> list[WheelhouseEntry]:
        names = self.names
        return [
            WheelhouseEntry(w, w + RECORD_SUFFIX in names, w + METADATA_SUFFIX in names)
            for w in self.projects[project]
        ]

    def signature(self, project: NormalizedName) -> str:
        """Changes when the project's files do. Published names never get new bytes and
        records are written before their wheel, so names are enough, except for a wheel
        without a record, whose size and time are added."""
        names = self.names
        wheels = self.projects[project]
        records = "".join("1" if w + RECORD_SUFFIX in names else "0" for w in wheels)
        metadata = "".join("1" if w + METADATA_SUFFIX in names else "0" for w in wheels)
        unrecorded = [w for w, r in zip(wheels, records, strict=True) if r == "0"]
        stats = [self._stat(w) for w in unrecorded]
        return "\n".join(wheels) + f"\0{records}\0{metadata}\0{stats}"

    def _stat(self, filename: str) -> tuple[int, int]:
        info = os.stat(self.path / filename)
        return (info.st_size, info.st_mtime_ns)


def scan_wheelhouse(wheelhouse: Path) -> Wheelhouse:
    """Every wheel of the wheelhouse, grouped by normalized project name (from the file name)."""
    try:
        names = frozenset(os.listdir(wheelhouse))
    except FileNotFoundError:
        raise ConfigError(
            f"wheelhouse {wheelhouse} does not exist",
            hint="run `factory build` first, or pass --wheelhouse",
        ) from None
    projects: dict[NormalizedName, list[str]] = {}
    canonical: dict[str, NormalizedName] = {}
    for name in sorted(n for n in names if n.endswith(".whl") and not n.startswith(".")):
        # The project part is everything before the first "-" (PEP 427 escapes "-" in
        # names); the full file name is checked with packaging when the project is read.
        raw = name.split("-", 1)[0]
        project = canonical.get(raw)
        if project is None:
            project = canonical[raw] = canonicalize_name(raw)
        group = projects.get(project)
        if group is None:
            projects[project] = [name]
        else:
            group.append(name)
    return Wheelhouse(wheelhouse, names, projects)


def read_wheels(
    wheelhouse: Path,
    project: NormalizedName,
    entries: Iterable[WheelhouseEntry],
    logs: Path | None,
) -> tuple[list[WheelInput], dict[str, WheelSources]]:
    """The wheels of one project, from their records (or, without one, the wheel itself)."""
    records = layout.build_records(project)
    inputs: list[WheelInput] = []
    sources: dict[str, WheelSources] = {}
    log_dirs: dict[str, set[str]] = {}
    for entry in entries:
        wheel_path = f"{wheelhouse}/{entry.filename}"
        if entry.has_record:
            wheel, source = _from_record(wheel_path, entry, records, logs, log_dirs)
        else:
            wheel, source = _from_wheel(Path(wheel_path))
        inputs.append(wheel)
        sources[entry.filename] = source
    return inputs, sources


def _from_record(
    wheel_path: str,
    entry: WheelhouseEntry,
    records: str,
    logs: Path | None,
    log_dirs: dict[str, set[str]],
) -> tuple[WheelInput, WheelSources]:
    record_path = wheel_path + RECORD_SUFFIX
    raw = _read(record_path)
    try:
        record = json.loads(raw)
        wheel = record["wheel"]
        filename, project = wheel["filename"], record["project"]
        started, version = record["started"], record["version"]
        sha256, size = wheel["sha256"], wheel["size"]
        metadata_sha256 = wheel.get("metadata_sha256")
        requires_python = wheel.get("requires_python")
        log = record.get("log") or ""
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{record_path}: not a build record ({type(exc).__name__}: {exc})",
            hint="remove the record to index the wheel from its own metadata",
        ) from None
    if filename != entry.filename:
        raise ConfigError(
            f"{record_path}: the record is for {filename}, not {entry.filename}",
            hint="records are named after their wheel; remove the misplaced one",
        )
    metadata: str | bytes = wheel_path + METADATA_SUFFIX
    if not entry.has_metadata or not metadata_sha256:
        # A wheel from before metadata was kept beside it: read it once from the wheel.
        found = read_wheel_metadata(Path(wheel_path))
        metadata, metadata_sha256 = found.content, found.sha256
        requires_python = found.requires_python
    log_source = _find_log(log, project, logs, log_dirs)
    published = WheelInput(
        filename=filename,
        project=project,
        sha256=sha256,
        size=size,
        metadata_sha256=metadata_sha256,
        requires_python=requires_python,
        version=version,
        build=Build(
            started=started,
            outcome="success",
            version=version,
            record=records,
            log=layout.log_file(filename) if log_source is not None else None,
        ),
    )
    sources = WheelSources(wheel_path, metadata, raw, log_source)
    return published, sources


def _read(path: str) -> bytes:
    """A small file's bytes, without the io module's layers (a third of the time)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _find_log(
    recorded: str, project: str, logs: Path | None, log_dirs: dict[str, set[str]]
) -> str | None:
    """The build's log: in the logs directory (it may have moved), else where recorded."""
    if not recorded:
        return None
    name = recorded.rpartition("/")[2]  # os.path.basename, without its layers
    if logs is not None:
        directory = _canonical(project)
        listing = log_dirs.get(directory)
        if listing is None:
            try:
                listing = log_dirs[directory] = set(os.listdir(logs / directory))
            except OSError:
                listing = log_dirs[directory] = set()
        if name in listing:
            return f"{logs}/{directory}/{name}"
    return recorded if recorded.startswith("/") and os.path.isfile(recorded) else None  # isabs


@functools.lru_cache(maxsize=65536)
def _canonical(project: str) -> NormalizedName:
    """A project's normalized name: every wheel of a project asks for it."""
    return canonicalize_name(project)


def _from_wheel(wheel_path: Path) -> tuple[WheelInput, WheelSources]:
    """A wheel without a record: read (and hash) it once."""
    metadata = read_wheel_metadata(wheel_path)
    digest = hashlib.sha256()
    size = 0
    with open(wheel_path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    published = WheelInput(
        filename=wheel_path.name,
        project=metadata.name,
        sha256=digest.hexdigest(),
        size=size,
        metadata_sha256=metadata.sha256,
        requires_python=metadata.requires_python,
        version=metadata.version,
    )
    return published, WheelSources(wheel=str(wheel_path), metadata=metadata.content)


# --- the logs directory: every build, failed ones too -----------------------------


def logs_signature(logs: Path | None, project: str) -> str:
    """Changes whenever a build record lands in ``logs/<project>/`` (records are renamed in)."""
    if logs is None:
        return ""
    try:
        return str(os.stat(logs / project).st_mtime_ns)
    except OSError:
        return ""


def read_builds(logs: Path | None, project: NormalizedName) -> list[BuildSources]:
    """The project's build records in the logs directory; unreadable ones are skipped."""
    if logs is None:
        return []
    directory = logs / project
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    builds = []
    for name in names:
        if not name.endswith(".json"):
            continue
        stem = name.removesuffix(".json")
        try:
            record = json.loads((directory / name).read_bytes())
            build = Build(
                started=str(record["started"]),
                outcome=str(record["outcome"]),
                version=str(record["version"]),
                record=layout.failed_build_record(project, stem),
                log=layout.failed_build_log(project, stem) if stem + ".log" in names else None,
                error=str(record.get("error") or ""),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a build record: the logs directory is only informative
        log = f"{directory}/{stem}.log" if build.log is not None else None
        builds.append(BuildSources(build, f"{directory}/{name}", log))
    return builds


# --- recipes: PEP 708 tracks and recipe-level yanks -------------------------------


def recipe_tracks(loaded: LoadedRecipe) -> tuple[str, ...]:
    """The PyPI project a recipe's project tracks (PEP 708), if it exists on PyPI.

    An explicit ``upstream`` says so; a PyPI sdist source proves it. A project that
    only exists here (a fork under a new name) tracks nothing: declaring it would let
    whoever registers the name on PyPI later merge their files into ours.
    """
    from .render import tracks_url

    recipe = loaded.recipe
    if recipe.upstream is None and recipe.source.kind != "pypi":
        return ()
    return (tracks_url(recipe.upstream_project),)


def recipe_yanks(recipes: Mapping[NormalizedName, LoadedRecipe]) -> dict[str, str]:
    """Every recipe's ``yanked`` entries, keyed like the yank store."""
    from .yanks import yank_key

    found: dict[str, str] = {}
    for name, loaded in recipes.items():
        for target, reason in loaded.recipe.yanked.items():
            key = target if target.endswith(".whl") else f"{name}=={target}"
            found[yank_key(key)] = reason
    return found


def json_digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
