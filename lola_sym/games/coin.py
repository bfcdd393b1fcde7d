r"""The coin game of the LOLA paper (Sec. 5.2) as an exact Markov game.

Two agents, red (player 1) and blue (player 2), walk on a ``side x side``
torus. There is one coin at a time, red or blue. Every step both agents move
at once, one cell right, left, down or up (``R, L, D, U``, the order of the
release code's ``MOVES``), wrapping around the edges. An agent that ends the
step on the coin's cell picks it up and gets ``pickup`` (+1); when the coin
was the other agent's colour, that agent gets ``penalty`` (-2). A picked-up
coin reappears at once, uniformly at random on the allowed cells, with the
other colour. Rewards are maximised; :math:`\gamma = 0.96` (paper).

The state is (red's cell, blue's cell, the coin's cell, the coin's colour):
at most :math:`\text{side}^6 \cdot 2` states (1,458 on the 3x3 board; 1,152
when the coin never lies under an agent). Policies are tabular: every agent
has one row of 3 logits per state it can see, a softmax over its 4 moves with
``U`` the reference (logit 0), the package's convention. Each agent reads the
state from its own perspective, ``(my cell, other's cell, coin's cell, mine or
theirs)``, so that one logit vector is the same strategy for either agent
(the row labels are ``me(r,c) op(r,c) coin(r,c) mine|theirs``). Tabular
policies make this only a relabelling of the rows.

Choices the paper leaves open, and where each default comes from
-------------------------------------------------------------------
``share_cells`` (default True)
    Whether both agents may stand on one cell. The release code
    (``alshedivat/lola``, ``lola/envs/coin_game.py``) and POLA
    (``Silent-Zebra/POLA``, ``jax_files/coin_game_jax.py``) both let them.
    With False (no source has this rule; ours): when both would end the step
    on one cell, neither moves.
``respawn_under_agents`` (default False)
    Whether the coin may (re)appear under an agent. Both codes place it on a
    cell free of both agents (``_generate_coin``, ``generate_coins``). With
    True it is uniform over every cell; an agent standing on the coin picks it
    up only by ending a step there (it cannot stay, except when blocked).
``both_reach`` (default ``"split"``)
    Who gets the coin when both agents end the step on it.
    ``"split"``: a fair split, half of the coin to each (each gets
    ``pickup / 2``, and the owner ``penalty / 2`` for the other's half); the
    values equal those of a fair coin flip deciding the picker, since the
    respawn does not depend on who picked. ``"red"``: red always gets it, the
    release code's ``if/elif`` (alshedivat/lola issue #9). ``"both"``: each
    gets the full coin and the owner pays the penalty for the other's pickup,
    POLA's ``step``.
``variant`` (default ``"lola"``)
    The start state. ``"lola"``: the agents on two different cells, uniformly
    (release ``reset``); ``"pola"``: each agent on a uniform cell,
    independently, possibly the same (POLA's ``reset``), and ``both_reach``
    defaults to ``"both"``. Either way the coin starts on an allowed cell,
    uniformly, with a uniform colour.
``horizon`` (default None: the infinite-horizon discounted value)
    The paper trains on episodes of 150 steps, POLA on 50; give
    ``horizon=150`` for the paper's finite episodes (:math:`\gamma^{150} =
    0.0022`, so the two values differ by about that fraction).

The game carries counters of the coins picked up (``own_1``, ``other_1``,
``own_2``, ``other_2``: by agent 1 or 2, of its own or the other's colour,
halves under ``"split"``), whose expected discounted totals
:meth:`~lola_sym.games.markov.MarkovGame.statistics` gives exactly.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 5.2.
.. [2] Zhao, S. et al. (2022). Proximal Learning With Opponent-Learning
   Awareness. NeurIPS. arXiv:2210.10125 (the coin game of its Fig. 5).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from lola_sym._validation import as_rational, check_int
from lola_sym.games.markov import MarkovGame, markov

__all__ = ["coin_game", "MOVES", "MOVE_LABELS", "BOTH_REACH", "VARIANTS", "MAX_SIDE"]

#: The four moves as (row, column) steps: right, left, down, up (the release code's order).
MOVES = ((0, 1), (0, -1), (1, 0), (-1, 0))
MOVE_LABELS = ("R", "L", "D", "U")
#: Rules for a coin that both agents reach in one step.
BOTH_REACH = ("split", "red", "both")
VARIANTS = ("lola", "pola")
#: Largest board side: side 5 has 28,800 states and an LU of about 20 million entries
#: (5 s); side 6 (88,200 states) would not fit the memory of a laptop.
MAX_SIDE = 5


def _cell_label(c, side):
    return f"({c // side},{c % side})"


def coin_game(side: int = 3, *, variant: str = "lola", share_cells: bool = True,
              respawn_under_agents: bool = False, both_reach: str | None = None,
              gamma="0.96", horizon: int | None = None, pickup=1, penalty=-2) -> MarkovGame:
    r"""The coin game on a ``side x side`` torus (see the module notes for every choice).

    Parameters
    ----------
    side : int
        Board side, 2 to :data:`MAX_SIDE` (the paper's board is 3).
    variant : {"lola", "pola"}
        Start state (and the default of ``both_reach``): the release code's or POLA's.
    share_cells : bool
        Whether both agents may stand on one cell.
    respawn_under_agents : bool
        Whether the coin may appear under an agent.
    both_reach : {"split", "red", "both"}, optional
        Who gets a coin both agents reach: default ``"split"`` (``"both"`` for POLA).
    gamma : number
        Discount (0.96 in the paper and in POLA).
    horizon : int, optional
        Episode length (150 in the paper); None for the discounted infinite horizon.
    pickup, penalty : number
        Reward of the picker (+1) and of the owner of a coin the other agent picks (-2).

    Returns
    -------
    MarkovGame

    Examples
    --------
    >>> g = coin_game()
    >>> g.n_states, g.dims, g.labels[0]
    (1152, (3456, 3456), ('R', 'L', 'D', 'U'))
    >>> g.state_labels(1)[0]
    'me(0,1) op(0,1) coin(0,0) mine'
    >>> coin_game(2, respawn_under_agents=True).n_states        # 4^3 * 2
    128
    >>> coin_game(both_reach="blue")
    Traceback (most recent call last):
    ...
    ValueError: both_reach must be one of ('split', 'red', 'both'), got 'blue'
    """
    side = check_int(side, "side", 2)
    if side > MAX_SIDE:
        raise ValueError(f"side must be 2..{MAX_SIDE}, got {side}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    for nm, flag in (("share_cells", share_cells), ("respawn_under_agents", respawn_under_agents)):
        if not isinstance(flag, bool):
            raise TypeError(f"{nm} must be a bool, got {type(flag).__name__}")
    if both_reach is None:
        both_reach = "both" if variant == "pola" else "split"
    if both_reach not in BOTH_REACH:
        raise ValueError(f"both_reach must be one of {BOTH_REACH}, got {both_reach!r}")
    if variant == "pola" and not share_cells:
        raise ValueError("POLA's variant starts both agents independently, possibly on one "
                         "cell: it needs share_cells=True")
    pickup, penalty = as_rational(pickup, "pickup"), as_rational(penalty, "penalty")
    N = side * side
    cells = np.arange(N)
    rc = np.stack([cells // side, cells % side], axis=1)
    step = np.empty((N, 4), dtype=np.int64)
    for m, (dr, dc) in enumerate(MOVES):
        step[:, m] = ((rc[:, 0] + dr) % side) * side + (rc[:, 1] + dc) % side

    # admissible states (c = coin's cell, k = 0 red coin / 1 blue coin, x = red's, y = blue's),
    # numbered with the coin outermost: the LU then eliminates one coin position at a time
    c, k, x, y = (a.ravel() for a in np.meshgrid(cells, (0, 1), cells, cells, indexing="ij"))
    ok = np.ones(len(x), dtype=bool)
    if not share_cells:
        ok &= x != y
    if not respawn_under_agents:
        ok &= (c != x) & (c != y)
    c, k, x, y = c[ok], k[ok], x[ok], y[ok]
    S = len(x)
    index = np.full((N, 2, N, N), -1, dtype=np.int64)
    index[c, k, x, y] = np.arange(S)
    # agent 2's own view of state (c, k, x, y) is the state (c, 1 - k, y, x)
    views = [np.arange(S), index[c, 1 - k, y, x]]
    rows = tuple(f"me{_cell_label(a, side)} op{_cell_label(b, side)} coin{_cell_label(q, side)} "
                 f"{'mine' if o == 0 else 'theirs'}" for a, b, q, o in zip(x, y, c, k))

    # every (state, joint action): moves, pickups and rewards
    A = 16
    s_all = np.repeat(np.arange(S), A)
    m1, m2 = np.tile(np.repeat(np.arange(4), 4), S), np.tile(np.arange(4), 4 * S)
    X, Y, C, K = x[s_all], y[s_all], c[s_all], k[s_all]
    X2, Y2 = step[X, m1], step[Y, m2]
    if not share_cells:
        blocked = X2 == Y2
        X2, Y2 = np.where(blocked, X, X2), np.where(blocked, Y, Y2)
    hit1, hit2 = X2 == C, Y2 == C
    both = hit1 & hit2
    # share of the coin each agent takes
    if both_reach == "split":
        take1 = np.where(both, 0.5, hit1.astype(float))
        take2 = np.where(both, 0.5, hit2.astype(float))
    elif both_reach == "red":
        take1, take2 = hit1.astype(float), (hit2 & ~hit1).astype(float)
    else:
        take1, take2 = hit1.astype(float), hit2.astype(float)
    red_coin = K == 0
    p, q = float(pickup), float(penalty)
    r1 = p * take1 + q * np.where(red_coin, take2, 0.0)
    r2 = p * take2 + q * np.where(red_coin, 0.0, take1)
    counters = {"own_1": np.where(red_coin, take1, 0.0), "other_1": np.where(red_coin, 0.0, take1),
                "own_2": np.where(red_coin, 0.0, take2), "other_2": np.where(red_coin, take2, 0.0)}

    # the coin stays, or the step ends in a chance node (the agents' cells and the new
    # colour) from which the coin reappears uniformly on an allowed cell
    picked = hit1 | hit2
    landing = (X2 * N + Y2) * 2 + (1 - K)
    used, node_of = np.unique(landing[picked], return_inverse=True)
    nxt = index[C, K, X2, Y2]
    nxt[picked] = S + node_of
    lx, ly, lk = used // 2 // N, used // 2 % N, used % 2
    free = np.ones((len(used), N), dtype=bool)
    if not respawn_under_agents:
        free[np.arange(len(used)), lx] = False
        free[np.arange(len(used)), ly] = False
    node, cell = np.nonzero(free)
    chance = (node, index[cell, lk[node], lx[node], ly[node]], 1.0 / free.sum(axis=1)[node])
    if (nxt < 0).any() or (chance[1] < 0).any():     # a successor outside the admissible states
        raise AssertionError("coin game: a successor state is not admissible")

    # start: agents (distinct for "lola"), a coin on an allowed cell, a uniform colour
    start = np.zeros(S)
    for a in cells:
        for b in cells:
            if (variant == "lola" or not share_cells) and a == b:
                continue
            allowed = [q_ for q_ in cells if respawn_under_agents or q_ not in (a, b)]
            for q_ in allowed:
                for o in (0, 1):
                    start[index[q_, o, a, b]] += 1.0 / len(allowed) / 2
    start /= start.sum()

    rewards = np.stack([r1.reshape(S, A), r2.reshape(S, A)])
    options = {"side": side, "variant": variant, "share_cells": share_cells,
               "respawn_under_agents": respawn_under_agents, "both_reach": both_reach,
               "pickup": str(pickup), "penalty": str(penalty)}
    name = f"coin game {side}x{side}" + ("" if variant == "lola" else " (POLA)")
    return markov((4, 4), start, (s_all, np.tile(np.arange(A), S), nxt, np.ones(S * A)), rewards,
                  sp.Rational(as_rational(gamma, "gamma")), chance=chance, views=views,
                  rows=(rows, rows), ordering="NATURAL",
                  labels=(MOVE_LABELS, MOVE_LABELS), horizon=horizon,
                  counters={nm: t.reshape(S, A) for nm, t in counters.items()}, name=name,
                  construction={"coin_game": options})
