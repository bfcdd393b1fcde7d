"""Progress of a sweep: cells done, the rate and the time remaining.

:class:`Progress` keeps the counts and either draws a one-line bar on a stream
(stderr) or calls a function with a :class:`Status` after every chunk.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

__all__ = ["Status", "Progress", "format_seconds"]


def format_seconds(s: float) -> str:
    """A duration for people: ``42 s``, ``3 min 5 s``, ``2 h 10 min``.

    Examples
    --------
    >>> format_seconds(42.4), format_seconds(185), format_seconds(7800)
    ('42 s', '3 min 5 s', '2 h 10 min')
    """
    if s != s or s == float("inf"):
        return "?"
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {(s % 3600) // 60} min"


@dataclass(frozen=True)
class Status:
    """Where a sweep stands (given to a progress function after every chunk).

    ``rate`` counts the cells computed by this run per second (resumed cells
    excluded); ``remaining`` extrapolates it, in seconds.
    """

    chunks_done: int
    chunks: int
    cells_done: int
    cells: int
    elapsed: float
    rate: float
    remaining: float

    def line(self) -> str:
        return (f"{self.cells_done}/{self.cells} cells ({self.chunks_done}/{self.chunks} "
                f"chunks), {self.rate:,.0f} cells/s, {format_seconds(self.remaining)} left")


class Progress:
    """Counts of a sweep, shown on ``stream`` (``enabled``) or given to ``callback``.

    Examples
    --------
    >>> seen = []
    >>> p = Progress(4, 100, callback=seen.append)
    >>> p.start(chunks=1, cells=25)
    >>> p.advance(25)
    >>> seen[-1].cells_done, seen[-1].chunks_done
    (50, 2)
    """

    def __init__(self, chunks: int, cells: int, *, enabled: bool = False, callback=None,
                 stream=None, width: int = 24):
        self.chunks, self.cells = chunks, cells
        self.enabled, self.callback, self.width = enabled, callback, width
        self.stream = sys.stderr if stream is None else stream
        self.chunks_done = self.cells_done = self._skipped = 0
        self._t0 = time.perf_counter()
        self._shown = 0

    def note(self, text: str) -> None:
        """A line of information (a resume, a retry) when the bar is drawn."""
        if self.enabled:
            self._clear()
            self.stream.write(f"sweep: {text}\n")
            self.stream.flush()

    def start(self, chunks: int = 0, cells: int = 0) -> None:
        """Start the clock; ``chunks`` and ``cells`` were finished before (a resume)."""
        self.chunks_done, self.cells_done, self._skipped = chunks, cells, cells
        self._t0 = time.perf_counter()
        self._show()

    def advance(self, cells: int) -> None:
        """One more chunk of ``cells`` cells is done."""
        self.chunks_done += 1
        self.cells_done += cells
        self._show()

    def status(self) -> Status:
        elapsed = time.perf_counter() - self._t0
        ran = self.cells_done - self._skipped
        rate = ran / elapsed if elapsed > 0 else 0.0
        left = (self.cells - self.cells_done) / rate if rate > 0 else float("inf")
        return Status(self.chunks_done, self.chunks, self.cells_done, self.cells, elapsed,
                      rate, left if self.cells_done < self.cells else 0.0)

    def _show(self) -> None:
        st = self.status()
        if self.callback is not None:
            self.callback(st)
        if not self.enabled:
            return
        frac = 1.0 if self.cells == 0 else st.cells_done / self.cells
        n = int(round(self.width * frac))
        text = f"sweep [{'#' * n}{'-' * (self.width - n)}] {st.line()}"
        self.stream.write("\r" + text.ljust(self._shown))
        self.stream.flush()
        self._shown = len(text)

    def _clear(self):
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def close(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = 0
