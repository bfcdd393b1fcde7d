"""Games played in new parameters, theta_i = M_i phi_i (lola_sym.games.reparameterised).

Published setting used here: POLA's pre-conditioning matrix (Silent-Zebra/POLA @ b248b52,
``LOLA_exact.py``, ``ill_cond_matrix1``/``ill_cond_matrix2``; ``../shared/reference/
newer_methods.md``): M = [[1,0,0,0,0],[-2,1,0,0,0],[-2,0,1,0,0],[-2,0,0,1,0],[-2,0,0,0,1]] with
the start state first.

The rules' fields in phi are checked against the chain rule through the base game's own
(separately tested) fields, and against central differences of the base game's values.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from lola_sym import jacobian, update_field
from lola_sym.games import contribution, ipd, matching_pennies
from lola_sym.games.reparameterised import (POLA_ILL_CONDITION, Reparameterised,
                                            reparameterised)
from test_game_contract import GameContract

#: the naive field in phi against M^T times the naive field in theta (one matrix product)
RTOL_CHAIN = 1e-13
#: exact LOLA in phi against central differences (step 1e-5) of the value after the
#: opponent's phi-step, built from the base game: error ~ h^2 |V'''| + eps/h ~ 1e-10
ATOL_LOLA_FD = 1e-8
#: compiled Jacobian in phi against central differences (step 1e-5) of the phi field
ATOL_JACOBIAN_FD = 1e-7

M = np.array(POLA_ILL_CONDITION, dtype=float)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


class TestReparameterisedIpd(GameContract):
    """POLA's pre-conditioned IPD keeps the game contract."""

    name = "ipd, theta = M phi"

    def game(self):
        return reparameterised(ipd(), POLA_ILL_CONDITION)


class TestReparameterisedSymbolicIpd(GameContract):
    """A family: the symbolic IPD under two different maps, payoffs bound at call time."""

    name = "ipd (symbolic), theta = M phi"
    parameters = {"R": -1, "S": -3, "T": 0, "P": -2, "gamma": 0.96}

    def game(self):
        return reparameterised(ipd(symbolic=True), POLA_ILL_CONDITION,
                               np.diag([1, 2, 3, 0.5, -1]))


def test_values_are_the_base_values_at_the_mapped_logits():
    g = reparameterised(contribution(2, "1.33"), POLA_ILL_CONDITION)
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    want = contribution(2, "1.33").value(phi[0] @ M.T, phi[1] @ M.T)
    assert np.array_equal(g.value(*phi), want)
    # the map acts on the parameters, not on a copy of the logits: a different map differs
    other = reparameterised(contribution(2, "1.33"), np.eye(5))
    assert not np.allclose(other.value(*phi), want)


def test_naive_field_in_phi_is_the_chain_rule():
    """d V / d phi = M^T dV/dtheta, for the naive field on the symbolic family too."""
    fam = ipd(symbolic=True)
    g = reparameterised(fam, POLA_ILL_CONDITION)
    pars = dict(R=-1, S=-3, T=0, P=-2, gamma=0.9)
    rng = np.random.default_rng(1)
    p1, p2 = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    got = update_field(g, "nl")(p1, p2, **pars)
    base = update_field(fam, "nl")(p1 @ M.T, p2 @ M.T, **pars)
    for a, b in zip(got, base):
        want = b @ M
        assert np.allclose(a, want, rtol=RTOL_CHAIN, atol=RTOL_CHAIN * np.abs(want).max())
    assert not np.allclose(got[0], base[0])       # the check can fail: M is not orthogonal


def _lola_phi_fd(game, p1, p2, eta, h=1e-5):
    """Exact LOLA for agent 1 in phi, by central differences of
    V1(M phi1, M (phi2 + eta M^T grad_theta2 V2)) built from the base game."""
    nl = update_field(game, "nl")

    def F(q1):
        th1, th2 = M @ q1, M @ p2
        step = M.T @ nl(th1, th2)[1]                  # the opponent's naive step in phi
        return game.value(th1, M @ (p2 + eta * step))[0]
    return np.array([(F(p1 + h * e) - F(p1 - h * e)) / (2 * h) for e in np.eye(5)])


def test_exact_lola_in_phi_against_finite_differences():
    game = contribution(2, "1.33")
    g = reparameterised(game, POLA_ILL_CONDITION)
    rng = np.random.default_rng(2)
    eta = 3.0
    f = update_field(g, "exact_lola", eta=eta)
    for _ in range(2):
        p1, p2 = rng.normal(0, 0.5, 5), rng.normal(0, 0.5, 5)
        got = f(p1, p2)[0]
        want = _lola_phi_fd(game, p1, p2, eta)
        assert np.max(np.abs(got - want)) <= ATOL_LOLA_FD
        # LOLA's policy step depends on the parameterisation: the theta-space step differs
        th_step = update_field(game, "exact_lola", eta=eta)(M @ p1, M @ p2)[0]
        assert np.max(np.abs(M @ got - th_step)) > 1e3 * ATOL_LOLA_FD


@pytest.mark.slow
def test_jacobian_in_phi_against_finite_differences():
    """(slow: compiles exact LOLA's Jacobian on the reparameterised family, about 20 s)"""
    g = reparameterised(contribution(2, "1.33"), POLA_ILL_CONDITION)
    rng = np.random.default_rng(3)
    p1, p2 = rng.normal(0, 0.5, 5), rng.normal(0, 0.5, 5)
    J = jacobian(g, "exact_lola", p1, p2, eta=1.0)
    f = update_field(g, "exact_lola", eta=1.0)
    x, h = np.r_[p1, p2], 1e-5
    fd = np.empty((10, 10))
    for k, e in enumerate(np.eye(10) * h):
        fd[:, k] = (np.concatenate(f(*np.split(x + e, [5])))
                    - np.concatenate(f(*np.split(x - e, [5])))) / (2 * h)
    assert np.max(np.abs(J - fd)) <= ATOL_JACOBIAN_FD * max(1.0, np.abs(fd).max())


def test_a_family_is_compiled_once_for_every_payoff():
    a = reparameterised(contribution(2, "1.25"), POLA_ILL_CONDITION)
    b = reparameterised(contribution(2, "1.6"), POLA_ILL_CONDITION)
    fa, na = a.family()
    fb, nb = b.family()
    assert fa == fb and na != nb
    assert fa.is_symbolic and not a.is_symbolic
    # the maps are part of the identity (cache keys)
    c = reparameterised(contribution(2, "1.25"), np.eye(5))
    assert c.spec() != a.spec() and c != a


def test_exact_entries_and_a_symbolic_value_program():
    g = reparameterised(matching_pennies(), [[0.1]], [[sp.Rational(1, 3)]])
    assert g.maps == (((sp.Rational(1, 10),),), ((sp.Rational(1, 3),),))
    prog = g.value_program()
    phi1, phi2 = g.theta[0][0], g.theta[1][0]
    v = prog.evaluate({phi1: 20, phi2: 6})[0]
    # the base game's value at logits 2 and 2: V1 = -(2 p - 1)(2 q - 1), p = q = sigmoid(2)
    want = matching_pennies().value(np.array([2.0]), np.array([2.0]))[0]
    assert abs(float(v) - want) < 1e-15 and abs(want + (2 * _sig(2.0) - 1) ** 2) < 1e-15
    assert isinstance(g, Reparameterised) and g.dims == (1, 1)


@pytest.mark.parametrize("maps, error, match", [
    (("M",), TypeError, "numbers"),
    ((np.ones((4, 5)),), ValueError, r"shape \(5, k\)"),
    ((np.ones((5, 2)),), ValueError, "full column rank"),
    ((np.full((5, 5), np.nan),), ValueError, "finite"),
    ((np.eye(5) * 1e9,), ValueError, "at most"),
    ((np.eye(5), np.eye(5), np.eye(5)), ValueError, "one map for all players"),
    (([[1, 0, 0, 0, "x"]] * 5,), TypeError, "numbers"),
    (([[True] * 5] * 5,), TypeError, "numbers"),
])
def test_bad_maps_are_refused(maps, error, match):
    with pytest.raises(error, match=match):
        reparameterised(ipd(), *maps)


def test_bad_games_and_parameters_are_refused():
    with pytest.raises(TypeError, match="lola_sym game"):
        reparameterised("ipd", np.eye(5))
    from lola_sym.games import coin_game
    with pytest.raises(ValueError, match="adjoint path"):
        reparameterised(coin_game(), np.eye(4))
    g = reparameterised(ipd(), POLA_ILL_CONDITION)
    with pytest.raises(ValueError, match="last axis 5"):
        g.value(np.zeros(4), np.zeros(5))
    with pytest.raises(TypeError, match="2 parameter arrays"):
        g.logits(np.zeros(5))


@pytest.mark.slow
def test_pola_in_phi_compares_the_base_policies():
    """(slow: compiles exact LOLA's Jacobian on the reparameterised family, about 20 s)
    update_field gives POLA on a reparameterised game the KL of the base game's policies
    at logits M phi: with eta = 0 (no opponent step) its new policy is the theta-space one."""
    game = contribution(2, "1.33")
    g = reparameterised(game, POLA_ILL_CONDITION)
    rng = np.random.default_rng(4)
    t1, t2 = rng.normal(size=5), rng.normal(size=5)
    Mi = np.linalg.inv(M)
    new_phi = update_field(g, "pola", eta=0.0, beta=20.0).step(Mi @ t1, Mi @ t2)
    new_theta = update_field(game, "pola", eta=0.0, beta=20.0).step(t1, t2)
    for a, b in zip(new_phi, new_theta):
        assert np.max(np.abs(_sig(M @ a) - _sig(b))) <= 1e-9
