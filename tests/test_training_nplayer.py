"""Training on repeated games of more than two players and of memory 0 or 2 (lola_sym.dynamics.training).

The reference is a hand-written loop of theta_i += delta * g_i(theta) over fields from
lola_sym.update_field; outcome statistics are over 20 seeds with named margins.
"""

import numpy as np
import pytest
from scipy.special import expit

from lola_sym import games, update_field
from lola_sym.dynamics.training import DivergenceError, initial_parameters, train

#: train vs the hand-written loop: the same arithmetic (theta + delta * g) on the same fields
ATOL_SAME_STEPS = 1e-13
#: a numeric game vs its symbolic family (two compiled programs: rounding, amplified over a
#: few steps; measured 9e-14 after 5 NL steps on the IPD)
ATOL_FAMILY = 1e-11

#: NL on contribution(3, 9/5), 50 steps from 20 seeds (measured: every seed's mean P(C) falls
#: by at least 0.23, from about 0.5 to 0.16 on average; every agent's average reward per step
#: ends below 0.01, from about 0.4, where full contribution would give cf - 1 = 0.8)
NL_MIN_DROP = 0.15
NL_MAX_FINAL_P = 0.25
NL_MAX_FINAL_REWARD = 0.05
#: n-player LOLA from the same 20 seeds keeps contributing (measured: mean reward 0.66 per
#: agent, every run above NL's run from the same start)
LOLA_MIN_FINAL_REWARD = 0.5

CF = "1.8"


def contribution(memory=1):
    return games.contribution(3, CF, memory=memory)


def seeded_starts(game, seeds):
    """One run per seed, stacked: run k is initial_parameters(game, 1, seeds[k], 1.0)."""
    starts = [initial_parameters(game, 1, s, 1.0) for s in seeds]
    return [np.concatenate([st[i] for st in starts]) for i in range(len(game.dims))]


def hand_loop(game, fields, thetas, steps, delta):
    """theta_i += delta * g_i(theta), agent i's direction from fields[i]."""
    ts = [np.array(t, dtype=float) for t in thetas]
    path = [ts]
    for _ in range(steps):
        gs = [f(*ts)[i] for i, f in enumerate(fields)]
        ts = [t + delta * g for t, g in zip(ts, gs)]
        path.append(ts)
    return path


# ------------------------------------------------------------------ the update map
def test_short_trajectory_equals_the_hand_written_loop():
    """Five NL steps on the 3-player contribution game (9 logits each) are the loop's."""
    g = contribution()
    f = update_field(g, "nl")
    tr = train(g, "nl", runs=4, steps=5, delta=0.7, seed=1)
    path = hand_loop(g, [f] * 3, [t[0] for t in tr.thetas], 5, 0.7)
    for k, ts in enumerate(path):
        for i in range(3):
            np.testing.assert_allclose(tr.thetas[i][k], ts[i], rtol=0, atol=ATOL_SAME_STEPS)
    np.testing.assert_allclose(tr.reward, g.average_reward(*tr.thetas), rtol=1e-14, atol=0)
    assert [t.shape for t in tr.thetas] == [(6, 4, 9)] * 3 and tr.reward.shape == (6, 4, 3)
    assert tr.rules == ("nl",) * 3 and tr.n_agents == 3 and tr.runs == 4 and tr.steps == 5
    # the comparison can fail: a loop with another learning rate is far away
    wrong = hand_loop(g, [f] * 3, [t[0] for t in tr.thetas], 5, 0.8)
    assert np.abs(wrong[-1][0] - tr.thetas[0][-1]).max() > 1e-2


def test_per_agent_rules_and_hyper_parameters():
    """rules=[...] and hyper=[...] give each agent its own field (memory 0: small programs)."""
    g = contribution(memory=0)
    rules, hyper = ["lola", "nl", "la"], [{"eta": 0.5}, {}, {"eta": 2.0}]
    tr = train(g, rules=rules, hyper=hyper, runs=5, steps=4, delta=0.5, seed=2)
    fields = [update_field(g, "lola", eta=0.5), update_field(g, "nl"),
              update_field(g, "la", eta=2.0)]
    path = hand_loop(g, fields, [t[0] for t in tr.thetas], 4, 0.5)
    for i in range(3):
        np.testing.assert_allclose(tr.thetas[i][-1], path[-1][i], rtol=0, atol=ATOL_SAME_STEPS)
    assert tr.rules == ("lola", "nl", "la")
    assert tr.hyper == ({"eta": 0.5}, {}, {"eta": 2.0})
    # shared keywords reach every rule that takes them; per-agent settings override them
    tr2 = train(g, rules=rules, hyper=[{"eta": 0.5}, {}, {}], runs=5, steps=4, delta=0.5,
                seed=2, eta=2.0)
    assert all(np.array_equal(a, b) for a, b in zip(tr.thetas, tr2.thetas))


def test_one_rule_for_everyone_is_the_same_rule_listed_per_agent():
    g = contribution(memory=0)
    a = train(g, "lola", runs=3, steps=3, seed=4, eta=0.5)
    b = train(g, rules=["lola"] * 3, hyper=[{"eta": 0.5}] * 3, runs=3, steps=3, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a.thetas, b.thetas))
    assert a.rules == b.rules == ("lola",) * 3


@pytest.mark.parametrize("method", ["extragradient", "optimistic"])
def test_step_methods_with_three_players(method):
    g = contribution(memory=0)
    f = update_field(g, "nl")
    delta = 0.3
    tr = train(g, "nl", runs=3, steps=4, delta=delta, seed=5, method=method)
    ts = [t[0] for t in tr.thetas]
    previous = None
    for _ in range(4):
        gs = f(*ts)
        if method == "extragradient":
            hs = f(*(t + delta * gi for t, gi in zip(ts, gs)))
            ts = [t + delta * h for t, h in zip(ts, hs)]
        else:
            qs = gs if previous is None else previous
            ts = [t + delta * (2 * gi - q) for t, gi, q in zip(ts, gs, qs)]
            previous = gs
    for i in range(3):
        np.testing.assert_allclose(tr.thetas[i][-1], ts[i], rtol=0, atol=ATOL_SAME_STEPS)


# ------------------------------------------------------------------------ outcomes
def test_naive_learners_stop_contributing():
    """Contributing costs 1 and returns cf/n = 0.6 to oneself: NL drifts to defection.

    From 20 seeds, 50 steps of NL on contribution(3, 9/5) lower every seed's mean probability
    of contributing (over agents and states) and leave every agent's average reward per step
    near the defection payoff 0.
    """
    g = contribution()
    tr = train(g, "nl", thetas=seeded_starts(g, range(20)), steps=50)
    assert not tr.diverged.any()
    p0 = np.mean([expit(t[0]) for t in tr.thetas], axis=(0, 2))        # per seed
    p1 = np.mean([expit(t[-1]) for t in tr.thetas], axis=(0, 2))
    assert np.all(p0 - p1 > NL_MIN_DROP), (p0 - p1).min()
    assert p1.mean() < NL_MAX_FINAL_P
    assert np.all(tr.final_reward.mean(axis=0) < NL_MAX_FINAL_REWARD)
    assert tr.reward[0].mean() > 4 * NL_MAX_FINAL_REWARD       # it fell; it did not start there


@pytest.mark.slow
def test_n_player_lola_keeps_contributing_where_nl_defects():
    """The n-player LOLA (Letcher et al. 2019 form) from the same 20 seeds stays cooperative."""
    g = contribution()
    starts = seeded_starts(g, range(20))
    lola = train(g, "lola", thetas=starts, steps=50)
    nl = train(g, "nl", thetas=starts, steps=50)
    assert not lola.diverged.any()
    assert np.all(lola.final_reward.mean(axis=0) > LOLA_MIN_FINAL_REWARD)
    assert np.all(lola.final_reward.mean(axis=1) > nl.final_reward.mean(axis=1))


@pytest.mark.slow
def test_memory_two_ipd_training():
    """NL on the memory-2 IPD (21 logits per agent) heads for mutual defection (-2 per step).

    Slow: deriving and compiling the memory-2 field takes about 10 s (21-state chain)."""
    g = games.ipd_memory2()
    tr = train(g, "nl", runs=10, steps=30, seed=0)
    f = update_field(g, "nl")
    g1, g2 = f(tr.theta1[0], tr.theta2[0])
    np.testing.assert_allclose(tr.theta1[1], tr.theta1[0] + g1, rtol=0, atol=ATOL_SAME_STEPS)
    np.testing.assert_allclose(tr.theta2[1], tr.theta2[0] + g2, rtol=0, atol=ATOL_SAME_STEPS)
    assert tr.theta1.shape == (31, 10, 21) and not tr.diverged.any()
    start, end = tr.reward[0].mean(), tr.reward[-1].mean()
    assert end < start - 0.2 and abs(end + 2) < 0.2, (start, end)


# --------------------------------------------------------------------- game families
def test_symbolic_family_takes_its_parameters_at_each_step():
    ipd_values = dict(R=-1, S=-3, T=0, P=-2, gamma=0.96)
    fam = games.ipd(symbolic=True)
    a = train(fam, "nl", runs=4, steps=5, seed=0, parameters=ipd_values)
    b = train(games.ipd(), "nl", runs=4, steps=5, seed=0)
    for x, y in zip(a.thetas, b.thetas):
        np.testing.assert_allclose(x, y, rtol=0, atol=ATOL_FAMILY)
    np.testing.assert_allclose(a.reward, b.reward, rtol=0, atol=ATOL_FAMILY)
    assert a.parameters == {k: float(v) for k, v in ipd_values.items()}
    # one discount per run: each run is the training of its own game
    gammas = np.array([0.9, 0.96])
    c = train(fam, "nl", runs=2, steps=3, seed=1, parameters={**ipd_values, "gamma": gammas})
    for k, gm in enumerate(gammas):
        one = train(fam, "nl", thetas=[t[0, k:k + 1] for t in c.thetas], steps=3,
                    parameters={**ipd_values, "gamma": gm})
        np.testing.assert_allclose(c.theta1[:, k], one.theta1[:, 0], rtol=0,
                                   atol=ATOL_SAME_STEPS)
        np.testing.assert_allclose(c.reward[:, k], one.reward[:, 0], rtol=0,
                                   atol=ATOL_SAME_STEPS)


# ------------------------------------------------------------------- bookkeeping
def test_deterministic_and_inputs_not_mutated():
    g = contribution(memory=0)
    a = train(g, "nl", runs=4, steps=3, seed=7)
    b = train(g, "nl", runs=4, steps=3, seed=np.random.default_rng(7))
    c = train(g, "nl", runs=4, steps=3, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a.thetas, b.thetas))
    assert not np.array_equal(a.thetas[2], c.thetas[2])
    given = [np.zeros((2, 1)), np.ones((2, 1)), -np.ones((2, 1))]
    copies = [x.copy() for x in given]
    tr = train(g, "nl", thetas=given, steps=2)
    assert all(np.array_equal(x, y) for x, y in zip(given, copies))
    assert all(np.array_equal(t[0], x) for t, x in zip(tr.thetas, given))


def test_divergence_names_update_run_and_agent():
    """Agent 3 of run 1 starts at -4; NL's step (about -0.18) takes it past max_abs = 4.1."""
    g = contribution(memory=0)
    start = [np.zeros((2, 1)), np.zeros((2, 1)), np.array([[0.0], [-4.0]])]
    with pytest.raises(DivergenceError, match=r"update 1 of 2 in run\(s\) \[1\] \(run 1: "
                                              r"agent\(s\) \[3\]\)") as info:
        train(g, "nl", thetas=start, steps=2, max_abs=4.1)
    assert (info.value.update, info.value.runs, info.value.agents) == (1, (1,), {1: [3]})
    tr = train(g, "nl", thetas=start, steps=2, max_abs=4.1, on_divergence="mark")
    assert tr.diverged_at.tolist() == [-1, 1]
    assert tr.diverged_agents.tolist() == [[False] * 3, [False, False, True]]
    assert np.all(tr.thetas[2][:, 1] == -4.0)               # frozen at its last finite value


def test_two_player_views_refuse_more_agents():
    tr = train(contribution(memory=0), "nl", runs=2, steps=1)
    with pytest.raises(AttributeError, match=r"use thetas\[1\]"):
        tr.theta2


G3 = contribution(memory=0)


@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((), dict(rules=["nl", "nl"]), ValueError, "one rule per agent: .* has 3 players, got 2"),
    ((), dict(rules=["nl", "sos", "nl"]), ValueError,
     "agent 2: rule 'sos' needs exactly two players"),
    (("cgd",), {}, ValueError, "agent 1: rule 'cgd' needs exactly two players"),
    (("nl", "lola"), {}, ValueError, "rule2 is agent 2's rule in a two-player game"),
    (("nl",), dict(rules=["nl"] * 3), ValueError, "not both"),
    ((), dict(rules="nl"), TypeError, "rules must be a sequence"),
    (("lola",), dict(hyper=[{}, {}]), ValueError, "one dict per agent"),
    (("lola",), dict(hyper={"eta": 1.0}), TypeError, "hyper must be a sequence"),
    ((), dict(rules=["lola", "nl", "nl"], hyper=[{}, {"eta": 1.0}, {}]), ValueError,
     r"hyper\[1\] names 'eta', which rule 'nl' \(agent 2\) does not take"),
    (("lola",), dict(hyper1={"eta": 1.0}), ValueError, "hyper1/hyper2 are for two-player"),
    (("nl",), dict(eta=1.0), ValueError, "rule 'nl' \\(every agent's\\) does not take"),
    (("nl",), dict(theta1=np.zeros((2, 1)), theta2=np.zeros((2, 1))), ValueError,
     "theta1/theta2 are for two-player games"),
    (("nl",), dict(thetas=[np.zeros((2, 1))] * 2), ValueError, "one \\(runs, d_i\\) array"),
    (("nl",), dict(thetas=[np.zeros((2, 1))] * 2 + [np.zeros((3, 1))]), ValueError, "shapes"),
    (("nl",), dict(parameters={"R": 1.0}), ValueError, "has no symbols"),
])
def test_bad_arguments(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train(G3, *args, runs=kwargs.pop("runs", None), steps=1, **kwargs)


@pytest.mark.parametrize("parameters, match", [
    (None, r"give their values with parameters=\{...\}"),
    (dict(R=-1, S=-3, T=0, P=-2), "missing \\['gamma'\\]"),
    (dict(R=-1, S=-3, T=0, P=-2, gamma=1.5), "discount"),
    (dict(R=-1, S=-3, T=0, P=-2, gamma=np.full(3, 0.9)), r"one value per run, shape \(2,\)"),
])
def test_bad_family_parameters(parameters, match):
    with pytest.raises(ValueError, match=match):
        train(games.ipd(symbolic=True), "nl", runs=2, steps=1, parameters=parameters)


def test_each_agent_may_have_its_own_learning_rate():
    """delta=(d1, d2): one step moves each agent by its own rate times its direction; a
    single rate for everyone is the same as repeating it."""
    game = games.ipd()
    f = update_field(game, "lola", eta=1.0)
    rng = np.random.default_rng(5)
    t1, t2 = rng.normal(size=(2, 4, 5))
    tr = train(game, "lola", "lola", steps=1, delta=(0.1, 2.0), eta=1.0, theta1=t1,
                  theta2=t2)
    g1, g2 = f(t1, t2)
    np.testing.assert_array_equal(tr.thetas[0][1], t1 + 0.1 * g1)
    np.testing.assert_array_equal(tr.thetas[1][1], t2 + 2.0 * g2)
    assert tr.delta == (0.1, 2.0)
    one = train(game, "lola", "lola", steps=3, delta=0.5, eta=1.0, theta1=t1, theta2=t2)
    both = train(game, "lola", "lola", steps=3, delta=[0.5, 0.5], eta=1.0, theta1=t1,
                    theta2=t2)
    np.testing.assert_array_equal(one.thetas[0], both.thetas[0])
    assert both.delta == 0.5
    for bad, match in (((0.1,), "one per agent"), ((0.1, -1.0), "delta"),
                       ((0.1, "x"), "delta")):
        with pytest.raises((ValueError, TypeError), match=match):
            train(game, "nl", "nl", steps=1, delta=bad)
