"""Which static build requirements are pinned to the wheelhouse's versions."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from factory.buildreqs import (
    available_versions,
    build_requirements,
    marker_environment,
    static_build_requires,
    wheelhouse_pins,
)
from factory.records import BuildRecord, FingerprintInputs, Target

RISCV64_313 = marker_environment("riscv64", "3.13.5")


def pins(tree: Path, available: dict[str, list[Version]]) -> list[str]:
    """What a riscv64 Python 3.13 build of ``tree`` pins to the wheelhouse's versions."""
    requires = static_build_requires(tree) or []
    return wheelhouse_pins(build_requirements(requires, RISCV64_313), available)


def tree_requiring(tmp_path: Path, *requires: str) -> Path:
    lines = ", ".join(f'"{line}"' for line in requires)
    (tmp_path / "pyproject.toml").write_text(f"[build-system]\nrequires = [{lines}]\n")
    return tmp_path


def record(project: str, version: str, arch: str = "riscv64", python: str = "3.13") -> BuildRecord:
    target = Target(arch=arch, python=python, policy="auto")
    inputs = FingerprintInputs(recipe={}, patches={}, source="x", target=target, toolchain={})
    return BuildRecord(
        project=project, version=version, build_number=0, fingerprint="f", inputs=inputs,
        builder="b", started="2026-01-01T00:00:00+00:00", log="",
    )  # fmt: skip


def test_pyyaml_takes_our_cython_under_its_python_313_marker(tmp_path: Path) -> None:
    tree = tree_requiring(
        tmp_path,
        "setuptools",
        "Cython; python_version < '3.13'",
        "Cython>=3.0; python_version >= '3.13'",
    )
    available = {"cython": [Version("3.3.1"), Version("3.3.2")]}
    assert pins(tree, available) == ["cython==3.3.2"]


def test_a_version_the_requirement_excludes_is_not_pinned(tmp_path: Path) -> None:
    tree = tree_requiring(tmp_path, "Cython>=3.4", "numpy<2.3")
    available = {"cython": [Version("3.3.2")], "numpy": [Version("2.2.6"), Version("2.3.1")]}
    # Cython: ours is too old, PyPI's is taken; numpy: the newest of ours that fits.
    assert pins(tree, available) == ["numpy==2.2.6"]


def test_every_line_that_applies_must_allow_the_version(tmp_path: Path) -> None:
    tree = tree_requiring(tmp_path, "Cython>=3", "Cython<3.3")
    available = {"cython": [Version("3.2.4"), Version("3.3.2")]}
    assert pins(tree, available) == ["cython==3.2.4"]


def test_a_marker_for_another_machine_or_python_pins_nothing(tmp_path: Path) -> None:
    tree = tree_requiring(
        tmp_path, "Cython; platform_machine == 'x86_64'", "numpy; python_version < '3.12'"
    )
    available = {"cython": [Version("3.3.2")], "numpy": [Version("2.3.1")]}
    assert pins(tree, available) == []


def test_a_tree_without_a_readable_build_system_pins_nothing(tmp_path: Path) -> None:
    available = {"cython": [Version("3.3.2")]}
    assert pins(tmp_path, available) == []  # setup.py only
    (tmp_path / "pyproject.toml").write_text("[build-system\nrequires = ['Cython']\n")
    assert pins(tmp_path, available) == []  # not TOML
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert pins(tmp_path, available) == []


def test_only_wheels_for_the_builds_target_are_available() -> None:
    records = [
        record("Cython", "3.3.2"),
        record("cython", "3.3.1", python="3.12"),
        record("numpy", "2.3.1", arch="x86_64"),
    ]
    assert available_versions(records, "riscv64", "3.13") == {"cython": [Version("3.3.2")]}
