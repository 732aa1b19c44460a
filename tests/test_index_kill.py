"""`factory index` killed with SIGKILL halfway through a large run: the next run finishes it."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factory.catalog import CatalogEntry, append_to_catalog

pytestmark = pytest.mark.integration
PROJECTS = 3000  # enough for a run of about a second: long enough to be killed mid-way


def large_wheelhouse(wheelhouse: Path) -> None:
    """Catalogued wheels (the index reads their catalog lines, never the wheels)."""
    wheelhouse.mkdir()
    entries = []
    for number in range(PROJECTS):
        name = f"project{number}"
        filename = f"{name}-1.0-py3-none-any.whl"
        content = f"wheel {number}".encode()
        (wheelhouse / filename).write_bytes(content)
        (wheelhouse / f"{filename}.metadata").write_bytes(b"Name: x\n")
        entries.append(
            CatalogEntry(
                filename,
                name,
                "1.0",
                hashlib.sha256(content).hexdigest(),
                len(content),
                hashlib.sha256(b"Name: x\n").hexdigest(),
                ">=3.9",
                "2026-01-01T00:00:00+00:00",
                "",
            )
        )
    append_to_catalog(wheelhouse, entries)


def run_index(wheelhouse: Path, out: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "factory", "index", "--wheelhouse", str(wheelhouse)]
    return subprocess.Popen(
        [*argv, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def pages(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith(".factory-")
    }


def test_kill_9_mid_run_then_the_next_run_completes_the_index(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    large_wheelhouse(wheelhouse)
    expected = tmp_path / "expected"
    assert run_index(wheelhouse, expected).wait(timeout=120) == 0
    out = tmp_path / "index"
    process = run_index(wheelhouse, out)
    journal = out / ".factory-journal.json"
    deadline = time.monotonic() + 60
    while not journal.exists():  # the run has begun writing pages
        assert process.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert journal.exists() and not (out / ".factory-manifest.json").exists()  # mid-run
    again = run_index(wheelhouse, out)
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr.decode()  # no lock left held by anyone
    assert pages(out) == pages(expected)
    assert not journal.exists() and not list(out.rglob(".factory-tmp.*"))
