"""Bad input and interruptions on the riscv64 path (the emulated userland)."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factory.workspace import default_cache_dir

from .helpers import TINY_PATCH, Project, make_tiny_fork, tiny_recipe

pytestmark = [
    pytest.mark.userland,
    pytest.mark.skipif(os.geteuid() != 0, reason="the riscv64 userland needs root (chroot)"),
    pytest.mark.skipif(platform.machine() == "riscv64", reason="native riscv64: no emulation"),
]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path / "project", default_cache_dir())
    fork = tmp_path / "fork"
    commit = make_tiny_fork(fork)
    project.recipe("tinyyaml", tiny_recipe(fork, commit))
    project.patch("tinyyaml", "0001-flavour.patch", TINY_PATCH)
    return project


def test_system_requirement_not_in_debian_is_named_before_building(project: Project) -> None:
    recipe = project.recipes / "tinyyaml.yaml"
    recipe.write_text(recipe.read_text().replace("[libyaml-dev]", "[libyaml-dev, no-such-lib-dev]"))
    result = project.factory("build", "tinyyaml")
    assert result.returncode == 2, result.stderr
    assert "ERROR: not in Debian trixie (riscv64): no-such-lib-dev" in result.stderr
    assert "tinyyaml 1.0: building" not in result.stderr  # refused before any build started
    assert not project.wheelhouse.exists() or not any(project.wheelhouse.iterdir())


def test_killed_build_leaves_nothing_half_made_and_the_next_run_works(project: Project) -> None:
    env = {**os.environ, "FACTORY_CACHE_DIR": str(project.cache)}
    process = subprocess.Popen(
        [sys.executable, "-m", "factory", "build", "tinyyaml"],
        cwd=project.root,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # wait until the compile inside riscv64 is under way
        if line.strip() == "build ...":
            break
    time.sleep(5)
    process.send_signal(signal.SIGTERM)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130, rest
    assert "interrupted" in rest
    assert not project.wheelhouse.exists() or not list(project.wheelhouse.glob("*.whl*"))
    assert not list((project.cache / "work").glob("tinyyaml-*")), "a half-made work tree was left"
    mounts = Path("/proc/self/mounts").read_text()
    assert str(project.cache / "work") not in mounts, "a bind mount outlived the build"
    result = project.factory("build", "tinyyaml", timeout=1800)
    assert result.returncode == 0, result.stderr
    [wheel] = project.wheelhouse.glob("tinyyaml-*.whl")
    assert wheel.name.endswith("_riscv64.whl")


def test_wheel_compiled_for_the_vector_extension_is_refused(project: Project) -> None:
    recipe = project.recipes / "tinyyaml.yaml"
    recipe.write_text(
        recipe.read_text().replace(
            "  system_requirements: [libyaml-dev]\n",
            "  system_requirements: [libyaml-dev]\n  env: {CFLAGS: -march=rv64gcv}\n",
        )
    )
    result = project.factory("build", "tinyyaml", timeout=1800)
    assert result.returncode == 4, result.stderr
    assert "tinyyaml/_native" in result.stderr and "needs v1p0" in result.stderr
    assert "beyond the recipe's ISA baseline rv64gc" in result.stderr
    assert not project.wheelhouse.exists() or not list(project.wheelhouse.glob("*.whl"))
