r"""LOQA, exactly: the opponent modelled as acting by a softmax of its own Q-values.

LOQA (Aghajohari et al. 2024) assumes the opponent samples its actions in
proportion to its action values, :math:`\hat\pi^2(b|s) \propto \exp(Q^2(s, b)/\tau)`,
and differentiates through that model. In a two-player memory-1 game
:math:`Q^2` is closed-form: with the joint chain :math:`x = (s, a, b)`,

.. math::

    Q^2(s, b) = \sum_a \pi^1(a|s)\,\big[r^2(a, b) + \gamma V^2\big((a, b)\big)\big],
    \qquad V^2 = \text{the state values of } (\pi^1, \pi^2),

and agent 1's LOQA direction is the total derivative

.. math:: g_1 = \frac{d}{d\theta_1} V^1\big(\theta_1, \hat\pi^2(\theta_1, \theta_2)\big),

:math:`\hat\pi^2` entering as the opponent's logits
:math:`\hat\theta_{2,s,b} = (Q^2(s, b) - Q^2(s, k))/\tau` (the last action the
reference). Agent 2 is symmetric. The derivative is taken by the complex step
(every operation, the softmax and the linear solves, is analytic):
:math:`g_{1,k} = \mathrm{Im}\, J(\theta_1 + i h e_k)/h` with :math:`h = 10^{-30}`, exact
to rounding (no difference is formed). The tests compare it with a 30-digit
mpmath central difference of an independently written objective.

Modelling choices, against the paper (documented, as the issue asks):

* the paper estimates :math:`Q^2` from sampled returns with a critic; here it is
  exact, and :math:`V^2` is that of the opponent's *actual* policy :math:`\pi^2`;
* the paper's gradient flows through agent 1's action probabilities in the
  sampled :math:`Q^2` estimates (REINFORCE on the returns); here the derivative
  is total, through :math:`\pi^1` in the expectation over agent 1's action *and*
  through :math:`V^2`'s dependence on :math:`\theta_1`;
* the temperature :math:`\tau` (``tau``, default 1) is exposed, since the paper's
  value and normalisation were not verified (``newer_methods.md``);
* :math:`\hat\pi^2` replaces :math:`\pi^2` in every state, the start state included.

References
----------
.. [1] Aghajohari, M., Duque, J. A., Cooijmans, T., Courville, A. (2024). LOQA:
   Learning with Opponent Q-Learning Awareness. ICLR. arXiv:2405.01035.
.. [2] Martins, J. R. R. A., Sturdza, P., Alonso, J. J. (2003). The complex-step
   derivative approximation. ACM TOMS 29(3).
"""

from __future__ import annotations

import numpy as np

from lola_sym.rules.pointwise import ClosedFormField
from lola_sym.rules.advantage_alignment import _repeated
from lola_sym.rules.naive import derive_nl
from lola_sym.rules.registry import Bound, Hyper, Notes, Rule, register

__all__ = ["loqa_objective", "loqa_directions", "LoqaField", "COMPLEX_STEP"]

#: the complex step h: Im J(theta + i h e_k) / h is the derivative to rounding
COMPLEX_STEP = 1e-30


def _policy(x, shape):
    z = np.concatenate([x.reshape(shape), np.zeros((shape[0], 1), dtype=x.dtype)], axis=1)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _structure(rep):
    space = rep.space
    joint = list(space.joint)
    hists = [()] + [(a,) for a in joint]
    n_h, n_j = len(hists), len(joint)
    hist = np.repeat(np.arange(n_h), n_j)
    act = np.array([joint[j] for _ in range(n_h) for j in range(n_j)])
    st = np.array([[space.state_of(i, hists[h]) for i in (0, 1)] for h in range(n_h)])
    nxt = np.array([1 + joint.index(tuple(a)) for a in act])
    pay = [np.array(rep.payoff_array(i), dtype=float) for i in (1, 2)]
    r = np.array([[pay[i][a, b] for a, b in act] for i in (0, 1)])
    return hist, act, st, nxt, r


def _values(rep, struct, pols):
    """Joint-chain values: ``(Q (2, X), weights (X,), P (X, X), mu0 (X,))`` (complex-safe)."""
    hist, act, st, nxt, r = struct
    w = pols[0][st[hist, 0], act[:, 0]] * pols[1][st[hist, 1], act[:, 1]]
    P = (nxt[:, None] == hist[None, :]) * w[None, :]
    X = len(w)
    Q = np.linalg.solve(np.eye(X) - float(rep.gamma) * P, r.T.astype(P.dtype)).T
    mu0 = np.where(hist == 0, w, 0.0)
    return Q, w, P, mu0


def loqa_objective(game, player, theta_own, theta_opp, tau):
    r"""Agent ``player``'s (0-based) LOQA objective :math:`V^i(\theta_i, \hat\pi^j(\theta))`.

    Works on complex logits (for the complex-step derivative).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> v = loqa_objective(ipd(), 0, np.zeros(5), np.zeros(5), 1.0)
    >>> bool(-75 < v.real < -25)
    True
    """
    rep = _repeated(game)
    struct = _structure(rep)
    hist, act, st, nxt, r = struct
    i, j = player, 1 - player
    k = [rep.actions[0], rep.actions[1]]
    shapes = [(rep.space.n_states(m), k[m] - 1) for m in (0, 1)]
    thetas = [None, None]
    thetas[i], thetas[j] = theta_own, theta_opp
    pols = [_policy(np.asarray(thetas[m]), shapes[m]) for m in (0, 1)]
    Q, w, _, _ = _values(rep, struct, pols)
    # the opponent's Q over its own actions, agent i's action averaged out
    own_p = pols[i][st[hist, i], act[:, i]]
    n_h = hist.max() + 1
    qhat = np.zeros((n_h, k[j]), dtype=Q.dtype)
    np.add.at(qhat, (hist, act[:, j]), own_p * Q[j])
    logits = np.zeros((shapes[j][0], k[j] - 1), dtype=Q.dtype)
    for h in range(n_h):
        logits[st[h, j]] = (qhat[h, :-1] - qhat[h, -1]) / tau
    model = [None, None]
    model[i], model[j] = pols[i], _policy(logits.ravel(), shapes[j])
    Qm, _, _, mu0 = _values(rep, struct, model)
    return mu0 @ Qm[i]


def loqa_directions(game, theta1, theta2, tau: float) -> tuple:
    r"""LOQA's directions :math:`(g_1, g_2)` at one point, by the complex step.

    Examples
    --------
    The complex step agrees with a central difference of
    :func:`loqa_objective` (step :math:`10^{-6}`, error :math:`O(10^{-12})`):

    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> t1, t2 = np.array([0.1, -0.2, 0.3, 0.0, 0.5]), np.zeros(5)
    >>> g1, g2 = loqa_directions(ipd(), t1, t2, tau=1.0)
    >>> e = np.eye(5)[0] * 1e-6
    >>> fd = (loqa_objective(ipd(), 0, t1 + e, t2, 1.0)
    ...       - loqa_objective(ipd(), 0, t1 - e, t2, 1.0)) / 2e-6
    >>> bool(abs(g1[0] - fd) < 1e-8), g1.shape, g2.shape
    (True, (5,), (5,))
    """
    thetas = (np.asarray(theta1, float), np.asarray(theta2, float))
    out = []
    for i in (0, 1):
        own, opp = thetas[i], thetas[1 - i]
        g = np.empty(own.size)
        for m in range(own.size):
            z = own.astype(complex)
            z[m] += 1j * COMPLEX_STEP
            g[m] = loqa_objective(game, i, z, opp.astype(complex), tau).imag / COMPLEX_STEP
        out.append(g)
    return tuple(out)


class LoqaField(ClosedFormField):
    r"""``f(theta_1, theta_2) -> (g_1, g_2)``: exact LOQA on a two-player memory-1 game.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import update_field
    >>> from lola_sym.games import ipd
    >>> g1, g2 = update_field(ipd(), "loqa", tau=1.0)(np.zeros(5), np.zeros(5))
    >>> g1.shape, bool(np.allclose(g1, g2))       # symmetric game, same policies
    ((5,), True)
    """

    hyper_name = "tau"
    formula = staticmethod(loqa_directions)
    check_game = staticmethod(_repeated)


def derive_loqa(game, **options):
    """The naive learner's program (the value gradient the model is plugged into)."""
    return derive_nl(game)


LOQA = register(Rule(
    "loqa", "LOQA (opponent as softmax of its Q-values, exact)", derive_loqa,
    (Hyper("tau", 1.0, r"\tau", Bound(0.0, lo_open=True)),), order=1, program_hyper=(),
    reference="Aghajohari et al. 2024 (ICLR)", rank=64, tags=frozenset({"shaping_since_lola"}),
    two_player_reason="the opponent model is one opponent's Q-function",
    notes=Notes(
        r"g_1 = \frac{d}{d\theta_1} V^1\big(\theta_1, \hat\pi^2\big), \quad "
        r"\hat\pi^2(b|s) \propto \exp\big(Q^2(s, b)/\tau\big)",
        r"g_1 = -\frac{d}{d\theta_1} L_1\big(\theta_1, \hat\pi^2(\theta_1, \theta_2)\big)",
        "Aghajohari, M. et al. (2024). LOQA: Learning with Opponent Q-Learning Awareness. "
        "ICLR. arXiv:2405.01035.",
        "Q^2 in closed form on the joint chain; the derivative is total (through pi^1 and "
        "V^2), taken by the complex step.")))


def build_field(game, rule, values, options, backend=None):
    """The field :func:`lola_sym.update_field` returns for this rule."""
    return LoqaField(game, rule, values, options)
