"""The unavoidable I/O of a full `factory index` run, with no work at all in between.

Run by index_bench.py in the same round as the two tools, as its own process (starting
Python is part of the floor): list the wheelhouse, read its catalog, then write a copy
of a finished index's pages (the same paths and sizes) into an empty directory, split
between the given number of forked processes, and sync, as the factory does before it
publishes.

Whatever renders the index can only be slower than this: dumb-pypi's time over this
one is the best ratio any implementation of the same output could reach on this machine.

Usage: io_floor.py <wheelhouse> <pages list> <empty output directory> <processes>
where the pages list has a "<relative path>\\t<size>" line per file of the finished index.
(It imports nothing from the factory: its imports are not part of the floor.)
"""

from __future__ import annotations

import os
import sys
import time


def write(out: str, pages: list[list[str]]) -> None:
    made = set()
    for path, size in pages:
        final = f"{out}/{path}"
        directory = final.rpartition("/")[0]
        if directory not in made:
            os.makedirs(directory, exist_ok=True)
            made.add(directory)
        fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, b"x" * int(size))
        os.close(fd)


def main(wheelhouse: str, pages_list: str, out: str, processes: str) -> None:
    started = time.perf_counter()
    os.listdir(wheelhouse)
    with open(f"{wheelhouse}/catalog.tsv", encoding="utf-8") as handle:
        handle.read().split("\n")
    with open(pages_list, encoding="utf-8") as handle:
        pages = [line.split("\t") for line in handle.read().splitlines()]
    workers = int(processes)
    children = []
    for index in range(workers):
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                write(out, pages[index::workers])
                status = 0
            finally:
                os._exit(status)  # never back into the parent's code
        children.append(pid)
    for pid in children:
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit(f"a writer failed ({status})")
    os.sync()
    seconds = time.perf_counter() - started
    print(f"io floor: {len(pages)} pages by {workers} process(es) in {seconds:.3f} s")


if __name__ == "__main__":
    main(*sys.argv[1:])
