"""`factory check`: every recipe's source fetched, verified and patched; nothing compiled.

A source problem is reported as `factory build` reports it: the same message, hint
and exit code (3), so that a check in CI fails the way the build would. The one
exception is a source this machine cannot reach at all (torch's repository, from a
machine without GitHub): the recipe and its patch headers are valid (loading checked
them), nothing says the source is wrong, so it is a warning and the check passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import FactoryError, SourceUnreachable, most_severe
from .recipe import LoadedRecipe
from .scratch import work_tree
from .source import prepare_tree
from .workspace import Workspace


@dataclass(frozen=True)
class CheckResult:
    project: str
    ok: bool
    error: str | None
    log: str
    exit_code: int = 0  # the exit code `factory build` would give for this error
    hint: str = ""
    warning: str | None = None  # the source could not be reached: fetched and patched nothing


def check_recipes(chosen: Sequence[LoadedRecipe], workspace: Workspace) -> list[CheckResult]:
    """Check each recipe; one failing recipe does not stop the others."""
    results = []
    for loaded in chosen:
        # The log outlives the scratch tree so that an error's hint can point at it.
        log = workspace.logs / loaded.name / "check.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        try:
            with work_tree(workspace, prefix=f"check-{loaded.name}-") as scratch:
                prepare_tree(loaded, workspace.sources, scratch, log)
        except SourceUnreachable as error:
            results.append(CheckResult(loaded.name, True, None, str(log), warning=error.message))
        except FactoryError as error:
            results.append(
                CheckResult(
                    loaded.name, False, error.message, str(log), error.exit_code, error.hint
                )
            )
        else:
            results.append(CheckResult(loaded.name, True, None, str(log)))
    return results


def check_failure(results: Sequence[CheckResult]) -> FactoryError | None:
    """The one error to exit with, or None when every recipe passed.

    One failure is raised as it is (message, hint, exit code). Several are listed in
    the details and the exit code is the most severe one's: the highest, so that
    a host problem (5) outranks a source problem (3), which outranks bad input (2).
    """
    failed = [result for result in results if not result.ok]
    if not failed:
        return None
    error_class = most_severe([result.exit_code for result in failed])
    if len(failed) == 1:
        return error_class(failed[0].error or "check failed", hint=failed[0].hint)
    details = []
    for result in failed:
        details.append(f"{result.project}: {result.error}")
        if result.hint:
            details.append(f"  hint: {result.hint}")
    return error_class(
        f"{len(failed)} of {len(results)} recipes failed the check",
        hint="fix the sources or patches named above",
        details=tuple(details),
    )
