"""The proven set: the repository's own recipes built for riscv64 in the emulated
userland (compiled by the host-native cross compilers), repaired and tested there by
`factory build`, then installed by pip inside riscv64 from our index served on
127.0.0.1, and each recipe's tests run again against the installed wheels.

CI proves a representative part (CI_SET: the packages that fit its time budget);
`make prove` proves the whole set (FACTORY_PROVE=all) and prints each build's wall
time. FACTORY_PROVE=name,name proves those. Dependencies that are not ours come from
PyPI (pure-Python ones, or riscv64 wheels upstream ships), so this needs the network.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from factory.builders.userland import Userland
from factory.index.inputs import PYPI_SIMPLE
from factory.recipe import load_recipes
from factory.workspace import default_cache_dir

from .helpers import Project, serve_directory
from .test_riscv64_e2e import run_inside

pytestmark = [
    pytest.mark.userland,
    pytest.mark.network,
    pytest.mark.skipif(os.geteuid() != 0, reason="the riscv64 userland needs root (chroot)"),
    pytest.mark.skipif(platform.machine() == "riscv64", reason="native riscv64: no emulation"),
]
REPO = Path(__file__).resolve().parent.parent
FULL_SET = (
    "cffi",
    "zstandard",
    "ijson",
    "frozenlist",
    "uvloop",
    "pillow",
    "tree-sitter-bash",
    "sentencepiece",
    "numpy",
    "llama-cpp-python",
)
CI_SET = ("cffi", "zstandard", "tree-sitter-bash")


def proven_set() -> tuple[str, ...]:
    wanted = os.environ.get("FACTORY_PROVE", "")
    if wanted == "all":
        return FULL_SET
    return tuple(name for name in wanted.split(",") if name) or CI_SET


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, userland: Userland) -> Project:
    project = Project(tmp_path_factory.mktemp("proven"), default_cache_dir())
    for part in ("recipes", "patches", "forks"):
        if (REPO / part).is_dir():
            shutil.copytree(REPO / part, project.root / part)
    started = time.monotonic()
    result = project.factory("build", "--json", *proven_set(), timeout=6 * 3600)
    wall = time.monotonic() - started
    print(f"\nproven set: {' '.join(proven_set())}: {wall:.0f} s in all")
    for entry in json.loads(result.stdout) if result.stdout.strip() else []:
        steps = {}
        if entry["wheel"]:
            record = project.wheelhouse / f"{entry['wheel']}.build.json"
            steps = json.loads(record.read_text())["steps"]
        timing = " ".join(f"{step} {seconds:.0f} s" for step, seconds in steps.items())
        print(
            f"  {entry['project']}: {entry['action']} {entry['wheel'] or entry['reason']} {timing}"
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert project.factory("index").returncode == 0
    return project


@pytest.fixture(scope="module")
def index_url(built: Project) -> Iterator[str]:
    with serve_directory(built.root / "index") as url:
        yield f"{url}/simple/"


def test_every_wheel_is_a_repaired_riscv64_wheel_of_the_baseline_isa(built: Project) -> None:
    for name in proven_set():
        wheels = list(built.wheelhouse.glob(f"{name.replace('-', '_')}-*.whl"))
        assert wheels, f"no wheel for {name}"
        for wheel in wheels:
            assert "manylinux_2_" in wheel.name and wheel.name.endswith("_riscv64.whl")
            record = json.loads(wheel.with_name(wheel.name + ".build.json").read_text())
            assert record["outcome"] == "success"
            assert record["isa"].startswith("rv64i") or record["isa"].startswith("rv64gc")


def test_pip_inside_riscv64_installs_them_from_our_index_and_their_tests_pass(
    userland: Userland, built: Project, index_url: str, tmp_path: Path
) -> None:
    recipes = load_recipes(built.recipes, built.root / "patches")
    names = [canonicalize_name(name) for name in proven_set()]
    # Ours only as wheels: PyPI has sdists of the same versions, which would compile.
    only_ours = ",".join(names)
    checks = []
    for name in names:
        test = recipes[name].recipe.test
        checks += [f"python -c {shlex.quote(f'import {module}')}" for module in test.imports]
        checks += list(test.commands)
    output = run_inside(
        userland,
        f"""
        python3 -m venv venv
        venv/bin/pip install --quiet --index-url {index_url} --extra-index-url {PYPI_SIMPLE} \
            --only-binary {only_ours} --report report.json {" ".join(names)}
        export PATH="$PWD/venv/bin:$PATH"
        cd /tmp
        {chr(10).join(checks)}
        echo all-checks-passed
        """,
        tmp_path,
        timeout=3600,
    )
    assert output.strip().splitlines()[-1] == "all-checks-passed"
    installed = json.loads((tmp_path / "report.json").read_text())["install"]
    ours = {
        entry["metadata"]["name"].lower().replace("_", "-"): entry["download_info"]["url"]
        for entry in installed
    }
    for name in names:
        assert ours[name].startswith(index_url.removesuffix("simple/")), (name, ours[name])
