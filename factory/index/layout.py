"""Where each thing lives inside index/: every relative path the index uses, in one place.

    index.html  style.css  .nojekyll          the landing page and its style sheet
    simple/index.html  simple/index.json      PEP 503 / PEP 691 project lists
    simple/<name>/index.html  .../index.json  PEP 503 / PEP 691 project pages
    projects/<name>.html                      the human page of a project
    files -> the wheelhouse                   wheels, their PEP 658 metadata and build records
    logs -> the logs directory                every build's log and record, failed ones too

``files`` and ``logs`` are symbolic links: the wheelhouse is published as it is (a
wheel, its metadata and its record are each written once, when built) instead of
being linked file by file into every index. Publishing follows them (GitHub's
upload-pages-artifact archives with ``--dereference``; ``cp -rL`` and ``rsync -L`` do
too). With a base URL the wheelhouse is published there instead, and ``files`` is
not made.

Paths are ``/``-separated and relative to index/. Names are normalized project names
(lowercase letters, digits and ``-``) and wheel file names, neither of which can hold
a ``/`` or be ``..``.
"""

from __future__ import annotations

from pathlib import Path

# The package's own static files (the style sheet), found beside this module: importing
# importlib.resources would cost a one-project run 8 ms.
TEMPLATES = Path(__file__).parent.parent / "templates"

LANDING_PAGE = "index.html"
STYLE_SHEET = "style.css"
# GitHub Pages runs Jekyll on a branch without this file, which would skip files
# starting with "_" or "." and take minutes over a large tree.
NO_JEKYLL = ".nojekyll"
SIMPLE_ROOT_HTML = "simple/index.html"
SIMPLE_ROOT_JSON = "simple/index.json"
FILES_LINK = "files"
LOGS_LINK = "logs"

# The factory's own bookkeeping, never served as part of the API.
MANIFEST = ".factory-manifest.json"
WHEEL_SHARDS = ".factory-wheels"  # each project's wheels, between runs (wheelstore.py)
JOURNAL = ".factory-journal.json"
LOCK = ".factory-lock"


def wheel_shard(number: int) -> str:
    return f"{WHEEL_SHARDS}/{number:02d}.tsv"


def is_bookkeeping(path: str) -> bool:
    """Whether a path is the index's record of its own runs, not a page (a publish that
    changes only these has nothing new to publish)."""
    return path == MANIFEST or path.startswith(f"{WHEEL_SHARDS}/")


def simple_page(project: str) -> str:
    return f"simple/{project}/index.html"


def simple_json(project: str) -> str:
    """PEP 691 as a plain file beside the HTML: GitHub Pages cannot negotiate content types."""
    return f"simple/{project}/index.json"


def project_page(project: str) -> str:
    return f"projects/{project}.html"


def project_pages(project: str) -> tuple[str, str, str]:
    """Every page a project publishes (none when all its files are filtered out)."""
    return (simple_page(project), simple_json(project), project_page(project))


def log_file(project: str, name: str) -> str:
    """A file in the logs directory's folder of a project (a log or a build record)."""
    return f"{LOGS_LINK}/{project}/{name}"


def files_url(base_url: str | None, from_dir: str) -> str:
    """Where wheelhouse files are seen from a page in ``from_dir`` (e.g. "simple/pyyaml"),
    ending in "/": the base URL they are hosted at, else the ``files`` link."""
    if base_url is not None:
        return base_url.rstrip("/") + "/"
    return relative(from_dir, f"{FILES_LINK}/")


def relative(from_dir: str, path: str) -> str:
    """``path`` (relative to index/) as seen from a page in ``from_dir``."""
    depth = from_dir.count("/") + 1 if from_dir else 0
    return "../" * depth + path
