r"""Exact value gradients of both agents, as named steps of one program.

:math:`\nabla_j V_i` (the gradient of agent ``i``'s value with respect to
agent ``j``'s logits) is derived by reverse-mode differentiation of the exact
value program, through the sigmoid policies
(:math:`\partial p / \partial\theta = p \bar p`).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1-4.2.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["gradient_program"]


@lru_cache(maxsize=None)
def gradient_program(game):
    r"""The value program extended by all four gradient blocks.

    Returns ``(program, G)`` where ``G[(i, j)]`` is the tuple of step symbols
    holding :math:`\nabla_j V_i` (named ``dV{i}/dtheta_{j,s}``).

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> prog, G = gradient_program(ipd())
    >>> G[(1, 2)][1]
    dV1/dtheta_2,CC
    """
    prog = game.value_program()
    theta = game.theta
    G = {}
    for i, V in zip((1, 2), prog.outputs):
        wrt = tuple(theta[0]) + tuple(theta[1])
        prog, grads = prog.gradient(V, wrt, prefix=f"_g{i}_")
        d1 = len(theta[0])
        for j, block in ((1, grads[:d1]), (2, grads[d1:])):
            names = game.param_names[j - 1]
            named = [(f"dV{i}/dtheta_{j},{names[k]}", g) for k, g in enumerate(block)]
            prog, syms = prog.define(named)
            G[(i, j)] = tuple(syms)
    return prog, G

