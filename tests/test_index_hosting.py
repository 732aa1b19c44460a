"""The index of a published wheelhouse: wheels hosted at a URL (release assets) and wheels
removed on purpose, read from hosting.json; files/ and logs/ inside the index itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from factory.errors import ConfigError
from factory.index import IndexOptions, generate_index
from factory.index.hosting import HOSTING_FILE, Hosting, Removal, load_hosting, save_hosting

from .index_helpers import add_wheel

URL = "https://github.com/o/r/releases/download/wheels/big-1.0-py3-none-any.whl"
BIG = "big-1.0-py3-none-any.whl"
GONE = "small-0.9-py3-none-any.whl"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A published tree: the wheelhouse is site/files, the logs site/logs."""
    files = tmp_path / "site" / "files"
    add_wheel(files, tmp_path / "scratch", "small", "0.9")
    add_wheel(files, tmp_path / "scratch", "small", "1.0")
    add_wheel(files, tmp_path / "scratch", "big", "1.0")
    (files / BIG).unlink()  # it lives on the release; its .metadata and record stay
    (tmp_path / "site" / "logs").mkdir()
    return tmp_path / "site"


def index(site: Path) -> None:
    generate_index(IndexOptions(wheelhouse=site / "files", out=site, logs=site / "logs"))


def test_hosted_wheels_are_linked_at_their_url_and_removed_ones_listed(site: Path) -> None:
    save_hosting(site / "files", Hosting({BIG: URL}, {GONE: Removal("crashes <on K1>", "0" * 64)}))
    (site / "files" / GONE).unlink()
    index(site)
    assert not os.path.islink(site / "files") and not os.path.islink(site / "logs")
    simple = (site / "simple/big/index.html").read_text()
    assert f'<a href="{URL}#sha256=' in simple and "data-core-metadata" in simple
    assert json.loads((site / "simple/big/index.json").read_text())["files"][0]["url"] == URL
    human = (site / "projects/big.html").read_text()
    assert f'<a href="{URL}">{BIG}</a>' in human
    assert f'<a href="../files/{BIG}.build.json">build record</a>' in human
    small = (site / "simple/small/index.html").read_text()
    assert GONE not in small and "small-1.0-py3-none-any.whl" in small
    page = (site / "projects/small.html").read_text()
    assert f"<li>{GONE}: crashes &lt;on K1&gt;</li>" in page


def test_a_removed_wheel_still_in_the_wheelhouse_is_not_published(site: Path) -> None:
    save_hosting(site / "files", Hosting({BIG: URL}, {GONE: Removal("bad", "0" * 64)}))
    index(site)
    assert GONE not in (site / "simple/small/index.html").read_text()
    assert (site / "files" / GONE).is_file()  # the index never deletes from the wheelhouse


def test_hosting_changes_re_render_only_that_project(site: Path) -> None:
    save_hosting(site / "files", Hosting({BIG: URL}))
    index(site)
    small = (site / "simple/small/index.html").stat().st_ino
    save_hosting(site / "files", Hosting({BIG: URL + "?moved"}))
    report = generate_index(IndexOptions(wheelhouse=site / "files", out=site, logs=site / "logs"))
    assert report.rendered == ("big",)
    assert (site / "simple/small/index.html").stat().st_ino == small
    assert f"{URL}?moved#sha256=" in (site / "simple/big/index.html").read_text()


def test_a_hosted_wheel_without_a_catalog_line_is_an_error(site: Path) -> None:
    save_hosting(site / "files", Hosting({BIG: URL, "ghost-1.0-py3-none-any.whl": URL}))
    with pytest.raises(ConfigError, match=r"ghost-1\.0-py3-none-any\.whl.*without a line"):
        index(site)
    assert not (site / "simple").exists()


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"hosted": {"a.whl": "ftp://x"}}',
        '{"removed": {"a.whl": "no reason"}}',
    ],
)
def test_an_unreadable_hosting_file_is_one_error(site: Path, content: str) -> None:
    (site / "files" / HOSTING_FILE).write_text(content)
    with pytest.raises(ConfigError, match=f"{HOSTING_FILE}: unreadable"):
        load_hosting(site / "files")
    with pytest.raises(ConfigError):
        index(site)
    assert not (site / "simple").exists()


def test_hosting_round_trips(tmp_path: Path) -> None:
    hosting = Hosting({BIG: URL}, {GONE: Removal("why", "a" * 64)})
    save_hosting(tmp_path, hosting)
    assert load_hosting(tmp_path) == hosting
    assert load_hosting(tmp_path / "nowhere") == Hosting()
