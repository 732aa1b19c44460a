"""The index model and renderer: pure, exact fragments, escaping, determinism, filtering."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import replace

import pytest
from packaging.utils import NormalizedName, canonicalize_name

from factory.errors import ConfigError
from factory.index.model import (
    Build,
    IndexedProject,
    PatchFacts,
    ProjectSummary,
    RecipeFacts,
    Retired,
    WheelInput,
    assemble_project,
    summarize,
    upload_time,
)
from factory.index.render import (
    API_VERSION,
    landing_row,
    render,
    render_project,
    simple_project_html,
    simple_project_json,
    simple_root_html,
    simple_root_json,
)
from factory.index.settings import IndexSettings

SHA_A = "a" * 64
SHA_M = "b" * 64
STARTED = "2026-01-02T03:04:05+00:00"
FINAL = IndexSettings()


def wheel(
    filename: str,
    *,
    project: str | None = None,
    requires_python: str | None = ">=3.9",
    started: str = STARTED,
    version: str | None = None,
) -> WheelInput:
    name = project or filename.split("-")[0]
    return WheelInput(
        filename=filename,
        project=name,
        sha256=SHA_A,
        size=1234,
        metadata_sha256=SHA_M,
        requires_python=requires_python,
        version=version,
        build=Build(
            started=started,
            outcome="success",
            version=filename.split("-")[1],
            log=f"logs/{name}/{filename}.log",
        ),
    )


def project(
    *wheels: WheelInput,
    name: str = "demo",
    settings: IndexSettings = FINAL,
    yanks: dict[str, str] | None = None,
    tracks: tuple[str, ...] = (),
    builds: tuple[Build, ...] = (),
) -> IndexedProject:
    return assemble_project(NormalizedName(name), wheels, settings, yanks or {}, tracks, builds)


DEMO = "demo-1.0-py3-none-any.whl"


def test_simple_project_page_links_every_file_with_hash_metadata_and_requires_python() -> None:
    page = simple_project_html(project(wheel(DEMO)), FINAL).decode()
    assert f'<meta name="pypi:repository-version" content="{API_VERSION}">' in page
    assert (
        f'<a href="../../files/{DEMO}#sha256={SHA_A}" data-requires-python="&gt;=3.9" '
        f'data-core-metadata="sha256={SHA_M}" data-dist-info-metadata="sha256={SHA_M}">'
        f"{DEMO}</a><br>"
    ) in page
    assert "data-yanked" not in page
    assert "pypi:tracks" not in page


def test_requires_python_and_yank_reason_are_html_escaped() -> None:
    page = simple_project_html(
        project(
            wheel(DEMO, requires_python='>=3.8,<4,!="x"'),
            yanks={DEMO: 'broken <b>"&</b>'},
        ),
        FINAL,
    ).decode()
    assert 'data-requires-python="&gt;=3.8,&lt;4,!=&quot;x&quot;"' in page
    assert 'data-yanked="broken &lt;b&gt;&quot;&amp;&lt;/b&gt;"' in page
    assert "<b>" not in page


def test_yank_without_reason_and_by_release() -> None:
    files = project(
        wheel("demo-1.0-py3-none-any.whl"),
        wheel("demo-1.1-py3-none-any.whl"),
        wheel("demo-1.1-cp313-cp313-linux_riscv64.whl"),
        yanks={"demo-1.0-py3-none-any.whl": "", "demo==1.1": "bad release"},
    ).files
    assert [f.yanked for f in files] == ["", "bad release", "bad release"]
    page = simple_project_html(project(wheel(DEMO), yanks={DEMO: ""}), FINAL).decode()
    assert 'data-yanked="">' in page


def test_tracks_meta_for_projects_on_pypi() -> None:
    tracked = project(wheel(DEMO), tracks=("https://pypi.org/simple/demo/",))
    page = simple_project_html(tracked, FINAL).decode()
    assert '<meta name="pypi:tracks" content="https://pypi.org/simple/demo/">' in page
    data = json.loads(simple_project_json(tracked, FINAL))
    assert data["meta"] == {"api-version": API_VERSION, "tracks": ["https://pypi.org/simple/demo/"]}


def test_json_project_page_has_pep_691_700_714_fields() -> None:
    data = json.loads(
        simple_project_json(
            project(
                wheel("demo-1.10-py3-none-any.whl"),
                wheel("demo-1.9-py3-none-any.whl", requires_python=None),
                wheel("demo-1.2.post1-py3-none-any.whl"),
                yanks={"demo==1.9": "oops"},
            ),
            FINAL,
        )
    )
    assert data["meta"] == {"api-version": API_VERSION}
    assert data["name"] == "demo"
    assert data["versions"] == ["1.2.post1", "1.9", "1.10"]  # by version, not by text
    first, second, third = data["files"]
    assert first == {
        "filename": "demo-1.10-py3-none-any.whl",
        "url": "../../files/demo-1.10-py3-none-any.whl",
        "hashes": {"sha256": SHA_A},
        "requires-python": ">=3.9",
        "size": 1234,
        "upload-time": "2026-01-02T03:04:05.000000Z",
        "core-metadata": {"sha256": SHA_M},
        "dist-info-metadata": {"sha256": SHA_M},
        "yanked": False,
    }
    assert "requires-python" not in third
    assert third["yanked"] == "oops"
    assert second["filename"] == "demo-1.2.post1-py3-none-any.whl"


def test_json_pages_are_canonical_json() -> None:
    """Formatted by hand for speed, byte for byte what json.dumps(sort_keys=True) writes."""
    item = project(
        wheel("demo-1.0-py3-none-any.whl", requires_python='>=3.8,!="\\x"'),
        wheel("demo-1.1-py3-none-any.whl", requires_python=None),
        wheel("demo-1.2-py3-none-any.whl"),
        yanks={"demo==1.0": 'bad "quote" ünicode', "demo==1.1": ""},
        tracks=("https://pypi.org/simple/demo/",),
    )
    page = simple_project_json(item, FINAL)
    canonical = json.dumps(
        json.loads(page), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert page == (canonical + "\n").encode()


def test_json_root_and_html_root_list_normalized_names() -> None:
    assert json.loads(simple_root_json(["a-b", "c"])) == {
        "meta": {"api-version": API_VERSION},
        "projects": [{"name": "a-b"}, {"name": "c"}],
    }
    assert (
        '<a href="a-b/">a-b</a><br>\n<a href="c/">c</a><br>'
        in simple_root_html(["a-b", "c"]).decode()
    )


def test_base_url_links_wheels_where_they_are_hosted() -> None:
    settings = IndexSettings(base_url="https://example.invalid/releases/download/wheels/")
    local = "demo-1.0+rv1-py3-none-any.whl"
    item = project(
        wheel(DEMO), wheel(local), settings=IndexSettings(settings.base_url, False, True)
    )
    page = simple_project_html(item, settings).decode()
    assert f'href="https://example.invalid/releases/download/wheels/{DEMO}#sha256=' in page
    # "+" in a URL path is a literal plus for pip, but quoted it cannot be misread.
    assert 'href="https://example.invalid/releases/download/wheels/demo-1.0%2Brv1-py3' in page
    # The JSON page and the human page quote that name too, and only that one.
    files = json.loads(simple_project_json(item, settings))["files"]
    assert [f["url"].rpartition("/")[2] for f in files] == [local.replace("+", "%2B"), DEMO]
    human = render_project(item, settings)["projects/demo.html"].decode()
    assert f'href="https://example.invalid/releases/download/wheels/{DEMO}"' in human
    assert 'href="https://example.invalid/releases/download/wheels/demo-1.0%2Brv1-py3' in human


def test_upload_time_is_the_build_start_in_utc() -> None:
    assert upload_time("2026-01-02T05:04:05+02:00") == "2026-01-02T03:04:05.000000Z"
    assert upload_time("2026-01-02T03:04:05") == "2026-01-02T03:04:05.000000Z"
    item = project(wheel(DEMO, started="2025-12-31T23:59:59+00:00"))
    assert item.files[0].upload_time == "2025-12-31T23:59:59.000000Z"


def test_final_releases_only_unless_allowed() -> None:
    names = [
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.post1-py3-none-any.whl",
        "demo-1.1rc1-py3-none-any.whl",
        "demo-1.2.dev3-py3-none-any.whl",
        "demo-1.0+riscv64-py3-none-any.whl",
    ]
    wheels = [wheel(n) for n in names]

    def versions(settings: IndexSettings) -> list[str]:
        return [f.version for f in project(*wheels, settings=settings).files]

    assert versions(FINAL) == ["1.0", "1.0.post1"]
    assert versions(IndexSettings(allow_pre=True)) == ["1.0", "1.0.post1", "1.1rc1", "1.2.dev3"]
    assert versions(IndexSettings(allow_local=True)) == ["1.0+riscv64", "1.0", "1.0.post1"]


def test_rendering_is_deterministic_whatever_the_input_order() -> None:
    wheels = [wheel(f"demo-1.{i}-cp31{i}-cp31{i}-linux_riscv64.whl") for i in range(8)]
    other = [wheel(f"other-2.{i}-py3-none-any.whl") for i in range(3)]
    first = render([project(*wheels), project(*other, name="other")], FINAL)
    shuffled = wheels[:]
    random.Random(4).shuffle(shuffled)
    second = render([project(*other, name="other"), project(*shuffled)], FINAL)
    assert first == second
    assert list(first) == sorted(first)
    assert set(first) == {
        ".nojekyll",
        "index.html",
        "style.css",
        "simple/index.html",
        "simple/index.json",
        "simple/demo/index.html",
        "simple/demo/index.json",
        "simple/other/index.html",
        "simple/other/index.json",
        "projects/demo.html",
        "projects/other.html",
    }


# One project whose two releases are equal versions spelled apart (1.0 and 1.0.0: a
# pure-Python wheel and a compiled one), rendered in a fresh interpreter: its pages
# print as JSON. Seeds 0 and 2 iterate a set of those two texts in opposite orders.
_EQUAL_VERSIONS_SCRIPT = """
import json, sys
from factory.index.model import WheelInput, assemble_project, summarize
from factory.index.render import landing_row, render_project
from factory.index.settings import IndexSettings
files = ["x-1.0-py3-none-any.whl", "x-1.0.0-cp311-cp311-linux_riscv64.whl"]
wheels = [WheelInput(f, "x", "a" * 64, 1, "b" * 64) for f in files]
project = assemble_project("x", wheels, IndexSettings())
pages = {p: d.decode() for p, d in render_project(project, IndexSettings()).items()}
json.dump([pages, landing_row(summarize(project))], sys.stdout)
"""


@pytest.mark.integration
def test_equal_versions_spelled_apart_render_the_same_under_every_hash_seed() -> None:
    renders = []
    for seed in ("0", "2", "5"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", _EQUAL_VERSIONS_SCRIPT],
            env=env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        renders.append(json.loads(result.stdout))
    assert renders[0] == renders[1] == renders[2]
    pages, row = renders[0]
    assert json.loads(pages["simple/x/index.json"])["versions"] == ["1.0", "1.0.0"]
    assert "<td>1.0.0</td>" in row  # the latest: the last of the equal ones


def test_human_pages_link_records_logs_and_escape_everything() -> None:
    failure = Build(
        started="2026-02-01T00:00:00+00:00",
        outcome="failed",
        version="1.1",
        record="logs/demo/1.1-0-abc.json",
        log="logs/demo/1.1-0-abc.log",
        error="compile <error>",
    )
    item = project(
        wheel(DEMO, requires_python="<4"),
        yanks={DEMO: "<why>"},
        builds=(failure,),
    )
    pages = render_project(item, FINAL)
    page = pages["projects/demo.html"].decode()
    # A wheel's record lies beside it in the published wheelhouse.
    assert f'<a href="../files/{DEMO}.build.json">build record</a>' in page
    assert f'<a href="../logs/demo/{DEMO}.log">log</a>' in page
    assert f'<a href="../files/{DEMO}">{DEMO}</a>' in page
    assert "Requires-Python &lt;4" in page and "yanked: &lt;why&gt;" in page
    assert "failed: compile &lt;error&gt;" in page
    assert '<a href="../logs/demo/1.1-0-abc.log">log</a>' in page
    assert '<a href="../logs/demo/1.1-0-abc.json">record</a>' in page
    assert '<link rel="stylesheet" href="../style.css">' in page
    assert "<script" not in page
    summary = summarize(item)
    assert (summary.status, summary.last_build, summary.status_log) == (
        "failed",
        "2026-02-01",
        "logs/demo/1.1-0-abc.log",
    )
    landing = render([item], FINAL)["index.html"].decode()
    assert '<a href="projects/demo.html">demo</a>' in landing
    assert '<a class="failed" href="logs/demo/1.1-0-abc.log">failed</a>' in landing


def test_summary_of_a_healthy_project() -> None:
    item = project(
        wheel("demo-1.0-cp312-cp312-manylinux_2_39_riscv64.whl"),
        wheel("demo-2.0-cp313-cp313-manylinux_2_39_riscv64.whl"),
        wheel("demo-2.0-cp312-cp312-manylinux_2_39_riscv64.whl"),
        wheel("demo-3.0-py3-none-any.whl"),
        yanks={"demo==3.0": "broken"},
        builds=(Build("2020-01-01T00:00:00+00:00", "failed", "0.9"),),  # older: not the status
    )
    summary = summarize(item)
    assert summary.latest_version == "2.0"  # the yanked 3.0 is not the latest
    assert summary.python_tags == ("cp312", "cp313")
    assert summary.platform_tags == ("manylinux_2_39_riscv64",)
    assert (summary.status, summary.last_build, summary.files) == ("ok", "2026-01-02", 4)


# --- bad input ------------------------------------------------------------------------


def test_a_file_name_that_does_not_parse() -> None:
    with pytest.raises(ConfigError, match=r"demo-1\.0\.whl: not a valid wheel file name"):
        project(wheel("demo-1.0.whl"))


def test_a_record_that_disagrees_with_its_file_name() -> None:
    with pytest.raises(ConfigError, match="names project 'other', its file name says 'demo'"):
        project(wheel(DEMO, project="other"))
    with pytest.raises(ConfigError, match=r"record says version 1\.1, its file name says 1\.0"):
        project(wheel(DEMO, version="1.1"))


def test_two_spellings_of_one_project_collide() -> None:
    with pytest.raises(
        ConfigError,
        match=r"project names 'Demo\.Pkg' and 'demo_pkg' collide after normalization "
        r"\(both are 'demo-pkg'\)",
    ):
        project(
            wheel("demo_pkg-1.0-py3-none-any.whl", project="demo_pkg"),
            wheel("Demo.Pkg-1.1-py3-none-any.whl", project="Demo.Pkg"),
            name=canonicalize_name("demo-pkg"),
        )


def test_one_distribution_under_two_file_names() -> None:
    with pytest.raises(ConfigError, match="same distribution under two file names"):
        project(
            wheel("demo_pkg-1.0-py3-none-any.whl", project="demo_pkg"),
            wheel("demo.pkg-1.0-py3-none-any.whl", project="demo_pkg"),
            name="demo-pkg",
        )


def test_the_project_page_says_which_compilers_built_each_wheel() -> None:
    native = "demo-1.0-cp313-cp313-manylinux_2_31_riscv64.whl"
    emulated = "demo-1.0-1-cp313-cp313-manylinux_2_31_riscv64.whl"
    wheels = [wheel(native), wheel(emulated), wheel(DEMO)]
    compilers = ["host-native cross (amd64 companion 0123456789abcdef)", "emulated", ""]
    built = [
        w._replace(build=w.build._replace(compiler=c))  # type: ignore[union-attr]
        for w, c in zip(wheels, compilers, strict=True)
    ]
    page = render_project(project(*built), FINAL)["projects/demo.html"].decode()
    items = {
        name: page[page.index(f">{name}</a>") :].split("</li>")[0]
        for name in (native, emulated, DEMO)
    }
    assert (
        "compiled by host-native riscv64 cross compilers (amd64 companion 0123456789abcdef)"
        in items[native]
    )
    assert "compiled by the emulated riscv64 compilers" in items[emulated]
    assert "compiled by" not in items[DEMO]  # not recorded (built before, or adopted)


def test_a_landing_row_is_escaped_and_one_line() -> None:
    """Rows are kept in the manifest, one tab-separated line per project."""
    odd = ProjectSummary(
        name="demo",
        display_name="De<mo>\tpro\nject",
        latest_version="1.0",
        python_tags=("cp313",),
        platform_tags=("linux_riscv64",),
        files=1,
        status="ok",
        last_build="2026-01-02",
    )
    row = landing_row(odd)
    assert '<a href="projects/demo.html">De&lt;mo&gt; pro ject</a>' in row
    assert "\t" not in row and "\n" not in row and row.endswith("</tr>")


# --- what a reader needs: where a wheel runs, how it is built, retirement -------------


def item_of(page: str, filename: str) -> str:
    return page[page.index(f">{filename}</a>") :].split("</li>")[0]


@pytest.mark.parametrize(
    ("platform", "needs"),
    [
        ("manylinux_2_31_riscv64", "glibc 2.31+: Debian 11+, Ubuntu 20.04+"),
        ("manylinux_2_31_riscv64.manylinux_2_39_riscv64", "glibc 2.31+: Debian 11+, Ubuntu 20.04+"),
        ("manylinux_2_17_x86_64.manylinux2014_x86_64", "glibc 2.17+: Debian 8+, Ubuntu 14.04+"),
        ("manylinux_2_34_riscv64", "glibc 2.34+: Debian 12+, Ubuntu 22.04+"),
        ("manylinux_2_39_riscv64", "glibc 2.39+: Debian 13+, Ubuntu 24.04+"),
        ("manylinux_2_41_riscv64", "glibc 2.41+: Debian 13+, Ubuntu 25.04+"),
        ("manylinux_2_42_riscv64", "glibc 2.42+: Ubuntu 25.10+"),
        ("manylinux_2_45_riscv64", "glibc 2.45+: newer than Debian 13 and Ubuntu 25.10"),
        ("musllinux_1_2_riscv64", "musl libc 1.2+"),
        ("linux_riscv64", "not repaired (linux_*)"),
    ],
)
def test_each_file_says_which_systems_it_runs_on(platform: str, needs: str) -> None:
    filename = f"demo-1.0-cp313-cp313-{platform}.whl"
    page = render_project(project(wheel(filename)), FINAL)["projects/demo.html"].decode()
    assert f'<span class="runs">Runs on: {needs}' in item_of(page, filename)


def test_a_pure_python_wheel_runs_anywhere_and_says_nothing_about_it() -> None:
    page = render_project(project(wheel(DEMO)), FINAL)["projects/demo.html"].decode()
    assert "Runs on" not in page


def test_each_file_says_which_riscv_isa_its_record_needs() -> None:
    baseline = "demo-1.0-cp313-cp313-manylinux_2_31_riscv64.whl"
    vector = "demo-1.0-1-cp313-cp313-manylinux_2_31_riscv64.whl"
    wheels = [
        w._replace(build=w.build._replace(isa=isa))  # type: ignore[union-attr]
        for w, isa in ((wheel(baseline), "rv64gc"), (wheel(vector), "rv64gc_v_zvl128b"))
    ]
    page = render_project(project(*wheels), FINAL)["projects/demo.html"].decode()
    assert (
        "Runs on: glibc 2.31+: Debian 11+, Ubuntu 20.04+ · "
        "RISC-V rv64gc (RVA20U64: every riscv64 Linux board)"
    ) in item_of(page, baseline)
    assert (
        "RISC-V rv64gc_v_zvl128b: more than rv64gc, only boards with these extensions"
        in item_of(page, vector)
    )


def facts(**changes: object) -> RecipeFacts:
    base = RecipeFacts(version="1.0", source="pypi", location="demo", pin=SHA_A)
    return replace(base, **changes)  # type: ignore[arg-type]


def recipe_page(recipe: RecipeFacts, *wheels: WheelInput) -> str:
    item = assemble_project(NormalizedName("demo"), wheels or (wheel(DEMO),), FINAL, recipe=recipe)
    return render_project(item, FINAL)["projects/demo.html"].decode()


def test_the_page_says_which_sdist_a_release_is_built_from() -> None:
    page = recipe_page(facts())
    assert (
        '<p>1.0 is built from <a href="https://pypi.org/project/demo/1.0/">its sdist on PyPI</a>'
        f" (sha256 <code>{SHA_A}</code>).</p>"
    ) in page
    assert "<p>No patches: the source as published.</p>" in page


def test_a_fork_on_github_links_its_commit_and_says_submodules_come_along() -> None:
    commit = "d0f2af8b66b20da4baa50644c0cd3f887a2eae2e"
    page = recipe_page(
        facts(source="git", location="https://github.com/pytorch/pytorch.git", pin=commit,
              submodules=True)
    )  # fmt: skip
    assert (
        'the git repository <a href="https://github.com/pytorch/pytorch.git">'
        "https://github.com/pytorch/pytorch.git</a> at commit "
        f'<a href="https://github.com/pytorch/pytorch/tree/{commit}"><code>{commit}</code></a>, '
        "with its submodules at the commits it pins."
    ) in page


def test_a_local_fork_is_named_without_a_link() -> None:
    page = recipe_page(facts(source="git", location="../forks/netifaces.bundle", pin="ab" * 20))
    assert (
        f"the git repository ../forks/netifaces.bundle at commit <code>{'ab' * 20}</code>" in page
    )


def test_patches_are_listed_with_their_upstream_status_and_links() -> None:
    patches = (
        PatchFacts("0001-fix.patch", "Fix the <riscv64> build", "Submitted",
                   "<https://github.com/example/demo/pull/7>"),
        PatchFacts("0002-pin.patch", "Accept cffi 2", "Pending", ""),
    )  # fmt: skip
    page = recipe_page(facts(patches=patches))
    assert "<p>2 patches, applied in this order:</p>" in page
    assert (
        "<li><code>0001-fix.patch</code>: Fix the &lt;riscv64&gt; build<br>\n"
        '<span class="muted">Upstream-Status: Submitted &lt;<a href="https://github.com/example/'
        'demo/pull/7">https://github.com/example/demo/pull/7</a>&gt;</span></li>'
    ) in page
    assert '<span class="muted">Upstream-Status: Pending</span>' in page
    assert page.index("0001-fix.patch") < page.index("0002-pin.patch")


def test_a_retired_project_points_to_pypi_and_keeps_serving_its_files() -> None:
    evidence = ("demo-1.2-cp313-cp313-manylinux_2_31_riscv64.whl",)
    recipe = facts(retired=Retired("1.2", "PyPI has riscv64 wheels", evidence, "demo"))
    old = "demo-1.0-cp313-cp313-manylinux_2_31_riscv64.whl"
    item = assemble_project(
        NormalizedName("demo"), (wheel(old),), FINAL,
        tracks=("https://pypi.org/simple/demo/",), recipe=recipe,
    )  # fmt: skip
    pages = render_project(item, FINAL)
    page = pages["projects/demo.html"].decode()
    assert (
        "Upstream ships riscv64 wheels since 1.2: install from PyPI (<code>pip install demo</code>"
        ', <a href="https://pypi.org/project/demo/">demo on PyPI</a>). PyPI has riscv64 wheels.'
    ) in page
    assert f"<li><code>{evidence[0]}</code></li>" in page
    assert "Evidence: 1 riscv64 wheel on PyPI" in page
    assert f">{old}</a>" in page  # what was published here stays
    assert "How it is built" not in page  # nothing is
    data = json.loads(pages["simple/demo/index.json"])
    assert [f["filename"] for f in data["files"]] == [old]
    assert data["meta"]["tracks"] == ["https://pypi.org/simple/demo/"]  # PEP 708 unchanged
    assert summarize(item).status == "retired"
    assert '<span class="retired">retired: use PyPI</span>' in landing_row(summarize(item))


def test_the_landing_page_lists_retired_recipes_with_or_without_files_here() -> None:
    item = project(wheel(DEMO))
    landing = render([item], FINAL, retired={"demo": "1.2", "blake3": "1.0.9"})
    page = landing["index.html"].decode()
    assert "<h2>Retired: install these from PyPI</h2>" in page
    assert '<li><a href="https://pypi.org/project/blake3/">blake3</a> (since 1.0.9)</li>' in page
    assert '<li><a href="projects/demo.html">demo</a> (since 1.2)</li>' in page
    assert "Retired" not in render([item], FINAL)["index.html"].decode()
