r"""The learning rules' directions on a Markov game at one point, from adjoint gradients.

Each rule follows its compiled definition (:mod:`lola_sym.rules`) term by
term, in the values (ascent) convention, for ``n`` players where the compiled
rule has the ``n_player`` tag:

* NL: :math:`g_i = \nabla_i V^i`.
* LOLA (Eq. 4.4 of [1]_, :mod:`lola_sym.rules.lola`):
  :math:`g_i = \nabla_i V^i + \eta \sum_{j \ne i} (\nabla_j V^i)^\top \nabla_i \nabla_j V^j`,
  each shaping term the derivative of :math:`\nabla_i V^j` along
  :math:`\theta_j \leftarrow \nabla_j V^i` (held fixed): one forward-over-adjoint
  product.
* LookAhead (:mod:`lola_sym.rules.lookahead`):
  :math:`g_i = \nabla_i V^i + \eta \sum_{j \ne i} (\nabla_i \nabla_j V^i) \nabla_j V^j`,
  one product along every opponent's naive direction at once.
* LOLA with both terms (``lola_full``): LookAhead plus LOLA's shaping term.
* Exact LOLA (:mod:`lola_sym.rules.exact`): with every opponent's naive step
  taken, :math:`\theta' = (\theta_i, \theta_j + \eta \nabla_j V^j)_{j \ne i}`,
  :math:`g_i = \nabla_i V^i|_{\theta'} + \eta \sum_{j \ne i}
  (\nabla_i \nabla_j V^j)|_\theta\, \nabla_j V^i|_{\theta'}`: one more
  factorisation per agent, at its shifted point.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Eq. 4.4.
.. [2] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. arXiv:1811.08469, Sec. 2-3.
.. [3] Willi, T. et al. (2022). COLA: Consistent Learning with
   Opponent-Learning Awareness. ICML. arXiv:2203.04098 (exact LOLA, HOLA-1).
"""

from __future__ import annotations

from lola_sym.adjoint.solve import Evaluation, at

__all__ = ["ADJOINT_RULES", "direction", "shaping_terms", "lookahead_terms"]


def shaping_terms(ev: Evaluation) -> list:
    r"""LOLA's :math:`\chi_i = \sum_{j \ne i} D_{\theta_j}[\nabla_i V^j] \cdot \nabla_j V^i`.

    Examples
    --------
    :math:`\chi_1` against a central difference of :math:`\nabla_1 V^2` along
    :math:`\theta_2` in the direction :math:`\nabla_2 V^1` (IPD, two players):

    >>> import numpy as np
    >>> from lola_sym.adjoint import markov_of
    >>> from lola_sym.adjoint.solve import at
    >>> from lola_sym.games import ipd
    >>> g = markov_of(ipd())
    >>> t1 = np.array([0.5, -1.0, 0.0, 1.0, 2.0]); t2 = -t1
    >>> ev, h = at(g, t1, t2), 1e-5
    >>> u = ev.gradient(1, 2)
    >>> fd = (at(g, t1, t2 + h * u).gradient(2, 1) - at(g, t1, t2 - h * u).gradient(2, 1)) / (2 * h)
    >>> bool(np.allclose(shaping_terms(ev)[0], fd, rtol=1e-7, atol=1e-7))
    True
    """
    n = ev.n
    out = []
    for i in range(1, n + 1):
        acc = 0
        for j in range(1, n + 1):
            if j != i:
                u = [None] * n
                u[j - 1] = ev.gradient(i, j)
                acc = acc + ev.jvp(u, j, blocks=[i])[i]
        out.append(acc)
    return out


def lookahead_terms(ev: Evaluation) -> list:
    r"""LookAhead's :math:`\sum_{j \ne i} (\nabla_i \nabla_j V^i) \nabla_j V^j`, per agent.

    Examples
    --------
    Agent 1's term against a central difference of :math:`\nabla_1 V^1` along
    :math:`\theta_2` in the direction :math:`\nabla_2 V^2` (IPD, two players):

    >>> import numpy as np
    >>> from lola_sym.adjoint import markov_of
    >>> from lola_sym.adjoint.solve import at
    >>> from lola_sym.games import ipd
    >>> g = markov_of(ipd())
    >>> t1 = np.array([0.5, -1.0, 0.0, 1.0, 2.0]); t2 = -t1
    >>> ev, h = at(g, t1, t2), 1e-5
    >>> v = ev.gradient(2, 2)
    >>> fd = (at(g, t1, t2 + h * v).gradient(1, 1) - at(g, t1, t2 - h * v).gradient(1, 1)) / (2 * h)
    >>> bool(np.allclose(lookahead_terms(ev)[0], fd, rtol=1e-7, atol=1e-7))
    True
    """
    n = ev.n
    return [ev.jvp([None if j == i else ev.gradient(j, j) for j in range(1, n + 1)], i,
                   blocks=[i])[i] for i in range(1, n + 1)]


def _nl(ev, hyper):
    return [ev.gradient(i, i) for i in range(1, ev.n + 1)]


def _lola(ev, hyper):
    return [g + hyper["eta"] * c for g, c in zip(_nl(ev, hyper), shaping_terms(ev))]


def _la(ev, hyper):
    return [g + hyper["eta"] * h for g, h in zip(_nl(ev, hyper), lookahead_terms(ev))]


def _lola_full(ev, hyper):
    eta = hyper["eta"]
    return [g + eta * (h + c) for g, h, c in zip(_nl(ev, hyper), lookahead_terms(ev),
                                                 shaping_terms(ev))]


def _exact_lola(ev, hyper):
    eta, n = hyper["eta"], ev.n
    out = []
    for me in range(1, n + 1):
        shifted = [t if j == me else t + eta * ev.gradient(j, j)
                   for j, t in enumerate(ev.thetas, 1)]
        there = Evaluation(ev.game, shifted)
        g = there.gradient(me, me)
        for j in range(1, n + 1):
            if j != me:
                u = [None] * n
                u[j - 1] = there.gradient(me, j)
                g = g + eta * ev.jvp(u, j, blocks=[me])[me]
        out.append(g)
    return out


#: The rules with an adjoint form, by registry name: ``f(evaluation, hyper) -> [g_1, ..., g_n]``.
ADJOINT_RULES = {"nl": _nl, "lola": _lola, "la": _la, "lola_full": _lola_full,
                 "exact_lola": _exact_lola}


def direction(game, rule: str, *thetas, **hyper) -> tuple:
    r"""The ascent directions ``(g_1, ..., g_n)`` of ``rule`` on a Markov game at one point.

    ``hyper`` are the rule's hyper-parameters (validated by the registry,
    defaults filled in); use :func:`lola_sym.update_field` for batches.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> from lola_sym.adjoint import markov_of
    >>> g1, g2 = direction(markov_of(ipd()), "lola", np.zeros(5), np.zeros(5), eta=1.0)
    >>> g1.shape, bool(np.allclose(g1, g2))
    ((5,), True)
    """
    from lola_sym.rules import get_rule
    r = get_rule(rule)
    if r.name not in ADJOINT_RULES:
        raise ValueError(f"rule {r.name!r} has no adjoint form; on Markov games the adjoint path "
                         f"computes {sorted(ADJOINT_RULES)}")
    r.check_players(game)
    return tuple(ADJOINT_RULES[r.name](at(game, *thetas), r.hyper_values(hyper)))
