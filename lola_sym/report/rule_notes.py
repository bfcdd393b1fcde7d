r"""Definitions and sources of the registered learning rules, for the derivation pages.

One :class:`RuleNote` per rule of :data:`lola_sym.rules.RULES`: the update in the
package's convention (values :math:`V^i` maximised, ascent
:math:`\theta_i \leftarrow \theta_i + \delta g_i`, :math:`\eta` the step the agent
assumes its opponent takes), the same rule in the loss convention of its source
(:math:`L_i = -V^i` minimised, :math:`\theta \leftarrow \theta - \text{lr}\, g`,
:math:`\alpha` the lookahead rate), and where it comes from. Equation and
section numbers are the ones quoted by the project's reference notes
(``reference/lola2018.md``, ``reference/opponent_shaping.md``) and rule modules;
none is given where they give none. Used by :mod:`lola_sym.report.derive`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RuleNote", "NOTES", "COMBINATIONS", "HYPER_LATEX"]

LOLA2018 = ("Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness. AAMAS. "
            "arXiv:1709.04326")
SOS2019 = ("Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable Games. ICLR. "
           "arXiv:1811.08469")
COLA2022 = ("Willi, T. et al. (2022). COLA: Consistent Learning with Opponent-Learning "
            "Awareness. ICML. arXiv:2203.04098")


@dataclass(frozen=True)
class RuleNote:
    """What a rule page says about one rule (LaTeX in raw strings)."""

    values: str          #: the update in values (ascent) convention, display maths
    losses: str          #: the same rule as its source writes it (losses, descent)
    source: str          #: paper and equation / section
    remark: str = ""     #: one or two sentences on what is held fixed, special cases


NOTES = {
    "nl": RuleNote(
        r"g_1 = \nabla_1 V^1, \qquad g_2 = \nabla_2 V^2",
        r"g = \xi = (\nabla_1 L_1, \nabla_2 L_2)",
        LOLA2018 + ", Sec. 4.1 (the naive learner, NL; Eq. 4.1 in the rule's registry entry).",
        "Each agent ascends its own value and ignores that the opponent learns."),
    "lola": RuleNote(
        r"g_1 = \nabla_1 V^1 + \eta\, (\nabla_2 V^1)^\top \nabla_1 \nabla_2 V^2, \qquad "
        r"g_2 = \nabla_2 V^2 + \eta\, (\nabla_1 V^2)^\top \nabla_2 \nabla_1 V^1",
        r"g = \xi - \alpha \chi, \qquad "
        r"\chi_i = \sum_{j \ne i} (\nabla_i \nabla_j L_j)\, \nabla_j L_i",
        LOLA2018 + ", Eq. 4.4 (first-order LOLA).",
        r"The first-order Taylor expansion of $V^1(\theta_1, \theta_2 + \eta \nabla_2 V^2)$ "
        r"with $\nabla_2 V^1$ held fixed: only the shaping term $\eta\chi$, no LookAhead term. "
        r"With $\eta = 0$ it is NL."),
    "la": RuleNote(
        r"g_1 = \nabla_1 V^1 + \eta\, (\nabla_1 \nabla_2 V^1)\, \nabla_2 V^2 "
        r"= \nabla_1 \big[ V^1(\theta_1, \theta_2 + \bot(\eta \nabla_2 V^2)) \big]",
        r"g = (I - \alpha H_o)\, \xi",
        "Zhang, C. and Lesser, V. (2010). Multi-agent learning with policy prediction. AAAI; "
        "in the form of " + SOS2019 + ", Sec. 3.",
        r"The opponent's naive step is predicted and held fixed ($\bot$: stop-gradient)."),
    "lola_full": RuleNote(
        r"g_1 = \nabla_1 \big[ V^1 + \eta\, (\nabla_2 V^1)^\top \nabla_2 V^2 \big] "
        r"= \nabla_1 V^1 + \eta\, (\nabla_1 \nabla_2 V^1)\, \nabla_2 V^2 "
        r"+ \eta\, (\nabla_1 \nabla_2 V^2)\, \nabla_2 V^1",
        r"g = (I - \alpha H_o)\, \xi - \alpha \chi",
        SOS2019 + ", Sec. 3 (LOLA with both first-order terms, as in LOLA-DiCE).",
        "LookAhead plus the shaping term of LOLA."),
    "exact_lola": RuleNote(
        r"g_1 = \nabla_1 \big[ V^1\big(\theta_1, \theta_2 + \eta \nabla_2 V^2(\theta_1, \theta_2)"
        r"\big) \big]",
        r"g_1 = \nabla_1 \big[ L_1\big(\theta_1, \theta_2 - \alpha \nabla_2 L_2(\theta)\big) \big]",
        COLA2022 + " (HOLA1, the COLA tables' \"LOLA\" column); " + LOLA2018
        + ", Sec. 4.2.",
        "The total derivative through the opponent's actual naive step: no Taylor expansion."),
    "hola": RuleNote(
        r"g^{(0)} = \xi, \quad "
        r"g_1^{(n)} = \nabla_1 \big[ V^1(\theta_1, \theta_2 + \eta\, g_2^{(n-1)}(\theta)) \big], "
        r"\quad "
        r"g_2^{(n)} = \nabla_2 \big[ V^2(\theta_1 + \eta\, g_1^{(n-1)}(\theta), \theta_2) \big]",
        r"h_1^{n+1} = -\alpha \nabla_1 L_1(\theta_1, \theta_2 + h_2^n), \quad "
        r"h_2^{n+1} = -\alpha \nabla_2 L_2(\theta_1 + h_1^n, \theta_2), \quad g = -h / \alpha",
        COLA2022 + ", Sec. 3 (higher-order LOLA, HOLA-n).",
        "Gradients flow through the previous level; HOLA-1 is exact LOLA and HOLA-0 is NL; "
        "the limit n to infinity is iLOLA. The option `order` is n."),
    "lola2": RuleNote(
        r"g_1 = \nabla_1 V^1 + \eta\, (\nabla_2 V^1)^\top "
        r"\frac{\partial g_2^{\mathrm{LOLA}}}{\partial \theta_1}, \qquad "
        r"g_2^{\mathrm{LOLA}} = \nabla_2 V^2 + \eta\, (\nabla_1 V^2)^\top \nabla_2 \nabla_1 V^1",
        r"\text{as LOLA, with the opponent's step } -\alpha\, g_2^{\mathrm{LOLA}} "
        r"\text{ in place of } -\alpha \nabla_2 L_2",
        LOLA2018 + ", Sec. 4.5 (second-order LOLA).",
        r"The agent assumes a first-order LOLA opponent; $\nabla_2 V^1$ is held fixed, the full "
        r"Jacobian of the opponent's LOLA direction (third derivatives) is kept."),
    "co": RuleNote(
        r"g = \xi - \gamma\, H^\top \xi = \xi - \gamma\, \nabla_\theta \tfrac12 \|\xi\|^2",
        r"g = \xi + \gamma\, H^\top \xi",
        "Mescheder, L., Nowozin, S. and Geiger, A. (2017). The Numerics of GANs. NeurIPS. "
        "arXiv:1705.10461 (consensus optimisation).",
        r"$\gamma$ here is the consensus weight, not a discount."),
    "sos": RuleNote(
        r"\xi_0 = \xi + \eta H_o \xi, \quad g = \xi_0 + p\, \eta \chi, \quad p = \min(q_1, q_2)",
        r"\xi_0 = (I - \alpha H_o)\xi, \quad \xi_p = \xi_0 - p \alpha \chi, \quad "
        r"p_1 = 1 \text{ if } \langle -\alpha\chi, \xi_0 \rangle \ge 0 \text{ else } "
        r"\min(1, -a \|\xi_0\|^2 / \langle -\alpha\chi, \xi_0 \rangle), \quad "
        r"p_2 = \|\xi\|^2 \text{ if } \|\xi\| < b \text{ else } 1",
        SOS2019 + " (stable opponent shaping; defaults a = 0.5, b = 0.1).",
        "LookAhead plus as much of LOLA's shaping term as keeps the fixed points and their "
        "stability. The switches $q_1$, $q_2$ are the paper's $p_1$, $p_2$ (renamed here: "
        r"$p_i$ is a policy probability), given under Combination."),
    "sga": RuleNote(
        r"g = \xi - \lambda A^\top \xi, \quad A = \tfrac12 (H - H^\top), \quad "
        r"\lambda = \mathrm{lam} \cdot \operatorname{sign}\big(-\tfrac1d "
        r"\langle \xi, H^\top\xi \rangle \langle A^\top\xi, H^\top\xi \rangle + 0.1\big)",
        r"g = \xi + \lambda A^\top \xi, \quad \lambda = \operatorname{sign}\big(\tfrac1d "
        r"\langle \xi, H^\top\xi \rangle \langle A^\top\xi, H^\top\xi \rangle + 0.1\big)",
        "Balduzzi, D. et al. (2018). The Mechanics of n-Player Differentiable Games. ICML. "
        "arXiv:1802.05642 (symplectic gradient adjustment, aligned sign).",
        "$d$ is the total number of parameters."),
    "sga_plain": RuleNote(
        r"g = \xi - \lambda A^\top \xi, \quad A = \tfrac12 (H - H^\top), \quad "
        r"\lambda = \mathrm{lam}",
        r"g = \xi + \lambda A^\top \xi",
        "Balduzzi, D. et al. (2018). The Mechanics of n-Player Differentiable Games. ICML. "
        "arXiv:1802.05642 (symplectic gradient adjustment, fixed lambda).",
        ""),
    "cgd": RuleNote(
        r"g = (I - \eta H_o)^{-1} \xi",
        r"g = (I + \eta H_o)^{-1} \xi",
        "Schaefer, F. and Anandkumar, A. (2019). Competitive Gradient Descent. NeurIPS. "
        "arXiv:1905.12103.",
        "The linear system is solved exactly at every point."),
}

#: How a combined rule finishes from its primitives (values convention), display maths.
COMBINATIONS = {
    "sos": (r"\xi_0 = \xi + \eta\, H_o\xi, \quad g = \xi_0 + p\, \eta\, \chi, \quad "
            r"p = \min(q_1, q_2), \quad "
            r"q_1 = \begin{cases} 1 & \eta \langle \chi, \xi_0 \rangle \ge 0 \\ "
            r"\min\big(1, -a \|\xi_0\|^2 / (\eta \langle \chi, \xi_0 \rangle)\big) "
            r"& \text{otherwise} \end{cases}, \quad "
            r"q_2 = \begin{cases} \|\xi\|^2 & \|\xi\| < b \\ 1 & \text{otherwise} \end{cases}"),
    "sga": (r"A^\top \xi = \tfrac12 (H^\top\xi - H\xi), \quad g = \xi - \lambda A^\top \xi, \quad "
            r"\lambda = \mathrm{lam} \cdot \operatorname{sign}\big(-\tfrac1d \langle \xi, "
            r"H^\top\xi \rangle \langle A^\top\xi, H^\top\xi \rangle + \tfrac1{10}\big)"),
    "sga_plain": (r"A^\top \xi = \tfrac12 (H^\top\xi - H\xi), \quad "
                  r"g = \xi - \mathrm{lam}\, A^\top \xi"),
    "cgd": (r"g = \begin{pmatrix} I & -\eta H_{12} \\ -\eta H_{21} & I \end{pmatrix}^{-1} \xi, "
            r"\quad H_{12} = \partial \xi_1 / \partial \theta_2, \quad "
            r"H_{21} = \partial \xi_2 / \partial \theta_1"),
}

#: LaTeX of the hyper-parameter names.
HYPER_LATEX = {"eta": r"\eta", "gamma": r"\gamma", "a": "a", "b": "b", "lam": r"\mathrm{lam}"}
