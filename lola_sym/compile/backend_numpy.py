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
    r"""A Python function of the argument columns, its body the CSE'd steps.

    Normally called by :func:`~lola_sym.compile.compile_field`, which renames the
    program's symbols to ``a<i>`` (arguments) and ``s<j>``/``c<j>`` (steps) first.

    Examples
    --------
    :math:`y = (\sigma(a_0)\,a_1,\ a_0 + a_1)`, compared with the exact value at
    :math:`a = (2, 3)`:

    >>> from lola_sym.program import sigmoid
    >>> a0, a1, s0, s1 = sp.symbols("a0 a1 s0 s1")
    >>> raw, source = build([(s0, sigmoid(a0)), (s1, s0 * a1)], [s1, a0 + a1], [a0, a1],
    ...                     None, None, 2, None)
    >>> y = raw(2.0, 3.0)
    >>> exact = float(3 / (1 + sp.exp(-2)))
    >>> bool(abs(y[0] - exact) <= 4 * np.finfo(float).eps * exact), y[1]
    (True, 5.0)
    >>> "s0 = sigmoid(a0)" in source
    True
    """
    raw = sp.lambdify(args, list(outs), modules=[{"sigmoid": expit, "softmax": softmax_numpy},
                                                 "numpy"],
                      cse=lambda _exprs: (ordered, list(outs)), docstring_limit=0)
    return raw, inspect.getsource(raw)


def call(raw, X, n_out):
    """Evaluate the rows of ``X`` column by column.

    Examples
    --------
    >>> a0, a1, s0 = sp.symbols("a0 a1 s0")
    >>> raw, _ = build([(s0, a0 * a1)], [s0 + 1, a0], [a0, a1], None, None, 2, None)
    >>> call(raw, np.array([[2.0, 3.0], [-1.0, 4.0]]), 2)       # a0 * a1 + 1 and a0, per row
    array([[ 7.,  2.],
           [-3., -1.]])
    """
    outs = raw(*(X[:, i] for i in range(X.shape[1])))
    return np.stack([np.broadcast_to(np.asarray(o, dtype=np.float64), (X.shape[0],))
                     for o in outs], axis=-1)


def point(raw, x, n_out):
    """One point.

    Examples
    --------
    >>> a0, a1, s0 = sp.symbols("a0 a1 s0")
    >>> raw, _ = build([(s0, a0 * a1)], [s0 + 1, a0], [a0, a1], None, None, 2, None)
    >>> x = np.array([2.0, 3.0])
    >>> point(raw, x, 2), bool((point(raw, x, 2) == call(raw, x[None, :], 2)[0]).all())
    (array([7., 2.]), True)
    """
    return call(raw, x[None, :], n_out)[0]


def to_payload(raw) -> dict:
    """numpy-compiled programs are rebuilt, not cached.

    Examples
    --------
    >>> a0, s0 = sp.symbols("a0 s0")
    >>> raw, _ = build([(s0, a0 * a0)], [s0], [a0], None, None, 1, None)
    >>> to_payload(raw)
    Traceback (most recent call last):
    ...
    ValueError: numpy-compiled programs are not cached
    """
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
