"""riscv64 end to end: build in the emulated userland, publish, pip install inside riscv64.

Slow (minutes under qemu) and needs root; the userland comes from the cache in
~/.cache/riscv64-wheel-factory (or $FACTORY_CACHE_DIR) when a previous run left it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from factory.builders.userland import Userland
from factory.workspace import default_cache_dir

from .helpers import Project, serve_directory

pytestmark = [
    pytest.mark.userland,
    pytest.mark.skipif(os.geteuid() != 0, reason="the riscv64 userland needs root (chroot)"),
    pytest.mark.skipif(platform.machine() == "riscv64", reason="native riscv64: no emulation"),
]
REPO = Path(__file__).resolve().parent.parent
RISCV64_POLICY = "manylinux_2_"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, userland: Userland) -> Project:
    """The repository's own recipes, built for riscv64 through the CLI, and indexed."""
    project = Project(tmp_path_factory.mktemp("riscv64"), default_cache_dir())
    for part in ("recipes", "patches", "forks"):
        shutil.copytree(REPO / part, project.root / part)
    result = project.factory("build", "--json", "pyyaml", "netifaces", timeout=3600)
    assert result.returncode == 0, result.stderr
    assert "on userland-trixie-riscv64" in result.stderr
    result = project.factory("index")
    assert result.returncode == 0, result.stderr
    return project


@pytest.fixture(scope="module")
def index_url(project: Project) -> Iterator[str]:
    """The index served by a real HTTP server on 127.0.0.1 (the userland shares the network)."""
    with serve_directory(project.root / "index") as url:
        yield f"{url}/simple/"


def run_inside(userland: Userland, script: str, work: Path, timeout: float = 1800) -> str:
    """Run a shell script in the riscv64 userland and return its output."""
    work.mkdir(parents=True, exist_ok=True)
    log = work / "inside.log"
    result = userland.run(
        ["sh", "-euc", script], log=log, cwd=work, env={}, timeout=timeout, binds=[work]
    )
    return result.output


def test_wheels_are_repaired_riscv64_wheels(project: Project) -> None:
    [pyyaml] = project.wheelhouse.glob("pyyaml-*.whl")
    [netifaces] = project.wheelhouse.glob("netifaces-*.whl")
    for wheel in (pyyaml, netifaces):
        assert wheel.name.endswith("_riscv64.whl") and RISCV64_POLICY in wheel.name, wheel.name
        assert "-cp313-cp313-" in wheel.name  # trixie's python
    with zipfile.ZipFile(pyyaml) as zipped:
        assert any(n.startswith("pyyaml.libs/libyaml") for n in zipped.namelist())
    record = json.loads(pyyaml.with_name(pyyaml.name + ".build.json").read_text())
    assert record["builder"] == "userland-trixie-riscv64"
    toolchain = record["inputs"]["toolchain"]
    assert toolchain["suite"] == "trixie" and toolchain["python"].startswith("3.13")
    assert toolchain["gcc"] and toolchain["glibc"]


def test_pip_inside_riscv64_installs_our_wheel_from_the_index(
    userland: Userland, index_url: str, tmp_path: Path
) -> None:
    output = run_inside(
        userland,
        f"""
        python3 -m venv venv
        venv/bin/pip install --quiet --index-url {index_url} --report report.json pyyaml
        venv/bin/python -c 'import platform, yaml; print(platform.machine(), yaml.__with_libyaml__)'
        """,
        tmp_path,
    )
    assert output.strip().splitlines()[-1] == "riscv64 True"
    [install] = json.loads((tmp_path / "report.json").read_text())["install"]
    url = install["download_info"]["url"]
    assert url.startswith(index_url.removesuffix("simple/")) and url.endswith("_riscv64.whl"), url


def test_board_path_factory_runs_inside_riscv64(
    userland: Userland, project: Project, tmp_path: Path
) -> None:
    """What a user on a board does: install the factory with pip, `factory build`."""
    checkout = tmp_path / "checkout"
    for part in ("factory", "recipes", "patches", "forks"):
        shutil.copytree(REPO / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / part, checkout / part)
    # The factory needs PyYAML, which has no riscv64 wheel on PyPI: ours is the one.
    shutil.copytree(project.wheelhouse, tmp_path / "ours")
    output = run_inside(
        userland,
        f"""
        python3 -m venv venv
        venv/bin/pip install --quiet --find-links {tmp_path / "ours"} ./checkout
        cd checkout
        FACTORY_CACHE_DIR={tmp_path / "cache"} ../venv/bin/factory build --json netifaces
        """,
        tmp_path,
        timeout=3600,
    )
    assert "on native-riscv64" in output
    [wheel] = (tmp_path / "checkout" / "wheelhouse").glob("netifaces-*.whl")
    assert wheel.name.endswith("_riscv64.whl") and RISCV64_POLICY in wheel.name
