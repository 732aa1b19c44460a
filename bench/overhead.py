"""The factory's own overhead on a real build, against doing the same by hand.

Same source (the pyyaml recipe's sdist), same machine, same run:
  by hand:  python -m build --wheel  +  auditwheel repair
  factory:  factory build --native --force pyyaml  (fetch from cache, patch, build,
            repair, record, atomic add), minus its wheel-test step, which the
            hand-made path does not do at all.
Also times a no-op `factory build` of the up-to-date package.

Goal (issue #2): overhead <= 2% of the build time; no-op < 1 s.
Run: .venv/bin/python bench/overhead.py [--rounds N]
     .venv/bin/python bench/overhead.py --smoke   (one round of a tiny C extension made
     here, from a local archive: seconds, no download; the test suite runs it so that
     the benchmark cannot rot)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    return time.monotonic() - started


def by_hand(sdist: Path, work: Path, env: dict[str, str]) -> tuple[float, float]:
    """Seconds for unpack + build + repair, and for the unpacking alone."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.monotonic()  # unpacking is part of building from an sdist by hand too
    with tarfile.open(sdist) as archive:
        archive.extractall(work, filter="data")
    unpacked = time.monotonic() - started
    [tree] = list(work.iterdir())
    run([PYTHON, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(tree)], work, env)
    [wheel] = (work / "dist").glob("*.whl")
    run([PYTHON, "-m", "auditwheel", "repair", "-w", str(work / "repaired"), str(wheel)], work, env)
    return time.monotonic() - started, unpacked


def by_factory(project: Path, package: str, env: dict[str, str]) -> tuple[float, float]:
    """A forced build: its wall time without the test step, and the factory's own share.

    The factory's own share is the wall time minus the time spent inside the build,
    repair and test commands: interpreter start, recipe loading, cache checks,
    unpacking, records and the atomic add. Compiler noise cancels out of it; the
    unpacking, which the hand path does as well, is subtracted when reporting.
    """
    wall = run([PYTHON, "-m", "factory", "build", "--native", "--force", package], project, env)
    [record] = (project / "builds" / package).glob("*.json")
    steps = json.loads(record.read_text())["steps"]
    return wall - steps["test"], wall - steps["build"] - steps["repair"] - steps["test"]


TINY_C = """\
#include <Python.h>
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "tinyext", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_tinyext(void) { return PyModule_Create(&module); }
"""
TINY_FILES = {
    "tinyext-1.0/pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
    'build-backend = "setuptools.build_meta"\n',
    "tinyext-1.0/setup.py": "from setuptools import Extension, setup\n"
    "setup(name='tinyext', version='1.0', ext_modules=[Extension('tinyext', ['tinyext.c'])])\n",
    "tinyext-1.0/tinyext.c": TINY_C,
}


def bench_project(project: Path, smoke: bool) -> None:
    """The project a benchmark builds in: the tiny C extension (--smoke), or a copy of
    this repository's recipes, patches and forks."""
    if smoke:
        tiny_project(project)
        return
    for part in ("recipes", "patches", "forks"):
        shutil.copytree(REPO / part, project / part)


def tiny_project(project: Path) -> Path:
    """A recipe for a one-file C extension, from an sdist-like archive beside it."""
    archive = project / "sources" / "tinyext-1.0.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in TINY_FILES.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
    (project / "recipes").mkdir()
    (project / "recipes" / "tinyext.yaml").write_text(
        "name: tinyext\n"
        'version: "1.0"\n'
        f"source:\n  archive: {{url: {archive}, sha256: {sha256}}}\n"
        "test:\n  imports: [tinyext]\n"
    )
    return archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--smoke", action="store_true", help="one round of a tiny C extension (seconds)"
    )
    args = parser.parse_args()
    rounds = 1 if args.smoke else args.rounds
    package = "tinyext" if args.smoke else "pyyaml"
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as temp:
        project = Path(temp) / "project"
        bench_project(project, args.smoke)
        env = {
            **os.environ,
            "FACTORY_CACHE_DIR": str(Path(temp) / "cache"),
            "PATH": f"{Path(PYTHON).parent}:{os.environ['PATH']}",
            "PIP_FIND_LINKS": str(project / "wheelhouse"),
            "PIP_PREFER_BINARY": "1",
            "PYYAML_FORCE_LIBYAML": "1",
        }
        # Warm-up: fetches the sdist into the cache, fills pip's cache for build isolation.
        run([PYTHON, "-m", "factory", "build", "--native", package], project, env)
        [sdist] = (Path(temp) / "cache" / "sources" / "sha256").glob(f"*/{package}-*.tar.gz")
        hand, unpack, factory, own, noop = [], [], [], [], []
        for _ in range(rounds):
            total, unpacked = by_hand(sdist, Path(temp) / "hand", env)
            hand.append(total)
            unpack.append(unpacked)
            without_test, own_share = by_factory(project, package, env)
            factory.append(without_test)
            own.append(own_share)
            noop_build = [PYTHON, "-m", "factory", "build", "--native", package]
            noop.append(run(noop_build, project, env))
    h, f = statistics.median(hand), statistics.median(factory)
    # The factory unpacks the sdist too; that is the same work as the hand path's unpack.
    o = statistics.median(own) - statistics.median(unpack)
    n = statistics.median(noop)
    print(f"{package} on this host, {rounds} rounds, medians:")
    print(f"  by hand: unpack + build + auditwheel repair  {h:7.2f} s")
    print(f"  factory build --force, minus its test step   {f:7.2f} s  ratio {f / h:.3f}")
    print(f"  factory's own work beyond the hand path      {o:7.2f} s  ratio {o / h:.3%} of the")
    print("    hand-made build (goal <= 2%; whole-run ratio above includes compiler noise)")
    print(f"  no-op factory build (up to date)             {n:7.2f} s  (goal < 1 s)")


if __name__ == "__main__":
    main()
