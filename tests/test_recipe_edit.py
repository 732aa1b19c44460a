"""Editing a recipe in place: the values change, everything else stays byte for byte."""

from __future__ import annotations

import pytest

from factory.errors import ConfigError
from factory.recipe_edit import Insert, edit_recipe_text

RECIPE = """\
# a comment before anything

name: demo   # the name
version: '1.0'
source:
  pypi: {sha256: aaaa}  # flow style, with a comment
patches:
- 0001-a.patch
build:
  env: {A: "1"}
test:
  commands:
  - |
    python -c "import demo"
# the last comment
"""


def test_values_keep_their_quoting_and_everything_else_stays() -> None:
    edited = edit_recipe_text(
        RECIPE, "demo.yaml", {("version",): "2.0", ("source", "pypi", "sha256"): "bbbb"}
    )
    assert edited == RECIPE.replace("'1.0'", "'2.0'").replace("sha256: aaaa", "sha256: bbbb")


def test_a_plain_value_that_would_change_type_is_quoted() -> None:
    text = "name: demo\nversion: v1\n"
    assert edit_recipe_text(text, "x", {("version",): "2.0"}) == 'name: demo\nversion: "2.0"\n'
    assert edit_recipe_text(text, "x", {("version",): "2.0a1"}) == "name: demo\nversion: 2.0a1\n"


def test_a_missing_key_is_inserted_after_its_sibling_at_its_indentation() -> None:
    insert = Insert(("build_number",), 1, after="version")
    edited = edit_recipe_text(RECIPE, "demo.yaml", {}, [insert])
    assert edited == RECIPE.replace("version: '1.0'\n", "version: '1.0'\nbuild_number: 1\n")
    # Present already: set where it is.
    assert edit_recipe_text(edited, "demo.yaml", {}, [Insert(("build_number",), 2, "version")]) == (
        edited.replace("build_number: 1", "build_number: 2")
    )
    flow = '{name: demo, version: "1.0"}\n'
    assert edit_recipe_text(flow, "x", {}, [insert]) == (
        '{name: demo, version: "1.0", build_number: 1}\n'
    )


def test_a_section_is_appended_at_the_end() -> None:
    retired = {"retired": {"since": "1.2", "reason": "upstream ships them", "evidence": ["a.whl"]}}
    edited = edit_recipe_text(RECIPE, "demo.yaml", {}, append=retired)
    assert edited == RECIPE + (
        "retired:\n  since: '1.2'\n  reason: upstream ships them\n  evidence:\n  - a.whl\n"
    )
    no_newline = "name: demo\nversion: '1.0'"
    assert edit_recipe_text(no_newline, "x", {}, append=retired).startswith(
        "name: demo\nversion: '1.0'\nretired:\n"
    )


@pytest.mark.parametrize(
    ("text", "values", "why"),
    [
        ("name: demo\n", {("version",): "2.0"}, "it has no version"),
        ("- a\n- b\n", {("version",): "2.0"}, "it is not a mapping"),
        ("test:\n  x: |\n    a\n", {("test", "x"): "b"}, "test.x is not a one-line value"),
        ("name: demo\nretired: {since: '1'}\n", {}, "it has retired already"),
        ("{name: demo}\n", {}, "it is one flow mapping ({...}); write it in block style"),
    ],
)
def test_what_cannot_be_edited_in_place_is_refused(
    text: str, values: dict[tuple[str, ...], str], why: str
) -> None:
    append = None if values else {"retired": {"since": "2"}}
    with pytest.raises(ConfigError) as caught:
        edit_recipe_text(text, "demo.yaml", values, append=append)
    assert caught.value.message == f"demo.yaml: cannot edit the recipe in place: {why}"
    assert caught.value.hint == "make the change in demo.yaml by hand"
