"""The one subprocess helper, with real processes: it never hangs and leaves no orphans."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from factory._run import TAIL_LINES, CommandFailed, run
from factory.errors import EnvironmentProblem, StepTimeout

pytestmark = pytest.mark.integration


def process_alive(pid: int) -> bool:
    """Running or sleeping; a zombie waiting to be reaped is dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_dead(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process_alive(pid)


def test_background_process_holding_stdout_does_not_hang(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    started = time.monotonic()
    result = run(
        ["sh", "-c", f"echo before; sleep 300 & echo $! > {pid_file}; echo after"],
        log=tmp_path / "log",
        timeout=60,
    )
    assert time.monotonic() - started < 15
    assert result.returncode == 0
    assert result.output.splitlines() == ["before", "after"]
    sleeper = int(pid_file.read_text())
    assert wait_dead(sleeper), "the background sleep outlived the command"
    assert (tmp_path / "log").read_text().splitlines()[1:] == ["before", "after"]


def test_background_process_with_its_own_output_is_killed_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    run(["sh", "-c", f"sleep 300 > /dev/null 2>&1 & echo $! > {pid_file}"], timeout=60)
    assert wait_dead(int(pid_file.read_text()))


def test_missing_tool_is_an_environment_problem() -> None:
    with pytest.raises(EnvironmentProblem) as caught:
        run(["no-such-tool-anywhere", "--version"])
    assert caught.value.exit_code == 5
    assert caught.value.message.startswith("no-such-tool-anywhere is not installed")
    assert "install no-such-tool-anywhere" in caught.value.hint


def test_missing_working_directory_is_not_called_a_missing_tool(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match=r"working directory .* does not exist"):
        run(["true"], cwd=tmp_path / "absent")


def test_failing_command_carries_its_output_tail(tmp_path: Path) -> None:
    script = "for i in $(seq 1 100); do echo line $i; done; exit 3"
    with pytest.raises(CommandFailed) as caught:
        run(["sh", "-c", script], log=tmp_path / "log")
    error = caught.value
    assert error.exit_code == 4
    assert "failed with exit code 3" in error.message
    assert error.details == tuple(f"line {i}" for i in range(101 - TAIL_LINES, 101))
    assert str(tmp_path / "log") in error.hint


def test_output_without_a_final_newline_and_invalid_utf8_is_kept() -> None:
    result = run(["sh", "-c", r"printf 'caf\303\251\n\377x'"], capture=True)
    assert result.output == "café\n\ufffdx"


def test_timeout_kills_the_whole_tree(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    started = time.monotonic()
    with pytest.raises(StepTimeout):
        run(["sh", "-c", f"sleep 300 & echo $! > {pid_file}; wait"], timeout=1)
    assert time.monotonic() - started < 15
    assert wait_dead(int(pid_file.read_text()))


def test_ctrl_c_kills_the_whole_tree_and_is_re_raised(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    # A terminal's Ctrl-C raises KeyboardInterrupt; a test run started in the background
    # by a non-interactive shell inherits SIGINT ignored, which no user pressing Ctrl-C has.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt_once_started() -> None:
        deadline = time.monotonic() + 10
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C delivers to the factory

    interrupter = threading.Thread(target=interrupt_once_started)
    interrupter.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run(["sh", "-c", f"sleep 300 & echo $! > {pid_file}; wait"], timeout=60)
    finally:
        interrupter.join()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 15
    assert wait_dead(int(pid_file.read_text()))
