"""Unit tests for the emulated userland: no subprocess, no root, no qemu."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from factory._run import RunResult
from factory.builders import userland as ul
from factory.builders.base import BuildHost
from factory.builders.debian import available_packages, installed_packages, package_name
from factory.builders.userland import (
    DEFAULT_SPEC,
    Userland,
    UserlandPaths,
    UserlandSpec,
    mount_list,
    prepare_mount_point,
    userland_environment,
)
from factory.errors import ConfigError, EnvironmentProblem

DPKG_STATUS = """\
Package: gcc
Status: install ok installed
Version: 4:14.2.0-1

Package: zlib1g-dev
Status: install ok installed
Provides: libz-dev (= 1:1.3)
Description: compression library - development
 Continuation: line that looks like a field

Package: libyaml-dev
Status: deinstall ok config-files
"""

PACKAGES_LIST = """\
Package: libyaml-dev
Version: 0.2.5-2
Provides: libyaml-0-dev

Package: libffi-dev
Provides: libffi8-dev (= 3.4), other-virtual
"""


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pretend to be root with a working qemu-riscv64 binfmt registration."""
    binfmt = tmp_path / "binfmt_misc"
    binfmt.mkdir()
    (binfmt / "register").write_text("")
    (binfmt / "status").write_text("enabled\n")
    (binfmt / "qemu-riscv64").write_text("enabled\ninterpreter /usr/bin/qemu\nflags: PF\n")
    monkeypatch.setattr(ul, "BINFMT_DIR", binfmt)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    return binfmt


def fake_ready_userland(cache_dir: Path, spec: UserlandSpec = DEFAULT_SPEC) -> UserlandPaths:
    paths = UserlandPaths.for_spec(cache_dir, spec)
    (paths.root / "var/lib/dpkg").mkdir(parents=True)
    (paths.root / "var/lib/dpkg/status").write_text(DPKG_STATUS)
    versions = {"python": "3.13.5", "gcc": "14.2.0", "glibc": "2.41", "auditwheel": "6.4.2"}
    paths.ready.write_text(json.dumps({"key": paths.key, "versions": versions}))
    return paths


# --- the spec and its cache key ------------------------------------------------------


def test_cache_key_is_stable_and_names_the_cache_files(tmp_path: Path) -> None:
    key = UserlandSpec().cache_key()
    assert re.fullmatch(r"[0-9a-f]{16}", key)  # a file-name-safe, fixed-width key
    assert UserlandSpec().cache_key() == key


def test_cache_key_ignores_package_order_and_duplicates() -> None:
    packages = (*reversed(DEFAULT_SPEC.packages), "git")
    assert UserlandSpec(packages=packages).cache_key() == DEFAULT_SPEC.cache_key()


@pytest.mark.parametrize(
    "change",
    [
        {"suite": "forky"},
        {"mirror": "http://ftp.de.debian.org/debian"},
        {"packages": (*DEFAULT_SPEC.packages, "cmake")},
        {"tools": ("pip", "build", "auditwheel>=6.4", "wheel")},
    ],
)
def test_cache_key_changes_with_anything_that_changes_the_rootfs(change: dict[str, Any]) -> None:
    assert UserlandSpec(**change).cache_key() != DEFAULT_SPEC.cache_key()


def test_cache_layout(tmp_path: Path) -> None:
    paths = UserlandPaths.for_spec(tmp_path, DEFAULT_SPEC)
    key = DEFAULT_SPEC.cache_key()
    assert paths.root == tmp_path / "userland" / key
    assert paths.ready == paths.root / "READY"
    assert paths.tarball.name == f"{key}.tar.zst"
    assert paths.checksum.name == f"{key}.tar.zst.sha256"
    assert paths.temp("").name.startswith(f".{key}.tmp-")


# --- the wrapped command line and its clean environment --------------------------------


def test_clean_environment_drops_the_hosts_pip_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    monkeypatch.setenv("PIP_CONSTRAINT", "/etc/xdg/pip/constraints.txt")
    env = userland_environment({"CFLAGS": "-O2"})
    assert not {"PIP_FIND_LINKS", "PIP_CONSTRAINT"} & env.keys()
    assert env["PIP_CERT"] == env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"
    assert env["HOME"] == "/root" and env["LANG"] == "C.UTF-8" and env["CFLAGS"] == "-O2"
    assert "/usr/bin" in env["PATH"].split(":")


def test_clean_environment_lets_the_caller_override() -> None:
    assert userland_environment({"LANG": "C", "PATH": "/x"})["PATH"] == "/x"


def test_mount_list_dedupes_and_drops_nested_binds() -> None:
    binds = [Path("/srv/a/b"), Path("/srv/a"), Path("/srv/a"), Path("/dev/shm")]
    assert mount_list(binds) == [Path(p) for p in ("/proc", "/sys", "/dev", "/srv/a")]


def test_mount_list_refuses_the_root() -> None:
    with pytest.raises(ValueError, match="hide the whole userland"):
        mount_list([Path("/")])


def test_prepare_mount_point_creates_the_directory(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    prepare_mount_point(root, tmp_path)
    assert (root / tmp_path.relative_to("/")).is_dir()


def test_prepare_mount_point_refuses_a_symlink_out_of_the_rootfs(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var").mkdir(parents=True)
    (root / "var/run").symlink_to(tmp_path / "host-run")  # like Debian's /var/run -> /run
    with pytest.raises(EnvironmentProblem, match="leads outside it through a symlink"):
        prepare_mount_point(root, Path("/var/run/work"))
    assert not (tmp_path / "host-run").exists()


# --- Debian package bookkeeping (read from the rootfs, no emulation) --------------------


def test_installed_packages_reads_status_and_provides() -> None:
    installed = installed_packages(DPKG_STATUS)
    assert {"gcc", "zlib1g-dev", "libz-dev"} <= installed
    assert "libyaml-dev" not in installed  # removed, config files left: not installed
    assert "Continuation" not in installed


def test_available_packages_reads_names_and_virtual_names() -> None:
    names = available_packages(PACKAGES_LIST.splitlines(keepends=True))
    assert names == {"libyaml-dev", "libyaml-0-dev", "libffi-dev", "libffi8-dev", "other-virtual"}


@pytest.mark.parametrize(
    ("requirement", "name"),
    [("libyaml-dev", "libyaml-dev"), ("gcc:riscv64", "gcc"), ("g++=4:14", "g++"), ("a/sid", "a")],
)
def test_package_name(requirement: str, name: str) -> None:
    assert package_name(requirement) == name


def test_userland_is_a_build_host_with_versions_from_ready(as_root: Path, tmp_path: Path) -> None:
    paths = fake_ready_userland(tmp_path)
    host: BuildHost = ul.ensure_userland(tmp_path, tmp_path / "log")  # no subprocess: READY
    assert (host.name, host.arch, host.python) == (
        "userland-trixie-riscv64",
        "riscv64",
        "/opt/factory/venv/bin/python",
    )
    toolchain = host.toolchain()
    assert toolchain["gcc"] == "14.2.0" and toolchain["glibc"] == "2.41"
    assert toolchain["suite"] == "trixie" and toolchain["userland"] == paths.key
    assert host.missing_system_packages(["gcc", "libz-dev", "libyaml-dev"]) == ["libyaml-dev"]


def test_install_rejects_unknown_packages_before_installing_anything(
    as_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = fake_ready_userland(tmp_path)
    lists = paths.root / "var/lib/apt/lists"
    lists.mkdir(parents=True)
    (lists / "deb.debian.org_debian_dists_trixie_main_binary-riscv64_Packages").write_text(
        PACKAGES_LIST
    )
    (paths.root / ul.APT_STAMP).parent.mkdir(parents=True)
    (paths.root / ul.APT_STAMP).touch()  # updated just now
    calls: list[Sequence[str]] = []

    def fake_run(self: Userland, argv: Sequence[str], **kwargs: Any) -> RunResult:
        calls.append(argv)
        return RunResult(tuple(argv), 0, 0.0, "")

    monkeypatch.setattr(Userland, "run", fake_run)
    userland = Userland(paths.root, DEFAULT_SPEC, {"key": paths.key})
    with pytest.raises(ConfigError, match="not in Debian trixie") as error:
        userland.install_system_packages(["libffi-dev", "no-such-pkg", "libyaml-dev"], tmp_path)
    assert "no-such-pkg" in error.value.message and "libffi-dev" not in error.value.message
    assert calls == []  # fresh lists: no apt-get update; unknown name: no apt-get install

    userland.install_system_packages(["gcc", "libffi-dev"], tmp_path)
    assert len(calls) == 1 and calls[0][:2] == ["apt-get", "install"]
    assert calls[0][-1] == "libffi-dev"  # gcc is installed already


@pytest.mark.parametrize("stamp_age", [None, 2 * ul.APT_LISTS_MAX_AGE])
def test_install_updates_missing_or_old_lists_first(
    as_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stamp_age: float | None
) -> None:
    paths = fake_ready_userland(tmp_path)
    lists = paths.root / "var/lib/apt/lists"
    stamp = paths.root / ul.APT_STAMP
    if stamp_age is not None:  # lists present, but updated too long ago
        lists.mkdir(parents=True)
        (lists / "x_Packages").write_text(PACKAGES_LIST)
        stamp.parent.mkdir(parents=True)
        stamp.touch()
        os.utime(stamp, (time.time() - stamp_age,) * 2)
    calls: list[Sequence[str]] = []

    def fake_run(self: Userland, argv: Sequence[str], **kwargs: Any) -> RunResult:
        calls.append(argv)
        if argv[:2] == ["apt-get", "update"]:
            lists.mkdir(parents=True, exist_ok=True)
            (lists / "x_Packages").write_text(PACKAGES_LIST)
        return RunResult(tuple(argv), 0, 0.0, "")

    monkeypatch.setattr(Userland, "run", fake_run)
    Userland(paths.root, DEFAULT_SPEC, {}).install_system_packages(["libyaml-dev"], tmp_path)
    assert [c[:2] for c in calls] == [["apt-get", "update"], ["apt-get", "install"]]
    assert time.time() - stamp.stat().st_mtime < 60


# --- cache states: ready marker, tarball checksum -------------------------------------


def test_read_ready_rejects_absent_torn_and_foreign_markers(tmp_path: Path) -> None:
    paths = UserlandPaths.for_spec(tmp_path, DEFAULT_SPEC)
    assert ul.read_ready(paths) is None
    paths.root.mkdir(parents=True)
    paths.ready.write_text('{"key": ')
    assert ul.read_ready(paths) is None
    paths.ready.write_text(json.dumps({"key": "0123456789abcdef"}))
    assert ul.read_ready(paths) is None
    paths.ready.write_text(json.dumps({"key": paths.key}))
    assert ul.read_ready(paths) == {"key": paths.key}


def _tarball(tmp_path: Path, checksum: str | None) -> tuple[UserlandPaths, list[str]]:
    paths = UserlandPaths.for_spec(tmp_path, DEFAULT_SPEC)
    paths.tarball.parent.mkdir(parents=True)
    paths.tarball.write_bytes(b"pretend zstd")
    if checksum is not None:
        paths.checksum.write_text(f"{checksum}  {paths.tarball.name}\n")
    return paths, []


def test_tarball_with_matching_checksum_is_used(tmp_path: Path) -> None:
    paths, notes = _tarball(tmp_path, hashlib.sha256(b"pretend zstd").hexdigest())
    assert ul._tarball_verified(paths, tmp_path / "log", notes.append)
    assert notes == [] and paths.tarball.exists()


@pytest.mark.parametrize(
    ("checksum", "why"),
    [("0" * 64, "does not match its checksum"), (None, "has no checksum")],
)
def test_bad_tarball_is_deleted_and_the_log_says_so(
    tmp_path: Path, checksum: str | None, why: str
) -> None:
    paths, notes = _tarball(tmp_path, checksum)
    assert not ul._tarball_verified(paths, tmp_path / "log", notes.append)
    assert not paths.tarball.exists() and not paths.checksum.exists()
    assert len(notes) == 1 and why in notes[0] and "rebuilding" in notes[0]
    assert why in (tmp_path / "log").read_text()


def test_status_of_an_empty_cache(tmp_path: Path) -> None:
    status = ul.userland_status(tmp_path, DEFAULT_SPEC)
    assert status["ready"] is False and status["tarball_bytes"] is None
    assert status["path"] == str(tmp_path / "userland" / DEFAULT_SPEC.cache_key())


def test_status_of_a_ready_userland(as_root: Path, tmp_path: Path) -> None:
    fake_ready_userland(tmp_path)
    status = ul.userland_status(tmp_path, DEFAULT_SPEC)
    assert status["ready"] is True and status["versions"]["python"] == "3.13.5"
    assert status["binfmt"] == "ok"


# --- root and binfmt ----------------------------------------------------------------


def test_not_root_says_what_to_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(EnvironmentProblem, match="root is needed") as error:
        ul.ensure_userland(tmp_path, tmp_path / "log")
    assert "sudo factory userland create" in error.value.hint
    assert not (tmp_path / "userland").exists()


@pytest.mark.parametrize(
    ("entry", "state"),
    [
        (None, "qemu-riscv64 not registered"),
        ("disabled\nflags: F\n", "qemu-riscv64 disabled"),
        ("enabled\nflags: P\n", "qemu-riscv64 registered without the F (fix-binary) flag"),
        ("enabled\nflags: POCF\n", "ok"),
    ],
)
def test_binfmt_state(
    as_root: Path, monkeypatch: pytest.MonkeyPatch, entry: str | None, state: str
) -> None:
    if entry is None:
        (as_root / "qemu-riscv64").unlink()
    else:
        (as_root / "qemu-riscv64").write_text(entry)
    assert ul.binfmt_state("riscv64") == state


def test_binfmt_disabled_globally(as_root: Path) -> None:
    (as_root / "status").write_text("disabled\n")
    assert ul.binfmt_state("riscv64") == "binfmt_misc disabled"


def test_binfmt_not_mounted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(ul, "BINFMT_DIR", tmp_path / "nothing")
    assert ul.binfmt_state("riscv64") == "binfmt_misc not mounted"


def test_binfmt_that_cannot_be_fixed_is_a_clear_error(
    as_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (as_root / "qemu-riscv64").write_text("enabled\nflags: P\n")
    ran: list[Sequence[str]] = []

    def fake_run(argv: Sequence[str], **kwargs: Any) -> RunResult:
        ran.append(argv)
        return RunResult(tuple(argv), 0, 0.0, "")

    monkeypatch.setattr(ul, "run", fake_run)
    with pytest.raises(EnvironmentProblem, match="without the F") as error:
        ul.ensure_binfmt("riscv64", tmp_path / "log")
    assert "update-binfmts --enable qemu-riscv64" in error.value.hint
    assert ran == []  # a registration without F is not ours to replace
