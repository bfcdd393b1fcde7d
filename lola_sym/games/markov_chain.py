r"""The chain of a Markov game at one policy profile: sparse transitions, LU and solves.

:class:`ChainAt` holds, for one profile of tabular softmax policies
(:func:`softmax_rows`), the joint action probabilities
(:func:`joint_probabilities`), the sparse transitions to states and chance
nodes, the expected rewards, and the sparse LU of the augmented
:math:`I - \gamma P` that the values and the adjoint gradients solve with
(:mod:`lola_sym.adjoint.solve`). The sparsity patterns are fixed per game
(``_Pattern``, built by :class:`~lola_sym.games.markov.MarkovGame`), so
a new profile only refills their values.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sps
from scipy.sparse.linalg import splu

__all__ = ["ChainAt", "softmax_rows", "joint_probabilities"]


def softmax_rows(x):
    r"""The reference-last softmax of each row of logits, shape ``(..., k - 1) -> (..., k)``.

    Works on real and complex logits (complex-step differentiation): the shift
    that keeps the exponentials finite is taken from the real parts and cancels.

    Examples
    --------
    >>> softmax_rows(np.zeros((1, 3)))
    array([[0.25, 0.25, 0.25, 0.25]])
    """
    z = np.concatenate([x, np.zeros(x.shape[:-1] + (1,), dtype=x.dtype)], axis=-1)
    z = z - np.max(z.real, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def joint_probabilities(probs):
    r""":math:`\pi(a \mid s) = \prod_i \pi_i(a_i \mid s)` from per-player ``(S, k_i)``, C order.

    Examples
    --------
    >>> import numpy as np
    >>> p1 = np.array([[0.25, 0.75], [1.0, 0.0]])
    >>> p2 = np.array([[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]])
    >>> joint_probabilities([p1, p2])
    array([[0.125 , 0.0625, 0.0625, 0.375 , 0.1875, 0.1875],
           [0.2   , 0.3   , 0.5   , 0.    , 0.    , 0.    ]])
    """
    out = probs[0]
    for q in probs[1:]:
        out = (out[:, :, None] * q[:, None, :]).reshape(out.shape[0], -1)
    return out


def _bincount(slot, w, n):
    """``np.bincount`` of real or complex weights."""
    out = np.bincount(slot, weights=w.real, minlength=n)
    if np.iscomplexobj(w):
        out = out + 1j * np.bincount(slot, weights=w.imag, minlength=n)
    return out


class _Pattern:
    """A fixed sparsity pattern (CSC or CSR) and where each listed entry adds into it."""

    def __init__(self, rows, cols, shape, fmt):
        major, minor = (cols, rows) if fmt == "csc" else (rows, cols)
        n_major, n_minor = (shape[1], shape[0]) if fmt == "csc" else shape
        key = major.astype(np.int64) * n_minor + minor
        uniq, self.slot = np.unique(key, return_inverse=True)
        self.indices = (uniq % n_minor).astype(np.int32)
        counts = np.bincount((uniq // n_minor).astype(np.int64), minlength=n_major)
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        self.nnz, self.shape, self.fmt = len(uniq), shape, fmt

    def matrix(self, data):
        cls = sps.csc_matrix if self.fmt == "csc" else sps.csr_matrix
        return cls((data, self.indices, self.indptr), shape=self.shape)


class ChainAt:
    r"""The chain of a Markov game at one policy profile.

    Attributes
    ----------
    probs : list of numpy.ndarray
        Per player, its action probabilities in every state, ``(S, k_i)``.
    joint : numpy.ndarray
        :math:`\pi(a \mid s)`, shape ``(S, A)``.
    P : scipy.sparse.csr_matrix
        The policy's transitions to states and chance nodes, ``(S, S + Z)``.
    r : numpy.ndarray
        Expected rewards :math:`r_i(s)`, ``(n, S)``.
    """

    def __init__(self, game, tables):
        self.game = game
        self.tables = tables
        self.probs = [t[v] for t, v in zip(tables, game.views)]
        self.joint = joint_probabilities(self.probs)
        self.P = self.assemble(self.joint)
        self.r = np.einsum("sa,nsa->ns", self.joint, game.rewards)
        self._lu = self._PT = None

    def weights(self, joint):
        """The transition entries weighted by ``joint`` ``(S, A)``."""
        s, a, _, p = self.game.transitions
        return p * joint[s, a]

    def assemble(self, joint):
        r"""The sparse ``(S, S + Z)`` matrix :math:`\sum_a q(a \mid s) T(\cdot \mid s, a)` for
        weights ``q`` ``(S, A)`` (the chain for ``q = joint``, its tangent for a tangent ``q``)."""
        P = self.game._patterns[0]
        return P.matrix(_bincount(P.slot, self.weights(joint), P.nnz))

    def lu(self):
        r"""The sparse LU of the augmented :math:`I - \gamma P` (computed once)."""
        if self._lu is None:
            g = self.game
            _, M, slot, base, _ = g._patterns
            data = base - float(g.gamma) * _bincount(slot, self.weights(self.joint), M.nnz)
            self._lu = splu(M.matrix(data), permc_spec=g.ordering)
        return self._lu

    def step(self, w):
        r""":math:`P w` for values ``w`` on the states ``(S, ...)``."""
        return self.P @ self.game.extend(w)

    def step_back(self, v, PT=None):
        r""":math:`P^\top v` for a distribution ``v`` on the states (the next step's), ``(S,)``;
        ``PT`` replaces :math:`P^\top` (e.g. the transposed tangent of the chain)."""
        g = self.game
        if PT is None:
            if self._PT is None:
                self._PT = self.P.T.tocsr()
            PT = self._PT
        u = PT @ v
        if not g.n_chance:
            return u
        return u[:g.n_states] + g._chance_T @ u[g.n_states:]

    def solve(self, extra=None):
        """Values of the rewards (and of extra per-state tables ``(m, S)``), ``(n [+ m],)``."""
        g = self.game
        r = self.r if extra is None else extra
        S = g.n_states
        if g.horizon is None:
            rhs = np.zeros((S + g.n_chance, len(r)), dtype=np.result_type(r, self.P.dtype))
            rhs[:S] = r.T
            return g.start @ self.lu().solve(rhs)[:S]
        gam = float(g.gamma)
        w = np.zeros(r.T.shape, dtype=np.result_type(r, self.P.dtype))
        for _ in range(g.horizon):
            w = r.T + gam * self.step(w)
        return g.start @ w
