"""`factory index`: bring index/ up to date with the wheelhouse, re-rendering only what changed.

Each project gets a digest of everything its pages are made from (its wheelhouse
listing, yanks, recipe, logs directory, the settings and the renderer's own code).
A project whose digest is the one in the manifest is not read, rendered or written;
its landing-page row comes from the manifest.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from json.encoder import encode_basestring_ascii as _quote_ascii
from pathlib import Path

from packaging.utils import NormalizedName

from ..errors import ConfigError
from ..recipe import LoadedRecipe, load_recipes
from . import layout
from .inputs import (
    WheelhouseEntry,
    json_digest,
    logs_signature,
    read_builds,
    read_wheels,
    recipe_tracks,
    recipe_yanks,
    scan_wheelhouse,
)
from .model import IndexSettings, assemble_project, summarize
from .render import render_project, render_root
from .writer import (
    FromFile,
    ProjectOutput,
    ProjectState,
    locked,
    publish,
    read_journal,
    read_manifest,
)
from .yanks import key_project, load_yanks


@dataclass(frozen=True)
class IndexOptions:
    wheelhouse: Path
    out: Path
    recipes: Path | None = None  # recipes add PEP 708 tracks and yanks; optional
    patches: Path | None = None
    logs: Path | None = None  # build logs and records (failed builds too); optional
    settings: IndexSettings = field(default_factory=IndexSettings)


@dataclass(frozen=True)
class IndexReport:
    out: Path
    projects: int  # published projects
    files: int  # published wheels
    rendered: tuple[str, ...]  # projects read and rendered by this run
    written: tuple[str, ...]  # paths written, relative to out
    deleted: tuple[str, ...]


def generate_index(options: IndexOptions) -> IndexReport:
    """Render the wheelhouse into ``options.out``; see the writer for the guarantees."""
    with locked(options.out), _gc_paused():
        return _generate(options)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # Reading 100,000 records makes millions of small objects that all stay alive;
    # the cyclic collector would rescan them again and again for nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _generate(options: IndexOptions) -> IndexReport:
    if options.logs is not None and not os.path.isdir(options.logs):
        # Without a logs directory there is nothing to look up in it: skip the two
        # listings and the stat per project that would each find nothing.
        options = replace(options, logs=None)
    settings = options.settings
    wheelhouse = scan_wheelhouse(options.wheelhouse)
    groups = wheelhouse.projects
    if not groups:
        raise ConfigError(
            f"no wheels in {options.wheelhouse}",
            hint="run `factory build` first, or pass --wheelhouse",
        )
    recipes = _load_recipes(options)
    yanks_by_project = _yanks_by_project(options.wheelhouse, recipes)
    manifest = read_manifest(options.out)
    journal = read_journal(options.out)
    settings_digest = _settings_digest(settings)
    changed_everything = manifest.settings != settings_digest

    jobs = []
    for name in sorted(groups):
        tracks = recipe_tracks(recipes[name]) if name in recipes else ()
        yanks = yanks_by_project.get(name, {})
        digest = _project_digest(
            settings_digest,
            wheelhouse.signature(name),
            yanks,
            tracks,
            logs_signature(options.logs, name),
        )
        old = manifest.projects.get(name)
        if (
            not changed_everything
            and old is not None
            and old.digest == digest
            and name not in journal.projects
        ):
            continue
        jobs.append(_Job(name, wheelhouse.entries(name), yanks, tracks, digest))
    removed: list[str] = sorted(manifest.projects.keys() - groups.keys())
    if not jobs and not removed and not journal.paths and not journal.projects:
        # Nothing changed: the root pages are made from the manifest's rows, as they were.
        summaries = [s.summary for s in manifest.projects.values() if s.summary is not None]
        return IndexReport(options.out, len(summaries), sum(s.files for s in summaries), (), (), ())
    outputs = _render_all(options, jobs)
    states = dict(manifest.projects)
    for output in outputs:
        states[output.name] = output.state
    for gone in removed:
        del states[gone]
    summaries = [s.summary for s in states.values() if s.summary is not None]
    changes = publish(
        options.out,
        manifest,
        journal,
        outputs,
        removed,
        render_root(summaries),
        settings_digest,
    )
    return IndexReport(
        out=options.out,
        projects=len(summaries),
        files=sum(s.files for s in summaries),
        rendered=tuple(job.name for job in jobs),
        written=changes.written,
        deleted=changes.deleted,
    )


@dataclass(frozen=True)
class _Job:
    """A project to read and render: its inputs have changed."""

    name: NormalizedName
    entries: list[WheelhouseEntry]
    yanks: Mapping[str, str]
    tracks: tuple[str, ...]
    digest: str


def _render_all(options: IndexOptions, jobs: list[_Job]) -> list[ProjectOutput]:
    # One process: worker processes were measured at no gain on the 2-vCPU machines
    # this runs on (the pages cross back by pickle, and two vCPUs give ~1.2x).
    return [_render_project(options, job) for job in jobs]


def _render_project(options: IndexOptions, job: _Job) -> ProjectOutput:
    settings = options.settings
    name, entries, yanks, tracks, digest = job.name, job.entries, job.yanks, job.tracks, job.digest
    wheels, sources = read_wheels(options.wheelhouse, name, entries, options.logs)
    builds = read_builds(options.logs, name)
    project = assemble_project(name, wheels, settings, yanks, tracks, [b.build for b in builds])
    if not project.files:
        return ProjectOutput(name, ProjectState(digest, None), {})
    files: dict[str, bytes | FromFile] = dict(render_project(project, settings))
    for file in project.files:
        source = sources[file.filename]
        if settings.base_url is None:
            files[layout.wheel_file(file.filename)] = FromFile(
                source.wheel, file.sha256, "immutable"
            )
            metadata = source.metadata
            files[layout.metadata_file(file.filename)] = (
                FromFile(metadata, file.metadata_sha256, "immutable")
                if isinstance(metadata, str)
                else metadata
            )
        if source.log is not None:
            files[layout.log_file(file.filename)] = FromFile(source.log, policy="once")
    records = [(f.filename, sources[f.filename].record) for f in project.files]
    if any(record is not None for _, record in records):
        files[layout.build_records(name)] = _records_file(records)
    failure = project.latest_failure
    if failure is not None:
        found = next(b for b in builds if b.build == failure)
        # A retried build rewrites its record and log: copied as they are now.
        if failure.record is not None:
            files[failure.record] = Path(found.record).read_bytes()
        if failure.log is not None and found.log is not None:
            files[failure.log] = Path(found.log).read_bytes()
    return ProjectOutput(name, ProjectState(digest, summarize(project)), files)


def _records_file(records: list[tuple[str, bytes | None]]) -> bytes:
    """``{wheel: record}`` for a project's published wheels, the records as they are."""
    entries = [
        _quote_ascii(filename).encode() + b": " + record.strip()  # json.dumps(filename)
        for filename, record in records
        if record is not None
    ]
    return b"{\n" + b",\n".join(entries) + b"\n}\n"


def _load_recipes(options: IndexOptions) -> Mapping[NormalizedName, LoadedRecipe]:
    if options.recipes is None or not options.recipes.is_dir():
        return {}
    patches = options.patches or options.recipes.parent / "patches"
    return load_recipes(options.recipes, patches)


def _yanks_by_project(
    wheelhouse: Path, recipes: Mapping[NormalizedName, LoadedRecipe]
) -> dict[str, dict[str, str]]:
    yanks = recipe_yanks(recipes)
    yanks.update(load_yanks(wheelhouse))  # a yank by command wins over the recipe's
    grouped: dict[str, dict[str, str]] = {}
    for key, reason in sorted(yanks.items()):
        grouped.setdefault(key_project(key), {})[key] = reason
    return grouped


def _project_digest(
    settings_digest: str,
    files: str,
    yanks: Mapping[str, str],
    tracks: tuple[str, ...],
    logs: str,
) -> str:
    digest = hashlib.sha256(settings_digest.encode())
    digest.update(files.encode())
    if yanks or tracks or logs:
        digest.update(json_digest([sorted(yanks.items()), list(tracks), logs]).encode())
    return digest.hexdigest()


def _settings_digest(settings: IndexSettings) -> str:
    """The settings plus the renderer's own code: a new factory re-renders every page."""
    digest = hashlib.sha256(repr(settings).encode())
    package = resources.files("factory")
    for part in ("index/model.py", "index/render.py", "index/layout.py", "index/generate.py"):
        digest.update(package.joinpath(part).read_bytes())
    for template in sorted(package.joinpath("templates").iterdir(), key=lambda t: t.name):
        digest.update(template.name.encode() + template.read_bytes())
    return digest.hexdigest()
