"""The command line's own contract, run in-process: options, one ERROR line, exit codes."""

from __future__ import annotations

import hashlib
import signal
import sys
from pathlib import Path

import click
import pytest

from factory import cli

COMMANDS = {
    "build": ["build", "--native", "demo"],
    "check": ["check"],
    "list": ["list"],
    "index": ["index"],
    "yank": ["yank", "demo==1.0", "--reason", "broken"],
    "publish": ["publish", "--remote", "remote.git"],
    "unpublish": [
        "unpublish",
        "--remote",
        "remote.git",
        "demo-1.0-py3-none-any.whl",
        "--reason",
        "x",
    ],
}
DIRECTORY_OPTIONS = ["--recipes", "--patches", "--wheelhouse", "--logs"]


def run_main(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> int:
    monkeypatch.setattr(sys, "argv", ["factory", *args])
    # main() installs its SIGTERM handler; the test process keeps its own.
    monkeypatch.setattr(signal, "signal", lambda *_: None)
    try:
        cli.main()
    except SystemExit as exited:
        assert isinstance(exited.code, int)
        return exited.code
    return 0


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTORY_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "recipes").mkdir()
    (tmp_path / "wheelhouse").mkdir()
    (tmp_path / "wheelhouse" / "demo-1.0-py3-none-any.whl").write_bytes(b"zip")
    (tmp_path / "a-file").write_text("not a directory\n")
    return tmp_path


@pytest.mark.parametrize("option", DIRECTORY_OPTIONS)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_directory_option_naming_a_file_is_one_error(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    option: str,
) -> None:
    before = snapshot(project)
    args = COMMANDS[command]
    code = run_main(monkeypatch, [args[0], option, "a-file", *args[1:]])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"ERROR: Invalid value for '{option}': Directory 'a-file' is a file.",
        f"  hint: `factory {command} --help` lists the options",
    ]
    assert snapshot(project) == before


def test_index_out_naming_a_file_is_one_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(project)
    assert run_main(monkeypatch, ["index", "--out", "a-file"]) == 2
    _, err = capsys.readouterr()
    assert err.splitlines()[0] == "ERROR: Invalid value for '--out': Directory 'a-file' is a file."
    assert len(err.splitlines()) == 2
    assert snapshot(project) == before


def test_unknown_option_is_one_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, ["list", "--colour"]) == 2
    _, err = capsys.readouterr()
    assert err.splitlines() == [
        "ERROR: No such option '--colour'.",
        "  hint: `factory list --help` lists the options",
    ]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_that_reads_recipes_or_wheels_takes_the_directory_options(
    command: str,
) -> None:
    assert isinstance(cli.cli, click.Group)
    found = cli.cli.get_command(click.Context(cli.cli), command)
    assert found is not None
    options = {o for p in found.params for o in getattr(p, "opts", [])}
    assert set(DIRECTORY_OPTIONS) <= options


def test_help_lists_every_command_with_its_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, ["--help"]) == 0
    listed = capsys.readouterr().out.split("Commands:")[1].split()
    for name in cli.COMMANDS:  # each is imported to show its summary: none may be missing
        assert name in listed
    assert "Build, repair and test wheels" in " ".join(listed)


def test_yank_uses_the_wheelhouse_option(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = project / "other"
    other.mkdir()
    (other / "demo-1.0-py3-none-any.whl").write_bytes(b"zip")
    code = run_main(monkeypatch, ["yank", "--wheelhouse", "other", "demo==1.0", "--reason", "x"])
    assert code == 0, capsys.readouterr().err
    assert (other / "yanks.json").is_file()
    assert not (project / "wheelhouse" / "yanks.json").exists()


def test_directory_options_become_one_typed_object(tmp_path: Path) -> None:
    dirs = cli.DirectoryOptions(Path("r"), None, Path("w"), Path("l"))
    workspace = dirs.workspace()
    assert workspace.recipes == Path("r").absolute()
    assert workspace.patches == Path("r").absolute().parent / "patches"
    assert workspace.wheelhouse == Path("w").absolute()
    assert workspace.logs == Path("l").absolute()


def test_list_says_which_recipes_are_retired(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "recipes" / "demo.yaml").write_text(
        'name: demo\nversion: "1.0"\nsource:\n  pypi: {sha256: "' + "0" * 64 + '"}\n'
        'retired: {since: "0.9", evidence: [demo-1.0-cp313-cp313-manylinux_2_31_riscv64.whl]}\n'
    )
    assert run_main(monkeypatch, ["list"]) == 0
    assert capsys.readouterr().out.split(maxsplit=5)[5] == (
        "not built (retired: PyPI has riscv64 wheels since 0.9)\n"
    )
