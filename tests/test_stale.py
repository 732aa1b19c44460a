"""`factory stale`: each kind of change makes exactly the expected recipes stale, with the
expected reason, and nothing else. The published state is what `plan` + `execute` would
have left (records written as the build writes them), read back by the state reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory.build import PlannedBuild
from factory.errors import ConfigError
from factory.index import IndexOptions, generate_index
from factory.records import BuildRecord
from factory.stale import StaleReport, find_stale, pinned_tools
from factory.state import builds_listing, local_state, read_state

from .helpers import TINY_PATCH
from .test_plan import SHA, TOOLCHAIN, FakeHost, Project, fake_record

OTHER_SHA = "fedcba9876543210" * 4
TOOLS = {"pip": "26.3"}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def logs(project: Project) -> Path:
    return project.wheelhouse.parent / "builds"


def stale(project: Project, tools: dict[str, str] = TOOLS) -> StaleReport:
    state = local_state(project.wheelhouse, logs(project))
    return find_stale(project.load(), state, "riscv64", "3.13", tools=tools)


def statuses(report: StaleReport) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {v.project: (v.status, v.reasons) for v in report.verdicts}


def publish_all(project: Project, *names: str, host: FakeHost | None = None) -> None:
    for build in project.plan(*names, host=host):
        project.publish(build)


def fail(project: Project, build: PlannedBuild, error: str, started: str) -> None:
    """A failed build's record in the logs directory, as execute() leaves it."""
    recipe = build.loaded.recipe
    record = fake_record(build, started, error=error)
    folder = logs(project) / build.name
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{recipe.version}-{recipe.build_number}-{build.fingerprint[:12]}"
    (folder / f"{stem}.json").write_text(record.to_json())


def with_patch(project: Project, name: str, patch_text: str = TINY_PATCH) -> None:
    path = project.patches / name / "0001-fix.patch"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(patch_text)


def test_never_built(project: Project) -> None:
    project.recipe("demo")
    assert statuses(stale(project)) == {"demo": ("stale", ("never built",))}


def test_built_is_current_and_names_its_wheel(project: Project) -> None:
    project.recipe("demo")
    publish_all(project, "demo")
    [verdict] = stale(project).verdicts
    wheel = "demo-1.0-0-cp313-cp313-linux_riscv64.whl"
    assert (verdict.status, verdict.wheel, verdict.notes) == ("current", wheel, ())
    assert verdict.reasons == (f"built from these inputs: {wheel}",)


def test_a_toolchain_change_only_is_a_note_and_nothing_is_stale(project: Project) -> None:
    project.recipe("demo")
    project.recipe("other")
    publish_all(project, "demo", "other", host=FakeHost({**TOOLCHAIN, "pip": "23.2.1"}))
    report = stale(project, tools={"pip": "26.3"})
    assert [v.status for v in report.verdicts] == ["current", "current"]
    assert report.verdicts[0].notes == (
        "built with an older toolchain (pip 23.2.1 -> 26.3); "
        "`factory bump --rebuild demo` rebuilds it",
    )


def test_a_recipe_change_without_a_new_build_number_needs_a_bump(project: Project) -> None:
    project.recipe("demo")
    project.recipe("other")
    publish_all(project, "demo", "other")
    project.recipe("demo", extra="build:\n  env:\n    CFLAGS: -O3\n")
    assert statuses(stale(project)) == {
        "demo": (
            "needs-bump",
            (
                "recipe changed",
                "1.0 build 0 is published from other inputs: raise build_number "
                "(`factory bump --rebuild demo`)",
            ),
        ),
        "other": (
            "current",
            ("built from these inputs: other-1.0-0-cp313-cp313-linux_riscv64.whl",),
        ),
    }


def test_a_recipe_change_with_a_new_build_number_is_stale(project: Project) -> None:
    project.recipe("demo")
    publish_all(project, "demo")
    project.recipe("demo", build_number=1, extra="build:\n  env:\n    CFLAGS: -O3\n")
    assert statuses(stale(project)) == {
        "demo": ("stale", ("build number raised to 1 (published: 0)", "recipe changed"))
    }


def test_patch_bytes_changed(project: Project) -> None:
    with_patch(project, "demo")
    project.recipe("demo", extra="patches: [0001-fix.patch]\n")
    project.recipe("other")
    publish_all(project, "demo", "other")
    with_patch(project, "demo", "Reworded.\n" + TINY_PATCH)
    report = statuses(stale(project))
    assert report["demo"][0] == "needs-bump"
    assert report["demo"][1][0] == "patches changed 0001-fix.patch"
    assert report["other"][0] == "current"


def test_a_new_version_is_stale_with_every_reason(project: Project) -> None:
    project.recipe("demo")
    project.recipe("other")
    publish_all(project, "demo", "other")
    project.recipe("demo", version="1.1")
    (project.recipes / "demo.yaml").write_text(
        (project.recipes / "demo.yaml").read_text().replace(SHA, OTHER_SHA)
    )
    report = statuses(stale(project))
    assert report["demo"] == ("stale", ("new version 1.1 (published: 1.0)", "source changed"))
    assert report["other"][0] == "current"


def test_a_source_change_alone_needs_a_bump(project: Project) -> None:
    project.recipe("demo")
    publish_all(project, "demo")
    path = project.recipes / "demo.yaml"
    path.write_text(path.read_text().replace(SHA, OTHER_SHA))
    [verdict] = stale(project).verdicts
    assert verdict.status == "needs-bump"
    assert verdict.reasons[0] == f"source changed (sha256:{SHA} -> sha256:{OTHER_SHA})"


def test_a_rebuilt_dependency_makes_its_dependents_need_a_build(project: Project) -> None:
    project.recipe("base")
    project.recipe("app", requires=["base"])
    project.recipe("top", requires=["app"])
    project.recipe("unrelated")
    publish_all(project, "top", "unrelated")
    assert {v.status for v in stale(project).verdicts} == {"current"}
    project.recipe("base", build_number=1)
    report = statuses(stale(project))
    assert report["base"] == ("stale", ("build number raised to 1 (published: 0)",))
    assert report["app"][0] == "needs-bump"
    assert report["app"][1][0] == "build dependency base rebuilt (1.0 build 0 -> 1.0 build 1)"
    # top's own inputs name app 1.0 build 0, still what it is: top waits for app.
    assert report["top"] == ("current", report["top"][1])
    assert report["unrelated"][0] == "current"
    project.recipe("app", requires=["base"], build_number=1)
    report = statuses(stale(project))
    assert report["app"][0] == "stale"
    assert report["top"][0] == "needs-bump"
    assert report["top"][1][0] == "build dependency app rebuilt (1.0 build 0 -> 1.0 build 1)"


def test_a_failed_build_is_not_retried_until_its_inputs_change(project: Project) -> None:
    project.recipe("demo")
    project.recipe("app", requires=["demo"])
    project.recipe("fine")
    publish_all(project, "fine")
    [build] = project.plan("demo")
    fail(project, build, "`python -m build` failed with exit code 1", "2026-03-02T10:00:00+00:00")
    report = statuses(stale(project))
    assert report["demo"] == (
        "failed",
        (
            "the last build of these inputs failed (2026-03-02T10:00:00+00:00): "
            "`python -m build` failed with exit code 1",
        ),
    )
    assert report["app"] == ("blocked", ("build dependency demo is failed",))
    assert report["fine"][0] == "current"
    project.recipe("demo", extra="build:\n  env:\n    CFLAGS: -O1\n")
    report = statuses(stale(project))
    assert report["demo"] == (
        "stale",
        ("the last build failed; its inputs changed since: recipe changed",),
    )
    assert report["app"] == ("stale", ("never built",))


def test_retired_and_other_python_recipes_are_not_built(project: Project) -> None:
    project.recipe(
        "gone",
        extra="retired:\n  since: '2.0'\n"
        "  evidence: [gone-2.0-cp313-cp313-manylinux_2_39_riscv64.whl]\n",
    )
    project.recipe("old", extra='python: ["3.12"]\n')
    assert statuses(stale(project)) == {
        "gone": (
            "retired",
            ("upstream ships riscv64 wheels since 2.0: upstream ships riscv64 wheels",),
        ),
        "old": ("skipped", ("recipe targets python 3.12, not 3.13",)),
    }


def test_a_dependency_cycle_is_an_error_naming_it(project: Project) -> None:
    project.recipe("alpha", requires=["beta"])
    project.recipe("beta", requires=["alpha"])
    with pytest.raises(
        ConfigError, match=r"^build.requires forms a cycle: alpha -> beta -> alpha$"
    ):
        stale(project)


def test_another_target_does_not_count(project: Project) -> None:
    project.recipe("demo")
    publish_all(project, "demo", host=FakeHost({**TOOLCHAIN, "python": "3.12.9"}))
    assert statuses(stale(project)) == {"demo": ("stale", ("never built",))}


def test_the_pinned_tools_are_read_from_the_constraints_file() -> None:
    pins = pinned_tools()
    assert {"pip", "build", "auditwheel", "wheel"} <= pins.keys()
    assert all(version[0].isdigit() for version in pins.values())


# --- the same verdicts from a published index directory -------------------------------


def test_a_published_index_directory_gives_the_same_verdicts(
    project: Project, tmp_path: Path
) -> None:
    from .index_helpers import add_wheel

    project.recipe("demo")
    project.recipe("broken")
    [build] = project.plan("demo")
    # A real wheel with this build's record, so the index can publish it.
    wheel = add_wheel(project.wheelhouse, tmp_path / "scratch", "demo", "1.0", tag="py3-none-any")
    record_path = wheel.with_name(wheel.name + ".build.json")
    record = BuildRecord.from_json(record_path.read_text())
    record.inputs = build.inputs
    record.fingerprint = build.fingerprint
    record_path.write_text(record.to_json())
    [broken] = project.plan("broken")
    fail(project, broken, "compile error", "2026-03-02T10:00:00+00:00")
    (logs(project) / "index.json").write_bytes(builds_listing(logs(project)))
    out = tmp_path / "index"
    generate_index(IndexOptions(project.wheelhouse, out, logs=logs(project)))

    from_index = find_stale(project.load(), read_state(str(out)), tools=TOOLS)
    from_local = stale(project)
    assert statuses(from_index) == statuses(from_local)
    assert statuses(from_index)["demo"][0] == "current"
    assert statuses(from_index)["broken"][0] == "failed"


def test_a_directory_that_is_no_state_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is neither a published index"):
        read_state(str(tmp_path))


def test_records_only_another_python_can_have_made_are_not_read(tmp_path: Path) -> None:
    from .index_helpers import add_wheel

    wheelhouse = tmp_path / "wheelhouse"
    tags = ("cp312-cp312-linux_riscv64", "cp313-cp313-linux_riscv64", "cp39-abi3-linux_riscv64",
            "py3-none-any", "cp313-cp313t-linux_riscv64")  # fmt: skip
    for number, tag in enumerate(tags):
        add_wheel(wheelhouse, tmp_path / f"s{number}", "demo", f"1.{number}", tag=tag)
    out = tmp_path / "index"
    generate_index(IndexOptions(wheelhouse, out))

    def read(python: str | None) -> list[str]:
        return sorted(r.version for r in read_state(str(out), python).records)

    assert read(None) == ["1.0", "1.1", "1.2", "1.3", "1.4"]
    assert read("3.13") == ["1.1", "1.2", "1.3", "1.4"]
    assert read("3.12") == ["1.0", "1.2", "1.3"]


def test_upstream_notes_name_the_command_that_acts_on_them(project: Project) -> None:
    from factory.upstream import Upstream

    project.recipe("demo")
    fork = project.recipes / "forked.yaml"
    fork.write_text(
        'name: forked\nversion: "1.0"\nupstream: forked\nsource:\n  git:\n'
        f"    url: ../fork\n    commit: {'a' * 40}\n"
    )
    wheels = ("forked-1.1-cp313-cp313-manylinux_2_39_riscv64.whl",)
    upstream = {
        "demo": Upstream("demo", "1.1", None, ()),
        "forked": Upstream("forked", "1.2", "1.1", wheels),
    }
    state = local_state(project.wheelhouse, logs(project))
    report = find_stale(project.load(), state, tools=TOOLS, upstream=upstream)
    notes: dict[str, tuple[str, ...]] = {v.project: v.notes for v in report.verdicts}
    assert notes["demo"] == (
        "upstream released 1.1 (recipe: 1.0): `factory bump demo` moves the recipe to it",
    )
    assert notes["forked"] == (
        "upstream released 1.2 (recipe: 1.0): `factory bump forked --commit <the fork's "
        "commit>` moves the recipe to it",
        "upstream ships riscv64 wheels since 1.1: retire it (`factory retire forked --since 1.1`)",
    )
    assert [v.retire_evidence for v in report.verdicts if v.project == "forked"] == [wheels]
