"""`factory retire`: upstream ships riscv64 wheels itself, so the recipe says so and is
never built again.

The evidence is upstream's riscv64 wheel file names for the release named by ``--since``,
read from PyPI's JSON API (or given by hand). The recipe gets a ``retired:`` section
appended; nothing else in the file changes, and every file published before stays in
the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from pydantic import ValidationError

from ._fs import write_atomically
from .errors import ConfigError
from .recipe import LoadedRecipe, Retirement
from .recipe_edit import edit_recipe_text, validated_recipe
from .upstream import project_json, riscv64_wheels
from .webclient import Client

FIRST_SHIPPED_HINT = "`factory stale --upstream` names the first release that has them"


@dataclass(frozen=True)
class Retired:
    project: str
    since: str
    reason: str
    evidence: tuple[str, ...]
    recipe: str  # the file written


def retire(
    loaded: LoadedRecipe,
    since: str,
    reason: str | None,
    evidence: Sequence[str],
    client: Client | None,
) -> Retired:
    """Write ``retired:`` into the recipe; evidence from PyPI unless given (then no client)."""
    recipe = loaded.recipe
    if recipe.retired is not None:
        raise ConfigError(
            f"{loaded.name} is already retired (since {recipe.retired.since})",
            hint=f"edit its `retired:` section in {loaded.path} to change it",
        )
    retirement = _retirement(since, reason)
    project = recipe.upstream_project
    if evidence:
        wheels = tuple(sorted(_checked_evidence(evidence, project)))
    else:
        assert client is not None
        found = riscv64_wheels(project_json(client, project), retirement.since)
        if found is None:
            raise ConfigError(
                f"{project} has no final release {retirement.since} on PyPI",
                hint=f"pass --since the release upstream's riscv64 wheels start at; "
                f"{FIRST_SHIPPED_HINT}",
            )
        if not found:
            raise ConfigError(
                f"{project} {retirement.since} on PyPI has no riscv64 wheels: nothing shows "
                "that upstream ships them",
                hint=f"check --since ({FIRST_SHIPPED_HINT}), or name the wheels with --evidence",
            )
        wheels = found
    section = {"since": retirement.since, "reason": retirement.reason, "evidence": list(wheels)}
    text = edit_recipe_text(
        loaded.path.read_text(encoding="utf-8"), str(loaded.path), {}, append={"retired": section}
    )
    validated_recipe(text, str(loaded.path))
    write_atomically(loaded.path, text.encode("utf-8"))
    return Retired(loaded.name, retirement.since, retirement.reason, wheels, str(loaded.path))


def _retirement(since: str, reason: str | None) -> Retirement:
    """--since and --reason as the recipe schema takes them (its default reason)."""
    try:
        return Retirement.model_validate({"since": since, **({"reason": reason} if reason else {})})
    except ValidationError as error:
        message = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"--since: {message}", hint="e.g. --since 1.2") from None


def _checked_evidence(evidence: Sequence[str], project: str) -> list[str]:
    for name in evidence:
        try:
            wheel_project, _, _, tags = parse_wheel_filename(name)
        except InvalidWheelFilename as error:
            raise ConfigError(
                f"--evidence {name!r} is not a wheel file name ({error})",
                hint="name upstream's riscv64 wheels as PyPI lists them",
            ) from None
        if wheel_project != project or not any(t.platform.endswith("_riscv64") for t in tags):
            raise ConfigError(
                f"--evidence {name} is not a riscv64 wheel of {project}",
                hint="name upstream's riscv64 wheels as PyPI lists them",
            )
    return list(evidence)
