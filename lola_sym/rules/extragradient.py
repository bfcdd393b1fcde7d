r"""The extragradient method (EG): each agent's gradient at an extrapolated point.

In values (ascent), with :math:`\xi = (\nabla_1 V^1, \dots, \nabla_n V^n)` the
simultaneous gradient and :math:`\eta` the extrapolation step,

.. math::

    \tilde\theta = \theta + \eta\, \xi(\theta), \qquad
    g_i = \nabla_i V^i(\tilde\theta) \qquad (i = 1, \dots, n).

Every agent first takes the naive step of every agent (its own included), then
updates with its gradient there. :math:`\tilde\theta` is a point, not
differentiated through: :math:`g_i` is the gradient of :math:`V^i` in its own
argument, evaluated at :math:`\tilde\theta` (first derivatives only; exact LOLA
instead differentiates through the opponents' step). With :math:`\eta = 0` it
is the naive learner. The sources write it for losses :math:`L_i = -V^i` and
descent, :math:`\theta' = \theta - \alpha\, \xi_L(\theta)`,
:math:`\theta \leftarrow \theta - \alpha\, \xi_L(\theta')`; with training's
:math:`\theta_i \leftarrow \theta_i + \delta g_i` and :math:`\delta = \eta` that is
their update. The definition is the same for any number of players.

References
----------
.. [1] Korpelevich, G. M. (1976). The extragradient method for finding saddle
   points and other problems. Ekonomika i Matematicheskie Metody 12, 747-756.
.. [2] Gidel, G. et al. (2019). A Variational Inequality Perspective on
   Generative Adversarial Networks. ICLR. arXiv:1802.10551.
.. [3] Mertikopoulos, P. et al. (2019). Optimistic Mirror Descent in
   Saddle-Point Problems: Going the Extra (Gradient) Mile. ICLR. arXiv:1807.02629.
"""

from __future__ import annotations

import sympy as sp

from lola_sym.rules.gradients import gradient_program
from lola_sym.rules.registry import Hyper, Notes, Rule, register

__all__ = ["derive_extragradient"]

ETA = sp.Symbol("eta", positive=True)


def derive_extragradient(game):
    r"""The extragradient program: outputs :math:`g_1, \dots, g_n` with the symbol ``eta``.

    The extrapolated point :math:`\tilde\theta_{i,s} = \theta_{i,s} + \eta\,
    \partial_{\theta_{i,s}} V^i` is a named step (``extra_{i},{s}``); the naive
    gradient program is then inlined with its inputs bound to that point, so
    nothing is differentiated through the extrapolation.

    Examples
    --------
    >>> from lola_sym.games import matching_pennies
    >>> prog = derive_extragradient(matching_pennies())
    >>> [s for s, _ in prog.steps if s.name.startswith("extra")]
    [extra_1,theta_1, extra_2,theta_2]
    >>> len(prog.outputs)
    2
    """
    prog, G = gradient_program(game)
    theta, names = game.theta, game.param_names
    naive = prog.with_outputs([g for i in range(1, len(theta) + 1) for g in G[(i, i)]])
    point = {}
    for i, th in enumerate(theta, 1):
        prog, extra = prog.define((f"extra_{i},{names[i - 1][k]}", t + ETA * g)
                                  for k, (t, g) in enumerate(zip(th, G[(i, i)])))
        point.update(zip(th, extra))
    prog, outs = prog.inline(naive, point, prefix="_eg_")
    return prog.add_inputs([ETA]).with_outputs(outs)


EXTRAGRADIENT = register(Rule(
    "extragradient", "extragradient", derive_extragradient,
    (Hyper("eta", 1.0, r"\eta"),), order=1, needs_hessian=False,
    reference="Korpelevich 1976; Gidel et al. 2019; Mertikopoulos et al. 2019", rank=13,
    tags=frozenset({"n_player"}),
    notes=Notes(
        r"g_i = \nabla_i V^i\big(\theta + \eta\, \xi(\theta)\big), \qquad "
        r"\xi = (\nabla_1 V^1, \dots, \nabla_n V^n)",
        r"\theta' = \theta - \alpha\, \xi(\theta), \qquad g = \xi(\theta')",
        "Korpelevich, G. M. (1976). The extragradient method for finding saddle points and "
        "other problems. Ekonomika i Matematicheskie Metody 12; in games: Gidel, G. et al. "
        "(2019). A Variational Inequality Perspective on Generative Adversarial Networks. "
        "ICLR. arXiv:1802.10551; Mertikopoulos, P. et al. (2019). Optimistic Mirror Descent "
        "in Saddle-Point Problems: Going the Extra (Gradient) Mile. ICLR. arXiv:1807.02629.",
        r"Every agent's naive step, its own included, is taken to the point "
        r"$\tilde\theta = \theta + \eta\xi$, which is held fixed: first derivatives only. "
        r"With $\eta = 0$ it is NL.",
        steps=((r"extra", r"\tilde\theta"),))))
