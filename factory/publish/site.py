"""The published tree as GitHub Pages sees it: its size limits, and the same tree written
as a plain directory for the Pages workflow (actions/upload-pages-artifact).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ..errors import ConfigError
from ..index import layout

# GitHub refuses a push holding a file above 100 MiB, and Pages sites are limited to
# 1 GB (https://docs.github.com/en/pages/getting-started-with-github-pages/github-pages-limits).
GITHUB_FILE_LIMIT = 100 * 1024**2
PAGES_SITE_LIMIT = 1000**3
WARN_FRACTION = 0.8


def check_sizes(sizes: Mapping[str, int], site_limit: int, say: Callable[[str], None]) -> int:
    """Refuse a file GitHub would refuse; warn when the site nears ``site_limit``. The
    site's total size."""
    too_large = sorted(path for path, size in sizes.items() if size > GITHUB_FILE_LIMIT)
    if too_large:
        raise ConfigError(
            f"{too_large[0]} is {sizes[too_large[0]]:,} bytes, more than the "
            f"{GITHUB_FILE_LIMIT:,} bytes GitHub accepts in a file; nothing was published",
            hint="wheels that large go to release assets (--asset-threshold, at most 100M); "
            "a log that large should be trimmed",
        )
    total = sum(sizes.values())
    if total > site_limit:
        say(
            f"WARNING: the site is {_size(total)}, above the {_size(site_limit)} GitHub "
            "Pages serves: lower --asset-threshold so that more wheels become release "
            "assets, or remove wheels with `factory unpublish`"
        )
    elif total > WARN_FRACTION * site_limit:
        say(
            f"WARNING: the site is {_size(total)}, {total / site_limit:.0%} of the "
            f"{_size(site_limit)} GitHub Pages serves: lower --asset-threshold soon"
        )
    return total


def _size(size: float) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 1e5 else f"{size / 1e3:,.1f} kB"


def write_site(tree: Path, paths: Iterable[str], site: Path) -> None:
    """``paths`` of ``tree`` as the directory ``site``, replacing what a previous publish
    wrote there. Files are hard links where they can be (the work tree's files are only
    ever replaced, never rewritten in place), else copies.

    The new directory is made beside the old one and swapped in; a run killed halfway
    leaves the old one (or, between the two renames, none) and the next run cleans up.
    """
    site = site.absolute()
    fresh = site.with_name(f".{site.name}.factory-new")
    old = site.with_name(f".{site.name}.factory-old")
    if site.exists() and not _ours(site):
        raise ConfigError(
            f"{site} exists and was not written by `factory publish`; nothing was written there",
            hint="name a new directory with --site-dir, or move that one away",
        )
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    fresh.mkdir(parents=True)
    for path in paths:
        target = fresh / path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(tree / path, target)
        except OSError:  # another filesystem
            shutil.copyfile(tree / path, target)
    if site.exists():
        os.replace(site, old)
    os.replace(fresh, site)
    shutil.rmtree(old, ignore_errors=True)


def _ours(site: Path) -> bool:
    return site.is_dir() and (not any(site.iterdir()) or (site / layout.MANIFEST).is_file())
