"""`factory index`, `adopt`, `yank` and `serve`: the wheelhouse and the static index
made from it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..cli import DirectoryOptions, check_base_url, directory_options
from ..errors import ConfigError


@click.command()
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
    from ..index import IndexOptions, IndexSettings, generate_index

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
        click.echo(json.dumps(report._asdict(), indent=2, default=str))
        return
    click.echo(
        f"{out_dir}/: {report.projects} project{'s' if report.projects != 1 else ''}, "
        f"{report.files} wheel{'s' if report.files != 1 else ''}; "
        f"{len(report.rendered)} project{'s' if len(report.rendered) != 1 else ''} re-rendered, "
        f"{len(report.written)} file{'s' if len(report.written) != 1 else ''} written, "
        f"{len(report.deleted)} deleted"
    )


@click.command()
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
    from ..adopt import adopt as adopt_wheels
    from ..adopt import wheels_to_adopt

    results = adopt_wheels(wheelhouse.absolute(), wheels_to_adopt(wheels))
    for result in results:
        click.echo(f"{result.outcome}: {result.filename}")
    adopted = sum(1 for r in results if r.outcome != "unchanged")
    click.echo(
        f"{wheelhouse}/: {adopted} of {len(results)} wheel{'s' if len(results) != 1 else ''} added"
    )


@click.command()
@click.argument("target")
@click.option("--reason", default=None, help="Why (shown by pip when the file is installed).")
@click.option("--undo", is_flag=True, help="Remove the yank instead.")
@directory_options
def yank(target: str, reason: str | None, undo: bool, dirs: DirectoryOptions) -> None:
    """Yank (PEP 592) a wheel file or a release (NAME==VERSION) from the index.

    Installers then skip it unless it is pinned exactly. Takes effect at the next
    `factory index`.
    """
    from ..index.yanks import unyank
    from ..index.yanks import yank as add_yank

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


@click.command()
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
    from ..serve import serve_directory

    serve_directory(directory, port)
