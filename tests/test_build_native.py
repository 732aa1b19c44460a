"""The whole path with the real tools on this host: git, build, auditwheel, pip.

Builds run with --native (for this host's architecture); the riscv64 path runs the
same code inside the emulated userland (tests/test_userland_*.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from factory.catalog import read_catalog

from .helpers import (
    TINY_C,
    TINY_PATCH,
    Project,
    committed_package,
    git,
    make_tiny_fork,
    serve_directory,
    tiny_recipe,
)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Project:
    """A wheelhouse holding a good tinyyaml build: the state bad input must not touch."""
    project = Project(tmp_path_factory.mktemp("built"), cache)
    fork = project.root / "fork"
    commit = make_tiny_fork(fork)
    project.recipe("tinyyaml", tiny_recipe(fork, commit))
    project.patch("tinyyaml", "0001-flavour.patch", TINY_PATCH)
    result = project.factory("build", "--native", "tinyyaml")
    assert result.returncode == 0, result.stderr
    return project


def clone(built: Project, tmp_path: Path) -> Project:
    """A copy of the built project (recipes, patches, fork, wheelhouse) to break things in."""
    project = Project(tmp_path / "project", built.cache)
    shutil.copytree(built.root, project.root, symlinks=True)
    return project


def fresh_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin" / "python"


def installed_output(tmp_path: Path, wheel: Path, code: str) -> str:
    python = fresh_venv(tmp_path / "user-venv")
    subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True)
    return subprocess.run(
        [python, "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path
    ).stdout.strip()


# --- good input ---------------------------------------------------------------------


def test_fork_is_patched_repaired_and_libyaml_grafted(built: Project, tmp_path: Path) -> None:
    wheels = sorted(built.wheelhouse.glob("*.whl"))
    assert len(wheels) == 1
    wheel = wheels[0]
    assert wheel.name.startswith("tinyyaml-1.0-cp3")
    assert "manylinux_" in wheel.name, "auditwheel repair should have set a manylinux tag"
    with zipfile.ZipFile(wheel) as zipped:
        grafted = [n for n in zipped.namelist() if n.startswith("tinyyaml.libs/libyaml")]
    assert grafted, "libyaml was not grafted into the wheel"
    output = installed_output(
        tmp_path, wheel, "import tinyyaml; print(tinyyaml.flavour(), tinyyaml.libyaml_version())"
    )
    assert output.startswith("patched 0.2.")


def test_build_record_describes_the_build(built: Project) -> None:
    wheel = next(built.wheelhouse.glob("*.whl"))
    record = json.loads(wheel.with_name(wheel.name + ".build.json").read_text())
    assert record["outcome"] == "success"
    assert record["wheel"]["filename"] == wheel.name
    assert record["wheel"]["size"] == wheel.stat().st_size
    assert len(record["fingerprint"]) == 64
    assert set(record["steps"]) == {"fetch", "build", "repair", "test"}
    assert record["inputs"]["patches"].keys() == {"0001-flavour.patch"}
    assert "auditwheel" in record["inputs"]["toolchain"]
    assert Path(record["log"]).is_file()


def test_up_to_date_build_does_nothing(built: Project) -> None:
    before = built.wheelhouse_snapshot()
    result = built.factory("build", "--native", "tinyyaml")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stderr
    assert "building" not in result.stderr
    assert built.wheelhouse_snapshot() == before


def test_changed_patch_needs_a_new_build_number(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    # Any change to a patch's bytes (here its description) changes the inputs.
    project.patch("tinyyaml", "0001-flavour.patch", "Reworded.\n" + TINY_PATCH)
    result = project.factory("build", "--native", "tinyyaml")
    assert result.returncode == 2
    assert "raise build_number" in result.stderr
    assert project.wheelhouse_snapshot() == before
    recipe = project.recipes / "tinyyaml.yaml"
    recipe.write_text(
        recipe.read_text().replace('version: "1.0"', 'version: "1.0"\nbuild_number: 1')
    )
    result = project.factory("build", "--native", "--json", "tinyyaml")
    assert result.returncode == 0, result.stderr
    [built_result] = json.loads(result.stdout)
    assert built_result["wheel"].startswith("tinyyaml-1.0-1-cp3")  # the build tag
    assert (project.wheelhouse / built_result["wheel"]).is_file()
    after = project.wheelhouse_snapshot()
    # Published files keep their bytes; the catalog only gains the new wheel's line.
    assert all(after[name] == sha for name, sha in before.items() if name != "catalog.tsv")
    old_wheels = sorted(name for name in before if name.endswith(".whl"))
    assert list(read_catalog(project.wheelhouse)) == [*old_wheels, built_result["wheel"]]


def test_pyyaml_from_its_sdist_imports_with_libyaml(tmp_path: Path, cache: Path) -> None:
    project = Project(tmp_path, cache)
    shutil.copytree(REPO / "recipes", project.recipes)
    shutil.copytree(REPO / "patches", project.root / "patches")
    shutil.copytree(REPO / "forks", project.root / "forks")
    result = project.factory("build", "--native", "pyyaml")
    assert result.returncode == 0, result.stderr
    [wheel] = project.wheelhouse.glob("pyyaml-*.whl")
    assert "manylinux_" in wheel.name
    with zipfile.ZipFile(wheel) as zipped:
        assert any(n.startswith("pyyaml.libs/libyaml") for n in zipped.namelist())
    assert installed_output(tmp_path, wheel, "import yaml; print(yaml.__with_libyaml__)") == "True"


# --- bad input: clear message, non-zero exit, wheelhouse unchanged -----------------------


def assert_refused(
    project: Project,
    result: subprocess.CompletedProcess[str],
    code: int,
    message: str,
    before: dict[str, str],
) -> None:
    assert result.returncode == code, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(error_lines) == 1, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert project.wheelhouse_snapshot() == before


def test_malformed_yaml(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    project.recipe("broken", "name: broken\nversion: [1.0\n")
    result = project.factory("build", "--native", "tinyyaml")
    assert_refused(project, result, 2, "broken.yaml:3: malformed YAML", before)


def test_unknown_key(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    recipe = project.recipes / "tinyyaml.yaml"
    recipe.write_text(recipe.read_text() + "colour: blue\n")
    result = project.factory("build", "--native", "tinyyaml")
    assert_refused(project, result, 2, "tinyyaml.yaml:15: unknown key 'colour'", before)


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real HTTP server on 127.0.0.1 serving a directory."""
    root = tmp_path / "served"
    root.mkdir()
    with serve_directory(root) as url:
        yield root, url


def test_wrong_sha256(built: Project, tmp_path: Path, http_root: tuple[Path, str]) -> None:
    root, url = http_root
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    with tarfile.open(root / "tinyyaml-1.0.tar.gz", "w:gz") as archive:
        archive.add(
            project.root / "fork",
            arcname="tinyyaml-1.0",
            filter=lambda t: None if ".git" in t.name else t,
        )
    project.recipe(
        "tinyyaml",
        f"""\
        name: tinyyaml
        version: "1.0"
        build_number: 5
        source:
          archive:
            url: {url}/tinyyaml-1.0.tar.gz
            sha256: {"ab" * 32}
        """,
    )
    result = project.factory("build", "--native", "tinyyaml")
    assert_refused(project, result, 3, "sha256 mismatch", before)
    assert not list((project.cache / "sources" / "sha256").glob(f"{'ab' * 32}/*.tar.gz"))


def test_commit_that_does_not_exist(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    recipe = project.recipes / "tinyyaml.yaml"
    text = recipe.read_text()
    commit = text.split("commit: ")[1].split()[0]
    recipe.write_text(
        text.replace(commit, "deadbeef" * 5).replace("patches:", "build_number: 9\npatches:")
    )
    result = project.factory("build", "--native", "tinyyaml")
    assert_refused(project, result, 3, f"commit {'deadbeef' * 5} does not exist in", before)


def test_patch_that_does_not_apply(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    project.patch("tinyyaml", "0001-flavour.patch", TINY_PATCH.replace('"upstream"', '"elsewhere"'))
    hints = []
    for command in (["check", "tinyyaml"], ["build", "--native", "--force", "tinyyaml"]):
        result = project.factory(*command)
        assert_refused(
            project,
            result,
            3,  # a source problem, from check as from build
            "patch 0001-flavour.patch does not apply: hunk at tinyyaml/_native.c:6 failed",
            before,
        )
        hints.append([line for line in result.stderr.splitlines() if "hint:" in line])
    assert hints[0][0].startswith("  hint: refresh ") and hints[0][0].endswith("check.log)")
    assert hints[1][0].startswith("  hint: refresh ")


@pytest.mark.parametrize("name", ["../tinyyaml", "recipes/tinyyaml", ".."])
def test_recipe_name_with_path(built: Project, tmp_path: Path, name: str) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    result = project.factory("build", "--native", name)
    assert_refused(
        project,
        result,
        2,
        "is not a recipe name (it must not contain a path separator or '..')",
        before,
    )


def test_patch_path_escaping_patches_dir(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    recipe = project.recipes / "tinyyaml.yaml"
    recipe.write_text(recipe.read_text().replace("- 0001-flavour.patch", "- ../../fork/evil.patch"))
    result = project.factory("build", "--native", "tinyyaml")
    assert_refused(project, result, 2, "must be a file name inside patches/<name>/", before)


def broken_fork_recipe(
    project: Project, c_source: str = TINY_C, setup_py: str | None = None, extra: str = ""
) -> None:
    fork = project.root / "fork2"
    kwargs = {"setup_py": setup_py} if setup_py else {}
    commit = make_tiny_fork(fork, c_source, **kwargs)
    recipe = tiny_recipe(fork, commit, extra).replace(
        'version: "1.0"', 'version: "1.0"\nbuild_number: 7'
    )
    project.recipe("tinyyaml", recipe)


def test_package_that_fails_to_compile(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    broken_fork_recipe(project, TINY_C.replace("PyMODINIT_FUNC", "this is not C;\nPyMODINIT_FUNC"))
    result = project.factory("build", "--native", "tinyyaml")
    assert_refused(project, result, 4, "failed with exit code", before)
    assert "error:" in result.stderr  # the compiler's message, from the log's tail
    records = list((project.root / "builds" / "tinyyaml").glob("1.0-7-*.json"))
    assert [json.loads(r.read_text())["outcome"] for r in records] == ["failed"]


def test_wheel_whose_tests_fail(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    broken_fork_recipe(project, extra='    - python -c "import sys; sys.exit(3)"\n')
    result = project.factory("build", "--native", "tinyyaml")
    assert_refused(project, result, 4, "the wheel's test failed", before)
    assert "exited with code 3" in result.stderr


def test_build_that_exceeds_its_timeout(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    pid_file = tmp_path / "sleeper.pid"
    slow_setup = (
        "import os, subprocess\n"
        f"child = subprocess.Popen(['sleep', '300'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "child.wait()\n"
    )
    broken_fork_recipe(project, setup_py=slow_setup, extra="")
    recipe = project.recipes / "tinyyaml.yaml"
    recipe.write_text(recipe.read_text().replace("build:\n", "build:\n  timeout: 20\n"))
    started = time.monotonic()
    result = project.factory("build", "--native", "tinyyaml")
    assert time.monotonic() - started < 120
    assert_refused(project, result, 4, "ran past its timeout of 20 s and was killed", before)
    # The whole process tree died, not just the direct child.
    sleeper = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while process_alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not process_alive(sleeper), "a grandchild of the build outlived the timeout"


def test_the_work_tree_of_a_killed_build_is_swept_by_the_next_run(
    built: Project, tmp_path: Path
) -> None:
    """SIGKILL (or a power cut) gives a build no chance to clean up after itself."""
    project = clone(built, tmp_path)
    started = tmp_path / "started"
    broken_fork_recipe(
        project,
        setup_py=f"import os, time\nopen({str(started)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(300)\n",
    )
    env = {**os.environ, "FACTORY_CACHE_DIR": str(project.cache)}
    build = subprocess.Popen(
        [sys.executable, "-m", "factory", "build", "--native", "tinyyaml"],
        cwd=project.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not (started.exists() and started.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert started.exists(), "the build never reached its setup.py"
    build.kill()
    build.wait(timeout=30)
    os.kill(int(started.read_text()), signal.SIGKILL)  # orphaned: nobody killed its tree
    left = list((project.cache / "work").glob("tinyyaml-*"))
    assert left, "the killed build left no work tree: nothing to sweep"

    result = project.factory("check", "tinyyaml")
    assert result.returncode == 0, result.stderr
    assert not [tree for tree in left if tree.exists()], "the killed build's tree is still there"


def process_alive(pid: int) -> bool:
    """Running or sleeping; a zombie waiting for init to reap it is dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_build_dependency_comes_from_our_wheelhouse(built: Project, tmp_path: Path) -> None:
    """A recipe whose build needs another recipe's product builds against our wheel."""
    project = clone(built, tmp_path)
    user = project.root / "user"
    (user / "user_pkg").mkdir(parents=True)
    (user / "user_pkg" / "__init__.py").write_text("")
    # The build itself imports tinyyaml: only our patched build answers "patched".
    (user / "setup.py").write_text(
        "import tinyyaml\n"
        "assert tinyyaml.flavour() == 'patched', tinyyaml.flavour()\n"
        "from setuptools import setup\n"
        "setup(name='user-pkg', version='2.0', packages=['user_pkg'])\n"
    )
    (user / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61", "tinyyaml==1.0"]\n'
        'build-backend = "setuptools.build_meta"\n'
    )
    git(user, "init", "-q", "-b", "main")
    git(user, "add", "-A")
    git(user, "commit", "-q", "-m", "user-pkg")
    commit = git(user, "rev-parse", "HEAD")
    project.recipe(
        "user-pkg",
        f"""\
        name: user-pkg
        version: "2.0"
        source:
          git: {{url: {user}, commit: {commit}}}
        build:
          requires: [tinyyaml]
        test:
          imports: [user_pkg]
        """,
    )
    result = project.factory("build", "--native", "user-pkg")
    assert result.returncode == 0, result.stderr
    assert "tinyyaml 1.0: up to date" in result.stderr  # the dependency was not rebuilt
    assert [w.name for w in project.wheelhouse.glob("user_pkg-*.whl")] == [
        "user_pkg-2.0-py3-none-any.whl"  # pure Python: passed through auditwheel untouched
    ]


def test_undeclared_build_requirement_is_taken_from_our_wheelhouse(
    built: Project, tmp_path: Path
) -> None:
    """A build requirement the recipe does not list (pyyaml's Cython) comes from the
    wheelhouse when it holds a fitting wheel, although PyPI has a newer release."""
    project = clone(built, tmp_path)
    setuptools_backend = 'build-backend = "setuptools.build_meta"\n'
    # Our own "iniconfig" 0.1: PyPI's (2.x) has no FLAVOUR.
    ours = committed_package(
        project.root / "ours",
        {
            "iniconfig/__init__.py": 'FLAVOUR = "ours"\n',
            "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
            + setuptools_backend
            + '[project]\nname = "iniconfig"\nversion = "0.1"\n',
        },
    )
    user = committed_package(
        project.root / "user",
        {
            "user_pkg/__init__.py": "",
            "setup.py": "import iniconfig\n"
            "assert getattr(iniconfig, 'FLAVOUR', None) == 'ours', iniconfig.__file__\n"
            "from setuptools import setup\n"
            "setup(name='user-pkg', version='2.0', packages=['user_pkg'])\n",
            "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61", "iniconfig"]\n'
            + setuptools_backend,
        },
    )
    for name, version, path, commit in (
        ("iniconfig", "0.1", "ours", ours),
        ("user-pkg", "2.0", "user", user),
    ):
        project.recipe(
            name,
            f"""\
            name: {name}
            version: "{version}"
            source:
              git: {{url: {project.root / path}, commit: {commit}}}
            """,
        )
    first = project.factory("build", "--native", "iniconfig")
    assert first.returncode == 0, first.stderr
    result = project.factory("build", "--native", "user-pkg")
    assert result.returncode == 0, result.stderr
    assert "build requirements from the wheelhouse: iniconfig==0.1" in result.stderr


def test_check_fetches_and_patches_without_building(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    result = project.factory("check")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "tinyyaml: ok (1 patch applies)\n"
    result = project.factory("check", "--json")
    [report] = json.loads(result.stdout)
    assert report["ok"] is True and Path(report["log"]).is_file()
    assert project.wheelhouse_snapshot() == before


@pytest.mark.parametrize(
    "command", [["list"], ["list", "--json"], ["build", "--native", "tinyyaml"]]
)
def test_corrupt_build_record_is_named(built: Project, tmp_path: Path, command: list[str]) -> None:
    project = clone(built, tmp_path)
    [wheel] = project.wheelhouse.glob("*.whl")
    record = wheel.with_name(wheel.name + ".build.json")
    record.write_text('{"project": "tinyyaml", "version"')
    before = project.wheelhouse_snapshot()
    result = project.factory(*command)
    assert_refused(project, result, 2, f"ERROR: {record}: not a readable build record (", before)
    assert f"hint: remove it and {wheel.name} from {project.wheelhouse}" in result.stderr
    assert result.stdout == ""


def test_list_shows_recipes_and_their_wheels(built: Project) -> None:
    [wheel] = built.wheelhouse.glob("*.whl")
    result = built.factory("list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["tinyyaml", "1.0", "build", "0", "git", wheel.name]
    result = built.factory("list", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "project": "tinyyaml",
            "version": "1.0",
            "build_number": 0,
            "source": "git",
            "patches": 1,
            "wheels": [wheel.name],
            "retired_since": None,
        }
    ]


def test_two_builds_of_one_package_at_once(tmp_path: Path, cache: Path) -> None:
    """Both succeed; one builds, the other waits for it and finds its wheel up to date."""
    project = Project(tmp_path / "project", cache)
    fork = project.root / "fork"
    commit = make_tiny_fork(fork)
    project.recipe("tinyyaml", tiny_recipe(fork, commit))
    project.patch("tinyyaml", "0001-flavour.patch", TINY_PATCH)
    env = {**os.environ, "FACTORY_CACHE_DIR": str(project.cache)}
    argv = [sys.executable, "-m", "factory", "build", "--native", "--json", "tinyyaml"]
    runs = [
        subprocess.Popen(
            argv, cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]  # fmt: skip
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    results = [json.loads(stdout)[0] for stdout, _ in outputs]
    assert sorted(r["action"] for r in results) == ["built", "up-to-date"], results
    builder, waiter = sorted(range(2), key=lambda i: results[i]["action"] != "built")
    assert "waiting for it" in outputs[waiter][1]
    assert "tinyyaml 1.0: building (" not in outputs[waiter][1]
    assert "tinyyaml 1.0: building (" in outputs[builder][1]
    [wheel] = project.wheelhouse.glob("*.whl")
    assert results[builder]["wheel"] == results[waiter]["wheel"] == wheel.name
    record = json.loads(wheel.with_name(wheel.name + ".build.json").read_text())
    assert record["outcome"] == "success"
    assert record["wheel"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert list(read_catalog(project.wheelhouse)) == [wheel.name]
    # One build, one log and one record of it, whole: from the first command to the last.
    logs = sorted((project.root / "builds" / "tinyyaml").iterdir())
    assert [p.suffix for p in logs] == [".json", ".log"]
    log = Path(record["log"]).read_text()
    assert log.count("+ ") >= 4 and "auditwheel" in log and "-m pip install" in log
    assert json.loads(logs[0].read_text())["outcome"] == "success"
    # Each build's scratch directory is its own and is gone afterwards.
    assert list((project.cache / "work").iterdir()) == []


def test_force_rebuilds_but_keeps_the_published_wheel(built: Project, tmp_path: Path) -> None:
    project = clone(built, tmp_path)
    before = project.wheelhouse_snapshot()
    [wheel] = project.wheelhouse.glob("*.whl")
    result = project.factory("build", "--native", "--force", "tinyyaml")
    assert result.returncode == 0, result.stderr
    assert "tinyyaml 1.0: building (forced (--force))" in result.stderr
    assert f"kept the existing {wheel.name}: published files never get new bytes" in (result.stderr)
    # The wheel, its metadata, record and catalog line are all as they were.
    assert project.wheelhouse_snapshot() == before
    records = sorted((project.root / "builds" / "tinyyaml").glob("*.json"))
    assert [json.loads(r.read_text())["outcome"] for r in records] == ["success"]


def test_the_callers_pip_and_compiler_settings_do_not_reach_the_build(
    built: Project, tmp_path: Path
) -> None:
    project = clone(built, tmp_path)
    poisoned = {
        "PIP_CONSTRAINT": "/nonexistent/constraints.txt",
        "PIP_INDEX_URL": "file:///nonexistent/simple",
        "PIP_NO_INDEX": "1",
        "PIP_REQUIRE_VIRTUALENV": "1",
        "CFLAGS": "-fno-such-compiler-flag",
    }
    result = project.factory("build", "--native", "--force", "tinyyaml", extra_env=poisoned)
    assert result.returncode == 0, result.stderr
    assert "tinyyaml 1.0: building (forced (--force))" in result.stderr
    [log] = (project.root / "builds" / "tinyyaml").glob("*.log")
    assert "nonexistent" not in log.read_text()
    assert "no-such-compiler-flag" not in log.read_text()
