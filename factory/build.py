"""Plan and execute builds: what to build in which order and why, then each build's steps.

planning is pure (recipes + wheelhouse records + toolchain in, a list of planned
builds out); executing touches the world through the source, host and wheelhouse
modules only.
"""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.utils import NormalizedName, canonicalize_name

from ._fs import write_atomically
from .buildenv import kept_environment, no_isolation_build
from .builders.base import BuildHost, host_for_recipe, uv_environment
from .buildreqs import (
    available_versions,
    build_requirements,
    marker_environment,
    static_build_requires,
    wheelhouse_pins,
)
from .errors import ConfigError, FactoryError, most_severe
from .hashing import sha256_file
from .isa import check_baseline
from .locks import exclusive_lock
from .progress import Progress, format_seconds
from .recipe import LoadedRecipe, dependency_order
from .records import (
    BuildRecord,
    FingerprintInputs,
    Target,
    WheelFile,
    content_changes,
    fingerprint,
    fingerprint_inputs,
    toolchain_changes,
    wheelhouse_records,
    with_toolchain_info,
)
from .repair import add_build_tag, repair, single_wheel
from .scratch import work_tree
from .source import prepare_tree, source_id
from .wheelhouse import add_to_wheelhouse
from .wheelmeta import read_wheel_metadata
from .wheeltest import run_wheel_tests
from .workspace import Workspace

Action = Literal["build", "up-to-date", "skip"]


@dataclass(frozen=True)
class PlannedBuild:
    loaded: LoadedRecipe
    target: Target
    inputs: FingerprintInputs
    fingerprint: str
    action: Action
    reason: str  # why: "not built yet", "up to date: <wheel>", "forced (--force)", ...
    # "name==version" of the recipes in build.requires: their build must use our wheels.
    dependency_pins: tuple[str, ...] = ()

    @property
    def name(self) -> NormalizedName:
        return self.loaded.name


@dataclass(frozen=True)
class BuildResult:
    project: str
    action: Literal["built", "up-to-date", "skip", "skipped", "failed"]
    reason: str
    wheel: str | None = None
    log: str | None = None


def host_python(host: BuildHost) -> str:
    return ".".join(host.toolchain()["python"].split(".")[:2])


def plan(
    selected: Sequence[LoadedRecipe],
    recipes: Mapping[NormalizedName, LoadedRecipe],
    host: BuildHost,
    wheelhouse: Path,
    force: bool = False,
) -> list[PlannedBuild]:
    """Selected recipes plus their build dependencies, dependencies first."""
    existing = wheelhouse_records(wheelhouse)
    python = host_python(host)
    planned = []
    for loaded in dependency_order(selected, recipes):
        recipe = loaded.recipe
        target = Target(arch=host.arch, python=python, policy=recipe.repair.policy)
        dependencies = [recipes[canonicalize_name(d)] for d in recipe.build.requires]
        built_with: dict[str, str] = {
            dep.name: f"{dep.recipe.version} build {dep.recipe.build_number}"
            for dep in dependencies
        }
        inputs = fingerprint_inputs(loaded, source_id(loaded), target, host.toolchain(), built_with)
        digest = fingerprint(inputs)
        action: Action
        if recipe.retired is not None:
            # Upstream's own riscv64 wheels replace ours; what was published stays.
            action = "skip"
            reason = (
                f"retired: upstream ships riscv64 wheels since {recipe.retired.since} "
                "(install it from PyPI)"
            )
        elif recipe.python and python not in recipe.python:
            action = "skip"
            reason = f"recipe targets python {', '.join(recipe.python)}; the builder has {python}"
        else:
            action, reason = _staleness(loaded, inputs, digest, existing, force)
        pins = tuple(f"{dep.name}=={dep.recipe.version}" for dep in dependencies)
        planned.append(PlannedBuild(loaded, target, inputs, digest, action, reason, pins))
    return planned


def _staleness(
    loaded: LoadedRecipe,
    inputs: FingerprintInputs,
    digest: str,
    existing: list[BuildRecord],
    force: bool,
) -> tuple[Action, str]:
    recipe, target = loaded.recipe, inputs.target
    same_release = [
        r
        for r in existing
        if canonicalize_name(r.project) == loaded.name
        and r.version == recipe.version
        and r.build_number == recipe.build_number
        and r.inputs.target.arch == target.arch
        and r.inputs.target.python == target.python
    ]
    if force and same_release:
        return "build", "forced (--force)"
    for record in same_release:
        if record.fingerprint == digest:
            assert record.wheel is not None
            return "up-to-date", f"up to date: {record.wheel.filename}"
    for record in same_release:
        if not content_changes(record.inputs, inputs):
            # Toolchain drift is information, never a blocker: the published wheel stays
            # current; `factory bump --rebuild` rebuilds it under a new build tag.
            assert record.wheel is not None
            tools = ", ".join(toolchain_changes(record.inputs, inputs))
            return (
                "up-to-date",
                f"up to date: {record.wheel.filename} (built before a toolchain change: {tools})",
            )
    if same_release:
        # A published file name never gets new bytes: a changed recipe needs a new build tag.
        changed = ", ".join(content_changes(same_release[0].inputs, inputs))
        raise ConfigError(
            f"{loaded.name} {recipe.version} build {recipe.build_number} was already built "
            f"from different inputs (changed: {changed})",
            hint=f"raise build_number in {loaded.path} to {recipe.build_number + 1} "
            f"(`factory bump --rebuild {loaded.name}`), "
            "or pass --force to rebuild and keep the published wheel",
        )
    return "build", "not built yet"


def prepare_system(planned: Sequence[PlannedBuild], host: BuildHost, workspace: Workspace) -> None:
    """Install every build's system requirements before any build starts.

    A requirement that does not exist in Debian is named here, not an hour into a build.
    """
    wanted = sorted(
        {
            p
            for b in planned
            if b.action == "build"
            for p in b.loaded.recipe.build.system_requirements
        }
    )
    if wanted and host.missing_system_packages(wanted):
        host.install_system_packages(wanted, workspace.logs / "system-packages.log")


@dataclass(frozen=True)
class BuildReport:
    """Every planned build's result, and the errors of those that failed."""

    results: list[BuildResult]
    errors: dict[NormalizedName, FactoryError]
    logs: Path  # where every build's log is

    def error(self) -> FactoryError | None:
        """The one error the command ends with: None when nothing failed."""
        if not self.errors:
            return None
        if len(self.errors) == 1:
            return next(iter(self.errors.values()))
        worst = most_severe([error.exit_code for error in self.errors.values()])
        return worst(
            f"{len(self.errors)} of {len(self.results)} builds failed: "
            f"{', '.join(sorted(self.errors))}",
            hint=f"each failure is reported above; every build's log is under {self.logs}",
            details=tuple(f"{name}: {e.message}" for name, e in sorted(self.errors.items())),
        )


# How long a build waits for another process building the same inputs, in multiples of
# the recipe's step timeout: the holder's own steps time out well before that.
LOCK_WAIT_STEPS = 4


def execute_all(
    planned: Sequence[PlannedBuild], host: BuildHost, workspace: Workspace, progress: Progress
) -> BuildReport:
    """Run the planned builds in order; a failure skips what depends on it, not the rest."""
    results: list[BuildResult] = []
    errors: dict[NormalizedName, FactoryError] = {}
    unavailable: set[NormalizedName] = set()  # failed, or skipped because a dependency was
    for build in planned:
        label = f"{build.name} {build.loaded.recipe.version}"
        blocked = [
            d for d in build.loaded.recipe.build.requires if canonicalize_name(d) in unavailable
        ]
        if blocked:
            reason = f"build dependency {blocked[0]} failed"
            progress.message(f"{label}: skipped, {reason}")
            unavailable.add(build.name)
            results.append(BuildResult(build.name, "skipped", reason))
            continue
        if build.action == "skip":
            progress.message(f"{label}: skipped: {build.reason}")
            results.append(BuildResult(build.name, build.action, build.reason))
            continue
        if build.action != "build":
            progress.message(f"{label}: {build.reason}; nothing to do")
            results.append(BuildResult(build.name, build.action, build.reason))
            continue
        try:
            results.append(_execute_locked(build, host, workspace, progress))
        except FactoryError as error:
            errors[build.name] = error
            unavailable.add(build.name)
            log = build_files(build, workspace)[0]
            results.append(
                BuildResult(
                    build.name, "failed", error.message, log=str(log) if log.exists() else None
                )
            )
            progress.message(f"{label}: FAILED: {error.message}")
    return BuildReport(results, errors, workspace.logs)


def _execute_locked(
    build: PlannedBuild, host: BuildHost, workspace: Workspace, progress: Progress
) -> BuildResult:
    """Build unless another process building the same inputs got there first.

    Two builds of one fingerprint would write the same log, record and wheel; the
    second waits for the first and then finds its wheel instead of building again.
    """
    label = f"{build.name} {build.loaded.recipe.version}"

    def say_waiting(holder: str) -> None:
        progress.message(
            f"{label}: another factory process ({holder}) is building the same inputs; "
            "waiting for it"
        )

    lock = workspace.locks / f"build-{build.name}-{build.fingerprint[:16]}.lock"
    wait_limit = LOCK_WAIT_STEPS * float(build.loaded.recipe.build.timeout)
    with exclusive_lock(
        lock, what=f"the build of {label}", wait_limit=wait_limit, on_wait=say_waiting
    ) as waited:
        if waited and (wheel := published_wheel(workspace.wheelhouse, build.fingerprint)):
            reason = f"up to date: {wheel} (built by the other process)"
            progress.message(f"{label}: {reason}; nothing to do")
            return BuildResult(build.name, "up-to-date", reason, wheel)
        progress.message(f"{label}: building ({build.reason}) on {host.name}")
        record = execute(build, host, workspace, progress)
    assert record.wheel is not None
    return BuildResult(build.name, "built", build.reason, record.wheel.filename, record.log)


def published_wheel(wheelhouse: Path, digest: str) -> str | None:
    """The wheelhouse's wheel built from inputs with this fingerprint, if there is one."""
    for record in wheelhouse_records(wheelhouse):
        if record.fingerprint == digest and record.wheel is not None:
            return record.wheel.filename
    return None


def execute(
    build: PlannedBuild, host: BuildHost, workspace: Workspace, progress: Progress
) -> BuildRecord:
    """One build: fetch+patch, build, repair, test, then add to the wheelhouse atomically.

    A record is written whatever happens; the wheelhouse changes only on success.
    """
    recipe = build.loaded.recipe
    host = host_for_recipe(host, accelerate=recipe.build.accelerate)
    log, record_path = build_files(build, workspace)
    stem = log.stem
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    record = BuildRecord(
        project=recipe.name,
        version=recipe.version,
        build_number=recipe.build_number,
        fingerprint=build.fingerprint,
        # What this build ran with (the compiler path is chosen after planning).
        inputs=with_toolchain_info(build.inputs, host.toolchain()),
        builder=host.name,
        started=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        log=str(log),
    )
    timeout = float(recipe.build.timeout)

    @contextmanager
    def step(name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            with progress.step(name):
                yield
        finally:
            record.steps[name] = round(time.monotonic() - started, 3)

    try:
        # A directory of its own: another build of the same package (other inputs, or
        # another wheelhouse) may be running at the same time.
        with work_tree(workspace, prefix=f"{build.name}-{stem}-") as work:
            with step("fetch"):
                tree = prepare_tree(build.loaded, workspace.sources, work, log)
            with step("build"):
                raw = _build_wheel(build, host, tree, work / "dist", workspace, log, progress)
            with step("repair"):
                wheel = repair(host, raw, work / "repaired", recipe.repair, log, timeout)
                wheel = add_build_tag(host, wheel, recipe.build_number, log, timeout)
                if build.target.arch == "riscv64":
                    record.isa = check_baseline(wheel, recipe.repair.isa).summary
            with step("test"):
                run_wheel_tests(
                    host, wheel, work / "test", recipe.test, workspace.wheelhouse, log, timeout
                )
            metadata = read_wheel_metadata(wheel)
            record.wheel = WheelFile(
                wheel.name,
                sha256_file(wheel),
                wheel.stat().st_size,
                metadata.requires_python,
                metadata.sha256,
            )
            record.outcome = "success"
            # One writer at a time: two builds with different inputs can make the same file
            # name (--force), and "is it there already?" must be answered by the one adding.
            wheelhouse_lock = workspace.locks / f"wheelhouse-{_path_key(workspace.wheelhouse)}.lock"
            with exclusive_lock(wheelhouse_lock, what=str(workspace.wheelhouse), wait_limit=600):
                kept = add_to_wheelhouse(workspace.wheelhouse, wheel, metadata.content, record)
            if kept:
                progress.message(
                    f"  kept the existing {wheel.name}: published files never get new bytes"
                )
    except FactoryError as error:
        record.error = error.message
        raise
    except KeyboardInterrupt:
        record.error = "interrupted"
        raise
    finally:
        write_atomically(record_path, record.to_json().encode())
    total = format_seconds(sum(record.steps.values()))
    progress.message(f"  -> {workspace.wheelhouse / record.wheel.filename} ({total})")
    return record


def build_files(build: PlannedBuild, workspace: Workspace) -> tuple[Path, Path]:
    """Where a build's log and record go (failed builds' too)."""
    recipe = build.loaded.recipe
    stem = f"{recipe.version}-{recipe.build_number}-{build.fingerprint[:12]}"
    folder = workspace.logs / build.name
    return folder / f"{stem}.log", folder / f"{stem}.json"


def _path_key(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:16]


def _build_pins(
    build: PlannedBuild,
    host: BuildHost,
    requires: list[str],
    wheelhouse: Path,
    log: Path,
    progress: Progress,
) -> list[str]:
    """The recipe's build.requires at our versions, then the other static build
    requirements the wheelhouse holds a fitting wheel of (said, and logged: like any build
    requirement taken from PyPI, they are not part of the fingerprint)."""
    declared = {pin.partition("==")[0] for pin in build.dependency_pins}
    environment = marker_environment(host.arch, host.toolchain()["python"])
    wanted = {
        name: lines
        for name, lines in build_requirements(requires, environment).items()
        if name not in declared
    }
    # Only the records of the projects asked for: a pulled wheelhouse holds thousands.
    records = wheelhouse_records(wheelhouse, wanted.keys()) if wanted else []
    found = wheelhouse_pins(wanted, available_versions(records, host.arch, host_python(host)))
    if found:
        line = f"build requirements from the wheelhouse: {', '.join(found)}"
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{line}\n")
        progress.message(f"  {line}")
    return [*build.dependency_pins, *found]


def _build_wheel(
    build: PlannedBuild,
    host: BuildHost,
    tree: Path,
    out_dir: Path,
    workspace: Workspace,
    log: Path,
    progress: Progress,
) -> Path:
    wheelhouse, sources = workspace.wheelhouse, workspace.sources
    settings = build.loaded.recipe.build
    timeout = float(settings.timeout)
    frontend_args = ["--wheel", "--outdir", str(out_dir)]
    for key, value in sorted(settings.config_settings.items()):
        for item in [value] if isinstance(value, str) else value:
            frontend_args.append(f"--config-setting={key}={item}")
    env = {
        **settings.env,
        # Build requirements come as wheels, ours first: never --no-binary :all:, which
        # would compile Cython & co. from source inside build isolation (RISCV64.md).
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_PREFER_BINARY": "1",
    }
    # The source tree is a --shared git clone: its objects live in the sources cache.
    binds = [tree, out_dir, wheelhouse, sources]
    requires = static_build_requires(tree)  # None: no static [build-system] requires
    pins = _build_pins(build, host, requires or [], wheelhouse, log, progress)
    if pins:
        # Pinning build dependencies to our versions makes the installer take our wheels
        # (find-links) instead of a newer release from PyPI: an sdist it would compile,
        # or a pure-Python wheel that runs emulated (buildreqs.py).
        constraints = out_dir.parent / "build-constraints.txt"
        constraints.write_text("".join(f"{pin}\n" for pin in pins))
        env["PIP_CONSTRAINT"] = str(constraints)
        binds.append(constraints)
    wheelhouse.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = [host.python, "-m", "build", *frontend_args]
    if host.uv is not None:
        env.update(uv_environment(env))
        argv.append("--installer=uv")  # build finds it on PATH
        kept = None
        if requires is not None:
            kept = kept_environment(
                host, requires, out_dir.parent / "build-env", workspace.cache, env, binds, log,
                timeout, progress.message,
            )  # fmt: skip
        if kept is not None and no_isolation_build(
            host, kept, tree, frontend_args, env, binds, log, timeout, progress
        ):
            return single_wheel(out_dir, "python -m build", log)
    host.run(
        [*argv, str(tree)],
        log=log,
        cwd=tree,
        env=env,
        timeout=timeout,
        binds=binds,
        on_line=progress.output_line,
    )
    return single_wheel(out_dir, "python -m build", log)
