"""The ``"numpy"`` backend: ``sympy.lambdify`` of the CSE'd program, the portable fallback."""

from __future__ import annotations

import inspect

import numpy as np
import sympy as sp
from scipy.special import expit

from lola_sym.program import softmax_numpy

__all__ = ["NAME", "available", "build", "call", "point", "to_payload", "from_payload"]

NAME = "numpy"
#: numpy makes one temporary array per operation: batches run in chunks
CHUNKED = True


def available() -> bool:
    """Always: numpy and sympy are dependencies.

    Examples
    --------
    >>> available()
    True
    """
    return True


def build(ordered, outs, args, prog, prog_args, n_out, lib_dir):
    """A Python function of the argument columns, its body the CSE'd steps."""
    raw = sp.lambdify(args, list(outs), modules=[{"sigmoid": expit, "softmax": softmax_numpy},
                                                 "numpy"],
                      cse=lambda _exprs: (ordered, list(outs)), docstring_limit=0)
    return raw, inspect.getsource(raw)


def call(raw, X, n_out):
    """Evaluate the rows of ``X`` column by column."""
    outs = raw(*(X[:, i] for i in range(X.shape[1])))
    return np.stack([np.broadcast_to(np.asarray(o, dtype=np.float64), (X.shape[0],))
                     for o in outs], axis=-1)


def point(raw, x, n_out):
    """One point."""
    return call(raw, x[None, :], n_out)[0]


def to_payload(raw) -> dict:
    """numpy-compiled programs are rebuilt, not cached."""
    raise ValueError("numpy-compiled programs are not cached")


def from_payload(payload, n_args, n_out, lib_dir):
    """Refuse: numpy-compiled programs are not cached (a backend's disk-cache interface).

    Examples
    --------
    >>> from_payload({}, 2, 2, None)
    Traceback (most recent call last):
    ...
    ValueError: numpy-compiled programs are not cached
    """
    raise ValueError("numpy-compiled programs are not cached")
