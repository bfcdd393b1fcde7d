"""The coin game (lola_sym.games.coin) against an independent simulator of its rules.

The simulator below is written from the rules as the LOLA paper (Sec. 5.2) and
the module's notes state them, on states ``(red cell, blue cell, coin cell,
coin colour)`` of its own, and reads the policies through the documented row
labels only. From it the tests build the chain by search from the start states
and solve it densely, sample episodes (Monte Carlo within a stated confidence
interval), and sum over every trajectory of short episodes.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from tolerances import Z_MC
from lola_sym import games
from lola_sym.adjoint import at

#: sparse-LU values vs the simulator's dense solve (condition number <= 49: rounding only)
RTOL_DENSE = 1e-12
#: finite-horizon values vs the brute-force sum over trajectories (summation order only)
RTOL_BRUTE = 1e-12

MOVES = ((0, 1), (0, -1), (1, 0), (-1, 0))      # R, L, D, U
RED, BLUE = 0, 1


class Simulator:
    """The coin game's rules, written independently of lola_sym.games.coin."""

    def __init__(self, side=3, share_cells=True, respawn_under_agents=False, both_reach=None,
                 variant="lola", pickup=1.0, penalty=-2.0):
        self.side, self.share, self.under = side, share_cells, respawn_under_agents
        # the documented defaults: a fair split, POLA's "both" in POLA's variant
        self.both = both_reach or ("both" if variant == "pola" else "split")
        self.variant = variant
        self.pickup, self.penalty = pickup, penalty
        self.cells = [(r, c) for r in range(side) for c in range(side)]

    def move(self, cell, m):
        return ((cell[0] + MOVES[m][0]) % self.side, (cell[1] + MOVES[m][1]) % self.side)

    def coin_cells(self, red, blue):
        return [c for c in self.cells if self.under or c not in (red, blue)]

    def start(self):
        """``{state: probability}``."""
        out = {}
        for red in self.cells:
            for blue in self.cells:
                if red == blue and (self.variant == "lola" or not self.share):
                    continue
                free = self.coin_cells(red, blue)
                for coin in free:
                    for colour in (RED, BLUE):
                        out[(red, blue, coin, colour)] = 1.0 / len(free) / 2
        total = sum(out.values())
        return {s: p / total for s, p in out.items()}

    def step(self, state, m1, m2):
        """``[(probability, next state, (reward red, reward blue), (own/other counts))]``."""
        red, blue, coin, colour = state
        red2, blue2 = self.move(red, m1), self.move(blue, m2)
        if not self.share and red2 == blue2:
            red2, blue2 = red, blue
        got_red, got_blue = red2 == coin, blue2 == coin
        share_red, share_blue = float(got_red), float(got_blue)
        if got_red and got_blue:
            share_red, share_blue = {"split": (0.5, 0.5), "red": (1.0, 0.0),
                                     "both": (1.0, 1.0)}[self.both]
        r_red = self.pickup * share_red + (self.penalty * share_blue if colour == RED else 0.0)
        r_blue = self.pickup * share_blue + (self.penalty * share_red if colour == BLUE else 0.0)
        counts = {"own_1": share_red if colour == RED else 0.0,
                  "other_1": share_red if colour == BLUE else 0.0,
                  "own_2": share_blue if colour == BLUE else 0.0,
                  "other_2": share_blue if colour == RED else 0.0}
        if not (got_red or got_blue):
            return [(1.0, (red2, blue2, coin, colour), (r_red, r_blue), counts)]
        free = self.coin_cells(red2, blue2)
        return [(1.0 / len(free), (red2, blue2, c, 1 - colour), (r_red, r_blue), counts)
                for c in free]

    @staticmethod
    def label(state, player):
        red, blue, coin, colour = state
        me, op = (red, blue) if player == RED else (blue, red)
        mine = "mine" if colour == player else "theirs"
        return f"me({me[0]},{me[1]}) op({op[0]},{op[1]}) coin({coin[0]},{coin[1]}) {mine}"


def _logits(game, seed, scale=1.0):
    """One random logit vector per player (different for each player)."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0.0, scale, d) for d in game.dims]


def _policies(game, sim, thetas):
    """``policy(state)`` -> the 4x4 joint move probabilities, through the row labels."""
    tables = game.policy_table(*thetas)
    rows = [{lab: j for j, lab in enumerate(game.state_labels(i + 1))} for i in range(2)]

    def policy(state):
        p1 = tables[0][rows[0][sim.label(state, RED)]]
        p2 = tables[1][rows[1][sim.label(state, BLUE)]]
        return np.outer(p1, p2)
    return policy


def _dense_chain(sim, policy):
    """States reachable from the start, the dense P, expected rewards and counts."""
    start = sim.start()
    index, order, frontier = {}, [], list(start)
    for s in frontier:
        index[s] = len(order)
        order.append(s)
    rows = []
    k = 0
    while k < len(order):
        s = order[k]
        out = []
        for m1, m2 in product(range(4), repeat=2):
            for p, nxt, r, c in sim.step(s, m1, m2):
                if nxt not in index:
                    index[nxt] = len(order)
                    order.append(nxt)
                out.append((m1, m2, p, index[nxt], r, c))
        rows.append(out)
        k += 1
    n = len(order)
    P = np.zeros((n, n))
    r = np.zeros((n, 2))
    counts = {name: np.zeros(n) for name in ("own_1", "other_1", "own_2", "other_2")}
    for i, s in enumerate(order):
        pol = policy(s)
        for m1, m2, p, j, rew, c in rows[i]:
            w = pol[m1, m2] * p
            P[i, j] += w
            r[i] += w * np.array(rew)
            for name in counts:
                counts[name][i] += w * c[name]
    mu = np.zeros(n)
    for s, p in start.items():
        mu[index[s]] = p
    return mu, P, r, counts


OPTIONS = [
    dict(),
    dict(respawn_under_agents=True),
    dict(share_cells=False),
    dict(both_reach="red"),
    dict(variant="pola"),
    dict(variant="pola", both_reach="split", pickup=2, penalty=-1),
]


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items())
                         or "default")
def test_values_and_counts_equal_a_dense_solve_on_the_2x2_board(opts):
    game = games.coin_game(2, **opts)
    sim = Simulator(2, **{k: (float(v) if k in ("pickup", "penalty") else v)
                          for k, v in opts.items()})
    rng = np.random.default_rng(1)
    th = [rng.normal(0, 1.5, d) for d in game.dims]
    mu, P, r, counts = _dense_chain(sim, _policies(game, sim, th))
    M = np.eye(len(mu)) - 0.96 * P
    want = mu @ np.linalg.solve(M, r)
    assert np.allclose(game.value(*th), want, rtol=RTOL_DENSE, atol=RTOL_DENSE * abs(want).max())
    stats = game.statistics(*th)
    for name, c in counts.items():
        assert np.isclose(stats[name], mu @ np.linalg.solve(M, c), rtol=RTOL_DENSE)
    wrong = mu @ np.linalg.solve(M, r[:, ::-1])
    assert not np.allclose(game.value(*th), wrong, rtol=1e-6)     # the check can fail


def test_values_equal_a_dense_solve_on_the_3x3_board():
    game = games.coin_game(3)
    sim = Simulator(3)
    th = _logits(game, 2, 1.0)
    mu, P, r, _ = _dense_chain(sim, _policies(game, sim, th))
    assert len(mu) == game.n_states == 1152
    want = mu @ np.linalg.solve(np.eye(len(mu)) - 0.96 * P, r)
    assert np.allclose(game.value(*th), want, rtol=RTOL_DENSE, atol=RTOL_DENSE * abs(want).max())


def test_monte_carlo_episodes_agree_within_their_confidence_interval():
    """Sampled 12-step episodes of the simulator vs the exact finite-horizon value on the
    2x2 board (coins are picked often there): the discounted return's mean lies within
    Z_MC standard errors, for each agent, and the 6-step value lies outside."""
    T, episodes = 12, 4000
    game = games.coin_game(2, horizon=T)
    sim = Simulator(2)
    th = _logits(game, 3, 1.5)
    policy = _policies(game, sim, th)
    rng = np.random.default_rng(4)
    starts = list(sim.start().items())
    start_p = np.array([p for _, p in starts])
    returns = np.zeros((episodes, 2))
    for e in range(episodes):
        state = starts[rng.choice(len(starts), p=start_p)][0]
        for t in range(T):
            joint = policy(state).ravel()
            a = rng.choice(16, p=joint / joint.sum())
            outs = sim.step(state, a // 4, a % 4)
            p, state, rew, _ = outs[rng.choice(len(outs), p=[o[0] for o in outs])]
            returns[e] += 0.96 ** t * np.array(rew)
    exact = game.value(*th)
    se = returns.std(axis=0, ddof=1) / np.sqrt(episodes)
    assert (np.abs(returns.mean(axis=0) - exact) <= Z_MC * se).all()
    wrong = games.coin_game(2, horizon=T // 2).value(*th)      # the check can fail
    assert (np.abs(returns.mean(axis=0) - wrong) > Z_MC * se).any()


def test_finite_horizon_equals_the_sum_over_every_trajectory():
    """Two steps on the 2x2 board: every start, joint move and respawn, enumerated."""
    T = 2
    game = games.coin_game(2, horizon=T, both_reach="both")
    sim = Simulator(2, both_reach="both")
    th = _logits(game, 5, 1.5)
    policy = _policies(game, sim, th)

    def paths(state, t):
        if t == T:
            yield 1.0, np.zeros(2)
            return
        joint = policy(state)
        for m1, m2 in product(range(4), repeat=2):
            for p, nxt, rew, _ in sim.step(state, m1, m2):
                for q, ret in paths(nxt, t + 1):
                    yield joint[m1, m2] * p * q, 0.96 ** t * np.array(rew) + ret

    want = sum(p0 * p * ret for s, p0 in sim.start().items() for p, ret in paths(s, 0))
    assert np.allclose(game.value(*th), want, rtol=RTOL_BRUTE, atol=RTOL_BRUTE)
    assert np.allclose(at(game, *th).values, want, rtol=RTOL_BRUTE, atol=RTOL_BRUTE)


# ----------------------------------------------------------------- the game itself
@pytest.mark.parametrize("opts, states", [
    (dict(), 1152), (dict(respawn_under_agents=True), 1458), (dict(share_cells=False), 1008)])
def test_state_counts(opts, states):
    g = games.coin_game(3, **opts)
    assert g.n_states == states and g.dims == (3 * states, 3 * states)
    assert g.spec()["construction"]["coin_game"]["side"] == 3


def test_swapping_the_agents_swaps_the_values_of_the_symmetric_rules():
    for rule in ("split", "both"):
        g = games.coin_game(2, both_reach=rule)
        t1, t2 = _logits(g, 6, 1)
        np.testing.assert_allclose(g.value(t2, t1), g.value(t1, t2)[::-1], rtol=1e-13)
    g = games.coin_game(2, both_reach="red")
    t1, t2 = _logits(g, 6, 1)
    assert not np.allclose(g.value(t2, t1), g.value(t1, t2)[::-1], rtol=1e-6)


def test_a_fair_split_has_the_values_of_a_fair_coin_flip():
    """V_split = (V_red-first + V_blue-first) / 2, blue-first being red-first with the agents
    swapped: the respawn does not depend on who picked the coin."""
    split, red = games.coin_game(2), games.coin_game(2, both_reach="red")
    t1, t2 = _logits(split, 7, 1)
    flip = (red.value(t1, t2) + red.value(t2, t1)[::-1]) / 2
    np.testing.assert_allclose(split.value(t1, t2), flip, rtol=1e-13)


def test_rewards_are_the_coins_picked_minus_twice_the_coins_taken_from_the_other():
    """V_1 + V_2 = (all coins picked) - 2 (coins of the other's colour picked), at any
    policy; uniform play picks both colours alike, so it sums to zero."""
    g = games.coin_game(3)
    for th in ([np.zeros(d) for d in g.dims],
               _logits(g, 8, 1)):
        s = g.statistics(*th)
        np.testing.assert_allclose(g.value(*th).sum(),
                                   sum(s.values()) - 2 * (s["other_1"] + s["other_2"]),
                                   rtol=1e-12, atol=1e-12)
    s = g.statistics(*[np.zeros(d) for d in g.dims])
    assert np.isclose(s["own_1"], s["other_1"]) and np.isclose(s["own_1"], s["own_2"])
    assert abs(g.value(*[np.zeros(d) for d in g.dims]).sum()) < 1e-12


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(side=1), ValueError, "side must be >= 2"),
    (dict(side=6), ValueError, "side must be 2..5"),
    (dict(variant="open_spiel"), ValueError, "variant must be one of"),
    (dict(both_reach="blue"), ValueError, "both_reach must be one of"),
    (dict(variant="pola", share_cells=False), ValueError, "needs share_cells=True"),
    (dict(share_cells=1), TypeError, "share_cells must be a bool"),
    (dict(gamma=1.0), ValueError, "gamma must lie in the open interval"),
])
def test_bad_options_are_refused_clearly(kwargs, error, match):
    with pytest.raises(error, match=match):
        games.coin_game(**kwargs)


# ------------------------------------------------------------ the reproduction
def test_the_reduced_reproduction_runs_and_reports(tmp_path):
    from lola_sym.report.coin_game import PAPER_CLAIM, REDUCED, coin_game_reproduction
    seen = []
    res = coin_game_reproduction(side=2, seed=3, progress=lambda d, t: seen.append((d, t)),
                                 **REDUCED)
    steps = REDUCED["steps"]
    assert seen == [(k, 2 * steps) for k in range(1, 2 * steps + 1)]
    assert res.steps.tolist() == list(range(0, steps + 1, REDUCED["record_every"]))
    for label in ("NL-Ex", "LOLA-Ex"):
        assert res.own_fraction[label].shape == (REDUCED["runs"], len(res.steps), 2)
        # the start is the same for both settings, and symmetric-in-law: about 1/2 each
        np.testing.assert_array_equal(res.own_fraction[label][:, 0],
                                      res.own_fraction["NL-Ex"][:, 0])
    table = res.format_table()
    assert all(claim in table for claim in PAPER_CLAIM.values())
    res.figure(tmp_path / "coin.png")
    assert (tmp_path / "coin.png").stat().st_size > 10_000
    again = coin_game_reproduction(side=2, seed=3, **REDUCED)
    np.testing.assert_array_equal(again.reward["LOLA-Ex"], res.reward["LOLA-Ex"])
    assert res.as_dict()["rows"][0]["setting"] == "NL-Ex"


def test_the_reproduction_refuses_bad_settings():
    from lola_sym.report.coin_game import coin_game_reproduction
    with pytest.raises(ValueError, match="settings must be some of"):
        coin_game_reproduction(settings=("POLA",))
    with pytest.raises(TypeError, match="progress must be callable"):
        coin_game_reproduction(progress=1)
    with pytest.raises(ValueError, match="delta must be > 0"):
        coin_game_reproduction(delta=0.0)


@pytest.mark.slow
def test_the_papers_claim_holds_on_the_3x3_board():
    """Sec. 5.2: NL picks up any coin (own-colour fraction near 1/2), LOLA mostly its own,
    with a higher reward; a few runs at the report's defaults, 120 updates."""
    from lola_sym.report.coin_game import coin_game_reproduction
    res = coin_game_reproduction(runs=3, steps=120, record_every=40)
    rows = {r["setting"]: r for r in res.rows()}
    assert abs(rows["NL-Ex"]["own_both"] - 0.5) < 0.05
    assert rows["LOLA-Ex"]["own_both"] > 0.75
    assert rows["LOLA-Ex"]["r_1"] > rows["NL-Ex"]["r_1"] + 0.1


def test_training_reports_the_finite_horizon_average_reward():
    """train's reward on a finite-horizon game is the game's own average reward per step
    (V (1 - gamma) / (1 - gamma^T)), not (1 - gamma) V."""
    import numpy as np
    import lola_sym as ls
    game = ls.games.coin_game(2).with_horizon(4)
    tr = ls.train(game, "nl", "nl", runs=2, steps=1, delta=0.1, seed=0)
    final = [t[-1] for t in tr.thetas]
    np.testing.assert_allclose(tr.reward[-1], game.average_reward(*final), rtol=1e-12)
    g = float(game.gamma)
    assert not np.allclose(tr.reward[-1], (1 - g) * game.value(*final))   # the two differ
