"""Tests of lola_sym.games.values: the closed-form values, three ways."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
from lola_sym import games
from lola_sym.games.layout import policy, prob_symbols
from lola_sym.games.values import generic_value_polynomials, value_polynomials, value_program
from strategies import games as random_games
from strategies import logits, symmetric_games
from tolerances import ATOL_SATURATED, RTOL_REFERENCE, RTOL_TRUNCATED, Z_MC

SWAP = (0, 1, 3, 2, 4)


def truncated_values(game, t1, t2, horizon):
    """sum_{t < horizon} gamma^t d_t . r_i, with d_{t+1} = d_t P (no matrix inverse)."""
    x, y = 1 / (1 + np.exp(-t1)), 1 / (1 + np.exp(-t2))
    row = lambda a, b: np.array([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)])
    d = row(x[0], y[0])
    P = np.array([row(x[1 + j], y[SWAP[1 + j]]) for j in range(4)])
    r = np.array([[float(v) for v in game.r1], [float(v) for v in game.r2]])
    g, total, disc = float(game.gamma), np.zeros(2), 1.0
    for _ in range(horizon):
        total += disc * (r @ d)
        d, disc = d @ P, disc * g
    return total


def simulate(game, t1, t2, episodes, rng):
    """Monte-Carlo discounted returns of both agents (geometric horizon cut at gamma^T < 1e-12)."""
    x, y = 1 / (1 + np.exp(-t1)), 1 / (1 + np.exp(-t2))
    R1 = np.array(game.R1, dtype=float)
    R2 = np.array(game.R2, dtype=float)
    g = float(game.gamma)
    T = int(np.ceil(np.log(1e-12) / np.log(g)))
    a1 = (rng.random(episodes) >= x[0]).astype(int)   # 0 = C
    a2 = (rng.random(episodes) >= y[0]).astype(int)
    ret = np.zeros((episodes, 2))
    disc = 1.0
    for _ in range(T):
        ret[:, 0] += disc * R1[a1, a2]
        ret[:, 1] += disc * R2[a1, a2]
        s1 = 1 + 2 * a1 + a2          # agent 1's own state
        s2 = 1 + 2 * a2 + a1          # agent 2's own state
        a1 = (rng.random(episodes) >= x[s1]).astype(int)
        a2 = (rng.random(episodes) >= y[s2]).astype(int)
        disc *= g
    return ret


@pytest.mark.parametrize("name, per_step", [("tft", -1.0), ("alld", -2.0)])
def test_saturated_self_play_limits(name, per_step):
    """TFT/TFT gives -1 per step and always-defect -2 (reference/lola2018.md)."""
    g = games.ipd()
    avg = g.average_reward(policy(name, 30.0), policy(name, 30.0))
    assert np.allclose(avg, per_step, rtol=0, atol=ATOL_SATURATED)
    # the check can fail: less saturated logits are measurably off
    off = g.average_reward(policy(name, 5.0), policy(name, 5.0))
    assert np.max(np.abs(off - per_step)) > 100 * ATOL_SATURATED


def test_tft_against_alld_loses_only_the_first_round():
    g = games.ipd()
    v = g.value(policy("tft"), policy("alld"))
    gamma = float(g.gamma)
    expected = (-3 + gamma * -2 / (1 - gamma), 0 + gamma * -2 / (1 - gamma))
    assert np.allclose(v, expected, rtol=1e-11)


@settings(max_examples=15)
@given(random_games(), logits, logits)
def test_closed_form_equals_truncated_markov_sum(game, t1, t2):
    horizon = int(np.ceil(np.log(1e-13) / np.log(float(game.gamma))))
    want = truncated_values(game, t1, t2, horizon)
    got = game.value(t1, t2)
    scale = max(1.0, float(max(abs(x) for x in game.r1 + game.r2)) / (1 - float(game.gamma)))
    assert np.allclose(got, want, rtol=0, atol=RTOL_TRUNCATED * scale)


@pytest.mark.parametrize("seed", [0, 1])
def test_closed_form_within_monte_carlo_confidence_interval(seed):
    rng = np.random.default_rng(seed)
    game = games.iterated(rng.integers(-4, 5, (2, 2)).tolist(), rng.integers(-4, 5, (2, 2)).tolist(),
                          "4/5")
    t1, t2 = rng.uniform(-2, 2, 5), rng.uniform(-2, 2, 5)
    ret = simulate(game, t1, t2, 40_000, rng)
    mean, se = ret.mean(0), ret.std(0) / np.sqrt(len(ret))
    got = game.value(t1, t2)
    assert np.all(np.abs(got - mean) <= Z_MC * se + 1e-9)
    # a wrong value (off by 5 standard errors) is rejected by the same check
    assert not np.all(np.abs(got + 5 * se - mean) <= Z_MC * se)


def test_closed_form_matches_mpmath_linear_solve():
    rng = np.random.default_rng(7)
    for game in (games.ipd(), games.imp(), games.chicken()):
        t1, t2 = rng.uniform(-6, 6, 5), rng.uniform(-6, 6, 5)
        want = [float(v) for v in reference.values(game.R1, game.R2, game.gamma, t1, t2)]
        assert np.allclose(game.value(t1, t2), want, rtol=RTOL_REFERENCE, atol=0)


@settings(max_examples=10)
@given(random_games(), st.lists(st.integers(1, 99), min_size=10, max_size=10))
def test_program_equals_expanded_ratio_exactly(game, nums):
    """The value program and N/D from Cramer's rule agree in exact rational arithmetic."""
    (p1, pb1), (p2, pb2) = prob_symbols(1), prob_symbols(2)
    probs = [sp.Rational(n, 100) for n in nums]
    point = {}
    for p, pb, vals in ((p1, pb1, probs[:5]), (p2, pb2, probs[5:])):
        point.update(zip(p, vals))
        point.update(zip(pb, [1 - v for v in vals]))
    prog = value_program(game)
    inputs = {s: 0 for s in prog.inputs}
    got = prog.evaluate({**inputs, **point})
    N1, N2, D = value_polynomials(game)
    assert got == [N1.xreplace(point) / D.xreplace(point), N2.xreplace(point) / D.xreplace(point)]


def test_the_symbolic_chain_from_the_one_builder_is_the_own_perspective_chain():
    """values._chain (games.chain over sympy) equals the chain written out by hand: agent 2's
    probability in joint state j is its own-perspective entry SWAP[1 + j]."""
    from lola_sym.games.values import _chain
    (p1, pb1), (p2, pb2) = prob_symbols(1), prob_symbols(2)

    def row(x, xb, y, yb):
        return [x * y, x * yb, xb * y, xb * yb]
    p0, P = _chain(p1, pb1, p2, pb2)
    assert p0 == row(p1[0], pb1[0], p2[0], pb2[0])
    assert P == [row(p1[1 + j], pb1[1 + j], p2[SWAP[1 + j]], pb2[SWAP[1 + j]]) for j in range(4)]
    # the check can fail: agent 2 read agent-1-first is another chain
    assert P != [row(p1[1 + j], pb1[1 + j], p2[1 + j], pb2[1 + j]) for j in range(4)]


def test_generic_polynomials_serve_every_game():
    N1, N2, D = generic_value_polynomials()
    assert {"gamma", "r_1,CC", "r_2,DD"} <= {s.name for s in N1.free_symbols | N2.free_symbols}
    assert D.free_symbols.isdisjoint(set(sp.symbols("r_1,CC r_2,CC")))


@settings(max_examples=15)
@given(symmetric_games(), logits, logits)
def test_swapping_agents_swaps_values_in_symmetric_games(game, t1, t2):
    v = game.value(t1, t2)
    w = game.value(t2, t1)
    assert np.allclose(v, w[::-1], rtol=1e-12, atol=1e-12)


@settings(max_examples=15)
@given(random_games(), logits, logits)
def test_average_reward_lies_between_smallest_and_largest_payoff(game, t1, t2):
    lo, hi = (float(x) for x in game.payoff_range)
    avg = game.average_reward(t1, t2)
    assert np.all(avg >= lo - 1e-9) and np.all(avg <= hi + 1e-9)


def test_swapped_game_gives_swapped_values():
    g = games.iterated([[1, -2], [3, 0]], [[0, 5], [-1, 2]], "9/10")
    t1, t2 = np.linspace(-1, 1, 5), np.linspace(2, -2, 5)
    assert np.allclose(g.value(t1, t2), g.swapped().value(t2, t1)[::-1], rtol=1e-12)


def test_value_broadcasts_over_leading_axes():
    g = games.ipd()
    t1 = np.random.default_rng(0).normal(size=(3, 1, 5))
    t2 = np.random.default_rng(1).normal(size=(4, 5))
    v = g.value(t1, t2)
    assert v.shape == (3, 4, 2)
    assert np.allclose(v[2, 3], g.value(t1[2, 0], t2[3]), rtol=1e-14)


def test_value_rejects_bad_input():
    g = games.ipd()
    with pytest.raises(ValueError, match="theta2 must have shape"):
        g.value(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="theta1 has a non-finite entry"):
        g.value(np.array([0, 0, np.inf, 0, 0]), np.zeros(5))
    with pytest.raises(TypeError, match="real numbers"):
        g.value(np.zeros(5, dtype=complex), np.zeros(5))


def test_symbolic_values_print_and_evaluate():
    g = games.imp()
    V1, V2 = g.values()
    assert r"\sigma" in sp.latex(V1)
    t = np.array([0.3, -0.2, 0.1, 0.5, -0.4])
    sub = dict(zip(g.theta[0], t)) | dict(zip(g.theta[1], -t))
    assert abs(float(V1.xreplace(sub).evalf(30)) - g.value(t, -t)[0]) < 1e-12
