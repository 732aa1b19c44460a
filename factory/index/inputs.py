"""The index's inputs: the wheelhouse (wheels and their catalog), yanks, recipes
(optional) and the build logs directory (optional). The edge that reads them; it
writes nothing: a wheel's catalog line and ``.metadata`` are written when the wheel is
added (``factory build``, ``factory adopt``), and a wheel without a line is an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name

from ..catalog import CATALOG_FILE, parse_line, read_catalog
from ..errors import ConfigError
from . import layout
from .hosting import load_hosting
from .model import Build, WheelInput
from .yanks import yank_key

if TYPE_CHECKING:
    from ..recipe import LoadedRecipe

PYPI_SIMPLE = "https://pypi.org/simple/"


@dataclass(frozen=True)
class Wheelhouse:
    """The wheelhouse's listing and catalog: read once per run that has anything new."""

    path: Path
    projects: dict[NormalizedName, list[str]]  # wheel file names by normalized project, sorted
    catalog: dict[str, str]  # wheel file name -> its catalog line
    hosted: dict[str, str] = field(default_factory=dict)  # wheel -> URL (hosting.py)
    # Wheels removed on purpose, by project: (file name, reason), sorted.
    removed: dict[NormalizedName, list[tuple[str, str]]] = field(default_factory=dict)

    def signature(self, project: NormalizedName) -> str:
        """Changes when the project's files do: every wheel's catalog line (a wheel
        removed and added again gets a new line), where it is hosted, what was removed."""
        catalog, hosted = self.catalog, self.hosted
        lines = [catalog[wheel] for wheel in self.projects[project]]
        if hosted:
            lines += [hosted[w] for w in self.projects[project] if w in hosted]
        if project in self.removed:
            lines += [f"removed {name}: {reason}" for name, reason in self.removed[project]]
        return "\n".join(lines)


def scan_wheelhouse(wheelhouse: Path) -> Wheelhouse:
    """Every wheel of the wheelhouse, grouped by normalized project name (from the file
    name); raise ConfigError for a wheel the catalog does not know.

    With a ``hosting.json`` (a published wheelhouse), a wheel hosted at a URL counts
    even when its file is not here, and a wheel removed on purpose never counts."""
    try:
        names = os.listdir(wheelhouse)
    except FileNotFoundError:
        raise ConfigError(
            f"wheelhouse {wheelhouse} does not exist",
            hint="run `factory build` first, or pass --wheelhouse",
        ) from None
    catalog = read_catalog(wheelhouse)
    wheels = [n for n in names if n.endswith(".whl") and not n.startswith(".")]
    hosting = load_hosting(wheelhouse)
    if hosting.hosted or hosting.removed:
        present = set(wheels)
        wheels += [n for n in hosting.hosted if n not in present]
        wheels = [n for n in wheels if n not in hosting.removed]
    unknown = sorted(n for n in wheels if n not in catalog)
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ConfigError(
            f"{wheelhouse / unknown[0]}{more}: a wheel without a line in "
            f"{wheelhouse / CATALOG_FILE}; nothing was changed",
            hint=f"add wheels built elsewhere with `factory adopt {wheelhouse / unknown[0]}` "
            "(or a folder of them), or remove the file",
        )
    projects: dict[NormalizedName, list[str]] = {}
    canonical: dict[str, NormalizedName] = {}
    for name in wheels:
        # The project part is everything before the first "-" (PEP 427 escapes "-"
        # in names); the full file name is checked with packaging when it is read.
        raw = name.partition("-")[0]
        project = canonical.get(raw)
        if project is None:
            project = canonical[raw] = canonicalize_name(raw)
        projects.setdefault(project, []).append(name)
    for group in projects.values():
        group.sort()
    if not (hosting.hosted or hosting.removed):
        return Wheelhouse(wheelhouse, dict(sorted(projects.items())), catalog)
    removed: dict[NormalizedName, list[tuple[str, str]]] = {}
    for name, removal in sorted(hosting.removed.items()):
        removed.setdefault(canonicalize_name(name.partition("-")[0]), []).append(
            (name, removal.reason)
        )
    return Wheelhouse(
        wheelhouse, dict(sorted(projects.items())), catalog, dict(hosting.hosted), removed
    )


def read_wheels(
    wheelhouse: Wheelhouse, project: NormalizedName, log_names: frozenset[str]
) -> list[WheelInput]:
    """The wheels of one project, from their catalog lines.

    ``log_names`` lists the project's folder in the logs directory: a wheel's build
    log is linked when it is there."""
    catalog, hosted = wheelhouse.catalog, wheelhouse.hosted
    inputs = []
    for filename in wheelhouse.projects[project]:
        entry = parse_line(catalog[filename])
        if entry is None or entry.filename != filename or not entry.metadata_sha256:
            raise ConfigError(
                f"{wheelhouse.path / CATALOG_FILE}: the line for {filename} is not a "
                "complete catalog line",
                hint=f"`factory adopt {wheelhouse.path / filename}` writes a new one",
            )
        build = None
        if entry.started:  # built here: it has a build record (and maybe a log)
            log = _basename(entry.log) if log_names else ""
            log_path = layout.log_file(project, log) if log in log_names else None
            build = Build(
                entry.started, "success", entry.version, None, log_path, compiler=entry.compiler
            )
        inputs.append(  # positionally: this runs once per wheel
            WheelInput(
                filename,
                entry.project,
                entry.sha256,
                entry.size,
                entry.metadata_sha256,
                entry.requires_python or None,
                entry.version,
                build,
                hosted.get(filename),
            )
        )
    return inputs


def _basename(path: str) -> str:
    return path.rpartition("/")[2]  # os.path.basename, without its layers


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
    # PEP 708: the project's page on the index it tracks, by normalized name.
    return (f"{PYPI_SIMPLE}{recipe.upstream_project}/",)


def recipe_yanks(recipes: Mapping[NormalizedName, LoadedRecipe]) -> dict[str, str]:
    """Every recipe's ``yanked`` entries, keyed like the yank store."""
    found: dict[str, str] = {}
    for name, loaded in recipes.items():
        for target, reason in loaded.recipe.yanked.items():
            key = target if target.endswith(".whl") else f"{name}=={target}"
            found[yank_key(key)] = reason
    return found
