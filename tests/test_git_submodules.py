"""Git sources with submodules, and sources this machine cannot reach, with real git.

The repositories are local (file:// URLs and paths), as GitHub is for torch on a
machine that reaches it: a superproject with a submodule (by a relative URL) that has
a submodule of its own. The unreachable source is a port on 127.0.0.1 nobody listens on.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from factory.errors import SourceError
from factory.recipe import LoadedRecipe, load_recipes
from factory.source import prepare_tree

from .helpers import Project, git

pytestmark = pytest.mark.integration
ALLOW_FILE = ("-c", "protocol.file.allow=always")


def commit_file(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"{name}: {text.strip()}")
    return git(repo, "rev-parse", "HEAD")


def new_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    return path


def add_submodule(repo: Path, url: str, path: str) -> None:
    git(repo, *ALLOW_FILE, "submodule", "add", "-q", url, path)


def nested_repositories(root: Path) -> tuple[Path, str]:
    """repos/super pins lib (by the relative URL ../lib) at its first commit, and lib pins
    inner (../inner) at inner's first commit; both move on after being pinned. Returns
    the superproject and its pinned commit."""
    inner = new_repo(root / "inner")
    commit_file(inner, "inner.txt", "inner pinned\n")
    lib = new_repo(root / "lib")
    commit_file(lib, "lib.txt", "lib pinned\n")
    add_submodule(lib, "../inner", "vendor/inner")
    git(lib, "commit", "-q", "-m", "add inner")
    superproject = new_repo(root / "super")
    commit_file(superproject, "setup.py", "# the superproject\n")
    add_submodule(superproject, "../lib", "third_party/lib")
    git(superproject, "commit", "-q", "-m", "add lib")
    pinned = git(superproject, "rev-parse", "HEAD")
    # Newer commits upstream must not leak into a checkout of the pinned one.
    commit_file(inner, "inner.txt", "inner moved on\n")
    commit_file(lib, "lib.txt", "lib moved on\n")
    return superproject, pinned


def git_recipe(project: Project, url: str, commit: str, submodules: bool = True) -> LoadedRecipe:
    extra = "\n    submodules: true" if submodules else ""
    project.recipe(
        "demo",
        f'name: demo\nversion: "1.0"\nsource:\n  git:\n    url: "{url}"\n    commit: {commit}'
        f"{extra}\n",
    )
    return load_recipes(project.recipes, project.root / "patches")["demo"]  # type: ignore[index]


def prepare(loaded: LoadedRecipe, project: Project, scratch: str) -> Path:
    dest = project.root / scratch
    return prepare_tree(loaded, project.cache / "sources", dest, project.root / f"{scratch}.log")


def test_submodules_are_checked_out_recursively_at_their_pinned_commits(tmp_path: Path) -> None:
    superproject, pinned = nested_repositories(tmp_path / "repos")
    project = Project(tmp_path / "project", tmp_path / "cache")
    loaded = git_recipe(project, superproject.as_uri(), pinned)
    tree = prepare(loaded, project, "first")
    assert (tree / "third_party/lib/lib.txt").read_text() == "lib pinned\n"
    assert (tree / "third_party/lib/vendor/inner/inner.txt").read_text() == "inner pinned\n"
    # Every repository is mirrored: a second checkout needs none of the originals.
    shutil.rmtree(tmp_path / "repos")
    again = prepare(loaded, project, "second")
    assert (again / "third_party/lib/vendor/inner/inner.txt").read_text() == "inner pinned\n"


def test_without_submodules_true_the_submodule_stays_empty(tmp_path: Path) -> None:
    superproject, pinned = nested_repositories(tmp_path / "repos")
    project = Project(tmp_path / "project", tmp_path / "cache")
    tree = prepare(git_recipe(project, str(superproject), pinned, submodules=False), project, "s")
    assert (tree / "setup.py").is_file()
    assert list((tree / "third_party/lib").iterdir()) == []


def test_factory_check_passes_with_submodules(tmp_path: Path) -> None:
    superproject, pinned = nested_repositories(tmp_path / "repos")
    project = Project(tmp_path / "project", tmp_path / "cache")
    git_recipe(project, superproject.as_uri(), pinned)
    result = project.factory("check", "--all", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "demo: ok (0 patches apply)\n"


def test_a_submodule_commit_that_is_gone_is_a_source_error_naming_it(tmp_path: Path) -> None:
    superproject, pinned = nested_repositories(tmp_path / "repos")
    lib = tmp_path / "repos" / "lib"
    lib_pinned = git(superproject, "rev-parse", "HEAD:third_party/lib")
    # lib's history is rewritten: the commit the superproject pins no longer exists.
    git(lib, "checkout", "-q", "--orphan", "rewritten")
    git(lib, "commit", "-q", "-m", "history rewritten")
    git(lib, "branch", "-q", "-D", "main")
    git(lib, "reflog", "expire", "--expire=now", "--all")
    git(lib, "gc", "-q", "--prune=now")
    project = Project(tmp_path / "project", tmp_path / "cache")
    loaded = git_recipe(project, superproject.as_uri(), pinned)
    with pytest.raises(SourceError) as caught:
        prepare(loaded, project, "s")
    assert caught.value.message.endswith(
        f"commit {lib_pinned} does not exist in submodule third_party/lib of "
        f"{(tmp_path / 'repos' / 'lib').as_uri()}"
    )


def test_a_submodule_without_a_url_in_gitmodules_is_a_source_error(tmp_path: Path) -> None:
    superproject, _ = nested_repositories(tmp_path / "repos")
    git(superproject, "config", "--file", ".gitmodules", "--unset", "submodule.third_party/lib.url")
    git(superproject, "commit", "-q", "-am", "a .gitmodules without the URL")
    project = Project(tmp_path / "project", tmp_path / "cache")
    loaded = git_recipe(project, str(superproject), git(superproject, "rev-parse", "HEAD"))
    with pytest.raises(SourceError) as caught:
        prepare(loaded, project, "s")
    assert caught.value.message.endswith(
        "the pinned commit's .gitmodules gives no URL for its submodule at third_party/lib"
    )


# --- sources this machine cannot reach ---------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: nobody listens there


def test_check_warns_about_an_unreachable_git_source_and_passes(tmp_path: Path) -> None:
    project = Project(tmp_path / "project", tmp_path / "cache")
    url = f"http://127.0.0.1:{closed_port()}/torch.git"
    git_recipe(project, url, "ab" * 20)
    project.patch(
        "demo", "0001-fix.patch", "Why.\n\nUpstream-Status: Pending\n\n--- a/x\n+++ b/x\n"
    )
    recipe = project.recipes / "demo.yaml"
    recipe.write_text(recipe.read_text() + "patches: [0001-fix.patch]\n")
    result = project.factory("check", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("WARNING:")]
    assert warning.startswith(f"WARNING: demo: {recipe}: cannot clone {url}: not reachable")
    assert warning.endswith(
        "the recipe and its 1 patch header are valid, the source was not fetched "
        "and no patch was applied"
    )
    # A bad patch header is still an error: the recipe is validated before any fetch.
    project.patch("demo", "0001-fix.patch", "No status.\n\n--- a/x\n+++ b/x\n")
    assert project.factory("check", timeout=120).returncode == 2


def test_check_warns_about_an_unreachable_package_index(tmp_path: Path) -> None:
    project = Project(tmp_path / "project", tmp_path / "cache")
    project.recipe(
        "demo", f'name: demo\nversion: "1.0"\nsource:\n  pypi: {{sha256: {"ab" * 32}}}\n'
    )
    index = f"http://127.0.0.1:{closed_port()}"
    result = project.factory("check", "--json", extra_env={"FACTORY_PYPI_URL": index})
    assert result.returncode == 0, result.stderr
    [checked] = json.loads(result.stdout)
    assert checked["ok"] is True and checked["error"] is None
    assert f"download of {index}/simple/demo/ failed: not reachable" in checked["warning"]


def test_build_still_fails_on_an_unreachable_source(tmp_path: Path) -> None:
    project = Project(tmp_path / "project", tmp_path / "cache")
    git_recipe(project, f"http://127.0.0.1:{closed_port()}/torch.git", "ab" * 20)
    result = project.factory("build", "--native", "demo", timeout=120)
    assert result.returncode == 3, result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert "not reachable from this machine" in error
    assert project.wheelhouse_snapshot() == {}
