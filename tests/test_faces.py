"""Tests of lola_sym.analysis.faces: fixed points on the faces of the policy cube.

Every number is checked a second, independent way: closed forms of the one-shot prisoner's
dilemma and of all-defect in the IPD, exact rational evaluation of the rule's printed program
(Program.evaluate) and exact differentiation of the value polynomials (sympy), one-sided finite
differences of the game's value, and long training from a nearby start.
"""

import json

import numpy as np
import pytest
import sympy as sp

from lola_sym import games
from lola_sym.analysis.faces import (CLASSES, FREE_LOGIT_MAX, SATURATION_LOGIT, face_point,
                                     find_faces, probability_field)
from lola_sym.cli import main
from lola_sym.dynamics.training import train
from lola_sym.field import derive
from lola_sym.games.repeated import repeated
from lola_sym.program import sigmoid

#: Residual of the free coordinates a face point must reach (the issue's bar).
FACE_RESIDUAL = 1e-12
#: Compiled p-space field vs the exact rational program at p = 1e-40 (a relative 1e-40 apart):
#: rounding of a few hundred float operations on values of size ~100.
EXACT_RTOL = 1e-11
#: One-sided finite difference of V in p with step FD_H: truncation error ~ FD_H * |V''|.
FD_H = 1e-7
FD_RTOL = 1e-5
#: Long training from a nearby start: the growth rate of e^{-theta} over the second half of
#: T = 1000 steps against the push; the neglected (push/2 - 2) ln 2 / (T/2) is 6e-4 of it.
TRAIN_RTOL = 1e-3

#: The same on the IPD's all-defect corner after 4,000 steps: the two on-path logits are
#: coupled and the rate still carries O(log T / T) corrections (measured 1.5%).
IPD_TRAIN_RTOL = 3e-2

PD_PAYOFFS = [[[-1, -3], [0, -2]], [[-1, 0], [-3, -2]]]       # R, S, T, P = -1, -3, 0, -2
GAMMA = sp.Rational(24, 25)


@pytest.fixture(scope="module")
def pd():
    """The prisoner's dilemma with memory-0 policies (one logit each), discount 24/25."""
    return repeated(PD_PAYOFFS, GAMMA, memory=0)


@pytest.fixture(scope="module")
def mp():
    """Matching pennies with memory-0 policies."""
    return repeated([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]], sp.Rational(9, 10), memory=0)


# --------------------------------------------------------------- closed forms
def test_one_shot_pd_faces_in_closed_form(pd):
    r"""NL: h_1 = dV_1/dp_1 = ((R - T) p_2 + (S - P)(1 - p_2)) / (1 - gamma) = -25 everywhere, so
    all-defect attracts with push 25, all-cooperate repels, the mixed corners are saddles; the
    values are the corner payoffs over 1 - gamma. No interior or edge point exists."""
    res = find_faces(pd, "nl", starts=3)
    assert res.exhaustive and [lv[1] for lv in res.levels] == [4, 4, 1]
    got = {p.face: p for p in res.points}
    assert set(got) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    want = {(0, 0): ("attracting", [25, 25], [-50, -50]), (1, 1): ("repelling", [-25, -25],
                                                                    [-25, -25]),
            (0, 1): ("saddle", [25, -25], [0, -75]), (1, 0): ("saddle", [-25, 25], [-75, 0])}
    for face, (cls, push, values) in want.items():
        p = got[face]
        assert p.classification == cls and p.note == ""
        np.testing.assert_allclose(p.push, push, rtol=1e-14)
        np.testing.assert_allclose(p.values, values, rtol=1e-14, atol=1e-12)
        assert p.residual == 0.0 and p.free == 0


def test_all_defect_in_the_ipd_closed_form():
    """All-defect against itself: deviating on the first move costs P - S = 1 once, in DD it
    costs gamma (P - S) / (1 - gamma) = 24; CC, CD, DC are never visited (zero push), so the
    corner is degenerate with the rest attracting, for NL and for LOLA (whose correction
    carries the opponent's p(1 - p), zero there)."""
    alld = (0,) * 10
    for rule, kw in (("nl", {}), ("lola", {"eta": 1.0})):
        pt = face_point(games.ipd(), rule, alld, **kw)
        np.testing.assert_allclose(pt.push[[0, 4, 5, 9]], [1, 24, 1, 24], rtol=1e-13)
        assert np.max(np.abs(pt.push[[1, 2, 3, 6, 7, 8]])) < 1e-30
        assert pt.classification == "degenerate"
        assert pt.note == "6 zero (6 off-path); rest attracting"
        assert pt.on_path == (True, False, False, False, True) * 2
        np.testing.assert_allclose(pt.values, [-50, -50], rtol=1e-14)


def test_matching_pennies_interior_point(mp):
    """Memory-0 matching pennies: the mixed point p = (1/2, 1/2) is the one point with free
    coordinates; NL circles it (eigenvalues +-i * |payoff| / (1 - gamma) / 4, zero real part:
    degenerate), LOLA spirals in (attracting); every corner is a saddle."""
    for rule, kw, cls in (("nl", {}, "degenerate"), ("lola", {"eta": 1.0}, "attracting")):
        res = find_faces(mp, rule, starts=4, **kw)
        inner = [p for p in res.points if p.free]
        assert len(inner) == 1 and inner[0].free == 2, res.format_table()
        np.testing.assert_allclose(np.concatenate(inner[0].p), [0.5, 0.5], atol=1e-13)
        assert inner[0].residual < FACE_RESIDUAL and inner[0].classification == cls
        assert {p.classification for p in res.points if not p.free} == {"saddle"}
    off = np.concatenate(probability_field(mp, "lola", [0.6], [0.5], eta=1.0))
    assert np.max(np.abs(off)) > 1e-2                 # the residual check can fail
    nl = [p for p in find_faces(mp, "nl", starts=2).points if p.free][0]
    np.testing.assert_allclose(sorted(nl.eigenvalues.imag), [-2.5, 2.5], rtol=1e-12)
    np.testing.assert_allclose(nl.eigenvalues.real, 0, atol=1e-12)


def test_three_players_only_all_keep_attracts():
    """Contribution game, 3 players, cf = 1.5 < n, memory 0: keeping is dominant, so the one
    attracting face point is the all-keep corner (as find_fixed_points' probe says), whose
    push equals the one-sided finite difference of the value in each player's probability."""
    g = games.contribution(3, "1.5", memory=0)
    res = find_faces(g, "nl", starts=2)
    att = [p for p in res.points if p.classification == "attracting"]
    assert [p.face for p in att] == [(0, 0, 0)] and len(att[0].values) == 3
    z = np.full(3, -SATURATION_LOGIT)
    for i in range(3):
        z2 = z.copy()
        z2[i] = np.log(FD_H / (1 - FD_H))
        dv = (g.value(*z2[:, None])[i] - g.value(*z[:, None])[i]) / FD_H
        assert -dv == pytest.approx(att[0].push[i], rel=FD_RTOL)


# ------------------------------------------------------- the p-space field, two ways
def _exact_h(game, rule, p, **hyper):
    """h = g / (p (1 - p)) from the rule's printed program in exact rationals."""
    prog, _ = derive(game, rule)
    values = {s: sp.nsimplify(hyper[s.name]) if s.name in hyper else 0 for s in prog.inputs}
    thetas = [t for grp in game.theta for t in grp]
    for step, e in prog.steps:
        if isinstance(e, sigmoid):
            k = thetas.index(e.args[0]) if e.args[0] in thetas else thetas.index(-e.args[0])
            values[step] = p[k] if e.args[0] in thetas else 1 - p[k]
    g = prog.evaluate(values)
    return [float(gk / (pk * (1 - pk))) for gk, pk in zip(g, p)]


@pytest.mark.parametrize("rule, kw", [("nl", {}), ("lola", {"eta": 1})])
def test_probability_field_matches_exact_program_on_the_boundary(rule, kw):
    """At a boundary point (saturated 0s and 1s, a few interior values) the compiled h agrees
    with the exact rational evaluation of the printed program at p = 1e-40 for 0 and
    1 - 1e-40 for 1."""
    tiny = sp.Rational(1, 10 ** 40)
    face = [0, 1, sp.Rational(1, 3), 0, 1, 1, sp.Rational(2, 7), 0, 0, 1]
    p = [tiny if v == 0 else 1 - tiny if v == 1 else v for v in face]
    want = _exact_h(games.ipd(), rule, p, **kw)
    got = np.concatenate(probability_field(games.ipd(), rule, [float(v) for v in face[:5]],
                                           [float(v) for v in face[5:]], **kw))
    np.testing.assert_allclose(got, want, rtol=EXACT_RTOL, atol=1e-30)
    assert np.max(np.abs(got - np.roll(want, 1))) > 1e-3      # the check can fail


def test_nl_push_is_the_exact_policy_gradient_at_a_corner():
    """For NL, h = dV_1/dp on player 1's coordinates: sympy differentiates the exact value
    polynomials N_1 / D at a corner exactly."""
    g = games.ipd()
    N1, _, D = g.value_polynomials()
    corner = (1, 0, 1, 1, 0, 0, 1, 1, 0, 1)
    syms = sorted(N1.free_symbols | D.free_symbols, key=str)
    names = [f"{a},{s}" for a in (1, 2) for s in ("s0", "CC", "CD", "DC", "DD")]
    sub = {}
    for name, v in zip(names, corner):
        for s in syms:
            if s.name == f"p_{name}":
                sub[s] = v
            elif s.name == f"pbar_{name}":
                sub[s] = 1 - v
    want = []
    for name in names[:5]:
        p = [s for s in syms if s.name == f"p_{name}"][0]
        pb = [s for s in syms if s.name == f"pbar_{name}"][0]
        rest = {k: v for k, v in sub.items() if k not in (p, pb)}
        x = sp.Symbol("x")                           # p = x, pbar = 1 - x
        V1 = (N1 / D).xreplace(rest).xreplace({p: x, pb: 1 - x})
        want.append(float(sp.diff(V1, x).subs(x, sub[p])))
    h1, _ = probability_field(g, "nl", corner[:5], corner[5:])
    np.testing.assert_allclose(h1, want, rtol=1e-12, atol=1e-30)


def test_push_sign_by_finite_differences(pd):
    """The outward push of a corner, from one-sided finite differences of the value in p
    (NL: h = dV_i/dp_i), at every corner of the memory-0 prisoner's dilemma and of an IPD
    corner."""
    for game in (pd, games.ipd()):
        d = game.dims[0]
        rng = np.random.default_rng(3)
        corner = rng.integers(0, 2, size=2 * d)
        pt = face_point(game, "nl", tuple(int(c) for c in corner))
        for k in range(d):                          # player 1's coordinates
            z = np.where(corner == 1, SATURATION_LOGIT, -SATURATION_LOGIT).astype(float)
            p0 = float(corner[k])
            p1 = p0 - FD_H if p0 == 1 else FD_H
            z2 = z.copy()
            z2[k] = np.log(p1 / (1 - p1))
            dv = (game.value(z2[:d], z2[d:])[0] - game.value(z[:d], z[d:])[0]) / (p1 - p0)
            outward = (1 if p0 == 1 else -1) * dv
            assert outward == pytest.approx(pt.push[k], rel=FD_RTOL, abs=1e-9)


# ------------------------------------------------------------- agreement with training
def test_attracting_corner_is_the_limit_of_training(pd):
    """From p = sigma(-3) near all-defect, NL training runs into the corner at the rate the
    push predicts: theta -= delta * push * p (1 - p), so u = e^{-theta} grows by
    push * delta per step, plus (push / 2 - 2) / t (a sum of order log T)."""
    push = face_point(pd, "nl", (0, 0)).push
    T, delta, th0 = 1000, 1.0, -3.0
    tr = train(pd, "nl", "nl", runs=1, steps=T, delta=delta, theta1=[[th0]], theta2=[[th0]])
    u = np.exp(-tr.thetas[0][:, 0, 0])
    assert u[-1] > 2e4 and np.all(np.diff(u) > 0)
    slope = (u[T] - u[T // 2]) / (delta * T / 2)
    assert slope == pytest.approx(push[0], rel=TRAIN_RTOL)
    assert abs(slope - 1.1 * push[0]) > 0.05 * push[0]      # the check can fail


@pytest.mark.parametrize("rule, kw", [("nl", {}), ("lola", {"eta": 1.0})])
def test_ipd_all_defect_is_the_limit_of_training(rule, kw):
    """IPD from theta = -4 everywhere: training runs into all-defect at the face's rates, e^{-theta}
    growing by push * delta per step on the path of play (1 in s0, 24 in DD), while the
    off-path states (CC, CD, DC) hardly move (zero push)."""
    T = 4000
    th = np.full((1, 5), -4.0)
    tr = train(games.ipd(), rule, rule, runs=1, steps=T, delta=1.0, theta1=th, theta2=th, **kw)
    u = np.exp(-tr.thetas[0][:, 0, :])
    slope = (u[T] - u[T // 2]) / (T / 2)
    push = face_point(games.ipd(), rule, (0,) * 10, **kw).push[:5]
    np.testing.assert_allclose(slope[[0, 4]], push[[0, 4]], rtol=IPD_TRAIN_RTOL)
    assert np.all(np.abs(slope[1:4]) < 1e-2) and np.all(np.abs(push[1:4]) < 1e-30)


def test_ipd_lola_attracting_face_is_the_limit_of_training():
    """An attracting LOLA face of the IPD found by the exhaustive search (eta = 1): both start
    by defecting, cooperate after CC, defect after CD; player 1 cooperates w.p. 0.294 after DC
    and 0.224 after DD, player 2 w.p. 0.315 after DD. Newton from near those values meets
    the 1e-12 residual; LOLA training from saturated logits +-8 and free logits 0.1 off goes
    there: the free probabilities within the O(sigma(-8)) shift of the face point, the
    saturated logits further out."""
    from scipy.special import expit, logit
    face = (0, 1, 0, None, None, 0, 1, 0, 0, None)
    pt = face_point(games.ipd(), "lola", face, x0=logit([0.294, 0.224, 0.315]), eta=1.0)
    assert pt.classification == "attracting" and pt.residual < FACE_RESIDUAL
    assert min(pt.push) > 1 and max(z.real for z in pt.eigenvalues) < -0.2
    q = np.concatenate(pt.p)
    f = np.array([-1 if v is None else v for v in face])
    th = np.where(f == 1, 8.0, np.where(f == 0, -8.0, logit(np.clip(q, 0.01, 0.99)) + 0.1))
    tr = train(games.ipd(), "lola", "lola", runs=1, steps=3000, delta=0.05,
               theta1=th[None, :5], theta2=th[None, 5:], eta=1.0)
    fin = np.concatenate([tr.thetas[0][-1, 0], tr.thetas[1][-1, 0]])
    err = np.max(np.abs(expit(fin[f < 0]) - q[f < 0]))
    assert err < 10 * expit(-8.0), err
    assert np.all(np.abs(fin[f >= 0]) > 8.0)
    assert np.max(np.abs(expit(fin[f < 0]) - [0.5, 0.5, 0.5])) > 100 * err   # can fail


def test_interior_face_point_is_the_limit_of_training(mp):
    """LOLA on memory-0 matching pennies: the mixed point has flow eigenvalues -6.25 +- 2.5i;
    the map with delta = 0.1 (multipliers of modulus 0.45) is classified attracting and
    training from a nearby start converges to it; with delta = 0.5 (modulus 2.4) it is
    repelling and training does not converge."""
    from scipy.special import expit
    for delta, cls, converges in ((0.1, "attracting", True), (0.5, "repelling", False)):
        res = find_faces(mp, "lola", starts=2, eta=1.0, delta=delta)
        inner = [p for p in res.points if p.free][0]
        assert inner.classification == cls
        tr = train(mp, "lola", "lola", runs=1, steps=400, delta=delta, theta1=[[0.4]],
                   theta2=[[-0.3]], eta=1.0)
        final = expit(np.array([tr.thetas[0][-1, 0, 0], tr.thetas[1][-1, 0, 0]]))
        err = np.max(np.abs(final - np.concatenate(inner.p)))
        assert (err < 1e-12) == converges, err
    np.testing.assert_allclose(sorted(inner.eigenvalues, key=lambda z: z.imag),
                               [-6.25 - 2.5j, -6.25 + 2.5j], rtol=1e-12)


# ------------------------------------------------------------------ residuals, budget
def _check_budget_run(rule, kw, faces, starts, seed):
    res = find_faces(games.ipd(), rule, max_free=1, max_faces=faces, starts=starts, seed=seed,
                     **kw)
    assert res.levels == ((0, 1024, 1024), (1, 5120, faces - 1024)) and not res.exhaustive
    assert all(p.residual < FACE_RESIDUAL for p in res.points)
    assert sum(p.free == 1 for p in res.points) > 0
    for p in res.points:
        q = np.concatenate(p.p)
        for v, x in zip(p.face, q):
            if v is None:
                assert abs(np.log(x / (1 - x))) <= FREE_LOGIT_MAX
            else:
                assert x == v
    return res


def test_ipd_edge_faces_residual_and_budget():
    """The IPD's corners and 200 sampled one-free faces under NL: every face point vanishes on
    its free coordinates to 1e-12, free logits stay within FREE_LOGIT_MAX, saturated
    probabilities are exactly 0 or 1, the levels record the sample, and the same seed gives
    the same result."""
    res = _check_budget_run("nl", {}, 1024 + 200, 2, 5)
    again = _check_budget_run("nl", {}, 1024 + 200, 2, 5)
    assert [p.face for p in again.points] == [p.face for p in res.points]
    table = res.format_table(limit=5, group=True, hide_degenerate=True)
    assert "p1 = (s0, CC, CD, DC, DD)" in table and "budget reached" in table
    assert "(0, ·, ·, ·, 0) | (0, ·, ·, ·, 0)" in table         # mutual defection, grouped
    full = res.format_table()
    rows = [ln for ln in full.splitlines() if ln.split()[0] in CLASSES]
    assert len(rows) == len(res.points) and "·" not in full
    json.dumps(res.as_dict())


@pytest.mark.slow
def test_ipd_lola_edge_faces_residual():
    """The same for LOLA (eta = 1) with 1,000 sampled one-free faces."""
    _check_budget_run("lola", {"eta": 1.0}, 2024, 3, 1)


# --------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, words", [
    (lambda: find_faces(games.matching_pennies(), "nl"), "iterated and repeated"),
    (lambda: find_faces(games.rps(memory=0), "nl"), "two actions"),
    (lambda: find_faces(games.ipd(), "nl", tol=1e-3), "too loose"),
    (lambda: find_faces(games.ipd(), "nl", starts=0), "starts"),
    (lambda: find_faces(games.ipd(), "nl", max_faces=0), "max_faces"),
    (lambda: find_faces(games.ipd(), "nl", delta=-1.0), "delta"),
    (lambda: face_point(games.ipd(), "nl", (0, 1, 2) + (0,) * 7), "0, 1 or None"),
    (lambda: face_point(games.ipd(), "nl", (None,) + (0,) * 9, x0=[1.0, 2.0]), "x0"),
    (lambda: probability_field(games.ipd(), "nl", [0.5] * 5, [1.5] * 5), "[0, 1]"),
    (lambda: probability_field(games.ipd(), "nl", [0.5] * 4, [0.5] * 5), "shape"),
    (lambda: probability_field(games.ipd(), "nl", [0.5] * 5), "one probability array"),
    (lambda: find_faces(games.ipd(symbolic=True), "nl"), "gamma"),
])
def test_bad_input(call, words):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert words in str(err.value)


# --------------------------------------------------------------------------- CLI
def test_cli_fixed_points_prints_faces(capsys):
    """fixed-points on an iterated game prints the face table, not logits of +-600; --json has
    the probabilities and, for each player, the logits (null where saturated)."""
    argv = ["fixed-points", "--game", "ipd", "--memory", "0", "--rule", "nl", "--starts", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "attracting" in out and "p1 = (s0)" in out and "600" not in out
    assert main(argv + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    corner = [p for p in data["points"] if p["classification"] == "attracting"]
    assert corner and corner[0]["p1"] == [0.0] and corner[0]["theta1"] == [None]
