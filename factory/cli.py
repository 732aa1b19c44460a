"""The `factory` command: thin click commands, each parse-options-then-call.

The commands live in ``factory/commands/``, one module per concept; the group below
imports a command's module only when that command runs (``factory index`` with nothing
new takes about 0.16 s, and defining every command's options would add 35 ms to it).
Errors are turned into one ``ERROR:`` line plus a hint here and nowhere else.
"""

from __future__ import annotations

import functools
import importlib
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import click

from .errors import ConfigError, FactoryError
from .workspace import Workspace, default_cache_dir

# Each command also imports what it needs when it runs: `factory index` on a large
# wheelhouse should not pay a third of a second for the recipe models and builders.

# Command name -> "module:attribute" under factory.commands, in `factory --help` order.
COMMANDS = {
    "build": "building:build",
    "check": "building:check",
    "bump": "building:bump",
    "retire": "building:retire",
    "list": "building:list_recipes",
    "stale": "planning:stale",
    "plan": "planning:plan_command",
    "merge": "planning:merge",
    "pull": "planning:pull",
    "coverage": "planning:coverage",
    "index": "indexing:index",
    "publish": "publishing:publish",
    "unpublish": "publishing:unpublish",
    "adopt": "indexing:adopt",
    "yank": "indexing:yank",
    "serve": "indexing:serve",
    "userland": "userland:userland",
}


class LazyGroup(click.Group):
    """A group whose commands are imported when asked for (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(f"factory.commands.{module}"), attribute)
        assert isinstance(command, click.Command), where
        return command


class DirectoryOptions(NamedTuple):  # not a frozen dataclass: an eighth of the import time
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


@click.group(cls=LazyGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="riscv64-wheel-factory")
def cli(debug: bool) -> None:
    """Build, repair and test riscv64 wheels from YAML recipes."""
    # --debug is read in main(): errors are reported there, after click has returned.


def check_base_url(
    url: str | None,
    option: str = "--base-url",
    example: str = "https://github.com/OWNER/REPO/releases/download/wheels",
) -> str | None:
    if url is not None and not url.startswith(("https://", "http://")):
        raise ConfigError(f"{option} must be an http(s) URL, got {url!r}", hint=f"e.g. {example}")
    return url


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
            import traceback

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
