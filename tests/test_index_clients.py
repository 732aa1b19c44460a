"""The index against real clients: pip, uv and pypi-simple, over HTTP on 127.0.0.1.

alpha 1.0 needs beta>=1.0; beta has 1.0, 1.1 (yanked), 2.0 (Requires-Python >=4) and
3.0rc1 (a pre-release, left out of the index). Every client must pick alpha 1.0 and
beta 1.0, and pip must resolve from the .metadata files without fetching a wheel.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from pypi_simple import ACCEPT_HTML_ONLY, ProjectPage, PyPISimple

from factory.index import IndexOptions, generate_index
from factory.index.yanks import yank
from factory.serve import JSON_TYPE, IndexHandler, wants_json

from .helpers import serve_directory
from .index_helpers import add_wheel

pytestmark = pytest.mark.integration
UV = Path(sys.executable).with_name("uv")


@dataclass
class Server:
    url: str  # .../simple/
    requests: list[str] = field(default_factory=list)  # paths, in order


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clients")
    house, scratch = root / "wheelhouse", root / "scratch"
    add_wheel(house, scratch, "alpha", "1.0", requires=("beta>=1.0",), requires_python=">=3.8")
    add_wheel(house, scratch, "beta", "1.0", requires_python=">=3.8")
    add_wheel(house, scratch, "beta", "1.1")
    add_wheel(house, scratch, "beta", "2.0", requires_python=">=4")
    add_wheel(house, scratch, "beta", "3.0rc1")
    yank(house, "beta==1.1", "broken <on> riscv64")
    recipes = root / "recipes"
    recipes.mkdir()
    (recipes / "beta.yaml").write_text(
        'name: beta\nversion: "1.0"\nsource:\n  pypi: {sha256: "' + "0" * 64 + '"}\n'
    )
    out = root / "index"
    generate_index(IndexOptions(wheelhouse=house, out=out, recipes=recipes))
    return out


def serve(site: Path, base: type[http.server.SimpleHTTPRequestHandler]) -> Iterator[Server]:
    served = Server("")
    with serve_directory(site, served.requests, base) as url:
        served.url = f"{url}/simple/"
        yield served


@pytest.fixture
def server(site: Path) -> Iterator[Server]:
    """A plain static server, like GitHub Pages: no content negotiation."""
    yield from serve(site, http.server.SimpleHTTPRequestHandler)


@pytest.fixture
def negotiating_server(site: Path) -> Iterator[Server]:
    """`factory serve`: PEP 691 JSON to the clients that ask for it."""
    yield from serve(site, IndexHandler)


def clean_env(tmp_path: Path) -> dict[str, str]:
    """Only our index: no host pip.conf (find-links, extra indexes), no PIP_/UV_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", HOME=str(tmp_path))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return env


def run(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, env=clean_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", *args, "--no-cache-dir", "--isolated"]


def test_pip_resolves_from_metadata_files_without_downloading_wheels(
    server: Server, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    run(
        pip("install", "--dry-run", "--report", str(report), "--index-url", server.url, "alpha"),
        tmp_path,
    )
    installed = {
        item["metadata"]["name"]: item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert installed == {"alpha": "1.0", "beta": "1.0"}
    requests = server.requests
    metadata = [i for i, p in enumerate(requests) if p.endswith(".whl.metadata")]
    wheels = [i for i, p in enumerate(requests) if p.endswith(".whl")]
    assert {requests[i] for i in metadata} == {
        "/files/alpha-1.0-py3-none-any.whl.metadata",
        "/files/beta-1.0-py3-none-any.whl.metadata",
    }
    # The resolve used only the metadata files. pip before 25.3 then still downloads
    # the chosen wheels in a dry run (pypa/pip#12603); never any other candidate.
    assert all(i > max(metadata) for i in wheels), requests
    assert {requests[i] for i in wheels} <= {
        "/files/alpha-1.0-py3-none-any.whl",
        "/files/beta-1.0-py3-none-any.whl",
    }
    # Neither the yanked 1.1 nor the Requires-Python >=4 2.0 was even looked at.
    assert not [p for p in server.requests if "beta-1.1" in p or "beta-2.0" in p]


def test_pip_installs_the_right_wheels(server: Server, tmp_path: Path) -> None:
    target = tmp_path / "target"
    run(pip("install", "--target", str(target), "--index-url", server.url, "alpha"), tmp_path)
    assert (target / "beta/__init__.py").read_text() == 'VERSION = "1.0"\n'
    assert (target / "alpha/__init__.py").is_file()
    assert "/files/beta-1.0-py3-none-any.whl" in server.requests
    # A yanked release is still installable when pinned exactly (PEP 592).
    pinned = tmp_path / "pinned"
    result = run(
        pip("install", "--target", str(pinned), "--index-url", server.url, "beta==1.1"), tmp_path
    )
    assert (pinned / "beta/__init__.py").read_text() == 'VERSION = "1.1"\n'
    assert "broken <on> riscv64" in result.stdout + result.stderr


def test_uv_installs_from_the_same_index(server: Server, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([str(UV), "venv", "--no-config", "--python", sys.executable, str(venv)], tmp_path)
    python = venv / "bin/python"
    install = [str(UV), "pip", "install", "--no-config", "--no-cache", "--python", str(python)]
    run([*install, "--index-url", server.url, "alpha"], tmp_path)
    result = run([str(python), "-c", "import alpha, beta; print(beta.VERSION)"], tmp_path)
    assert result.stdout.strip() == "1.0"


def test_pypi_simple_reads_the_html_pages(server: Server) -> None:
    with PyPISimple(endpoint=server.url, accept=ACCEPT_HTML_ONLY) as client:
        assert [p for p in client.stream_project_names()] == ["alpha", "beta"]
        page = client.get_project_page("beta")
        assert page.repository_version == "1.2"
        assert page.tracks == ["https://pypi.org/simple/beta/"]
        packages = {str(p.version): p for p in page.packages}
        assert sorted(packages) == ["1.0", "1.1", "2.0"]  # no pre-release
        assert packages["2.0"].requires_python == ">=4"
        assert (packages["1.1"].is_yanked, packages["1.1"].yanked_reason) == (
            True,
            "broken <on> riscv64",
        )
        assert not packages["1.0"].is_yanked
        for package in packages.values():
            assert package.has_metadata and set(package.digests) == {"sha256"}
            assert package.url.startswith(server.url.removesuffix("simple/") + "files/")
        metadata = client.get_package_metadata(packages["1.0"])  # checks its sha256
        assert "Requires-Python: >=3.8" in metadata


def test_pypi_simple_reads_the_json_pages(server: Server) -> None:
    url = f"{server.url}beta/index.json"
    response = requests.get(url, timeout=30)
    assert response.headers["Content-Type"] == "application/json"
    page = ProjectPage.from_json_data(response.json(), base_url=url)
    assert page.versions == ["1.0", "1.1", "2.0"]
    assert page.tracks == ["https://pypi.org/simple/beta/"]
    packages = {p.version: p for p in page.packages}
    assert packages["1.1"].yanked_reason == "broken <on> riscv64"
    assert packages["2.0"].requires_python == ">=4"
    first = packages["1.0"]
    assert first.size and first.upload_time is not None
    assert first.upload_time.isoformat() == "2026-01-02T03:04:05+00:00"  # the build's start
    assert first.metadata_digests and set(first.metadata_digests) == {"sha256"}
    assert requests.get(first.url, timeout=30).status_code == 200
    root = requests.get(f"{server.url}index.json", timeout=30).json()
    assert root["projects"] == [{"name": "alpha"}, {"name": "beta"}]


def test_factory_serve_negotiates_json(negotiating_server: Server, tmp_path: Path) -> None:
    url = f"{negotiating_server.url}beta/"
    as_json = requests.get(url, headers={"Accept": JSON_TYPE}, timeout=30)
    assert as_json.headers["Content-Type"] == JSON_TYPE
    assert as_json.json()["name"] == "beta"
    as_html = requests.get(url, headers={"Accept": "text/html"}, timeout=30)
    assert as_html.headers["Content-Type"].startswith("text/html")
    # uv asks for JSON first: it installs through the JSON pages.
    venv = tmp_path / "venv"
    run([str(UV), "venv", "--no-config", "--python", sys.executable, str(venv)], tmp_path)
    install = [str(UV), "pip", "install", "--no-config", "--no-cache", "--python"]
    run(
        [*install, str(venv / "bin/python"), "--index-url", negotiating_server.url, "alpha"],
        tmp_path,
    )
    assert (venv / "bin/python").exists()
    with PyPISimple(endpoint=negotiating_server.url) as client:  # JSON preferred
        page = client.get_project_page("beta")
        assert page.versions == ["1.0", "1.1", "2.0"]  # only the JSON pages carry versions


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        (f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", True),
        ("text/html", False),
        ("", False),
        (f"text/html, {JSON_TYPE};q=0.5", False),
        (f"{JSON_TYPE};q=0", False),
    ],
)
def test_wants_json(accept: str, json: bool) -> None:
    assert wants_json(accept) is json


def test_factory_serve_hides_its_bookkeeping(negotiating_server: Server, site: Path) -> None:
    base = negotiating_server.url.removesuffix("simple/")
    (site / "simple" / ".factory-tmp.index.html").write_text("half a page")
    [shard, *_] = sorted((site / ".factory-wheels").iterdir())
    for path in (
        ".factory-manifest.json",
        f".factory-wheels/{shard.name}",
        ".factory-lock",
        "simple/.factory-tmp.index.html",
        "%2Efactory-manifest.json",
    ):
        assert requests.get(base + path, timeout=30).status_code == 404, path
    assert requests.get(base + "index.html", timeout=30).status_code == 200
    assert (site / ".factory-manifest.json").is_file()  # there, but not served


@pytest.mark.parametrize("port", ["in-use", "65536"])
def test_factory_serve_on_a_bad_port_is_one_error(site: Path, port: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        number = str(taken.getsockname()[1]) if port == "in-use" else port
        result = subprocess.run(
            [sys.executable, "-m", "factory", "serve", "--dir", str(site), "--port", number],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    [error, hint] = result.stderr.splitlines()
    assert error.startswith("ERROR: ") and number in error
    assert hint.startswith("  hint: ") and "--port" in hint
