"""Executing a plan: every result is data, a failure stops only what depends on it, and
builds of the same inputs in two processes serialise on a lock. No process is started:
the build steps are replaced by a fake that succeeds or fails per package.
"""

from __future__ import annotations

import fcntl
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from factory import build as build_module
from factory.build import PlannedBuild, execute_all
from factory.builders.base import BuildHost
from factory.errors import BuildFailed, LockHeld, SourceError
from factory.locks import exclusive_lock
from factory.progress import Progress
from factory.records import BuildRecord, WheelFile
from factory.workspace import Workspace

from .test_plan import SHA, FakeHost, Project, fake_record


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def workspace(tmp_path: Path, project: Project) -> Workspace:
    return Workspace(
        recipes=project.recipes,
        patches=project.patches,
        wheelhouse=project.wheelhouse,
        logs=tmp_path / "builds",
        cache=tmp_path / "cache",
    )


class FakeSteps:
    """Stands in for build.execute: fails the named packages, 'builds' the others."""

    def __init__(self, failing: dict[str, Exception]) -> None:
        self.failing = failing
        self.built: list[str] = []

    def __call__(
        self, build: PlannedBuild, host: BuildHost, workspace: Workspace, progress: Progress
    ) -> BuildRecord:
        if build.name in self.failing:
            raise self.failing[build.name]
        self.built.append(build.name)
        return fake_record(
            build,
            outcome="success",
            wheel=WheelFile(f"{build.name}-1.0-py3-none-any.whl", SHA, 3),
            log=f"/logs/{build.name}.log",
        )


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSteps]:
    fake = FakeSteps({})
    monkeypatch.setattr(build_module, "execute", fake)
    yield fake


def progress() -> tuple[Progress, io.StringIO]:
    stream = io.StringIO()
    return Progress(stream, live=False), stream


def test_a_failure_skips_its_dependents_and_nothing_else(
    project: Project, workspace: Workspace, steps: FakeSteps
) -> None:
    for name in ("alpha", "omega"):
        project.recipe(name)
    project.recipe("broken")
    project.recipe("app", requires=["broken"])
    project.recipe("top", requires=["app"])
    steps.failing["broken"] = BuildFailed("`python -m build` failed with exit code 1")
    planned = project.plan("alpha", "top", "omega")
    tracker, stream = progress()

    report = execute_all(planned, FakeHost(), workspace, tracker)

    assert [(r.project, r.action, r.reason) for r in report.results] == [
        ("alpha", "built", "not built yet"),
        ("broken", "failed", "`python -m build` failed with exit code 1"),
        ("app", "skipped", "build dependency broken failed"),
        ("top", "skipped", "build dependency app failed"),
        ("omega", "built", "not built yet"),
    ]
    assert steps.built == ["alpha", "omega"]  # omega, after the failure, still built
    error = report.error()
    assert error is steps.failing["broken"] and error.exit_code == 4
    assert "app 1.0: skipped, build dependency broken failed" in stream.getvalue()


def test_several_failures_end_in_one_error_naming_each(
    project: Project, workspace: Workspace, steps: FakeSteps
) -> None:
    for name in ("one", "two", "fine"):
        project.recipe(name)
    steps.failing["one"] = BuildFailed("compile error")
    steps.failing["two"] = SourceError("sha256 mismatch")
    tracker, _ = progress()

    report = execute_all(project.plan("one", "two", "fine"), FakeHost(), workspace, tracker)

    error = report.error()
    assert isinstance(error, BuildFailed) and error.exit_code == 4
    assert error.message == "2 of 3 builds failed: one, two"
    assert error.details == ("one: compile error", "two: sha256 mismatch")
    assert error.hint == (
        f"each failure is reported above; every build's log is under {workspace.logs}"
    )
    assert [r.action for r in report.results] == ["failed", "failed", "built"]


def test_several_failures_of_one_kind_keep_its_exit_code(
    project: Project, workspace: Workspace, steps: FakeSteps
) -> None:
    for name in ("one", "two"):
        project.recipe(name)
    steps.failing["one"] = SourceError("sha256 mismatch")
    steps.failing["two"] = SourceError("patch 0001-fix.patch does not apply")
    tracker, _ = progress()

    error = execute_all(project.plan("one", "two"), FakeHost(), workspace, tracker).error()

    assert isinstance(error, SourceError) and error.exit_code == 3
    assert error.message == "2 of 2 builds failed: one, two"


def test_nothing_failed_is_no_error(
    project: Project, workspace: Workspace, steps: FakeSteps
) -> None:
    project.recipe("demo")
    tracker, _ = progress()
    report = execute_all(project.plan("demo"), FakeHost(), workspace, tracker)
    assert report.error() is None
    assert [(r.action, r.wheel, r.log) for r in report.results] == [
        ("built", "demo-1.0-py3-none-any.whl", "/logs/demo.log")
    ]


def build_lock(workspace: Workspace, build: PlannedBuild) -> Path:
    return workspace.locks / f"build-{build.name}-{build.fingerprint[:16]}.lock"


def test_second_build_of_the_same_inputs_waits_and_finds_the_wheel(
    project: Project, workspace: Workspace, steps: FakeSteps
) -> None:
    project.recipe("demo")
    [planned] = project.plan("demo")
    lock = build_lock(workspace, planned)
    lock.parent.mkdir(parents=True)
    holding = threading.Event()

    def other_process() -> None:
        # Another open file description: flock conflicts with it as with another process.
        with lock.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write("4242\n")
            handle.flush()
            holding.set()
            time.sleep(0.5)
            project.publish(planned)

    other = threading.Thread(target=other_process)
    other.start()
    holding.wait()
    tracker, stream = progress()
    try:
        report = execute_all([planned], FakeHost(), workspace, tracker)
    finally:
        other.join()

    [result] = report.results
    wheel = "demo-1.0-0-cp313-cp313-linux_riscv64.whl"
    assert (result.action, result.reason) == (
        "up-to-date",
        f"up to date: {wheel} (built by the other process)",
    )
    assert steps.built == []
    assert "another factory process (pid 4242) is building the same inputs; waiting" in (
        stream.getvalue()
    )


def test_lock_held_too_long_is_lock_held(tmp_path: Path) -> None:
    lock = tmp_path / "locks" / "x.lock"
    lock.parent.mkdir()
    waits: list[str] = []
    with lock.open("w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        holder.write("77\n")
        holder.flush()
        started = time.monotonic()
        with (
            pytest.raises(LockHeld) as caught,
            exclusive_lock(
                lock, what="the build of demo 1.0", wait_limit=0.3, on_wait=waits.append
            ),
        ):
            pytest.fail("the lock was taken while another holder had it")
    assert 0.3 <= time.monotonic() - started < 5
    assert waits == ["pid 77"]
    assert caught.value.exit_code == 6
    assert caught.value.message == (
        "the build of demo 1.0 is still locked by another factory process (pid 77) "
        "after 0.3 s of waiting"
    )
    assert str(lock) in caught.value.hint


def test_free_lock_is_taken_at_once_and_names_its_holder(tmp_path: Path) -> None:
    lock = tmp_path / "locks" / "x.lock"
    with exclusive_lock(lock, what="x", wait_limit=0) as waited:
        assert waited is False
        assert lock.read_text().strip().isdigit()
    with exclusive_lock(lock, what="x", wait_limit=0) as waited:  # released on exit
        assert waited is False


def test_a_failed_result_names_its_log(
    project: Project, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.recipe("broken")
    project.recipe("fine")

    def fail_after_logging(
        build: PlannedBuild, host: BuildHost, workspace: Workspace, progress: Progress
    ) -> BuildRecord:
        log, _ = build_module.build_files(build, workspace)
        if build.name == "fine":
            raise BuildFailed("no log was written for this one")
        log.parent.mkdir(parents=True)
        log.write_text("error: compile failed\n")
        raise BuildFailed("`python -m build` failed with exit code 1")

    monkeypatch.setattr(build_module, "execute", fail_after_logging)
    planned = project.plan("broken", "fine")
    report = execute_all(planned, FakeHost(), workspace, progress()[0])
    broken, fine = report.results
    log, _ = build_module.build_files(planned[0], workspace)
    assert (broken.action, broken.log) == ("failed", str(log))
    assert log.read_text() == "error: compile failed\n"
    assert (fine.action, fine.log) == ("failed", None)  # no log to point at
