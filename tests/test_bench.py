"""The benchmarks run: a smoke round of each one that can be made small, so none can rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.integration
def test_overhead_benchmark_smoke_round() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "overhead.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "tinyext on this host, 1 rounds, medians:"
    for label in ("by hand:", "factory build --force", "factory's own work", "no-op factory"):
        assert any(label in line for line in lines), result.stdout
