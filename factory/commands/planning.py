"""`factory stale`, `plan`, `merge`, `pull` and `coverage`: what to build next, and
the published state it starts from."""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..cli import DirectoryOptions, directory_options
from ..errors import CoverageGap
from ..targets import DEFAULT_ARCH, DEFAULT_PYTHON

if TYPE_CHECKING:
    from ..stale import StaleReport


def _state_option(command: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--state",
        "state_location",
        default=None,
        metavar="URL|DIR",
        help="The published state: a published index's URL or directory, or a state "
        "directory (wheelhouse/ + builds/) [default: --wheelhouse and --logs].",
    )(command)


def _target_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option(
        "--python",
        "python_version",
        default=DEFAULT_PYTHON,
        show_default=True,
        help="The target python (the userland's).",
    )(command)
    command = click.option("--arch", default=DEFAULT_ARCH, show_default=True)(command)
    return click.option(
        "--native",
        is_flag=True,
        help="Target this host's architecture and python (what `factory build --native` makes).",
    )(command)


def stale_report(
    dirs: DirectoryOptions,
    state_location: str | None,
    arch: str,
    python_version: str,
    native: bool,
    upstream: bool = False,
) -> StaleReport:
    """Recipes against the published state (and PyPI, with ``upstream``)."""
    if native:
        arch, python_version = platform.machine(), ".".join(platform.python_version_tuple()[:2])
    from ..recipe import load_recipes
    from ..stale import find_stale
    from ..state import local_state, read_state

    workspace = dirs.workspace()
    recipes = load_recipes(workspace.recipes, workspace.patches)
    state = (
        read_state(state_location, python_version)
        if state_location is not None
        else local_state(workspace.wheelhouse, workspace.logs)
    )
    facts = None
    if upstream:
        from ..upstream import look_up
        from ..webclient import Client

        wanted: dict[str, str] = {
            r.recipe.upstream_project: r.recipe.version
            for r in recipes.values()
            if r.recipe.source.kind == "pypi" or r.recipe.upstream is not None
        }
        with Client() as client:
            facts = look_up(wanted, client)
    return find_stale(recipes, state, arch, python_version, upstream=facts)


@click.command()
@_state_option
@_target_options
@click.option(
    "--upstream",
    is_flag=True,
    help="Also ask PyPI for newer releases and for riscv64 wheels upstream (retirement).",
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@directory_options
def stale(
    state_location: str | None,
    arch: str,
    python_version: str,
    native: bool,
    upstream: bool,
    as_json: bool,
    dirs: DirectoryOptions,
) -> None:
    """Whether each recipe's published wheel is current, and every reason it is not."""
    report = stale_report(dirs, state_location, arch, python_version, native, upstream)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=2))
        return
    for verdict in report.verdicts:
        click.echo(
            f"{verdict.project:<24} {verdict.version:<12} {verdict.status:<10} "
            + "; ".join(verdict.reasons)
        )
        for note in verdict.notes:
            click.echo(f"{'':<24} {'':<12} {'':<10} note: {note}")
    for note in report.notes:
        click.echo(f"note: {note}")
    counts = collections.Counter(v.status for v in report.verdicts)
    click.echo(
        f"{len(report.verdicts)} recipes against {report.state} ({report.arch}, python "
        f"{report.python}): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    )


@click.command(name="plan")
@_state_option
@_target_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--github-output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also append empty=... and layer-N=<matrix> lines to this file ($GITHUB_OUTPUT).",
)
@directory_options
def plan_command(
    state_location: str | None,
    arch: str,
    python_version: str,
    native: bool,
    as_json: bool,
    github_output: Path | None,
    dirs: DirectoryOptions,
) -> None:
    """The stale recipes as build matrices, one layer per level of build.requires."""
    from ..matrix import plan_matrix
    from ..recipe import load_recipes

    workspace = dirs.workspace()
    report = stale_report(dirs, state_location, arch, python_version, native)
    planned = plan_matrix(report, load_recipes(workspace.recipes, workspace.patches))
    if github_output is not None:
        with github_output.open("a", encoding="utf-8") as output:
            output.write(planned.github_output())
    if as_json:
        click.echo(json.dumps(planned.to_json(), indent=2))
        return
    if not planned.layers:
        click.echo(f"nothing to build: every recipe is current against {report.state}")
    for number, layer in enumerate(planned.layers):
        for entry in layer:
            click.echo(f"layer {number}: {entry['package']} {entry['version']}: {entry['reason']}")
    for name in planned.deferred:
        click.echo(f"deferred to the next run (its layer is past the last): {name}")
    for item in planned.not_buildable:
        click.echo(
            f"not buildable, {item['status']}: {item['package']}: {'; '.join(item['reasons'])}"
        )


def _into_option(help_text: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--into DIR: the state directory `merge` and `pull` write."""
    return click.option(
        "--into",
        "state_dir",
        required=True,
        type=click.Path(path_type=Path, file_okay=False),
        help=help_text,
    )


@click.command()
@click.argument(
    "artifacts",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
)
@_into_option("The state directory (wheelhouse/ and builds/) to merge into.")
@click.option(
    "--summary",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Append a Markdown table of the merged builds to this file ($GITHUB_STEP_SUMMARY).",
)
@click.option("--log-url", default=None, help="Where builds/ is published, for the log links.")
@click.option("--json", "as_json", is_flag=True, help="Print what was merged as JSON.")
def merge(
    artifacts: tuple[Path, ...],
    state_dir: Path,
    summary: Path | None,
    log_url: str | None,
    as_json: bool,
) -> None:
    """Merge build artifacts (each with wheelhouse/ and builds/) into a state directory.

    A wheel name the state already has with other bytes is refused; nothing is written then.
    """
    from ..merge import merge as merge_artifacts

    report = merge_artifacts([a.absolute() for a in artifacts], state_dir.absolute())
    if summary is not None:
        with summary.open("a", encoding="utf-8") as out:
            out.write(report.markdown(log_url))
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=2))
        return
    for name in report.added:
        click.echo(f"added: {name}")
    click.echo(
        f"{state_dir}/: {len(report.added)} wheel{'s' if len(report.added) != 1 else ''} added, "
        f"{len(report.unchanged)} already there, {report.build_files} build files copied"
    )


@click.command()
@click.argument("location", metavar="URL|DIR")
@_into_option("The state directory (wheelhouse/ and builds/) to fill.")
@click.option(
    "--project",
    "projects",
    multiple=True,
    help="Only this project's wheels (repeatable): e.g. a build job's dependencies.",
)
def pull(location: str, state_dir: Path, projects: tuple[str, ...]) -> None:
    """Copy a published index's wheels, metadata, records and build logs into a state
    directory (what `factory merge` adds to and `factory index` publishes)."""
    from packaging.utils import canonicalize_name

    from ..pull import pull as pull_state

    only = {canonicalize_name(name) for name in projects} if projects else None
    report = pull_state(location, state_dir.absolute(), only)
    click.echo(
        f"{state_dir}/: {len(report.fetched)} wheel{'s' if len(report.fetched) != 1 else ''} "
        f"fetched, {report.present} already there, {report.build_files} build files"
        + (f", {len(report.yanks)} yanks carried" if report.yanks else "")
    )


@click.command()
@click.argument("requirements", nargs=-1, required=True)
@click.option("--python", "python_version", default="3.13", show_default=True)
@click.option(
    "--index-url",
    "our_index",
    default=None,
    envvar="FACTORY_INDEX_URL",
    help="Our index's simple/ URL, asked before PyPI [env FACTORY_INDEX_URL].",
)
@click.option(
    "--pypi-url", default=None, envvar="FACTORY_PYPI_SIMPLE_URL", help="PyPI's simple/ URL."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@directory_options
def coverage(
    requirements: tuple[str, ...],
    python_version: str,
    our_index: str | None,
    pypi_url: str | None,
    as_json: bool,
    dirs: DirectoryOptions,
) -> None:
    """What installing REQUIREMENTS on riscv64 would still compile, and which recipe to write."""
    from ..coverage import PYPI_SIMPLE, STATUS_TEXT, classify, resolve
    from ..recipe import load_recipes

    workspace = dirs.workspace()
    # Without a recipes directory (run from anywhere) every build is one with no recipe.
    loaded = (
        load_recipes(workspace.recipes, workspace.patches) if workspace.recipes.is_dir() else {}
    )
    recipes = {name: Path(os.path.relpath(item.path)) for name, item in loaded.items()}
    locked = resolve(requirements, python_version, our_index, pypi_url or PYPI_SIMPLE)
    found = classify(locked, our_index, recipes)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(item) for item in found], indent=2))
    else:
        for item in found:
            click.echo(
                f"{item.name:<28} {item.version:<14} {STATUS_TEXT[item.status]:<28} {item.evidence}"
            )
    missing = [item.name for item in found if item.status == "no-recipe"]
    if missing:
        raise CoverageGap(
            f"{len(missing)} of {len(found)} distributions have neither a riscv64 wheel nor "
            f"a recipe: {', '.join(missing)}",
            hint="write a recipe for each (recipes/<name>.yaml), or pin versions that have wheels",
        )
