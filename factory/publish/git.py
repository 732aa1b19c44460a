"""The git edge of publishing: one cache repository per remote branch, its work tree,
commits and pushes, all through ``_run`` (logged, redacted, with deadlines).

The remote is named on the command line of each fetch and push, never written into a
config file, so a URL that carries credentials (``https://user:token@host/...``) is not
stored anywhere; logs show it redacted. A token from the environment reaches git the way
actions/checkout gives it, as an ``http.<url>.extraHeader``, but through ``GIT_CONFIG_*``
environment entries of the git process instead of ``.git/config``.

The push is the only step that changes what is published, and it is atomic on the
remote: the branch moves from the commit this run built on to the new one, or not at
all. A push that loses a race is told apart from one that fails by looking at the
remote again (``remote_tip``), not by parsing git's messages.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .._run import CommandFailed, RunResult, run
from ..errors import PublishFailed

# Deadlines: a fetch or push may move a gigabyte; everything else is local.
TRANSFER_TIMEOUT = 3600.0
LOCAL_TIMEOUT = 600.0
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree
PUBLISHED_REF = "refs/published/tip"
# The factory's own files in the work tree that are never committed (index/writer.py).
UNCOMMITTED = (".factory-lock", ".factory-journal.json", ".factory-tmp.*", ".tmp-*")
IDENTITY = {
    "GIT_AUTHOR_NAME": "riscv64 wheel factory",
    "GIT_AUTHOR_EMAIL": "factory@localhost",
    "GIT_COMMITTER_NAME": "riscv64 wheel factory",
    "GIT_COMMITTER_EMAIL": "factory@localhost",
}


@dataclass(frozen=True)
class Change:
    status: str  # "A", "M", "D", "T" as git diff says
    path: str


def git_environment(
    remote: str, token: str | None, token_host: str | None, base: Mapping[str, str]
) -> dict[str, str]:
    """The environment of every git command: no prompts, a fixed identity (unless one is
    set), byte-exact files, and the token as an http header for ``token_host`` only."""
    env = {**IDENTITY, **base, "GIT_TERMINAL_PROMPT": "0"}
    config = [
        ("core.autocrlf", "false"),  # wheels and pages are committed byte for byte
        ("core.safecrlf", "false"),
        ("commit.gpgSign", "false"),
    ]
    parts = urlsplit(remote)
    if token and parts.scheme == "https" and parts.hostname and parts.hostname == token_host:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        config.append(
            (f"http.https://{parts.hostname}/.extraHeader", f"AUTHORIZATION: basic {basic}")
        )
    count = int(base.get("GIT_CONFIG_COUNT", "0") or "0")  # keep entries already given
    for number, (key, value) in enumerate(config, start=count):
        env[f"GIT_CONFIG_KEY_{number}"] = key
        env[f"GIT_CONFIG_VALUE_{number}"] = value
    env["GIT_CONFIG_COUNT"] = str(count + len(config))
    return env


def token_forms(token: str) -> tuple[str, ...]:
    """The token and the header value git is given: both must be redacted."""
    return (token, base64.b64encode(f"x-access-token:{token}".encode()).decode())


class PublishRepo:
    """A bare repository (``repo.git``) whose work tree (``tree/``) is the site being built."""

    def __init__(
        self,
        state: Path,
        remote: str,
        branch: str,
        *,
        env: Mapping[str, str],
        redact: Callable[[str], str],
        log: Path,
    ) -> None:
        self.git_dir = state / "repo.git"
        self.tree = state / "tree"
        self.remote = remote
        self.branch = branch
        self.env = dict(env)
        self.redact = redact
        self.log = log

    def git(
        self, *args: str, timeout: float = LOCAL_TIMEOUT, check: bool = True, logged: bool = True
    ) -> RunResult:
        """Run git on this repository; ``logged`` False for queries whose output is data
        (file lists of a whole site do not belong in the log)."""
        return run(
            ["git", f"--git-dir={self.git_dir}", f"--work-tree={self.tree}", *args],
            log=self.log if logged else None,
            env=self.env,
            timeout=timeout,
            check=check,
            capture=True,
            redact=self.redact,
        )

    def ensure(self) -> None:
        if not (self.git_dir / "HEAD").is_file():
            # A repository whose creation was interrupted is made again from nothing.
            shutil.rmtree(self.git_dir, ignore_errors=True)
            shutil.rmtree(self.tree, ignore_errors=True)
            self.git_dir.parent.mkdir(parents=True, exist_ok=True)
            temp = self.git_dir.with_name("repo.git.new")
            shutil.rmtree(temp, ignore_errors=True)
            run(
                ["git", "init", "-q", "--bare", str(temp)],
                log=self.log,
                env=self.env,
                timeout=LOCAL_TIMEOUT,
            )
            (temp / "info").mkdir(exist_ok=True)
            (temp / "info" / "exclude").write_text("\n".join(UNCOMMITTED) + "\n")
            os.replace(temp, self.git_dir)
        self.tree.mkdir(parents=True, exist_ok=True)

    def remote_tip(self) -> str | None:
        """The remote branch's commit, None when it does not exist yet."""
        result = self._transfer("ls-remote", "--heads", self.remote, f"refs/heads/{self.branch}")
        for line in result.output.splitlines():
            commit, _, ref = line.partition("\t")
            if ref == f"refs/heads/{self.branch}":
                return commit
        return None

    def fetch(self) -> str | None:
        """Fetch the remote branch; its commit, or None for a first publish."""
        tip = self.remote_tip()
        if tip is None:
            return None
        self._transfer(
            "fetch",
            "--quiet",
            "--no-tags",
            self.remote,
            f"+refs/heads/{self.branch}:{PUBLISHED_REF}",
        )
        return self._query("rev-parse", "--verify", f"{PUBLISHED_REF}^{{commit}}").strip()

    def reset_tree(self, commit: str | None) -> None:
        """The work tree becomes exactly ``commit`` (empty for None): whatever a killed run
        left in it is gone."""
        if commit is None:
            shutil.rmtree(self.tree, ignore_errors=True)
            self.tree.mkdir(parents=True)
            self.git("read-tree", "--empty")
            return
        self.git("checkout", "--quiet", "--force", "--detach", commit)
        self.git("clean", "-ffdxq")

    def stage(self) -> str:
        """Stage the whole work tree; the id of its tree."""
        self.git("add", "--all", ".")
        return self._query("write-tree").strip()

    def changes(self, base: str | None) -> list[Change]:
        """What the staged tree changes against ``base`` (a commit, or None: nothing)."""
        output = self._query(
            "diff-index", "--cached", "--no-renames", "--name-status", "-z", base or EMPTY_TREE
        )
        fields = output.split("\0")
        return [Change(fields[i], fields[i + 1]) for i in range(0, len(fields) - 1, 2) if fields[i]]

    def sizes(self, tree: str) -> dict[str, int]:
        """Every file of ``tree`` and its size in bytes."""
        output = self._query("ls-tree", "-r", "-l", "-z", tree)
        sizes = {}
        for entry in output.split("\0"):
            if not entry:
                continue
            info, _, path = entry.partition("\t")
            size = info.split()[-1]
            sizes[path] = int(size) if size.isdigit() else 0
        return sizes

    def commit(self, tree: str, parent: str | None, message: str) -> str:
        parents = ["-p", parent] if parent is not None else []
        return self.git(
            "commit-tree", "--no-gpg-sign", *parents, "-m", message, tree
        ).output.strip()

    def _query(self, *args: str) -> str:
        return self.git(*args, logged=False).output

    def push(self, commit: str) -> RunResult:
        """Push ``commit`` as the branch; a fast-forward only (a race is lost, not forced)."""
        return self._transfer(
            "push", "--quiet", self.remote, f"{commit}:refs/heads/{self.branch}", check=False
        )

    def _transfer(self, *args: str, check: bool = True) -> RunResult:
        try:
            return self.git(*args, timeout=TRANSFER_TIMEOUT, check=check)
        except CommandFailed as error:
            raise PublishFailed(
                f"git {args[0]} {self.redact(self.remote)} failed",
                hint="check the remote URL and that this machine may push to it "
                "(for GitHub over https: GITHUB_TOKEN with contents: write)",
                details=error.details,
            ) from None
