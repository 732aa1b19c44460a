"""Build on this machine, with the interpreter the factory itself runs on.

On a RISC-V board this is the real thing; elsewhere it builds for the host's own
architecture (used by the fast tests).
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .._run import CommandFailed, RunResult, run
from ..errors import ConfigError, EnvironmentProblem
from .debian import missing_packages
from .environment import native_environment

TOOLS = ("build", "auditwheel", "wheel", "pip")


class NativeHost:
    def __init__(self) -> None:
        self._python = sys.executable

    @property
    def name(self) -> str:
        return f"native-{self.arch}"

    @property
    def arch(self) -> str:
        return platform.machine()

    @property
    def python(self) -> str:
        return self._python

    @property
    def uv(self) -> str | None:
        return None  # natively pip is fast enough, and --native stays as it always was

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
        return run(
            argv,
            log=log,
            cwd=cwd,
            env=native_environment(env, Path(self._python)),
            timeout=timeout,
            on_line=on_line,
        )

    @functools.cache  # noqa: B019 - one host object per process; versions do not change
    def toolchain(self) -> dict[str, str]:
        versions = {
            "python": platform.python_version(),
            "libc": "-".join(platform.libc_ver()),
            "cc": _compiler_version(),
        }
        for tool in TOOLS:
            try:
                versions[tool] = importlib.metadata.version(tool)
            except importlib.metadata.PackageNotFoundError:
                versions[tool] = "missing"
        return versions

    def missing_system_packages(self, packages: Sequence[str]) -> list[str]:
        return missing_packages(packages)

    def install_system_packages(self, packages: Sequence[str], log: Path) -> None:
        missing = self.missing_system_packages(packages)
        if not missing:
            return
        if os.geteuid() != 0:
            raise EnvironmentProblem(
                f"system packages not installed: {' '.join(missing)}",
                hint=f"run: sudo apt-get install -y {' '.join(missing)}",
            )
        unknown = [
            p for p in missing if run(["apt-cache", "show", p], log=log, check=False).returncode
        ]
        if unknown:
            raise ConfigError(
                f"system requirement{'s' if len(unknown) > 1 else ''} not in Debian: "
                f"{' '.join(unknown)}",
                hint="fix build.system_requirements in the recipe (`apt-cache search` finds names)",
            )
        try:
            run(
                ["apt-get", "install", "-y", "--no-install-recommends", *missing],
                log=log,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
        except CommandFailed as failed:
            raise EnvironmentProblem(
                f"apt-get could not install {' '.join(missing)}", details=failed.details
            ) from None


def _compiler_version() -> str:
    try:
        result = run(["cc", "--version"], capture=True, check=False)
    except EnvironmentProblem:
        return "none"
    return result.output.splitlines()[0] if result.output else "unknown"
