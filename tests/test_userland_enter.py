"""The command that enters the userland, run for real with stand-ins for the
privileged tools (unshare, mount, chroot) that record what they were asked to do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from factory._run import run
from factory.builders.userland import wrapped_command

pytestmark = pytest.mark.integration

# Each stand-in appends its name and arguments, one per line, to $RECORD.
STAND_IN = """#!/bin/sh
{{ echo "== {name}"; for arg in "$@"; do echo "$arg"; done; }} >> "$RECORD"
{action}
"""
ACTIONS = {
    # unshare --mount --fork -- CMD...: run CMD (the real one would give it a namespace).
    "unshare": 'while [ "$1" != -- ]; do shift; done; shift; exec "$@"',
    "mount": "exit 0",
    "chroot": "exit 0",
}


def recorded_calls(record: Path) -> list[tuple[str, list[str]]]:
    calls: list[tuple[str, list[str]]] = []
    for line in record.read_text().splitlines():
        if line.startswith("== "):
            calls.append((line[3:], []))
        else:
            calls[-1][1].append(line)
    return calls


def enter(tmp_path: Path, root: Path, binds: list[Path], mount_fails: bool = False) -> int:
    tools = tmp_path / "bin"
    tools.mkdir()
    for name, action in ACTIONS.items():
        script = tools / name
        script.write_text(
            STAND_IN.format(
                name=name, action="exit 1" if mount_fails and name == "mount" else action
            )
        )
        script.chmod(0o755)
    command = wrapped_command(root, ["python3", "-V"], Path("/srv/pkg"), {"A": "1"}, binds)
    env = {"PATH": f"{tools}:{os.environ['PATH']}", "RECORD": str(tmp_path / "record")}
    return run(command, env=env, check=False).returncode


def test_binds_each_path_at_the_same_place_then_chroots_with_a_clean_environment(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    work = Path("/srv/pkg")
    assert enter(tmp_path, root, [work, work / "sub"]) == 0
    calls = recorded_calls(tmp_path / "record")
    names = [name for name, _ in calls]
    assert names == ["unshare", "mount", "mount", "mount", "mount", "chroot"]
    mounts = [args for name, args in calls if name == "mount"]
    # /proc, /sys, /dev, then the work directory once (its subdirectory comes with it).
    assert mounts == [
        ["--rbind", path, f"{root}{path}"] for path in ("/proc", "/sys", "/dev", "/srv/pkg")
    ]
    chroot_args = calls[-1][1]
    assert chroot_args[0] == str(root)
    inner = chroot_args[1:]
    # env -i: nothing of the host's environment passes, only what is listed.
    assert inner[:2] == ["/usr/bin/env", "-i"]
    assert "--chdir=/srv/pkg" in inner
    assert "A=1" in inner and "HOME=/root" in inner
    assert not [arg for arg in inner if arg.startswith(("RECORD=", "PIP_FIND_LINKS="))]
    assert inner[-2:] == ["python3", "-V"]


def test_a_failed_mount_stops_before_chroot(tmp_path: Path) -> None:
    assert enter(tmp_path, tmp_path / "root", [Path("/srv/pkg")], mount_fails=True) == 125
    assert [name for name, _ in recorded_calls(tmp_path / "record")] == ["unshare", "mount"]
