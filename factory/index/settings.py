"""How the index is rendered: its own module so that a run with nothing new, which only
compares these with the manifest, never imports packaging."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from packaging.version import Version


class IndexSettings(NamedTuple):  # not a frozen dataclass: an eighth of the import time
    """How the index is rendered; changing any of these re-renders every page."""

    base_url: str | None = None  # None: wheels are published in files/ and linked relatively
    allow_pre: bool = False  # pre-releases and dev releases
    allow_local: bool = False  # local versions (1.0+riscv64)

    def includes(self, version: Version) -> bool:
        """Final releases only unless allowed (a post-release of a final is final)."""
        if version.is_prerelease and not self.allow_pre:  # is_prerelease covers .devN too
            return False
        return version.local is None or self.allow_local
