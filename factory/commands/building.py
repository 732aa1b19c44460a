"""`factory build`, `check`, `bump`, `retire` and `list`: the commands that read
recipes to build them or edit them."""

from __future__ import annotations

import dataclasses
import json
import platform
from typing import TYPE_CHECKING, Any

import click

from ..cli import DirectoryOptions, directory_options
from ..errors import ConfigError
from ..workspace import Workspace

if TYPE_CHECKING:
    from ..builders.base import BuildHost
    from ..progress import Progress


@click.command()
@click.argument("packages", nargs=-1)
@click.option("--all", "build_all", is_flag=True, help="Build every recipe.")
@click.option("--force", is_flag=True, help="Rebuild even if up to date.")
@click.option(
    "--native", is_flag=True, help="Build for this host's architecture instead of riscv64."
)
@click.option(
    "--no-accelerate",
    "no_accelerate",
    is_flag=True,
    help="In the emulated userland, compile with its own (emulated) compilers instead of "
    "the host-native cross compilers of the toolchain companion.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be built and why; build nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@directory_options
def build(
    packages: tuple[str, ...],
    build_all: bool,
    force: bool,
    native: bool,
    no_accelerate: bool,
    dry_run: bool,
    as_json: bool,
    dirs: DirectoryOptions,
) -> None:
    """Build, repair and test wheels for PACKAGES (or --all)."""
    from ..build import execute_all, plan, prepare_system
    from ..progress import Progress
    from ..recipe import load_recipes, select

    workspace = dirs.workspace()
    if not packages and not build_all:
        raise ConfigError(
            "name the packages to build, or pass --all", hint="`factory list` shows the recipes"
        )
    recipes = load_recipes(workspace.recipes, workspace.patches)
    selected = list(recipes.values()) if build_all else select(recipes, packages)
    progress = Progress()
    host = choose_host(native, workspace, progress)
    planned = plan(selected, recipes, host, workspace.wheelhouse, force=force)
    if dry_run:
        rows = [
            {"project": b.name, "version": b.loaded.recipe.version, "action": b.action,
             "reason": b.reason}
            for b in planned
        ]  # fmt: skip
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        for row in [] if as_json else rows:
            click.echo(
                f"{row['project']:<24} {row['version']:<12} {row['action']:<10} {row['reason']}"
            )
        return
    prepare_system(planned, host, workspace)
    if any(b.action == "build" for b in planned):
        # After the system packages: one of them may be a compiler (gfortran) to match.
        host = choose_compilers(host, not no_accelerate, workspace, progress)
    report = execute_all(planned, host, workspace, progress)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in report.results], indent=2))
    if (error := report.error()) is not None:
        raise error


def choose_host(native: bool, workspace: Workspace, progress: Progress) -> BuildHost:
    """riscv64 by default: natively on a riscv64 machine, else in the emulated userland."""
    from ..builders.native import NativeHost

    if native or platform.machine() == "riscv64":
        return NativeHost()
    from ..builders.userland import ensure_userland

    progress.message(
        f"building for riscv64 on {platform.machine()}: using the emulated riscv64 userland"
    )
    return ensure_userland(
        workspace.cache, workspace.logs / "userland.log", on_line=progress.output_line
    )


def choose_compilers(
    host: BuildHost, accelerate: bool, workspace: Workspace, progress: Progress
) -> BuildHost:
    """In the userland: the host-native cross compilers when they match, else emulated.

    Natively (a board, --native) the host's own compilers build and nothing is said.
    """
    from ..builders.userland import Userland

    if not isinstance(host, Userland):
        return host
    if not accelerate:
        progress.message("riscv64 compilers: emulated (--no-accelerate)")
        return host
    from ..builders.companion import accelerate as find_acceleration

    log = workspace.logs / "companion.log"
    return host.with_acceleration(find_acceleration(host, workspace.cache, log, progress.message))


@click.command()
@click.argument("packages", nargs=-1)
@click.option("--all", "check_all", is_flag=True, help="Check every recipe (the default).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@directory_options
def check(
    packages: tuple[str, ...], check_all: bool, as_json: bool, dirs: DirectoryOptions
) -> None:
    """Validate recipes and apply every patch to its source; compiles nothing."""
    from ..check import check_failure, check_recipes
    from ..recipe import load_recipes, select

    workspace = dirs.workspace()
    recipes = load_recipes(workspace.recipes, workspace.patches)
    chosen = select(recipes, packages) if packages and not check_all else list(recipes.values())
    results = check_recipes(chosen, workspace)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in results], indent=2))
    else:
        for result, loaded in zip(results, chosen, strict=True):
            patches = len(loaded.patch_files)
            if result.warning is not None:
                headers = "1 patch header" if patches == 1 else f"{patches} patch headers"
                click.echo(
                    f"WARNING: {result.project}: {result.warning}; the recipe and its "
                    f"{headers} are valid, the source was not fetched and no patch was applied",
                    err=True,
                )
            elif result.ok:
                applied = "1 patch applies" if patches == 1 else f"{patches} patches apply"
                click.echo(f"{result.project}: ok ({applied})")
    failure = check_failure(results)
    if failure is not None:
        raise failure


@click.command()
@click.argument("packages", nargs=-1)
@click.option("--all", "bump_all", is_flag=True, help="Every recipe.")
@click.option(
    "--commit",
    default=None,
    metavar="SHA",
    help="A git source's new commit (a fork's next release cannot be guessed).",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Raise build_number by one and change nothing else (a rebuild on purpose, "
    "e.g. after a toolchain change).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@directory_options
def bump(
    packages: tuple[str, ...],
    bump_all: bool,
    commit: str | None,
    rebuild: bool,
    as_json: bool,
    dirs: DirectoryOptions,
) -> None:
    """Move recipes to upstream's newest final release (or raise build_number with
    --rebuild); every patch is checked against the new source first, and nothing is
    written unless every recipe passed."""
    from ..bump import bump as bump_recipes
    from ..recipe import load_recipes, select
    from ..webclient import Client

    if not packages and not bump_all:
        raise ConfigError(
            "name the packages to bump, or pass --all", hint="`factory list` shows the recipes"
        )
    workspace = dirs.workspace()
    recipes = load_recipes(workspace.recipes, workspace.patches)
    chosen = list(recipes.values()) if bump_all else select(recipes, packages)
    with Client() as client:
        report = bump_recipes(chosen, workspace, client, commit=commit, rebuild=rebuild)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in report.results], indent=2))
    else:
        for result in report.results:
            change = f"{result.before} -> {result.after}" if result.after else result.before
            click.echo(f"{result.project:<24} {result.outcome:<11} {change}: {result.reason}")
        if report.written:
            click.echo(f"written: {', '.join(report.written)}")
    if (error := report.error()) is not None:
        raise error


@click.command()
@click.argument("package")
@click.option(
    "--since",
    required=True,
    metavar="VERSION",
    help="The first upstream release with riscv64 wheels.",
)
@click.option("--reason", default=None, help="Why [default: upstream ships riscv64 wheels].")
@click.option(
    "--evidence",
    multiple=True,
    metavar="WHEEL",
    help="Upstream's riscv64 wheel file names (repeatable) [default: read from PyPI].",
)
@directory_options
def retire(
    package: str,
    since: str,
    reason: str | None,
    evidence: tuple[str, ...],
    dirs: DirectoryOptions,
) -> None:
    """Retire PACKAGE: upstream ships riscv64 wheels since --since, so it is never built
    again (its published files stay in the index)."""
    from ..recipe import load_recipes, select
    from ..retire import retire as retire_recipe
    from ..webclient import Client

    workspace = dirs.workspace()
    [loaded] = select(load_recipes(workspace.recipes, workspace.patches), [package])
    if evidence:
        done = retire_recipe(loaded, since, reason, evidence, None)
    else:
        with Client() as client:
            done = retire_recipe(loaded, since, reason, evidence, client)
    click.echo(
        f"{done.project}: retired since {done.since} ({done.reason}); evidence: "
        + ", ".join(done.evidence)
    )
    click.echo(f"written: {done.recipe}")


@click.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@directory_options
def list_recipes(as_json: bool, dirs: DirectoryOptions) -> None:
    """List the recipes and the wheels built from them."""
    from ..recipe import load_recipes
    from ..records import wheelhouse_records

    workspace = dirs.workspace()
    recipes = load_recipes(workspace.recipes, workspace.patches)
    built: dict[str, list[str]] = {}
    for record in wheelhouse_records(workspace.wheelhouse):
        if record.wheel is not None:
            built.setdefault(record.project.lower(), []).append(record.wheel.filename)
    rows: list[dict[str, Any]] = [
        {
            "project": loaded.name,
            "version": loaded.recipe.version,
            "build_number": loaded.recipe.build_number,
            "source": loaded.recipe.source.kind,
            "patches": len(loaded.patch_files),
            "wheels": sorted(built.get(loaded.recipe.name.lower(), [])),
            "retired_since": loaded.recipe.retired.since if loaded.recipe.retired else None,
        }
        for loaded in recipes.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        wheels = ", ".join(row["wheels"]) or "not built"
        if row["retired_since"] is not None:
            wheels += f" (retired: PyPI has riscv64 wheels since {row['retired_since']})"
        click.echo(
            f"{row['project']:<24} {row['version']:<12} build {row['build_number']}  "
            f"{row['source']:<7} {wheels}"
        )
