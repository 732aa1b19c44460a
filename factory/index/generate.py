"""`factory index`: bring index/ up to date with the wheelhouse, re-rendering only what changed.

First the inputs' stamp (``stamp``: ``stat`` calls only) is compared with the one in
the manifest's header: when nothing can have changed, the run stops there, having
imported and read almost nothing. Otherwise each project's inputs are compared with
the manifest's digests of them: its wheels' catalog lines (hashed only for the projects
whose wheels the scan found changed; see ``wheelstore``) and the rest (yanks, recipe,
logs directory, hosting: "" for a project with none). New settings or a new renderer
change every page. A project whose digests are the manifest's is not read, rendered or
written, and its landing-page row comes from the manifest. The changed projects are
read, rendered and staged one after the other, and put in place in one commit (see
the writer).
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, cast

from ..hashing import small_sha256
from . import layout
from .settings import IndexSettings
from .stamp import inputs_stamp
from .writer import Manifest, locked, read_manifest

if TYPE_CHECKING:
    from packaging.utils import NormalizedName

    from ..recipe import LoadedRecipe
    from .inputs import Wheelhouse
    from .model import RecipeFacts
    from .projects import ProjectState
    from .writer import WritePlan


# Value types here are NamedTuples, not frozen dataclasses: defining one costs an eighth
# as much, and `factory index` with nothing new (0.1 s in all) imports this module.


class IndexOptions(NamedTuple):
    wheelhouse: Path
    out: Path
    recipes: Path | None = None  # recipes add PEP 708 tracks and yanks; optional
    patches: Path | None = None
    logs: Path | None = None  # build logs and records (failed builds too); optional
    settings: IndexSettings = IndexSettings()


class IndexReport(NamedTuple):
    out: Path
    projects: int  # published projects
    files: int  # published wheels
    rendered: tuple[str, ...]  # projects read and rendered by this run
    written: tuple[str, ...]  # paths written, relative to out
    deleted: tuple[str, ...]


def generate_index(options: IndexOptions) -> IndexReport:
    """Render the wheelhouse into ``options.out``; see the writer for the guarantees."""
    # The cycle collector would walk every live object each time enough new ones pile
    # up; a run makes hundreds of thousands (strings, tuples, dicts) and no cycles worth
    # collecting, and spends about a tenth of its CPU in it (reference counting still frees
    # everything as it goes: the peak memory is the same).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _generate_index(options)
    finally:
        if collecting:
            gc.enable()


def _generate_index(options: IndexOptions) -> IndexReport:
    if options.logs is not None and not os.path.isdir(options.logs):
        # Without a logs directory there is nothing to look up or link to.
        options = options._replace(logs=None)
    if options.recipes is not None and not options.recipes.is_dir():
        options = options._replace(recipes=None)
    with locked(options.out):
        stamp = inputs_stamp(
            options.wheelhouse, options.recipes, options.logs, _patches_dir(options)
        )
        settings_digest = _settings_digest(options.settings)
        header = read_manifest(options.out, header_only=True)
        if (
            stamp
            and header.inputs == stamp
            and header.settings == settings_digest
            and header.links == _links(options)
            and not (options.out / layout.JOURNAL).exists()
        ):
            totals = header.projects
            return IndexReport(options.out, totals.published, totals.files, (), (), ())
        return _generate(options, stamp, settings_digest, read_manifest(options.out))


class _Job(NamedTuple):
    """A project to read and render: its inputs have changed."""

    name: NormalizedName
    yanks: Mapping[str, str]
    tracks: tuple[str, ...]
    recipe: RecipeFacts | None
    wheels: str  # the digests of its inputs: its wheels, and the others
    others: str


def _generate(
    options: IndexOptions, stamp: str, settings_digest: str, manifest: Manifest
) -> IndexReport:
    # Imported here, not above: a run with nothing new needs none of it.
    from ..errors import ConfigError
    from .inputs import (
        logged_projects,
        logs_signature,
        recipe_facts,
        recipe_tracks,
        scan_wheelhouse,
    )
    from .render import render_root
    from .wheelstore import NO_WHEELS, NO_WHEELS_DIGEST, Wheels, WheelStore
    from .writer import (
        Journal,
        abort,
        begin,
        check_new,
        commit,
        plan_writes,
        read_journal,
        remember_inputs,
    )

    out = options.out
    stored = WheelStore(out)
    known = cast("set[NormalizedName]", manifest.projects.without(NO_WHEELS_DIGEST))
    wheelhouse = scan_wheelhouse(options.wheelhouse, stored, known, manifest.catalog)
    # A project whose every wheel was removed on purpose keeps its pages, saying why.
    names = sorted(wheelhouse.names | wheelhouse.removed.keys())
    if not names:
        raise ConfigError(
            f"no wheels in {options.wheelhouse}",
            hint="run `factory build` first, or pass --wheelhouse",
        )
    recipes = _load_recipes(options)
    yanks_by_project = _yanks_by_project(options.wheelhouse, recipes)
    interrupted = read_journal(out)
    changed_everything = manifest.settings != settings_digest
    # Most projects of a large index have no input besides their wheels: the digest of
    # their others is "" without working it out (10,000 times over, a stat each).
    with_others = (
        recipes.keys()
        | yanks_by_project.keys()
        | wheelhouse.projects_with_hosting()
        | logged_projects(options.logs)
    )

    present = set(names)
    if changed_everything:
        candidates = names
    else:
        # Every other project is as the manifest has it: its wheels are the ones the last
        # run found, and it had and has no other input.
        maybe = (
            wheelhouse.changed.keys()
            | with_others
            | manifest.projects.with_others()
            | interrupted.projects
        )
        new = present - manifest.projects.names()
        candidates = sorted(cast("set[NormalizedName]", (maybe & present) | new))
    jobs = []
    for name in candidates:
        old = manifest.projects.get(name)
        changed = wheelhouse.changed.get(name)
        if changed is not None:
            wheels_digest = changed.digest()
        elif name in interrupted.projects:  # a killed run may have stored newer wheels
            wheels_digest = wheelhouse.wheels(name).digest()
        else:  # the wheels the last run found (a project it did not know has none)
            wheels_digest = old.wheels if old is not None else NO_WHEELS_DIGEST
        tracks: tuple[str, ...] = ()
        facts, yanks, others = None, {}, ""
        if name in with_others:
            tracks = recipe_tracks(recipes[name]) if name in recipes else ()
            facts = recipe_facts(recipes[name]) if name in recipes else None
            yanks = yanks_by_project.get(name, {})
            others = _others_digest(
                yanks,
                tracks,
                logs_signature(options.logs, name),
                wheelhouse.hosting_signature(name),
                facts,
            )
        if (
            changed_everything
            or old is None
            or (old.wheels, old.others) != (wheels_digest, others)
            or name in interrupted.projects
        ):
            jobs.append(_Job(name, yanks, tracks, facts, wheels_digest, others))
    removed = sorted(manifest.projects.names() - present)
    links = _links(options)
    retired: dict[str, str] = {
        name: loaded.recipe.retired.since
        for name, loaded in recipes.items()
        if loaded.recipe.retired is not None
    }
    if (
        not jobs
        and not removed
        and interrupted == Journal()
        and links == manifest.links
        and _root_unchanged(manifest, retired)
    ):
        # Nothing changed after all (the stamp was too fresh to trust, or a file was
        # touched): no page is written; the stamp is kept so the next run stops early.
        remember_inputs(out, manifest, stamp, wheelhouse.catalog)
        totals = manifest.projects
        return IndexReport(out, totals.published, totals.files, (), (), ())

    new_pages = [page for job in jobs for page in layout.project_pages(job.name)]
    check_new(out, manifest, interrupted, links, [job.name for job in jobs])
    changed_links = {
        p for p in links.keys() | manifest.links.keys() if links.get(p) != manifest.links.get(p)
    }
    journal = begin(out, interrupted, [*(job.name for job in jobs), *removed], changed_links)
    plan = plan_writes(manifest, interrupted, len(new_pages))
    try:
        rendered = _render_and_stage(options, wheelhouse, jobs, plan)
    except BaseException:
        abort(out, interrupted, new_pages, plan)
        raise
    projects = manifest.projects.updated(rendered, set(removed))
    wheel_changes: dict[str, Wheels] = {name: w for name, w in wheelhouse.changed.items()}
    wheel_changes.update(dict.fromkeys(removed, NO_WHEELS))  # their pages go: so do their lists
    shards = stored.updated(wheel_changes)
    changes = commit(
        out,
        manifest,
        journal,
        rendered,
        projects,
        render_root(projects.rows(), projects.files, retired),
        links,
        shards,
        settings_digest,
        stamp,
        wheelhouse.catalog,
        plan,
    )
    return IndexReport(
        out=out,
        projects=projects.published,
        files=projects.files,
        rendered=tuple(job.name for job in jobs),
        written=changes.written,
        deleted=changes.deleted,
    )


# Below this many projects to render, forking costs more than a second core saves.
PARALLEL_MIN_PROJECTS = 1000


def _render_and_stage(
    options: IndexOptions, wheelhouse: Wheelhouse, jobs: list[_Job], plan: WritePlan
) -> dict[str, ProjectState]:
    """Read, render and stage every changed project's pages: split over the cores
    (workers.py) when there are many."""
    if len(jobs) < 2 * PARALLEL_MIN_PROJECTS:
        return _render_part(options, wheelhouse, jobs, plan)
    from .workers import in_children, worker_count

    workers = min(worker_count(), len(jobs) // PARALLEL_MIN_PROJECTS)
    if workers < 2:
        return _render_part(options, wheelhouse, jobs, plan)
    parts = [jobs[start::workers] for start in range(workers)]
    states: dict[str, ProjectState] = {}
    for part in in_children(parts, lambda part: _render_part(options, wheelhouse, part, plan)):
        states.update(part)
    return dict(sorted(states.items()))


def _render_part(
    options: IndexOptions, wheelhouse: Wheelhouse, jobs: list[_Job], plan: WritePlan
) -> dict[str, ProjectState]:
    from .inputs import log_listing, read_builds, read_wheels
    from .model import assemble_project, summarize
    from .projects import ProjectState
    from .render import landing_row, render_project
    from .writer import Stager

    stager = Stager(str(options.out), plan)
    states: dict[str, ProjectState] = {}
    for job in jobs:
        log_names = log_listing(options.logs, job.name)
        wheels = read_wheels(wheelhouse, job.name, log_names)
        builds = read_builds(options.logs, job.name, log_names)
        project = assemble_project(
            job.name,
            wheels,
            options.settings,
            job.yanks,
            job.tracks,
            builds,
            wheelhouse.removed.get(job.name, ()),
            job.recipe,
        )
        if not project.files and not project.removed:
            states[job.name] = ProjectState(job.wheels, job.others, 0, "")
            continue
        stager.stage(render_project(project, options.settings))
        row = landing_row(summarize(project))
        states[job.name] = ProjectState(job.wheels, job.others, len(project.files), row)
    return states


def _root_unchanged(manifest: Manifest, retired: Mapping[str, str]) -> bool:
    """Whether the root pages, rendered from the manifest's rows, are the published ones
    (the retired recipes they list come from the recipes, not from any project's pages)."""
    from .render import render_root
    from .writer import root_published

    projects = manifest.projects
    return root_published(manifest, render_root(projects.rows(), projects.files, retired))


def _links(options: IndexOptions) -> dict[str, str]:
    """The wheelhouse (unless wheels are hosted at a base URL) and logs, linked in relatively
    when they can be, so that moving the checkout with both inside keeps them valid.

    A wheelhouse or logs directory that already is ``files/`` or ``logs/`` of the index
    (the published tree, as ``factory publish`` writes it) needs no link."""
    out = os.path.realpath(options.out)
    links = {}
    if options.settings.base_url is None:
        links[layout.FILES_LINK] = os.path.relpath(os.path.realpath(options.wheelhouse), out)
    if options.logs is not None:
        links[layout.LOGS_LINK] = os.path.relpath(os.path.realpath(options.logs), out)
    return {link: target for link, target in links.items() if target != link}


def _patches_dir(options: IndexOptions) -> Path | None:
    if options.recipes is None:
        return None
    return options.patches or options.recipes.parent / "patches"


def _load_recipes(options: IndexOptions) -> Mapping[NormalizedName, LoadedRecipe]:
    patches = _patches_dir(options)
    if options.recipes is None or patches is None:
        return {}
    from ..recipe import load_recipes  # pydantic: loaded only when there are recipes

    return load_recipes(options.recipes, patches)


def _yanks_by_project(
    wheelhouse: Path, recipes: Mapping[NormalizedName, LoadedRecipe]
) -> dict[str, dict[str, str]]:
    from .inputs import recipe_yanks
    from .yanks import key_project, load_yanks

    yanks = recipe_yanks(recipes)
    yanks.update(load_yanks(wheelhouse))  # a yank by command wins over the recipe's
    grouped: dict[str, dict[str, str]] = {}
    for key, reason in sorted(yanks.items()):
        grouped.setdefault(key_project(key), {})[key] = reason
    return grouped


def _others_digest(
    yanks: Mapping[str, str],
    tracks: tuple[str, ...],
    logs: str,
    hosting: str,
    recipe: RecipeFacts | None,
) -> str:
    """A digest of what a project's pages are made from besides its wheels: "" for a
    project with none of it, which most projects of a large index are (no hashing)."""
    if not (yanks or tracks or logs or hosting or recipe):
        return ""
    import hashlib

    extra = [sorted(yanks.items()), list(tracks), logs, hosting]
    digest = hashlib.sha256(json.dumps(extra, sort_keys=True).encode())
    if recipe is not None:
        digest.update(repr(recipe).encode())  # frozen data: the same facts, the same text
    return digest.hexdigest()


def _settings_digest(settings: IndexSettings) -> str:
    """The settings plus the renderer's own code: a new factory re-renders every page."""
    digest = small_sha256(repr(settings).encode())
    # The package's own files on disk (importlib.resources would cost this run 5 ms).
    here = Path(__file__).parent
    parts = ("inputs", "model", "render", "layout", "generate", "settings", "hosting", "platforms")
    for part in parts:
        digest.update((here / f"{part}.py").read_bytes())
    for template in sorted(layout.TEMPLATES.iterdir()):
        digest.update(template.name.encode() + template.read_bytes())
    return digest.hexdigest()
