"""The RISC-V ISA baseline check: no wheel may need more of the CPU than its recipe allows.

A compiler flag such as ``-march=native`` or ``-march=rv64gcv`` (llama.cpp's
``GGML_NATIVE=ON`` does it) builds objects that need the vector extension: they crash
with SIGILL on every board without it, long after pip installed them. The linker
records what every object needs in its ``.riscv.attributes`` section
(``Tag_RISCV_arch``, RISC-V ELF psABI, "Attributes"), so the check reads that from
each ELF file of the repaired wheel before the wheel is accepted.

The default baseline is rv64gc, the RVA20U64 profile every riscv64 Linux board runs:
i, m, a, f, d, c, zicsr, zifencei. GCC 14 and binutils 2.44 also spell out what these
imply (zmmul by m; zaamo and zalrsc by a; zca, zcd by c with d), and those are part of
the baseline too.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildFailed, IsaBeyondBaseline

DEFAULT_BASELINE = "rv64gc"
ELF_MAGIC = b"\x7fELF"
EM_RISCV = 243

# What a base letter stands for, and what the toolchain writes out for it.
# Order matters: an expansion may name a letter expanded further down.
_EXPANSIONS = {
    "g": ("i", "m", "a", "f", "d", "zicsr", "zifencei"),
    "m": ("zmmul",),
    "a": ("zaamo", "zalrsc"),
    "d": ("f",),
    "f": ("zicsr",),
    "c": ("zca",),
    # The vector extension and the embedded subsets and minimum lengths it includes.
    "v": ("zve64d", "zvl128b"),
    "zve64d": ("zve64f",),
    "zve64f": ("zve64x", "zve32f"),
    "zve64x": ("zve32x", "zvl64b"),
    "zve32f": ("zve32x",),
    "zve32x": ("zvl32b",),
    "zvl128b": ("zvl64b",),
    "zvl64b": ("zvl32b",),
}
_VERSION = re.compile(r"\d+(p\d+)?$")
_LETTER = re.compile(r"([a-z])(\d+(?:p\d+)?)?")
_HINTS = {
    "v": "vector code: look for -march=...v, -march=native or a NATIVE/RVV build option "
    "(llama.cpp: GGML_NATIVE=OFF, GGML_RVV=OFF)",
    "zb": "bit-manipulation (RVA22) code: look for -march=rv64gc_zba_zbb... or -march=native",
}


@dataclass(frozen=True)
class Arch:
    """An ISA string taken apart: ``rv64`` and the set of extension names (versions dropped)."""

    xlen: int
    extensions: frozenset[str]

    def beyond(self, baseline: Arch) -> list[str]:
        return sorted(self.extensions - baseline.extensions)


def parse_arch(text: str) -> Arch:
    """``rv64gc``, ``rv64imafdc_zicsr`` or the toolchain's
    ``rv64i2p1_m2p0_..._zicsr2p0`` as an Arch; ValueError when it is none of them."""
    text = text.strip().lower()
    match = re.fullmatch(r"rv(32|64)([a-z0-9_]+)", text)
    if not match:
        raise ValueError(f"{text!r} is not a RISC-V ISA string (e.g. rv64gc)")
    xlen, rest = int(match.group(1)), match.group(2)
    first, *others = rest.split("_")
    extensions: set[str] = set()
    # The first part holds single-letter extensions, each with an optional version.
    position = 0
    while position < len(first):
        letter = _LETTER.match(first, position)
        if letter is None:
            raise ValueError(f"{text!r} is not a RISC-V ISA string (e.g. rv64gc)")
        extensions.add(letter.group(1))
        position = letter.end()
    for part in others:
        name = _VERSION.sub("", part) if part[:1] in ("z", "s", "x") else part
        if not name:
            raise ValueError(f"{text!r} has an empty extension")
        if len(name) == 1 or name[0] in "zsx":
            extensions.add(name)
        else:  # several single letters after an underscore: "_mafd"
            extensions.update(parse_arch(f"rv{xlen}{part}").extensions)
    return Arch(xlen, frozenset(_implied(extensions)))


def _implied(extensions: set[str]) -> set[str]:
    found = set(extensions)
    for name, implied in _EXPANSIONS.items():
        if name in found:
            found.update(implied)
    if "c" in found and "d" in found:
        found.add("zcd")  # c with d covers the compressed double-precision loads and stores
    found.discard("g")
    return found


def elf_arch(data: bytes) -> str | None:
    """``Tag_RISCV_arch`` of a riscv64 ELF file's bytes; None when it has no attributes
    (or is not a RISC-V ELF file)."""
    from elftools.common.exceptions import ELFError
    from elftools.construct import ConstructError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import RISCVAttributesSection

    try:
        elf = ELFFile(io.BytesIO(data))
        if elf["e_machine"] != "EM_RISCV":
            return None
        section = elf.get_section_by_name(".riscv.attributes")
        if not isinstance(section, RISCVAttributesSection):
            return None
        for subsection in section.iter_subsections():
            for subsubsection in subsection.iter_subsubsections():
                for attribute in subsubsection.iter_attributes():
                    if attribute.tag == "TAG_ARCH":
                        return str(attribute.value)
    except (ELFError, ConstructError, ValueError, KeyError) as error:
        raise ValueError(f"not a readable ELF file ({error})") from None
    return None


@dataclass(frozen=True)
class WheelIsa:
    """What a wheel's ELF files need: each file's ISA string, and their union."""

    files: dict[str, str]  # member path -> Tag_RISCV_arch ("" when it has none)
    needs: Arch | None  # None: no RISC-V ELF file (a pure-Python wheel)

    @property
    def summary(self) -> str:
        """The union, as a short ISA string for records and pages ("" for pure Python)."""
        if self.needs is None:
            return ""
        return describe(self.needs)


def describe(arch: Arch) -> str:
    """An Arch as ``rv64gc`` plus whatever it needs beyond that."""
    baseline = parse_arch(DEFAULT_BASELINE)
    if baseline.extensions <= arch.extensions and arch.xlen == baseline.xlen:
        extra = sorted(arch.extensions - baseline.extensions)
        return "_".join([f"rv{arch.xlen}gc", *extra])
    return "_".join([f"rv{arch.xlen}", *sorted(arch.extensions)])


def inspect_wheel(wheel: Path) -> WheelIsa:
    """Every RISC-V ELF member of the wheel and the ISA it needs."""
    files: dict[str, str] = {}
    extensions: set[str] = set()
    xlen = 0
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            with archive.open(info) as member:
                if member.read(4) != ELF_MAGIC:
                    continue
            data = archive.read(info)
            try:
                arch_text = elf_arch(data)
            except ValueError as error:
                raise BuildFailed(f"{wheel.name}: {info.filename}: {error}") from None
            if arch_text is None:
                if _is_riscv(data):
                    files[info.filename] = ""
                continue
            arch = parse_arch(arch_text)
            files[info.filename] = arch_text
            extensions |= arch.extensions
            xlen = max(xlen, arch.xlen)
    needs = Arch(xlen, frozenset(extensions)) if xlen else None
    return WheelIsa(files, needs)


def _is_riscv(data: bytes) -> bool:
    # e_machine is at offset 18 in both ELF classes; riscv64 is little-endian.
    return len(data) > 20 and int.from_bytes(data[18:20], "little") == EM_RISCV


def check_baseline(wheel: Path, baseline_text: str) -> WheelIsa:
    """Refuse a wheel with an ELF file that needs more than ``baseline_text``."""
    baseline = parse_arch(baseline_text)
    found = inspect_wheel(wheel)
    offenders = [
        (member, extra)
        for member, text in sorted(found.files.items())
        if text and (extra := parse_arch(text).beyond(baseline))
    ]
    if offenders:
        member, extra = offenders[0]
        more = f" (and {len(offenders) - 1} more files)" if len(offenders) > 1 else ""
        raise IsaBeyondBaseline(
            f"{wheel.name}: {member} needs {', '.join(_spelled(extra, found.files[member]))}, "
            f"beyond the recipe's ISA baseline {baseline_text}{more}; the wheel was not accepted",
            hint=_hint(extra, baseline_text),
        )
    return found


def _spelled(extensions: Iterable[str], arch_text: str) -> list[str]:
    """The extensions as the toolchain wrote them, with their versions (e.g. v1p0)."""
    versions = {_VERSION.sub("", part): part for part in arch_text.lower().split("_")}
    return [versions.get(name, name) for name in extensions]


def _hint(extensions: list[str], baseline: str) -> str:
    cause = next(
        (hint for prefix, hint in _HINTS.items() if any(n.startswith(prefix) for n in extensions)),
        "a -march flag (or -march=native) in the build",
    )
    return (
        f"{cause}; build for {baseline}, or declare a higher baseline on purpose "
        "with repair.isa in the recipe"
    )


def check_baseline_text(text: str) -> str:
    """The recipe's ``repair.isa``: a riscv64 ISA string (ValueError for pydantic if not)."""
    if parse_arch(text).xlen != 64:
        raise ValueError(f"{text!r}: the wheels are riscv64, so the baseline is rv64...")
    return text
