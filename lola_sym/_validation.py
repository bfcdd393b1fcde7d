"""Input validation shared by the public functions: clear errors, never NaN."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from numbers import Number
from typing import SupportsFloat, cast

import numpy as np
import sympy as sp

__all__ = ["MIN_ONE_MINUS_GAMMA", "as_numeric_array", "as_params", "as_point", "as_rational", "parse_rational",
           "check_magnitude", "check_result_size", "check_game", "check_int", "check_positive_int", "check_real"]

#: Smallest admissible ``1 - gamma``. Compiled values lose about ``2e-16 / (1 - gamma)``
#: relative accuracy to cancellation in ``I - gamma P`` (measured against a 40-digit solve
#: on the IPD: 2.2e-12 at 1 - 1e-4, 2.2e-10 at 1 - 1e-6, 1.9e-8 at 1 - 1e-8, the wrong sign
#: at 1 - 1e-16), so beyond this bound they would be silently inaccurate.
MIN_ONE_MINUS_GAMMA = 1e-6


def as_params(x, name: str, size: int | None = 5) -> np.ndarray:
    """``x`` as a float64 array of shape ``(..., size)`` with finite entries.

    Examples
    --------
    >>> as_params([1, 2, 3, 4, 5], "theta1")
    array([1., 2., 3., 4., 5.])
    >>> as_params([1, 2], "theta1")
    Traceback (most recent call last):
    ...
    ValueError: theta1 must have shape (..., 5) (last axis = 5 logits [s0, CC, CD, DC, DD]); got shape (2,)
    """
    arr = as_numeric_array(x, name, "biuf").astype(np.float64, copy=False)
    if size is not None and (arr.ndim == 0 or arr.shape[-1] != size):
        what = " (last axis = 5 logits [s0, CC, CD, DC, DD])" if size == 5 else ""
        raise ValueError(f"{name} must have shape (..., {size}){what}; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} has a non-finite entry at index {tuple(int(i) for i in bad)}")
    return arr


def as_numeric_array(x, name: str, kinds: str = "biuf") -> np.ndarray:
    """``x`` as a numpy array whose dtype kind is one of ``kinds`` (no strings, objects, ragged lists).

    Examples
    --------
    >>> as_numeric_array([1j, 2], "eigenvalues", "iufc").dtype
    dtype('complex128')
    >>> as_numeric_array("12", "J")
    Traceback (most recent call last):
    ...
    TypeError: J must be an array of numbers, got str
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} is not a regular array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in kinds:
        raise TypeError(f"{name} must hold {'numbers' if 'c' in kinds else 'real numbers'}, "
                        f"got dtype {arr.dtype}")
    return arr


def as_point(theta1, theta2, what: str, size: int | None = 5) -> tuple:
    """Both agents' parameters as 1-d arrays (one point), with a clear error otherwise.

    Examples
    --------
    >>> as_point([0, 0, 0, 0, 0], [1.0] * 5, "the point")
    (array([0., 0., 0., 0., 0.]), array([1., 1., 1., 1., 1.]))
    >>> as_point([0, 0, 0, 0], [1.0] * 5, "the point")
    Traceback (most recent call last):
    ...
    ValueError: theta1 must have shape (..., 5) (last axis = 5 logits [s0, CC, CD, DC, DD]); got shape (4,)
    """
    t1 = as_params(theta1, "theta1", size)
    t2 = as_params(theta2, "theta2", size)
    if t1.ndim != 1 or t2.ndim != 1:
        raise ValueError(f"{what} take{'' if what.endswith('s') else 's'} one point: theta1 and theta2 must have shape (5,); "
                         f"got {t1.shape} and {t2.shape}")
    return t1, t2


#: Exact numbers given by users lie in [-10**MAX_EXPONENT, 10**MAX_EXPONENT], and a non-zero
#: one has magnitude at least 10**-MAX_EXPONENT: well inside double precision, so compiled
#: constants stay exact to rounding (and values, at most max|R| / (1 - gamma), stay finite).
MAX_EXPONENT = 300
MAX_MAGNITUDE = Fraction(10) ** MAX_EXPONENT
MIN_MAGNITUDE = 1 / MAX_MAGNITUDE
#: Longest digit string accepted in a literal (mantissa, numerator or denominator), so that
#: parsing is always fast.
MAX_DIGITS = 400
_DECIMAL = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_RATIO = re.compile(r"([+-]?)(\d+)/(\d+)")


def _shown(text: str) -> str:
    """``text`` quoted for an error message, shortened when long."""
    return repr(text) if len(text) <= 40 else f"{text[:30]!r}... ({len(text)} characters)"


def parse_rational(text: str, name: str) -> Fraction:
    """A rational literal (``"2"``, ``"-0.25"``, ``"1e-3"``, ``"-1/3"``), parsed strictly, never evaluated.

    The one parser of exact numbers written as text (command line, ``gamma="0.9"``,
    exact inputs). Magnitudes are checked before any large power is formed, so a
    literal such as ``"1e-100000000"`` is refused at once.

    Examples
    --------
    >>> parse_rational("-1/3", "x"), parse_rational("0.1", "x"), parse_rational("-1e-3", "x")
    (Fraction(-1, 3), Fraction(1, 10), Fraction(-1, 1000))
    >>> parse_rational("1e-100000000", "gamma")
    Traceback (most recent call last):
    ...
    ValueError: gamma must be zero or of magnitude at least 1e-300, got '1e-100000000'
    >>> parse_rational("__import__('os')", "eta")
    Traceback (most recent call last):
    ...
    TypeError: eta must be a number such as 0.5, 1e-3 or 1/2; the string "__import__('os')" is not one (strings are never evaluated)
    """
    s = text.strip()
    dec, ratio = _DECIMAL.fullmatch(s), _RATIO.fullmatch(s)
    if dec and (dec.group(2) or dec.group(3)):
        sign, whole, frac, exp = dec.groups()
        frac = frac or ""
        if len(whole) + len(frac) > MAX_DIGITS:
            raise ValueError(f"{name} must have at most {MAX_DIGITS} digits, got {_shown(text)}")
        if exp is not None and len(exp) > 12:            # beyond any limit below: clamp
            exp = "-1" + "0" * 12 if exp.startswith("-") else "1" + "0" * 12
        e = int(exp or 0) - len(frac)
        mantissa = int(whole + frac or "0")
        size = len(str(mantissa)) + e if mantissa else 0       # log10 |v| rounded up
        if abs(size) > MAX_EXPONENT + 1:                       # before computing 10**e
            _magnitude_error(name, text, size > 0)
        v = Fraction(mantissa) * Fraction(10) ** e if mantissa else Fraction(0)
        v = -v if sign == "-" else v
    elif ratio:
        sign, num, den = ratio.groups()
        if len(num) > MAX_DIGITS or len(den) > MAX_DIGITS:
            raise ValueError(f"{name} must have at most {MAX_DIGITS} digits above and below, "
                             f"got {_shown(text)}")
        if int(den) == 0:
            raise ValueError(f"{name} must be finite, got {_shown(text)} (division by zero)")
        v = Fraction(int(sign + num), int(den))
    else:
        raise TypeError(f"{name} must be a number such as 0.5, 1e-3 or 1/2; the string "
                        f"{_shown(text)} is not one (strings are never evaluated)")
    return check_magnitude(v, name, text)


def _magnitude_error(name, shown, large):
    if isinstance(shown, (Fraction, int)) and shown:
        v = Fraction(shown)
        shown = f"about 1e{round((abs(v.numerator).bit_length() - v.denominator.bit_length()) * 0.30103)}"
    if large:
        raise ValueError(f"{name} must have magnitude at most 1e{MAX_EXPONENT}, got {_shown(str(shown))}")
    raise ValueError(f"{name} must be zero or of magnitude at least 1e-{MAX_EXPONENT}, "
                     f"got {_shown(str(shown))}")


def check_magnitude(v: Fraction, name: str, shown=None) -> Fraction:
    """``v`` if zero or of magnitude in [1e-300, 1e300], else a ``ValueError`` (checked by bit length first).

    Examples
    --------
    >>> from fractions import Fraction
    >>> check_magnitude(Fraction(1, 3), "v")
    Fraction(1, 3)
    >>> check_magnitude(Fraction(1, 10 ** 400), "v")
    Traceback (most recent call last):
    ...
    ValueError: v must be zero or of magnitude at least 1e-300, got 'about 1e-400'
    """
    shown = v if shown is None else shown
    if v:
        bits = abs(v.numerator).bit_length() - v.denominator.bit_length()
        if abs(bits) > 1100:                    # far outside: no big-number comparison needed
            _magnitude_error(name, shown, bits > 0)
        if abs(v) > MAX_MAGNITUDE or abs(v) < MIN_MAGNITUDE:
            _magnitude_error(name, shown, abs(v) > 1)
    return v


def as_rational(x, name: str) -> sp.Rational:
    """An exact rational from an int, Fraction, Decimal, rational sympy number, string or float.

    Floats are read from their shortest decimal representation, so ``0.96``
    becomes ``24/25``; strings must be rational literals (:func:`parse_rational`).
    Magnitudes must lie in [1e-300, 1e300] (or be zero). Irrational numbers are
    refused rather than silently approximated.

    Examples
    --------
    >>> as_rational(0.96, "gamma")
    24/25
    >>> as_rational(float("nan"), "gamma")
    Traceback (most recent call last):
    ...
    ValueError: gamma must be a finite number, got nan
    >>> as_rational(sp.sqrt(2), "R1[0][0]")
    Traceback (most recent call last):
    ...
    ValueError: R1[0][0] must be rational (exact), got the irrational sqrt(2); pass a float or a sympy Rational approximation
    """
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, got a bool")
    if isinstance(x, str):
        return sp.Rational(parse_rational(x, name))
    if isinstance(x, (int, np.integer, Fraction)):
        return sp.Rational(check_magnitude(Fraction(int(x)) if not isinstance(x, Fraction) else x,
                                           name))
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            raise ValueError(f"{name} must be a finite number, got {x}")
        return sp.Rational(check_magnitude(Fraction(repr(float(x))), name))
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise ValueError(f"{name} must be a finite number, got {x}")
        if x and abs(x.adjusted()) > MAX_EXPONENT + 1:
            _magnitude_error(name, x, x.adjusted() > 0)
        return sp.Rational(check_magnitude(Fraction(x), name))
    if isinstance(x, sp.Basic):
        if isinstance(x, sp.Rational):
            return sp.Rational(check_magnitude(Fraction(int(x.p), int(x.q)), name))
        if isinstance(x, sp.Float):
            if not x.is_finite:
                raise ValueError(f"{name} must be a finite number, got {x}")
            v = float(x)                          # magnitude first: no huge exact conversion
            if (x != 0 and v == 0.0) or not np.isfinite(v):
                _magnitude_error(name, x, v != 0.0)
            return sp.Rational(check_magnitude(Fraction(repr(v)), name))
        if isinstance(x, sp.Expr) and x.is_number and x.is_real and x.is_finite:
            raise ValueError(f"{name} must be rational (exact), got the irrational {x}; pass a "
                             f"float or a sympy Rational approximation")
        raise ValueError(f"{name} must be a finite real number, got {x}")
    if isinstance(x, Number):
        raise TypeError(f"{name} must be real, got {type(x).__name__} {x!r}")
    raise TypeError(f"{name} must be a number, got {type(x).__name__}")


def check_real(x, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """A finite float, optionally required positive or non-negative.

    Examples
    --------
    >>> check_real(0.5, "eta", positive=True)
    0.5
    >>> check_real(-1.0, "eta", positive=True)
    Traceback (most recent call last):
    ...
    ValueError: eta must be > 0, got -1.0
    >>> check_real(float("nan"), "eta")
    Traceback (most recent call last):
    ...
    ValueError: eta must be finite, got nan
    """
    if isinstance(x, bool) or not isinstance(x, (Number, np.number)) or isinstance(x, complex):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    try:
        x = float(cast(SupportsFloat, x))
    except OverflowError:                       # an int beyond double precision
        raise ValueError(f"{name} must be finite, got an int of {len(str(abs(int(x))))} digits") from None
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if positive and x <= 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    if nonnegative and x < 0:
        raise ValueError(f"{name} must be >= 0, got {x}")
    return x


def check_positive_int(x, name: str) -> int:
    """A positive Python int.

    Examples
    --------
    >>> check_positive_int(3, "batch")
    3
    >>> check_positive_int(2.0, "batch")
    Traceback (most recent call last):
    ...
    TypeError: batch must be an int, got float
    >>> check_positive_int(0, "batch")
    Traceback (most recent call last):
    ...
    ValueError: batch must be >= 1, got 0
    """
    return check_int(x, name, 1)


def check_int(x, name: str, minimum: int = 0) -> int:
    """A Python int ``>= minimum`` (bools, floats and strings are refused).

    Examples
    --------
    >>> check_int(3, "steps")
    3
    >>> check_int(True, "steps")
    Traceback (most recent call last):
    ...
    TypeError: steps must be an int, got bool
    """
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(x).__name__}")
    if x < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {x}")
    return int(x)


#: Largest array (in bytes) that one call may allocate for its results; beyond it a call
#: is refused up front with its estimate, instead of a MemoryError or swapping part-way.
MAX_RESULT_BYTES = 8 * 2 ** 30


def check_result_size(nbytes: int, what: str, hint: str) -> None:
    """Refuse a result estimated beyond :data:`MAX_RESULT_BYTES`, saying what to change.

    Examples
    --------
    >>> check_result_size(10 ** 12 * 8, "train(runs=10**12)", "use fewer runs")
    Traceback (most recent call last):
    ...
    ValueError: train(runs=10**12) would hold about 8,000 GB (limit 8.6 GB); use fewer runs
    """
    if nbytes > MAX_RESULT_BYTES:
        raise ValueError(f"{what} would hold about {nbytes / 1e9:,.0f} GB "
                         f"(limit {MAX_RESULT_BYTES / 1e9:.1f} GB); {hint}")


def check_game(game, what: str = "game"):
    """``game`` if it is a lola_sym game (iterated or differentiable), else a ``TypeError``.

    Examples
    --------
    >>> check_game("ipd")
    Traceback (most recent call last):
    ...
    TypeError: game must be a lola_sym game such as lola_sym.games.ipd(), got str 'ipd'
    """
    if not all(hasattr(game, a) for a in ("dims", "theta", "value_program", "spec", "kind")):
        shown = repr(game)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise TypeError(f"{what} must be a lola_sym game such as lola_sym.games.ipd(), "
                        f"got {type(game).__name__} {shown}")
    return game


def check_field_call(rule_name: str, game, thetas, failed) -> None:
    """The arguments every update field checks: ``failed`` and one array per player.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> check_field_call("nl", ipd(), ([0.0] * 5,), "raise")
    Traceback (most recent call last):
    ...
    TypeError: the 'nl' field on IPD takes 2 parameter arrays (one per player), got 1
    """
    if failed not in ("raise", "nan"):
        raise ValueError(f"failed must be 'raise' or 'nan', got {failed!r}")
    dims = game.dims
    if len(thetas) != len(dims):
        raise TypeError(f"the {rule_name!r} field on {game.name} takes "
                        f"{len(dims)} parameter arrays (one per player), got {len(thetas)}")
