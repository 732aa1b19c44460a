"""`factory pull`: a published index (URL or directory) back into a state directory.

A Pages deployment replaces the whole site, so the job that publishes must start from
everything already published: every wheel (sha256-checked against its page), its
``.metadata``, its build record, and the build logs and records the logs listing names.
Files the state already has with the right hash are not fetched again. Wheels land
last, as a build adds them; the catalog gets a line per new wheel. The yanks made by
command (``factory yank``), published in the wheelhouse's ``yanks.json``, are carried
over too, so the index made from the state serves them yanked still.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_wheel_filename

from ._fs import write_atomically
from .catalog import CatalogEntry, read_catalog
from .errors import SourceError
from .index import layout
from .index.yanks import YANKS_FILE, add_yanks, parse_yanks
from .records import BuildRecord
from .state import BUILDS_LISTING, IndexReader, open_index, parse_listing, project_files, resolve
from .wheelhouse import put_wheel
from .wheelmeta import METADATA_SUFFIX, RECORD_SUFFIX


@dataclass(frozen=True)
class PullReport:
    fetched: tuple[str, ...]  # wheels new in the state
    present: int  # wheels it already had
    build_files: int
    yanks: tuple[str, ...] = ()  # yanks by command carried into the state


def pull(location: str, state: Path, projects: Collection[str] | None = None) -> PullReport:
    """The published files (of every project, or of ``projects``: normalized names) and
    the build logs, yanks and records, into a state directory; sha256-checked."""
    wheelhouse, builds = state / "wheelhouse", state / "builds"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    catalog = read_catalog(wheelhouse)
    fetched, present = [], 0
    wheel_folders: set[str] = set()
    with open_index(location) as reader:
        for project, page_path, file in project_files(reader, projects):
            name = str(file["filename"])
            sha256 = str(file.get("hashes", {}).get("sha256", ""))
            path = resolve(page_path, str(file["url"]))
            wheel_folders.add(posixpath.dirname(path))
            if name in catalog and (wheelhouse / name).is_file():
                present += 1
                continue
            wheel = _fetch(reader, path, reader.where)
            if hashlib.sha256(wheel).hexdigest() != sha256:
                raise SourceError(
                    f"{reader.where}{path} does not match the sha256 its page gives",
                    hint="the published index is damaged or changed while read; run again",
                )
            metadata = _fetch(reader, path + METADATA_SUFFIX, reader.where)
            record_bytes = reader.read(path + RECORD_SUFFIX)
            if record_bytes is not None:
                entry = CatalogEntry.from_record(BuildRecord.from_json(record_bytes.decode()))
            else:  # adopted: no build record, no upload time
                version = str(parse_wheel_filename(name)[1])
                entry = CatalogEntry(
                    name, project, version, sha256, len(wheel),
                    hashlib.sha256(metadata).hexdigest(),
                    str(file.get("requires-python") or ""), "", "",
                )  # fmt: skip
            put_wheel(wheelhouse, entry, wheel, metadata, record_bytes)
            fetched.append(name)
        copied = 0
        listing = reader.read(f"{layout.LOGS_LINK}/{BUILDS_LISTING}")
        if listing is not None:
            for build in parse_listing(listing, f"{reader.where}{layout.LOGS_LINK}"):
                for item in (build.record, build.log):
                    if item is None or (builds / item).is_file():
                        continue
                    body = reader.read(f"{layout.LOGS_LINK}/{item}")
                    if body is not None:
                        write_atomically(builds / item, body)
                        copied += 1
            write_atomically(builds / BUILDS_LISTING, listing)
        yanks = _carry_yanks(reader, sorted(wheel_folders), wheelhouse)
    return PullReport(tuple(fetched), present, copied, yanks)


def _carry_yanks(reader: IndexReader, folders: list[str], wheelhouse: Path) -> tuple[str, ...]:
    """The published wheelhouse's yanks by command (its ``yanks.json``, published with it).

    Not the pages' ``yanked`` entries: those mix in the recipes' yanks, which the next
    `factory index` takes from the recipes again, and which a recipe must be able to
    take back (copied into the state, they would stay yanked for ever).
    """
    published: dict[str, str] = {}
    for folder in folders:
        path = posixpath.join(folder, YANKS_FILE)
        body = reader.read(path)
        if body is not None:
            published.update(parse_yanks(body.decode("utf-8", "replace"), reader.where + path))
    return tuple(add_yanks(wheelhouse, published)) if published else ()


def _fetch(reader: IndexReader, path: str, where: str) -> bytes:
    body = reader.read(path)
    if body is None:
        raise SourceError(
            f"{where}{path} is listed by the published index but missing",
            hint="the published index is damaged; run again after the next deployment",
        )
    return body
