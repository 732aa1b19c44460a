"""The real emulated riscv64 userland: mmdebstrap, qemu, chroot. Root only, slow when cold.

Uses the factory's cache (~/.cache/riscv64-wheel-factory, or FACTORY_CACHE_DIR), so
after the first run (about 5 minutes) these tests take seconds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from factory.builders.userland import (
    DEFAULT_SPEC,
    Userland,
    UserlandPaths,
    ensure_userland,
    userland_status,
)
from factory.errors import ConfigError

pytestmark = [
    pytest.mark.userland,
    pytest.mark.skipif(
        os.geteuid() != 0, reason="the riscv64 userland needs root (chroot and mounts)"
    ),
]

CACHE_DIR = Path(
    os.environ.get("FACTORY_CACHE_DIR", Path.home() / ".cache" / "riscv64-wheel-factory")
)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("userland-log") / "userland.log"


@pytest.fixture(scope="module")
def userland(log: Path) -> Userland:
    return ensure_userland(CACHE_DIR, log)


def test_second_call_reuses_the_ready_rootfs(userland: Userland, log: Path) -> None:
    again = ensure_userland(CACHE_DIR, log)
    assert again.root == userland.root and again.toolchain() == userland.toolchain()


def test_toolchain_versions_come_from_inside(userland: Userland) -> None:
    toolchain = userland.toolchain()
    assert toolchain["python"].startswith("3.13.")
    assert toolchain["gcc"].startswith("14.")
    assert toolchain["glibc"].startswith("2.4")
    assert toolchain["suite"] == "trixie" and toolchain["userland"] == DEFAULT_SPEC.cache_key()
    assert tuple(int(x) for x in toolchain["auditwheel"].split(".")[:2]) >= (6, 1)


def test_python_inside_is_riscv64(userland: Userland, log: Path, tmp_path: Path) -> None:
    result = userland.run(
        ["python3", "-c", "import platform; print(platform.machine())"],
        log=log, cwd=tmp_path, env={}, timeout=300, binds=[tmp_path], capture=True,
    )  # fmt: skip
    assert result.output.strip() == "riscv64"


def test_gcc_inside(userland: Userland, log: Path, tmp_path: Path) -> None:
    result = userland.run(
        ["gcc", "--version"], log=log, cwd=tmp_path, env={}, timeout=300, capture=True,
        binds=[tmp_path],
    )  # fmt: skip
    assert result.output.startswith("gcc (Debian 14.")


def test_binds_cwd_and_clean_environment(
    userland: Userland, log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", "/host/only/wheels")
    (tmp_path / "in.txt").write_text("from the host\n")
    result = userland.run(
        ["sh", "-c", 'pwd; cat in.txt; echo "$GREETING" > out.txt; env'],
        log=log, cwd=tmp_path, env={"GREETING": "from riscv64"}, timeout=300,
        binds=[tmp_path], capture=True,
    )  # fmt: skip
    lines = result.output.splitlines()
    assert lines[:2] == [str(tmp_path), "from the host"]
    assert (tmp_path / "out.txt").read_text() == "from riscv64\n"
    assert "HOME=/root" in lines and not any(line.startswith("PIP_FIND") for line in lines)


def test_install_system_package(userland: Userland, log: Path) -> None:
    userland.install_system_packages(["libyaml-dev"], log)
    assert userland.missing_system_packages(["libyaml-dev"]) == []


def test_bogus_package_is_a_config_error_before_installing(userland: Userland, log: Path) -> None:
    probe = "libffi-dev" if userland.missing_system_packages(["libffi-dev"]) else None
    with pytest.raises(ConfigError, match="no-such-package-xyz"):
        userland.install_system_packages(["libffi-dev", "no-such-package-xyz"], log)
    if probe is not None:  # nothing was installed, not even the valid name
        assert userland.missing_system_packages([probe]) == [probe]


def test_restore_from_tarball(userland: Userland, log: Path) -> None:
    # Last on purpose: it replaces the rootfs the other tests used.
    paths = UserlandPaths.for_spec(CACHE_DIR, DEFAULT_SPEC)
    assert userland_status(CACHE_DIR, DEFAULT_SPEC)["tarball_complete"]
    shutil.rmtree(paths.root)
    restored = ensure_userland(CACHE_DIR, log)
    assert restored.toolchain() == userland.toolchain()
    status = userland_status(CACHE_DIR, DEFAULT_SPEC)
    assert status["ready"] and status["tarball_bytes"] > 50_000_000
