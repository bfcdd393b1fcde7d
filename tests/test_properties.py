"""Hypothesis properties over games, points and hostile inputs (hardening issue).

About 10,300 examples per run, spread over the properties below (the counts are
in each ``settings``): cheap properties on fixed compiled fields take thousands
of examples; properties that compile a fresh game per example take fewer.
"""

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lola_sym import games
from lola_sym.field import FieldError, update_field
from lola_sym.games.values import compiled_value
from lola_sym.rules import RULES

import reference
from strategies import differentiable_games, hostile_scalars, scaled_games, x, y

#: compiled values vs the mpmath solve, relative to the largest payoff / (1 - gamma)
RTOL_VALUES = 1e-11
#: (1 - gamma) V lies in [min R, max R] up to rounding, relative to max |R|
RTOL_BOUND = 1e-12

CATALOGUE = (games.ipd(), games.imp(), games.stag_hunt(), games.chicken(),
             games.battle_of_sexes())
_FIELDS = {g.name: update_field(g, "lola", eta=1.0) for g in CATALOGUE}
_LOLA_IPD = _FIELDS["IPD"]

saturating_logits = st.lists(st.floats(-40, 40, allow_nan=False), min_size=5, max_size=5).map(np.array)


@settings(max_examples=2500, suppress_health_check=list(HealthCheck))
@given(rule=st.sampled_from(sorted(RULES)), value=hostile_scalars)
def test_hyper_parameters_are_valid_or_refused(rule, value):
    """Any value for any hyper-parameter: a finite value in the rule's bounds, or a clear error."""
    r = RULES[rule]
    for name in r.hyper:
        try:
            got = r.hyper_values({name: value})[name]
        except (TypeError, ValueError) as exc:
            assert name in str(exc)
        else:
            assert isinstance(got, float) and np.isfinite(got) and got in r.bound(name)


@settings(max_examples=2500, suppress_health_check=list(HealthCheck))
@given(theta=st.one_of(
    hnp.arrays(np.float64, st.sampled_from([(5,), (2, 5), (4,), (5, 1), ()]),
               elements=st.floats(allow_nan=True, allow_infinity=True)),
    hnp.arrays(np.int64, (5,), elements=st.integers(-50, 50)),
    st.lists(st.one_of(st.floats(-3, 3), st.text(max_size=2)), min_size=5, max_size=5),
    hostile_scalars))
def test_field_inputs_give_finite_directions_or_a_clear_error(theta):
    try:
        g1, g2 = _LOLA_IPD(theta, np.zeros(5))
    except (TypeError, ValueError) as exc:
        assert "theta1" in str(exc)
    else:
        assert g1.shape[-1] == 5 and np.isfinite(g1).all() and np.isfinite(g2).all()


@settings(max_examples=3000)
@given(game=st.sampled_from(CATALOGUE), t1=saturating_logits, t2=saturating_logits)
def test_catalogue_values_bounded_and_fields_finite(game, t1, t2):
    """(1 - gamma) V between the smallest and largest payoff; LOLA finite even when saturated."""
    r = game.average_reward(t1, t2)
    lo, hi = (float(v) for v in game.payoff_range)
    tol = RTOL_BOUND * max(abs(lo), abs(hi))
    assert np.all(r >= lo - tol) and np.all(r <= hi + tol)
    g1, g2 = _FIELDS[game.name](t1, t2)
    assert np.isfinite(g1).all() and np.isfinite(g2).all()
    if game.is_symmetric:
        np.testing.assert_allclose(game.value(t2, t1)[::-1], game.value(t1, t2),
                                   rtol=1e-12, atol=1e-12 * max(abs(lo), abs(hi)))


@settings(max_examples=120, deadline=None)
@given(game=scaled_games(), t1=saturating_logits, t2=saturating_logits)
def test_values_of_huge_and_tiny_games_match_mpmath(game, t1, t2):
    """A freshly compiled game (C by default) at payoff scales 1e-300 .. 1e290 vs an mpmath solve."""
    got = game.value(t1, t2)
    want = np.array([float(v) for v in reference.values(game.R1, game.R2, game.gamma, t1, t2)])
    scale = float(max(abs(v) for v in game.r1 + game.r2)) / float(1 - game.gamma)
    np.testing.assert_allclose(got, want, rtol=0, atol=RTOL_VALUES * scale + 1e-300)


@settings(max_examples=40, deadline=None)
@given(game=scaled_games())
def test_scaled_games_compile_on_llvm_and_numpy_alike(game):
    t = np.linspace(-2, 2, 5)
    c = compiled_value(game, "c")(t, -t)
    for backend in ("llvm", "numpy"):
        other = compiled_value(game, backend)(t, -t)
        np.testing.assert_allclose(other, c, rtol=1e-12, atol=1e-300)


@settings(max_examples=60, deadline=None)
@given(game=differentiable_games(), a=st.floats(-3, 3), b=st.floats(-3, 3))
def test_differentiable_naive_field_is_the_gradient(game, a, b):
    """The compiled naive field equals sympy's own derivatives, evaluated independently."""
    g1, g2 = update_field(game, "nl")(np.array([a]), np.array([b]))
    at = {x: a, y: b}
    d1 = float(sp.diff(game.V1, x).evalf(30, subs=at))
    d2 = float(sp.diff(game.V2, y).evalf(30, subs=at))
    assert g1[0] == pytest.approx(d1, rel=1e-12, abs=1e-12)
    assert g2[0] == pytest.approx(d2, rel=1e-12, abs=1e-12)


@settings(max_examples=2000)
@given(eta=st.floats(0, 1e300), t=saturating_logits)
def test_large_lookahead_is_finite_or_reported(eta, t):
    """LOLA at any admissible eta: finite, or a FieldError that names the overflow."""
    f = update_field(games.ipd(), "lola", eta=eta)
    try:
        g1, g2 = f(t, -t)
    except FieldError as exc:
        assert "overflow" in str(exc) and exc.index == ()
    else:
        assert np.isfinite(g1).all() and np.isfinite(g2).all()
