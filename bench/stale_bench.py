"""`factory stale` for 300 recipes against a published index of 3,000 wheels, no network.

The published state is what the cron job reads: a directory written by `factory index`
(PEP 691 JSON pages, the `.build.json` record beside each wheel under files/, the logs
listing under logs/). Its wheels are synthetic but complete (a tiny valid wheel, its
METADATA, its record, a catalog line, as `factory build` leaves them), and their records
carry the fingerprint inputs of the synthetic recipes, so the verdicts are a real mix:
most recipes current, some with a new version (stale), some with a changed recipe at a
published release (needs-bump), some whose last build failed, some never built (stale),
and some with build dependencies. The wheels are shared out evenly among the recipes that
were built (older releases, each for python 3.12 and 3.13).

Timed, whole commands as a user runs them (median of the rounds):
  stale:  `factory stale --state INDEX_DIR`
  load:   `factory list` with an empty wheelhouse: loading and validating the same 300
          recipes, the floor of any command that reads them.
Beside them, in one process: loading the recipes, reading the published state, and
working out the verdicts, each on its own.

Goal (issue #10): stale under 1 s, printed beside the load time.

Run: .venv/bin/python bench/stale_bench.py [--recipes 300 --wheels 3000 --rounds 5]
     .venv/bin/python bench/stale_bench.py --smoke   (a tiny round, seconds)
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from wheelzip import wheel_zip  # bench/ is the script's own directory

from factory.catalog import CatalogEntry, append_to_catalog
from factory.recipe import LoadedRecipe, load_recipes
from factory.records import (
    BuildRecord,
    Target,
    WheelFile,
    fingerprint,
    fingerprint_inputs,
)
from factory.source import source_id
from factory.stale import find_stale, pinned_tools
from factory.state import builds_listing, read_state
from factory.wheelmeta import METADATA_SUFFIX, RECORD_SUFFIX

PYTHON = sys.executable
GOAL_SECONDS = 1.0
STARTED = "2026-03-02T10:00:00+00:00"
PATCH = """\
Keep the synthetic project building on riscv64.

Upstream-Status: Inappropriate [benchmark fixture]

--- a/setup.py
+++ b/setup.py
@@ -1 +1 @@
-old
+new
"""


def recipe_text(index: int, name: str, requires: list[str], patches: int) -> str:
    sha = hashlib.sha256(f"{name}-sdist".encode()).hexdigest()
    lines = [
        f"# {name}: a synthetic recipe for bench/stale_bench.py",
        f"name: {name}",
        f'version: "{current_version(index)}"',
        f"build_number: {index % 3}",
        f"upstream: {name}",
        "source:",
        "  pypi:",
        f"    sha256: {sha}",
    ]
    if patches:
        lines.append("patches:")
        lines += [f"  - {number:04d}-fix.patch" for number in range(1, patches + 1)]
    lines += [
        "build:",
        f'  env: {{BENCH_FLAG: "{index}"}}',
        f"  system_requirements: [libfoo{index % 7}-dev]",
        f"  requires: [{', '.join(requires)}]",
        "test:",
        f"  imports: [{name.replace('-', '_')}]",
        "  commands:",
        f'    - python -c "import {name.replace("-", "_")}"',
    ]
    return "\n".join(lines) + "\n"


def current_version(index: int) -> str:
    return f"{1 + index % 4}.{index % 9}.{index % 5}"


def make_recipes(root: Path, count: int) -> None:
    recipes, patches = root / "recipes", root / "patches"
    recipes.mkdir(parents=True)
    for index in range(count):
        name = f"bench-pkg-{index:03d}"
        # One in ten needs one or two earlier recipes at build time (a few layers deep).
        requires = [f"bench-pkg-{d:03d}" for d in (index - 1, index // 2) if d >= 0][
            : (index % 10 == 3) + (index % 20 == 3)
        ]
        count_patches = index % 3 if index % 4 == 0 else 0
        for number in range(1, count_patches + 1):
            patch = patches / name / f"{number:04d}-fix.patch"
            patch.parent.mkdir(parents=True, exist_ok=True)
            patch.write_text(PATCH)
        (recipes / f"{name}.yaml").write_text(recipe_text(index, name, requires, count_patches))


def wheel_files(name: str, version: str, build: int, python: str) -> tuple[str, bytes, bytes]:
    """A tiny valid wheel's file name, bytes and METADATA."""
    module = canonicalize_name(name).replace("-", "_")
    tag = f"cp{python.replace('.', '')}"
    filename = f"{module}-{version}{f'-{build}' if build else ''}-{tag}-{tag}-"
    filename += "manylinux_2_39_riscv64.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode()
    dist_info = f"{module}-{version}.dist-info"
    members = {f"{module}/__init__.py": b"", f"{dist_info}/METADATA": metadata}
    return filename, wheel_zip(dist_info, members, zipfile.ZIP_STORED), metadata


# One recipe in 20 of each kind, the rest current. Number 3 of every 20 needs number 2
# (failed) at build time: it stays current, since its release is published.
KINDS = {0: "new-version", 1: "changed", 2: "failed", 4: "never"}


def planted_kind(index: int) -> str:
    return KINDS.get(index % 20, "current")


def publish_state(root: Path, wheels: int) -> dict[str, int]:
    """The wheelhouse and logs `factory build` would have left for these recipes, published
    with `factory index`; returns how many recipes of each planted kind there are."""
    recipes = load_recipes(root / "recipes", root / "patches")
    wheelhouse, logs = root / "state" / "wheelhouse", root / "state" / "builds"
    wheelhouse.mkdir(parents=True)
    tools = {**pinned_tools(), "gcc": "14.2.0", "glibc": "2.41", "python": "3.13.5"}
    planted = collections.Counter(planted_kind(i) for i in range(len(recipes)))
    # Each release is published for python 3.12 and 3.13: wheels / 2 releases in all.
    per_recipe, extra = divmod(wheels // 2, len(recipes) - planted["never"])
    catalog = []
    published = 0
    for index, loaded in enumerate(recipes.values()):
        kind = planted_kind(index)
        if kind == "never":
            continue
        recipe = loaded.recipe
        count = per_recipe + (published < extra)
        published += 1
        # Older releases, and the recipe's own one unless upstream moved on (new-version)
        # or its build failed.
        current = kind not in ("new-version", "failed")
        releases = [(f"0.{n}.0", 0) for n in range(count - current)]
        if current:
            releases.append((recipe.version, recipe.build_number))
        for version, build in releases:
            for python in ("3.12", "3.13"):
                record = _record(loaded, recipes, version, build, python, tools, kind)
                filename, content, metadata = wheel_files(recipe.name, version, build, python)
                record.wheel = WheelFile(
                    filename, hashlib.sha256(content).hexdigest(), len(content), None,
                    hashlib.sha256(metadata).hexdigest(),
                )  # fmt: skip
                path = wheelhouse / filename
                path.with_name(filename + METADATA_SUFFIX).write_bytes(metadata)
                path.with_name(filename + RECORD_SUFFIX).write_text(record.to_json())
                path.write_bytes(content)
                catalog.append(CatalogEntry.from_record(record))
        if kind == "failed":  # the build of these very inputs failed: not retried
            failed = _record(loaded, recipes, recipe.version, recipe.build_number, "3.13",
                             tools, "")  # fmt: skip
            failed.outcome, failed.error = "failed", "`python -m build` failed with exit code 1"
            folder = logs / loaded.name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{failed.version}-{failed.build_number}.json").write_text(failed.to_json())
    append_to_catalog(wheelhouse, catalog)
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "index.json").write_bytes(builds_listing(logs))
    factory("index", "--wheelhouse", str(wheelhouse), "--logs", str(logs), "--out",
            str(root / "published"), cwd=root)  # fmt: skip
    return dict(planted)


def _record(
    loaded: LoadedRecipe,
    recipes: Mapping[NormalizedName, LoadedRecipe],
    version: str,
    build: int,
    python: str,
    tools: dict[str, str],
    kind: str,
) -> BuildRecord:
    recipe = loaded.recipe
    dependencies: dict[str, str] = {
        canonicalize_name(d): f"{recipes[canonicalize_name(d)].recipe.version} build "
        f"{recipes[canonicalize_name(d)].recipe.build_number}"
        for d in recipe.build.requires
    }
    target = Target("riscv64", python, recipe.repair.policy)
    inputs = fingerprint_inputs(loaded, source_id(loaded), target, tools, dependencies)
    inputs.recipe["version"], inputs.recipe["build_number"] = version, build
    if kind == "changed":  # the recipe changed since its release was published
        inputs.recipe["build"] = {**inputs.recipe["build"], "env": {"OLD": "1"}}
    return BuildRecord(
        project=recipe.name, version=version, build_number=build,
        fingerprint=fingerprint(inputs), inputs=inputs, builder="userland-riscv64",
        started=STARTED, outcome="success", log=f"{loaded.name}/{version}-{build}.log",
    )  # fmt: skip


def factory(*args: str, cwd: Path) -> float:
    """Run the real command line; return its wall time."""
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "factory", *args],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
        env={**os.environ, "FACTORY_CACHE_DIR": str(cwd / "cache")},
    )
    return time.perf_counter() - started


def in_process(root: Path) -> tuple[float, float, float, dict[str, int]]:
    started = time.perf_counter()
    recipes = load_recipes(root / "recipes", root / "patches")
    loaded = time.perf_counter()
    state = read_state(str(root / "published"), "3.13")  # as `factory stale` reads it
    read = time.perf_counter()
    report = find_stale(recipes, state)
    done = time.perf_counter()
    counts: dict[str, int] = dict(collections.Counter(v.status for v in report.verdicts))
    return loaded - started, read - loaded, done - read, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", type=int, default=300)
    parser.add_argument("--wheels", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="10 recipes, one round")
    args = parser.parse_args()
    if args.smoke:
        args.recipes, args.wheels, args.rounds = 10, 100, 1
    with tempfile.TemporaryDirectory(prefix="stale-bench-") as temp:
        root = Path(temp)
        make_recipes(root, args.recipes)
        planted = publish_state(root, args.wheels)
        wheels = len(list((root / "state" / "wheelhouse").glob("*.whl")))
        recipes_args = ("--recipes", str(root / "recipes"), "--patches", str(root / "patches"))
        empty = root / "empty-wheelhouse"
        empty.mkdir()
        stale_args = ("stale", *recipes_args, "--state", str(root / "published"))
        list_args = ("list", *recipes_args, "--wheelhouse", str(empty))
        factory(*stale_args, cwd=root)  # warm the page cache
        # Alternated, so that both see the same load on a shared machine.
        rounds = [(factory(*stale_args, cwd=root), factory(*list_args, cwd=root))
                  for _ in range(args.rounds)]  # fmt: skip
        stale = statistics.median(r[0] for r in rounds)
        load = statistics.median(r[1] for r in rounds)
        parts = [in_process(root) for _ in range(args.rounds)]
    load_s = statistics.median(p[0] for p in parts)
    read_s = statistics.median(p[1] for p in parts)
    verdicts_s = statistics.median(p[2] for p in parts)
    counts = parts[0][3]
    verdict = "met" if stale < GOAL_SECONDS else "NOT met"
    print(
        f"{args.recipes} recipes, {wheels} published wheels, {args.rounds} round(s), medians "
        f"(load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs)"
    )
    print(f"  planted: {', '.join(f'{n} {k}' for k, n in sorted(planted.items()))}")
    print(f"  verdicts: {', '.join(f'{n} {k}' for k, n in sorted(counts.items()))}")
    print(f"  factory stale --state DIR   {stale:6.3f} s (goal < {GOAL_SECONDS:g} s: {verdict})")
    print(f"  load + validate (list)      {load:6.3f} s")
    print(f"  stale / load: {stale / load:.2f}x")
    print(
        f"  in one process: recipes {load_s:.3f} s, published state {read_s:.3f} s, "
        f"verdicts {verdicts_s:.3f} s"
    )


if __name__ == "__main__":
    main()
