"""Unit tests for the toolchain companion: key, cache states, version matching, the
layout it makes and how the userland enters it. No subprocess, no root, no qemu."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from factory._run import RunResult
from factory.builders import companion as cp
from factory.builders import userland as ul
from factory.builders.base import host_for_recipe
from factory.builders.companion import (
    ABSENT,
    BINUTILS_PACKAGE,
    INSIDE,
    Acceleration,
    Companion,
    CompanionSpec,
    companion_paths,
    companion_spec,
    decide,
    parse_probe,
)
from factory.builders.environment import DEFAULT_PATH
from factory.builders.userland import DEFAULT_SPEC, Userland, UserlandSpec, wrapped_command
from factory.errors import EnvironmentProblem
from factory.records import Target, fingerprint, fingerprint_inputs, with_toolchain_info

GCC = "riscv64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0"
GXX = "riscv64-linux-gnu-g++-14 (Debian 14.2.0-19) 14.2.0"
FORTRAN = "GNU Fortran (Debian 14.2.0-19) 14.2.0"
VERSIONS = {
    "gcc": GCC,
    "g++": GXX,
    "gfortran": FORTRAN,
    "as": "GNU assembler (GNU Binutils for Debian) 2.44",
    "ld": "GNU ld (GNU Binutils for Debian) 2.44",
    BINUTILS_PACKAGE: "2.44-3",
}
NATIVE = {**VERSIONS, "gfortran": ABSENT}  # build-essential has no Fortran
SPEC = CompanionSpec(arch="amd64", suite="trixie", mirror="http://deb.debian.org/debian")


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)


# --- the spec and its key -------------------------------------------------------------


def test_key_is_stable_file_name_safe_and_ignores_package_order() -> None:
    key = SPEC.cache_key()
    assert re.fullmatch(r"[0-9a-f]{16}", key) and SPEC.cache_key() == key
    assert (
        CompanionSpec("amd64", "trixie", SPEC.mirror, tuple(reversed(SPEC.packages))).cache_key()
        == key
    )


@pytest.mark.parametrize(
    "change",
    [
        {"arch": "arm64"},
        {"suite": "forky"},
        {"mirror": "http://ftp.de.debian.org/debian"},
        {"packages": (*SPEC.packages, "ccache")},
    ],
)
def test_key_changes_with_anything_that_changes_the_tree(change: dict[str, Any]) -> None:
    fields = {"arch": SPEC.arch, "suite": SPEC.suite, "mirror": SPEC.mirror} | change
    assert CompanionSpec(**fields).cache_key() != SPEC.cache_key()


@pytest.mark.parametrize(
    ("machine", "arch"),
    [("x86_64", "amd64"), ("aarch64", "arm64"), ("riscv64", None), ("ppc64le", None)],
)
def test_the_companion_is_of_the_hosts_architecture(machine: str, arch: str | None) -> None:
    spec = companion_spec(DEFAULT_SPEC, machine)
    assert (spec.arch if spec else None) == arch
    if spec is not None:  # same suite and mirror as the userland: the same Debian
        assert (spec.suite, spec.mirror) == (DEFAULT_SPEC.suite, DEFAULT_SPEC.mirror)


def test_the_companion_follows_the_userlands_suite_and_mirror() -> None:
    userland = UserlandSpec(suite="forky", mirror="http://mirror.example/debian")
    spec = companion_spec(userland, "x86_64")
    assert spec is not None and (spec.suite, spec.mirror) == ("forky", userland.mirror)
    assert spec.cache_key() != companion_spec(DEFAULT_SPEC, "x86_64").cache_key()  # type: ignore[union-attr]


def test_cache_layout(tmp_path: Path) -> None:
    paths = companion_paths(tmp_path, SPEC)
    assert paths.root == tmp_path / "companion" / SPEC.cache_key()
    assert paths.ready == paths.root / "READY"
    assert paths.checksum.name == f"{SPEC.cache_key()}.tar.zst.sha256"


# --- version matching -----------------------------------------------------------------


def test_probe_output_is_parsed_and_absent_tools_say_so() -> None:
    output = f"gcc\t{GCC}\ng++\t{GXX}\ngfortran\t-\nas\tGNU assembler 2.44\nnoise line\n"
    versions = parse_probe(output)
    assert versions["gcc"] == GCC and versions["g++"] == GXX
    assert versions["gfortran"] == ABSENT and versions["ld"] == ABSENT  # ld missing: absent


def test_equal_versions_accelerate_c_and_cxx() -> None:
    decision = decide(VERSIONS, NATIVE, "x86_64")
    assert decision.accelerate and not decision.fortran
    assert decision.line == (
        "riscv64 compilers: host-native x86_64 cross compilers (C, C++; gcc "
        "(Debian 14.2.0-19) 14.2.0, binutils 2.44-3), the userland's own versions; "
        "--no-accelerate compiles emulated"
    )


def test_gfortran_in_the_userland_at_the_same_version_is_accelerated_too() -> None:
    decision = decide(VERSIONS, VERSIONS, "x86_64")
    assert decision.accelerate and decision.fortran and "(C, C++, Fortran;" in decision.line


@pytest.mark.parametrize(
    ("tool", "native_value", "says"),
    [
        (
            "gcc",
            "riscv64-linux-gnu-gcc-14 (Debian 14.2.0-20) 14.2.0",
            "gcc is 'riscv64-linux-gnu-gcc-14 (Debian 14.2.0-20) 14.2.0' in the userland but "
            "'riscv64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0' in the companion",
        ),
        ("g++", "riscv64-linux-gnu-g++-14 (Debian 14.2.0-20) 14.2.0", "g++ is "),
        ("gfortran", "GNU Fortran (Debian 14.2.0-20) 14.2.0", "gfortran is "),
        (BINUTILS_PACKAGE, "2.44-4", "binutils-riscv64-linux-gnu is '2.44-4' in the userland"),
        ("ld", "GNU ld (GNU Binutils for Debian) 2.45", "ld is "),
        ("g++", ABSENT, "the userland has no riscv64-linux-gnu-g++-14"),
    ],
)
def test_any_difference_refuses_to_accelerate_and_says_why(
    tool: str, native_value: str, says: str
) -> None:
    native = {**VERSIONS, tool: native_value}
    decision = decide(VERSIONS, native, "x86_64")
    assert not decision.accelerate
    assert decision.line.startswith("riscv64 compilers: emulated, not host-native: ")
    assert says in decision.line and "\n" not in decision.line


def test_native_versions_are_read_from_the_probe_file_without_emulation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "rootfs"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        "Package: gcc-14\nStatus: install ok installed\nVersion: 14.2.0-19\n"
    )
    userland = Userland(root, DEFAULT_SPEC, {"key": "k"})
    calls: list[Sequence[str]] = []

    def fake_run(self: Userland, argv: Sequence[str], **kwargs: Any) -> RunResult:
        calls.append(argv)
        return RunResult(tuple(argv), 0, 0.0, f"gcc\t{GCC}\ng++\t{GXX}\n")

    monkeypatch.setattr(Userland, "run", fake_run)
    first = cp.native_versions(userland, tmp_path / "cache", tmp_path / "log")
    again = cp.native_versions(userland, tmp_path / "cache", tmp_path / "log")
    assert first == again and first["gcc"] == GCC and len(calls) == 1
    # Installing a compiler package changes what the probe would find: probed again.
    with (root / "var/lib/dpkg/status").open("a") as status:
        status.write("\nPackage: gfortran-14\nStatus: install ok installed\nVersion: 14.2.0-19\n")
    cp.native_versions(userland, tmp_path / "cache", tmp_path / "log")
    assert len(calls) == 2


# --- the cache: READY last, a killed creation never counts -----------------------------


def _fake_ready(tmp_path: Path) -> None:
    paths = companion_paths(tmp_path, SPEC)
    paths.root.mkdir(parents=True)
    paths.ready.write_text(json.dumps({"key": paths.key, "versions": VERSIONS}))


def test_ready_companion_is_used_without_any_subprocess(as_root: None, tmp_path: Path) -> None:
    _fake_ready(tmp_path)
    companion = cp.ensure_companion(tmp_path, tmp_path / "log", SPEC)
    assert companion.versions == VERSIONS and companion.key == SPEC.cache_key()


def test_a_killed_creation_leaves_nothing_that_counts(
    as_root: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = companion_paths(tmp_path, SPEC)
    paths.root.mkdir(parents=True)  # a tree that never got READY
    (paths.root / "half").write_text("")
    leftover = paths.root.with_name(f".{paths.key}.tmp-99999")  # a killed run's staging
    leftover.mkdir()

    def killed(staging: Path, *args: Any) -> None:
        (staging / "usr").mkdir(parents=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(cp, "_create", killed)
    with pytest.raises(KeyboardInterrupt):
        cp.ensure_companion(tmp_path, tmp_path / "log", SPEC)
    assert not paths.root.exists() and not leftover.exists() and not paths.ready.exists()
    assert not list(paths.root.parent.glob(".*tmp-*"))

    def created(staging: Path, spec: CompanionSpec, key: str, *args: Any) -> None:
        (staging / cp.INFO_FILE).parent.mkdir(parents=True)
        (staging / cp.INFO_FILE).write_text(json.dumps({"key": key, "versions": VERSIONS}))

    packed: list[Path] = []
    monkeypatch.setattr(cp, "_create", created)
    monkeypatch.setattr(ul, "_pack", lambda staging, *args: packed.append(staging))
    companion = cp.ensure_companion(tmp_path, tmp_path / "log", SPEC)
    assert companion.versions == VERSIONS and packed and paths.ready.exists()
    assert json.loads(paths.ready.read_text())["key"] == paths.key


def test_a_tarball_of_another_key_is_refused(
    as_root: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def created(staging: Path, *args: Any) -> None:
        (staging / cp.INFO_FILE).parent.mkdir(parents=True)
        (staging / cp.INFO_FILE).write_text(json.dumps({"key": "0123456789abcdef"}))

    monkeypatch.setattr(cp, "_create", created)
    monkeypatch.setattr(ul, "_pack", lambda *args: None)
    with pytest.raises(EnvironmentProblem, match="holds companion 0123456789abcdef"):
        cp.ensure_companion(tmp_path, tmp_path / "log", SPEC)
    assert not companion_paths(tmp_path, SPEC).ready.exists()


def test_not_root_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(EnvironmentProblem, match="root is needed"):
        cp.ensure_companion(tmp_path, tmp_path / "log", SPEC)


# --- the layout made at creation ------------------------------------------------------


def fake_cross_tree(tree: Path) -> None:
    """The parts of the Debian cross toolchain packages that _rearrange touches."""
    tool = tree / "usr/riscv64-linux-gnu"
    for name in ("vector", "bits", "riscv64-linux-gnu"):
        (tool / "include/c++/14" / name).mkdir(parents=True)
    (tool / "include/stdio.h").write_text("/* the cross libc */")
    (tool / "lib").mkdir(parents=True)
    (tool / "lib/libc.so.6").write_text("")
    (tool / "bin").mkdir()
    gcc_dir = tree / "usr/lib/gcc-cross/riscv64-linux-gnu/14"
    gcc_dir.mkdir(parents=True)
    (gcc_dir / "libstdc++.so").symlink_to("../../../../riscv64-linux-gnu/lib/libstdc++.so.6")
    (gcc_dir / "libcc1.so").symlink_to("../../../x86_64-linux-gnu/libcc1.so.0")
    (tree / "usr/bin").mkdir(parents=True)
    (tree / "usr/bin/riscv64-linux-gnu-ar").write_text("")


def test_rearrange_keeps_the_compiler_and_points_headers_and_libraries_at_the_userland(
    tmp_path: Path,
) -> None:
    fake_cross_tree(tmp_path)
    cp._rearrange(tmp_path)
    tool = tmp_path / "usr/riscv64-linux-gnu"
    assert not (tool / "lib").exists() and not (tool / "include/stdio.h").exists()
    cxx = tool / "include/c++/14"
    assert os.readlink(cxx / "vector") == "/usr/include/c++/14/vector"
    assert os.readlink(cxx / "riscv64-linux-gnu") == "/usr/include/riscv64-linux-gnu/c++/14"
    runtime = tmp_path / "usr/lib/riscv64-linux-gnu"
    assert os.readlink(runtime / "libstdc++.so.6") == "/usr/lib/riscv64-linux-gnu/libstdc++.so.6"
    assert not (runtime / "libcc1.so.0").exists()  # a host library, not a riscv64 one
    links = tmp_path / cp.LINKS_C
    for name in ("gcc", "cc", "riscv64-linux-gnu-gcc", "g++", "c++", "cpp"):
        assert (links / name).is_symlink(), name
    wrapper = (links / os.readlink(links / "cc")).read_text()
    assert wrapper.startswith(f"#!{INSIDE}/usr/bin/dash\n")  # the host's dash: no emulation
    assert f"exec {INSIDE}/usr/bin/riscv64-linux-gnu-gcc-14 " in wrapper
    assert (
        f"-ffile-prefix-map={INSIDE}/usr/lib/gcc-cross/riscv64-linux-gnu=/usr/lib/gcc/riscv64-linux-gnu"
        in wrapper
    )
    assert wrapper.rstrip().endswith('"$@"')
    assert os.readlink(links / "ar") == f"{INSIDE}/usr/bin/riscv64-linux-gnu-ar"
    assert not (links / "ld").exists()  # not in this tree: no dangling link
    assert (tmp_path / cp.LINKS_FORTRAN / "gfortran").is_symlink()


# --- entering the userland with it ----------------------------------------------------


def _acceleration(tmp_path: Path, arch: str = "amd64", fortran: bool = False) -> Acceleration:
    spec = CompanionSpec(arch=arch, suite="trixie", mirror=SPEC.mirror)
    return Acceleration(Companion(tmp_path / "companion", spec, "c0ffee", VERSIONS), fortran)


def test_mounts_put_the_userlands_gcc_directory_over_the_cross_one(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    mounts = _acceleration(tmp_path).mounts(root)
    assert mounts == [
        (tmp_path / "companion", INSIDE),
        (tmp_path / "companion/usr/lib/x86_64-linux-gnu", Path("/usr/lib/x86_64-linux-gnu")),
        (root / "usr/lib/gcc/riscv64-linux-gnu", INSIDE / "usr/lib/gcc-cross/riscv64-linux-gnu"),
    ]


def test_prepare_makes_mount_points_and_the_loader_link(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "usr/lib").mkdir(parents=True)
    (root / "lib").symlink_to("usr/lib")  # merged /usr, as in Debian
    acceleration = _acceleration(tmp_path)
    acceleration.prepare(root)
    acceleration.prepare(root)  # a second build entering: nothing to redo, no error
    assert (root / INSIDE.relative_to("/")).is_dir()
    assert (root / "usr/lib/x86_64-linux-gnu").is_dir()
    loader = root / "lib64/ld-linux-x86-64.so.2"
    assert os.readlink(loader) == "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    _acceleration(tmp_path, arch="arm64").prepare(root)  # through the /lib -> usr/lib link
    arm = root / "usr/lib/ld-linux-aarch64.so.1"
    assert os.readlink(arm) == "/usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"


def test_prepare_refuses_a_symlink_out_of_the_rootfs(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    root.mkdir()
    (root / "lib64").symlink_to(tmp_path / "host-lib64")
    with pytest.raises(EnvironmentProblem, match="leads outside the userland"):
        _acceleration(tmp_path).prepare(root)
    assert not (tmp_path / "host-lib64").exists()


def test_wrapped_command_mounts_pairs_after_the_binds() -> None:
    command = wrapped_command(
        Path("/r"), ["cc", "-v"], Path("/w"), {}, [Path("/w")], [(Path("/c"), INSIDE)]
    )
    start = command.index("/r") + 1
    assert command[start : command.index("--", start)] == [
        "/proc", "/proc", "/sys", "/sys", "/dev", "/dev", "/w", "/w", "/c", str(INSIDE),
    ]  # fmt: skip


def test_an_accelerated_userland_puts_the_links_first_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    commands: list[list[str]] = []

    def fake_run(argv: Sequence[str], **kwargs: Any) -> RunResult:
        commands.append(list(argv))
        return RunResult(tuple(argv), 0, 0.0, "")

    monkeypatch.setattr(ul, "run", fake_run)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr(ul, "_refresh_host_files", lambda root: None)
    plain = Userland(root, DEFAULT_SPEC, {"key": "k"})
    fast = plain.with_acceleration(_acceleration(tmp_path, fortran=True))
    for host, env in ((plain, {}), (fast, {}), (fast, {"PATH": "/venv/bin:/usr/bin"})):
        host.run(["cc", "-v"], log=tmp_path / "log", cwd=Path("/"), env=env, timeout=1)
    paths = [next(a for a in c if a.startswith("PATH=")) for c in commands]
    links = f"{INSIDE}/{cp.LINKS_C}:{INSIDE}/{cp.LINKS_FORTRAN}"
    assert paths[0] == f"PATH={DEFAULT_PATH}"
    assert paths[1] == f"PATH={links}:{DEFAULT_PATH}"
    assert paths[2] == f"PATH={links}:/venv/bin:/usr/bin"
    assert str(INSIDE) not in " ".join(commands[0])  # emulated: nothing of the companion
    assert plain.toolchain()["compiler"] == "emulated"
    assert fast.toolchain()["compiler"] == "host-native cross (amd64 companion c0ffee)"
    assert host_for_recipe(fast, accelerate=False).toolchain()["compiler"] == "emulated"
    assert host_for_recipe(fast, accelerate=True) is fast


# --- the one line when there is no companion -------------------------------------------


def test_no_companion_for_this_host_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("platform.machine", lambda: "ppc64le")
    lines: list[str] = []
    userland = Userland(tmp_path, DEFAULT_SPEC, {"key": "k"})
    assert cp.accelerate(userland, tmp_path, tmp_path / "log", lines.append) is None
    assert lines == [
        "riscv64 compilers: emulated (Debian has no riscv64 cross compilers for ppc64le hosts)"
    ]


def test_a_companion_that_cannot_be_made_falls_back_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*args: Any, **kwargs: Any) -> Companion:
        raise EnvironmentProblem("mmdebstrap is not installed (needed to run: ...)")

    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    monkeypatch.setattr(cp, "ensure_companion", unavailable)
    lines: list[str] = []
    userland = Userland(tmp_path, DEFAULT_SPEC, {"key": "k"})
    assert cp.accelerate(userland, tmp_path, tmp_path / "log", lines.append) is None
    assert len(lines) == 1 and lines[0].startswith(
        "riscv64 compilers: emulated; the toolchain companion is not available "
        "(mmdebstrap is not installed"
    )


def test_a_mismatch_is_one_line_and_no_acceleration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    monkeypatch.setattr(cp, "ensure_companion", lambda *a, **k: _acceleration(tmp_path).companion)
    newer = {**NATIVE, "gcc": "riscv64-linux-gnu-gcc-14 (Debian 14.2.0-20) 14.2.0"}
    monkeypatch.setattr(cp, "native_versions", lambda *a: newer)
    lines: list[str] = []
    userland = Userland(tmp_path, DEFAULT_SPEC, {"key": "k"})
    assert cp.accelerate(userland, tmp_path, tmp_path / "log", lines.append) is None
    assert len(lines) == 1 and "14.2.0-20" in lines[0] and "emulated" in lines[0]


# --- records: the compiler path is information, not an input ----------------------------


def test_the_compiler_path_never_changes_the_fingerprint(tmp_path: Path) -> None:
    from factory.recipe import load_recipes

    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes/tiny.yaml").write_text(
        'name: tiny\nversion: "1.0"\nsource:\n  archive: {url: "https://x/t.tar.gz", '
        f"sha256: '{'0' * 64}'}}\nbuild:\n  accelerate: false\n"
    )
    [loaded] = load_recipes(tmp_path / "recipes", tmp_path / "patches").values()
    assert loaded.recipe.build.accelerate is False
    target = Target("riscv64", "3.13", "auto")
    emulated = fingerprint_inputs(loaded, "src", target, {"gcc": "14.2.0", "compiler": "emulated"})
    native = with_toolchain_info(emulated, {"gcc": "15", "compiler": "host-native cross (x)"})
    assert native.toolchain == {"compiler": "host-native cross (x)", "gcc": "14.2.0"}
    assert fingerprint(native) == fingerprint(emulated)
    assert "accelerate" not in emulated.recipe["build"]  # the switch is not an input either
    other_gcc = dataclasses.replace(emulated, toolchain={**emulated.toolchain, "gcc": "15"})
    assert fingerprint(other_gcc) != fingerprint(emulated)  # the compiler's version still is
