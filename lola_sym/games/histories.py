r"""Joint actions, histories and each player's own-perspective states.

A *joint action* is a tuple ``(a_1, ..., a_n)`` of action indices, listed in
C order (player 1's action varies slowest). A *history* is a tuple of the last
``l`` joint actions, oldest first. Player ``i`` reads a joint action from its
own perspective: its own action first, then the others in cyclic order from the
next player, :math:`(a_i, a_{i+1}, \dots, a_n, a_1, \dots, a_{i-1})`. Its
states are the histories of length ``0..m`` so read (length 0 is the start
state ``s0``; shorter histories are the start states of memory ``m``). With
this convention a symmetric strategy is the same parameter vector for every
player, and for 2 players and memory 1 the states are today's
``s0, CC, CD, DC, DD``.

Examples
--------
>>> shape = StateSpace((2, 2), memory=1, labels=(("C", "D"), ("C", "D")))
>>> shape.state_labels(0)
('s0', 'CC', 'CD', 'DC', 'DD')
>>> shape.state_of(1, ((1, 0),))   # player 2 after agent 1 defected, agent 2 cooperated
2
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import product

__all__ = ["StateSpace", "own_view", "default_labels"]


def own_view(joint: tuple, player: int) -> tuple:
    """Joint action ``joint`` read by ``player`` (0-based): own action first, then cyclic.

    Examples
    --------
    >>> own_view((0, 1, 2), 1)
    (1, 2, 0)
    """
    return tuple(joint[player:]) + tuple(joint[:player])


def default_labels(k: int) -> tuple:
    """Action labels: ``("C", "D")`` for two actions, else ``("a0", "a1", ...)``.

    Examples
    --------
    >>> default_labels(2), default_labels(3)
    (('C', 'D'), ('a0', 'a1', 'a2'))
    """
    return ("C", "D") if k == 2 else tuple(f"a{j}" for j in range(k))


@dataclass(frozen=True)
class StateSpace:
    """The joint actions, histories and per-player states of a repeated game.

    Parameters
    ----------
    actions : tuple of int
        Number of actions of each player.
    memory : int
        How many past joint actions a policy sees.
    labels : tuple of tuple of str
        Action labels of each player.
    """

    actions: tuple
    memory: int
    labels: tuple

    @property
    def n_players(self) -> int:
        """Number of players."""
        return len(self.actions)

    @cached_property
    def joint(self) -> tuple:
        """All joint actions, player 1's action varying slowest."""
        return tuple(product(*(range(k) for k in self.actions)))

    def histories(self, length: int) -> tuple:
        """All histories of ``length`` joint actions (agent-1-first), oldest first."""
        return tuple(product(self.joint, repeat=length))

    @cached_property
    def _states(self) -> tuple:
        """Per player: the own-view histories of lengths 0..memory, in layout order."""
        out = []
        for i in range(self.n_players):
            view = own_view(self.actions, i)
            joints = tuple(product(*(range(k) for k in view)))
            out.append(tuple(h for length in range(self.memory + 1)
                             for h in product(joints, repeat=length)))
        return tuple(out)

    @cached_property
    def _index(self) -> tuple:
        return tuple({h: j for j, h in enumerate(states)} for states in self._states)

    def n_states(self, player: int) -> int:
        """Number of states of ``player`` (0-based): sum of J^l for l = 0..memory."""
        return len(self._states[player])

    def state_of(self, player: int, history: tuple) -> int:
        """Index of ``player``'s state after the agent-1-first ``history`` (last ``memory`` kept)."""
        history = tuple(history)[len(history) - min(len(history), self.memory):] \
            if self.memory else ()
        return self._index[player][tuple(own_view(a, player) for a in history)]

    def joint_label(self, joint: tuple, player: int = 0) -> str:
        """Label of a joint action read by ``player``: e.g. ``"CD"`` (own action first)."""
        order = own_view(tuple(range(self.n_players)), player)
        parts = [self.labels[p][a] for p, a in zip(order, own_view(joint, player))]
        return "".join(parts) if all(len(x) == 1 for x in parts) else "/".join(parts)

    def history_label(self, history: tuple, player: int = 0) -> str:
        """Label of an agent-1-first history as ``player`` reads it; ``"s0"`` when empty."""
        if not history:
            return "s0"
        return ",".join(self.joint_label(a, player) for a in history)

    def state_labels(self, player: int) -> tuple:
        """Labels of ``player``'s states in layout order (own perspective)."""
        view = own_view(tuple(range(self.n_players)), player)
        inverse = [view.index(p) for p in range(self.n_players)]
        out = []
        for h in self._states[player]:
            # an own-view history back to agent-1-first order, then labelled by the player
            agent_first = tuple(tuple(a[inverse[p]] for p in range(self.n_players)) for a in h)
            out.append(self.history_label(agent_first, player))
        return tuple(out)

    def param_labels(self, player: int) -> tuple:
        """Labels of ``player``'s logits: one per state for two actions, else ``state:action``.

        With ``k`` actions a state has ``k - 1`` logits; the last action is the
        reference (logit 0).
        """
        states = self.state_labels(player)
        k = self.actions[player]
        if k == 2:
            return states
        return tuple(f"{s}:{self.labels[player][a]}" for s in states for a in range(k - 1))
