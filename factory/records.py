"""Build records and input fingerprints.

A record is written for every build, successful or not. The fingerprint is a hash
over everything that can change the wheel's bytes (recipe, patch contents, pinned
source, target and toolchain), so "is it up to date?" is answered from content,
never from mtimes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from packaging.utils import NormalizedName, canonicalize_name

from .errors import ConfigError
from .wheelmeta import RECORD_SUFFIX, wheel_project

if TYPE_CHECKING:
    from .recipe import LoadedRecipe

Outcome = Literal["success", "failed"]


@dataclass(frozen=True)
class Target:
    """What the wheel is built for."""

    arch: str
    python: str  # "3.13"
    policy: str  # the recipe's repair policy ("auto" or a manylinux tag)


@dataclass(frozen=True)
class FingerprintInputs:
    recipe: dict[str, Any]
    patches: dict[str, str]  # file name -> sha256 of its content, in apply order
    source: str
    target: Target
    toolchain: dict[str, str]
    # The recipes in build.requires, as built with: name -> "<version> build <n>". A
    # dependency rebuilt is a new input. Left out of the hash when empty, so wheels
    # recorded before this field keep their fingerprints.
    dependencies: dict[str, str] = field(default_factory=dict)


# The inputs that decide a wheel's content. The toolchain is recorded beside them: a
# toolchain change alone never makes a published wheel stale (it is reported instead).
CONTENT_INPUTS = ("recipe", "patches", "source", "target", "dependencies")


def fingerprint_inputs(
    loaded: LoadedRecipe,
    source: str,
    target: Target,
    toolchain: dict[str, str],
    dependencies: dict[str, str] | None = None,
) -> FingerprintInputs:
    return FingerprintInputs(
        recipe=_fingerprinted_recipe(loaded),
        patches={
            path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in loaded.patch_files
        },
        source=source,
        target=target,
        toolchain=dict(sorted(toolchain.items())),
        dependencies=dict(sorted((dependencies or {}).items())),
    )


def content_changes(old: FingerprintInputs, new: FingerprintInputs) -> list[str]:
    """Which content inputs differ ("recipe", "patches", ...), in CONTENT_INPUTS order."""
    return [name for name in CONTENT_INPUTS if getattr(old, name) != getattr(new, name)]


def toolchain_changes(old: FingerprintInputs, new: FingerprintInputs) -> list[str]:
    """What differs in the fingerprinted toolchain, e.g. ``["pip 23.2.1 -> 26.3"]``."""
    return [
        f"{tool} {old.toolchain.get(tool, 'none')} -> {new.toolchain.get(tool, 'none')}"
        for tool in sorted(old.toolchain.keys() | new.toolchain.keys())
        if old.toolchain.get(tool) != new.toolchain.get(tool)
        and tool not in INFORMATIONAL_TOOLCHAIN
    ]


# Recipe fields added after wheels were published, by section: at their default they
# are left out of the fingerprint, so adding a field makes no built wheel look stale.
_ADDED_FIELDS = {"repair": ("isa",)}


def _fingerprinted_recipe(loaded: LoadedRecipe) -> dict[str, Any]:
    recipe = loaded.recipe
    # Yanks and retirement say how the index presents a wheel, not what is in it: no
    # rebuild. Nor do build.accelerate (it picks the compiler path, whose output is the
    # same) and build.size (the CI runner a build needs).
    dump = recipe.model_dump(
        mode="json", exclude={"yanked": True, "retired": True, "build": {"accelerate", "size"}}
    )
    for section, names in _ADDED_FIELDS.items():
        defaults = type(getattr(recipe, section))().model_dump(mode="json")
        for name in names:
            if dump[section][name] == defaults[name]:
                del dump[section][name]
    return dump


# Toolchain entries that say how the tools ran, not which tools: recorded, never hashed.
# "compiler" is the compiler path in the riscv64 userland (host-native cross or
# emulated): the companion is used only at the userland's exact compiler versions and
# makes byte-identical objects, so switching paths must not make a wheel stale, let
# alone demand a new build number. "installer" is what installed the build and test
# environments (pip, or the host-native uv): the same requirements resolve to the same
# versions either way.
INFORMATIONAL_TOOLCHAIN = ("compiler", "installer")


def fingerprint(inputs: FingerprintInputs) -> str:
    # The same mapping dataclasses.asdict() gives, without its deep copy of every value
    # (a third of `factory stale`'s time): json.dumps reads it and changes nothing.
    data: dict[str, Any] = {
        "recipe": inputs.recipe,
        "patches": inputs.patches,
        "source": inputs.source,
        "target": dataclasses.asdict(inputs.target),
        "toolchain": {
            k: v for k, v in inputs.toolchain.items() if k not in INFORMATIONAL_TOOLCHAIN
        },
    }
    if inputs.dependencies:
        data["dependencies"] = inputs.dependencies
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def content_fingerprint(inputs: FingerprintInputs) -> str:
    """The fingerprint without the toolchain: equal when only the tools changed."""
    return fingerprint(dataclasses.replace(inputs, toolchain={}))


def with_toolchain_info(inputs: FingerprintInputs, toolchain: dict[str, str]) -> FingerprintInputs:
    """``inputs`` with the informational entries taken from ``toolchain`` (what a build
    actually ran with); the fingerprint does not change."""
    info = {k: toolchain[k] for k in INFORMATIONAL_TOOLCHAIN if k in toolchain}
    kept = {k: v for k, v in inputs.toolchain.items() if k not in INFORMATIONAL_TOOLCHAIN}
    return dataclasses.replace(inputs, toolchain=dict(sorted({**kept, **info}.items())))


@dataclass(frozen=True)
class WheelFile:
    filename: str
    sha256: str
    size: int
    requires_python: str | None = None
    metadata_sha256: str | None = None  # of <wheel>.metadata beside it (PEP 658)


@dataclass
class BuildRecord:
    project: str
    version: str
    build_number: int
    fingerprint: str
    inputs: FingerprintInputs
    builder: str
    started: str  # ISO 8601 UTC; the index uses it as the upload time (PEP 700)
    outcome: Outcome = "failed"
    error: str = ""
    steps: dict[str, float] = field(default_factory=dict)  # step -> seconds
    wheel: WheelFile | None = None
    log: str = ""
    isa: str = ""  # what the wheel's compiled code needs (rv64gc...); "" for pure Python

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> BuildRecord:
        data = json.loads(text)
        inputs = data.pop("inputs")
        inputs["target"] = Target(**inputs["target"])
        wheel = data.pop("wheel")
        return cls(
            inputs=FingerprintInputs(**inputs),
            wheel=WheelFile(**wheel) if wheel else None,
            **data,
        )


def records_by_project(
    records: Iterable[BuildRecord], arch: str, python: str
) -> dict[NormalizedName, list[BuildRecord]]:
    """The records of builds for this architecture and Python, by normalized project name."""
    grouped: dict[NormalizedName, list[BuildRecord]] = {}
    for record in records:
        target = record.inputs.target
        if target.arch == arch and target.python == python:
            grouped.setdefault(canonicalize_name(record.project), []).append(record)
    return grouped


def wheelhouse_records(
    wheelhouse: Path, projects: Collection[str] | None = None
) -> list[BuildRecord]:
    """Records of the wheels present in the wheelhouse (a record without its wheel is
    ignored); of the ``projects`` (normalized names) only, when given: only their
    records are read."""
    records = []
    for path in sorted(wheelhouse.glob(f"*.whl{RECORD_SUFFIX}")):
        if projects is not None and wheel_project(path.name) not in projects:
            continue
        wheel = path.with_name(path.name.removesuffix(RECORD_SUFFIX))
        if wheel.is_file():
            records.append(read_record(path))
    return records


def read_record(path: Path) -> BuildRecord:
    """A build record from its file; one that does not parse is bad input, named."""
    try:
        return BuildRecord.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        # ValueError covers invalid JSON and bytes that are not UTF-8; the others, JSON
        # of the wrong shape (a list, a missing or unknown field).
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        wheel = path.name.removesuffix(RECORD_SUFFIX)
        raise ConfigError(
            f"{path}: not a readable build record ({reason})",
            hint=f"remove it and {wheel} from {path.parent}, then build again "
            "(the factory writes both anew)",
        ) from None
