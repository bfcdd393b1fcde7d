"""The sampling layer on the general repeated games: memory-2 IPD, iterated RPS, 3-player game.

Every exact target is checked two independent ways: against the compiled value
program and NL field of the core (``game.value``, ``update_field(game, "nl")``),
and against an independent chain written here from the public policy table
(``game.policy_table``) and state labels (``game.state_labels``), solved with
numpy and differentiated by complex steps. Monte-Carlo returns and estimator
means are compared with the exact values within Z_MC standard errors (fixed
seeds), and every check is shown able to fail.
"""

import itertools

import numpy as np
import pytest

from lola_sym import games, update_field
from lola_sym.sampling import markov
from lola_sym.sampling.estimators import dice, estimate, lola_pg_hessian
from lola_sym.sampling.memory_one import long_run_reward, to_axelrod_game
from lola_sym.sampling.opponent_model import model_opponent, train_om, train_pg
from lola_sym.sampling.rollouts import chain, joint_distribution, rollout, target_for
from lola_sym.sampling.targets import Targets, exact_targets, max_sum_horizon, truncation_bias
from lola_sym.sampling.verify import bias_variance, check_gradient
from tolerances import EPS, Z_MC

#: closed-form targets (float linear algebra) vs the compiled core: rounding only
RTOL_TARGETS = 1e3 * EPS
#: targets vs the independent chain: values and complex-step gradients (no cancellation)
RTOL_INDEPENDENT = 1e-11
#: cross-Hessian entries vs central differences (step 1e-5) of complex-step gradients
RTOL_FD_HESSIAN = 1e-6
FD_STEP = 1e-5
#: episodes of the Monte-Carlo checks
BATCH_MC = 20_000
#: an estimate's entry is compared within its confidence interval when at least this many
#: episodes visit its state(s): means of rarer events are far from normal (measured on the
#: memory-2 IPD: |z| up to 17.6 on a Hessian entry whose states met in 3 of 20,000 episodes;
#: with this support mean z^2 is 0.75-1.18 and max |z| 2.1-4.3 over five seeds and 3 games)
MIN_SUPPORT = 1000

GAMES = {
    "ipd_memory2": games.ipd_memory2,
    "rps": games.rps,
    "contribution3": lambda: games.contribution(3, "1.5"),
}


def _point(game, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return [scale * rng.normal(size=d) for d in game.dims]


def _rel(got, want):
    return np.max(np.abs(got - want)) / np.max(np.abs(want))


def _within_ci(mean, want, se):
    return bool(np.all(np.abs(mean - want) <= Z_MC * se))


# ------------------------------------------------------------------ an independent chain
def _own_label(game, player, history, own_view=True):
    """Label of an agent-1-first history as ``player`` (0-based) reads it (own action first)."""
    if not history:
        return "s0"
    n = game.n_players
    order = [(player + k) % n for k in range(n)] if own_view else list(range(n))

    def joint(a):
        parts = [game.labels[p][a[p]] for p in order]
        return "".join(parts) if all(len(x) == 1 for x in parts) else "/".join(parts)
    return ",".join(joint(a) for a in history)


def _policies(game, thetas):
    """Per player (states, k) probabilities from the logits, written out (complex-safe)."""
    out = []
    for th, k in zip(thetas, game.actions):
        x = np.asarray(th).reshape(-1, k - 1)
        e = np.concatenate([np.exp(x), np.ones((len(x), 1))], axis=1)   # last action: logit 0
        out.append(e / e.sum(axis=1, keepdims=True))
    return out


def reference(game, thetas, horizon=None, own_view=True):
    """Values of every player: a forward sum over histories to ``horizon``, or (None) the
    infinite sum as the first ``m`` steps plus a linear solve over the m-step histories."""
    n, m, gamma = game.n_players, game.memory, float(game.gamma)
    tables = _policies(game, thetas)
    index = [{lab: s for s, lab in enumerate(game.state_labels(i + 1))} for i in range(n)]
    joints = list(itertools.product(*(range(k) for k in game.actions)))
    R = [np.array(game.payoff_array(i + 1), dtype=float) for i in range(n)]

    def prob(history, a):
        h = history[len(history) - m:] if m else ()
        w = 1.0
        for i in range(n):
            w = w * tables[i][index[i][_own_label(game, i, h, own_view)], a[i]]
        return w

    def step(dist):
        new, reward = {}, np.zeros(n, dtype=complex)
        for h, w in dist.items():
            for a in joints:
                q = w * prob(h, a)
                reward = reward + q * np.array([Ri[a] for Ri in R])
                h2 = (h + (a,))[len(h) + 1 - m:] if m else ()
                new[h2] = new.get(h2, 0.0) + q
        return new, reward

    dist, total = {(): 1.0}, np.zeros(n, dtype=complex)
    steps = m if horizon is None else horizon
    for t in range(steps):
        dist, reward = step(dist)
        total = total + gamma ** t * reward
    if horizon is not None:
        return total
    full = list(itertools.product(joints, repeat=m))
    pos = {h: j for j, h in enumerate(full)}
    P = np.zeros((len(full), len(full)), dtype=complex)
    c = np.zeros((len(full), n), dtype=complex)
    for h in full:
        new, reward = step({h: 1.0})
        c[pos[h]] = reward
        for h2, w in new.items():
            P[pos[h], pos[h2]] += w
    q = np.array([dist.get(h, 0.0) for h in full], dtype=complex)
    return total + gamma ** m * (q @ np.linalg.solve(np.eye(len(full)) - gamma * P, c))


def complex_step_gradient(game, thetas, horizon, h=1e-30):
    """d V_i / d (all logits) of :func:`reference` by complex steps, shape (n, D)."""
    flat = np.concatenate(thetas).astype(complex)
    cuts = np.cumsum(game.dims)[:-1]
    out = []
    for k in range(len(flat)):
        x = flat.copy()
        x[k] += 1j * h
        out.append(reference(game, np.split(x, cuts), horizon).imag / h)
    return np.array(out).T


@pytest.fixture(scope="module", params=sorted(GAMES))
def game(request):
    return GAMES[request.param]()


def test_the_reference_chain_reads_the_public_policy_table(game):
    th = _point(game, 0)
    for mine, table in zip(_policies(game, th), game.policy_table(*th)):
        assert np.allclose(mine, table, rtol=10 * EPS, atol=0)
    _, probs = markov.policy_probabilities(game, th)     # what the simulator draws from
    for p, table in zip(probs, game.policy_table(*th)):
        assert np.allclose(p, table, rtol=10 * EPS, atol=EPS)


# ------------------------------------------------------------------ exact targets
def test_exact_targets_match_the_compiled_value_and_nl_field(game):
    th = _point(game, 1, 1.5)
    ex = exact_targets(game, *th)
    assert ex.value.shape == (game.n_players,) and ex.hessian.shape == (game.n_players,) + (
        sum(game.dims),) * 2
    assert _rel(ex.value, game.value(*th)) < RTOL_TARGETS
    nl = update_field(game, "nl")(*th)
    for i in range(game.n_players):
        assert _rel(ex.grad(i + 1, i + 1), nl[i]) < RTOL_TARGETS
    # the check can fail: another player's gradient is not this one's
    assert _rel(ex.grad(2, 1), nl[0]) > 1e-3


def test_infinite_and_truncated_targets_match_an_independent_chain(game):
    th = _point(game, 2)
    assert _rel(exact_targets(game, *th).value, reference(game, th).real) < RTOL_INDEPENDENT
    T = 4
    ex = exact_targets(game, *th, horizon=T)
    assert ex.horizon == T
    assert _rel(ex.value, reference(game, th, T).real) < RTOL_INDEPENDENT
    grad = complex_step_gradient(game, th, T)
    assert _rel(ex.gradient, grad) < RTOL_INDEPENDENT
    # cross-Hessian entries: central differences of the complex-step gradient
    rng = np.random.default_rng(3)
    flat, cuts = np.concatenate(th), np.cumsum(game.dims)[:-1]
    first = slice(0, game.dims[0])
    for b in rng.choice(np.arange(game.dims[0], len(flat)), 2, replace=False):
        e = np.zeros(len(flat))
        e[b] = FD_STEP
        diff = [complex_step_gradient(game, np.split(flat + s * e, cuts), T)[:, first]
                for s in (1, -1)]
        fd = (diff[0] - diff[1]) / (2 * FD_STEP)                   # (n, d_1): d/d theta_b
        assert np.allclose(ex.hessian[:, first, b], fd, rtol=RTOL_FD_HESSIAN,
                           atol=RTOL_FD_HESSIAN * np.max(np.abs(ex.hessian)))
    # the check can fail: states read agent-1-first (not own perspective) give other values
    assert _rel(ex.value, reference(game, th, T, own_view=False).real) > 1e-3


def test_tail_and_sum_forms_and_the_truncation_bias_agree(game):
    th = _point(game, 4)
    T = 30
    tail = exact_targets(game, *th, horizon=T, method="tail")
    summed = exact_targets(game, *th, horizon=T, method="sum")
    assert _rel(tail.hessian, summed.hessian) < 1e-10 and _rel(tail.gradient, summed.gradient) < 1e-10
    bias = truncation_bias(game, *th, T)
    full = exact_targets(game, *th)
    assert np.allclose(bias.gradient, full.gradient - summed.gradient, rtol=1e-9,
                       atol=1e-12 * np.max(np.abs(full.gradient)))
    # the check can fail: a different horizon has a different bias
    assert _rel(truncation_bias(game, *th, T + 1).gradient, bias.gradient) > 1e-3


def test_the_chain_is_stochastic_and_its_joint_distribution_sums_to_the_value(game):
    th = _point(game, 5)
    p0, P, r = chain(game, *th)
    assert np.allclose(P.sum(axis=-1), 1.0, rtol=0, atol=10 * EPS) and np.isclose(p0.sum(), 1.0)
    T = 400 if float(game.gamma) < 0.95 else 1000
    p = joint_distribution(game, *th, T)                    # (T, J) over joint actions
    payoff = np.stack([np.array(game.payoff_array(i + 1), dtype=float).ravel()
                       for i in range(game.n_players)])
    total = (float(game.gamma) ** np.arange(T)) @ (p @ payoff.T)
    assert np.allclose(total, game.value(*th), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ Monte Carlo
def test_rollout_states_are_the_own_perspective_histories(game):
    th = _point(game, 6)
    ro = rollout(game, *th, batch=30, horizon=5, seed=0)
    joints = list(itertools.product(*(range(k) for k in game.actions)))
    m = game.memory
    for i in range(game.n_players):
        index = {lab: s for s, lab in enumerate(game.state_labels(i + 1))}
        for e in range(ro.batch):
            history = ()
            for t in range(ro.horizon):
                want = index[_own_label(game, i, history[len(history) - m:] if m else ())]
                assert ro.states[i, e, t] == want
                a = tuple(int(ro.actions[p, e, t]) for p in range(game.n_players))
                assert a in joints
                history += (a,)


def test_monte_carlo_returns_match_the_exact_values(game):
    th = _point(game, 7)
    T = 6
    ro = rollout(game, *th, batch=BATCH_MC, horizon=T, seed=8)
    ret = ro.returns()
    se = ret.std(axis=1, ddof=1) / np.sqrt(BATCH_MC)
    exact = exact_targets(game, *th, horizon=T).value
    assert _within_ci(ret.mean(axis=1), exact, se)
    # the check can fail: the infinite-horizon value is not what 6-step episodes return
    assert not _within_ci(ret.mean(axis=1), game.value(*th), se)
    geo = rollout(game, *th, batch=BATCH_MC, seed=9, termination="geometric")
    g = geo.returns()
    assert _within_ci(g.mean(axis=1), game.value(*th), g.std(axis=1, ddof=1) / np.sqrt(BATCH_MC))


def test_joint_action_frequencies_match_the_exact_distribution(game):
    th = _point(game, 10)
    T = 5
    ro = rollout(game, *th, batch=BATCH_MC, horizon=T, seed=11)
    p = joint_distribution(game, *th, T)
    J = p.shape[-1]
    freq = np.stack([(ro.joint_actions == j).mean(axis=0) for j in range(J)], axis=-1)
    se = np.sqrt(p * (1 - p) / BATCH_MC)
    assert np.all(np.abs(freq - p) <= Z_MC * se + 1e-12)
    # the check can fail: other policies give another distribution
    other = joint_distribution(game, *_point(game, 12), T)
    assert not np.all(np.abs(freq - other) <= Z_MC * se + 1e-12)


def _visited(ro, player) -> np.ndarray:
    """(batch, d) 0/1: whether each episode visits the state of each of ``player``'s logits."""
    k = ro.game.actions[player - 1]
    S = ro.game.dims[player - 1] // (k - 1)
    seen = (ro.states[player - 1][..., None] == np.arange(S)).any(axis=-2)
    return np.repeat(seen, k - 1, axis=-1).astype(float)


def _supported_within_ci(est, want, support, coverage):
    """Entries with support >= MIN_SUPPORT lie within Z_MC standard errors; enough are tested."""
    ok = support >= MIN_SUPPORT
    assert ok.mean() >= coverage, f"only {ok.mean():.0%} of the entries are tested"
    return _within_ci(est.value[ok], want[ok], est.stderr[ok])


@pytest.fixture(scope="module")
def batches():
    out = {}
    for name, make in GAMES.items():
        g = make()
        ro = rollout(g, *_point(g, 13), batch=BATCH_MC, horizon=5, seed=14)
        out[name] = (ro, target_for(ro))
    return out


@pytest.mark.parametrize("name", sorted(GAMES))
def test_estimators_are_unbiased_on_general_games(batches, name):
    ro, tg = batches[name]
    n = ro.n_players
    seen = [_visited(ro, p) for p in range(1, n + 1)]
    for agent in range(1, n + 1):
        for est in ("reinforce_baseline", "dice_baseline", "lola_pg"):
            e = estimate(ro, "grad", est, agent)
            assert _supported_within_ci(e, tg.quantity("grad", agent), seen[agent - 1].sum(0),
                                        0.99), (agent, est)
    opp = 2
    pairs = seen[0].T @ seen[1]
    for est in ("lola_pg", "dice_baseline"):
        e = estimate(ro, "cross", est, 1, opponent=opp)
        assert _supported_within_ci(e, tg.quantity("cross", 1, opponent=opp),
                                    seen[1].sum(0), 0.99)
        h = estimate(ro, "hessian", est, 1, opponent=opp)
        assert h.value.shape == (ro.thetas[0].shape[-1], ro.thetas[1].shape[-1])
        assert _supported_within_ci(h, tg.quantity("hessian", 1, opponent=opp), pairs, 0.25)
    # the check can fail: the infinite-horizon gradient is not the 5-step target
    full = exact_targets(ro.game, *ro.thetas)
    e = estimate(ro, "grad", "dice_baseline", 1)
    assert not _supported_within_ci(e, full.quantity("grad", 1), seen[0].sum(0), 0.99)


def test_nplayer_second_order_estimates_and_the_lola_direction():
    ro, tg = _three_player_batch()
    # the LOLA-PG and DiCE estimates of grad_2 grad_3 V_1 (players other than 1 and 2)
    h = lola_pg_hessian(ro, of=1, players=(2, 3))
    pairs = _visited(ro, 2).T @ _visited(ro, 3)
    assert _supported_within_ci(h, tg.hessian_block(1, 2, 3), pairs, 0.5)
    d2, d3, dh = dice(ro, of=1, players=(2, 3))
    assert np.allclose(dh.value, h.value, rtol=1e3 * EPS, atol=0)      # no baseline: identical
    assert _supported_within_ci(d3, tg.grad(1, 3), _visited(ro, 3).sum(0), 0.99)
    # the check can fail: grad_2 grad_3 V_2 is another target
    assert not _supported_within_ci(h, tg.hessian_block(2, 2, 3), pairs, 0.5)
    # the n-player LOLA direction is the own gradient plus eta times the sum over opponents
    own = estimate(ro, "grad", "lola_pg", 1).value
    terms = [estimate(ro, "hessian", "lola_pg", 1, opponent=j).value
             @ estimate(ro, "cross", "lola_pg", 1, opponent=j).value for j in (2, 3)]
    lola = estimate(ro, "lola", "lola_pg", 1, eta=0.5).value
    assert np.allclose(lola, own + 0.5 * (terms[0] + terms[1]), rtol=1e-12, atol=0)
    one = estimate(ro, "correction", "lola_pg", 1, opponent=3).value
    assert np.allclose(one, terms[1], rtol=1e-12, atol=0)
    # the exact target of the same composition is the n-player LOLA (Letcher et al. 2019)
    want = tg.grad(1, 1) + 0.5 * sum(tg.hessian_block(j, 1, j) @ tg.grad(1, j) for j in (2, 3))
    assert np.allclose(tg.quantity("lola", 1, eta=0.5), want, rtol=1e-13, atol=0)


def _three_player_batch():
    g = games.contribution(3, "1.5")
    ro = rollout(g, *_point(g, 15), batch=BATCH_MC, horizon=4, seed=16)
    return ro, target_for(ro)


def test_the_value_critic_on_memory_two_starts_at_the_truncated_value():
    g = games.ipd_memory2()
    th = _point(g, 17)
    ro = rollout(g, *th, batch=40, horizon=7, seed=0)
    from lola_sym.sampling.estimators import baseline_values
    b = baseline_values(ro, 2, "value")
    assert np.allclose(b[:, 0], exact_targets(g, *th, horizon=7).value[1], rtol=1e-12)
    # at the last step the critic is the expected reward given the last two joint actions
    p0, P, r = chain(g, *th)
    sh = markov.chain_shape(g)
    states = sh.state_to_chain[ro.states[0][:, -1]]
    assert np.all(states >= 0) and np.allclose(b[:, -1], (P @ r[1])[states], rtol=1e-12)
    geo = rollout(g, *th, batch=30, seed=0, termination="geometric")
    assert np.allclose(baseline_values(geo, 1, "value")[:, 0], g.value(*th)[0], rtol=1e-12)
    # and it reduces the variance of REINFORCE without moving its mean
    big = rollout(g, *th, batch=4000, horizon=7, seed=1)
    plain, critic = (estimate(big, "grad", "reinforce", 1, baseline=b_) for b_ in (None, "value"))
    assert np.mean(critic.stderr) < 0.5 * np.mean(plain.stderr)


def test_memory_zero_has_one_state_and_a_constant_joint_distribution():
    g = games.rps(memory=0)
    th = _point(g, 18)
    ro = rollout(g, *th, batch=100, horizon=6, seed=0)
    assert np.all(ro.states == 0)
    p = joint_distribution(g, *th, 5)
    t1, t2 = g.policy_table(*th)
    assert np.allclose(p, np.outer(t1[0], t2[0]).ravel(), rtol=1e-14, atol=1e-16)
    assert _rel(exact_targets(g, *th).value, g.value(*th)) < RTOL_TARGETS


def test_players_with_different_numbers_of_actions():
    """A 2x3 game: a sigmoid player against a softmax player, drawn and differentiated apart."""
    g = games.repeated([[[1, 0, 2], [0, 3, 1]], [[0, 2, 1], [3, 0, 2]]], "4/5")
    th = _point(g, 23)
    assert g.dims == (7, 14)
    ex = exact_targets(g, *th)
    assert _rel(ex.value, g.value(*th)) < RTOL_TARGETS
    assert _rel(exact_targets(g, *th, horizon=4).gradient,
                complex_step_gradient(g, th, 4)) < RTOL_INDEPENDENT
    geo = rollout(g, *th, batch=BATCH_MC, seed=5, termination="geometric")
    r = geo.returns()
    assert _within_ci(r.mean(axis=1), ex.value, r.std(axis=1, ddof=1) / np.sqrt(BATCH_MC))
    assert [s.shape[-1] for s in geo.scores] == [7, 14]
    f = update_field(g, "nl")
    report = check_gradient(lambda a, b: (f(a, b)[0], -f(a, b)[1]), g, points=2)
    assert report.expected.shape == (2, 2, 14) and set(report.states_differing()) == {2}
    assert report.hints == ("agent 2's gradient has the wrong sign: values are rewards, "
                            "maximised",)


# ------------------------------------------------------------------ checks, models, training
def test_check_gradient_on_rps_and_three_players():
    g = games.rps()
    nl = update_field(g, "nl")
    assert check_gradient(lambda a, b: nl(a, b), g, points=3).passed
    # player 2's vector indexed in player 1's state order: named, with the perspective hint
    from lola_sym.sampling.gradient_check import _perspective
    q = _perspective(markov.chain_shape(g), 1, 0)
    inv = np.argsort(q)
    report = check_gradient(lambda a, b: (nl(a, b)[0], nl(a, b)[1][inv]), g, points=3)
    assert not report.passed and set(report.states_differing()) == {2}
    assert any("read from the agent's own perspective" in h for h in report.hints), str(report)
    c = games.contribution(3, "1.5")
    f = update_field(c, "nl")
    assert check_gradient(lambda *t: f(*t), c, points=2).agents == (1, 2, 3)
    swapped = check_gradient(lambda *t: tuple(f(*t)[i] for i in (1, 2, 0)), c, points=2)
    assert not swapped.passed and any("wrong order" in h for h in swapped.hints)


def test_opponent_models_recover_softmax_and_three_player_policies():
    g = games.rps()
    th = _point(g, 19, 0.5)
    ro = rollout(g, *th, batch=8000, horizon=10, seed=2)
    m = model_opponent(ro, agent=2)
    assert m.theta.shape == (20,) and m.counts.shape == (10, 3)
    lo, hi = m.interval(0.9999, "wald")
    assert np.all((lo < th[1]) & (th[1] < hi))
    lo_b, hi_b = m.interval(0.9999, "beta")
    assert np.all((lo_b < th[1]) & (th[1] < hi_b))
    assert np.allclose(m.policy.sum(axis=-1), 1.0)
    # the check can fail: player 1's policy is not player 2's
    assert not np.all((lo < th[0]) & (th[0] < hi))
    c = games.contribution(3, "1.5")
    tc = _point(c, 20, 0.5)
    mc = model_opponent(rollout(c, *tc, batch=8000, horizon=10, seed=3), agent=3)
    lo, hi = mc.interval(0.9999, "wald")
    assert np.all((lo < tc[2]) & (tc[2] < hi))


def test_lola_om_and_lola_pg_steps_on_three_players_replay_exactly():
    c = games.contribution(3, "1.5")
    kw = dict(runs=2, steps=1, batch=30, horizon=6, seed=4)
    tr = train_om(c, "nl", **kw)
    f = update_field(c, "nl")
    assert len(tr.thetas) == 3 and tr.reward.shape == (2, 2, 3) and tr.models[0].shape == (1, 2, 9)
    for i in range(3):
        pts = [tr.thetas[i][0] if j == i else tr.models[j][0] for j in range(3)]
        assert np.allclose(tr.thetas[i][1], tr.thetas[i][0] + f(*pts)[i], rtol=0, atol=1e-12)
    assert np.allclose(tr.reward, c.average_reward(*tr.thetas), rtol=1e-14)
    pg = train_pg(c, "lola", estimator="lola_pg", **kw)
    rng = np.random.default_rng(4)
    t0 = [rng.normal(size=(2, d)) for d in c.dims]
    ro = rollout(c, *t0, 30, 6, seed=rng)
    for i in range(3):
        g_i = estimate(ro, "lola", "lola_pg", i + 1).value
        assert np.allclose(pg.thetas[i][1], t0[i] + g_i, rtol=0, atol=1e-12)
    with pytest.raises(AttributeError, match="two-player"):
        pg.theta1
    with pytest.raises(ValueError, match="2x2 memory-1"):
        pg.tft


def test_bias_variance_on_rps():
    g = games.rps()
    th = _point(g, 21)
    bv = bias_variance(g, *th, estimators=["reinforce_baseline", "dice_baseline"],
                       batch_sizes=[60], horizons=[3], replicates=30, seed=0)
    assert bv.mean.shape == (2, 1, 1, 20)
    assert np.all(np.abs(bv.bias) <= Z_MC * bv.stderr)
    assert not np.all(np.abs(bv.mean - bv.exact) <= Z_MC * bv.stderr)   # truncation bias


# ------------------------------------------------------------------ refusals
def test_modules_that_need_two_by_two_memory_one_say_so():
    z = np.zeros(5)
    with pytest.raises(ValueError, match="2x2 memory-1 games only .*iterated RPS"):
        long_run_reward(z, z, games.rps())
    with pytest.raises(ValueError, match="2x2 memory-1 games only .*memory 2"):
        to_axelrod_game(games.ipd_memory2())
    # a RepeatedGame of the 2x2 memory-1 shape is accepted and gives the IteratedGame's numbers
    assert np.allclose(long_run_reward(z, z, games.ipd().as_repeated()),
                       long_run_reward(z, z, games.ipd()), rtol=0, atol=0)


def test_bad_games_players_and_opponents_are_refused_clearly():
    with pytest.raises(ValueError, match=r"has the symbols .*sampling needs numbers; use "
                                         r"game\.substitute"):
        rollout(games.ipd(symbolic=True), np.zeros(5), np.zeros(5), 2, 2)
    c = games.contribution(3, "1.5")
    th = _point(c, 0)
    with pytest.raises(TypeError, match="one logit array per player: .* 3 players, got 2"):
        rollout(c, th[0], th[1], batch=2, horizon=2)
    ro = rollout(c, *th, batch=4, horizon=3, seed=0)
    with pytest.raises(ValueError, match="in a 3-player game 'cross' needs opponent="):
        estimate(ro, "cross")
    with pytest.raises(ValueError, match="opponent must differ from agent"):
        estimate(ro, "hessian", "dice", 2, opponent=2)
    with pytest.raises(ValueError, match="agent must be 1..3, got 4"):
        estimate(ro, "grad", agent=4)
    with pytest.raises(ValueError, match="'lola' involves every opponent"):
        exact_targets(c, *th).quantity("lola", 1, opponent=2)
    with pytest.raises(ValueError, match="two distinct players"):
        lola_pg_hessian(ro, players=(2, 2))
    with pytest.raises(ValueError, match="one point"):
        exact_targets(c, *[np.zeros((2, d)) for d in c.dims])
    with pytest.raises(ValueError, match="prior must be 3 pseudo-counts"):
        model_opponent(rollout(games.rps(), *_point(games.rps(), 0), 2, 2), prior=(1, 1))
    assert isinstance(exact_targets(c, *th), Targets)


def test_large_chains_refuse_the_tail_form_and_bound_the_sum():
    big = games.contribution(5, 3)
    th = _point(big, 0)
    with pytest.raises(ValueError, match="method='tail' is not available .*dense second"):
        exact_targets(big, *th, horizon=2000, method="tail")
    limit = max_sum_horizon(big)
    assert 100 < limit < 10_000
    with pytest.raises(ValueError, match=f"limit {limit:,}"):
        exact_targets(big, *th, horizon=limit + 1)
    ex = exact_targets(big, *th, horizon=3)
    assert ex.gradient.shape == (5, sum(big.dims))
    assert _rel(ex.value, reference(big, th, 3).real) < RTOL_INDEPENDENT


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GAMES))
def test_lola_targets_match_the_compiled_lola_field(name):
    """The n-player LOLA quantity against the core's compiled LOLA field (slow to derive)."""
    g = GAMES[name]()
    th = _point(g, 22)
    ex = exact_targets(g, *th)
    lola = update_field(g, "lola", eta=0.7)(*th)
    for i in range(g.n_players):
        assert _rel(ex.quantity("lola", i + 1, eta=0.7), lola[i]) < RTOL_TARGETS
