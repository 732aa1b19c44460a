"""The host-native toolchain companion: riscv64 compilers that run at host speed.

Under qemu-user every riscv64 process is emulated, the compiler included, yet the
kernel runs a host binary natively inside the riscv64 chroot as long as its loader
and libraries are visible there. Debian ships, for amd64 and arm64, riscv64 cross
compilers built from the same gcc and binutils sources as the userland's native ones.
The companion is a small root filesystem of the host's architecture holding them
(created with mmdebstrap like the userland, natively: under a minute), cached the same
way::

    companion/<key>.tar.zst          the finished tree
    companion/<key>.tar.zst.sha256   written last: no checksum, no valid tarball
    companion/<key>/                 the extracted tree; usable only with READY
    companion/<key>/READY            JSON: key, spec, versions; written last

Only the compiler comes from it. Headers, libraries, start files and gcc's own
runtime come from the userland, exactly as for the emulated compiler: the cross
compiler's libc (a different Debian revision) is removed from the tree at creation,
the userland's gcc directory is mounted over the cross one, and wrappers map the
cross compiler's paths back to the native ones in debug information and __FILE__
(``-ffile-prefix-map``, which gcc leaves out of DW_AT_producer). The result is
byte-identical to what the emulated compiler makes (tests/test_accel_userland.py).

It is used only when the cross compilers report exactly the userland's native
versions; any difference is named and the build runs fully emulated instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._fs import write_atomically
from .._run import run
from ..errors import EnvironmentProblem, FactoryError
from .debian import installed_versions, read_status
from .userland import (
    DPKG_PATH_FILTERS,
    STEP_TIMEOUT,
    UserlandPaths,
    _json_bytes,
    _note,
    ensure_tree,
    require_root,
)

if TYPE_CHECKING:
    from .userland import Mount, Userland, UserlandSpec

OnLine = Callable[[str], None] | None

# Bump when the creation steps change what ends up in the tree.
RECIPE_VERSION = 1
TRIPLET = "riscv64-linux-gnu"
GCC = "14"  # trixie's gcc; the userland's build-essential pulls the same major version
CROSS_PACKAGES = (
    f"gcc-{GCC}-{TRIPLET}",
    f"g++-{GCC}-{TRIPLET}",
    f"gfortran-{GCC}-{TRIPLET}",
    f"binutils-{TRIPLET}",
)
# Where the companion appears inside the userland's chroot.
INSIDE = Path("/opt/factory/companion")
# Host-native tools besides the compilers, each a file mounted in: the factory's own uv.
HOST_TOOLS = Path("/opt/factory/host-tools")
UV_INSIDE = HOST_TOOLS / "uv"  # where the host's uv appears inside (a file mount)
# Directories of the companion tree that go first on PATH inside (see _make_links).
LINKS_C = "factory-links/c"  # C, C++, the preprocessor, binutils
LINKS_FORTRAN = "factory-links/fortran"  # only when the userland has gfortran too
INFO_FILE = "factory-links/companion.json"  # inside the tree, so the tarball carries it
CREATE_TIMEOUT = 20 * 60


@dataclass(frozen=True)
class HostArch:
    """What a host architecture's binaries need inside the riscv64 chroot."""

    debian: str  # Debian's name: amd64
    triplet: str  # its multiarch directory: x86_64-linux-gnu
    loader: str  # the ELF interpreter its binaries name: /lib64/ld-linux-x86-64.so.2


HOST_ARCHES = {
    "x86_64": HostArch("amd64", "x86_64-linux-gnu", "/lib64/ld-linux-x86-64.so.2"),
    "aarch64": HostArch("arm64", "aarch64-linux-gnu", "/lib/ld-linux-aarch64.so.1"),
}

# The tools whose versions must match, by the program both trees have under that name
# (Debian's native riscv64 gcc is installed as riscv64-linux-gnu-gcc-14 as well).
PROBED = {
    "gcc": f"{TRIPLET}-gcc-{GCC}",
    "g++": f"{TRIPLET}-g++-{GCC}",
    "gfortran": f"{TRIPLET}-gfortran-{GCC}",
    "as": f"{TRIPLET}-as",
    "ld": f"{TRIPLET}-ld",
}
REQUIRED = ("gcc", "g++", "as", "ld")  # build-essential: a userland without them is broken
# binutils' --version says 2.44 only; the Debian revision is the package's. The package
# has this name on both sides (on riscv64 it is the native binutils).
BINUTILS_PACKAGE = f"binutils-{TRIPLET}"
ABSENT = "-"
# One shell start for all five (each start costs under emulation): "name<TAB>first line".
PROBE_SCRIPT = "".join(
    f'if command -v {program} >/dev/null; then printf "%s\\t%s\\n" {name} '
    f'"$({program} --version | head -n 1)"; else printf "%s\\t{ABSENT}\\n" {name}; fi; '
    for name, program in PROBED.items()
)
# gcc records its include directories in debug information and __FILE__; the cross
# compiler's differ from the native ones only by these prefixes (old -> new). The cross
# driver names its directories both through bin/.. and normalised.
_CROSS_LIB = f"lib/gcc-cross/{TRIPLET}"
_CROSS_CXX = f"{TRIPLET}/include/c++/{GCC}"
PREFIX_MAPS = (
    (f"{INSIDE}/usr/{_CROSS_LIB}", f"/usr/lib/gcc/{TRIPLET}"),
    (f"{INSIDE}/usr/bin/../{_CROSS_LIB}", f"/usr/lib/gcc/{TRIPLET}"),
    (f"{INSIDE}/usr/{_CROSS_CXX}", f"/usr/include/c++/{GCC}"),
    (f"{INSIDE}/usr/bin/../{_CROSS_LIB}/{GCC}/../../../../{_CROSS_CXX}", f"/usr/include/c++/{GCC}"),
    # Given last, so checked first (gcc tries the newest map first): the target's own
    # C++ headers, which Debian keeps under the multiarch include directory.
    (f"{INSIDE}/usr/{_CROSS_CXX}/{TRIPLET}", f"/usr/include/{TRIPLET}/c++/{GCC}"),
    (
        f"{INSIDE}/usr/bin/../{_CROSS_LIB}/{GCC}/../../../../{_CROSS_CXX}/{TRIPLET}",
        f"/usr/include/{TRIPLET}/c++/{GCC}",
    ),
)
# Names a build may call, by the cross program they run. Wrapped: the compilers.
COMPILER_NAMES = {
    f"gcc-{GCC}": ("gcc", "cc", f"gcc-{GCC}", f"{TRIPLET}-gcc", f"{TRIPLET}-gcc-{GCC}"),
    f"g++-{GCC}": ("g++", "c++", f"g++-{GCC}", f"{TRIPLET}-g++", f"{TRIPLET}-g++-{GCC}"),
    f"cpp-{GCC}": ("cpp", f"cpp-{GCC}", f"{TRIPLET}-cpp", f"{TRIPLET}-cpp-{GCC}"),
}
FORTRAN_NAMES = {
    f"gfortran-{GCC}": (
        "gfortran", "f95", f"gfortran-{GCC}", f"{TRIPLET}-gfortran", f"{TRIPLET}-gfortran-{GCC}",
    ),
}  # fmt: skip
# Linked directly (they record no include paths): gcc's LTO helpers and binutils.
PLAIN_TOOLS = (
    *(f"gcc-{tool}" for tool in ("ar", "nm", "ranlib")),
    "addr2line", "ar", "as", "c++filt", "elfedit", "gprof", "ld", "ld.bfd", "nm", "objcopy",
    "objdump", "ranlib", "readelf", "size", "strings", "strip",
)  # fmt: skip


@dataclass(frozen=True)
class CompanionSpec:
    """Everything that decides what goes into the companion's tree."""

    arch: str  # Debian's name of the host architecture
    suite: str
    mirror: str
    packages: tuple[str, ...] = CROSS_PACKAGES

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"packages": sorted(set(self.packages))}

    def cache_key(self) -> str:
        payload = {
            "recipe": RECIPE_VERSION,
            "spec": self.to_json(),
            "dpkg": DPKG_PATH_FILTERS,
            "inside": str(INSIDE),
            "maps": PREFIX_MAPS,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def companion_spec(userland: UserlandSpec, machine: str | None = None) -> CompanionSpec | None:
    """The companion for this userland on this host; None when Debian has none for it."""
    host = HOST_ARCHES.get(machine or platform.machine())
    if host is None or userland.arch != "riscv64":
        return None
    return CompanionSpec(arch=host.debian, suite=userland.suite, mirror=userland.mirror)


def companion_paths(cache_dir: Path, spec: CompanionSpec) -> UserlandPaths:
    return UserlandPaths.in_directory(cache_dir / "companion", spec.cache_key())


@dataclass(frozen=True)
class Companion:
    """A ready companion tree and the versions of the tools in it."""

    root: Path
    spec: CompanionSpec
    key: str
    versions: dict[str, str]  # PROBED name -> first line of --version; binutils package

    @property
    def host(self) -> HostArch:
        return next(h for h in HOST_ARCHES.values() if h.debian == self.spec.arch)


def ensure_companion(
    cache_dir: Path, log: Path, spec: CompanionSpec, on_line: OnLine = None
) -> Companion:
    """A ready companion: the extracted one, else restored from its tarball, else created."""
    require_root("create the toolchain companion (mmdebstrap, chroot)")
    paths = companion_paths(cache_dir, spec)

    def create(staging: Path) -> None:
        _create(staging, spec, paths.key, log, on_line)

    info = ensure_tree(paths, create, INFO_FILE, log, on_line, "companion")
    return Companion(paths.root, spec, paths.key, dict(info["versions"]))


def _create(staging: Path, spec: CompanionSpec, key: str, log: Path, on_line: OnLine) -> None:
    _note(
        log,
        on_line,
        f"creating the {spec.suite} {spec.arch} riscv64 cross toolchain (about a minute)",
        "companion",
    )
    options = ["--mode=root", "--format=directory", "--variant=apt", f"--arch={spec.arch}"]
    options.append(f"--include={','.join(spec.packages)}")
    options += [f"--dpkgopt={rule}" for rule in DPKG_PATH_FILTERS]
    # In a private mount namespace, like the userland's creation: mounts die with it.
    command = ["unshare", "--mount", "--fork", "--", "mmdebstrap", *options]
    run(
        [*command, spec.suite, str(staging), spec.mirror],
        log=log,
        timeout=CREATE_TIMEOUT,
        on_line=on_line,
    )
    # The tree is of the host's architecture: chroot runs it natively, no mounts needed.
    probe = run(
        ["chroot", str(staging), "/bin/sh", "-c", PROBE_SCRIPT],
        log=log, timeout=STEP_TIMEOUT, capture=True,
    )  # fmt: skip
    versions = parse_probe(probe.output)
    dpkg = installed_versions(read_status(staging))
    versions[BINUTILS_PACKAGE] = dpkg.get(BINUTILS_PACKAGE, ABSENT)
    missing = [name for name, value in versions.items() if value == ABSENT]
    if missing:
        raise EnvironmentProblem(
            f"the toolchain companion lacks {', '.join(missing)} after mmdebstrap",
            hint=f"check that Debian {spec.suite} has {', '.join(spec.packages)} for {spec.arch}",
        )
    _rearrange(staging)
    info = {"key": key, "spec": spec.to_json(), "versions": versions, "packages": {
        name: dpkg.get(name, ABSENT) for name in spec.packages
    }}  # fmt: skip
    write_atomically(staging / INFO_FILE, _json_bytes(info))


def parse_probe(output: str) -> dict[str, str]:
    """PROBE_SCRIPT's output as name -> first line of --version (ABSENT when missing)."""
    versions = {name: ABSENT for name in PROBED}
    for line in output.splitlines():
        name, tab, value = line.partition("\t")
        if tab and name in PROBED:
            versions[name] = value.strip() or ABSENT
    return versions


def _rearrange(tree: Path) -> None:
    """Make the cross compiler use the userland's headers and libraries, not its own.

    Its tool directory (/usr/riscv64-linux-gnu) holds a cross libc of another Debian
    revision and its own copy of libstdc++'s headers: both go. In their place, its
    C++ include directory becomes links to the userland's (Debian keeps the target's
    own C++ headers under the multiarch include directory), and the runtime
    libraries gcc's directory links to by relative paths are linked to the
    userland's. Its own gcc directory is replaced at entry by the userland's (a mount).
    """
    tool = tree / "usr" / TRIPLET
    cxx = tool / "include" / "c++" / GCC
    headers = sorted(p.name for p in cxx.iterdir()) if cxx.is_dir() else []
    runtime = [
        os.readlink(link).rpartition("/")[2]
        for link in (tree / "usr" / _CROSS_LIB / GCC).iterdir()
        if link.is_symlink() and os.readlink(link).startswith(f"../../../../{TRIPLET}/lib/")
    ]
    shutil.rmtree(tool / "include")
    shutil.rmtree(tool / "lib")
    cxx.mkdir(parents=True)
    for name in headers:
        native = (
            f"/usr/include/{TRIPLET}/c++/{GCC}"
            if name == TRIPLET
            else f"/usr/include/c++/{GCC}/{name}"
        )
        (cxx / name).symlink_to(native)
    multiarch = tree / "usr" / "lib" / TRIPLET  # gcc's relative links land here
    multiarch.mkdir(parents=True, exist_ok=True)
    for name in runtime:
        (multiarch / name).symlink_to(f"/usr/lib/{TRIPLET}/{name}")
    _make_links(tree)


def wrapper_script(program: str) -> str:
    """A compiler wrapper run by the companion's own (host-native) dash: no emulated shell."""
    maps = " ".join(f"-ffile-prefix-map={old}={new}" for old, new in PREFIX_MAPS)
    return f'#!{INSIDE}/usr/bin/dash\nexec {INSIDE}/usr/bin/{TRIPLET}-{program} {maps} "$@"\n'


def _make_links(tree: Path) -> None:
    for directory, programs in ((LINKS_C, COMPILER_NAMES), (LINKS_FORTRAN, FORTRAN_NAMES)):
        links = tree / directory
        links.mkdir(parents=True)
        for program, names in programs.items():
            wrapper = links / f".wrap-{program}"
            wrapper.write_text(wrapper_script(program))
            wrapper.chmod(0o755)
            for name in names:
                (links / name).symlink_to(wrapper.name)
    for tool in PLAIN_TOOLS:
        cross = f"{TRIPLET}-{tool}"
        if (tree / "usr/bin" / cross).exists():
            for name in (tool, cross):
                (tree / LINKS_C / name).symlink_to(f"{INSIDE}/usr/bin/{cross}")


# --- does it match the userland? ------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """Whether builds in the userland use the companion, and the one line that says so."""

    accelerate: bool
    line: str
    fortran: bool = False  # the userland has gfortran at the companion's version too
    mismatches: tuple[str, ...] = field(default=())


def decide(companion: Mapping[str, str], native: Mapping[str, str], host_machine: str) -> Decision:
    """Compare the full version strings (and binutils' Debian revision) of both sides."""
    mismatches = []
    for name in REQUIRED:
        if native.get(name, ABSENT) == ABSENT:
            mismatches.append(f"the userland has no {PROBED[name]}")
    for name in (*PROBED, BINUTILS_PACKAGE):
        mine, theirs = companion.get(name, ABSENT), native.get(name, ABSENT)
        if theirs == ABSENT or (name == "gfortran" and mine == ABSENT):
            continue  # absent in the userland: not exposed, nothing to compare
        if mine != theirs:
            mismatches.append(f"{name} is {theirs!r} in the userland but {mine!r} in the companion")
    if mismatches:
        return Decision(
            False,
            "riscv64 compilers: emulated, not host-native: " + "; ".join(mismatches)
            + " (a different compiler could make different wheels)",
            mismatches=tuple(mismatches),
        )  # fmt: skip
    fortran = native.get("gfortran", ABSENT) != ABSENT
    version = native["gcc"].removeprefix(f"{PROBED['gcc']} ")  # "(Debian 14.2.0-19) 14.2.0"
    languages = "C, C++" + (", Fortran" if fortran else "")
    return Decision(
        True,
        f"riscv64 compilers: host-native {host_machine} cross compilers ({languages}; gcc "
        f"{version}, binutils {native[BINUTILS_PACKAGE]}), the userland's own versions; "
        "--no-accelerate compiles emulated",
        fortran,
    )


def native_versions(userland: Userland, cache_dir: Path, log: Path) -> dict[str, str]:
    """The userland's own compiler versions: probed once (under emulation, seconds) per
    userland and set of installed compiler packages, then read from a small file."""
    dpkg = installed_versions(read_status(userland.root))
    watched = {name: dpkg.get(name, ABSENT) for name in NATIVE_PACKAGES}
    digest = hashlib.sha256(json.dumps(watched, sort_keys=True).encode()).hexdigest()[:16]
    probe_file = cache_dir / "companion" / "probes" / f"{userland.key}-{digest}.json"
    with contextlib.suppress(OSError, ValueError):
        cached: dict[str, str] = json.loads(probe_file.read_text())
        return cached
    result = userland.run(
        ["sh", "-c", PROBE_SCRIPT], log=log, cwd=Path("/"), env={}, timeout=STEP_TIMEOUT,
        capture=True,
    )  # fmt: skip
    versions = parse_probe(result.output)
    versions[BINUTILS_PACKAGE] = dpkg.get(BINUTILS_PACKAGE, ABSENT)
    write_atomically(probe_file, _json_bytes(versions))
    return versions


# The userland's packages whose versions decide what the probe finds.
NATIVE_PACKAGES = (f"gcc-{GCC}", f"g++-{GCC}", f"gfortran-{GCC}", f"cpp-{GCC}", BINUTILS_PACKAGE)


@dataclass(frozen=True)
class Acceleration:
    """How a userland's commands reach the companion: mounts, links, PATH; and the
    host-native uv that installs build and test environments, when the host has one."""

    companion: Companion
    fortran: bool
    uv: HostUv | None = None

    @property
    def path(self) -> str:
        """Prepended to PATH inside: the links resolve cc, gcc, g++, ld... to the companion
        (and ``uv`` to the host's, so that ``python -m build --installer uv`` finds it)."""
        dirs = [str(INSIDE / LINKS_C), *([str(INSIDE / LINKS_FORTRAN)] if self.fortran else [])]
        return ":".join([*dirs, *([str(HOST_TOOLS)] if self.uv is not None else [])])

    @property
    def describe(self) -> str:
        """What build records say about the compiler path (informational, never hashed)."""
        return f"host-native cross ({self.companion.spec.arch} companion {self.companion.key})"

    def mounts(self, root: Path) -> list[Mount]:
        """In order: the companion, its host libraries where its loader looks, then the
        userland's gcc directory over the cross one (inside the companion's mount)."""
        host = self.companion.host
        mounts = [
            (self.companion.root, INSIDE),
            (self.companion.root / "usr/lib" / host.triplet, Path("/usr/lib") / host.triplet),
            (root / "usr/lib/gcc" / TRIPLET, INSIDE / "usr" / _CROSS_LIB),
        ]
        if self.uv is not None:
            mounts.append((self.uv.binary, UV_INSIDE))
        return mounts

    def prepare(self, root: Path) -> None:
        """Mount points in the rootfs, and the host loader's link where binaries look for it.

        The riscv64 tree has neither directory (both empty if present); the loader's
        link is the one file the companion adds to the userland, and riscv64 programs
        never open it.
        """
        host = self.companion.host
        for inside in (INSIDE, Path("/usr/lib") / host.triplet, HOST_TOOLS):
            target = root / inside.relative_to("/")
            if not target.resolve().is_relative_to(root.resolve()):
                raise EnvironmentProblem(f"{target} leads outside the userland through a symlink")
            target.mkdir(parents=True, exist_ok=True)
        if self.uv is not None:
            (root / UV_INSIDE.relative_to("/")).touch()  # the file mount's mount point
        loader = root / host.loader.lstrip("/")
        directory = loader.parent.resolve()
        if not directory.is_relative_to(root.resolve()):
            raise EnvironmentProblem(f"{loader.parent} leads outside the userland via a symlink")
        directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another build made it first
            (directory / loader.name).symlink_to(f"/usr/lib/{host.triplet}/{loader.name}")


def accelerate(
    userland: Userland, cache_dir: Path, log: Path, say: Callable[[str], None]
) -> Acceleration | None:
    """The companion for this userland if it exists (or can be made) and matches; else
    None. Either way ``say`` gets the one line that tells which compilers build."""
    spec = companion_spec(userland.spec)
    if spec is None:
        say(f"riscv64 compilers: emulated (Debian has no riscv64 cross compilers for "
            f"{platform.machine()} hosts)")  # fmt: skip
        return None
    try:
        companion = ensure_companion(cache_dir, log, spec)
        native = native_versions(userland, cache_dir, log)
    except FactoryError as error:
        say(f"riscv64 compilers: emulated; the toolchain companion is not available "
            f"({error.message}; log: {log})")  # fmt: skip
        return None
    decision = decide(companion.versions, native, platform.machine())
    say(decision.line)
    if not decision.accelerate:
        return None
    uv = host_uv()
    say(
        f"riscv64 build and test environments: installed by the host-native uv {uv.version}"
        if uv is not None
        else "riscv64 build and test environments: installed by pip, emulated (no uv on "
        "this host: `pip install uv` into the factory's environment)"
    )
    return Acceleration(companion, decision.fortran, uv)


@dataclass(frozen=True)
class HostUv:
    """The factory's own uv: a host binary that, like the compilers, runs natively in the
    userland through the companion's host libraries. It installs into riscv64 venvs at
    host speed (it asks their riscv64 interpreter for its platform once): a test venv in
    3 s instead of 50 s of emulated `python -m venv` and pip (measured: see the README)."""

    binary: Path
    version: str


def host_uv() -> HostUv | None:
    try:
        import uv

        return HostUv(Path(uv.find_uv_bin()), importlib.metadata.version("uv"))
    except (ImportError, FileNotFoundError, importlib.metadata.PackageNotFoundError):
        return None


def compiler_path_names() -> Sequence[str]:
    """Every name the links directory answers to (for tests and docs)."""
    names = [n for group in COMPILER_NAMES.values() for n in group]
    return [*names, *PLAIN_TOOLS]
