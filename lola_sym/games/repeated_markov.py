r"""Repeated games as Markov games: the bridge from the compiled path to the adjoint path.

:func:`markov_of` turns a :class:`~lola_sym.games.RepeatedGame` (or an
:class:`~lola_sym.games.IteratedGame`) into a
:class:`~lola_sym.games.markov.MarkovGame` with the same states, layout and
values. Two uses:

* a repeated game whose chain is too large for the symbolic program (more
  than :data:`~lola_sym.games.repeated.MAX_EXACT_STATES` states) is computed
  through it: its ``value`` and :func:`lola_sym.update_field` go to the
  sparse adjoint path (:mod:`lola_sym.adjoint`);
* on the games where both paths apply, the adjoint path is checked against
  the compiled symbolic one (the tests do, to 1e-12).
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from lola_sym.games.markov import MarkovGame, markov

__all__ = ["markov_of"]


@lru_cache(maxsize=64)
def _cached(game) -> MarkovGame:
    return markov_of(game)


def markov_of(game, *, horizon=None) -> MarkovGame:
    r"""A repeated game (or iterated 2x2 game) as a :class:`MarkovGame` with the same values.

    The states are the histories of lengths ``0..m`` (agent-1-first, ``s0``
    first), their successors come from the one chain builder
    (:func:`lola_sym.games.chain.transitions`), the reward of a step is that of
    its joint action, and each player reads a state as its own-perspective
    history (:meth:`~lola_sym.games.histories.StateSpace.state_of`), so the
    logit layout is the game's own. A Markov game is returned as it is (or
    with the given horizon).

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> g = markov_of(ipd())
    >>> g.n_states, g.dims, g.state_labels(2)
    (5, (5, 5), ('s0', 'CC', 'CD', 'DC', 'DD'))
    >>> t1, t2 = np.linspace(-1, 1, 5), np.linspace(2, -2, 5)
    >>> bool(np.allclose(g.value(t1, t2), ipd().value(t1, t2), rtol=1e-13))
    True
    """
    from lola_sym.games.chain import transitions
    if isinstance(game, MarkovGame):
        return game if horizon is None else game.with_horizon(horizon)
    rep = game.as_repeated() if hasattr(game, "as_repeated") else game
    # a RepeatedGame, by what it has (importing the class would close an import cycle:
    # repeated games compute their large chains through this module)
    if not all(hasattr(rep, a) for a in ("space", "memory", "payoff_vector", "is_symbolic")):
        raise TypeError(f"markov_of takes a repeated, iterated or Markov game, got "
                        f"{type(game).__name__}")
    if rep.is_symbolic:
        raise ValueError(f"{rep.name} has symbols {[s.name for s in rep.parameters]}: "
                         f"substitute numbers first (game.substitute(...))")
    space, m, n = rep.space, rep.memory, rep.n_players
    histories = [h for length in range(m + 1) for h in space.histories(length)]
    index = {h: j for j, h in enumerate(histories)}
    joint_index = {a: j for j, a in enumerate(space.joint)}
    s_, a_, n_ = [], [], []
    for j, h in enumerate(histories):
        if m == 0:
            nexts = {(a,): 1 for a in space.joint}          # memory 0: back to s0
        else:
            nexts = transitions(space, lambda i, st, act: 1, h)
        for nxt in nexts:
            s_.append(j)
            a_.append(joint_index[nxt[-1]])
            n_.append(0 if m == 0 else index[nxt])
    S, A = len(histories), len(space.joint)
    pay = np.array([[float(x) for x in rep.payoff_vector(i)] for i in range(n)])
    rewards = np.broadcast_to(pay[:, None, :], (n, S, A))
    views = [np.array([space.state_of(i, h) for h in histories]) for i in range(n)]
    start = np.zeros(S)
    start[0] = 1.0
    return markov(rep.actions, start,
                  (np.array(s_), np.array(a_), np.array(n_), np.ones(len(s_))),
                  rewards, rep.gamma, views=views,
                  rows=[rep.state_labels(i + 1) for i in range(n)], labels=rep.labels,
                  horizon=horizon, name=rep.name,
                  construction={"markov_of": json.loads(json.dumps(rep.spec()))})
