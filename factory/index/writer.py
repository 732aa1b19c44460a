"""The edge that writes index/: only what changed, never over a file it did not write,
in an order that leaves a valid index at every instant.

Bookkeeping lives beside the site in ``.factory-manifest.json``: each project's input
digests and landing-page row, the root pages' hashes and the symbolic links; each
project's wheel list is in the shards of ``wheelstore``. A project's pages follow from
its name (``layout.project_pages``), so the manifest does not list them. A run that
changes anything:

1. refuses, before writing anything, if a path it may create exists but is not the
   factory's (in the manifest, or in the journal of an interrupted run): ``check_new``;
2. writes ``.factory-journal.json``: the projects and links it may create or delete,
   so a killed run is recognised and finished by the next one: ``begin``;
3. stages each rendered project's pages under temporary names beside them (invisible:
   nothing links there): ``Stager``, as ``plan_writes`` decided. An index with no
   project published yet has no old pages to keep whole: its pages are written in
   place, saving a rename each (the root pages, which list them, still come last). A
   failure (bad input) removes what was staged and restores the journal: ``abort``;
4. stages the root pages, links and changed wheel shards, syncs, and renames
   everything in place: links, then project pages, then the root pages, so a page only
   ever links to what is already there, then the shards; syncs, writes the manifest,
   deletes what is no longer published, removes the journal: ``commit``.

A crash or kill at any point leaves every page either old or new and every link valid.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from .._fs import write_atomically
from ..catalog import CatalogPosition
from ..errors import ConfigError, LockHeld
from . import layout
from .projects import ProjectState, ProjectTable, project_line, unreadable_bookkeeping

FORMAT = 5
READABLE_FORMATS = (4, FORMAT)  # 4: before the wheel shards (migrated on read)
TEMP_PREFIX = ".factory-tmp."
# Below this many files a run fsyncs each one; above, one sync() is far cheaper.
FSYNC_EACH_MAX = 32


# Value types here are NamedTuples, not frozen dataclasses: defining one costs an eighth
# as much, and `factory index` with nothing new (0.1 s in all) imports this module.


class WritePlan(NamedTuple):
    """How a run writes its pages, decided once before it writes any (``plan_writes``)."""

    in_place: bool  # pages are staged at their final paths: nothing published to keep whole
    fsync_each: bool  # each file is fsynced as written; else one sync() before the renames


def plan_writes(manifest: Manifest, journal: Journal, pages: int) -> WritePlan:
    """An index with no project published yet (and no interrupted run) has no old page a
    reader could see half-replaced: its pages go straight to their final paths, saving a
    rename each (the root pages, which list them, still come last)."""
    in_place = not manifest.projects and not journal.projects
    return WritePlan(in_place=in_place, fsync_each=pages <= FSYNC_EACH_MAX)


class Manifest(NamedTuple):
    settings: str = ""
    inputs: str = ""  # the inputs' stamp when they were read (stamp.py); "" unknown
    files: Mapping[str, str] = MappingProxyType({})  # root pages -> sha256
    links: Mapping[str, str] = MappingProxyType({})  # symbolic link -> its target
    catalog: CatalogPosition | None = None  # how far the catalog was read
    # Every project (read with header_only: no lines, only the totals of the published).
    projects: ProjectTable = ProjectTable({}, 0, 0)


class Journal(NamedTuple):
    """What an interrupted run may have left: its projects' pages and links are the factory's."""

    projects: frozenset[str] = frozenset()
    links: frozenset[str] = frozenset()


class Changes(NamedTuple):
    written: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()


# --- reading the bookkeeping ------------------------------------------------------


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """One writer at a time per index directory."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / layout.LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Contention, not bad input: the lock dies with its holder, so waiting works.
            raise LockHeld(
                f"another `factory index` is writing {out}",
                hint="wait for it to finish, then run again",
            ) from None
        yield
    finally:
        os.close(fd)


def read_manifest(out: Path, *, header_only: bool = False) -> Manifest:
    """The manifest: a header line (settings, inputs stamp, root pages, links, counts,
    catalog position), then a tab-separated line per project (``projects.project_line``).
    ``header_only`` reads just the first: a run with nothing new needs no more."""
    path = out / layout.MANIFEST
    try:
        with open(path, "rb") as handle:
            header = json.loads(handle.readline())
            if not isinstance(header, dict) or header.get("format") not in READABLE_FORMATS:
                raise unreadable_bookkeeping(path, "unknown format")
            text = "" if header_only else handle.read().decode()
    except FileNotFoundError:
        return Manifest()
    except ValueError as exc:
        raise unreadable_bookkeeping(path, exc) from None
    try:
        if header["format"] == FORMAT:
            projects = ProjectTable.read(text, header["projects"], header["files_count"], path)
        else:
            # The format before wheel shards: its pages are the factory's, but its
            # digests mean nothing now; no settings and no catalog position make the
            # next run read the whole wheelhouse and re-render every project once.
            lines = {}
            for line in text.split("\n")[:-1]:
                name, _, files, row, _, _ = line.split("\t")
                lines[name] = project_line(name, ProjectState("", "", int(files), row))
            projects = ProjectTable(lines, header["projects"], header["files_count"], path)
            header.update(settings="", inputs="", catalog=None)
        catalog = header["catalog"]
        return Manifest(
            settings=header["settings"],
            inputs=header["inputs"],
            files=dict(header["files"]),
            links=dict(header["links"]),
            catalog=_position(catalog) if catalog else None,
            projects=projects,
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise unreadable_bookkeeping(path, exc) from None


def _position(stored: list[Any]) -> CatalogPosition:
    # Manifests written before the directory's state was kept hold only the first two.
    inode, end, *directory = stored
    return CatalogPosition(int(inode), int(end), str(directory[0]) if directory else "")


def read_journal(out: Path) -> Journal:
    path = out / layout.JOURNAL
    try:
        data = json.loads(path.read_bytes())
        return Journal(frozenset(data["projects"]), frozenset(data["links"]))
    except FileNotFoundError:
        return Journal()
    except (ValueError, KeyError, TypeError) as exc:
        raise unreadable_bookkeeping(path, exc) from None


# --- planning: what to write, what to delete, what is refused ----------------------


# Up to this many paths to check, one lstat each is cheaper than listing their
# directories (simple/ and projects/ hold an entry per project: 10,000 on a large index).
STAT_EACH_MAX = 64


class _Listings:
    """Existence checks: one lstat each for a few paths; for thousands (a new index's),
    each directory listed once."""

    def __init__(self, out: Path, paths: int) -> None:
        self.out = out
        self.stat_each = paths <= STAT_EACH_MAX
        self.cache: dict[str, set[str]] = {}

    def exists(self, path: str) -> bool:
        if self.stat_each:
            return os.path.lexists(self.out / path)
        directory, _, name = path.rpartition("/")
        return name in self._names(directory)

    def _names(self, directory: str) -> set[str]:
        names = self.cache.get(directory)
        if names is None:
            parent, _, name = directory.rpartition("/")
            if directory and name not in self._names(parent):
                names = set()  # not in its parent: no need to ask (a new tree has thousands)
            else:
                try:
                    names = set(os.listdir(self.out / directory))
                except (FileNotFoundError, NotADirectoryError):
                    names = set()
            self.cache[directory] = names
        return names


def _sha256(data: bytes) -> str:
    import hashlib  # not at the top: a run with nothing new imports this module

    return hashlib.sha256(data).hexdigest()


def root_published(manifest: Manifest, root: Mapping[str, bytes]) -> bool:
    """Whether ``root`` is exactly the root pages the manifest says are published."""
    files = manifest.files
    return root.keys() == files.keys() and all(
        files[path] == _sha256(data) for path, data in root.items()
    )


def _published_pages(state: ProjectState | None, name: str) -> tuple[str, ...]:
    return layout.project_pages(name) if state is not None and state.published else ()


def check_new(
    out: Path, manifest: Manifest, journal: Journal, links: Iterable[str], projects: Iterable[str]
) -> None:
    """Refuse, before anything is written, to create a path someone else's file holds:
    one of ``links``, or a page of ``projects``."""
    owned = set(manifest.files) | set(manifest.links) | set(journal.links)
    paths = list(links)
    for name in projects:
        pages = layout.project_pages(name)
        paths += pages
        if name in manifest.projects or name in journal.projects:
            owned.update(pages)
    listings = _Listings(out, len(paths))
    for directory in sorted({p.rpartition("/")[0] for p in paths if "/" in p}):
        for depth in range(directory.count("/") + 1):
            parent = "/".join(directory.split("/")[: depth + 1])
            if listings.exists(parent) and not os.path.isdir(out / parent):
                raise ConfigError(
                    f"{out / parent} is a file where the index needs a directory; "
                    "nothing was changed",
                    hint="move that file away, or write the index to another directory (--out)",
                )
    foreign = sorted(p for p in paths if p not in owned and listings.exists(p))
    if foreign:
        shown = ", ".join(str(out / p) for p in foreign[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise ConfigError(
            f"refusing to write the index: {shown}{more} already exist"
            f"{'s' if len(foreign) == 1 else ''} and {'was' if len(foreign) == 1 else 'were'} "
            "not written by the factory; nothing was changed",
            hint="move those files away, or write the index to another directory (--out)",
        )


def begin(out: Path, journal: Journal, projects: Iterable[str], links: Iterable[str]) -> Journal:
    """Record what this run may touch, on top of what an interrupted run may have left."""
    started = Journal(journal.projects | set(projects), journal.links | set(links))
    _write_journal(out, started)
    return started


def abort(out: Path, previous: Journal, staged: Iterable[str], plan: WritePlan) -> None:
    """Undo a run that failed before it renamed anything: the index is as it was
    (the directories it made for pages are removed again when they are empty)."""
    if plan.in_place:
        _delete(out, list(staged), temps=[])
    else:
        _delete(out, [], temps=staged)
    if previous.projects or previous.links:
        _write_journal(out, previous)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out / layout.JOURNAL)


def commit(
    out: Path,
    manifest: Manifest,
    journal: Journal,
    rendered: Mapping[str, ProjectState],
    projects: ProjectTable,
    root: Mapping[str, bytes],
    links: Mapping[str, str],
    shards: Mapping[str, bytes],
    settings: str,
    inputs: str,
    catalog: CatalogPosition,
    plan: WritePlan,
) -> Changes:
    """Put the staged pages of ``rendered`` projects, the root pages and links in place,
    and update the bookkeeping to ``projects`` (every project from now on: a project of
    the manifest missing from it is removed) and the wheel ``shards`` that changed.
    ``journal`` is the one ``begin`` wrote; ``plan`` is the one the pages were staged
    with; ``inputs`` the inputs' stamp and ``catalog`` how far the catalog was read."""
    removed = manifest.projects.names() - projects.names()
    deletions: set[str] = set()
    for name in {*journal.projects, *removed, *rendered}:
        # An interrupted run may have left any of its projects' pages.
        before = (
            layout.project_pages(name)
            if name in journal.projects
            else _published_pages(manifest.projects.get(name), name)
        )
        deletions.update(set(before) - set(_published_pages(projects.get(name), name)))
    root_files = {path: _sha256(data) for path, data in root.items()}
    deletions.update(manifest.files.keys() - root_files.keys())
    deletions.update((manifest.links.keys() | journal.links) - links.keys())
    root_writes = {p: d for p, d in root.items() if manifest.files.get(p) != root_files[p]}
    new_links = {
        path: target
        for path, target in links.items()
        if manifest.links.get(path) != target or path in journal.links
    }
    pages = [page for name, state in rendered.items() for page in _published_pages(state, name)]
    new_manifest = Manifest(settings, inputs, root_files, dict(links), catalog, projects)
    shard_writes = {path: data for path, data in shards.items() if data}
    if pages or root_writes or new_links or deletions or shard_writes:
        # The root pages and shards are always staged beside their old versions and renamed.
        stager = Stager(str(out), WritePlan(in_place=False, fsync_each=plan.fsync_each))
        stager.stage({**root_writes, **shard_writes})
        for path, target in new_links.items():
            _make_link(target, _temp(f"{out}/{path}"))
        # Links first, then project pages, then the root pages that list the projects;
        # the shards before the manifest that goes with them.
        renames = [*new_links, *([] if plan.in_place else pages), *root_writes, *shard_writes]
        _rename_in_place(out, renames, plan.fsync_each)
    for path in shards.keys() - shard_writes.keys():  # no project left in it
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out / path)
    if new_manifest != manifest:
        _write_manifest(out, new_manifest)
    deleted = _delete(out, sorted(deletions), temps=[])
    leftovers = [p for n in journal.projects - rendered.keys() for p in layout.project_pages(n)]
    _delete(out, [], temps=leftovers)  # staged by an interrupted run
    with contextlib.suppress(FileNotFoundError):
        os.unlink(out / layout.JOURNAL)
    return Changes(tuple(sorted([*new_links, *pages, *root_writes])), tuple(deleted))


def remember_inputs(out: Path, manifest: Manifest, inputs: str, catalog: CatalogPosition) -> None:
    """Record the inputs' stamp and catalog position of a run that found nothing to change."""
    if (inputs, catalog) != (manifest.inputs, manifest.catalog):
        _write_manifest(out, manifest._replace(inputs=inputs, catalog=catalog))


# --- writing -----------------------------------------------------------------------


def _temp(final: str) -> str:
    # A fixed temporary name per path: a killed run's leftover is simply overwritten.
    directory, _, name = final.rpartition("/")
    return f"{directory}/{TEMP_PREFIX}{name}"


def _chmod_needed() -> bool:
    """Whether the umask would keep pages created 0644 from being readable by the web
    server (under the usual 022 or 002 it does not, and no chmod per page is paid)."""
    mask = os.umask(0o022)  # reading the umask means setting it: put it back at once
    os.umask(mask)
    return bool(mask & 0o644)


class Stager:
    """Writes pages under their temporary names, or at their final paths, as planned."""

    def __init__(self, out: str, plan: WritePlan) -> None:
        self.out = out
        self.plan = plan
        self.made: set[str] = set()  # directories known to exist
        self.chmod = _chmod_needed()

    def stage(self, pages: Mapping[str, bytes]) -> None:
        # Plain strings and os functions: this runs once per page, 30,000 times for a
        # full build of a large index, and each system call counts.
        in_place, fsync, chmod = self.plan.in_place, self.plan.fsync_each, self.chmod
        for path, data in pages.items():
            final = f"{self.out}/{path}"
            directory = final.rpartition("/")[0]
            if directory not in self.made:
                _make_directory(directory)
                self.made.add(directory)
            _write_file(final if in_place else _temp(final), data, fsync, chmod)


def _make_directory(directory: str) -> None:
    try:
        os.mkdir(directory)  # its parent is almost always there: one call, not makedirs' two
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(directory, exist_ok=True)


def _rename_in_place(out: Path, paths: Sequence[str], fsync_each: bool) -> None:
    """Rename staged files in the given order, with their data and then the renames
    made durable (one ``sync`` for a large batch, ``fsync``s for a small one, whose
    files were synced as they were written)."""
    if not fsync_each:
        os.sync()  # the staged files' data is on disk before any rename
    for path in paths:
        final = f"{out}/{path}"
        os.replace(_temp(final), final)
    # The renames themselves must be durable before the manifest says they happened.
    if not fsync_each:
        os.sync()
    else:
        for directory in sorted({f"{out}/{path}".rpartition("/")[0] for path in paths}):
            _fsync_directory(directory)


def _write_file(path: str, data: bytes, fsync: bool, chmod: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if chmod:
            os.fchmod(fd, 0o644)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _make_link(target: str, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.symlink(target, path)


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _dump(data: object) -> bytes:
    return (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()


def _write_journal(out: Path, journal: Journal) -> None:
    write_atomically(
        out / layout.JOURNAL,
        _dump({"projects": sorted(journal.projects), "links": sorted(journal.links)}),
    )


def _write_manifest(out: Path, manifest: Manifest) -> None:
    header = {
        "format": FORMAT,
        "settings": manifest.settings,
        "inputs": manifest.inputs,
        "projects": manifest.projects.published,
        "files_count": manifest.projects.files,
        "files": dict(manifest.files),
        "links": dict(manifest.links),
        "catalog": manifest.catalog,
    }
    lines = "\n".join([*manifest.projects.lines(), ""])  # each line then a newline
    write_atomically(out / layout.MANIFEST, _dump(header) + lines.encode())


def _delete(out: Path, paths: Sequence[str], temps: Iterable[str]) -> list[str]:
    """Delete published files nobody wants any more, staged files of ``temps``, and the
    directories they leave empty."""
    deleted = []
    directories: set[str] = set()
    # NotADirectoryError: a file where a directory of pages should be (refused by
    # check_new, but a cleanup must never raise over it).
    for path in temps:
        temp = _temp(f"{out}/{path}")
        directories.add(temp.rpartition("/")[0])
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            os.unlink(temp)
    for path in paths:
        final = f"{out}/{path}"
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            os.unlink(_temp(final))
        try:
            os.unlink(final)
        except (FileNotFoundError, NotADirectoryError):
            continue
        deleted.append(path)
        directories.add(final.rpartition("/")[0])
    top = str(out)
    for directory in sorted(directories, key=lambda d: d.count("/"), reverse=True):
        while directory != top and directory.startswith(top):
            try:
                os.rmdir(directory)  # only if empty: files the factory did not write stay
            except OSError:
                break
            directory = directory.rpartition("/")[0]
    return deleted
