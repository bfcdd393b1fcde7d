r"""Iterated 2x2 matrix games with memory-1 policies (the LOLA paper's games).

A game is a small immutable value: two 2x2 payoff matrices with exact
rational entries (rows = agent 1's action, columns = agent 2's action, the
first action is C / Heads) and a discount :math:`\gamma \in (0, 1)`.
Payoffs are *rewards*, maximised; a loss game is stored as values = -loss.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1 and Table 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from lola_sym._validation import as_rational
from lola_sym.games.repeated import MIN_ONE_MINUS_GAMMA, RepeatedGame
from lola_sym.games.layout import N_PARAMS, STATES, theta_symbols

__all__ = ["IteratedGame", "iterated", "JOINT_STATES", "MIN_ONE_MINUS_GAMMA"]

JOINT_STATES = ("CC", "CD", "DC", "DD")


def _as_matrix(m, name: str) -> tuple:
    if isinstance(m, sp.MatrixBase):
        m = m.tolist()
    try:
        rows = [list(r) for r in m]
    except TypeError:
        raise ValueError(f"{name} must be a 2x2 payoff matrix, got {m!r}") from None
    if len(rows) != 2 or any(len(r) != 2 for r in rows):
        shape = [len(r) for r in rows]
        raise ValueError(f"{name} must be a 2x2 payoff matrix (rows = agent 1's action); "
                         f"got rows of lengths {shape}")
    return tuple(tuple(as_rational(x, f"{name}[{i}][{j}]") for j, x in enumerate(r))
                 for i, r in enumerate(rows))


@dataclass(frozen=True)
class IteratedGame:
    r"""An infinitely repeated 2x2 game with discount ``gamma``.

    Parameters
    ----------
    R1, R2 : 2x2 array-like of numbers
        Rewards of agent 1 and agent 2; ``R[a1][a2]`` for agent 1 playing
        ``a1`` and agent 2 playing ``a2`` (0 = C / Heads, 1 = D / Tails).
        Stored as exact ``sympy.Rational``; floats are read from their
        decimal representation.
    gamma : number
        Discount in the open interval (0, 1), stored exactly.
    name : str
        A label used in reports.

    Notes
    -----
    The value of agent ``i`` is :math:`V_i = p_0^\top (I - \gamma P)^{-1} r_i`
    with :math:`r_i` the rewards over the joint states CC, CD, DC, DD
    (agent 1's action first), :math:`p_0` the first-move distribution and
    :math:`P` the Markov chain of joint actions (Sec. 4.1 of [1]_). The
    "average reward per step" of the paper is :math:`(1 - \gamma) V_i`.

    Examples
    --------
    >>> g = iterated([[3, 0], [5, 1]], [[3, 5], [0, 1]], "0.9")
    >>> g.gamma, g.r1, g.is_symmetric
    (9/10, (3, 0, 5, 1), True)
    >>> iterated([[1, 2], [3, 4]], [[1, 2], [3, 4]], 1)
    Traceback (most recent call last):
    ...
    ValueError: gamma must lie in the open interval (0, 1), got 1

    References
    ----------
    .. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning
       Awareness. AAMAS. arXiv:1709.04326.
    """

    R1: tuple
    R2: tuple
    gamma: sp.Rational
    name: str = "custom"

    def __post_init__(self):
        object.__setattr__(self, "R1", _as_matrix(self.R1, "R1"))
        object.__setattr__(self, "R2", _as_matrix(self.R2, "R2"))
        gamma = as_rational(self.gamma, "gamma")
        if not (0 < gamma < 1):
            raise ValueError(f"gamma must lie in the open interval (0, 1), got {gamma}")
        if 1 - gamma < MIN_ONE_MINUS_GAMMA:
            raise ValueError(
                f"gamma = 1 - {sp.Float(1 - gamma, 3)} is too close to 1: double-precision values "
                f"lose about 2e-16 / (1 - gamma) of relative accuracy (at 1 - 1e-16 even the "
                f"sign); choose 1 - gamma >= {MIN_ONE_MINUS_GAMMA:g}")
        object.__setattr__(self, "gamma", gamma)
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__}")

    # ------------------------------------------------------------ structure
    kind = "iterated"
    #: number of parameters of each agent
    dims = (N_PARAMS, N_PARAMS)
    #: labels of each agent's parameters
    param_names = (STATES, STATES)

    @property
    def r1(self) -> tuple:
        """Agent 1's reward over the joint states (CC, CD, DC, DD)."""
        return tuple(self.R1[a][b] for a in (0, 1) for b in (0, 1))

    @property
    def r2(self) -> tuple:
        """Agent 2's reward over the joint states (CC, CD, DC, DD), agent 1's action first."""
        return tuple(self.R2[a][b] for a in (0, 1) for b in (0, 1))

    @property
    def theta(self) -> tuple:
        """The parameter symbols ``(theta_1, theta_2)`` of the two agents."""
        return theta_symbols(1), theta_symbols(2)

    @property
    def is_symmetric(self) -> bool:
        """True when swapping the agents leaves the game unchanged (R2 = R1^T)."""
        return all(self.R2[a][b] == self.R1[b][a] for a in (0, 1) for b in (0, 1))

    @property
    def is_zero_sum(self) -> bool:
        """True when R1 + R2 = 0 entrywise."""
        return all(self.R1[a][b] + self.R2[a][b] == 0 for a in (0, 1) for b in (0, 1))

    @property
    def payoff_range(self) -> tuple:
        """(smallest, largest) payoff over both agents."""
        vals = self.r1 + self.r2
        return min(vals), max(vals)

    def spec(self) -> dict:
        """The exact specification (JSON-able), e.g. for cache keys; the name is not part of it."""
        return {"kind": self.kind, "R1": [[str(x) for x in r] for r in self.R1],
                "R2": [[str(x) for x in r] for r in self.R2], "gamma": str(self.gamma)}

    def swapped(self) -> "IteratedGame":
        """The same game with the agents' roles exchanged."""
        R1 = tuple(tuple(self.R2[b][a] for b in (0, 1)) for a in (0, 1))
        R2 = tuple(tuple(self.R1[b][a] for b in (0, 1)) for a in (0, 1))
        return IteratedGame(R1, R2, self.gamma, self.name + " (swapped)")

    # ------------------------------------------------------------- symbolic
    def value_polynomials(self) -> tuple:
        """``(N1, N2, D)``: exact polynomials in the policy probabilities, V_i = N_i / D.

        See :func:`lola_sym.games.values.value_polynomials`.
        """
        from lola_sym.games.values import value_polynomials
        return value_polynomials(self)

    def values(self) -> tuple:
        r"""``(V1, V2)`` as exact sympy expressions of the logits :math:`\theta`."""
        from lola_sym.games.values import symbolic_values
        return symbolic_values(self)

    def value_program(self):
        """The straight-line :class:`~lola_sym.program.Program` computing (V1, V2).

        Built by the one chain builder of every repeated game
        (:func:`lola_sym.games.chain.value_program`) on :meth:`as_repeated`.
        """
        return self.as_repeated().value_program()

    def as_repeated(self):
        """This game as a :class:`~lola_sym.games.RepeatedGame` (same layout, same values).

        Examples
        --------
        >>> from lola_sym.games import ipd
        >>> g = ipd().as_repeated()
        >>> g.dims, g.payoffs[1]
        ((5, 5), (-1, 0, -3, -2))
        """
        return RepeatedGame((self.r1, self.r2), (2, 2), self.gamma, 1, (("C", "D"),) * 2,
                            self.name)

    def family(self):
        """``(symbolic 2x2 memory-1 game, numbers)``: the compiled code of the shape serves all."""
        return self.as_repeated().family()

    #: the free symbols of the game (none: a numeric game)
    parameters = ()

    # -------------------------------------------------------------- numeric
    def value(self, theta1, theta2) -> np.ndarray:
        r"""Numeric values, shape ``(..., 2)`` = (V1, V2), broadcasting leading axes.

        Examples
        --------
        >>> from lola_sym.games.layout import policy
        >>> from lola_sym.games import ipd
        >>> g = ipd()
        >>> v = g.value(policy("tft"), policy("tft"))
        >>> [round(float(x), 9) for x in (1 - g.gamma) * v]
        [-1.0, -1.0]
        """
        from lola_sym.games.values import numeric_values
        return numeric_values(self, theta1, theta2)

    def average_reward(self, theta1, theta2) -> np.ndarray:
        r"""The paper's average reward per step, :math:`(1 - \gamma) V`, shape ``(..., 2)``."""
        return float(1 - self.gamma) * self.value(theta1, theta2)


def iterated(R1, R2, gamma, name: str = "custom") -> IteratedGame:
    """An iterated game from any two 2x2 reward matrices and a discount.

    Examples
    --------
    >>> import sympy as sp
    >>> iterated([[3, 0], [5, 1]], [[3, 5], [0, 1]], sp.Rational(9, 10), name="PD")
    IteratedGame(R1=((3, 0), (5, 1)), R2=((3, 5), (0, 1)), gamma=9/10, name='PD')
    """
    return IteratedGame(R1, R2, gamma, name)


