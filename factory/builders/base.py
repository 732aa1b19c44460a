"""The interface every place that runs build commands implements."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from .._run import RunResult


class BuildHost(Protocol):
    """A machine (real or emulated) that runs the build, repair and test commands.

    Paths are the same inside and outside: an emulated userland bind-mounts the work
    directories at their host paths, so callers never translate paths.
    """

    @property
    def name(self) -> str:
        """Short identity for records and progress, e.g. ``native-x86_64``."""
        ...

    @property
    def arch(self) -> str:
        """The machine architecture the wheels are built for, e.g. ``riscv64``."""
        ...

    @property
    def python(self) -> str:
        """The interpreter (inside the host) that has build, auditwheel and wheel."""
        ...

    @property
    def uv(self) -> str | None:
        """A uv (inside the host) that installs build and test environments faster than
        pip, or None: pip installs them."""
        ...

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
        """Run a command in the host; ``env`` is added to the host's clean base environment.

        ``binds`` are host directories the command needs to read or write.
        """
        ...

    def toolchain(self) -> dict[str, str]:
        """Versions that go into the fingerprint: python, compiler, libc, tools."""
        ...

    def missing_system_packages(self, packages: Sequence[str]) -> list[str]:
        """Which of these Debian packages are not installed."""
        ...

    def install_system_packages(self, packages: Sequence[str], log: Path) -> None:
        """Install Debian packages; raise ConfigError naming any that do not exist."""
        ...


@runtime_checkable
class Accelerated(Protocol):
    """A host whose compilers can be swapped for host-native ones (the userland)."""

    def without_acceleration(self) -> BuildHost: ...


def uv_environment(pip_env: Mapping[str, str]) -> dict[str, str]:
    """uv's spelling of the pip settings a step gives (find-links, constraints), plus
    what keeps uv to the interpreter it is given and quiet about the cache's filesystem.

    uv has no --prefer-binary: among versions of a requirement it takes the newest, as
    pip does without it; build requirements that are our recipes are pinned by the
    constraints, and the rest ship wheels (setuptools, Cython, meson, cmake, ninja...).
    """
    env = {"UV_PYTHON_DOWNLOADS": "never", "UV_LINK_MODE": "copy", "UV_NO_PROGRESS": "1"}
    if "PIP_FIND_LINKS" in pip_env:
        env["UV_FIND_LINKS"] = pip_env["PIP_FIND_LINKS"]
    if "PIP_CONSTRAINT" in pip_env:
        env["UV_CONSTRAINT"] = pip_env["PIP_CONSTRAINT"]
    return env


def host_for_recipe(host: BuildHost, accelerate: bool) -> BuildHost:
    """The host a recipe builds on: fully emulated when it says ``accelerate: false``."""
    if not accelerate and isinstance(host, Accelerated):
        return host.without_acceleration()
    return host
