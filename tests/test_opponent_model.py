"""Tests of lola_sym.sampling.opponent_model: MLE, intervals, LOLA-OM and LOLA-PG / NL-PG training."""

import numpy as np
import pytest
from scipy.stats import norm

from lola_sym import games, update_field
from lola_sym.games.layout import SWAP, policy
from lola_sym.sampling.opponent_model import (OpponentModel, SampleTrajectory, fit_policy, model_opponent,
                                     train_om, train_pg)
from lola_sym.sampling.rollouts import rollout
from lola_sym.dynamics.training import DivergenceError, train
from tolerances import Z_MC

#: LOLA-OM with 5000 episodes per step vs exact LOLA over 5 steps (delta = eta = 1): largest
#: parameter deviation relative to the distance the exact parameters travel (measured: at most
#: 0.037 over 20 seeded IPD/IMP cases; with 10 episodes per step at least 0.097). Longer
#: trajectories are not compared: at delta = 1 exact LOLA makes jumps of several units near
#: switches (e.g. theta1[CD] 1.5 -> -2.6 in one step) that amplify any model error.
TOL_OM_TRAJECTORY = 0.05
#: ... and the largest deviation of the average reward per step (measured at most 0.035)
TOL_OM_REWARD = 0.05
#: "mostly cooperative": average reward per step above the midpoint of mutual
#: cooperation (-1) and mutual defection (-2) in the IPD
COOPERATIVE_REWARD = -1.5
#: NL-PG "defects": mean average reward per step over runs below this (a run may still find
#: cooperation, as exact NL sometimes does: Table 3's NL-Ex std is 0.14)
DEFECTING_REWARD = -1.8
#: the PG experiment of the tests: small enough for the time budget (about 15 s); LOLA's
#: look-ahead eta = 1 is the rule's default (the naive learner takes none)
PG_TEST = dict(runs=16, steps=100, batch=200, horizon=50, delta=1.0)

THETA1 = np.array([0.2, -0.4, 0.8, -0.1, 0.5])
THETA2 = np.array([1.0, 0.5, -0.5, 0.3, -1.0])


# ------------------------------------------------------------------ maximum likelihood
def test_estimate_is_the_logit_of_the_pseudo_counted_frequency():
    rng = np.random.default_rng(0)
    st, ac = rng.integers(0, 5, (3, 40)), rng.integers(0, 2, (3, 40))
    for prior in ((1.0, 1.0), (0.5, 2.0)):
        m = fit_policy(st, ac, prior=prior)
        for k in range(5):
            n, c = np.sum(st == k), np.sum((st == k) & (ac == 0))
            p = (c + prior[0]) / (n + sum(prior))
            assert m.visits[k] == n and m.cooperations[k] == c
            assert np.isclose(m.theta[k], np.log(p / (1 - p)), rtol=1e-14, atol=1e-15)
    assert np.allclose(fit_policy(st, ac, prior=(0, 0)).probability,
                       [np.mean(ac[st == k] == 0) for k in range(5)], rtol=1e-14)


def test_three_action_estimate_is_the_log_ratio_to_the_reference_action():
    """Softmax policies (last action the reference): theta_{s,b} = log((c_b + a_b) / (c_2 + a_2))."""
    rng = np.random.default_rng(1)
    st, ac = rng.integers(0, 4, (2, 60)), rng.integers(0, 3, (2, 60))
    prior = (0.5, 1.0, 2.0)
    m = fit_policy(st, ac, prior=prior, n_states=4, n_actions=3)
    assert m.theta.shape == (8,) and m.counts.shape == (4, 3)
    for s in range(4):
        c = [np.sum((st == s) & (ac == a)) + prior[a] for a in range(3)]
        assert np.allclose(m.theta[2 * s:2 * s + 2], np.log(c[:2]) - np.log(c[2]), rtol=1e-14)
        assert np.allclose(m.policy[s], np.array(c) / sum(c), rtol=1e-14)
    lo, hi = m.interval(0.95)
    assert np.all((lo < m.theta) & (m.theta < hi))
    with pytest.raises(ValueError, match="prior must be 3 pseudo-counts"):
        fit_policy(st, ac, prior=(1, 1), n_states=4, n_actions=3)
    with pytest.raises(ValueError, match="actions must lie in 0..1"):
        fit_policy(st, ac)


def test_unseen_and_one_sided_states_stay_finite_with_a_prior():
    ro = rollout(games.ipd(), policy("alld"), policy("tft"), 50, 10, seed=0)
    m = model_opponent(ro, agent=2)          # TFT never sees CC or DC after the first move
    assert np.all(np.isfinite(m.theta)) and m.visits[1] == 0 and m.theta[1] == 0.0
    assert m.theta[0] > 0 and m.theta[2] < 0           # cooperates in s0, defects after CD
    for method in ("beta", "wald"):
        lo, hi = m.interval(0.95, method)
        assert np.all(np.isfinite(lo) & np.isfinite(hi) & (lo < m.theta) & (m.theta < hi))
    with pytest.raises(ValueError, match=r"states s0 \(one action only\), CC \(never visited\)"):
        model_opponent(ro, agent=2, prior=(0, 0))


def test_mle_recovers_known_parameters_as_data_grows():
    game = games.ipd()
    errors = []
    for k, batch in enumerate((20, 200, 2000)):
        ro = rollout(game, np.broadcast_to(THETA1, (50, 5)), THETA2, batch, 10, seed=k)
        m = model_opponent(ro)
        errors.append(np.sqrt(np.mean((m.theta - THETA2) ** 2)))
    assert errors[0] > errors[1] > errors[2]
    # 100 times the data: the error falls by about sqrt(100) = 10
    assert 5 < errors[0] / errors[2] < 20
    # agent 1's estimate is in agent 1's own labels: read agent-1-first it is wrong
    assert np.max(np.abs(m.theta[:, list(SWAP)].mean(0) - THETA2)) > 0.5


@pytest.mark.parametrize("method", ["beta", "wald"])
def test_confidence_intervals_cover_at_the_nominal_rate(method):
    reps, level = 400, 0.95
    ro = rollout(games.ipd(), np.broadcast_to(THETA1, (reps, 5)), THETA2, 30, 10, seed=1)
    m = model_opponent(ro)
    lo, hi = m.interval(level, method)
    coverage = np.mean((lo <= THETA2) & (THETA2 <= hi), axis=0)
    se = np.sqrt(level * (1 - level) / reps)
    assert np.all(np.abs(coverage - level) <= Z_MC * se)
    # the check can fail: intervals of the wrong agent do not cover
    other = model_opponent(ro, agent=1).interval(level, method)
    assert not np.all(np.abs(np.mean((other[0] <= THETA2) & (THETA2 <= other[1]), axis=0)
                             - level) <= Z_MC * se)


def test_model_of_agent_one_and_leading_axes():
    ro = rollout(games.imp(), np.stack([THETA1, -THETA1]), THETA2, 3000, 10, seed=2)
    m = model_opponent(ro, agent=1)
    assert isinstance(m, OpponentModel) and m.theta.shape == (2, 5)
    lo, hi = m.interval(2 * norm.cdf(Z_MC) - 1)
    assert np.all((lo[0] < THETA1) & (THETA1 < hi[0])) and np.all((lo[1] < -THETA1) & (-THETA1 < hi[1]))


# ------------------------------------------------------------------ LOLA-OM
def _field_jacobian(f, t1, t2, h=1e-6):
    """d g1 / d theta2 by central differences of the exact field."""
    cols = [(f(t1, t2 + h * e)[0] - f(t1, t2 - h * e)[0]) / (2 * h) for e in np.eye(5)]
    return np.stack(cols, axis=1)


def test_one_lola_om_step_is_the_exact_step_within_the_propagated_interval():
    """|g1(theta1, theta2_hat) - g1(theta1, theta2)| <= |J| halfwidth (delta method, Z_MC level)."""
    game = games.ipd()
    f = update_field(game, "lola", eta=1.0)
    ro = rollout(game, THETA1, THETA2, 20_000, 50, seed=3)
    m = model_opponent(ro)
    lo, hi = m.interval(2 * norm.cdf(Z_MC) - 1, "wald")
    assert np.all((lo < THETA2) & (THETA2 < hi))
    tol = np.abs(_field_jacobian(f, THETA1, THETA2)) @ ((hi - lo) / 2)
    exact = f(THETA1, THETA2)[0]
    assert np.all(np.abs(f(THETA1, m.theta)[0] - exact) <= tol)
    # the check can fail: an opponent model read in agent-1-first labels
    assert not np.all(np.abs(f(THETA1, m.theta[list(SWAP)])[0] - exact) <= tol)


@pytest.mark.parametrize("name", ["ipd", "imp"])
def test_lola_om_with_lots_of_data_follows_exact_lola(name):
    game = games.by_name(name)
    exact = train(game, "lola", runs=6, steps=5, seed=3, eta=1.0)
    om = train_om(game, runs=6, steps=5, batch=5000, horizon=50, seed=3)
    assert np.array_equal(om.theta1[0], exact.theta1[0])        # same seeded start
    travel = np.max(np.abs(exact.theta1[-1] - exact.theta1[0]))
    for a, b in ((om.theta1, exact.theta1), (om.theta2, exact.theta2)):
        assert np.max(np.abs(a - b)) <= TOL_OM_TRAJECTORY * travel
    assert np.max(np.abs(om.reward - exact.reward)) <= TOL_OM_REWARD
    assert om.rules == ("lola-om", "lola-om") and om.model1.shape == (5, 6, 5)
    # the check can fail: with 10 episodes per step the models are too noisy
    few = train_om(game, runs=6, steps=5, batch=10, horizon=50, seed=3)
    assert np.max(np.abs(few.theta1 - exact.theta1)) > TOL_OM_TRAJECTORY * travel


def test_train_om_rewards_are_exact_and_runs_are_deterministic():
    game = games.ipd()
    a = train_om(game, "nl", runs=3, steps=2, batch=30, horizon=8, seed=5)
    b = train_om(game, "nl", runs=3, steps=2, batch=30, horizon=8, seed=5)
    c = train_om(game, "nl", runs=3, steps=2, batch=30, horizon=8, seed=6)
    assert np.array_equal(a.theta1, b.theta1) and not np.array_equal(a.theta1, c.theta1)
    assert np.allclose(a.reward, game.average_reward(a.theta1, a.theta2), rtol=1e-14)
    assert isinstance(a, SampleTrajectory) and a.steps == 2 and a.runs == 3


# ------------------------------------------------------------------ LOLA-PG / NL-PG
@pytest.fixture(scope="module")
def ipd_pg():
    game = games.ipd()
    return (train_pg(game, "lola", estimator="dice_baseline", seed=0, eta=1.0, **PG_TEST),
            train_pg(game, "nl", estimator="reinforce_baseline", seed=0, **PG_TEST))


def test_lola_pg_cooperates_and_nl_pg_defects_in_the_ipd(ipd_pg):
    """Foerster et al. 2018, Table 3: LOLA-PG -1.17 (0.34), NL-PG -1.98 (0.00), over runs."""
    lola, nl = ipd_pg
    r_lola = lola.final_reward.mean(axis=1)          # per run, both agents pooled
    r_nl = nl.final_reward.mean(axis=1)
    assert r_lola.mean() > COOPERATIVE_REWARD
    assert r_nl.mean() < DEFECTING_REWARD and np.median(r_nl) < -1.95
    diff, se = r_lola.mean() - r_nl.mean(), np.hypot(r_lola.std(ddof=1), r_nl.std(ddof=1)) / 4
    assert diff > Z_MC * se
    assert lola.tft_percent > nl.tft_percent
    # rewards are exact functions of the parameters
    assert np.allclose(lola.reward, games.ipd().average_reward(lola.theta1, lola.theta2))


def test_the_pg_comparison_can_fail_without_lookahead():
    """LOLA with eta = 0 is the naive learner: it defects like NL-PG."""
    zero = train_pg(games.ipd(), "lola", estimator="dice_baseline", seed=0,
                    **{**PG_TEST, "eta": 0.0, "runs": 4, "steps": 60})
    assert not zero.final_reward.mean() > COOPERATIVE_REWARD


def test_pg_step_is_the_estimate_and_same_seed_same_result():
    game = games.imp()
    kw = dict(runs=2, steps=1, batch=40, horizon=6, delta=0.5, seed=7)
    tr = train_pg(game, "lola", "nl", estimator="lola_pg", **kw)
    assert np.array_equal(tr.theta1, train_pg(game, "lola", "nl", estimator="lola_pg", **kw).theta1)
    exact = train(game, "nl", runs=2, steps=0, seed=7)
    assert np.array_equal(tr.theta1[0], exact.theta1[0])
    # replay the step: same generator state after the initial draws
    rng = np.random.default_rng(7)
    t1, t2 = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    from lola_sym.sampling.estimators import estimate
    ro = rollout(game, t1, t2, 40, 6, seed=rng)
    g1 = estimate(ro, "lola", "lola_pg", 1).value
    g2 = estimate(ro, "grad", "lola_pg", 2).value
    assert np.allclose(tr.theta1[1], t1 + 0.5 * g1, rtol=0, atol=1e-12)
    assert np.allclose(tr.theta2[1], t2 + 0.5 * g2, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_lola_pg_with_the_paper_formula_at_a_larger_batch():
    """The bare Sec. 4.3 formula needs far more episodes than DiCE with a baseline."""
    game = games.ipd()
    kw = dict(runs=6, steps=80, batch=1000, horizon=50, seed=1)
    lola = train_pg(game, "lola", estimator="lola_pg", **kw)
    nl = train_pg(game, "nl", estimator="reinforce_baseline", **kw)
    assert lola.final_reward.mean() > nl.final_reward.mean()


# ------------------------------------------------------------------ bad input
def test_bad_inputs_raise_clear_errors():
    game = games.ipd()
    with pytest.raises(ValueError, match="states must lie in 0..4"):
        fit_policy([[0, 5]], [[0, 1]])
    with pytest.raises(ValueError, match="same shape"):
        fit_policy([[0, 1]], [[0]])
    with pytest.raises(TypeError, match="must hold integers"):
        fit_policy([[0.5, 1]], [[0, 1]])
    with pytest.raises(ValueError, match="prior must be a pair"):
        fit_policy([[0, 1]], [[0, 1]], prior=1.0)
    with pytest.raises(ValueError, match=r"prior\[0\] must be >= 0"):
        fit_policy([[0, 1]], [[0, 1]], prior=(-1, 1))
    with pytest.raises(ValueError, match="mask must have shape"):
        fit_policy([[0, 1]], [[0, 1]], mask=[True])
    m = fit_policy([[0, 1]], [[0, 1]])
    with pytest.raises(ValueError, match="level must lie in"):
        m.interval(1.5)
    with pytest.raises(ValueError, match="unknown interval method"):
        m.interval(0.9, "exact")
    with pytest.raises(ValueError, match="beta intervals need positive pseudo-counts"):
        fit_policy([np.arange(5)] * 2, [[0] * 5, [1] * 5], prior=(0, 0)).interval(0.9)
    with pytest.raises(TypeError, match="expected Rollouts"):
        model_opponent(np.zeros(3))
    with pytest.raises(ValueError, match="agent must be 1 or 2"):
        model_opponent(rollout(game, THETA1, THETA2, 2, 2, seed=0), agent=0)
    with pytest.raises(ValueError, match="estimates the rules"):
        train_pg(game, "sos")
    with pytest.raises(ValueError, match="first-order"):
        train_pg(game, "lola", estimator="reinforce")
    with pytest.raises(ValueError, match="unknown estimator"):
        train_pg(game, estimator="sf")
    with pytest.raises(ValueError, match="batch must be >= 1"):
        train_pg(game, batch=0)
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        train_om(game, horizon=0)
    with pytest.raises(ValueError, match="steps must be a non-negative int"):
        train_om(game, steps=-1)
    with pytest.raises(ValueError, match="give both theta1 and theta2"):
        train_om(game, theta1=np.zeros((2, 5)))
    with pytest.raises(ValueError, match="theta2 has a non-finite entry"):
        train_pg(game, theta1=np.zeros((2, 5)), theta2=np.full((2, 5), np.inf))
    with pytest.raises(ValueError, match="unknown rule"):
        train_om(game, "sgd")


# ------------------------------------------------------------------ hyper-parameters
def test_train_om_passes_hyper_parameters_to_every_rule_that_takes_them():
    """Replay one LOLA-OM step: the update is the exact rule with the given eta at the models."""
    game = games.ipd()
    kw = dict(runs=2, steps=1, batch=30, horizon=8, seed=4)
    for rule, hyper in (("la", dict(eta=0.3)), ("sos", dict(eta=7.0)),
                        ("hola", dict(eta=0.5, order=1)), ("co", dict(gamma=0.05))):
        tr = train_om(game, rule, **kw, **hyper)
        f = update_field(game, rule, **hyper)
        assert np.allclose(tr.theta1[1], tr.theta1[0] + f(tr.theta1[0], tr.model1[0])[0],
                           rtol=0, atol=1e-12)
        assert np.allclose(tr.theta2[1], tr.theta2[0] + f(tr.model2[0], tr.theta2[0])[1],
                           rtol=0, atol=1e-12)
        assert tr.settings["hyper"][0] == {**f.hyper, **f.options}
        # the check can fail: the rule's default hyper-parameters give another step
        default = update_field(game, rule, **{k: v for k, v in hyper.items() if k == "order"})
        assert not np.allclose(tr.theta1[1], tr.theta1[0]
                               + default(tr.theta1[0], tr.model1[0])[0], rtol=0, atol=1e-6)
    # eta goes to the rule of each agent that takes it
    mixed = train_om(game, "lola", "nl", eta=0.4, **kw)
    assert mixed.settings["hyper"] == ({"eta": 0.4}, {})


def test_train_om_and_train_pg_refuse_hyper_parameters_a_rule_does_not_take():
    game = games.ipd()
    with pytest.raises(ValueError, match="rule 'nl' has no hyper-parameter 'eta'; it takes"):
        train_om(game, "nl", eta=0.5)
    with pytest.raises(ValueError, match="neither 'nl' nor 'lola' takes a hyper-parameter 'lam'"):
        train_om(game, "nl", "lola", lam=1.0)
    with pytest.raises(ValueError, match="hyper2 names 'eta', which rule 'nl'"):
        train_om(game, "lola", "nl", hyper2={"eta": 1.0})
    with pytest.raises(ValueError, match=r"eta must lie in \[0, inf\) \(rule 'lola'\)"):
        train_om(game, "lola", eta=-1.0)
    with pytest.raises(ValueError, match=r"a must lie in \(0, 1\) \(rule 'sos'\)"):
        train_om(game, "sos", a=2.0)
    with pytest.raises(ValueError, match="rule 'nl' has no hyper-parameter 'eta'"):
        train_pg(game, "nl", eta=0.5)
    with pytest.raises(ValueError, match=r"eta must lie in \[0, inf\) \(rule 'lola'\)"):
        train_pg(game, "lola", eta=-0.5)
    with pytest.raises(ValueError, match="eta must be finite"):
        train_pg(game, "lola", eta=float("nan"))


# ------------------------------------------------------------------ divergence
@pytest.mark.parametrize("train_fn", [train_om, train_pg])
def test_divergence_is_detected_and_named_like_exact_training(train_fn):
    game = games.ipd()
    kw = dict(runs=3, steps=3, batch=20, horizon=5, seed=0)
    if train_fn is train_pg:
        kw["estimator"] = "reinforce_baseline"
    for delta in (1e5, 1e308):                # 1e308 overflowed with a RuntimeWarning
        with pytest.raises(DivergenceError, match=r"diverged at update 1 of 3 in run\(s\) "
                                                  r"\[0, 1, 2\] .*max_abs=10000; lower delta"):
            train_fn(game, "nl", delta=delta, **kw)
    marked = train_fn(game, "nl", delta=1e308, on_divergence="mark", **kw)
    assert np.array_equal(marked.diverged_at, [1, 1, 1]) and marked.diverged.all()
    assert np.all(np.isfinite(marked.theta1)) and np.array_equal(marked.theta1[-1],
                                                                marked.theta1[0])
    # the check can fail: a small step does not diverge, and a tight bound does
    calm = train_fn(game, "nl", delta=0.1, **kw)
    assert not calm.diverged.any() and np.array_equal(calm.diverged_at, [-1, -1, -1])
    with pytest.raises(DivergenceError):
        train_fn(game, "nl", delta=0.1, max_abs=calm.theta1[0].__abs__().max() + 1e-9, **kw)


def test_huge_payoffs_diverge_clearly_instead_of_overflowing():
    huge = games.iterated([["-1e299", "-3e299"], [0, "-2e299"]],
                          [["-1e299", 0], ["-3e299", "-2e299"]], "24/25")
    with pytest.raises(DivergenceError, match="exceeded max_abs"):
        train_pg(huge, "nl", estimator="reinforce", runs=2, steps=1, batch=10, horizon=5)


def test_bad_training_settings_are_refused_up_front():
    game = games.ipd()
    with pytest.raises(ValueError, match=r"init_std=1e\+308 drew initial parameters beyond "
                                         r"max_abs"):
        train_pg(game, "nl", init_std=1e308, runs=2, steps=1)
    with pytest.raises(ValueError, match=r"train_pg would simulate 5e\+14 episode-steps"):
        train_pg(game, "nl", steps=10 ** 9)
    with pytest.raises(ValueError, match=r"train_om\(runs=1,000,000,000,000\) would hold"):
        train_om(game, "nl", runs=10 ** 12)
    with pytest.raises(ValueError, match="one run's batch=1,000,000,000,000 episodes"):
        train_om(game, "nl", batch=10 ** 12)
    with pytest.raises(ValueError, match="on_divergence must be 'raise' or 'mark'"):
        train_om(game, "nl", on_divergence="ignore")
    with pytest.raises(ValueError, match="max_abs must be > 0"):
        train_pg(game, "nl", max_abs=0)
    with pytest.raises(ValueError, match="unknown termination"):
        train_pg(game, "nl", steps=0, termination="poisson")
    with pytest.raises(TypeError, match="independent must be a bool"):
        train_pg(game, "lola", steps=0, independent=1)
    with pytest.raises(ValueError, match=r"unknown estimator \['dice'\]"):
        train_pg(game, "lola", estimator=["dice"])


# ------------------------------------------------------------------ extreme counts
def test_huge_pseudo_counts_give_finite_estimates_or_a_clear_error():
    m = fit_policy([[0, 1]], [[0, 1]], prior=(1e308, 1e308))     # n + a + b overflowed
    assert np.array_equal(m.theta, np.zeros(5)) and np.array_equal(m.probability, np.full(5, 0.5))
    lo, hi = m.interval(0.95, "wald")
    assert np.all(np.isfinite(lo) & np.isfinite(hi) & (lo < 0) & (hi > 0))
    with pytest.raises(ValueError, match="beyond double precision at pseudo-counts .*'wald'"):
        m.interval(0.95, "beta")
    # a lopsided prior: the beta interval on the logit scale stays finite (logit(1.0) was inf)
    lop = fit_policy([[0, 1]], [[0, 1]], prior=(1e20, 1.0))
    lo, hi = lop.interval(0.95)
    assert np.all(np.isfinite(lo) & np.isfinite(hi) & (lo < lop.theta) & (lop.theta < hi))
    with pytest.raises(ValueError, match="beyond double precision"):
        fit_policy([[0, 1]], [[0, 1]], prior=(1e-300, 1e-300)).interval(0.95, "beta")


def test_fit_policy_and_model_opponent_refuse_misleading_types():
    with pytest.raises(TypeError, match="mask must hold booleans"):
        fit_policy([[0, 1]], [[0, 1]], mask=[[0.5, 1.0]])
    with pytest.raises(TypeError, match="states must hold integers, got dtype bool"):
        fit_policy([[True, False]], [[0, 1]])
    ro = rollout(games.ipd(), THETA1, THETA2, 2, 2, seed=0)
    with pytest.raises(TypeError, match="agent must be the int 1 or 2, got bool"):
        model_opponent(ro, agent=True)
    with pytest.raises(ValueError, match="unknown interval method"):
        fit_policy([[0, 1]], [[0, 1]]).interval(0.9, ["beta"])
