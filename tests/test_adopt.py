"""`factory adopt`: wheels built elsewhere join the wheelhouse with .metadata and a catalog line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from factory.adopt import adopt, wheels_to_adopt
from factory.catalog import parse_line, read_catalog
from factory.errors import ConfigError

from .index_helpers import make_wheel


def test_adopt_copies_the_wheel_with_its_metadata_and_catalog_line(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    wheel = make_wheel(elsewhere, "alpha", "1.0", requires_python=">=3.9, <4")
    make_wheel(elsewhere, "beta", "2.0")
    house = tmp_path / "wheelhouse"
    results = adopt(house, wheels_to_adopt([elsewhere]))
    assert [(r.filename, r.outcome) for r in results] == [
        (wheel.name, "adopted"),
        ("beta-2.0-py3-none-any.whl", "adopted"),
    ]
    assert (house / wheel.name).read_bytes() == wheel.read_bytes()
    metadata = (house / f"{wheel.name}.metadata").read_bytes()
    assert b"Name: alpha" in metadata
    entry = parse_line(read_catalog(house)[wheel.name])
    assert entry is not None
    assert entry.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entry.size == wheel.stat().st_size
    assert entry.metadata_sha256 == hashlib.sha256(metadata).hexdigest()
    assert entry.requires_python == ">=3.9, <4"  # as written, not re-ordered
    assert entry.started == ""  # not built here: no upload time
    # The same bytes again: nothing to do.
    catalog = (house / "catalog.tsv").read_bytes()
    assert [r.outcome for r in adopt(house, [wheel])] == ["unchanged"]
    assert (house / "catalog.tsv").read_bytes() == catalog


def test_a_published_name_never_gets_new_bytes(tmp_path: Path) -> None:
    house = tmp_path / "wheelhouse"
    adopt(house, [make_wheel(tmp_path / "one", "alpha", "1.0")])
    before = {p.name: p.read_bytes() for p in house.iterdir()}
    other = make_wheel(tmp_path / "two", "alpha", "1.0", requires=("beta",))
    newcomer = make_wheel(tmp_path / "two", "gamma", "1.0")
    with pytest.raises(ConfigError, match="already exists with other bytes"):
        adopt(house, [newcomer, other])
    assert {p.name: p.read_bytes() for p in house.iterdir()} == before  # nothing adopted


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("bad-name", r"beta_1\.2-py3-none-any\.whl: not a valid wheel file name"),
        ("mismatch", r"its metadata says zeta 2\.0, its file name says zeta 1\.0"),
        ("corrupt", r"theta-1\.0-py3-none-any\.whl: corrupt wheel"),
    ],
)
def test_adopt_refuses_bad_wheels(tmp_path: Path, case: str, message: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if case == "bad-name":
        (elsewhere / "beta_1.2-py3-none-any.whl").write_bytes(b"PK")
    elif case == "mismatch":
        make_wheel(elsewhere, "zeta", "1.0", metadata_version="2.0")
    else:
        (elsewhere / "theta-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match=message):
        adopt(tmp_path / "wheelhouse", wheels_to_adopt([elsewhere]))
    assert not (tmp_path / "wheelhouse" / "catalog.tsv").exists()
