"""`factory pull` carries the published yanks by command into the state it fills, so the
index made from that state (what the cron's publish job deploys) keeps them; a yank the
recipes made is left to the recipes, which can take it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import Project
from .index_helpers import add_wheel

pytestmark = pytest.mark.integration
SHA = "ab" * 32


def yanked(site: Path, project: str) -> dict[str, object]:
    page = json.loads((site / "simple" / project / "index.json").read_text())
    return {f["filename"]: f["yanked"] for f in page["files"]}


def test_pull_keeps_yanks_by_command_and_leaves_recipe_yanks_to_the_recipes(
    tmp_path: Path,
) -> None:
    project = Project(tmp_path / "project", tmp_path / "cache")
    recipe = f'name: other\nversion: "1.0"\nsource:\n  pypi:\n    sha256: {SHA}\n'
    project.recipe("other", recipe + 'yanked:\n  "1.0": "broken build"\n')
    first = tmp_path / "first"
    for name, version in (("demo", "1.0"), ("demo", "1.1"), ("other", "1.0")):
        add_wheel(first / "wheelhouse", tmp_path / "scratch" / name / version, name, version)
    project.succeed("yank", "demo==1.0", "--reason", "segfaults on K1",
        "--wheelhouse", str(first / "wheelhouse"))  # fmt: skip
    site = tmp_path / "site"
    project.publish_as_pages(first, site)
    assert yanked(site, "demo") == {
        "demo-1.0-py3-none-any.whl": "segfaults on K1",
        "demo-1.1-py3-none-any.whl": False,
    }
    assert yanked(site, "other") == {"other-1.0-py3-none-any.whl": "broken build"}

    # The recipe takes its yank back; a fresh state is pulled and published again.
    project.recipe("other", recipe)
    state = tmp_path / "state"
    out = project.succeed("pull", str(site), "--into", str(state))
    assert out.strip().endswith("3 wheels fetched, 0 already there, 0 build files, 1 yanks carried")
    project.publish_as_pages(state, site)

    assert yanked(site, "demo") == {
        "demo-1.0-py3-none-any.whl": "segfaults on K1",
        "demo-1.1-py3-none-any.whl": False,
    }
    assert yanked(site, "other") == {"other-1.0-py3-none-any.whl": False}
    yanks = (state / "wheelhouse" / "yanks.json").read_bytes()

    # Pulling again adds nothing, and a yank the state has of its own stays.
    project.succeed("yank", "demo==1.1", "--reason", "local", "--wheelhouse",
        str(state / "wheelhouse"))  # fmt: skip
    out = project.succeed("pull", str(site), "--into", str(state))
    assert out.strip().endswith("0 wheels fetched, 3 already there, 0 build files")
    assert json.loads((state / "wheelhouse" / "yanks.json").read_text())["yanked"] == {
        **json.loads(yanks)["yanked"],
        "demo==1.1": "local",
    }
