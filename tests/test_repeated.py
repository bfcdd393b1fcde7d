"""Repeated games of any shape: values checked against independent solves and simulation.

The independent references here never use the package's chain builder: they
read the documented conventions (own-perspective state labels, the policy
table) and build the chain themselves, in numpy or in 50-digit mpmath.
"""

from __future__ import annotations

from itertools import product

import mpmath
import numpy as np
import pytest
import sympy as sp

import lola_sym as ls
from lola_sym.games import contribution, ipd, ipd_memory2, repeated, rps, three_player_ipd

#: agreement of compiled values with the independent double-precision chain solve
RTOL_CHAIN = 1e-11
#: Monte Carlo: the exact value must lie within this many standard errors of the mean
MC_SIGMAS = 4.5


def _label(game, player, history):
    """The documented own-perspective label of an agent-1-first history (independent code)."""
    if not history:
        return "s0"
    n = game.n_players
    order = [(player + q) % n for q in range(n)]
    parts = []
    for a in history:
        labs = [game.labels[p][a[p]] for p in order]
        parts.append("".join(labs) if all(len(x) == 1 for x in labs) else "/".join(labs))
    return ",".join(parts)


def _policy(game, thetas):
    """Per player: dict state label -> action probabilities, from the policy table."""
    tables = game.policy_table(*thetas)
    return [dict(zip(game.state_labels(i + 1), tables[i])) for i in range(game.n_players)]


def _chain_values(game, thetas, num=np):
    """Values by building the chain over all histories of length 1..m independently."""
    pol = _policy(game, thetas)
    n, m = game.n_players, game.memory
    joint = list(product(*(range(k) for k in game.actions)))
    R = [np.asarray(game.payoff_array(i + 1), dtype=float) for i in range(n)]
    gamma = float(game.gamma)

    def move(history):
        view = history[len(history) - min(len(history), m):] if m else ()
        out = []
        for a in joint:
            w = 1.0
            for i in range(n):
                w *= pol[i][_label(game, i, view)][a[i]]
            out.append((a, w))
        return out
    if m == 0:
        return np.array([sum(w * R[i][a] for a, w in move(())) / (1 - gamma) for i in range(n)])
    states = [h for length in range(1, m + 1) for h in product(joint, repeat=length)]
    index = {h: j for j, h in enumerate(states)}
    N = len(states)
    Pm = np.zeros((N, N))
    for h in states:
        for a, w in move(h):
            Pm[index[h], index[(h + (a,))[-m:]]] += w
    p0 = np.zeros(N)
    for a, w in move(()):
        p0[index[(a,)]] += w
    r = np.array([[R[i][h[-1]] for h in states] for i in range(n)])
    u = np.linalg.solve((np.eye(N) - gamma * Pm).T, p0)
    return r @ u


def _simulate(game, thetas, episodes, horizon, rng):
    """Discounted returns of ``episodes`` simulated plays, truncated at ``horizon``."""
    pol = _policy(game, thetas)
    n, m = game.n_players, game.memory
    R = [np.asarray(game.payoff_array(i + 1), dtype=float) for i in range(n)]
    gamma = float(game.gamma)
    ret = np.zeros((episodes, n))
    hist = [() for _ in range(episodes)]
    for t in range(horizon):
        acts = np.empty((episodes, n), dtype=int)
        for e in range(episodes):
            view = hist[e][len(hist[e]) - min(len(hist[e]), m):] if m else ()
            for i in range(n):
                p = pol[i][_label(game, i, view)]
                acts[e, i] = rng.choice(len(p), p=p)
        for i in range(n):
            ret[:, i] += gamma ** t * R[i][tuple(acts.T)]
        hist = [(h + (tuple(a),))[-m:] if m else () for h, a in zip(hist, acts)]
    return ret


GAMES = {
    "rps": lambda: rps(),
    "rps_memory0": lambda: rps(memory=0),
    "ipd_memory2": lambda: ipd_memory2(),
    "contribution3": lambda: contribution(3, "1.8"),
    "three_player_ipd": lambda: three_player_ipd(),
    "asymmetric_2x3": lambda: repeated([[[1, 0, 2], [3, -1, 0]], [[0, 2, 1], [1, 1, -2]]],
                                       "0.8", name="2x3"),
    "four_player_memory0": lambda: repeated(
        [np.arange(16).reshape((2,) * 4) * (i + 1) % 5 for i in range(4)], "0.9", memory=0),
}


def _random_point(game, rng, scale=1.0):
    return [rng.normal(0.0, scale, d) for d in game.dims]


@pytest.mark.parametrize("name", sorted(GAMES))
def test_values_match_an_independent_chain_solve(name):
    game = GAMES[name]()
    rng = np.random.default_rng(1)
    for _ in range(3):
        th = _random_point(game, rng)
        want = _chain_values(game, th)
        got = game.value(*th)
        assert np.allclose(got, want, rtol=RTOL_CHAIN, atol=RTOL_CHAIN * np.abs(want).max())


@pytest.mark.parametrize("name", ["rps", "ipd_memory2", "contribution3", "asymmetric_2x3"])
def test_values_match_monte_carlo(name):
    """The exact value lies within its Monte Carlo confidence interval (discount 0.7)."""
    base = GAMES[name]()
    game = repeated([base.payoff_array(i + 1) for i in range(base.n_players)], "0.7",
                    memory=base.memory, labels=base.labels)
    rng = np.random.default_rng(7)
    th = _random_point(game, rng)
    ret = _simulate(game, th, episodes=1500, horizon=60, rng=rng)   # 0.7^60 = 5e-10
    mean, se = ret.mean(axis=0), ret.std(axis=0, ddof=1) / np.sqrt(len(ret))
    exact = game.value(*th)
    assert np.all(np.abs(mean - exact) <= MC_SIGMAS * se + 1e-9)


def test_two_player_memory_one_is_the_iterated_game():
    """The general builder writes the 2x2 memory-1 value program exactly as IteratedGame."""
    g = ipd()
    r = repeated([np.array(g.R1), np.array(g.R2)], g.gamma, name="IPD")
    assert r.value_program().steps == g.value_program().steps
    assert r.dims == g.dims and r.param_names == g.param_names


def test_contribution_two_players_is_an_ipd():
    """contribution(2, cf) is the IPD with R = cf - 1, S = cf/2 - 1, T = cf/2, P = 0 (POLA)."""
    cf = sp.Rational(13, 10)
    c = contribution(2, cf)
    g = ls.iterated([[cf - 1, cf / 2 - 1], [cf / 2, 0]], [[cf - 1, cf / 2], [cf / 2 - 1, 0]],
                    c.gamma)
    rng = np.random.default_rng(3)
    t1, t2 = rng.normal(size=(2, 7, 5))
    assert np.allclose(c.value(t1, t2), g.value(t1, t2), rtol=1e-13, atol=1e-13)
    for rule, hyper in (("nl", {}), ("lola", {"eta": 0.6}), ("exact_lola", {"eta": 0.6}),
                        ("sos", {"eta": 0.6})):
        a = ls.update_field(c, rule, **hyper)(t1, t2)
        b = ls.update_field(g, rule, **hyper)(t1, t2)
        for x, y in zip(a, b):
            assert np.allclose(x, y, rtol=1e-13, atol=1e-13 * np.abs(y).max())


@pytest.mark.parametrize("name", ["contribution3", "three_player_ipd", "rps"])
def test_permuting_players_permutes_values(name):
    """Symmetric games: a cyclic relabelling keeps every player's own view, so values rotate."""
    game = GAMES[name]()
    n = game.n_players
    rng = np.random.default_rng(5)
    th = _random_point(game, rng)
    v = game.value(*th)
    for shift in range(1, n):
        order = tuple((q + shift) % n for q in range(n))
        permuted = game.permuted(order)
        assert permuted.payoffs == game.payoffs          # symmetric
        w = permuted.value(*[th[o] for o in order])
        assert np.allclose(w, v[list(order)], rtol=1e-12)


def test_state_labels_and_policy_table():
    g = ipd_memory2()
    labels = g.state_labels(2)
    assert len(labels) == 21 and labels[:5] == ("s0", "CC", "CD", "DC", "DD")
    assert labels[5:7] == ("CC,CC", "CC,CD")
    t = np.zeros(21)
    t[1] = 50.0
    table = g.policy_table(t, -t)
    assert table[0].shape == (21, 2)
    assert table[0][1, 0] == pytest.approx(1.0) and table[1][1, 0] == pytest.approx(0.0)
    assert np.allclose(table[0].sum(axis=-1), 1.0)
    r = rps()
    assert r.param_names[0][:4] == ("s0:R", "s0:P", "RR:R", "RR:P")
    big = np.full(r.dims[0], 800.0)                   # saturated softmax: no NaN
    assert np.isfinite(r.value(big, -big)).all()


def test_softmax_policy_convention():
    """Three actions: pi_a = exp(x_a) / (1 + sum_b exp(x_b)), the last action's logit is 0."""
    g = rps(memory=0)
    x = np.array([0.3, -1.2])
    p = g.policy_table(x, x)[0][0]
    e = np.exp([0.3, -1.2, 0.0])
    assert np.allclose(p, e / e.sum(), rtol=1e-15)


class TestErrors:
    def test_shapes(self):
        with pytest.raises(ValueError, match="one axis per player"):
            repeated([[1, 2], [3, 4]], 0.9)
        with pytest.raises(ValueError, match="2 to 4 actions"):
            repeated([np.zeros((5, 2)), np.zeros((5, 2))], 0.9)
        with pytest.raises(ValueError, match="2 to 5 players"):
            repeated([np.zeros((2,) * 6)] * 6, 0.9)
        with pytest.raises(ValueError, match="same joint actions"):
            repeated([np.zeros((2, 2)), np.zeros((2, 3))], 0.9)

    def test_too_large_chain_says_state_count(self):
        import sympy as sp
        big = repeated([np.zeros((4, 4))] * 2, 0.9, memory=2)   # numeric: the sparse path
        assert big.field_path == "adjoint"
        with pytest.raises(ValueError, match="256 chain states"):
            big.values()
        with pytest.raises(ValueError, match="256 states"):     # symbols need the program
            repeated([np.zeros((4, 4)) + sp.Symbol("a")] * 2, 0.9, memory=2)
        with pytest.raises(ValueError, match="transitions"):
            repeated([np.zeros((4, 4, 4))] * 3, 0.9, memory=2)

    def test_bad_gamma_and_payoffs(self):
        with pytest.raises(ValueError, match="open interval"):
            repeated([np.zeros((2, 2))] * 2, 1)
        with pytest.raises(ValueError, match="too close to 1"):
            repeated([np.zeros((2, 2))] * 2, 1 - 1e-9)
        with pytest.raises((TypeError, ValueError)):
            repeated([[["x", 1], [2, 3]], np.zeros((2, 2))], 0.9)
        with pytest.raises(ValueError, match="nan or an infinity"):
            repeated([np.array([[sp.Symbol("a") * sp.oo, 0], [0, 0]], dtype=object),
                      np.zeros((2, 2))], 0.9)
        with pytest.raises(TypeError, match="memory"):
            repeated([np.zeros((2, 2))] * 2, 0.9, memory=1.0)

    def test_symbol_names(self):
        with pytest.raises(ValueError, match="identifier"):
            repeated([np.array([[sp.Symbol("_x"), 0], [0, 0]], dtype=object),
                      np.zeros((2, 2))], 0.9)
        with pytest.raises(ValueError, match="value program"):
            repeated([np.array([[sp.Symbol("y_0"), 0], [0, 0]], dtype=object),
                      np.zeros((2, 2))], 0.9)

    def test_wrong_number_of_thetas(self):
        g = contribution(3)
        with pytest.raises(TypeError, match="3 players"):
            g.value(np.zeros(9), np.zeros(9))

    def test_symbol_values(self):
        s = ipd(symbolic=True)
        z = np.zeros(5)
        with pytest.raises(ValueError, match="missing"):
            s.value(z, z, R=-1)
        with pytest.raises(ValueError, match="discount"):
            s.value(z, z, R=-1, S=-3, T=0, P=-2, gamma=1.5)
        with pytest.raises(ValueError, match="no symbol"):
            s.value(z, z, R=-1, S=-3, T=0, P=-2, gamma=0.5, Q=1)
        with pytest.raises(TypeError):
            s.value(z, z, R="-1", S=-3, T=0, P=-2, gamma=0.5)
        with pytest.raises(ValueError, match="finite"):
            s.value(z, z, R=np.nan, S=-3, T=0, P=-2, gamma=0.5)


def _mp(x):
    """An exact rational as an mpmath number at the working precision."""
    x = sp.Rational(x)
    return mpmath.mpf(int(x.p)) / int(x.q)


def _mp_values(game, thetas, dps=50):
    """Values in mpmath at ``dps`` digits from an independently built chain (memory 1 or 0)."""
    with mpmath.workdps(dps):
        n, m = game.n_players, game.memory
        pol = []
        for i, th in enumerate(thetas):
            k = game.actions[i]
            labels = game.state_labels(i + 1)
            table = {}
            for s, lab in enumerate(labels):
                x = [mpmath.mpf(v) for v in th[s * (k - 1):(s + 1) * (k - 1)]] + [mpmath.mpf(0)]
                z = [mpmath.exp(v) for v in x]
                tot = mpmath.fsum(z)
                table[lab] = [v / tot for v in z]
            pol.append(table)
        joint = list(product(*(range(kk) for kk in game.actions)))
        R = [game.payoff_array(i + 1) for i in range(n)]
        gamma = _mp(game.gamma)

        def move(view):
            out = []
            for a in joint:
                w = mpmath.mpf(1)
                for i in range(n):
                    w *= pol[i][_label(game, i, view)][a[i]]
                out.append((a, w))
            return out
        if m == 0:
            return [mpmath.fsum(w * _mp(R[i][a]) for a, w in move(())) / (1 - gamma)
                    for i in range(n)]
        N = len(joint)
        idx = {a: j for j, a in enumerate(joint)}
        A = mpmath.eye(N)
        for a in joint:
            for b, w in move((a,)):
                A[idx[b], idx[a]] -= gamma * w                       # (I - gamma P)^T
        p0 = mpmath.matrix(N, 1)
        for b, w in move(()):
            p0[idx[b]] = w
        u = mpmath.lu_solve(A, p0)
        return [mpmath.fsum(u[idx[a]] * _mp(R[i][a]) for a in joint) for i in range(n)]


def _mp_grad(game, thetas, i, j, shift=None, dps=50, h=mpmath.mpf("1e-20")):
    """d V_i / d theta_j by central differences of the 50-digit values."""
    with mpmath.workdps(dps):
        base = [[mpmath.mpf(x) for x in th] for th in thetas]
        if shift is not None:
            q, v, eps = shift
            base[q] = [x + eps * w for x, w in zip(base[q], v)]
        out = []
        for k in range(len(base[j - 1])):
            plus = [list(th) for th in base]
            minus = [list(th) for th in base]
            plus[j - 1][k] += h
            minus[j - 1][k] -= h
            out.append((_mp_values(game, plus, dps)[i - 1]
                        - _mp_values(game, minus, dps)[i - 1]) / (2 * h))
        return out


#: gradients and LOLA fields against mpmath finite differences (relative to the field's scale)
RTOL_FD = 1e-9


@pytest.mark.parametrize("name", [pytest.param("rps", marks=pytest.mark.slow), "asymmetric_2x3",
                                  "rps_memory0"])
def test_naive_and_lola_fields_match_mpmath_differences(name):
    game = GAMES[name]()
    rng = np.random.default_rng(11)
    th = _random_point(game, rng, 0.7)
    eta = 0.8
    nl = ls.update_field(game, "nl")(*th)
    lola = ls.update_field(game, "lola", eta=eta)(*th)
    with mpmath.workdps(50):
        for i in (1, 2):
            j = 3 - i
            grad = _mp_grad(game, th, i, i)
            assert np.allclose(nl[i - 1], [float(x) for x in grad], rtol=RTOL_FD,
                               atol=RTOL_FD * max(abs(float(x)) for x in grad))
            # shaping term: d/de grad_i V_j(theta_j + e v), v = grad_j V_i
            v = _mp_grad(game, th, i, j)
            e = mpmath.mpf("1e-15")
            up = _mp_grad(game, th, j, i, shift=(j - 1, v, e))
            down = _mp_grad(game, th, j, i, shift=(j - 1, v, -e))
            want = [g + eta * (a - b) / (2 * e) for g, a, b in zip(grad, up, down)]
            want = np.array([float(x) for x in want])
            assert np.allclose(lola[i - 1], want, rtol=RTOL_FD,
                               atol=RTOL_FD * np.abs(want).max())


def _mp_exact_lola(game, th, i, eta, dps=40):
    """d/d theta_i of V_i(theta_i, theta_j + eta grad_j V_j(theta) for every j != i), by
    central differences through the opponents' finite-difference naive steps."""
    n = game.n_players
    h = mpmath.mpf("1e-12")
    with mpmath.workdps(dps):
        def composite(point):
            shifted = [list(p) for p in point]
            for j in range(1, n + 1):
                if j != i:
                    g = _mp_grad(game, point, j, j, dps=dps, h=mpmath.mpf("1e-18"))
                    shifted[j - 1] = [x + eta * y for x, y in zip(point[j - 1], g)]
            return _mp_values(game, shifted, dps)[i - 1]
        base = [[mpmath.mpf(x) for x in t] for t in th]
        out = []
        for k in range(len(base[i - 1])):
            plus = [list(t) for t in base]
            minus = [list(t) for t in base]
            plus[i - 1][k] += h
            minus[i - 1][k] -= h
            out.append((composite(plus) - composite(minus)) / (2 * h))
        return np.array([float(x) for x in out])


@pytest.mark.slow
def test_n_player_rules_match_mpmath_differences():
    """3-player contribution game: NL, n-player LOLA and exact LOLA against 40-digit
    finite differences of an independently built chain."""
    game = contribution(3, "1.8")
    rng = np.random.default_rng(13)
    th = _random_point(game, rng, 0.8)
    eta = 0.9
    nl = ls.update_field(game, "nl")(*th)
    lola = ls.update_field(game, "lola", eta=eta)(*th)
    exact = ls.update_field(game, "exact_lola", eta=eta)(*th)
    with mpmath.workdps(50):
        for i in (1, 3):
            grad = _mp_grad(game, th, i, i)
            want = np.array([float(x) for x in grad])
            assert np.allclose(nl[i - 1], want, rtol=RTOL_FD, atol=RTOL_FD * np.abs(want).max())
            total = [mpmath.mpf(x) for x in grad]
            e = mpmath.mpf("1e-15")
            for j in range(1, 4):
                if j == i:
                    continue
                v = _mp_grad(game, th, i, j)
                up = _mp_grad(game, th, j, i, shift=(j - 1, v, e))
                down = _mp_grad(game, th, j, i, shift=(j - 1, v, -e))
                total = [t + eta * (a - b) / (2 * e) for t, a, b in zip(total, up, down)]
            want = np.array([float(x) for x in total])
            assert np.allclose(lola[i - 1], want, rtol=RTOL_FD, atol=RTOL_FD * np.abs(want).max())
    want = _mp_exact_lola(game, th, 2, eta)
    assert np.allclose(exact[1], want, rtol=RTOL_FD, atol=RTOL_FD * np.abs(want).max())


def test_two_player_rules_refuse_more_players_and_say_why():
    game = contribution(3)
    for rule in ("sos", "cgd", "hola", "lola2", "co", "sga"):
        with pytest.raises(ValueError, match=r"needs exactly two players .*has 3\): .*use one of"):
            ls.update_field(game, rule)


def test_memory_zero_transitions_keep_the_last_joint_action():
    """With memory 0 the chain's state is the last joint action (its reward); the one builder
    keeps exactly that, never the whole history."""
    from lola_sym.games.chain import transitions
    game = ls.games.contribution(3, "1.5", memory=0)
    uniform = lambda i, state, action: 0.5            # noqa: E731
    history = ((0, 1, 0), (1, 1, 1))
    out = transitions(game.space, uniform, history)
    assert set(out) == {(a,) for a in game.space.joint}
    assert sum(out.values()) == 1
