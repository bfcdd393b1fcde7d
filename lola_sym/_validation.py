"""Input validation shared by the public functions: clear errors, never NaN."""

from __future__ import annotations

from fractions import Fraction
from numbers import Number

import numpy as np
import sympy as sp

__all__ = ["as_numeric_array", "as_params", "as_point", "as_rational", "check_int", "check_positive_int", "check_real"]


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
    """Both agents' parameters as 1-d arrays (one point), with a clear error otherwise."""
    t1 = as_params(theta1, "theta1", size)
    t2 = as_params(theta2, "theta2", size)
    if t1.ndim != 1 or t2.ndim != 1:
        raise ValueError(f"{what} take{'' if what.endswith('s') else 's'} one point: theta1 and theta2 must have shape (5,); "
                         f"got {t1.shape} and {t2.shape}")
    return t1, t2


def as_rational(x, name: str) -> sp.Rational:
    """An exact rational from an int, Fraction, sympy number, string or float.

    Floats are read from their shortest decimal representation, so ``0.96``
    becomes ``24/25``.

    Examples
    --------
    >>> as_rational(0.96, "gamma")
    24/25
    >>> as_rational(float("nan"), "gamma")
    Traceback (most recent call last):
    ...
    ValueError: gamma must be a finite number, got nan
    """
    if isinstance(x, bool):
        raise TypeError(f"{name} must be a number, got a bool")
    if isinstance(x, sp.Basic):
        if not x.is_number or x.is_Rational is not True:
            if x.is_number and x.is_real and x.is_finite:
                return sp.Rational(str(sp.Float(x, 17)))
            raise ValueError(f"{name} must be a finite real number, got {x}")
        return sp.Rational(x)
    if isinstance(x, (int, np.integer, Fraction)):
        return sp.Rational(Fraction(x))
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            raise ValueError(f"{name} must be a finite number, got {x}")
        return sp.Rational(repr(float(x)))
    if isinstance(x, str):
        try:
            return sp.Rational(x)
        except (TypeError, ValueError, sp.SympifyError):
            raise ValueError(f"{name} must be a number, got the string {x!r}") from None
    if isinstance(x, Number):
        raise TypeError(f"{name} must be real, got {type(x).__name__} {x!r}")
    raise TypeError(f"{name} must be a number, got {type(x).__name__}")


def check_real(x, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """A finite float, optionally required positive or non-negative."""
    if isinstance(x, bool) or not isinstance(x, (Number, np.number)) or isinstance(x, complex):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    try:
        x = float(x)
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
    """A positive Python int."""
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
