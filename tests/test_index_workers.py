"""A run that renders in forked worker processes gives the pages one process gives, and
an error met in a worker is the same one clear error, with the index left as it was.
(The kill -9 case is in test_index_kill.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from factory.errors import ConfigError
from factory.index import IndexOptions, IndexSettings, generate_index
from factory.index import generate as generate_module

from .index_helpers import add_wheel

NAMES = [f"project{number}" for number in range(8)]


def pages(out: Path) -> dict[str, bytes]:
    found = {}
    for directory, _, names in os.walk(out):
        for name in names:
            path = Path(directory, name)
            if not name.startswith(".factory") and not path.is_symlink():
                found[str(path.relative_to(out))] = path.read_bytes()
    return found


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    house = tmp_path / "wheelhouse"
    for name in NAMES:
        add_wheel(house, tmp_path / "scratch", name, "1.0")
    return house


@pytest.fixture
def in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers for a handful of projects (one per core: two on a 2-core machine)."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: a run never forks")
    monkeypatch.setattr(generate_module, "PARALLEL_MIN_PROJECTS", 2)


def test_pages_rendered_by_workers_are_the_pages_of_one_process(
    wheelhouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate_index(IndexOptions(wheelhouse=wheelhouse, out=tmp_path / "serial"))
    forked: list[int] = []
    fork = os.fork

    def counting_fork() -> int:
        pid = fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counting_fork)
    monkeypatch.setattr(generate_module, "PARALLEL_MIN_PROJECTS", 2)
    report = generate_index(IndexOptions(wheelhouse=wheelhouse, out=tmp_path / "forked"))
    if len(os.sched_getaffinity(0)) > 1:
        assert forked, "the run did not fork"
    assert report.rendered == tuple(NAMES)
    assert pages(tmp_path / "forked") == pages(tmp_path / "serial")


@pytest.mark.usefixtures("in_workers")
def test_an_error_in_a_worker_is_one_clear_error_and_nothing_changes(
    wheelhouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "index"
    generate_index(IndexOptions(wheelhouse=wheelhouse, out=out))
    before = pages(out)
    # A misnamed wheel in the last project: rendered by a worker, not by this process,
    # in a run that re-renders every project (new settings).
    add_wheel(wheelhouse, tmp_path / "scratch", NAMES[-1], "2.0", project="Project7")
    with pytest.raises(ConfigError, match="collide after normalization"):
        generate_index(
            IndexOptions(wheelhouse=wheelhouse, out=out, settings=IndexSettings(allow_pre=True))
        )
    assert pages(out) == before
    assert not list(out.rglob(".factory-tmp.*")) and not (out / ".factory-journal.json").exists()
