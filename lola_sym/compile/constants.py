"""Numeric constants of compiled code: every one is a correctly rounded double, or refused."""

from __future__ import annotations

import numpy as np
import sympy as sp

__all__ = ["to_double", "check_constants"]


def to_double(x) -> float:
    r"""The correctly rounded double of an exact sympy number, or a ``ValueError``.

    Every constant that a backend emits goes through this function, so that it
    round-trips: the emitted literal parses back to exactly this double. A
    constant whose magnitude overflows double precision, or a non-zero one that
    underflows to zero, is refused instead of becoming ``inf`` or ``0``.

    Examples
    --------
    >>> to_double(sp.Integer(10) ** 20)
    1e+20
    >>> to_double(sp.Rational(10**30 + 1, 3)) == (10**30 + 1) / 3
    True
    >>> to_double(sp.Integer(10) ** 400)
    Traceback (most recent call last):
    ...
    ValueError: the constant 1.0E+400 is beyond double precision (|x| > 1.8e308); rescale the payoffs or hyper-parameters
    """
    x = sp.sympify(x)
    if x.is_Rational:
        p, q = int(x.p), int(x.q)
        try:
            v = p / q                       # Python's int division is correctly rounded
        except OverflowError:
            v = float("inf")
    elif x.is_number and x.is_real is not False:
        v = float(sp.Float(x, 30)) if x.is_Float is False else float(x)
    else:
        raise ValueError(f"the constant {x} is not a real number")
    if not np.isfinite(v):
        raise ValueError(f"the constant {sp.Float(x, 2)} is beyond double precision "
                         f"(|x| > 1.8e308); rescale the payoffs or hyper-parameters")
    if v == 0.0 and x != 0:
        raise ValueError(f"the constant {sp.Float(x, 2)} underflows to zero in double precision "
                         f"(|x| < 4.9e-324); rescale the payoffs or hyper-parameters")
    return v


def check_constants(exprs) -> None:
    """Raise a ``ValueError`` if a numeric constant in ``exprs`` has no finite double (see :func:`to_double`).

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> check_constants([sp.Rational(1, 3) * x])
    >>> check_constants([sp.Integer(10) ** 400 * x])
    Traceback (most recent call last):
    ...
    ValueError: the constant 1.0E+400 is beyond double precision (|x| > 1.8e308); rescale the payoffs or hyper-parameters
    """
    seen = set()
    for e in exprs:
        for a in sp.sympify(e).atoms(sp.Number, sp.NumberSymbol):
            if a not in seen:
                seen.add(a)
                to_double(a)
