"""Test a repaired wheel the way a user meets it: installed into a fresh venv."""

from __future__ import annotations

from pathlib import Path

from ._run import CommandFailed
from .builders.base import BuildHost, uv_environment
from .errors import BuildFailed
from .recipe import TestSettings


def run_wheel_tests(
    host: BuildHost,
    wheel: Path,
    work: Path,
    settings: TestSettings,
    find_links: Path,
    log: Path,
    timeout: float,
) -> None:
    venv = work / "venv"
    # An empty working directory, so the imports cannot pick up the source tree.
    cwd = work / "cwd"
    cwd.mkdir(parents=True, exist_ok=True)
    binds = [work, wheel.parent, find_links]
    python = str(venv / "bin" / "python")
    env = {"PIP_FIND_LINKS": str(find_links), "PIP_PREFER_BINARY": "1"}

    def run(argv: list[str], extra_env: dict[str, str] | None = None) -> None:
        host.run(
            argv, log=log, cwd=cwd, env={**env, **(extra_env or {})}, timeout=timeout, binds=binds
        )

    if host.uv is None:
        run([host.python, "-m", "venv", str(venv)])
        run([python, "-m", "pip", "install", "--quiet", str(wheel)])
    else:
        # The same venv (with pip, which test commands may use), made at host speed.
        uv_env = uv_environment(env)
        run([host.uv, "venv", "--seed", "--quiet", "--python", host.python, str(venv)], uv_env)
        install = [host.uv, "pip", "install", "--quiet", "--python", python, str(wheel)]
        try:
            # pip's --prefer-binary, which uv lacks: wheels only, so that uv takes the
            # newest version that has one (our numpy, not a newer sdist from PyPI that
            # would compile for an hour); building from source only when that fails.
            run([*install, "--no-build"], uv_env)
        except CommandFailed:
            run(install, uv_env)
    try:
        for module in settings.imports:
            run([python, "-c", f"import {module}"])
        for command in settings.commands:
            run(
                ["sh", "-c", command],
                {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"},
            )
    except CommandFailed as failed:
        raise BuildFailed(
            f"the wheel's test failed: `{failed.result.argv[-1]}` exited with code "
            f"{failed.result.returncode}",
            hint=f"the wheel was not added to the wheelhouse; full log: {log}",
            details=failed.details,
        ) from None
