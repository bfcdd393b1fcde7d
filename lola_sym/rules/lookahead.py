r"""LookAhead and LOLA with both first-order terms.

LookAhead (Zhang & Lesser 2010), in values (ascent):

.. math:: g_1 = \nabla_1 V^1 + \eta\, (\nabla_1\nabla_2 V^1)\, \nabla_2 V^2,

the first-order effect of the opponent's naive step with that step held
fixed: :math:`\nabla_1 [V^1(\theta_1, \theta_2 + \bot(\eta \nabla_2 V^2))]`.
In the literature's losses this is :math:`(I - \alpha H_o)\xi`.

LOLA as in the SOS paper and LOLA-DiCE keeps both Taylor terms:

.. math:: g_1 = \nabla_1 [V^1 + \eta (\nabla_2 V^1)^\top \nabla_2 V^2]
              = \text{LA} + \eta\, (\nabla_1\nabla_2 V^2)\, \nabla_2 V^1.

References
----------
.. [1] Zhang, C. and Lesser, V. (2010). Multi-agent learning with policy
   prediction. AAAI.
.. [2] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. arXiv:1811.08469, Sec. 3.
"""

from __future__ import annotations

from functools import lru_cache

from lola_sym.gradients import cross_hvp, gradient_program
from lola_sym.rules import Rule, register
from lola_sym.rules.lola import ETA, lola_correction

__all__ = ["lookahead_terms", "derive_la", "derive_lola_full"]


@lru_cache(maxsize=None)
def lookahead_terms(game):
    r"""Program with the steps ``Hxi_i`` = :math:`(H_o \xi)_i` in values convention."""
    prog, G = gradient_program(game)
    prog, a1 = cross_hvp(prog, G, game, 1, G[(2, 2)], prefix="_la1_")
    prog, a2 = cross_hvp(prog, G, game, 2, G[(1, 1)], prefix="_la2_")
    n1, n2 = game.param_names
    prog, s1 = prog.define((f"Hxi_1,{n1[k]}", e) for k, e in enumerate(a1))
    prog, s2 = prog.define((f"Hxi_2,{n2[k]}", e) for k, e in enumerate(a2))
    return prog, G, (tuple(s1), tuple(s2))


def derive_la(game):
    """LookAhead: outputs ``g1 + g2`` with the symbol ``eta``."""
    prog, G, (h1, h2) = lookahead_terms(game)
    g1 = [g + ETA * h for g, h in zip(G[(1, 1)], h1)]
    g2 = [g + ETA * h for g, h in zip(G[(2, 2)], h2)]
    return prog.add_inputs([ETA]).with_outputs(g1 + g2)


def derive_lola_full(game):
    """LOLA with the LookAhead and the shaping term (SOS paper's LOLA)."""
    extra, _, (h1, h2) = lookahead_terms(game)
    prog, G, (c1, c2) = lola_correction(game)
    # both derivations extend the same gradient program: merge their new steps
    known = set(prog.symbols)
    prog = prog.extend([(s, e) for s, e in extra.steps if s not in known])
    g1 = [g + ETA * (h + c) for g, h, c in zip(G[(1, 1)], h1, c1)]
    g2 = [g + ETA * (h + c) for g, h, c in zip(G[(2, 2)], h2, c2)]
    return prog.add_inputs([ETA]).with_outputs(g1 + g2)


LA = register(Rule("la", "LookAhead", derive_la, {"eta": 1.0}, order=2, needs_hessian=True,
                   reference="Zhang & Lesser 2010; Letcher et al. 2019, Sec. 3",
                   tags=frozenset({"lookahead", "compare", "tournament"})))
LOLA_FULL = register(Rule("lola_full", "LOLA with both first-order terms (SOS paper, LOLA-DiCE)",
                          derive_lola_full, {"eta": 1.0}, order=2, needs_hessian=True,
                          reference="Letcher et al. 2019, Sec. 3; Foerster et al. 2018b",
                          tags=frozenset({"lookahead", "opponent_shaping", "compare"})))
