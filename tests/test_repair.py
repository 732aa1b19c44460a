"""Each way a build or repair step can leave the wrong number of wheels has its own error."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from factory._run import RunResult
from factory.errors import NoWheelProduced, RepairProducedNothing, SeveralWheelsProduced
from factory.recipe import RepairSettings
from factory.repair import repair, single_wheel

PLATFORM_WHEEL = "demo-1.0-cp313-cp313-linux_riscv64.whl"


class SilentHost:
    """A BuildHost whose commands all succeed and write nothing."""

    name = "silent"
    arch = "riscv64"
    python = "/usr/bin/python3"
    uv: str | None = None

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        log: Path,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float | None,
        binds: Sequence[Path] = (),
        on_line: Callable[[str], None] | None = None,
    ) -> RunResult:
        self.commands.append(list(argv))
        return RunResult(tuple(argv), 0, 0.0, "")

    def toolchain(self) -> dict[str, str]:
        return {}

    def missing_system_packages(self, packages: Sequence[str]) -> list[str]:
        return []

    def install_system_packages(self, packages: Sequence[str], log: Path) -> None:
        pass


def test_no_wheel(tmp_path: Path) -> None:
    with pytest.raises(NoWheelProduced) as caught:
        single_wheel(tmp_path, "python -m build", tmp_path / "build.log")
    assert caught.value.exit_code == 4
    assert caught.value.message == f"python -m build exited 0 but left no wheel in {tmp_path}"
    assert caught.value.hint == (
        f"the build backend's output in {tmp_path / 'build.log'} says what it made instead"
    )


def test_several_wheels(tmp_path: Path) -> None:
    for name in ("b-1.0-py3-none-any.whl", "a-1.0-py3-none-any.whl"):
        (tmp_path / name).write_bytes(b"zip")
    with pytest.raises(SeveralWheelsProduced) as caught:
        single_wheel(tmp_path, "python -m build", tmp_path / "build.log")
    assert caught.value.exit_code == 4
    assert caught.value.message == (
        "python -m build made 2 wheels, expected one: "
        "a-1.0-py3-none-any.whl, b-1.0-py3-none-any.whl"
    )
    assert "build.subdirectory" in caught.value.hint


def test_one_wheel(tmp_path: Path) -> None:
    (tmp_path / PLATFORM_WHEEL).write_bytes(b"zip")
    (tmp_path / "build-constraints.txt").write_text("")
    assert single_wheel(tmp_path, "python -m build", tmp_path / "log") == tmp_path / PLATFORM_WHEEL


def test_repair_that_writes_nothing(tmp_path: Path) -> None:
    wheel = tmp_path / "dist" / PLATFORM_WHEEL
    wheel.parent.mkdir()
    wheel.write_bytes(b"zip")
    host = SilentHost()
    log = tmp_path / "build.log"
    with pytest.raises(RepairProducedNothing) as caught:
        repair(host, wheel, tmp_path / "repaired", RepairSettings(), log, timeout=60)
    assert caught.value.exit_code == 4
    assert caught.value.message == (
        f"auditwheel repair exited 0 but wrote no wheel into {tmp_path / 'repaired'}"
    )
    assert str(log) in caught.value.hint and "repair.policy" in caught.value.hint
    assert host.commands[0][1:4] == ["-m", "auditwheel", "repair"]


def test_pure_wheel_is_not_repaired(tmp_path: Path) -> None:
    wheel = tmp_path / "dist" / "demo-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"zip")
    host = SilentHost()
    repaired = repair(host, wheel, tmp_path / "repaired", RepairSettings(), tmp_path / "log", 60)
    assert repaired == tmp_path / "repaired" / wheel.name
    assert host.commands == []
