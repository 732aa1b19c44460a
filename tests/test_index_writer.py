"""Writing index/: incremental, atomic, never over foreign files; bad input changes nothing."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.utils import NormalizedName

from factory import _fs
from factory.catalog import CATALOG_FILE
from factory.cli import cli
from factory.errors import ConfigError, LockHeld
from factory.index import IndexOptions, IndexReport, IndexSettings, generate_index
from factory.index import writer as writer_module
from factory.index.stamp import RACY_NS
from factory.index.yanks import yank

from .index_helpers import add_wheel, make_wheel

PROJECT_PAGES = ("simple/{}/index.html", "simple/{}/index.json", "projects/{}.html")
ROOT_PAGES = ("index.html", "simple/index.html", "simple/index.json")


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    house = tmp_path / "wheelhouse"
    scratch = tmp_path / "scratch"
    add_wheel(house, scratch, "alpha", "1.0", requires=("beta>=1.0",))
    add_wheel(house, scratch, "alpha", "1.1", requires=("beta>=1.0",), requires_python=">=3.8")
    add_wheel(house, scratch, "beta", "1.0")
    add_wheel(house, scratch, "gamma", "0.1", started="2026-03-01T00:00:00+00:00")
    return house


def index(
    wheelhouse: Path,
    out: Path,
    settings: IndexSettings | None = None,
    *,
    recipes: Path | None = None,
    logs: Path | None = None,
) -> IndexReport:
    return generate_index(
        IndexOptions(
            wheelhouse=wheelhouse,
            out=out,
            settings=settings or IndexSettings(),
            recipes=recipes,
            logs=logs,
        )
    )


def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file's sha256 and inode (a rewrite, even with the same bytes, changes the inode)."""
    return {
        str(path.relative_to(directory)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_ino,
        )
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != ".factory-lock"
    }


def assert_index_resolves(out: Path, removed: tuple[str, ...] = ()) -> None:
    """Every project listed has its pages, every link on them points to an existing file
    (except to wheels of ``removed`` projects: removed from the wheelhouse by hand, they
    are gone from files/ at once and from the pages at the next run)."""
    root = (out / "simple/index.html").read_text()
    projects = re.findall(r'<a href="([^"]+)/">', root)
    assert projects
    for name in projects:
        page = (out / "simple" / name / "index.html").read_text()
        for href in re.findall(r'href="([^"#]+)#sha256=([0-9a-f]+)"', page):
            if name in removed:
                continue
            target = (out / "simple" / name / href[0]).resolve()
            assert hashlib.sha256(target.read_bytes()).hexdigest() == href[1], target
            assert Path(f"{target}.metadata").is_file()
        json.loads((out / "simple" / name / "index.json").read_text())


def test_full_index_layout(wheelhouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    report = index(wheelhouse, out)
    assert (report.projects, report.files) == (3, 4)
    assert report.rendered == ("alpha", "beta", "gamma")
    files = {p for p in snapshot(out) if not p.startswith(".factory")}
    assert files == {
        ".nojekyll",
        "index.html",
        "style.css",
        "simple/index.html",
        "simple/index.json",
        *(page.format(name) for name in ("alpha", "beta", "gamma") for page in PROJECT_PAGES),
    }
    # The wheelhouse is published as it is, through one relative link: wheels, their
    # metadata and build records are never copied or linked one by one.
    assert os.readlink(out / "files") == "../wheelhouse"
    page = (out / "projects/alpha.html").read_text()
    assert 'href="../files/alpha-1.1-py3-none-any.whl.build.json">build record</a>' in page
    record = json.loads((out / "files/alpha-1.1-py3-none-any.whl.build.json").read_text())
    assert record["wheel"]["requires_python"] == ">=3.8"
    assert_index_resolves(out)
    assert not (out / ".factory-journal.json").exists()
    assert not list(out.rglob(".factory-tmp.*"))


@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["022", "077"])
def test_pages_are_readable_by_the_web_server_whatever_the_umask(
    wheelhouse: Path, tmp_path: Path, umask: int
) -> None:
    out = tmp_path / "index"
    old = os.umask(umask)
    try:
        generate_index(IndexOptions(wheelhouse=wheelhouse, out=out))
        add_wheel(wheelhouse, tmp_path / "more", "alpha", "2.0")  # pages replaced, not new
        generate_index(IndexOptions(wheelhouse=wheelhouse, out=out))
    finally:
        os.umask(old)
    pages = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".factory")]
    assert pages and {oct(p.stat().st_mode & 0o777) for p in pages} == {"0o644"}


def test_second_run_writes_nothing(wheelhouse: Path, tmp_path: Path) -> None:
    # Past the stamp's racy window, the first run keeps a stamp the second can trust
    # (else the second would write the manifest once, to keep it; no page either way).
    time.sleep(RACY_NS / 1e9 + 0.05)
    out = tmp_path / "index"
    index(wheelhouse, out)
    before = snapshot(out)
    report = index(wheelhouse, out)
    assert (report.rendered, report.written, report.deleted) == ((), (), ())
    assert snapshot(out) == before


def test_output_is_byte_identical_for_the_same_input(wheelhouse: Path, tmp_path: Path) -> None:
    time.sleep(RACY_NS / 1e9 + 0.05)  # both manifests then hold the same trusted stamp
    index(wheelhouse, tmp_path / "one")
    index(wheelhouse, tmp_path / "two")
    one = {path: sha for path, (sha, _) in snapshot(tmp_path / "one").items()}
    two = {path: sha for path, (sha, _) in snapshot(tmp_path / "two").items()}
    assert one == two


def test_a_new_wheel_rewrites_only_its_project_and_the_root(
    wheelhouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    before = snapshot(out)
    add_wheel(wheelhouse, tmp_path / "scratch", "beta", "1.1", started="2026-04-01T00:00:00Z")
    report = index(wheelhouse, out)
    assert report.rendered == ("beta",)
    assert set(report.written) == {
        "simple/beta/index.html",
        "simple/beta/index.json",
        "projects/beta.html",
        "index.html",  # the landing page shows beta's new latest version
    }
    assert report.deleted == ()
    after = snapshot(out)
    site = {p for p in before if not p.startswith(".factory")}
    unchanged = {p for p in site if after[p] == before[p]}
    assert site - unchanged == set(report.written)
    assert "beta-1.1" in (out / "simple/beta/index.html").read_text()
    assert_index_resolves(out)


def test_a_removed_project_is_deleted_with_its_files(wheelhouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    for path in wheelhouse.glob("gamma-*"):
        path.unlink()
    report = index(wheelhouse, out)
    assert set(report.deleted) == {page.format("gamma") for page in PROJECT_PAGES}
    assert not (out / "simple/gamma").exists()
    assert "gamma" not in (out / "simple/index.html").read_text()
    assert_index_resolves(out)


def test_yank_by_command_and_by_recipe(wheelhouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    key, covered = yank(wheelhouse, "Alpha==1.0", "broken on riscv64")
    assert (key, covered) == ("alpha==1.0", ["alpha-1.0-py3-none-any.whl"])
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "beta.yaml").write_text(
        'name: beta\nversion: "1.0"\nsource:\n  pypi: {sha256: "' + "0" * 64 + '"}\n'
        'yanked:\n  "1.0": "use 1.1"\n'
    )
    report = index(wheelhouse, out, recipes=recipes)
    assert report.rendered == ("alpha", "beta")
    alpha = (out / "simple/alpha/index.html").read_text()
    assert 'data-yanked="broken on riscv64">alpha-1.0-py3-none-any.whl' in alpha
    assert "alpha-1.1-py3-none-any.whl</a>" in alpha and alpha.count("data-yanked") == 1
    beta = json.loads((out / "simple/beta/index.json").read_text())
    assert beta["files"][0]["yanked"] == "use 1.1"
    # A PyPI source means the project exists on PyPI: PEP 708 tracks it.
    assert beta["meta"]["tracks"] == ["https://pypi.org/simple/beta/"]


def test_yank_refuses_a_target_that_matches_no_wheel(wheelhouse: Path) -> None:
    with pytest.raises(ConfigError, match=r"no wheel in .* matches 'alpha==9'"):
        yank(wheelhouse, "alpha==9", "why")
    with pytest.raises(ConfigError, match="names neither a wheel file nor a release"):
        yank(wheelhouse, "alpha", "why")


def test_yank_and_index_commands(wheelhouse: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["yank", "--wheelhouse", str(wheelhouse), "beta==1.0", "--reason", "bad"]
    )
    assert result.exit_code == 0, result.output
    assert "yanked beta==1.0 (1 wheel): bad" in result.output
    out = tmp_path / "index"
    args = ["index", "--wheelhouse", str(wheelhouse), "--out", str(out)]
    args += ["--recipes", str(tmp_path / "none"), "--logs", str(tmp_path / "none")]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "3 projects, 4 wheels; 3 projects re-rendered" in result.output
    assert 'data-yanked="bad"' in (out / "simple/beta/index.html").read_text()
    result = runner.invoke(cli, ["yank", "--wheelhouse", str(wheelhouse), "--undo", "beta==1.0"])
    assert result.exit_code == 0 and "no longer yanked: beta==1.0" in result.output
    result = runner.invoke(cli, [*args, "--json"])
    assert json.loads(result.output)["rendered"] == ["beta"]
    assert "data-yanked" not in (out / "simple/beta/index.html").read_text()


def test_base_url_publishes_no_wheels(wheelhouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    report = index(wheelhouse, out, IndexSettings(base_url="https://example.invalid/dl"))
    assert "files" in report.deleted and not os.path.lexists(out / "files")
    page = (out / "simple/beta/index.html").read_text()
    assert 'href="https://example.invalid/dl/beta-1.0-py3-none-any.whl#sha256=' in page
    human = (out / "projects/beta.html").read_text()
    assert 'href="https://example.invalid/dl/beta-1.0-py3-none-any.whl.build.json"' in human
    # Switching back publishes them: every page is re-rendered for the new setting.
    report = index(wheelhouse, out)
    assert len(report.rendered) == 3 and (out / "files/beta-1.0-py3-none-any.whl").is_file()
    assert_index_resolves(out)


def test_pre_releases_need_the_option(wheelhouse: Path, tmp_path: Path) -> None:
    add_wheel(wheelhouse, tmp_path / "scratch", "beta", "2.0rc1")
    add_wheel(wheelhouse, tmp_path / "scratch", "delta", "0.1.dev1")
    out = tmp_path / "index"
    report = index(wheelhouse, out)
    assert report.projects == 3 and "delta" not in (out / "simple/index.html").read_text()
    assert "2.0rc1" not in (out / "simple/beta/index.html").read_text()
    report = index(wheelhouse, out, IndexSettings(allow_pre=True))
    assert report.projects == 4
    assert "beta-2.0rc1" in (out / "simple/beta/index.html").read_text()


def test_a_wheel_without_a_catalog_line_is_an_error_until_adopted(
    wheelhouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    before, wheelhouse_before = snapshot(out), snapshot(wheelhouse)
    wheel = make_wheel(wheelhouse, "epsilon", "1.0", requires_python=">=3.10")
    with pytest.raises(ConfigError) as error:
        index(wheelhouse, out)
    assert error.value.message.startswith(f"{wheel}: a wheel without a line in")
    assert f"factory adopt {wheel}" in error.value.hint
    assert snapshot(out) == before  # nothing in index/ changed
    assert snapshot(wheelhouse).keys() == {*wheelhouse_before, wheel.name}
    result = CliRunner().invoke(cli, ["adopt", "--wheelhouse", str(wheelhouse), str(wheel)])
    assert result.exit_code == 0, result.output
    assert f"catalogued: {wheel.name}" in result.output
    index(wheelhouse, out)
    [entry] = json.loads((out / "simple/epsilon/index.json").read_text())["files"]
    assert entry["hashes"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entry["requires-python"] == ">=3.10" and "upload-time" not in entry
    metadata = (out / "files" / f"{wheel.name}.metadata").read_bytes()
    assert entry["core-metadata"]["sha256"] == hashlib.sha256(metadata).hexdigest()
    assert "build record" not in (out / "projects/epsilon.html").read_text()


def test_the_index_never_writes_into_the_wheelhouse(wheelhouse: Path, tmp_path: Path) -> None:
    (wheelhouse / "beta-1.0-py3-none-any.whl.metadata").unlink()
    before = snapshot(wheelhouse)
    index(wheelhouse, tmp_path / "index")
    assert snapshot(wheelhouse) == before


def log_failed_build(wheelhouse: Path, logs: Path, started: str) -> str:
    """A failed build of beta 1.1 (gcc died), its record in ``logs/beta/``; returns the
    name of the log of beta 1.0's successful build, whose record it was made from."""
    record = json.loads((wheelhouse / "beta-1.0-py3-none-any.whl.build.json").read_text())
    failed = {**record, "outcome": "failed", "error": "gcc died", "wheel": None}
    failed.update(started=started, version="1.1")
    (logs / "beta").mkdir(parents=True, exist_ok=True)
    (logs / "beta" / "1.1-0-abc.json").write_text(json.dumps(failed))
    return Path(record["log"]).name


def test_build_logs_and_failed_builds(wheelhouse: Path, tmp_path: Path) -> None:
    logs = tmp_path / "builds"
    log_name = log_failed_build(wheelhouse, logs, started="2026-05-01T00:00:00+00:00")
    (logs / "beta" / log_name).write_text("built fine\n")
    (logs / "beta" / "1.1-0-abc.log").write_text("error: gcc died\n")
    out = tmp_path / "index"
    index(wheelhouse, out, logs=logs)
    # The logs directory is published through one link, like the wheelhouse.
    assert os.readlink(out / "logs") == "../builds"
    page = (out / "projects/beta.html").read_text()
    log_link = f'href="../logs/beta/{log_name}">log</a>'
    assert log_link in page
    assert (out / "projects" / log_link[6:].split('"')[0]).read_text() == "built fine\n"
    assert "failed: gcc died" in page and 'href="../logs/beta/1.1-0-abc.log"' in page
    assert 'href="../logs/beta/1.1-0-abc.json">record</a>' in page
    landing = (out / "index.html").read_text()
    assert '<a class="failed" href="logs/beta/1.1-0-abc.log">failed</a>' in landing
    assert (out / "logs/beta/1.1-0-abc.log").read_text() == "error: gcc died\n"
    # A newer success clears the status.
    add_wheel(wheelhouse, tmp_path / "scratch", "beta", "1.1", started="2026-06-01T00:00:00Z")
    index(wheelhouse, out, logs=logs)
    assert "failed" not in (out / "projects/beta.html").read_text()


def test_a_failed_build_is_shown_by_the_next_run_though_no_wheel_changed(
    wheelhouse: Path, tmp_path: Path
) -> None:
    """A project whose only news is a failed build's record in the logs directory is
    re-rendered (a run skips working out the other inputs of projects that have none)."""
    logs = tmp_path / "builds"
    logs.mkdir()
    out = tmp_path / "index"
    index(wheelhouse, out, logs=logs)
    assert "failed" not in (out / "projects/beta.html").read_text()
    log_failed_build(wheelhouse, logs, started="2099-01-01T00:00:00+00:00")
    time.sleep(RACY_NS / 1e9 + 0.05)
    report = index(wheelhouse, out, logs=logs)
    assert report.rendered == ("beta",)
    assert "failed: gcc died" in (out / "projects/beta.html").read_text()
    assert '<span class="failed">failed</span>' in (out / "index.html").read_text()


# --- refusals and bad input: the previous index stays as it was -------------------------


def test_refuses_to_overwrite_files_it_did_not_write(wheelhouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    (out / "simple/beta").mkdir(parents=True)
    (out / "simple/beta/index.html").write_text("mine")
    (out / "README.md").write_text("also mine")
    with pytest.raises(ConfigError) as error:
        index(wheelhouse, out)
    assert error.value.message == (
        f"refusing to write the index: {out}/simple/beta/index.html already exists and was "
        "not written by the factory; nothing was changed"
    )
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == [
        ".factory-lock",
        "README.md",
        "index.html",
    ]
    (out / "simple/beta/index.html").unlink()
    index(wheelhouse, out)
    for path in wheelhouse.glob("beta-*"):
        path.unlink()
    index(wheelhouse, out)
    assert (out / "README.md").read_text() == "also mine"  # never deleted


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("uncatalogued", r"theta-1\.0-py3-none-any\.whl: a wheel without a line in"),
        ("collision", r"project names 'Beta' and 'beta' collide after normalization"),
        ("not-utf8", r"catalog\.tsv:10: not UTF-8"),
    ],
)
def test_bad_input_is_one_clear_error_and_the_index_is_intact(
    wheelhouse: Path, tmp_path: Path, case: str, message: str
) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    before = snapshot(out)
    scratch = tmp_path / "bad"
    if case == "uncatalogued":
        (wheelhouse / "theta-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    elif case == "collision":
        add_wheel(wheelhouse, scratch, "beta", "1.5", project="Beta")
    elif case == "not-utf8":
        with open(wheelhouse / CATALOG_FILE, "ab") as catalog:
            catalog.write(b"beta-9.0-py3-none-any.whl\t\xff\n")
    wheelhouse_before = sorted(wheelhouse.iterdir())
    with pytest.raises(ConfigError, match=message):
        index(wheelhouse, out)
    assert snapshot(out) == before
    assert sorted(wheelhouse.iterdir()) == wheelhouse_before
    assert_index_resolves(out)


@pytest.mark.parametrize("where", ["projects", "simple"])
def test_a_file_where_a_page_directory_goes_is_one_error(
    wheelhouse: Path, tmp_path: Path, where: str
) -> None:
    out = tmp_path / "index"
    out.mkdir()
    (out / where).write_text("mine")
    with pytest.raises(ConfigError) as error:
        index(wheelhouse, out)
    assert error.value.message == (
        f"{out / where} is a file where the index needs a directory; nothing was changed"
    )
    assert sorted(p.name for p in out.iterdir()) == [".factory-lock", where]
    assert (out / where).read_text() == "mine"


def test_a_wheel_replaced_by_hand_is_republished_with_its_new_hash(
    wheelhouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    name = "beta-1.0-py3-none-any.whl"
    for suffix in ("", ".metadata", ".build.json"):
        (wheelhouse / f"{name}{suffix}").unlink()
    add_wheel(wheelhouse, tmp_path / "other", "beta", "1.0", requires_python=">=3.12")
    assert index(wheelhouse, out).rendered == ("beta",)  # same names, new catalog line
    assert_index_resolves(out)  # the page's hash is the new file's


def test_a_crash_at_any_point_leaves_a_usable_index(
    wheelhouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    add_wheel(wheelhouse, tmp_path / "scratch", "beta", "1.1")
    add_wheel(wheelhouse, tmp_path / "scratch", "delta", "3.0")
    for path in wheelhouse.glob("gamma-*"):
        path.unlink()
    # Past the stamp's racy window: both manifests then hold the same trusted stamp
    # (one taken too soon after a change is kept as "", see stamp.py).
    time.sleep(RACY_NS / 1e9 + 0.05)
    expected = tmp_path / "expected"
    index(wheelhouse, expected)

    real_write, real_link = writer_module._write_file, writer_module._make_link
    real_atomically = _fs.write_atomically
    crashed_at = 0
    for limit in range(0, 40):
        calls = 0

        def counting(limit: int = limit) -> None:
            nonlocal calls
            calls += 1
            if calls > limit:
                raise KeyboardInterrupt  # a kill between two writes

        def write(path: str, data: bytes, fsync: bool, chmod: bool) -> None:
            counting()
            real_write(path, data, fsync, chmod)

        def link(target: str, path: str) -> None:
            counting()
            real_link(target, path)

        def atomically(path: Path, data: bytes) -> None:
            counting()
            real_atomically(path, data)

        monkeypatch.setattr(writer_module, "_write_file", write)
        monkeypatch.setattr(writer_module, "_make_link", link)
        monkeypatch.setattr(writer_module, "write_atomically", atomically)
        # A kill, not an error: nothing gets to clean up after it.
        monkeypatch.setattr(writer_module, "abort", lambda *args: None)
        try:
            index(wheelhouse, out)
        except KeyboardInterrupt:
            assert_index_resolves(out, removed=("gamma",))  # whatever was interrupted, pip works
            continue
        crashed_at = limit
        break
    assert crashed_at > 10  # the run was interrupted at every step before it finished
    monkeypatch.undo()
    index(wheelhouse, out)
    final = {p: sha for p, (sha, _) in snapshot(out).items()}
    assert final == {p: sha for p, (sha, _) in snapshot(expected).items()}
    assert not list(out.rglob(".factory-tmp.*"))


def test_wheel_zip_helper_makes_installable_wheels(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "alpha", "1.0", requires=("beta",))
    with zipfile.ZipFile(wheel) as zipped:
        assert zipped.testzip() is None
        assert "alpha-1.0.dist-info/RECORD" in zipped.namelist()
    assert os.path.getsize(wheel) > 0


def test_recipe_yanks_are_validated_and_do_not_change_the_fingerprint(tmp_path: Path) -> None:
    from factory.recipe import load_recipes
    from factory.records import Target, fingerprint, fingerprint_inputs

    recipes = tmp_path / "recipes"
    recipes.mkdir()
    base = 'name: demo\nversion: "1.0"\nsource:\n  pypi: {sha256: "' + "0" * 64 + '"}\n'
    (recipes / "demo.yaml").write_text(base)
    target = Target("riscv64", "3.13", "auto")
    before = fingerprint(
        fingerprint_inputs(
            load_recipes(recipes, tmp_path)[NormalizedName("demo")], "src", target, {}
        )
    )
    (recipes / "demo.yaml").write_text(base + 'yanked: {"1.0": "broken"}\n')
    after = fingerprint(
        fingerprint_inputs(
            load_recipes(recipes, tmp_path)[NormalizedName("demo")], "src", target, {}
        )
    )
    assert before == after  # yanking never triggers a rebuild
    for yanked, problem in (
        ('"one": "x"', "demo.yaml:5: yanked: 'one' is neither a PEP 440 version nor a wheel"),
        ('"other-1.0-py3-none-any.whl": "y"', "'other-1.0-py3-none-any.whl' is not a wheel of"),
    ):
        (recipes / "demo.yaml").write_text(base + f"yanked:\n  {yanked}\n")
        with pytest.raises(ConfigError) as error:
            load_recipes(recipes, tmp_path)
        assert problem in "\n".join(error.value.details)


def test_a_killed_first_run_is_finished_by_the_next(
    wheelhouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first run writes pages in place; killed halfway, the next run completes it."""
    # Past the stamp's racy window, both runs keep the same stamp in their manifests.
    time.sleep(RACY_NS / 1e9)
    expected = tmp_path / "expected"
    time.sleep(RACY_NS / 1e9 + 0.05)  # both manifests then hold the same trusted stamp
    index(wheelhouse, expected)
    out = tmp_path / "index"
    real_write = writer_module._write_file
    calls = 0

    def write(path: str, data: bytes, fsync: bool, chmod: bool) -> None:
        nonlocal calls
        calls += 1
        if calls > 4:
            raise KeyboardInterrupt
        real_write(path, data, fsync, chmod)

    monkeypatch.setattr(writer_module, "_write_file", write)
    monkeypatch.setattr(writer_module, "abort", lambda *args: None)  # a kill cleans nothing
    with pytest.raises(KeyboardInterrupt):
        index(wheelhouse, out)
    assert (out / ".factory-journal.json").exists() and not (out / "simple/index.html").exists()
    monkeypatch.undo()
    index(wheelhouse, out)
    assert {p: sha for p, (sha, _) in snapshot(out).items()} == {
        p: sha for p, (sha, _) in snapshot(expected).items()
    }


def test_links_follow_the_wheelhouse_when_it_moves(wheelhouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "site" / "index"
    index(wheelhouse, out)
    assert os.readlink(out / "files") == "../../wheelhouse"
    moved = wheelhouse.rename(tmp_path / "moved")
    report = index(moved, out)
    assert report.written == ("files",) and report.rendered == ()
    assert os.readlink(out / "files") == "../../moved"
    assert_index_resolves(out)


def test_requires_python_is_published_as_the_wheel_writes_it(tmp_path: Path) -> None:
    house = tmp_path / "wheelhouse"
    add_wheel(house, tmp_path / "scratch", "alpha", "1.0", requires_python=">=3.9, <4")
    out = tmp_path / "index"
    index(house, out)
    assert 'data-requires-python="&gt;=3.9, &lt;4"' in (out / "simple/alpha/index.html").read_text()
    [entry] = json.loads((out / "simple/alpha/index.json").read_text())["files"]
    assert entry["requires-python"] == ">=3.9, <4"  # packaging would say "<4,>=3.9"


def test_a_run_while_another_holds_the_lock_is_lock_contention_and_changes_nothing(
    wheelhouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "index"
    index(wheelhouse, out)
    before = snapshot(out)
    holder = os.open(out / ".factory-lock", os.O_RDWR)  # another writer, as flock sees it
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        add_wheel(wheelhouse, tmp_path / "scratch", "beta", "2.0")
        with pytest.raises(LockHeld, match="another `factory index` is writing") as error:
            index(wheelhouse, out)
        assert error.value.exit_code == 6  # not "bad input": waiting is the remedy
        assert snapshot(out) == before
    finally:
        os.close(holder)
    index(wheelhouse, out)  # the holder is gone: the next run goes ahead
    assert "beta-2.0" in (out / "simple/beta/index.html").read_text()
