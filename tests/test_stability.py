"""Stability classification and learning-rate thresholds (lola_sym.analysis.stability)."""

import numpy as np
import pytest
import sympy as sp

from lola_sym import games, train
from lola_sym.games.differentiable import differentiable
from lola_sym.analysis.jacobian import jacobian
from lola_sym.report.reproduce import nash_distance
from tolerances import ATOL_FIXED_POINT
from lola_sym.analysis.stability import (classify, classify_flow, classify_map,
                                lr_threshold, spectral_radius)
from lola_sym.analysis.thresholds import exact_lr_threshold

ETA = sp.Symbol("eta", positive=True)
MP = games.matching_pennies()


def _bisect_threshold(J, hi=100.0):
    """Largest delta with rho(I + delta J) < 1, by bisection (independent of the formula)."""
    lo = 0.0
    if spectral_radius(J, 1e-6) >= 1:
        return 0.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if spectral_radius(J, mid) < 1 else (lo, mid)
    return lo


def test_flow_classes():
    assert classify_flow([-1, -2]) == "stable"
    assert classify_flow([1, 2 + 1j, 2 - 1j]) == "unstable"
    assert classify_flow([-1, 2]) == "saddle"
    assert classify_flow([3j, -3j]) == "centre"
    assert classify_flow([0.0, -1.0]) == "non-hyperbolic"


def test_numeric_threshold_matches_bisection_on_random_stable_matrices():
    rng = np.random.default_rng(0)
    for _ in range(20):
        A = rng.normal(size=(4, 4))
        J = A - A.T - np.diag(rng.uniform(0.1, 2, size=4))   # eigenvalues in the left half-plane
        got = lr_threshold(np.linalg.eigvals(J))
        assert got == pytest.approx(_bisect_threshold(J), rel=1e-9)
    J = np.array([[0.0, -1.0], [1.0, 0.0]])
    assert lr_threshold(np.linalg.eigvals(J)) == 0.0 and _bisect_threshold(J) == 0.0


def test_one_shot_matching_pennies_naive_diverges_for_every_rate():
    """NL at theta = 0: eigenvalues of I + delta J are 1 +- i delta/4, modulus > 1 for delta > 0."""
    J = jacobian(MP, "nl", [0.0], [0.0])
    for delta in np.geomspace(1e-4, 1e2, 25):
        mods = np.abs(np.linalg.eigvals(np.eye(2) + delta * J))
        assert np.all(mods > 1) and mods.max() == pytest.approx(np.hypot(1, delta / 4), rel=1e-12)
    assert exact_lr_threshold(MP, "nl", [0], [0]) == 0


@pytest.mark.parametrize("rule, expected", [
    # J = [[-eta/16, -1/4], [1/4, -eta/16]]: lambda = -eta/16 +- i/4,
    # delta* = 2 (eta/16) / ((eta/16)^2 + 1/16) = 32 eta / (eta^2 + 16)
    ("lola", 32 * ETA / (ETA ** 2 + 16)),
    ("la", 32 * ETA / (ETA ** 2 + 16)),
    # both Taylor terms double the damping: lambda = -eta/8 +- i/4 -> 16 eta / (eta^2 + 4)
    ("lola_full", 16 * ETA / (ETA ** 2 + 4)),
    ("exact_lola", 16 * ETA / (ETA ** 2 + 4)),
])
def test_exact_thresholds_on_one_shot_matching_pennies(rule, expected):
    got = exact_lr_threshold(MP, rule, [0], [0])
    assert sp.simplify(got - expected) == 0
    for eta in (0.3, 1.0, 4.0):
        J = jacobian(MP, rule, [0.0], [0.0], eta=eta)
        assert float(expected.subs(ETA, eta)) == pytest.approx(_bisect_threshold(J), rel=1e-9)
        d = float(expected.subs(ETA, eta))
        assert classify_map(J, 0.9 * d) == "converges" and classify_map(J, 1.1 * d) == "diverges"


def test_iterated_matching_pennies_nash_classification_matches_training():
    """LOLA paper Fig. 4: at the all-1/2 policy NL is a centre (cycles), LOLA is stable."""
    game = games.imp()
    z = np.zeros(5)
    nl = classify(game, "nl", z, z, delta=1.0)
    lola = classify(game, "lola", z, z, delta=1.0, eta=1.0)
    assert nl.residual <= ATOL_FIXED_POINT and lola.residual <= ATOL_FIXED_POINT
    assert nl.flow == "centre" and nl.map == "diverges"
    assert lola.flow == "stable" and lola.map == "converges" and lola.spectral_radius < 1
    kw = dict(runs=10, steps=300, delta=1.0, init_std=0.1, seed=3)
    tr_nl, tr_lola = train(game, "nl", **kw), train(game, "lola", eta=1.0, **kw)
    d0 = nash_distance(tr_nl.theta1[0], tr_nl.theta2[0])
    d_nl = nash_distance(tr_nl.theta1[-1], tr_nl.theta2[-1])
    d_lola = nash_distance(tr_lola.theta1[-1], tr_lola.theta2[-1])
    # rho(I + J) = 0.9703 for LOLA: 300 steps shrink the distance by ~1e-4
    assert np.all(d_lola < 1e-3 * d0) and np.all(d_nl > d0)


def test_game_view_of_small_games():
    """H = -J_NL for losses; SFP, strict saddle and differential Nash on textbook cases."""
    ham = classify(games.hamiltonian(), "nl", [0.0], [0.0])
    np.testing.assert_array_equal(ham.game_hessian, [[0.0, 1.0], [-1.0, 0.0]])
    assert ham.stable_fixed_point and not ham.differential_nash and not ham.strict_saddle
    np.testing.assert_array_equal(ham.symmetric, np.zeros((2, 2)))
    bal = classify(games.balduzzi(), "nl", [0.0], [0.0])      # H = [[1, 10], [-10, 1]]
    assert bal.stable_fixed_point and bal.differential_nash and bal.flow == "stable"
    x, y = sp.symbols("x y", real=True)
    saddle = differentiable(-x ** 2 / 2, y ** 2 / 2, [x], [y], loss=True)   # H = diag(-1, 1)
    s = classify(saddle, "nl", [0.0], [0.0])
    assert s.strict_saddle and not s.stable_fixed_point and s.flow == "saddle"
    # Tandem's line: H = [[2, 2], [2, 2]] is PSD but singular -> not an SFP by the definition
    t = classify(games.tandem(), "nl", [0.25], [0.75])
    assert t.residual == 0 and not t.stable_fixed_point and t.flow == "non-hyperbolic"
    # away from a fixed point the game-theoretic tests do not apply
    assert not classify(games.balduzzi(), "nl", [1.0], [0.0]).stable_fixed_point


def test_as_dict_and_bad_input():
    s = classify(MP, "lola", [0.0], [0.0], delta=1.0, eta=1.0)
    d = s.as_dict()
    assert d["flow"] == "stable" and len(d["eigenvalues"]) == 2
    with pytest.raises(ValueError, match="one point"):
        classify(MP, "nl", [[0.0], [1.0]], [[0.0], [1.0]])
    with pytest.raises(ValueError, match="delta"):
        classify(MP, "nl", [0.0], [0.0], delta=-1.0)
    with pytest.raises(ValueError, match="unknown rule"):
        classify(MP, "nope", [0.0], [0.0])


# ---------------------------------------------------------------- exact threshold, every rate
#: bisection of rho(I + delta J) (200 halvings) vs the closed form: both limited by the
#: rounding of numpy's eigenvalues of a 2x2 or 10x10 matrix, ~1e3 eps relative
NOT_POSITIVE = [(float("nan"), ValueError), (float("inf"), ValueError), (0.0, ValueError),
                (-1e-9, ValueError), (True, TypeError), ("1e-9", TypeError), (None, TypeError),
                (1j, TypeError)]
ROT = [[0.0, -1.0], [1.0, 0.0]]


@pytest.mark.parametrize("bad, error", NOT_POSITIVE)
def test_tolerances_are_validated(bad, error):
    """Before: classify(tol=nan) and classify_flow(tol=nan) returned an arbitrary label."""
    calls = {"classify_flow": lambda: classify_flow([1j, -1j], tol=bad),
             "lr_threshold": lambda: lr_threshold([-1 + 1j, -1 - 1j], tol=bad),
             "classify_map": lambda: classify_map(ROT, 0.1, tol=bad),
             "classify": lambda: classify(MP, "nl", [0.0], [0.0], tol=bad)}
    for name, call in calls.items():
        with pytest.raises(error, match="tol"):
            call()
    with pytest.raises(error, match="fixed_tol"):
        classify(MP, "nl", [0.0], [0.0], fixed_tol=bad)


@pytest.mark.parametrize("bad, error", NOT_POSITIVE)
def test_rates_are_validated(bad, error):
    from lola_sym.analysis.jacobian import map_jacobian
    calls = [lambda: spectral_radius(ROT, bad), lambda: classify_map(ROT, bad),
             lambda: map_jacobian(np.array(ROT), bad), lambda: map_jacobian(sp.Matrix(ROT), bad)]
    if bad is not None:         # classify(delta=None): no map to classify
        calls.append(lambda: classify(MP, "nl", [0.0], [0.0], delta=bad))
    for call in calls:
        with pytest.raises(error, match="delta"):
            call()
    assert map_jacobian(sp.Matrix(ROT), sp.Symbol("delta")).free_symbols == {sp.Symbol("delta")}


@pytest.mark.parametrize("eigenvalues, error, match", [
    ([], ValueError, "at least one"), ([np.nan, -1.0], ValueError, "finite"),
    ([np.inf], ValueError, "finite"), ([[-1.0, -2.0]], ValueError, "1-d"),
    (["a"], TypeError, "numbers"), ("-1", TypeError, "numbers"), (None, TypeError, "numbers"),
])
def test_eigenvalues_are_validated(eigenvalues, error, match):
    """Before: classify_flow([]) was 'stable' and classify_flow([nan]) 'non-hyperbolic'."""
    for f in (classify_flow, lr_threshold):
        with pytest.raises(error, match=f"eigenvalues.*{match}"):
            f(eigenvalues)


@pytest.mark.parametrize("J, error, match", [
    ([[np.nan, 0.0], [0.0, 1.0]], ValueError, "finite"), ([[1.0, 2.0]], ValueError, "square"),
    ([1.0, 2.0], ValueError, "square"), ([[1j, 0], [0, 1]], TypeError, "real"),
    ([["a", "b"], ["c", "d"]], TypeError, "real"), (np.zeros((0, 0)), ValueError, "square"),
])
def test_jacobians_are_validated(J, error, match):
    for call in (lambda: spectral_radius(J, 0.1), lambda: classify_map(J, 0.1)):
        with pytest.raises(error, match=f"J .*{match}"):
            call()
