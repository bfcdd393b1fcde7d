r"""The Markov chain of a repeated game and its exact value program: one builder.

The chain's states are the histories of the last ``1..m`` joint actions
(agent-1-first; the reward of a state is that of its last joint action). The
first move is drawn from the start state ``s0``; histories shorter than ``m``
are transient, visited once each. With :math:`q_l` the distribution of the
history after the ``l``-th move (:math:`l \le m`) and :math:`P` the transitions
among the full-length histories,

.. math::

    V_i = \sum_{l=1}^{m-1} \gamma^{l-1} q_l^\top r_i
          + \gamma^{m-1} q_m^\top (I - \gamma P)^{-1} r_i ,

and with memory 0 (a repeated game with stationary mixed strategies)
:math:`V_i = \pi^\top R_i / (1 - \gamma)`. For two players with memory 1 this
is :math:`p_0^\top (I - \gamma P)^{-1} r_i` of the LOLA paper, Sec. 4.1.

:func:`transitions` is written once over any arithmetic (sympy expressions or
numpy arrays of probabilities): the value program and the numeric chain of
:func:`lola_sym.sampling.markov.chain` both use it.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1.
"""

from __future__ import annotations

from functools import reduce
from operator import mul
from typing import Any

import sympy as sp

from lola_sym.program import Program, sigmoid, softmax

__all__ = ["transitions", "first_move", "value_program"]


def _joint_weight(space, prob, history, joint):
    """Probability of ``joint`` after ``history``: the product of the players' own choices."""
    return reduce(mul, [prob(i, space.state_of(i, history), a) for i, a in enumerate(joint)])


def first_move(space, prob) -> dict:
    """``{(joint,): weight}``: the distribution of the first move (from ``s0``).

    Examples
    --------
    >>> import sympy as sp
    >>> from lola_sym.games import ipd
    >>> first_move(ipd().as_repeated().space, lambda i, state, action: sp.Rational(1, 2))
    {((0, 0),): 1/4, ((0, 1),): 1/4, ((1, 0),): 1/4, ((1, 1),): 1/4}
    """
    return {(a,): _joint_weight(space, prob, (), a) for a in space.joint}


def transitions(space, prob, history) -> dict:
    """``{next_history: weight}`` from ``history`` (its last ``max(memory, 1)`` joint actions
    kept: with memory 0 the state is the last joint action, whose reward it carries).

    ``prob(i, state, action)`` is player ``i``'s (0-based) probability of ``action``
    in its state index ``state``; it may return sympy expressions or numpy arrays.

    Examples
    --------
    Both players cooperate (action 0) with probability 1/4 in every state: each
    next joint action has the product weight, and the weights sum to 1.

    >>> import sympy as sp
    >>> from lola_sym.games import ipd
    >>> space = ipd().as_repeated().space
    >>> prob = lambda i, state, action: sp.Rational(1, 4) if action == 0 else sp.Rational(3, 4)
    >>> transitions(space, prob, ((0, 0),))
    {((0, 0),): 1/16, ((0, 1),): 3/16, ((1, 0),): 3/16, ((1, 1),): 9/16}
    """
    out = {}
    keep = max(space.memory, 1)                 # memory 0: the last joint action (its reward)
    for a in space.joint:
        nxt = (tuple(history) + (a,))[-keep:]
        out[nxt] = _joint_weight(space, prob, history, a)
    return out


def _policy_steps(game):
    """Steps of every player's action probabilities; ``prob(i, state, action)`` symbols."""
    steps, table = [], []
    for i, theta in enumerate(game.theta):
        k = game.actions[i]
        labels = game.space.state_labels(i)
        rows = []
        if k == 2:
            for s, lab in enumerate(labels):
                p = sp.Symbol(f"p_{i + 1},{lab}", positive=True)
                pb = sp.Symbol(f"pbar_{i + 1},{lab}", positive=True)
                steps += [(p, sigmoid(theta[s])), (pb, sigmoid(-theta[s]))]
                rows.append((p, pb))
        else:
            acts = game.labels[i]
            for s, lab in enumerate(labels):
                x = theta[s * (k - 1):(s + 1) * (k - 1)]
                row = []
                for a in range(k):
                    sym = sp.Symbol(f"pi_{i + 1},{lab}:{acts[a]}", positive=True)
                    steps.append((sym, softmax(a, *x)))
                    row.append(sym)
                rows.append(tuple(row))
        table.append(rows)
    return steps, (lambda i, s, a: table[i][s][a])


def value_program(game) -> Program:
    r"""The exact value program of a repeated game: outputs :math:`(V_1, \dots, V_n)`.

    Steps: the policies (sigmoid for two actions, :class:`~lola_sym.program.softmax`
    otherwise), the transient distributions, the entries of
    :math:`A = (I - \gamma P)^\top` that are not structurally zero, Gaussian
    elimination of :math:`A u = q_m` without pivoting (:math:`A` is strictly
    column diagonally dominant, every pivot is at least :math:`1 - \gamma`;
    pivots are inverted once so that derived programs multiply), and the values.
    Inputs: the logits of every player, then the game's free symbols (payoffs,
    discount) sorted by name.

    Examples
    --------
    >>> from lola_sym.games import rps
    >>> value_program(rps()).outputs
    (V_1, V_2)
    """
    space, gamma, m = game.space, game.gamma, game.memory
    steps, prob = _policy_steps(game)
    n = game.n_players
    rewards = [dict(zip(space.joint, game.payoff_vector(i))) for i in range(n)]
    outs = [sp.Symbol(f"V_{i + 1}") for i in range(n)]
    inputs = tuple(t for th in game.theta for t in th) + tuple(game.parameters)
    if m == 0:
        w = []
        for j, a in enumerate(space.joint):
            sym = sp.Symbol(f"w_{space.joint_label(a)}")
            steps.append((sym, _joint_weight(space, prob, (), a)))
            w.append((a, sym))
        for i in range(n):
            steps.append((outs[i], sp.Add(*[s * rewards[i][a] for a, s in w]) / (1 - gamma)))
        return Program.from_steps(inputs, steps).with_outputs(outs)
    # transient histories: q_1 (first move), ..., q_m
    q = first_move(space, prob)
    transient = [0] * n
    for length in range(1, m):
        for i in range(n):
            transient[i] += gamma ** (length - 1) * sp.Add(*[w * rewards[i][h[-1]]
                                                              for h, w in q.items()])
        nxt: dict[tuple, Any] = {}
        for h, w in q.items():
            for h2, t in transitions(space, prob, h).items():
                nxt[h2] = nxt.get(h2, 0) + w * t
        q = {}
        for h, e in nxt.items():
            sym = sp.Symbol(f"q{length + 1}_{space.history_label(h)}")
            steps.append((sym, e))
            q[h] = sym
    full = space.histories(m)
    N = len(full)
    index = {h: j for j, h in enumerate(full)}
    lab = [space.history_label(h) for h in full]
    sep = "," if m == 1 else ";"
    P = [[0] * N for _ in range(N)]                 # P[k][j]: from full[k] to full[j]
    for k, h in enumerate(full):
        for h2, t in transitions(space, prob, h).items():
            P[k][index[h2]] = t
    A = [[0] * N for _ in range(N)]
    for j in range(N):
        for k in range(N):
            e = (1 if j == k else 0) - gamma * P[k][j]
            if e != 0:
                sym = sp.Symbol(f"A_{lab[j]}{sep}{lab[k]}")
                steps.append((sym, e))
                A[j][k] = sym
    name = (lambda i, k: f"{i}{k}") if N <= 10 else (lambda i, k: f"{i}_{k}")
    L = [[0] * N for _ in range(N)]
    inv: list[sp.Symbol] = []
    for k in range(N):
        inv.append(sp.Symbol(f"ipiv_{k}"))
        steps.append((inv[k], 1 / A[k][k]))
        for i in range(k + 1, N):
            if A[i][k] == 0:
                continue
            L[i][k] = sp.Symbol(f"L_{name(i, k)}")
            steps.append((L[i][k], A[i][k] * inv[k]))
            for j in range(k + 1, N):
                if A[k][j] == 0:
                    continue
                sym = sp.Symbol(f"U{k + 1}_{name(i, j)}")
                steps.append((sym, A[i][j] - L[i][k] * A[k][j]))
                A[i][j] = sym
    y: list[sp.Symbol] = []
    for i in range(N):
        sym = sp.Symbol(f"y_{i}")
        steps.append((sym, q.get(full[i], 0) - sp.Add(*[L[i][k] * y[k] for k in range(i)
                                                        if L[i][k] != 0])))
        y.append(sym)
    u: dict[int, sp.Symbol] = {}                      # filled from the last index back
    for i in reversed(range(N)):
        sym = sp.Symbol(f"u_{lab[i]}")                 # discounted visitation
        steps.append((sym, (y[i] - sp.Add(*[A[i][j] * u[j] for j in range(i + 1, N)
                                             if A[i][j] != 0])) * inv[i]))
        u[i] = sym
    for i in range(n):
        recurrent = sp.Add(*[u[j] * rewards[i][full[j][-1]] for j in range(N)])
        steps.append((outs[i], transient[i] + gamma ** (m - 1) * recurrent))
    return Program.from_steps(inputs, steps).with_outputs(outs)
