"""Live progress for long builds: which step, how long it has run, its last output line.

On a terminal one status line is redrawn every second (an emulated build can be
silent for minutes, and nobody should think it hung); elsewhere (CI logs) each
step's start and end is printed, plus a heartbeat line every minute.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

HEARTBEAT_SECONDS = 60.0
LINE_WIDTH = 100


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


class Progress:
    def __init__(self, stream: TextIO = sys.stderr, live: bool | None = None) -> None:
        self._stream = stream
        self._live = stream.isatty() if live is None else live
        self._lock = threading.Lock()
        self._label = ""
        self._started = 0.0
        self._last_line = ""
        self._stop = threading.Event()

    def message(self, text: str) -> None:
        with self._lock:
            self._clear()
            print(text, file=self._stream, flush=True)

    def output_line(self, line: str) -> None:
        """Called for every line a running command prints."""
        if line.strip():
            self._last_line = line.strip()

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self._label, self._started, self._last_line = label, time.monotonic(), ""
        if not self._live:
            self.message(f"  {label} ...")
        self._stop.clear()
        ticker = threading.Thread(target=self._tick, daemon=True)
        ticker.start()
        ok = False
        try:
            yield
            ok = True
        finally:
            self._stop.set()
            ticker.join()
            elapsed = format_seconds(time.monotonic() - self._started)
            self.message(f"  {label} {'done' if ok else 'FAILED'} ({elapsed})")

    def _tick(self) -> None:
        interval = 1.0 if self._live else HEARTBEAT_SECONDS
        while not self._stop.wait(interval):
            elapsed = format_seconds(time.monotonic() - self._started)
            text = f"  {self._label} {elapsed}  {self._last_line}"[:LINE_WIDTH]
            with self._lock:
                if self._live:
                    self._stream.write("\r\x1b[K" + text)
                    self._stream.flush()
                else:
                    print(text, file=self._stream, flush=True)

    def _clear(self) -> None:
        if self._live:
            self._stream.write("\r\x1b[K")
