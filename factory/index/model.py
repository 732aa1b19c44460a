"""What the index publishes, as plain frozen data, and how it is assembled. Pure: no I/O.

The inputs (``WheelInput``, ``Build``) come from build records, so the index never
opens or hashes a wheel that has one. Everything that can be wrong with them (a file
name that does not parse, a record that disagrees with its file name, two spellings
of one project) is found here, before anything is written.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from packaging.tags import parse_tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..errors import ConfigError
from ..wheelmeta import invalid_wheel_filename
from .settings import IndexSettings


@functools.lru_cache(maxsize=65536)
def parse_version(text: str) -> Version:
    """Versions repeat (every wheel of a release has one): parse each text once."""
    return Version(text)


# Per-wheel data are NamedTuples: immutable and typed like frozen dataclasses, and five
# times cheaper to make, which counts 100,000 times over.


class Build(NamedTuple):
    """One build, as the human pages show it."""

    started: str  # ISO 8601, as recorded
    outcome: str  # "success" or "failed"
    version: str
    record: str | None = None  # a failed build's record, relative to index/ (a wheel's: beside it)
    log: str | None = None
    error: str = ""
    compiler: str = ""  # "emulated", "host-native cross (...)", "" when not recorded
    isa: str = ""  # the RISC-V ISA the wheel's code needs ("rv64gc"), "" when none recorded


class WheelInput(NamedTuple):
    """A wheel of the wheelhouse, as its build record (or, without one, the wheel) says."""

    filename: str
    project: str  # as the record or the wheel's metadata spells it
    sha256: str
    size: int
    metadata_sha256: str
    requires_python: str | None = None
    version: str | None = None  # what the record says was built; None: not checked
    build: Build | None = None  # None: a wheel without a build record
    url: str | None = None  # hosted elsewhere (a release asset): linked here, not in files/


class IndexedFile(NamedTuple):
    filename: str
    version: str  # normalized, from the file name
    sha256: str
    size: int
    metadata_sha256: str
    requires_python: str | None
    upload_time: str | None  # PEP 700, from the record's start time; never "now"
    yanked: str | None  # PEP 592: None, or the reason ("" when none was given)
    python_tags: tuple[str, ...]
    platform_tags: tuple[str, ...]
    build: Build | None
    url: str | None = None  # absolute URL of a wheel hosted elsewhere; None: in files/


class PatchFacts(NamedTuple):
    name: str  # the file in patches/<project>/
    summary: str  # the first line of its header: why it exists
    status: str  # its Upstream-Status (Pending, Submitted, ...)
    detail: str  # the link or [reason] after the status


class Retired(NamedTuple):
    since: str  # the first upstream release with riscv64 wheels
    reason: str
    evidence: tuple[str, ...]  # upstream's riscv64 wheel file names
    pypi: str  # the project on PyPI to install instead


@dataclass(frozen=True)
class RecipeFacts:
    """How the recipe builds the project, for its page (the index's recipes input)."""

    version: str
    source: str  # "pypi", "git" or "archive"
    location: str  # the PyPI project, the git URL (without credentials) or the archive URL
    pin: str  # the sdist's or archive's sha256, or the git commit
    submodules: bool = False
    patches: tuple[PatchFacts, ...] = ()
    retired: Retired | None = None


@dataclass(frozen=True)
class IndexedProject:
    name: NormalizedName
    display_name: str
    files: tuple[IndexedFile, ...]  # sorted by file name
    tracks: tuple[str, ...] = ()  # PEP 708: the same project on other indexes (PyPI)
    latest_failure: Build | None = None  # newest build, when it failed after the last success
    removed: tuple[tuple[str, str], ...] = ()  # (file name, reason): taken down on purpose
    recipe: RecipeFacts | None = None  # None: the index was given no recipe for it

    @functools.cached_property
    def versions(self) -> tuple[str, ...]:
        """PEP 700: every version with a file, oldest first (equal versions spelled
        apart, 1.0 and 1.0.0, in text order: the same files give the same pages)."""
        return tuple(sorted(sorted({f.version for f in self.files}), key=parse_version))


@dataclass(frozen=True)
class ProjectSummary:
    """What the landing page shows of a project (``render.landing_row``)."""

    name: str
    display_name: str
    latest_version: str
    python_tags: tuple[str, ...]
    platform_tags: tuple[str, ...]
    files: int
    # "ok"; "failed" when the newest build failed; "removed" when every file was taken
    # down on purpose; "retired" (use PyPI's)
    status: str
    last_build: str  # date of the newest build (YYYY-MM-DD), "" when unknown
    status_log: str | None = None  # the failed build's log, relative to index/


def assemble_project(
    name: NormalizedName,
    wheels: Iterable[WheelInput],
    settings: IndexSettings,
    yanks: Mapping[str, str] | None = None,
    tracks: Sequence[str] = (),
    builds: Iterable[Build] = (),
    removed: Sequence[tuple[str, str]] = (),
    recipe: RecipeFacts | None = None,
) -> IndexedProject:
    """One project's indexed files, from its wheels; raise ConfigError on inconsistent input.

    ``yanks`` maps a file name or ``<name>==<version>`` to the reason. ``builds`` are the
    project's other builds (failed ones too) for its status; ``removed`` the files taken
    down on purpose, with the reason (its human page lists them); ``recipe`` what its
    page says about how it is built.
    """
    yanks = yanks or {}
    included: list[tuple[WheelInput, _Version, _TagFacts]] = []
    spellings: dict[str, str] = {}  # display name -> a file that uses it
    distributions: dict[tuple[Any, ...], str] = {}
    shown: dict[str, bool] = {}  # version text -> whether the settings include it
    for wheel in wheels:
        filename = wheel.filename
        wheel_name, version, build_tag, facts = parse_filename(filename)
        if wheel_name != name or (wheel.project != name and _canonical(wheel.project) != name):
            raise ConfigError(
                f"{filename}: its record or metadata names project {wheel.project!r}, "
                f"its file name says {wheel_name!r}",
                hint="the wheel was renamed or built wrongly; rebuild it",
            )
        if (
            wheel.version is not None
            and wheel.version != version.text  # the same text: the same version
            and _version(wheel.version) != version.parsed
        ):
            raise ConfigError(
                f"{filename}: its build record says version {wheel.version}, "
                f"its file name says {version.parsed}",
                hint="the wheel was renamed or built wrongly; rebuild it",
            )
        if wheel.project not in spellings:
            spellings[wheel.project] = filename
            if len(spellings) > 1:
                first, second = sorted(spellings)
                raise ConfigError(
                    f"project names {first!r} and {second!r} collide after normalization "
                    f"(both are {name!r}): {spellings[first]}, {spellings[second]}",
                    hint="one project must have one name; rebuild or remove the misnamed wheels",
                )
        key = (version.identity, build_tag, facts[0])
        other = distributions.setdefault(key, filename)
        if other != filename:
            raise ConfigError(
                f"{filename} and {other} are the same distribution under two file names",
                hint="remove one of them from the wheelhouse",
            )
        include = shown.get(version.text)
        if include is None:
            include = shown[version.text] = settings.includes(version.parsed)
        if include:
            included.append((wheel, version, facts))
    included.sort(key=lambda item: item[0].filename)
    files = tuple(
        _indexed_file(wheel, version, facts, _yank(yanks, name, wheel.filename, version))
        for wheel, version, facts in included
    )
    display_name = next(iter(spellings), name)
    return IndexedProject(
        name=name,
        display_name=display_name,
        files=files,
        tracks=tuple(tracks),
        latest_failure=_latest_failure(files, builds),
        removed=tuple(removed),
        recipe=recipe,
    )


# A large index has 100,000 wheel file names but only a few thousand distinct names,
# versions and tag sets: each part is checked with packaging once and remembered.


class _Version(NamedTuple):
    """A version as a file name spells it, parsed once for all the files that share it."""

    text: str
    parsed: Version
    normalized: str  # str(parsed)
    identity: tuple[Any, ...]  # equal for equal versions (1.0 == 1.0.0), cheap to hash


@functools.lru_cache(maxsize=65536)
def _version_of(text: str) -> _Version | None:
    parsed = _version(text)
    if parsed is None:
        return None
    release = list(parsed.release)
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    identity = (parsed.epoch, tuple(release), parsed.pre, parsed.post, parsed.dev, parsed.local)
    return _Version(text, parsed, str(parsed), identity)


def parse_filename(filename: str) -> tuple[NormalizedName, _Version, tuple[Any, ...], _TagFacts]:
    """``packaging.utils.parse_wheel_filename``, part by part, each part parsed once."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        if len(parts) in (5, 6):
            name, version = _name_part(parts[0]), _version_of(parts[1])
            build_tag = _build_part(parts[2]) if len(parts) == 6 else ()
            facts = _tag_facts("-".join(parts[-3:]))
            if name is not None and version is not None and build_tag is not None and facts:
                return name, version, build_tag, facts
    try:
        parse_wheel_filename(filename)  # raises with packaging's reason
    except InvalidWheelFilename as exc:
        reason = exc
    else:  # pragma: no cover - the parts above follow packaging's own rules
        reason = InvalidWheelFilename(filename)
    raise invalid_wheel_filename(filename, reason)


@functools.lru_cache(maxsize=65536)
def _name_part(part: str) -> NormalizedName | None:
    try:
        return parse_wheel_filename(f"{part}-0-py3-none-any.whl")[0]
    except InvalidWheelFilename:
        return None


@functools.lru_cache(maxsize=1024)
def _build_part(part: str) -> tuple[Any, ...] | None:
    try:
        return parse_wheel_filename(f"x-0-{part}-py3-none-any.whl")[2]
    except InvalidWheelFilename:
        return None


@functools.lru_cache(maxsize=65536)
def _canonical(project: str) -> NormalizedName:
    return canonicalize_name(project)


# A wheel's tags sorted as text, and its python and platform tags: the same few tag
# sets recur across a whole index, so each is worked out once.
_TagFacts = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


@functools.lru_cache(maxsize=4096)
def _tag_facts(tag_part: str) -> _TagFacts | None:
    try:
        tags = tuple(sorted(str(t) for t in parse_tag(tag_part)))
    except ValueError:  # packaging >= 26.3 rejects malformed tags (InvalidTag)
        return None
    python_tags = tuple(sorted({t.split("-")[0] for t in tags}))
    platform_tags = tuple(sorted({t.split("-")[2] for t in tags}))
    return tags, python_tags, platform_tags


def _version(text: str) -> Version | None:
    try:
        return parse_version(text)
    except InvalidVersion:
        return None


def _yank(yanks: Mapping[str, str], name: str, filename: str, version: _Version) -> str | None:
    if not yanks:
        return None
    reason = yanks.get(filename)
    if reason is None:
        reason = yanks.get(f"{name}=={version.normalized}")
    return reason


def _indexed_file(
    wheel: WheelInput, version: _Version, facts: _TagFacts, yanked: str | None
) -> IndexedFile:
    _, python_tags, platform_tags = facts
    build = wheel.build
    return IndexedFile(  # positionally: this runs once per wheel
        wheel.filename,
        version.normalized,
        wheel.sha256,
        wheel.size,
        wheel.metadata_sha256,
        wheel.requires_python,
        upload_time(build.started) if build is not None else None,
        yanked,
        python_tags,
        platform_tags,
        build,
        wheel.url,
    )


def _utc(timestamp: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(timestamp)
    except ValueError:
        raise ConfigError(f"{timestamp!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def upload_time(started: str) -> str:
    """PEP 700's format: ``yyyy-mm-ddThh:mm:ss.ffffffZ``, in UTC."""
    if len(started) == 25 and started.endswith("+00:00") and started[10] == "T":
        return started[:19] + ".000000Z"  # what records hold: UTC, to the second
    return _utc(started).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _latest_failure(files: Sequence[IndexedFile], builds: Iterable[Build]) -> Build | None:
    """The newest build, if it failed after (or without) the newest published one."""
    failures = [b for b in builds if b.outcome != "success"]
    if not failures:
        return None
    newest_failure = max(failures, key=lambda b: (_utc(b.started), b.version))
    successes = [f.upload_time for f in files if f.upload_time is not None]
    if successes and max(successes) >= upload_time(newest_failure.started):
        return None
    return newest_failure


def latest_version(project: IndexedProject) -> str:
    """The highest version that is not entirely yanked (else the highest)."""
    live = {f.version for f in project.files if f.yanked is None}
    versions = project.versions  # sorted already, for the pages: no comparisons again
    return next((version for version in reversed(versions) if version in live), versions[-1])


def summarize(project: IndexedProject) -> ProjectSummary:
    latest = latest_version(project) if project.files else ""
    latest_files = [f for f in project.files if f.version == latest]
    # PEP 700 upload times are UTC with a fixed width: the latest sorts last as text.
    times = [f.upload_time for f in project.files if f.upload_time is not None]
    failure = project.latest_failure
    if failure is not None:
        times.append(upload_time(failure.started))
    status = "failed" if failure is not None else "ok"
    if not project.files:
        status = "removed"  # every file taken down on purpose: its page says why
    if project.recipe is not None and project.recipe.retired is not None:
        status = "retired"  # what happens next: nothing is built, PyPI's wheels are used
    return ProjectSummary(
        name=project.name,
        display_name=project.display_name,
        latest_version=latest,
        python_tags=tuple(sorted({t for f in latest_files for t in f.python_tags})),
        platform_tags=tuple(sorted({t for f in latest_files for t in f.platform_tags})),
        files=len(project.files),
        status=status,
        last_build=max(times)[:10] if times else "",
        status_log=failure.log if failure is not None else None,
    )
