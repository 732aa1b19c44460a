"""The one subprocess helper: echo, log, time out, kill the whole process tree.

Every external command the factory runs goes through ``run`` so that all of them are
logged the same way, can be interrupted cleanly and fail with the same kind of error.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import os
import selectors
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import BuildFailed, EnvironmentProblem, StepTimeout
from .redact import redact_url

TAIL_LINES = 40
KILL_GRACE_SECONDS = 5.0
# How long processes a command left running may keep writing after it exited.
DRAIN_SECONDS = 2.0
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class RunResult:
    argv: tuple[str, ...]
    returncode: int
    seconds: float
    output: str  # the whole output when captured, else the last TAIL_LINES lines


def format_command(argv: Sequence[str], redact: Callable[[str], str] = redact_url) -> str:
    # The one place commands reach logs: a git URL's token must not (factory.redact).
    return "+ " + redact(shlex.join(argv))


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
    redact: Callable[[str], str] = redact_url,
) -> RunResult:
    """Run ``argv`` with stdout and stderr merged into ``log`` (appended).

    ``redact`` is applied to the command line and to every output line before they reach
    the log, the caller or an error (``factory.redact``: credentials in URLs, tokens).

    The child gets its own session so that a timeout or Ctrl-C kills every process
    it started (compilers, chroots), not just the direct child. The output is read in
    this thread, so a background process that keeps the pipe open after the command
    exited cannot make the factory wait for it: it is killed (see _read_until_done).
    """
    argv = tuple(str(a) for a in argv)
    log_file: IO[str] | None = None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log_file = log.open("a", encoding="utf-8", errors="replace")
        log_file.write(format_command(argv, redact) + "\n")
        log_file.flush()
    output = _Output(log_file, capture, on_line, redact)
    started = time.monotonic()
    try:
        proc = _start(argv, cwd, env, redact)
        try:
            returncode = _read_until_done(proc, output, started, timeout)
        except _Timeout:
            _kill_tree(proc)
            raise StepTimeout(
                f"{argv[0]} ran past its timeout of {timeout:g} s and was killed",
                hint=_log_hint(log, "raise the recipe's build.timeout if the build is just slow"),
                details=output.tail_lines(),
            ) from None
        except BaseException:  # Ctrl-C, SIGTERM or any other interruption: leave no orphans.
            _kill_tree(proc)
            raise
        finally:
            assert proc.stdout is not None
            proc.stdout.close()
    finally:
        output.finish()
        if log_file is not None:
            log_file.close()
    result = RunResult(argv, returncode, time.monotonic() - started, output.text())
    if check and returncode != 0:
        raise CommandFailed(result, log, redact)
    return result


def _start(
    argv: tuple[str, ...],
    cwd: Path | None,
    env: Mapping[str, str] | None,
    redact: Callable[[str], str],
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError as error:
        if cwd is not None and str(error.filename) == str(cwd):
            raise EnvironmentProblem(
                f"cannot run {argv[0]}: its working directory {cwd} does not exist"
            ) from None
        raise EnvironmentProblem(
            f"{argv[0]} is not installed (needed to run: {redact(shlex.join(argv))})",
            hint=f"install {argv[0]} (`make deps` installs every tool the factory uses)",
        ) from None
    except PermissionError:
        raise EnvironmentProblem(
            f"{argv[0]} is not executable (needed to run: {redact(shlex.join(argv))})",
            hint=f"check the permissions of {argv[0]}",
        ) from None


class _Timeout(Exception):
    pass


class _Output:
    """Where a command's output goes: the log, the caller's callback, and the tail kept."""

    def __init__(
        self,
        log_file: IO[str] | None,
        capture: bool,
        on_line: Callable[[str], None] | None,
        redact: Callable[[str], str],
    ) -> None:
        self._log_file = log_file
        self._on_line = on_line
        self._redact = redact
        self._tail: collections.deque[str] = collections.deque(
            maxlen=None if capture else TAIL_LINES
        )
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""

    def feed(self, chunk: bytes) -> None:
        text = self._partial + self._decoder.decode(chunk)
        *lines, self._partial = text.split("\n")
        for line in lines:
            self._line(line + "\n")

    def finish(self) -> None:
        text = self._partial + self._decoder.decode(b"", final=True)
        self._partial = ""
        if text:
            self._line(text)

    def _line(self, line: str) -> None:
        line = self._redact(line)
        self._tail.append(line)
        if self._log_file is not None:
            self._log_file.write(line)
            self._log_file.flush()
        if self._on_line is not None:
            self._on_line(line.rstrip("\n"))

    def text(self) -> str:
        return "".join(self._tail)

    def tail_lines(self) -> tuple[str, ...]:
        return tuple(line.rstrip("\n") for line in list(self._tail)[-TAIL_LINES:])


def _read_until_done(
    proc: subprocess.Popen[bytes], output: _Output, started: float, timeout: float | None
) -> int:
    """Copy the output until the command has exited and the pipe is closed; its exit code.

    The pipe stays open as long as any process holds its write end, e.g. a daemon the
    command started in the background (``sh -c 'sleep 300 &'``). Once the command itself
    has exited, such leftovers get DRAIN_SECONDS to finish writing, then the whole
    process group is killed and reading stops, so the call always returns.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = None if timeout is None else started + timeout
    exited_at: float | None = None
    killed_leftovers = False
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is None and deadline is not None and now >= deadline:
                raise _Timeout
            if exited_at is not None and now - exited_at >= DRAIN_SECONDS:
                if killed_leftovers:
                    break  # a process outside the group (it called setsid) holds the pipe
                _kill_group(proc.pid, signal.SIGKILL)
                killed_leftovers, exited_at = True, now
            wait = POLL_SECONDS if deadline is None else min(POLL_SECONDS, deadline - now)
            if selector.select(max(wait, 0.0)):
                chunk = os.read(fd, 65536)
                if not chunk:
                    break  # every writer is gone
                output.feed(chunk)
    returncode = proc.wait()
    # Background processes the command left behind must not outlive it either.
    _kill_group(proc.pid, signal.SIGKILL)
    return returncode


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    # The group outlives its leader while any member is alive; once all are gone the
    # id is free and there is nothing to kill.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class CommandFailed(BuildFailed):
    """A command exited non-zero; carries its output tail for the user."""

    def __init__(
        self, result: RunResult, log: Path | None, redact: Callable[[str], str] = redact_url
    ) -> None:
        super().__init__(
            f"`{redact(shlex.join(result.argv[:3]))}{' ...' if len(result.argv) > 3 else ''}` "
            f"failed with exit code {result.returncode}",
            hint=_log_hint(log, "the output above shows why"),
            details=tuple(result.output.splitlines()[-TAIL_LINES:]),
        )
        self.result = result


def _log_hint(log: Path | None, advice: str) -> str:
    return f"{advice}; full log: {log}" if log is not None else advice


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
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
