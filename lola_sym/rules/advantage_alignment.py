r"""Advantage Alignment, exactly: the expected update as a closed form on the joint chain.

Advantage Alignment (Duque et al. 2025) trains agent 1 by policy gradient with
the modified advantage

.. math::

    A^*(x_t) = A^1(x_t) + \beta\gamma \Big(\sum_{k<t} \gamma^{t-k} A^1(x_k)\Big) A^2(x_t),

:math:`x_t = (s_t, a_t, b_t)` the joint chain of a two-player memory-1 game
(:math:`s_t` the last joint action, or the start state), :math:`A^i(x) = Q^i(x) -
V^i(s)` the joint-action advantages (README and ``train.py::aa_terms`` of
``jduquevan/advantage-alignment``). Its expectation is exact here:

.. math::

    g_1 = \mathbb{E}\Big[\sum_t \gamma^t A^*(x_t) \nabla \log \pi^1(a_t|s_t)\Big]
        = \underbrace{\mu_0 (I - \gamma P)^{-1} (A^1 \odot G_1)}_{\nabla_1 V^1}
        + \beta\gamma\, \mu_0 (I - \gamma P)^{-1} \mathrm{diag}(A^1)\, (\gamma^2 P)
          (I - \gamma^2 P)^{-1} (A^2 \odot G_1),

:math:`G_1(x) = \nabla_{\theta_1} \log \pi^1(a|s)`, :math:`\mu_0` the first joint
move, :math:`P` the joint chain's transitions,
:math:`P[x, x'] = [s' = (a, b)]\, \pi^1(a'|s') \pi^2(b'|s')`. The second term is
:math:`\sum_k \sum_{m \ge 1} \gamma^{k+m}\gamma^m \mu_0 P^k \mathrm{diag}(A^1) P^m f`
with :math:`t = k + m`, the formula of ``../shared/reference/newer_methods.md``
(which agrees with the issue's; no discrepancy found). Agent 2 is symmetric
(its own advantage first, agent 1's in the product). The first term is the
exact value gradient (the tests check it against the compiled naive field).

Modelling choices: the expected gradient replaces PPO's clipped sampled
objective (no clipping, no critic: :math:`Q^i` exact); ``beta`` is the paper's
:math:`\beta`; states are read from each player's own perspective.

References
----------
.. [1] Duque, J. A. et al. (2025). Advantage Alignment Algorithms. ICLR.
   arXiv:2406.14662, Eq. (the modified advantage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym.rules.pointwise import ClosedFormField
from lola_sym.rules.naive import derive_nl
from lola_sym.rules.registry import Hyper, Notes, Rule, register

__all__ = ["JointChain", "joint_chain", "aa_directions", "AdvantageAlignmentField", "AA2025"]

AA2025 = ("Duque, J. A., Aghajohari, M., Cooijmans, T., Ciuca, R., Zhang, T., Gidel, G., "
          "Courville, A. (2025). Advantage Alignment Algorithms. ICLR. arXiv:2406.14662")


@dataclass(frozen=True)
class JointChain:
    r"""The joint chain :math:`x = (s, a, b)` of a two-player memory-1 game at one point.

    Attributes
    ----------
    mu0 : (X,) first joint move; P : (X, X) transitions; r : (2, X) rewards;
    Q : (2, X) joint action values :math:`(I - \gamma P)^{-1} r`;
    A : (2, X) advantages :math:`Q^i(x) - V^i(s)`;
    G : tuple of (X, d_i) :math:`\nabla_{\theta_i} \log \pi^i(a_i | s_i)`;
    gamma : float; hist : (X,) history index of each x; act : (X, 2) joint action.
    """

    mu0: np.ndarray
    P: np.ndarray
    r: np.ndarray
    Q: np.ndarray
    A: np.ndarray
    G: tuple
    gamma: float
    hist: np.ndarray
    act: np.ndarray
    probs: tuple
    states: np.ndarray


def _repeated(game):
    rep = game if hasattr(game, "space") else getattr(game, "as_repeated", lambda: None)()
    if rep is None or rep.n_players != 2 or rep.space.memory != 1:
        raise ValueError(f"this rule needs a two-player memory-1 iterated game (its joint "
                         f"chain), got {game.name}")
    if rep.is_symbolic:
        raise ValueError(f"{game.name} has symbols; substitute values first "
                         f"(game.substitute(...))")
    return rep


def joint_chain(game, theta1, theta2) -> JointChain:
    """Build :class:`JointChain` at one point (1-d logits).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> c = joint_chain(ipd(), np.zeros(5), np.zeros(5))
    >>> c.P.shape, float(c.P.sum(axis=1).max()), float(c.mu0.sum())
    ((20, 20), 1.0, 1.0)
    """
    rep = _repeated(game)
    space = rep.space
    joint = list(space.joint)
    hists = [()] + [(a,) for a in joint]
    tables = rep.policy_table(theta1, theta2)
    pay = [np.array(rep.payoff_array(i), dtype=float) for i in (1, 2)]
    n_h, n_j = len(hists), len(joint)
    X = n_h * n_j
    hist = np.repeat(np.arange(n_h), n_j)
    act = np.array([joint[j] for _ in range(n_h) for j in range(n_j)])
    states = np.array([[space.state_of(i, hists[h]) for i in (0, 1)] for h in hist])
    w = np.array([tables[0][s1, a] * tables[1][s2, b]
                  for (s1, s2), (a, b) in zip(states, act)])
    r = np.array([[pay[i][a, b] for a, b in act] for i in (0, 1)])
    mu0 = np.where(hist == 0, w, 0.0)
    nxt = np.array([1 + joint.index(tuple(a)) for a in act])       # history after x
    P = (nxt[:, None] == hist[None, :]) * w[None, :]
    gamma = float(rep.gamma)
    Q = np.linalg.solve(np.eye(X) - gamma * P, r.T).T
    V = np.zeros((2, n_h))
    for i in (0, 1):
        np.add.at(V[i], hist, w * Q[i])
    A = Q - V[:, hist]
    G = []
    for i, (th, tab) in enumerate(zip((theta1, theta2), tables)):
        k = rep.actions[i]
        g = np.zeros((X, tab.shape[0], k - 1))
        rows = np.arange(X)
        s = states[:, i]
        g[rows, s, :] = -tab[s, :k - 1]
        own = act[:, i]
        m = own < k - 1
        g[rows[m], s[m], own[m]] += 1.0
        G.append(g.reshape(X, -1))
    return JointChain(mu0, P, r, Q, A, tuple(G), gamma, hist, act, tables, states)


def aa_directions(game, theta1, theta2, beta: float) -> tuple:
    r"""The expected Advantage-Alignment directions :math:`(g_1, g_2)` at one point.

    Examples
    --------
    With :math:`\beta = 0` the update is the policy gradient, i.e. naive
    learning (here against the compiled naive field); in a symmetric game at
    equal policies both agents get the same direction:

    >>> import numpy as np
    >>> from lola_sym import update_field
    >>> from lola_sym.games import ipd
    >>> t = np.array([0.5, -1.0, 0.0, 1.0, 2.0])
    >>> g1, _ = aa_directions(ipd(), t, -t, beta=0.0)
    >>> bool(np.allclose(g1, update_field(ipd(), "nl")(t, -t)[0], rtol=1e-12, atol=1e-12))
    True
    >>> g1, g2 = aa_directions(ipd(), t, t, beta=1.0)
    >>> bool(np.allclose(g1, g2, rtol=1e-12, atol=1e-12))
    True
    """
    c = joint_chain(game, theta1, theta2)
    X = c.P.shape[0]
    left = np.linalg.solve((np.eye(X) - c.gamma * c.P).T, c.mu0)      # mu0 (I - gamma P)^-1
    out = []
    for i in (0, 1):
        own, other = c.A[i], c.A[1 - i]
        pg = left @ (own[:, None] * c.G[i])
        f = other[:, None] * c.G[i]
        right = np.linalg.solve(np.eye(X) - c.gamma ** 2 * c.P, f)
        term = (left * own) @ (c.gamma ** 2 * (c.P @ right))
        out.append(pg + beta * c.gamma * term)
    return tuple(out)


class AdvantageAlignmentField(ClosedFormField):
    r"""``f(theta_1, theta_2) -> (g_1, g_2)``: the expected Advantage-Alignment update.

    Evaluated in float64 from the exact joint chain at each point (a closed-form
    rational function of the policies; no compiled program).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import update_field
    >>> from lola_sym.games import ipd
    >>> f = update_field(ipd(), "advantage_alignment", beta=0.0)
    >>> g = f(np.zeros(5), np.zeros(5))
    >>> nl = update_field(ipd(), "nl")(np.zeros(5), np.zeros(5))
    >>> bool(np.allclose(g[0], nl[0], rtol=1e-12, atol=1e-12))   # beta = 0: naive learning
    True
    """

    hyper_name = "beta"
    formula = staticmethod(aa_directions)
    check_game = staticmethod(_repeated)


def derive_aa(game, **options):
    """The policy-gradient primitive (the naive learner's program)."""
    return derive_nl(game)


AA = register(Rule(
    "advantage_alignment", "Advantage Alignment (expected update)", derive_aa,
    (Hyper("beta", 1.0, r"\beta"),), order=1, program_hyper=(),
    reference="Duque et al. 2025 (ICLR)", rank=63,
    tags=frozenset({"shaping_since_lola"}),
    two_player_reason="the modified advantage pairs one agent's advantage with one opponent's",
    notes=Notes(
        r"g_1 = \nabla_1 V^1 + \beta\gamma\, \mu_0 (I - \gamma P)^{-1} \mathrm{diag}(A^1) "
        r"(\gamma^2 P)(I - \gamma^2 P)^{-1} (A^2 \odot \nabla_1 \log \pi^1)",
        r"A^*(x_t) = A^1(x_t) + \beta\gamma \Big(\sum_{k<t}\gamma^{t-k} A^1(x_k)\Big) A^2(x_t)",
        AA2025 + "; jduquevan/advantage-alignment train.py::aa_terms.",
        "The expectation of the modified-advantage policy gradient on the exact joint chain "
        "(no PPO clipping, exact Q).")))


def build_field(game, rule, values, options, backend=None):
    """The field :func:`lola_sym.update_field` returns for this rule."""
    return AdvantageAlignmentField(game, rule, values, options)
