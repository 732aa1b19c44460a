"""PEP 592 yanks set by command: ``wheelhouse/yanks.json``, written atomically.

A yank names one wheel file (``pyyaml-6.0.1-cp313-cp313-manylinux_2_39_riscv64.whl``)
or a whole release (``pyyaml==6.0.1``). Recipes can yank too (their ``yanked`` key);
the index honours both. A yanked file stays in the index: installers skip it unless
it is pinned exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .._fs import write_atomically
from ..errors import ConfigError

if TYPE_CHECKING:
    from packaging.utils import NormalizedName

# packaging is imported where it is used: the stamp of a run with nothing new only
# needs this module's file name, and importing packaging would be a tenth of that run.

YANKS_FILE = "yanks.json"


def yank_key(target: str) -> str:
    """The canonical form of a yank target: a wheel file name, or ``<name>==<version>``."""
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    if target.endswith(".whl"):
        try:
            parse_wheel_filename(target)
        except InvalidWheelFilename as exc:
            raise ConfigError(f"{target!r} is not a valid wheel file name ({exc})") from None
        return target
    name, separator, version = target.partition("==")
    try:
        if not separator or not name:
            raise InvalidVersion(target)
        return f"{canonicalize_name(name)}=={Version(version)}"
    except InvalidVersion:
        raise ConfigError(
            f"{target!r} names neither a wheel file nor a release",
            hint="yank a file (NAME-VERSION-...-PLATFORM.whl) or a release (NAME==VERSION)",
        ) from None


def key_project(key: str) -> NormalizedName:
    from packaging.utils import canonicalize_name, parse_wheel_filename

    if key.endswith(".whl"):
        return parse_wheel_filename(key)[0]
    return canonicalize_name(key.partition("==")[0])


def load_yanks(wheelhouse: Path) -> dict[str, str]:
    """Yank target -> reason ("" when none was given)."""
    path = wheelhouse / YANKS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc})", hint="fix or remove the file") from None
    return parse_yanks(text, str(path))


def parse_yanks(text: str, where: str) -> dict[str, str]:
    """A yanks file's content (``where`` names it in errors)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: unreadable ({exc})", hint="fix or remove the file") from None
    yanked = data.get("yanked") if isinstance(data, dict) else None
    if not isinstance(yanked, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in yanked.items()
    ):
        raise ConfigError(
            f'{where}: expected {{"yanked": {{target: reason}}}}', hint="fix or remove the file"
        )
    return {yank_key(k): v for k, v in yanked.items()}


def add_yanks(wheelhouse: Path, yanks: dict[str, str]) -> list[str]:
    """Record yanks the wheelhouse does not have yet (its own stay as they are); return
    the keys added."""
    present = load_yanks(wheelhouse)
    added = sorted(key for key in yanks if key not in present)
    if added:
        save_yanks(wheelhouse, {**present, **{key: yanks[key] for key in added}})
    return added


def save_yanks(wheelhouse: Path, yanks: dict[str, str]) -> None:
    text = json.dumps({"yanked": dict(sorted(yanks.items()))}, indent=2, sort_keys=True) + "\n"
    write_atomically(wheelhouse / YANKS_FILE, text.encode())


def _matching(key: str, wheel_names: Iterable[str]) -> list[str]:
    if key.endswith(".whl"):
        return [n for n in wheel_names if n == key]
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    name, _, version = key.partition("==")
    matches = []
    for filename in wheel_names:
        try:
            wheel_name, wheel_version, _, _ = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        if wheel_name == name and str(wheel_version) == version:
            matches.append(filename)
    return matches


def yank(wheelhouse: Path, target: str, reason: str) -> tuple[str, list[str]]:
    """Record a yank; return its key and the wheels it covers (there must be one)."""
    key = yank_key(target)
    covered = _matching(key, sorted(p.name for p in wheelhouse.glob("*.whl")))
    if not covered:
        raise ConfigError(
            f"no wheel in {wheelhouse} matches {target!r}",
            hint="`factory list` shows the wheels; a release is NAME==VERSION",
        )
    yanks = load_yanks(wheelhouse)
    yanks[key] = reason
    save_yanks(wheelhouse, yanks)
    return key, covered


def unyank(wheelhouse: Path, target: str) -> str:
    key = yank_key(target)
    yanks = load_yanks(wheelhouse)
    if key not in yanks:
        raise ConfigError(
            f"{target!r} is not yanked by command",
            hint=f"see {wheelhouse / YANKS_FILE}; a recipe's `yanked` entries are removed there",
        )
    del yanks[key]
    save_yanks(wheelhouse, yanks)
    return key
