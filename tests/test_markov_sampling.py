"""Rollouts and policy-gradient estimators on Markov games, against the exact chain.

Every Monte-Carlo number is checked against an exact one computed another way
(the adjoint path, itself checked here against complex-step and central finite
differences of the values), within a stated confidence interval; every check is
shown able to fail.
"""

import json

import numpy as np
import pytest

from lola_sym.adjoint import at
from lola_sym.games import coin_game
from lola_sym.games.markov import markov
from lola_sym.report.coin_estimators import (REDUCED, STUDY, CoinEstimatorsResult,
                                             coin_estimators_reproduction)
from lola_sym.sampling import markov_estimators as me
from lola_sym.sampling.markov_rollouts import MarkovRollouts, markov_rollout
from tolerances import EPS, Z_MC

#: per-entry z-scores of many entries: the mean of z^2 may exceed 1 by this many of its
#: standard deviations sqrt(2 / entries) (chi-square with many degrees of freedom)
Z_CHI2 = 5.0
#: largest |z| allowed over up to a few hundred entries (two-sided odds ~6e-7 each)
Z_MAX = 5.0
#: two identical computations in another summation order (DiCE vs REINFORCE first order)
RTOL_SAME_SUM = 1e4 * EPS
#: exact Hessian-vector product vs central differences of adjoint gradients, step 1e-5
RTOL_HVP_FD = 1e-6
#: adjoint gradient vs complex-step derivative of the value (no subtraction: rounding only)
RTOL_COMPLEX_STEP = 1e-10
#: RMSE(B) / RMSE(16 B) of an unbiased estimator is 4; from 40 batches each, its sampling
#: spread is about 10 %: allowed band
RATIO_BAND = (3.0, 5.3)


def _tiny_game(horizon=None):
    """3 states, 2 players with 2 and 3 actions, stochastic moves and one chance node."""
    rng = np.random.default_rng(11)
    S, A = 3, 6
    s, a, nxt, p = [], [], [], []
    for si in range(S):
        for ai in range(A):
            w = rng.random(S + 1)
            w /= w.sum()
            s += [si] * (S + 1)
            a += [ai] * (S + 1)
            nxt += list(range(S + 1))                  # S = the chance node 0
            p += list(w)
    R = rng.integers(-3, 4, size=(2, S, A)).astype(float)
    chance = ([0, 0], [0, 2], [0.3, 0.7])
    return markov((2, 3), [0.5, 0.25, 0.25], (s, a, nxt, p), R, "0.9", chance=chance,
                  views=[np.array([0, 1, 2]), np.array([1, 0, 1])], horizon=horizon,
                  name="tiny")


def _point(game, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0.0, scale, d) for d in game.dims]


def _z(mean, want, se):
    se = np.where(se > 0, se, np.inf)
    return (mean - want) / se


def _consistent(mean, want, se):
    """Whether ``mean`` agrees with ``want`` within its standard errors (all entries)."""
    keep = se > 0
    z = _z(mean, want, se)[keep]
    if not keep.any():
        return bool(np.allclose(mean, want))
    chi = np.mean(z ** 2)
    return bool(chi < 1 + Z_CHI2 * np.sqrt(2 / z.size) and np.abs(z).max() < Z_MAX)


TINY = _tiny_game()
TINY_POINT = _point(TINY, 3)
TINY_T = 6


@pytest.fixture(scope="module")
def tiny_batch():
    return markov_rollout(TINY, *TINY_POINT, batch=60_000, horizon=TINY_T, seed=5)


@pytest.fixture(scope="module")
def coin_batch():
    g = coin_game(2)
    return markov_rollout(g, *_point(g, 7, 0.5), batch=20_000, horizon=8, seed=2)


# ------------------------------------------------------------------ rollouts
def test_visitation_matches_the_exact_chain(tiny_batch):
    """The empirical state distribution at every step equals mu_0 P^t (chance nodes
    resolved), within its binomial confidence interval."""
    g, ro = TINY, tiny_batch
    chain = g.chain_at(g.tables(*TINY_POINT))
    p = g.start.copy()
    for t in range(ro.horizon):
        freq = np.bincount(ro.states[:, t], minlength=g.n_states) / ro.batch
        se = np.sqrt(p * (1 - p) / ro.batch)
        assert np.all(np.abs(freq - p) < Z_MC * se), (t, freq, p)
        p = chain.step_back(p)


def test_visitation_check_can_fail(tiny_batch):
    """Ignoring the chance node (its mass sent to state 0) is detected."""
    g, ro = TINY, tiny_batch
    chain = g.chain_at(g.tables(*TINY_POINT))
    u = chain.P.T @ g.start                              # (S + Z,): mass at the chance node
    wrong = u[:g.n_states].copy()
    wrong[0] += u[g.n_states]
    freq = np.bincount(ro.states[:, 1], minlength=g.n_states) / ro.batch
    se = np.sqrt(wrong * (1 - wrong) / ro.batch)
    assert np.any(np.abs(freq - wrong) > Z_MC * se)


@pytest.mark.parametrize("which", ["tiny", "coin"])
def test_returns_match_the_finite_horizon_value(which, tiny_batch, coin_batch):
    """Mean discounted return = V^(T) of game.with_horizon(T) (sparse backward recursion)."""
    ro = tiny_batch if which == "tiny" else coin_batch
    exact = ro.game.with_horizon(ro.horizon).value(*ro.thetas)
    R = ro.returns()
    se = R.std(axis=1, ddof=1) / np.sqrt(ro.batch)
    assert np.all(np.abs(R.mean(axis=1) - exact) < Z_MC * se)
    wrong = ro.game.with_horizon(None).value(*ro.thetas)       # the discounted value
    assert np.any(np.abs(R.mean(axis=1) - wrong) > Z_MC * se)


def test_three_players_returns_and_gradients():
    """Three players (2, 2 and 3 actions; C-order joint actions): returns and REINFORCE
    against the exact values and gradients."""
    rng = np.random.default_rng(4)
    S, A = 2, 12
    P = rng.random((S, A, S))
    P /= P.sum(axis=-1, keepdims=True)
    s, a, nxt = (x.ravel() for x in np.meshgrid(range(S), range(A), range(S), indexing="ij"))
    g = markov((2, 2, 3), [1.0, 0.0], (s, a, nxt, P.ravel()),
               rng.integers(-2, 3, (3, S, A)).astype(float), "0.8", name="three")
    th = _point(g, 1)
    ro = markov_rollout(g, *th, batch=40_000, horizon=4, seed=0)
    exact = g.with_horizon(4).value(*th)
    R = ro.returns()
    assert np.all(np.abs(R.mean(1) - exact) < Z_MC * R.std(1, ddof=1) / np.sqrt(ro.batch))
    tg = me.target_for(ro)
    for i in (1, 2, 3):
        est = me.policy_gradient(ro, i, 3, baseline="time")
        assert _consistent(est.value, tg.gradients[(i, 3)], est.stderr)
    assert not _consistent(me.policy_gradient(ro, 1, 3).value, tg.gradients[(2, 3)],
                           me.policy_gradient(ro, 1, 3).stderr)


def test_coin_counters_match_the_exact_statistics(coin_batch):
    """Coins picked up (a counter of the game, not a reward) by Monte Carlo vs statistics()."""
    ro = coin_batch
    g = ro.game
    joint = ro.actions[0].astype(int) * 4 + ro.actions[1]
    stats = g.with_horizon(ro.horizon).statistics(*ro.thetas)
    for name, table in g.counters:
        x = table[ro.states, joint] @ ro.weights
        se = x.std(ddof=1) / np.sqrt(ro.batch)
        assert abs(x.mean() - stats[name]) < Z_MC * se, name


def test_scores_are_derivatives_of_the_log_policy(tiny_batch):
    """The sparse scores equal complex-step derivatives of log pi_i(u_t | row_t)."""
    ro, g = tiny_batch, TINY
    h = 1e-30
    for i in (1, 2):
        dense = ro.scores_dense(i)[:3, :2]             # (3 episodes, 2 steps, d_i)
        th = ro.thetas[i - 1]
        for b in range(3):
            for t in range(2):
                fd = np.empty(g.dims[i - 1])
                for e in range(g.dims[i - 1]):
                    x = th.astype(complex)
                    x[e] += 1j * h
                    tab = g.tables(*[x if q == i - 1 else ro.thetas[q] for q in range(2)])
                    p = tab[i - 1][ro.rows[i - 1, b, t], ro.actions[i - 1, b, t]]
                    fd[e] = np.log(p).imag / h
                np.testing.assert_allclose(dense[b, t], fd, rtol=1e-12, atol=1e-14)


def test_rollouts_are_deterministic_by_seed():
    g = TINY
    a = markov_rollout(g, *TINY_POINT, batch=50, horizon=7, seed=3)
    b = markov_rollout(g, *TINY_POINT, batch=50, horizon=7, seed=np.random.default_rng(3))
    c = markov_rollout(g, *TINY_POINT, batch=50, horizon=7, seed=4)
    for x, y, z in ((a.states, b.states, c.states), (a.actions, b.actions, c.actions)):
        assert np.array_equal(x, y)
        assert not np.array_equal(x, z)
    assert not a.states.flags.writeable and not a.thetas[0].flags.writeable


def test_rollout_refuses_bad_input():
    t = TINY_POINT
    with pytest.raises(TypeError, match="needs a MarkovGame"):
        markov_rollout(object(), *t, batch=2, horizon=2)
    with pytest.raises(ValueError, match="batch must be >= 1"):
        markov_rollout(TINY, *t, batch=0, horizon=2)
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        markov_rollout(TINY, *t, batch=2, horizon=0)
    with pytest.raises(ValueError, match="theta1"):
        markov_rollout(TINY, np.zeros(5), t[1], batch=2, horizon=2)
    with pytest.raises(ValueError, match="one policy point"):
        markov_rollout(TINY, np.zeros((2, 3)), t[1], batch=2, horizon=2)
    with pytest.raises(ValueError, match="episode-steps exceeds"):
        markov_rollout(TINY, *t, batch=10 ** 6, horizon=10 ** 3)
    with pytest.raises(TypeError, match="seed"):
        markov_rollout(TINY, *t, batch=2, horizon=2, seed=1.5)
    with pytest.raises(ValueError, match="give the episode length"):
        markov_rollout(TINY, *t, batch=2)
    assert markov_rollout(TINY.with_horizon(3), *t, batch=2).horizon == 3


# ------------------------------------------------------------ exact targets
def test_exact_gradients_match_complex_step_of_the_values():
    """The adjoint targets (second way) vs complex-step derivatives of V^(T)."""
    g = TINY.with_horizon(TINY_T)
    tg = me.markov_targets(TINY, *TINY_POINT, horizon=TINY_T)
    h = 1e-30
    for j in (1, 2):
        fd = np.empty((2, g.dims[j - 1]))
        for e in range(g.dims[j - 1]):
            x = [t.astype(complex) for t in TINY_POINT]
            x[j - 1][e] += 1j * h
            fd[:, e] = g.value(*x).imag / h
        for i in (1, 2):
            np.testing.assert_allclose(tg.gradients[(i, j)], fd[i - 1], rtol=RTOL_COMPLEX_STEP,
                                       atol=RTOL_COMPLEX_STEP * np.abs(fd).max())


def test_exact_correction_matches_finite_differences_of_gradients():
    """chi_1 = (d/d theta_2 of grad_1 V_2) . grad_2 V_1 by central differences."""
    tg = me.markov_targets(TINY, *TINY_POINT, horizon=TINY_T, eta=2.0)
    u = tg.gradients[(1, 2)]
    step = 1e-5
    plus = at(TINY.with_horizon(TINY_T), TINY_POINT[0], TINY_POINT[1] + step * u)
    minus = at(TINY.with_horizon(TINY_T), TINY_POINT[0], TINY_POINT[1] - step * u)
    fd = (plus.gradient(2, 1) - minus.gradient(2, 1)) / (2 * step)
    np.testing.assert_allclose(tg.correction[0], fd, rtol=RTOL_HVP_FD,
                               atol=RTOL_HVP_FD * np.abs(fd).max())
    np.testing.assert_allclose(tg.lola[0], tg.gradients[(1, 1)] + 2.0 * fd, rtol=RTOL_HVP_FD,
                               atol=RTOL_HVP_FD * np.abs(fd).max())


# --------------------------------------------------------------- estimators
@pytest.mark.parametrize("estimator", ["reinforce", "reinforce_baseline", "dice",
                                       "dice_baseline"])
@pytest.mark.parametrize("quantity,agent", [("grad", 1), ("grad", 2), ("cross", 1)])
def test_first_order_estimators_are_unbiased(tiny_batch, estimator, quantity, agent):
    est = me.estimate(tiny_batch, quantity, estimator, agent)
    tg = me.target_for(tiny_batch)
    assert _consistent(est.value, tg.of(quantity, agent, 3 - agent), est.stderr)


@pytest.mark.parametrize("baseline", [None, "time", "value"])
def test_coin_game_gradient_is_unbiased(coin_batch, baseline):
    """REINFORCE on the 2x2 coin game (216 logits), chance nodes and all."""
    est = me.policy_gradient(coin_batch, 2, 2, baseline=baseline)
    tg = me.target_for(coin_batch)
    assert _consistent(est.value, tg.of("grad", 2), est.stderr)


def test_unbiasedness_check_can_fail(tiny_batch, coin_batch):
    """The same check rejects the discounted (infinite-horizon) gradient, and the other
    agent's gradient, as targets of the finite-horizon estimates."""
    est = me.estimate(tiny_batch, "grad", "reinforce_baseline", 1)
    wrong = me.markov_targets(TINY, *TINY_POINT, horizon=None)
    assert not _consistent(est.value, wrong.of("grad", 1), est.stderr)
    est = me.policy_gradient(coin_batch, 2, 2, baseline="time")
    assert not _consistent(est.value, me.target_for(coin_batch).of("grad", 1), est.stderr)


@pytest.mark.parametrize("method,baseline", [("lola_pg", None), ("dice", "time"),
                                              ("dice", "value")])
@pytest.mark.parametrize("of,players", [(2, (1, 2)), (1, (2, 1))])
def test_hessian_vector_products_are_unbiased(tiny_batch, method, baseline, of, players):
    """Estimated (grad_j grad_l V_of) u against the forward-over-adjoint product."""
    u = np.random.default_rng(0).normal(size=TINY.dims[players[1] - 1])
    est = me.hessian_vector(tiny_batch, u, of=of, players=players, method=method,
                            baseline=baseline)
    exact = at(TINY.with_horizon(TINY_T), *TINY_POINT).hvp(of, players[0], players[1], u)
    assert _consistent(est.value, exact, est.stderr)
    assert not _consistent(est.value, -exact, est.stderr)        # able to fail


def test_hessian_vector_equals_a_dense_reimplementation(coin_batch):
    """The sparse O(T) form equals sum_t a_t C^1_t (C^2_t . u) from dense cumulative scores."""
    ro = coin_batch.select(slice(0, 40))
    u = np.random.default_rng(1).normal(size=ro.game.dims[1])
    got = me.hessian_vector(ro, u, of=2, players=(1, 2)).value
    C1 = np.cumsum(ro.scores_dense(1), axis=1)
    C2 = np.cumsum(ro.scores_dense(2), axis=1)
    a = ro.weights * ro.rewards[1]
    want = np.einsum("bt,bti,bt->i", a, C1, C2 @ u) / ro.batch
    np.testing.assert_allclose(got, want, rtol=RTOL_SAME_SUM, atol=RTOL_SAME_SUM
                               * np.abs(want).max())


def test_dice_first_order_is_reinforce_and_unbaselined_dice_hessian_is_lola_pg(tiny_batch):
    for b in (None, "time"):
        r = me.policy_gradient(tiny_batch, 1, 2, baseline=b).value
        d = me.dice_gradient(tiny_batch, 1, 2, baseline=b).value
        np.testing.assert_allclose(d, r, rtol=RTOL_SAME_SUM, atol=RTOL_SAME_SUM * abs(r).max())
    u = np.ones(TINY.dims[1])
    a = me.hessian_vector(tiny_batch, u, method="lola_pg").value
    b = me.hessian_vector(tiny_batch, u, method="dice", baseline=None).value
    assert np.array_equal(a, b)


def test_value_baseline_is_the_exact_critic(tiny_batch):
    """E[G_t - b_t] = 0 at every step for the exact critic b_t = E[G_t | s_t]; and at t = 0
    its mean over the start distribution is V^(T)."""
    ro = tiny_batch
    b = me.baseline_values(ro, 1, "value")
    adv = ro.returns_to_go[0] - b
    se = adv.std(axis=0, ddof=1) / np.sqrt(ro.batch)
    assert np.all(np.abs(adv.mean(axis=0)) < Z_MC * se)
    v0 = TINY.start @ np.array([b[ro.states[:, 0] == s, 0][0] for s in range(3)])
    assert abs(v0 - TINY.with_horizon(TINY_T).value(*TINY_POINT)[0]) < 1e-12


@pytest.mark.parametrize("estimator", ["lola_pg", "dice", "dice_baseline"])
@pytest.mark.parametrize("quantity", ["correction", "lola"])
def test_lola_estimates_are_unbiased_over_batches(estimator, quantity):
    """The product estimates have no per-entry standard error: 60 independent batches give
    their mean and its standard error."""
    ro = markov_rollout(TINY, *TINY_POINT, batch=60 * 500, horizon=TINY_T, seed=9)
    tg = me.target_for(ro, eta=3.0)
    est = np.stack([me.estimate(ro.select(slice(k * 500, (k + 1) * 500)), quantity,
                                estimator, 1, eta=3.0).value for k in range(60)])
    se = est.std(axis=0, ddof=1) / np.sqrt(len(est))
    assert _consistent(est.mean(axis=0), tg.of(quantity, 1), se)
    assert not _consistent(est.mean(axis=0), 1.5 * tg.of(quantity, 1), se)


def test_error_shrinks_like_one_over_sqrt_batch():
    """RMSE over 40 batches of B and of 16 B episodes: the ratio is about 4."""
    tg = me.markov_targets(TINY, *TINY_POINT, horizon=TINY_T)
    for q, e in (("grad", "reinforce_baseline"), ("correction", "lola_pg")):
        rmse = []
        for B, seed in ((50, 1), (800, 2)):
            ro = markov_rollout(TINY, *TINY_POINT, batch=40 * B, horizon=TINY_T, seed=seed)
            err = [me.estimate(ro.select(slice(k * B, (k + 1) * B)), q, e, 1).value
                   - tg.of(q, 1) for k in range(40)]
            rmse.append(np.sqrt(np.mean(np.sum(np.square(err), axis=1))))
        assert RATIO_BAND[0] < rmse[0] / rmse[1] < RATIO_BAND[1], (q, e, rmse)


def test_estimates_are_deterministic_for_the_same_rollouts(tiny_batch):
    ro = tiny_batch.select(slice(0, 100))
    a = me.estimate(ro, "lola", "dice_baseline", 2).value
    b = me.estimate(ro, "lola", "dice_baseline", 2).value
    assert np.array_equal(a, b)


def test_estimators_refuse_bad_input(tiny_batch):
    ro = tiny_batch.select(slice(0, 10))
    with pytest.raises(TypeError, match="MarkovRollouts"):
        me.policy_gradient("rollouts")
    with pytest.raises(ValueError, match="unknown quantity"):
        me.estimate(ro, "hessian")
    with pytest.raises(ValueError, match="unknown estimator"):
        me.estimate(ro, "grad", "dice2")
    with pytest.raises(ValueError, match="second-order estimator"):
        me.estimate(ro, "lola", "reinforce")
    with pytest.raises(ValueError, match="player 1..2"):
        me.policy_gradient(ro, of=3)
    with pytest.raises(ValueError, match="two distinct players"):
        me.hessian_vector(ro, np.ones(2), players=(2, 2))
    with pytest.raises(ValueError, match="u must be a finite vector"):
        me.hessian_vector(ro, np.ones(5), of=2, players=(1, 2))
    with pytest.raises(ValueError, match="does not broadcast"):
        me.policy_gradient(ro, baseline=np.ones(4))
    with pytest.raises(ValueError, match="unknown baseline"):
        me.policy_gradient(ro, baseline="mean")
    with pytest.raises(ValueError, match="batch >= 4"):
        me.lola_direction(ro.select(slice(0, 3)))
    with pytest.raises(ValueError, match="eta"):
        me.lola_direction(ro, eta=-1.0)
    with pytest.raises(ValueError, match="non-finite"):
        me.policy_gradient(ro, baseline=np.full((10, TINY_T), np.nan))


# --------------------------------------------------------------- the study
@pytest.fixture(scope="module")
def reduced_study():
    return coin_estimators_reproduction(**REDUCED, seed=4)


def test_study_reduced_runs_and_is_deterministic(reduced_study, tmp_path):
    res = reduced_study
    assert isinstance(res, CoinEstimatorsResult)
    assert len(res.cells) == len(REDUCED["horizons"]) * len(STUDY) * len(REDUCED["batches"])
    again = coin_estimators_reproduction(**REDUCED, seed=4)
    assert again.cells == res.cells
    table = res.format_table()
    assert "LOLA-PG" in table and "slope" in table
    json.dumps(res.as_dict())
    path = tmp_path / "fig.png"
    res.plot(path)
    assert path.stat().st_size > 1000


def test_study_statistics_are_consistent(reduced_study):
    """Identities of the sample moments: RMSE^2 = |mean error|^2 + (R - 1) / R * rel_std^2,
    and the debiased bias^2 = |mean error|^2 - floor^2 (when positive); the bootstrap interval
    is ordered and non-negative."""
    for c in reduced_study.cells:
        R = c["n"]
        assert c["rmse"] ** 2 == pytest.approx(
            c["mean_error"] ** 2 + (R - 1) / R * c["rel_std"] ** 2, rel=1e-5)
        assert c["bias"] ** 2 == pytest.approx(max(c["mean_error"] ** 2 - c["noise"] ** 2, 0.0),
                                               rel=1e-5, abs=1e-12)
        assert 0.0 <= c["bias_lo"] <= c["bias_hi"]


def test_debiased_bias_detects_a_known_bias_and_not_noise():
    """Synthetic errors: pure noise gives a bias interval reaching down to zero, an offset
    of known size is recovered inside its interval."""
    from lola_sym.report.coin_estimators import _cell
    rng = np.random.default_rng(0)
    d, R = 400, 64
    truth = np.ones(d)
    noise = rng.normal(0.0, 1.0, (R, d))
    zero = _cell(noise, truth, np.zeros(d), truth, rng)
    assert zero["bias_lo"] == 0.0
    offset = np.full(d, 0.5)                       # |offset| / |truth| = 0.5
    biased = _cell(noise + offset, truth, np.zeros(d), truth, rng)
    assert biased["bias_lo"] < 0.5 < biased["bias_hi"]
    assert biased["bias_lo"] > 0.3


def test_study_at_a_trained_point():
    """train_steps moves the point by exact LOLA updates (so the targets change)."""
    kw = {**REDUCED, "horizons": (5,), "batches": (8,), "study": STUDY[:1]}
    base = coin_estimators_reproduction(**kw, seed=1)
    trained = coin_estimators_reproduction(**kw, seed=1, train_steps=2)
    assert trained.parameters["train_steps"] == 2
    assert trained.cells[0]["truth"] != pytest.approx(base.cells[0]["truth"], rel=1e-3)
    assert "after 2 exact LOLA updates" in trained.format_table()


def test_study_refuses_bad_input():
    with pytest.raises(ValueError, match="batch size must be >= 4"):
        coin_estimators_reproduction(**{**REDUCED, "batches": (2,)})
    with pytest.raises(ValueError, match="study must be some of"):
        coin_estimators_reproduction(**REDUCED, study=[("lola", "reinforce")])
    with pytest.raises(TypeError, match="progress must be callable"):
        coin_estimators_reproduction(**REDUCED, progress=3)


def test_rollouts_object_reports_its_shape(tiny_batch):
    assert isinstance(tiny_batch, MarkovRollouts)
    assert repr(tiny_batch) == f"MarkovRollouts(tiny, batch=60000, T={TINY_T})"
