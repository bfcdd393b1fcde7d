r"""Batched Monte-Carlo rollouts of any finite Markov game, with sparse score functions.

Many episodes of a :class:`~lola_sym.games.markov.MarkovGame` (the coin game,
or any game built by :func:`lola_sym.games.markov.markov`) are simulated at
once with numpy from a seeded ``numpy.random.Generator``. An episode starts in
a state drawn from :math:`\mu_0`; every step each player ``i`` draws its action
from its tabular softmax policy in the row ``views[i][s]`` of the current
state, the joint action (C order) earns the rewards :math:`R(s, a)` and moves
the episode to a successor drawn from :math:`T(\cdot \mid s, a)`; a successor
that is a chance node is resolved at once, within the same step, by a draw from
its distribution :math:`C(\cdot \mid z)` (no reward, no discount, as in the
exact values of :mod:`lola_sym.games.markov`). Episodes have ``T`` steps; the
estimators weight step ``t`` by :math:`\gamma^t`, so they target the
finite-horizon value :math:`V^{(T)}_i = \sum_{t<T} \gamma^t \mathbb{E}[r^i_t]`,
which is the value of ``game.with_horizon(T)``.

Score functions
---------------
For the package's reference-last softmax a row of ``k - 1`` logits gives
:math:`\partial \log \pi(u) / \partial x_b = \mathbb{1}[u = b] - \pi_b`
(:math:`b < k - 1`), and every other logit of the player has score zero. The
rollouts therefore store the score of each step *sparsely*: the visited row and
its ``k - 1`` values. On the 3x3 coin game a player has 3,456 logits, so a dense
score array of 4,096 episodes of 150 steps would take 17 GB; the sparse one
takes 15 MB. :meth:`MarkovRollouts.scores_dense` gives the dense form for small
games (tests).

Random stream: per step one ``(n, batch)`` uniform draw for the actions, one
``(batch,)`` draw for the successors and one ``(batch,)`` for the chance nodes
(drawn every step, used where a chance node was reached); before the first step
one ``(batch,)`` draw for the start states. The same seed gives the same
episodes.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.3 and 5.2.
.. [2] Williams, R. J. (1992). Simple statistical gradient-following algorithms
   for connectionist reinforcement learning. Machine Learning 8 (the score
   function).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from lola_sym._validation import check_positive_int, check_result_size
from lola_sym.dynamics.training import as_generator
from lola_sym.games.markov import MarkovGame

__all__ = ["MarkovRollouts", "markov_rollout", "MAX_EPISODE_STEPS", "MAX_SUCCESSORS",
           "BYTES_PER_STEP"]

#: Most episode-steps (batch x T) of one :func:`markov_rollout`: 0.7 us each on the 3x3 coin
#: game on an idle core, 2.5 us on a shared one (measured, ``benchmarks/
#: bench_coin_estimators.py``), so at most about a minute, and 1.6 GB of records.
MAX_EPISODE_STEPS = 2 * 10 ** 7
#: Most successors of one (state, joint action) pair or one chance node: the sampler keeps a
#: padded table of this width (the coin game needs 1 and, for its chance nodes, ``side**2``).
MAX_SUCCESSORS = 256
#: Bytes held per episode-step of two players with 4 actions: state (4), per player row (4),
#: action (1), reward (8) and the 3 score values (24); :func:`_bytes_per_step` scales it.
BYTES_PER_STEP = 4 + 2 * (4 + 1 + 8 + 24)


def _bytes_per_step(game) -> int:
    return 4 + sum(4 + 1 + 8 + 8 * (k - 1) for k in game.actions)


class _Sampler:
    """Padded successor tables: cumulative probabilities and successors per row."""

    def __init__(self, group, nxt, prob, n_groups, what):
        order = np.lexsort((nxt, group))
        group, nxt, prob = group[order], nxt[order], prob[order]
        counts = np.bincount(group, minlength=n_groups)
        width = int(counts.max()) if len(counts) else 1
        if width > MAX_SUCCESSORS:
            raise ValueError(f"{what} has up to {width} successors; the sampler keeps at most "
                             f"{MAX_SUCCESSORS} per row (a padded table)")
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        col = np.arange(len(group)) - first[group]
        self.next = np.zeros((n_groups, width), dtype=np.int64)
        self.cum = np.full((n_groups, width), 2.0)        # padding: never reached
        self.next[group, col] = nxt
        cum = np.zeros((n_groups, width))
        cum[group, col] = prob
        cum = np.cumsum(cum, axis=1)
        self.cum[group, col] = cum[group, col]
        last = first + counts - 1
        has = counts > 0
        self.cum[np.flatnonzero(has), col[last[has]]] = 1.0   # rounding never falls off the end
        self.width = width

    def draw(self, rows, u):
        """A successor of each row for uniforms ``u`` (the first whose cumulative exceeds u)."""
        if self.width == 1:
            return self.next[rows, 0]
        k = (self.cum[rows] <= u[:, None]).sum(axis=1)
        return self.next[rows, np.minimum(k, self.width - 1)]


@dataclass(frozen=True, eq=False)
class MarkovRollouts:
    r"""A batch of simulated episodes of a Markov game (see :func:`markov_rollout`).

    Per-step arrays have shape ``(batch, T)``, with a leading player axis where
    they are per player.

    Attributes
    ----------
    game : MarkovGame
    thetas : tuple of numpy.ndarray
        The logits the episodes were drawn with (read-only copies), ``(d_i,)``.
    states : numpy.ndarray of int32, (batch, T)
        The state at each step (after chance nodes are resolved).
    actions : numpy.ndarray of int8, (n, batch, T)
        Each player's action.
    rows : numpy.ndarray of int32, (n, batch, T)
        Each player's policy row read at each step (``views[i][state]``).
    rewards : numpy.ndarray of float, (n, batch, T)
        :math:`r^i_t = R_i(s_t, a_t)`.
    score_values : tuple of numpy.ndarray, (batch, T, k_i - 1)
        :math:`\mathbb{1}[u^i_t = b] - \pi_i(b \mid \text{row})`: the non-zero
        part of the score, on the logits ``row * (k_i - 1) + b``.
    kappa : float
        The per-step discount :math:`\gamma` the estimators apply.
    """

    game: MarkovGame
    thetas: tuple
    states: np.ndarray
    actions: np.ndarray
    rows: np.ndarray
    rewards: np.ndarray
    score_values: tuple
    kappa: float

    @property
    def n_players(self) -> int:
        """Number of players."""
        return len(self.thetas)

    @property
    def batch(self) -> int:
        """Number of episodes."""
        return self.states.shape[0]

    @property
    def horizon(self) -> int:
        """Steps ``T`` per episode."""
        return self.states.shape[1]

    @cached_property
    def weights(self) -> np.ndarray:
        r"""Per-step weights :math:`d_t = \gamma^t`, shape ``(T,)``."""
        return self.kappa ** np.arange(self.horizon)

    def returns(self) -> np.ndarray:
        r"""Discounted returns :math:`\sum_t \gamma^t r^i_t`, shape ``(n, batch)``."""
        return self.rewards @ self.weights

    @cached_property
    def returns_to_go(self) -> np.ndarray:
        r""":math:`G^i_t = \sum_{l \ge t} \gamma^{l - t} r^i_l`, ``(n, batch, T)`` (read-only)."""
        r = self.rewards
        out = np.empty_like(r)
        acc = np.zeros(r.shape[:-1])
        for t in range(self.horizon - 1, -1, -1):
            acc = r[..., t] + self.kappa * acc
            out[..., t] = acc
        out.flags.writeable = False
        return out

    def score_index(self, player: int) -> np.ndarray:
        """The logits the scores of (1-based) ``player`` sit on, ``(batch, T, k - 1)``."""
        k1 = self.game.actions[player - 1] - 1
        return self.rows[player - 1][..., None] * k1 + np.arange(k1)

    def scores_dense(self, player: int) -> np.ndarray:
        r"""The dense scores :math:`\nabla_{\theta_i} \log \pi_i(u_t)`, ``(batch, T, d_i)``.

        For small games and tests only (the estimators use the sparse form).
        """
        d = self.game.dims[player - 1]
        check_result_size(self.states.size * d * 8, f"dense scores of {self!r}",
                          "use the sparse score_values and score_index")
        out = np.zeros(self.states.shape + (d,))
        np.put_along_axis(out, self.score_index(player), self.score_values[player - 1], axis=-1)
        return out

    def select(self, index) -> "MarkovRollouts":
        """The sub-batch of episodes ``index`` (a slice or an index array).

        Examples
        --------
        >>> from lola_sym.games import coin_game
        >>> g = coin_game(2)
        >>> ro = markov_rollout(g, np.zeros(g.dims[0]), np.zeros(g.dims[1]), batch=6,
        ...                     horizon=3, seed=0)
        >>> ro.select(slice(0, None, 2)).batch
        3
        """
        return MarkovRollouts(self.game, self.thetas, self.states[index],
                              self.actions[:, index], self.rows[:, index],
                              self.rewards[:, index], tuple(s[index] for s in self.score_values),
                              self.kappa)

    def __repr__(self) -> str:
        return f"MarkovRollouts({self.game.name}, batch={self.batch}, T={self.horizon})"


def markov_rollout(game, *thetas, batch: int, horizon: int | None = None,
                   seed=0) -> MarkovRollouts:
    r"""Simulate ``batch`` episodes of ``horizon`` steps of a Markov game at one policy point.

    Parameters
    ----------
    game : MarkovGame
        Any Markov game.
    *thetas : array_like, (d_i,)
        Every player's logits (``game.param_names``).
    batch : int
        Number of episodes, >= 1.
    horizon : int, optional
        Steps ``T`` per episode, >= 1; default the game's own ``horizon``.
    seed : int or numpy.random.Generator
        Source of randomness (never the global state).

    Returns
    -------
    MarkovRollouts

    Examples
    --------
    >>> from lola_sym.games import coin_game
    >>> g = coin_game(2)
    >>> t = np.zeros(g.dims[0])
    >>> ro = markov_rollout(g, t, t, batch=4, horizon=5, seed=0)
    >>> ro.states.shape, ro.actions.shape, ro.score_values[0].shape
    ((4, 5), (2, 4, 5), (4, 5, 3))
    >>> float(ro.score_values[0].sum(axis=-1).max()) <= 0.75      # 1[u=b] - 1/4 summed over b<3
    True
    >>> markov_rollout(g, t, t, batch=0, horizon=5)
    Traceback (most recent call last):
    ...
    ValueError: batch must be >= 1, got 0
    """
    if not isinstance(game, MarkovGame):
        raise TypeError(f"markov_rollout needs a MarkovGame (lola_sym.games.markov), got "
                        f"{type(game).__name__}; for repeated games use "
                        f"lola_sym.sampling.rollouts.rollout")
    batch = check_positive_int(batch, "batch")
    if horizon is None:
        if game.horizon is None:
            raise ValueError(f"{game.name} has no horizon of its own (discounted value): give "
                             f"the episode length, horizon=T")
        horizon = game.horizon
    horizon = check_positive_int(horizon, "horizon")
    ts = game._thetas(thetas)
    if any(t.ndim != 1 for t in ts):
        raise ValueError("markov_rollout simulates one policy point: every theta must be 1-d")
    if batch * horizon > MAX_EPISODE_STEPS:
        raise ValueError(f"batch={batch:,} x horizon={horizon:,} = {batch * horizon:.3g} "
                         f"episode-steps exceeds the limit {MAX_EPISODE_STEPS:.0e} of one "
                         f"rollout; simulate several smaller batches (seeded differently)")
    check_result_size(batch * horizon * _bytes_per_step(game),
                      f"markov_rollout of batch={batch:,} x horizon={horizon:,}",
                      "use a smaller batch or horizon")
    rng = as_generator(seed)
    n, S, A = game.n_players, game.n_states, game.n_joint
    tables = game.tables(*ts)
    cum_actions = [np.cumsum(t, axis=1)[:, :-1] for t in tables]
    strides = [int(np.prod(game.actions[i + 1:])) for i in range(n)]
    s_, a_, nxt_, p_ = game.transitions
    step_table = _Sampler(s_ * A + a_, nxt_, p_, S * A, "a (state, joint action) pair")
    chance_table = (_Sampler(*game.chance, game.n_chance, "a chance node")
                    if game.n_chance else None)
    start_cum = np.cumsum(game.start)
    start_cum[-1] = 1.0

    states = np.empty((batch, horizon), dtype=np.int32)
    actions = np.empty((n, batch, horizon), dtype=np.int8)
    rows = np.empty((n, batch, horizon), dtype=np.int32)
    scores = [np.empty((batch, horizon, k - 1)) for k in game.actions]
    rewards = np.empty((n, batch, horizon))
    s = np.minimum(np.searchsorted(start_cum, rng.random(batch), side="right"), S - 1)
    u = np.empty((n, batch))
    for t in range(horizon):
        rng.random(out=u)
        u_next, u_chance = rng.random(batch), rng.random(batch)
        states[:, t] = s
        joint = np.zeros(batch, dtype=np.int64)
        for i in range(n):
            row = game.views[i][s]
            rows[i, :, t] = row
            a = (cum_actions[i][row] <= u[i][:, None]).sum(axis=1)   # first b with u < cum_b
            actions[i, :, t] = a
            pi = tables[i][row]                                      # (batch, k)
            k1 = pi.shape[1] - 1
            hit = a[:, None] == np.arange(k1)
            # 1[u = b] - pi_b; for the taken action 1 - pi_b as the sum of the others
            rest = np.where(np.arange(k1 + 1) == a[:, None], 0.0, pi).sum(axis=1)
            scores[i][:, t] = np.where(hit, rest[:, None], -pi[:, :k1])
            joint += a * strides[i]
        rewards[:, :, t] = game.rewards[:, s, joint]
        s = step_table.draw(s * A + joint, u_next)
        at_chance = s >= S
        if chance_table is not None and at_chance.any():    # only with chance nodes
            z = s[at_chance] - S
            s[at_chance] = chance_table.draw(z, u_chance[at_chance])
    thetas_ro = []
    for t_ in ts:
        c = np.array(t_, dtype=float)
        c.setflags(write=False)
        thetas_ro.append(c)
    read_only: list[np.ndarray] = [states, actions, rows, rewards, *scores]
    for arr in read_only:
        arr.setflags(write=False)
    return MarkovRollouts(game, tuple(thetas_ro), states, actions, rows, rewards, tuple(scores),
                          float(game.gamma))
