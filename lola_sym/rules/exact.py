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

from lola_sym.rules.gradients import at_shifted_point, gradient_program
from lola_sym.rules.registry import Notes, Rule, register
from lola_sym.rules.lola import ETA, ETA_HYPER
from lola_sym.rules.sources import COLA2022, LOLA2018

__all__ = ["derive_exact_lola", "derive_hola", "hola_program"]


def derive_exact_lola(game):
    r"""Exact LOLA from shifted-point gradients and Hessian-vector products.

    With ``n`` players every opponent ``j`` takes its naive step,
    :math:`\theta' = (\theta_i, \theta_j + \eta \nabla_j V^j)_{j \ne i}`, and
    :math:`g_i = \nabla_i V^i|_{\theta'} + \eta \sum_{j \ne i}
    (\nabla_i \nabla_j V^j)\, \nabla_j V^i|_{\theta'}`.

    Examples
    --------
    On the Hamiltonian game (:math:`V^1 = -xy = -V^2`) at :math:`x = 1, y = 2`,
    :math:`\eta = 1/10`, in exact rationals (by hand: :math:`g_1 = \partial_x[-x(y + \eta x)] = -y - 2\eta x`,
    :math:`g_2 = \partial_y[(x - \eta y) y] = x - 2\eta y`):

    >>> import sympy as sp
    >>> from lola_sym.games import hamiltonian
    >>> prog = derive_exact_lola(hamiltonian())
    >>> prog.inputs
    (x, y, eta)
    >>> prog.evaluate({x: v for x, v in zip(prog.inputs, (1, 2, sp.Rational(1, 10)))})
    [-11/5, 3/5]
    """
    prog, G = gradient_program(game)
    theta = game.theta
    n = len(theta)
    out = []
    for me in range(1, n + 1):
        shifts = {j: [ETA * g for g in G[(j, j)]] for j in range(1, n + 1) if j != me}
        prog, grads = _partial_gradients(prog, game, me, shifts)
        terms = grads[me]
        for j in shifts:
            # (d shift_j / d theta_me)^T v = eta * derivative of grad_me V_j along v in theta_j
            prefix = f"_xh{me}_" if n == 2 else f"_xh{me}{j}_"
            prog, h = prog.jvp(G[(j, me)], dict(zip(theta[j - 1], grads[j])), prefix=prefix)
            terms = [a + ETA * b for a, b in zip(terms, h)]
        names = game.param_names[me - 1]
        prog, g = prog.define((f"exact_{me},{names[k]}", e) for k, e in enumerate(terms))
        out += g
    return prog.add_inputs([ETA]).with_outputs(out)


def _partial_gradients(prog, game, me, shifts):
    """Gradients of V_me at the shifted point w.r.t. every player's arguments.

    A fresh copy of the value program is inlined with *new* argument symbols
    (so that the gradient does not flow into the shifts), differentiated, and
    the argument symbols are then bound to the shifted point. Returns the
    program and ``{player: step symbols of d V_me / d theta_player at the point}``.
    """
    theta = game.theta
    args = [tuple(sp.Symbol(f"_arg{me}_{j}_{k}") for k in range(len(th)))
            for j, th in enumerate(theta, 1)]
    mapping = {}
    for th, a in zip(theta, args):
        mapping.update(zip(th, a))
    base, values = prog.inline(game.value_program(), mapping, prefix=f"_pv{me}_")
    flat = tuple(x for a in args for x in a)
    base, grads = base.gradient(values[me - 1], flat, prefix=f"_pg{me}_")
    # bind the argument symbols to the shifted point (stop-gradient: done after differentiating)
    point = {}
    for j, (th, a) in enumerate(zip(theta, args), 1):
        shift = shifts.get(j)
        point.update({x: t if shift is None else t + s
                      for x, t, s in zip(a, th, shift or [0] * len(th))})
    new = base.steps[len(prog.steps):]
    prog = prog.extend([(sym, e.xreplace(point)) for sym, e in new])
    out, lo = {}, 0
    for j, a in enumerate(args, 1):
        block = [g.xreplace(point) for g in grads[lo:lo + len(a)]]
        lo += len(a)
        tag = "own" if j == me else "opp"
        name = (lambda k: f"_{tag}{me}_{k}") if len(theta) == 2 else (lambda k: f"_{tag}{me}_{j}_{k}")
        prog, syms = prog.define((name(k), e) for k, e in enumerate(block))
        out[j] = syms
    return prog, out


def hola_program(game, order: int):
    r"""The program whose outputs are HOLA-``order`` directions (``g1 + g2``).

    Examples
    --------
    Order 0 is the naive gradient :math:`(-y, x)` of the Hamiltonian game
    (:math:`V^1 = -xy = -V^2`), order 1 exact LOLA
    (:math:`(-y - 2\eta x, x - 2\eta y)`), at :math:`x = 1, y = 2, \eta = 1/10`:

    >>> import sympy as sp
    >>> from lola_sym.games import hamiltonian
    >>> def at(prog):
    ...     return prog.evaluate(dict(zip(prog.inputs, (1, 2, sp.Rational(1, 10)))))
    >>> at(hola_program(hamiltonian(), 0)), at(hola_program(hamiltonian(), 1))
    ([-2, 1], [-11/5, 3/5])
    """
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
    r"""HOLA-``order`` (order 0 = naive, 1 = exact LOLA).

    Examples
    --------
    On the Hamiltonian game (:math:`V^1 = -xy = -V^2`) at :math:`x = 1, y = 2`,
    :math:`\eta = 1/10`, in exact rationals (by hand, the naive opponent step replaced by its exact-LOLA step:
    :math:`g_1 = -y - 2\eta x + 2\eta^2 y`, :math:`g_2 = x - 2\eta y - 2\eta^2 x`):

    >>> import sympy as sp
    >>> from lola_sym.games import hamiltonian
    >>> prog = derive_hola(hamiltonian())
    >>> prog.inputs
    (x, y, eta)
    >>> prog.evaluate({x: v for x, v in zip(prog.inputs, (1, 2, sp.Rational(1, 10)))})
    [-54/25, 29/50]
    """
    return hola_program(game, order)


EXACT = register(Rule(
    "exact_lola", "exact LOLA (no Taylor expansion)", derive_exact_lola, (ETA_HYPER,), order=2,
    needs_hessian=True, reference="Willi et al. 2022 (COLA), HOLA1; Foerster et al. 2018",
    rank=5, tags=frozenset({"lookahead", "opponent_shaping", "compare", "n_player"}),
    notes=Notes(
        r"g_1 = \nabla_1 \big[ V^1\big(\theta_1, \theta_2 + \eta \nabla_2 V^2(\theta_1, \theta_2)"
        r"\big) \big]",
        r"g_1 = \nabla_1 \big[ L_1\big(\theta_1, \theta_2 - \alpha \nabla_2 L_2(\theta)\big) \big]",
        COLA2022 + " (HOLA1, the COLA tables' \"LOLA\" column); " + LOLA2018 + ", Sec. 4.2.",
        "The total derivative through the opponent's actual naive step: no Taylor expansion.",
        steps=((r"exact", r"g^{\mathrm{ex}}"),))))
HOLA = register(Rule(
    "hola", "higher-order LOLA (COLA paper)", derive_hola, (ETA_HYPER,), order=3,
    needs_hessian=True, options={"order": 2}, reference="Willi et al. 2022 (COLA), Sec. 3",
    size_estimate=hola_size, rank=6, tags=frozenset({"lookahead", "opponent_shaping", "compare"}),
    two_player_reason="COLA's HOLA-n recursion is stated for two agents, each shifting the "
                      "other by its order n-1 step",
    notes=Notes(
        r"g^{(0)} = \xi, \quad "
        r"g_1^{(n)} = \nabla_1 \big[ V^1(\theta_1, \theta_2 + \eta\, g_2^{(n-1)}(\theta)) \big], "
        r"\quad "
        r"g_2^{(n)} = \nabla_2 \big[ V^2(\theta_1 + \eta\, g_1^{(n-1)}(\theta), \theta_2) \big]",
        r"h_1^{n+1} = -\alpha \nabla_1 L_1(\theta_1, \theta_2 + h_2^n), \quad "
        r"h_2^{n+1} = -\alpha \nabla_2 L_2(\theta_1 + h_1^n, \theta_2), \quad g = -h / \alpha",
        COLA2022 + ", Sec. 3 (higher-order LOLA, HOLA-n).",
        "Gradients flow through the previous level; HOLA-1 is exact LOLA and HOLA-0 is NL; "
        "the limit n to infinity is iLOLA. The option `order` is n.",
        steps=((r"hola(\d+)", r"h^{(\1)}"),))))
