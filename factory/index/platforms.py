"""What a wheel's platform tags and ISA mean to someone choosing a board's OS, in words.

A manylinux_2_X tag (PEP 600) says the wheel needs glibc 2.X or newer; people know
distribution releases, not glibc versions, so the page names the first release of
each that has it. The table holds each release's glibc (as released, from the
distributions' own package archives).
"""

from __future__ import annotations

import functools
import re

# Release -> its glibc minor version (2.X), oldest first.
GLIBC_BY_RELEASE: dict[str, tuple[tuple[str, int], ...]] = {
    "Debian": (("8", 19), ("9", 24), ("10", 28), ("11", 31), ("12", 36), ("13", 41)),
    "Ubuntu": (
        ("14.04", 19), ("16.04", 23), ("18.04", 27), ("20.04", 31), ("22.04", 35),
        ("24.04", 39), ("25.04", 41), ("25.10", 42),
    ),
}  # fmt: skip
BASELINE_ISA = "rv64gc"
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_")
_MUSLLINUX = re.compile(r"^musllinux_(\d+)_(\d+)_")
_LEGACY = {"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}  # PEP 513/571/599


def glibc_text(minor: int) -> str:
    """``31`` -> "glibc 2.31+: Debian 11+, Ubuntu 20.04+"."""
    first = [
        f"{name} {next(release for release, glibc in releases if glibc >= minor)}+"
        for name, releases in GLIBC_BY_RELEASE.items()
        if releases[-1][1] >= minor
    ]
    if not first:
        newest = " and ".join(f"{n} {r[-1][0]}" for n, r in GLIBC_BY_RELEASE.items())
        return f"glibc 2.{minor}+: newer than {newest}"
    return f"glibc 2.{minor}+: {', '.join(first)}"


@functools.lru_cache(maxsize=1024)
def libc_requirement(platform_tags: tuple[str, ...]) -> str:
    """What the C library must be for a wheel with these platform tags ("" for "any").

    A wheel with several tags (``manylinux_2_31_riscv64.manylinux_2_39_riscv64``)
    installs wherever one of them fits: the oldest one is what it needs."""
    glibc, musl, bare = [], [], False
    for tag in platform_tags:
        if match := _MANYLINUX.match(tag):
            glibc.append(int(match.group(2)))
        elif tag.split("_", 1)[0] in _LEGACY:
            glibc.append(_LEGACY[tag.split("_", 1)[0]])
        elif match := _MUSLLINUX.match(tag):
            musl.append((int(match.group(1)), int(match.group(2))))
        elif tag.startswith("linux_"):
            bare = True
    if glibc:
        return glibc_text(min(glibc))
    if musl:
        major, minor = min(musl)
        return f"musl libc {major}.{minor}+ (Alpine, Void musl...)"
    if bare:
        return "not repaired (linux_*): it may need libraries only the build machine had"
    return ""


@functools.lru_cache(maxsize=256)
def isa_text(isa: str) -> str:
    """A record's ISA (``rv64gc``, ``rv64gc_v_zvl128b``...) for people ("" when none)."""
    if not isa:
        return ""
    if isa == BASELINE_ISA:
        return "RISC-V rv64gc (RVA20U64: every riscv64 Linux board)"
    return f"RISC-V {isa}: more than rv64gc, only boards with these extensions"
