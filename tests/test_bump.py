"""`factory bump` against a PyPI-shaped server on 127.0.0.1 serving real small sdists: the
newest final release is taken, its sdist fetched, verified and patched before anything is
written, and the recipe file changes only where its version, sha256 and build number are."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import LocalPypi, Project, PypiFile, git, local_pypi, sdist_bytes

pytestmark = pytest.mark.integration

PATCH = """\
Make demo say it is patched.

Upstream-Status: Inappropriate [test fixture]

--- a/demo/__init__.py
+++ b/demo/__init__.py
@@ -1,3 +1,3 @@
 NAME = "demo"
-FLAVOUR = "upstream"
+FLAVOUR = "patched"
 MARKER = 1
"""

RECIPE = """\
# demo: a small project (this comment stays)
name: {name}
version: "1.0"   # moved by factory bump
build_number: 2
source:
  pypi:
    sha256: {sha256}  # the sdist's
patches:
  - 0001-fix.patch
build: {{env: {{A: "1"}}}}   # flow style stays flow style
test:
  imports: [demo]
  commands:
  - python -c "import demo; assert demo.FLAVOUR == 'patched', 'longer than 80 columns'"
"""


def sdist(name: str, version: str, flavour_line: str = 'FLAVOUR = "upstream"') -> PypiFile:
    members = {
        "demo/__init__.py": f'NAME = "demo"\n{flavour_line}\nMARKER = 1\n',
        "demo/version.py": f'VERSION = "{version}"\n',
        "setup.py": "from setuptools import setup\nsetup()\n",
    }
    return PypiFile(f"{name}-{version}.tar.gz", sdist_bytes(name, version, members))


@pytest.fixture
def pypi() -> Iterator[LocalPypi]:
    with local_pypi() as server:
        yield server


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project", tmp_path / "cache")


def with_recipe(project: Project, pypi: LocalPypi, name: str = "demo") -> Path:
    """A recipe at 1.0 (build 2) whose patch applies to 1.0's sdist."""
    first = sdist(name, "1.0")
    pypi.add(name, "1.0", first)
    project.patch(name, "0001-fix.patch", PATCH)
    return project.recipe(name, RECIPE.format(name=name, sha256=first.sha256))


def bump(project: Project, pypi: LocalPypi, *args: str) -> tuple[int, str, str]:
    result = project.factory("bump", *args, extra_env={"FACTORY_PYPI_URL": pypi.url}, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ERROR: ")]


def test_bump_takes_the_newest_final_release_and_changes_only_its_values(
    project: Project, pypi: LocalPypi
) -> None:
    path = with_recipe(project, pypi)
    before = path.read_text()
    newest = sdist("demo", "1.1")
    pypi.add("demo", "1.1", newest, PypiFile("demo-1.1-py3-none-any.whl", b"wheel"))
    taken_back = sdist("demo", "1.2")
    pypi.add("demo", "1.2", PypiFile(taken_back.filename, taken_back.data, yanked=True))
    pypi.add("demo", "2.0rc1", sdist("demo", "2.0rc1"))
    pypi.add("demo", "2.0.dev3", sdist("demo", "2.0.dev3"))

    code, out, err = bump(project, pypi, "demo")

    assert code == 0, err
    assert "demo                     bumped      1.0 build 2 -> 1.1 build 0: new release 1.1" in out
    assert changed_lines(before, path.read_text()) == [
        '-version: "1.0"   # moved by factory bump',
        "-build_number: 2",
        '+version: "1.1"   # moved by factory bump',
        "+build_number: 0",
        f"-    sha256: {pypi.projects['demo']['1.0'][0].sha256}  # the sdist's",
        f"+    sha256: {newest.sha256}  # the sdist's",
    ]
    listed = json.loads(project.factory("list", "--json").stdout)
    assert [(r["version"], r["build_number"]) for r in listed] == [("1.1", 0)]

    again_before = path.read_bytes()
    code, out, err = bump(project, pypi, "demo")
    assert code == 0, err
    assert "up-to-date" in out and "1.1 is upstream's newest final release" in out
    assert path.read_bytes() == again_before


def test_a_patch_that_no_longer_applies_is_named_and_nothing_is_written(
    project: Project, pypi: LocalPypi
) -> None:
    fine = with_recipe(project, pypi, "demo")
    broken = with_recipe(project, pypi, "other")
    pypi.add("demo", "1.1", sdist("demo", "1.1"))
    # 1.1 of the other project rewrote the line its patch changes.
    pypi.add("other", "1.1", sdist("other", "1.1", flavour_line='FLAVOUR = "vanilla"'))
    before = {path: path.read_bytes() for path in (fine, broken)}

    code, out, err = bump(project, pypi, "--all")

    assert code == 3, err
    [error] = error_lines(err)
    assert error.startswith(f"ERROR: {broken}: patch 0001-fix.patch does not apply: ")
    assert "demo/__init__.py" in error
    assert "nothing was written; bump the others alone: factory bump demo" in err
    assert {path: path.read_bytes() for path in before} == before
    assert "demo                     not-written 1.0 build 2 -> 1.1 build 0" in out
    assert "other                    failed      1.0 build 2 -> 1.1 build 0: " in out


def test_a_release_without_an_sdist_has_no_sha256_to_pin(project: Project, pypi: LocalPypi) -> None:
    path = with_recipe(project, pypi)
    before = path.read_bytes()
    pypi.add("demo", "1.1", PypiFile("demo-1.1-py3-none-any.whl", b"only a wheel"))

    code, _, err = bump(project, pypi, "demo")

    assert code == 3, err
    assert error_lines(err) == ["ERROR: demo 1.1 has no sdist on PyPI: there is no sha256 to pin"]
    assert path.read_bytes() == before


def test_an_sdist_that_is_not_what_the_index_says_is_refused(
    project: Project, pypi: LocalPypi
) -> None:
    path = with_recipe(project, pypi)
    before = path.read_bytes()
    real = sdist("demo", "1.1")
    pypi.add("demo", "1.1", PypiFile(real.filename, real.data, listed_sha256="ab" * 32))

    code, _, err = bump(project, pypi, "demo")

    assert code == 3, err
    [error] = error_lines(err)
    assert "sha256 mismatch" in error and f"expected {'ab' * 32}, got {real.sha256}" in error
    assert path.read_bytes() == before


def test_a_git_source_takes_the_commit_it_is_given(
    project: Project, pypi: LocalPypi, tmp_path: Path
) -> None:
    fork = tmp_path / "fork"
    fork.mkdir()
    (fork / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    git(fork, "init", "-q", "-b", "main")
    git(fork, "add", "-A")
    git(fork, "commit", "-q", "-m", "one")
    first = git(fork, "rev-parse", "HEAD")
    (fork / "README").write_text("a fix\n")
    git(fork, "add", "-A")
    git(fork, "commit", "-q", "-m", "two")
    second = git(fork, "rev-parse", "HEAD")
    path = project.recipe(
        "forked",
        f'name: forked\nversion: "1.0"\nsource:\n  git:\n    url: {fork}  # our fork\n'
        f"    commit: {first}\n",
    )
    before = path.read_text()

    code, _, err = bump(project, pypi, "forked")
    assert code == 2, err
    [error] = error_lines(err)
    assert error == (
        f"ERROR: {path}: a git source cannot be bumped without --commit (which commit of "
        f"{fork} is the next release is not something the factory can guess)"
    )
    assert "hint: factory bump forked --commit <the fork's 40-hex commit>" in err
    assert path.read_text() == before

    code, out, err = bump(project, pypi, "forked", "--commit", second)
    assert code == 0, err
    # No `upstream:` to follow: the version stays, the new commit is its next build.
    assert "1.0 build 0 -> 1.0 build 1" in out
    assert changed_lines(before, path.read_text()) == [
        "+build_number: 1",
        f"-    commit: {first}",
        f"+    commit: {second}",
    ]


def test_rebuild_raises_the_build_number_and_nothing_else(
    project: Project, pypi: LocalPypi
) -> None:
    path = with_recipe(project, pypi)
    before = path.read_text()
    pypi.add("demo", "1.1", sdist("demo", "1.1"))  # a newer release is not taken

    code, out, err = bump(project, pypi, "--rebuild", "demo")

    assert code == 0, err
    assert "1.0 build 2 -> 1.0 build 3: build number raised" in out
    assert changed_lines(before, path.read_text()) == ["-build_number: 2", "+build_number: 3"]


def test_bad_combinations_are_one_clear_error(project: Project, pypi: LocalPypi) -> None:
    path = with_recipe(project, pypi)
    before = path.read_bytes()
    cases = {
        ("demo", "--commit", "a" * 40): "--commit is for git sources",
        ("demo", "--commit", "main"): "--commit must be a full 40-character hex commit hash",
        ("demo", "--rebuild", "--commit", "a" * 40): "--rebuild keeps the source",
        (): "name the packages to bump, or pass --all",
        ("nothere",): "no recipe named 'nothere'",
    }
    for args, message in cases.items():
        code, _, err = bump(project, pypi, *args)
        assert code == 2, (args, err)
        [error] = error_lines(err)
        assert message in error, (args, err)
    assert path.read_bytes() == before
