"""`factory stale`: for every recipe, whether its published wheel is current, and why not.

Pure: recipes and the published state in, one verdict per recipe out. Only content
counts (recipe, patch bytes, pinned source, target, build dependencies): a toolchain
change alone leaves a wheel current and is reported beside it. Verdicts:

- ``current``: a published wheel was built from these inputs;
- ``stale``: it needs a build, which can run (the reasons say why);
- ``needs-bump``: the release (version + build number) is published from other inputs;
  a published file name never gets new bytes, so the build number must be raised;
- ``failed``: the last build of these very inputs failed (not retried until they change);
- ``blocked``: a build dependency is not available (failed, or needs a bump);
- ``retired``: upstream ships riscv64 wheels; nothing is rebuilt;
- ``skipped``: the recipe does not target this python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from .recipe import LoadedRecipe, dependency_order
from .records import (
    BuildRecord,
    FingerprintInputs,
    Target,
    content_fingerprint,
    fingerprint_inputs,
    records_by_project,
)
from .source import source_id
from .state import PublishedState
from .targets import DEFAULT_ARCH, DEFAULT_PYTHON

if TYPE_CHECKING:
    # Only `stale --upstream` needs the web client (requests: a fifth of a no-network run).
    from .upstream import Upstream

Status = Literal["current", "stale", "needs-bump", "failed", "blocked", "retired", "skipped"]
TOOL_CONSTRAINTS = Path(__file__).resolve().parent / "constraints" / "tools.txt"
# A fork's commit of a release cannot be guessed: `factory bump` takes it.
FORK_COMMIT = " --commit <the fork's commit>"
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;#]+)")


@dataclass(frozen=True)
class Verdict:
    project: NormalizedName
    version: str
    build_number: int
    status: Status
    reasons: tuple[str, ...]
    wheel: str | None = None  # the published wheel that is current
    notes: tuple[str, ...] = ()  # information that decides nothing (toolchain, upstream)
    requires: tuple[NormalizedName, ...] = ()  # build.requires, normalized
    retire_evidence: tuple[str, ...] = ()  # upstream's riscv64 wheels, with --upstream


@dataclass(frozen=True)
class StaleReport:
    arch: str
    python: str
    verdicts: tuple[Verdict, ...]  # in dependency order
    state: str  # where the published state was read
    notes: tuple[str, ...] = field(default=())

    def by_status(self, status: Status) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == status]


def pinned_tools(path: Path = TOOL_CONSTRAINTS) -> dict[str, str]:
    """Tool -> version from the constraints file (what a build today runs with)."""
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := _PIN.match(line.strip()):
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def find_stale(
    recipes: Mapping[NormalizedName, LoadedRecipe],
    state: PublishedState,
    arch: str = DEFAULT_ARCH,
    python: str = DEFAULT_PYTHON,
    tools: Mapping[str, str] | None = None,
    upstream: Mapping[str, Upstream] | None = None,
) -> StaleReport:
    """A verdict for every recipe, dependencies first; ConfigError on a cycle."""
    published = records_by_project(state.records, arch, python)
    failed = records_by_project(state.failures, arch, python)
    tools = pinned_tools() if tools is None else tools
    verdicts: dict[NormalizedName, Verdict] = {}
    for loaded in dependency_order(list(recipes.values()), recipes):
        verdict = _verdict(
            loaded,
            recipes,
            Target(arch, python, loaded.recipe.repair.policy),
            published.get(loaded.name, []),
            failed.get(loaded.name, []),
            verdicts,
            tools,
        )
        if upstream is not None and loaded.recipe.upstream_project in upstream:
            verdict = _with_upstream(verdict, loaded, upstream[loaded.recipe.upstream_project])
        verdicts[loaded.name] = verdict
    notes = () if state.failures_known else ("the state lists no builds: failed builds unknown",)
    return StaleReport(arch, python, tuple(verdicts.values()), state.where, notes)


def _verdict(
    loaded: LoadedRecipe,
    recipes: Mapping[NormalizedName, LoadedRecipe],
    target: Target,
    published: list[BuildRecord],
    failed: list[BuildRecord],
    earlier: Mapping[NormalizedName, Verdict],
    tools: Mapping[str, str],
) -> Verdict:
    recipe = loaded.recipe
    requires = tuple(canonicalize_name(d) for d in recipe.build.requires)

    def verdict(
        status: Status, *reasons: str, wheel: str | None = None, notes: tuple[str, ...] = ()
    ) -> Verdict:
        return Verdict(
            loaded.name, recipe.version, recipe.build_number, status, reasons, wheel, notes,
            requires,
        )  # fmt: skip

    if recipe.retired is not None:
        return verdict(
            "retired",
            f"upstream ships riscv64 wheels since {recipe.retired.since}: {recipe.retired.reason}",
        )
    if recipe.python and target.python not in recipe.python:
        return verdict(
            "skipped", f"recipe targets python {', '.join(recipe.python)}, not {target.python}"
        )
    dependencies: dict[str, str] = {
        dep: f"{recipes[dep].recipe.version} build {recipes[dep].recipe.build_number}"
        for dep in requires
    }
    inputs = fingerprint_inputs(loaded, source_id(loaded), target, {}, dependencies)
    content = content_fingerprint(inputs)
    release = [
        r
        for r in published
        if r.version == recipe.version and r.build_number == recipe.build_number
    ]
    for record in release:
        if content_fingerprint(record.inputs) == content:
            assert record.wheel is not None
            return verdict(
                "current",
                f"built from these inputs: {record.wheel.filename}",
                wheel=record.wheel.filename,
                notes=_toolchain_notes(record.inputs, tools, loaded.name),
            )
    if release:
        return verdict(
            "needs-bump",
            *_changes(release[0].inputs, inputs),
            f"{recipe.version} build {recipe.build_number} is published from other inputs: "
            f"raise build_number (`factory bump --rebuild {loaded.name}`)",
        )
    unavailable = [
        f"build dependency {dep} is {earlier[dep].status}"
        for dep in requires
        if earlier[dep].status in ("failed", "needs-bump", "blocked", "skipped")
    ]
    if unavailable:
        return verdict("blocked", *unavailable)
    same = [
        r for r in failed if r.version == recipe.version and r.build_number == recipe.build_number
    ]
    if same:  # this release was tried, and never published
        last = max(same, key=lambda r: r.started)
        if content_fingerprint(last.inputs) == content:
            return verdict(
                "failed",
                f"the last build of these inputs failed ({last.started}): "
                f"{last.error or 'no error recorded'}",
                notes=("it is tried again when the recipe, a patch or the source changes",),
            )
        return verdict(
            "stale",
            "the last build failed; its inputs changed since: "
            + ", ".join(_changes(last.inputs, inputs)),
        )
    if not published:
        return verdict("stale", "never built")
    previous = max(published, key=lambda r: (r.started, r.build_number))
    return verdict("stale", *_changes(previous.inputs, inputs, previous))


def _changes(
    old: FingerprintInputs, new: FingerprintInputs, previous: BuildRecord | None = None
) -> list[str]:
    """Every reason the inputs differ, in words."""
    reasons = []
    if previous is not None:
        version, number = new.recipe.get("version"), new.recipe.get("build_number")
        if previous.version != version:
            reasons.append(f"new version {version} (published: {previous.version})")
        elif previous.build_number != number:
            reasons.append(f"build number raised to {number} (published: {previous.build_number})")
    # The source section is the source input, reported as such.
    ignored = {"version", "build_number", "source"}
    if {k: v for k, v in old.recipe.items() if k not in ignored} != {
        k: v for k, v in new.recipe.items() if k not in ignored
    }:
        reasons.append("recipe changed")
    if old.patches != new.patches:
        reasons.append(_patch_changes(old.patches, new.patches))
    if old.source != new.source and previous is None:
        reasons.append(f"source changed ({old.source} -> {new.source})")
    elif old.source != new.source:
        reasons.append("source changed")
    if old.target != new.target:
        reasons.append("target changed")
    for dep in sorted(old.dependencies.keys() | new.dependencies.keys()):
        before, after = old.dependencies.get(dep), new.dependencies.get(dep)
        if before != after:
            reasons.append(
                f"build dependency {dep} rebuilt ({before or 'none'} -> {after or 'none'})"
            )
    return reasons


def _patch_changes(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    added = sorted(new.keys() - old.keys())
    removed = sorted(old.keys() - new.keys())
    edited = sorted(p for p in old.keys() & new.keys() if old[p] != new[p])
    parts = [f"{verb} {', '.join(names)}" for verb, names in
             (("added", added), ("removed", removed), ("changed", edited)) if names]  # fmt: skip
    if not parts:  # the same patches, in another order
        parts = ["reordered"]
    return "patches " + "; ".join(parts)


def _toolchain_notes(
    old: FingerprintInputs, tools: Mapping[str, str], name: str
) -> tuple[str, ...]:
    drift = [
        f"{tool} {old.toolchain[tool]} -> {version}"
        for tool, version in sorted(tools.items())
        if tool in old.toolchain and old.toolchain[tool] != version
    ]
    if not drift:
        return ()
    return (f"built with an older toolchain ({', '.join(drift)}); "
            f"`factory bump --rebuild {name}` rebuilds it",)  # fmt: skip


def _with_upstream(verdict: Verdict, loaded: LoadedRecipe, facts: Upstream) -> Verdict:
    notes = list(verdict.notes)
    git = loaded.recipe.source.kind == "git"
    if facts.latest is not None and Version(facts.latest) > Version(loaded.recipe.version):
        notes.append(
            f"upstream released {facts.latest} (recipe: {loaded.recipe.version}): "
            f"`factory bump {loaded.name}{FORK_COMMIT if git else ''}` moves the recipe to it"
        )
    evidence: tuple[str, ...] = ()
    if facts.riscv64_since is not None and verdict.status != "retired":
        evidence = facts.riscv64_wheels
        notes.append(
            f"upstream ships riscv64 wheels since {facts.riscv64_since}: retire it "
            f"(`factory retire {loaded.name} --since {facts.riscv64_since}`)"
        )
    return replace(verdict, notes=tuple(notes), retire_evidence=evidence)
