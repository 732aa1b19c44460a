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


def host_for_recipe(host: BuildHost, accelerate: bool) -> BuildHost:
    """The host a recipe builds on: fully emulated when it says ``accelerate: false``."""
    if not accelerate and isinstance(host, Accelerated):
        return host.without_acceleration()
    return host
