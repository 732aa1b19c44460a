"""`factory retire` against a PyPI-shaped server on 127.0.0.1: the evidence is upstream's
riscv64 wheels of the release named, the recipe gets a `retired:` section and nothing else
changes, and from then on `build` skips it and `plan` leaves it out."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import LocalPypi, Project, PypiFile, local_pypi

pytestmark = pytest.mark.integration

RECIPE = """\
# demo: upstream may ship riscv64 wheels one day
name: demo
version: "1.0"
source:
  pypi: {sha256: abababababababababababababababababababababababababababababababab}
"""
RISCV64_WHEEL = "demo-1.1-cp313-cp313-manylinux_2_39_riscv64.whl"


@pytest.fixture
def pypi() -> Iterator[LocalPypi]:
    with local_pypi() as server:
        server.add("demo", "1.0", PypiFile("demo-1.0.tar.gz", b"sdist"))
        server.add(
            "demo",
            "1.1",
            PypiFile("demo-1.1.tar.gz", b"sdist"),
            PypiFile(RISCV64_WHEEL, b"wheel"),
            PypiFile("demo-1.1-cp313-cp313-manylinux_2_17_x86_64.whl", b"wheel"),
        )
        yield server


@pytest.fixture
def project(tmp_path: Path) -> Project:
    made = Project(tmp_path / "project", tmp_path / "cache")
    made.recipe("demo", RECIPE)
    return made


def factory(project: Project, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = project.factory(*args, extra_env={"FACTORY_PYPI_URL": url}, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ERROR: ")]


def test_retire_writes_the_evidence_and_the_recipe_is_never_built_again(
    project: Project, pypi: LocalPypi
) -> None:
    path = project.recipes / "demo.yaml"
    result = factory(
        project, pypi.url, "retire", "demo", "--since", "1.1", "--reason", "upstream has them"
    )
    assert result.returncode == 0, result.stderr
    assert f"demo: retired since 1.1 (upstream has them); evidence: {RISCV64_WHEEL}" in (
        result.stdout
    )
    assert path.read_text() == RECIPE + (
        f"retired:\n  since: '1.1'\n  reason: upstream has them\n  evidence:\n  - {RISCV64_WHEEL}\n"
    )

    stale = json.loads(factory(project, pypi.url, "stale", "--native", "--json").stdout)
    assert [(v["project"], v["status"]) for v in stale["verdicts"]] == [("demo", "retired")]
    built = factory(project, pypi.url, "build", "--native", "--json", "demo")
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout) == [
        {
            "project": "demo",
            "action": "skip",
            "reason": "retired: upstream ships riscv64 wheels since 1.1 (install it from PyPI)",
            "wheel": None,
            "log": None,
        }
    ]
    assert not project.wheelhouse.exists() or not list(project.wheelhouse.glob("*.whl"))
    planned = json.loads(factory(project, pypi.url, "plan", "--native", "--json").stdout)
    assert planned["empty"] is True and planned["not_buildable"] == []

    again = factory(project, pypi.url, "retire", "demo", "--since", "1.1")
    assert again.returncode == 2
    assert error_lines(again.stderr) == ["ERROR: demo is already retired (since 1.1)"]


def test_evidence_given_by_hand_needs_no_network(project: Project) -> None:
    nowhere = "http://127.0.0.1:9"
    result = factory(project, nowhere, "retire", "demo", "--since", "1.1", "--evidence",
                     RISCV64_WHEEL)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        (project.recipes / "demo.yaml")
        .read_text()
        .endswith(f"reason: upstream ships riscv64 wheels\n  evidence:\n  - {RISCV64_WHEEL}\n")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--since", "1.0"),
            "demo 1.0 on PyPI has no riscv64 wheels: nothing shows that upstream ships them",
        ),
        (("--since", "3.0"), "demo has no final release 3.0 on PyPI"),
        (("--since", "soon"), "--since: 'soon' is not a PEP 440 version"),
        (
            ("--since", "1.1", "--evidence", "other-1.1-py3-none-linux_riscv64.whl"),
            "--evidence other-1.1-py3-none-linux_riscv64.whl is not a riscv64 wheel of demo",
        ),
        (
            ("--since", "1.1", "--evidence", "demo-1.1-cp313-cp313-manylinux_2_17_x86_64.whl"),
            "--evidence demo-1.1-cp313-cp313-manylinux_2_17_x86_64.whl is not a riscv64 wheel "
            "of demo",
        ),
    ],
)
def test_a_retirement_without_evidence_is_refused_and_nothing_is_written(
    project: Project, pypi: LocalPypi, args: tuple[str, ...], message: str
) -> None:
    before = (project.recipes / "demo.yaml").read_bytes()
    result = factory(project, pypi.url, "retire", "demo", *args)
    assert result.returncode == 2, result.stderr
    assert error_lines(result.stderr) == [f"ERROR: {message}"]
    assert "  hint: " in result.stderr
    assert (project.recipes / "demo.yaml").read_bytes() == before
