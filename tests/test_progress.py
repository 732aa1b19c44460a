"""Progress output: long silent steps must visibly be alive."""

from __future__ import annotations

import io
import time

import pytest

from factory import progress
from factory.progress import Progress, format_seconds


def test_log_mode_prints_start_heartbeat_with_last_line_and_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "HEARTBEAT_SECONDS", 0.2)
    stream = io.StringIO()
    reporter = Progress(stream, live=False)
    with reporter.step("build"):
        reporter.output_line("gcc -c yaml.c")
        time.sleep(0.5)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "  build ..."
    assert any(
        line.startswith("  build ") and line.endswith("gcc -c yaml.c") for line in lines[1:-1]
    )
    assert lines[-1].startswith("  build done (")


def test_live_mode_redraws_one_line_and_reports_failure() -> None:
    stream = io.StringIO()
    reporter = Progress(stream, live=True)
    with pytest.raises(RuntimeError), reporter.step("test"):
        reporter.output_line("importing yaml")
        time.sleep(1.2)
        raise RuntimeError("boom")
    text = stream.getvalue()
    assert "\r\x1b[K  test 1." in text and "importing yaml" in text
    assert text.rstrip().endswith(")") and "test FAILED (" in text


def test_format_seconds() -> None:
    assert format_seconds(3.25) == "3.2s"
    assert format_seconds(150) == "2m30s"
