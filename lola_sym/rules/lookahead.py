r"""LookAhead and LOLA with both first-order terms.

LookAhead (Zhang & Lesser 2010), in values (ascent):

.. math:: g_1 = \nabla_1 V^1 + \eta\, (\nabla_1\nabla_2 V^1)\, \nabla_2 V^2,

the first-order effect of the opponent's naive step with that step held
fixed: :math:`\nabla_1 [V^1(\theta_1, \theta_2 + \bot(\eta \nabla_2 V^2))]`.
In the literature's losses this is :math:`(I - \alpha H_o)\xi`. With ``n``
players every opponent's naive step is anticipated,
:math:`g_i = \nabla_i V^i + \eta \sum_{j \ne i} (\nabla_i \nabla_j V^i) \nabla_j V^j`,
and LOLA adds :math:`\eta \sum_{j \ne i} (\nabla_i \nabla_j V^j) \nabla_j V^i`
(Letcher et al. 2019, Sec. 2-3, write both for n players).

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

from lola_sym.rules.gradients import gradient_program
from lola_sym.rules.registry import Notes, Rule, register
from lola_sym.rules.lola import ETA, ETA_HYPER, lola_correction
from lola_sym.rules.sources import SOS2019

__all__ = ["lookahead_terms", "derive_la", "derive_lola_full"]


@lru_cache(maxsize=None)
def lookahead_terms(game):
    r"""Program with the steps ``Hxi_i`` = :math:`\sum_{j \ne i} (\nabla_i \nabla_j V^i) \nabla_j V^j`.

    One forward-mode sweep per agent: the derivative of :math:`\nabla_i V^i`
    along every opponent's naive direction at once. For two players this is
    :math:`(H_o \xi)_i` in values convention.
    """
    prog, G = gradient_program(game)
    theta, names = game.theta, game.param_names
    n = len(theta)
    out = []
    for i in range(1, n + 1):
        tangent = {}
        for j in range(1, n + 1):
            if j != i:
                tangent.update(zip(theta[j - 1], G[(j, j)]))
        prog, a = prog.jvp(G[(i, i)], tangent, prefix=f"_la{i}_")
        prog, s_i = prog.define((f"Hxi_{i},{names[i - 1][k]}", e) for k, e in enumerate(a))
        out.append(tuple(s_i))
    return prog, G, tuple(out)


def derive_la(game):
    r"""LookAhead: outputs ``g_1 + ... + g_n`` with the symbol ``eta``.

    Examples
    --------
    On the Hamiltonian game (:math:`V^1 = -xy = -V^2`) at :math:`x = 1, y = 2`,
    :math:`\eta = 1/10`, in exact rationals (by hand: :math:`g_1 = -y + \eta \partial_{xy} V^1 \cdot x = -y - \eta x`,
    :math:`g_2 = x - \eta y`):

    >>> import sympy as sp
    >>> from lola_sym.games import hamiltonian
    >>> prog = derive_la(hamiltonian())
    >>> prog.inputs
    (x, y, eta)
    >>> prog.evaluate({x: v for x, v in zip(prog.inputs, (1, 2, sp.Rational(1, 10)))})
    [-21/10, 4/5]
    """
    prog, G, hxi = lookahead_terms(game)
    outs = [g + ETA * h for i, h_i in enumerate(hxi, 1) for g, h in zip(G[(i, i)], h_i)]
    return prog.add_inputs([ETA]).with_outputs(outs)


def derive_lola_full(game):
    r"""LOLA with the LookAhead and the shaping term (SOS paper's LOLA).

    Examples
    --------
    On the Hamiltonian game (:math:`V^1 = -xy = -V^2`) at :math:`x = 1, y = 2`,
    :math:`\eta = 1/10`, in exact rationals (by hand: LookAhead's :math:`-\eta x` plus the shaping term's
    :math:`-\eta x`, so :math:`g_1 = -y - 2\eta x`, :math:`g_2 = x - 2\eta y`):

    >>> import sympy as sp
    >>> from lola_sym.games import hamiltonian
    >>> prog = derive_lola_full(hamiltonian())
    >>> prog.inputs
    (x, y, eta)
    >>> prog.evaluate({x: v for x, v in zip(prog.inputs, (1, 2, sp.Rational(1, 10)))})
    [-11/5, 3/5]
    """
    extra, _, hxi = lookahead_terms(game)
    prog, G, chi = lola_correction(game)
    # both derivations extend the same gradient program: merge their new steps
    known = set(prog.symbols)
    prog = prog.extend([(s, e) for s, e in extra.steps if s not in known])
    outs = [g + ETA * (h + c) for i, (h_i, c_i) in enumerate(zip(hxi, chi), 1)
            for g, h, c in zip(G[(i, i)], h_i, c_i)]
    return prog.add_inputs([ETA]).with_outputs(outs)


LA = register(Rule(
    "la", "LookAhead", derive_la, (ETA_HYPER,), order=2, needs_hessian=True,
    reference="Zhang & Lesser 2010; Letcher et al. 2019, Sec. 3", rank=3,
    tags=frozenset({"lookahead", "compare", "tournament", "n_player"}),
    notes=Notes(
        r"g_1 = \nabla_1 V^1 + \eta\, (\nabla_1 \nabla_2 V^1)\, \nabla_2 V^2 "
        r"= \nabla_1 \big[ V^1(\theta_1, \theta_2 + \bot(\eta \nabla_2 V^2)) \big]",
        r"g = (I - \alpha H_o)\, \xi",
        "Zhang, C. and Lesser, V. (2010). Multi-agent learning with policy prediction. AAAI; "
        "in the form of " + SOS2019 + ", Sec. 3.",
        r"The opponent's naive step is predicted and held fixed ($\bot$: stop-gradient).",
        steps=((r"Hxi", r"(H_o \xi)"),))))
LOLA_FULL = register(Rule(
    "lola_full", "LOLA with both first-order terms (SOS paper, LOLA-DiCE)", derive_lola_full,
    (ETA_HYPER,), order=2, needs_hessian=True,
    reference="Letcher et al. 2019, Sec. 3; Foerster et al. 2018b", rank=4,
    tags=frozenset({"lookahead", "opponent_shaping", "compare", "n_player"}),
    notes=Notes(
        r"g_1 = \nabla_1 \big[ V^1 + \eta\, (\nabla_2 V^1)^\top \nabla_2 V^2 \big] "
        r"= \nabla_1 V^1 + \eta\, (\nabla_1 \nabla_2 V^1)\, \nabla_2 V^2 "
        r"+ \eta\, (\nabla_1 \nabla_2 V^2)\, \nabla_2 V^1",
        r"g = (I - \alpha H_o)\, \xi - \alpha \chi",
        SOS2019 + ", Sec. 3 (LOLA with both first-order terms, as in LOLA-DiCE).",
        "LookAhead plus the shaping term of LOLA.")))
