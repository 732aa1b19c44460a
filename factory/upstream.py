"""What upstream (PyPI's JSON API) has: the newest final release, its sdist, riscv64 wheels.

Only final releases count: pre-releases, dev releases and releases whose every file is
yanked are ignored (a yanked release is one upstream took back). A project that ships
riscv64 wheels itself, at the recipe's version or later, is a candidate to retire.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .errors import SourceError
from .webclient import Client

DEFAULT_PYPI_URL = "https://pypi.org"
PARALLEL_LOOKUPS = 8


@dataclass(frozen=True)
class Sdist:
    filename: str
    sha256: str
    url: str


@dataclass(frozen=True)
class Upstream:
    """One project on PyPI, as far as the factory cares."""

    project: str
    latest: str | None  # the newest final release that is not entirely yanked
    riscv64_since: str | None  # the first such release >= the recipe's with riscv64 wheels
    riscv64_wheels: tuple[str, ...]  # that release's riscv64 wheel file names (evidence)


def pypi_url() -> str:
    return os.environ.get("FACTORY_PYPI_URL", DEFAULT_PYPI_URL).rstrip("/")


def project_json(client: Client, project: str) -> dict[str, Any]:
    """The JSON API's answer for ``project``; SourceError when it does not exist."""
    url = f"{pypi_url()}/pypi/{canonicalize_name(project)}/json"
    data = client.get_json(url)
    if data is None:
        raise SourceError(
            f"{project} does not exist on PyPI ({url} answered 404)",
            hint="check the recipe's name (or its `upstream:` key)",
        )
    if not isinstance(data, dict) or not isinstance(data.get("releases"), dict):
        raise SourceError(f"{url}: no 'releases' mapping in the answer", hint="check the URL")
    return data


def final_releases(data: Mapping[str, Any]) -> dict[Version, list[dict[str, Any]]]:
    """Final releases with at least one file that is not yanked -> those files."""
    found: dict[Version, list[dict[str, Any]]] = {}
    for text, files in data["releases"].items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if version.is_prerelease or version.is_devrelease:
            continue
        live = [f for f in files or [] if isinstance(f, dict) and not f.get("yanked")]
        if live:
            found[version] = live
    return found


def newest_final(data: Mapping[str, Any]) -> str | None:
    """The newest final release that is not entirely yanked."""
    newest = max(final_releases(data), default=None)
    return None if newest is None else str(newest)


def describe(data: Mapping[str, Any], project: str, since: str) -> Upstream:
    """The facts about ``project`` from its JSON answer, for a recipe at version ``since``."""
    releases = final_releases(data)
    latest = newest_final(data)
    floor = Version(since)
    for version in sorted(v for v in releases if v >= floor):
        wheels = _riscv64_wheels(releases[version])
        if wheels:
            return Upstream(project, latest, str(version), wheels)
    return Upstream(project, latest, None, ())


def riscv64_wheels(data: Mapping[str, Any], version: str) -> tuple[str, ...] | None:
    """The riscv64 wheels of final release ``version`` (not yanked); None: no such release."""
    files = final_releases(data).get(Version(version))
    return None if files is None else _riscv64_wheels(files)


def _riscv64_wheels(files: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    wheels = []
    for file in files:
        name = file.get("filename")
        if not isinstance(name, str) or not name.endswith(".whl"):
            continue
        try:
            tags = parse_wheel_filename(name)[3]
        except InvalidWheelFilename:
            continue
        if any(tag.platform.endswith("_riscv64") for tag in tags):
            wheels.append(name)
    return tuple(sorted(wheels))


def sdist(data: Mapping[str, Any], version: str) -> Sdist | None:
    """The sdist of final release ``version`` (not yanked) with its sha256, if it has one."""
    for file in final_releases(data).get(Version(version), []):
        if file.get("packagetype") not in (None, "sdist"):
            continue
        try:
            _, file_version = parse_sdist_filename(str(file.get("filename")))
        except InvalidSdistFilename:
            continue
        sha256 = (file.get("digests") or {}).get("sha256")
        if file_version == Version(version) and isinstance(sha256, str):
            return Sdist(file["filename"], sha256, str(file.get("url", "")))
    return None


def look_up(projects: Mapping[str, str], client: Client) -> dict[str, Upstream]:
    """Upstream facts for each ``project -> recipe version``, a few lookups at a time."""

    def one(item: tuple[str, str]) -> tuple[str, Upstream]:
        project, since = item
        return project, describe(project_json(client, project), project, since)

    with ThreadPoolExecutor(PARALLEL_LOOKUPS) as pool:
        return dict(pool.map(one, sorted(projects.items())))
