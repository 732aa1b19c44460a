"""A large index rendered by forked processes that cannot outlive the run.

Rendering 10,000 projects is Python work of several seconds on one core; split over
the machine's cores it takes a fraction. A fork copies the parent's code and data (the
wheelhouse read, the plan), so nothing is imported again or sent to the children but
their results, which come back pickled through a pipe.

A child is killed by the kernel as soon as the process that forked it dies
(``PR_SET_PDEATHSIG``): a ``kill -9`` of ``factory index`` leaves nothing running, so
nothing writes into index/ behind the next run's back and no inherited lock stays held.
"""

from __future__ import annotations

import os
import pickle
import signal
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar, cast

from ..errors import FactoryError

Part = TypeVar("Part")
Result = TypeVar("Result")

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def worker_count() -> int:
    """The cores this process may run on (a CI runner's cgroup may give it fewer)."""
    return len(os.sched_getaffinity(0))


def in_children(parts: Sequence[Part], work: Callable[[Part], Result]) -> list[Result]:
    """``work(part)`` for every part, in order: the first in this process, each other in
    a forked child. An error in any part is raised here, after every child is gone."""
    parent = os.getpid()
    children: list[tuple[int, int]] = []
    try:
        for part in parts[1:]:
            children.append(_fork(parent, part, work))
        results = [work(parts[0])]
        while children:
            pid, fd = children.pop(0)
            results.append(cast(Result, _collect(pid, fd)))
        return results
    finally:
        for pid, fd in children:  # this process failed first: stop the others
            os.kill(pid, signal.SIGKILL)
            os.close(fd)
            os.waitpid(pid, 0)


def _fork(parent: int, part: Part, work: Callable[[Part], Result]) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(parent, part, work, write_end)
    os.close(write_end)
    return pid, read_end


def _child(parent: int, part: Part, work: Callable[[Part], Result], pipe: int) -> NoReturn:
    status = 1
    try:
        import ctypes  # here: the parent, and a run that forks nothing, never need it

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == parent:  # else the parent died before the line above
            try:
                outcome: tuple[bool, object] = (True, work(part))
            except FactoryError as error:
                outcome = (False, error)
            except BaseException:  # a bug: its traceback, as text
                outcome = (False, traceback.format_exc())
            with os.fdopen(pipe, "wb") as handle:
                pickle.dump(outcome, handle, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
    finally:
        os._exit(status)  # never back into the parent's code, its buffers or its atexit


def _collect(pid: int, fd: int) -> object:
    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data or status != 0:
        raise RuntimeError(f"an index worker process died (wait status {status})")
    succeeded, value = pickle.loads(data)
    if succeeded:
        return value
    if isinstance(value, FactoryError):
        raise value
    raise RuntimeError(f"an index worker process failed:\n{value}")
