"""Period-k orbits of the learning map (lola_sym.analysis.orbits).

The test map: NL on the game V1 = a x - x^3/3, V2 = -y^2/2 at delta = 1 is
x -> x + a - x^2 (and y -> 0). Its 2-cycle (a > 1) is x = 1 +- sqrt(a - 1)
(x + y = 2, x^2 + y^2 = 2a) with multiplier (1 - 2x)(1 - 2y) = 5 - 4a; it is
stable for 1 < a < 3/2. The second way is a plain numpy iteration of the same
map, independent of the compiled code.
"""

import numpy as np
import pytest
import sympy as sp

from lola_sym import games
from lola_sym.analysis.continuation import learning_map
from lola_sym.analysis.orbits import classify_multipliers, find_orbit, orbit_of

#: Orbit points and multipliers against the closed form.
ATOL_ORBIT = 1e-12
#: Against a plain numpy iteration (converged geometrically for thousands of steps).
ATOL_ITERATION = 1e-10

A, X, Y = sp.Symbol("a", real=True), *sp.symbols("x y", real=True)
FOLD_GAME = games.differentiable(A * X - X ** 3 / 3, -Y ** 2 / 2, [X], [Y], name="fold")


def _quadratic(x, a):
    return x + a - x * x


@pytest.mark.parametrize("a", [1.1, 1.3, 1.45, 1.6, 2.0])
def test_period_two_orbit_closed_form(a):
    m = learning_map(FOLD_GAME, "nl", a=a)
    o = find_orbit(m, [1.0 + 0.9 * np.sqrt(a - 1), 0.2], 2)
    assert o.period == 2 and o.residual < ATOL_ORBIT
    np.testing.assert_allclose(np.sort(o.points[:, 0]), [1 - np.sqrt(a - 1), 1 + np.sqrt(a - 1)],
                               atol=ATOL_ORBIT)
    np.testing.assert_allclose(o.points[:, 1], 0.0, atol=ATOL_ORBIT)
    mu = o.multipliers[np.argmax(np.abs(o.multipliers))]
    assert abs(mu - (5 - 4 * a)) < ATOL_ORBIT
    assert o.stability == ("stable" if a < 1.5 else "saddle")
    np.testing.assert_allclose(o.amplitude, [np.sqrt(a - 1), 0.0], atol=ATOL_ORBIT)


def test_attracting_two_cycle_matches_plain_iteration():
    a = 1.3
    x = 1.2
    for _ in range(3000):
        x = _quadratic(x, a)
    m = learning_map(FOLD_GAME, "nl", a=a)
    o = find_orbit(m, [1.2, 0.5], 2, transient=200)    # Newton alone may find the fixed point
    assert o.period == 2
    assert min(abs(o.points[:, 0] - x)) < ATOL_ITERATION
    assert abs(_quadratic(_quadratic(x, a), a) - x) < ATOL_ITERATION


def test_period_four_after_the_second_doubling():
    """At a = 1.55 (past the 2-cycle's doubling at 3/2) the attracting orbit has period 4."""
    a = 1.55
    x = 1.2
    for _ in range(5000):
        x = _quadratic(x, a)
    orbit = [x]
    for _ in range(3):
        orbit.append(_quadratic(orbit[-1], a))
    m = learning_map(FOLD_GAME, "nl", a=a)
    o = find_orbit(m, [1.2, 0.0], 4, transient=200)
    assert o.period == 4 and o.stability == "stable"
    np.testing.assert_allclose(np.sort(o.points[:, 0]), np.sort(orbit), atol=ATOL_ITERATION)
    mu = np.prod([1 - 2 * p for p in o.points[:, 0]])      # the chain rule by hand
    assert abs(o.multipliers[0] - mu) < ATOL_ORBIT
    assert abs(mu) < 1


def test_minimal_period_of_a_fixed_point():
    a = 0.8                               # fixed point sqrt(a), multiplier 1 - 2 sqrt(a) in (-1, 0)
    m = learning_map(FOLD_GAME, "nl", a=a)
    o = find_orbit(m, [0.85, 0.1], 2)
    assert o.period == 1 and o.points.shape == (1, 2)
    assert abs(o.points[0, 0] - np.sqrt(a)) < ATOL_ORBIT
    assert abs(o.multipliers[0] - (1 - 2 * np.sqrt(a))) < ATOL_ORBIT


def test_per_agent_rates_and_parameters_over():
    m = learning_map(FOLD_GAME, "nl", delta=(1.0, 0.5), a=1.0)
    o = find_orbit(m, [1.5, 0.3], 2, over={"a": 1.2})
    assert o.period == 2
    # y -> y/2 at delta2 = 1/2: its multiplier over two steps is 1/4
    assert np.min(np.abs(o.multipliers - 0.25)) < ATOL_ORBIT
    assert orbit_of(m, o.points[0], 2, over={"a": 1.2}).residual < ATOL_ORBIT


def test_checks_can_fail():
    """A wrong point is not an orbit (large residual); Newton's failure is reported."""
    m = learning_map(FOLD_GAME, "nl", a=1.2)
    assert orbit_of(m, [1.3, 0.0], 2).residual > 0.01
    with pytest.raises(ValueError, match="Newton did not find"):
        find_orbit(learning_map(FOLD_GAME, "nl", a=-1.0), [0.3, 0.0], 1, max_iter=30)


def test_classify_multipliers():
    assert classify_multipliers([0.5, 0.2j]) == "stable"
    assert classify_multipliers([1.5, -2.0]) == "unstable"
    assert classify_multipliers([1.5, 0.1]) == "saddle"
    assert classify_multipliers([np.exp(0.3j), 0.1]) == "non-hyperbolic"
    with pytest.raises(ValueError, match="non-empty finite"):
        classify_multipliers([np.nan])
    with pytest.raises(TypeError):
        find_orbit(learning_map(FOLD_GAME, "nl", a=1.2), [1.3, 0.0], 2.0)
