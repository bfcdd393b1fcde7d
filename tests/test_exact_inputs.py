"""Exact inputs of the ``exact_*`` functions (lola_sym._exact_input and its callers).

Strings are parsed strictly as rational literals (never ``sympify``, i.e. never ``eval``);
numbers become exact rationals; hyper-parameters may be declared sympy symbols; anything
non-finite, complex, negative (rates) or absurdly large is refused, naming the argument.
"""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import lola_sym as ls
from lola_sym import games
from lola_sym.analysis.fixed_points import exact_fixed_points
from lola_sym.analysis.jacobian import exact_jacobian, explicit_field, symbolic_jacobian
from lola_sym.analysis.stability import exact_lr_threshold

MP = games.matching_pennies()
ETA = sp.Symbol("eta", positive=True)
HALF = sp.Rational(1, 2)

#: every public entry point taking exact hyper-parameters, called on a small game
HYPER_ENTRY_POINTS = {
    "exact_jacobian": lambda **h: exact_jacobian(MP, "lola", [0], [0], **h),
    "exact_lr_threshold": lambda **h: exact_lr_threshold(MP, "lola", [0], [0], **h),
    "exact_fixed_points": lambda **h: exact_fixed_points(games.tandem(), "lola", **h),
    "symbolic_jacobian": lambda **h: symbolic_jacobian(games.tandem(), "lola", **h),
    "explicit_field": lambda **h: explicit_field(games.tandem(), "lola", "x", **h),
}
#: every public entry point taking exact parameters theta1, theta2
THETA_ENTRY_POINTS = {
    "exact_jacobian": lambda t1, t2: exact_jacobian(MP, "lola", t1, t2, eta=1),
    "exact_lr_threshold": lambda t1, t2: exact_lr_threshold(MP, "lola", t1, t2, eta=1),
}


# ------------------------------------------------------------------ strings are never evaluated
def test_code_in_a_string_is_not_run(monkeypatch):
    monkeypatch.delenv("LOLA_SYM_PWNED", raising=False)
    code = '__import__("os").environ.__setitem__("LOLA_SYM_PWNED", "1")'
    for t1, h in (([code], {}), ([0], {"eta": code})):
        with pytest.raises(TypeError, match="rational literal"):
            exact_jacobian(MP, "nl" if not h else "lola", t1, [0], **h)
    with pytest.raises(TypeError, match="rational literal"):
        exact_jacobian(MP, "nl", ['__import__("os").getpid()'], [0])
    import os
    assert "LOLA_SYM_PWNED" not in os.environ


@pytest.mark.parametrize("text", ["abc", "eta", "x + 1", "1/2 + 1", "sqrt(2)", "pi", "nan", "inf",
                                  "1j", "", "  ", "0x10", "1/2/3", "S(1)/2"])
def test_non_literal_strings_are_refused(text):
    with pytest.raises(TypeError, match="theta1.*rational literal"):
        exact_jacobian(MP, "nl", [text], [0])
    with pytest.raises(TypeError, match="eta.*rational literal"):
        exact_lr_threshold(MP, "lola", [0], [0], eta=text)


@pytest.mark.parametrize("text, value", [
    ("1/2", HALF), ("-3", -3), ("0.25", sp.Rational(1, 4)), (" 1/3 ", sp.Rational(1, 3)),
    ("1e-3", sp.Rational(1, 1000)), ("+7/14", HALF)])
def test_rational_literals_are_parsed_exactly(text, value):
    from lola_sym._exact_input import exact_number
    assert exact_number(text, "x") == value
    assert exact_jacobian(MP, "lola", [text], [0], eta=1) == \
        exact_jacobian(MP, "lola", [value], [0], eta=1)


def test_division_by_zero_in_a_literal():
    with pytest.raises(ValueError, match="theta2.*zero"):
        exact_jacobian(MP, "nl", [0], ["1/0"])


# ------------------------------------------------------------------ numbers and sympy numbers
@pytest.mark.parametrize("given, value", [
    (0.25, sp.Rational(1, 4)), (0.1, sp.Rational(1, 10)), (np.float64(0.5), HALF),
    (np.float32(0.5), HALF), (np.int64(-2), -2), (Fraction(2, 3), sp.Rational(2, 3)), (3, 3),
    (sp.Float(0.25), sp.Rational(1, 4)), (sp.Integer(2), 2), (HALF, HALF),
    (sp.sqrt(2), sp.sqrt(2)), (sp.pi, sp.pi),
])
def test_numbers_are_read_exactly(given, value):
    from lola_sym._exact_input import exact_number
    got = exact_number(given, "theta1")
    assert got == value and isinstance(got, sp.Expr)


def test_floats_and_exact_constants_are_accepted_as_parameters():
    """A float is its shortest repr (0.5 -> 1/2): same Jacobian as the exact input."""
    assert exact_jacobian(MP, "lola", [0.5], [np.float64(0.0)], eta=0.25) == \
        exact_jacobian(MP, "lola", ["1/2"], [0], eta=HALF / 2)
    J = exact_jacobian(MP, "nl", [sp.sqrt(2)], [sp.pi])
    assert J.free_symbols == set() and J.has(sp.sqrt(2)) and J.has(sp.pi)


@pytest.mark.parametrize("bad, error", [
    (float("nan"), ValueError), (float("inf"), ValueError), (-float("inf"), ValueError),
    (np.float64("nan"), ValueError), (sp.nan, ValueError), (sp.oo, ValueError),
    (sp.zoo, ValueError), (1 + 2j, TypeError), (np.complex128(1), TypeError), (sp.I, ValueError),
    (True, TypeError), (np.bool_(False), TypeError), (None, TypeError), (object(), TypeError),
    (1e300, ValueError), (10 ** 300, ValueError), (-1e13, ValueError), ("1" + "0" * 20, ValueError),
])
def test_non_finite_complex_bool_and_huge_entries_name_the_argument(bad, error):
    for name, f in THETA_ENTRY_POINTS.items():
        with pytest.raises(error, match="theta2"):
            f([0], [bad])
    for name, f in HYPER_ENTRY_POINTS.items():
        with pytest.raises(error, match="eta"):
            f(eta=bad)


def test_the_magnitude_bound():
    from lola_sym._exact_input import MAX_EXACT_ABS, exact_number
    assert exact_number(MAX_EXACT_ABS, "x") == MAX_EXACT_ABS
    assert exact_number(-MAX_EXACT_ABS, "x") == -MAX_EXACT_ABS
    with pytest.raises(ValueError, match=r"\|x\| <= "):
        exact_number(MAX_EXACT_ABS + 1, "x")


# ------------------------------------------------------------------ hyper-parameters
@pytest.mark.parametrize("name", sorted(HYPER_ENTRY_POINTS))
def test_nan_and_negative_rates_are_refused(name):
    """Before: exact_fixed_points(game, "lola", eta=nan) returned [], eta=-1 a threshold of 0."""
    f = HYPER_ENTRY_POINTS[name]
    with pytest.raises(ValueError, match="eta must be finite"):
        f(eta=float("nan"))
    with pytest.raises(ValueError, match="eta must be >= 0"):
        f(eta=-1)
    with pytest.raises(ValueError, match="eta must be >= 0"):
        f(eta="-1/2")
    with pytest.raises(ValueError, match="eta.*declared"):
        f(eta=sp.Symbol("eta", negative=True))
    with pytest.raises(TypeError, match="eta"):
        f(eta=ETA ** 2)
    f(eta=0)         # zero lookahead is the naive learner: allowed


def test_exact_fixed_points_nan_rate_on_matching_pennies():
    with pytest.raises(ValueError, match="eta must be finite"):
        exact_fixed_points(MP, "lola", eta=float("nan"))


def test_a_rate_given_as_a_declared_symbol():
    assert exact_jacobian(MP, "lola", [0], [0], eta=ETA) == exact_jacobian(MP, "lola", [0], [0])
    r = sp.Symbol("r", positive=True)
    J = exact_jacobian(MP, "lola", [0], [0], eta=r)
    assert J.free_symbols == {r} and J[0, 0] == -r / 16
    thr = exact_lr_threshold(MP, "lola", [0], [0], eta=r)
    assert sp.simplify(thr - 32 * r / (r ** 2 + 16)) == 0
    gam = sp.Symbol("gamma", positive=True)
    assert exact_lr_threshold(MP, "co", [0], [0], gamma=gam) == \
        exact_lr_threshold(MP, "co", [0], [0])
    # consensus optimisation's gamma is validated like eta
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        exact_lr_threshold(MP, "co", [0], [0], gamma=-0.1)


def test_parameters_cannot_be_symbols():
    x = sp.Symbol("x")
    with pytest.raises(TypeError, match="theta1.*symbolic_jacobian"):
        exact_jacobian(MP, "nl", [x], [0])


def test_exact_hyper_keeps_options_and_checks_names():
    from lola_sym._exact_input import exact_hyper
    rule = ls.rules.get_rule("hola")
    options, hyper = exact_hyper(rule, {"order": 2, "eta": "1/2"})
    assert options == {"order": 2} and hyper == {"eta": HALF}
    with pytest.raises(ValueError, match="no hyper-parameter 'beta'"):
        exact_hyper(rule, {"beta": 1})


# ------------------------------------------------------------------ shapes of theta
@pytest.mark.parametrize("t1, error, match", [
    ([0, 0], ValueError, "theta1 must have 1 entries, got 2"),
    ([], ValueError, "theta1 must have 1 entries, got 0"),
    ([[0]], ValueError, "theta1 must be a flat sequence"),
    ("0", None, None),        # a single literal for a one-parameter agent
    (0, None, None),
    (np.zeros(1), None, None),
    ({0: 1}, TypeError, "theta1"),
])
def test_theta_shapes(t1, error, match):
    if error is None:
        assert exact_jacobian(MP, "nl", t1, [0]) == exact_jacobian(MP, "nl", [0], [0])
    else:
        with pytest.raises(error, match=match):
            exact_jacobian(MP, "nl", t1, [0])


def test_imp_needs_five_entries():
    with pytest.raises(ValueError, match="theta2 must have 5 entries, got 4"):
        exact_lr_threshold(games.imp(), "nl", [0] * 5, [0] * 4)
