r"""Finite Markov games with tabular policies: the protocol of the large games.

A :class:`MarkovGame` has ``S`` states, ``n`` players with ``k_i`` actions
each, a start distribution :math:`\mu_0`, for every state ``s`` and joint
action ``a`` (C order, player 1's action slowest) a next-state distribution
:math:`T(\cdot \mid s, a)` and rewards :math:`R_i(s, a)`, a discount
:math:`\gamma` and optionally a finite horizon ``T``.

Policies
--------
Player ``i`` reads the state through its *view*: ``views[i][s]`` is the row
of its policy table used in state ``s`` (its own-perspective state; several
states may share a row). A row has ``k_i - 1`` logits :math:`x_0..x_{k-2}` and
the package's softmax with the last action as the reference (logit 0),
:math:`\pi_a = e^{x_a} / (1 + \sum_b e^{x_b})`; for two actions this is the
sigmoid of the one logit, as in :class:`~lola_sym.games.RepeatedGame`. A
player's logits are ordered row by row, then action by action
(:attr:`MarkovGame.param_names`).

Values
------
With :math:`\pi(a \mid s) = \prod_i \pi_i(a_i \mid \mathrm{view}_i(s))`, the
state chain :math:`P_{s s'} = \sum_a \pi(a \mid s) T(s' \mid s, a)` and the
expected rewards :math:`r_i(s) = \sum_a \pi(a \mid s) R_i(s, a)`,

.. math::

    V_i = \mu_0^\top (I - \gamma P)^{-1} r_i
    \quad\text{(discounted)}, \qquad
    V_i^{(T)} = \mu_0^\top w^{(T)}, \;
    w^{(k)} = r_i + \gamma P w^{(k-1)}, \; w^{(0)} = 0
    \quad\text{(horizon } T\text{)},

the first reward undiscounted. The discounted value is one sparse LU of
:math:`I - \gamma P` (:func:`scipy.sparse.linalg.splu`; the matrix is strictly
diagonally dominant by rows, so it is never singular for :math:`\gamma < 1`, and
with chance nodes it is the Schur complement of the augmented system below);
the finite horizon is ``T`` sparse products, the backward recursion over time.
No dense matrix of the states' size is ever formed.

Chance nodes
------------
A transition may lead to a *chance node* ``z`` (index ``S + z`` in
``transitions``) instead of a state: the node moves at once, without a step of
time, a reward or a discount, to a state drawn from a fixed distribution
:math:`C(\cdot \mid z)`. The kernel is then
:math:`T = T_d + T_c C`, and the values solve the sparse augmented system

.. math::

    \begin{pmatrix} I - \gamma P_d & -\gamma P_c \\ -C & I \end{pmatrix}
    \begin{pmatrix} w \\ w_z \end{pmatrix} = \begin{pmatrix} r \\ 0 \end{pmatrix}.

This is what keeps the factorisation sparse when many transitions share one
random outcome (the coin game's respawn: a coin picked up reappears uniformly,
whatever the step that picked it). Measured on the coin game: without chance
nodes the LU of the 3x3 board (1,152 states) fills 65 % of a dense matrix, and
the 4x4 board (7,200 states) takes 15 s; with them the 3x3 LU has 133,000
entries (7 ms) and the 4x4 one 1.2 million (0.09 s). ``ordering`` chooses
SuperLU's column ordering: ``"NATURAL"`` when the states are already numbered
so that elimination stays local (the coin game: coin outermost), else
``"COLAMD"``.

The repeated games of the package are Markov games whose states are the
histories (:func:`~lola_sym.games.repeated_markov.markov_of`); their values agree with the
exact value programs to rounding (tested).

The chain at one policy profile (sparse transitions, LU, solves) is
:class:`~lola_sym.games.markov_chain.ChainAt`; the gradients, Hessian-vector
products and learning-rule fields of these games are computed by adjoints in
:mod:`lola_sym.adjoint`. Repeated games above the symbolic program's size
become Markov games through :func:`~lola_sym.games.repeated_markov.markov_of`.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1 and 5.2.
.. [2] Puterman, M. L. (1994). Markov Decision Processes. Wiley, Sec. 6.1
   (the discounted value as the solution of a linear system).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sps
import sympy as sp

from lola_sym._validation import MIN_ONE_MINUS_GAMMA, as_params, as_rational, check_int
from lola_sym.games.markov_chain import (ChainAt, _bincount, _Pattern, joint_probabilities,
                                         softmax_rows)

__all__ = ["MarkovGame", "markov", "ChainAt", "softmax_rows", "joint_probabilities",
           "PROBABILITY_TOL", "MAX_JOINT_ACTIONS", "ORDERINGS"]

#: How far a start, next-state or chance distribution may be from summing to one.
PROBABILITY_TOL = 1e-12
#: Largest number of joint actions (the tables of rewards are states x joint actions).
MAX_JOINT_ACTIONS = 4096
#: SuperLU column orderings a game may ask for (:attr:`MarkovGame.ordering`).
ORDERINGS = ("COLAMD", "NATURAL", "MMD_AT_PLUS_A", "MMD_ATA")


def _frozen(a, dtype):
    a = np.array(a, dtype=dtype)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class MarkovGame:
    r"""A finite Markov game with tabular softmax policies. Build it with :func:`markov`.

    Attributes
    ----------
    name : str
    actions : tuple of int
        Number of actions of each player.
    gamma : sympy.Rational
        The discount.
    horizon : int or None
        ``None`` for the infinite-horizon discounted value, else the number of
        steps ``T`` of an episode.
    start : numpy.ndarray, shape (S,)
        The start distribution :math:`\mu_0`.
    transitions : tuple of numpy.ndarray
        ``(state, joint, next, prob)``, each of shape ``(E,)``: the entries of
        :math:`T(\text{next} \mid \text{state}, \text{joint})`; ``next >= S``
        is the chance node ``next - S``.
    chance : tuple of numpy.ndarray
        ``(node, next, prob)``: the fixed distributions :math:`C(\cdot \mid z)`
        of the chance nodes over the states (empty arrays when there are none).
    rewards : numpy.ndarray, shape (n, S, A)
        :math:`R_i(s, a)`.
    views : tuple of numpy.ndarray
        Per player, the policy row read in each state, shape ``(S,)``.
    rows : tuple of tuple of str
        Per player, the labels of its policy rows (its own-perspective states).
    labels : tuple of tuple of str
        Action labels of each player.
    counters : tuple of (str, numpy.ndarray)
        Named tables ``(S, A)`` of quantities to count along the chain (e.g. the
        coins picked up): :meth:`statistics` returns their expected discounted totals.
    ordering : str
        SuperLU's column ordering for :math:`I - \gamma P` (one of :data:`ORDERINGS`).
    construction : dict
        A JSON-able description of how the game was built (part of :meth:`spec`).
    """

    name: str
    actions: tuple
    gamma: sp.Rational
    horizon: int | None
    start: np.ndarray
    transitions: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    chance: tuple[np.ndarray, np.ndarray, np.ndarray]
    rewards: np.ndarray
    views: tuple
    rows: tuple
    labels: tuple
    counters: tuple = ()
    ordering: str = "COLAMD"
    construction: dict = field(default_factory=dict)

    kind = "markov"
    #: The exact numeric path of this game's fields: sparse LU and adjoints
    #: (:mod:`lola_sym.adjoint`); ``lola_sym.update_field`` dispatches on it.
    field_path = "adjoint"
    #: A Markov game's numbers are fixed: no symbols.
    parameters = ()
    is_symbolic = False

    # ------------------------------------------------------------ structure
    @property
    def n_players(self) -> int:
        """Number of players."""
        return len(self.actions)

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return len(self.start)

    @property
    def n_chance(self) -> int:
        """Number of chance nodes ``Z``."""
        node = self.chance[0]
        return int(node.max()) + 1 if len(node) else 0

    @property
    def n_joint(self) -> int:
        """Number of joint actions ``A``."""
        return int(np.prod(self.actions))

    @cached_property
    def dims(self) -> tuple:
        """Number of logits of each player: its rows times ``k_i - 1``."""
        return tuple(len(r) * (k - 1) for r, k in zip(self.rows, self.actions))

    @cached_property
    def param_names(self) -> tuple:
        """Labels of each player's logits: the row for two actions, else ``row:action``."""
        out = []
        for rows, k, lab in zip(self.rows, self.actions, self.labels):
            out.append(tuple(rows) if k == 2 else
                       tuple(f"{r}:{lab[a]}" for r in rows for a in range(k - 1)))
        return tuple(out)

    @cached_property
    def theta(self) -> tuple:
        """Per player, the logit symbols ``theta_{i},{label}`` (for the game protocol)."""
        return tuple(tuple(sp.Symbol(f"theta_{i + 1},{s}", real=True) for s in names)
                     for i, names in enumerate(self.param_names))

    def state_labels(self, player: int = 1) -> tuple:
        """Labels of the (1-based) ``player``'s policy rows, in layout order."""
        if isinstance(player, bool) or not isinstance(player, (int, np.integer)):
            raise TypeError(f"player must be an int 1..{self.n_players}, got {player!r}")
        if not 1 <= player <= self.n_players:
            raise ValueError(f"player must be 1..{self.n_players}, got {player}")
        return self.rows[int(player) - 1]

    @cached_property
    def _digest(self) -> str:
        h = hashlib.sha256()
        for a in (self.start, *self.transitions, *self.chance, self.rewards, *self.views,
                  *(t for _, t in self.counters)):
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(json.dumps([self.rows, self.labels, [c for c, _ in self.counters]]).encode())
        return h.hexdigest()

    def spec(self) -> dict:
        """The exact specification (JSON-able; the arrays by their SHA-256), for cache keys."""
        return {"kind": self.kind, "actions": list(self.actions), "n_states": self.n_states,
                "gamma": str(self.gamma), "horizon": self.horizon,
                "construction": self.construction, "sha256": self._digest}

    def __eq__(self, other):
        return isinstance(other, MarkovGame) and self.spec() == other.spec()

    def __hash__(self):
        return hash(self._digest)

    def with_horizon(self, horizon) -> "MarkovGame":
        """This game with another horizon (``None``: the discounted infinite horizon).

        Examples
        --------
        >>> from lola_sym.games import coin_game
        >>> coin_game(2).with_horizon(150).horizon
        150
        """
        return markov(self.actions, self.start, self.transitions, self.rewards, self.gamma,
                      chance=self.chance, views=self.views, rows=self.rows, labels=self.labels,
                      horizon=horizon, counters=dict(self.counters), ordering=self.ordering,
                      name=self.name, construction={**self.construction, "horizon": horizon})

    def value_program(self):
        """Refused: a Markov game has no symbolic value program (its chain is solved numerically)."""
        raise ValueError(f"{self.name} is a Markov game of {self.n_states} states: it has no "
                         f"symbolic value program; its values come from a sparse LU "
                         f"(game.value) and its fields from adjoints (lola_sym.adjoint, "
                         f"which lola_sym.update_field uses for it)")

    # ------------------------------------------------------------- the chain
    @cached_property
    def _patterns(self):
        r"""Sparsity of :math:`P` (CSR, ``S x (S + Z)``) and of the augmented
        :math:`I - \gamma P` (CSC), the constant part of the latter, and the chance matrix."""
        S, Z = self.n_states, self.n_chance
        s, _, nxt, _ = self.transitions
        node, cnext, cprob = self.chance
        P = _Pattern(s, nxt, (S, S + Z), "csr")
        diag = np.arange(S + Z)
        M = _Pattern(np.concatenate([s, diag, S + node]), np.concatenate([nxt, diag, cnext]),
                     (S + Z, S + Z), "csc")
        E = len(s)
        base = _bincount(M.slot[E:], np.concatenate([np.ones(S + Z), -cprob]), M.nnz)
        C = sps.csr_matrix((cprob, (node, cnext)), shape=(Z, S))
        return P, M, M.slot[:E], base, C

    @cached_property
    def transition_matrix(self):
        """:math:`T` as a sparse matrix ``(S * A, S + Z)``: row ``s * A + a``."""
        s, a, nxt, p = self.transitions
        S, A = self.n_states, self.n_joint
        return sps.csr_matrix((p, (s.astype(np.int64) * A + a, nxt)),
                              shape=(S * A, S + self.n_chance))

    @cached_property
    def _chance_T(self):
        """:math:`C^\\top` (CSR): how the chance nodes spread over the states."""
        return self._patterns[4].T.tocsr()

    def extend(self, w):
        r"""Values on the states ``(S, ...)`` extended to the chance nodes, ``(S + Z, ...)``:
        :math:`w_z = \sum_{s} C(s \mid z) w_s`."""
        if not self.n_chance:
            return w
        return np.concatenate([w, self._patterns[4] @ w])

    def policy_table(self, *thetas) -> tuple:
        """Per player, the probability of each action in each of its rows, ``(..., rows, k)``.

        Examples
        --------
        >>> from lola_sym.games import coin_game
        >>> g = coin_game(2)
        >>> t = np.zeros(g.dims[0])
        >>> g.policy_table(t, t)[0][0]          # uniform over the four moves
        array([0.25, 0.25, 0.25, 0.25])
        """
        ts = self._thetas(thetas)
        return tuple(softmax_rows(t.reshape(t.shape[:-1] + (len(r), k - 1)))
                     for t, r, k in zip(ts, self.rows, self.actions))

    def tables(self, *thetas) -> list:
        """The policy tables at one point, 2-d each; complex logits allowed (complex step)."""
        return [softmax_rows(np.asarray(t).reshape(len(r), k - 1))
                for t, r, k in zip(thetas, self.rows, self.actions)]

    def _thetas(self, thetas, complex_ok: bool = False) -> list:
        if len(thetas) != self.n_players:
            raise TypeError(f"{self.name} has {self.n_players} players: give one logit array "
                            f"each, got {len(thetas)}")
        out = []
        for i, (t, d) in enumerate(zip(thetas, self.dims)):
            if complex_ok and np.iscomplexobj(t):
                t = np.asarray(t, dtype=complex)
                if t.ndim == 0 or t.shape[-1] != d or not np.isfinite(t).all():
                    raise ValueError(f"theta{i + 1} must have shape (..., {d}) and finite "
                                     f"entries; got shape {t.shape}")
                out.append(t)
            else:
                out.append(as_params(t, f"theta{i + 1}", d))
        return out

    def points(self, thetas, complex_ok=False):
        """``(shape, flat)``: the broadcast leading shape and each player's logits ``(m, d_i)``."""
        ts = self._thetas(thetas, complex_ok)
        shape = np.broadcast_shapes(*(t.shape[:-1] for t in ts))
        flat = [np.broadcast_to(t, shape + t.shape[-1:]).reshape(-1, t.shape[-1]) for t in ts]
        return shape, flat

    def chain_at(self, tables) -> "ChainAt":
        """The chain at one policy profile (``tables`` from :meth:`tables`)."""
        return ChainAt(self, tables)

    def value(self, *thetas) -> np.ndarray:
        r"""Values :math:`(V_1, \dots, V_n)`, shape ``(..., n)``, broadcasting leading axes.

        One sparse LU per point (or ``T`` sparse products with a horizon).
        Complex logits give complex values (for complex-step differentiation).

        Examples
        --------
        >>> from lola_sym.games import coin_game
        >>> g = coin_game(2)
        >>> v = g.value(np.zeros(g.dims[0]), np.zeros(g.dims[1]))
        >>> bool(abs(v[0] - v[1]) < 1e-12)       # the game is symmetric, and so is the play
        True
        """
        shape, flat = self.points(thetas, complex_ok=True)
        cplx = any(np.iscomplexobj(t) for t in flat)
        out = np.empty((len(flat[0]), self.n_players), dtype=complex if cplx else float)
        with np.errstate(over="ignore", invalid="ignore"):      # reported below
            for p in range(len(flat[0])):
                out[p] = self.chain_at(self.tables(*(t[p] for t in flat))).solve()
        bad = ~np.isfinite(out).all(axis=-1)
        if bad.any():
            raise ValueError(f"the values of {self.name} are not finite at point "
                             f"{np.unravel_index(int(np.argmax(bad)), shape) or 'given'}: they "
                             f"overflow double precision; rescale the rewards")
        return out.reshape(shape + (self.n_players,))

    def average_reward(self, *thetas) -> np.ndarray:
        r"""Average reward per step: :math:`(1 - \gamma) V`, or with a horizon
        :math:`V (1 - \gamma) / (1 - \gamma^T)` (the discount-weighted mean), ``(..., n)``."""
        return self.value(*thetas) * self.reward_scale

    @property
    def reward_scale(self) -> float:
        r"""The factor from values to average rewards per step (:meth:`average_reward`)."""
        g = float(self.gamma)
        if self.horizon is None:
            return 1.0 - g
        return 1.0 / self.horizon if g == 1.0 else (1.0 - g) / (1.0 - g ** self.horizon)

    def statistics(self, *thetas) -> dict:
        """Expected discounted totals of every counter (e.g. coins picked up), ``{name: (...)}``.

        Computed like the values (the counters are rewards that nobody receives),
        with one factorisation per point.
        """
        if not self.counters:
            return {}
        shape, flat = self.points(thetas)
        out = np.empty((len(flat[0]), len(self.counters)))
        for p in range(len(flat[0])):
            chain = self.chain_at(self.tables(*(t[p] for t in flat)))
            extra = np.stack([np.einsum("sa,sa->s", chain.joint, c) for _, c in self.counters])
            out[p] = chain.solve(extra)
        return {name: out[:, j].reshape(shape) for j, (name, _) in enumerate(self.counters)}

    def __repr__(self) -> str:
        h = "discounted" if self.horizon is None else f"horizon={self.horizon}"
        return (f"MarkovGame({self.name!r}, players={self.n_players}, actions={self.actions}, "
                f"states={self.n_states}, gamma={self.gamma}, {h})")


def _check_distribution(groups, p, n_groups, what):
    mass = np.bincount(groups, weights=p, minlength=n_groups)
    bad = np.flatnonzero(np.abs(mass - 1.0) > PROBABILITY_TOL)
    if len(bad):
        raise ValueError(f"the probabilities of {what(int(bad[0]))} sum to {mass[bad[0]]:.17g}, "
                         f"not one ({len(bad)} such)")


def _index_array(x, nm, hi, length=None):
    x = np.asarray(x)
    if x.ndim != 1 or (length is not None and len(x) != length):
        raise ValueError(f"{nm} must be a 1-d array of {length if length else 'equal'} length, "
                         f"got shape {x.shape}")
    if len(x) and (x.dtype.kind not in "iu" or x.min() < 0 or x.max() >= hi):
        raise ValueError(f"{nm} must hold ints in [0, {hi})")
    return x.astype(np.int64)


def _probabilities(p, nm):
    p = np.asarray(p, dtype=float)
    if p.ndim != 1 or not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"{nm} must be a 1-d array of probabilities in [0, 1]")
    return p


def markov(actions, start, transitions, rewards, gamma, *, chance=None, views=None,
           rows=None, labels=None, horizon=None, counters=None, ordering: str = "COLAMD",
           name: str = "Markov game", construction=None) -> MarkovGame:
    r"""A Markov game, validated.

    Parameters
    ----------
    actions : sequence of int
        Number of actions of each player (2 or more players, 2 or more actions).
    start : array_like, shape (S,)
        Start distribution (non-negative, summing to one within
        :data:`PROBABILITY_TOL`).
    transitions : tuple of array_like
        ``(state, joint, next, prob)`` of equal length: every ``(state, joint)``
        pair's next-state probabilities, summing to one; ``next = S + z`` is the
        chance node ``z``.
    rewards : array_like, shape (n, S, A)
        Rewards of each player for each state and joint action (maximised).
    gamma : number
        Discount: in (0, 1) for the discounted value (at most ``1 - 1e-6``),
        in (0, 1] with a horizon.
    chance : tuple of array_like, optional
        ``(node, next, prob)``: each chance node's distribution over the states.
    views : sequence of array_like of int, optional
        Per player, the policy row of each state (default: one row per state).
        Every row must be used.
    rows : sequence of sequence of str, optional
        Per player, labels of its rows (default ``s0, s1, ...``).
    labels : sequence of sequence of str, optional
        Action labels per player (default ``a0, a1, ...``).
    horizon : int, optional
        Episode length ``T``; ``None`` for the infinite-horizon discounted value.
    counters : mapping of str to array_like (S, A), optional
        Quantities whose expected discounted totals :meth:`MarkovGame.statistics` returns.
    ordering : str
        SuperLU's column ordering (:data:`ORDERINGS`).
    name : str
    construction : dict, optional
        JSON-able description of how the game was built.

    Examples
    --------
    >>> # a one-state game that is the one-shot prisoner's dilemma repeated forever
    >>> R = np.array([[[-1, -3, 0, -2]], [[-1, 0, -3, -2]]], dtype=float)
    >>> g = markov((2, 2), [1.0], ([0] * 4, [0, 1, 2, 3], [0] * 4, [1.0] * 4), R, "0.9")
    >>> g.dims, [round(float(x), 9) for x in g.value(np.full(1, 30.0), np.full(1, 30.0))]
    ((1, 1), [-10.0, -10.0])
    >>> markov((2, 2), [0.5], ([0] * 4, [0, 1, 2, 3], [0] * 4, [1.0] * 4), R, "0.9")
    Traceback (most recent call last):
    ...
    ValueError: the start distribution must sum to one, got 0.5
    """
    if isinstance(actions, (str, bytes)) or not hasattr(actions, "__len__"):
        raise TypeError("actions must be a sequence of one number of actions per player")
    actions = tuple(check_int(k, "number of actions", 2) for k in actions)
    n = len(actions)
    if n < 2:
        raise ValueError(f"a Markov game has at least 2 players, got {n}")
    A = int(np.prod(actions))
    if A > MAX_JOINT_ACTIONS:
        raise ValueError(f"{A} joint actions exceed the limit {MAX_JOINT_ACTIONS}")
    start = np.asarray(start, dtype=float)
    if start.ndim != 1 or len(start) == 0:
        raise ValueError(f"start must be a 1-d distribution over the states, got shape "
                         f"{start.shape}")
    S = len(start)
    if not np.isfinite(start).all() or (start < 0).any():
        raise ValueError("the start distribution must be finite and non-negative")
    if abs(start.sum() - 1.0) > PROBABILITY_TOL:
        raise ValueError(f"the start distribution must sum to one, got {start.sum():.17g}")
    chance = ((), (), ()) if chance is None else chance
    if not (isinstance(chance, (tuple, list)) and len(chance) == 3):
        raise TypeError("chance must be a tuple (node, next, prob) of arrays")
    cprob = _probabilities(chance[2], "chance probabilities")
    cnode = _index_array(chance[0], "chance nodes", len(cprob) or 1, len(cprob))
    cnext = _index_array(chance[1], "chance successors", S, len(cprob))
    Z = int(cnode.max()) + 1 if len(cnode) else 0
    if Z and len(np.unique(cnode)) != Z:
        raise ValueError(f"the chance nodes must be numbered 0..{Z - 1} without gaps")
    _check_distribution(cnode, cprob, Z, lambda z: f"chance node {z}")
    if not (isinstance(transitions, (tuple, list)) and len(transitions) == 4):
        raise TypeError("transitions must be a tuple (state, joint, next, prob) of arrays")
    p = _probabilities(transitions[3], "transition probabilities")
    s = _index_array(transitions[0], "transition states", S, len(p))
    a = _index_array(transitions[1], "transition joint actions", A, len(p))
    nxt = _index_array(transitions[2], "transition successors (states, then chance nodes)",
                       S + Z, len(p))
    _check_distribution(s * A + a, p, S * A,
                        lambda j: f"state {j // A} under joint action {j % A}")
    rewards = np.asarray(rewards, dtype=float)
    if rewards.shape != (n, S, A):
        raise ValueError(f"rewards must have shape (players, states, joint actions) = "
                         f"{(n, S, A)}, got {rewards.shape}")
    if not np.isfinite(rewards).all():
        raise ValueError("rewards must be finite")
    gamma = as_rational(gamma, "gamma")
    if horizon is not None:
        horizon = check_int(horizon, "horizon", 1)
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must lie in (0, 1] with a horizon, got {gamma}")
    elif not 0 < gamma < 1:
        raise ValueError(f"gamma must lie in the open interval (0, 1) without a horizon, got "
                         f"{gamma}")
    elif 1 - gamma < MIN_ONE_MINUS_GAMMA:
        raise ValueError(f"gamma is too close to 1 for the discounted value: choose "
                         f"1 - gamma >= {MIN_ONE_MINUS_GAMMA:g}, or a horizon")
    if views is None:
        views = [np.arange(S)] * n
    if len(views) != n:
        raise ValueError(f"views must give one array per player ({n}), got {len(views)}")
    views = [np.asarray(v) for v in views]
    if rows is None:
        rows = [tuple(f"s{j}" for j in range(int(v.max()) + 1)) for v in views]
    rows = tuple(tuple(str(x) for x in r) for r in rows)
    if len(rows) != n:
        raise ValueError(f"rows must give one tuple of labels per player ({n}), got {len(rows)}")
    for i, (v, r) in enumerate(zip(views, rows)):
        if v.shape != (S,) or v.dtype.kind not in "iu":
            raise ValueError(f"the view of player {i + 1} must be {S} ints, got {v.shape}")
        if v.min() < 0 or v.max() >= len(r) or len(np.unique(v)) != len(r):
            raise ValueError(f"the view of player {i + 1} must use each of its {len(r)} rows")
        if len(set(r)) != len(r):
            raise ValueError(f"the row labels of player {i + 1} must be distinct")
    if labels is None:
        labels = [tuple(f"a{j}" for j in range(k)) for k in actions]
    labels = tuple(tuple(str(x) for x in lab) for lab in labels)
    if len(labels) != n or any(len(lab) != k for lab, k in zip(labels, actions)):
        raise ValueError(f"labels must give {list(actions)} action names per player")
    out_counters = []
    for cname, table in (counters or {}).items():
        table = np.asarray(table, dtype=float)
        if table.shape != (S, A) or not np.isfinite(table).all():
            raise ValueError(f"counter {cname!r} must be a finite table of shape {(S, A)}")
        out_counters.append((str(cname), _frozen(table, float)))
    if ordering not in ORDERINGS:
        raise ValueError(f"ordering must be one of {ORDERINGS}, got {ordering!r}")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    construction = dict(construction or {})
    json.dumps(construction)                            # refuses what is not JSON-able
    return MarkovGame(name, actions, gamma, horizon, _frozen(start, float),
                      tuple(_frozen(x, d) for x, d in ((s, np.int64), (a, np.int64),
                                                       (nxt, np.int64), (p, float))),
                      (_frozen(cnode, np.int64), _frozen(cnext, np.int64), _frozen(cprob, float)),
                      _frozen(rewards, float), tuple(_frozen(v, np.int64) for v in views),
                      rows, labels, tuple(out_counters), ordering, construction)
