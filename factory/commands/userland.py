"""`factory userland create` and `status`: the emulated riscv64 userland."""

from __future__ import annotations

import json

import click

from ..workspace import default_cache_dir


@click.group()
def userland() -> None:
    """The emulated riscv64 Debian userland (for hosts that are not riscv64)."""


@userland.command(name="create")
def userland_create() -> None:
    """Create the userland (or restore it from its cached tarball) and verify it."""
    from ..builders.userland import ensure_userland
    from ..progress import Progress

    progress = Progress()
    cache = default_cache_dir()
    ready = ensure_userland(cache, cache / "userland.log", on_line=progress.message)
    versions = ", ".join(f"{k} {v}" for k, v in sorted(ready.toolchain().items()))
    click.echo(f"ready: {ready.root} ({versions})")


@userland.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def userland_status(as_json: bool) -> None:
    """Say whether the userland is ready, where it is and what it holds."""
    from ..builders.userland import userland_status as status

    state = status(default_cache_dir())
    if as_json:
        click.echo(json.dumps(state, indent=2, sort_keys=True))
        return
    for key, value in state.items():
        click.echo(f"{key:>16}: {value}")
