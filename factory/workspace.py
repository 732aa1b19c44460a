"""Where the factory keeps things: recipes, patches, wheelhouse, build logs, caches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

APP = "riscv64-wheel-factory"


def default_cache_dir() -> Path:
    """``$FACTORY_CACHE_DIR``, else the XDG cache directory (sources and userlands live here)."""
    explicit = os.environ.get("FACTORY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / APP


class Workspace(NamedTuple):  # not a frozen dataclass: an eighth of the import time
    recipes: Path
    patches: Path
    wheelhouse: Path  # repaired, tested wheels and their build records: what gets published
    logs: Path  # every build's log and record, failed ones included
    cache: Path  # fetched sources and riscv64 userlands; safe to delete

    @property
    def sources(self) -> Path:
        return self.cache / "sources"

    @property
    def scratch(self) -> Path:
        """Per-build work trees; under the cache so that a userland can bind it."""
        return self.cache / "work"

    @property
    def locks(self) -> Path:
        """Lock files that serialise factory processes working on the same thing."""
        return self.cache / "locks"
