"""Tournaments between learning rules, memory-one export and the long-run average reward.

References: Foerster et al. 2018 (LOLA), Table 4 (the round robin) and Table 3
(NL-Ex -1.98, LOLA-Ex -1.06 in IPD self-play); Nowak and Sigmund 1993 and
Knight et al. 2016 (Axelrod library) for memory-one strategies under errors.
"""

import json
import pickle
import sys

import numpy as np
import pytest
import sympy as sp
from scipy.special import expit

from lola_sym.games import battle_of_sexes, iterated, ipd, matching_pennies
from lola_sym.games.layout import _POLICIES, policy
from lola_sym.sampling.rollouts import chain
from lola_sym.dynamics.tournament import (Pairing, TournamentResult, from_memory_one, long_run_reward,
                                 stationary_distribution, to_axelrod, to_axelrod_game,
                                 to_memory_one, tournament)
from lola_sym.dynamics.training import train
from tolerances import ATOL_SATURATED, EPS, TOL_IPD_NL_MEAN, Z_MC

# Named tolerances of this module (candidates for tests/tolerances.py):
#: tree-theorem stationary distribution vs a least-squares solve at |theta| <~ 4
#: (condition number of I - P times rounding: ~1e3 eps)
RTOL_STATIONARY = 1e4 * EPS
#: Abel limit: |(1 - gamma) V - long-run| <= this at gamma = 1 - 1e-6 (first order in
#: 1 - gamma with a mixing-time constant <= 100 for |theta| <~ 4)
ATOL_ABEL = 1e-4
#: a 5-step training of the swapped pair from swapped starts vs the mirrored entry
#: (the field is mirror-symmetric to ~1e-13 per step; chaos amplifies it only later)
ATOL_MIRROR_SHORT = 1e-9
#: LOLA self-play after 100 steps at delta = eta = 1 (Table 3 of the paper: -1.06 (0.19))
LOLA_SELF_PLAY_RANGE = (-1.2, -0.95)

SMALL = dict(runs=3, steps=4, seed=0)


# ------------------------------------------------------------ independent references
def _chain_ref(t1, t2):
    """(p0, P) of the joint-action chain by explicit loops, agent 2 read from its own view."""
    x, y = expit(np.asarray(t1, float)), expit(np.asarray(t2, float))
    own = {"CC": 1, "CD": 2, "DC": 3, "DD": 4}
    joints = ["CC", "CD", "DC", "DD"]

    def pr(p, act):
        return p if act == "C" else 1 - p

    p0 = np.array([pr(x[0], k[0]) * pr(y[0], k[1]) for k in joints])
    P = np.array([[pr(x[own[j]], k[0]) * pr(y[own[j[1] + j[0]]], k[1]) for k in joints]
                  for j in joints])
    return p0, P


def _stationary_lstsq(P):
    A = np.vstack([(np.eye(4) - P).T, np.ones(4)])
    return np.linalg.lstsq(A, np.r_[np.zeros(4), 1.0], rcond=None)[0]


def _rewards(game):
    return np.array([[float(v) for v in game.r1], [float(v) for v in game.r2]])


def _simulate_chain(t1, t2, game, chains, turns, seed):
    """Per-chain average rewards, shape (chains, 2), of a seeded simulation of the chain."""
    rng = np.random.default_rng(seed)
    x, y = expit(np.asarray(t1, float)), expit(np.asarray(t2, float))
    own2 = np.array([1, 3, 2, 4])          # agent 2's own index of joint state CC, CD, DC, DD
    r = _rewards(game)
    a1 = rng.random(chains) >= x[0]        # True = defect
    a2 = rng.random(chains) >= y[0]
    total = np.zeros((chains, 2))
    for _ in range(turns):
        j = 2 * a1 + a2
        total += r[:, j].T
        a1 = rng.random(chains) >= x[1 + j]
        a2 = rng.random(chains) >= y[own2[j]]
    return total / turns


# ---------------------------------------------------------------------- tournament
@pytest.fixture(scope="module")
def sanity():
    """The brief's small-run setting: 20 runs, 100 steps, delta = eta = 1."""
    return tournament(rules=("nl", "lola"), runs=20, steps=100, delta=1.0, eta=1.0, seed=0)


def test_table_structure_and_json():
    res = tournament(rules=("nl", "lola"), **SMALL)
    assert isinstance(res, TournamentResult)
    assert list(res.pairings) == [("nl", "nl"), ("nl", "lola"), ("lola", "nl"), ("lola", "lola")]
    assert res.mean.shape == res.std.shape == (2, 2, 2) and res.diverged.shape == (2, 2)
    p = res.pairing("nl", "lola")
    assert isinstance(p, Pairing) and p.reward.shape == (3, 2) and p.theta_row.shape == (3, 5)
    text = res.format()
    rows = [ln for ln in text.splitlines() if ln.startswith(("nl ", "lola "))]
    assert len(rows) == 2 and all(ln.count(" / ") == 2 for ln in rows)
    assert f"{res.mean[1, 0, 0]:+.2f} / {res.mean[1, 0, 1]:+.2f}" in rows[1]
    assert "(" in res.format(std=True)
    d = json.loads(json.dumps(res.as_dict()))
    assert d["rules"] == ["nl", "lola"] and len(d["pairs"]) == 4 and d["seed"] == 0
    assert np.array(d["pairs"][1]["policies"]["col"]).shape == (3, 5)
    assert d["hyper"] == {"nl": {}, "lola": {"eta": 1.0}}
    assert set(res.score()) == {"nl", "lola"}
    with pytest.raises(ValueError, match="no pairing"):
        res.pairing("nl", "sos")


def test_entry_is_train_from_the_same_seed():
    res = tournament(rules=("nl", "lola"), delta=0.5, eta=0.7, **SMALL)
    for a, b in [("nl", "lola"), ("lola", "lola")]:
        tr = train(ipd(), a, b, runs=3, steps=4, delta=0.5, seed=0, eta=0.7)
        p = res.pairing(a, b)
        assert np.array_equal(p.reward, tr.final_reward)
        assert np.array_equal(p.theta_row, tr.theta1[-1]) and np.array_equal(p.theta_col, tr.theta2[-1])
    wrong = train(ipd(), "nl", "lola", runs=3, steps=4, delta=0.5, seed=1, eta=0.7)
    assert not np.allclose(res.pairing("nl", "lola").reward, wrong.final_reward)
    assert res.hyper["lola"] == {"eta": 0.7}


def test_determinism():
    a = tournament(rules=("nl", "lola"), **SMALL)
    b = tournament(rules=("nl", "lola"), **SMALL)
    c = tournament(rules=("nl", "lola"), runs=3, steps=4, seed=1)
    for key in a.pairings:
        assert np.array_equal(a.pairings[key].reward, b.pairings[key].reward)
        assert np.array_equal(a.pairings[key].theta_col, b.pairings[key].theta_col)
    assert not np.allclose(a.mean, c.mean)
    g = tournament(rules=("nl",), runs=3, steps=4, seed=np.random.default_rng(0))
    assert g.seed is None and np.array_equal(g.mean, a.mean[:1, :1])


def test_mirrored_entries_swap_exactly():
    res = tournament(rules=("nl", "lola", "la"), **SMALL)
    for a in res.rules:
        for b in res.rules:
            p, q = res.pairing(a, b), res.pairing(b, a)
            if a == b:                    # self-play: trained once, the sides start apart
                assert not p.mirrored and not np.array_equal(p.reward, p.reward[:, ::-1])
                continue
            assert np.array_equal(p.reward, q.reward[:, ::-1])
            assert np.array_equal(p.theta_row, q.theta_col)
            assert p.mirrored != q.mirrored
    assert np.array_equal(res.mean[0, 1], res.mean[1, 0, ::-1])


def test_mirror_matches_training_the_swapped_pair_from_swapped_starts():
    """The shortcut is valid: in the symmetric IPD, (B, A) from swapped starts is the mirror."""
    res = tournament(rules=("nl", "lola"), runs=4, steps=5, seed=3)
    rng = np.random.default_rng(3)
    t1, t2 = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    mirror = res.pairing("lola", "nl")
    assert mirror.mirrored
    tr = train(ipd(), "lola", "nl", steps=5, delta=0.5, theta1=t2, theta2=t1)
    assert np.max(np.abs(tr.final_reward - mirror.reward)) <= ATOL_MIRROR_SHORT
    assert np.max(np.abs(tr.theta1[-1] - mirror.theta_row)) <= ATOL_MIRROR_SHORT
    unswapped = train(ipd(), "lola", "nl", steps=5, delta=0.5, theta1=t1, theta2=t2)  # can fail
    assert np.max(np.abs(unswapped.final_reward - mirror.reward)) > 1e3 * ATOL_MIRROR_SHORT


def _paired_z(x, y):
    d = np.asarray(x) - np.asarray(y)
    return abs(d.mean()) / max(d.std(ddof=1) / np.sqrt(len(d)), 1e3 * EPS)


def test_self_play_sides_are_statistically_equal(sanity):
    for r in sanity.rules:
        R = sanity.pairing(r, r).reward
        assert _paired_z(R[:, 0], R[:, 1]) <= Z_MC
    # the statistic has power: NL self-play vs LOLA self-play differ by many standard errors
    assert _paired_z(sanity.pairing("nl", "nl").reward[:, 0],
                     sanity.pairing("lola", "lola").reward[:, 0]) > Z_MC


def test_ordered_training_agrees_statistically_with_the_mirror(sanity):
    ordered = tournament(rules=("nl", "lola"), runs=20, steps=100, delta=1.0, eta=1.0, seed=0,
                         ordered=True)
    assert ordered.ordered and not any(p.mirrored for p in ordered.pairings.values())
    trained, mirror = ordered.pairing("lola", "nl"), sanity.pairing("lola", "nl")
    assert mirror.mirrored
    for k in (0, 1):
        a, b = trained.reward[:, k], mirror.reward[:, k]
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert abs(a.mean() - b.mean()) <= Z_MC * se
    assert np.array_equal(ordered.pairing("nl", "lola").reward, mirror.swapped().reward)


def test_lola_self_play_beats_naive_self_play(sanity):
    """Table 3 of Foerster et al. 2018: IPD NL-Ex -1.98 (0.14), LOLA-Ex -1.06 (0.19)."""
    nl = sanity.pairing("nl", "nl").reward.mean()
    lola = sanity.pairing("lola", "lola").reward.mean()
    assert abs(nl - (-2.0)) <= TOL_IPD_NL_MEAN
    assert LOLA_SELF_PLAY_RANGE[0] <= lola <= LOLA_SELF_PLAY_RANGE[1]
    assert lola > nl + 0.5
    assert sanity.diverged.sum() == 0


def test_asymmetric_game_trains_every_ordered_pair():
    res = tournament(battle_of_sexes(), ("nl", "lola"), **SMALL)
    assert res.ordered and not any(p.mirrored for p in res.pairings.values())
    assert not np.array_equal(res.pairing("nl", "lola").reward,
                              res.pairing("lola", "nl").reward[:, ::-1])
    with pytest.raises(ValueError, match="not symmetric"):
        tournament(battle_of_sexes(), ("nl",), ordered=False, **SMALL)


def test_hyper_parameters_are_routed_to_the_rules_that_take_them():
    res = tournament(rules=("nl", "lola", "sos"), eta=0.5, hyper_by_rule={"sos": {"a": 0.3}},
                     **SMALL)
    assert res.hyper == {"nl": {}, "lola": {"eta": 0.5}, "sos": {"eta": 0.5, "a": 0.3, "b": 0.1}}
    assert "lola: eta=0.5" in res.format()
    with pytest.raises(ValueError, match="'lam'"):
        tournament(rules=("nl", "lola"), lam=1.0, **SMALL)
    with pytest.raises(ValueError, match="'sos'"):
        tournament(rules=("nl", "lola"), hyper_by_rule={"sos": {"a": 1.0}}, **SMALL)
    with pytest.raises(ValueError, match="'b'"):
        tournament(rules=("nl", "lola"), hyper_by_rule={"lola": {"b": 1.0}}, **SMALL)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(rules=("nl", "lolaa")), ValueError, "'lolaa'"),
    (dict(rules=()), ValueError, "empty"),
    (dict(rules="nl"), TypeError, "sequence of rule names"),
    (dict(rules=("nl", "nl")), ValueError, "distinct"),
    (dict(rules=("nl", 3)), TypeError, "rule must be a name"),
    (dict(runs=0), ValueError, "runs"),
    (dict(steps=-1), ValueError, "steps"),
    (dict(steps=2.0), TypeError, "steps"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(delta=0.0), ValueError, "delta"),
    (dict(ordered="yes"), TypeError, "ordered"),
    (dict(game=matching_pennies()), TypeError, "iterated"),
    (dict(progress=3), TypeError, "progress"),
])
def test_bad_input(kwargs, error, match):
    args = dict(rules=("nl",), runs=2, steps=1, seed=0)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        tournament(**args)


def test_holas_order_is_a_setting_of_the_tournament():
    """HOLA's structural option, per rule or shared, reaches its training (it was refused as
    "takes no hyper-parameter 'order'")."""
    res = tournament(rules=("nl", "hola"), hyper_by_rule={"hola": {"order": 1}}, **SMALL)
    assert res.hyper["hola"] == {"eta": 1.0, "order": 1} and "order=1" in res.format()
    tr = train(ipd(), "nl", "hola", runs=3, steps=4, delta=0.5, seed=0, hyper2={"order": 1},
               on_divergence="mark")
    np.testing.assert_array_equal(res.pairing("nl", "hola").reward, tr.final_reward)
    default = train(ipd(), "nl", "hola", runs=3, steps=4, delta=0.5, seed=0, on_divergence="mark")
    assert not np.array_equal(default.final_reward, tr.final_reward)     # order 2 differs
    shared = tournament(rules=("nl", "hola"), order=1, **SMALL)
    np.testing.assert_array_equal(shared.mean, res.mean)
    assert shared.hyper == res.hyper and json.dumps(shared.as_dict(policies=False))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(hyper_by_rule={"lola": None}), TypeError, r"hyper_by_rule\['lola'\] must be a dict"),
    (dict(hyper_by_rule=[("lola", {"eta": 1})]), TypeError, "hyper_by_rule must be a dict"),
    (dict(hyper_by_rule={"hola": {"order": 1.5}}), ValueError, "non-negative int"),
    (dict(hyper_by_rule={"hola": {"order": 60}}), ValueError, "program steps"),
    (dict(hyper_by_rule={"sos": {"a": 1.0}}), ValueError, r"a must lie in \(0, 1\)"),
    (dict(eta=-1.0), ValueError, r"eta must lie in \[0, inf\)"),
])
def test_settings_are_checked_before_any_training(kwargs, error, match):
    """Every rule's settings are validated (names, bounds, program size) before the first
    pairing is trained: the bounds used to fail only when the rule's turn came."""
    seen = []
    with pytest.raises(error, match=match):
        tournament(rules=("nl", "lola", "sos", "hola"), progress=lambda a, b: seen.append(a),
                   **SMALL, **kwargs)
    assert seen == []


def test_numpy_bools_and_non_games():
    res = tournament(rules=("nl",), ordered=np.True_, **SMALL)
    assert res.ordered is True
    with pytest.raises(TypeError, match="numpy.ndarray"):
        tournament(rules=("nl",), ordered=np.array([True, False]), **SMALL)

    class NotAGame:
        kind = "iterated"
        name = "impostor"
    for game in (NotAGame(), "ipd", ipd):
        with pytest.raises(TypeError, match="must be a lola_sym game"):
            tournament(game, rules=("nl",), **SMALL)


def test_progress_is_called_once_per_trained_pair():
    seen = []
    tournament(rules=("nl", "lola"), progress=lambda a, b: seen.append((a, b)), **SMALL)
    assert seen == [("nl", "nl"), ("nl", "lola"), ("lola", "lola")]


def test_diverged_runs_are_counted_and_flagged():
    res = tournament(rules=("nl",), runs=3, steps=3, delta=1e9, seed=0)
    assert res.diverged[0, 0] == 3
    assert "diverged runs" in res.format() and res.as_dict()["pairs"][0]["diverged"] == 3


# ------------------------------------------------------------------ memory-one export
@pytest.mark.parametrize("name", sorted(_POLICIES))
def test_memory_one_round_trips_named_policies(name):
    probs = np.array(_POLICIES[name], dtype=float)
    assert np.max(np.abs(to_memory_one(policy(name)) - probs)) <= ATOL_SATURATED
    assert np.array_equal(from_memory_one(probs), policy(name))


def test_memory_one_round_trips_logits_within_an_eps_budget():
    theta = np.random.default_rng(0).uniform(-8, 8, size=(50, 5))
    back = from_memory_one(to_memory_one(theta))
    # 1 - p has absolute error ~eps, relative error eps * (1 + e^|theta|) on the logit
    budget = 4 * EPS * (1 + np.exp(np.abs(theta)))
    assert np.all(np.abs(back - theta) <= budget)
    assert np.max(np.abs(from_memory_one(to_memory_one(theta + 0.01)) - theta)) > 1e3 * budget.max()


def test_memory_one_is_the_own_perspective_of_either_agent():
    """Agent 2's export read in the joint chain: its C probability after agent 1's CD is its own DC."""
    rng = np.random.default_rng(5)
    t1, t2 = rng.normal(size=5), rng.normal(size=5)
    _, P, _ = chain(ipd(), t1, t2)
    p2_c = P[:, 0] + P[:, 2]          # agent 2 plays C: joint CC or DC, agent 1 first
    p1_c = P[:, 0] + P[:, 1]
    m1, m2 = to_memory_one(t1), to_memory_one(t2)
    assert np.allclose(p1_c, m1[1:], rtol=0, atol=10 * EPS)
    assert np.allclose(p2_c, m2[[1, 3, 2, 4]], rtol=0, atol=10 * EPS)
    assert not np.allclose(p2_c, m2[1:], atol=1e-3)          # without the relabelling: wrong


def test_memory_one_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        from_memory_one([0.5, 0.5, -0.1, 0.5, 0.5])
    with pytest.raises(ValueError, match="shape"):
        to_memory_one([0.0, 1.0])
    with pytest.raises(TypeError):
        to_memory_one("tft")


# ------------------------------------------------------------------ long-run reward
def test_stationary_distribution_matches_a_linear_solve():
    rng = np.random.default_rng(7)
    t1, t2 = rng.normal(0, 1.5, size=(20, 5)), rng.normal(0, 1.5, size=(20, 5))
    pi = stationary_distribution(t1, t2)
    assert pi.shape == (20, 4) and np.allclose(pi.sum(axis=-1), 1, rtol=0, atol=10 * EPS)
    for k in range(20):
        _, P = _chain_ref(t1[k], t2[k])
        ref = _stationary_lstsq(P)
        assert np.max(np.abs(pi[k] - ref) / ref) <= RTOL_STATIONARY
        assert np.max(np.abs(pi[k] @ P - pi[k])) <= RTOL_STATIONARY
    # can fail: agent 2 read agent-1-first (no relabelling) gives another chain
    _, Pwrong = _chain_ref(t1[0], t2[0][[0, 1, 3, 2, 4]])
    assert np.max(np.abs(pi[0] - _stationary_lstsq(Pwrong))) > 1e-3


def test_long_run_reward_is_the_abel_limit_of_the_discounted_value():
    g = ipd()
    rng = np.random.default_rng(1)
    t1, t2 = rng.normal(0, 2, size=(8, 5)), rng.normal(0, 2, size=(8, 5))
    L = long_run_reward(t1, t2, g)
    err = {}
    for k in (5, 6):
        near = iterated(g.R1, g.R2, 1 - sp.Rational(1, 10**k))
        err[k] = np.max(np.abs(near.average_reward(t1, t2) - L))
    assert err[6] <= ATOL_ABEL
    assert 5 <= err[5] / err[6] <= 20             # first order in 1 - gamma
    assert np.max(np.abs(g.average_reward(t1, t2) - L)) > 100 * ATOL_ABEL   # gamma = 0.96: can fail


def test_long_run_reward_matches_a_simulated_chain():
    g = ipd()
    rng = np.random.default_rng(11)
    t1, t2 = rng.normal(0, 1.5, size=5), rng.normal(0, 1.5, size=5)
    L = long_run_reward(t1, t2, g)
    turns = 2000
    sims = _simulate_chain(t1, t2, g, chains=1000, turns=turns, seed=12)
    mean, se = sims.mean(axis=0), sims.std(axis=0, ddof=1) / np.sqrt(len(sims))
    # the start-up bias of a finite average is exact from the chain; it must be small
    p0, P = _chain_ref(t1, t2)
    p, acc = p0.copy(), np.zeros(4)
    for _ in range(turns):
        acc += p
        p = p @ P
    bias = acc / turns @ _rewards(g).T - L
    assert np.all(np.abs(bias) <= 0.5 * se)
    assert np.all(np.abs(mean - L) <= Z_MC * se + np.abs(bias))
    assert np.any(np.abs(mean - L[::-1]) > Z_MC * se)            # swapped agents: can fail


def test_long_run_reward_of_named_policies_under_rare_errors():
    """Memory-one strategies with rare errors (Nowak and Sigmund 1993): the epsilon -> 0 limits."""
    g = ipd()
    cases = {("tft", "tft"): (-1.5, -1.5), ("wsls", "wsls"): (-1, -1), ("grim", "grim"): (-2, -2),
             ("alld", "tft"): (-2, -2), ("wsls", "alld"): (-2.5, -1), ("tft", "allc"): (-1, -1)}
    for (a, b), expected in cases.items():
        assert np.max(np.abs(long_run_reward(policy(a), policy(b), g) - expected)) <= ATOL_SATURATED
    # the discounted value of TFT pairs is R = -1: the long-run limit differs
    assert abs(g.average_reward(policy("tft"), policy("tft"))[0] - (-1.5)) > 0.4


def test_long_run_reward_broadcasts_and_validates():
    t = np.zeros((3, 5))
    assert long_run_reward(t, np.zeros(5), ipd()).shape == (3, 2)
    assert np.allclose(long_run_reward(t, t, ipd()), -1.5, rtol=0, atol=10 * EPS)
    with pytest.raises(TypeError, match="iterated"):
        long_run_reward(t, t, matching_pennies())
    with pytest.raises(ValueError, match="shape"):
        long_run_reward(np.zeros(4), np.zeros(5), ipd())


# -------------------------------------------------------------------------- Axelrod
def test_to_axelrod_without_the_library_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "axelrod", None)
    with pytest.raises(ImportError, match="pip install axelrod"):
        to_axelrod(policy("tft"))
    with pytest.raises(ValueError, match="initial"):
        to_axelrod(policy("tft"), initial="random")


@pytest.fixture(scope="module")
def axl():
    """The optional Axelrod library (pip install axelrod); its import takes ~20 s."""
    try:
        import axelrod
    except ImportError as exc:          # missing, or broken against this numpy / Python
        pytest.skip(f"axelrod is not importable: {exc}")
    return axelrod


def test_axelrod_conventions(axl):
    C, D = axl.Action.C, axl.Action.D
    tft = to_axelrod(policy("tft"))
    assert isinstance(tft, axl.MemoryOnePlayer) and tft._initial == C
    assert all(abs(tft._four_vector[k] - v) <= ATOL_SATURATED
               for k, v in zip([(C, C), (C, D), (D, C), (D, D)], (1, 0, 1, 0)))
    theta = np.array([[-0.2, 0, 0, 0, 0], [0.0, 0, 0, 0, 0], [0.2, 0, 0, 0, 0]])
    assert [p._initial for p in to_axelrod(theta)] == [D, C, C]
    s = to_axelrod(theta[0], initial="sample", name="x")
    assert s.initial_probability == pytest.approx(expit(-0.2), abs=EPS) and s.name == "x"
    assert pickle.loads(pickle.dumps(s)).initial_probability == s.initial_probability
    assert s.clone().initial_probability == s.initial_probability
    assert to_axelrod_game(ipd()).RPST() == (-1, -2, -3, 0)
    with pytest.raises(ValueError, match="symmetric"):
        to_axelrod_game(battle_of_sexes())


def test_exported_named_policies_play_like_axelrods_strategies(axl):
    """Our saturated named policies make the same moves as Axelrod's classic strategies."""
    same = {"tft": axl.TitForTat, "wsls": axl.WinStayLoseShift, "grim": axl.Grudger,
            "alld": axl.Defector, "allc": axl.Cooperator}
    opponents = [axl.Alternator(), axl.Cycler("CCD"), axl.Cycler("DDCDC"), axl.TitForTat()]
    for name, cls in same.items():
        for opp in opponents:
            ours = axl.Match((to_axelrod(policy(name)), opp.clone()), turns=30, seed=1)
            theirs = axl.Match((cls(), opp.clone()), turns=30, seed=1)
            assert ours.play() == theirs.play(), (name, opp)
    # can fail: reading TFT's CD/DC states the other way round gives another strategy
    wrong = axl.Match((to_axelrod(policy("tft")[[0, 1, 3, 2, 4]]), axl.Alternator()), turns=30)
    assert wrong.play() != axl.Match((axl.TitForTat(), axl.Alternator()), turns=30).play()


def test_axelrod_sampled_first_move_frequency(axl):
    p0 = float(expit(0.4))
    player = to_axelrod([0.4, 0, 0, 0, 0], initial="sample")
    n, coop = 400, 0
    for seed in range(n):
        m = axl.Match((player, axl.Cooperator()), turns=1, seed=seed)
        m.play()
        coop += m.result[0][0] == axl.Action.C
    assert abs(coop / n - p0) <= Z_MC * np.sqrt(p0 * (1 - p0) / n)


def test_axelrod_match_estimates_the_long_run_reward(axl):
    """Cross-check: exact long-run average vs seeded fixed-length Axelrod matches."""
    from lola_sym.dynamics.tournament import simulate_axelrod
    g = ipd()
    rng = np.random.default_rng(3)
    t1, t2 = rng.normal(0, 1.5, size=5), rng.normal(0, 1.5, size=5)
    L = long_run_reward(t1, t2, g)
    turns = 5000
    scores = simulate_axelrod(t1, t2, g, turns=turns, repetitions=20, seed=0)
    mean, se = scores.mean(axis=0), scores.std(axis=0, ddof=1) / np.sqrt(len(scores))
    # exact start-up bias from Axelrod's deterministic first moves ("likely")
    _, P = _chain_ref(t1, t2)
    p = np.zeros(4)
    p[2 * int(t1[0] < 0) + int(t2[0] < 0)] = 1.0
    acc = np.zeros(4)
    for _ in range(turns):
        acc += p
        p = p @ P
    bias = acc / turns @ _rewards(g).T - L
    assert np.all(np.abs(bias) <= 0.5 * se)
    assert np.all(np.abs(mean - L) <= Z_MC * se + np.abs(bias))
    assert np.any(np.abs(mean - L[::-1]) > Z_MC * se)                  # can fail
    assert np.array_equal(scores, simulate_axelrod(t1, t2, g, turns=turns, repetitions=20, seed=0))
