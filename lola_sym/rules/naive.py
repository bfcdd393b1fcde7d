r"""The naive learner (NL): each agent ascends its own value.

.. math:: g_i = \nabla_i V^i \qquad (i = 1, \dots, n).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Eq. 4.1-4.2.
"""

from __future__ import annotations

from lola_sym.rules.gradients import gradient_program
from lola_sym.rules.registry import Notes, Rule, register
from lola_sym.rules.sources import LOLA2018

__all__ = ["derive_nl"]


def derive_nl(game):
    r"""The NL program: outputs :math:`\nabla_1 V^1, \dots, \nabla_n V^n` in order.

    Examples
    --------
    >>> from lola_sym.games import imp
    >>> prog = derive_nl(imp())
    >>> len(prog.outputs)
    10
    """
    prog, G = gradient_program(game)
    return prog.with_outputs([g for i in range(1, len(game.theta) + 1) for g in G[(i, i)]])


NL = register(Rule(
    "nl", "naive learner", derive_nl, (), order=1, needs_hessian=False,
    reference="Foerster et al. 2018, Eq. 4.1", rank=1,
    tags=frozenset({"policy_gradient", "lola2018_tournament", "compare", "n_player",
                    "tournament"}),
    notes=Notes(
        r"g_1 = \nabla_1 V^1, \qquad g_2 = \nabla_2 V^2",
        r"g = \xi = (\nabla_1 L_1, \nabla_2 L_2)",
        LOLA2018 + ", Sec. 4.1 (the naive learner, NL; Eq. 4.1 in the rule's registry entry).",
        "Each agent ascends its own value and ignores that the opponent learns.")))
