"""The repository's own recipes: every one passes `factory check` against the real
sources (network tier), and the retired ones carry evidence PyPI still confirms.

The check fetches every sdist (a few hundred MB the first time) into the factory's
cache (``FACTORY_CACHE_DIR`` or ~/.cache), so later runs only verify them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import NormalizedName, parse_wheel_filename
from packaging.version import Version

from factory.recipe import load_recipes
from factory.upstream import project_json
from factory.webclient import Client
from factory.workspace import default_cache_dir

REPO = Path(__file__).resolve().parent.parent
RECIPES = load_recipes(REPO / "recipes", REPO / "patches")
RETIRED = sorted(name for name, loaded in RECIPES.items() if loaded.recipe.retired is not None)
# Sources that only GitHub serves; a machine without GitHub warns about them.
ONLY_ON_GITHUB = {"torch"}


# The seed's projects whose releases ship riscv64 wheels on PyPI (checked 2026-12-03).
SEED_RETIRED = {
    "blake3", "fastar", "httptools", "jiter", "msgspec", "multidict", "propcache",
    "pydantic-core", "pyzmq", "rignore", "safetensors", "setproctitle", "tokenizers",
    "tree-sitter", "watchfiles",
}  # fmt: skip


def test_retired_recipes_name_riscv64_wheels_of_their_own_version() -> None:
    assert SEED_RETIRED.issubset(RETIRED)
    for name in RETIRED:
        recipe = RECIPES[name].recipe
        assert recipe.retired is not None and recipe.retired.evidence, name
        assert Version(recipe.retired.since) <= Version(recipe.version), name
        for wheel in recipe.retired.evidence:
            project, version, _, tags = parse_wheel_filename(wheel)
            assert (project, version) == (name, Version(recipe.version)), wheel
            assert any(tag.platform.endswith("_riscv64") for tag in tags), wheel


@pytest.mark.network
@pytest.mark.parametrize("name", RETIRED)
def test_pypi_still_has_the_evidence_of_each_retired_recipe(name: NormalizedName) -> None:
    recipe = RECIPES[name].recipe
    assert recipe.retired is not None
    with Client() as client:
        release = project_json(client, name)["releases"][recipe.version]
    files = {file["filename"] for file in release if not file.get("yanked")}
    assert set(recipe.retired.evidence) <= files


@pytest.mark.network
def test_every_recipe_passes_factory_check(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    for part in ("recipes", "patches", "forks"):
        shutil.copytree(REPO / part, checkout / part)
    result = subprocess.run(
        [sys.executable, "-m", "factory", "check", "--all", "--json"],
        cwd=checkout,
        env={**os.environ, "FACTORY_CACHE_DIR": str(default_cache_dir())},
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert result.returncode == 0, result.stderr
    checked = {item["project"]: item for item in json.loads(result.stdout)}
    assert checked.keys() == RECIPES.keys()
    for name, item in checked.items():
        assert item["ok"] and item["error"] is None, (name, item)
        if item["warning"] is not None:
            assert name in ONLY_ON_GITHUB, (name, item["warning"])
            assert "not reachable from this machine" in item["warning"]
