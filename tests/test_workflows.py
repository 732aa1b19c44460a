"""The GitHub Actions workflows pass actionlint (its expression, matrix and action-input
checks), and every `factory` command they run exists with the options they pass."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    assert Path(found).exists(), "actionlint is in the test extra: pip install -e '.[test]'"
    return found


def test_there_are_a_build_and_a_pull_request_workflow() -> None:
    assert [path.name for path in WORKFLOWS] == ["build.yml", "pr.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_actionlint_passes(workflow: Path) -> None:
    result = subprocess.run(
        [actionlint(), "-color=false", str(workflow.relative_to(REPO))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path: Path) -> None:
    """The check above can fail: a job output that the plan job does not set is reported."""
    broken = (REPO / ".github" / "workflows" / "build.yml").read_text()
    broken = broken.replace("needs.plan.outputs.layer-3 != ''", "needs.plan.outputs.layer-9 != ''")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copytree(REPO / ".github" / "actions", tmp_path / ".github" / "actions")
    (tmp_path / ".github" / "workflows" / "build.yml").write_text(broken)
    result = subprocess.run(
        [actionlint(), "-color=false", ".github/workflows/build.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert 'property "layer-9" is not defined' in result.stdout


def test_every_factory_command_in_the_workflows_exists() -> None:
    texts = [p.read_text() for p in [*WORKFLOWS, REPO / ".github/actions/build-one/action.yml"]]
    used = set()
    for text in texts:
        used |= set(re.findall(r"factory (\w+) ", text))
    assert used >= {"plan", "build", "merge", "pull", "index", "check", "userland"}
    for command in sorted(used):
        result = subprocess.run(
            [sys.executable, "-m", "factory", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"factory {command}: {result.stderr}"
