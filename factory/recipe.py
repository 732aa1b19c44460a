"""Recipes: the closed schema, loading with file:line positions, all errors at once.

A recipe is data; the code is generic. The schema is a set of frozen pydantic models
with ``extra="forbid"`` and strict types, so a typo is an error instead of a silently
ignored key. YAML is composed into nodes first so that every problem can be reported
at the line it comes from (pyodide-build's recipe/spec.py does the same job).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .errors import ConfigError
from .isa import DEFAULT_BASELINE, check_baseline_text
from .patches import parse_header
from .policies import check_policy
from .redact import redact_url

SHA256 = re.compile(r"^[0-9a-f]{64}$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)  # PEP 508
PYTHON_VERSION = re.compile(r"^3\.\d+$")
DEFAULT_TIMEOUT_SECONDS = 4 * 3600
MAX_YAML_DEPTH = 64


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _check_sha256(value: str) -> str:
    if not SHA256.match(value):
        raise ValueError(
            f"must be 64 lowercase hex characters, got {value!r} ({len(value)} characters)"
        )
    return value


# List items are validated one by one so that a problem is reported at its entry's line.


def _check_pep440(value: str) -> str:
    try:
        Version(value)
    except InvalidVersion:
        raise ValueError(f"{value!r} is not a PEP 440 version") from None
    return value


PEP440Version = Annotated[str, AfterValidator(_check_pep440)]


def _check_patch_name(patch: str) -> str:
    if "/" in patch or "\\" in patch or patch in ("", ".", ".."):
        raise ValueError(f"patch {patch!r} must be a file name inside patches/<name>/ (no paths)")
    return patch


def _check_python_version(version: str) -> str:
    if not PYTHON_VERSION.match(version):
        raise ValueError(f"python versions look like '3.13', got {version!r}")
    return version


def _check_debian_name(package: str) -> str:
    if not re.match(r"^[a-z0-9][a-z0-9+.-]+$", package):
        raise ValueError(f"{package!r} is not a Debian package name")
    return package


class PypiSource(_Closed):
    """The sdist of ``name`` (default: the recipe's name) at the recipe's version."""

    kind: Literal["pypi"] = "pypi"
    sha256: str
    name: str | None = None

    _sha = field_validator("sha256")(_check_sha256)


class GitSource(_Closed):
    """A fork at a pinned commit. ``url`` may be any git URL, a local path or file:// URL."""

    kind: Literal["git"] = "git"
    url: str
    commit: str
    # Check out every submodule (recursively) at the commit this one pins; each is
    # mirrored in the cache like the repository itself.
    submodules: bool = False

    @field_validator("commit")
    @classmethod
    def _full_commit(cls, value: str) -> str:
        if not COMMIT.match(value):
            raise ValueError(
                f"must be a full 40-character hex commit hash, got {value!r} "
                "(branches and tags move; pin the commit)"
            )
        return value


class ArchiveSource(_Closed):
    """A source archive (tar.gz, zip...) at a URL, pinned by its hash."""

    kind: Literal["archive"] = "archive"
    url: str
    sha256: str

    _sha = field_validator("sha256")(_check_sha256)


SOURCE_KINDS = ("pypi", "git", "archive")
# The pydantic error type of messages that already name their key (see _describe).
COMPLETE_MESSAGE = "recipe_problem"


def _tag_source(value: Any) -> Any:
    """YAML ``{pypi: {...}}`` -> ``{"kind": "pypi", ...}``, the shape the union is tagged by.

    Anything that is not one kind's mapping is passed on unchanged (or refused here),
    so that pydantic names the problem at the right key.
    """
    if not isinstance(value, dict):
        return value
    given = list(value)
    if len(given) != 1 or given[0] not in SOURCE_KINDS:
        raise ValueError(
            f"needs exactly one of {', '.join(map(repr, SOURCE_KINDS))}; found "
            + (" and ".join(map(str, given)) if given else "none")
        )
    kind = given[0]
    fields = value[kind]
    if not isinstance(fields, dict):
        raise PydanticCustomError(
            COMPLETE_MESSAGE, f"source.{kind}: expected a mapping, got {_got(fields)}"
        )
    if "kind" in fields:
        # The key the data is written under says the kind; a second say would be ignored.
        raise PydanticCustomError(COMPLETE_MESSAGE, f"unknown key 'source.{kind}.kind'")
    return {**fields, "kind": kind}


def _source_as_written(source: PypiSource | GitSource | ArchiveSource) -> dict[str, Any]:
    """The YAML shape, every kind present, as the fingerprint has always hashed it.

    A git URL's credentials are left out: they are not content, and the dump goes
    into build records that are published.
    """
    fields = source.model_dump(mode="json", exclude={"kind"})
    if isinstance(source, GitSource):
        fields["url"] = redact_url(source.url)
        if not source.submodules:
            del fields["submodules"]  # added later: recipes without it keep their fingerprint
    return {kind: fields if kind == source.kind else None for kind in SOURCE_KINDS}


Source = Annotated[
    PypiSource | GitSource | ArchiveSource,
    Field(discriminator="kind"),
    BeforeValidator(_tag_source),
    PlainSerializer(_source_as_written),
]


def _check_env_name(name: str) -> str:
    # execve() takes "NAME=value" strings: an '=' or NUL in a name cannot be passed on.
    if not name:
        raise ValueError("variable name '' is empty")
    if "=" in name:
        raise ValueError(f"variable name {name!r} contains '='")
    if "\0" in name:
        raise ValueError(f"variable name {name!r} contains a NUL character")
    return name


def _check_env_value(value: str) -> str:
    if "\0" in value:
        raise ValueError("contains a NUL character")
    return value


EnvName = Annotated[str, AfterValidator(_check_env_name)]
EnvValue = Annotated[str, AfterValidator(_check_env_value)]


class BuildSettings(_Closed):
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)
    config_settings: dict[str, str | list[str]] = Field(default_factory=dict)
    subdirectory: str | None = None
    system_requirements: list[Annotated[str, AfterValidator(_check_debian_name)]] = Field(
        default_factory=list
    )
    requires: list[str] = Field(default_factory=list)  # other recipes, built first
    timeout: Annotated[int, Field(gt=0)] = DEFAULT_TIMEOUT_SECONDS
    # false: compile under emulation even where the host-native companion is available
    # (a package whose build must not use a cross compiler); not part of the fingerprint.
    accelerate: bool = True
    # The runner a CI build needs (`factory plan`): "large" for builds that take hours
    # and much memory (torch). Says where to build, not what: not part of the fingerprint.
    size: Literal["normal", "large"] = "normal"

    @field_validator("subdirectory")
    @classmethod
    def _relative_subdirectory(cls, value: str | None) -> str | None:
        if value is not None and (value.startswith("/") or ".." in Path(value).parts):
            raise ValueError(f"must be a relative path inside the source, got {value!r}")
        return value


class RepairSettings(_Closed):
    policy: str = "auto"  # auto: the lowest manylinux policy the wheel satisfies
    exclude: list[str] = Field(default_factory=list)  # sonames not to graft
    # The most a riscv64 wheel's compiled code may need (factory/isa.py); raise it only
    # on purpose, for a wheel that is meant for fewer boards.
    isa: Annotated[str, AfterValidator(check_baseline_text)] = DEFAULT_BASELINE

    @field_validator("policy")
    @classmethod
    def _auditwheel_knows_it(cls, value: str) -> str:
        if value != "auto":
            check_policy(value)
        return value


class TestSettings(_Closed):
    imports: list[str] = Field(default_factory=list)
    commands: list[str] = Field(default_factory=list)


class Retirement(_Closed):
    """Upstream ships riscv64 wheels itself: nothing is rebuilt, published files stay."""

    since: PEP440Version  # the first upstream version with riscv64 wheels
    reason: str = "upstream ships riscv64 wheels"
    evidence: list[str] = Field(default_factory=list)  # upstream's riscv64 wheel file names


class Recipe(_Closed):
    name: str
    version: PEP440Version
    build_number: Annotated[int, Field(ge=0)] = 0
    upstream: str | None = None  # the PyPI project tracked (PEP 708); default: name
    source: Source
    patches: list[Annotated[str, AfterValidator(_check_patch_name)]] = Field(default_factory=list)
    build: BuildSettings = Field(default_factory=BuildSettings)
    # e.g. ["3.13"]; empty: any
    python: list[Annotated[str, AfterValidator(_check_python_version)]] = Field(
        default_factory=list
    )
    repair: RepairSettings = Field(default_factory=RepairSettings)
    test: TestSettings = Field(default_factory=TestSettings)
    # PEP 592: a release ("6.0.1") or one wheel file name -> why it is yanked.
    yanked: dict[str, str] = Field(default_factory=dict)
    retired: Retirement | None = None

    @field_validator("name")
    @classmethod
    def _project_name(cls, value: str) -> str:
        if not PROJECT_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid Python project name")
        return value

    @field_validator("yanked")
    @classmethod
    def _yank_targets(cls, value: dict[str, str]) -> dict[str, str]:
        for target in value:
            if target.endswith(".whl"):
                try:
                    parse_wheel_filename(target)
                except InvalidWheelFilename:
                    raise ValueError(f"{target!r} is not a valid wheel file name") from None
                continue
            try:
                Version(target)
            except InvalidVersion:
                raise ValueError(
                    f"{target!r} is neither a PEP 440 version nor a wheel file name"
                ) from None
        return value

    @model_validator(mode="after")
    def _yanks_are_ours(self) -> Recipe:
        for target in self.yanked:
            if target.endswith(".whl") and parse_wheel_filename(target)[0] != self.project:
                raise ValueError(f"yanked: {target!r} is not a wheel of {self.name}")
        return self

    @property
    def project(self) -> NormalizedName:
        return canonicalize_name(self.name)

    @property
    def upstream_project(self) -> NormalizedName:
        return canonicalize_name(self.upstream or self.name)


@dataclass(frozen=True)
class LoadedRecipe:
    """A validated recipe with where it came from and the patch files it applies."""

    recipe: Recipe
    path: Path
    patch_files: tuple[Path, ...]
    # Key path -> line in ``path``, for problems found after loading (build.requires).
    lines: Mapping[tuple[str | int, ...], int] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def name(self) -> NormalizedName:
        return self.recipe.project


# --- loading ---------------------------------------------------------------------


def check_recipe_name(name: str) -> None:
    """A name given on the command line must not be able to point outside recipes/."""
    if "/" in name or "\\" in name or ".." in name or not name:
        raise ConfigError(
            f"{name!r} is not a recipe name (it must not contain a path separator or '..')",
            hint="pass the package name, e.g. `factory build pyyaml`; `factory list` shows them",
        )


def load_recipes(recipes_dir: Path, patches_dir: Path) -> dict[NormalizedName, LoadedRecipe]:
    """Load and validate every recipe; raise one ConfigError listing every problem."""
    if not recipes_dir.is_dir():
        raise ConfigError(
            f"recipes directory {recipes_dir} does not exist",
            hint="run from the project root or pass --recipes DIR",
        )
    problems: list[str] = []
    loaded: dict[NormalizedName, LoadedRecipe] = {}
    for path in _recipe_files(recipes_dir):
        result = _load_one(path, patches_dir)
        if isinstance(result, LoadedRecipe):
            if result.name in loaded:
                other = loaded[result.name].path
                problems.append(f"{path}:1: project {result.name!r} is also defined in {other}")
            else:
                loaded[result.name] = result
        else:
            problems.extend(result)
    problems.extend(_dependency_problems(loaded))
    if problems:
        files = len({p.split(":", 1)[0] for p in problems})
        raise ConfigError(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in "
            f"{files} recipe{'s' if files != 1 else ''}",
            hint="fix the recipes listed above; `factory check` validates them without building",
            details=tuple(problems),
        )
    return loaded


def _recipe_files(recipes_dir: Path) -> list[Path]:
    # Hidden files are editors' lock and swap files (.#name.yaml, .name.yaml.swp).
    return sorted(
        path
        for path in recipes_dir.iterdir()
        if path.suffix in (".yaml", ".yml") and not path.name.startswith(".")
    )


def select(
    recipes: Mapping[NormalizedName, LoadedRecipe], names: Iterable[str]
) -> list[LoadedRecipe]:
    chosen = []
    for name in names:
        check_recipe_name(name)
        found = recipes.get(canonicalize_name(name))
        if found is None:
            raise ConfigError(
                f"no recipe named {name!r}",
                hint=f"known recipes: {', '.join(sorted(recipes)) or '(none)'}; "
                "add recipes/<name>.yaml to make one",
            )
        chosen.append(found)
    return chosen


def _load_one(path: Path, patches_dir: Path) -> LoadedRecipe | list[str]:
    parsed = _parse_yaml(path)
    if isinstance(parsed, str):
        return [parsed]
    node, data = parsed
    if not isinstance(data, dict) or node is None:
        return [f"{path}:1: a recipe must be a YAML mapping of keys to values"]
    lines = _line_index(node)
    duplicates = _duplicate_keys(node)
    if duplicates:
        # YAML keeps the last value silently; the first one would be ignored without a word.
        return [f"{path}:{line}: {problem}" for line, problem in duplicates]
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        return [
            f"{path}:{_line_for(lines, tuple(err['loc']))}: {_describe(err)}"
            for err in exc.errors()
        ]
    problems = []
    if canonicalize_name(path.stem) != recipe.project:
        problems.append(
            f"{path}:{lines.get(('name',), 1)}: name {recipe.name!r} does not match the file "
            f"name; call the file {recipe.project}.yaml"
        )
    patch_files = []
    for index, patch in enumerate(recipe.patches):
        patch_path = patches_dir / recipe.project / patch
        where = f"{path}:{lines.get(('patches', index), 1)}"
        if not patch_path.is_file():
            problems.append(f"{where}: patch {patch} not found in {patches_dir / recipe.project}")
            continue
        try:
            parse_header(patch_path.read_text(encoding="utf-8", errors="replace"))
        except ValueError as exc:
            problems.append(f"{where}: patch {patch}: {exc}")
        patch_files.append(patch_path)
    if problems:
        return problems
    return LoadedRecipe(recipe, path, tuple(patch_files), lines)


class _RecipeLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and deep nesting while composing.

    An alias costs nothing to write and its expansion is exponential (nested anchors:
    "billion laughs") or endless (an alias inside its own anchor). Recipes never need
    one, so the first alias is an error: composing stays linear in the file's size.
    """

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event: yaml.AliasEvent = self.peek_event()  # type: ignore[no-untyped-call]
            raise _Refused(
                f"YAML aliases (*{event.anchor}) are not allowed in recipes; write the value out",
                event.start_mark,
            )
        if self.depth >= MAX_YAML_DEPTH:
            # The composer recurses once per level; Python's stack would give out first.
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise _Refused(
                f"YAML nested deeper than {MAX_YAML_DEPTH} levels; recipes are flat", mark
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML that a recipe may not use (an alias, too deep)."""

    def __init__(self, problem: str, mark: Any) -> None:  # yaml.Mark, typed two ways
        super().__init__(problem=problem, problem_mark=mark)


def _parse_yaml(path: Path) -> tuple[yaml.Node | None, Any] | str:
    """The file composed once into nodes (for lines) and built into data; or a problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return f"{path}:1: cannot read recipe: {exc.strerror}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        return (
            f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column "
            f"{exc.start - line_start + 1}); save the recipe as UTF-8"
        )
    fast = _compose_with_libyaml(text)
    if fast is not None:
        return fast
    try:
        # The reader checks every character when it is made: inside the try.
        loader = _RecipeLoader(text)
    except yaml.reader.ReaderError as exc:
        return _control_character(path, text, exc)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    except _Refused as exc:
        assert exc.problem_mark is not None
        return f"{path}:{exc.problem_mark.line + 1}: {exc.problem}"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        message = f"{path}:{line}: malformed YAML: {exc.problem or exc.context}"
        if exc.problem and exc.context and exc.context_mark is not None:
            # e.g. an unclosed '[' is found only at the end of the file: say where it began.
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
        return message
    except yaml.YAMLError as exc:
        return f"{path}:1: cannot read recipe: {exc}"
    finally:
        loader.dispose()


# libyaml's parser, when PyYAML was built with it: `factory stale` over 300 recipes
# spends most of its time parsing YAML, and this is about eight times faster.
_LIBYAML_LOADER: Any = getattr(yaml, "CSafeLoader", None)
_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _compose_with_libyaml(text: str) -> tuple[yaml.Node | None, Any] | None:
    """The document composed and built by libyaml; None to leave it to _RecipeLoader.

    Whatever the pure-Python loader would refuse or word as an error (no libyaml, a
    character the reader refuses, malformed YAML, an alias, deep nesting) goes back to
    it, so every message stays as it is. Aliases and depth are checked on libyaml's
    events first: its parser keeps its own stack, while its composer recurses and an
    alias would only be expanded later, when the data is built.
    """
    if _LIBYAML_LOADER is None or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_LIBYAML_LOADER):
            if isinstance(event, yaml.AliasEvent) or depth >= MAX_YAML_DEPTH - 1:
                return None
            if isinstance(event, _COLLECTION_START):
                depth += 1
            elif isinstance(event, _COLLECTION_END):
                depth -= 1
        loader = _LIBYAML_LOADER(text)
        try:
            node: yaml.Node | None = loader.get_single_node()
            return node, (loader.construct_document(node) if node is not None else None)
        finally:
            loader.dispose()
    except yaml.YAMLError:
        return None


def _control_character(path: Path, text: str, exc: yaml.reader.ReaderError) -> str:
    # The reader knows the character's offset, not its line.
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    character = chr(exc.character) if isinstance(exc.character, int) else exc.character
    return (
        f"{path}:{line}: character {character!r} (column {column}) "
        "is not allowed in YAML; remove it"
    )


def dependency_order(
    selected: Sequence[LoadedRecipe], recipes: Mapping[NormalizedName, LoadedRecipe]
) -> list[LoadedRecipe]:
    """The selected recipes and their build dependencies, dependencies first;
    ConfigError naming the cycle when build.requires has one."""
    ordered: list[LoadedRecipe] = []
    done: set[NormalizedName] = set()
    visiting: list[NormalizedName] = []

    def visit(loaded: LoadedRecipe) -> None:
        if loaded.name in done:
            return
        if loaded.name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(loaded.name) :], loaded.name])
            raise ConfigError(
                f"build.requires forms a cycle: {cycle}",
                hint="one of these recipes must build without the other",
            )
        visiting.append(loaded.name)
        for dependency in loaded.recipe.build.requires:
            visit(recipes[canonicalize_name(dependency)])
        visiting.pop()
        done.add(loaded.name)
        ordered.append(loaded)

    for loaded in selected:
        visit(loaded)
    return ordered


def _dependency_problems(loaded: Mapping[NormalizedName, LoadedRecipe]) -> list[str]:
    problems = []
    for item in loaded.values():
        for index, dependency in enumerate(item.recipe.build.requires):
            if canonicalize_name(dependency) not in loaded:
                line = item.lines.get(("build", "requires", index), 1)
                problems.append(
                    f"{item.path}:{line}: build.requires names {dependency!r}, which has no recipe"
                )
    return problems


def _line_index(node: yaml.Node) -> dict[tuple[str | int, ...], int]:
    """Map each key path (('source', 'git', 'commit')) to its 1-based line."""
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(current: yaml.Node, path: tuple[str | int, ...]) -> None:
        lines[path] = current.start_mark.line + 1
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                key_path = (*path, str(key_node.value))
                walk(value_node, key_path)
                # Unknown keys are reported at the key itself, which is what to delete.
                lines[key_path] = key_node.start_mark.line + 1
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                walk(item, (*path, index))

    walk(node, ())
    return lines


def _duplicate_keys(node: yaml.Node) -> list[tuple[int, str]]:
    """(line, problem) for every key given twice in the same mapping."""
    found: list[tuple[int, str]] = []

    def walk(current: yaml.Node, path: tuple[str | int, ...]) -> None:
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in current.value:
                key, line = str(key_node.value), key_node.start_mark.line + 1
                if key in seen:
                    where = _format_loc((*path, key))
                    first = seen[key]
                    found.append((line, f"duplicate key {where!r} (first given at line {first})"))
                else:
                    seen[key] = line
                walk(value_node, (*path, key))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                walk(item, (*path, index))

    walk(node, ())
    return found


def _line_for(lines: Mapping[tuple[str | int, ...], int], loc: tuple[Any, ...]) -> int:
    # pydantic appends the union member or validator name for some errors; walk up
    # until a path the YAML actually has.
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _format_loc(loc: Iterable[Any]) -> str:
    """('source', 'git', 'commit') -> 'source.git.commit'; ('patches', 1) -> 'patches[1]'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _describe(err: Mapping[str, Any]) -> str:
    if err["loc"][-1:] == ("[key]",):
        # A mapping's key failed (build.env names): the key itself is in the message.
        return f"{_format_loc(err['loc'][:-2])}: {str(err['msg']).removeprefix('Value error, ')}"
    loc = _format_loc(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown key {loc!r}"
    if kind == "missing":
        return f"missing required key {loc!r}"
    if kind == COMPLETE_MESSAGE:
        return str(err["msg"])
    if kind == "value_error":
        message = str(err["msg"]).removeprefix("Value error, ")
        return f"{loc}: {message}" if loc else message
    expected = {
        "string_type": "a string",
        "int_type": "an integer",
        "list_type": "a list",
        "dict_type": "a mapping",
        "model_type": "a mapping",
        "model_attributes_type": "a mapping",
    }.get(kind)
    if expected is not None:
        return f"{loc}: expected {expected}, got {_got(err['input'])}"
    return f"{loc}: {err['msg']}"


def _got(value: Any) -> str:
    return "an empty value" if value is None else f"{type(value).__name__} {value!r}"
