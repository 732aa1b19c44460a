"""Debian package facts read from dpkg's and apt's files: no subprocess, no emulation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path


def package_name(requirement: str) -> str:
    """apt accepts pkg:arch, pkg=version and pkg/release; the lists know only pkg."""
    for separator in ":=/":
        requirement = requirement.split(separator, 1)[0]
    return requirement.strip()


def installed_packages(status_text: str) -> set[str]:
    """Names installed per a dpkg status file, virtual names they provide included."""
    installed: set[str] = set()
    for stanza in status_text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            name, colon, value = line.partition(":")
            if colon and not line[0].isspace():  # indented lines continue a field
                fields[name] = value
        if fields.get("Status", "").strip().endswith(" installed"):
            installed.add(fields.get("Package", "").strip())
            installed |= _provides(fields.get("Provides", ""))
    return installed - {""}


def installed_versions(status_text: str) -> dict[str, str]:
    """Package name -> version of what a dpkg status file says is installed."""
    versions: dict[str, str] = {}
    for stanza in status_text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            name, colon, value = line.partition(":")
            if colon and not line[0].isspace():
                fields[name] = value.strip()
        if fields.get("Status", "").endswith(" installed") and fields.get("Package"):
            versions[fields["Package"]] = fields.get("Version", "")
    return versions


def read_status(root: Path = Path("/")) -> str:
    """dpkg's status file under ``root``; empty when there is none."""
    try:
        return (root / "var/lib/dpkg/status").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def available_packages(lines: Iterable[str]) -> set[str]:
    """Names an apt Packages list offers, virtual ones (Provides) included."""
    names: set[str] = set()
    for line in lines:
        if line.startswith("Package:"):
            names.add(line[8:].strip())
        elif line.startswith("Provides:"):
            names |= _provides(line[9:])
    return names


def _provides(value: str) -> set[str]:
    return {item.split("(")[0].strip() for item in value.split(",")} - {""}


def missing_packages(packages: Sequence[str], root: Path = Path("/")) -> list[str]:
    """Which of ``packages`` dpkg under ``root`` (the host, or a userland) lacks."""
    installed = installed_packages(read_status(root))
    return [p for p in packages if package_name(p) not in installed]
