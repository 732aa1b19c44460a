"""Where each thing lives inside index/: every relative path the index uses, in one place.

    index.html  style.css  .nojekyll          the landing page and its style sheet
    simple/index.html  simple/index.json      PEP 503 / PEP 691 project lists
    simple/<name>/index.html  .../index.json  PEP 503 / PEP 691 project pages
    projects/<name>.html                      the human page of a project
    files/<wheel>  files/<wheel>.metadata     wheels and their PEP 658 metadata
    builds/<name>.json                        the build records of a project's wheels
    builds/<wheel>.log                        each published wheel's build log
    builds/failed/<name>-<build>.json  .log   a project's latest build when it failed

Paths are ``/``-separated and relative to index/. Names are normalized project names
(lowercase letters, digits and ``-``) and wheel file names, neither of which can hold
a ``/`` or be ``..``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from ..wheelmeta import METADATA_SUFFIX

_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]*")

LANDING_PAGE = "index.html"
STYLE_SHEET = "style.css"
# GitHub Pages runs Jekyll on a branch without this file, which would skip files
# starting with "_" or "." and take minutes over a large tree.
NO_JEKYLL = ".nojekyll"
SIMPLE_ROOT_HTML = "simple/index.html"
SIMPLE_ROOT_JSON = "simple/index.json"

# The factory's own bookkeeping, never served as part of the API.
MANIFEST = ".factory-manifest.json"
MANIFEST_SHARDS = ".factory-manifest.d"
JOURNAL = ".factory-journal.json"
LOCK = ".factory-lock"
RESERVED = (MANIFEST, MANIFEST_SHARDS, JOURNAL, LOCK)


def simple_page(project: str) -> str:
    return f"simple/{project}/index.html"


def simple_json(project: str) -> str:
    """PEP 691 as a plain file beside the HTML: GitHub Pages cannot negotiate content types."""
    return f"simple/{project}/index.json"


def project_page(project: str) -> str:
    return f"projects/{project}.html"


def wheel_file(filename: str) -> str:
    return f"files/{filename}"


def metadata_file(filename: str) -> str:
    # PEP 658: the metadata lives at the wheel's URL plus ".metadata".
    return f"files/{filename}{METADATA_SUFFIX}"


def build_records(project: str) -> str:
    # One file per project, not per wheel: a large index has 100,000 wheels.
    return f"builds/{project}.json"


def log_file(filename: str) -> str:
    return f"builds/{filename}.log"


def failed_build_record(project: str, build: str) -> str:
    return f"builds/failed/{project}-{build}.json"


def failed_build_log(project: str, build: str) -> str:
    return f"builds/failed/{project}-{build}.log"


def wheel_url(filename: str, base_url: str | None, from_dir: str) -> str:
    """The link to a wheel from a page in ``from_dir`` (e.g. "simple/pyyaml")."""
    # "+" of local versions and "!" of epochs are quoted; most names need nothing.
    quoted = filename if _URL_SAFE.fullmatch(filename) else quote(filename)
    if base_url is not None:
        return f"{base_url.rstrip('/')}/{quoted}"
    return relative(from_dir, f"files/{quoted}")


def relative(from_dir: str, path: str) -> str:
    """``path`` (relative to index/) as seen from a page in ``from_dir``."""
    depth = from_dir.count("/") + 1 if from_dir else 0
    return "../" * depth + path
