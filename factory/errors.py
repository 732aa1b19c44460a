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
