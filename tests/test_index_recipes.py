"""Recipes as an input of the index: the project pages say how each project is built
(source, patches and their upstream status), where its wheels run (the ISA from the
build record, the glibc in words), and where to get retired projects instead. A change
to any of these re-renders what shows it, and nothing else."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from factory.index import IndexOptions, IndexReport, generate_index
from factory.index.stamp import RACY_NS

from .index_helpers import add_wheel

SHA = "0123456789abcdef" * 4
PATCH = """\
Subject: [PATCH] Build the extension without -march=native

Upstream-Status: {status}

--- a/setup.py
+++ b/setup.py
@@ -1 +1 @@
-old
+new
"""
RISCV = "cp313-cp313-manylinux_2_31_riscv64"


class Site:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.wheelhouse = root / "wheelhouse"
        self.recipes = root / "recipes"
        self.patches = root / "patches"
        self.out = root / "index"
        self.recipes.mkdir(parents=True)

    def recipe(self, name: str, text: str) -> None:
        (self.recipes / f"{name}.yaml").write_text(text)

    def patch(self, name: str, filename: str, status: str) -> None:
        path = self.patches / name / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PATCH.format(status=status))

    def index(self) -> IndexReport:
        # Inputs changed this very moment are not trusted by the stamp: wait them out,
        # so each run below sees exactly the change the test made.
        time.sleep(RACY_NS / 1e9)
        return generate_index(
            IndexOptions(self.wheelhouse, self.out, recipes=self.recipes, patches=self.patches)
        )

    def page(self, name: str) -> str:
        return (self.out / "projects" / f"{name}.html").read_text()


def demo_site(tmp_path: Path) -> Site:
    site = Site(tmp_path)
    add_wheel(site.wheelhouse, tmp_path / "scratch", "demo", "1.0", tag=RISCV, isa="rv64gc")
    add_wheel(site.wheelhouse, tmp_path / "scratch", "other", "2.0")
    site.recipe(
        "demo",
        f'name: demo\nversion: "1.0"\nsource:\n  pypi: {{sha256: {SHA}}}\n'
        "patches: [0001-no-native.patch]\n",
    )
    site.patch("demo", "0001-no-native.patch", "Pending")
    return site


def test_a_project_page_says_how_it_is_built_and_where_it_runs(tmp_path: Path) -> None:
    site = demo_site(tmp_path)
    site.index()
    page = site.page("demo")
    assert '<a href="https://pypi.org/project/demo/1.0/">its sdist on PyPI</a>' in page
    assert (
        "<li><code>0001-no-native.patch</code>: Build the extension without -march=native<br>\n"
        '<span class="muted">Upstream-Status: Pending</span></li>'
    ) in page
    # The ISA comes from the build record, through the wheelhouse's catalog.
    assert (
        "Runs on: glibc 2.31+: Debian 11+, Ubuntu 20.04+ · "
        "RISC-V rv64gc (RVA20U64: every riscv64 Linux board)"
    ) in page
    assert "How it is built" not in site.page("other")  # no recipe, nothing to say


def test_a_patch_header_edited_alone_re_renders_its_project_only(tmp_path: Path) -> None:
    site = demo_site(tmp_path)
    site.index()
    assert site.index().written == ()  # nothing new
    site.patch("demo", "0001-no-native.patch", "Submitted <https://example.org/pull/3>")
    report = site.index()
    assert report.rendered == ("demo",)
    assert (
        'Upstream-Status: Submitted &lt;<a href="https://example.org/pull/3">'
        "https://example.org/pull/3</a>&gt;"
    ) in site.page("demo")


def test_retiring_keeps_the_files_served_and_says_where_to_get_new_ones(tmp_path: Path) -> None:
    site = demo_site(tmp_path)
    site.index()
    before = json.loads((site.out / "simple/demo/index.json").read_text())
    evidence = f"demo-1.1-{RISCV}.whl"
    with (site.recipes / "demo.yaml").open("a") as recipe:
        recipe.write(f'retired:\n  since: "1.1"\n  evidence: [{evidence}]\n')
    report = site.index()
    assert report.rendered == ("demo",)
    page = site.page("demo")
    assert "Upstream ships riscv64 wheels since 1.1: install from PyPI" in page
    assert f"<li><code>{evidence}</code></li>" in page
    assert f">demo-1.0-{RISCV}.whl</a>" in page
    # Installers see exactly what they saw: the same files, the same PEP 708 tracks.
    assert json.loads((site.out / "simple/demo/index.json").read_text()) == before
    landing = (site.out / "index.html").read_text()
    assert '<span class="retired">retired: use PyPI</span>' in landing
    assert '<li><a href="projects/demo.html">demo</a> (since 1.1)</li>' in landing


def test_a_retired_recipe_without_wheels_is_listed_on_the_landing_page(tmp_path: Path) -> None:
    site = demo_site(tmp_path)
    site.index()
    site.recipe(
        "blake3",
        f'name: blake3\nversion: "1.0.11"\nsource:\n  pypi: {{sha256: {SHA}}}\n'
        'retired: {since: "1.0.9"}\n',
    )
    report = site.index()
    assert report.rendered == ()  # no project's pages change: the landing page does
    assert report.written == ("index.html",)
    landing = (site.out / "index.html").read_text()
    assert '<li><a href="https://pypi.org/project/blake3/">blake3</a> (since 1.0.9)</li>' in landing
    assert not os.path.exists(site.out / "simple/blake3")  # pip goes to PyPI for it
