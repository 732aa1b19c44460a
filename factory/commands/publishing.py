"""`factory publish` and `unpublish`: the index on a gh-pages branch, large wheels as
release assets."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..cli import DirectoryOptions, check_base_url, directory_options
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..publish import PublishOptions, PublishReport


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
    from ..index import IndexSettings
    from ..publish import PublishOptions

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


@click.command()
@publishing_options
def publish(dirs: DirectoryOptions, as_json: bool, **given: Any) -> None:
    """Publish the wheelhouse to the index on a git branch (gh-pages): one commit per run.

    Everything published before is kept; a published file name never gets new bytes.
    Wheels above --asset-threshold become assets of a GitHub release (GITHUB_TOKEN).
    """
    from ..publish import publish as publish_wheels

    report = publish_wheels(_publish_options(dirs, **given), _say)
    _print_report(report, as_json)


@click.command()
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
    from ..publish import publish as publish_wheels

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
