r"""POLA: proximal LOLA, ideal (Newton) and outer (the paper's Algorithm 1).

Agent :math:`i` moves to the maximiser of its proximal objective, the opponent
:math:`j` taking a naive step of size :math:`\eta` (``lr_in`` of the reference):

.. math::

    \theta_i^+ = \arg\max_x \Big[ V^i\big(x, \theta_j + \eta \nabla_j V^j(x, \theta_j)\big)
                 - \beta\, \sum_s w_s \mathrm{KL}\big(\pi_{i,s}(\theta_i) \,\|\, \pi_{i,s}(x)\big)
                 \Big],

and the field is :math:`g_i = \theta_i^+ - \theta_i` (train with ``delta=1``).
``"pola"`` solves the step by Newton on the exact gradient and Hessian
(:data:`~lola_sym.rules.proximal.NEWTON_GTOL`); ``"pola_outer"`` runs gradient
ascent with rate ``lr_out`` until the KL between consecutive iterates is below
``prox_threshold`` both ways, or ``max_iters`` (defaults 1e-8 and 5000, the
reference's ``prox_threshold`` and ``prox_outer_max_iters``). Option
``weighted=1`` weights the KL by state visitation (``--visitation_weighted_kl``).
Both need a numeric solve per point, so they are *not* single compiled
programs: :func:`lola_sym.update_field` builds a
:class:`~lola_sym.rules.proximal.ProximalField` from the compiled exact-LOLA
field and its Jacobian; the rule's ``derive`` gives that primitive program.

``"pola_full"`` is the paper's POLA with the opponent's step proximal too
(the reference's ``--inner_exact_prox``, weight ``beta_in``):

.. math::

    y^*(x) = \arg\max_y V^j(x, y) - \beta_{in} \sum_s w_s
             \mathrm{KL}\big(\pi_{j,s}(\theta_j) \,\|\, \pi_{j,s}(y)\big), \qquad
    \theta_i^+ = \arg\max_x V^i(x, y^*(x)) - \beta \sum_s w_s
             \mathrm{KL}\big(\pi_{i,s}(\theta_i) \,\|\, \pi_{i,s}(x)\big),

both solved by Newton, :math:`dy^*/dx` by the implicit-function theorem.

Modelling choices, against the paper: the reference's exact-value IPD
experiment (``update_th_exact_value_outer_exact_prox``, the README's "outer
POLA") uses a naive opponent step, as ``"pola"`` and ``"pola_outer"`` do. With a
naive inner step POLA is invariant to reparameterising the logits only when
:math:`\eta = 0` (the opponent's gradient step depends on the opponent's
parameterisation); with both steps proximal (``"pola_full"``) the new *policies*
are invariant to any reparameterisation :math:`\theta = M \phi`
(:func:`lola_sym.games.reparameterised.reparameterised`). The tests check both.

References
----------
.. [1] Zhao, S., Lu, C., Grosse, R., Foerster, J. (2022). Proximal Learning With
   Opponent-Learning Awareness. NeurIPS. arXiv:2210.10125, Sec. 3, Algorithm 1.
"""

from __future__ import annotations

from lola_sym.rules.exact import derive_exact_lola
from lola_sym.rules.gradients import value_gradient_program
from lola_sym.rules.lola import ETA_HYPER
from lola_sym.rules.registry import Bound, Hyper, Notes, Rule, register

__all__ = ["derive_pola", "derive_pola_full", "proximal_solver", "POLA2022"]

POLA2022 = ("Zhao, S., Lu, C., Grosse, R., Foerster, J. (2022). Proximal Learning With "
            "Opponent-Learning Awareness. NeurIPS. arXiv:2210.10125")

BETA_HYPER = Hyper("beta", 1.0, r"\beta", Bound(0.0, lo_open=True))
LR_OUT_HYPER = Hyper("lr_out", 0.3, r"\alpha_{\mathrm{out}}", Bound(0.0, lo_open=True))
BETA_IN_HYPER = Hyper("beta_in", 1.0, r"\beta_{\mathrm{in}}", Bound(0.0, lo_open=True))
THRESHOLD_HYPER = Hyper("prox_threshold", 1e-8, r"\epsilon", Bound(0.0, lo_open=True))


def derive_pola(game, **options):
    """The primitive POLA is solved from: the exact-LOLA program (:mod:`lola_sym.rules.exact`).

    Examples
    --------
    >>> from lola_sym.games import matching_pennies
    >>> from lola_sym.rules.exact import derive_exact_lola
    >>> prog = derive_pola(matching_pennies())
    >>> prog.inputs
    (theta_1, theta_2, eta)
    >>> prog == derive_exact_lola(matching_pennies())
    True
    """
    return derive_exact_lola(game)


def derive_pola_full(game, **options):
    r"""The primitive full POLA is solved from: every value gradient :math:`\nabla_j V^i`.

    Outputs :math:`\nabla_1 V^1, \nabla_2 V^1, \nabla_1 V^2, \nabla_2 V^2`
    (:func:`lola_sym.rules.gradients.value_gradient_program`).

    Examples
    --------
    On matching pennies, :math:`V^1 = -(2p - 1)(2q - 1) = -V^2` with
    :math:`p = \sigma(\theta_1)`, :math:`q = \sigma(\theta_2)`, so
    :math:`\nabla_2 V^1 = -2 q \bar q (2p - 1)` and :math:`\nabla_1 V^1 = -2 p \bar p (2q - 1)`.
    At :math:`\theta_1 = \log 3` (:math:`p = 3/4`) and :math:`\theta_2 = 0` (:math:`q = 1/2`):
    :math:`\nabla_1 V^1 = 0` and :math:`\nabla_2 V^1 = -2 \cdot \tfrac14 \cdot \tfrac12 = -1/4`:

    >>> import sympy as sp
    >>> from lola_sym.games import matching_pennies
    >>> prog = derive_pola_full(matching_pennies())
    >>> [str(o) for o in prog.outputs]
    ['dV1/dtheta_1,theta_1', 'dV1/dtheta_2,theta_2', 'dV2/dtheta_1,theta_1', 'dV2/dtheta_2,theta_2']
    >>> [round(float(v), 12) for v in prog.evaluate(dict(zip(prog.inputs, (sp.log(3), 0))))]
    [0.0, -0.25, 0.0, 0.25]
    """
    return value_gradient_program(game)


_NOTES = Notes(
    r"\theta_1^+ = \arg\max_x V^1\big(x, \theta_2 + \eta \nabla_2 V^2(x, \theta_2)\big) "
    r"- \beta \sum_s w_s \mathrm{KL}\big(\pi_{1,s}(\theta_1) \| \pi_{1,s}(x)\big), "
    r"\quad g_1 = \theta_1^+ - \theta_1",
    r"\theta_1^+ = \arg\min_x L_1\big(x, \theta_2 - \alpha_{\mathrm{in}} \nabla_2 L_2\big) "
    r"+ \beta_{\mathrm{out}} \mathrm{KL}",
    POLA2022 + ", Sec. 3, Algorithm 1; Silent-Zebra/POLA LOLA_exact.py.",
    "A proximal step, not a gradient: solved numerically from the compiled exact-LOLA "
    "gradient and Hessian; the opponent takes a naive step.")

POLA = register(Rule(
    "pola", "ideal POLA (proximal step by Newton)", derive_pola, (ETA_HYPER, BETA_HYPER),
    order=2, needs_hessian=True, options={"weighted": 0}, program_hyper=("eta",),
    reference="Zhao et al. 2022, Sec. 3", rank=61,
    tags=frozenset({"shaping_since_lola"}),
    two_player_reason="the reference's exact-value POLA is written for two agents",
    failure="Newton on the proximal objective did not converge (a small beta conditions it badly)",
    notes=_NOTES))

POLA_OUTER = register(Rule(
    "pola_outer", "outer POLA (Algorithm 1, gradient steps)", derive_pola,
    (ETA_HYPER, BETA_HYPER, LR_OUT_HYPER, THRESHOLD_HYPER), order=2, needs_hessian=True,
    options={"weighted": 0, "max_iters": 5000}, program_hyper=("eta",),
    reference="Zhao et al. 2022, Algorithm 1", rank=62,
    tags=frozenset({"shaping_since_lola"}),
    two_player_reason="the reference's exact-value POLA is written for two agents",
    notes=_NOTES))

POLA_FULL = register(Rule(
    "pola_full", "POLA, both steps proximal (Newton, IFT)", derive_pola_full,
    (BETA_IN_HYPER, BETA_HYPER), order=2, needs_hessian=True, options={"weighted": 0},
    program_hyper=(), reference="Zhao et al. 2022, Sec. 3 and Algorithm 1", rank=65,
    tags=frozenset({"shaping_since_lola"}),
    two_player_reason="the reference's exact-value POLA is written for two agents",
    failure="Newton on a proximal objective did not converge (a small beta or beta_in "
            "conditions it badly)",
    notes=Notes(
        r"y^*(x) = \arg\max_y V^2(x, y) - \beta_{\mathrm{in}} D_2(\theta_2 \| y), \quad "
        r"\theta_1^+ = \arg\max_x V^1(x, y^*(x)) - \beta D_1(\theta_1 \| x), "
        r"\quad g_1 = \theta_1^+ - \theta_1",
        r"\theta_2' = \arg\min_y L_2(x, y) + \beta_{\mathrm{in}} \mathrm{KL}, \quad "
        r"\theta_1^+ = \arg\min_x L_1(x, \theta_2'(x)) + \beta_{\mathrm{out}} \mathrm{KL}",
        POLA2022 + ", Sec. 3, Algorithm 1; Silent-Zebra/POLA LOLA_exact.py "
        "(--inner_exact_prox).",
        "Both steps proximal: the new policies do not depend on the parameterisation. "
        "Solved by nested Newton from the compiled value gradients and the naive field's "
        "exact Jacobian; the opponent's response is differentiated by the implicit-function "
        "theorem.")))

#: rule name -> how its proximal step is solved
_SOLVERS = {"pola": "newton", "pola_outer": "outer", "pola_full": "nested"}


def proximal_solver(rule) -> str | None:
    """``"newton"`` or ``"outer"`` for the POLA rules, None for every compiled rule.

    Examples
    --------
    >>> from lola_sym.rules import get_rule
    >>> proximal_solver(get_rule("pola")), proximal_solver(get_rule("lola"))
    ('newton', None)
    >>> proximal_solver(get_rule("pola_full"))
    'nested'
    """
    return _SOLVERS.get(rule.name)
