"""The edge that writes index/: only what changed, never over a file it did not write,
in an order that leaves a valid index at every instant.

Bookkeeping lives beside the site: ``.factory-manifest.json`` (each project's input
digest and landing-page row, and the root pages' hashes) and ``.factory-manifest.d/``
(every file each project published, with its sha256, in 256 shards so that a one-project
change rewrites one small shard). A run that changes anything:

1. refuses, before writing anything, if a file it would create exists but is in no
   manifest (the factory did not write it), or if a published wheel would get new bytes;
2. writes ``.factory-journal.json``: the paths it may create or delete, so a killed run
   is recognised and finished by the next one;
3. writes wheels and metadata (hard links from the wheelhouse), records and logs, then
   project pages, then the root pages: a page only ever links to files already there.
   Each page is written to a temporary name and renamed over the old one; data is
   synced before the renames (one ``sync`` for a large batch, ``fsync`` per file for a
   small one);
4. writes the manifests, deletes what is no longer published, removes the journal.

A crash or kill at any point leaves every page either old or new and every link valid.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from ..records import write_atomically
from . import layout
from .model import ProjectSummary

FORMAT = 1
TEMP_PREFIX = ".factory-tmp."
# Below this many files a phase fsyncs each one; above, one sync() is far cheaper.
FSYNC_EACH_MAX = 32


@dataclass(frozen=True)
class FromFile:
    """A file published from disk (hard-linked, else copied), not rendered.

    ``immutable``: a published name never gets new bytes (wheels, metadata): a
    different sha256 for an existing name is an error. ``once``: copied when first
    published, then kept as it is (a build's log). ``replace``: follows its source.
    """

    source: str
    sha256: str | None = None  # required unless policy is "once" (then hashed on copy)
    policy: Literal["immutable", "once", "replace"] = "replace"


Entry = bytes | FromFile


@dataclass(frozen=True)
class ProjectState:
    digest: str  # of everything the project's pages are made from
    summary: ProjectSummary | None  # None: nothing of it is published (all filtered out)


@dataclass
class Manifest:
    settings: str = ""
    files: dict[str, str] = field(default_factory=dict)  # root pages -> sha256
    projects: dict[str, ProjectState] = field(default_factory=dict)


@dataclass(frozen=True)
class Journal:
    """What an interrupted run may have left: its projects and paths are the factory's."""

    projects: frozenset[str] = frozenset()
    paths: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ProjectOutput:
    name: str
    state: ProjectState
    files: Mapping[str, Entry]


@dataclass(frozen=True)
class Changes:
    written: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Action:
    path: str
    data: bytes | None = None  # written to a temporary file, then renamed
    source: str | None = None  # hard-linked (or copied)
    replaces: bool = False  # the path is already published (in a manifest)


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
            raise ConfigError(
                f"another `factory index` is writing {out}",
                hint="wait for it to finish",
            ) from None
        yield
    finally:
        os.close(fd)


def read_manifest(out: Path) -> Manifest:
    path = out / layout.MANIFEST
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return Manifest()
    except ValueError as exc:
        raise _unreadable(path, exc) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _unreadable(path, "unknown format")
    try:
        return Manifest(
            settings=data["settings"],
            files=dict(data["files"]),
            projects={
                name: ProjectState(
                    state["digest"],
                    ProjectSummary.from_json(state["summary"]) if state["summary"] else None,
                )
                for name, state in data["projects"].items()
            },
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise _unreadable(path, exc) from None


def read_journal(out: Path) -> Journal:
    path = out / layout.JOURNAL
    try:
        data = json.loads(path.read_bytes())
        return Journal(frozenset(data["projects"]), frozenset(data["paths"]))
    except FileNotFoundError:
        return Journal()
    except (ValueError, KeyError, TypeError) as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, why: object) -> ConfigError:
    return ConfigError(
        f"{path}: unreadable index bookkeeping ({why})",
        hint="it was not written by this version of the factory; write the index to a "
        "new directory (--out) or remove this one",
    )


def shard_of(project: str) -> str:
    return hashlib.sha256(project.encode()).hexdigest()[:2]


def _read_shard(out: Path, shard: str) -> dict[str, dict[str, str]]:
    path = out / layout.MANIFEST_SHARDS / f"{shard}.json"
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise _unreadable(path, exc) from None
    projects = data.get("projects") if isinstance(data, dict) else None
    if not isinstance(projects, dict):
        raise _unreadable(path, "no projects")
    return projects


# --- planning: what to write, what to delete, what is refused ----------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plan(path: str, entry: Entry, old: str | None) -> tuple[str, _Action | None]:
    """The sha256 the path will have, and the action that gets it there (None: as is)."""
    if isinstance(entry, bytes):
        sha = _sha256(entry)
        return sha, None if sha == old else _Action(path, data=entry, replaces=old is not None)
    if entry.policy == "once":
        if old is not None:
            return old, None
        with open(entry.source, "rb") as handle:
            data = handle.read()
        return _sha256(data), _Action(path, data=data)
    assert entry.sha256 is not None, path
    if entry.policy == "immutable" and old is not None and old != entry.sha256:
        raise ConfigError(
            f"{path} is already published with sha256 {old}; the wheelhouse now has "
            f"different bytes ({entry.sha256}) under the same name",
            hint="a published file name never gets new bytes: raise the recipe's "
            "build_number and rebuild",
        )
    if old == entry.sha256:
        return old, None
    return entry.sha256, _Action(path, source=entry.source, replaces=old is not None)


class _Listings:
    """Directory listings, read once each: existence checks for thousands of new paths."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.cache: dict[str, set[str]] = {}

    def exists(self, path: str) -> bool:
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


def publish(
    out: Path,
    manifest: Manifest,
    journal: Journal,
    outputs: Sequence[ProjectOutput],
    removed: Iterable[str],
    root: Mapping[str, bytes],
    settings: str,
) -> Changes:
    """Bring index/ to the given state for the changed projects and the root pages."""
    removed = sorted(removed)
    shards = {
        shard: _read_shard(out, shard)
        for shard in sorted({shard_of(o.name) for o in outputs} | {shard_of(r) for r in removed})
    }
    actions: list[_Action] = []
    deletions: set[str] = set()
    wanted: set[str] = set()
    owned = set(journal.paths)
    for output in outputs:
        old = shards[shard_of(output.name)].get(output.name, {})
        owned.update(old)
        new = {}
        for path, entry in output.files.items():
            new[path], action = _plan(path, entry, old.get(path))
            if action is not None:
                actions.append(action)
        deletions.update(old.keys() - new.keys())
        wanted.update(new)
        shards[shard_of(output.name)][output.name] = new
    for name in removed:
        old = shards[shard_of(name)].pop(name, {})
        owned.update(old)
        deletions.update(old)
    root_files = {}
    owned.update(manifest.files)
    for path, data in root.items():
        root_files[path], action = _plan(path, data, manifest.files.get(path))
        if action is not None:
            actions.append(action)
    deletions.update(manifest.files.keys() - root_files.keys())
    wanted.update(root_files)
    # Paths an interrupted run may have created and nobody wants any more.
    deletions.update(journal.paths - wanted)

    listings = _Listings(out)
    foreign = sorted(a.path for a in actions if a.path not in owned and listings.exists(a.path))
    if foreign:
        shown = ", ".join(str(out / p) for p in foreign[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise ConfigError(
            f"refusing to write the index: {shown}{more} already exist"
            f"{'s' if len(foreign) == 1 else ''} and {'was' if len(foreign) == 1 else 'were'} "
            "not written by the factory; nothing was changed",
            hint="move those files away, or write the index to another directory (--out)",
        )

    projects = dict(manifest.projects)
    for output in outputs:
        projects[output.name] = output.state
    for name in removed:
        projects.pop(name, None)
    new_manifest = Manifest(settings, root_files, dict(sorted(projects.items())))
    if not actions and not deletions and new_manifest == manifest:
        return Changes()

    if actions or deletions:
        _write_journal(
            out,
            Journal(
                journal.projects | {o.name for o in outputs} | set(removed),
                journal.paths | {a.path for a in actions if not a.replaces} | deletions,
            ),
        )
    _apply(out, actions)
    for shard, content in shards.items():
        _write_shard(out, shard, content)
    _write_manifest(out, new_manifest)
    deleted = _delete(out, sorted(deletions))
    # An interrupted run may have left a temporary file beside any of its paths.
    for path in journal.paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_temp(f"{out}/{path}"))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(out / layout.JOURNAL)
    return Changes(tuple(sorted(a.path for a in actions)), tuple(deleted))


# --- writing -----------------------------------------------------------------------


def _phase(path: str) -> int:
    """Files that pages link to first, then project pages, then the root pages."""
    if path.startswith(("files/", "builds/")):
        return 0
    if path.startswith(("simple/", "projects/")) and path not in (
        layout.SIMPLE_ROOT_HTML,
        layout.SIMPLE_ROOT_JSON,
    ):
        return 1
    return 2


def _temp(final: str) -> str:
    # A fixed temporary name per path: a killed run's leftover is simply overwritten.
    directory, _, name = final.rpartition("/")
    return f"{directory}/{TEMP_PREFIX}{name}"


def _apply(out: Path, actions: Sequence[_Action]) -> None:
    """Write every file: all data to temporary names, one sync, then links and renames
    in phase order (a page only appears once what it links to is there), one sync."""
    # Plain strings and os functions: this runs once per file, 300,000 times for a
    # full build of a large index.
    fsync_each = len(actions) <= FSYNC_EACH_MAX
    made: set[str] = set()
    staged: list[tuple[int, str, _Action, str | None]] = []
    for action in actions:
        final = f"{out}/{action.path}"
        directory = final.rpartition("/")[0]
        if directory not in made:
            os.makedirs(directory, exist_ok=True)
            made.add(directory)
        temp = None
        if action.data is not None:
            temp = _temp(final)
            _write_file(temp, action.data, fsync_each)
        staged.append((_phase(action.path), final, action, temp))
    if not fsync_each:
        os.sync()  # the temporary files' data is on disk before any rename
    staged.sort(key=lambda item: item[0])
    for _, final, action, temp in staged:
        if temp is None:
            assert action.source is not None
            temp = _link(action.source, final, action.replaces)
        if temp is not None:
            os.replace(temp, final)
    # The renames themselves must be durable before the manifests say they happened.
    if not fsync_each:
        os.sync()
    else:
        for directory in made:
            _fsync_directory(directory)


def _write_file(path: str, data: bytes, fsync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.fchmod(fd, 0o644)  # readable by the web server whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _link(source: str, final: str, replaces: bool) -> str | None:
    """Hard-link ``source`` at ``final``; return a temporary path to rename, if one was needed."""
    if not replaces:
        try:
            os.link(source, final)  # atomic: the name appears with all its bytes
            return None
        except FileExistsError:
            pass  # left by an interrupted run (the journal says it is ours)
        except OSError:
            pass  # another filesystem, or links not allowed: copy
    temp = _temp(final)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)
    try:
        os.link(source, temp)
    except OSError:
        shutil.copyfile(source, temp)
        os.chmod(temp, 0o644)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
    return temp


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _dump(data: Any) -> bytes:
    return (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()


def _write_journal(out: Path, journal: Journal) -> None:
    write_atomically(
        out / layout.JOURNAL,
        _dump({"projects": sorted(journal.projects), "paths": sorted(journal.paths)}),
    )


def _write_shard(out: Path, shard: str, projects: dict[str, dict[str, str]]) -> None:
    path = out / layout.MANIFEST_SHARDS / f"{shard}.json"
    if projects:
        write_atomically(path, _dump({"projects": projects}))
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _write_manifest(out: Path, manifest: Manifest) -> None:
    write_atomically(
        out / layout.MANIFEST,
        _dump(
            {
                "format": FORMAT,
                "settings": manifest.settings,
                "files": manifest.files,
                "projects": {
                    name: {
                        "digest": state.digest,
                        "summary": state.summary.to_json() if state.summary else None,
                    }
                    for name, state in manifest.projects.items()
                },
            }
        ),
    )


def _delete(out: Path, paths: Sequence[str]) -> list[str]:
    """Delete published files nobody wants any more, and directories they leave empty."""
    deleted = []
    directories: set[Path] = set()
    for path in paths:
        final = out / path
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_temp(str(final)))
        try:
            os.unlink(final)
        except FileNotFoundError:
            continue
        deleted.append(path)
        directories.add(final.parent)
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        while directory != out:
            try:
                directory.rmdir()  # only if empty: files the factory did not write stay
            except OSError:
                break
            directory = directory.parent
    return deleted
