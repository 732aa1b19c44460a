"""Sources without the network or git: archives, the cache, index pages, limits. Pure.

Local archives are fetched, unpacked and checked by the real code path; nothing here
starts a process (a recipe without patches runs no `git apply`).
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from packaging.utils import NormalizedName

from factory.check import CheckResult, check_failure
from factory.errors import BuildFailed, ConfigError, EnvironmentProblem, SourceError
from factory.gitsource import submodule_url
from factory.recipe import LoadedRecipe, load_recipes
from factory.source import (
    PEP691_JSON,
    FetchBudget,
    _index_files,
    _unpack,
    prepare_tree,
    source_id,
)

from .helpers import make_tar

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def archive_recipe(root: Path, archive: Path, sha256: str, extra: str = "") -> LoadedRecipe:
    recipes = root / "recipes"
    recipes.mkdir(parents=True, exist_ok=True)
    (recipes / "demo.yaml").write_text(
        f'name: demo\nversion: "1.0"\nsource:\n  archive: {{url: {archive}, sha256: {sha256}}}\n'
        + extra,
        encoding="utf-8",
    )
    return load_recipes(recipes, root / "patches")[NormalizedName("demo")]


# --- unpacking -------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["../evil.py", "demo-1.0/../../evil.py", "/etc/evil.py"])
def test_zip_with_a_path_outside_is_refused(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "demo-1.0.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("demo-1.0/setup.py", "")
        zipped.writestr(member, "print('owned')")
    with pytest.raises(SourceError) as caught:
        _unpack(archive, tmp_path / "out")
    assert caught.value.message == f"demo-1.0.zip contains an unsafe path {member!r}"
    assert caught.value.hint
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "out" / "demo-1.0").exists()


def test_tar_slip_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "demo-1.0.tar.gz"
    make_tar(archive, {"demo-1.0/setup.py": b"", "demo-1.0/../../evil.py": b"owned"})
    with pytest.raises(SourceError, match=r"cannot unpack demo-1\.0\.tar\.gz"):
        _unpack(archive, tmp_path / "out")
    assert not (tmp_path / "evil.py").exists()


def test_zip_unpacks_to_its_top_directory(tmp_path: Path) -> None:
    archive = tmp_path / "demo-1.0.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("demo-1.0/setup.py", "x")
    assert _unpack(archive, tmp_path / "out") == tmp_path / "out" / "demo-1.0"


# --- the cache -------------------------------------------------------------------------


def test_corrupt_cache_entry_is_fetched_again(tmp_path: Path) -> None:
    archive = tmp_path / "demo-1.0.tar.gz"
    sha256 = make_tar(archive, {"demo-1.0/setup.py": b"real"})
    loaded = archive_recipe(tmp_path, archive, sha256)
    cache = tmp_path / "cache"
    cached = cache / "sha256" / sha256 / "demo-1.0.tar.gz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the pinned bytes")  # bit rot, or a file copied in by hand

    tree = prepare_tree(loaded, cache, tmp_path / "work", tmp_path / "log")

    assert (tree / "setup.py").read_bytes() == b"real"
    assert cached.read_bytes() == archive.read_bytes()


def test_cached_entry_is_used_without_fetching(tmp_path: Path) -> None:
    archive = tmp_path / "demo-1.0.tar.gz"
    sha256 = make_tar(archive, {"demo-1.0/setup.py": b"real"})
    loaded = archive_recipe(tmp_path, archive, sha256)
    cache = tmp_path / "cache"
    prepare_tree(loaded, cache, tmp_path / "work1", tmp_path / "log")
    archive.unlink()  # the origin is gone: only the cache can answer
    tree = prepare_tree(loaded, cache, tmp_path / "work2", tmp_path / "log")
    assert (tree / "setup.py").read_bytes() == b"real"


def test_sha256_mismatch_names_the_recipe(tmp_path: Path) -> None:
    archive = tmp_path / "demo-1.0.tar.gz"
    make_tar(archive, {"demo-1.0/setup.py": b"real"})
    loaded = archive_recipe(tmp_path, archive, "ab" * 32)
    with pytest.raises(SourceError) as caught:
        prepare_tree(loaded, tmp_path / "cache", tmp_path / "work", tmp_path / "log")
    assert caught.value.message.startswith(f"{loaded.path}: sha256 mismatch for {archive}")
    assert caught.value.exit_code == 3
    assert not list((tmp_path / "cache").rglob("*.tar.gz"))
    assert not list((tmp_path / "cache").rglob(".part-*"))


# --- build.subdirectory ---------------------------------------------------------------


def test_subdirectory_through_a_link_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "demo-1.0.tar.gz"
    # 'up' stays inside the unpacked directory tar allows, but outside the project.
    sha256 = make_tar(archive, {"demo-1.0/setup.py": b""}, links={"demo-1.0/up": ".."})
    loaded = archive_recipe(tmp_path, archive, sha256, "build:\n  subdirectory: up\n")
    with pytest.raises(SourceError) as caught:
        prepare_tree(loaded, tmp_path / "cache", tmp_path / "work", tmp_path / "log")
    assert caught.value.message == (
        f"{loaded.path}: build.subdirectory 'up' leads outside the source tree "
        f"(a symbolic link to {(tmp_path / 'work' / 'src').resolve()})"
    )
    assert caught.value.hint == (
        f"point build.subdirectory in {loaded.path} at a real directory in the source"
    )


def test_subdirectory_inside_is_resolved(tmp_path: Path) -> None:
    archive = tmp_path / "demo-1.0.tar.gz"
    sha256 = make_tar(
        archive, {"demo-1.0/python/setup.py": b""}, links={"demo-1.0/bindings": "python"}
    )
    loaded = archive_recipe(tmp_path, archive, sha256, "build:\n  subdirectory: bindings\n")
    tree = prepare_tree(loaded, tmp_path / "cache", tmp_path / "work", tmp_path / "log")
    assert tree == (tmp_path / "work" / "src" / "demo-1.0" / "python").resolve()


def test_missing_subdirectory(tmp_path: Path) -> None:
    archive = tmp_path / "demo-1.0.tar.gz"
    sha256 = make_tar(archive, {"demo-1.0/setup.py": b""})
    loaded = archive_recipe(tmp_path, archive, sha256, "build:\n  subdirectory: nope\n")
    with pytest.raises(SourceError, match=r"build\.subdirectory 'nope' does not exist"):
        prepare_tree(loaded, tmp_path / "cache", tmp_path / "work", tmp_path / "log")


# --- package index answers ---------------------------------------------------------------

URL = "https://index.example/simple/demo/"


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        (
            "text/html",
            b"<html></html>",
            f"the package index answered {URL} with text/html, not PEP 691 JSON",
        ),
        ("", b"{}", f"the package index answered {URL} with no content type, not PEP 691 JSON"),
        (PEP691_JSON, b"{not json", f"the package index's page {URL} is not JSON"),
        (PEP691_JSON, b'{"name": "demo"}', f"the package index's page {URL} has no 'files' list"),
        (PEP691_JSON, b"[1, 2]", f"the package index's page {URL} has no 'files' list"),
        (
            PEP691_JSON,
            b'{"files": [{"filename": "demo-1.0.tar.gz", "url": "x"}, {"filename": "x"}]}',
            f"the package index's page {URL}: file 1 has no 'filename' and 'url'",
        ),
    ],
)
def test_index_answers_that_are_not_a_project_page(
    content_type: str, body: bytes, message: str
) -> None:
    with pytest.raises(SourceError) as caught:
        _index_files(URL, content_type, body)
    assert caught.value.message.startswith(message)
    assert "FACTORY_PYPI_URL" in caught.value.hint


def test_index_page_files() -> None:
    body = b'{"files": [{"filename": "demo-1.0.tar.gz", "url": "../../f/demo-1.0.tar.gz"}]}'
    assert _index_files(URL, f"{PEP691_JSON}; charset=utf-8", body) == [
        ("demo-1.0.tar.gz", "../../f/demo-1.0.tar.gz")
    ]


# --- limits ----------------------------------------------------------------------------


def test_download_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORY_DOWNLOAD_MAX_BYTES", "1000")
    monkeypatch.setenv("FACTORY_DOWNLOAD_DEADLINE", "5")
    budget = FetchBudget.for_step(600)
    assert budget.max_bytes == 1000
    deadline, name = budget.download_deadline()
    assert name == "FACTORY_DOWNLOAD_DEADLINE (5 s)"
    assert deadline <= time.monotonic() + 5


def test_build_timeout_bounds_the_download(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACTORY_DOWNLOAD_DEADLINE", raising=False)
    budget = FetchBudget.for_step(20)
    assert budget.download_deadline()[1] == "the recipe's build.timeout (20 s)"
    assert budget.step_remaining() <= 20


@pytest.mark.parametrize("value", ["lots", "-1", "0", "1.5"])
def test_bad_limit_in_the_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FACTORY_DOWNLOAD_MAX_BYTES", value)
    with pytest.raises(ConfigError) as caught:
        FetchBudget.for_step(600)
    assert caught.value.message == (
        f"FACTORY_DOWNLOAD_MAX_BYTES must be a positive whole number, got {value!r}"
    )


# --- the source's identity ----------------------------------------------------------------


def test_source_id_of_each_kind(tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    sha = "ab" * 32
    (recipes / "a.yaml").write_text(f'name: a\nversion: "1"\nsource: {{pypi: {{sha256: {sha}}}}}')
    (recipes / "b.yaml").write_text(
        f'name: b\nversion: "1"\nsource: {{git: {{url: x, commit: {COMMIT}}}}}'
    )
    (recipes / "c.yaml").write_text(
        f'name: c\nversion: "1"\nsource: {{archive: {{url: x, sha256: {sha}}}}}'
    )
    loaded = load_recipes(recipes, tmp_path / "patches")
    assert {name: source_id(item) for name, item in loaded.items()} == {
        "a": f"sha256:{sha}",
        "b": f"git:{COMMIT}",
        "c": f"sha256:{sha}",
    }


# --- `factory check`'s exit code ----------------------------------------------------------


def failed(project: str, code: int, hint: str = "a hint") -> CheckResult:
    return CheckResult(project, False, f"{project} broke", "log", code, hint)


def test_check_with_no_failure() -> None:
    assert check_failure([CheckResult("a", True, None, "log")]) is None


def test_one_source_problem_is_raised_as_build_raises_it() -> None:
    error = check_failure([CheckResult("a", True, None, "log"), failed("b", 3, "refresh it")])
    assert isinstance(error, SourceError)
    assert (error.message, error.hint, error.exit_code) == ("b broke", "refresh it", 3)


def test_several_problems_exit_with_the_most_severe() -> None:
    error = check_failure([failed("a", 3), failed("b", 2), failed("c", 3)])
    assert isinstance(error, SourceError)
    assert error.message == "3 of 3 recipes failed the check"
    assert error.details == (
        "a: a broke",
        "  hint: a hint",
        "b: b broke",
        "  hint: a hint",
        "c: c broke",
        "  hint: a hint",
    )
    assert isinstance(check_failure([failed("a", 3), failed("b", 5)]), EnvironmentProblem)
    assert isinstance(check_failure([failed("a", 4)]), BuildFailed)


@pytest.mark.parametrize(
    ("superproject", "url", "resolved"),
    [
        ("https://github.com/pytorch/pytorch.git", "../cpuinfo.git",
         "https://github.com/pytorch/cpuinfo.git"),
        ("https://github.com/pytorch/pytorch", "./sub", "https://github.com/pytorch/pytorch/sub"),
        ("https://example.org/a/b/", "../../c", "https://example.org/c"),
        ("git@github.com:google/benchmark.git", "../googletest.git",
         "git@github.com:google/googletest.git"),
        ("/srv/repos/super", "../lib", "/srv/repos/lib"),
        ("file:///srv/repos/super", "../lib", "file:///srv/repos/lib"),
        ("https://github.com/pytorch/pytorch.git", "https://gitlab.com/x/y.git",
         "https://gitlab.com/x/y.git"),
    ],
)  # fmt: skip
def test_relative_submodule_urls_resolve_as_git_resolves_them(
    superproject: str, url: str, resolved: str
) -> None:
    assert submodule_url(superproject, url) == resolved
