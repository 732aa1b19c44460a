"""The manifest's project table: what each project's pages were made from, and its row
on the landing page.

A run that changes one project of 10,000 still needs every row (the landing page lists
them all) and writes the table back whole, but looks at only a few projects' digests.
So the table keeps each project's line as the manifest holds it, parses a line only
when the project is looked up, and writes the lines nobody changed back as they were:
parsing and formatting 10,000 lines cost such a run more than its own work.
"""

from __future__ import annotations

from collections.abc import Iterator, KeysView, Mapping
from pathlib import Path
from typing import NamedTuple

from ..errors import ConfigError


class ProjectState(NamedTuple):
    """What the project's pages were made from, by digest, and what they publish."""

    wheels: str  # digest of its wheels (wheelstore.Wheels.digest); the lists are kept there
    others: str  # digest of its other inputs (yanks, recipe, logs, hosting); "" when none
    files: int  # published files: 0 when all are filtered out or removed on purpose
    row: str  # its landing-page row: "" when it has no pages (nothing published or removed)

    @property
    def published(self) -> bool:
        """Whether it has pages: files, or only files removed on purpose and why."""
        return bool(self.row)


def project_line(name: str, state: ProjectState) -> str:
    # Tab-separated, not JSON: JSON would cost a run that reads every line several times
    # more. No field holds a tab or a newline.
    return f"{name}\t{state.wheels}\t{state.others}\t{state.files}\t{state.row}"


FIELDS = 5  # a line's fields: project_line's


class ProjectTable:
    """Each project's line by name, in name order, and the totals of the published."""

    def __init__(
        self, lines: dict[str, str], published: int, files: int, path: Path | None = None
    ) -> None:
        self._lines = lines
        self.published = published  # projects with pages
        self.files = files  # the files they publish
        self._path = path  # where the lines were read: named when one turns out corrupt

    @classmethod
    def read(cls, text: str, published: int, files: int, path: Path) -> ProjectTable:
        """The table from the manifest's lines (``text``, each ending in a newline)."""
        lines = text.split("\n")[:-1]
        # One count over the whole text instead of a check per line; a line that still
        # has too many or too few fields is caught when it is parsed.
        if text.count("\t") != (FIELDS - 1) * len(lines):
            raise unreadable_bookkeeping(path, "a project line with too few or many fields")
        return cls({line[: line.index("\t")]: line for line in lines}, published, files, path)

    def get(self, name: str) -> ProjectState | None:
        line = self._lines.get(name)
        if line is None:
            return None
        try:
            _, wheels, others, files, row = line.split("\t")
            return ProjectState(wheels, others, int(files), row)
        except ValueError as exc:
            raise unreadable_bookkeeping(self._path, exc) from None

    def __contains__(self, name: object) -> bool:
        return name in self._lines

    def __len__(self) -> int:
        return len(self._lines)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProjectTable):
            return NotImplemented
        return self._lines == other._lines

    def names(self) -> KeysView[str]:
        return self._lines.keys()

    def rows(self) -> dict[str, str]:
        """Every published project's landing-page row, in name order."""
        rows = {}
        for name, line in self._lines.items():
            row = line[line.rindex("\t") + 1 :]
            if row:
                rows[name] = row
        return rows

    def lines(self) -> Iterator[str]:
        return iter(self._lines.values())

    def with_others(self) -> set[str]:
        """The projects whose pages have inputs besides their wheels (few, usually)."""
        # The others digest follows the wheels digest: no input besides the wheels leaves
        # two tabs in a row, which no other field can (the wheels digest is "" only in a
        # table migrated from format 4, and such a run looks at every project anyway).
        return {name for name, line in self._lines.items() if "\t\t" not in line}

    def without(self, wheels: str) -> set[str]:
        """The projects whose wheels digest is not ``wheels`` (a 64-digit hex digest)."""
        field = f"\t{wheels}\t"  # no other field holds a digest and tabs around it
        return {name for name, line in self._lines.items() if field not in line}

    def updated(self, states: Mapping[str, ProjectState], removed: set[str]) -> ProjectTable:
        """This table with ``states`` put in and ``removed`` taken out."""
        lines = dict(self._lines)
        published, files = self.published, self.files
        for name in states.keys() | removed:
            old = self.get(name)
            if old is not None and old.published:
                published, files = published - 1, files - old.files
        for name in removed:
            lines.pop(name, None)
        for name, state in states.items():
            if state.published:
                published, files = published + 1, files + state.files
            lines[name] = project_line(name, state)
        if not states.keys() <= self._lines.keys():
            lines = dict(sorted(lines.items()))  # a new project: keep name order
        return ProjectTable(lines, published, files, self._path)


def unreadable_bookkeeping(path: Path | None, why: object) -> ConfigError:
    return ConfigError(
        f"{path}: unreadable index bookkeeping ({why})",
        hint="it was not written by this version of the factory; write the index to a "
        "new directory (--out) or remove this one",
    )
