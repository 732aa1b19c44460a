"""The atomic writers: what a reader sees while and after a file is replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory import _fs


def test_write_atomically_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "file.json"
    _fs.write_atomically(path, b"one")
    _fs.write_atomically(path, b"two")
    assert path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["file.json"]


def test_a_failed_rename_keeps_the_old_bytes_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file"
    _fs.write_atomically(path, b"old")

    def crash(source: object, destination: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_fs, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        _fs.write_atomically(path, b"new")
    with pytest.raises(KeyboardInterrupt):
        _fs.copy_atomically(path, tmp_path / "copy")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_copy_atomically_copies_bytes_readable_by_others(tmp_path: Path) -> None:
    source = tmp_path / "a.whl"
    source.write_bytes(b"x" * (3 << 20))
    source.chmod(0o600)
    _fs.copy_atomically(source, tmp_path / "out" / "a.whl")
    copied = tmp_path / "out" / "a.whl"
    assert copied.read_bytes() == source.read_bytes()
    assert copied.stat().st_mode & 0o777 == 0o644
