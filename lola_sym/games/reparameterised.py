r"""A game whose players' logits are linear maps of new parameters: :math:`\theta_i = M_i \phi_i`.

Every rule differentiates through the parameterisation it is given. A gradient
step in :math:`\phi_i` moves the logits by :math:`M_i M_i^\top \nabla_{\theta_i}`,
not by :math:`\nabla_{\theta_i}`, so naive learning and LOLA change with
:math:`M_i`, while a proximal step that is the argmax of an objective of the
*policies* (POLA, Zhao et al. 2022) does not. POLA's "pre-conditioned tabular"
experiments use :data:`POLA_ILL_CONDITION` (the reference's ``--ill_condition``)
for both agents.

:func:`reparameterised` wraps any game of the compiled path (an iterated, repeated
or differentiable game, numeric or a family with symbols). Its value program is
the base game's, preceded by the steps :math:`\theta_{i,s} = \sum_k (M_i)_{sk}
\phi_{i,k}`, so each rule's derivation is as small as on the base game and the
compiled code serves every payoff of the base game's family.

References
----------
.. [1] Zhao, S., Lu, C., Grosse, R., Foerster, J. (2022). Proximal Learning With
   Opponent-Learning Awareness. NeurIPS. arXiv:2210.10125, Sec. 3 (invariance) and
   App. B (the pre-conditioned tabular policies).
.. [2] Silent-Zebra/POLA @ b248b52, ``LOLA_exact.py``: ``ill_cond_matrix1``,
   ``ill_cond_matrix2`` (start state stored last there, first here).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from lola_sym.program import Program

__all__ = ["Reparameterised", "reparameterised", "POLA_ILL_CONDITION"]

#: POLA's pre-conditioning matrix for a memory-1 2x2 policy (start state first):
#: :math:`\theta_{s_0} = \phi_{s_0}`, :math:`\theta_s = \phi_s - 2 \phi_{s_0}` otherwise.
POLA_ILL_CONDITION = ((1, 0, 0, 0, 0),
                      (-2, 1, 0, 0, 0),
                      (-2, 0, 1, 0, 0),
                      (-2, 0, 0, 1, 0),
                      (-2, 0, 0, 0, 1))

#: Largest magnitude of an entry of a map (beyond it the logits overflow at once).
MAX_ENTRY = 1e6


def _exact_matrix(m, rows: int, who: str) -> tuple:
    """``m`` as a tuple of rows of exact sympy numbers, checked: shape, finiteness, rank."""
    if isinstance(m, (str, bytes)):
        raise TypeError(f"{who} must be a 2-d array of numbers, got a string")
    try:
        a = np.asarray(m, dtype=object)
    except (TypeError, ValueError) as exc:       # ragged rows
        raise ValueError(f"{who} must be a 2-d array of numbers: {exc}") from None
    if a.ndim != 2 or a.shape[0] != rows or a.shape[1] < 1:
        raise ValueError(f"{who} must have shape ({rows}, k) with k >= 1 (one row per logit "
                         f"of the base game), got shape {a.shape}")
    out = []
    for row in a:
        cells = []
        for x in row:
            if isinstance(x, (bool, np.bool_)) or not isinstance(
                    x, (int, float, np.integer, np.floating, sp.Rational)):
                raise TypeError(f"{who} must hold numbers (int, float or a sympy Rational), "
                                f"got {type(x).__name__} {x!r}")
            if isinstance(x, (float, np.floating)):
                if not np.isfinite(x):
                    raise ValueError(f"{who} must be finite, got {x!r}")
                x = sp.Rational(repr(float(x)))   # the decimal as written, exactly
            x = sp.Rational(x)
            if abs(x) > MAX_ENTRY:
                raise ValueError(f"{who}'s entries must be at most {MAX_ENTRY:g} in magnitude, "
                                 f"got {x}")
            cells.append(x)
        out.append(tuple(cells))
    if sp.Matrix(out).rank() < a.shape[1]:
        raise ValueError(f"{who} must have full column rank ({a.shape[1]}): otherwise two "
                         f"parameter vectors give the same policy and no step is unique")
    return tuple(out)


@dataclass(frozen=True)
class Reparameterised:
    r"""``base`` played with logits :math:`\theta_i = M_i \phi_i`, in parameters :math:`\phi_i`.

    Attributes
    ----------
    base : game
        The game of the logits (its :attr:`theta`).
    maps : tuple
        Per player the exact matrix :math:`M_i` (rows: the base game's logits,
        columns: the new parameters), as tuples of sympy Rationals.
    name : str

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> g = reparameterised(ipd(), POLA_ILL_CONDITION)
    >>> g.dims, g.param_names[0]
    ((5, 5), ('phi0', 'phi1', 'phi2', 'phi3', 'phi4'))
    >>> phi = np.array([1.0, 0.5, 0.0, 0.0, 0.0])
    >>> g.logits(phi, phi)[0]
    array([ 1. , -1.5, -2. , -2. , -2. ])
    >>> bool(np.allclose(g.value(phi, phi), ipd().value(*g.logits(phi, phi))))
    True
    """

    base: Any
    maps: tuple
    name: str = ""
    kind = "reparameterised"

    @property
    def n_players(self) -> int:
        return len(self.maps)

    @cached_property
    def dims(self) -> tuple:
        return tuple(len(m[0]) for m in self.maps)

    @cached_property
    def param_names(self) -> tuple:
        return tuple(tuple(f"phi{k}" for k in range(d)) for d in self.dims)

    @cached_property
    def theta(self) -> tuple:
        return tuple(tuple(sp.Symbol(f"phi_{i},{k}", real=True) for k in range(d))
                     for i, d in enumerate(self.dims, 1))

    @property
    def parameters(self) -> tuple:
        return tuple(getattr(self.base, "parameters", ()))

    @property
    def is_symbolic(self) -> bool:
        return bool(self.parameters)

    @property
    def gamma(self):
        return getattr(self.base, "gamma", None)

    @property
    def field_path(self) -> str:
        return "compiled"

    @property
    def is_symmetric(self) -> bool:
        return bool(getattr(self.base, "is_symmetric", False)) and len(set(self.maps)) == 1

    @property
    def is_zero_sum(self) -> bool:
        return bool(getattr(self.base, "is_zero_sum", False))

    def matrix(self, player: int) -> np.ndarray:
        """:math:`M_i` of player ``player`` (0-based) as floats.

        Examples
        --------
        >>> from lola_sym.games import matching_pennies
        >>> reparameterised(matching_pennies(), [[2]], [[-1]]).matrix(1)
        array([[-1.]])
        """
        return np.array(self.maps[player], dtype=float)

    def logits(self, *phis) -> tuple:
        r"""The base game's logits :math:`M_i \phi_i`, shapes ``(..., base dims[i])``."""
        if len(phis) != self.n_players:
            raise TypeError(f"{self.name} takes {self.n_players} parameter arrays (one per "
                            f"player), got {len(phis)}")
        out = []
        for i, (p, d) in enumerate(zip(phis, self.dims)):
            p = np.asarray(p, dtype=float)
            if p.ndim == 0 or p.shape[-1] != d:
                raise ValueError(f"player {i + 1}'s parameters phi must have last axis {d}, "
                                 f"got shape {p.shape}")
            out.append(p @ self.matrix(i).T)
        return tuple(out)

    def spec(self) -> dict:
        """The exact specification (JSON-able; cache keys): the base game's and the maps."""
        return {"kind": self.kind, "base": self.base.spec(),
                "maps": [[[str(x) for x in row] for row in m] for m in self.maps]}

    def family(self):
        """The base game's family with the same maps, and its numbers (None if it has none)."""
        found = self.base.family() if hasattr(self.base, "family") else None
        if found is None:
            return None
        fam, numbers = found
        return Reparameterised(fam, self.maps, f"{fam.name}, theta = M phi"), numbers

    def parameter_array(self, **values) -> np.ndarray:
        """The base game's symbols' values
        (:meth:`lola_sym.games.repeated.RepeatedGame.parameter_array`)."""
        return self.base.parameter_array(**values)

    def substitute(self, **values) -> "Reparameterised":
        """The same maps on ``base.substitute(**values)``."""
        new = self.base.substitute(**values)
        return Reparameterised(new, self.maps, f"{new.name}, theta = M phi")

    def value_program(self) -> Program:
        r"""The base game's value program after the steps :math:`\theta = M \phi`.

        Examples
        --------
        >>> from lola_sym.games import matching_pennies
        >>> prog = reparameterised(matching_pennies(), [[2]], [[-1]]).value_program()
        >>> prog.inputs, prog.steps[:2]
        ((phi_1,0, phi_2,0), ((theta_1, 2*phi_1,0), (theta_2, -phi_2,0)))
        """
        base = self.base.value_program()
        steps = []
        for th, m, ph in zip(self.base.theta, self.maps, self.theta):
            for t, row in zip(th, m):
                steps.append((t, sp.Add(*[c * p for c, p in zip(row, ph) if c != 0])))
        inputs = tuple(p for ph in self.theta for p in ph) + self.parameters
        return Program(inputs, tuple(steps) + base.steps, base.outputs)

    def value(self, *phis, **parameters) -> np.ndarray:
        """Values ``(..., n)`` at parameters ``phis`` (through :meth:`logits`)."""
        return self.base.value(*self.logits(*phis), **parameters)

    def __repr__(self) -> str:
        return f"Reparameterised({self.name!r})"


def reparameterised(game, *maps, name: str | None = None) -> Reparameterised:
    r"""``game`` with logits :math:`\theta_i = M_i \phi_i`; one matrix for all players or one each.

    Parameters
    ----------
    game : game of the compiled path
        An iterated, repeated or differentiable game (numeric, or a family with symbols).
    *maps : array_like
        One ``(d_i, k_i)`` matrix for every player, or a single one used by all. Entries
        are int, float (taken as the exact decimal written) or sympy Rational; each matrix
        must have full column rank.
    name : str, optional

    Examples
    --------
    Naive learning is not invariant: a step :math:`\delta \nabla_\phi V` moves the
    logits by :math:`\delta M M^\top \nabla_\theta V`.

    >>> import numpy as np
    >>> from lola_sym import update_field
    >>> from lola_sym.games import ipd
    >>> g = reparameterised(ipd(), POLA_ILL_CONDITION)
    >>> M = g.matrix(0)
    >>> phi = np.array([0.3, 0.1, -0.2, 0.0, 0.4])
    >>> g_phi = update_field(g, "nl")(phi, phi)[0]
    >>> g_theta = update_field(ipd(), "nl")(M @ phi, M @ phi)[0]
    >>> bool(np.allclose(g_phi, M.T @ g_theta, rtol=1e-12, atol=1e-14))
    True
    >>> reparameterised(ipd(), np.ones((5, 2)))
    Traceback (most recent call last):
    ...
    ValueError: player 1's map must have full column rank (2): otherwise two parameter vectors give the same policy and no step is unique
    """
    for a in ("dims", "theta", "value_program", "spec"):
        if not hasattr(game, a):
            raise TypeError(f"game must be a lola_sym game such as lola_sym.games.ipd(), got "
                            f"{type(game).__name__}")
    if getattr(game, "field_path", "compiled") != "compiled":
        raise ValueError(f"{game.name} is too large for the symbolic program (adjoint path); "
                         f"reparameterise a game of the compiled path")
    n = len(game.dims)
    if len(maps) == 1:
        maps = maps * n
    if len(maps) != n:
        raise ValueError(f"give one map for all players or one per player ({n}), got {len(maps)}")
    exact = tuple(_exact_matrix(m, d, f"player {i + 1}'s map")
                  for i, (m, d) in enumerate(zip(maps, game.dims)))
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    return Reparameterised(game, exact, name or f"{game.name}, theta = M phi")
