"""The static index: every simple-API PEP as plain files, plus human pages.

``model`` (what is published, pure), ``render`` (pages from the model, pure),
``inputs`` (reading the wheelhouse and its catalog, recipes, logs), ``writer`` (writing
index/ incrementally and atomically), ``generate`` (the one entry point tying them),
``yanks`` (PEP 592 yanks set by command), ``layout`` (every path inside index/).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .generate import IndexOptions, IndexReport, generate_index
    from .settings import IndexSettings

__all__ = ["IndexOptions", "IndexReport", "IndexSettings", "generate_index"]


def __getattr__(name: str) -> Any:
    # Imported when first asked for (PEP 562): `factory stale`, `pull` and `publish`
    # only need `layout`, and importing the generator would cost them 40 ms.
    if name == "IndexSettings":
        from .settings import IndexSettings

        return IndexSettings
    if name in __all__:
        from . import generate

        return getattr(generate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
