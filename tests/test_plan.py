"""Planning: what to build, in which order, and why. Pure: a fake host that never runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import NormalizedName

from factory._run import RunResult
from factory.build import PlannedBuild, host_python, plan
from factory.builders.base import BuildHost
from factory.errors import ConfigError
from factory.recipe import LoadedRecipe, load_recipes, select
from factory.records import BuildRecord, WheelFile
from factory.wheelmeta import RECORD_SUFFIX

SHA = "0123456789abcdef" * 4
TOOLCHAIN = {"python": "3.13.5", "gcc": "14.2.0", "glibc": "2.41"}


class FakeHost:
    """A BuildHost that knows its toolchain and refuses to run anything."""

    name = "fake-riscv64"
    arch = "riscv64"
    python = "/usr/bin/python3"
    uv: str | None = None

    def __init__(self, toolchain: Mapping[str, str] = TOOLCHAIN) -> None:
        self._toolchain = dict(toolchain)

    def run(
        self,
        argv: Sequence[str],
        *,
        log: Path,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float | None,
        binds: Sequence[Path] = (),
        on_line: Callable[[str], None] | None = None,
    ) -> RunResult:
        raise AssertionError(f"planning must not run commands: {argv!r}")

    def toolchain(self) -> dict[str, str]:
        return dict(self._toolchain)

    def missing_system_packages(self, packages: Sequence[str]) -> list[str]:
        raise AssertionError("planning must not query system packages")

    def install_system_packages(self, packages: Sequence[str], log: Path) -> None:
        raise AssertionError("planning must not install system packages")


class Project:
    """A recipes/ + patches/ + wheelhouse/ tree in tmp_path."""

    def __init__(self, root: Path) -> None:
        self.recipes = root / "recipes"
        self.patches = root / "patches"
        self.wheelhouse = root / "wheelhouse"
        for directory in (self.recipes, self.patches, self.wheelhouse):
            directory.mkdir(parents=True)

    def recipe(
        self,
        name: str,
        version: str = "1.0",
        build_number: int = 0,
        requires: Sequence[str] = (),
        extra: str = "",
    ) -> Path:
        text = (
            f"name: {name}\n"
            f'version: "{version}"\n'
            f"build_number: {build_number}\n"
            f"source:\n  pypi:\n    sha256: {SHA}\n"
        )
        if requires:
            text += f"build:\n  requires: [{', '.join(requires)}]\n"
        path = self.recipes / f"{name.lower()}.yaml"
        path.write_text(text + extra, encoding="utf-8")
        return path

    def load(self) -> dict[NormalizedName, LoadedRecipe]:
        return load_recipes(self.recipes, self.patches)

    def plan(
        self, *names: str, host: BuildHost | None = None, force: bool = False
    ) -> list[PlannedBuild]:
        recipes = self.load()
        return plan(
            select(recipes, names), recipes, host or FakeHost(), self.wheelhouse, force=force
        )

    def publish(self, build: PlannedBuild) -> str:
        """Put a wheel and its success record in the wheelhouse, as execute() does."""
        recipe = build.loaded.recipe
        filename = (
            f"{build.name}-{recipe.version}-{recipe.build_number}-cp313-cp313-linux_riscv64.whl"
        )
        record = fake_record(build, outcome="success", wheel=WheelFile(filename, SHA, 5))
        (self.wheelhouse / (filename + RECORD_SUFFIX)).write_text(record.to_json())
        (self.wheelhouse / filename).write_bytes(b"wheel")
        return filename


def fake_record(
    build: PlannedBuild, started: str = "2026-03-02T10:00:00+00:00", **fields: Any
) -> BuildRecord:
    """The record a fake riscv64 builder leaves for a planned build."""
    recipe = build.loaded.recipe
    return BuildRecord(
        project=recipe.name,
        version=recipe.version,
        build_number=recipe.build_number,
        fingerprint=build.fingerprint,
        inputs=build.inputs,
        builder="fake-riscv64",
        started=started,
        **fields,
    )


def summary(planned: Sequence[PlannedBuild]) -> list[tuple[str, str, str]]:
    return [(build.name, build.action, build.reason) for build in planned]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def test_fake_host_is_a_build_host() -> None:
    host: BuildHost = FakeHost()
    assert host_python(host) == "3.13"


def test_fresh_recipe_is_built(project: Project) -> None:
    project.recipe("demo")
    planned = project.plan("demo")
    assert summary(planned) == [("demo", "build", "not built yet")]
    build = planned[0]
    assert build.target.arch == "riscv64"
    assert build.target.python == "3.13"
    assert build.target.policy == "auto"
    assert build.inputs.toolchain == dict(sorted(TOOLCHAIN.items()))
    assert build.inputs.source == f"sha256:{SHA}"


def test_built_recipe_is_up_to_date(project: Project) -> None:
    project.recipe("demo")
    filename = project.publish(project.plan("demo")[0])
    assert summary(project.plan("demo")) == [("demo", "up-to-date", f"up to date: {filename}")]


def test_force_rebuilds_an_up_to_date_recipe(project: Project) -> None:
    project.recipe("demo")
    project.publish(project.plan("demo")[0])
    assert summary(project.plan("demo", force=True)) == [("demo", "build", "forced (--force)")]


def test_record_without_its_wheel_does_not_count(project: Project) -> None:
    project.recipe("demo")
    filename = project.publish(project.plan("demo")[0])
    (project.wheelhouse / filename).unlink()
    assert summary(project.plan("demo")) == [("demo", "build", "not built yet")]


def test_changed_recipe_with_same_build_number_is_refused(project: Project) -> None:
    path = project.recipe("demo", build_number=3)
    project.publish(project.plan("demo")[0])
    project.recipe("demo", build_number=3, extra="build:\n  env:\n    CFLAGS: -O3\n")

    with pytest.raises(ConfigError) as caught:
        project.plan("demo")

    error = caught.value
    assert error.exit_code == 2
    assert error.message == (
        "demo 1.0 build 3 was already built from different inputs (changed: recipe)"
    )
    assert error.hint == (
        f"raise build_number in {path} to 4 (`factory bump --rebuild demo`), "
        "or pass --force to rebuild and keep the published wheel"
    )


def test_a_toolchain_change_alone_keeps_the_published_wheel_current(project: Project) -> None:
    project.recipe("demo")
    filename = project.publish(project.plan("demo")[0])
    newer = FakeHost({**TOOLCHAIN, "gcc": "15.1.0", "pip": "26.3"})
    assert summary(project.plan("demo", host=newer)) == [
        (
            "demo",
            "up-to-date",
            f"up to date: {filename} (built before a toolchain change: "
            f"gcc {TOOLCHAIN['gcc']} -> 15.1.0, pip none -> 26.3)",
        )
    ]
    assert summary(project.plan("demo", host=newer, force=True)) == [
        ("demo", "build", "forced (--force)")
    ]


def test_a_toolchain_change_with_a_recipe_change_names_only_the_recipe(project: Project) -> None:
    project.recipe("demo")
    project.publish(project.plan("demo")[0])
    project.recipe("demo", extra="build:\n  env:\n    CFLAGS: -O3\n")
    with pytest.raises(ConfigError, match=r"\(changed: recipe\)$"):
        project.plan("demo", host=FakeHost({**TOOLCHAIN, "gcc": "15.1.0"}))


def test_a_rebuilt_dependency_is_a_changed_input_of_its_dependents(project: Project) -> None:
    project.recipe("app", requires=["base"])
    project.recipe("base")
    for build in project.plan("app"):
        project.publish(build)
    assert [b.action for b in project.plan("app")] == ["up-to-date", "up-to-date"]
    project.recipe("base", build_number=1)
    with pytest.raises(
        ConfigError,
        match=r"^app 1.0 build 0 was already built from different "
        r"inputs \(changed: dependencies\)$",
    ):
        project.plan("app")
    project.recipe("app", requires=["base"], build_number=1)
    assert summary(project.plan("app")) == [
        ("base", "build", "not built yet"),
        ("app", "build", "not built yet"),
    ]
    assert project.plan("app")[1].inputs.dependencies == {"base": "1.0 build 1"}


def test_changed_recipe_with_force_is_built(project: Project) -> None:
    project.recipe("demo")
    project.publish(project.plan("demo")[0])
    project.recipe("demo", extra="build:\n  env:\n    CFLAGS: -O3\n")
    assert summary(project.plan("demo", force=True)) == [("demo", "build", "forced (--force)")]


def test_bumped_build_number_is_built(project: Project) -> None:
    project.recipe("demo", build_number=3)
    project.publish(project.plan("demo")[0])
    project.recipe("demo", build_number=4, extra="build:\n  env:\n    CFLAGS: -O3\n")
    assert summary(project.plan("demo")) == [("demo", "build", "not built yet")]


def test_new_version_is_built(project: Project) -> None:
    project.recipe("demo", version="1.0")
    project.publish(project.plan("demo")[0])
    project.recipe("demo", version="1.1")
    assert summary(project.plan("demo")) == [("demo", "build", "not built yet")]


def test_wheel_for_another_python_does_not_count(project: Project) -> None:
    project.recipe("demo")
    project.publish(project.plan("demo", host=FakeHost({**TOOLCHAIN, "python": "3.12.9"}))[0])
    assert summary(project.plan("demo")) == [("demo", "build", "not built yet")]


def test_dependencies_come_first_even_when_not_selected(project: Project) -> None:
    project.recipe("app", requires=["Lib-Mid"])
    project.recipe("lib-mid", requires=["base"])
    project.recipe("base")
    project.recipe("unrelated")
    assert [build.name for build in project.plan("app")] == ["base", "lib-mid", "app"]
    assert all(build.action == "build" for build in project.plan("app"))


def test_shared_dependency_is_planned_once(project: Project) -> None:
    project.recipe("one", requires=["base"])
    project.recipe("two", requires=["base", "one"])
    project.recipe("base")
    assert [build.name for build in project.plan("two", "one")] == ["base", "one", "two"]


def test_selected_dependency_keeps_dependency_order(project: Project) -> None:
    project.recipe("app", requires=["base"])
    project.recipe("base")
    assert [build.name for build in project.plan("app", "base")] == ["base", "app"]


def test_up_to_date_dependency_is_skipped_and_dependent_built(project: Project) -> None:
    project.recipe("app", requires=["base"])
    project.recipe("base")
    filename = project.publish(project.plan("base")[0])
    assert summary(project.plan("app")) == [
        ("base", "up-to-date", f"up to date: {filename}"),
        ("app", "build", "not built yet"),
    ]


def test_dependency_cycle_is_named(project: Project) -> None:
    project.recipe("app", requires=["alpha"])
    project.recipe("alpha", requires=["beta"])
    project.recipe("beta", requires=["alpha"])
    with pytest.raises(ConfigError) as caught:
        project.plan("app")
    assert caught.value.message == "build.requires forms a cycle: alpha -> beta -> alpha"
    assert caught.value.hint == "one of these recipes must build without the other"
    assert caught.value.exit_code == 2


def test_self_dependency_is_a_cycle(project: Project) -> None:
    project.recipe("demo", requires=["demo"])
    with pytest.raises(ConfigError, match=r"^build.requires forms a cycle: demo -> demo$"):
        project.plan("demo")


def test_recipe_for_another_python_is_skipped(project: Project) -> None:
    project.recipe("demo", extra='python: ["3.99"]\n')
    assert summary(project.plan("demo")) == [
        ("demo", "skip", "recipe targets python 3.99; the builder has 3.13")
    ]


def test_retired_recipe_is_never_built_and_its_wheel_stays(project: Project) -> None:
    project.recipe("demo")
    published = project.publish(*project.plan("demo"))
    project.recipe("demo", extra='retired: {since: "1.0", evidence: [demo-1.0-cp313-x.whl]}\n')
    for force in (False, True):
        assert summary(project.plan("demo", force=force)) == [
            (
                "demo",
                "skip",
                "retired: upstream ships riscv64 wheels since 1.0 (install it from PyPI)",
            )
        ]
    assert (project.wheelhouse / published).read_bytes() == b"wheel"


def test_recipe_for_this_python_is_built(project: Project) -> None:
    project.recipe("demo", extra='python: ["3.12", "3.13"]\n')
    assert summary(project.plan("demo")) == [("demo", "build", "not built yet")]


def test_plan_does_not_touch_the_wheelhouse(project: Project) -> None:
    project.recipe("demo")
    project.plan("demo")
    assert list(project.wheelhouse.iterdir()) == []
