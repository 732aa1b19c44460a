"""Wheels that are not (or no longer) files of the wheelhouse: ``<wheelhouse>/hosting.json``.

Two kinds, both written by ``factory publish`` into the published wheelhouse (the
``files/`` folder of the published tree) and read by the index:

- **hosted**: a wheel too large for GitHub Pages lives as a release asset; the index
  links it at that URL (with its hash, and PEP 658 metadata at the URL plus
  ``.metadata``, uploaded beside it). Its ``.metadata`` and build record stay in
  ``files/``. The wheel itself need not be in the wheelhouse: its catalog line is.
- **removed**: a wheel taken down on purpose (``factory unpublish``), with the reason
  its project page keeps and the hash its name had: the name is never published again.

    {"hosted": {"<wheel>": "<url>"}, "removed": {"<wheel>": {"reason": "...", "sha256": "..."}}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from .._fs import write_atomically
from ..errors import ConfigError

HOSTING_FILE = "hosting.json"


# NamedTuples, not frozen dataclasses: defining one costs an eighth as much, and
# `factory index` with nothing new (0.1 s in all) imports this module.


class Removal(NamedTuple):
    reason: str
    sha256: str  # the bytes the name had when it was removed


class Hosting(NamedTuple):
    hosted: Mapping[str, str] = MappingProxyType({})  # wheel file name -> its URL
    removed: Mapping[str, Removal] = MappingProxyType({})

    def to_json(self) -> bytes:
        data = {
            "hosted": dict(sorted(self.hosted.items())),
            "removed": {
                name: {"reason": removal.reason, "sha256": removal.sha256}
                for name, removal in sorted(self.removed.items())
            },
        }
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def load_hosting(wheelhouse: Path) -> Hosting:
    path = wheelhouse / HOSTING_FILE
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return Hosting()
    except (OSError, ValueError) as exc:
        raise _unreadable(path, str(exc)) from None
    if not isinstance(data, dict):
        raise _unreadable(path, "not a JSON object")
    hosted = data.get("hosted", {})
    removed = data.get("removed", {})
    if not isinstance(hosted, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.startswith(("https://", "http://"))
        for k, v in hosted.items()
    ):
        raise _unreadable(path, '"hosted" must map wheel file names to http(s) URLs')
    if not isinstance(removed, dict) or not all(
        isinstance(k, str)
        and isinstance(v, dict)
        and isinstance(v.get("reason"), str)
        and isinstance(v.get("sha256"), str)
        for k, v in removed.items()
    ):
        raise _unreadable(path, '"removed" must map wheel file names to {reason, sha256}')
    return Hosting(
        hosted=dict(hosted),
        removed={name: Removal(v["reason"], v["sha256"]) for name, v in removed.items()},
    )


def save_hosting(wheelhouse: Path, hosting: Hosting) -> None:
    write_atomically(wheelhouse / HOSTING_FILE, hosting.to_json())


def _unreadable(path: Path, why: str) -> ConfigError:
    return ConfigError(
        f"{path}: unreadable ({why})",
        hint="it is written by `factory publish`; restore it from the published branch",
    )
