"""The local wheelhouse into the published one (``files/`` of the published tree).

Analyse, then act: ``plan_merge`` decides for every local wheel, before anything is
written, whether it is new (a file in ``files/``, or a release asset when it is larger
than the threshold), already published with the same bytes (nothing to do), removed on
purpose (never published again), or published with other bytes: refused, every such
name listed, nothing written. Hashes come from the catalogs (each line holds the sha256
its wheel had when it was added), so a publish reads no wheel that is already out.
``apply_merge`` copies the new wheels with their ``.metadata`` and build records, their
catalog lines, where the hosted ones live, the yanks and the build logs.

Removing a published wheel is ``plan_removals`` / ``apply_removals``: its files leave
``files/``, its name and hash stay in ``hosting.json`` with the reason.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._fs import copy_atomically
from ..catalog import CATALOG_FILE, CatalogEntry, append_to_catalog, parse_line, read_catalog
from ..errors import ConfigError, PublishedFileChanged
from ..hashing import sha256_file
from ..index import layout
from ..index.hosting import Hosting, Removal, load_hosting, save_hosting
from ..index.inputs import scan_wheelhouse
from ..index.yanks import YANKS_FILE, load_yanks, save_yanks
from ..wheelmeta import METADATA_SUFFIX, RECORD_SUFFIX

# What a published wheel brings along: removed with it, never changed after it.
COMPANION_SUFFIXES = ("", METADATA_SUFFIX, RECORD_SUFFIX)


@dataclass(frozen=True)
class LocalWheel:
    path: Path
    entry: CatalogEntry

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class MergePlan:
    files: tuple[LocalWheel, ...] = ()  # new, into files/
    assets: tuple[LocalWheel, ...] = ()  # new, too large: release assets
    published: tuple[str, ...] = ()  # already published with these bytes
    removed: tuple[str, ...] = ()  # removed on purpose: not published again


def read_local(wheelhouse: Path) -> list[LocalWheel]:
    """The wheels of the local wheelhouse, each with its catalog line and ``.metadata``."""
    if not wheelhouse.is_dir():
        return []  # nothing built here (an unpublish from a fresh checkout)
    # A wheel without a catalog line: an error, named.
    house = scan_wheelhouse(wheelhouse)
    wheels = []
    for project in sorted(house.names):
        for name, line in house.catalog_lines(project):
            path = wheelhouse / name
            if not path.is_file():
                continue  # hosted elsewhere (the wheelhouse is a published one)
            entry = parse_line(line)
            metadata = path.with_name(name + METADATA_SUFFIX)
            if entry is None or not entry.metadata_sha256 or not metadata.is_file():
                raise ConfigError(
                    f"{path}: its catalog line or its {METADATA_SUFFIX} file is missing or "
                    "incomplete; nothing was published",
                    hint=f"`factory adopt {path}` writes both again",
                )
            wheels.append(LocalWheel(path, entry))
    return wheels


def plan_merge(local: Sequence[LocalWheel], published: Path, threshold: int) -> MergePlan:
    """What publishing ``local`` into the published wheelhouse means; raise
    PublishedFileChanged if a published name would get other bytes."""
    catalog = read_catalog(published)
    hosting = load_hosting(published)
    present = set(os.listdir(published)) if published.is_dir() else set()
    files: list[LocalWheel] = []
    assets: list[LocalWheel] = []
    already: list[str] = []
    removed: list[str] = []
    conflicts: list[str] = []
    for wheel in local:
        name = wheel.name
        if name in hosting.removed:
            removed.append(name)
        elif name in present or name in hosting.hosted:
            sha256 = _published_sha256(published, name, catalog, present)
            (already if sha256 == wheel.entry.sha256 else conflicts).append(name)
        elif wheel.entry.size > threshold:
            assets.append(wheel)
        else:
            files.append(wheel)
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise PublishedFileChanged(
            f"{conflicts[0]}{more} is already published with other bytes; nothing was "
            "published and the remote is unchanged",
            hint="a published file name never gets new bytes: raise the recipe's "
            "build_number (`factory bump --rebuild PROJECT`: it becomes the wheel's build tag) "
            "and build again",
            details=tuple(f"published with other bytes: {name}" for name in conflicts),
        )
    return MergePlan(tuple(files), tuple(assets), tuple(already), tuple(removed))


def _published_sha256(
    published: Path, name: str, catalog: Mapping[str, str], present: set[str]
) -> str | None:
    entry = parse_line(catalog[name]) if name in catalog else None
    if entry is not None:
        return entry.sha256
    # A wheel put on the branch by hand, without a catalog line: its bytes decide.
    return sha256_file(published / name) if name in present else None


def apply_merge(
    plan: MergePlan,
    hosted: Mapping[str, str],
    published: Path,
    local_wheelhouse: Path,
    local_logs: Path,
) -> None:
    """Write the plan into ``published`` (``hosted``: URL of each wheel in ``plan.assets``)
    and bring the yanks and build logs along."""
    published.mkdir(parents=True, exist_ok=True)
    for wheel in plan.files:
        shutil.copyfile(wheel.path, published / wheel.name)
    for wheel in (*plan.files, *plan.assets):
        for suffix in COMPANION_SUFFIXES[1:]:
            source = wheel.path.with_name(wheel.name + suffix)
            if source.is_file():
                shutil.copyfile(source, published / (wheel.name + suffix))
    entries = [wheel.entry for wheel in (*plan.files, *plan.assets)]
    if entries:
        catalog = published / CATALOG_FILE
        if catalog.exists():
            # A fresh inode first: a site directory written from this tree may share the
            # old one (hard links), and appending must not change it behind its back.
            copy_atomically(catalog, catalog)
        append_to_catalog(published, entries)
    if hosted:
        hosting = load_hosting(published)
        save_hosting(published, Hosting({**hosting.hosted, **hosted}, hosting.removed))
    _merge_yanks(local_wheelhouse, published)
    if local_logs.is_dir():  # failed builds' logs too: the project pages show them
        overlay(local_logs, published.parent / layout.LOGS_LINK)


def _merge_yanks(local_wheelhouse: Path, published: Path) -> None:
    """Yanks made here are added to the published ones (a yank made here wins)."""
    if not (local_wheelhouse / YANKS_FILE).is_file():
        return
    before = load_yanks(published)
    merged = {**before, **load_yanks(local_wheelhouse)}
    if merged != before:
        save_yanks(published, merged)


def overlay(source: Path, destination: Path) -> None:
    """Copy every file of ``source`` that ``destination`` lacks or holds with other bytes;
    files only ``destination`` has are kept (published logs of other machines' builds)."""
    for root, directories, names in os.walk(source):
        directories[:] = [d for d in directories if not d.startswith(".")]
        relative = Path(root).relative_to(source)
        for name in names:
            origin = Path(root) / name
            if name.startswith(".") or origin.is_symlink() or not origin.is_file():
                continue
            target = destination / relative / name
            if target.is_file() and filecmp.cmp(origin, target, shallow=False):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)  # a new inode, as above
            shutil.copyfile(origin, target)


# --- removal on purpose ----------------------------------------------------------------


@dataclass(frozen=True)
class RemovalPlan:
    remove: dict[str, Removal] = field(default_factory=dict)  # published now: to remove
    already: tuple[str, ...] = ()  # removed by an earlier run
    hosted: dict[str, str] = field(default_factory=dict)  # removed wheels' asset URLs


def plan_removals(published: Path, reasons: Mapping[str, str], branch: str) -> RemovalPlan:
    """Every wheel named must be published (or removed already); ConfigError otherwise."""
    catalog = read_catalog(published)
    hosting = load_hosting(published)
    present = set(os.listdir(published)) if published.is_dir() else set()
    remove: dict[str, Removal] = {}
    already = []
    unknown = []
    for name, reason in reasons.items():
        if name in hosting.removed:
            already.append(name)
        elif name in present or name in hosting.hosted:
            sha256 = _published_sha256(published, name, catalog, present) or ""
            remove[name] = Removal(reason, sha256)
        else:
            unknown.append(name)
    if unknown:
        raise ConfigError(
            f"{unknown[0]} is not published on {branch}; nothing was changed",
            hint="name a published wheel file exactly, as its project page lists it",
        )
    hosted = {name: hosting.hosted[name] for name in remove if name in hosting.hosted}
    return RemovalPlan(remove, tuple(already), hosted)


def apply_removals(plan: RemovalPlan, published: Path) -> None:
    if not plan.remove:
        return
    for name in plan.remove:
        for suffix in COMPANION_SUFFIXES:
            (published / (name + suffix)).unlink(missing_ok=True)
    hosting = load_hosting(published)
    hosted = {k: v for k, v in hosting.hosted.items() if k not in plan.remove}
    save_hosting(published, Hosting(hosted, {**hosting.removed, **plan.remove}))


def companion_paths(names: Iterable[str]) -> set[str]:
    """The published paths of wheels and what comes with them, relative to the tree."""
    return {
        f"{layout.FILES_LINK}/{name}{suffix}" for name in names for suffix in COMPANION_SUFFIXES
    }
