"""Debian package facts read from dpkg's status file: no subprocess, no emulation."""

from __future__ import annotations

from pathlib import Path


def installed_packages(root: Path = Path("/")) -> set[str]:
    """Names of packages dpkg considers installed under ``root``."""
    status_file = root / "var/lib/dpkg/status"
    installed: set[str] = set()
    try:
        text = status_file.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return installed
    for stanza in text.split("\n\n"):
        fields = dict(
            line.split(":", 1) for line in stanza.splitlines() if ":" in line and line[0] != " "
        )
        if fields.get("Status", "").strip().endswith(" installed"):
            name = fields.get("Package", "").strip()
            if name:
                installed.add(name)
    return installed


def missing_packages(packages: list[str] | tuple[str, ...], root: Path = Path("/")) -> list[str]:
    installed = installed_packages(root)
    # Multi-arch packages may be recorded as name:arch in some dpkg versions.
    return [p for p in packages if p not in installed and p.split(":")[0] not in installed]
