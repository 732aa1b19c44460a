"""`factory index` against dumb-pypi on a large synthetic wheelhouse.

Compared, in one run and on the same package list:
  full:         `factory index` into an empty directory, and
                `dumb-pypi --package-list-json` into an empty directory;
  incremental:  one new wheel (with its record and .metadata) added to one project, then
                `factory index` into the same directory, and dumb-pypi's own partial rebuild
                (`--previous-package-list-json` with the list from before);
  no change:    both again with nothing changed.

The wheelhouse is synthetic: 100,000 wheel records across 10,000 projects by default
(names with mixed case, dots and underscores; several versions, cp311/cp312/cp313,
manylinux_2_31/2_39 riscv64 tags, some requires-python, some build tags). Every wheel is a
tiny but valid zip with its METADATA, beside `<wheel>.metadata`, `<wheel>.build.json` and
a line in `catalog.tsv`, exactly as `factory build` leaves them, so the index never needs
to open a wheel. dumb-pypi gets the same files as JSON lines with hash, requires-python,
core-metadata hash and upload time; writing that list is not timed (it is dumb-pypi's
input, as the wheelhouse is ours).
dumb-pypi runs with `--no-generate-timestamp` (deterministic, like ours) and, unless
`--dumb-pypi-per-release-json`, with `--no-per-release-json`, which only makes it faster.

Goals (issue #9, at the default size on a 2-core machine): a full run within 1.5x of the
I/O floor (io_floor.py, timed in each round: the factory's full output written with no
work in between, the bound on any renderer of the same pages); a run with nothing new
under 0.1 s; a one-project change under 0.3 s. Printed beside the measured figures.
"files written" counts files in the output directory that are new or whose inode, size,
mtime or ctime changed. Neither tool copies wheels: dumb-pypi links to wherever they are,
the factory publishes the wheelhouse through one symbolic link (files/), counted as one file.

The output directories are in the system temp directory (TMPDIR): on ext4, creating files
just after many were deleted is several times slower (the inode allocator passes over
inodes freed in the last few minutes), so the bench deletes nothing before its timed
steps; wait five minutes after deleting a large tree before running it.

The generated wheelhouse is cached under <factory cache>/bench/ keyed by the generator's
parameters. The incremental wheel is added to the cached wheelhouse for the run and
removed afterwards.

Run: .venv/bin/python bench/index_bench.py [--rounds N] [--projects 1000 --wheels 10000]
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import hashlib
import json
import math
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version
from wheelzip import wheel_zip  # bench/ is the script's own directory

from factory.catalog import CatalogEntry, append_to_catalog
from factory.index import layout
from factory.records import (
    BuildRecord,
    FingerprintInputs,
    Target,
    WheelFile,
)
from factory.wheelhouse import add_to_wheelhouse
from factory.wheelmeta import METADATA_SUFFIX, RECORD_SUFFIX
from factory.workspace import default_cache_dir

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GENERATOR_VERSION = 2  # bump when the generated wheelhouse changes shape

PYTHON_TAGS = ("cp311", "cp312", "cp313")
PLATFORMS = ("manylinux_2_31_riscv64", "manylinux_2_39_riscv64")
REQUIRES_PYTHON: tuple[str | None, ...] = (
    None,
    None,
    None,
    ">=3.8",
    ">=3.9",
    ">=3.10",
    ">=3.11",
    ">=3.9,<4",
    ">=3.10,<3.14",
    "!=3.0.*,!=3.1.*,>=2.7",
)
WORDS = (  # noqa: SIM905 (a word list reads better as text)
    "py yaml net ifaces zope interface lxml crypto graphy num sci kit learn flask login "
    "django rest framework ruamel clib typing extensions charset normalizer markup safe "
    "pillow simple json ujson orjson msgpack protobuf grpc io uv loop async pg psycopg "
    "binary sql alchemy greenlet gevent zmq cffi bcrypt nacl argon hash lib tokenizers "
    "regex tree sitter cython wrapt frozen list multi dict yarl aio http propcache pydantic "
    "core rpds jsonschema mypy black ruff polars arrow pandas matplotlib contour kiwi "
    "solver fonttools lz4 zstandard brotli snappy xxh mmh3 bitarray pyzmq tornado "
    "watchdog inotify psutil setproctitle cramjam duckdb shapely pyproj rasterio "
    "netcdf h5py tables numexpr bottleneck scipy statsmodels tiktoken safetensors sentencepiece"
).split()
SEPARATORS = ("", "-", "-", "_", ".")
TOOLCHAIN = {"gcc": "14.2.0", "glibc": "2.41", "python": "3.13.5"}
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Params:
    projects: int
    wheels: int
    seed: int

    @property
    def key(self) -> str:
        return f"index-p{self.projects}-w{self.wheels}-s{self.seed}-g{GENERATOR_VERSION}"


@dataclass(frozen=True)
class Project:
    name: str  # as its recipe spells it: mixed case, dots, underscores
    file_name: str  # the name part of its wheels' file names
    pure: bool


@dataclass(frozen=True)
class Planned:
    """One wheel to generate."""

    project: Project
    version: str
    build_number: int
    python_tag: str
    platform: str
    requires_python: str | None
    started: datetime.datetime

    @property
    def filename(self) -> str:
        build = f"-{self.build_number}" if self.build_number else ""
        if self.project.pure:
            tags = "py3-none-any"
        else:
            tags = f"{self.python_tag}-{self.python_tag}-{self.platform}"
        return f"{self.project.file_name}-{self.version}{build}-{tags}.whl"


# ---------------------------------------------------------------- the synthetic plan


def project_names(rng: random.Random, count: int) -> list[Project]:
    projects: list[Project] = []
    seen: set[str] = set()
    while len(projects) < count:
        words = rng.sample(WORDS, rng.choice((1, 2, 2, 2, 3)))
        style = rng.random()
        if style < 0.6:
            pass
        elif style < 0.85:
            words = [w.capitalize() for w in words]
        else:
            words = [words[0].upper(), *(w.capitalize() for w in words[1:])]
        separator = rng.choice(SEPARATORS)
        name = separator.join(words)
        if canonicalize_name(name) in seen:
            name = f"{name}{len(projects)}"
        if canonicalize_name(name) in seen:
            continue
        seen.add(canonicalize_name(name))
        if rng.random() < 0.5:
            file_name = canonicalize_name(name).replace("-", "_")  # modern: normalized
        else:
            file_name = re.sub(r"[^\w.]+", "_", name)  # older tools: case and dots kept
        projects.append(Project(name, file_name, pure=rng.random() < 0.08))
    return projects


def wheel_counts(rng: random.Random, projects: int, wheels: int) -> list[int]:
    """How many wheels each project has: at least one, a long tail of big ones."""
    weights = [rng.lognormvariate(0, 1.0) for _ in range(projects)]
    total = sum(weights)
    spare = wheels - projects
    counts = [1 + math.floor(spare * w / total) for w in weights]
    for _ in range(wheels - sum(counts)):
        counts[rng.randrange(projects)] += 1
    return counts


def versions(rng: random.Random) -> Iterator[str]:
    """An endless ascending version sequence, semver-like or calendar-based."""
    if rng.random() < 0.2:
        year, minor = rng.randrange(2019, 2024), 1
        while True:
            yield f"{year}.{minor}"
            minor += 1
            if minor > rng.randrange(3, 8):
                year, minor = year + 1, 1
    major, minor, patch = rng.randrange(0, 5), rng.randrange(0, 20), 0
    while True:
        # "1.2" only for a new minor release, so it never equals a "1.2.0" already given
        short = patch == 0 and rng.random() < 0.1
        yield f"{major}.{minor}" if short else f"{major}.{minor}.{patch}"
        step = rng.random()
        if step < 0.6:
            patch += 1
        elif step < 0.92:
            minor, patch = minor + 1, 0
        else:
            major, minor, patch = major + 1, 0, 0


def plan(params: Params) -> tuple[list[Planned], Planned]:
    """Every wheel of the wheelhouse, and the one the incremental step adds."""
    rng = random.Random(params.seed)
    projects = project_names(rng, params.projects)
    counts = wheel_counts(rng, params.projects, params.wheels)
    planned: list[Planned] = []
    for project, count in zip(projects, counts, strict=True):
        start = EPOCH + datetime.timedelta(seconds=rng.randrange(0, 200 * 86400))
        wanted = len(planned) + count
        for index, version in enumerate(versions(rng)):
            if len(planned) >= wanted:
                break
            started = start + datetime.timedelta(days=7 * index, seconds=rng.randrange(3600))
            requires_python = rng.choice(REQUIRES_PYTHON)
            builds = [0, 1] if rng.random() < 0.05 else [rng.choice((0, 0, 0, 0, 1, 2))]
            if project.pure:
                combos = [("py3", "any")]
            else:
                first = rng.randrange(len(PYTHON_TAGS))
                python_tags = PYTHON_TAGS[first:]
                platforms = PLATFORMS if rng.random() < 0.3 else (rng.choice(PLATFORMS),)
                combos = [(p, plat) for p in python_tags for plat in platforms]
            for build in builds:
                for python_tag, platform in combos:
                    if len(planned) < wanted:
                        planned.append(
                            Planned(
                                project,
                                version,
                                build,
                                python_tag,
                                platform,
                                requires_python,
                                started + datetime.timedelta(minutes=build),
                            )
                        )
    assert len(planned) == params.wheels, (len(planned), params.wheels)
    assert len({w.filename for w in planned}) == len(planned), "duplicate wheel file names"
    # The incremental step: a new release of a mid-sized project, one wheel.
    by_project: dict[str, list[Planned]] = {}
    for wheel in planned:
        by_project.setdefault(wheel.project.name, []).append(wheel)
    median = sorted(len(w) for w in by_project.values())[len(by_project) // 2]
    candidates = sorted(
        name for name, w in by_project.items() if len(w) == median and not w[0].project.pure
    ) or sorted(by_project)
    latest = by_project[rng.choice(candidates)][-1]
    release = Version(latest.version).release
    extra = Planned(
        latest.project,
        ".".join(str(part) for part in (*release[:-1], release[-1] + 1)),
        0,
        "cp313",
        PLATFORMS[-1],
        latest.requires_python,
        latest.started + datetime.timedelta(days=30),
    )
    return planned, extra


# ---------------------------------------------------------------- writing the wheelhouse


def wheel_bytes(wheel: Planned) -> tuple[bytes, bytes]:
    """A tiny valid wheel (deterministic bytes) and its METADATA."""
    name, version = wheel.project.name, wheel.version
    metadata_lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: Synthetic benchmark project {name}",
    ]
    if wheel.requires_python:
        metadata_lines.append(f"Requires-Python: {wheel.requires_python}")
    metadata = ("\n".join(metadata_lines) + "\n\n").encode()
    tag = (
        "py3-none-any"
        if wheel.project.pure
        else (f"{wheel.python_tag}-{wheel.python_tag}-{wheel.platform}")
    )
    wheel_info = (
        "Wheel-Version: 1.0\nGenerator: bench/index_bench.py\n"
        f"Root-Is-Purelib: {'true' if wheel.project.pure else 'false'}\nTag: {tag}\n"
        + (f"Build: {wheel.build_number}\n" if wheel.build_number else "")
    ).encode()
    module = canonicalize_name(name).replace("-", "_")
    dist_info = f"{wheel.filename.split('-')[0]}-{version}.dist-info"
    members = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": wheel_info,
    }
    return wheel_zip(dist_info, members, zipfile.ZIP_STORED), metadata


def build_record(wheel: Planned, content: bytes, metadata: bytes) -> BuildRecord:
    python = "3" if wheel.project.pure else f"3.{wheel.python_tag.removeprefix('cp3')}"
    inputs = FingerprintInputs(
        recipe={
            "name": wheel.project.name,
            "version": wheel.version,
            "build_number": wheel.build_number,
            "source": {"pypi": {"sha256": hashlib.sha256(wheel.version.encode()).hexdigest()}},
            "patches": [],
        },
        patches={},
        source=f"pypi:{wheel.project.name}=={wheel.version}",
        target=Target(arch="riscv64", python=python, policy=wheel.platform),
        toolchain=TOOLCHAIN,
    )
    fingerprint = hashlib.sha256(f"{wheel.filename}".encode()).hexdigest()
    return BuildRecord(
        project=wheel.project.name,
        version=wheel.version,
        build_number=wheel.build_number,
        fingerprint=fingerprint,
        inputs=inputs,
        builder="userland-riscv64",
        started=wheel.started.isoformat(timespec="seconds"),
        outcome="success",
        steps={"fetch": 1.25, "build": 97.5, "repair": 6.5, "test": 31.0},
        wheel=WheelFile(
            wheel.filename,
            hashlib.sha256(content).hexdigest(),
            len(content),
            wheel.requires_python,
            hashlib.sha256(metadata).hexdigest(),
        ),
        log=f"logs/{canonicalize_name(wheel.project.name)}/{wheel.version}-{fingerprint[:12]}.log",
    )


def package_line(record: BuildRecord) -> str:
    """dumb-pypi's --package-list-json line for the same file."""
    assert record.wheel is not None
    started = datetime.datetime.fromisoformat(record.started)
    line: dict[str, object] = {
        "filename": record.wheel.filename,
        "hash": f"sha256={record.wheel.sha256}",
        "core_metadata": f"sha256={record.wheel.metadata_sha256}",
        "upload_timestamp": int(started.timestamp()),
    }
    if record.wheel.requires_python:
        line["requires_python"] = record.wheel.requires_python
    return json.dumps(line, sort_keys=True) + "\n"


def generate(params: Params, root: Path) -> None:
    """Write the wheelhouse, dumb-pypi's package list and the extra wheel under root."""
    planned, extra = plan(params)
    wheelhouse = root / "wheelhouse"
    wheelhouse.mkdir(parents=True)
    started = time.monotonic()
    catalog = []
    with open(root / "packages.jsonl", "w", encoding="utf-8") as packages:
        for count, wheel in enumerate(planned, 1):
            content, metadata = wheel_bytes(wheel)
            record = build_record(wheel, content, metadata)
            path = wheelhouse / wheel.filename
            # Plain writes: the same files add_to_wheelhouse leaves, without 300k fsyncs.
            path.with_name(path.name + METADATA_SUFFIX).write_bytes(metadata)
            path.with_name(path.name + RECORD_SUFFIX).write_text(record.to_json(), "utf-8")
            path.write_bytes(content)
            catalog.append(CatalogEntry.from_record(record))
            packages.write(package_line(record))
            if count % 20000 == 0:
                print(f"  generated {count} wheels ({time.monotonic() - started:.0f} s)")
    append_to_catalog(wheelhouse, catalog)
    (root / "extra").mkdir()
    content, metadata = wheel_bytes(extra)
    record = build_record(extra, content, metadata)
    (root / "extra" / extra.filename).write_bytes(content)
    (root / "extra" / "metadata").write_bytes(metadata)
    (root / "extra" / "record.json").write_text(record.to_json(), "utf-8")
    (root / "extra" / "package.jsonl").write_text(package_line(record), "utf-8")


def cached_wheelhouse(params: Params) -> Path:
    cache = default_cache_dir() / "bench" / params.key
    if (cache / "READY").is_file():
        return cache
    print(f"generating {params.wheels} wheels across {params.projects} projects into {cache}")
    partial = cache.with_name(f"{cache.name}.tmp-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    generate(params, partial)
    (partial / "READY").write_text(json.dumps(params.__dict__) + "\n", encoding="utf-8")
    shutil.rmtree(cache, ignore_errors=True)
    os.replace(partial, cache)
    print(f"generated in {time.monotonic() - started:.1f} s")
    return cache


# ---------------------------------------------------------------- measuring


Snapshot = dict[str, tuple[int, int, int, int]]


def snapshot(directory: Path) -> Snapshot:
    """Relative path -> (inode, size, mtime, ctime) of every file under directory."""
    result: Snapshot = {}
    stack = [directory]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            else:
                st = entry.stat(follow_symlinks=False)
                key = os.path.relpath(entry.path, directory)
                result[key] = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return result


def written(before: Snapshot, after: Snapshot) -> tuple[int, int]:
    """(files written, of which wheels) between two snapshots."""
    changed = [path for path, stat in after.items() if before.get(path) != stat]
    return len(changed), sum(1 for path in changed if path.endswith(".whl"))


@dataclass
class Step:
    seconds: float
    written: tuple[int, int]  # files written, of which wheels (published by link or copy)
    files_total: int
    output: str
    cpu: tuple[float, float]  # user and system CPU seconds, of every process it started

    @property
    def files_written(self) -> str:
        total, wheels = self.written
        return f"{total} ({wheels} .whl)" if wheels else str(total)


def timed(argv: Sequence[str], cwd: Path, out_dir: Path) -> Step:
    before = snapshot(out_dir)
    # Start each step with nothing dirty: the factory syncs what it writes before it
    # says it is published, and must not pay for the generator's or the other tool's.
    os.sync()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    spent = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (spent.ru_utime - usage.ru_utime, spent.ru_stime - usage.ru_stime)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    after = snapshot(out_dir)
    lines = (result.stdout + result.stderr).strip().splitlines()
    return Step(seconds, written(before, after), len(after), lines[-1] if lines else "", cpu)


STEPS = ("full", "incremental", "no change")
FULL_GOAL = 1.5  # times the I/O floor
NO_CHANGE_GOAL = 0.1  # seconds
ONE_PROJECT_GOAL = 0.3  # seconds


def one_round(
    cache: Path, work: Path, factory_args: list[str], dumb_args: list[str]
) -> dict[tuple[str, str], Step]:
    wheelhouse = cache / "wheelhouse"
    extra = cache / "extra"
    [extra_wheel] = extra.glob("*.whl")
    # Fresh directories each round, all deleted at the end: deleting 50,000 files just
    # before a timed step would slow the filesystem down for whichever tool runs next.
    work.mkdir()
    factory_out = work / "factory-index"
    dumb_out = work / "dumb-pypi"
    remove_extra(wheelhouse, extra_wheel.name)
    before_list = cache / "packages.jsonl"
    after_list = work / "packages-after.jsonl"
    with open(after_list, "wb") as handle:
        handle.write(before_list.read_bytes())
        handle.write((extra / "package.jsonl").read_bytes())

    def factory() -> list[str]:
        return [
            PYTHON, "-m", "factory", "index", "--wheelhouse", str(wheelhouse),
            "--out", str(factory_out), *factory_args,
        ]  # fmt: skip

    def dumb(current: Path, previous: Path | None) -> list[str]:
        argv = [
            PYTHON, "-m", "dumb_pypi.main", "--package-list-json", str(current),
            "--output-dir", str(dumb_out), "--packages-url", "../../files/",
            "--no-generate-timestamp", *dumb_args,
        ]  # fmt: skip
        if previous is not None:
            argv += ["--previous-package-list-json", str(previous)]
        return argv

    steps: dict[tuple[str, str], Step] = {}
    steps["floor", "command"] = command_floor(work)
    steps["factory", "full"] = timed(factory(), work, factory_out)
    steps["floor", "full"] = io_floor(wheelhouse, factory_out, work)
    steps["dumb-pypi", "full"] = timed(dumb(before_list, None), work, dumb_out)
    record = BuildRecord.from_json((extra / "record.json").read_text("utf-8"))
    add_to_wheelhouse(wheelhouse, extra_wheel, (extra / "metadata").read_bytes(), record)
    try:
        steps["factory", "incremental"] = timed(factory(), work, factory_out)
        steps["dumb-pypi", "incremental"] = timed(dumb(after_list, before_list), work, dumb_out)
        steps["factory", "no change"] = timed(factory(), work, factory_out)
        steps["dumb-pypi", "no change"] = timed(dumb(after_list, after_list), work, dumb_out)
    finally:
        remove_extra(wheelhouse, extra_wheel.name)
    return steps


def command_floor(work: Path) -> Step:
    """What any `factory` command costs before it does anything: starting Python and
    importing click (the median of 7: a tenth of a second is noisy)."""
    runs = [timed([PYTHON, "-c", "import click"], work, work) for _ in range(7)]
    return sorted(runs, key=lambda step: step.seconds)[len(runs) // 2]


def io_floor(wheelhouse: Path, index: Path, work: Path) -> Step:
    """io_floor.py: the factory's full output written with no work in between, by one
    process and by two (writers contend for the directories' locks, so more is not
    always faster): the faster of the two, a bound on any writer of these pages."""
    pages = work / "pages.tsv"
    links = {layout.FILES_LINK, layout.LOGS_LINK}
    pages.write_text(
        "".join(f"{p}\t{s[1]}\n" for p, s in snapshot(index).items() if p not in links), "utf-8"
    )
    steps = []
    for processes in sorted({1, min(len(os.sched_getaffinity(0)), 2)}):
        out = work / f"floor-{processes}"
        out.mkdir()
        script = REPO / "bench" / "io_floor.py"
        argv = [PYTHON, str(script), str(wheelhouse), str(pages), str(out), str(processes)]
        steps.append(timed(argv, work, out))
    return min(steps, key=lambda step: step.seconds)


def remove_extra(wheelhouse: Path, filename: str) -> None:
    for suffix in ("", METADATA_SUFFIX, RECORD_SUFFIX):
        (wheelhouse / f"{filename}{suffix}").unlink(missing_ok=True)


def report(params: Params, rounds: list[dict[tuple[str, str], Step]]) -> None:
    def seconds(tool: str, step: str) -> float:
        return statistics.median(r[tool, step].seconds for r in rounds)

    last = rounds[-1]
    print()
    print(
        f"{params.wheels} wheels across {params.projects} projects, seed {params.seed}; "
        f"median of {len(rounds)} round{'s' if len(rounds) != 1 else ''}; "
        "files written = new or changed files in the output directory"
    )
    header = (
        f"{'step':<12} {'factory s':>10} {'dumb-pypi s':>12} {'dumb/factory':>13} "
        f"{'factory files written':>24} {'dumb-pypi files written':>24}"
    )
    print(header)
    print("-" * len(header))
    for step in STEPS:
        ours, theirs = seconds("factory", step), seconds("dumb-pypi", step)
        print(
            f"{step:<12} {ours:>10.3f} {theirs:>12.3f} {theirs / ours:>12.1f}x "
            f"{last['factory', step].files_written:>24} "
            f"{last['dumb-pypi', step].files_written:>24}"
        )
    print()
    for tool in ("factory", "dumb-pypi"):
        full = seconds(tool, "full")
        print(
            f"{tool:<10} incremental/full {seconds(tool, 'incremental') / full:6.1%}   "
            f"no change/full {seconds(tool, 'no change') / full:6.1%}   "
            f"files in output {last[tool, 'full'].files_total}"
        )
    print()
    dumb_full, floor = seconds("dumb-pypi", "full"), seconds("floor", "full")
    print(
        f"I/O floor (io_floor.py: start Python, list the wheelhouse, read the catalog, write "
        f"the same pages, sync): {floor:.3f} s, at most {dumb_full / floor:.1f}x dumb-pypi"
    )

    def cpu(tool: str) -> str:
        user = statistics.median(r[tool, "full"].cpu[0] for r in rounds)
        system = statistics.median(r[tool, "full"].cpu[1] for r in rounds)
        return f"{user:.2f} s user + {system:.2f} s system"

    # Where a full run's time goes: the floor is nearly all kernel work (creating files);
    # what the factory adds over it is its own Python work, spread over the cores.
    print(f"CPU of a full run: factory {cpu('factory')}; I/O floor {cpu('floor')}")
    command = seconds("floor", "command")
    print(f"command floor (start Python, import click: any `factory` command): {command:.3f} s")
    full, no_change = seconds("factory", "full"), seconds("factory", "no change")
    one_project = seconds("factory", "incremental")
    print("goals (issue #9, at 100,000 wheels in 10,000 projects):")
    print(f"  full {full:.2f} s = {full / floor:.2f}x floor (goal <= {FULL_GOAL}x floor)")
    print(
        f"  no change {no_change:.3f} s (goal < {NO_CHANGE_GOAL} s): "
        f"{no_change - command:.3f} s over the command floor"
    )
    print(
        f"  one project {one_project:.3f} s (goal < {ONE_PROJECT_GOAL} s): "
        f"{one_project - command:.3f} s over the command floor"
    )
    print(f"  full against dumb-pypi: {dumb_full / full:.1f}x faster")
    print("factory said:")
    for step in STEPS:
        print(f"  {step:<12} {last['factory', step].output}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--wheels", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--dumb-pypi-per-release-json",
        action="store_true",
        help="let dumb-pypi also write /pypi/<project>/<version>/json (its default)",
    )
    parser.add_argument(
        "--factory-arg",
        action="append",
        default=[],
        help="extra argument for `factory index` (repeatable)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the output directories")
    args = parser.parse_args(argv)
    if args.wheels < args.projects or args.projects < 1:
        parser.error("need at least one project and one wheel per project")
    params = Params(args.projects, args.wheels, args.seed)
    cache = cached_wheelhouse(params)
    # Byte-compiled as an installed package is (pip compiles at install time): an
    # editable checkout under PYTHONDONTWRITEBYTECODE would otherwise compile the
    # factory's modules from source in every timed run, 40 ms that no user pays.
    compileall.compile_dir(REPO / "factory", quiet=1)
    dumb_args = [] if args.dumb_pypi_per_release_json else ["--no-per-release-json"]
    work = Path(tempfile.mkdtemp(prefix="factory-index-bench-"))
    try:
        rounds = []
        for number in range(1, args.rounds + 1):
            print(f"round {number}/{args.rounds}...", flush=True)
            rounds.append(one_round(cache, work / f"round-{number}", args.factory_arg, dumb_args))
        report(params, rounds)
    finally:
        if args.keep:
            print(f"outputs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
