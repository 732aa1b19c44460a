"""The index's inputs: the wheelhouse (wheels, their metadata, records and catalog),
yanks, recipes (optional) and the build logs directory (optional). The edge that reads them.

Listing the wheelhouse and reading its catalog is done every run; a project's wheels
are looked at only when its listing (or its yanks, recipe or logs) changed. A wheel's
facts come from its catalog line, else from its record (and the line is appended for
next time), and only a wheel without a record is opened.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name

from .._fs import write_atomically
from ..catalog import CatalogEntry, append_to_catalog, parse_line, read_catalog
from ..errors import ConfigError
from ..hashing import sha256_file
from ..records import RECORD_SUFFIX, BuildRecord
from ..wheelmeta import METADATA_SUFFIX, WheelMetadata, read_wheel_metadata
from . import layout
from .model import Build, WheelInput
from .render import tracks_url
from .yanks import yank_key

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
    log_names: frozenset[str],
    repairs: WheelhouseRepairs,
) -> list[WheelInput]:
    """The wheels of one project, from the catalog, their records or the wheels themselves.

    ``log_names`` lists the project's folder in the logs directory: a wheel's build
    log is linked when it is there."""
    catalog, recorded = wheelhouse.catalog, wheelhouse.recorded
    inputs = []
    for filename in wheelhouse.projects[project]:
        if filename not in recorded:
            inputs.append(_from_wheel(wheelhouse, filename, repairs))
            continue
        line = catalog.get(filename)
        entry = parse_line(line) if line is not None else None
        if entry is None:
            entry = _from_record(f"{wheelhouse.path}/{filename}{RECORD_SUFFIX}")
            repairs.catalog.append(entry)
        if entry.filename != filename:
            raise ConfigError(
                f"{wheelhouse.path}/{filename}{RECORD_SUFFIX}: the record is for "
                f"{entry.filename}, not {filename}",
                hint="records are named after their wheel; remove the misplaced one",
            )
        metadata_sha256 = entry.metadata_sha256
        if not metadata_sha256 or filename not in wheelhouse.with_metadata:
            # Removed by hand, or a wheel from before metadata was kept beside it.
            metadata_sha256 = _metadata(wheelhouse, filename, repairs).sha256
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


def _from_record(record_path: str) -> CatalogEntry:
    """A wheel's catalog entry, from its build record (a wheel added before catalogs)."""
    try:
        with open(record_path, encoding="utf-8") as handle:
            return CatalogEntry.from_record(BuildRecord.from_json(handle.read()))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{record_path}: not a build record ({type(exc).__name__}: {exc})",
            hint="remove the record to index the wheel from its own metadata",
        ) from None


def _metadata(wheelhouse: Wheelhouse, filename: str, repairs: WheelhouseRepairs) -> WheelMetadata:
    """A wheel's metadata, read from the wheel; kept for the wheelhouse if it lacks it."""
    metadata = read_wheel_metadata(wheelhouse.path / filename)
    if filename not in wheelhouse.with_metadata:
        repairs.metadata[filename] = metadata.content
    return metadata


def _basename(path: str) -> str:
    return path.rpartition("/")[2]  # os.path.basename, without its layers


def _from_wheel(wheelhouse: Wheelhouse, filename: str, repairs: WheelhouseRepairs) -> WheelInput:
    """A wheel without a record: read and hash it (again only when it changes)."""
    metadata = _metadata(wheelhouse, filename, repairs)
    path = wheelhouse.path / filename
    return WheelInput(
        filename=filename,
        project=metadata.name,
        sha256=sha256_file(path),
        size=path.stat().st_size,
        metadata_sha256=metadata.sha256,
        requires_python=metadata.requires_python,
        version=metadata.version,
    )


def log_listing(logs: Path | None, project: str) -> frozenset[str]:
    """What the logs directory holds for a project (its builds' logs and records)."""
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


def read_builds(
    logs: Path | None, project: NormalizedName, log_names: frozenset[str]
) -> list[Build]:
    """The project's build records in the logs directory; unreadable ones are skipped."""
    if logs is None:
        return []
    builds = []
    for name in sorted(log_names):
        if not name.endswith(".json"):
            continue
        stem = name.removesuffix(".json")
        try:
            record = json.loads((logs / project / name).read_bytes())
            builds.append(
                Build(
                    started=str(record["started"]),
                    outcome=str(record["outcome"]),
                    version=str(record["version"]),
                    record=layout.log_file(project, name),
                    log=layout.log_file(project, f"{stem}.log")
                    if f"{stem}.log" in log_names
                    else None,
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
    recipe = loaded.recipe
    if recipe.upstream is None and recipe.source.kind != "pypi":
        return ()
    return (tracks_url(recipe.upstream_project),)


def recipe_yanks(recipes: Mapping[NormalizedName, LoadedRecipe]) -> dict[str, str]:
    """Every recipe's ``yanked`` entries, keyed like the yank store."""
    found: dict[str, str] = {}
    for name, loaded in recipes.items():
        for target, reason in loaded.recipe.yanked.items():
            key = target if target.endswith(".whl") else f"{name}=={target}"
            found[yank_key(key)] = reason
    return found
