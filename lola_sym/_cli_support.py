"""Helpers of the ``lola-sym`` commands: JSON-ready data, output, progress, chunked training."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy as sp

from lola_sym.training import DivergenceError, Trajectory, _reward_scale, train

__all__ = ["plain", "emit", "Progress", "progress_on", "train_in_chunks"]


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


def emit(args, text: str, data=None) -> int:
    """Print ``text`` (or ``data`` as JSON with ``--json``), or write it to ``--out``."""
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
    if args.progress is not None:
        return args.progress
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


# ---------------------------------------------------------------------- training
def train_in_chunks(game, rule1, rule2=None, *, runs: int, steps: int, delta: float, seed=0,
                    init_std: float = 1.0, method: str = "simultaneous",
                    on_divergence: str = "raise", max_abs: float = 1e4,
                    chunk: int | None = None, callback=None, **hyper) -> Trajectory:
    r""":func:`lola_sym.train` in chunks of ``chunk`` steps, calling ``callback(done)`` after each.

    Each chunk continues from the previous one's last parameters, so the result
    equals one call of :func:`~lola_sym.train` (the test suite checks it
    bit for bit, diverged runs included). A run that diverged stays frozen: the
    next chunk marks it again at its first update, and the first mark is kept.
    The optimistic method remembers the previous direction, which a new call
    forgets, so it is never chunked.

    Examples
    --------
    >>> from lola_sym import games
    >>> a = train_in_chunks(games.tandem(), "nl", runs=3, steps=7, delta=0.1, chunk=3)
    >>> b = train(games.tandem(), "nl", runs=3, steps=7, delta=0.1)
    >>> bool(np.array_equal(a.theta1, b.theta1) and np.array_equal(a.reward, b.reward))
    True
    """
    common = dict(delta=delta, method=method, max_abs=max_abs, **hyper)
    if chunk is None or chunk >= steps or method == "optimistic":
        tr = train(game, rule1, rule2, runs=runs, steps=steps, seed=seed, init_std=init_std,
                   on_divergence=on_divergence, **common)
        if callback is not None:
            callback(steps)
        return tr
    if on_divergence not in ("raise", "mark"):
        raise ValueError(f"on_divergence must be 'raise' or 'mark', got {on_divergence!r}")
    parts, done, diverged_at = [], 0, None
    while done < steps:
        n = min(chunk, steps - done)
        start = (dict(runs=runs, seed=seed, init_std=init_std) if not parts else
                 dict(theta1=parts[-1].theta1[-1], theta2=parts[-1].theta2[-1]))
        tr = train(game, rule1, rule2, steps=n, on_divergence="mark", **start, **common)
        local = np.where(tr.diverged_at >= 0, tr.diverged_at + done, -1)
        diverged_at = local if diverged_at is None else np.where(diverged_at >= 0, diverged_at,
                                                                 local)
        if on_divergence == "raise" and np.any(diverged_at >= 0):
            first = int(diverged_at[diverged_at >= 0].min())
            idx = np.flatnonzero(diverged_at == first)
            raise DivergenceError(     # the message of lola_sym.train
                f"training diverged at update {first} of {steps} in run(s) {idx[:10].tolist()} "
                f"({rule1} vs {rule2 or rule1}, delta={tr.delta}): parameters became non-finite "
                f"or exceeded {max_abs:g}; lower delta or pass on_divergence='mark'")
        parts.append(tr)
        done += n
        if callback is not None:
            callback(done)
    T1 = np.concatenate([parts[0].theta1] + [p.theta1[1:] for p in parts[1:]])
    T2 = np.concatenate([parts[0].theta2] + [p.theta2[1:] for p in parts[1:]])
    reward = _reward_scale(game) * game.value(T1, T2)
    last = parts[-1]
    return Trajectory(game, T1, T2, reward, diverged_at, last.rules, last.hyper, last.delta,
                      method)
