"""`factory check`: every recipe's source fetched, verified and patched; nothing compiled."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import FactoryError
from .recipe import LoadedRecipe
from .source import prepare_tree
from .workspace import Workspace


@dataclass(frozen=True)
class CheckResult:
    project: str
    ok: bool
    error: str | None
    log: str


def check_recipes(chosen: Sequence[LoadedRecipe], workspace: Workspace) -> list[CheckResult]:
    """Check each recipe; one failing recipe does not stop the others."""
    results = []
    for loaded in chosen:
        # The log outlives the scratch tree so that an error's hint can point at it.
        log = workspace.logs / loaded.name / "check.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        workspace.scratch.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f"check-{loaded.name}-", dir=workspace.scratch))
        try:
            prepare_tree(loaded, workspace.sources, scratch, log)
        except FactoryError as error:
            results.append(CheckResult(loaded.name, False, error.message, str(log)))
        else:
            results.append(CheckResult(loaded.name, True, None, str(log)))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return results
