"""Git sources: a bare mirror per repository in the cache, a checkout at the pinned commit,
and (when the recipe asks) every submodule at the commit the superproject pins.

Submodules are mirrored like any git source, so a rebuild fetches nothing it has, and
they are checked out from those mirrors: the URLs in ``.gitmodules`` are only where a
mirror comes from. A clone that fails before git reached the server (no name, no route,
connection refused) is a ``SourceUnreachable``: `factory check` reports it as a warning,
since nothing says the recipe is wrong.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._run import CommandFailed, run
from .errors import SourceError, SourceUnreachable, StepTimeout
from .redact import redact_url

if TYPE_CHECKING:
    from .source import FetchBudget

# What git (through curl or ssh) says when it never reached the server.
_UNREACHABLE = (
    "Could not resolve host",
    "Could not resolve hostname",
    "Could not resolve proxy",
    "Failed to connect to",
    "Couldn't connect to server",
    "Connection refused",
    "Connection timed out",
    "Network is unreachable",
    "No route to host",
)
GITLINK_MODE = "160000"
# Local mirrors are cloned over the file transport, which git (>= 2.38.1) refuses for
# submodules unless allowed: these mirrors are our own cache.
_ALLOW_FILE = ["-c", "protocol.file.allow=always"]


def mirror(
    location: str, commit: str, cache: Path, log: Path, budget: FetchBudget, what: str = ""
) -> Path:
    """A bare mirror of ``location`` holding ``commit``; fetched again only when the
    commit is missing. ``what`` names the repository in errors (e.g. "submodule x of ")."""
    shown = f"{what}{redact_url(location)}"
    path = cache / "git" / (hashlib.sha256(location.encode()).hexdigest()[:24] + ".git")
    if not path.is_dir():
        partial = path.with_name(path.name + ".part")
        shutil.rmtree(partial, ignore_errors=True)
        with _git_errors(f"cannot clone {shown}", "check the git URL in the recipe", budget):
            _git(["clone", "--quiet", "--mirror", location, str(partial)], log, budget)
        os.replace(partial, path)
    if not _has_commit(path, commit, log, budget):
        with _git_errors(f"cannot fetch {shown}", "check the git URL in the recipe", budget):
            _git(["-C", str(path), "remote", "update", "--prune"], log, budget)
        if not _has_commit(path, commit, log, budget):
            raise SourceError(
                f"commit {commit} does not exist in {shown}",
                hint="pin a commit that is in the repository (`git log` in the fork shows them)",
            )
    return path


def checkout(mirror_path: Path, commit: str, tree: Path, log: Path, budget: FetchBudget) -> None:
    """A full clone (tags included, so setuptools_scm sees a version) at exactly ``commit``."""
    with _git_errors(f"cannot check out {commit}", "see the log", budget):
        clone = ["clone", "--quiet", "--shared", "--no-checkout", str(mirror_path), str(tree)]
        _git(clone, log, budget)
        _git(["-C", str(tree), "checkout", "--quiet", "--detach", commit], log, budget)


@dataclass(frozen=True)
class Submodule:
    name: str
    path: str
    url: str  # as .gitmodules has it: maybe relative to the superproject's URL
    commit: str  # what the superproject's commit pins (its gitlink)


def check_out_submodules(
    tree: Path, superproject: str, cache: Path, log: Path, budget: FetchBudget
) -> None:
    """Every submodule of the checkout in ``tree``, recursively, at its pinned commit,
    each cloned from its own mirror. ``superproject`` is the URL relative submodule URLs
    are relative to."""
    for submodule in submodules(tree, log, budget):
        url = submodule_url(superproject, submodule.url)
        what = f"submodule {submodule.path} of "
        source = mirror(url, submodule.commit, cache, log, budget, what=what)
        problem = f"cannot check out {what}{redact_url(superproject)}"
        with _git_errors(problem, "see the log", budget):
            # .gitmodules says where the mirror came from; the checkout comes from the mirror.
            where = f"submodule.{submodule.name}.url"
            _git(["-C", str(tree), "config", where, str(source)], log, budget)
            update = ["submodule", "update", "--init", "--quiet", "--", submodule.path]
            _git(["-C", str(tree), *_ALLOW_FILE, *update], log, budget)
        check_out_submodules(tree / submodule.path, url, cache, log, budget)


def submodules(tree: Path, log: Path, budget: FetchBudget) -> list[Submodule]:
    """The submodules ``.gitmodules`` names that the checked-out commit pins (an entry
    without a gitlink is skipped, as git skips it)."""
    if not (tree / ".gitmodules").is_file():
        return []
    keys = r"^submodule\..*\.(path|url)$"
    with _git_errors(f"cannot read {tree / '.gitmodules'}", "see the log", budget):
        listed = ["config", "--file", ".gitmodules", "--null", "--get-regexp", keys]
        config = _git_output(["-C", str(tree), *listed], log, budget, nothing=1)
        paths: dict[str, str] = {}
        urls: dict[str, str] = {}
        for entry in filter(None, config.split("\0")):
            key, _, value = entry.partition("\n")
            name, _, field = key.removeprefix("submodule.").rpartition(".")
            (paths if field == "path" else urls)[name] = value
        if not paths:
            return []
        # Only the submodules' own entries: the index of a large tree has many thousands.
        pathspecs = [f":(literal){path}" for path in sorted(paths.values())]
        staged = _git_output(
            ["-C", str(tree), "ls-files", "--stage", "-z", "--", *pathspecs], log, budget
        )
    pinned = {}
    for entry in filter(None, staged.split("\0")):
        info, _, path = entry.partition("\t")
        mode, commit, _ = info.split(" ", 2)
        if mode == GITLINK_MODE:
            pinned[path] = commit
    found = []
    for name, path in sorted(paths.items(), key=lambda item: item[1]):
        if path not in pinned:
            continue
        if name not in urls:
            raise SourceError(
                f"the pinned commit's .gitmodules gives no URL for its submodule at {path}",
                hint="pin a commit whose .gitmodules is complete, or drop `submodules: true`",
            )
        found.append(Submodule(name, path, urls[name], pinned[path]))
    return found


def submodule_url(superproject: str, url: str) -> str:
    """A submodule URL as git resolves it: ``./x`` and ``../x`` are relative to the
    superproject's URL taken as a directory (git-submodule(1), "relative URLs")."""
    if not url.startswith(("./", "../")):
        return url
    base = superproject.rstrip("/")
    while True:
        if url.startswith("./"):
            url = url[2:]
        elif url.startswith("../"):
            url = url[3:]
            parent = base.rpartition("/")[0]
            base = parent if parent and not parent.endswith(":/") else base
        else:
            return f"{base}/{url}" if url else base


@contextmanager
def _git_errors(message: str, hint: str, budget: FetchBudget) -> Iterator[None]:
    """A failed or timed-out git command as a SourceError (exit 3), not a build failure."""
    try:
        yield
    except CommandFailed as failed:
        if any(marker in failed.result.output for marker in _UNREACHABLE):
            raise SourceUnreachable(
                f"{message}: not reachable from this machine",
                hint="fetch it where the repository can be reached, or mirror it and point "
                "the recipe's URL there",
                details=failed.details,
            ) from None
        raise SourceError(message, hint=hint, details=failed.details) from None
    except StepTimeout:
        raise SourceError(
            f"{message}: it took longer than the recipe's build.timeout "
            f"({budget.step_seconds:g} s)",
            hint="check that the repository answers, or raise build.timeout",
        ) from None


def _git(args: list[str], log: Path, budget: FetchBudget, check: bool = True) -> int:
    # Fetching counts against build.timeout: git gets what is left of it.
    return run(["git", *args], log=log, check=check, timeout=budget.step_remaining()).returncode


def _git_output(args: list[str], log: Path, budget: FetchBudget, nothing: int = 0) -> str:
    """What git printed; "" when it exited with ``nothing`` (`git config` finding no key)."""
    result = run(
        ["git", *args], log=log, capture=True, check=False, timeout=budget.step_remaining()
    )
    if nothing and result.returncode == nothing:
        return ""
    if result.returncode != 0:
        raise CommandFailed(result, log)
    return result.output


def _has_commit(mirror_path: Path, commit: str, log: Path, budget: FetchBudget) -> bool:
    with _git_errors(f"cannot read the mirror {mirror_path}", "delete it to fetch again", budget):
        args = ["-C", str(mirror_path), "cat-file", "-e", f"{commit}^{{commit}}"]
        return _git(args, log, budget, check=False) == 0
