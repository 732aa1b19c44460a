"""The index's inputs: the wheelhouse (wheels, their metadata, records and catalog),
yanks, recipes (optional) and the build logs directory (optional). The edge that reads them.

Listing the wheelhouse and reading its catalog is done every run; a project's wheels
are looked at only when its listing (or its yanks, recipe or logs) changed. A wheel's
facts come from its catalog line, else from its record (and the line is appended for
next time), and only a wheel without a record is opened.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name

from ..catalog import CatalogEntry, append_to_catalog, parse_line, read_catalog
from ..errors import ConfigError
from ..records import RECORD_SUFFIX, write_atomically
from ..wheelmeta import METADATA_SUFFIX, WheelMetadata, read_wheel_metadata
from . import layout
from .model import Build, WheelInput

if TYPE_CHECKING:
    from ..recipe import LoadedRecipe


@dataclass(frozen=True)
class Wheelhouse:
    """The wheelhouse's listing and catalog: read once per run."""

    path: Path
    projects: dict[NormalizedName, list[str]]  # wheel file names by normalized project, sorted
    recorded: frozenset[str]  # wheels with a build record beside them
    with_metadata: frozenset[str]  # wheels with their .metadata beside them
    catalog: dict[str, str]  # wheel file name -> its catalog line

    def signature(self, project: NormalizedName) -> str:
        """Changes when the project's files do: a wheel with a record by its catalog line
        (a record is never rewritten, but a wheel removed and added by hand gets a new
        line), one without by its size and time. (A missing .metadata is made again from
        the wheel, with the same bytes: its absence changes no page.)"""
        recorded, catalog = self.recorded, self.catalog
        parts = []
        for wheel in self.projects[project]:
            if wheel in recorded:
                parts.append(catalog.get(wheel) or wheel + "\trecord")
            else:
                info = os.stat(self.path / wheel)
                parts.append(f"{wheel}\t{info.st_size}\t{info.st_mtime_ns}")
        return "\n".join(parts)


def scan_wheelhouse(wheelhouse: Path) -> Wheelhouse:
    """Every wheel of the wheelhouse, grouped by normalized project name (from the file name)."""
    try:
        names = os.listdir(wheelhouse)
    except FileNotFoundError:
        raise ConfigError(
            f"wheelhouse {wheelhouse} does not exist",
            hint="run `factory build` first, or pass --wheelhouse",
        ) from None
    # One pass over what can be 300,000 names: the rest of the run asks these sets.
    projects: dict[NormalizedName, list[str]] = {}
    canonical: dict[str, NormalizedName] = {}
    recorded, with_metadata = set(), set()
    for name in names:
        if name.endswith(".whl"):
            if name.startswith("."):
                continue
            # The project part is everything before the first "-" (PEP 427 escapes "-"
            # in names); the full file name is checked with packaging when it is read.
            raw = name.partition("-")[0]
            project = canonical.get(raw)
            if project is None:
                project = canonical[raw] = canonicalize_name(raw)
            group = projects.get(project)
            if group is None:
                projects[project] = [name]
            else:
                group.append(name)
        elif name.endswith(_RECORD_SUFFIX):
            recorded.add(name[: -len(RECORD_SUFFIX)])
        elif name.endswith(_METADATA_SUFFIX):
            with_metadata.add(name[: -len(METADATA_SUFFIX)])
    for group in projects.values():
        group.sort()
    return Wheelhouse(
        wheelhouse,
        dict(sorted(projects.items())),
        frozenset(recorded),
        frozenset(with_metadata),
        read_catalog(wheelhouse),
    )


_RECORD_SUFFIX = ".whl" + RECORD_SUFFIX
_METADATA_SUFFIX = ".whl" + METADATA_SUFFIX


@dataclass
class WheelhouseRepairs:
    """What a run found missing from the wheelhouse and adds to it, before publishing."""

    catalog: list[CatalogEntry] = field(default_factory=list)  # lines for wheels with records
    metadata: dict[str, bytes] = field(default_factory=dict)  # <wheel>.metadata files

    def apply(self, wheelhouse: Path) -> None:
        for filename, content in sorted(self.metadata.items()):
            write_atomically(wheelhouse / f"{filename}{METADATA_SUFFIX}", content)
        append_to_catalog(wheelhouse, self.catalog)


def read_wheels(
    wheelhouse: Wheelhouse,
    project: NormalizedName,
    logs: Path | None,
    repairs: WheelhouseRepairs,
) -> list[WheelInput]:
    """The wheels of one project, from the catalog, their records or the wheels themselves."""
    catalog, recorded = wheelhouse.catalog, wheelhouse.recorded
    log_names = _log_listing(logs, project)
    inputs = []
    for filename in wheelhouse.projects[project]:
        if filename not in recorded:
            inputs.append(_from_wheel(f"{wheelhouse.path}/{filename}", repairs))
            continue
        line = catalog.get(filename)
        entry = parse_line(line) if line is not None else None
        if entry is None:
            entry = _from_record(f"{wheelhouse.path}/{filename}")
            repairs.catalog.append(entry)
        if entry.filename != filename:
            raise ConfigError(
                f"{wheelhouse.path}/{filename}{RECORD_SUFFIX}: the record is for "
                f"{entry.filename}, not {filename}",
                hint="records are named after their wheel; remove the misplaced one",
            )
        metadata_sha256 = entry.metadata_sha256
        if filename not in wheelhouse.with_metadata:
            # Removed by hand, or a wheel from before metadata was kept beside it.
            wheel_path = f"{wheelhouse.path}/{filename}"
            metadata_sha256 = _metadata_from_wheel(wheel_path, repairs).sha256
        log = _basename(entry.log) if log_names else ""
        log_path = layout.log_file(project, log) if log in log_names else None
        build = Build(entry.started, "success", entry.version, None, log_path)
        inputs.append(  # positionally: this runs once per wheel
            WheelInput(
                filename,
                entry.project,
                entry.sha256,
                entry.size,
                metadata_sha256,
                entry.requires_python or None,
                entry.version,
                build,
            )
        )
    return inputs


def _from_record(wheel_path: str) -> CatalogEntry:
    """A wheel's catalog entry, from its build record (a wheel added before catalogs)."""
    record_path = wheel_path + RECORD_SUFFIX
    try:
        with open(record_path, "rb") as handle:
            record = json.loads(handle.read())
        wheel = record["wheel"]
        return CatalogEntry(
            filename=wheel["filename"],
            project=record["project"],
            version=record["version"],
            sha256=wheel["sha256"],
            size=int(wheel["size"]),
            metadata_sha256=wheel.get("metadata_sha256") or "",
            requires_python=wheel.get("requires_python") or "",
            started=record["started"],
            log=record.get("log") or "",
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{record_path}: not a build record ({type(exc).__name__}: {exc})",
            hint="remove the record to index the wheel from its own metadata",
        ) from None


def _metadata_from_wheel(wheel_path: str, repairs: WheelhouseRepairs) -> WheelMetadata:
    metadata = read_wheel_metadata(Path(wheel_path))
    repairs.metadata[_basename(wheel_path)] = metadata.content
    return metadata


def _basename(path: str) -> str:
    return path.rpartition("/")[2]  # os.path.basename, without its layers


def _from_wheel(wheel_path: str, repairs: WheelhouseRepairs) -> WheelInput:
    """A wheel without a record: read and hash it (again only when it changes)."""
    metadata = read_wheel_metadata(Path(wheel_path))
    if not os.path.exists(wheel_path + METADATA_SUFFIX):
        repairs.metadata[_basename(wheel_path)] = metadata.content
    digest = hashlib.sha256()
    size = 0
    with open(wheel_path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return WheelInput(
        filename=_basename(wheel_path),
        project=metadata.name,
        sha256=digest.hexdigest(),
        size=size,
        metadata_sha256=metadata.sha256,
        requires_python=metadata.requires_python,
        version=metadata.version,
    )


def _log_listing(logs: Path | None, project: str) -> frozenset[str]:
    if logs is None:
        return frozenset()
    try:
        return frozenset(os.listdir(logs / project))
    except OSError:
        return frozenset()


# --- the logs directory: every build, failed ones too -----------------------------


def logs_signature(logs: Path | None, project: str) -> str:
    """Changes whenever a build record lands in ``logs/<project>/`` (records are renamed in)."""
    if logs is None:
        return ""
    try:
        return str(os.stat(logs / project).st_mtime_ns)
    except OSError:
        return ""


def read_builds(logs: Path | None, project: NormalizedName) -> list[Build]:
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
            builds.append(
                Build(
                    started=str(record["started"]),
                    outcome=str(record["outcome"]),
                    version=str(record["version"]),
                    record=layout.log_file(project, name),
                    log=layout.log_file(project, f"{stem}.log") if f"{stem}.log" in names else None,
                    error=str(record.get("error") or ""),
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a build record: the logs directory is only informative
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
