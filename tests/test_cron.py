"""The build workflow's sequence, run here with --native on small real packages: plan
against a published index that already has files, build each matrix entry into its own
artifact directory (later layers get the earlier layers' wheels first, as the workflow's
download step gives them), pull the published index, merge the artifacts, index. The
new index has the old files and the new ones, and planning again finds nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import Project, git

pytestmark = pytest.mark.integration


def pure_package(directory: Path, name: str) -> str:
    """A pure-Python setuptools project in a local git repository; returns its commit."""
    (directory / name).mkdir(parents=True)
    (directory / name / "__init__.py").write_text(f'NAME = "{name}"\n')
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n'
    )
    git(directory, "init", "-q", "-b", "main")
    git(directory, "add", "-A")
    git(directory, "commit", "-q", "-m", name)
    return git(directory, "rev-parse", "HEAD")


def recipe(name: str, fork: Path, commit: str, requires: str = "") -> str:
    return (
        f'name: {name}\nversion: "1.0"\nsource:\n  git:\n    url: {fork}\n    commit: {commit}\n'
        f"build:\n  requires: [{requires}]\ntest:\n  imports: [{name}]\n"
    )


def build_into(project: Project, artifact: Path, package: str) -> list[dict[str, Any]]:
    """A build job: `factory build --json` into its own artifact directory."""
    wheelhouse, logs = str(artifact / "wheelhouse"), str(artifact / "builds")
    output = project.succeed(
        "build", "--native", "--json", "--wheelhouse", wheelhouse, "--logs", logs, package
    )
    results: list[dict[str, Any]] = json.loads(output)
    return results


def plan(project: Project, site: Path) -> dict[str, Any]:
    planned: dict[str, Any] = json.loads(
        project.succeed("plan", "--native", "--state", str(site), "--json")
    )
    return planned


def test_the_workflow_sequence_keeps_old_files_and_then_plans_nothing(tmp_path: Path) -> None:
    project = Project(tmp_path / "project", tmp_path / "cache")
    commits = {
        name: pure_package(tmp_path / "forks" / name, name) for name in ("old", "base", "app")
    }
    project.recipe("old", recipe("old", tmp_path / "forks" / "old", commits["old"]))
    # The published index before this run: it has old's wheel (built by an earlier run).
    first = tmp_path / "first-run"
    project.succeed("build", "--native", "--wheelhouse", str(first / "wheelhouse"),
        "--logs", str(first / "builds"), "old")  # fmt: skip
    site = tmp_path / "site"
    project.publish_as_pages(first, site)
    [old_wheel] = [p.name for p in (site / "files").glob("old-*.whl")]

    project.recipe("base", recipe("base", tmp_path / "forks" / "base", commits["base"]))
    project.recipe("app", recipe("app", tmp_path / "forks" / "app", commits["app"], "base"))
    planned = plan(project, site)
    assert planned["empty"] is False
    layers = [[entry["package"] for entry in layer["include"]] for layer in planned["layers"]]
    assert layers == [["base"], ["app"]]
    assert planned["layers"][0]["include"][0]["reason"] == "never built"

    artifacts: list[Path] = []
    for number, layer in enumerate(planned["layers"]):
        for entry in layer["include"]:
            artifact = tmp_path / "artifacts" / f"build-{number}-{entry['package']}"
            if artifacts:  # the workflow downloads the earlier layers' artifacts first
                project.succeed("merge", *map(str, artifacts), "--into", str(artifact))
            result = build_into(project, artifact, entry["package"])
            assert [r["action"] for r in result if r["project"] == entry["package"]] == ["built"]
            artifacts.append(artifact)

    state = tmp_path / "state"
    project.succeed("pull", str(site), "--into", str(state))
    summary = tmp_path / "summary.md"
    project.succeed("merge", *map(str, artifacts), "--into", str(state), "--summary", str(summary))
    project.publish_as_pages(state, site)

    published = sorted(p.name for p in (site / "files").glob("*.whl"))
    assert old_wheel in published
    assert [name.split("-")[0] for name in published] == ["app", "base", "old"]
    assert "| base | 1.0 | success |" in summary.read_text()
    again = plan(project, site)
    assert again["empty"] is True and again["layers"] == []


def test_a_build_job_uses_its_published_dependencies_instead_of_building_them(
    tmp_path: Path,
) -> None:
    """app changes while base, its build dependency, is published and current: the plan
    has app alone, and its job pulls base's published wheel (as the workflow's build
    step does with the entry's "requires") instead of building base again, which would
    give the published name other bytes."""
    project = Project(tmp_path / "project", tmp_path / "cache")
    forks = tmp_path / "forks"
    commits = {name: pure_package(forks / name, name) for name in ("base", "app")}
    project.recipe("base", recipe("base", forks / "base", commits["base"]))
    project.recipe("app", recipe("app", forks / "app", commits["app"], "base"))
    first = tmp_path / "first-run"
    project.succeed("build", "--native", "--wheelhouse", str(first / "wheelhouse"),
        "--logs", str(first / "builds"), "app")  # fmt: skip
    site = tmp_path / "site"
    project.publish_as_pages(first, site)
    [published_base] = (site / "files").glob("base-*.whl")

    (forks / "app" / "app" / "__init__.py").write_text('NAME = "app, again"\n')
    git(forks / "app", "commit", "-q", "-am", "app changes")
    changed = recipe("app", forks / "app", git(forks / "app", "rev-parse", "HEAD"), "base")
    project.recipe("app", changed.replace('version: "1.0"', 'version: "1.0"\nbuild_number: 1'))
    [layer] = plan(project, site)["layers"]
    [entry] = layer["include"]
    assert (entry["package"], entry["requires"]) == ("app", "base")

    artifact = tmp_path / "artifacts" / "build-0-app"
    projects = [arg for name in entry["requires"].split() for arg in ("--project", name)]
    project.succeed("pull", str(site), "--into", str(artifact), *projects)
    assert sorted(p.name for p in (artifact / "wheelhouse").glob("*.whl")) == [published_base.name]
    result = build_into(project, artifact, "app")
    actions = {r["project"]: r["action"] for r in result}
    assert actions == {"base": "up-to-date", "app": "built"}
    pulled = artifact / "wheelhouse" / published_base.name
    assert pulled.read_bytes() == published_base.read_bytes()
