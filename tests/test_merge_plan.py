"""factory merge (other bytes under a published name are refused, nothing written) and
the plan's layers and runner labels."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from factory.errors import ConfigError
from factory.matrix import plan_matrix, runner_labels
from factory.merge import merge
from factory.stale import find_stale
from factory.state import local_state

from .index_helpers import add_wheel
from .test_plan import Project


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_merge_adds_new_wheels_and_keeps_identical_ones(tmp_path: Path) -> None:
    one, two = tmp_path / "a1", tmp_path / "a2"
    add_wheel(one / "wheelhouse", tmp_path / "s1", "alpha", "1.0")
    add_wheel(two / "wheelhouse", tmp_path / "s2", "beta", "1.0")
    report = merge([one, two], tmp_path / "state")
    assert report.added == ("alpha-1.0-py3-none-any.whl", "beta-1.0-py3-none-any.whl")
    again = merge([one], tmp_path / "state")
    assert (again.added, again.unchanged) == ((), ("alpha-1.0-py3-none-any.whl",))
    names = sorted(p.name for p in (tmp_path / "state" / "wheelhouse").iterdir())
    assert "alpha-1.0-py3-none-any.whl.metadata" in names and "catalog.tsv" in names


def test_merge_refuses_other_bytes_under_a_published_name(tmp_path: Path) -> None:
    add_wheel(tmp_path / "state" / "wheelhouse", tmp_path / "s1", "alpha", "1.0")
    before = snapshot(tmp_path / "state")
    artifact = tmp_path / "artifact"
    add_wheel(artifact / "wheelhouse", tmp_path / "s2", "gamma", "1.0")
    add_wheel(artifact / "wheelhouse", tmp_path / "s3", "alpha", "1.0", requires=("other",))
    with pytest.raises(ConfigError, match="has other bytes than") as caught:
        merge([artifact], tmp_path / "state")
    assert caught.value.exit_code == 2
    assert snapshot(tmp_path / "state") == before  # gamma was not merged either


def test_merge_refuses_a_directory_that_is_no_artifact(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a build artifact"):
        merge([tmp_path / "empty"], tmp_path / "state")


def test_plan_layers_follow_build_requires(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.recipe("base")
    project.recipe("mid", requires=["base"])
    project.recipe("top", requires=["mid", "base"])
    project.recipe("alone")
    project.recipe("heavy", extra="build:\n  size: large\n  timeout: 36000\n")
    recipes = project.load()
    report = find_stale(recipes, local_state(project.wheelhouse, tmp_path / "builds"))
    environ = {"FACTORY_RUNNER_LARGE": '["self-hosted", "linux", "riscv64", "large"]'}
    planned = plan_matrix(report, recipes, environ).to_json()
    layers = [sorted(e["package"] for e in layer["include"]) for layer in planned["layers"]]
    assert layers == [["alone", "base", "heavy"], ["mid"], ["top"]]
    heavy = next(e for e in planned["layers"][0]["include"] if e["package"] == "heavy")
    assert heavy["runs-on"] == ["self-hosted", "linux", "riscv64", "large"]
    assert (heavy["emulated"], heavy["size"], heavy["timeout-minutes"]) == (False, "large", 630)
    base = next(e for e in planned["layers"][0]["include"] if e["package"] == "base")
    # build.timeout's 4 hours plus the job's overhead, on a hosted runner.
    assert (base["runs-on"], base["emulated"], base["timeout-minutes"]) == (
        ["ubuntu-latest"],
        True,
        270,
    )


def test_an_empty_plan_says_so(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.recipe("demo", extra='python: ["3.12"]\n')
    recipes = project.load()
    planned = plan_matrix(find_stale(recipes, local_state(project.wheelhouse, tmp_path)), recipes)
    assert planned.to_json()["empty"] is True
    assert planned.github_output() == "empty=true\nlayer-0=\nlayer-1=\nlayer-2=\nlayer-3=\n"


def test_runner_labels_from_the_variables() -> None:
    assert runner_labels("normal", {}) == ["ubuntu-latest"]
    assert runner_labels("normal", {"FACTORY_RUNNER": "my-board"}) == ["my-board"]
    assert runner_labels("large", {"FACTORY_RUNNER": '["a", "b"]'}) == ["a", "b"]
    with pytest.raises(ConfigError, match="is neither a runner label nor a JSON list"):
        runner_labels("normal", {"FACTORY_RUNNER": "[not json"})


def test_the_plan_leaves_retired_recipes_out(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.recipe("gone", extra="retired:\n  since: '2.0'\n")
    project.recipe("kept")
    recipes = project.load()
    report = find_stale(recipes, local_state(project.wheelhouse, tmp_path / "builds"))
    planned = plan_matrix(report, recipes).to_json()
    assert [[e["package"] for e in layer["include"]] for layer in planned["layers"]] == [["kept"]]
    assert planned["not_buildable"] == [] and planned["deferred"] == []
