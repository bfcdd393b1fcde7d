r"""Second-order LOLA (LOLA paper, Sec. 4.5).

Agent 1 assumes its opponent is itself a first-order LOLA learner and
differentiates through that predicted step:

.. math::

    g_1 = \nabla_1 V^1 + \eta\, (\nabla_2 V^1)^\top \frac{\partial g_2^{\mathrm{LOLA}}}{\partial \theta_1},
    \qquad g_2^{\mathrm{LOLA}} = \nabla_2 V^2 + \eta\, (\nabla_1 V^2)^\top \nabla_2\nabla_1 V^1,

with the full Jacobian of the opponent's LOLA direction (third derivatives of
the values); symmetric for agent 2. :math:`\nabla_2 V^1` is held fixed, as in
first-order LOLA.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.5.
"""

from __future__ import annotations

from lola_sym.rules.registry import Notes, Rule, register
from lola_sym.rules.lola import ETA, ETA_HYPER, lola_correction
from lola_sym.rules.sources import LOLA2018

__all__ = ["derive_lola2"]


def derive_lola2(game):
    r"""The LOLA-2 program: outputs ``g1 + g2`` with the symbol ``eta``.

    Examples
    --------
    On the Hamiltonian game (:math:`V^1 = -xy = -V^2`) at :math:`x = 1, y = 2`,
    :math:`\eta = 1/10`, in exact rationals (by hand: the opponent's LOLA step :math:`x - \eta y` has
    :math:`x`-derivative 1, so :math:`g_1 = -y - \eta x` and :math:`g_2 = x - \eta y`):

    >>> import sympy as sp
    >>> from lola_sym.games import hamiltonian
    >>> prog = derive_lola2(hamiltonian())
    >>> prog.inputs
    (x, y, eta)
    >>> prog.evaluate({x: v for x, v in zip(prog.inputs, (1, 2, sp.Rational(1, 10)))})
    [-21/10, 4/5]
    """
    prog, G, (c1, c2) = lola_correction(game)
    th1, th2 = game.theta
    n1, n2 = game.param_names
    prog, l1 = prog.define((f"lola_1,{n1[k]}", g + ETA * c) for k, (g, c) in
                           enumerate(zip(G[(1, 1)], c1)))
    prog, l2 = prog.define((f"lola_2,{n2[k]}", g + ETA * c) for k, (g, c) in
                           enumerate(zip(G[(2, 2)], c2)))
    # v^T d g2_lola / d theta1 with v = grad_2 V1 held fixed: a vector-Jacobian product
    prog, s1 = prog.vjp(l2, th1, G[(1, 2)], prefix="_l2a_")
    prog, s2 = prog.vjp(l1, th2, G[(2, 1)], prefix="_l2b_")
    g1 = [g + ETA * s for g, s in zip(G[(1, 1)], s1)]
    g2 = [g + ETA * s for g, s in zip(G[(2, 2)], s2)]
    return prog.add_inputs([ETA]).with_outputs(g1 + g2)


LOLA2 = register(Rule(
    "lola2", "second-order LOLA (Sec. 4.5)", derive_lola2, (ETA_HYPER,), order=3,
    needs_hessian=True, reference="Foerster et al. 2018, Sec. 4.5", rank=7,
    tags=frozenset({"lookahead", "opponent_shaping", "lola2018_tournament", "compare",
                    "tournament"}),
    two_player_reason="the LOLA paper's second-order rule (Sec. 4.5) takes one opponent's "
                      "LOLA step",
    notes=Notes(
        r"g_1 = \nabla_1 V^1 + \eta\, (\nabla_2 V^1)^\top "
        r"\frac{\partial g_2^{\mathrm{LOLA}}}{\partial \theta_1}, \qquad "
        r"g_2^{\mathrm{LOLA}} = \nabla_2 V^2 + \eta\, (\nabla_1 V^2)^\top \nabla_2 \nabla_1 V^1",
        r"\text{as LOLA, with the opponent's step } -\alpha\, g_2^{\mathrm{LOLA}} "
        r"\text{ in place of } -\alpha \nabla_2 L_2",
        LOLA2018 + ", Sec. 4.5 (second-order LOLA).",
        r"The agent assumes a first-order LOLA opponent; $\nabla_2 V^1$ is held fixed, the full "
        r"Jacobian of the opponent's LOLA direction (third derivatives) is kept.",
        steps=((r"lola", r"g^{\mathrm{LOLA}}"),))))
