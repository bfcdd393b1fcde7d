r"""Values, gradients and Hessian-vector products of a Markov game at one point, by adjoints.

With :math:`M = I - \gamma P` (augmented by the chance nodes, see
:mod:`lola_sym.games.markov`), one sparse LU of :math:`M` gives the state
values :math:`w_i = M^{-1} r_i` and the discounted visitation
:math:`v = \mu_0^\top M^{-1}`. Since :math:`V_i = \mu_0^\top w_i`,

.. math::

    \partial V_i = v\, \partial r_i + \gamma\, v\, (\partial P)\, w_i
    = \sum_s v_s \sum_a \partial\pi(a \mid s)\, Q_i(s, a),
    \qquad Q_i = R_i + \gamma\, T w_i ,

the adjoint form (for the LOLA paper's chains, whose start distribution
:math:`p_0` depends on the policies, the term :math:`(\partial p_0) w` is the
first step from the start state here). :math:`\partial P` is never formed per
parameter: the derivative of player ``j``'s reference-last softmax in state
``s`` is :math:`\partial \pi_a / \partial x_b = \pi_a (\delta_{ab} - \pi_b)`, so

.. math::

    \frac{\partial V_i}{\partial x_{j, \mathrm{row}, b}}
    = \sum_{s:\ \mathrm{view}_j(s) = \mathrm{row}} v_s\, \pi_j(b \mid s)
      \big( Q_i^j(s, b) - \textstyle\sum_a \pi_j(a \mid s) Q_i^j(s, a) \big),

with :math:`Q_i^j` the Q-values marginalised over the other players' policies.
A Hessian-vector product is the forward-mode derivative of this whole
computation along a direction of the logits (forward over adjoint): the
tangents of the policies give :math:`dP` (same sparsity as :math:`P`) and
:math:`dr`, then :math:`dw = M^{-1}(dr + \gamma\, dP\, w)` and
:math:`dv^\top = \gamma\, v^\top dP\, M^{-1}` reuse the same LU, two more
solves per direction.

With a horizon ``T`` the same sums run over time: the values come from the
backward recursion :math:`w^{(k)} = r + \gamma P w^{(k-1)}`, the visitation
from the forward one :math:`v_{t+1} = v_t P`, and the gradient is
:math:`\sum_{t<T} \gamma^t \sum_s v_t(s) \sum_a \partial\pi(a \mid s)
Q^{(T-t)}(s, a)`, :math:`Q^{(k)} = R + \gamma T w^{(k-1)}`; their tangents
follow the same recursions.

Every computation is written over real or complex numbers: complex logits give
the complex-step derivatives the tests use as the reference.
"Exact" here means exact to the precision of the sparse solver: the
computed values solve the linear system to a residual of a few units of
rounding times its condition number, at most :math:`2 / (1 - \gamma)` in the
max-norm.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1-4.2.
.. [2] Sutton, R. S. et al. (2000). Policy gradient methods for reinforcement
   learning with function approximation. NeurIPS (the gradient as visitation
   times Q-values).
.. [3] Griewank, A. and Walther, A. (2008). Evaluating Derivatives. SIAM,
   Ch. 3 and 5 (adjoints; forward over reverse).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sps

from lola_sym.games.markov import joint_probabilities

__all__ = ["Evaluation", "at"]

_LETTERS = "abcdefghijklmnopqr"


@lru_cache(maxsize=None)
def _aggregator(game, player):
    """Sparse ``(rows, S)``: adds the states that player ``player`` reads as one row."""
    view = game.views[player]
    S = game.n_states
    return sps.csr_matrix((np.ones(S), (view, np.arange(S))), shape=(len(game.rows[player]), S))


def _marginal(Q, probs, j, replace=None):
    r""":math:`Q^j`: ``Q`` ``(m, S, k_1..k_n)`` summed over every player but ``j``, weighted by
    its probabilities ``(S, k)`` (``replace = (k, dprobs_k)`` uses a tangent for player ``k``)."""
    n = len(probs)
    letters = _LETTERS[:n]
    operands, subs = [Q], [f"ms{letters}"]
    for k in range(n):
        if k != j:
            operands.append(replace[1] if replace is not None and replace[0] == k else probs[k])
            subs.append(f"s{letters[k]}")
    return np.einsum(",".join(subs) + f"->ms{letters[j]}", *operands, optimize=n > 2)


class Evaluation:
    r"""A Markov game at one point: values, every gradient block, and their tangents.

    Build it with :func:`at`. Gradients are indexed like the compiled rules'
    ``G[(i, j)]``: :math:`\nabla_j V_i`, players 1-based.

    Attributes
    ----------
    game : MarkovGame
    thetas : list of numpy.ndarray
        Each player's logits (real or complex).
    values : numpy.ndarray
        :math:`(V_1, \dots, V_n)`.
    """

    def __init__(self, game, thetas):
        self.game = game
        self.thetas = [np.asarray(t) for t in thetas]
        self.tables = game.tables(*self.thetas)
        self.chain = game.chain_at(self.tables)
        self.probs = self.chain.probs
        self.n = game.n_players
        self._gradients = None
        self._u = None
        gam = float(game.gamma)
        ch = self.chain
        S = game.n_states
        if game.horizon is None:
            lu = ch.lu()
            rhs = np.zeros((S + game.n_chance, self.n), dtype=ch.P.dtype)
            rhs[:S] = ch.r.T
            self._W = lu.solve(rhs)                              # (S + Z, n)
            mu = np.zeros(S + game.n_chance, dtype=ch.P.dtype)
            mu[:S] = game.start
            self._v = lu.solve(mu, trans="T")[:S]                 # discounted visitation
            self.values = game.start @ self._W[:S]
        else:
            w = np.zeros((S, self.n), dtype=ch.P.dtype)
            self._W = [w]                                         # w^(0), ..., w^(T-1)
            for _ in range(game.horizon):
                w = ch.r.T + gam * ch.step(w)
                self._W.append(w)
            self.values = game.start @ self._W.pop()

    # ------------------------------------------------------- weighted Q-values
    def _q(self, W, values):
        """Q-values ``(m, S, k_1, ..., k_n)`` of the listed values from state values ``(S + Z, n)``."""
        g = self.game
        S, A = g.n_states, g.n_joint
        cont = (g.transition_matrix @ W[:, values]).T.reshape(len(values), S, A)
        return (g.rewards[values] + float(g.gamma) * cont).reshape(
            (len(values), S) + tuple(g.actions))

    def _weighted(self, values):
        r"""``(weight (S,), Q (m, S, k...))`` whose policy gradient is the gradient.

        Discounted: the visitation :math:`v` and the Q-values. With a horizon the
        gradient :math:`\sum_t \sum_s u_t(s) \ldots Q_t(s, \cdot)` is linear in
        :math:`u_t Q_t`, so the sum over time is taken first: weight one and
        :math:`\sum_t u_t Q_t`, :math:`u_t = \gamma^t v_t`.
        """
        g = self.game
        if g.horizon is None:
            return self._v, self._q(self._W, values)
        U = self._visits()
        W = np.stack(self._W[::-1])[:, :, values]           # continuation of step t
        return np.ones(g.n_states), self._time_sum(U, W, values)

    def _visits(self):
        r""":math:`u_t = \gamma^t \mu_0^\top P^t`, ``(T, S)`` (horizon games)."""
        if self._u is None:
            g = self.game
            gam = float(g.gamma)
            u = np.empty((g.horizon, g.n_states), dtype=self._W[0].dtype)
            u[0] = g.start
            for t in range(1, g.horizon):
                u[t] = gam * self.chain.step_back(u[t - 1])
            self._u = u
        return self._u

    def _time_sum(self, U, W, values=None):
        r""":math:`\sum_t U_t \odot Q_t`, ``(m, S, k...)``, for :math:`Q_t = R + \gamma T w_t`
        (the rewards left out when ``values`` is None: a tangent), ``W`` ``(T, S, m)``."""
        g = self.game
        S, A = g.n_states, g.n_joint
        T, _, m = W.shape
        out = 0 if values is None else U.sum(axis=0)[None, :, None] * g.rewards[values]
        chunk = max(1, 4_000_000 // (S * A * m))
        for lo in range(0, T, chunk):
            hi = min(T, lo + chunk)
            X = g.extend(W[lo:hi].transpose(1, 0, 2).reshape(S, -1))
            TX = (g.transition_matrix @ X).reshape(S, A, hi - lo, m)
            out = out + float(g.gamma) * np.einsum("ts,satm->msa", U[lo:hi], TX)
        return out.reshape((m, S) + tuple(g.actions))

    def _tangent_weighted(self, djoint, values):
        """``(weight, dweight, Q, dQ)`` along a tangent ``djoint`` of :math:`\\pi(a \\mid s)`."""
        g, ch = self.game, self.chain
        gam = float(g.gamma)
        S = g.n_states
        dP = ch.assemble(djoint)
        dr = np.einsum("sa,msa->ms", djoint, g.rewards[values])
        if g.horizon is None:
            lu = ch.lu()
            rhs = np.zeros((S + g.n_chance, len(values)), dtype=np.result_type(dP, self._W))
            rhs[:S] = dr.T + gam * (dP @ self._W[:, values])
            dW = lu.solve(rhs)
            dv = lu.solve(np.asarray(gam * (dP.T @ self._v)), trans="T")[:S]
            return self._v, dv, self._q(self._W, values), self._dq(dW)
        T, m = g.horizon, len(values)
        W = np.stack(self._W)[:, :, values]                  # w^(0), ..., w^(T-1)
        dtype = np.result_type(dP, W)
        # dw^(k) = dr + gamma (dP w^(k-1) + P dw^(k-1)); the dP terms for every k at once
        forced = dP @ g.extend(W.transpose(1, 0, 2).reshape(S, -1))
        forced = dr.T[:, None, :] + gam * forced.reshape(S, T, m)
        dW = np.zeros((T, S, m), dtype=dtype)
        for k in range(1, T):
            dW[k] = forced[:, k - 1] + gam * ch.step(dW[k - 1])
        # du_t = gamma^t d(v_t): du_{t+1} = gamma (P^T du_t + dP^T u_t)
        U = self._visits()
        dPT = dP.T.tocsr()
        pushed = ch.step_back(U.T, dPT)                       # dP^T u_t for every t, (S, T)
        dU = np.zeros((T, S), dtype=dtype)
        for t in range(1, T):
            dU[t] = gam * (ch.step_back(dU[t - 1]) + pushed[:, t - 1])
        Wr, dWr = W[::-1], dW[::-1]
        Q = self._time_sum(U, Wr, values)
        dQ = self._time_sum(dU, Wr, values) + self._time_sum(U, dWr)
        return np.ones(S), np.zeros(S), Q, dQ

    def _dq(self, dW):
        """Tangent Q-values ``(m, S, k...)``: :math:`\\gamma T\\, dw` (rewards are fixed)."""
        g = self.game
        cont = (g.transition_matrix @ dW).T.reshape((dW.shape[1], g.n_states) + tuple(g.actions))
        return float(g.gamma) * cont

    # ------------------------------------------------------------- gradients
    def _policy_gradient(self, j, weight, Qj):
        """Player ``j``'s (0-based) logit gradient ``(m, d_j)`` from weights and :math:`Q^j`."""
        pj = self.probs[j]
        mean = np.einsum("msa,sa->ms", Qj, pj)
        contrib = weight[None, :, None] * pj[None, :, :-1] * (Qj[..., :-1] - mean[..., None])
        return self._to_rows(j, contrib)

    def _to_rows(self, j, contrib):
        m, S, k1 = contrib.shape
        rows = _aggregator(self.game, j) @ contrib.transpose(1, 0, 2).reshape(S, m * k1)
        return rows.reshape(-1, m, k1).transpose(1, 0, 2).reshape(m, -1)

    def gradients(self) -> dict:
        r"""Every block :math:`\nabla_j V_i` as ``{(i, j): array (d_j,)}`` (1-based)."""
        if self._gradients is None:
            values = list(range(self.n))
            weight, Q = self._weighted(values)
            acc = [self._policy_gradient(j, weight, _marginal(Q, self.probs, j))
                   for j in range(self.n)]
            self._gradients = {(i + 1, j + 1): acc[j][i] for i in values
                               for j in range(self.n)}
        return self._gradients

    def gradient(self, i: int, j: int):
        r""":math:`\nabla_j V_i` (players 1-based)."""
        return self.gradients()[(i, j)]

    # -------------------------------------------------------- tangents (HVPs)
    def _tangent_probs(self, direction):
        """Per player, the tangent of its probabilities in every state ``(S, k)``."""
        out = []
        for j, (d, table) in enumerate(zip(direction, self.tables)):
            if d is None:
                out.append(None)
                continue
            x = np.asarray(d).reshape(table.shape[0], table.shape[1] - 1)
            x = np.concatenate([x, np.zeros((x.shape[0], 1), dtype=x.dtype)], axis=1)
            dt = table * (x - np.sum(table * x, axis=1, keepdims=True))
            out.append(dt[self.game.views[j]])
        return out

    def jvp(self, direction, value: int, blocks=None) -> dict:
        r"""The derivative of every :math:`\nabla_j V_i` (``i = value``) along ``direction``.

        Parameters
        ----------
        direction : sequence
            One array ``(d_j,)`` per player, or None where the direction is zero.
        value : int
            ``i``, 1-based.
        blocks : sequence of int, optional
            The players ``j`` (1-based) whose blocks are wanted (default all).

        Returns
        -------
        dict
            ``{j: array (d_j,)}``: :math:`\sum_k (\nabla_j \nabla_k V_i)\, u_k` for the
            direction ``u`` (forward over adjoint: two more solves with the same LU).
        """
        if len(direction) != self.n:
            raise ValueError(f"direction must give one array (or None) per player ({self.n})")
        dprobs = self._tangent_probs(direction)
        djoint = 0
        for k, dp in enumerate(dprobs):
            if dp is not None:
                djoint = djoint + joint_probabilities(
                    [dp if q == k else p for q, p in enumerate(self.probs)])
        wanted = range(self.n) if blocks is None else [b - 1 for b in blocks]
        if isinstance(djoint, int):
            return {j + 1: np.zeros(self.game.dims[j]) for j in wanted}
        values = [value - 1]
        weight, dweight, Q, dQ = self._tangent_weighted(djoint, values)
        acc = {}
        for j in wanted:
            pj, dpj = self.probs[j], dprobs[j]
            Qj = _marginal(Q, self.probs, j)
            dQj = _marginal(dQ, self.probs, j)
            for k, dp in enumerate(dprobs):
                if dp is not None and k != j:
                    dQj = dQj + _marginal(Q, self.probs, j, replace=(k, dp))
            mean = np.einsum("msa,sa->ms", Qj, pj)
            dmean = np.einsum("msa,sa->ms", dQj, pj)
            if dpj is not None:
                dmean = dmean + np.einsum("msa,sa->ms", Qj, dpj)
            centred = Qj[..., :-1] - mean[..., None]
            dcontrib = (dweight[None, :, None] * pj[None, :, :-1] * centred
                        + weight[None, :, None] * pj[None, :, :-1]
                        * (dQj[..., :-1] - dmean[..., None]))
            if dpj is not None:
                dcontrib = dcontrib + weight[None, :, None] * dpj[None, :, :-1] * centred
            acc[j] = self._to_rows(j, dcontrib)
        return {j + 1: acc[j][0] for j in wanted}

    def hvp(self, i: int, j: int, k: int, u):
        r""":math:`(\nabla_j \nabla_k V_i)\, u` for ``u`` of shape ``(d_k,)`` (players 1-based)."""
        direction: list[np.ndarray | None] = [None] * self.n
        direction[k - 1] = np.asarray(u)
        return self.jvp(direction, i, blocks=[j])[j]


def at(game, *thetas) -> Evaluation:
    r"""The adjoint :class:`Evaluation` of a Markov game at one point.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> from lola_sym.adjoint import markov_of
    >>> e = at(markov_of(ipd()), np.zeros(5), np.zeros(5))
    >>> [round(float(x), 9) for x in e.values]      # uniform play: -1.5 per step
    [-37.5, -37.5]
    >>> e.gradient(1, 1).shape
    (5,)
    """
    ts = game._thetas(thetas, complex_ok=True)
    if any(t.ndim != 1 for t in ts):
        raise ValueError("at() takes one point: every theta must be 1-d")
    return Evaluation(game, ts)
