r"""Exact LOLA and higher-order LOLA (HOLA), no Taylor expansion.

Exact LOLA differentiates through the opponent's actual naive step:

.. math:: g_1 = \nabla_1 \big[ V^1(\theta_1, \theta_2 + \eta \nabla_2 V^2(\theta_1, \theta_2)) \big].

HOLA-n (COLA paper) iterates: :math:`g^{(0)} = \xi` (naive) and
:math:`g_1^{(n)} = \nabla_1 [V^1(\theta_1, \theta_2 + \eta\, g_2^{(n-1)}(\theta))]`,
:math:`g_2^{(n)} = \nabla_2 [V^2(\theta_1 + \eta\, g_1^{(n-1)}(\theta), \theta_2)]`,
gradients flowing through :math:`g^{(n-1)}`; HOLA-1 is exact LOLA.

The two are derived differently on purpose (the tests check they agree):
exact LOLA by the chain rule from compiled primitives, the value gradients
evaluated at the shifted point plus one Hessian-vector product,

.. math:: g_1 = \nabla_1 V^1|_{\theta'} + \eta\, (\nabla_1 \nabla_2 V^2)\, \nabla_2 V^1|_{\theta'},
          \quad \theta' = (\theta_1, \theta_2 + \eta \nabla_2 V^2),

and HOLA by reverse-mode differentiation through the composed program.

References
----------
.. [1] Willi, T. et al. (2022). COLA: Consistent Learning with
   Opponent-Learning Awareness. ICML. arXiv:2203.04098, Sec. 3.
.. [2] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.2.
"""

from __future__ import annotations

import sympy as sp

from lola_sym.gradients import at_shifted_point, gradient_program
from lola_sym.rules import Rule, register
from lola_sym.rules.lola import ETA

__all__ = ["derive_exact_lola", "derive_hola", "hola_program"]


def derive_exact_lola(game):
    """Exact LOLA from shifted-point gradients and a Hessian-vector product."""
    prog, G = gradient_program(game)
    th1, th2 = game.theta
    out = {}
    for me, other in ((1, 2), (2, 1)):
        shift = [ETA * g for g in G[(other, other)]]
        prog, (own, opp) = _partial_gradients(prog, game, me, shift)
        # (d shift / d theta_me)^T opp = eta * derivative of grad_me V_other along opp
        theirs = th2 if me == 1 else th1
        prog, h = prog.jvp(G[(other, me)], dict(zip(theirs, opp)), prefix=f"_xh{me}_")
        names = game.param_names[me - 1]
        prog, g = prog.define((f"exact_{me},{names[k]}", a + ETA * b)
                              for k, (a, b) in enumerate(zip(own, h)))
        out[me] = g
    return prog.add_inputs([ETA]).with_outputs(out[1] + out[2])


def _partial_gradients(prog, game, me, shift):
    """Gradients of V_me at the shifted point w.r.t. its own and the opponent's arguments.

    A fresh copy of the value program is inlined with *new* argument symbols
    (so that the gradient does not flow into the shift), differentiated, and the
    argument symbols are then bound to the shifted point.
    """
    th1, th2 = game.theta
    a1 = tuple(sp.Symbol(f"_arg{me}_1_{k}") for k in range(len(th1)))
    a2 = tuple(sp.Symbol(f"_arg{me}_2_{k}") for k in range(len(th2)))
    mapping = dict(zip(th1, a1)) | dict(zip(th2, a2))
    base, (V1s, V2s) = prog.inline(game.value_program(), mapping, prefix=f"_pv{me}_")
    Vs = V1s if me == 1 else V2s
    base, grads = base.gradient(Vs, a1 + a2, prefix=f"_pg{me}_")
    g1, g2 = grads[:len(a1)], grads[len(a1):]
    # bind the argument symbols to the shifted point (stop-gradient: done after differentiating)
    if me == 1:
        point = dict(zip(a1, th1)) | {a: t + s for a, t, s in zip(a2, th2, shift)}
    else:
        point = {a: t + s for a, t, s in zip(a1, th1, shift)} | dict(zip(a2, th2))
    new = base.steps[len(prog.steps):]
    bind = [(sym, e.xreplace(point)) for sym, e in new]
    prog = prog.extend(bind)
    g1 = [g.xreplace(point) for g in g1]
    g2 = [g.xreplace(point) for g in g2]
    own, opp = (g1, g2) if me == 1 else (g2, g1)
    prog, own_s = prog.define((f"_own{me}_{k}", e) for k, e in enumerate(own))
    prog, opp_s = prog.define((f"_opp{me}_{k}", e) for k, e in enumerate(opp))
    return prog, (own_s, opp_s)


def hola_program(game, order: int):
    """The program whose outputs are HOLA-``order`` directions (``g1 + g2``)."""
    prog, G = gradient_program(game)
    g1, g2 = G[(1, 1)], G[(2, 2)]
    n1, n2 = game.param_names
    th1, th2 = game.theta
    for level in range(1, order + 1):
        prog, (V1s, _) = at_shifted_point(prog, game, shift2=[ETA * g for g in g2],
                                          prefix=f"_o{level}a_")
        prog, new1 = prog.gradient(V1s, th1, prefix=f"_o{level}g1_")
        prog, (_, V2s) = at_shifted_point(prog, game, shift1=[ETA * g for g in g1],
                                          prefix=f"_o{level}b_")
        prog, new2 = prog.gradient(V2s, th2, prefix=f"_o{level}g2_")
        prog, g1 = prog.define((f"hola{level}_1,{n1[k]}", e) for k, e in enumerate(new1))
        prog, g2 = prog.define((f"hola{level}_2,{n2[k]}", e) for k, e in enumerate(new2))
    return prog.add_inputs([ETA]).with_outputs(list(g1) + list(g2))


def hola_size(game, order: int = 2) -> int:
    r"""Estimated steps of the HOLA-``order`` program: :math:`s_0 (2^{n+1} - 1)`.

    :math:`s_0` is the size of the naive gradient program; each order adds two
    shifted value programs and their gradients through the previous order, so
    the size about doubles (measured on the IPD, orders 0 to 4: 196, 634,
    1,456, 3,066, 6,232 steps against 196, 588, 1,372, 2,940, 6,076 here).

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> hola_size(ipd(), 4)
    6076
    """
    return len(gradient_program(game)[0].steps) * (2 ** (min(order, 40) + 1) - 1)


def derive_hola(game, order: int = 2):
    """HOLA-``order`` (order 0 = naive, 1 = exact LOLA)."""
    return hola_program(game, order)


EXACT = register(Rule("exact_lola", "exact LOLA (no Taylor expansion)", derive_exact_lola,
                      {"eta": 1.0}, order=2, needs_hessian=True,
                      reference="Willi et al. 2022 (COLA), HOLA1; Foerster et al. 2018",
                      tags=frozenset({"lookahead", "opponent_shaping", "compare"})))
HOLA = register(Rule("hola", "higher-order LOLA (COLA paper)", derive_hola, {"eta": 1.0},
                     order=3, needs_hessian=True, options={"order": 2},
                     reference="Willi et al. 2022 (COLA), Sec. 3", size_estimate=hola_size,
                     tags=frozenset({"lookahead", "opponent_shaping", "compare"})))
