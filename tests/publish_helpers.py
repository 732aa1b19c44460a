"""Publishers and remotes for the publish tests: real git, local bare repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .helpers import GIT_IDENTITY
from .index_helpers import add_wheel

BRANCH = "gh-pages"


def make_remote(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True, timeout=60)
    return path


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={repo}", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **GIT_IDENTITY},
    ).stdout


def commits(remote: Path, branch: str = BRANCH) -> list[str]:
    """The branch's commits, newest first; [] when it does not exist."""
    refs = git_out(remote, "for-each-ref", "--format=%(refname)", f"refs/heads/{branch}")
    if not refs.strip():
        return []
    return git_out(remote, "rev-list", f"refs/heads/{branch}").split()


def branch_files(remote: Path, branch: str = BRANCH) -> dict[str, bytes]:
    """Every file on the branch and its bytes (symbolic links are refused: the published
    tree must be self-contained)."""
    listing = git_out(remote, "ls-tree", "-r", "-z", f"refs/heads/{branch}")
    files = {}
    for entry in listing.split("\0"):
        if not entry:
            continue
        info, _, path = entry.partition("\t")
        mode, _, blob = info.split()
        assert mode != "120000", f"{path} is a symbolic link on the branch"
        files[path] = subprocess.run(
            ["git", f"--git-dir={remote}", "cat-file", "blob", blob],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
    return files


def directory_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def install_hook(remote: Path, name: str, script: str) -> None:
    hook = remote / "hooks" / name
    hook.write_text("#!/bin/sh\n" + script)
    hook.chmod(0o755)


@dataclass(frozen=True)
class Publisher:
    """A machine that publishes: its own wheelhouse, build logs and cache."""

    root: Path

    @property
    def wheelhouse(self) -> Path:
        return self.root / "wheelhouse"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def add(
        self,
        name: str,
        version: str,
        *,
        requires: tuple[str, ...] = (),
        requires_python: str | None = None,
        payload: bytes = b"",
    ) -> Path:
        """A wheel in this machine's wheelhouse, with its .metadata, record and catalog line."""
        return add_wheel(
            self.wheelhouse,
            self.root / "scratch",
            name,
            version,
            requires=requires,
            requires_python=requires_python,
            payload=payload,
        )

    def argv(self, command: str, remote: Path | str, *args: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "factory",
            command,
            "--remote",
            str(remote),
            "--wheelhouse",
            str(self.wheelhouse),
            "--logs",
            str(self.root / "builds"),
            "--recipes",
            str(self.root / "recipes"),
            *args,
        ]

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_"))}
        return {**env, "FACTORY_CACHE_DIR": str(self.cache), **(extra or {})}

    def run(
        self,
        command: str,
        remote: Path | str,
        *args: str,
        extra_env: Mapping[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(command, remote, *args),
            cwd=self.root,
            env=self.env(extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(
        self,
        command: str,
        remote: Path | str,
        *args: str,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(command, remote, *args),
            cwd=self.root,
            env=self.env(extra_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )


def publisher(root: Path) -> Publisher:
    root.mkdir(parents=True, exist_ok=True)
    return Publisher(root)
