"""`factory coverage`: what installing some requirements on riscv64 would still compile.

The requirements' whole dependency closure is resolved for riscv64 by uv (``uv pip
compile --python-platform riscv64-unknown-linux``), against our index first and PyPI
after it, into a PEP 751 lock file: per distribution, the wheels that fit riscv64
and the sdist. uv reads PEP 658 metadata, so nothing big is downloaded. Each
distribution is then one of:

- pure Python: a ``none-any`` wheel installs anywhere;
- a riscv64 wheel on PyPI (upstream ships one: nothing for us to build);
- a riscv64 wheel in our index;
- needs a build, and we have a recipe for it (build it and publish);
- needs a build, and we have none: the recipe to write next.

uv's default index strategy takes each project from the first index that has it
(dependency-confusion safety), so a project in our index is never mixed with PyPI's.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.utils import NormalizedName, canonicalize_name

from ._run import CommandFailed, run
from .errors import ConfigError, EnvironmentProblem, FactoryError, StepTimeout

PYPI_SIMPLE = "https://pypi.org/simple/"
RESOLVE_TIMEOUT_SECONDS = 300.0
Status = Literal["pure-python", "pypi-riscv64", "our-index", "has-recipe", "no-recipe"]
STATUS_TEXT: dict[Status, str] = {
    "pure-python": "pure Python",
    "pypi-riscv64": "riscv64 wheel on PyPI",
    "our-index": "riscv64 wheel in our index",
    "has-recipe": "needs a build: has a recipe",
    "no-recipe": "needs a build: no recipe",
}


@dataclass(frozen=True)
class LockedDistribution:
    """One distribution of the resolved closure, as the lock file has it."""

    name: NormalizedName
    version: str
    wheel_urls: tuple[str, ...]  # the wheels that install on the target
    has_sdist: bool


@dataclass(frozen=True)
class Coverage:
    name: NormalizedName
    version: str
    status: Status
    evidence: str  # a wheel's file name, or the recipe's path


def classify(
    locked: Iterable[LockedDistribution],
    our_index: str | None,
    recipes: Mapping[NormalizedName, Path],
) -> list[Coverage]:
    """Each distribution's status (pure: no I/O); ``recipes`` by normalized name."""
    found = []
    for dist in sorted(locked, key=lambda d: d.name):
        wheels = {url: url.rpartition("/")[2].partition("#")[0] for url in dist.wheel_urls}
        ours = next((name for url, name in wheels.items() if _is_ours(url, our_index)), None)
        pure = next((name for name in wheels.values() if name.endswith("-none-any.whl")), None)
        status: Status
        if ours:
            status, evidence = "our-index", ours
        elif pure:
            status, evidence = "pure-python", pure
        elif wheels:
            status, evidence = "pypi-riscv64", next(iter(wheels.values()))
        elif dist.name in recipes:
            status, evidence = "has-recipe", str(recipes[dist.name])
        else:
            status, evidence = "no-recipe", "sdist only" if dist.has_sdist else "no files"
        found.append(Coverage(dist.name, dist.version, status, evidence))
    return found


def _is_ours(url: str, our_index: str | None) -> bool:
    if our_index is None:
        return False
    # Our wheels live beside the index's simple/ (in files/), where its pages link them.
    root = our_index.rstrip("/").removesuffix("/simple")
    return url.startswith(root + "/")


def read_lock(text: str, source: str) -> list[LockedDistribution]:
    """The distributions of a PEP 751 lock file's text."""
    try:
        data = tomllib.loads(text)
        return [
            LockedDistribution(
                canonicalize_name(package["name"]),
                str(package.get("version", "")),
                tuple(str(wheel["url"]) for wheel in package.get("wheels", [])),
                "sdist" in package,
            )
            for package in data.get("packages", [])
        ]
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise FactoryError(f"{source}: not a lock file uv could have written ({error})") from None


def resolve(
    requirements: Sequence[str],
    python: str,
    our_index: str | None,
    pypi_index: str,
    timeout: float = RESOLVE_TIMEOUT_SECONDS,
) -> list[LockedDistribution]:
    """The closure of ``requirements`` for riscv64 Linux and ``python``, by uv."""
    uv = _uv()
    with tempfile.TemporaryDirectory(prefix="factory-coverage-") as work:
        inputs = Path(work) / "requirements.in"
        inputs.write_text("".join(f"{line}\n" for line in requirements), encoding="utf-8")
        lock = Path(work) / "pylock.toml"
        argv = [
            uv, "pip", "compile", str(inputs), "-o", str(lock), "--no-header", "--quiet",
            "--python-platform", "riscv64-unknown-linux", "--python-version", python,
            "--default-index", pypi_index, "--no-config",
        ]  # fmt: skip
        if our_index is not None:
            argv += ["--index", our_index]
        # Resolving needs no interpreter of the target's version: never fetch one.
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        try:
            run(argv, env=env, timeout=timeout, capture=True)
        except StepTimeout:
            raise EnvironmentProblem(
                f"resolving the requirements took longer than {timeout:g} s",
                hint="check the network (proxy settings) and the index URLs, then retry",
            ) from None
        except CommandFailed as error:
            raise ConfigError(
                f"the requirements could not be resolved for riscv64: {_last_line(error)}",
                hint="check the requirement names and versions (and the index URLs)",
            ) from None
        return read_lock(lock.read_text(encoding="utf-8"), "uv's lock file")


def _last_line(error: CommandFailed) -> str:
    """uv's reason (it wraps it over several lines under a heading) as one line."""
    text = " ".join(line.strip() for line in error.details if line.strip())
    return text[text.find("Because") :] if "Because" in text else text or error.message


def _uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        raise EnvironmentProblem(
            "uv is not installed", hint="pip install uv (the factory's venv has it)"
        ) from None
    return str(find_uv_bin())
