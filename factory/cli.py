"""The `factory` command: thin click commands, each parse-options-then-call.

Errors are turned into one ``ERROR:`` line plus a hint here and nowhere else.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
import platform
import re
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import ConfigError, CoverageGap, FactoryError
from .targets import DEFAULT_ARCH, DEFAULT_PYTHON
from .workspace import Workspace, default_cache_dir

if TYPE_CHECKING:
    from .builders.base import BuildHost
    from .progress import Progress
    from .publish import PublishOptions, PublishReport
    from .stale import StaleReport

# Each command imports what it needs when it runs: `factory index` on a large
# wheelhouse should not pay a third of a second for the recipe models and builders.


@dataclass(frozen=True)
class DirectoryOptions:
    """The directory options every command that reads recipes or the wheelhouse takes."""

    recipes: Path
    patches: Path | None  # None: patches/ beside the recipes
    wheelhouse: Path
    logs: Path

    def workspace(self) -> Workspace:
        recipes = self.recipes.absolute()
        return Workspace(
            recipes=recipes,
            patches=(self.patches or recipes.parent / "patches").absolute(),
            wheelhouse=self.wheelhouse.absolute(),
            logs=self.logs.absolute(),
            cache=default_cache_dir().absolute(),
        )


def _directory_option(name: str, default: Path | None, help_text: str) -> Any:
    return click.option(
        f"--{name}",
        f"{name}_dir",
        # A file where a directory belongs is refused before anything runs.
        type=click.Path(path_type=Path, file_okay=False),
        default=default,
        show_default=default is not None,
        help=help_text,
    )


def directory_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add --recipes, --patches, --wheelhouse and --logs; the command gets them as ``dirs``."""

    @functools.wraps(command)
    def with_directories(
        *args: Any,
        recipes_dir: Path,
        patches_dir: Path | None,
        wheelhouse_dir: Path,
        logs_dir: Path,
        **kwargs: Any,
    ) -> None:
        dirs = DirectoryOptions(recipes_dir, patches_dir, wheelhouse_dir, logs_dir)
        command(*args, dirs=dirs, **kwargs)

    options = [
        _directory_option("recipes", Path("recipes"), "Recipe directory."),
        _directory_option(
            "patches", None, "Patch directory [default: patches/ beside the recipes]."
        ),
        _directory_option(
            "wheelhouse", Path("wheelhouse"), "Where finished wheels and their records go."
        ),
        _directory_option("logs", Path("builds"), "Build logs and records, failed builds too."),
    ]
    decorated: Callable[..., None] = with_directories
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="riscv64-wheel-factory")
def cli(debug: bool) -> None:
    """Build, repair and test riscv64 wheels from YAML recipes."""
    # --debug is read in main(): errors are reported there, after click has returned.


@cli.command()
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
    from .build import execute_all, plan, prepare_system
    from .progress import Progress
    from .recipe import load_recipes, select

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
    from .builders.native import NativeHost

    if native or platform.machine() == "riscv64":
        return NativeHost()
    from .builders.userland import ensure_userland

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
    from .builders.userland import Userland

    if not isinstance(host, Userland):
        return host
    if not accelerate:
        progress.message("riscv64 compilers: emulated (--no-accelerate)")
        return host
    from .builders.companion import accelerate as find_acceleration

    log = workspace.logs / "companion.log"
    return host.with_acceleration(find_acceleration(host, workspace.cache, log, progress.message))


@cli.command()
@click.argument("packages", nargs=-1)
@click.option("--all", "check_all", is_flag=True, help="Check every recipe (the default).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@directory_options
def check(
    packages: tuple[str, ...], check_all: bool, as_json: bool, dirs: DirectoryOptions
) -> None:
    """Validate recipes and apply every patch to its source; compiles nothing."""
    from .check import check_failure, check_recipes
    from .recipe import load_recipes, select

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


@cli.command()
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
    from .bump import bump as bump_recipes
    from .recipe import load_recipes, select
    from .webclient import Client

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


@cli.command()
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
    from .recipe import load_recipes, select
    from .retire import retire as retire_recipe
    from .webclient import Client

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


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@directory_options
def list_recipes(as_json: bool, dirs: DirectoryOptions) -> None:
    """List the recipes and the wheels built from them."""
    from .recipe import load_recipes
    from .records import wheelhouse_records

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
    from .recipe import load_recipes
    from .stale import find_stale
    from .state import local_state, read_state

    workspace = dirs.workspace()
    recipes = load_recipes(workspace.recipes, workspace.patches)
    state = (
        read_state(state_location, python_version)
        if state_location is not None
        else local_state(workspace.wheelhouse, workspace.logs)
    )
    facts = None
    if upstream:
        from .upstream import look_up
        from .webclient import Client

        wanted: dict[str, str] = {
            r.recipe.upstream_project: r.recipe.version
            for r in recipes.values()
            if r.recipe.source.kind == "pypi" or r.recipe.upstream is not None
        }
        with Client() as client:
            facts = look_up(wanted, client)
    return find_stale(recipes, state, arch, python_version, upstream=facts)


@cli.command()
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


@cli.command(name="plan")
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
    from .matrix import plan_matrix
    from .recipe import load_recipes

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


@cli.command()
@click.argument(
    "artifacts",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
)
@click.option(
    "--into",
    "state_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The state directory (wheelhouse/ and builds/) to merge into.",
)
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
    from .merge import merge as merge_artifacts

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


@cli.command()
@click.argument("location", metavar="URL|DIR")
@click.option(
    "--into",
    "state_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The state directory (wheelhouse/ and builds/) to fill.",
)
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

    from .pull import pull as pull_state

    only = {canonicalize_name(name) for name in projects} if projects else None
    report = pull_state(location, state_dir.absolute(), only)
    click.echo(
        f"{state_dir}/: {len(report.fetched)} wheel{'s' if len(report.fetched) != 1 else ''} "
        f"fetched, {report.present} already there, {report.build_files} build files"
        + (f", {len(report.yanks)} yanks carried" if report.yanks else "")
    )


@cli.command()
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
    from .coverage import PYPI_SIMPLE, STATUS_TEXT, classify, resolve
    from .recipe import load_recipes

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


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("index"),
    show_default=True,
    help="Where to write the index.",
)
@click.option(
    "--base-url",
    default=None,
    help="Link wheels at BASE_URL/<wheel>: the wheelhouse (wheels, .metadata and "
    ".build.json files) is hosted there instead of published as index/files/.",
)
@click.option("--pre", "allow_pre", is_flag=True, help="Include pre-releases and dev releases.")
@click.option("--local", "allow_local", is_flag=True, help="Include local versions (1.0+x).")
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON.")
@directory_options
def index(
    out_dir: Path,
    base_url: str | None,
    allow_pre: bool,
    allow_local: bool,
    as_json: bool,
    dirs: DirectoryOptions,
) -> None:
    """Write the static index of the wheelhouse into index/ (only what changed)."""
    # Imported here: `factory build` should not pay for loading the index renderer.
    from .index import IndexOptions, IndexSettings, generate_index

    workspace = dirs.workspace()
    report = generate_index(
        IndexOptions(
            wheelhouse=workspace.wheelhouse,
            out=out_dir.absolute(),
            recipes=workspace.recipes,
            patches=workspace.patches,
            logs=workspace.logs,
            settings=IndexSettings(check_base_url(base_url), allow_pre, allow_local),
        )
    )
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=2, default=str))
        return
    click.echo(
        f"{out_dir}/: {report.projects} project{'s' if report.projects != 1 else ''}, "
        f"{report.files} wheel{'s' if report.files != 1 else ''}; "
        f"{len(report.rendered)} project{'s' if len(report.rendered) != 1 else ''} re-rendered, "
        f"{len(report.written)} file{'s' if len(report.written) != 1 else ''} written, "
        f"{len(report.deleted)} deleted"
    )


def check_base_url(
    url: str | None,
    option: str = "--base-url",
    example: str = "https://github.com/OWNER/REPO/releases/download/wheels",
) -> str | None:
    if url is not None and not url.startswith(("https://", "http://")):
        raise ConfigError(f"{option} must be an http(s) URL, got {url!r}", hint=f"e.g. {example}")
    return url


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parse_size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A size in bytes: a number, optionally with K, M or G (powers of 1024)."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (text[:-1], text[-1]) if text[-1:] in ("K", "M", "G") else (text, "")
    try:
        size = int(float(number) * _SIZE_UNITS[unit])
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size (e.g. 50M, 1G, 2000000)") from None
    if size <= 0:
        raise click.BadParameter(f"{value!r} is not a positive size")
    return size


def publishing_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options `publish` and `unpublish` share: where, how, and the release."""
    options = [
        click.option(
            "--remote",
            required=True,
            envvar="FACTORY_PUBLISH_REMOTE",
            help="The git remote (URL or path) whose branch holds the published index "
            "[env FACTORY_PUBLISH_REMOTE].",
        ),
        click.option("--branch", default="gh-pages", show_default=True),
        click.option(
            "--site-dir",
            type=click.Path(path_type=Path, file_okay=False),
            default=None,
            help="Also write the published tree here (for actions/upload-pages-artifact).",
        ),
        click.option(
            "--asset-threshold",
            callback=parse_size,
            default="50M",
            show_default=True,
            help="Wheels larger than this become release assets (at most 100M: GitHub's "
            "limit for a file in a repository).",
        ),
        click.option(
            "--pages-limit",
            callback=parse_size,
            default="1G",
            show_default=True,
            help="Warn when the site nears this size (GitHub Pages: about 1 GB).",
        ),
        click.option(
            "--release-repo",
            envvar="GITHUB_REPOSITORY",
            default=None,
            help="OWNER/REPO whose release holds the large wheels [env GITHUB_REPOSITORY].",
        ),
        click.option("--release-tag", default="wheels", show_default=True),
        click.option(
            "--github-api",
            envvar="GITHUB_API_URL",
            default="https://api.github.com",
            show_default=True,
            help="The GitHub REST API [env GITHUB_API_URL].",
        ),
        click.option(
            "--attempts",
            type=click.IntRange(1, 100),
            default=5,
            show_default=True,
            help="How often to start over on top of another publisher's push.",
        ),
        click.option("--pre", "allow_pre", is_flag=True, help="Index pre-releases too."),
        click.option("--local", "allow_local", is_flag=True, help="Index local versions too."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
    ]
    decorated = command
    for option in reversed(options):
        decorated = option(decorated)
    return directory_options(decorated)


def _publish_options(dirs: DirectoryOptions, **given: Any) -> PublishOptions:
    from .index import IndexSettings
    from .publish import PublishOptions

    if given["asset_threshold"] > 100 * 1024**2:
        raise ConfigError(
            f"--asset-threshold {given['asset_threshold']:,} bytes is above GitHub's limit of "
            "100M for a file in a repository",
            hint="pass --asset-threshold 100M or less: larger wheels become release assets",
        )
    repo = given["release_repo"]
    if repo is not None and not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise ConfigError(
            f"--release-repo must be OWNER/REPO, got {repo!r}", hint="e.g. octocat/riscv64-wheels"
        )
    api = check_base_url(given["github_api"], "--github-api", "https://api.github.com")
    workspace = dirs.workspace()
    remote = given["remote"]
    if "://" not in remote and os.path.exists(remote):
        remote = os.path.abspath(remote)  # a local path: the same remote from anywhere
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or None
    return PublishOptions(
        remote=remote,
        wheelhouse=workspace.wheelhouse,
        logs=workspace.logs,
        recipes=workspace.recipes,
        patches=workspace.patches,
        cache=workspace.cache,
        branch=given["branch"],
        site_dir=given["site_dir"].absolute() if given["site_dir"] else None,
        asset_threshold=given["asset_threshold"],
        site_limit=given["pages_limit"],
        github_api=api or "",
        release_repo=repo,
        release_tag=given["release_tag"],
        token=token,
        settings=IndexSettings(None, given["allow_pre"], given["allow_local"]),
        attempts=given["attempts"],
    )


def _say(message: str) -> None:
    click.echo(message, err=True)


@cli.command()
@publishing_options
def publish(dirs: DirectoryOptions, as_json: bool, **given: Any) -> None:
    """Publish the wheelhouse to the index on a git branch (gh-pages): one commit per run.

    Everything published before is kept; a published file name never gets new bytes.
    Wheels above --asset-threshold become assets of a GitHub release (GITHUB_TOKEN).
    """
    from .publish import publish as publish_wheels

    report = publish_wheels(_publish_options(dirs, **given), _say)
    _print_report(report, as_json)


@cli.command()
@click.argument("wheels", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why: kept on the project page.")
@publishing_options
def unpublish(
    wheels: tuple[str, ...], reason: str, dirs: DirectoryOptions, as_json: bool, **given: Any
) -> None:
    """Remove published WHEELS (file names) on purpose, with a reason.

    Prefer `factory yank`: a yanked file stays installable when pinned. A removed name
    is never published again; its project page keeps the reason.
    """
    from .publish import publish as publish_wheels

    if not reason.strip():
        raise ConfigError("say why with --reason", hint="the project page keeps the reason")
    removals = dict.fromkeys(wheels, reason.strip())
    report = publish_wheels(_publish_options(dirs, **given), _say, removals)
    _print_report(report, as_json)


def _print_report(report: PublishReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=2))
        return
    where = f"{report.remote} {report.branch}"
    commit = (report.commit or "")[:12]
    for name in report.not_republished:
        click.echo(f"not published again (removed on purpose): {name}")
    if report.removed:
        click.echo(f"removed {', '.join(report.removed)} from {where} (commit {commit})")
    elif report.pushed and not (report.added or report.assets):
        click.echo(f"updated the pages and logs on {where} (commit {commit}); no new wheels")
    elif report.pushed:
        new = len(report.added) + len(report.assets)
        click.echo(
            f"published {new} wheel{'s' if new != 1 else ''} to {where} (commit {commit}): "
            f"{len(report.added)} in files/, {len(report.assets)} as release assets; "
            f"{len(report.unchanged)} already published"
        )
    else:
        click.echo(f"{where} is up to date (commit {commit}): nothing new to publish")
    if report.site_dir is not None:
        click.echo(f"site: {report.site_dir} ({report.site_bytes / 1e6:,.1f} MB)")


@cli.command()
@click.argument("wheels", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--wheelhouse",
    type=click.Path(path_type=Path),
    default=Path("wheelhouse"),
    show_default=True,
    help="Where the built wheels are.",
)
def adopt(wheels: tuple[Path, ...], wheelhouse: Path) -> None:
    """Add wheels built elsewhere (WHEEL_OR_DIR...) to the wheelhouse, for the index.

    Each wheel is checked, then copied in with its .metadata (PEP 658) and catalog line.
    A name already in the wheelhouse with other bytes is refused.
    """
    from .adopt import adopt as adopt_wheels
    from .adopt import wheels_to_adopt

    results = adopt_wheels(wheelhouse.absolute(), wheels_to_adopt(wheels))
    for result in results:
        click.echo(f"{result.outcome}: {result.filename}")
    adopted = sum(1 for r in results if r.outcome != "unchanged")
    click.echo(
        f"{wheelhouse}/: {adopted} of {len(results)} wheel{'s' if len(results) != 1 else ''} added"
    )


@cli.command()
@click.argument("target")
@click.option("--reason", default=None, help="Why (shown by pip when the file is installed).")
@click.option("--undo", is_flag=True, help="Remove the yank instead.")
@directory_options
def yank(target: str, reason: str | None, undo: bool, dirs: DirectoryOptions) -> None:
    """Yank (PEP 592) a wheel file or a release (NAME==VERSION) from the index.

    Installers then skip it unless it is pinned exactly. Takes effect at the next
    `factory index`.
    """
    from .index.yanks import unyank
    from .index.yanks import yank as add_yank

    wheelhouse = dirs.wheelhouse
    if undo:
        key = unyank(wheelhouse.absolute(), target)
        click.echo(f"no longer yanked: {key}")
        return
    if not reason:
        raise ConfigError(
            "say why with --reason", hint="pip shows the reason to whoever installs it"
        )
    key, covered = add_yank(wheelhouse.absolute(), target, reason)
    click.echo(f"yanked {key} ({len(covered)} wheel{'s' if len(covered) != 1 else ''}): {reason}")


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=Path("index"),
    show_default=True,
    help="The index to serve.",
)
@click.option("--port", type=int, default=8000, show_default=True)
def serve(directory: Path, port: int) -> None:
    """Serve the index on 127.0.0.1 (for trying it out; Pages serves it for real)."""
    from .serve import serve_directory

    serve_directory(directory, port)


@cli.group()
def userland() -> None:
    """The emulated riscv64 Debian userland (for hosts that are not riscv64)."""


@userland.command(name="create")
def userland_create() -> None:
    """Create the userland (or restore it from its cached tarball) and verify it."""
    from .builders.userland import ensure_userland
    from .progress import Progress

    progress = Progress()
    cache = default_cache_dir()
    ready = ensure_userland(cache, cache / "userland.log", on_line=progress.message)
    versions = ", ".join(f"{k} {v}" for k, v in sorted(ready.toolchain().items()))
    click.echo(f"ready: {ready.root} ({versions})")


@userland.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def userland_status(as_json: bool) -> None:
    """Say whether the userland is ready, where it is and what it holds."""
    from .builders.userland import userland_status as status

    state = status(default_cache_dir())
    if as_json:
        click.echo(json.dumps(state, indent=2, sort_keys=True))
        return
    for key, value in state.items():
        click.echo(f"{key:>16}: {value}")


class Terminated(BaseException):
    """SIGTERM (CI cancelling a job): unwind like Ctrl-C so running builds are killed."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        cli.main(prog_name="factory", standalone_mode=False)
    except FactoryError as error:
        if debug:
            traceback.print_exc()
        for line in error.details:
            click.echo(line, err=True)
        click.echo(f"ERROR: {error.message}", err=True)
        if error.hint:
            click.echo(f"  hint: {error.hint}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("ERROR: interrupted", err=True)
        sys.exit(130)
    except click.UsageError as error:
        # One line like every other error (click's own format spans several).
        message = " ".join(error.format_message().split())
        click.echo(f"ERROR: {message}", err=True)
        command = error.ctx.command_path if error.ctx is not None else "factory"
        click.echo(f"  hint: `{command} --help` lists the options", err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except (KeyboardInterrupt, Terminated):
        click.echo("ERROR: interrupted; nothing half-built was kept", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
