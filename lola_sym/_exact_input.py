r"""Exact inputs of the ``exact_*`` analyses: numbers, rational literals, declared symbols.

The exact Jacobian, threshold and fixed-point functions take parameters and
hyper-parameters as exact numbers. This module is their one validator:

* numbers (``int``, ``Fraction``, ``Decimal``, numpy integers and floats, finite
  Python floats read from their shortest ``repr``, so ``0.1`` is ``1/10``);
* sympy numbers that are finite and real: ``Rational``, ``Integer``, ``Float``
  (read from its decimal digits) and exact constants such as ``sqrt(2)`` or ``pi``
  (kept exact);
* strings parsed strictly as rational literals by :class:`fractions.Fraction`
  (``"1/3"``, ``"-2"``, ``"0.25"``, ``"1e-3"``). Strings never reach
  ``sympify``, which would ``eval`` them;
* for hyper-parameters only, a ``sympy.Symbol`` (e.g. ``sp.Symbol("eta",
  positive=True)``), which keeps the result symbolic in that rate.

A game's own symbols (``game.parameters``: payoffs, a discount) are not
inputs here: the exact analyses keep them, and ``game.substitute(...)``
(validated by the game) gives them numbers.

NaN, infinities, complex numbers, bools, magnitudes above :data:`MAX_EXACT_ABS`
and negative hyper-parameters (all rates, lookaheads and weights are
non-negative) raise ``ValueError`` or ``TypeError`` naming the argument.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import sympy as sp

from lola_sym._validation import parse_rational

__all__ = ["MAX_EXACT_ABS", "exact_number", "exact_point", "exact_hyper"]

#: Largest magnitude of an exact input. A logit of 1000 puts a probability within
#: :math:`e^{-1000}` of 0 or 1 (float64 saturates at about 37); exact arithmetic with
#: ``sigmoid(10**6)`` did not finish in 30 s (measured on matching pennies).
MAX_EXACT_ABS = 1000

_WHAT = "a number (int, Fraction, finite float, sympy number) or a rational literal such as '1/3'"


def _literal(text: str, name: str) -> sp.Rational:
    """A string read strictly as a rational literal (:func:`~lola_sym._validation.parse_rational`)."""
    try:
        return sp.Rational(parse_rational(text, name))
    except TypeError:
        raise TypeError(f"{name} must be {_WHAT}; the string {text!r} is not a rational literal "
                        f"(strings are never evaluated: pass sympy numbers such as sp.sqrt(2) "
                        f"as objects)") from None


def _sympy_number(x: sp.Basic, name: str, symbol: bool, instead: str) -> sp.Expr:
    if isinstance(x, sp.Symbol):
        if symbol:
            return x
        raise TypeError(f"{name} must be a number, not the symbol {x}{instead}")
    if not isinstance(x, sp.Expr) or not x.is_number:
        also = " or a sympy Symbol" if symbol else ""
        raise TypeError(f"{name} must be {_WHAT}{also}, got {type(x).__name__} {x}{instead}")
    if x is sp.nan or x.is_finite is False:
        raise ValueError(f"{name} must be finite, got {x}")
    if x.is_real is False:
        raise ValueError(f"{name} must be real, got {x}")
    if isinstance(x, sp.Float):
        return sp.Rational(Fraction(str(x)))
    if x.is_real is not True or x.is_finite is not True:
        raise ValueError(f"{name}: could not establish that {x} is a finite real number")
    return x


def exact_number(x, name: str, *, nonnegative: bool = False, symbol: bool = False,
                 instead: str = "") -> sp.Expr:
    """``x`` as an exact finite real sympy number (or, if ``symbol``, a declared Symbol).

    ``instead`` is appended to the message refusing a symbol or expression.

    Examples
    --------
    >>> exact_number(0.1, "theta1"), exact_number("-3/6", "eta"), exact_number(sp.sqrt(2), "x")
    (1/10, -1/2, sqrt(2))
    >>> exact_number('__import__("os").getpid()', "theta1")
    Traceback (most recent call last):
    ...
    TypeError: theta1 must be a number (int, Fraction, finite float, sympy number) or a rational literal such as '1/3'; the string '__import__("os").getpid()' is not a rational literal (strings are never evaluated: pass sympy numbers such as sp.sqrt(2) as objects)
    >>> exact_number(float("nan"), "eta")
    Traceback (most recent call last):
    ...
    ValueError: eta must be finite, got nan
    """
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, got a bool")
    if isinstance(x, str):
        v = _literal(x, name)
    elif isinstance(x, sp.Basic):
        v = _sympy_number(x, name, symbol, instead)
        if isinstance(v, sp.Symbol):
            if nonnegative and v.is_nonnegative is False:
                raise ValueError(f"{name} is the symbol {v}, declared negative; {name} is >= 0: "
                                 f"declare it sp.Symbol({v.name!r}, positive=True)")
            return v
    elif isinstance(x, (int, np.integer, Fraction)):
        v = sp.Rational(Fraction(int(x) if isinstance(x, np.integer) else x))
    elif isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            raise ValueError(f"{name} must be finite, got {x}")
        v = sp.Rational(Fraction(repr(float(x)) if isinstance(x, float) else str(x)))
    elif isinstance(x, Decimal):
        if not x.is_finite():
            raise ValueError(f"{name} must be finite, got {x}")
        v = sp.Rational(Fraction(x))
    elif isinstance(x, (complex, np.complexfloating)):
        raise TypeError(f"{name} must be real, got the complex number {x!r}")
    else:
        raise TypeError(f"{name} must be {_WHAT}, got {type(x).__name__}")
    try:
        huge = bool(abs(v) > MAX_EXACT_ABS)
    except TypeError:       # sympy could not compare it
        raise ValueError(f"{name}: could not establish that {x} is a finite real number") from None
    if huge:
        raise ValueError(f"{name} must have |{name}| <= {MAX_EXACT_ABS}, got {_short(v)}")
    if nonnegative and v.is_negative:
        raise ValueError(f"{name} must be >= 0, got {v}")
    return v


def _short(v) -> str:
    s = str(v)
    return s if len(s) <= 40 else f"{sp.N(v, 6)}"


def exact_point(values, name: str, size: int) -> list:
    """The ``size`` entries of one agent's parameters as exact numbers.

    A single number (or literal) is accepted for a one-parameter agent.

    Examples
    --------
    >>> exact_point(["1/2", 0.25], "theta1", 2)
    [1/2, 1/4]
    >>> exact_point([0, 0], "theta1", 1)
    Traceback (most recent call last):
    ...
    ValueError: theta1 must have 1 entries, got 2
    """
    if isinstance(values, (str, int, float, Fraction, Decimal, np.number, np.bool_, sp.Expr)) \
            and not isinstance(values, sp.MatrixBase):
        values = [values]
    elif isinstance(values, np.ndarray):
        if values.ndim > 1:
            raise ValueError(f"{name} must be a flat sequence of {size} numbers, got an array "
                             f"of shape {values.shape}")
        values = list(values.reshape(-1))
    elif isinstance(values, sp.MatrixBase):
        if min(values.shape) > 1:
            raise ValueError(f"{name} must be a flat sequence of {size} numbers, got a "
                             f"{values.shape} matrix")
        values = list(values)
    elif isinstance(values, (list, tuple)):
        values = list(values)
    else:
        raise TypeError(f"{name} must be a sequence of {size} numbers, got {type(values).__name__}")
    if any(isinstance(v, (list, tuple, np.ndarray, sp.MatrixBase)) for v in values):
        raise ValueError(f"{name} must be a flat sequence of {size} numbers (one point), got "
                         f"nested sequences")
    if len(values) != size:
        raise ValueError(f"{name} must have {size} entries, got {len(values)}")
    label = (lambda k: name) if size == 1 else (lambda k: f"{name}[{k}]")
    return [exact_number(v, label(k), instead="; for a Jacobian symbolic in the agents' "
                                              "parameters use symbolic_jacobian")
            for k, v in enumerate(values)]


def exact_hyper(rule, given: dict) -> tuple:
    """``(options, hyper)``: structural options, and hyper-parameters as exact values.

    Names are checked by :meth:`Rule.split <lola_sym.rules.Rule.split>` (given the
    rule's defaults, so that it never sees a string or a symbol); values must be
    non-negative exact numbers in the rule's declared :meth:`~lola_sym.rules.Rule.bound`,
    or sympy Symbols (:func:`exact_number`).

    Examples
    --------
    >>> from lola_sym.rules import get_rule
    >>> exact_hyper(get_rule("hola"), {"order": 2, "eta": "1/2"})
    ({'order': 2}, {'eta': 1/2})
    """
    given = dict(given)
    names = [k for k in given if k not in rule.options]
    options, _ = rule.split({**{k: v for k, v in given.items() if k in rule.options},
                             **{k: rule.hyper.get(k, 1.0) for k in names}})
    hyper = {}
    for k in names:
        v = exact_number(given[k], k, nonnegative=True, symbol=True,
                         instead=f"; give {k} as a number or a sympy Symbol")
        if v.is_number and float(v) not in rule.bound(k):
            raise ValueError(f"{k} of rule {rule.name!r} must lie in {rule.bound(k)}, got {v}")
        hyper[k] = v
    return options, hyper
