"""riscv64 build times: host-native cross compilers against full emulation, and the floor.

Same package, same machine, same run, each path a real `factory build --force`:
  emulated:     factory build --no-accelerate   (qemu runs everything, the compiler too)
  accelerated:  factory build                   (the toolchain companion compiles)
  native:       factory build --native          (an x86_64 wheel: the physical floor)
Printed: the build step (PEP 517 build, from the build record) and the whole build
(build + repair + test), medians, and their ratios.

Needs root and the riscv64 userland (created on first use, as for `factory build`).
Run: .venv/bin/python bench/accel_bench.py [--rounds N]        (the pyyaml recipe)
     .venv/bin/python bench/accel_bench.py --smoke             (one round of a tiny C
     extension from a local archive, no warm-up: a few minutes; the userland test tier
     runs it so that the benchmark cannot rot)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import tiny_project  # noqa: E402  (the same tiny C extension as its smoke)

MODES = {
    "emulated": ["--no-accelerate"],
    "accelerated": [],
    "native": ["--native"],
}


def build(project: Path, package: str, mode: str, env: dict[str, str]) -> tuple[float, float]:
    """One forced build: (build step seconds, whole build seconds) from its record."""
    argv = [PYTHON, "-m", "factory", "build", "--force", *MODES[mode], package]
    result = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{result.stderr}")
    newest = max((project / "builds" / package).glob("*.json"), key=lambda p: p.stat().st_mtime)
    # The record's steps: fetch, build, repair, test (no interpreter start or planning).
    steps = json.loads(newest.read_text())["steps"]
    return steps["build"], sum(steps.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="one round of a tiny C extension")
    args = parser.parse_args()
    package = "tinyext" if args.smoke else "pyyaml"
    with tempfile.TemporaryDirectory(prefix="bench-accel-") as temp:
        project = Path(temp) / "project"
        if args.smoke:
            tiny_project(project)
        else:
            for part in ("recipes", "patches", "forks"):
                shutil.copytree(REPO / part, project / part)
        env = {
            **os.environ,
            "PATH": f"{Path(PYTHON).parent}:{os.environ['PATH']}",
            "PYTHONPATH": str(REPO),
        }
        if not args.smoke:  # warm-up: sources, the companion, pip's caches
            for mode in MODES:
                build(project, package, mode, env)
        times: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
        for _ in range(args.rounds):
            for mode in MODES:
                times[mode].append(build(project, package, mode, env))
    step = {m: statistics.median(t[0] for t in times[m]) for m in MODES}
    whole = {m: statistics.median(t[1] for t in times[m]) for m in MODES}
    print(f"{package}, {args.rounds} round(s), medians (build step / whole build):")
    for mode, label in (
        ("emulated", "fully emulated (--no-accelerate)"),
        ("accelerated", "host-native cross compilers"),
        ("native", "native x86_64 build (the floor)"),
    ):
        print(f"  {label:<34} {step[mode]:7.1f} s / {whole[mode]:7.1f} s")
    print(
        f"  emulated / accelerated: {step['emulated'] / step['accelerated']:.2f}x build step, "
        f"{whole['emulated'] / whole['accelerated']:.2f}x whole build"
    )
    print(
        f"  accelerated / native:   {step['accelerated'] / step['native']:.2f}x build step, "
        f"{whole['accelerated'] / whole['native']:.2f}x whole build"
    )


if __name__ == "__main__":
    main()
