r"""Consensus optimisation (CO).

In values (ascent), with :math:`\xi = (\nabla_1 V^1, \nabla_2 V^2)` and
:math:`H = \partial \xi / \partial \theta`,

.. math:: g = \xi - \gamma H^\top \xi = \xi - \gamma \nabla_\theta \tfrac12 \|\xi\|^2,

the literature's :math:`\xi + \gamma H^\top \xi` for losses. :math:`H^\top \xi`
is a vector-Jacobian product of the program for :math:`\xi`.

References
----------
.. [1] Mescheder, L., Nowozin, S. and Geiger, A. (2017). The Numerics of GANs.
   NeurIPS. arXiv:1705.10461.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from lola_sym.rules.gradients import gradient_program
from lola_sym.rules.registry import Hyper, Notes, Rule, register

__all__ = ["derive_co", "h_transpose_xi"]

GAMMA_CO = sp.Symbol("gamma", positive=True)


@lru_cache(maxsize=None)
def h_transpose_xi(game):
    r"""Program with the steps :math:`\xi` and :math:`H^\top \xi` (values convention)."""
    prog, G = gradient_program(game)
    th = tuple(game.theta[0]) + tuple(game.theta[1])
    xi = tuple(G[(1, 1)]) + tuple(G[(2, 2)])
    prog, hx = prog.vjp(xi, th, xi, prefix="_htx_")
    names = [f"1,{n}" for n in game.param_names[0]] + [f"2,{n}" for n in game.param_names[1]]
    prog, hx = prog.define((f"HTxi_{names[k]}", e) for k, e in enumerate(hx))
    return prog, xi, tuple(hx)


def derive_co(game):
    r"""Consensus optimisation: outputs ``g1 + g2`` with the symbol ``gamma``.

    Examples
    --------
    On the Hamiltonian game (:math:`V^1 = -xy = -V^2`) at :math:`x = 1, y = 2`,
    :math:`\gamma = 1/10`, in exact rationals (by hand: :math:`\xi = (-y, x)`, :math:`H^\top \xi = (x, y)`, so
    :math:`g = (-y - \gamma x, x - \gamma y)`):

    >>> import sympy as sp
    >>> from lola_sym.games import hamiltonian
    >>> prog = derive_co(hamiltonian())
    >>> prog.inputs
    (x, y, gamma)
    >>> prog.evaluate({x: v for x, v in zip(prog.inputs, (1, 2, sp.Rational(1, 10)))})
    [-21/10, 4/5]
    """
    prog, xi, hx = h_transpose_xi(game)
    return prog.add_inputs([GAMMA_CO]).with_outputs([x - GAMMA_CO * h for x, h in zip(xi, hx)])


CO = register(Rule(
    "co", "consensus optimisation", derive_co, (Hyper("gamma", 0.1, r"\gamma"),), order=2,
    needs_hessian=True, reference="Mescheder et al. 2017", rank=8, tags=frozenset({"compare"}),
    two_player_reason="this derivation uses the two-player blocks of the game Hessian "
                      "(H^T xi is n-player in principle, not built here)",
    notes=Notes(
        r"g = \xi - \gamma\, H^\top \xi = \xi - \gamma\, \nabla_\theta \tfrac12 \|\xi\|^2",
        r"g = \xi + \gamma\, H^\top \xi",
        "Mescheder, L., Nowozin, S. and Geiger, A. (2017). The Numerics of GANs. NeurIPS. "
        "arXiv:1705.10461 (consensus optimisation).",
        r"$\gamma$ here is the consensus weight, not a discount.",
        steps=((r"HTxi", r"(H^\top \xi)"),))))
