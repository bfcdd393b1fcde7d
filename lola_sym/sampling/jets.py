r"""The chain of a repeated game at one point, with exact first and second derivatives.

The one chain builder (:func:`lola_sym.games.chain.first_move` and
:func:`~lola_sym.games.chain.transitions`) is evaluated over :class:`Jet`
numbers: each policy probability carries its gradient and Hessian in the few
logits it depends on (analytic derivatives of the sigmoid and of the
reference-last softmax), and the builder's products follow the product rule.
The result, :class:`ChainJets`, holds :math:`p_0, P` with dense first
derivatives and sparse second derivatives (each entry depends on one state's
logits per player), from which :mod:`lola_sym.sampling.targets` computes exact
values, gradients and Hessians.

References
----------
.. [1] Griewank, A. and Walther, A. (2008). Evaluating Derivatives, 2nd ed.
   SIAM, Ch. 13 (Taylor arithmetic: second-order forward mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym.games.chain import first_move, transitions
from lola_sym.sampling.markov import ChainShape, _jindex, chain_shape, policy_probabilities

__all__ = ["Jet", "ChainJets", "chain_jets"]


class Jet:
    r"""A number with its gradient and Hessian in a few logits (second-order forward mode).

    ``value`` is a float, ``index`` the positions of the logits it depends on
    (in the concatenated vector of all players' logits), ``grad`` and ``hess``
    its first and second derivatives in them. Products follow the product
    rule; the chain builder multiplies one probability per player, whose
    logits are disjoint, so a product's index is the concatenation.

    Examples
    --------
    >>> import numpy as np
    >>> a = Jet(0.5, np.array([0]), np.array([0.25]), np.array([[0.0]]))
    >>> b = Jet(0.2, np.array([3]), np.array([0.16]), np.array([[0.096]]))
    >>> c = a * b
    >>> c.value, c.index.tolist(), c.grad.tolist()
    (0.1, [0, 3], [0.05, 0.08])
    """

    __slots__ = ("value", "index", "grad", "hess")

    def __init__(self, value, index, grad, hess):
        self.value, self.index, self.grad, self.hess = value, index, grad, hess

    def __mul__(self, other):
        if not isinstance(other, Jet):
            return Jet(self.value * other, self.index, self.grad * other, self.hess * other)
        a, b = self, other
        if np.intersect1d(a.index, b.index).size:
            return _merged(a, b)
        la = len(a.index)
        hess = np.empty((la + len(b.index),) * 2)
        hess[:la, :la] = a.hess * b.value
        hess[la:, la:] = b.hess * a.value
        hess[:la, la:] = np.outer(a.grad, b.grad)
        hess[la:, :la] = hess[:la, la:].T
        return Jet(a.value * b.value, np.concatenate([a.index, b.index]),
                   np.concatenate([a.grad * b.value, b.grad * a.value]), hess)

    __rmul__ = __mul__


def _merged(a: Jet, b: Jet) -> Jet:
    """The product of two jets that share logits."""
    index = np.union1d(a.index, b.index)
    pa, pb = np.searchsorted(index, a.index), np.searchsorted(index, b.index)
    ga, gb = np.zeros(len(index)), np.zeros(len(index))
    ga[pa], gb[pb] = a.grad, b.grad
    ha, hb = np.zeros((len(index),) * 2), np.zeros((len(index),) * 2)
    ha[np.ix_(pa, pa)], hb[np.ix_(pb, pb)] = a.hess, b.hess
    return Jet(a.value * b.value, index, ga * b.value + gb * a.value,
               ha * b.value + hb * a.value + np.outer(ga, gb) + np.outer(gb, ga))


def _policy_jets(sh: ChainShape, probs) -> list:
    r"""``jets[i][s][a]``: player ``i``'s probability of ``a`` in state ``s`` with derivatives.

    With logits :math:`x_b` (:math:`b < k - 1`, the last action the reference),
    :math:`\partial \pi_a / \partial x_b = \pi_a e_{ab}` and
    :math:`\partial^2 \pi_a / \partial x_b \partial x_c = \pi_a (e_{ab} e_{ac} - \pi_b e_{bc})`
    with :math:`e_{ab} = \delta_{ab} - \pi_b` (:math:`1 - \pi_a` summed from the
    other probabilities, accurate when saturated). For two actions this is the
    sigmoid's :math:`p \bar p` and :math:`p \bar p (\bar p - p)`.
    """
    out = []
    for i, table in enumerate(probs):
        k = sh.actions[i]
        others = ~np.eye(k, dtype=bool)
        rows = []
        for s, pi in enumerate(table):
            index = sh.offsets[i] + s * (k - 1) + np.arange(k - 1)
            rest = np.array([pi[others[b]].sum() for b in range(k - 1)])     # 1 - pi_b
            f = np.where(np.eye(k - 1, dtype=bool), rest, -pi[:k - 1])      # delta_bc - pi_c
            jets = []
            for a in range(k):
                e = f[a] if a < k - 1 else -pi[:k - 1]                        # delta_ab - pi_b
                hess = pi[a] * (np.outer(e, e) - pi[:k - 1, None] * f)
                jets.append(Jet(pi[a], index, pi[a] * e, hess))
            rows.append(jets)
        out.append(rows)
    return out


@dataclass(frozen=True)
class ChainJets:
    r"""The chain at one point with exact first and second derivatives in all logits.

    Attributes
    ----------
    p0, dp0 : ndarray, (N,), (D, N)
    P, dP : ndarray, (N, N), (D, N, N)
    second0, second : tuple
        Second derivatives as entries ``(rows, cols, index, hess)``: entry ``e``
        of :math:`p_0` (``cols`` unused) or of :math:`P` has Hessian ``hess[e]``
        in the logits ``index[e]`` (every other second derivative is zero).
    """

    p0: np.ndarray
    dp0: np.ndarray
    P: np.ndarray
    dP: np.ndarray
    second0: tuple
    second: tuple

    def contract(self, which: str, weights: np.ndarray) -> np.ndarray:
        r""":math:`\sum_e w_{e,k} \partial^2 x_e`, shape (K, D, D), for weights (E, K)."""
        rows, cols, index, hess = self.second0 if which == "p0" else self.second
        D = self.dP.shape[0]
        out = np.zeros((weights.shape[1], D, D))
        if not len(index):
            return out
        ii, jj = index[:, :, None], index[:, None, :]
        ii, jj = np.broadcast_arrays(ii, jj)
        for k in range(weights.shape[1]):
            np.add.at(out[k], (ii, jj), weights[:, k, None, None] * hess)
        return out

    def entries(self, which: str) -> tuple:
        """``(rows, cols)`` of the entries with second derivatives."""
        s = self.second0 if which == "p0" else self.second
        return s[0], s[1]

    def dense_second(self) -> tuple:
        """``(d2p0 (D, D, N), d2P (D, D, N, N))`` as dense arrays (small chains only)."""
        D, N = self.dP.shape[0], self.P.shape[0]
        d2p0, d2P = np.zeros((D, D, N)), np.zeros((D, D, N, N))
        rows, _, index, hess = self.second0
        for e in range(len(rows)):
            d2p0[index[e][:, None], index[e][None, :], rows[e]] += hess[e]
        rows, cols, index, hess = self.second
        for e in range(len(rows)):
            d2P[index[e][:, None], index[e][None, :], rows[e], cols[e]] += hess[e]
        return d2p0, d2P


def chain_jets(game, thetas) -> ChainJets:
    """The chain and its exact derivatives at one point (logits of every player, 1-d).

    Built by :func:`lola_sym.games.chain.first_move` and
    :func:`~lola_sym.games.chain.transitions` over :class:`Jet` numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games
    >>> cj = chain_jets(games.ipd(), (np.zeros(5), np.zeros(5)))
    >>> cj.P.shape, cj.dP.shape, cj.dP[1, 0].tolist()   # d P[CC, :] / d theta_1,CC
    ((4, 4), (10, 4, 4), [0.125, 0.125, -0.125, -0.125])
    """
    sh = chain_shape(game)
    _, probs = policy_probabilities(game, thetas)
    jets = _policy_jets(sh, probs)

    def prob(i, s, a):
        return jets[i][s][a]
    space = sh.game.space
    D, N = sh.D, sh.N
    first = [(sh.first[_jindex(sh, h[0])], w) for h, w in first_move(space, prob).items()]
    moves = [(e, sh.next[e, _jindex(sh, h2[-1])], w) for e, h in enumerate(sh.histories)
             for h2, w in transitions(space, prob, h).items()]
    p0, dp0 = np.zeros(N), np.zeros((D, N))
    for c, w in first:
        p0[c] += w.value
        dp0[w.index, c] += w.grad
    P, dP = np.zeros((N, N)), np.zeros((D, N, N))
    for r, c, w in moves:
        P[r, c] += w.value
        dP[w.index, r, c] += w.grad
    second0 = _stack([(c, -1, w) for c, w in first])
    second = _stack(moves)
    return ChainJets(p0, dp0, P, dP, second0, second)


def _stack(entries) -> tuple:
    rows = np.array([r for r, _, _ in entries], dtype=np.intp)
    cols = np.array([c for _, c, _ in entries], dtype=np.intp)
    index = np.array([w.index for _, _, w in entries], dtype=np.intp)
    hess = np.array([w.hess for _, _, w in entries])
    return rows, cols, index, hess
