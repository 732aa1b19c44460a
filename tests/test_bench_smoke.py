"""The benchmarks still run: each at its smallest size, so that they cannot rot unseen.

Only that they finish and print their figures is checked; what the figures are is the
benchmarks' business (no timed tests)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
BENCH = Path(__file__).resolve().parent.parent / "bench"


def run(script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_index_bench_prints_its_goals_and_ratios(tmp_path: Path) -> None:
    out = run(
        "index_bench.py", "--projects", "5", "--wheels", "12",
        env={"FACTORY_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    for line in ("  full ", "  no change ", "  one project ", "full against dumb-pypi: "):
        assert line in out, out
    assert "x floor (goal <= 1.5x floor)" in out and "dumb/factory" in out


def test_io_floor_writes_the_pages_it_is_given(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    (wheelhouse / "catalog.tsv").write_text("")
    pages = tmp_path / "pages.tsv"
    pages.write_text("simple/a/index.html\t10\nindex.html\t3\n")
    out = tmp_path / "out"
    printed = run("io_floor.py", str(wheelhouse), str(pages), str(out), "2")
    assert printed.startswith("io floor: 2 pages by 2 process(es) in ")
    assert (out / "simple/a/index.html").stat().st_size == 10


def test_resolve_bytes_prints_its_ratios() -> None:
    out = run("resolve_bytes.py", "--payload-mb", "0.01")
    assert "plain / factory bytes: " in out and "plain / reference bytes: " in out


@pytest.mark.userland
@pytest.mark.skipif(os.geteuid() != 0, reason="the riscv64 userland needs root (chroot)")
@pytest.mark.skipif(platform.machine() == "riscv64", reason="native riscv64: no emulation")
def test_emulated_build_benchmark_smoke_round() -> None:
    out = run("emulated_build.py", "--smoke", timeout=1800)
    lines = out.splitlines()
    assert "1 round(s), medians: build step / whole build (fetch to test)" in lines, out
    report = lines[lines.index("tinyext:") :]
    for label in ("fully emulated", "accelerated (host-native", "native x86_64 build"):
        assert any(line.strip().startswith(label) for line in report), out
    assert "emulated / accelerated: " in out and "accelerated / native: " in out


def test_stale_bench_prints_the_goal_beside_the_load_time() -> None:
    out = run("stale_bench.py", "--smoke")
    lines = out.splitlines()
    assert lines[0].startswith("10 recipes, 100 published wheels, 1 round(s), medians"), out
    # The planted kinds come out as the verdicts they stand for.
    assert lines[1] == "  planted: 1 changed, 6 current, 1 failed, 1 never, 1 new-version", out
    assert lines[2] == "  verdicts: 6 current, 1 failed, 1 needs-bump, 2 stale", out
    assert lines[3].startswith("  factory stale --state DIR ") and "(goal < 1 s: " in lines[3]
    assert lines[4].startswith("  load + validate (list) ") and "stale / load: " in lines[5]
