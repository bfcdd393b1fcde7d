"""Exact Jacobians of the update fields (lola_sym.analysis.jacobian)."""

import numpy as np
import pytest
import sympy as sp

from lola_sym import games, update_field
from lola_sym.analysis.jacobian import (exact_jacobian, jacobian, map_jacobian, symbolic_jacobian,
                               _fd_jacobian)
from tolerances import RTOL_JACOBIAN_FD, EPS


def _fd(game, rule, t1, t2, h=1e-6, **hyper):
    """Central differences of the compiled field, written independently of the package's."""
    f = update_field(game, rule, **hyper)
    d1, d2 = game.dims
    z = np.concatenate([t1, t2])
    cols = []
    for k in range(d1 + d2):
        e = np.zeros(d1 + d2)
        e[k] = h
        gp = np.concatenate(f((z + e)[:d1], (z + e)[d1:]))
        gm = np.concatenate(f((z - e)[:d1], (z - e)[d1:]))
        cols.append((gp - gm) / (2 * h))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("rule", ["nl", "lola", "exact_lola"])
def test_ipd_jacobian_matches_finite_differences(rule):
    rng = np.random.default_rng(11)
    t1, t2 = rng.normal(size=5), rng.normal(size=5)
    J = jacobian(games.ipd(), rule, t1, t2, eta=0.8) if rule != "nl" else \
        jacobian(games.ipd(), rule, t1, t2)
    hyper = {"eta": 0.8} if rule != "nl" else {}
    ref = _fd(games.ipd(), rule, t1, t2, **hyper)
    assert J.shape == (10, 10)
    assert np.max(np.abs(J - ref)) < RTOL_JACOBIAN_FD * np.max(np.abs(ref))
    # the check can fail: a transposed Jacobian is far off
    assert np.max(np.abs(J.T - ref)) > 1e3 * RTOL_JACOBIAN_FD * np.max(np.abs(ref))


@pytest.mark.parametrize("rule", ["nl", "la", "lola", "lola_full", "exact_lola", "co", "hola",
                                  "lola2"])
def test_one_shot_jacobian_batched_matches_finite_differences(rule):
    game = games.matching_pennies()
    rng = np.random.default_rng(2)
    t1, t2 = rng.normal(size=(4, 1)), rng.normal(size=(4, 1))
    J = jacobian(game, rule, t1, t2)
    assert J.shape == (4, 2, 2)
    for n in range(4):
        ref = _fd(game, rule, t1[n], t2[n])
        assert np.max(np.abs(J[n] - ref)) < RTOL_JACOBIAN_FD * max(1.0, np.max(np.abs(ref)))


def test_exact_jacobian_at_nash_equals_compiled():
    """Exact rationals at theta = 0 (sigma(0) = 1/2), eta symbolic, vs the compiled Jacobian."""
    game = games.imp()
    J = exact_jacobian(game, "lola", [0] * 5, [0] * 5)
    eta = sp.Symbol("eta", positive=True)
    assert J.free_symbols == {eta}
    num = np.array(J.subs(eta, sp.Rational(7, 10)), dtype=float)
    got = jacobian(game, "lola", np.zeros(5), np.zeros(5), eta=0.7)
    np.testing.assert_allclose(got, num, rtol=0, atol=100 * EPS)
    # NL at the IMP Nash point: a pure rotation (antisymmetric, zero diagonal)
    Jnl = exact_jacobian(game, "nl", [0] * 5, [0] * 5)
    assert Jnl == -Jnl.T and all(Jnl[i, i] == 0 for i in range(10))


def test_symbolic_jacobian_of_small_games():
    x, y = sp.symbols("x y", real=True)
    assert symbolic_jacobian(games.hamiltonian(), "nl") == sp.Matrix([[0, -1], [1, 0]])
    eta = sp.Symbol("eta", positive=True)
    # Tandem LOLA: g1 = 2 - 2(x+y) + 4 eta (x+y)  => every entry 4 eta - 2
    J = symbolic_jacobian(games.tandem(), "lola")
    assert sp.simplify(J - sp.Matrix(2, 2, [4 * eta - 2] * 4)) == sp.zeros(2, 2)
    # matching pennies: symbolic vs exact at a rational point
    J = symbolic_jacobian(games.matching_pennies(), "lola", eta=1)
    at = J.subs({sp.Symbol("theta_1", real=True): 0, sp.Symbol("theta_2", real=True): 0})
    assert sp.simplify(at - exact_jacobian(games.matching_pennies(), "lola", [0], [0], eta=1)) \
        == sp.zeros(2, 2)


def test_finite_difference_path_of_combined_rules():
    """SOS/CGD have no symbolic form: their Jacobian is by central differences."""
    game = games.tandem()
    f = update_field(game, "lola", eta=0.3)
    t1, t2 = np.array([[0.2]]), np.array([[-0.4]])
    assert np.max(np.abs(_fd_jacobian(f, t1, t2) - jacobian(game, "lola", t1, t2, eta=0.3))) < 1e-8
    J = jacobian(game, "cgd", [0.2], [-0.4], eta=0.3)
    assert J.shape == (2, 2) and np.all(np.isfinite(J))


def test_map_jacobian():
    J = np.array([[0.0, -1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(map_jacobian(J, 0.5), [[1.0, -0.5], [0.5, 1.0]])


def test_bad_input():
    # floats are read exactly (0.5 -> 1/2); non-finite ones are refused, naming the entry
    assert exact_jacobian(games.matching_pennies(), "nl", [0.5], [0]) == \
        exact_jacobian(games.matching_pennies(), "nl", ["1/2"], [0])
    with pytest.raises(ValueError, match=r"theta1\[2\] must be finite"):
        exact_jacobian(games.imp(), "nl", [0, 0, float("nan"), 0, 0], [0] * 5)
    with pytest.raises(ValueError, match="combined numerically"):
        exact_jacobian(games.tandem(), "sos", [0], [0])
    with pytest.raises(ValueError, match="must have 5 entries"):
        exact_jacobian(games.imp(), "nl", [0] * 4, [0] * 5)
    with pytest.raises(ValueError, match="use exact_jacobian at a point"):
        symbolic_jacobian(games.ipd(), "lola")
    with pytest.raises(ValueError, match="no hyper-parameter 'beta'"):
        exact_jacobian(games.tandem(), "lola", [0], [0], beta=1)
