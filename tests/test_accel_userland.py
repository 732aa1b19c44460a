"""Host-native compilers in the emulated userland, for real: equivalence with the
emulated compilers, the mismatch that refuses, and --no-accelerate.

The companion is created through the factory (about a minute, then cached under
~/.cache/riscv64-wheel-factory/companion like the userland).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from factory.builders import companion as cp
from factory.builders.userland import Userland
from factory.workspace import default_cache_dir

from .helpers import TINY_PATCH, Project, committed_package, make_tiny_fork, tiny_recipe

pytestmark = [
    pytest.mark.userland,
    pytest.mark.skipif(os.geteuid() != 0, reason="the riscv64 userland needs root (chroot)"),
    pytest.mark.skipif(platform.machine() not in cp.HOST_ARCHES, reason="no companion here"),
]

C_SOURCE = """\
#include <Python.h>
#include <stddef.h>
#include <math.h>
static PyObject *hypot2(PyObject *self, PyObject *args) {
    double x, y;
    if (!PyArg_ParseTuple(args, "dd", &x, &y)) return NULL;
    return PyFloat_FromDouble(sqrt(x * x + y * y) + (double)offsetof(PyObject, ob_refcnt));
}
static PyMethodDef methods[] = {{"hypot2", hypot2, METH_VARARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_c", NULL, -1, methods};
PyMODINIT_FUNC PyInit__c(void) { return PyModule_Create(&module); }
"""
CXX_SOURCE = """\
#include <Python.h>
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>
static PyObject *sorted_words(PyObject *self, PyObject *arg) {
    try {
        const char *text = PyUnicode_AsUTF8(arg);
        if (!text) throw std::invalid_argument("not a str");
        std::vector<std::string> words;
        std::string word;
        for (const char *p = text;; ++p) {
            if (*p == ' ' || *p == 0) { if (!word.empty()) words.push_back(word); word.clear(); }
            else word += *p;
            if (*p == 0) break;
        }
        std::sort(words.begin(), words.end());
        std::string joined;
        for (auto &w : words) joined += (joined.empty() ? "" : " ") + w;
        return PyUnicode_FromString(joined.c_str());
    } catch (std::exception &e) {
        PyErr_SetString(PyExc_TypeError, e.what());
        return nullptr;
    }
}
static PyMethodDef methods[] = {
    {"sorted_words", sorted_words, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cxx", NULL, -1, methods};
PyMODINIT_FUNC PyInit__cxx(void) { return PyModule_Create(&module); }
"""
SETUP = """\
from setuptools import Extension, setup
setup(
    name="twoext", version="1.0", packages=["twoext"],
    ext_modules=[
        Extension("twoext._c", ["twoext/_c.c"], libraries=["m"]),
        Extension("twoext._cxx", ["twoext/_cxx.cc"], language="c++"),
    ],
)
"""
CHECK = (
    "import platform, twoext._c as c, twoext._cxx as x; "
    "assert platform.machine() == 'riscv64'; "
    "assert c.hypot2(3.0, 4.0) == 5.0; "
    "assert x.sorted_words('pear apple fig') == 'apple fig pear'; "
    "print('ok')"
)


@pytest.fixture(scope="module")
def accelerated(userland: Userland, tmp_path_factory: pytest.TempPathFactory) -> Userland:
    lines: list[str] = []
    log = tmp_path_factory.mktemp("companion-log") / "companion.log"
    acceleration = cp.accelerate(userland, default_cache_dir(), log, lines.append)
    assert acceleration is not None, lines
    assert len(lines) == 2 and lines[0].startswith("riscv64 compilers: host-native"), lines
    assert lines[1].startswith(
        "riscv64 build and test environments: installed by the host-native uv"
    )
    return userland.with_acceleration(acceleration)


def _project(directory: Path) -> Path:
    (directory / "twoext").mkdir(parents=True)
    (directory / "twoext/__init__.py").write_text("")
    (directory / "twoext/_c.c").write_text(C_SOURCE)
    (directory / "twoext/_cxx.cc").write_text(CXX_SOURCE)
    (directory / "setup.py").write_text(SETUP)
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    return directory


def _build(host: Userland, work: Path) -> tuple[dict[str, str], str]:
    """Build the project's wheel with ``host``; sha256 of each extension module, and
    the output of the same riscv64 test run against the wheel's contents.

    Always in the same directory: debug information names the source directory.
    """
    shutil.rmtree(work, ignore_errors=True)
    tree = _project(work / "src")
    dist = work / "dist"
    dist.mkdir()
    log = work / "build.log"
    argv = [host.python, "-m", "build", "--wheel", "--outdir", str(dist), str(tree)]
    host.run(argv, log=log, cwd=tree, env={}, timeout=1800, binds=[work])
    [wheel] = dist.glob("*.whl")
    unpacked = work / "unpacked"
    with zipfile.ZipFile(wheel) as zipped:
        zipped.extractall(unpacked)
        modules = {
            Path(name).name.split(".")[0]: hashlib.sha256(zipped.read(name)).hexdigest()
            for name in zipped.namelist()
            if name.endswith(".so")
        }
    result = host.run(
        ["python3", "-c", CHECK], log=log, cwd=work, env={"PYTHONPATH": str(unpacked)},
        timeout=600, binds=[work], capture=True,
    )  # fmt: skip
    return modules, result.output.strip().splitlines()[-1]


def test_accelerated_and_emulated_extension_modules_are_byte_identical(
    userland: Userland, accelerated: Userland, tmp_path: Path
) -> None:
    emulated_modules, emulated_test = _build(userland, tmp_path / "work")
    native_modules, native_test = _build(accelerated, tmp_path / "work")
    assert sorted(emulated_modules) == ["_c", "_cxx"]  # a C and a C++ extension module
    assert native_modules == emulated_modules  # sha256 of each, before any repair
    assert emulated_test == native_test == "ok"  # both pass the same test inside riscv64
    log = (tmp_path / "work" / "build.log").read_text()
    assert f"{cp.INSIDE}/{cp.LINKS_C}" in log  # it really went through the companion


def test_every_compiler_name_resolves_to_the_companion(
    accelerated: Userland, tmp_path: Path
) -> None:
    names = ["cc", "gcc", "c++", "g++", "cpp", "riscv64-linux-gnu-gcc", "riscv64-linux-gnu-g++"]
    names += ["ar", "as", "ld", "nm", "ranlib", "strip", "objcopy", "readelf"]
    script = "; ".join(f'printf "%s %s\\n" {n} "$(command -v {n})"' for n in names)
    result = accelerated.run(
        ["sh", "-c", script], log=tmp_path / "log", cwd=tmp_path, env={}, timeout=300,
        binds=[tmp_path], capture=True,
    )  # fmt: skip
    found = dict(line.split(" ", 1) for line in result.output.strip().splitlines())
    assert found == {n: f"{cp.INSIDE}/{cp.LINKS_C}/{n}" for n in names}
    # A configure-style check: compile, then run the riscv64 program (through binfmt).
    (tmp_path / "conftest.c").write_text('#include <stdio.h>\nint main(void){puts("hi");}\n')
    run = accelerated.run(
        ["sh", "-c", "cc -o conftest conftest.c && ./conftest && uname -m"],
        log=tmp_path / "log", cwd=tmp_path, env={}, timeout=300, binds=[tmp_path], capture=True,
    )  # fmt: skip
    assert run.output.split() == ["hi", "riscv64"]


# scikit-build-core drives CMake (and ninja), both riscv64 wheels from PyPI run emulated;
# only the compiler they find on PATH is host-native.
CMAKE_LISTS = """\
cmake_minimum_required(VERSION 3.15)
project(cmext LANGUAGES C)
find_package(Python COMPONENTS Interpreter Development.Module REQUIRED)
Python_add_library(_cm MODULE cmext/_cm.c WITH_SOABI)
target_link_libraries(_cm PRIVATE m)
install(TARGETS _cm DESTINATION cmext)
"""
CMAKE_PYPROJECT = """\
[build-system]
requires = ["scikit-build-core>=0.10"]
build-backend = "scikit_build_core.build"

[project]
name = "cmext"
version = "1.0"

[tool.scikit-build]
build-dir = "build"
build.verbose = true
wheel.packages = ["cmext"]
"""


def test_a_cmake_project_is_compiled_by_the_companion(
    accelerated: Userland, tmp_path: Path
) -> None:
    tree = tmp_path / "src"
    (tree / "cmext").mkdir(parents=True)
    (tree / "cmext/__init__.py").write_text("")
    (tree / "cmext/_cm.c").write_text(
        C_SOURCE.replace('"_c"', '"_cm"').replace("PyInit__c(", "PyInit__cm(")
    )
    (tree / "CMakeLists.txt").write_text(CMAKE_LISTS)
    (tree / "pyproject.toml").write_text(CMAKE_PYPROJECT)
    dist, log = tmp_path / "dist", tmp_path / "build.log"
    argv = [accelerated.python, "-m", "build", "--wheel", "--outdir", str(dist), str(tree)]
    accelerated.run(argv, log=log, cwd=tree, env={}, timeout=1800, binds=[tmp_path])
    # CMake took the companion's compiler (the one sysconfig names, found on PATH),
    # and ninja ran it on the module's source.
    text, links = log.read_text(), f"{cp.INSIDE}/{cp.LINKS_C}/"
    assert f"Check for working C compiler: {links}riscv64-linux-gnu-gcc" in text, text[-3000:]
    assert f"] {links}riscv64-linux-gnu-gcc " in text and "cmext/_cm.c" in text
    [wheel] = dist.glob("cmext-1.0-*.whl")
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wheel) as zipped:
        zipped.extractall(unpacked)
    check = (
        "import platform, cmext._cm as m; assert platform.machine() == 'riscv64'; "
        "assert m.hypot2(3.0, 4.0) == 5.0; print('ok')"
    )
    result = accelerated.run(
        ["python3", "-c", check], log=log, cwd=tmp_path, env={"PYTHONPATH": str(unpacked)},
        timeout=600, binds=[tmp_path], capture=True,
    )  # fmt: skip
    assert result.output.strip().splitlines()[-1] == "ok"


# --- through the command line -----------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path / "project", default_cache_dir())
    fork = tmp_path / "fork"
    commit = make_tiny_fork(fork)
    project.recipe("tinyyaml", tiny_recipe(fork, commit))
    project.patch("tinyyaml", "0001-flavour.patch", TINY_PATCH)
    return project


def _record(project: Project) -> dict[str, object]:
    [record] = project.wheelhouse.glob("tinyyaml-*.whl.build.json")
    data: dict[str, object] = json.loads(record.read_text())
    return data


def test_an_accelerated_build_installs_its_environments_with_the_host_uv(
    project: Project,
) -> None:
    result = project.factory("build", "tinyyaml", timeout=1800)
    assert result.returncode == 0, result.stderr
    [log] = (project.root / "builds" / "tinyyaml").glob("*.log")
    text = log.read_text()
    # The build environment's requirements resolved by it (the environment itself was
    # made by it now, or by an earlier build with the same resolution), the test venv too.
    assert f"{cp.HOST_TOOLS}/uv pip compile" in text, text[-3000:]
    assert "build environment: " in result.stderr
    assert f"{cp.HOST_TOOLS}/uv venv --seed" in text and " -m venv " not in text
    inputs = _record(project)["inputs"]
    assert isinstance(inputs, dict)
    assert inputs["toolchain"]["installer"].startswith("uv ")
    assert inputs["toolchain"]["installer"].endswith(" (host-native)")
    # Built again: the same environment, with the bytecode the first build left in it.
    again = project.factory("build", "--force", "tinyyaml", timeout=1800)
    assert again.returncode == 0, again.stderr
    [kept] = re.findall(r"build environment: kept, with its bytecode \((.+)\)", again.stderr)
    site = next(Path(kept).glob("lib/python3*/site-packages"))
    assert list(site.glob("setuptools/__pycache__/*.cpython-3*.pyc")), sorted(site.iterdir())


def test_a_backend_that_asks_for_more_than_its_static_requirements_builds_isolated(
    tmp_path: Path,
) -> None:
    project = Project(tmp_path / "project", default_cache_dir())
    backend = (
        "from setuptools import build_meta as _meta\n"
        "from setuptools.build_meta import *  # noqa: F403\n\n\n"
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    return [*_meta.get_requires_for_build_wheel(config_settings), 'six']\n\n\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        "    import six  # only an environment that installed what was asked for has it\n\n"
        "    return _meta.build_wheel(wheel_directory, config_settings, metadata_directory)\n"
    )
    commit = committed_package(
        tmp_path / "dynamic",
        {
            "dynamic_pkg/__init__.py": "",
            "_backend/backend.py": backend,
            "setup.py": "from setuptools import setup\n"
            "setup(name='dynamic-pkg', version='1.0', packages=['dynamic_pkg'])\n",
            "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "backend"\nbackend-path = ["_backend"]\n',
        },
    )
    project.recipe(
        "dynamic-pkg",
        f"""\
        name: dynamic-pkg
        version: "1.0"
        source:
          git: {{url: {tmp_path / "dynamic"}, commit: {commit}}}
        test:
          imports: [dynamic_pkg]
        """,
    )
    result = project.factory("build", "dynamic-pkg", timeout=1800)
    assert result.returncode == 0, result.stderr
    assert "asks for more than its static requirements; building isolated" in result.stderr
    assert list(project.wheelhouse.glob("dynamic_pkg-1.0-py3-none-any.whl"))


def test_no_accelerate_builds_emulated_and_the_record_says_so(project: Project) -> None:
    result = project.factory("build", "--no-accelerate", "tinyyaml", timeout=1800)
    assert result.returncode == 0, result.stderr
    assert "riscv64 compilers: emulated (--no-accelerate)" in result.stderr
    [log] = (project.root / "builds" / "tinyyaml").glob("*.log")
    assert str(cp.INSIDE) not in log.read_text()
    assert str(cp.HOST_TOOLS) not in log.read_text()  # pip installed, emulated, as before
    inputs = _record(project)["inputs"]
    assert isinstance(inputs, dict) and inputs["toolchain"]["compiler"] == "emulated"
    assert inputs["toolchain"]["installer"] == "pip"
    # The same inputs built with the companion: up to date, no new build number asked for.
    again = project.factory("build", "tinyyaml", timeout=600)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stderr


def test_a_version_mismatch_refuses_to_accelerate_in_one_line(
    project: Project, userland: Userland, accelerated: Userland
) -> None:
    # The userland's probed versions, as the factory cached them, now claim another gcc.
    probes = sorted((default_cache_dir() / "companion" / "probes").glob(f"{userland.key}-*.json"))
    assert probes
    saved = {path: path.read_text() for path in probes}
    try:
        for path in probes:
            versions = json.loads(saved[path])
            versions["gcc"] = versions["gcc"].replace("14.2.0-", "14.2.0-999~")
            path.write_text(json.dumps(versions))
        result = project.factory("build", "tinyyaml", timeout=1800)
    finally:
        for path, text in saved.items():
            path.write_text(text)
    assert result.returncode == 0, result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith("riscv64 compilers:")]
    assert line.startswith("riscv64 compilers: emulated, not host-native: gcc is ")
    assert "14.2.0-999~" in line and "in the companion" in line
    inputs = _record(project)["inputs"]
    assert isinstance(inputs, dict) and inputs["toolchain"]["compiler"] == "emulated"
