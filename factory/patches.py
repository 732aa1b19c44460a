"""Patch files: their DEP-3 style header, and applying them in order to a source tree.

Every patch must say why it exists and where it stands upstream, so that nobody has
to guess whether it can be dropped when upstream moves (the OpenEmbedded
``Upstream-Status`` convention).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ._run import CommandFailed, run
from .errors import SourceError

# Status -> whether a bracketed/linked detail is required after it.
UPSTREAM_STATUSES: dict[str, bool] = {
    "Pending": False,
    "Submitted": True,  # where: a PR / mailing-list link
    "Accepted": False,
    "Backport": True,  # which upstream commit or release
    "Denied": False,
    "Inappropriate": True,  # why it cannot go upstream, e.g. [riscv64 packaging only]
}

_DIFF_START = re.compile(r"^(diff --git |--- |Index: )", re.MULTILINE)
_STATUS_LINE = re.compile(r"^Upstream-Status:[ \t]*(\S+)?[ \t]*(.*)$", re.MULTILINE)
_MESSAGE_END = re.compile(r"^---$", re.MULTILINE)
_SUBJECT_PREFIX = re.compile(r"^Subject:\s*(\[PATCH[^\]]*\]\s*)?")


@dataclass(frozen=True)
class PatchHeader:
    description: str
    status: str
    status_detail: str


def parse_header(text: str) -> PatchHeader:
    """Read a patch's header (everything before the diff). Raises ValueError with the problem."""
    match = _DIFF_START.search(text)
    if match is None:
        raise ValueError("contains no diff (no 'diff --git' or '---' line)")
    header = text[: match.start()]
    status_match = _STATUS_LINE.search(header)
    if status_match is None:
        raise ValueError(
            "header has no 'Upstream-Status:' line; add one, e.g. "
            "'Upstream-Status: Submitted <link>' or 'Upstream-Status: Inappropriate [reason]'"
        )
    status, detail = status_match.group(1) or "", status_match.group(2).strip()
    if status not in UPSTREAM_STATUSES:
        raise ValueError(
            f"unknown Upstream-Status {status!r}; use one of {', '.join(UPSTREAM_STATUSES)}"
        )
    if UPSTREAM_STATUSES[status] and not detail:
        raise ValueError(f"'Upstream-Status: {status}' needs a link or [reason] after it")
    rest = header[: status_match.start()] + header[status_match.end() :]
    # In `git format-patch` output the message ends at a '---' line; a diffstat follows.
    message = _MESSAGE_END.split(rest, maxsplit=1)[0]
    description_lines = [
        _SUBJECT_PREFIX.sub("", line).strip()
        for line in message.splitlines()
        # mbox envelope lines from `git format-patch` say nothing about why.
        if line.strip() and not line.startswith(("From ", "From:", "Date:"))
    ]
    description = "\n".join(description_lines)
    if not description:
        raise ValueError("header does not say why the patch exists; describe it above the diff")
    return PatchHeader(description, status, detail)


def apply_patches(tree: Path, patch_files: list[Path], log: Path) -> None:
    """Apply patches in order; the first that does not apply stops everything.

    ``git apply`` works on any directory (not only git checkouts) and, unlike
    ``patch``, never applies half a patch: a failing hunk leaves the tree unchanged.
    """
    for patch_file in patch_files:
        try:
            run(
                ["git", "apply", "--verbose", "--whitespace=nowarn", str(patch_file)],
                cwd=tree,
                log=log,
                # A tree inside some other git repository would make git apply resolve
                # paths against that repository; pointing GIT_DIR nowhere prevents it.
                env={**os.environ, "GIT_DIR": str(tree / ".no-git-dir")},
            )
        except CommandFailed as failed:
            hunk = _failing_hunk(failed.result.output)
            raise SourceError(
                f"patch {patch_file.name} does not apply: {hunk}",
                hint=f"refresh {patch_file} against the pinned source (see the log: {log})",
                details=failed.details,
            ) from None


def _failing_hunk(output: str) -> str:
    """Pick git apply's 'patch failed: FILE:LINE' line, which names the failing hunk."""
    for line in output.splitlines():
        if "patch failed:" in line:
            return "hunk at " + line.split("patch failed:", 1)[1].strip() + " failed"
    for line in output.splitlines():
        if line.startswith("error:"):
            return line.removeprefix("error:").strip()
    return "git apply failed"
