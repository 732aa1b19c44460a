"""`factory index`: bring index/ up to date with the wheelhouse, re-rendering only what changed.

Each project gets a digest of everything its pages are made from (its wheelhouse
listing and catalog lines, yanks, recipe, logs directory, the settings and the
renderer's own code). A project whose digest is the one in the manifest is not read,
rendered or written; its landing-page row comes from the manifest.

Changed projects are read, rendered and staged by worker processes when there are
many (a full run of a large index), each taking every n-th project; the pages are put
in place by this process, in one commit (see the writer).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName

from ..errors import ConfigError
from . import layout
from .inputs import (
    Wheelhouse,
    WheelhouseRepairs,
    log_listing,
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
    FSYNC_EACH_MAX,
    Journal,
    ProjectState,
    Stager,
    abort,
    begin,
    check_new,
    commit,
    locked,
    read_journal,
    read_manifest,
)
from .yanks import key_project, load_yanks

if TYPE_CHECKING:
    from ..recipe import LoadedRecipe

# Below this many changed projects, forking workers costs more than it saves.
PARALLEL_MIN_PROJECTS = 500
MAX_WORKERS = 4


@dataclass(frozen=True)
class IndexOptions:
    wheelhouse: Path
    out: Path
    recipes: Path | None = None  # recipes add PEP 708 tracks and yanks; optional
    patches: Path | None = None
    logs: Path | None = None  # build logs and records (failed builds too); optional
    settings: IndexSettings = field(default_factory=IndexSettings)
    workers: int | None = None  # None: one per CPU (up to 4) for a large run


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
    # Reading 100,000 wheels makes millions of small objects that all stay alive;
    # the cyclic collector would rescan them again and again for nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class _Job:
    """A project to read and render: its inputs have changed."""

    name: NormalizedName
    yanks: Mapping[str, str]
    tracks: tuple[str, ...]
    digest: str


def _generate(options: IndexOptions) -> IndexReport:
    if options.logs is not None and not os.path.isdir(options.logs):
        # Without a logs directory there is nothing to look up or link to.
        options = replace(options, logs=None)
    out = options.out
    wheelhouse = scan_wheelhouse(options.wheelhouse)
    groups = wheelhouse.projects
    if not groups:
        raise ConfigError(
            f"no wheels in {options.wheelhouse}",
            hint="run `factory build` first, or pass --wheelhouse",
        )
    recipes = _load_recipes(options)
    yanks_by_project = _yanks_by_project(options.wheelhouse, recipes)
    manifest = read_manifest(out)
    interrupted = read_journal(out)
    settings_digest = _settings_digest(options.settings)
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
            changed_everything
            or old is None
            or old.digest != digest
            or name in interrupted.projects
        ):
            jobs.append(_Job(name, yanks, tracks, digest))
    removed = sorted(manifest.projects.keys() - groups.keys())
    links = _links(options)
    if not jobs and not removed and interrupted == Journal() and links == manifest.links:
        # Nothing changed: the root pages are made from the manifest's rows, as they were.
        summaries = [s.summary for s in manifest.projects.values() if s.summary is not None]
        return IndexReport(out, len(summaries), sum(s.files for s in summaries), (), (), ())

    new_pages = [page for job in jobs for page in layout.project_pages(job.name)]
    check_new(out, manifest, interrupted, [*links, *new_pages])
    changed_links = {
        p for p in links.keys() | manifest.links.keys() if links.get(p) != manifest.links.get(p)
    }
    journal = begin(out, interrupted, [*(job.name for job in jobs), *removed], changed_links)
    in_place = not manifest.projects  # nothing published yet: no old page to keep whole
    fsync_each = len(new_pages) <= FSYNC_EACH_MAX  # else one sync() for everything
    try:
        rendered, repairs = _render_and_stage(options, wheelhouse, jobs, in_place, fsync_each)
        # Pages link to .metadata files: any the wheelhouse lacked are there before them.
        repairs.apply(options.wheelhouse)
    except BaseException:
        abort(out, interrupted, new_pages, in_place)
        raise
    states = {**manifest.projects, **rendered}
    for gone in removed:
        del states[gone]
    summaries = [s.summary for s in states.values() if s.summary is not None]
    changes = commit(
        out,
        manifest,
        journal,
        rendered,
        states,
        render_root(summaries),
        links,
        settings_digest,
        in_place,
        fsync_each,
    )
    return IndexReport(
        out=out,
        projects=len(summaries),
        files=sum(s.files for s in summaries),
        rendered=tuple(job.name for job in jobs),
        written=changes.written,
        deleted=changes.deleted,
    )


# --- reading, rendering and staging changed projects, in workers when there are many ---


@dataclass(frozen=True)
class _Work:
    """What every worker needs; inherited by forked workers rather than pickled."""

    options: IndexOptions
    wheelhouse: Wheelhouse
    jobs: Sequence[_Job]
    fsync_each: bool
    in_place: bool


_work: _Work | None = None


def _render_and_stage(
    options: IndexOptions,
    wheelhouse: Wheelhouse,
    jobs: Sequence[_Job],
    in_place: bool,
    fsync_each: bool,
) -> tuple[dict[str, ProjectState], WheelhouseRepairs]:
    global _work
    work = _Work(options, wheelhouse, jobs, fsync_each, in_place)
    workers = options.workers or min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    if workers < 2 or len(jobs) < PARALLEL_MIN_PROJECTS:
        return _render_share(work, 0, 1)
    _work = work  # forked workers start with it
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            shares = list(pool.map(_render_forked_share, range(workers), [workers] * workers))
    finally:
        _work = None
    states: dict[str, ProjectState] = {}
    repairs = WheelhouseRepairs()
    for share_states, share_repairs in shares:
        states.update(share_states)
        repairs.catalog += share_repairs.catalog
        repairs.metadata.update(share_repairs.metadata)
    return dict(sorted(states.items())), repairs


def _render_forked_share(
    index: int, count: int
) -> tuple[dict[str, ProjectState], WheelhouseRepairs]:
    assert _work is not None, "workers are forked from _render_and_stage"
    gc.disable()  # as in the parent: every object made here stays alive to the end
    return _render_share(_work, index, count)


def _render_share(
    work: _Work, index: int, count: int
) -> tuple[dict[str, ProjectState], WheelhouseRepairs]:
    """Every ``count``-th job from ``index``: read, render and stage its pages."""
    options, wheelhouse = work.options, work.wheelhouse
    stager = Stager(str(options.out), work.fsync_each, work.in_place)
    states: dict[str, ProjectState] = {}
    repairs = WheelhouseRepairs()
    for job in work.jobs[index::count]:
        log_names = log_listing(options.logs, job.name)
        wheels = read_wheels(wheelhouse, job.name, log_names, repairs)
        builds = read_builds(options.logs, job.name, log_names)
        project = assemble_project(
            job.name, wheels, options.settings, job.yanks, job.tracks, builds
        )
        if not project.files:
            states[job.name] = ProjectState(job.digest, None)
            continue
        stager.stage(render_project(project, options.settings))
        states[job.name] = ProjectState(job.digest, summarize(project))
    return states, repairs


def _links(options: IndexOptions) -> dict[str, str]:
    """The wheelhouse (unless wheels are hosted at a base URL) and logs, linked in relatively
    when they can be, so that moving the checkout with both inside keeps them valid."""
    out = os.path.realpath(options.out)
    links = {}
    if options.settings.base_url is None:
        links[layout.FILES_LINK] = os.path.relpath(os.path.realpath(options.wheelhouse), out)
    if options.logs is not None:
        links[layout.LOGS_LINK] = os.path.relpath(os.path.realpath(options.logs), out)
    return links


def _load_recipes(options: IndexOptions) -> Mapping[NormalizedName, LoadedRecipe]:
    if options.recipes is None or not options.recipes.is_dir():
        return {}
    from ..recipe import load_recipes  # pydantic: loaded only when there are recipes

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
        extra = json.dumps([sorted(yanks.items()), list(tracks), logs], sort_keys=True)
        digest.update(extra.encode())
    return digest.hexdigest()


def _settings_digest(settings: IndexSettings) -> str:
    """The settings plus the renderer's own code: a new factory re-renders every page."""
    digest = hashlib.sha256(repr(settings).encode())
    package = resources.files("factory")
    for part in ("inputs", "model", "render", "layout", "generate"):
        digest.update(package.joinpath(f"index/{part}.py").read_bytes())
    for template in sorted(package.joinpath("templates").iterdir(), key=lambda t: t.name):
        digest.update(template.name.encode() + template.read_bytes())
    return digest.hexdigest()
