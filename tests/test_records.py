"""Fingerprints and build records. Pure: recipes and records live in tmp_path."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from packaging.utils import NormalizedName

from factory.errors import ConfigError
from factory.recipe import LoadedRecipe, load_recipes
from factory.records import (
    BuildRecord,
    FingerprintInputs,
    Target,
    WheelFile,
    fingerprint,
    fingerprint_inputs,
    wheelhouse_records,
)
from factory.source import source_id
from factory.wheelmeta import RECORD_SUFFIX

SHA = "0123456789abcdef" * 4
OTHER_SHA = "fedcba9876543210" * 4
COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER_COMMIT = "76543210fedcba9876543210fedcba9876543210"
TARGET = Target(arch="riscv64", python="3.13", policy="auto")
TOOLCHAIN = {"python": "3.13.5", "gcc": "14.2.0", "glibc": "2.41"}
PATCH = """\
Fix the riscv64 build.

Upstream-Status: Pending
diff --git a/x.c b/x.c
--- a/x.c
+++ b/x.c
@@ -1 +1 @@
-a
+b
"""
RECIPE = f"""\
# demo recipe
name: demo
version: "1.0"
source:
  pypi:
    sha256: {SHA}
patches:
  - 0001-fix.patch
build:
  env:
    CFLAGS: -O2
"""
GIT_RECIPE = f"""\
name: demo
version: "1.0"
source:
  git:
    url: https://example.org/demo.git
    commit: {COMMIT}
"""


def make_project(root: Path, recipe: str = RECIPE, patch: str = PATCH) -> Path:
    (root / "recipes").mkdir(parents=True, exist_ok=True)
    (root / "recipes" / "demo.yaml").write_text(recipe, encoding="utf-8")
    (root / "patches" / "demo").mkdir(parents=True, exist_ok=True)
    (root / "patches" / "demo" / "0001-fix.patch").write_text(patch, encoding="utf-8")
    return root


def load(root: Path) -> LoadedRecipe:
    return load_recipes(root / "recipes", root / "patches")[NormalizedName("demo")]


def digest(
    loaded: LoadedRecipe, target: Target = TARGET, toolchain: dict[str, str] | None = None
) -> str:
    inputs = fingerprint_inputs(loaded, source_id(loaded), target, toolchain or TOOLCHAIN)
    return fingerprint(inputs)


# --- fingerprint -----------------------------------------------------------------


def test_fingerprint_is_a_sha256_hex(tmp_path: Path) -> None:
    value = digest(load(make_project(tmp_path)))
    assert len(value) == 64
    assert set(value) <= set("0123456789abcdef")


def test_fingerprint_is_stable(tmp_path: Path) -> None:
    root = make_project(tmp_path / "a")
    loaded = load(root)
    first = digest(loaded)
    assert digest(loaded) == first
    # Reloaded from disk: a new LoadedRecipe, the same inputs.
    assert digest(load(root)) == first
    # Toolchain order does not matter.
    assert digest(loaded, toolchain=dict(reversed(list(TOOLCHAIN.items())))) == first


def test_fingerprint_of_published_inputs_never_changes() -> None:
    # Every published wheel's record holds a fingerprint made this way: a different hash
    # for the same inputs would make every wheel look rebuilt from other inputs.
    inputs = FingerprintInputs(
        recipe={"name": "demo", "version": "1.0", "build_number": 0, "patches": ["a.patch"]},
        patches={"a.patch": "ab" * 32},
        source="sha256:" + "cd" * 32,
        target=Target("riscv64", "3.13", "auto"),
        toolchain={"pip": "26.3", "compiler": "emulated"},
        dependencies={"numpy": "2.3.1 build 0"},
    )
    assert fingerprint(inputs) == (
        "ae1469bdf5b9b4de68c77790848092b874562b7291423d7c45de1a5163b280c6"
    )
    assert fingerprint(dataclasses.replace(inputs, dependencies={})) == (
        "0802e8808c2ca43c43cbe41bb3d12ee5473d4616ed9cbe7b2d8e2e11fddffed1"
    )


def test_fingerprint_does_not_depend_on_where_the_project_lives(tmp_path: Path) -> None:
    first = digest(load(make_project(tmp_path / "a")))
    shutil.copytree(tmp_path / "a", tmp_path / "elsewhere")
    assert digest(load(tmp_path / "elsewhere")) == first


def test_comments_do_not_change_the_fingerprint(tmp_path: Path) -> None:
    first = digest(load(make_project(tmp_path / "a")))
    commented = RECIPE.replace("# demo recipe", "# a different comment\n# and another")
    assert digest(load(make_project(tmp_path / "b", recipe=commented))) == first


def test_fingerprint_changes_with_the_build_env(tmp_path: Path) -> None:
    first = digest(load(make_project(tmp_path / "a")))
    changed = RECIPE.replace("CFLAGS: -O2", "CFLAGS: -O3")
    assert digest(load(make_project(tmp_path / "b", recipe=changed))) != first
    added = RECIPE + "    LDFLAGS: -s\n"
    assert digest(load(make_project(tmp_path / "c", recipe=added))) != first


def test_fingerprint_changes_with_patch_content(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    first = digest(load(root))
    (root / "patches" / "demo" / "0001-fix.patch").write_text(
        PATCH.replace("+b", "+c"), encoding="utf-8"
    )
    assert digest(load(root)) != first


def test_fingerprint_changes_with_the_pypi_sha256(tmp_path: Path) -> None:
    first = digest(load(make_project(tmp_path / "a")))
    changed = RECIPE.replace(SHA, OTHER_SHA)
    assert digest(load(make_project(tmp_path / "b", recipe=changed))) != first


def test_fingerprint_changes_with_the_git_commit(tmp_path: Path) -> None:
    first = digest(load(make_project(tmp_path / "a", recipe=GIT_RECIPE)))
    changed = GIT_RECIPE.replace(COMMIT, OTHER_COMMIT)
    assert digest(load(make_project(tmp_path / "b", recipe=changed))) != first


def test_fingerprint_changes_with_the_source_id_alone(tmp_path: Path) -> None:
    loaded = load(make_project(tmp_path))
    one = fingerprint(fingerprint_inputs(loaded, f"sha256:{SHA}", TARGET, TOOLCHAIN))
    two = fingerprint(fingerprint_inputs(loaded, f"sha256:{OTHER_SHA}", TARGET, TOOLCHAIN))
    assert one != two


def test_fingerprint_changes_with_the_target(tmp_path: Path) -> None:
    loaded = load(make_project(tmp_path))
    first = digest(loaded)
    assert digest(loaded, target=Target("riscv64", "3.12", "auto")) != first
    assert digest(loaded, target=Target("x86_64", "3.13", "auto")) != first
    assert digest(loaded, target=Target("riscv64", "3.13", "manylinux_2_39_riscv64")) != first


def test_fingerprint_changes_with_the_toolchain(tmp_path: Path) -> None:
    loaded = load(make_project(tmp_path))
    first = digest(loaded)
    assert digest(loaded, toolchain={**TOOLCHAIN, "gcc": "14.2.1"}) != first
    assert digest(loaded, toolchain={**TOOLCHAIN, "cmake": "3.31"}) != first


def test_fingerprint_inputs_content(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    loaded = load(root)
    inputs = fingerprint_inputs(loaded, source_id(loaded), TARGET, TOOLCHAIN)
    assert inputs.source == f"sha256:{SHA}"
    assert list(inputs.patches) == ["0001-fix.patch"]
    assert len(inputs.patches["0001-fix.patch"]) == 64
    assert inputs.recipe["build"]["env"] == {"CFLAGS": "-O2"}
    assert list(inputs.toolchain) == sorted(TOOLCHAIN)
    assert inputs.target == TARGET


# --- records ---------------------------------------------------------------------


def make_record(tmp_path: Path, wheel: WheelFile | None, outcome: str = "success") -> BuildRecord:
    loaded = load(make_project(tmp_path / "project"))
    inputs = fingerprint_inputs(loaded, source_id(loaded), TARGET, TOOLCHAIN)
    record = BuildRecord(
        project="demo",
        version="1.0",
        build_number=0,
        fingerprint=fingerprint(inputs),
        inputs=inputs,
        builder="native-riscv64",
        started="2026-03-02T10:00:00+00:00",
        steps={"fetch": 1.5, "build": 42.125},
        wheel=wheel,
        log="/var/log/demo.log",
    )
    if outcome == "success":
        record.outcome = "success"
    else:
        record.error = "build failed"
    return record


def test_record_round_trips(tmp_path: Path) -> None:
    wheel = WheelFile("demo-1.0-0-cp313-cp313-manylinux_2_39_riscv64.whl", SHA, 1234)
    record = make_record(tmp_path, wheel)
    text = record.to_json()
    assert text.endswith("\n")
    again = BuildRecord.from_json(text)
    assert again == record
    assert isinstance(again.inputs, FingerprintInputs)
    assert isinstance(again.inputs.target, Target)
    assert isinstance(again.wheel, WheelFile)
    assert again.to_json() == text
    # The fingerprint recomputed from the stored inputs is the stored one.
    assert fingerprint(again.inputs) == record.fingerprint


def test_failed_record_without_wheel_round_trips(tmp_path: Path) -> None:
    record = make_record(tmp_path, None, outcome="failed")
    again = BuildRecord.from_json(record.to_json())
    assert again == record
    assert again.wheel is None
    assert again.outcome == "failed"
    assert again.error == "build failed"


def test_wheelhouse_records_ignore_records_without_their_wheel(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    present = WheelFile("demo-1.0-0-cp313-cp313-linux_riscv64.whl", SHA, 3)
    missing = WheelFile("demo-1.0-1-cp313-cp313-linux_riscv64.whl", SHA, 3)
    kept = make_record(tmp_path / "a", present)
    for wheel, record in ((present, kept), (missing, make_record(tmp_path / "b", missing))):
        (wheelhouse / (wheel.filename + RECORD_SUFFIX)).write_text(record.to_json())
    (wheelhouse / present.filename).write_bytes(b"zip")
    # Other files beside them are no records.
    (wheelhouse / "index.html").write_text("<html></html>")

    assert wheelhouse_records(wheelhouse) == [kept]


def test_wheelhouse_records_of_an_empty_or_missing_wheelhouse(tmp_path: Path) -> None:
    assert wheelhouse_records(tmp_path) == []
    assert wheelhouse_records(tmp_path / "missing") == []


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe", b"[1, 2]", b"{}", b'{"project": "demo"}'],
    ids=["malformed", "not-utf8", "a-list", "empty-object", "missing-fields"],
)
def test_corrupt_record_beside_its_wheel_is_named(tmp_path: Path, content: bytes) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    filename = "demo-1.0-0-cp313-cp313-linux_riscv64.whl"
    (wheelhouse / filename).write_bytes(b"zip")
    record = wheelhouse / (filename + RECORD_SUFFIX)
    record.write_bytes(content)

    with pytest.raises(ConfigError) as caught:
        wheelhouse_records(wheelhouse)

    error = caught.value
    assert error.exit_code == 2
    assert error.message.startswith(f"{record}: not a readable build record (")
    assert "\n" not in error.message
    assert error.hint == (
        f"remove it and {filename} from {wheelhouse}, then build again "
        "(the factory writes both anew)"
    )
    assert record.read_bytes() == content
