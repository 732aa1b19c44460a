"""Shared helpers for the integration tests: run the real CLI, make small real packages."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@contextlib.contextmanager
def serve_directory(
    directory: Path,
    seen: list[str] | None = None,
    base: type[http.server.SimpleHTTPRequestHandler] = http.server.SimpleHTTPRequestHandler,
) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving ``directory``: its URL, without a
    trailing slash. The paths it is asked for are appended to ``seen``."""

    class Handler(base):  # type: ignore[valid-type,misc]
        def log_message(self, format: str, *args: object) -> None:
            if seen is not None:
                seen.append(self.path)

    handler = functools.partial(Handler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


@dataclass(frozen=True)
class Project:
    """A throwaway factory checkout: recipes/, patches/, wheelhouse/, builds/."""

    root: Path
    cache: Path

    @property
    def recipes(self) -> Path:
        return self.root / "recipes"

    @property
    def wheelhouse(self) -> Path:
        return self.root / "wheelhouse"

    def recipe(self, name: str, text: str) -> Path:
        self.recipes.mkdir(parents=True, exist_ok=True)
        path = self.recipes / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    def patch(self, name: str, filename: str, text: str) -> Path:
        path = self.root / "patches" / name / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def factory(
        self, *args: str, timeout: float = 600, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real `factory` command line in this project."""
        env = {**os.environ, "FACTORY_CACHE_DIR": str(self.cache), **(extra_env or {})}
        return subprocess.run(
            [sys.executable, "-m", "factory", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def succeed(self, *args: str, timeout: float = 600) -> str:
        """Run `factory` and return its output; it must succeed."""
        result = self.factory(*args, timeout=timeout)
        assert result.returncode == 0, f"factory {' '.join(args)}:\n{result.stderr}"
        return result.stdout

    def publish_as_pages(self, state: Path, site: Path) -> None:
        """`factory index` of a state directory, copied as GitHub Pages serves it (the
        links followed) into ``site``."""
        out = self.root / "index-out"
        shutil.rmtree(out, ignore_errors=True)
        wheelhouse, logs = str(state / "wheelhouse"), str(state / "builds")
        self.succeed("index", "--wheelhouse", wheelhouse, "--logs", logs, "--out", str(out))
        shutil.rmtree(site, ignore_errors=True)
        shutil.copytree(out, site, symlinks=False)

    def wheelhouse_snapshot(self) -> dict[str, str]:
        if not self.wheelhouse.is_dir():
            return {}
        return {
            path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(self.wheelhouse.iterdir())
        }


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_IDENTITY},
    )
    return result.stdout.strip()


TINY_SETUP = """\
from setuptools import Extension, setup

setup(
    name="tinyyaml",
    version="1.0",
    ext_modules=[Extension("tinyyaml._native", ["tinyyaml/_native.c"], libraries=["yaml"])],
    packages=["tinyyaml"],
)
"""

TINY_C = """\
#include <Python.h>
#include <yaml.h>

static PyObject *libyaml_version(PyObject *self, PyObject *args) {
    return PyUnicode_FromString(yaml_get_version_string());
}

static PyObject *flavour(PyObject *self, PyObject *args) {
    return PyUnicode_FromString("upstream");
}

static PyMethodDef methods[] = {
    {"libyaml_version", libyaml_version, METH_NOARGS, NULL},
    {"flavour", flavour, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
"""

TINY_PATCH = """\
Report that the patched fork is in use.

Upstream-Status: Inappropriate [test fixture]

--- a/tinyyaml/_native.c
+++ b/tinyyaml/_native.c
@@ -6,7 +6,7 @@
 }
 
 static PyObject *flavour(PyObject *self, PyObject *args) {
-    return PyUnicode_FromString("upstream");
+    return PyUnicode_FromString("patched");
 }
 
 static PyMethodDef methods[] = {
"""


def committed_package(directory: Path, files: dict[str, str]) -> str:
    """A package source in a new local git repository; returns its commit."""
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    git(directory, "init", "-q", "-b", "main")
    git(directory, "add", "-A")
    git(directory, "commit", "-q", "-m", "package")
    return git(directory, "rev-parse", "HEAD")


def make_tiny_fork(directory: Path, c_source: str = TINY_C, setup_py: str = TINY_SETUP) -> str:
    """A tiny C extension linked against libyaml, in a local git repository; returns HEAD."""
    directory.mkdir(parents=True)
    (directory / "tinyyaml").mkdir()
    (directory / "tinyyaml" / "__init__.py").write_text(
        "from ._native import flavour, libyaml_version\n"
    )
    (directory / "tinyyaml" / "_native.c").write_text(c_source)
    (directory / "setup.py").write_text(setup_py)
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    git(directory, "init", "-q", "-b", "main")
    git(directory, "add", "-A")
    git(directory, "commit", "-q", "-m", "tinyyaml 1.0")
    return git(directory, "rev-parse", "HEAD")


def tiny_recipe(fork: Path, commit: str, extra: str = "") -> str:
    return f"""\
name: tinyyaml
version: "1.0"
source:
  git:
    url: {fork}
    commit: {commit}
patches:
  - 0001-flavour.patch
build:
  system_requirements: [libyaml-dev]
test:
  imports: [tinyyaml]
  commands:
    - python -c "import tinyyaml; assert tinyyaml.flavour() == 'patched'"
{extra}"""


def make_tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> str:
    """A .tar.gz of ``members`` (and symbolic ``links``); returns its sha256."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class PypiFile:
    """A release file on the local PyPI: its bytes and what the pages say about it."""

    filename: str
    data: bytes
    yanked: bool = False
    listed_sha256: str | None = None  # what the pages claim; None: the real hash

    @property
    def sha256(self) -> str:
        return self.listed_sha256 or hashlib.sha256(self.data).hexdigest()


@dataclass
class LocalPypi:
    """A PyPI-shaped server on 127.0.0.1: the JSON API (``/pypi/<name>/json``), PEP 691
    simple pages (``/simple/<name>/``) and the files (``/files/<filename>``)."""

    url: str = ""
    projects: dict[str, dict[str, list[PypiFile]]] = field(default_factory=dict)

    def add(self, project: str, version: str, *files: PypiFile) -> None:
        self.projects.setdefault(project, {})[version] = list(files)

    def answer(self, path: str) -> tuple[int, str, bytes]:
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json":
            releases = self.projects.get(parts[1])
            if releases is None:
                return 404, "text/plain", b"not found"
            data = {"releases": {v: [self._entry(f) for f in fs] for v, fs in releases.items()}}
            return 200, "application/json", json.dumps(data).encode()
        if len(parts) == 2 and parts[0] == "simple" and parts[1] in self.projects:
            listed = [
                {"filename": f.filename, "url": f"/files/{f.filename}",
                 "hashes": {"sha256": f.sha256}, "yanked": f.yanked}
                for fs in self.projects[parts[1]].values() for f in fs
            ]  # fmt: skip
            body = json.dumps({"meta": {"api-version": "1.1"}, "name": parts[1], "files": listed})
            return 200, "application/vnd.pypi.simple.v1+json", body.encode()
        if len(parts) == 2 and parts[0] == "files":
            for project in self.projects.values():
                for files in project.values():
                    for file in files:
                        if file.filename == parts[1]:
                            return 200, "application/octet-stream", file.data
        return 404, "text/plain", b"not found"

    def _entry(self, file: PypiFile) -> dict[str, object]:
        return {
            "filename": file.filename,
            "packagetype": "sdist" if file.filename.endswith(".tar.gz") else "bdist_wheel",
            "digests": {"sha256": file.sha256},
            "url": f"{self.url}/files/{file.filename}",
            "yanked": file.yanked,
        }


@contextlib.contextmanager
def local_pypi() -> Iterator[LocalPypi]:
    """A LocalPypi serving on a free port for the duration of the block."""
    pypi = LocalPypi()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = pypi.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    pypi.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield pypi
    finally:
        server.shutdown()
        server.server_close()


def sdist_bytes(name: str, version: str, members: Mapping[str, str]) -> bytes:
    """A real .tar.gz sdist: ``members`` (paths inside the project) under NAME-VERSION/."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-{version}/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
