"""One error hierarchy: every failure the user can cause or meet, with its exit code.

Each error is caught once, in ``cli.main``, and printed as one ``ERROR:`` line plus
a hint (the cibuildwheel ``errors.py`` pattern), so no module prints its own errors.
"""

from __future__ import annotations


class FactoryError(Exception):
    """A failure with a message for the user and a hint on what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "", details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Lines printed before the ERROR line: every problem found, or a log's tail.
        self.details = details

    def __reduce__(self) -> tuple[type[FactoryError], tuple[str, str, tuple[str, ...]]]:
        # Errors raised in worker processes (`factory index`) cross back by pickle.
        return (type(self), (self.message, self.hint, self.details))


class ConfigError(FactoryError):
    """Bad input: recipes, patches, options. Nothing was built."""

    exit_code = 2


class SourceError(FactoryError):
    """A source could not be fetched, verified or patched."""

    exit_code = 3


class SourceUnreachable(SourceError):
    """A source's server could not be reached at all (no name, no route, refused): the
    recipe may well be right. `factory build` fails; `factory check` warns."""


class BuildFailed(FactoryError):
    """A build, repair or wheel test step failed; the wheelhouse is unchanged."""

    exit_code = 4


class StepTimeout(BuildFailed):
    """A step ran past its timeout and its whole process tree was killed."""


class EnvironmentProblem(FactoryError):
    """The host lacks something the factory needs (a tool, root, binfmt...)."""

    exit_code = 5


class NoWheelProduced(BuildFailed):
    """The build backend exited 0 but left no wheel in its output directory."""


class SeveralWheelsProduced(BuildFailed):
    """One build gave more than one wheel: the factory would not know which to publish."""


class RepairProducedNothing(BuildFailed):
    """auditwheel exited 0 but wrote no repaired wheel."""


class IsaBeyondBaseline(BuildFailed):
    """A wheel's compiled code needs RISC-V extensions beyond the recipe's baseline."""


class CoverageGap(FactoryError):
    """`factory coverage`: some distribution has neither a riscv64 wheel nor a recipe."""

    exit_code = 7


class LockHeld(FactoryError):
    """Another factory process holds a lock this one needs (not bad input: wait, retry)."""

    exit_code = 6


class PublishedFileChanged(FactoryError):
    """`factory publish`: a file name already published would get other bytes. Nothing
    was published; the remote is as it was."""

    exit_code = 8


class PublishFailed(FactoryError):
    """`factory publish`: the remote or the release API refused, failed or could not be
    reached (after the retries). What was published before is unchanged."""

    exit_code = 9


def most_severe(exit_codes: list[int]) -> type[FactoryError]:
    """The error class to end a batch with: that of the highest exit code among its
    failures: a lock held elsewhere (6) outranks a host problem (5), which outranks a
    build failure (4), then a source problem (3), then bad input (2)."""
    worst = max(exit_codes)
    for error in (ConfigError, SourceError, BuildFailed, EnvironmentProblem, LockHeld):
        if error.exit_code == worst:
            return error
    return FactoryError
