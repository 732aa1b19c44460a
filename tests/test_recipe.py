"""Recipe loading: the closed schema, every problem at its file:line, all at once.

Pure unit tests: recipes and patches are written to tmp_path; nothing is run.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from packaging.utils import NormalizedName

from factory.errors import ConfigError
from factory.recipe import (
    DEFAULT_TIMEOUT_SECONDS,
    ArchiveSource,
    GitSource,
    LoadedRecipe,
    PypiSource,
    check_recipe_name,
    load_recipes,
    select,
)

SHA = "0123456789abcdef" * 4
COMMIT = "0123456789abcdef0123456789abcdef01234567"
GOOD_PATCH = """\
Fix the build on riscv64.

Upstream-Status: Submitted <https://github.com/example/demo/pull/1>
diff --git a/setup.py b/setup.py
--- a/setup.py
+++ b/setup.py
@@ -1 +1 @@
-old
+new
"""


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    recipes, patches = tmp_path / "recipes", tmp_path / "patches"
    recipes.mkdir()
    patches.mkdir()
    return recipes, patches


def write(recipes: Path, name: str, text: str) -> Path:
    path = recipes / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def write_patch(patches: Path, project: str, name: str, text: str = GOOD_PATCH) -> Path:
    path = patches / project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def simple(name: str) -> str:
    """A minimal valid recipe for ``name``."""
    return f'name: {name}\nversion: "1"\nsource: {{pypi: {{sha256: {SHA}}}}}\n'


def problems(recipes: Path, patches: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_recipes(recipes, patches)
    return list(caught.value.details)


def only_problem(dirs: tuple[Path, Path], text: str, name: str = "demo") -> tuple[str, Path]:
    recipes, patches = dirs
    path = write(recipes, name, text)
    found = problems(recipes, patches)
    assert len(found) == 1, found
    return found[0], path


# --- a valid recipe --------------------------------------------------------------


def test_full_recipe_loads_with_typed_fields(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    write(
        recipes,
        "pyyaml",
        f"""\
        # every section
        name: PyYAML
        version: "6.0.3"
        build_number: 2
        upstream: PyYAML
        source:
          git:
            url: https://example.org/pyyaml.git
            commit: {COMMIT}
        patches:
          - 0001-fix.patch
          - 0002-more.patch
        build:
          env:
            PYYAML_FORCE_LIBYAML: "1"
          config_settings:
            --build-option: [--with-libyaml, --verbose]
            editable_mode: compat
          subdirectory: src/python
          system_requirements: [libyaml-dev, g++]
          requires: [Cython]
          timeout: 600
        python: ["3.12", "3.13"]
        repair:
          policy: manylinux_2_39_riscv64
          exclude: [libfoo.so.1]
        test:
          imports: [yaml]
          commands:
            - python -c "import yaml"
        """,
    )
    write(
        recipes,
        "cython",
        f"""\
        name: Cython
        version: "3.1.0"
        source:
          pypi:
            sha256: {SHA}
        """,
    )
    first = write_patch(patches, "pyyaml", "0001-fix.patch")
    second = write_patch(patches, "pyyaml", "0002-more.patch")

    loaded = load_recipes(recipes, patches)

    assert sorted(loaded) == ["cython", "pyyaml"]
    item = loaded[NormalizedName("pyyaml")]
    assert isinstance(item, LoadedRecipe)
    assert item.name == "pyyaml"
    assert item.path == recipes / "pyyaml.yaml"
    assert item.patch_files == (first, second)
    recipe = item.recipe
    assert recipe.name == "PyYAML"
    assert recipe.project == "pyyaml"
    assert recipe.upstream_project == "pyyaml"
    assert recipe.version == "6.0.3"
    assert recipe.build_number == 2
    assert recipe.source.kind == "git"
    assert isinstance(recipe.source, GitSource)
    assert recipe.source.commit == COMMIT
    assert recipe.source.url == "https://example.org/pyyaml.git"
    assert recipe.patches == ["0001-fix.patch", "0002-more.patch"]
    assert recipe.build.env == {"PYYAML_FORCE_LIBYAML": "1"}
    assert recipe.build.config_settings == {
        "--build-option": ["--with-libyaml", "--verbose"],
        "editable_mode": "compat",
    }
    assert recipe.build.subdirectory == "src/python"
    assert recipe.build.system_requirements == ["libyaml-dev", "g++"]
    assert recipe.build.requires == ["Cython"]
    assert recipe.build.timeout == 600
    assert recipe.python == ["3.12", "3.13"]
    assert recipe.repair.policy == "manylinux_2_39_riscv64"
    assert recipe.repair.exclude == ["libfoo.so.1"]
    assert recipe.test.imports == ["yaml"]
    assert recipe.test.commands == ['python -c "import yaml"']

    cython = loaded[NormalizedName("cython")].recipe
    assert cython.source.kind == "pypi"
    assert isinstance(cython.source, PypiSource)
    assert cython.source.sha256 == SHA and cython.source.name is None
    assert cython.build_number == 0
    assert cython.build.timeout == DEFAULT_TIMEOUT_SECONDS
    assert cython.repair.policy == "auto"
    assert cython.patches == [] and cython.python == []
    assert loaded[NormalizedName("cython")].patch_files == ()


def test_archive_source_kind(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    write(
        recipes,
        "demo",
        f"""\
        name: demo
        version: "1.0"
        source:
          archive:
            url: https://example.org/demo-1.0.tar.gz
            sha256: {SHA}
        """,
    )
    recipe = load_recipes(recipes, patches)[NormalizedName("demo")].recipe
    assert recipe.source.kind == "archive"
    assert isinstance(recipe.source, ArchiveSource)
    assert recipe.source.sha256 == SHA
    assert recipe.source.url == "https://example.org/demo-1.0.tar.gz"


def test_missing_recipes_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_recipes(tmp_path / "nowhere", tmp_path / "patches")
    assert caught.value.message == f"recipes directory {tmp_path / 'nowhere'} does not exist"
    assert caught.value.exit_code == 2


# --- one problem each, at its line -----------------------------------------------


def test_malformed_yaml_reports_the_line(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        """\
        name: demo
        version: "1.0": oops
        source: {}
        """,
    )
    assert problem == f"{path}:2: malformed YAML: mapping values are not allowed here"


def test_malformed_yaml_unclosed_bracket_says_where_it_began(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        """\
        name: demo
        version: "1.0"
        python: ["3.13"
        source: {}
        """,
    )
    # The parser only notices on the next line; the message points back at the '['.
    assert problem == (
        f"{path}:4: malformed YAML: expected ',' or ']', but got '<scalar>' "
        "(while parsing a flow sequence at line 3)"
    )


def test_tab_indentation_is_malformed(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(dirs, "name: demo\n\tversion: '1.0'\n")
    assert problem == (
        f"{path}:2: malformed YAML: found character '\\t' that cannot start any token"
    )


def test_not_a_mapping(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(dirs, "- name: demo\n")
    assert problem == f"{path}:1: a recipe must be a YAML mapping of keys to values"


def test_empty_file(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(dirs, "")
    assert problem == f"{path}:1: a recipe must be a YAML mapping of keys to values"


def test_duplicate_key_is_an_error(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
        version: "2.0"
        """,
    )
    assert problem == f"{path}:6: duplicate key 'version' (first given at line 2)"


def test_unknown_top_level_key(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
        bulid:
          env: {{}}
        """,
    )
    assert problem == f"{path}:6: unknown key 'bulid'"


def test_unknown_nested_key_at_the_key_line(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          git:
            url: https://example.org/demo.git
            branch: main
            commit: {COMMIT}
        """,
    )
    assert problem == f"{path}:6: unknown key 'source.git.branch'"


def test_version_as_float(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: 1.0
        source:
          pypi:
            sha256: {SHA}
        """,
    )
    assert problem == f"{path}:2: version: expected a string, got float 1.0"


def test_build_number_as_string(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        build_number: "2"
        source:
          pypi:
            sha256: {SHA}
        """,
    )
    assert problem == f"{path}:3: build_number: expected an integer, got str '2'"


def test_invalid_pep440_version(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "latest"
        source:
          pypi:
            sha256: {SHA}
        """,
    )
    assert problem == f"{path}:2: version: 'latest' is not a PEP 440 version"


def test_empty_section(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
        build:
        """,
    )
    assert problem == f"{path}:6: build: expected a mapping, got an empty value"


@pytest.mark.parametrize("commit", ["0123abc", "main"])
def test_git_commit_must_be_full_hash(dirs: tuple[Path, Path], commit: str) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          git:
            url: https://example.org/demo.git
            commit: {commit}
        """,
    )
    assert problem == (
        f"{path}:6: source.git.commit: must be a full 40-character hex commit hash, "
        f"got '{commit}' (branches and tags move; pin the commit)"
    )


def test_archive_without_sha256(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        """\
        name: demo
        version: "1.0"
        source:
          archive:
            url: https://example.org/demo-1.0.tar.gz
        """,
    )
    # Reported at the section that lacks it.
    assert problem == f"{path}:4: missing required key 'source.archive.sha256'"


def test_sha256_of_wrong_length(dirs: tuple[Path, Path]) -> None:
    short = SHA[:-1]
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {short}
        """,
    )
    assert problem == (
        f"{path}:5: source.pypi.sha256: must be 64 lowercase hex characters, "
        f"got '{short}' (63 characters)"
    )


def test_two_source_kinds(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
          git:
            url: https://example.org/demo.git
            commit: {COMMIT}
        """,
    )
    assert problem == (
        f"{path}:3: source: needs exactly one of 'pypi', 'git', 'archive'; found pypi and git"
    )


def test_no_source_kind(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        """\
        name: demo
        version: "1.0"
        source: {}
        """,
    )
    assert problem == f"{path}:3: source: needs exactly one of 'pypi', 'git', 'archive'; found none"


def test_no_source_at_all(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(dirs, 'name: demo\nversion: "1.0"\n')
    assert problem == f"{path}:1: missing required key 'source'"


def test_invalid_project_name(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        version: "1.0"
        name: "-demo-"
        source:
          pypi:
            sha256: {SHA}
        """,
    )
    assert problem == f"{path}:2: name: '-demo-' is not a valid Python project name"


def test_name_must_match_file_name(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        # the demo project
        name: other
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
        """,
    )
    assert problem == (
        f"{path}:2: name 'other' does not match the file name; call the file other.yaml"
    )


def test_name_matches_file_name_after_normalization(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    write(recipes, "ruamel-yaml", simple("ruamel.YAML"))
    assert list(load_recipes(recipes, patches)) == ["ruamel-yaml"]


@pytest.mark.parametrize("patch", ["../x.patch", "sub/x.patch"])
def test_patch_path_must_stay_in_patches_dir(dirs: tuple[Path, Path], patch: str) -> None:
    write_patch(dirs[1], "demo", "ok.patch")
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
        patches:
          - ok.patch
          - {patch}
        """,
    )
    assert problem == (
        f"{path}:8: patches[1]: patch '{patch}' must be a file name inside patches/<name>/ "
        "(no paths)"
    )


def test_missing_patch_file(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
        patches: [missing.patch]
        """,
    )
    assert problem == f"{path}:6: patch missing.patch not found in {dirs[1] / 'demo'}"


def test_patch_without_upstream_status(dirs: tuple[Path, Path]) -> None:
    write_patch(
        dirs[1], "demo", "0001-x.patch", "Fix it.\n\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n"
    )
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
        patches:
          - 0001-x.patch
        """,
    )
    assert problem == (
        f"{path}:7: patch 0001-x.patch: header has no 'Upstream-Status:' line; add one, e.g. "
        "'Upstream-Status: Submitted <link>' or 'Upstream-Status: Inappropriate [reason]'"
    )


def test_build_requires_unknown_recipe(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
        build:
          requires:
            - nothere
        """,
    )
    assert problem == f"{path}:8: build.requires names 'nothere', which has no recipe"


@pytest.mark.parametrize("subdirectory", ["../outside", "src/../../outside", "/abs"])
def test_subdirectory_must_stay_inside(dirs: tuple[Path, Path], subdirectory: str) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
        build:
          subdirectory: {subdirectory}
        """,
    )
    assert problem == (
        f"{path}:7: build.subdirectory: must be a relative path inside the source, "
        f"got '{subdirectory}'"
    )


def test_bad_python_version_at_its_entry(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source:
          pypi:
            sha256: {SHA}
        python:
          - "3.13"
          - "3"
        """,
    )
    assert problem == f"{path}:8: python[1]: python versions look like '3.13', got '3'"


def test_duplicate_project_in_two_files(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    text = simple("demo")
    first = write(recipes, "demo", text)
    second = recipes / "demo.yml"
    second.write_text(text, encoding="utf-8")
    assert problems(recipes, patches) == [f"{second}:1: project 'demo' is also defined in {first}"]


# --- all problems at once --------------------------------------------------------


def test_all_problems_of_two_files_in_one_error(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    alpha = write(
        recipes,
        "alpha",
        f"""\
        name: alpha
        version: 1.0
        source:
          pypi:
            sha256: {SHA}
        colour: blue
        """,
    )
    beta = write(
        recipes,
        "beta",
        """\
        name: beta
        version: "2.0"
        build_number: "1"
        source:
          git:
            url: https://example.org/beta.git
            commit: main
        patches:
          - ../escape.patch
        """,
    )
    write(recipes, "gamma", simple("gamma"))

    with pytest.raises(ConfigError) as caught:
        load_recipes(recipes, patches)

    error = caught.value
    assert error.exit_code == 2
    assert error.message == "5 problems in 2 recipes"
    assert error.hint == (
        "fix the recipes listed above; `factory check` validates them without building"
    )
    assert list(error.details) == [
        f"{alpha}:2: version: expected a string, got float 1.0",
        f"{alpha}:6: unknown key 'colour'",
        f"{beta}:3: build_number: expected an integer, got str '1'",
        f"{beta}:7: source.git.commit: must be a full 40-character hex commit hash, got 'main' "
        "(branches and tags move; pin the commit)",
        f"{beta}:9: patches[0]: patch '../escape.patch' must be a file name inside "
        "patches/<name>/ (no paths)",
    ]


def test_one_problem_summary_is_singular(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    write(recipes, "demo", 'name: demo\nversion: "1.0"\n')
    with pytest.raises(ConfigError) as caught:
        load_recipes(recipes, patches)
    assert caught.value.message == "1 problem in 1 recipe"


# --- names from the command line -------------------------------------------------


@pytest.mark.parametrize("name", ["../etc", "a/b", "a\\b", ""])
def test_check_recipe_name_rejects_paths(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_recipe_name(name)
    assert caught.value.message == (
        f"{name!r} is not a recipe name (it must not contain a path separator or '..')"
    )
    assert caught.value.exit_code == 2


def test_check_recipe_name_accepts_a_name() -> None:
    check_recipe_name("PyYAML")


def test_select_normalizes_and_keeps_order(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    for name in ("alpha", "beta"):
        write(recipes, name, simple(name))
    loaded = load_recipes(recipes, patches)
    chosen = select(loaded, ["Beta", "ALPHA"])
    assert [item.name for item in chosen] == ["beta", "alpha"]


def test_select_unknown_recipe(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    for name in ("beta", "alpha"):
        write(recipes, name, simple(name))
    loaded = load_recipes(recipes, patches)
    with pytest.raises(ConfigError) as caught:
        select(loaded, ["alpha", "gamma"])
    assert caught.value.message == "no recipe named 'gamma'"
    assert caught.value.hint == ("known recipes: alpha, beta; add recipes/<name>.yaml to make one")


def test_select_with_no_recipes() -> None:
    with pytest.raises(ConfigError) as caught:
        select({}, ["demo"])
    assert caught.value.hint == "known recipes: (none); add recipes/<name>.yaml to make one"


def test_select_rejects_path_names() -> None:
    with pytest.raises(ConfigError, match="is not a recipe name"):
        select({}, ["../etc/passwd"])


# --- YAML that costs more than it says ----------------------------------------------

BILLION_LAUGHS = """\
name: demo
version: "1.0"
source:
  pypi:
    sha256: {sha}
test:
  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
"""


def test_alias_bomb_is_refused_at_the_first_alias(dirs: tuple[Path, Path]) -> None:
    # Each level multiplies the nodes by ten: without a refusal, nine levels take
    # minutes and gigabytes to expand. Recipes never need aliases.
    problem, path = only_problem(dirs, BILLION_LAUGHS.format(sha=SHA))
    assert problem == (
        f"{path}:8: YAML aliases (*a) are not allowed in recipes; write the value out"
    )


def test_recursive_alias_is_refused(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs, f'name: demo\nversion: "1.0"\nsource: {{pypi: {{sha256: {SHA}}}}}\nx: &x [*x]\n'
    )
    assert problem == (
        f"{path}:4: YAML aliases (*x) are not allowed in recipes; write the value out"
    )


def test_merge_key_alias_is_refused(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source: {{pypi: {{sha256: {SHA}}}}}
        base: &base {{CFLAGS: -O2}}
        build:
          env:
            <<: *base
        """,
    )
    assert problem == (
        f"{path}:7: YAML aliases (*base) are not allowed in recipes; write the value out"
    )


def test_deep_nesting_is_refused_not_a_recursion_error(dirs: tuple[Path, Path]) -> None:
    depth = 5000
    problem, path = only_problem(dirs, "name: demo\nx: " + "[" * depth + "]" * depth + "\n")
    assert problem == f"{path}:2: YAML nested deeper than 64 levels; recipes are flat"


def test_not_utf8_names_the_line(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    path = recipes / "demo.yaml"
    path.write_bytes(simple("demo").encode() + b"# caf\xe9\n")
    assert problems(recipes, patches) == [
        f"{path}:4: not UTF-8 (byte 0xe9 at column 6); save the recipe as UTF-8"
    ]


def test_control_character_names_the_line(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    path = recipes / "demo.yaml"
    path.write_text(simple("demo") + "# a\x00b\n", encoding="utf-8")
    assert problems(recipes, patches) == [
        f"{path}:4: character '\\x00' (column 4) is not allowed in YAML; remove it"
    ]


def test_hidden_files_are_not_recipes(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    write(recipes, "demo", simple("demo"))
    # An editor's lock file (a dangling link, as emacs makes) and swap file.
    (recipes / ".#demo.yaml").symlink_to("user@host.1234:1700000000")
    (recipes / ".demo.yaml.swp").write_bytes(b"\x00\xff swap")
    (recipes / ".other.yaml").write_text("not: [a recipe\n", encoding="utf-8")
    assert list(load_recipes(recipes, patches)) == ["demo"]


# --- build.env ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ('""', "variable name '' is empty"),
        ("A=B", "variable name 'A=B' contains '='"),
        ('"A\\0B"', "variable name 'A\\x00B' contains a NUL character"),
    ],
)
def test_env_key_rules(dirs: tuple[Path, Path], key: str, message: str) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source: {{pypi: {{sha256: {SHA}}}}}
        build:
          env:
            GOOD: "1"
            {key}: "x"
        """,
    )
    assert problem == f"{path}:7: build.env: {message}"


def test_env_value_with_nul(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(
        dirs,
        f"""\
        name: demo
        version: "1.0"
        source: {{pypi: {{sha256: {SHA}}}}}
        build:
          env:
            CFLAGS: "-O2\\0-g"
        """,
    )
    assert problem == f"{path}:6: build.env.CFLAGS: contains a NUL character"


# --- repair.policy against auditwheel's policies ----------------------------------------


def policy_recipe(policy: str) -> str:
    return f"{simple('demo')}repair:\n  policy: {policy}\n"


@pytest.mark.parametrize(
    "policy",
    ["auto", "manylinux_2_31_riscv64", "manylinux_2_39_riscv64", "manylinux_2_28_x86_64"],
)
def test_known_policy(dirs: tuple[Path, Path], policy: str) -> None:
    recipes, patches = dirs
    write(recipes, "demo", policy_recipe(policy))
    assert load_recipes(recipes, patches)[NormalizedName("demo")].recipe.repair.policy == policy


def test_policy_that_auditwheel_lacks_for_the_arch(dirs: tuple[Path, Path]) -> None:
    problem, path = only_problem(dirs, policy_recipe("manylinux_2_28_riscv64"))
    assert problem == (
        f"{path}:5: repair.policy: auditwheel has no policy 'manylinux_2_28_riscv64'; "
        "for riscv64 it has manylinux_2_31_riscv64, manylinux_2_34_riscv64, "
        "manylinux_2_35_riscv64, manylinux_2_36_riscv64, manylinux_2_37_riscv64, "
        "manylinux_2_38_riscv64, manylinux_2_39_riscv64, manylinux_2_40_riscv64, "
        "manylinux_2_41_riscv64"
    )


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("manylinux_2_31_sparc", "does not end in an architecture auditwheel knows"),
        ("linux_riscv64", "must be 'auto' or a manylinux policy"),
        ("musllinux_1_2_riscv64", "musllinux needs a musl builder"),
    ],
)
def test_policy_shapes_auditwheel_cannot_use(
    dirs: tuple[Path, Path], policy: str, message: str
) -> None:
    problem, path = only_problem(dirs, policy_recipe(policy))
    assert problem.startswith(f"{path}:5: repair.policy: "), problem
    assert message in problem


# --- source: one of three kinds --------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("5", "source: expected a mapping, got int 5"),
        ("{pypi: 5}", "source.pypi: expected a mapping, got int 5"),
        (f"{{pypi: {{sha256: {SHA}, kind: git}}}}", "unknown key 'source.pypi.kind'"),
        ("{svn: {url: x}}", "source: needs exactly one of 'pypi', 'git', 'archive'; found svn"),
    ],
)
def test_bad_source_shapes(dirs: tuple[Path, Path], source: str, message: str) -> None:
    problem, path = only_problem(dirs, f'name: demo\nversion: "1.0"\nsource: {source}\n')
    assert problem == f"{path}:3: {message}"


# Fingerprints computed by the code before sources became one model per kind: the
# change must not make every built wheel look stale (and ask for a new build number).
GOLDEN_FINGERPRINTS = {
    "demo": "a0a2a17372f912f395bd3a3b0687eda020787f9e74865acbbe7c237cc3720fe8",
    "other": "b358e5d09690bcb390cfe11c5172ce8f4bebb52d5e78f2900ae0f0b6902976b1",
    "third": "761114fecdab26fb0b848814cef85defa09ccb81ea0a4313fce67654e1450d5e",
}


def test_fingerprints_of_every_source_kind_are_unchanged(dirs: tuple[Path, Path]) -> None:
    from factory.records import Target, fingerprint, fingerprint_inputs
    from factory.source import source_id

    recipes, patches = dirs
    write(
        recipes,
        "demo",
        f"""\
        name: demo
        version: "1.0"
        source:
          git:
            url: https://example.org/demo.git
            commit: {COMMIT}
        build:
          env: {{CFLAGS: -O2}}
        """,
    )
    write(recipes, "other", f'name: other\nversion: "2.0"\nsource:\n  pypi: {{sha256: {SHA}}}\n')
    write(
        recipes,
        "third",
        f'name: third\nversion: "2.0"\nsource:\n'
        f"  archive: {{url: https://example.org/t.tar.gz, sha256: {SHA}}}\n",
    )
    target = Target("riscv64", "3.13", "auto")
    found = {
        name: fingerprint(fingerprint_inputs(item, source_id(item), target, {"python": "3.13.5"}))
        for name, item in load_recipes(recipes, patches).items()
    }
    assert found == GOLDEN_FINGERPRINTS


def test_submodules_are_an_input_only_when_asked_for(dirs: tuple[Path, Path]) -> None:
    """Recipes written before `submodules` keep their fingerprints (the golden test above);
    asking for submodules changes what is built, so it changes the dump."""
    recipes, patches = dirs
    git = f"git: {{url: https://example.org/demo.git, commit: {COMMIT}"
    write(recipes, "plain", f'name: plain\nversion: "1"\nsource: {{{git}}}}}\n')
    write(recipes, "nested", f'name: nested\nversion: "1"\nsource: {{{git}, submodules: true}}}}\n')
    loaded = load_recipes(recipes, patches)
    plain, nested = (loaded[NormalizedName(n)].recipe for n in ("plain", "nested"))
    assert isinstance(plain.source, GitSource) and not plain.source.submodules
    assert isinstance(nested.source, GitSource) and nested.source.submodules
    assert "submodules" not in plain.model_dump(mode="json")["source"]["git"]
    assert nested.model_dump(mode="json")["source"]["git"]["submodules"] is True


def test_recipe_dump_redacts_git_credentials(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    write(
        recipes,
        "demo",
        f"""\
        name: demo
        version: "1.0"
        source:
          git: {{url: "https://bot:tok3n@example.org/demo.git", commit: {COMMIT}}}
        """,
    )
    recipe = load_recipes(recipes, patches)[NormalizedName("demo")].recipe
    assert isinstance(recipe.source, GitSource)
    assert recipe.source.url == "https://bot:tok3n@example.org/demo.git"  # git needs it
    dumped = recipe.model_dump(mode="json")
    assert dumped["source"]["git"]["url"] == "https://***@example.org/demo.git"
    assert "tok3n" not in str(dumped)


# --- repair.isa: the ISA baseline ---------------------------------------------------


def test_isa_baseline_defaults_to_rv64gc_and_can_be_raised(dirs: tuple[Path, Path]) -> None:
    recipes, patches = dirs
    write(recipes, "demo", simple("demo"))
    write(recipes, "fast", f"{simple('fast')}repair:\n  isa: rv64gcv\n")
    loaded = load_recipes(recipes, patches)
    assert loaded[NormalizedName("demo")].recipe.repair.isa == "rv64gc"
    assert loaded[NormalizedName("fast")].recipe.repair.isa == "rv64gcv"


@pytest.mark.parametrize(
    ("isa", "message"),
    [
        ("x86-64-v3", "'x86-64-v3' is not a RISC-V ISA string (e.g. rv64gc)"),
        ("rv32gc", "'rv32gc': the wheels are riscv64, so the baseline is rv64..."),
    ],
)
def test_isa_baseline_that_is_not_riscv64(dirs: tuple[Path, Path], isa: str, message: str) -> None:
    problem, path = only_problem(dirs, f"{simple('demo')}repair:\n  isa: {isa}\n")
    assert problem == f"{path}:5: repair.isa: {message}"


def test_default_isa_baseline_leaves_fingerprints_as_they_were(tmp_path: Path) -> None:
    from factory.records import Target, fingerprint, fingerprint_inputs
    from factory.source import source_id

    def digest(repair: str) -> str:
        recipes = tmp_path / str(len(list(tmp_path.iterdir())))
        recipes.mkdir()
        write(recipes, "demo", simple("demo") + repair)
        [item] = load_recipes(recipes, tmp_path / "no-patches").values()
        target = Target("riscv64", "3.13", "auto")
        return fingerprint(fingerprint_inputs(item, source_id(item), target, {"python": "3.13"}))

    # Recipes written before the field existed keep their fingerprint (no rebuild).
    assert digest("") == digest("repair:\n  isa: rv64gc\n") != digest("repair:\n  isa: rv64gcv\n")


def test_libyaml_and_the_pure_python_loader_read_a_recipe_alike(
    dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import factory.recipe

    if factory.recipe._LIBYAML_LOADER is None:
        pytest.skip("PyYAML without libyaml: only the pure-Python loader exists")
    recipes, patches = dirs
    write_patch(patches, "demo", "0001-fix.patch")
    write(
        recipes,
        "demo",
        f"""\
        # a comment
        name: demo
        version: "1.0"
        source:
          pypi: {{sha256: {SHA}}}
        patches: [0001-fix.patch]
        build:
          env: {{A: "1", B: '2'}}
          requires: []
        test:
          commands:
          - |
            python -c "import demo"
        """,
    )
    fast = load_recipes(recipes, patches)
    monkeypatch.setattr(factory.recipe, "_LIBYAML_LOADER", None)
    pure = load_recipes(recipes, patches)
    assert fast == pure
    [demo] = fast.values()
    assert demo.lines == next(iter(pure.values())).lines
    assert demo.lines[("build", "env", "B")] == 8
