"""`factory merge`: build artifacts into a state directory (``wheelhouse/`` + ``builds/``).

Each artifact is what one build job leaves (``factory build --wheelhouse A/wheelhouse
--logs A/builds``). Wheels are added with their ``.metadata``, build record and catalog
line, wheel last, as a build adds them; a wheel name the state already has with other
bytes is refused before anything is written (a published file name never gets new
bytes). Build logs and records are copied into ``builds/<project>/``, and the listing
``builds/index.json`` is rewritten, so a runner reading the published index over HTTP
sees failed builds too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._fs import copy_atomically, write_atomically
from .catalog import CatalogEntry, parse_line, read_catalog
from .errors import ConfigError
from .hashing import sha256_file
from .records import read_record
from .state import BUILDS_LISTING, builds_listing
from .wheelhouse import put_wheel
from .wheelmeta import METADATA_SUFFIX, RECORD_SUFFIX


@dataclass(frozen=True)
class MergedBuild:
    """A build record an artifact brought: what the run's summary shows."""

    project: str
    version: str
    outcome: str
    wheel: str | None
    error: str
    log: str | None  # relative to builds/


@dataclass(frozen=True)
class MergeReport:
    added: tuple[str, ...]  # wheels new in the state
    unchanged: tuple[str, ...]  # wheels it had with the same bytes
    build_files: int  # logs and records copied
    builds: tuple[MergedBuild, ...] = ()

    def markdown(self, log_url: str | None) -> str:
        """A table of this run's builds for the job summary, each linking its log."""
        lines = ["| package | version | result | wheel or error | log |", "|---|---|---|---|---|"]
        for build in self.builds:
            detail = build.wheel if build.outcome == "success" else build.error
            detail = (detail or "").replace("|", "\\|").replace("\n", " ")
            log = ""
            if build.log is not None:
                log = f"[log]({log_url.rstrip('/')}/{build.log})" if log_url else build.log
            lines.append(
                f"| {build.project} | {build.version} | {build.outcome} | {detail} | {log} |"
            )
        if not self.builds:
            lines.append("| (no builds) | | | | |")
        return "\n".join(lines) + "\n"


def merge(artifacts: Sequence[Path], state: Path) -> MergeReport:
    wheelhouse = state / "wheelhouse"
    builds = state / "builds"
    planned: dict[str, tuple[Path, CatalogEntry]] = {}  # wheel name -> (its artifact, line)
    unchanged = []
    for artifact in artifacts:
        source = artifact / "wheelhouse"
        if not source.is_dir() and not (artifact / "builds").is_dir():
            raise ConfigError(
                f"{artifact} holds neither wheelhouse/ nor builds/: not a build artifact",
                hint="an artifact is the directory a build job wrote with "
                "`factory build --wheelhouse DIR/wheelhouse --logs DIR/builds`",
            )
        catalog = read_catalog(source) if source.is_dir() else {}
        for wheel in sorted(source.glob("*.whl")) if source.is_dir() else []:
            line = catalog.get(wheel.name)
            entry = parse_line(line) if line is not None else None
            if entry is None:
                raise ConfigError(
                    f"{wheel}: no catalog line in its artifact; nothing was merged",
                    hint="merge the directories `factory build` wrote, or `factory adopt` it",
                )
            existing = wheelhouse / wheel.name
            earlier = planned.get(wheel.name)
            other = existing if existing.exists() else earlier[0] / wheel.name if earlier else None
            if other is not None:
                if sha256_file(other) != sha256_file(wheel):
                    raise ConfigError(
                        f"{wheel} has other bytes than {other}; nothing was merged",
                        hint="a published file name never gets new bytes: raise the recipe's "
                        "build_number and build again",
                    )
                if existing.exists():
                    unchanged.append(wheel.name)
                continue
            planned[wheel.name] = (source, entry)
    wheelhouse.mkdir(parents=True, exist_ok=True)
    for name, (source, entry) in sorted(planned.items()):
        metadata, record = (_read(source / (name + s)) for s in (METADATA_SUFFIX, RECORD_SUFFIX))
        put_wheel(wheelhouse, entry, source / name, metadata, record)
    copied = 0
    merged = []
    for artifact in artifacts:
        for file in sorted((artifact / "builds").glob("*/*")):
            if not file.is_file() or file.name.startswith("."):
                continue
            copy_atomically(file, builds / file.parent.name / file.name)
            copied += 1
            if file.suffix == ".json":
                merged.extend(_merged_build(file))
    builds.mkdir(parents=True, exist_ok=True)
    write_atomically(builds / BUILDS_LISTING, builds_listing(builds))
    return MergeReport(tuple(sorted(planned)), tuple(sorted(set(unchanged))), copied, tuple(merged))


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _merged_build(path: Path) -> list[MergedBuild]:
    try:
        record = read_record(path)
    except ConfigError:
        return []  # not a build record (check.log's neighbours, a stray file)
    log = path.with_suffix(".log")
    return [
        MergedBuild(
            record.project,
            record.version,
            record.outcome,
            record.wheel.filename if record.wheel else None,
            record.error,
            f"{path.parent.name}/{log.name}" if log.is_file() else None,
        )
    ]
