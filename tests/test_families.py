"""Game families: symbolic payoffs and discount as run-time inputs, one compilation per shape."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import lola_sym as ls
from lola_sym.compile import cached as cached_module
from lola_sym.games import ipd, iterated, repeated, rps
from lola_sym.games.catalogue import GAMMA, P, R, S, T

#: a symbolic field with numbers substituted against the numeric game's field
RTOL_FAMILY = 1e-12


def _count_compilations(monkeypatch):
    calls = []
    real = cached_module.compile_field

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)
    monkeypatch.setattr(cached_module, "compile_field", counting)
    return calls


def test_ten_thousand_games_of_one_shape_compile_once(monkeypatch):
    """10,000 random 2x2 games share the compiled family: at most one compilation."""
    calls = _count_compilations(monkeypatch)
    rng = np.random.default_rng(0)
    payoffs = rng.integers(-9, 10, size=(10_000, 2, 2, 2))
    gammas = rng.integers(1, 99, size=10_000) / 100
    first = None
    t = np.zeros(5)
    for (R1, R2), g in zip(payoffs, gammas):
        f = ls.update_field(iterated(R1.tolist(), R2.tolist(), float(g)), "lola")
        first = first or f
        assert f.compiled.inner is first.compiled.inner
    assert len(calls) <= 1
    # and the last one computes its own game, not the first one's
    g1, _ = f(t, t)
    ref = f.game.value_program()
    assert np.all(np.isfinite(g1)) and ref is not None


def test_bound_numbers_are_each_games_own():
    rng = np.random.default_rng(1)
    t1, t2 = rng.normal(size=(2, 3, 5))
    games = [iterated(rng.integers(-5, 5, (2, 2)).tolist(), rng.integers(-5, 5, (2, 2)).tolist(),
                      "0.9") for _ in range(3)]
    for g in games:
        v = g.value(t1, t2)
        # an independent evaluation of the exact program at 30 digits
        prog = g.value_program()
        for k in range(3):
            vals = dict(zip(g.theta[0], map(sp.Float, t1[k])))
            vals.update(zip(g.theta[1], map(sp.Float, t2[k])))
            want = [float(x) for x in prog.evaluate(vals, dps=30)]
            assert np.allclose(v[k], want, rtol=1e-13)


def test_symbolic_ipd_closed_forms():
    """V at TFT vs TFT is R / (1 - gamma); at ALLD vs ALLD it is P / (1 - gamma); TFT against
    ALLD gives S (resp. T) once, then P. Exact in R, S, T, P at three exact discounts (the
    values are linear in the payoffs; a symbolic discount makes the exact elimination slow)."""
    g = ipd(symbolic=True)
    prog = g.value_program()
    p = [s for s in prog.symbols if s.name.startswith(("p_", "pbar_"))]

    def deterministic(coop1, coop2):     # per player: own-perspective state -> cooperate?
        out = {}
        for s in p:
            player = s.name[s.name.index("_") + 1]
            c = (coop1 if player == "1" else coop2)[s.name.split(",", 1)[1]]
            out[s] = int(c) if s.name.startswith("p_") else 1 - int(c)
        return out
    tft = {"s0": 1, "CC": 1, "CD": 0, "DC": 1, "DD": 0}
    alld = dict.fromkeys(tft, 0)
    for gam in (sp.Rational(1, 2), sp.Rational(9, 10), sp.Rational(24, 25)):
        cases = (((tft, tft), (R / (1 - gam),) * 2), ((alld, alld), (P / (1 - gam),) * 2),
                 ((tft, alld), (S + gam * P / (1 - gam), T + gam * P / (1 - gam))))
        for (a, b), want in cases:
            V = prog.evaluate_exact({**deterministic(a, b), GAMMA: gam})
            assert [sp.expand(v - w) for v, w in zip(V, want)] == [0, 0]


def test_symbolic_values_equal_numeric_values_exactly():
    """Substituting numbers into the symbolic values equals the numeric game, in rationals."""
    g = ipd(symbolic=True)
    numbers = {R: -1, S: -3, T: 0, P: -2, GAMMA: sp.Rational(24, 25)}
    num = ipd()
    probs = {}
    rng = np.random.default_rng(2)
    for s in num.value_program().symbols:
        if s.name.startswith("p_"):
            q = sp.Rational(int(rng.integers(1, 9)), 10)
            probs[s] = q
            probs[sp.Symbol("pbar_" + s.name[2:], positive=True)] = 1 - q
    sym = g.value_program().evaluate_exact(probs)
    exact = num.value_program().evaluate_exact(probs)
    assert [sp.nsimplify(v.xreplace(numbers)) for v in sym] == exact
    assert all(v.is_Rational for v in exact)


@pytest.mark.parametrize("rule,hyper", [("nl", {}), ("lola", {"eta": 0.7}),
                                        ("exact_lola", {"eta": 0.4}), ("sos", {"eta": 0.5})])
def test_symbolic_field_with_numbers_equals_numeric_field(rule, hyper):
    g = ipd(symbolic=True)
    f = ls.update_field(g, rule, **hyper)
    rng = np.random.default_rng(3)
    t1, t2 = rng.normal(size=(2, 6, 5))
    for numbers in ({"R": -1, "S": -3, "T": 0, "P": -2, "gamma": 0.96},
                    {"R": 3, "S": 0, "T": 5, "P": 1, "gamma": 0.9}):
        num = iterated([[numbers["R"], numbers["S"]], [numbers["T"], numbers["P"]]],
                       [[numbers["R"], numbers["T"]], [numbers["S"], numbers["P"]]],
                       numbers["gamma"])
        a = f(t1, t2, **numbers)
        b = ls.update_field(num, rule, **hyper)(t1, t2)
        for x, y in zip(a, b):
            assert np.allclose(x, y, rtol=RTOL_FAMILY, atol=RTOL_FAMILY * np.abs(y).max())


def test_symbol_values_broadcast_over_the_batch():
    """Arrays of payoffs broadcast like the logits: one call evaluates many games."""
    g = ipd(symbolic=True)
    f = ls.update_field(g, "lola", eta=1.0)
    rng = np.random.default_rng(4)
    n = 50
    Rv, Sv, Tv, Pv = rng.normal(size=(4, n))
    gam = rng.uniform(0.5, 0.95, n)
    t1, t2 = rng.normal(size=(2, n, 5))
    g1, g2 = f(t1, t2, R=Rv, S=Sv, T=Tv, P=Pv, gamma=gam)
    for k in (0, 17, 49):
        one = f(t1[k], t2[k], R=Rv[k], S=Sv[k], T=Tv[k], P=Pv[k], gamma=gam[k])
        assert np.allclose(one[0], g1[k], rtol=1e-14) and np.allclose(one[1], g2[k], rtol=1e-14)
    with pytest.raises(ValueError, match="discount"):
        f(t1, t2, R=Rv, S=Sv, T=Tv, P=Pv, gamma=np.where(np.arange(n) == 3, 1.0, 0.9))


def test_field_keywords_are_checked():
    f = ls.update_field(ipd(), "nl")
    z = np.zeros(5)
    with pytest.raises(TypeError, match="no symbols"):
        f(z, z, R=1)
    s = ls.update_field(ipd(symbolic=True), "nl")
    with pytest.raises(ValueError, match="missing"):
        s(z, z)
    with pytest.raises(TypeError, match="2 parameter arrays"):
        s(z, R=1, S=1, T=1, P=1, gamma=0.5)


def test_other_shapes_share_families_too(monkeypatch):
    """Two numeric RPS-shaped games with different payoffs reuse one compiled value program."""
    a = rps()
    b = repeated([np.arange(9).reshape(3, 3), -np.arange(9).reshape(3, 3)], "0.8",
                 labels=a.labels)
    z = np.zeros(20)
    a.value(z, z)
    calls = _count_compilations(monkeypatch)
    v = b.value(z, z)
    assert calls == []
    assert np.allclose(v, [4.0 / 0.2, -4.0 / 0.2])      # uniform play: mean payoff 4


def test_a_game_symbol_named_like_a_hyper_parameter_is_refused():
    """The symbolic IPD's discount is called gamma, as CO's weight: one clear error, not a
    C compiler's "redefinition"."""
    with pytest.raises(ValueError, match="symbol 'gamma' has the name of rule 'co'"):
        ls.update_field(ipd(symbolic=True), "co")


def test_average_reward_reads_the_discount_of_a_family():
    """(1 - gamma) V with a symbolic discount (any symbol name) or symbolic payoffs only."""
    z = np.zeros(5)
    s = ipd(symbolic=True)
    assert np.allclose(s.average_reward(z, z, R=-1, S=-3, T=0, P=-2, gamma=0.96),
                       ipd().average_reward(z, z), rtol=1e-13)
    a, d = sp.Symbol("a", real=True), sp.Symbol("d", positive=True)
    g = repeated([[[a, 0], [1, 2]], [[a, 1], [0, 2]]], d)
    want = repeated([[[3, 0], [1, 2]], [[3, 1], [0, 2]]], "0.9").average_reward(z, z)
    assert np.allclose(g.average_reward(z, z, a=3.0, d=0.9), want, rtol=1e-13)
    h = repeated([[[a, 0], [1, 2]], [[a, 1], [0, 2]]], "0.9")
    assert np.allclose(h.average_reward(z, z, a=3.0), want, rtol=1e-13)


@pytest.mark.parametrize("make,rule,values", [
    (lambda: ls.games.contribution(3, "1.5"), "lola", {}),
    (lambda: ipd(symbolic=True), "lola", {"R": -1.0, "S": -3.0, "T": 0.0, "P": -2.0,
                                         "gamma": 0.9})])
def test_one_point_call_equals_the_batched_row(make, rule, values):
    """The single-point fast path (any number of players, scalar symbol values) gives the
    batched path's row exactly, and checks its inputs the same way."""
    game = make()
    f = ls.update_field(game, rule, eta=0.8)
    rng = np.random.default_rng(3)
    thetas = [rng.normal(size=(4, d)) for d in game.dims]
    batch = f(*thetas, **values)
    for row in (0, 3):
        one = f(*(t[row].copy() for t in thetas), **values)
        for a, b in zip(one, batch):
            np.testing.assert_array_equal(a, b[row])
    bad = [t[0].copy() for t in thetas]
    bad[-1][0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        f(*bad, **values)
