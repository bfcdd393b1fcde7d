"""The adjoint path (lola_sym.adjoint) against independent computations.

"Exact" on this path means exact to the precision of the sparse solver: the
values solve (I - gamma P) w = r to a backward-stable residual, and the
condition number of that matrix is at most (1 + gamma) / (1 - gamma) in the
max-norm, so every check below allows a few hundred units of rounding.

- values, gradients and every field against the compiled symbolic path on the
  IPD, the memory-2 IPD, RPS and the 3-player contribution game;
- gradients against complex-step derivatives, Hessian-vector products against
  complex-step and central differences of the gradients;
- the finite horizon against a brute-force sum over all trajectories, and its
  limit the discounted value;
- the field API: path, broadcasting, ``failed=``, errors.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from lola_sym import games, update_field
from lola_sym.adjoint import at, markov_of
from lola_sym.field import FieldError
from lola_sym.games.markov import markov
from lola_sym.games.values import compiled_value

#: adjoint path vs the compiled symbolic path (issue 13: 1e-12)
RTOL_SYMBOLIC = 1e-12
#: gradients vs complex-step derivatives (issue 13: 1e-8 relative; complex step has no
#: cancellation, measured agreement ~1e-15)
RTOL_GRADIENT = 1e-8
#: Hessian-vector products vs complex-step derivatives of the gradients
RTOL_HVP_COMPLEX = 1e-10
#: Hessian-vector products vs central differences of the gradients, step H_FD:
#: truncation ~ H_FD^2 |g'''| plus rounding ~ eps |g| / H_FD, about 1e-10 relative
RTOL_HVP_FD = 1e-6
H_FD = 1e-5
#: complex step
H_CS = 1e-30
#: finite horizon vs the brute-force sum of the same finite series
RTOL_BRUTE = 1e-13


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def _point(game, seed, scale=1.5):
    rng = np.random.default_rng(seed)
    return [rng.normal(0.0, scale, d) for d in game.dims]


SMALL = [games.ipd, games.ipd_memory2, games.rps]


# ------------------------------------------------------------ vs the compiled path
@pytest.mark.parametrize("make", SMALL + [lambda: games.contribution(3)])
def test_values_equal_the_symbolic_path(make):
    game = make()
    m = markov_of(game)
    assert m.dims == game.dims
    for seed in range(3):
        th = _point(game, seed)
        want = compiled_value(game, "numpy")(*th)
        assert _rel(m.value(*th), want) < RTOL_SYMBOLIC
        assert _rel(at(m, *th).values, want) < RTOL_SYMBOLIC
    assert _rel(m.value(th[1], th[0], *th[2:]), want) > 1e-3     # the check can fail


@pytest.mark.parametrize("make", SMALL + [lambda: games.contribution(3)])
def test_gradients_equal_the_compiled_naive_field(make):
    game = make()
    m = markov_of(game)
    compiled = update_field(game, "nl", backend="numpy")
    adjoint = update_field(m, "nl")
    assert (compiled.path, adjoint.path) == ("compiled", "adjoint")
    th = _point(game, 4)
    for a, c in zip(adjoint(*th), compiled(*th)):
        assert _rel(a, c) < RTOL_SYMBOLIC


@pytest.mark.parametrize("rule", ["lola", "la", "lola_full", "exact_lola"])
@pytest.mark.parametrize("eta", [0.3, 1.7])
def test_fields_on_the_ipd_equal_the_compiled_fields(rule, eta):
    game = games.ipd()
    compiled = update_field(game, rule, backend="numpy", eta=eta)
    adjoint = update_field(markov_of(game), rule, eta=eta)
    rng = np.random.default_rng(7)
    batch = [rng.normal(0, 2, (4, 5)) for _ in range(2)]
    for a, c in zip(adjoint(*batch), compiled(*batch)):
        assert a.shape == (4, 5) and _rel(a, c) < RTOL_SYMBOLIC


@pytest.mark.parametrize("memory", [0, pytest.param(1, marks=pytest.mark.slow)])
@pytest.mark.parametrize("rule", ["lola", "la", "exact_lola"])
def test_n_player_fields_equal_the_compiled_fields(rule, memory):
    game = games.contribution(3, memory=memory)
    th = _point(game, 2)
    c = update_field(game, rule, backend="numpy", eta=0.8)(*th)
    a = update_field(markov_of(game), rule, eta=0.8)(*th)
    assert all(_rel(x, y) < RTOL_SYMBOLIC for x, y in zip(a, c))


@pytest.mark.slow
@pytest.mark.parametrize("make", [games.ipd_memory2, games.rps])
@pytest.mark.parametrize("rule", ["lola", "la", "exact_lola"])
def test_fields_on_larger_chains_equal_the_compiled_fields(make, rule):
    game = make()
    th = _point(game, 3)
    c = update_field(game, rule, backend="numpy", eta=0.6)(*th)
    a = update_field(markov_of(game), rule, eta=0.6)(*th)
    assert all(_rel(x, y) < RTOL_SYMBOLIC for x, y in zip(a, c))


# ------------------------------------------------------- derivatives vs complex step
GAMES = {
    "coin 2x2": lambda: games.coin_game(2),
    "coin 2x2, horizon 6": lambda: games.coin_game(2, horizon=6),
    "coin 2x2 POLA, no sharing rule": lambda: games.coin_game(2, variant="pola",
                                                               respawn_under_agents=True),
    "RPS memory 1, horizon 4": lambda: markov_of(games.rps(), horizon=4),
    "contribution n=3": lambda: markov_of(games.contribution(3)),
}


@pytest.mark.parametrize("name", list(GAMES))
def test_gradients_equal_complex_step_derivatives(name):
    game = GAMES[name]()
    th = _point(game, 11)
    ev = at(game, *th)
    rng = np.random.default_rng(12)
    for k in range(game.n_players):
        u = rng.normal(size=game.dims[k])
        shifted = [t.astype(complex) for t in th]
        shifted[k] = shifted[k] + 1j * H_CS * u
        want = at(game, *shifted).values.imag / H_CS
        got = np.array([ev.gradient(i, k + 1) @ u for i in range(1, game.n_players + 1)])
        assert _rel(got, want) < RTOL_GRADIENT
        assert _rel(got + 1e-6 * np.abs(got).max(), want) > RTOL_GRADIENT   # can fail


def test_full_gradient_equals_complex_step_on_the_ipd():
    game = markov_of(games.ipd())
    th = _point(game, 5)
    ev = at(game, *th)
    for k in range(2):
        for p in range(5):
            shifted = [t.astype(complex) for t in th]
            shifted[k][p] += 1j * H_CS
            want = at(game, *shifted).values.imag / H_CS
            got = [ev.gradient(i, k + 1)[p] for i in (1, 2)]
            assert _rel(got, want) < RTOL_GRADIENT


@pytest.mark.parametrize("name", list(GAMES))
def test_hessian_vector_products_equal_derivatives_of_the_gradients(name):
    game = GAMES[name]()
    n = game.n_players
    th = _point(game, 21)
    ev = at(game, *th)
    rng = np.random.default_rng(22)
    for k in range(n):
        u = rng.normal(size=game.dims[k])
        shifted = [t.astype(complex) for t in th]
        shifted[k] = shifted[k] + 1j * H_CS * u
        cs = at(game, *shifted)
        plus, minus = list(th), list(th)
        plus[k], minus[k] = th[k] + H_FD * u, th[k] - H_FD * u
        ep, em = at(game, *plus), at(game, *minus)
        for i in range(1, n + 1):
            for j in range(1, n + 1):
                got = ev.hvp(i, j, k + 1, u)
                assert _rel(got, cs.gradient(i, j).imag / H_CS) < RTOL_HVP_COMPLEX
                fd = (ep.gradient(i, j) - em.gradient(i, j)) / (2 * H_FD)
                assert _rel(got, fd) < RTOL_HVP_FD


def test_lola_and_exact_lola_on_the_coin_game_equal_their_definitions():
    """LOLA's shaping term is the derivative of grad_1 V2 along theta_2 <- grad_2 V1, and
    exact LOLA is the total derivative of V1(theta_1, theta_2 + eta grad_2 V2): both by
    complex step, independently of the forward-over-adjoint products."""
    game = games.coin_game(2)
    eta = 0.9
    t1, t2 = _point(game, 31)
    ev = at(game, t1, t2)
    lola = update_field(game, "lola", eta=eta)(t1, t2)[0]
    shaped = at(game, t1, t2 + 1j * H_CS * ev.gradient(1, 2)).gradient(2, 1).imag / H_CS
    assert _rel(lola, ev.gradient(1, 1) + eta * shaped) < RTOL_HVP_COMPLEX
    exact = update_field(game, "exact_lola", eta=eta)(t1, t2)[0]
    u = np.random.default_rng(32).normal(size=game.dims[0])
    z1 = t1 + 1j * H_CS * u
    z2 = t2 + eta * at(game, z1, t2).gradient(2, 2)
    assert _rel(exact @ u, at(game, z1, z2).values[0].imag / H_CS) < RTOL_GRADIENT
    assert _rel(lola @ u, at(game, z1, z2).values[0].imag / H_CS) > 1e-6   # they differ


def test_rules_reduce_to_the_naive_learner_without_lookahead():
    game = games.coin_game(2)
    th = _point(game, 41)
    nl = update_field(game, "nl")(*th)
    for rule in ("lola", "la", "lola_full", "exact_lola"):
        for a, b in zip(update_field(game, rule, eta=0.0)(*th), nl):
            np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------ finite horizon
def _brute_force_ipd(t1, t2, T, gamma=0.96):
    """Sum over all 4^T joint-action paths of the IPD, own-perspective memory-1 policies."""
    p1, p2 = 1 / (1 + np.exp(-t1)), 1 / (1 + np.exp(-t2))
    own2 = {0: 0, 1: 1, 2: 3, 3: 2, 4: 4}            # agent 2 reads CD as its DC
    r = ((-1, -1), (-3, 0), (0, -3), (-2, -2))
    total = np.zeros(2)
    for path in product(range(4), repeat=T):
        prob, state, ret = 1.0, 0, np.zeros(2)
        for t, a in enumerate(path):
            a1, a2 = divmod(a, 2)
            prob *= (p1[state] if a1 == 0 else 1 - p1[state])
            prob *= (p2[own2[state]] if a2 == 0 else 1 - p2[own2[state]])
            ret += gamma ** t * np.array(r[a])
            state = 1 + a
        total += prob * ret
    return total


@pytest.mark.parametrize("T", [1, 2, 3, 5])
def test_finite_horizon_equals_the_brute_force_sum(T):
    t1, t2 = _point(games.ipd(), 51 + T)
    game = markov_of(games.ipd(), horizon=T)
    want = _brute_force_ipd(t1, t2, T)
    assert _rel(game.value(t1, t2), want) < RTOL_BRUTE
    assert _rel(at(game, t1, t2).values, want) < RTOL_BRUTE
    if T > 1:
        assert _rel(game.value(t1, t2), _brute_force_ipd(t1, t2, T - 1)) > 1e-3


@pytest.mark.parametrize("make", [lambda: markov_of(games.ipd()), lambda: games.coin_game(2)])
def test_finite_horizon_tends_to_the_discounted_value(make):
    """|V^(T) - V| <= gamma^T max|R| / (1 - gamma), and the gap closes as T grows."""
    game = make()
    th = _point(game, 61)
    v = game.value(*th)
    gamma = float(game.gamma)
    bound = np.abs(game.rewards).max() / (1 - gamma)
    gaps = []
    for T in (5, 25, 100, 400, 1600):
        gap = np.abs(game.with_horizon(T).value(*th) - v).max()
        assert gap <= gamma ** T * bound * (1 + 1e-9) + 1e-12 * bound
        gaps.append(gap)
    assert all(b < a for a, b in zip(gaps[:-2], gaps[1:-1])) and gaps[-1] < 1e-12 * bound


def test_finite_horizon_gradients_are_the_derivatives_of_the_finite_values():
    game = games.coin_game(2, horizon=4)
    th = _point(game, 71)
    inf = games.coin_game(2)
    g_fin, g_inf = at(game, *th).gradient(1, 1), at(inf, *th).gradient(1, 1)
    assert _rel(g_fin, g_inf) > 1e-3                    # four steps are not forever
    u = np.random.default_rng(72).normal(size=game.dims[0])
    want = at(game, th[0] + 1j * H_CS * u, th[1]).values[0].imag / H_CS
    assert abs(g_fin @ u - want) < RTOL_GRADIENT * abs(want)


# ------------------------------------------------------------------ sparsity
def test_the_coin_game_is_factorised_sparsely():
    """No dense fallback: the LU of the 3x3 coin game holds a small fraction of a dense one."""
    game = games.coin_game(3)
    lu = at(game, *_point(game, 81)).chain.lu()
    n = game.n_states + game.n_chance
    assert lu.shape == (n, n) and (lu.L.nnz + lu.U.nnz) < 0.15 * n * n


# ------------------------------------------------------------------ field API
def test_update_field_dispatches_on_the_game():
    g = games.coin_game(2)
    f = update_field(g, "lola", eta=0.5)
    assert f.path == "adjoint" and f.hyper == {"eta": 0.5} and "coin game 2x2" in repr(f)
    assert update_field(games.ipd(), "nl", backend="numpy").path == "compiled"


def test_fields_broadcast_over_leading_axes():
    g = games.coin_game(2)
    f = update_field(g, "lola")
    rng = np.random.default_rng(91)
    t1 = rng.normal(size=(2, 3, g.dims[0]))
    t2 = rng.normal(size=(3, g.dims[1]))
    g1, g2 = f(t1, t2)
    assert g1.shape == (2, 3, g.dims[0]) and g2.shape == (2, 3, g.dims[1])
    one = f(t1[1, 2], t2[2])
    np.testing.assert_array_equal(g1[1, 2], one[0])
    np.testing.assert_array_equal(g2[1, 2], one[1])


def _overflowing_game():
    """A one-state game whose rewards overflow the value: 1e308 / (1 - 0.9) = inf."""
    R = np.full((2, 1, 4), 1e308)
    return markov((2, 2), [1.0], ([0] * 4, [0, 1, 2, 3], [0] * 4, [1.0] * 4), R, "0.9")


def test_failed_nan_marks_the_points_and_raise_names_them():
    f = update_field(_overflowing_game(), "nl")
    g1, g2 = f(np.zeros((2, 1)), np.zeros((2, 1)), failed="nan")
    assert np.isnan(g1).all() or not np.isfinite(g1).all()
    with pytest.raises(FieldError, match=r"not finite at point \(0,\)") as err:
        f(np.zeros((2, 1)), np.zeros((2, 1)))
    assert err.value.index == (0,) and "overflowed" in err.value.reason


@pytest.mark.parametrize("call, error, match", [
    (lambda f, d: f(np.zeros(d)), TypeError, "takes 2 parameter arrays"),
    (lambda f, d: f(np.zeros(d), np.zeros(d + 1)), ValueError, r"shape \(\.\.\., "),
    (lambda f, d: f(np.full(d, np.nan), np.zeros(d)), ValueError, "non-finite"),
    (lambda f, d: f(np.zeros(d), np.zeros(d), eta=1.0), TypeError, "no symbols"),
    (lambda f, d: f(np.zeros(d), np.zeros(d), failed="warn"), ValueError, "failed must be"),
])
def test_bad_calls_are_refused_clearly(call, error, match):
    g = games.coin_game(2)
    with pytest.raises(error, match=match):
        call(update_field(g, "nl"), g.dims[0])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(rule="sos"), ValueError, "no adjoint form"),
    (dict(rule="lola", beta=1.0), ValueError, "no hyper-parameter 'beta'"),
    (dict(rule="lola", eta=-1.0), ValueError, r"eta must lie in \[0, inf\)"),
    (dict(rule="nl", backend="c"), ValueError, "compiles nothing"),
])
def test_bad_fields_are_refused_clearly(kwargs, error, match):
    with pytest.raises(error, match=match):
        update_field(games.coin_game(2), **kwargs)


def test_symbolic_games_are_refused_by_markov_of():
    with pytest.raises(ValueError, match="substitute numbers first"):
        markov_of(games.ipd(symbolic=True))
    with pytest.raises(TypeError, match="repeated, iterated or Markov game"):
        markov_of(games.tandem())


def test_overflowing_values_are_refused_clearly():
    with pytest.raises(ValueError, match="not finite at point"):
        _overflowing_game().value(np.zeros(1), np.zeros(1))


# ------------------------------------------------ repeated games beyond the symbolic program
#: a dense numpy solve of the chain the sampling layer builds vs the sparse LU
RTOL_DENSE = 1e-12
#: the adjoint gradient vs central differences (step 1e-5) of the dense value: truncation
#: ~1e-10 |V'''| plus rounding ~1e-16 |V| / 1e-5
RTOL_DENSE_FD = 1e-7


def _dense_values(game, thetas):
    """V_i = p0^T (I - gamma P)^-1 r_i from the sampling layer's dense chain (numpy solve)."""
    from lola_sym.sampling.markov import chain
    p0, P, r = chain(game, *thetas)
    gamma = float(game.gamma)
    w = np.linalg.solve(np.eye(len(p0)) - gamma * P, r.T)
    return p0 @ w


@pytest.mark.parametrize("make", [lambda: games.contribution(4, memory=2),
                                  lambda: games.rps(memory=2),
                                  lambda: games.repeated(
                                      [np.arange(27).reshape(3, 3, 3) % 5,
                                       np.arange(27).reshape(3, 3, 3) % 7, np.eye(9).reshape(3, 3, 3, 3)[0]],
                                      0.9, memory=2)])
def test_repeated_games_above_the_symbolic_limit_take_the_adjoint_path(make):
    """Chains of 81 to 729 states: ``value`` and ``update_field`` go to the sparse path.

    Checked against a dense solve of the chain the sampling layer builds (a
    different construction: histories of length max(m, 1) with the first joint
    action as the start, vs markov_of's histories of lengths 0..m), and the
    naive field against central differences of that dense value.
    """
    game = make()
    assert game.field_path == "adjoint" and game.n_chain_states > 64
    th = _point(game, 3, 1.0)
    v = game.value(*th)
    assert _rel(v, _dense_values(game, th)) < RTOL_DENSE
    f = update_field(game, "nl")
    assert f.path == "adjoint"
    g = f(*th)
    j, k, h = 1, 7, 1e-5                            # player 2's own gradient, coordinate 7
    up, down = [t.copy() for t in th], [t.copy() for t in th]
    up[j][k] += h
    down[j][k] -= h
    fd = (_dense_values(game, up)[j] - _dense_values(game, down)[j]) / (2 * h)
    assert abs(g[j][k] - fd) < RTOL_DENSE_FD * np.abs(g[j]).max()


def test_large_repeated_games_refuse_the_symbolic_program_clearly():
    game = games.contribution(4, memory=2)
    with pytest.raises(ValueError, match="256 chain states, more than the 64 of the symbolic"):
        game.value_program()
    with pytest.raises(ValueError, match="sparse numeric path"):
        games.repeated([np.zeros((2,) * 4, dtype=object) + __import__("sympy").Symbol("a")] * 4,
                       0.9, memory=2)
    with pytest.raises(ValueError, match="transitions"):
        games.repeated([np.zeros((4, 4, 4))] * 3, 0.9, memory=2)


@pytest.mark.slow
def test_jacobians_of_adjoint_path_games_are_differences_of_the_field():
    """On the adjoint path the Jacobian is central differences of the field (no symbolic
    program): on the IPD as a Markov game it equals the compiled exact Jacobian to
    RTOL_FD_JACOBIAN (step 1e-6 relative: truncation ~1e-12, rounding ~1e-10)."""
    from lola_sym import jacobian
    th = _point(games.ipd(), 5, 1.0)
    exact = jacobian(games.ipd(), "lola", *th, eta=0.7)
    fd = jacobian(markov_of(games.ipd()), "lola", *th, eta=0.7)
    assert _rel(fd, exact) < RTOL_FD_JACOBIAN


RTOL_FD_JACOBIAN = 1e-7
