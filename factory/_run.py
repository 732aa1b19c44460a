"""The one subprocess helper: echo, log, time out, kill the whole process tree.

Every external command the factory runs goes through ``run`` so that all of them are
logged the same way, can be interrupted cleanly and fail with the same kind of error.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import BuildFailed, EnvironmentProblem, StepTimeout
from .redact import redact_url

TAIL_LINES = 40
KILL_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class RunResult:
    argv: tuple[str, ...]
    returncode: int
    seconds: float
    output: str  # the whole output when captured, else the last TAIL_LINES lines


def format_command(argv: Sequence[str]) -> str:
    # The one place commands reach logs: a git URL's token must not (factory.redact).
    return "+ " + redact_url(shlex.join(argv))


def run(
    argv: Sequence[str],
    *,
    log: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    capture: bool = False,
    on_line: Callable[[str], None] | None = None,
) -> RunResult:
    """Run ``argv`` with stdout and stderr merged into ``log`` (appended).

    The child gets its own session so that a timeout or Ctrl-C kills every process
    it started (compilers, chroots), not just the direct child.
    """
    argv = tuple(str(a) for a in argv)
    log_file: IO[str] | None = None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log_file = log.open("a", encoding="utf-8", errors="replace")
        log_file.write(format_command(argv) + "\n")
        log_file.flush()
    tail: collections.deque[str] = collections.deque(maxlen=None if capture else TAIL_LINES)
    started = time.monotonic()
    try:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
        except FileNotFoundError:
            raise EnvironmentProblem(
                f"{argv[0]} is not installed (needed to run: {shlex.join(argv)})",
                hint=f"install {argv[0]} (`make deps` installs every tool the factory uses)",
            ) from None
        reader = threading.Thread(target=_pump, args=(proc, log_file, tail, on_line), daemon=True)
        reader.start()
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            reader.join(timeout=KILL_GRACE_SECONDS)
            raise StepTimeout(
                f"{argv[0]} ran past its timeout of {timeout:g} s and was killed",
                hint=_log_hint(log, "raise the recipe's build.timeout if the build is just slow"),
            ) from None
        except BaseException:  # Ctrl-C or any other interruption: leave no orphans.
            _kill_tree(proc)
            raise
        reader.join()
    finally:
        if log_file is not None:
            log_file.close()
    result = RunResult(argv, returncode, time.monotonic() - started, "".join(tail))
    if check and returncode != 0:
        raise CommandFailed(result, log)
    return result


class CommandFailed(BuildFailed):
    """A command exited non-zero; carries its output tail for the user."""

    def __init__(self, result: RunResult, log: Path | None) -> None:
        super().__init__(
            f"`{shlex.join(result.argv[:3])}{' ...' if len(result.argv) > 3 else ''}` "
            f"failed with exit code {result.returncode}",
            hint=_log_hint(log, "the output above shows why"),
            details=tuple(result.output.splitlines()[-TAIL_LINES:]),
        )
        self.result = result


def _log_hint(log: Path | None, advice: str) -> str:
    return f"{advice}; full log: {log}" if log is not None else advice


def _pump(
    proc: subprocess.Popen[str],
    log_file: IO[str] | None,
    tail: collections.deque[str],
    on_line: Callable[[str], None] | None,
) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        tail.append(line)
        if log_file is not None:
            log_file.write(line)
            log_file.flush()
        if on_line is not None:
            on_line(line.rstrip("\n"))


def _kill_tree(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the child's process group, then SIGKILL what is left after a grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            if sig == signal.SIGTERM:
                # The leader is gone; make sure no grandchild outlives it.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue
