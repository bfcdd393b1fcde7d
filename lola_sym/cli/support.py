"""Helpers of the ``lola-sym`` commands: usage errors, JSON-ready data, output, progress,
chunked training.

Imported by both :mod:`lola_sym.cli` (the parser and entry point) and
:mod:`lola_sym.cli.commands` (the subcommands), and importing neither.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy as sp

from lola_sym.dynamics.training import Trajectory, train

__all__ = ["UsageError", "plain", "emit", "undefined", "Progress", "progress_on",
           "train_in_chunks"]


class UsageError(Exception):
    """Arguments that parse but do not fit together (exit code 2).

    Raised by the subcommands, caught by :func:`lola_sym.cli.main` (which re-exports it).
    """


def plain(x):
    """``x`` as JSON-ready Python data: numpy to lists, non-finite floats to None, sympy to str.

    Examples
    --------
    >>> plain({"a": np.array([1.0, np.nan]), "b": (np.int64(2), sp.Rational(1, 3))})
    {'a': [1.0, None], 'b': [2, '1/3']}
    """
    if isinstance(x, Mapping):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return plain(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, Fraction):
        x = float(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, sp.Basic):
        return sp.sstr(x)
    return x


def undefined(x, path: str = "") -> list:
    """Where ``x`` (nested dicts, lists, arrays) holds NaN, as paths (``outcomes[0].r1_mean``).

    Examples
    --------
    >>> undefined({"a": [1.0, float("nan")], "b": {"c": np.array([np.nan, 0.0])}, "d": None})
    ['a[1]', 'b.c']
    """
    if isinstance(x, Mapping):
        return [p for k, v in x.items()
                for p in undefined(v, f"{path}.{k}" if path else str(k))]
    if isinstance(x, (list, tuple)):
        return [p for i, v in enumerate(x) for p in undefined(v, f"{path}[{i}]")]
    if isinstance(x, np.ndarray):
        return [path] if x.dtype.kind in "fc" and np.isnan(x).any() else []
    if isinstance(x, (float, np.floating, complex, np.complexfloating)):
        return [path] if np.isnan(x) else []
    return []


def emit(args, text: str, data=None, why: str = "") -> int:
    r"""Print ``text`` (or ``data`` as JSON with ``--json``), or write it to ``--out``.

    When ``data`` holds NaN (a mean over no runs, say), a one-line note on stderr
    names where and, with ``why``, the reason.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments: ``command``, ``out`` and (optionally) ``json``.
    text : str
        The output for people (trailing newlines are trimmed to one).
    data : optional
        The same result as data, printed as JSON (:func:`plain`) with ``--json``.
    why : str
        Why a result can be NaN, for the note.

    Returns
    -------
    int
        The exit code, 0.

    Examples
    --------
    >>> from argparse import Namespace
    >>> emit(Namespace(command="train", out=None), "mean reward -1.0\n\n", {"r1": -1.0})
    mean reward -1.0
    0
    >>> emit(Namespace(command="train", json=True, out=None), "mean reward -1.0",
    ...      {"r1": np.float64(-1.0), "runs": np.int64(3)})
    {
      "r1": -1.0,
      "runs": 3
    }
    0

    ``--out`` writes the file, creating missing parent directories:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d, "results", "train.txt")
    ...     code = emit(Namespace(command="train", out=str(path)), "mean reward -1.0")
    ...     code, path.read_text()
    (0, 'mean reward -1.0\n')
    """
    bad = undefined(data)
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        why = why or "e.g. every run of a setting diverged, leaving nothing to average"
        print(f"lola-sym {args.command}: note: {len(bad)} result{'s' if len(bad) > 1 else ''} "
              f"undefined (NaN; null in JSON): {shown}; {why}", file=sys.stderr)
    if getattr(args, "json", False):
        text = json.dumps(plain(data), indent=2, allow_nan=False)
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    else:
        print(text.rstrip("\n"))
    return 0


class Progress:
    """A one-line text progress bar on a stream (stderr), drawn only when ``enabled``.

    Examples
    --------
    >>> import io
    >>> s = io.StringIO()
    >>> p = Progress(4, "train", True, stream=s, width=8)
    >>> p.update(1, "step 1"); p.close()
    >>> s.getvalue()
    '\\rtrain [##------] 1/4 step 1\\n'
    """

    def __init__(self, total: int, label: str, enabled: bool, *, stream=None, width: int = 30):
        self.total, self.label, self.enabled, self.width = max(int(total), 0), label, enabled, width
        self.stream = sys.stderr if stream is None else stream
        self._shown = 0

    def update(self, done: int, note: str = "") -> None:
        if not self.enabled:
            return
        frac = 1.0 if self.total == 0 else min(done / self.total, 1.0)
        n = int(round(self.width * frac))
        line = f"{self.label} [{'#' * n}{'-' * (self.width - n)}] {done}/{self.total}"
        line += f" {note}" if note else ""
        self.stream.write("\r" + line.ljust(self._shown))
        self.stream.flush()
        self._shown = len(line)

    def close(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = 0


def progress_on(args) -> bool:
    """Whether to show progress: ``--progress``/``--no-progress`` if given, else when stderr is a terminal.

    Examples
    --------
    >>> from argparse import Namespace
    >>> progress_on(Namespace(progress=True)), progress_on(Namespace(progress=False))
    (True, False)
    """
    if args.progress is not None:
        return args.progress
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


# ---------------------------------------------------------------------- training
def train_in_chunks(game, rule1, rule2=None, *, runs: int, steps: int, delta: float, seed=0,
                    init_std: float = 1.0, method: str = "simultaneous",
                    on_divergence: str = "raise", max_abs: float = 1e4,
                    chunk: int | None = None, callback=None, **hyper) -> Trajectory:
    r""":func:`lola_sym.train`, calling ``callback(done)`` every ``chunk`` updates and at the end.

    One call of :func:`~lola_sym.train` (its own ``callback``), so the result is
    that call's. With ``chunk=None`` or the optimistic method, only the end is
    reported.

    Examples
    --------
    >>> from lola_sym import games
    >>> seen = []
    >>> _ = train_in_chunks(games.tandem(), "nl", runs=3, steps=7, delta=0.1, chunk=3,
    ...                     callback=seen.append)
    >>> seen
    [3, 6, 7]
    """
    every = max(steps, 1) if (chunk is None or chunk >= steps or method == "optimistic") else chunk

    def report(done):
        if callback is not None and (done % every == 0 or done == steps):
            callback(done)
    tr = train(game, rule1, rule2, runs=runs, steps=steps, delta=delta, seed=seed,
               init_std=init_std, method=method, on_divergence=on_divergence,
               max_abs=max_abs, callback=report, **hyper)
    if steps == 0 and callback is not None:
        callback(0)
    return tr
