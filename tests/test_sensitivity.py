r"""Differentiating through training (lola_sym.dynamics.sensitivity) against finite differences.

The forward sensitivities of T steps are checked against central differences of the *whole
training run*, re-run by a plain loop here (update_field and game.value only), at several
step sizes h: the difference shrinks like h^2 until rounding, and at the best h agrees to
:data:`RTOL_FD_RUN`.
"""

import numpy as np
import pytest
import sympy as sp

from lola_sym import games, update_field
from lola_sym.dynamics.sensitivity import (hyper_derivative, train_sensitivity,
                                           value_gradients)

#: forward sensitivities vs the best central difference of the whole run (h^2 truncation
#: ~1e-10 at h = 1e-5, rounding ~eps |V| / h ~ 1e-10 for |V| ~ 30)
RTOL_FD_RUN = 1e-6
#: combined rules: their dg/dtheta is itself a central difference (FD_STEP = 1e-5)
RTOL_FD_COMBINED = 1e-4
STEPS_H = (1e-3, 1e-4, 1e-5)


def _run(game, rules, thetas, steps, deltas, hyper, outcome, player):
    """The training loop written plainly: simultaneous steps, static players stay."""
    fields = [None if r is None else update_field(game, r, **h) for r, h in zip(rules, hyper)]
    ts = [np.array(t, dtype=float) for t in thetas]
    total = 0.0
    for _ in range(steps):
        if outcome == "sum":
            total += game.value(*ts)[player - 1]
        gs = [None if f is None else f(*ts)[i] for i, f in enumerate(fields)]
        ts = [t if g is None else t + dl * g for t, g, dl in zip(ts, gs, deltas)]
    return game.value(*ts)[player - 1] if outcome == "final" else total


def _fd(fun, x, h):
    return (fun(x + h) - fun(x - h)) / (2 * h)


def _check(exact, fd_by_h, rtol):
    errs = [abs(f - exact) for f in fd_by_h]
    scale = max(abs(exact), 1e-3)
    assert min(errs) <= rtol * scale, (exact, fd_by_h)
    return errs


@pytest.mark.parametrize("outcome", ["final", "sum"])
def test_ipd_lola_against_nl_matches_finite_differences_of_the_run(outcome):
    game = games.ipd()
    rules, hyper, deltas = ["lola", "nl"], [{"eta": 0.8}, {}], [0.7, 0.4]
    rng = np.random.default_rng(1)
    th = [rng.normal(size=5), rng.normal(size=5)]
    T = 8
    s = train_sensitivity(game, rules, th, steps=T, delta=deltas, hyper=hyper,
                          outcome=outcome, player=1)
    assert np.isclose(s.outcome, _run(game, rules, th, T, deltas, hyper, outcome, 1),
                      rtol=1e-12)
    # initial logits of both players (three coordinates each)
    for i in range(2):
        for k in (0, 2, 4):
            def f(x, i=i, k=k):
                t = [a.copy() for a in th]
                t[i][k] = x
                return _run(game, rules, t, T, deltas, hyper, outcome, 1)
            errs = _check(s.d_theta0[i][k], [_fd(f, th[i][k], h) for h in STEPS_H], RTOL_FD_RUN)
            assert errs[1] < errs[0]                 # truncation shrinks with h
    # the steps and LOLA's eta
    for i in range(2):
        def f(x, i=i):
            d = list(deltas)
            d[i] = x
            return _run(game, rules, th, T, d, hyper, outcome, 1)
        _check(s.d_delta[i], [_fd(f, deltas[i], h) for h in STEPS_H], RTOL_FD_RUN)

    def f(x):
        return _run(game, rules, th, T, deltas, [{"eta": x}, {}], outcome, 1)
    _check(s.d_hyper[(1, "eta")], [_fd(f, 0.8, h) for h in STEPS_H], RTOL_FD_RUN)


def test_the_check_can_fail():
    """A gradient off by 1e-4 relative is refused by the same comparison."""
    game = games.ipd()
    th = [np.full(5, 0.2), np.full(5, -0.1)]
    s = train_sensitivity(game, ["nl", "nl"], th, steps=5, delta=1.0)

    def f(x):
        t = [th[0].copy(), th[1]]
        t[0][1] = x
        return _run(game, ["nl", "nl"], t, 5, [1.0, 1.0], [{}, {}], "final", 1)
    fd = [_fd(f, 0.2, h) for h in STEPS_H]
    _check(s.d_theta0[0][1], fd, RTOL_FD_RUN)
    with pytest.raises(AssertionError):
        _check(s.d_theta0[0][1] * (1 + 1e-4), fd, RTOL_FD_RUN)


def test_static_player_and_player_two_outcome_and_batches():
    """A static player (M-FOS's STATIC) keeps its logits; player 2's outcome; a batch of
    runs equals the runs one by one."""
    game = games.ipd()
    rng = np.random.default_rng(2)
    th = [rng.normal(size=(3, 5)), rng.normal(size=(3, 5))]
    s = train_sensitivity(game, ["lola", None], th, steps=4, delta=1.0,
                          hyper=[{"eta": 1.0}, {}], outcome="mean", player=2)
    assert np.array_equal(s.thetas[1], th[1])
    for b in range(3):
        one = train_sensitivity(game, ["lola", None], [th[0][b], th[1][b]], steps=4,
                                delta=1.0, hyper=[{"eta": 1.0}, {}], outcome="mean", player=2)
        assert np.allclose(one.d_theta0[0], s.d_theta0[0][b], rtol=1e-12, atol=1e-14)

        def f(x, b=b):
            t = [th[0][b], th[1][b].copy()]
            t[1][3] = x
            return _run(game, ["lola", None], t, 4, [1.0, 1.0], [{"eta": 1.0}, {}],
                        "sum", 2) / 4
        _check(s.d_theta0[1][b][3], [_fd(f, th[1][b][3], h) for h in STEPS_H], RTOL_FD_RUN)


def test_combined_rule_is_flagged_and_close():
    game = games.matching_pennies()
    th = [np.array([0.4]), np.array([-0.7])]
    s = train_sensitivity(game, ["sos", "nl"], th, steps=6, delta=0.5, hyper=[{"eta": 0.5}, {}])
    assert s.finite_differences and "sos" in s.finite_differences[0]

    def f(x):
        return _run(game, ["sos", "nl"], [np.array([x]), th[1]], 6, [0.5, 0.5],
                    [{"eta": 0.5}, {}], "final", 1)
    _check(s.d_theta0[0][0], [_fd(f, 0.4, h) for h in STEPS_H], RTOL_FD_COMBINED)


def test_value_gradients_and_hyper_derivative_closed_forms():
    r"""V1 = -xy: grad V1 = (-y, -x). LOLA on it: g_1 = -y + eta * (d/dx) ... linear in eta,
    so dg/deta = (g(eta) - g(0)) / eta exactly."""
    x, y = sp.symbols("x y", real=True)
    game = games.differentiable(-x * y + x**3 / 3, x * y - y**2, [x], [y])
    gv = value_gradients(game, [0.5], [2.0])
    assert np.allclose(gv, [[-2.0 + 0.25, -0.5], [2.0, 0.5 - 4.0]], rtol=1e-15)
    t = [np.array([0.5]), np.array([2.0])]
    d = hyper_derivative(game, "lola", "eta", *t, eta=0.3)
    g0 = update_field(game, "lola", eta=0.0)(*t)
    g1 = update_field(game, "lola", eta=0.3)(*t)
    for a, b, c in zip(d, g0, g1):
        assert np.allclose(a, (c - b) / 0.3, rtol=1e-12)


def test_rejects_bad_input():
    game = games.ipd()
    th = [np.zeros(5), np.zeros(5)]
    with pytest.raises(ValueError, match="outcome"):
        train_sensitivity(game, ["nl", "nl"], th, steps=1, outcome="best")
    with pytest.raises(ValueError, match="player"):
        train_sensitivity(game, ["nl", "nl"], th, steps=1, player=3)
    with pytest.raises(ValueError, match="shape"):
        train_sensitivity(game, ["nl", "nl"], [np.zeros(4), np.zeros(5)], steps=1)
    with pytest.raises(ValueError, match="static"):
        train_sensitivity(game, ["nl", None], th, steps=1, hyper=[{}, {"eta": 1.0}])
    with pytest.raises(ValueError, match="symbols"):
        train_sensitivity(games.ipd(symbolic=True), ["nl", "nl"], th, steps=1)
    with pytest.raises(ValueError, match="no hyper-parameter"):
        hyper_derivative(game, "nl", "eta", *th)
