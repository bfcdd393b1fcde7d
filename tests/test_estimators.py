"""Tests of lola_sym.sampling.estimators: exact targets two ways, estimators unbiased within a CI.

Every Monte-Carlo check compares with the exact target within Z_MC standard
errors computed from the samples, and is shown able to fail on a deliberately
wrong estimate or target.
"""

import mpmath
import numpy as np
import pytest

import reference
from lola_sym import games, update_field
from lola_sym.sampling.estimators import (ESTIMATORS, Targets, baseline_values, dice, estimate,
                                 exact_targets, lola_pg_hessian, policy_gradient, target_for,
                                 truncation_bias)
from lola_sym.games.layout import SWAP
from lola_sym.sampling.rollouts import Rollouts, chain, rollout
from tolerances import EPS, RTOL_REFERENCE, Z_MC

#: closed-form targets (float linear algebra) vs the compiled exact fields: rounding only
RTOL_TARGETS = 1e3 * EPS
#: two summation orders of the same per-episode sums (DiCE vs REINFORCE / LOLA-PG)
RTOL_IDENTITY = 1e3 * EPS
#: episodes of the one-batch unbiasedness checks, and their horizon
BATCH_MC, HORIZON_MC = 20_000, 12


def _point(seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return scale * rng.normal(size=5), scale * rng.normal(size=5)


def _rel(got, want):
    return np.max(np.abs(got - want)) / np.max(np.abs(want))


def _within_ci(mean, want, se):
    return bool(np.all(np.abs(mean - want) <= Z_MC * se))


# ------------------------------------------------------------------ exact targets
@pytest.mark.parametrize("name", ["ipd", "imp", "chicken"])
def test_exact_targets_match_the_compiled_fields(name):
    game, (t1, t2) = games.by_name(name), _point(1, 2.0)
    ex = exact_targets(game, t1, t2)
    nl = update_field(game, "nl")(t1, t2)
    lola = update_field(game, "lola", eta=0.7)(t1, t2)
    assert _rel(ex.grad(1, 1), nl[0]) < RTOL_TARGETS and _rel(ex.grad(2, 2), nl[1]) < RTOL_TARGETS
    for agent in (1, 2):
        assert _rel(ex.quantity("lola", agent, eta=0.7), lola[agent - 1]) < RTOL_TARGETS
    assert np.allclose(ex.value, game.value(t1, t2), rtol=RTOL_TARGETS, atol=0)
    # the check can fail: the correction of the wrong agent is far off
    assert _rel(ex.grad(1, 1) + 0.7 * ex.quantity("correction", 2), lola[0]) > 1e-3


def test_cross_blocks_and_hessians_match_the_mpmath_reference():
    game, (t1, t2) = games.ipd(), _point(2, 2.0)
    ex = exact_targets(game, t1, t2)
    for of in (1, 2):
        for wrt in (1, 2):
            want = np.array([float(v) for v in reference.grad(game, of, wrt, t1, t2)])
            assert _rel(ex.grad(of, wrt), want) < RTOL_REFERENCE
        H = np.array(reference.cross_hessian(game, of, t1, t2), dtype=float)
        assert _rel(ex.cross_hessian(of), H) < RTOL_REFERENCE
    # agent 2's hessian target is the transpose, rows = agent 2's logits
    assert np.array_equal(ex.quantity("hessian", 2), ex.cross_hessian(1).T)
    assert ex.hessian.shape == (2, 10, 10) and np.allclose(ex.hessian, ex.hessian.swapaxes(1, 2))


def _truncated_mp(game, th, horizon):
    """sum_{t<T} gamma^t p_t . r_i in mpmath, by repeated vector-matrix products."""
    sig = [1 / (1 + mpmath.exp(-t)) for t in th]
    x, y = sig[:5], sig[5:]

    def row(a, b):
        return [a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)]
    p = row(x[0], y[0])
    P = [row(x[1 + j], y[SWAP[1 + j]]) for j in range(4)]
    g = mpmath.mpf(game.gamma.p) / game.gamma.q
    out = [mpmath.mpf(0), mpmath.mpf(0)]
    for t in range(horizon):
        for i, r in enumerate((game.r1, game.r2)):
            out[i] += g ** t * sum(p[j] * int(r[j]) for j in range(4))
        p = [sum(p[i] * P[i][j] for i in range(4)) for j in range(4)]
    return out


def test_truncation_bias_equals_exact_minus_truncated_two_ways():
    """V - V_T (tail formula) = compiled exact V - forward sum = mpmath FD of the truncated sum."""
    game, (t1, t2) = games.ipd(), _point(3)
    T = 6
    bias = truncation_bias(game, t1, t2, T)
    trunc = exact_targets(game, t1, t2, horizon=T)
    nl = update_field(game, "nl")(t1, t2)
    # way 1: the package's exact value and gradients minus the forward-mode truncated sum
    assert np.allclose(bias.value, game.value(t1, t2) - trunc.value, rtol=1e-12, atol=1e-12)
    assert np.allclose(bias.grad(1, 1), nl[0] - trunc.grad(1, 1), rtol=1e-10, atol=1e-12)
    assert np.allclose(bias.grad(2, 2), nl[1] - trunc.grad(2, 2), rtol=1e-10, atol=1e-12)
    # way 2: an independent mpmath truncated sum, differentiated by finite differences
    with mpmath.workdps(30):
        pt = [mpmath.mpf(float(v)) for v in np.concatenate([t1, t2])]
        for agent in (1, 2):
            f = lambda *th, a=agent: _truncated_mp(game, th, T)[a - 1]    # noqa: E731
            grad = [float(mpmath.diff(f, pt, tuple(int(i == k) for i in range(10))))
                    for k in range(10)]
            assert np.allclose(trunc.gradient[agent - 1], grad, rtol=1e-10, atol=1e-12)
            mixed = [[float(mpmath.diff(f, pt, tuple(int(i in (k, 5 + l)) for i in range(10))))
                      for l in range(5)] for k in range(5)]
            assert np.allclose(trunc.cross_hessian(agent), mixed, rtol=1e-9, atol=1e-12)
    # the tail form of the truncated targets agrees with the forward sum
    tail = exact_targets(game, t1, t2, horizon=T, method="tail")
    assert np.allclose(tail.hessian, trunc.hessian, rtol=1e-10, atol=1e-12)
    # the check can fail: the bias of a longer horizon is not this one
    assert not np.allclose(truncation_bias(game, t1, t2, T + 1).gradient, bias.gradient,
                           rtol=1e-3)


def test_truncation_bias_vanishes_geometrically():
    game, (t1, t2) = games.imp(), _point(4)
    b = [np.max(np.abs(truncation_bias(game, t1, t2, T).gradient)) for T in (50, 100, 200)]
    assert b[0] > b[1] > b[2] and b[2] < 0.9 ** 200 * 1e3


# ------------------------------------------------------------------ estimators
@pytest.fixture(scope="module")
def ipd_batch():
    game = games.ipd()
    t1, t2 = _point(5)
    ro = rollout(game, t1, t2, BATCH_MC, HORIZON_MC, seed=6)
    return ro, target_for(ro)


FIRST = [(q, e) for q in ("grad", "cross") for e in ESTIMATORS]
SECOND = [("hessian", e) for e in ("lola_pg", "dice", "dice_baseline")]


@pytest.mark.parametrize("quantity, name", FIRST + SECOND)
@pytest.mark.parametrize("agent", [1, 2])
def test_estimators_are_unbiased_for_the_truncated_value(ipd_batch, quantity, name, agent):
    ro, tg = ipd_batch
    est = estimate(ro, quantity, name, agent=agent)
    assert est.value.shape == tg.quantity(quantity, agent).shape
    assert _within_ci(est.value, tg.quantity(quantity, agent), est.stderr)


def test_unbiasedness_check_can_fail(ipd_batch):
    ro, tg = ipd_batch
    est = estimate(ro, "grad", "reinforce_baseline")
    # a baseline built from the episode's own return depends on its actions: biased
    own = 0.5 * ro.returns_to_go()[0]
    bad = policy_gradient(ro, baseline=own)
    assert not _within_ci(bad.value, tg.quantity("grad"), bad.stderr)
    # the infinite-horizon target is not what 12-step episodes estimate
    full = exact_targets(ro.game, ro.theta1, ro.theta2)
    assert not _within_ci(est.value, full.quantity("grad"), est.stderr)
    hess = estimate(ro, "hessian", "dice_baseline")
    assert not _within_ci(hess.value, full.quantity("hessian"), hess.stderr)


@pytest.mark.parametrize("name", ["lola_pg", "dice_baseline"])
def test_geometric_termination_is_unbiased_for_the_exact_value(name):
    game = games.imp()
    t1, t2 = _point(7)
    ro = rollout(game, t1, t2, BATCH_MC, seed=8, termination="geometric")
    ex = exact_targets(game, t1, t2)
    for quantity in ("grad", "cross", "hessian"):
        est = estimate(ro, quantity, name, agent=1)
        assert _within_ci(est.value, ex.quantity(quantity), est.stderr)


def test_lola_correction_from_independent_halves_is_unbiased():
    """The product of two estimates: unbiased from disjoint halves, biased O(1/batch) otherwise."""
    game, (t1, t2) = games.ipd(), _point(9)
    reps, T = 10_000, 8          # the z-score of an O(1/batch) bias grows like sqrt(reps)
    ro = rollout(game, np.broadcast_to(t1, (reps, 5)), t2, 8, T, seed=10)
    want = target_for(rollout(game, t1, t2, 1, T, seed=0)).quantity("correction")
    for independent, unbiased in ((True, True), (False, False)):
        v = estimate(ro, "correction", "lola_pg", independent=independent).value
        se = v.std(axis=0, ddof=1) / np.sqrt(reps)
        assert _within_ci(v.mean(axis=0), want, se) == unbiased


def _rms_ratio(game, t1, t2, name, quantity, batches, reps, seed, shift=0.0):
    """sqrt(MSE(b0) / MSE(b1)) over replicates and its standard error (delta method)."""
    T = 8
    want = target_for(rollout(game, t1, t2, 1, T, seed=0)).quantity(quantity)
    ms, rel = [], []
    for k, b in enumerate(batches):
        ro = rollout(game, np.broadcast_to(t1, (reps, 5)), t2, b, T, seed=seed + k)
        err = estimate(ro, quantity, name, independent=True).value + shift - want
        sq = np.sum(err ** 2, axis=-1)
        ms.append(sq.mean())
        rel.append(sq.std(ddof=1) / np.sqrt(reps) / sq.mean())
    return np.sqrt(ms[0] / ms[1]), 0.5 * np.hypot(*rel)


@pytest.mark.parametrize("name, quantity", [("reinforce_baseline", "grad"),
                                            ("dice_baseline", "lola")])
def test_error_shrinks_like_one_over_sqrt_batch(name, quantity):
    game, (t1, t2) = games.ipd(), _point(11)
    batches = (50, 800)
    ratio, rel_se = _rms_ratio(game, t1, t2, name, quantity, batches, 300, 12)
    expected = np.sqrt(batches[1] / batches[0])
    assert abs(ratio / expected - 1) <= Z_MC * rel_se
    # the check can fail: a constant offset (a biased estimator) stops the error shrinking
    bad, bad_se = _rms_ratio(game, t1, t2, name, quantity, batches, 300, 12, shift=0.3)
    assert abs(bad / expected - 1) > Z_MC * bad_se


# ------------------------------------------------------------------ identities
def test_dice_without_baseline_is_reinforce_and_lola_pg_episode_by_episode(ipd_batch):
    ro, _ = ipd_batch
    for of in (1, 2):
        d1, d2, h = dice(ro, of=of)
        for wrt, d in ((1, d1), (2, d2)):
            pg = policy_gradient(ro, of=of, wrt=wrt)
            assert _rel(d.value, pg.value) < RTOL_IDENTITY
            assert _rel(d.stderr, pg.stderr) < RTOL_IDENTITY
        assert _rel(h.value, lola_pg_hessian(ro, of=of).value) < RTOL_IDENTITY
    # with a baseline the first order is still REINFORCE with that baseline, the Hessian is not
    d1, _, h = dice(ro, of=2, baseline="value")
    assert _rel(d1.value, policy_gradient(ro, of=2, wrt=1, baseline="value").value) < RTOL_IDENTITY
    assert _rel(h.value, lola_pg_hessian(ro, of=2).value) > 1e-3


def test_estimate_composes_the_lola_direction(ipd_batch):
    ro, _ = ipd_batch
    for agent in (1, 2):
        own = estimate(ro, "grad", "dice_baseline", agent).value
        corr = estimate(ro, "correction", "dice_baseline", agent).value
        lola = estimate(ro, "lola", "dice_baseline", agent, eta=0.5).value
        assert np.allclose(lola, own + 0.5 * corr, rtol=1e-12, atol=0)
        assert estimate(ro, "lola", "dice_baseline", agent).stderr is None
    h2 = estimate(ro, "hessian", "lola_pg", agent=2).value
    assert np.array_equal(h2, lola_pg_hessian(ro, of=1).value.T)


def test_exact_critic_starts_at_the_truncated_and_infinite_values():
    game, (t1, t2) = games.ipd(), _point(13)
    ro = rollout(game, t1, t2, 30, 9, seed=0)
    b = baseline_values(ro, 2, "value")
    assert np.allclose(b[:, 0], exact_targets(game, t1, t2, 9).value[1], rtol=1e-12)
    # at the last step the critic is the expected reward given the previous joint action
    _, P, r = chain(game, t1, t2)
    assert np.allclose(b[:, -1], (P @ r[1])[ro.states[0][:, -1] - 1], rtol=1e-12)
    geo = rollout(game, t1, t2, 30, seed=0, termination="geometric")
    assert np.allclose(baseline_values(geo, 1, "value")[:, 0], game.value(t1, t2)[0], rtol=1e-12)


def test_baselines_reduce_variance_without_moving_the_mean(ipd_batch):
    ro, tg = ipd_batch
    plain = estimate(ro, "grad", "reinforce")
    for baseline in ("time", "value"):
        est = estimate(ro, "grad", "reinforce", baseline=baseline)
        assert np.all(est.stderr < 0.5 * plain.stderr)
    hess = estimate(ro, "hessian", "dice")
    assert np.all(estimate(ro, "hessian", "dice", baseline="value").stderr < hess.stderr)


def test_estimates_broadcast_over_parameter_pairs():
    game = games.ipd()
    t1 = np.random.default_rng(0).normal(size=(3, 5))
    ro = rollout(game, t1, np.zeros(5), 40, 5, seed=1)
    for name in ESTIMATORS:
        assert estimate(ro, "grad", name).value.shape == (3, 5)
    assert estimate(ro, "hessian", "dice_baseline").value.shape == (3, 5, 5)
    assert estimate(ro, "lola", "lola_pg", independent=True).value.shape == (3, 5)
    single = estimate(ro.select(slice(None)), "grad", "reinforce")
    assert np.array_equal(single.value, estimate(ro, "grad", "reinforce").value)


# ------------------------------------------------------------------ bad input
def test_bad_inputs_raise_clear_errors():
    game = games.ipd()
    ro = rollout(game, np.zeros(5), np.zeros(5), 4, 3, seed=0)
    with pytest.raises(ValueError, match="unknown quantity 'gradient'"):
        estimate(ro, "gradient")
    with pytest.raises(ValueError, match="unknown estimator 'reinforce_b'"):
        estimate(ro, "grad", "reinforce_b")
    with pytest.raises(ValueError, match="first-order estimator"):
        estimate(ro, "correction", "reinforce_baseline")
    with pytest.raises(ValueError, match="agent must be 1 or 2"):
        estimate(ro, "grad", agent=3)
    with pytest.raises(ValueError, match="unknown baseline 'mean'"):
        estimate(ro, "grad", baseline="mean")
    with pytest.raises(ValueError, match="does not broadcast"):
        estimate(ro, "grad", baseline=np.zeros(7))
    with pytest.raises(ValueError, match="baseline has a non-finite entry"):
        estimate(ro, "grad", baseline=np.full(3, np.nan))
    with pytest.raises(TypeError, match="expected Rollouts"):
        estimate({"states": 0}, "grad")
    with pytest.raises(TypeError, match="eta must be a real number"):
        estimate(ro, "lola", "lola_pg", eta="1")
    one = rollout(game, np.zeros(5), np.zeros(5), 1, 3, seed=0)
    with pytest.raises(ValueError, match="needs batch >= 2"):
        estimate(one, "grad", "reinforce_baseline")
    with pytest.raises(ValueError, match="needs batch >= 2"):
        estimate(one, "lola", "lola_pg", baseline=None, independent=True)
    assert np.all(np.isinf(estimate(one, "grad").stderr))
    with pytest.raises(ValueError, match="one point"):
        exact_targets(game, np.zeros((2, 5)), np.zeros(5))
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        truncation_bias(game, np.zeros(5), np.zeros(5), 0)
    with pytest.raises(ValueError, match="unknown method"):
        exact_targets(game, np.zeros(5), np.zeros(5), 3, method="cramer")
    with pytest.raises(ValueError, match="unknown quantity"):
        Targets(np.zeros(2), np.zeros((2, 10)), np.zeros((2, 10, 10))).quantity("value")


# ------------------------------------------------------------------ overflow and sizes
#: the same episodes with every payoff multiplied by 1e299: estimates scale exactly (up to
#: rounding of the scaled moments)
RTOL_SCALED = 1e3 * EPS


def _scaled_game(factor):
    return games.iterated([[f"{-factor}", f"{-3 * factor}"], ["0", f"{-2 * factor}"]],
                          [[f"{-factor}", "0"], [f"{-3 * factor}", f"{-2 * factor}"]], "24/25")


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_huge_payoffs_give_the_scaled_estimates_and_standard_errors(name):
    """Payoffs of 1e299: sums of squares leave double precision, the moments must not."""
    t1, t2 = _point(14)
    small = rollout(_scaled_game(1), t1, t2, 40, 6, seed=0)
    big = rollout(_scaled_game(10 ** 299), t1, t2, 40, 6, seed=0)
    assert np.array_equal(small.actions, big.actions)
    quantities = ("grad", "cross") + (("hessian",) if ESTIMATORS[name][0] != "reinforce" else ())
    for quantity in quantities:
        a, b = estimate(small, quantity, name), estimate(big, quantity, name)
        assert np.all(np.isfinite(b.value)) and np.all(np.isfinite(b.stderr))
        assert np.allclose(b.value, 1e299 * a.value, rtol=RTOL_SCALED, atol=0)
        assert np.allclose(b.stderr, 1e299 * a.stderr, rtol=RTOL_SCALED, atol=0)
        # the check can fail: the unscaled standard error is far off
        assert not np.allclose(b.stderr, a.stderr, rtol=0.5)
    if ESTIMATORS[name][0] != "reinforce":     # Hessian x gradient ~ 1e600: refused, named
        with pytest.raises(ValueError, match="LOLA correction .*overflowed double precision "
                                             r"\(payoffs up to 3e\+299"):
            estimate(big, "lola", name)


def test_eta_is_validated_by_the_lola_rule_and_overflow_is_refused(ipd_batch):
    ro, _ = ipd_batch
    with pytest.raises(ValueError, match=r"eta must lie in \[0, inf\) \(rule 'lola'\), got -1.0"):
        estimate(ro, "lola", "dice", eta=-1)
    with pytest.raises(ValueError, match="eta must be finite"):
        estimate(ro, "grad", eta=float("inf"))
    with pytest.raises(TypeError, match="eta must be a real number"):
        estimate(ro, "lola", "dice", eta=True)
    small = rollout(games.ipd(), np.full(5, 2.0), np.full(5, -1.0), 50, 20, seed=1)
    corr = estimate(small, "correction", "lola_pg").value
    assert np.max(np.abs(corr)) > 1.8                    # so that 1e308 * corr overflows
    for name in ("dice", "lola_pg"):
        with pytest.raises(ValueError, match=r"overflowed double precision at eta=1e\+308 .*"
                                             "smaller eta"):
            estimate(small, "lola", name, eta=1e308)
    # a large eta whose direction is finite is computed, not refused
    own = estimate(small, "grad", "lola_pg").value
    assert np.allclose(estimate(small, "lola", "lola_pg", eta=1e300).value, own + 1e300 * corr,
                       rtol=RTOL_IDENTITY, atol=0)


def test_estimates_from_too_many_episode_steps_are_refused_before_allocating():
    game = games.ipd()
    n, batch, T = 10 ** 4, 10 ** 3, 10 ** 3                # 1e10 episode-steps, views of zeros
    zeros = np.broadcast_to(np.int8(0), (2, n, batch, T))
    ro = Rollouts(game, (np.zeros((n, 5)), np.zeros((n, 5))), zeros, zeros,
                  np.broadcast_to(True, (n, batch, T)), "fixed", 0.96)
    for call in (lambda: estimate(ro, "grad"), lambda: dice(ro), lambda: lola_pg_hessian(ro),
                 lambda: baseline_values(ro, 1, "time")):
        with pytest.raises(ValueError, match=r"estimating from 10,000,000,000 episode-steps .* "
                                             r"would hold about 5,000 GB"):
            call()


def test_agents_estimators_and_baselines_of_the_wrong_type_are_refused(ipd_batch):
    ro, _ = ipd_batch
    with pytest.raises(TypeError, match="agent must be the int 1 or 2, got bool"):
        estimate(ro, "grad", agent=True)
    with pytest.raises(TypeError, match="agent must be the int 1 or 2, got float"):
        policy_gradient(ro, of=1.0)
    with pytest.raises(ValueError, match=r"unknown estimator \['dice'\]"):
        estimate(ro, "grad", ["dice"])
    with pytest.raises(TypeError, match="baseline must hold real numbers, got dtype bool"):
        estimate(ro, "grad", baseline=True)
    with pytest.raises(TypeError, match="independent must be a bool"):
        estimate(ro, "lola", "dice", independent="yes")
