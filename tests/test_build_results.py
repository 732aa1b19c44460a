"""`factory build --json` with failures, natively, on small real packages (local git forks):
every result is printed (built, failed with its log, skipped with the reason), the others
still build, and the exit code is the failure's own (several: the most severe)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .helpers import Project, git
from .test_cron import pure_package, recipe

pytestmark = pytest.mark.integration

FAILING_SETUP = 'raise SystemExit("this build fails on purpose")\n'
STALE_PATCH = """\
Change a file the source does not have.

Upstream-Status: Inappropriate [test fixture]

--- a/nothere.py
+++ b/nothere.py
@@ -1 +1 @@
-old
+new
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    made = Project(tmp_path / "project", tmp_path / "cache")
    forks = tmp_path / "forks"
    for name in ("fine", "app", "unpatched"):
        made.recipe(name, recipe(name, forks / name, pure_package(forks / name, name)))
    # broken: its build backend runs setup.py, which fails.
    pure_package(forks / "broken", "broken")
    (forks / "broken" / "setup.py").write_text(FAILING_SETUP)
    git(forks / "broken", "add", "-A")
    git(forks / "broken", "commit", "-q", "-m", "fail")
    commit = git(forks / "broken", "rev-parse", "HEAD")
    made.recipe("broken", recipe("broken", forks / "broken", commit))
    made.recipe("app", recipe("app", forks / "app", git(forks / "app", "rev-parse", "HEAD"),
                              requires="broken"))  # fmt: skip
    made.patch("unpatched", "0001-stale.patch", STALE_PATCH)
    unpatched = (made.recipes / "unpatched.yaml").read_text()
    (made.recipes / "unpatched.yaml").write_text(unpatched + "patches: [0001-stale.patch]\n")
    return made


def build(
    project: Project, *names: str
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    result = project.factory("build", "--native", "--json", *names, timeout=600)
    assert "Traceback" not in result.stderr, result.stderr
    return result, json.loads(result.stdout)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ERROR: ")]


def test_a_failure_is_reported_with_its_log_its_dependent_skipped_the_rest_built(
    project: Project,
) -> None:
    result, results = build(project, "fine", "app")

    assert result.returncode == 4, result.stderr
    by_project = {r["project"]: r for r in results}
    assert [r["project"] for r in results] == ["fine", "broken", "app"]
    assert by_project["fine"]["action"] == "built"
    assert (project.wheelhouse / by_project["fine"]["wheel"]).is_file()
    failed = by_project["broken"]
    assert failed["action"] == "failed" and failed["wheel"] is None
    assert "this build fails on purpose" in Path(failed["log"]).read_text()
    assert by_project["app"] == {
        "project": "app",
        "action": "skipped",
        "reason": "build dependency broken failed",
        "wheel": None,
        "log": None,
    }
    [error] = error_lines(result.stderr)
    assert error == f"ERROR: {failed['reason']}"
    assert sorted(p.name.split("-")[0] for p in project.wheelhouse.glob("*.whl")) == ["fine"]


def test_one_source_failure_exits_3_and_a_build_failure_beside_it_makes_it_4(
    project: Project,
) -> None:
    result, results = build(project, "unpatched", "fine")
    assert result.returncode == 3, result.stderr
    assert [(r["project"], r["action"]) for r in results] == [
        ("unpatched", "failed"),
        ("fine", "built"),
    ]
    [error] = error_lines(result.stderr)
    assert "patch 0001-stale.patch does not apply" in error

    result, results = build(project, "unpatched", "broken", "fine")
    assert result.returncode == 4, result.stderr
    assert [(r["project"], r["action"]) for r in results] == [
        ("unpatched", "failed"),
        ("broken", "failed"),
        ("fine", "up-to-date"),
    ]
    assert error_lines(result.stderr) == ["ERROR: 2 of 3 builds failed: broken, unpatched"]
