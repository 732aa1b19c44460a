"""Build environments kept between builds, for hosts that build with the host-native uv.

Under emulation a fresh build environment costs more than its installation: nothing in
it has bytecode yet, so the build backend byte-compiles what it imports (setuptools,
Cython...) under qemu, in every build, and the bytecode goes with the environment.
Measured in the riscv64 userland: Cython translating pyyaml's ``_yaml.pyx`` takes 32 s
in a fresh environment and 14 s once its bytecode exists; importing setuptools, 4.5 s
against 2.6 s.

So such a build first resolves its static build requirements (``uv pip compile``, with
our wheels pinned: what build isolation would install now, plus the build frontend),
and keeps one environment per resolution under the cache: made once (``uv venv``,
``uv pip sync``, READY written last, under a lock), then used by ``python -m build
--no-isolation``; the bytecode the first build writes serves every later one. A new
release of a requirement (or our own wheel of it arriving in the wheelhouse: the
candidates' hashes are part of the resolution) is a new environment: a build sees what
isolation would install, plus the build frontend. A backend that asks for more than the
static requirements (pypa/build then stops with "Unmet dependencies") builds isolated.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ._fs import write_atomically
from ._run import CommandFailed
from .builders.base import BuildHost
from .builders.environment import DEFAULT_PATH
from .builders.userland import TOOL_CONSTRAINTS
from .locks import exclusive_lock
from .progress import Progress
from .records import INFORMATIONAL_TOOLCHAIN

ENVIRONMENTS = "build-envs"  # under the cache directory
READY = "READY"  # holds the resolution; written last
# pypa/build's message when --no-isolation finds the environment lacking a requirement.
UNMET = "Unmet dependencies"


def frontend_requirement() -> str:
    """The build frontend at the version the factory pins for the userland."""
    for line in TOOL_CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if line.startswith("build=="):
            return line
    raise RuntimeError(f"{TOOL_CONSTRAINTS} pins no build frontend")  # a broken checkout


def environment_key(resolution: str, toolchain: Mapping[str, str]) -> str:
    """The same resolved requirements for the same interpreter: the same environment."""
    fixed = {k: v for k, v in toolchain.items() if k not in INFORMATIONAL_TOOLCHAIN}
    payload = json.dumps({"requirements": resolution, "toolchain": fixed}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def kept_environment(
    host: BuildHost,
    requires: Sequence[str],
    work: Path,
    cache: Path,
    uv_env: Mapping[str, str],
    binds: Sequence[Path],
    log: Path,
    timeout: float,
    say: Callable[[str], None],
) -> Path | None:
    """A ready environment with these static build requirements (its directory), or
    None: no host-native uv, or they do not resolve here."""
    if host.uv is None:
        return None
    work.mkdir(exist_ok=True)
    binds = [*binds, work]
    wanted, resolved = work / "build-env.in", work / "build-env.txt"
    wanted.write_text("".join(f"{line}\n" for line in [*requires, frontend_requirement()]))
    compile_argv = [
        host.uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--generate-hashes",
        "--python", host.python, str(wanted), "--output-file", str(resolved),
    ]  # fmt: skip
    try:
        host.run(compile_argv, log=log, cwd=work, env=uv_env, timeout=timeout, binds=binds)
    except CommandFailed:
        say("  build environment: its requirements and the build frontend do not resolve "
            "together here; building isolated")  # fmt: skip
        return None
    resolution = resolved.read_text(encoding="utf-8")
    directory = cache / ENVIRONMENTS / environment_key(resolution, host.toolchain())
    lock = cache / "locks" / f"build-env-{directory.name}.lock"
    with exclusive_lock(lock, what=f"build environment {directory}", wait_limit=timeout):
        if (directory / READY).is_file():
            say(f"  build environment: kept, with its bytecode ({directory})")
            return directory
        shutil.rmtree(directory, ignore_errors=True)  # a killed creation's leftovers
        directory.mkdir(parents=True)
        inside = [*binds, directory]
        for argv in (
            [host.uv, "venv", "--quiet", "--python", host.python, str(directory)],
            [host.uv, "pip", "sync", "--quiet", "--python", str(directory / "bin" / "python"),
             str(resolved)],
        ):  # fmt: skip
            host.run(argv, log=log, cwd=work, env=uv_env, timeout=timeout, binds=inside)
        write_atomically(directory / READY, resolution.encode())
    say(f"  build environment: made for this and later builds ({directory})")
    return directory


def no_isolation_build(
    host: BuildHost,
    directory: Path,
    tree: Path,
    frontend_args: Sequence[str],
    env: Mapping[str, str],
    binds: Sequence[Path],
    log: Path,
    timeout: float,
    progress: Progress,
) -> bool:
    """``python -m build --no-isolation`` of ``tree`` in the kept environment; False when
    the backend asked for a requirement the environment lacks (nothing was built: build
    it isolated)."""
    python = str(directory / "bin" / "python")
    # As build isolation does: the environment's scripts (cython, cmake, ninja...) first.
    path = f"{directory / 'bin'}:{DEFAULT_PATH}"
    try:
        host.run(
            [python, "-m", "build", "--no-isolation", *frontend_args, str(tree)],
            log=log,
            cwd=tree,
            env={**env, "PATH": path},
            timeout=timeout,
            binds=[*binds, directory],
            on_line=progress.output_line,
        )
    except CommandFailed as failed:
        if UNMET not in failed.result.output:
            raise
        progress.message(
            "  build environment: the backend asks for more than its static "
            "requirements; building isolated"
        )
        return False
    return True
