"""Pseudo-arclength continuation of fixed points (lola_sym.analysis.continuation).

Every branch is checked two ways: against a closed form where one exists, and
against fixed points found independently at each parameter value (scipy's
root finders on the compiled field, with their own finite-difference
Jacobians, never the continuation's exact one).
"""

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq, root

from lola_sym import games, update_field
from lola_sym.analysis.continuation import (continue_branch, learning_map, newton_fixed_point)

#: Continuation points against a closed form (machine precision times the condition).
ATOL_BRANCH = 1e-12
#: Continuation points against an independent root finder (hybr's own tolerance ~1e-13).
ATOL_INDEPENDENT = 1e-10
#: Multipliers against their closed form.
ATOL_MULTIPLIER = 1e-13

A, X, Y, B = sp.Symbol("a", real=True), *sp.symbols("x y", real=True), sp.Symbol("b", real=True)
#: NL gives g = (a - x^2, -y): fixed points x = +-sqrt(a), a fold at a = 0.
FOLD_GAME = games.differentiable(A * X - X ** 3 / 3, -Y ** 2 / 2, [X], [Y], name="fold")


def _coin(t):
    return 2 / (1 + sp.exp(-t)) - 1


#: Matching pennies with a bias b for player 1 (losses). NL's fixed point (|b| < 1): p = 1/2,
#: q = (1 - b)/2, i.e. theta = (0, log((1 - b)/(1 + b))).
BIASED_MP = games.differentiable(_coin(X) * _coin(Y) + B * _coin(X), -_coin(X) * _coin(Y),
                                 [X], [Y], name="biased MP", loss=True)


def _independent_zero(game, rule, z0, **settings):
    """A zero of the compiled field near z0 by scipy's hybr with its own FD Jacobian."""
    symbols = {s.name for s in game.parameters}
    values = {k: v for k, v in settings.items() if k in symbols}
    hyper = {k: v for k, v in settings.items() if k not in symbols}
    f = update_field(game, rule, **hyper)
    dims = np.cumsum(game.dims)[:-1]

    def fun(z):
        return np.concatenate(f(*np.split(z, dims), **values))
    sol = root(fun, z0, method="hybr", options={"xtol": 1e-14})
    # hybr may report "not making good progress" at the limit of precision: judge the residual
    assert np.max(np.abs(fun(sol.x))) < 1e-13, sol.message
    return sol.x


def test_fold_game_branch_matches_closed_form_and_brent():
    m = learning_map(FOLD_GAME, "nl", delta=0.5, a=1.0)
    b = continue_branch(m, [0.9, 0.1], "a", 5.0, step=0.2)
    assert b.values[0] == 1.0 and b.values[-1] == 5.0 and len(b) > 5
    np.testing.assert_allclose(b.points[:, 0], np.sqrt(b.values), rtol=0, atol=ATOL_BRANCH)
    np.testing.assert_allclose(b.points[:, 1], 0.0, atol=ATOL_BRANCH)
    f = update_field(FOLD_GAME, "nl")
    for a, (x, _) in zip(b.values, b.points):
        other = brentq(lambda s: f(np.array([s]), np.array([0.0]), a=a)[0][0], 0.5, 3.0,
                       xtol=1e-15)
        assert abs(other - x) < ATOL_INDEPENDENT
    # the map's multiplier 1 - 2 delta x, the flow's eigenvalue -2x (and y's: 1 - delta, -1)
    mu = np.sort(b.multipliers.real, axis=1)
    expected = np.sort(np.stack([1 - np.sqrt(b.values), np.full(len(b), 0.5)], 1), axis=1)
    np.testing.assert_allclose(mu, expected, atol=ATOL_MULTIPLIER)
    assert list(b.stable) == list(np.sqrt(b.values) < 2)      # |1 - x| < 1


def test_branch_turns_at_the_fold():
    m = learning_map(FOLD_GAME, "nl", delta=0.5, a=1.0)
    b = continue_branch(m, [1.0, 0.0], "a", -1.0, step=0.1, bounds=(-1.0, 1.0))
    turn = int(np.argmin(b.values))
    assert 0 < turn < len(b) - 1                    # down to the fold, then back up
    assert -ATOL_BRANCH < b.values[turn] < 0.05
    assert b.points[0, 0] > 0 > b.points[-1, 0]     # from x = +sqrt(a) to x = -sqrt(a)
    np.testing.assert_allclose(b.points[:, 0] ** 2, b.values, atol=ATOL_BRANCH)
    assert b.tangents[0, -1] < 0 < b.tangents[-1, -1]


def test_symbol_continuation_nl_closed_form():
    m = learning_map(BIASED_MP, "nl", b=0.0)
    b = continue_branch(m, [0.0, 0.0], "b", 0.9, step=0.1)
    assert b.values[-1] == 0.9
    np.testing.assert_allclose(b.points[:, 0], 0.0, atol=ATOL_BRANCH)
    np.testing.assert_allclose(b.points[:, 1], np.log((1 - b.values) / (1 + b.values)),
                               atol=ATOL_BRANCH)


@pytest.mark.parametrize("rule", ["lola", "la", "exact_lola"])
def test_symbol_continuation_agrees_with_independent_roots(rule):
    m = learning_map(BIASED_MP, rule, b=0.0, eta=1.0)
    b = continue_branch(m, [0.0, 0.0], "b", 0.8, step=0.1)
    assert b.values[-1] == 0.8 and len(b) > 4
    assert np.ptp(b.points[:, 1]) > 0.5             # the fixed point moves
    for v, z in zip(b.values, b.points):
        other = _independent_zero(BIASED_MP, rule, z + 1e-3, b=v, eta=1.0)
        assert np.max(np.abs(other - z)) < ATOL_INDEPENDENT
        assert np.max(np.abs(m.field(z, {"b": v}))) < ATOL_BRANCH


def test_hyper_continuation_agrees_with_independent_roots():
    m = learning_map(BIASED_MP, "lola", b=0.5, eta=0.2)
    b = continue_branch(m, [0.0, -1.0], "eta", 3.0, step=0.2)
    assert b.values[-1] == 3.0
    for v, z in zip(b.values[::3], b.points[::3]):
        other = _independent_zero(BIASED_MP, "lola", z + 1e-3, b=0.5, eta=v)
        assert np.max(np.abs(other - z)) < ATOL_INDEPENDENT


@pytest.mark.slow
def test_gamma_continuation_on_an_iterated_game():
    """gamma of a biased iterated matching pennies (memory 1, d = 10), LOLA; ~1 min compile."""
    from lola_sym.games.catalogue import GAMMA, repeated
    g = repeated([[[3, -1], [-1, 1]], [[-1, 1], [1, -1]]], GAMMA, name="biased IMP")
    m = learning_map(g, "lola", gamma=0.5, eta=1.0)
    z0 = newton_fixed_point(m, np.random.default_rng(0).normal(size=10))
    b = continue_branch(m, z0, "gamma", 0.9, step=0.05)
    assert b.values[-1] == 0.9
    for v, z in zip(b.values[::2], b.points[::2]):
        other = _independent_zero(g, "lola", z + 1e-4, gamma=v, eta=1.0)
        assert np.max(np.abs(other - z)) < ATOL_INDEPENDENT


def test_delta_branch_keeps_the_point_and_multipliers_are_linear_in_delta():
    eta = 1.0
    m = learning_map(games.matching_pennies(), "lola", eta=eta)
    b = continue_branch(m, [0.01, -0.02], "delta", 4.0, start=0.5, step=0.3)
    assert np.all(b.points == b.points[0]) and np.max(np.abs(b.points)) < ATOL_BRANCH
    lam = complex(-eta / 16, 0.25)
    expected = np.abs(1 + b.values * lam)
    np.testing.assert_allclose(np.abs(b.multipliers[:, 0]), expected, atol=ATOL_MULTIPLIER)
    np.testing.assert_allclose(b.eigenvalues[:, 0], lam, atol=ATOL_MULTIPLIER)
    assert list(b.stable) == list(b.values < 32 * eta / (eta ** 2 + 16))


def test_per_agent_rates():
    m = learning_map(games.matching_pennies(), "lola", delta=(1.0, 2.0), eta=1.0)
    assert m.value("tau") == 2.0 and m.value("delta") == 1.0
    np.testing.assert_allclose(m.rates({"delta": 3.0}), [3.0, 6.0])
    np.testing.assert_allclose(m.rates({"tau": 0.5}), [1.0, 0.5])
    A = m.map_jacobian([0.0, 0.0])
    np.testing.assert_allclose(A, [[1 - 1 / 16, -0.25], [0.5, 1 - 2 / 16]], atol=1e-15)
    z = np.array([0.3, -0.2])
    np.testing.assert_allclose(m.step(z), z + [1.0, 2.0] * m.field(z), atol=0)


def test_wrong_answers_are_far():
    """The checks above can fail: the other branch and a shifted symbol are far off."""
    m = learning_map(FOLD_GAME, "nl", delta=0.5, a=1.0)
    b = continue_branch(m, [0.9, 0.1], "a", 2.0, step=0.2)
    assert np.max(np.abs(b.points[:, 0] + np.sqrt(b.values))) > 1
    m = learning_map(BIASED_MP, "nl", b=0.0)
    b = continue_branch(m, [0.0, 0.0], "b", 0.9, step=0.1)
    wrong = np.log((1 - 1.01 * b.values) / (1 + 1.01 * b.values))
    assert np.max(np.abs(b.points[:, 1] - wrong)) > 1e3 * ATOL_BRANCH


def test_bad_input():
    mp = games.matching_pennies()
    with pytest.raises(ValueError, match="not a parameter"):
        learning_map(mp, "lola").kind("zeta")
    with pytest.raises(ValueError, match="one per agent"):
        learning_map(mp, "lola", delta=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="> 0"):
        learning_map(mp, "lola", delta=(1.0, 0.0))
    with pytest.raises(ValueError, match="missing"):
        learning_map(FOLD_GAME, "nl")
    m = learning_map(mp, "lola", eta=1.0)
    with pytest.raises(ValueError, match="flow"):
        continue_branch(m, [0.0, 0.0], "delta", 2.0, system="flow")
    with pytest.raises(ValueError, match="stop must differ"):
        continue_branch(m, [0.0, 0.0], "eta", 1.0)
    with pytest.raises(ValueError, match="finite numbers"):
        continue_branch(m, [0.0, np.nan], "eta", 2.0)
    with pytest.raises(ValueError, match="Newton did not converge"):
        newton_fixed_point(learning_map(FOLD_GAME, "nl", a=-1.0), [0.3, 0.0])
    with pytest.raises(ValueError, match="tau"):
        learning_map(games.contribution(3, "1.33", memory=0), "nl").kind("tau")
