"""Each project's wheels as the last run of the index found them, kept between runs.

A run that starts where the last one stopped (the catalog read from its offset, the
wheelhouse not listed) needs the old wheel list of only the projects whose wheels
changed, and the pages of a project it re-renders need that project's list; nothing
else reads them. So the lists are not in the manifest, which every run reads and
rewrites whole, but in shards beside it (``layout.WHEEL_SHARDS``), a project's shard
chosen by a hash of its name: a run reads the shards of the projects it touches and
rewrites those whose content changed (at 100,000 wheels, 150 kB instead of the 8 MB
of every list). A run that lists the wheelhouse reads them all.

Consistency with the manifest: shards are renamed in with the pages, before the
manifest is written, while the run's journal still names its projects. A run killed
between the two leaves shards ahead of the manifest; the next one re-renders the
journal's projects, reads the catalog again from the manifest's older offset (adding
a line twice changes nothing) and so ends where the killed run would have.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from . import layout
from .projects import unreadable_bookkeeping

SHARDS = 64


class Wheels(NamedTuple):
    """A project's wheels in the wheelhouse, in file name order, and the offsets of their
    catalog lines, each space-separated: kept, compared and stored as they are, and split
    only for the few projects a run reads."""

    names: str
    offsets: str

    @classmethod
    def of(cls, offsets_by_name: Mapping[str, int]) -> Wheels:
        return cls(" ".join(offsets_by_name), " ".join(map(str, offsets_by_name.values())))

    def offsets_by_name(self) -> dict[str, int]:
        if not self.names:
            return {}
        offsets = map(int, self.offsets.split(" "))
        return dict(zip(self.names.split(" "), offsets, strict=True))

    def digest(self) -> str:
        # An offset names one catalog line (the catalog is only appended to), so equal
        # digests mean the same wheels described by the same lines.
        return hashlib.sha256(f"{self.names}\t{self.offsets}".encode()).hexdigest()


NO_WHEELS = Wheels("", "")  # a project whose every wheel was removed on purpose
NO_WHEELS_DIGEST = NO_WHEELS.digest()


def shard_of(project: str) -> str:
    """The shard's path (relative to index/) that keeps a project's wheels."""
    return layout.wheel_shard(zlib.crc32(project.encode()) % SHARDS)


class WheelStore:
    """The shards of an index directory, each read when first needed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._shards: dict[str, dict[str, Wheels]] = {}

    def get(self, project: str) -> Wheels:
        return self._shard(shard_of(project)).get(project, NO_WHEELS)

    def every(self) -> dict[str, Wheels]:
        """Every project's wheels (reads every shard)."""
        found: dict[str, Wheels] = {}
        for number in range(SHARDS):
            found.update(self._shard(layout.wheel_shard(number)))
        return found

    def updated(self, changes: Mapping[str, Wheels]) -> dict[str, bytes]:
        """The shards whose content ``changes`` changes, with their new content
        (NO_WHEELS drops a project; a shard left with no project is b"": delete it)."""
        by_shard: dict[str, list[str]] = {}
        for project in changes:
            by_shard.setdefault(shard_of(project), []).append(project)
        written = {}
        for path, projects in by_shard.items():
            shard = dict(self._shard(path))
            for project in projects:
                wheels = changes[project]
                if wheels.names:
                    shard[project] = wheels
                else:
                    shard.pop(project, None)
            if shard != self._shard(path):
                written[path] = _shard_bytes(shard)
        return written

    def _shard(self, path: str) -> dict[str, Wheels]:
        shard = self._shards.get(path)
        if shard is None:
            shard = self._shards[path] = _read_shard(self.out / path)
        return shard


def _read_shard(path: Path) -> dict[str, Wheels]:
    try:
        text = path.read_bytes().decode()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise unreadable_bookkeeping(path, exc) from None
    shard = {}
    for line in text.split("\n")[:-1]:
        fields = line.split("\t")
        if len(fields) != 3:
            raise unreadable_bookkeeping(path, f"a line with {len(fields)} fields")
        shard[fields[0]] = Wheels(fields[1], fields[2])
    return shard


def _shard_bytes(shard: Mapping[str, Wheels]) -> bytes:
    return "".join(f"{p}\t{w.names}\t{w.offsets}\n" for p, w in sorted(shard.items())).encode()
