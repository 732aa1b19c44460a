"""riscv64 builds three ways: fully emulated, accelerated, and native x86_64 (the floor).

For each package, in one run on one machine, each path a real `factory build --force`:
  emulated:     factory build --no-accelerate   (qemu runs everything: compilers, pip)
  accelerated:  factory build                   (the companion's host-native cross
                compilers compile, the host-native uv installs build and test venvs)
  native:       factory build --native          (an x86_64 wheel: the physical floor;
                nothing emulated can be faster)
Printed per package: the build step (the PEP 517 build, from the build record) and the
whole build (fetch + build + repair + test), medians, and their ratios. Goals (issue
#12): accelerated within 2x of native for each package; at least 5x faster than fully
emulated for the compile-heavy one.

Packages (--packages): pyyaml (C, Cython, libyaml), greenlet (C++; a recipe this
bench writes: its sdist pinned below) and zstandard (compile-heavy: the whole zstd
library; cffi, its build dependency, is built once in the warm-up). pyyaml's build
translates one module with Cython: the warm-up builds our compiled riscv64 Cython
(about 9 minutes), which riscv64 builds then take from the wheelhouse, as builds next
to a published index do (`factory pull`); the native build takes PyPI's compiled
x86_64 Cython. The warm-up's accelerated builds also make the kept build environments
(buildenv.py) the timed ones use, with their bytecode.

Needs root and the riscv64 userland (created on first use, as for `factory build`).
Run: .venv/bin/python bench/emulated_build.py [--rounds N] [--packages pyyaml ...]
     .venv/bin/python bench/emulated_build.py --smoke   (one round of a tiny C extension
     from a local archive, no warm-up: a few minutes; the userland test tier runs it so
     that the benchmark cannot rot)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import bench_project  # noqa: E402  (the same projects as its benchmark)

MODES = {
    "emulated": ["--no-accelerate"],
    "accelerated": [],
    "native": ["--native"],
}
LABELS = {
    "emulated": "fully emulated (--no-accelerate)",
    "accelerated": "accelerated (host-native cross + uv)",
    "native": "native x86_64 build (the floor)",
}
DEFAULT_PACKAGES = ("pyyaml", "greenlet", "zstandard")
# A small C++ extension that is not one of our recipes (PyPI ships its riscv64 wheels):
# pinned here so that the bench builds the same source every time.
GREENLET_RECIPE = """\
name: greenlet
version: "3.5.6"
source:
  pypi:
    sha256: 8e67c43bdfc88d5fee6db0d3e40175b362fc95fb85f0412d233b9b203c53a575
test:
  imports: [greenlet._greenlet]
  commands:
    - 'python -c "import greenlet; assert greenlet.greenlet(lambda: 42).switch() == 42"'
"""


def build(project: Path, package: str, mode: str, env: dict[str, str]) -> tuple[float, float]:
    """One forced build: (build step seconds, whole build seconds) from its record."""
    argv = [PYTHON, "-m", "factory", "build", "--force", *MODES[mode], package]
    started = time.monotonic()
    result = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{result.stderr}")
    newest = max((project / "builds" / package).glob("*.json"), key=lambda p: p.stat().st_mtime)
    # The record's steps: fetch, build, repair, test (no interpreter start or planning).
    steps = json.loads(newest.read_text())["steps"]
    print(f"  {package} {mode}: {time.monotonic() - started:.0f} s", flush=True)
    return steps["build"], sum(steps.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--packages", nargs="+", default=list(DEFAULT_PACKAGES))
    parser.add_argument("--smoke", action="store_true", help="one round of a tiny C extension")
    args = parser.parse_args()
    packages = ["tinyext"] if args.smoke else args.packages
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-emulated-") as temp:
        project = Path(temp) / "project"
        bench_project(project, args.smoke)
        if not args.smoke:
            (project / "recipes" / "greenlet.yaml").write_text(GREENLET_RECIPE)
        env = {
            **os.environ,
            "PATH": f"{Path(PYTHON).parent}:{os.environ['PATH']}",
            "PYTHONPATH": str(REPO),
        }
        if not args.smoke:
            # Warm-up, not timed: sources fetched, build dependencies (zstandard's cffi)
            # built for both targets, the companion made, pip's and uv's caches filled.
            if "pyyaml" in packages:
                build(project, "cython", "accelerated", env)
            for package in packages:
                for mode in ("native", "accelerated"):
                    build(project, package, mode, env)
        for _ in range(args.rounds):
            for package in packages:
                for mode in MODES:
                    times.setdefault((package, mode), []).append(build(project, package, mode, env))
    print(f"\n{args.rounds} round(s), medians: build step / whole build (fetch to test)")
    for package in packages:
        step = {m: statistics.median(t[0] for t in times[package, m]) for m in MODES}
        whole = {m: statistics.median(t[1] for t in times[package, m]) for m in MODES}
        print(f"{package}:")
        for mode in MODES:
            print(f"  {LABELS[mode]:<38} {step[mode]:7.1f} s / {whole[mode]:7.1f} s")
        print(
            f"  emulated / accelerated: {step['emulated'] / step['accelerated']:5.2f}x build "
            f"step, {whole['emulated'] / whole['accelerated']:5.2f}x whole build (goal for the "
            "compile-heavy one: >= 5x)"
        )
        print(
            f"  accelerated / native:   {step['accelerated'] / step['native']:5.2f}x build "
            f"step, {whole['accelerated'] / whole['native']:5.2f}x whole build (goal: <= 2x)"
        )


if __name__ == "__main__":
    main()
