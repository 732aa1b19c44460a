"""The upstream check against a PyPI-shaped JSON API served on 127.0.0.1: new releases,
pre-releases, yanked releases, riscv64 wheels, and a server that fails before it answers."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from factory.errors import SourceError
from factory.upstream import describe, look_up, project_json, sdist
from factory.webclient import Client

from .helpers import Project

pytestmark = pytest.mark.integration
SHA = "ab" * 32


def release(*files: str, yanked: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "filename": name,
            "packagetype": "sdist" if name.endswith(".tar.gz") else "bdist_wheel",
            "digests": {"sha256": SHA},
            "url": f"https://files.example/{name}",
            "yanked": yanked,
        }
        for name in files
    ]


PROJECTS: dict[str, dict[str, Any]] = {
    "demo": {
        "releases": {
            "1.0": release("demo-1.0.tar.gz"),
            "1.1": release("demo-1.1.tar.gz", "demo-1.1-py3-none-any.whl"),
            "2.0rc1": release("demo-2.0rc1.tar.gz"),  # a pre-release
            "2.0.dev3": release("demo-2.0.dev3.tar.gz"),  # a dev release
            "1.5": release("demo-1.5.tar.gz", yanked=True),  # upstream took it back
            "1.2": [],  # a release without files
        }
    },
    "shipper": {
        "releases": {
            "1.0": release("shipper-1.0.tar.gz"),
            "1.1": release(
                "shipper-1.1.tar.gz",
                "shipper-1.1-cp313-cp313-manylinux_2_39_riscv64.whl",
                "shipper-1.1-cp313-cp313-manylinux_2_17_x86_64.whl",
                "shipper-1.1-cp313-cp313-musllinux_1_2_riscv64.whl",
            ),
            "1.2": release(
                "shipper-1.2.tar.gz", "shipper-1.2-cp313-cp313-manylinux_2_39_riscv64.whl"
            ),
        }
    },
}


@dataclass
class Behaviour:
    """How the server answers one project: failures before the real answer."""

    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0
    seen: list[float] = field(default_factory=list)  # when each request arrived


@dataclass
class FakePypi:
    url: str
    behaviours: dict[str, Behaviour]


@pytest.fixture
def pypi() -> Iterator[FakePypi]:
    behaviours: dict[str, Behaviour] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            name = parts[1] if len(parts) == 3 and parts[0] == "pypi" else ""
            behaviour = behaviours.setdefault(name, Behaviour())
            behaviour.seen.append(time.monotonic())
            if behaviour.delay:
                time.sleep(behaviour.delay)
            if behaviour.failures:
                status, headers = behaviour.failures.pop(0)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = PROJECTS.get(name.replace("flaky-", "").replace("busy-", ""))
            if data is None:
                self.send_error(404)
                return
            body = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # The timeout test's client hangs up before the late answer: not a failure here.
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield FakePypi(f"http://127.0.0.1:{server.server_address[1]}", behaviours)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def client(pypi: FakePypi, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setenv("FACTORY_PYPI_URL", pypi.url)
    with Client(timeout=2, retries=2, backoff=0.1) as made:
        yield made


def test_the_newest_final_release_ignores_pre_dev_and_yanked(client: Client) -> None:
    facts = describe(project_json(client, "demo"), "demo", "1.0")
    assert facts.latest == "1.1"
    assert (facts.riscv64_since, facts.riscv64_wheels) == (None, ())


def test_riscv64_wheels_upstream_are_evidence_for_retirement(client: Client) -> None:
    facts = describe(project_json(client, "shipper"), "shipper", "1.0")
    assert facts.latest == "1.2"
    assert facts.riscv64_since == "1.1"
    assert facts.riscv64_wheels == (
        "shipper-1.1-cp313-cp313-manylinux_2_39_riscv64.whl",
        "shipper-1.1-cp313-cp313-musllinux_1_2_riscv64.whl",
    )
    # From a recipe already past 1.1, the evidence is its own version's.
    assert describe(project_json(client, "shipper"), "shipper", "1.2").riscv64_since == "1.2"


def test_the_sdist_of_a_release_with_its_hash(client: Client) -> None:
    data = project_json(client, "demo")
    found = sdist(data, "1.1")
    assert found is not None and (found.filename, found.sha256) == ("demo-1.1.tar.gz", SHA)
    assert sdist(data, "1.5") is None  # yanked
    assert sdist(data, "9.9") is None


def test_a_500_then_success_is_retried(client: Client, pypi: FakePypi) -> None:
    pypi.behaviours["flaky-demo"] = Behaviour(failures=[(500, {}), (503, {})])
    assert describe(project_json(client, "flaky-demo"), "demo", "1.0").latest == "1.1"
    assert len(pypi.behaviours["flaky-demo"].seen) == 3


def test_a_429_waits_as_long_as_retry_after_says(client: Client, pypi: FakePypi) -> None:
    pypi.behaviours["busy-demo"] = Behaviour(failures=[(429, {"Retry-After": "1"})])
    assert describe(project_json(client, "busy-demo"), "demo", "1.0").latest == "1.1"
    first, second = pypi.behaviours["busy-demo"].seen
    assert second - first >= 0.95


def test_a_server_that_keeps_failing_is_one_clear_error(client: Client, pypi: FakePypi) -> None:
    pypi.behaviours["flaky-demo"] = Behaviour(failures=[(502, {})] * 5)
    with pytest.raises(SourceError) as caught:
        project_json(client, "flaky-demo")
    assert (
        caught.value.message == f"{pypi.url}/pypi/flaky-demo/json answered HTTP 502 after 3 tries"
    )
    assert caught.value.exit_code == 3


def test_a_server_that_does_not_answer_times_out(
    pypi: FakePypi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTORY_PYPI_URL", pypi.url)
    pypi.behaviours["demo"] = Behaviour(delay=3)
    started = time.monotonic()
    with Client(timeout=0.5, retries=1, backoff=0) as client, pytest.raises(SourceError) as caught:
        project_json(client, "demo")
    assert time.monotonic() - started < 2.9  # gave up before the server answered
    assert caught.value.message.startswith(f"{pypi.url}/pypi/demo/json did not answer within 0.5 s")


def test_an_unknown_project_says_so(client: Client, pypi: FakePypi) -> None:
    with pytest.raises(SourceError, match=r"^nothere does not exist on PyPI"):
        project_json(client, "nothere")


def test_look_up_many(client: Client) -> None:
    facts = look_up({"demo": "1.0", "shipper": "1.0"}, client)
    assert {name: f.latest for name, f in facts.items()} == {"demo": "1.1", "shipper": "1.2"}


def test_stale_upstream_lists_new_releases_and_retirement_candidates(
    tmp_path: Path, pypi: FakePypi
) -> None:
    project = Project(tmp_path, tmp_path / "cache")
    for name in ("demo", "shipper"):
        project.recipe(name, f'name: {name}\nversion: "1.0"\nsource:\n  pypi:\n    sha256: {SHA}\n')
    result = project.factory(
        "stale", "--upstream", "--json", extra_env={"FACTORY_PYPI_URL": pypi.url}, timeout=60
    )
    assert result.returncode == 0, result.stderr
    verdicts = {v["project"]: v for v in json.loads(result.stdout)["verdicts"]}
    assert verdicts["demo"]["status"] == "stale"
    assert verdicts["demo"]["notes"] == [
        "upstream released 1.1 (recipe: 1.0): `factory bump demo` moves the recipe to it"
    ]
    assert verdicts["shipper"]["retire_evidence"] == [
        "shipper-1.1-cp313-cp313-manylinux_2_39_riscv64.whl",
        "shipper-1.1-cp313-cp313-musllinux_1_2_riscv64.whl",
    ]
    assert verdicts["shipper"]["notes"][1] == (
        "upstream ships riscv64 wheels since 1.1: retire it (`factory retire shipper --since 1.1`)"
    )
