"""Tests of lola_sym.sampling.rollouts: the simulator against the exact Markov chain."""

import time

import numpy as np
import pytest

from lola_sym import games
from lola_sym.sampling.estimators import exact_targets, truncation_bias
from lola_sym.games.layout import SWAP, policy
from lola_sym.sampling.rollouts import Rollouts, chain, joint_distribution, rollout, target_for
from tolerances import Z_MC

#: episodes for the frequency checks (standard errors ~ 1 / sqrt(4 * 20000) = 0.0035)
BATCH_MC = 20_000


def _point(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=5), rng.normal(size=5)


def _within_ci(empirical, exact, stderr):
    """True when every entry lies within Z_MC standard errors (1e-12 guards se = 0)."""
    return bool(np.all(np.abs(empirical - exact) <= Z_MC * stderr + 1e-12))


@pytest.mark.parametrize("name", ["ipd", "imp"])
def test_joint_action_frequencies_match_exact_distribution(name):
    game = games.by_name(name)
    t1 = _point(1)[0]
    t2 = np.array([0.3, 1.0, 2.0, -2.0, -0.5])        # agent 2's CD and DC differ
    ro = rollout(game, t1, t2, BATCH_MC, 8, seed=2)
    p = joint_distribution(game, t1, t2, 8)                               # (T, 4)
    freq = np.stack([(ro.joint_actions == j).mean(axis=0) for j in range(4)], axis=-1)
    se = np.sqrt(p * (1 - p) / BATCH_MC)
    assert _within_ci(freq, p, se)
    # the check can fail: agent 2's states read agent-1-first (no SWAP) give another chain
    wrong = joint_distribution(game, t1, t2[list(SWAP)], 8)
    assert not _within_ci(freq, wrong, se)


def test_the_chain_from_the_one_builder_is_the_hand_written_memory_one_chain():
    """rollouts.chain (games.chain over numpy) equals the 2x2 chain written out with SWAP."""
    from scipy.special import expit
    t1, t2 = np.random.default_rng(0).normal(size=(2, 3, 5))
    x, y = expit(t1), expit(t2)

    def row(a, b):
        return np.stack([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)], axis=-1)
    p0, P, r = chain(games.ipd(), t1, t2)
    assert np.allclose(p0, row(x[..., 0], y[..., 0]), rtol=0, atol=1e-15)
    want = np.stack([row(x[..., 1 + j], y[..., SWAP[1 + j]]) for j in range(4)], axis=-2)
    assert np.allclose(P, want, rtol=0, atol=1e-15)
    assert np.array_equal(r, [[-1, -3, 0, -2], [-1, 0, -3, -2]])
    # the check can fail: agent 2's states read agent-1-first
    wrong = np.stack([row(x[..., 1 + j], y[..., 1 + j]) for j in range(4)], axis=-2)
    assert not np.allclose(P, wrong, rtol=0, atol=1e-3)


def test_own_states_follow_the_previous_joint_action():
    ro = rollout(games.ipd(), *_point(3), batch=50, horizon=6, seed=0)
    a1, a2 = ro.actions[0].astype(int), ro.actions[1].astype(int)
    assert np.all(ro.states[:, :, 0] == 0)
    assert np.array_equal(ro.states[0][:, 1:], 1 + 2 * a1[:, :-1] + a2[:, :-1])
    assert np.array_equal(ro.states[1][:, 1:], 1 + 2 * a2[:, :-1] + a1[:, :-1])
    # agent 2's own state is agent 1's with CD and DC exchanged
    assert np.array_equal(ro.states[1], np.array(SWAP)[ro.states[0]])


def test_mean_rewards_per_step_and_truncated_value_match_exact():
    game = games.ipd()
    t1, t2 = _point(4)
    T = 12
    ro = rollout(game, t1, t2, BATCH_MC, T, seed=5)
    _, _, r = chain(game, t1, t2)
    want = joint_distribution(game, t1, t2, T) @ r.T                      # (T, 2)
    got = ro.rewards.mean(axis=1).T
    se = ro.rewards.std(axis=1, ddof=1).T / np.sqrt(BATCH_MC)
    assert _within_ci(got, want, se)
    ret = ro.returns()                                                    # (2, batch)
    exact = exact_targets(game, t1, t2, horizon=T).value
    se_ret = ret.std(axis=1, ddof=1) / np.sqrt(BATCH_MC)
    assert _within_ci(ret.mean(axis=1), exact, se_ret)
    # the check can fail: the infinite-horizon value is far from a 12-step return
    assert not _within_ci(ret.mean(axis=1), game.value(t1, t2), se_ret)


def test_geometric_termination_returns_the_exact_discounted_value():
    game = games.iterated([[3, 0], [5, 1]], [[3, 5], [0, 1]], "4/5")
    t1, t2 = _point(6)
    ro = rollout(game, t1, t2, BATCH_MC, seed=7, termination="geometric")
    assert ro.kappa == 1.0 and ro.termination == "geometric"
    ret = ro.returns()
    se = ret.std(axis=1, ddof=1) / np.sqrt(BATCH_MC)
    assert _within_ci(ret.mean(axis=1), game.value(t1, t2), se)
    lengths = ro.mask.sum(axis=-1)
    gamma = 0.8
    assert abs(lengths.mean() - 1 / (1 - gamma)) <= Z_MC * lengths.std() / np.sqrt(BATCH_MC)
    assert np.all(ro.rewards[:, ~ro.mask] == 0)
    # the check can fail: discounting the geometric episodes again is rejected
    twice = np.sum(ro.rewards * gamma ** np.arange(ro.horizon), axis=-1)
    assert not _within_ci(twice.mean(axis=1), game.value(t1, t2), se)


def test_geometric_cap_truncates_episodes():
    ro = rollout(games.ipd(), np.zeros(5), np.zeros(5), 500, 5, seed=0, termination="geometric")
    assert ro.horizon <= 5


def test_same_seed_same_output_different_seed_different():
    game, (t1, t2) = games.ipd(), _point(8)
    a = rollout(game, t1, t2, 64, 10, seed=11)
    b = rollout(game, t1, t2, 64, 10, seed=11)
    c = rollout(game, t1, t2, 64, 10, seed=np.random.default_rng(11))
    d = rollout(game, t1, t2, 64, 10, seed=12)
    assert np.array_equal(a.actions, b.actions) and np.array_equal(a.actions, c.actions)
    assert np.array_equal(a.states, b.states)
    assert not np.array_equal(a.actions, d.actions)


def test_leading_axes_are_independent_parameter_pairs():
    game = games.ipd()
    t1 = np.stack([policy("allc"), policy("alld"), np.zeros(5)])
    ro = rollout(game, t1, policy("allc"), 7, 4, seed=0)
    assert ro.states.shape == (2, 3, 7, 4) and ro.lead == (3,) and ro.batch == 7
    assert ro.theta2.shape == (3, 5)
    assert np.all(ro.actions[0, 0] == 0) and np.all(ro.actions[0, 1] == 1)
    assert ro.rewards.shape == (2, 3, 7, 4) and ro.rewards.dtype == np.float64
    assert ro.select(np.array([0, 2])).states.shape == (2, 3, 2, 4)


def test_inputs_are_not_mutated_and_theta_is_copied():
    t1, t2 = np.zeros(5), np.ones(5)
    ro = rollout(games.ipd(), t1, t2, 3, 2, seed=0)
    t1[0] = 5.0
    assert ro.theta1[0] == 0.0 and np.all(t2 == 1.0)


def test_joint_distribution_sums_to_the_closed_form_value():
    game, (t1, t2) = games.imp(), _point(9)
    T = 400                                                  # 0.9^400 ~ 5e-19
    p = joint_distribution(game, t1, t2, T)
    _, _, r = chain(game, t1, t2)
    total = (0.9 ** np.arange(T)) @ (p @ r.T)
    assert np.allclose(total, game.value(t1, t2), rtol=1e-12, atol=1e-12)
    assert np.allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-13)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch=0, horizon=3), ValueError, "batch must be >= 1"),
    (dict(batch=2.5, horizon=3), TypeError, "batch must be an int"),
    (dict(batch=2, horizon=0), ValueError, "horizon must be >= 1"),
    (dict(batch=2), ValueError, "needs a horizon"),
    (dict(batch=2, horizon=3, termination="poisson"), ValueError, "unknown termination"),
    (dict(batch=2, horizon=3, seed=-1), ValueError, "seed must be >= 0"),
    (dict(batch=2, horizon=3, seed="x"), TypeError, "seed must be an int"),
])
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        rollout(games.ipd(), np.zeros(5), np.zeros(5), **kwargs)


def test_bad_parameters_and_games_raise_clear_errors():
    with pytest.raises(ValueError, match="theta1 must have shape"):
        rollout(games.ipd(), np.zeros(4), np.zeros(5), 2, 2)
    with pytest.raises(ValueError, match="theta2 has a non-finite entry"):
        rollout(games.ipd(), np.zeros(5), [0, np.nan, 0, 0, 0], 2, 2)
    with pytest.raises(TypeError, match="iterated 2x2 game"):
        rollout(games.tandem(), np.zeros(5), np.zeros(5), 2, 2)
    with pytest.raises(ValueError, match="broadcast"):
        rollout(games.ipd(), np.zeros((3, 5)), np.zeros((2, 5)), 2, 2)


def test_repr_names_the_sizes():
    ro = rollout(games.ipd(), np.zeros(5), np.zeros(5), 3, 2, seed=0)
    assert isinstance(ro, Rollouts)
    assert "batch=3" in repr(ro) and "T=2" in repr(ro)


# ------------------------------------------------------------------ sizes, time and edge cases
#: wall-clock bound of calls that must be refused or finish at once (they ran > 30 s, or
#: raised MemoryError, before the size checks; generous for shared CI cores)
FAST_SECONDS = 5.0


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    assert time.perf_counter() - t0 < FAST_SECONDS
    return out


def _reference_rollout(p1, p2, batch, horizon, rng, gamma=None):
    """Episode by episode from the same stream: per step one (2, batch) uniform draw, then for
    geometric termination one (batch,) draw. Own states 1 + 2 own + other's action."""
    S, A = np.zeros((2, batch, horizon), np.int8), np.zeros((2, batch, horizon), np.int8)
    M = np.zeros((batch, horizon), bool)
    s, alive = np.zeros((2, batch), int), np.ones(batch, bool)
    for t in range(horizon):
        u = rng.random((2, batch))
        for e in range(batch):
            a = [int(u[i, e] >= (p1, p2)[i][s[i, e]]) for i in (0, 1)]
            S[:, e, t], A[:, e, t], M[e, t] = s[:, e], a, alive[e]
            s[0, e], s[1, e] = 1 + 2 * a[0] + a[1], 1 + 2 * a[1] + a[0]
        if gamma is not None:
            alive &= rng.random(batch) < gamma
    return S, A, M


@pytest.mark.parametrize("termination", ["fixed", "geometric"])
def test_rollout_matches_a_plain_reference_simulation(termination):
    from scipy.special import expit
    game, (t1, t2) = games.ipd(), _point(10)
    ro = rollout(game, t1, t2, 6, 7, seed=3, termination=termination)
    gamma = 0.96 if termination == "geometric" else None
    S, A, M = _reference_rollout(expit(t1), expit(t2), 6, ro.horizon, np.random.default_rng(3),
                                 gamma)
    assert np.array_equal(ro.states, S) and np.array_equal(ro.actions, A)
    assert np.array_equal(ro.mask, M) and ro.states.flags.c_contiguous
    # the check can fail: another seed gives other episodes
    assert not np.array_equal(rollout(game, t1, t2, 6, 7, seed=4).actions, A)


def test_huge_horizons_and_batches_are_refused_at_once_with_the_size():
    game, z = games.ipd(), np.zeros(5)
    with pytest.raises(ValueError, match=r"horizon=1,000,000,000,000 exceeds the limit of "
                                         r"1,000,000 sequential steps"):
        _timed(lambda: rollout(game, z, z, batch=2, horizon=10 ** 12))
    with pytest.raises(ValueError, match=r"would simulate 3e\+12 episode-steps .*smaller batch"):
        _timed(lambda: rollout(game, z, z, batch=10 ** 12, horizon=3))
    with pytest.raises(ValueError, match=r"would hold about 15 GB .*smaller batch"):
        _timed(lambda: rollout(game, np.zeros((10 ** 4, 5)), z, batch=2 * 10 ** 4, horizon=1))
    near_one = games.iterated([[1, 0], [0, 1]], [[1, 0], [0, 1]], "999999/1000000")
    with pytest.raises(ValueError, match="geometric termination .* pass horizon= to cap"):
        _timed(lambda: rollout(near_one, z, z, 10, termination="geometric"))
    with pytest.raises(ValueError, match=r"joint_distribution\(horizon=1,000,000,000\) .* 32 GB"):
        _timed(lambda: joint_distribution(game, z, z, 10 ** 9))


def test_long_exact_horizons_are_fast_and_agree_with_the_closed_form():
    game, (t1, t2) = games.ipd(), _point(11)
    T = 10 ** 6                                              # 0.96^T underflows: V^T = V
    p = _timed(lambda: joint_distribution(game, t1, t2, T))
    _, P, r = chain(game, t1, t2)
    assert np.allclose(p[-1], p[-1] @ P, rtol=0, atol=1e-13)       # stationary by then
    assert np.allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    full = exact_targets(game, t1, t2)
    long = _timed(lambda: exact_targets(game, t1, t2, horizon=T))
    tail = _timed(lambda: truncation_bias(game, t1, t2, 10 ** 12))
    assert np.array_equal(tail.gradient, np.zeros((2, 10)))
    assert np.allclose(long.hessian, full.hessian, rtol=1e-12, atol=0) and long.horizon == T
    # the tail form (repeated squaring) agrees with the forward sum at a horizon where both run
    T = 2000
    tail, summed = (exact_targets(game, t1, t2, T, method=m) for m in ("tail", "sum"))
    assert np.allclose(tail.hessian, summed.hessian, rtol=1e-11, atol=1e-13)
    bias = truncation_bias(game, t1, t2, 300)
    assert np.allclose(bias.gradient, full.gradient - exact_targets(game, t1, t2, 300).gradient,
                       rtol=1e-9, atol=1e-12)
    # the check can fail: the bias of a horizon 1 longer differs
    assert not np.allclose(truncation_bias(game, t1, t2, 301).gradient, bias.gradient,
                           rtol=1e-3, atol=0)
    with pytest.raises(ValueError, match="method='sum' adds .* use method='tail'"):
        exact_targets(game, t1, t2, 10 ** 6, method="sum")


def test_empty_parameter_batches_get_a_clear_error():
    with pytest.raises(ValueError, match=r"leading shape \(0,\), which holds no parameter pair"):
        rollout(games.ipd(), np.zeros((0, 5)), np.zeros(5), batch=2, horizon=3)


def test_target_quantities_validate_eta_and_agent():
    game, (t1, t2) = games.ipd(), _point(12)
    ex = exact_targets(game, t1, t2)
    assert np.array_equal(ex.quantity("lola", 2, eta=0.5),
                          ex.grad(2, 2) + 0.5 * ex.quantity("correction", 2))
    with pytest.raises(ValueError, match=r"eta must lie in \[0, inf\)"):
        ex.quantity("lola", 1, eta=-1.0)
    with pytest.raises(ValueError, match="eta must be finite"):
        ex.quantity("lola", 1, eta=float("nan"))
    with pytest.raises(ValueError, match="overflows double precision .*smaller eta"):
        ex.quantity("lola", 1, eta=1e308)
    with pytest.raises(TypeError, match="agent must be the int 1 or 2"):
        ex.quantity("grad", True)
    with pytest.raises(TypeError, match="agent must be the int 1 or 2"):
        ex.grad(1, 2.0)
    with pytest.raises(ValueError, match="agent must be 1 or 2"):
        ex.cross_hessian(0)
    with pytest.raises(TypeError, match="expected Rollouts"):
        target_for(ex)
    with pytest.raises(ValueError, match="unknown quantity"):
        ex.quantity(["grad"])

