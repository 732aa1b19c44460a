"""The wheelhouse catalog: what add_to_wheelhouse appends is what the index reads back."""

from __future__ import annotations

import threading
from pathlib import Path

from factory.catalog import CATALOG_FILE, CatalogEntry, append_to_catalog, parse_line, read_catalog

from .index_helpers import add_wheel


def entry(filename: str, **fields: str) -> CatalogEntry:
    values = {
        "project": "demo",
        "version": "1.0",
        "sha256": "a" * 64,
        "size": 10,
        "metadata_sha256": "b" * 64,
        "requires_python": ">=3.9",
        "started": "2026-01-01T00:00:00+00:00",
        "log": "/logs/demo/1.0.log",
        **fields,
    }
    return CatalogEntry(filename, **values)  # type: ignore[arg-type]


def test_add_to_wheelhouse_catalogues_the_wheel(tmp_path: Path) -> None:
    wheel = add_wheel(
        tmp_path / "wh", tmp_path / "scratch", "alpha", "1.0", requires_python=">=3.8"
    )
    [line] = read_catalog(tmp_path / "wh").values()
    found = parse_line(line)
    assert found is not None
    assert (found.filename, found.project, found.requires_python) == (wheel.name, "alpha", ">=3.8")
    assert found.size == wheel.stat().st_size


def test_free_text_fields_survive_tabs_newlines_and_backslashes(tmp_path: Path) -> None:
    odd = entry("demo-1.0-py3-none-any.whl", log="C:\\logs\\a\tb\nc.log", project="De\\mo")
    append_to_catalog(tmp_path, [odd])
    assert parse_line(read_catalog(tmp_path)[odd.filename]) == odd


def test_the_last_line_wins_and_an_unfinished_line_is_ignored(tmp_path: Path) -> None:
    name = "demo-1.0-py3-none-any.whl"
    append_to_catalog(tmp_path, [entry(name, sha256="1" * 64)])
    append_to_catalog(tmp_path, [entry(name, sha256="2" * 64)])
    with open(tmp_path / CATALOG_FILE, "a") as handle:
        handle.write("other-1.0-py3-none-any.whl\tother\t1.")  # a writer killed mid-line
    assert list(read_catalog(tmp_path)) == [name]
    assert parse_line(read_catalog(tmp_path)[name]).sha256 == "2" * 64  # type: ignore[union-attr]
    # The next writer ends the broken line first: it stays unparsable, never merges.
    append_to_catalog(tmp_path, [entry("third-1.0-py3-none-any.whl")])
    lines = read_catalog(tmp_path)
    assert parse_line(lines["other-1.0-py3-none-any.whl"]) is None
    assert parse_line(lines["third-1.0-py3-none-any.whl"]) is not None


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    def write(prefix: str) -> None:
        for number in range(200):
            append_to_catalog(tmp_path, [entry(f"{prefix}{number}-1.0-py3-none-any.whl")])

    threads = [threading.Thread(target=write, args=(p,)) for p in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = read_catalog(tmp_path)
    assert len(lines) == 600 and all(parse_line(line) for line in lines.values())


def test_the_compiler_path_travels_in_the_catalog_and_older_lines_still_parse() -> None:
    new = entry("demo-1.0-py3-none-any.whl", compiler="host-native cross (amd64 companion x)")
    assert parse_line(new.line().rstrip("\n")) == new
    older = "\t".join(new.line().rstrip("\n").split("\t")[:9])  # written before the field
    parsed = parse_line(older)
    assert parsed is not None and parsed.compiler == "" and parsed.log == new.log


def test_the_isa_travels_in_the_catalog_and_lines_without_it_still_parse() -> None:
    new = entry(
        "demo-1.0-cp313-cp313-manylinux_2_31_riscv64.whl", compiler="emulated", isa="rv64gc"
    )
    assert parse_line(new.line().rstrip("\n")) == new
    before_isa = "\t".join(new.line().rstrip("\n").split("\t")[:10])
    parsed = parse_line(before_isa)
    assert parsed is not None and (parsed.compiler, parsed.isa) == ("emulated", "")
    assert parse_line(new.line().rstrip("\n") + "\textra") is None  # not a line of ours
