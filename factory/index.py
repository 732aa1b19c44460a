"""The static PEP 503 simple index, rendered from the wheelhouse's build records.

A pure renderer (records in, a tree of files out, the dumb-pypi approach) plus one
edge that writes the tree: next to the old one, then swapped in, so a crash leaves
the previous index whole.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
from packaging.utils import canonicalize_name

from .errors import ConfigError
from .records import BuildRecord, wheelhouse_records

FILES_DIR = "files"  # wheels are published beside the index: index/files/<wheel>

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("factory", "templates"),
    autoescape=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class IndexFile:
    filename: str
    sha256: str
    url: str
    requires_python: str | None = None


def render(records: list[BuildRecord]) -> dict[str, str]:
    """Relative path -> content, for the simple/ tree. Sorted, so output is deterministic."""
    projects: dict[str, list[IndexFile]] = {}
    for record in records:
        assert record.wheel is not None
        projects.setdefault(canonicalize_name(record.project), []).append(
            IndexFile(
                record.wheel.filename,
                record.wheel.sha256,
                f"../../{FILES_DIR}/{record.wheel.filename}",
            )
        )
    pages = {
        "simple/index.html": _templates.get_template("simple_root.html").render(
            projects=sorted(projects)
        )
    }
    for project, files in sorted(projects.items()):
        pages[f"simple/{project}/index.html"] = _templates.get_template(
            "simple_project.html"
        ).render(project=project, files=sorted(files, key=lambda f: f.filename))
    return pages


def write_index(wheelhouse: Path, out_dir: Path) -> int:
    """Render the wheelhouse into ``out_dir``; return the number of wheels published."""
    records = [r for r in wheelhouse_records(wheelhouse) if r.wheel is not None]
    if not records:
        raise ConfigError(
            f"no built wheels in {wheelhouse}",
            hint="run `factory build` first, or pass --wheelhouse",
        )
    staging = out_dir.with_name(out_dir.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    for relative, content in render(records).items():
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    (staging / FILES_DIR).mkdir(parents=True)
    for record in records:
        assert record.wheel is not None
        source = wheelhouse / record.wheel.filename
        target = staging / FILES_DIR / record.wheel.filename
        try:
            os.link(source, target)  # no copy of large wheels when on the same filesystem
        except OSError:
            shutil.copy2(source, target)
    old = out_dir.with_name(out_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return len(records)
