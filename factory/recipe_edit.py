"""Change a few values in a recipe file and nothing else.

`factory bump` and `factory retire` edit recipes that people wrote: their comments,
quoting, key order, flow or block style and indentation are theirs. So the file is
not re-emitted by a YAML dumper (one that round-trips comments, such as ruamel.yaml,
still re-indents every section to one global indentation); instead each value is
replaced at the exact character offsets the YAML composer reports for it, in the
quoting style it had, and a new key is spliced in as one line after a sibling or
appended at the end. Everything else stays byte for byte. The result is parsed again
and must hold exactly the intended values, or nothing is returned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import ConfigError
from .recipe import Recipe

Scalar = str | int
KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class Insert:
    """A key the file does not have yet: placed right after ``after`` (a sibling key)."""

    path: KeyPath
    value: Scalar
    after: str


def edit_recipe_text(
    text: str,
    where: str,
    values: Mapping[KeyPath, Scalar],
    inserts: Sequence[Insert] = (),
    append: Mapping[str, Any] | None = None,
) -> str:
    """``text`` with each key path in ``values`` set (the key must exist), each insert
    made (a key already there is set instead), and ``append``'s top-level keys added at
    the end of the file. ConfigError (naming ``where``) when the file's shape does not
    allow it."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise _cannot(where, "it is not a mapping")
    splices: list[tuple[int, int, str]] = []
    expected = yaml.safe_load(text)
    for path, value in values.items():
        node = _value_node(root, path)
        if node is None:
            raise _cannot(where, f"it has no {'.'.join(path)}")
        splices.append(_replacement(node, value, where, path))
        _set(expected, path, value)
    for insert in inserts:
        node = _value_node(root, insert.path)
        if node is not None:
            splices.append(_replacement(node, insert.value, where, insert.path))
        else:
            splices.append(_insertion(text, root, insert, where))
        _set(expected, insert.path, insert.value)
    edited = text
    # From the end of the file backwards, so that earlier offsets stay valid.
    for start, end, new in sorted(splices, reverse=True):
        edited = edited[:start] + new + edited[end:]
    if append:
        if root.flow_style:
            raise _cannot(where, "it is one flow mapping ({...}); write it in block style")
        if present := sorted(key for key in append if key in expected):
            raise _cannot(where, f"it has {', '.join(present)} already")
        block = yaml.safe_dump(
            dict(append), sort_keys=False, default_flow_style=False, allow_unicode=True,
            width=1 << 16,
        )  # fmt: skip
        edited = edited + ("" if edited.endswith("\n") or not edited else "\n") + block
        expected.update(append)
    if yaml.safe_load(edited) != expected:
        # A shape this editor does not know (a value spanning lines in an odd way):
        # better to refuse than to write a recipe that says something else.
        raise _cannot(where, "the edit did not come out as intended")
    return edited


def _cannot(where: str, why: str) -> ConfigError:
    return ConfigError(
        f"{where}: cannot edit the recipe in place: {why}",
        hint=f"make the change in {where} by hand",
    )


def _value_node(root: yaml.MappingNode, path: KeyPath) -> yaml.Node | None:
    node: yaml.Node = root
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            return None
        found = [value for name, value in node.value if name.value == key]
        if not found:
            return None
        node = found[0]
    return node


def _replacement(node: yaml.Node, value: Scalar, where: str, path: KeyPath) -> tuple[int, int, str]:
    if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
        raise _cannot(where, f"{'.'.join(path)} is not a one-line value")
    return node.start_mark.index, node.end_mark.index, _render(value, node.style)


def _insertion(
    text: str, root: yaml.MappingNode, insert: Insert, where: str
) -> tuple[int, int, str]:
    parent = _value_node(root, insert.path[:-1]) if len(insert.path) > 1 else root
    key = insert.path[-1]
    siblings = (
        [(name, value) for name, value in parent.value if name.value == insert.after]
        if isinstance(parent, yaml.MappingNode)
        else []
    )
    if not siblings:
        raise _cannot(where, f"it has no {insert.after} to put {key} after")
    assert isinstance(parent, yaml.MappingNode)
    name_node, value_node = siblings[0]
    entry = f"{key}: {_render(insert.value, None)}"
    at = value_node.end_mark.index
    if parent.flow_style:
        return at, at, f", {entry}"
    # After the sibling's line (and the comment that may end it), at its indentation.
    line_end = text.find("\n", at)
    indent = " " * name_node.start_mark.column
    if line_end == -1:
        return len(text), len(text), f"\n{indent}{entry}\n"
    return line_end + 1, line_end + 1, f"{indent}{entry}\n"


def _render(value: Scalar, style: str | None) -> str:
    """``value`` written as the value it replaces was: plain, 'single' or "double" quoted."""
    if isinstance(value, int):
        return str(value)
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or yaml.safe_load(value) != value or "#" in value or ": " in value:
        # A JSON string is a YAML double-quoted scalar. Plain "2.0" would be a float.
        return json.dumps(value)
    return value


def _set(data: dict[str, Any], path: KeyPath, value: Scalar) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def validated_recipe(text: str, where: str) -> Recipe:
    """The edited recipe, checked against the schema before it is written."""
    try:
        return Recipe.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        raise ConfigError(
            f"{where}: the edited recipe would not validate: {error.errors()[0]['msg']}",
            hint=f"edit {where} by hand",
        ) from None
