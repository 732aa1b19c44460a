"""From a raw wheel to a distributable one: auditwheel repair, then the build tag."""

from __future__ import annotations

import shutil
from pathlib import Path

from packaging.utils import parse_wheel_filename

from .builders.base import BuildHost
from .errors import NoWheelProduced, RepairProducedNothing, SeveralWheelsProduced
from .recipe import RepairSettings


def is_pure(wheel: Path) -> bool:
    _, _, _, tags = parse_wheel_filename(wheel.name)
    return all(tag.platform == "any" for tag in tags)


def repair(
    host: BuildHost,
    wheel: Path,
    out_dir: Path,
    settings: RepairSettings,
    log: Path,
    timeout: float,
) -> Path:
    """Graft the shared libraries the wheel needs and tag it with the lowest policy it meets.

    Pure-Python wheels pass through: auditwheel has nothing to do for them.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if is_pure(wheel):
        return Path(shutil.copy2(wheel, out_dir / wheel.name))
    argv = [host.python, "-m", "auditwheel", "repair", "--wheel-dir", str(out_dir)]
    if settings.policy != "auto":
        argv += ["--plat", settings.policy]
    for soname in settings.exclude:
        argv += ["--exclude", soname]
    host.run(
        [*argv, str(wheel)],
        log=log,
        cwd=out_dir,
        env={},
        timeout=timeout,
        binds=[wheel.parent, out_dir],
    )
    wheels = sorted(out_dir.glob("*.whl"))
    if not wheels:
        raise RepairProducedNothing(
            f"auditwheel repair exited 0 but wrote no wheel into {out_dir}",
            hint=f"its output in {log} says why; `auditwheel show {wheel.name}` shows the "
            "policies the wheel meets (repair.policy in the recipe picks one)",
        )
    return single_wheel(out_dir, "auditwheel repair", log)


def add_build_tag(
    host: BuildHost, wheel: Path, build_number: int, log: Path, timeout: float
) -> Path:
    """Build number N > 0 becomes the wheel's build tag (``name-1.0-N-cp313-...``).

    Published file names never get new bytes; a changed recipe gets a new build
    number instead, and pip prefers the higher build tag.
    """
    if build_number == 0:
        return wheel
    host.run(
        [host.python, "-m", "wheel", "tags", "--remove", "--build", str(build_number), wheel.name],
        log=log,
        cwd=wheel.parent,
        env={},
        timeout=timeout,
        binds=[wheel.parent],
    )
    return single_wheel(wheel.parent, "wheel tags", log)


def single_wheel(directory: Path, made_by: str, log: Path) -> Path:
    """The one wheel ``made_by`` left in ``directory`` (each step gets a fresh directory)."""
    wheels = sorted(directory.glob("*.whl"))
    if len(wheels) > 1:
        raise SeveralWheelsProduced(
            f"{made_by} made {len(wheels)} wheels, expected one: "
            f"{', '.join(w.name for w in wheels)}",
            hint="a recipe builds one wheel: point build.subdirectory at one project, "
            "or write a recipe per wheel",
        )
    if not wheels:
        raise NoWheelProduced(
            f"{made_by} exited 0 but left no wheel in {directory}",
            hint=f"the build backend's output in {log} says what it made instead",
        )
    return wheels[0]
