"""The static index: every simple-API PEP as plain files, plus human pages.

``model`` (what is published, pure), ``render`` (pages from the model, pure),
``inputs`` (reading the wheelhouse and its catalog, recipes, logs), ``writer`` (writing
index/ incrementally and atomically), ``generate`` (the one entry point tying them),
``yanks`` (PEP 592 yanks set by command), ``layout`` (every path inside index/).
"""

from .generate import IndexOptions, IndexReport, generate_index
from .settings import IndexSettings

__all__ = ["IndexOptions", "IndexReport", "IndexSettings", "generate_index"]
