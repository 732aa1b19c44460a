"""`factory coverage`: the classification (pure), then real uv against a PyPI-shaped index
and one of ours written by `factory index`, both served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.utils import NormalizedName

from factory.coverage import LockedDistribution, classify, read_lock

from .helpers import make_tar, serve_directory
from .index_helpers import add_wheel, make_wheel

RISCV64 = "cp313-cp313-manylinux_2_31_riscv64"
SHA = "a" * 64


def locked(name: str, *wheels: str, sdist: bool = True) -> LockedDistribution:
    return LockedDistribution(NormalizedName(name), "1.0", wheels, sdist)


def test_each_kind_of_distribution_is_classified() -> None:
    ours = "http://ours.example/simple/"
    found = classify(
        [
            locked("pure", "https://files.example/pure-1.0-py3-none-any.whl"),
            locked("upstream", f"https://files.example/upstream-1.0-{RISCV64}.whl"),
            locked("mine", f"http://ours.example/files/mine-1.0-1-{RISCV64}.whl"),
            locked("planned"),
            locked("missing"),
            locked("nothing", sdist=False),
        ],
        ours,
        {NormalizedName("planned"): Path("recipes/planned.yaml")},
    )
    assert [(c.name, c.status, c.evidence) for c in found] == [
        ("mine", "our-index", f"mine-1.0-1-{RISCV64}.whl"),
        ("missing", "no-recipe", "sdist only"),
        ("nothing", "no-recipe", "no files"),
        ("planned", "has-recipe", "recipes/planned.yaml"),
        ("pure", "pure-python", "pure-1.0-py3-none-any.whl"),
        ("upstream", "pypi-riscv64", f"upstream-1.0-{RISCV64}.whl"),
    ]


def test_a_lock_file_that_is_not_one_is_an_error() -> None:
    with pytest.raises(Exception, match="uv's lock file: not a lock file"):
        read_lock("packages = 5\n", "uv's lock file")


# --- real uv against local indexes ------------------------------------------------


def make_sdist(directory: Path, name: str, version: str) -> Path:
    """An sdist with static core metadata (PKG-INFO 2.2), which resolvers read as is."""
    base = f"{name}-{version}"
    pkg_info = f"Metadata-Version: 2.2\nName: {name}\nVersion: {version}\n\n"
    pyproject = f'[project]\nname = "{name}"\nversion = "{version}"\n'
    path = directory / f"{base}.tar.gz"
    make_tar(
        path, {f"{base}/PKG-INFO": pkg_info.encode(), f"{base}/pyproject.toml": pyproject.encode()}
    )
    return path


def write_simple_index(root: Path, files: list[Path]) -> None:
    """A PEP 503 index of ``files`` (served from root/files/), as a static PyPI would be."""
    projects: dict[str, list[Path]] = {}
    for path in files:
        projects.setdefault(path.name.split("-")[0].replace("_", "-"), []).append(path)
    for project, paths in projects.items():
        page = root / "simple" / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        links = "".join(
            f'<a href="../../files/{p.name}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">'
            f"{p.name}</a>\n"
            for p in paths
        )
        page.write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "site").mkdir()
    with serve_directory(tmp_path / "site") as url:
        yield url


@pytest.mark.integration
def test_coverage_of_a_closure_against_pypi_and_our_index(tmp_path: Path, served: str) -> None:
    site, project = tmp_path / "site", tmp_path / "project"
    pypi_files = site / "pypi" / "files"
    requires = ("speedy", "ourpkg", "recipepkg", "orphan")
    wheels = [
        make_wheel(pypi_files, "app", "1.0", requires=requires),
        make_wheel(pypi_files, "speedy", "1.0", tag=RISCV64),
    ]
    sdists = [make_sdist(pypi_files, name, "1.0") for name in ("ourpkg", "recipepkg", "orphan")]
    write_simple_index(site / "pypi", [*wheels, *sdists])
    # Our index: a riscv64 ourpkg, as `factory build` and `factory index` leave it.
    add_wheel(project / "wheelhouse", tmp_path / "built", "ourpkg", "1.0", tag=RISCV64)
    (project / "recipes").mkdir(parents=True)
    (project / "recipes" / "recipepkg.yaml").write_text(
        f'name: recipepkg\nversion: "1.0"\nsource: {{pypi: {{sha256: {SHA}}}}}\n'
    )

    def factory(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "factory", *args],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
        )

    indexed = factory("index", "--out", str(site / "ours"))
    assert indexed.returncode == 0, indexed.stderr
    result = factory(
        "coverage", "app", "--json", "--index-url", f"{served}/ours/simple/",
        "--pypi-url", f"{served}/pypi/simple/",
    )  # fmt: skip
    assert result.returncode == 7, result.stderr
    found = {row["name"]: (row["status"], row["evidence"]) for row in json.loads(result.stdout)}
    assert found == {
        "app": ("pure-python", "app-1.0-py3-none-any.whl"),
        "speedy": ("pypi-riscv64", f"speedy-1.0-{RISCV64}.whl"),
        "ourpkg": ("our-index", f"ourpkg-1.0-{RISCV64}.whl"),
        "recipepkg": ("has-recipe", str(Path("recipes") / "recipepkg.yaml")),
        "orphan": ("no-recipe", "sdist only"),
    }
    assert "ERROR: 1 of 5 distributions have neither a riscv64 wheel nor a recipe: orphan" in (
        result.stderr
    )

    unknown = factory("coverage", "no-such-project", "--pypi-url", f"{served}/pypi/simple/")
    assert unknown.returncode == 2, unknown.stderr
    assert unknown.stderr.startswith("ERROR: the requirements could not be resolved for riscv64")
    assert "no-such-project" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.mark.network
@pytest.mark.integration
def test_coverage_against_the_real_pypi() -> None:
    """pyyaml has our recipe and no riscv64 wheel upstream; jinja2 is pure Python; its
    markupsafe ships riscv64 wheels on PyPI (checked 2026-12)."""
    repo = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "factory", "coverage", "pyyaml", "jinja2", "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    found = {row["name"]: row["status"] for row in json.loads(result.stdout)}
    assert found == {
        "jinja2": "pure-python",
        "markupsafe": "pypi-riscv64",
        "pyyaml": "has-recipe",
    }
