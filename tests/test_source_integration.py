"""Sources against real servers and real git: limits, index answers, links, credentials.

Each test runs the real `factory` command line against an HTTP server on 127.0.0.1
in a thread; the limits are made small so that none takes more than a few seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import json
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import TINY_PATCH, Project, git, make_tiny_fork

pytestmark = pytest.mark.integration
TOKEN = "s3cret-t0ken"

Route = Callable[[http.server.BaseHTTPRequestHandler], None]


@pytest.fixture
def server() -> Iterator[tuple[dict[str, Route], str]]:
    """A real HTTP server on 127.0.0.1; tests add routes (path -> handler function)."""
    routes: dict[str, Route] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            # The factory hanging up (a limit reached) is what some tests want.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                route(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield routes, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def serve_bytes(data: bytes, content_type: str = "application/octet-stream") -> Route:
    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return route


def endless(handler: http.server.BaseHTTPRequestHandler) -> None:
    """No Content-Length and no end: HTTP/1.0 bodies end when the server closes."""
    handler.send_response(200)
    handler.end_headers()
    for _ in range(100_000):  # ~6 GB: "endless" for the test, but not for the thread
        handler.wfile.write(b"x" * 65536)


def trickle(handler: http.server.BaseHTTPRequestHandler) -> None:
    """A byte every 0.1 s: never silent long enough for a read timeout."""
    handler.send_response(200)
    handler.end_headers()
    for _ in range(600):
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.1)


def sdist(name: str, version: str, marker: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = f"# {marker}\n".encode()
        info = tarfile.TarInfo(f"{name}-{version}/setup.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def archive_project(tmp_path: Path, url: str, sha256: str = "ab" * 32, extra: str = "") -> Project:
    project = Project(tmp_path / "project", tmp_path / "cache")
    project.recipe(
        "demo",
        f'name: demo\nversion: "1.0"\nsource:\n  archive: {{url: "{url}", sha256: {sha256}}}\n'
        + extra,
    )
    return project


def assert_source_error(result: object, message: str) -> None:
    import subprocess

    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0], result.stderr
    assert "  hint: " in result.stderr
    assert "Traceback" not in result.stderr


# --- bounded downloads ---------------------------------------------------------------------


def test_endless_download_stops_at_the_size_limit(
    tmp_path: Path, server: tuple[dict[str, Route], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routes, base = server
    routes["/demo-1.0.tar.gz"] = endless
    project = archive_project(tmp_path, f"{base}/demo-1.0.tar.gz")
    monkeypatch.setenv("FACTORY_DOWNLOAD_MAX_BYTES", "300000")
    started = time.monotonic()
    result = project.factory("check", timeout=60)
    assert time.monotonic() - started < 20
    assert_source_error(
        result,
        f"download of {base}/demo-1.0.tar.gz is larger than FACTORY_DOWNLOAD_MAX_BYTES "
        "(300000 bytes): it sent more",
    )
    assert f"{project.recipes / 'demo.yaml'}: " in result.stderr
    kept = [p for p in project.cache.rglob("*") if p.is_file() and p.parent.name != "locks"]
    assert not kept  # no partial file (a lock file holds only the pid of its last holder)


def test_declared_size_over_the_limit_is_refused_before_reading(
    tmp_path: Path, server: tuple[dict[str, Route], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routes, base = server
    routes["/demo-1.0.tar.gz"] = serve_bytes(b"x" * 5000)
    project = archive_project(tmp_path, f"{base}/demo-1.0.tar.gz")
    monkeypatch.setenv("FACTORY_DOWNLOAD_MAX_BYTES", "1000")
    assert_source_error(project.factory("check", timeout=60), "it says it has 5000 bytes")


def test_trickling_download_stops_at_the_deadline(
    tmp_path: Path, server: tuple[dict[str, Route], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routes, base = server
    routes["/demo-1.0.tar.gz"] = trickle
    project = archive_project(tmp_path, f"{base}/demo-1.0.tar.gz")
    monkeypatch.setenv("FACTORY_DOWNLOAD_DEADLINE", "2")
    started = time.monotonic()
    result = project.factory("check", timeout=60)
    elapsed = time.monotonic() - started
    assert_source_error(
        result,
        f"download of {base}/demo-1.0.tar.gz did not finish within FACTORY_DOWNLOAD_DEADLINE",
    )
    assert "(2 s) after " in result.stderr
    assert elapsed < 15, elapsed


def test_download_counts_against_build_timeout(
    tmp_path: Path, server: tuple[dict[str, Route], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routes, base = server
    routes["/demo-1.0.tar.gz"] = trickle
    project = archive_project(tmp_path, f"{base}/demo-1.0.tar.gz", extra="build:\n  timeout: 2\n")
    monkeypatch.delenv("FACTORY_DOWNLOAD_DEADLINE", raising=False)
    started = time.monotonic()
    result = project.factory("build", "--native", "demo", timeout=60)
    assert time.monotonic() - started < 20
    assert_source_error(result, "did not finish within the recipe's build.timeout (2 s)")
    assert project.wheelhouse_snapshot() == {}


# --- a PyPI-shaped index ---------------------------------------------------------------------


def pypi_page(routes: dict[str, Route]) -> str:
    """PEP 691 JSON for 'demo': wheels and sdists of several versions; returns 1.0's hash."""
    right = sdist("demo", "1.0", "the 1.0 sdist")
    files = {
        "demo-0.9.tar.gz": sdist("demo", "0.9", "too old"),
        "demo-1.0-py3-none-any.whl": b"a wheel, not a source",
        "demo-1.0.tar.gz": right,
        "demo-1.0.1.tar.gz": sdist("demo", "1.0.1", "too new"),
    }
    page = {
        "meta": {"api-version": "1.0"},
        "name": "demo",
        "files": [
            {
                "filename": name,
                "url": f"../../files/{name}",  # relative to the page, as PEP 691 allows
                "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
            }
            for name, data in files.items()
        ],
    }
    routes["/simple/demo/"] = serve_bytes(
        json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json"
    )
    for name, data in files.items():
        routes[f"/files/{name}"] = serve_bytes(data)
    return hashlib.sha256(right).hexdigest()


def pypi_project(tmp_path: Path, sha256: str) -> Project:
    project = Project(tmp_path / "project", tmp_path / "cache")
    project.recipe("demo", f'name: demo\nversion: "1.0"\nsource:\n  pypi: {{sha256: {sha256}}}\n')
    return project


def test_sdist_of_the_recipes_version_comes_from_the_index(
    tmp_path: Path, server: tuple[dict[str, Route], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routes, base = server
    sha256 = pypi_page(routes)
    project = pypi_project(tmp_path, sha256)
    monkeypatch.setenv("FACTORY_PYPI_URL", base)
    result = project.factory("check", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "demo: ok (0 patches apply)\n"
    [cached] = (project.cache / "sources" / "sha256" / sha256).iterdir()
    assert cached.name == "demo-1.0.tar.gz"
    with tarfile.open(cached) as archive:
        setup = archive.extractfile("demo-1.0/setup.py")
        assert setup is not None and setup.read() == b"# the 1.0 sdist\n"


def test_index_sdist_with_another_hash_is_refused(
    tmp_path: Path, server: tuple[dict[str, Route], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routes, base = server
    pypi_page(routes)
    project = pypi_project(tmp_path, "cd" * 32)
    monkeypatch.setenv("FACTORY_PYPI_URL", base)
    assert_source_error(
        project.factory("check", timeout=60), f"sha256 mismatch for {base}/files/demo-1.0.tar.gz"
    )


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/html", b"<html><a href='x'>x</a></html>", "with text/html, not PEP 691 JSON"),
        ("application/vnd.pypi.simple.v1+json", b'{"name": "demo"}', "has no 'files' list"),
        ("application/vnd.pypi.simple.v1+json", b"{oops", "is not JSON"),
    ],
)
def test_index_answer_that_is_not_a_project_page(
    tmp_path: Path,
    server: tuple[dict[str, Route], str],
    monkeypatch: pytest.MonkeyPatch,
    content_type: str,
    body: bytes,
    message: str,
) -> None:
    routes, base = server
    routes["/simple/demo/"] = serve_bytes(body, content_type)
    project = pypi_project(tmp_path, "cd" * 32)
    monkeypatch.setenv("FACTORY_PYPI_URL", base)
    result = project.factory("check", timeout=60)
    assert_source_error(result, message)
    assert "FACTORY_PYPI_URL" in result.stderr


# --- `factory check` exits as `factory build` does ------------------------------------------


def tar_slip() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("demo-1.0/../../../escaped.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    return buffer.getvalue()


def test_check_and_build_exit_3_with_the_same_hint_for_a_tar_slip(
    tmp_path: Path, server: tuple[dict[str, Route], str]
) -> None:
    routes, base = server
    data = tar_slip()
    routes["/demo-1.0.tar.gz"] = serve_bytes(data)
    project = archive_project(tmp_path, f"{base}/demo-1.0.tar.gz", hashlib.sha256(data).hexdigest())
    check = project.factory("check", timeout=60)
    build = project.factory("build", "--native", "demo", timeout=120)
    for result in (check, build):
        assert_source_error(result, "cannot unpack demo-1.0.tar.gz")
    hints = [
        [line for line in result.stderr.splitlines() if line.startswith("  hint:")]
        for result in (check, build)
    ]
    assert hints[0] == hints[1]
    assert not list(tmp_path.rglob("escaped.txt"))


def test_check_exits_3_for_a_wrong_sha256(
    tmp_path: Path, server: tuple[dict[str, Route], str]
) -> None:
    routes, base = server
    routes["/demo-1.0.tar.gz"] = serve_bytes(sdist("demo", "1.0", "x"))
    project = archive_project(tmp_path, f"{base}/demo-1.0.tar.gz")
    assert_source_error(project.factory("check", timeout=60), "sha256 mismatch")


def test_check_exits_3_for_a_patch_that_does_not_apply(tmp_path: Path) -> None:
    project = Project(tmp_path / "project", tmp_path / "cache")
    fork = project.root / "fork"
    commit = make_tiny_fork(fork)
    project.recipe(
        "tinyyaml",
        f'name: tinyyaml\nversion: "1.0"\nsource:\n  git: {{url: {fork}, commit: {commit}}}\n'
        "patches: [0001-flavour.patch]\n",
    )
    project.patch("tinyyaml", "0001-flavour.patch", TINY_PATCH.replace('"upstream"', '"other"'))
    result = project.factory("check", timeout=60)
    assert_source_error(
        result, "patch 0001-flavour.patch does not apply: hunk at tinyyaml/_native.c:6 failed"
    )
    assert "refresh " in result.stderr


def test_bad_recipe_stays_exit_2_for_check(tmp_path: Path) -> None:
    project = Project(tmp_path / "project", tmp_path / "cache")
    project.recipe("demo", "name: demo\nversion: [1.0\n")
    result = project.factory("check", timeout=60)
    assert result.returncode == 2, result.stderr


# --- build.subdirectory through a committed link ----------------------------------------------


def test_subdirectory_link_out_of_the_tree_is_refused_by_check_and_build(tmp_path: Path) -> None:
    project = Project(tmp_path / "project", tmp_path / "cache")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "setup.py").write_text("raise SystemExit('built from outside the pin')\n")
    fork = project.root / "fork"
    commit = make_tiny_fork(fork)
    (fork / "escape").symlink_to(outside)
    git(fork, "add", "escape")
    git(fork, "commit", "-q", "-m", "a link out")
    commit = git(fork, "rev-parse", "HEAD")
    project.recipe(
        "tinyyaml",
        f'name: tinyyaml\nversion: "1.0"\nsource:\n  git: {{url: {fork}, commit: {commit}}}\n'
        "build:\n  subdirectory: escape\n",
    )
    for command in (["check"], ["build", "--native", "tinyyaml"]):
        result = project.factory(*command, timeout=120)
        assert_source_error(
            result,
            f"build.subdirectory 'escape' leads outside the source tree "
            f"(a symbolic link to {outside.resolve()})",
        )
    assert project.wheelhouse_snapshot() == {}


# --- credentials in a git URL ----------------------------------------------------------------


def test_git_credentials_reach_no_log_error_or_record(
    tmp_path: Path, server: tuple[dict[str, Route], str]
) -> None:
    _, base = server
    url = base.replace("http://", f"http://bot:{TOKEN}@") + "/private.git"
    project = Project(tmp_path / "project", tmp_path / "cache")
    project.recipe(
        "demo",
        f'name: demo\nversion: "1.0"\nsource:\n  git: {{url: "{url}", commit: {"ab" * 20}}}\n',
    )
    outputs = []
    for command in (
        ["check"],
        ["build", "--native", "demo"],
        ["build", "--native", "--json", "demo"],
    ):
        result = project.factory(*command, timeout=120)
        assert_source_error(result, "cannot clone http://***@127.0.0.1:")
        outputs += [result.stdout, result.stderr]
    written = [p for p in (project.root / "builds").rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in written) and any(p.suffix == ".json" for p in written)
    for text in [*outputs, *(p.read_text(errors="replace") for p in written)]:
        assert TOKEN not in text
    record = next(p for p in written if p.suffix == ".json")
    assert "http://***@127.0.0.1:" in record.read_text()
