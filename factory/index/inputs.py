"""The index's inputs: the wheelhouse (wheels and their catalog), yanks, recipes
(optional) and the build logs directory (optional). The edge that reads them; it
writes nothing: a wheel's catalog line and ``.metadata`` are written when the wheel is
added (``factory build``, ``factory adopt``), and a wheel without a line is an error.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Collection, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName

from ..catalog import (
    CATALOG_FILE,
    CatalogPosition,
    CatalogRead,
    accounts_for,
    directory_state,
    parse_line,
    read_catalog_lines,
    read_catalog_tail,
    read_line_at,
)
from ..errors import ConfigError
from ..wheelmeta import wheel_project
from . import layout
from .hosting import Hosting, load_hosting
from .model import Build, PatchFacts, RecipeFacts, Retired, WheelInput
from .stamp import RACY_NS
from .wheelstore import NO_WHEELS, Wheels, WheelStore
from .yanks import yank_key

if TYPE_CHECKING:
    from ..recipe import LoadedRecipe

PYPI_SIMPLE = "https://pypi.org/simple/"


@dataclass(frozen=True)
class Wheelhouse:
    """The wheelhouse's wheels and their catalog lines: read once per run that has
    anything new, and only as far as needed (see ``scan_wheelhouse``)."""

    path: Path
    names: frozenset[NormalizedName]  # every project with a wheel, by normalized name
    # The wheels of the projects whose wheels are not the ones the last run found
    # (NO_WHEELS: none left); every other project's are in ``stored``.
    changed: dict[NormalizedName, Wheels]
    stored: WheelStore | None
    lines: dict[str, tuple[int, str]]  # file name -> offset and text of lines read so far
    catalog: CatalogPosition  # where this run read the catalog to, and the directory's state
    hosted: dict[str, str] = field(default_factory=dict)  # wheel -> URL (hosting.py)
    # Wheels removed on purpose, by project: (file name, reason), sorted.
    removed: dict[NormalizedName, list[tuple[str, str]]] = field(default_factory=dict)

    def wheels(self, project: NormalizedName) -> Wheels:
        changed = self.changed.get(project)
        if changed is not None:
            return changed
        return self.stored.get(project) if self.stored is not None else NO_WHEELS

    def hosting_signature(self, project: NormalizedName) -> str:
        """Where the project's wheels are hosted elsewhere, and what was removed."""
        hosted, removed = self.hosted, self.removed.get(project, ())
        if not hosted and not removed:
            return ""
        names = self.wheels(project).names.split(" ") if project in self.names else []
        lines = [f"{name} {hosted[name]}" for name in names if name in hosted]
        lines += [f"removed {name}: {reason}" for name, reason in removed]
        return "\n".join(lines)

    def projects_with_hosting(self) -> set[NormalizedName]:
        """Every project whose ``hosting_signature`` may not be "" (a wheel hosted
        elsewhere, or one removed on purpose)."""
        project_of = _ProjectNames()
        return {project_of(name) for name in self.hosted} | self.removed.keys()

    def catalog_lines(self, project: NormalizedName) -> list[tuple[str, str]]:
        """Every wheel of the project with its catalog line (read now if not yet)."""
        wheels = self.wheels(project).offsets_by_name()
        if wheels.keys() <= self.lines.keys():
            return [(wheel, self.lines[wheel][1]) for wheel in wheels]
        path = self.path / CATALOG_FILE
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_ino != self.catalog.inode:
                raise ConfigError(
                    f"{path} was replaced while the index was read",
                    hint="run `factory index` again",
                )
            return [(wheel, read_line_at(handle, offset)) for wheel, offset in wheels.items()]


def scan_wheelhouse(
    wheelhouse: Path,
    stored: WheelStore | None = None,
    known: AbstractSet[NormalizedName] = frozenset(),
    catalog: CatalogPosition | None = None,
) -> Wheelhouse:
    """Every wheel of the wheelhouse, grouped by normalized project name (from the file
    name); raise ConfigError for a wheel the catalog does not know.

    ``known`` (the projects with wheels), ``stored`` (their wheels) and ``catalog`` are
    what the previous run found and where it stopped. When the catalog still continues
    there, only the lines appended since are read. When they also account for every
    change of the directory since (catalog.accounts_for), they are all the news, and
    only the stored wheels of the projects they name are read; otherwise the directory
    is listed and compared with every stored wheel (a wheel deleted by hand changes its
    project). Anything unexpected falls back to reading the whole catalog.

    With a ``hosting.json`` (a published wheelhouse), a wheel hosted at a URL counts
    even when its file is not here, and a wheel removed on purpose never counts."""
    try:
        directory = directory_state(wheelhouse)  # before anything in it is read
    except FileNotFoundError:
        raise _missing(wheelhouse) from None
    fresh = time.time_ns() - int(directory.rpartition(":")[2]) < RACY_NS
    trusted = "" if fresh else directory
    hosting = load_hosting(wheelhouse)
    removed: dict[NormalizedName, list[tuple[str, str]]] = {}
    for name, removal in sorted(hosting.removed.items()):
        removed.setdefault(_ProjectNames()(name), []).append((name, removal.reason))
    tail = read_catalog_tail(wheelhouse, catalog.inode, catalog.end) if catalog else None
    listed = None
    if stored is not None and catalog is not None and tail is not None:
        if accounts_for(tail, catalog.directory, directory):
            changed = _update(stored, tail, None, hosting.removed.keys())
        else:
            listed = _listed(wheelhouse, hosting)
            changed = _update(stored, tail, listed, ())
            if changed is not None:
                # A run killed after its shards were written (stored is then ahead of
                # ``known``) may have dropped a project whose wheels were deleted.
                gone = known - stored.every().keys() - changed.keys()
                changed.update(dict.fromkeys(gone, NO_WHEELS))
        if changed is not None:
            with_wheels = {name for name, wheels in changed.items() if wheels.names}
            names = (known - changed.keys()) | with_wheels
            position = CatalogPosition(tail.inode, tail.end, trusted)
            return Wheelhouse(
                wheelhouse, frozenset(names), changed, stored, tail.lines, position,
                dict(hosting.hosted), removed,
            )  # fmt: skip
    if listed is None:
        listed = _listed(wheelhouse, hosting)
    everything = read_catalog_lines(wheelhouse)
    unknown = sorted(listed - everything.lines.keys())
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ConfigError(
            f"{wheelhouse / unknown[0]}{more}: a wheel without a line in "
            f"{wheelhouse / CATALOG_FILE}; nothing was changed",
            hint=f"add wheels built elsewhere with `factory adopt {wheelhouse / unknown[0]}` "
            "(or a folder of them), or remove the file",
        )
    grouped: dict[NormalizedName, dict[str, int]] = {}
    project_of = _ProjectNames()
    for name in sorted(listed):
        grouped.setdefault(project_of(name), {})[name] = everything.lines[name][0]
    # Every project counts as changed: its wheels were found anew (the digests tell
    # which really changed), and a project no longer here has none left.
    all_changed = dict.fromkeys(known, NO_WHEELS)
    all_changed.update((name, Wheels.of(wheels)) for name, wheels in grouped.items())
    position = CatalogPosition(everything.inode, everything.end, trusted)
    return Wheelhouse(
        wheelhouse, frozenset(grouped), all_changed, stored, everything.lines, position,
        dict(hosting.hosted), removed,
    )  # fmt: skip


def _listed(wheelhouse: Path, hosting: Hosting) -> set[str]:
    """The wheels the directory lists, with the hosted ones and without the removed."""
    try:
        names = os.listdir(wheelhouse)
    except FileNotFoundError:
        raise _missing(wheelhouse) from None
    # Slicing beats endswith over 300,000 names. A hidden name is not a wheel (an
    # editor's or a download's temporary file).
    listed = {n for n in names if n[-4:] == ".whl" and n[0] != "."}
    if hosting.hosted or hosting.removed:
        listed = (listed | hosting.hosted.keys()) - hosting.removed.keys()
    return listed


def _missing(wheelhouse: Path) -> ConfigError:
    return ConfigError(
        f"wheelhouse {wheelhouse} does not exist",
        hint="run `factory build` first, or pass --wheelhouse",
    )


def _update(
    stored: WheelStore, tail: CatalogRead, listed: set[str] | None, removed: Collection[str]
) -> dict[NormalizedName, Wheels] | None:
    """The projects whose wheels the catalog's new lines and the listing change, with
    their wheels now (``listed`` None: the new lines are all that changed, less the
    wheels ``removed`` on purpose); None when a listed wheel is in neither the stored
    wheels nor the new lines (it may have an older line: read them all)."""
    changed: dict[NormalizedName, dict[str, int]] = {}
    project_of = _ProjectNames()

    def wheels_of(project: NormalizedName) -> dict[str, int]:
        if project not in changed:
            changed[project] = stored.get(project).offsets_by_name()
        return changed[project]

    if listed is None:
        arrived = [name for name in tail.lines if name not in removed]
    else:
        every = stored.every().values()
        known_names = {name for wheels in every for name in wheels.names.split(" ")}
        if listed - known_names - tail.lines.keys():
            return None
        for name in known_names - listed:  # deleted by hand
            del wheels_of(project_of(name))[name]
        arrived = [name for name in tail.lines if name in listed]
    for name in arrived:
        wheels_of(project_of(name))[name] = tail.lines[name][0]
    return {project: Wheels.of(dict(sorted(wheels.items()))) for project, wheels in changed.items()}


class _ProjectNames:
    """``wheel_project``, remembered per name part: 100,000 wheels share 10,000 of them."""

    def __init__(self) -> None:
        self.cache: dict[str, NormalizedName] = {}

    def __call__(self, filename: str) -> NormalizedName:
        raw = filename.partition("-")[0]
        project = self.cache.get(raw)
        if project is None:
            project = self.cache[raw] = wheel_project(raw)
        return project


def read_wheels(
    wheelhouse: Wheelhouse, project: NormalizedName, log_names: frozenset[str]
) -> list[WheelInput]:
    """The wheels of one project, from their catalog lines.

    ``log_names`` lists the project's folder in the logs directory: a wheel's build
    log is linked when it is there."""
    inputs = []
    for filename, line in wheelhouse.catalog_lines(project):
        entry = parse_line(line)
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
                entry.started, "success", entry.version, None, log_path, "", entry.compiler,
                entry.isa,
            )  # fmt: skip
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
                wheelhouse.hosted.get(filename),
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


def logged_projects(logs: Path | None) -> frozenset[str]:
    """Every project with a folder in the logs directory: the only ones whose
    ``logs_signature`` is not "" (one listing instead of a stat per project)."""
    if logs is None:
        return frozenset()
    try:
        return frozenset(os.listdir(logs))
    except OSError:
        return frozenset()


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


def recipe_facts(loaded: LoadedRecipe) -> RecipeFacts:
    """What a project's page says about its recipe: the source, the patches with their
    upstream status, the retirement."""
    from ..patches import parse_header
    from ..recipe import GitSource, PypiSource
    from ..redact import redact_url

    recipe, source = loaded.recipe, loaded.recipe.source
    if isinstance(source, PypiSource):
        facts = RecipeFacts(recipe.version, "pypi", source.name or recipe.name, source.sha256)
    elif isinstance(source, GitSource):
        facts = RecipeFacts(
            recipe.version, "git", redact_url(source.url), source.commit, source.submodules
        )
    else:
        facts = RecipeFacts(recipe.version, "archive", redact_url(source.url), source.sha256)
    patches = []
    for path in loaded.patch_files:  # their headers were validated with the recipe
        header = parse_header(path.read_text(encoding="utf-8", errors="replace"))
        summary = header.description.splitlines()[0]
        patches.append(PatchFacts(path.name, summary, header.status, header.status_detail))
    retired = None
    if (retirement := recipe.retired) is not None:
        evidence = tuple(retirement.evidence)
        retired = Retired(retirement.since, retirement.reason, evidence, recipe.upstream_project)
    return replace(facts, patches=tuple(patches), retired=retired)


def recipe_yanks(recipes: Mapping[NormalizedName, LoadedRecipe]) -> dict[str, str]:
    """Every recipe's ``yanked`` entries, keyed like the yank store."""
    found: dict[str, str] = {}
    for name, loaded in recipes.items():
        for target, reason in loaded.recipe.yanked.items():
            key = target if target.endswith(".whl") else f"{name}=={target}"
            found[yank_key(key)] = reason
    return found
