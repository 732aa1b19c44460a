"""Build requirements the wheelhouse already holds come from it, not from PyPI.

Build-time dependencies come from our own index first (DESIGN.md). A recipe's
``build.requires`` are built before it and pinned (``build.plan``); this covers the
requirements a recipe does not name. When the source's static ``[build-system]
requires`` lists a project the wheelhouse has a wheel of for this target, and that
version satisfies the requirement, the build is pinned to it: otherwise the installer
takes PyPI's newest release, which for Cython on riscv64 is the pure-Python wheel
(slower under emulation than our compiled one), or an sdist it would compile.
A requirement our wheels do not satisfy is left to the installer, as before.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from .records import BuildRecord, records_by_project


def available_versions(
    records: Iterable[BuildRecord], arch: str, python: str
) -> dict[str, list[Version]]:
    """The versions the wheelhouse holds of each project, for this architecture and Python."""
    found: dict[str, list[Version]] = {}
    for name, built in records_by_project(records, arch, python).items():
        for record in built:
            try:
                found.setdefault(name, []).append(Version(record.version))
            except InvalidVersion:
                continue
    return found


def marker_environment(arch: str, python_full: str) -> dict[str, str]:
    """PEP 508 marker values of the build's interpreter (Linux, CPython)."""
    return {
        "implementation_name": "cpython",
        "implementation_version": python_full,
        "os_name": "posix",
        "platform_machine": arch,
        "platform_python_implementation": "CPython",
        "platform_system": "Linux",
        "python_full_version": python_full,
        "python_version": ".".join(python_full.split(".")[:2]),
        "sys_platform": "linux",
    }


def static_build_requires(tree: Path) -> list[str] | None:
    """The ``[build-system] requires`` of the tree's pyproject.toml; None when it has none
    (or it cannot be read: the build frontend then says why, or falls back to setuptools)."""
    try:
        data = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
        requires = data["build-system"]["requires"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return None
    if not isinstance(requires, list):
        return None
    return [str(line) for line in requires]


def build_requirements(
    requires: Iterable[str], environment: dict[str, str]
) -> dict[NormalizedName, list[Requirement]]:
    """The requirements that apply to this interpreter, by normalized project name (a
    project may have several lines: each must allow a pinned version)."""
    applicable: dict[NormalizedName, list[Requirement]] = {}
    for text in requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue  # the build frontend reports it
        if requirement.marker is None or requirement.marker.evaluate(environment):
            applicable.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    return applicable


def wheelhouse_pins(
    requirements: Mapping[NormalizedName, list[Requirement]],
    available: Mapping[str, Sequence[Version]],  # by normalized name
) -> list[str]:
    """``name==version`` for each requirement the wheelhouse satisfies (the highest such
    version)."""
    pins = []
    for name, lines in sorted(requirements.items()):
        ours = [
            version
            for version in available.get(name, ())
            if all(line.specifier.contains(version, prereleases=True) for line in lines)
        ]
        if ours:
            pins.append(f"{name}=={max(ours)}")
    return pins
