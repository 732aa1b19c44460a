"""`factory bump`: move recipes to upstream's newest final release, or raise a build number.

Analyse, then act: every recipe's new values are worked out first (PyPI's JSON API for
the newest final release and its sdist's sha256; a git source takes the commit it is
given), then its new source is fetched, verified and patched exactly as
`factory check` does it. Only when every named recipe passed is anything written; a
recipe file is then rewritten in place, value by value (factory/recipe_edit.py), so its
comments and layout stay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.version import Version

from ._fs import write_atomically
from .check import check_recipes
from .errors import ConfigError, FactoryError, SourceError, most_severe
from .recipe import COMMIT, ArchiveSource, GitSource, LoadedRecipe, PypiSource
from .recipe_edit import Insert, KeyPath, Scalar, edit_recipe_text, validated_recipe
from .upstream import PARALLEL_LOOKUPS, newest_final, project_json, sdist
from .webclient import Client
from .workspace import Workspace

_Edit = tuple[Path, str]  # a recipe file and its new text
# not-written: it would be bumped, but another recipe failed, so nothing was written.
Outcome = Literal["bumped", "not-written", "up-to-date", "skipped", "failed"]


@dataclass(frozen=True)
class BumpResult:
    project: str
    outcome: Outcome
    before: str  # "1.0 build 2"
    after: str | None  # "1.1 build 0"; None when nothing changes
    reason: str  # what changed, or why not
    log: str | None = None  # the patch check's log, when the new source was checked


@dataclass(frozen=True)
class BumpReport:
    results: tuple[BumpResult, ...]
    errors: dict[str, FactoryError]
    written: tuple[str, ...]  # recipe files rewritten (none when anything failed)

    def error(self) -> FactoryError | None:
        """None when every recipe passed; else the one error (several: the most severe)."""
        if not self.errors:
            return None
        passed = [r.project for r in self.results if r.outcome == "not-written"]
        unwritten = "nothing was written" + (
            f"; bump the others alone: factory bump {' '.join(passed)}" if passed else ""
        )
        if len(self.errors) == 1:
            [error] = self.errors.values()
            hint = f"{error.hint}; {unwritten}" if error.hint else unwritten
            return type(error)(error.message, hint=hint, details=error.details)
        worst = most_severe([error.exit_code for error in self.errors.values()])
        return worst(
            f"{len(self.errors)} of {len(self.results)} recipes cannot be bumped: "
            f"{', '.join(sorted(self.errors))}",
            hint=f"fix what is named above; {unwritten}",
            details=tuple(f"{name}: {e.message}" for name, e in sorted(self.errors.items())),
        )


@dataclass(frozen=True)
class _Change:
    """A recipe's new values, not yet checked or written."""

    loaded: LoadedRecipe
    values: dict[KeyPath, Scalar]
    build_number: int
    reason: str
    new_source: bool  # the source changes: fetch and patch it before writing


def bump(
    chosen: Sequence[LoadedRecipe],
    workspace: Workspace,
    client: Client,
    commit: str | None = None,
    rebuild: bool = False,
) -> BumpReport:
    """Bump each recipe; write the changed files only when none failed."""
    if commit is not None and not COMMIT.match(commit):
        raise ConfigError(
            f"--commit must be a full 40-character hex commit hash, got {commit!r}",
            hint="`git log` in the fork shows them; branches and tags move",
        )
    if commit is not None and rebuild:
        raise ConfigError(
            "--rebuild keeps the source; --commit changes it", hint="pass one of them"
        )
    if commit is not None and len(chosen) != 1:
        raise ConfigError(
            "--commit is one fork's commit: name exactly one package",
            hint="e.g. factory bump netifaces --commit <40 hex>",
        )
    with ThreadPoolExecutor(PARALLEL_LOOKUPS) as pool:
        analysed = list(pool.map(lambda item: _analyse(item, client, commit, rebuild), chosen))
    results: list[BumpResult] = []
    errors: dict[str, FactoryError] = {}
    edits: list[_Edit] = []
    for loaded, found in zip(chosen, analysed, strict=True):
        before = _release(loaded.recipe.version, loaded.recipe.build_number)
        if isinstance(found, FactoryError):
            errors[loaded.name] = found
            results.append(BumpResult(loaded.name, "failed", before, None, found.message))
        elif isinstance(found, BumpResult):
            results.append(found)
        else:
            result, outcome = _checked(found, workspace)
            results.append(result)
            if isinstance(outcome, FactoryError):
                errors[loaded.name] = outcome
            else:
                edits.append(outcome)
    if errors:
        held = tuple(
            dataclasses.replace(r, outcome="not-written") if r.outcome == "bumped" else r
            for r in results
        )
        return BumpReport(held, errors, ())
    for path, text in edits:
        write_atomically(path, text.encode("utf-8"))
    return BumpReport(tuple(results), errors, tuple(str(path) for path, _ in edits))


def _release(version: str, build_number: int) -> str:
    return f"{version} build {build_number}"


def _analyse(
    loaded: LoadedRecipe, client: Client, commit: str | None, rebuild: bool
) -> _Change | BumpResult | FactoryError:
    """What the recipe becomes, or why nothing changes; errors are results here."""
    recipe = loaded.recipe
    before = _release(recipe.version, recipe.build_number)
    if recipe.retired is not None:  # never built again: nothing to move or rebuild
        return BumpResult(
            loaded.name, "skipped", before, None, f"retired since {recipe.retired.since}"
        )
    if rebuild:
        return _Change(loaded, {}, recipe.build_number + 1, "build number raised", False)
    try:
        source = recipe.source
        if isinstance(source, PypiSource):
            return _to_newest_sdist(loaded, source, client, commit)
        if isinstance(source, GitSource):
            return _to_commit(loaded, source, client, commit)
        assert isinstance(source, ArchiveSource)
        raise ConfigError(
            f"{loaded.path}: an archive source cannot be bumped: its next URL is not known",
            hint=f"edit version, source.archive.url and sha256 in {loaded.path} by hand",
        )
    except FactoryError as error:
        return error


def _to_newest_sdist(
    loaded: LoadedRecipe, source: PypiSource, client: Client, commit: str | None
) -> _Change | BumpResult:
    recipe = loaded.recipe
    if commit is not None:
        raise ConfigError(
            f"{loaded.path}: --commit is for git sources; this recipe builds PyPI's sdist",
            hint=f"factory bump {loaded.name} (without --commit) takes the newest release",
        )
    name = source.name or recipe.name
    data = project_json(client, name)
    newest = newest_final(data)
    if newest is None:
        raise SourceError(
            f"{name} has no final release on PyPI (only pre-releases, dev releases or yanked ones)",
            hint=f"nothing to bump to; check the name in {loaded.path}",
        )
    if Version(newest) <= Version(recipe.version):
        return BumpResult(
            loaded.name, "up-to-date", _release(recipe.version, recipe.build_number), None,
            f"{recipe.version} is upstream's newest final release",
        )  # fmt: skip
    found = sdist(data, newest)
    if found is None:
        raise SourceError(
            f"{name} {newest} has no sdist on PyPI: there is no sha256 to pin",
            hint=f"wait for upstream's sdist, or switch {loaded.path} to a git or archive source",
        )
    return _Change(
        loaded,
        {("version",): newest, ("source", "pypi", "sha256"): found.sha256},
        0,
        f"new release {newest} ({found.filename})",
        True,
    )


def _to_commit(
    loaded: LoadedRecipe, source: GitSource, client: Client, commit: str | None
) -> _Change | BumpResult:
    recipe = loaded.recipe
    before = _release(recipe.version, recipe.build_number)
    if commit is None:
        raise ConfigError(
            f"{loaded.path}: a git source cannot be bumped without --commit (which commit of "
            f"{source.url} is the next release is not something the factory can guess)",
            hint=f"factory bump {loaded.name} --commit <the fork's 40-hex commit>",
        )
    if commit == source.commit:
        return BumpResult(loaded.name, "up-to-date", before, None, f"already at {commit}")
    values: dict[KeyPath, Scalar] = {("source", "git", "commit"): commit}
    # A fork labels its builds with the release of the PyPI project it tracks, when the
    # recipe names one; otherwise (or when upstream has nothing newer) the version stays
    # and the new commit is a rebuild of it under the next build number.
    newest = newest_final(project_json(client, recipe.upstream)) if recipe.upstream else None
    if newest is not None and Version(newest) > Version(recipe.version):
        values[("version",)] = newest
        return _Change(loaded, values, 0, f"new release {newest} at {commit[:12]}", True)
    return _Change(loaded, values, recipe.build_number + 1, f"new commit {commit[:12]}", True)


def _checked(change: _Change, workspace: Workspace) -> tuple[BumpResult, _Edit | FactoryError]:
    """The edited text, validated, and (for a new source) fetched and patched; or why not."""
    loaded, recipe = change.loaded, change.loaded.recipe
    before = _release(recipe.version, recipe.build_number)
    after = _release(str(change.values.get(("version",), recipe.version)), change.build_number)
    try:
        text = edit_recipe_text(
            loaded.path.read_text(encoding="utf-8"),
            str(loaded.path),
            change.values,
            # A recipe at build 0 may not say so; a raised number needs the key.
            [Insert(("build_number",), change.build_number, after="version")]
            if change.build_number or "build_number" in recipe.model_fields_set
            else [],
        )
        edited = dataclasses.replace(loaded, recipe=validated_recipe(text, str(loaded.path)))
    except FactoryError as error:
        return BumpResult(loaded.name, "failed", before, after, error.message), error
    if not change.new_source:
        return BumpResult(loaded.name, "bumped", before, after, change.reason), (loaded.path, text)
    [checked] = check_recipes([edited], workspace)
    if not checked.ok:
        reason = checked.error or "the new source does not check"
        failure = most_severe([checked.exit_code])(reason, hint=checked.hint)
        return BumpResult(loaded.name, "failed", before, after, reason, checked.log), failure
    result = BumpResult(loaded.name, "bumped", before, after, change.reason, checked.log)
    return result, (loaded.path, text)
