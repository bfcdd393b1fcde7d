r"""The numeric Markov chain of a repeated game, built by the one chain builder.

Sampling works on every numeric :class:`~lola_sym.games.RepeatedGame` (an
:class:`~lola_sym.games.IteratedGame` through
:meth:`~lola_sym.games.IteratedGame.as_repeated`): ``n`` players with ``k_i``
actions and memory ``m`` in 0, 1, 2. Its chain is written over the *histories*
of the last :math:`L = \max(m, 1)` joint actions, with the shorter histories
of the first moves as transient states in front (lengths :math:`1, \dots, L`,
each in C order of :meth:`~lola_sym.games.histories.StateSpace.histories`).
The reward of a state is that of its last joint action. With :math:`p_0` the
distribution of the first joint action and :math:`P` the transitions, the
value is :math:`V_i = p_0^\top (I - \gamma P)^{-1} r_i` for every memory
(Sec. 4.1 of [1]_); for 2x2 memory-1 games the states are CC, CD, DC, DD, the
chain of the LOLA paper. Memory 0 keeps the last joint action as its state
(every row of :math:`P` is then :math:`p_0`).

The weights of :math:`p_0` and :math:`P` come from
:func:`lola_sym.games.chain.first_move` and
:func:`lola_sym.games.chain.transitions` (the builder of the exact value
programs), evaluated here over numpy arrays of policy probabilities
(:func:`chain`, :func:`joint_distribution`), and in
:mod:`lola_sym.sampling.jets` over numbers that carry their first and second
derivatives in the logits (for the exact targets of
:mod:`lola_sym.sampling.targets`).

Policies are the game's: a sigmoid per state for two actions (computed as
:math:`\sigma(\theta)` and :math:`\sigma(-\theta)`, accurate when saturated),
the reference-last softmax of
:meth:`~lola_sym.games.RepeatedGame.policy_table` otherwise.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import expit

from lola_sym._validation import as_params, check_positive_int, check_result_size
from lola_sym.games.chain import first_move, transitions
from lola_sym.games.repeated import RepeatedGame

__all__ = ["ChainShape", "chain_shape", "sampling_game", "policy_probabilities", "split_args",
           "chain", "joint_distribution", "check_player"]


def sampling_game(game):
    """The numeric :class:`~lola_sym.games.RepeatedGame` behind ``game``, or a clear error.

    Examples
    --------
    >>> from lola_sym import games
    >>> sampling_game(games.ipd()).dims
    (5, 5)
    >>> sampling_game(games.tandem())
    Traceback (most recent call last):
    ...
    TypeError: game must be an iterated 2x2 game or a repeated game (lola_sym.games.IteratedGame or RepeatedGame), got DifferentiableGame: a one-shot game has no episodes to sample
    """
    kind = getattr(game, "kind", None)
    if kind == "iterated":
        return _as_repeated(game)
    if kind == "repeated":
        if game.is_symbolic:
            names = [s.name for s in game.parameters]
            raise ValueError(f"{game.name} has the symbols {names}: sampling needs numbers; use "
                             f"game.substitute({', '.join(f'{n}=...' for n in names)})")
        return game
    what = type(game).__name__
    why = (": a one-shot game has no episodes to sample" if kind == "differentiable" else "")
    raise TypeError(f"game must be an iterated 2x2 game or a repeated game "
                    f"(lola_sym.games.IteratedGame or RepeatedGame), got {what}{why}")


@lru_cache(maxsize=256)
def _as_repeated(game):
    return game.as_repeated()


def check_player(x, n: int, name: str = "agent") -> int:
    """``x`` as a 1-based player index of an ``n``-player game, or a clear error.

    Examples
    --------
    >>> check_player(2, 3)
    2
    >>> check_player(4, 3)
    Traceback (most recent call last):
    ...
    ValueError: agent must be 1..3, got 4
    """
    which = "the int 1 or 2" if n == 2 else f"an int 1..{n}"
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name} must be {which}, got {type(x).__name__} {x!r}")
    if not 1 <= x <= n:
        raise ValueError(f"{name} must be {'1 or 2' if n == 2 else f'1..{n}'}, got {x!r}")
    return int(x)


@dataclass(frozen=True, eq=False)
class ChainShape:
    """The structure of a repeated game's chain (no parameters): states, lookups, rewards.

    Attributes
    ----------
    game : RepeatedGame
    dims : tuple of int
        Logits per player; ``offsets[i]`` is where player ``i``'s block starts in
        the concatenated vector of all logits (length ``D``).
    histories : tuple of tuple
        The chain's states (histories of 1..L joint actions, agent-1-first).
    first : ndarray, (J,)
        State after the first joint action ``j`` (C order).
    next : ndarray, (N, J)
        State after state ``e`` followed by joint action ``j``.
    own : ndarray, (n, N)
        Each player's own-perspective state index in state ``e``.
    last : ndarray, (N,)
        The last joint action of each state.
    rewards : ndarray, (n, N)
        Rewards (floats) of each state, i.e. of its last joint action.
    payoffs : ndarray, (n, J)
        Rewards per joint action.
    strides : ndarray, (n,)
        Joint action index = ``sum(a_i * strides[i])``.
    state_to_chain : ndarray, (S_1,)
        The chain state of each own state of player 1 (-1 for ``s0``; for
        memory 0 every entry is -1).
    """

    game: RepeatedGame
    dims: tuple
    offsets: tuple
    histories: tuple
    first: np.ndarray
    next: np.ndarray
    own: np.ndarray
    last: np.ndarray
    rewards: np.ndarray
    payoffs: np.ndarray
    strides: np.ndarray
    state_to_chain: np.ndarray

    @property
    def n(self) -> int:
        """Number of players."""
        return len(self.dims)

    @property
    def actions(self) -> tuple:
        """Actions of each player."""
        return self.game.actions

    @property
    def N(self) -> int:
        """Number of chain states."""
        return len(self.histories)

    @property
    def J(self) -> int:
        """Number of joint actions."""
        return self.payoffs.shape[1]

    @property
    def D(self) -> int:
        """Number of logits of all players together."""
        return sum(self.dims)

    @property
    def is_two_by_two(self) -> bool:
        """Two players, two actions each, memory 1 (the LOLA paper's layout)."""
        return self.game.actions == (2, 2) and self.game.memory == 1

    def block(self, player: int) -> slice:
        """The (1-based) ``player``'s logits in the concatenated vector."""
        o = self.offsets[player - 1]
        return slice(o, o + self.dims[player - 1])

    def to_joint(self) -> np.ndarray | None:
        """``(N, J)`` 0/1 matrix from chain states to their last joint action (None: identity)."""
        if self.N == self.J:
            return None
        out = np.zeros((self.N, self.J))
        out[np.arange(self.N), self.last] = 1.0
        return out


def chain_shape(game) -> ChainShape:
    """The :class:`ChainShape` of a game (cached per game).

    Examples
    --------
    >>> from lola_sym import games
    >>> sh = chain_shape(games.ipd_memory2())
    >>> sh.N, sh.J, sh.histories[:2], sh.own[1, :4].tolist()
    (20, 4, (((0, 0),), ((0, 1),)), [1, 3, 2, 4])
    """
    return _shape(sampling_game(game))


@lru_cache(maxsize=256)
def _shape(g) -> ChainShape:
    space = g.space
    L = max(g.memory, 1)
    hist = tuple(h for length in range(1, L + 1) for h in space.histories(length))
    index = {h: e for e, h in enumerate(hist)}
    joint = space.joint
    jindex = {a: j for j, a in enumerate(joint)}
    first = np.array([index[(a,)] for a in joint], dtype=np.intp)
    nxt = np.array([[index[(h + (a,))[-L:]] for a in joint] for h in hist], dtype=np.intp)
    own = np.array([[space.state_of(i, h) for h in hist] for i in range(g.n_players)],
                   dtype=np.intp)
    last = np.array([jindex[h[-1]] for h in hist], dtype=np.intp)
    payoffs = np.array([[float(x) for x in row] for row in g.payoffs])
    strides = np.array([int(np.prod(g.actions[i + 1:])) for i in range(g.n_players)],
                       dtype=np.intp)
    to_chain = np.full(space.n_states(0), -1, dtype=np.intp)
    if g.memory:
        to_chain[own[0]] = np.arange(len(hist))
    offsets = tuple(int(x) for x in np.cumsum((0,) + g.dims[:-1]))
    return ChainShape(g, g.dims, offsets, hist, first, nxt, own, last, payoffs[:, last],
                      payoffs, strides, to_chain)


def split_args(game, args: tuple, names: tuple, what: str) -> tuple:
    """``(thetas, extra)``: one logit array per player first, then ``names`` positionally.

    The sampling functions take the players' logits as the first positional
    arguments (``rollout(game, theta1, theta2, batch, horizon)``, any number of
    players); what follows fills ``names`` in order.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> split_args(ipd(), ("t1", "t2", 64), ("batch", "horizon"), "rollout")
    (('t1', 't2'), {'batch': 64})
    >>> split_args(ipd(), ("t1",), ("batch",), "rollout")
    Traceback (most recent call last):
    ...
    TypeError: rollout needs one logit array per player: IPD has 2 players, got 1 array(s)
    """
    n = len(sampling_game(game).dims)
    if len(args) < n:
        raise TypeError(f"{what} needs one logit array per player: {game.name} has {n} players, "
                        f"got {len(args)} array(s)")
    if len(args) > n + len(names):
        raise TypeError(f"{what} takes {n} logit arrays and then at most {list(names)}; got "
                        f"{len(args) - n} more positional argument(s)")
    return tuple(args[:n]), dict(zip(names, args[n:]))


def policy_probabilities(game, thetas, names=None) -> tuple:
    """Per player, the checked logits and the action probabilities ``(..., states, k)``.

    Two actions: :math:`(\\sigma(\\theta), \\sigma(-\\theta))` per state; more: the
    game's :meth:`~lola_sym.games.RepeatedGame.policy_table` (softmax, last action
    the reference).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games
    >>> th, pr = policy_probabilities(games.ipd(), (np.zeros(5), np.full(5, 30.0)))
    >>> pr[1][0]
    array([1.00000000e+00, 9.35762297e-14])
    """
    g = sampling_game(game)
    if len(thetas) != g.n_players:
        raise TypeError(f"{g.name} has {g.n_players} players: give one logit array each, got "
                        f"{len(thetas)}")
    names = names or [f"theta{i + 1}" for i in range(g.n_players)]
    checked = tuple(as_params(t, names[i], d) for i, (t, d) in enumerate(zip(thetas, g.dims)))
    table = None
    out = []
    for i, th in enumerate(checked):
        if g.actions[i] == 2:
            out.append(np.stack([expit(th), expit(-th)], axis=-1))
        else:
            if table is None:
                table = g.policy_table(*checked)
            out.append(table[i])
    return checked, tuple(out)


def chain(game, *thetas) -> tuple:
    r"""The exact Markov chain of the game's histories: ``(p0, P, r)``.

    ``p0`` has shape (..., N) (the first joint action, as a chain state), ``P``
    shape (..., N, N) (row = current state), ``r`` shape (n, N) (rewards of
    every player per state); for 2x2 memory-1 games N = 4 states CC, CD, DC, DD
    (agent 1 first). Built from :func:`lola_sym.games.chain.first_move` and
    :func:`~lola_sym.games.chain.transitions` over numpy arrays; leading axes
    of the logits broadcast.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> p0, P, r = chain(ipd(), [0.0] * 5, [0.0] * 5)
    >>> p0, P.sum(axis=-1), r[0]
    (array([0.25, 0.25, 0.25, 0.25]), array([1., 1., 1., 1.]), array([-1., -3.,  0., -2.]))
    """
    sh = chain_shape(game)
    _, probs = policy_probabilities(game, thetas)
    lead = np.broadcast_shapes(*(p.shape[:-2] for p in probs))

    def prob(i, s, a):
        return probs[i][..., s, a]
    p0 = np.zeros(lead + (sh.N,))
    P = np.zeros(lead + (sh.N, sh.N))
    space = sh.game.space
    for h, w in first_move(space, prob).items():
        p0[..., sh.first[_jindex(sh, h[0])]] = w
    for e, h in enumerate(sh.histories):
        for h2, w in transitions(space, prob, h).items():
            P[..., e, sh.next[e, _jindex(sh, h2[-1])]] = w
    return p0, P, sh.rewards.copy()


def _jindex(sh, joint) -> int:
    return int(np.dot(joint, sh.strides))


def joint_distribution(game, *args, horizon: int | None = None) -> np.ndarray:
    r"""Exact distribution of the joint action at each step, shape (..., horizon, J).

    Call as ``joint_distribution(game, theta1, ..., theta_n, horizon)``. The chain
    states evolve as :math:`p_t = p_0 P^t` (:func:`chain`); the result sums them
    by their last joint action, in C order (CC, CD, DC, DD, agent 1 first, for
    2x2 games). Expected rewards at step ``t`` are ``p[t] @ payoffs.T``, e.g.
    ``p @ r.T`` with ``r`` from :func:`chain` for memory-1 games.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> from lola_sym.games.layout import policy
    >>> joint_distribution(ipd(), policy("tft"), policy("alld"), 2).round(6)
    array([[0., 1., 0., 0.],
           [0., 0., 0., 1.]])
    """
    thetas, extra = split_args(game, args, ("horizon",), "joint_distribution")
    if "horizon" in extra:
        if horizon is not None:
            raise TypeError("horizon given twice (positionally and as a keyword)")
        horizon = extra["horizon"]
    if horizon is None:
        raise TypeError("joint_distribution needs the horizon (steps >= 1) after the logits")
    horizon = check_positive_int(horizon, "horizon")
    sh = chain_shape(game)
    p0, P, _ = chain(game, *thetas)
    points = math.prod(P.shape[:-2])
    check_result_size(8 * sh.N * horizon * points,
                      f"joint_distribution(horizon={horizon:,}) of {points:,} parameter "
                      f"point(s)", "use a shorter horizon or fewer parameter points")
    p = _orbit(p0, P, horizon)
    to_joint = sh.to_joint()
    return p if to_joint is None else p @ to_joint


def _orbit(x0, M, T: int) -> np.ndarray:
    r"""Row vectors :math:`x_0 M^t` for :math:`t < T`, shape (..., T, n), in blocks.

    Within a block of :math:`B` steps every row is :math:`x_{kB} M^j` from the stored
    powers :math:`M^0, \ldots, M^{B-1}`, so the Python loop runs :math:`T / B` times
    (:math:`B \le T / 4`: the powers never outweigh the result).
    """
    lead = np.broadcast_shapes(x0.shape[:-1], M.shape[:-2])
    n = M.shape[-1]
    out = np.empty(lead + (T, n))
    B = max(1, min(1024, T // 4))
    powers = np.empty(M.shape[:-2] + (B, n, n))
    powers[..., 0, :, :] = np.eye(n)
    for j in range(1, B):
        powers[..., j, :, :] = powers[..., j - 1, :, :] @ M
    step = powers[..., B - 1, :, :] @ M                             # M^B
    x = np.broadcast_to(x0, lead + (n,))
    for start in range(0, T, B):
        k = min(B, T - start)
        out[..., start:start + k, :] = np.einsum("...i,...kij->...kj", x, powers[..., :k, :, :])
        if start + B < T:
            x = np.einsum("...i,...ij->...j", x, step)
    return out
