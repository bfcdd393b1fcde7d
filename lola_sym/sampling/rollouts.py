r"""Batched Monte-Carlo rollouts of repeated games: any players, actions and memory.

Many episodes are simulated at once with numpy from a seeded
``numpy.random.Generator``, on every numeric
:class:`~lola_sym.games.RepeatedGame` (2..5 players, 2..4 actions each,
memory 0, 1 or 2) and on the 2x2 memory-1
:class:`~lola_sym.games.IteratedGame` of the LOLA paper (through
:meth:`~lola_sym.games.IteratedGame.as_repeated`). Episodes either have a
fixed horizon ``T`` (the estimators then weight step ``t`` by
:math:`\gamma^t` and target the *truncated* value
:math:`\sum_{t<T} \gamma^t \mathbb{E}[r_t]`) or terminate geometrically: after
every step the episode continues with probability :math:`\gamma`, so that the
undiscounted return is an unbiased sample of the exact discounted value
:math:`V = p_0^\top (I - \gamma P)^{-1} r` (Sec. 4.1 of [1]_).

Each player draws its action from the game's policy table in its *own*
state (:mod:`lola_sym.games.histories`: the last ``m`` joint actions read own
action first, then the others in cyclic order; the shorter histories of the
first moves are their own start states, index 0 is ``s0``). For the 2x2
memory-1 games the states are ``s0, CC, CD, DC, DD``: after joint action
``(a1, a2)`` (0 = C, 1 = D) agent 1 is in state ``1 + 2 a1 + a2`` and agent 2
in ``1 + 2 a2 + a1``. A player with ``k`` actions compares one uniform draw
with the cumulative probabilities of its first ``k - 1`` actions (for two
actions: C when the draw is below :math:`\sigma(\theta)`).

The exact law of what the simulator produces is the chain of
:mod:`lola_sym.sampling.markov` (:func:`chain`, :func:`joint_distribution`),
built by the one chain builder :mod:`lola_sym.games.chain`; the exact values
with their first and second derivatives that the estimators of
:mod:`lola_sym.sampling.estimators` target are :func:`exact_targets` and
:func:`truncation_bias` (:mod:`lola_sym.sampling.targets`), and
:func:`target_for` picks the one a batch of rollouts is unbiased for.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1 and 4.3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import SupportsFloat, cast

import numpy as np

from lola_sym._validation import check_positive_int, check_result_size
from lola_sym.dynamics.training import as_generator
from lola_sym.games.iterated import IteratedGame
from lola_sym.games.repeated import RepeatedGame
from lola_sym.sampling.markov import (chain, chain_shape, joint_distribution,
                                      policy_probabilities, sampling_game, split_args)
from lola_sym.sampling.targets import QUANTITIES, Targets, exact_targets, truncation_bias

__all__ = ["Rollouts", "rollout", "chain", "joint_distribution", "TERMINATIONS", "Targets",
           "exact_targets", "truncation_bias", "target_for", "QUANTITIES",
           "rollout_bytes_per_step"]

#: Accepted values of ``termination``.
TERMINATIONS = ("fixed", "geometric")
#: Most steps one :func:`rollout` simulates. Steps are sequential numpy passes costing
#: about 20 us each for a single 2x2 episode (measured), so 10**6 steps take under 30 s;
#: longer horizons are refused up front instead of running for minutes.
MAX_HORIZON = 10 ** 6
#: Most episode-steps (parameter points x batch x steps) one :func:`rollout` simulates:
#: at 30-70 ns each (measured, 2x2) about 20 s.
MAX_EPISODE_STEPS = 5 * 10 ** 8
#: Bytes :func:`rollout` holds per episode-step of a 2x2 game (own states, actions of both
#: agents and the mask, 5 bytes, built step-major and copied once) and per episode (the
#: draws and lookups of one step), for :func:`~lola_sym._validation.check_result_size`;
#: :func:`rollout_bytes_per_step` scales the first with the number of players.
ROLLOUT_BYTES_PER_STEP, ROLLOUT_BYTES_PER_EPISODE = 10, 64


def rollout_bytes_per_step(game) -> int:
    """Bytes a rollout of ``game`` holds per episode-step (states, actions, mask, copied once).

    Examples
    --------
    >>> from lola_sym import games
    >>> rollout_bytes_per_step(games.ipd()), rollout_bytes_per_step(games.three_player_ipd())
    (10, 14)
    """
    g = sampling_game(game)
    return 2 * (g.n_players * (_state_dtype(g).itemsize + 1) + 1)


def _state_dtype(g):
    return np.dtype(np.int8 if max(g.space.n_states(i) for i in range(g.n_players)) < 128
                    else np.int16)


@dataclass(frozen=True, eq=False)
class Rollouts:
    r"""A batch of simulated episodes (see :func:`rollout`).

    Every per-step array has shape ``(n, *lead, batch, T)`` where the first
    axis is the player (0 = agent 1, ...) and ``lead`` are the leading axes of
    the parameters (independent parameter points simulated together).

    Attributes
    ----------
    game : IteratedGame or RepeatedGame
    thetas : tuple of ndarray, shapes ``(*lead, d_i)``
        The logits the episodes were drawn with (copies); ``theta1`` and
        ``theta2`` for two players.
    states : ndarray of int8 (int16 for more than 127 states)
        Each player's own-perspective state index at step ``t`` (0 = s0).
    actions : ndarray of int8
        Each player's action at step ``t`` (0 = C, 1 = D for two actions).
    mask : ndarray of bool, shape ``(*lead, batch, T)``
        Whether the episode is still running at step ``t`` (all True for a
        fixed horizon).
    termination : {"fixed", "geometric"}
    kappa : float
        Per-step discount the estimators apply: :math:`\gamma` for a fixed
        horizon, 1 for geometric termination (the discount is then the
        continuation probability).
    """

    game: IteratedGame | RepeatedGame
    thetas: tuple
    states: np.ndarray
    actions: np.ndarray
    mask: np.ndarray
    termination: str
    kappa: float

    @property
    def n_players(self) -> int:
        """Number of players."""
        return len(self.thetas)

    def _two(self, i):
        if self.n_players != 2:
            raise AttributeError(f"theta{i + 1} is for two-player games; {self.game.name} has "
                                 f"{self.n_players} players: use thetas[{i}]")
        return self.thetas[i]

    @property
    def theta1(self) -> np.ndarray:
        """Agent 1's logits, shape ``(*lead, d_1)`` (two-player games)."""
        return self._two(0)

    @property
    def theta2(self) -> np.ndarray:
        """Agent 2's logits, shape ``(*lead, d_2)`` (two-player games)."""
        return self._two(1)

    @property
    def batch(self) -> int:
        """Number of episodes per parameter point."""
        return self.states.shape[-2]

    @property
    def horizon(self) -> int:
        """Number of simulated steps ``T`` (the longest episode for geometric termination)."""
        return self.states.shape[-1]

    @property
    def lead(self) -> tuple:
        """Leading shape of the parameters."""
        return self.states.shape[1:-2]

    @cached_property
    def rewards(self) -> np.ndarray:
        """Rewards of every player, float64, zero after an episode ended, ``(n, *lead, batch, T)``."""
        return chain_shape(self.game).payoffs[:, self.joint_actions] * self.mask

    @property
    def joint_actions(self) -> np.ndarray:
        """Joint action index in C order (agent 1's action slowest; CC, CD, DC, DD for 2x2)."""
        strides = chain_shape(self.game).strides
        out = self.actions[0].astype(np.intp) * strides[0]
        for i in range(1, self.n_players):
            out += self.actions[i] * strides[i]
        return out

    @cached_property
    def weights(self) -> np.ndarray:
        r"""Per-step weights :math:`d_t = \kappa^t \cdot \text{mask}_t`, shape ``(*lead, batch, T)``.

        The estimators target :math:`\mathbb{E}[\sum_t d_t r_t]`.
        """
        return self.kappa ** np.arange(self.horizon) * self.mask

    def returns(self) -> np.ndarray:
        r"""Discounted returns :math:`\sum_t d_t r_t` of every player, shape ``(n, *lead, batch)``."""
        return np.sum(self.rewards * self.weights, axis=-1)

    def returns_to_go(self) -> np.ndarray:
        r""":math:`G_t = \sum_{l \ge t} \kappa^{l-t} r_l`, shape ``(n, *lead, batch, T)`` (read-only)."""
        return self._returns_to_go

    @cached_property
    def _returns_to_go(self) -> np.ndarray:
        r = self.rewards
        out = np.empty_like(r)
        acc = np.zeros(r.shape[:-1])
        for t in range(self.horizon - 1, -1, -1):
            acc = r[..., t] + self.kappa * acc
            out[..., t] = acc
        out.flags.writeable = False
        return out

    @cached_property
    def scores(self) -> tuple:
        r"""Score functions :math:`\nabla_{\theta_i} \log \pi_i(u^i_t \mid s^i_t)`, per player.

        A tuple of read-only arrays of shapes ``(*lead, batch, T, d_i)``. Non-zero
        only on the logits of the visited own state: :math:`\mathbb{1}[u = b] - \pi_b`
        for each action ``b`` but the last (two actions: :math:`1 - p` after C,
        :math:`-p` after D); zero after the episode ended.
        """
        _, probs = policy_probabilities(self.game, self.thetas)
        lead_idx = np.ix_(*[np.arange(n) for n in self.lead]) if self.lead else ()
        idx = tuple(i[..., None, None] for i in lead_idx)
        out = []
        for i, pi_all in enumerate(probs):
            st = self.states[i].astype(np.intp)
            a = self.actions[i].astype(np.intp)
            k = pi_all.shape[-1]
            pi = pi_all[idx + (st,)]                                    # (..., batch, T, k)
            if k == 2:
                x = np.where(a == 0, pi[..., 1], -pi[..., 0])[..., None]
            else:
                hit = np.arange(k) == a[..., None]
                rest = np.where(hit, 0.0, pi).sum(axis=-1)              # 1 - pi_a, accurately
                x = np.where(hit[..., :k - 1], rest[..., None], -pi[..., :k - 1])
            x = x * self.mask[..., None]
            s = np.zeros(st.shape + (pi_all.shape[-2] * (k - 1),))
            np.put_along_axis(s, st[..., None] * (k - 1) + np.arange(k - 1), x, axis=-1)
            s.flags.writeable = False
            out.append(s)
        return tuple(out)

    @cached_property
    def cumulative_scores(self) -> tuple:
        r""":math:`C^i_t = \sum_{l \le t} s^i_l` per player, shapes ``(*lead, batch, T, d_i)``. Read-only."""
        out = []
        for s in self.scores:
            c = np.cumsum(s, axis=-2)
            c.flags.writeable = False
            out.append(c)
        return tuple(out)

    def select(self, index) -> "Rollouts":
        """The sub-batch of episodes ``index`` (a slice or index array on the batch axis).

        Examples
        --------
        >>> from lola_sym.games import ipd
        >>> ro = rollout(ipd(), [0.0] * 5, [0.0] * 5, batch=10, horizon=3, seed=0)
        >>> ro.select(slice(0, None, 2)).batch
        5
        """
        cut = (Ellipsis, index, slice(None))
        return Rollouts(self.game, self.thetas, self.states[cut], self.actions[cut],
                        self.mask[cut], self.termination, self.kappa)

    def __repr__(self) -> str:
        return (f"Rollouts({self.game.name}, lead={self.lead}, batch={self.batch}, "
                f"T={self.horizon}, termination={self.termination!r})")


def rollout(game, *args, batch: int | None = None, horizon: int | None = None, seed=0,
            termination: str = "fixed") -> Rollouts:
    r"""Simulate ``batch`` episodes of ``game`` for each parameter point.

    Call as ``rollout(game, theta1, ..., theta_n, batch, horizon)`` (batch and
    horizon positionally or as keywords).

    Parameters
    ----------
    game : IteratedGame or RepeatedGame
        A numeric game (a family with symbols: substitute values first).
    theta1, ..., theta_n : array_like, shapes (..., d_i)
        Every player's logits (own perspective, ``game.param_names``); leading
        axes broadcast and are simulated together, each with ``batch`` episodes.
    batch : int
        Episodes per parameter point, >= 1.
    horizon : int, optional
        Number of steps ``T`` (>= 1). Required for ``termination="fixed"``;
        for ``"geometric"`` it caps the episode length (episodes still
        running are then cut, which biases the estimators: leave it None to
        simulate until every episode has ended).
    seed : int or numpy.random.Generator
        Source of randomness (never global state): one uniform draw per
        player, point and episode each step, then for geometric termination
        one per point and episode.
    termination : {"fixed", "geometric"}
        Fixed horizon, or continue with probability :math:`\gamma` after each step.

    Returns
    -------
    Rollouts

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> from lola_sym.games.layout import policy
    >>> ro = rollout(ipd(), policy("tft"), policy("alld"), batch=2, horizon=4, seed=0)
    >>> ro.actions[0]          # tit-for-tat opens with C, then copies D
    array([[0, 1, 1, 1],
           [0, 1, 1, 1]], dtype=int8)
    >>> ro.states[0][0]        # agent 1's own states: s0, CD, DD, DD
    array([0, 2, 4, 4], dtype=int8)
    >>> ro.rewards[:, 0, :2]   # (agent, episode 0, first two steps)
    array([[-3., -2.],
           [ 0., -2.]])
    >>> rollout(ipd(), policy("tft"), policy("tft"), batch=0, horizon=4)
    Traceback (most recent call last):
    ...
    ValueError: batch must be >= 1, got 0

    Three players with memory 2 (states up to the last two joint actions):

    >>> from lola_sym.games import contribution
    >>> g = contribution(3, "1.5", memory=2)
    >>> ro = rollout(g, *[[0.0] * g.dims[0]] * 3, batch=5, horizon=4, seed=1)
    >>> ro.states.shape, int(ro.states.max()) < g.dims[0]
    ((3, 5, 4), True)
    """
    thetas, extra = split_args(game, args, ("batch", "horizon"), "rollout")
    batch = _merge_named(batch, extra, "batch")
    horizon = _merge_named(horizon, extra, "horizon")
    sh = chain_shape(game)
    g = sh.game
    checked, probs = policy_probabilities(game, thetas)
    if batch is None:
        raise TypeError("rollout needs batch (episodes per parameter point) after the logits")
    batch = check_positive_int(batch, "batch")
    if not isinstance(termination, str) or termination not in TERMINATIONS:
        raise ValueError(f"unknown termination {termination!r}; choose one of {TERMINATIONS}")
    if horizon is not None:
        horizon = check_positive_int(horizon, "horizon")
    elif termination == "fixed":
        raise ValueError("termination='fixed' needs a horizon (number of steps >= 1)")
    rng = as_generator(seed)
    try:
        lead = np.broadcast_shapes(*(t.shape[:-1] for t in checked))
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in checked)
        raise ValueError(f"the logits' leading axes must broadcast; got shapes {shapes}") from None
    n = math.prod(lead)
    if n == 0:
        what = "pair" if g.n_players == 2 else "point"
        raise ValueError(f"the logits broadcast to the leading shape {lead}, which holds no "
                         f"parameter {what}: give at least one {what} of shapes "
                         f"{' and '.join(f'(..., {d})' for d in g.dims)}")
    gamma = float(cast(SupportsFloat, g.gamma))     # a number: sampling_game checked the game
    if horizon is None:                     # geometric: until every episode ended
        steps = _longest_episode(n * batch, g.gamma)
    elif termination == "geometric":        # ... or the cap
        steps = min(horizon, _longest_episode(n * batch, g.gamma))
    else:                                   # fixed
        steps = horizon
    if steps > MAX_HORIZON:
        how = (f"horizon={horizon:,}" if horizon is not None else
               f"geometric termination with gamma={gamma:g} and {n * batch:,} episodes would "
               f"run about {steps:,} steps until every episode ended; that")
        raise ValueError(f"{how} exceeds the limit of {MAX_HORIZON:,} sequential steps per "
                         f"rollout (under 30 s); "
                         + ("use a shorter horizon" if horizon is not None else
                            "pass horizon= to cap the episodes (which biases the estimators), "
                            "or use a smaller gamma"))
    if n * batch * steps > MAX_EPISODE_STEPS:
        raise ValueError(f"rollout of {n:,} parameter point(s) x batch={batch:,} x {steps:,} "
                         f"steps would simulate {n * batch * steps:.3g} episode-steps (limit "
                         f"{MAX_EPISODE_STEPS:.0e}, about 20 s); use a smaller batch or horizon, "
                         f"or split the batch over several calls (seeded differently)")
    check_result_size(n * batch * (steps * rollout_bytes_per_step(g)
                                   + ROLLOUT_BYTES_PER_EPISODE * g.n_players // 2),
                      f"rollout of {n:,} parameter point(s) x batch={batch:,} x {steps:,} steps",
                      "use a smaller batch or horizon, or fewer parameter points per call")
    thetas = tuple(np.array(np.broadcast_to(t, lead + t.shape[-1:])) for t in checked)
    cum = [np.cumsum(np.broadcast_to(p, lead + p.shape[-2:]), axis=-1)[..., :-1].reshape(n, -1)
           for p in probs]
    states, actions, mask = _simulate(sh, cum, batch, horizon, termination == "geometric",
                                      gamma, rng, steps)
    t = states.shape[0]
    shape = (g.n_players,) + lead + (batch, t)
    states = np.ascontiguousarray(np.moveaxis(states, 0, -1)).reshape(shape)
    actions = np.ascontiguousarray(np.moveaxis(actions, 0, -1)).reshape(shape)
    mask = np.ascontiguousarray(np.moveaxis(mask, 0, -1)).reshape(shape[1:])
    kappa = gamma if termination == "fixed" else 1.0
    return Rollouts(game, thetas, states, actions, mask, termination, kappa)


def _merge_named(value, extra, name):
    if name in extra:
        if value is not None:
            raise TypeError(f"{name} given twice (positionally and as a keyword)")
        return extra[name]
    return value


def _longest_episode(episodes: int, gamma) -> int:
    r"""Steps after which all of ``episodes`` geometric episodes have ended but for odds of
    :math:`e^{-5}` (:math:`N \gamma^t \le e^{-5}`)."""
    rate = -math.log1p(-float(1 - gamma))            # -log(gamma), accurate near gamma = 1
    return max(1, math.ceil((math.log(episodes) + 5.0) / rate))


def _simulate(sh, cum, batch, horizon, geometric, gamma, rng, expected):
    """Step-major states, actions (T, n, points, batch) and mask (T, points, batch).

    ``cum[i]`` holds player ``i``'s cumulative probabilities of its first ``k - 1``
    actions per point and state, shape (points, states * (k - 1)). ``geometric``:
    each episode continues with probability ``gamma`` after every step, until
    every episode ended (at most ``horizon`` steps, or :data:`MAX_HORIZON` when
    ``horizon`` is None). The random stream is one ``(n, points, batch)`` uniform
    draw per step, followed for geometric termination by one ``(points, batch)`` draw.
    """
    g = sh.game
    npl, n = g.n_players, cum[0].shape[0]
    km1 = [k - 1 for k in g.actions]
    binary = all(k == 1 for k in km1)                 # one threshold per player and state
    sdt = _state_dtype(g)
    cap = MAX_HORIZON if horizon is None else horizon
    size = min(cap, expected)
    S = np.empty((size, npl, n, batch), sdt)
    A = np.empty((size, npl, n, batch), np.int8)
    M = np.empty((size, n, batch), bool)
    if binary:        # all players' thresholds in one array: one gather per step
        flat = [np.concatenate([c.ravel() for c in cum])]
        sizes = np.cumsum([0] + [c.size for c in cum])[:-1]
        base = [np.concatenate([o + c.shape[1] * np.arange(n, dtype=np.intp)
                                for o, c in zip(sizes, cum)]).reshape(npl, n, 1)]
        idx, p = np.empty((npl, n, batch), np.intp), np.empty((npl, n, batch))
    else:
        flat = [c.ravel() for c in cum]
        base = [(c.shape[1] * np.arange(n, dtype=np.intp)).reshape(n, 1) for c in cum]
        idx, p = np.empty((n, batch), np.intp), np.empty((n, batch))
    own = sh.own.astype(sdt)
    first, nxt, J, strides = sh.first, sh.next.ravel(), sh.J, sh.strides
    short = max(g.memory, 1) == 1        # the chain state is the last joint action itself
    s = np.zeros((npl, n, batch), sdt)                 # own states: 0 = s0
    e = np.zeros((n, batch), np.intp)                  # chain state after the last step
    j = np.empty((n, batch), np.intp)
    u = np.empty((npl, n, batch))
    alive = np.ones((n, batch), dtype=bool)
    survive = np.empty((n, batch))
    t = 0
    while t < cap and (not geometric or alive.any()):
        if t == S.shape[0]:                              # geometric episodes ran long: grow
            more = min(cap, 2 * t) - t
            S = np.concatenate([S, np.empty((more,) + S.shape[1:], sdt)])
            A = np.concatenate([A, np.empty((more,) + A.shape[1:], np.int8)])
            M = np.concatenate([M, np.empty((more,) + M.shape[1:], bool)])
        rng.random(out=u)
        S[t] = s
        a = A[t]
        if binary:
            np.add(base[0], s, out=idx)
            flat[0].take(idx, out=p)
            np.greater_equal(u, p, out=a, casting="unsafe")      # action 0 with probability p
        else:
            for i in range(npl):
                np.multiply(s[i], km1[i], out=idx)
                idx += base[i]
                a[i] = 0
                for b in range(km1[i]):
                    flat[i].take(idx + b, out=p)
                    a[i] += u[i] >= p
        np.multiply(a[0], strides[0], out=j)
        for i in range(1, npl - 1):
            j += a[i] * strides[i]
        j += a[npl - 1]                                          # the last stride is 1
        M[t] = alive
        if short:
            e = j                                                # state = (joint action,)
        elif t == 0:
            first.take(j, out=e)
        else:
            np.multiply(e, J, out=e)
            e += j
            nxt.take(e, out=e)
        np.take(own, e, axis=1, out=s)
        if geometric:
            rng.random(out=survive)
            alive &= survive < gamma
        t += 1
    if horizon is None and alive.any():
        raise ValueError(f"geometric episodes were still running after {MAX_HORIZON:,} steps "
                         f"(gamma={gamma:g}); pass horizon= to cap them")
    return S[:t], A[:t], M[:t]


def target_for(rollouts: Rollouts) -> Targets:
    """The exact targets the estimators on ``rollouts`` are unbiased for (one point).

    Fixed horizon: the truncated value; geometric termination: the exact value.

    Examples
    --------
    The mean discounted return of the episodes estimates the target's value
    (agent 1, within 4 standard errors):

    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> ro = rollout(ipd(), [0.5] * 5, [-0.5] * 5, batch=2000, horizon=10, seed=1)
    >>> tg = target_for(ro)
    >>> tg.horizon
    10
    >>> G = ro.returns_to_go()[0][:, 0]
    >>> bool(abs(G.mean() - tg.value[0]) < 4 * G.std() / np.sqrt(len(G)))
    True
    """
    if not isinstance(rollouts, Rollouts):
        raise TypeError(f"expected Rollouts from lola_sym.sampling.rollouts.rollout, got "
                        f"{type(rollouts).__name__}")
    horizon = rollouts.horizon if rollouts.termination == "fixed" else None
    return exact_targets(rollouts.game, *rollouts.thetas, horizon=horizon)
