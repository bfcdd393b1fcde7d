r"""Exact values, gradients and Hessians of repeated games at one point: the estimators' targets.

From the chain of :mod:`lola_sym.sampling.markov` with its exact first and
second derivatives in all logits (:func:`~lola_sym.sampling.jets.chain_jets`),

* the infinite discounted value :math:`V_i = p_0^\top (I - \gamma P)^{-1} r_i`
  (Sec. 4.1 of [1]_), differentiated in closed form: with
  :math:`M = I - \gamma P`, :math:`w = M^{-1} r`, :math:`u = M^{-\top} p_0`,
  :math:`\partial_a w = \gamma M^{-1} \partial_a P\, w` and
  :math:`\partial_a \partial_b V = \partial^2_{ab} p_0 \cdot w
  + \partial_a p_0 \cdot \partial_b w + \partial_b p_0 \cdot \partial_a w
  + \gamma u^\top (\partial^2_{ab} P\, w + \partial_a P\, \partial_b w
  + \partial_b P\, \partial_a w)`;
* the value truncated to ``T`` steps,
  :math:`V^T_i = \sum_{t<T} \gamma^t p_0^\top P^t r_i`, either as a forward sum
  (``method="sum"``; first and second derivatives by the adjoint recursion
  of :math:`f_{t+1} = f_t A`, :math:`A = \gamma P`, with the backward values
  :math:`b_k = \sum_{j<k} A^j r`:
  :math:`\partial_a V^T = \partial_a p_0 \cdot b_T + \sum_{t \le T-2} f_t\, \partial_a A\, b_{T-1-t}`,
  and for the Hessian the same sum with :math:`\partial_a f_t\, \partial_b A + \partial_b f_t\,
  \partial_a A + f_t\, \partial^2_{ab} A`), or as
  :math:`V - \gamma^T p_T^\top (I - \gamma P)^{-1} r` with :math:`(\gamma P)^T`
  and its derivatives by repeated squaring (``method="tail"``, any horizon,
  for chains whose dense second derivatives are small).

Every number is exact up to rounding (closed-form linear algebra, no finite
differences). The n-player quantities follow the n-player LOLA of [2]_.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1 and 4.3.
.. [2] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. arXiv:1811.08469, Sec. 2 (n-player LOLA).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from lola_sym._validation import check_positive_int
from lola_sym.rules import get_rule
from lola_sym.sampling.jets import chain_jets
from lola_sym.sampling.markov import (chain_shape, check_player, policy_probabilities,
                                      sampling_game, split_args)

__all__ = ["Targets", "exact_targets", "truncation_bias", "QUANTITIES", "MAX_SUM_HORIZON",
           "AUTO_SUM_HORIZON", "MAX_DENSE_SECOND"]

#: What an estimator estimates, for agent ``i`` with opponent ``j``: own gradient
#: :math:`\nabla_i V_i`, cross gradient :math:`\nabla_j V_i`, the opponent's cross
#: Hessian :math:`\nabla_i \nabla_j V_j` (rows = own logits), the LOLA correction
#: :math:`\sum_{j \ne i} \nabla_i \nabla_j V_j\, \nabla_j V_i` and the LOLA direction
#: (own gradient + eta * correction).
QUANTITIES = ("grad", "cross", "hessian", "correction", "lola")
#: Forward sums of :func:`exact_targets` with ``method="sum"`` are sequential (about 15 us
#: a step for 2x2 games, measured): longer horizons are refused (``method="tail"`` has no
#: limit), and ``method="auto"`` switches to the tail form above :data:`AUTO_SUM_HORIZON`.
#: Larger chains cost more a step (``max_sum_horizon(game)``).
MAX_SUM_HORIZON, AUTO_SUM_HORIZON = 10 ** 5, 1000
#: Most entries of the dense second derivatives of the transition matrix,
#: ``D**2 * N**2`` for ``D`` logits and ``N`` chain states, that ``method="tail"`` holds
#: (33 MB; repeated squaring keeps a few such arrays). The memory-2 IPD has 705,600.
MAX_DENSE_SECOND = 2 ** 22
#: Time model of one step of the forward sum (measured on 2 shared cores): a fixed numpy
#: overhead plus the ``D * N**2 * n`` multiply-adds of the adjoint accumulation, about
#: 15 us a step for 2x2 games, 125 us for the memory-2 IPD, 1 ms for the 5-player
#: contribution game and 19 ms for the 3-player memory-2 one; horizons are limited to
#: about :data:`_SUM_BUDGET_SECONDS` (and :data:`MAX_SUM_HORIZON`).
_SUM_STEP_SECONDS, _SUM_UNIT_SECONDS, _SUM_BUDGET_SECONDS = 20e-6, 6e-9, 5.0


def max_sum_horizon(game) -> int:
    """Longest horizon :func:`exact_targets` sums step by step for ``game`` (about 5 s).

    Examples
    --------
    >>> from lola_sym import games
    >>> max_sum_horizon(games.ipd()), max_sum_horizon(games.ipd_memory2())
    (100000, 22563)
    """
    sh = chain_shape(game)
    step = _SUM_STEP_SECONDS + _SUM_UNIT_SECONDS * sh.D * sh.N * sh.N * sh.n
    return int(min(MAX_SUM_HORIZON, _SUM_BUDGET_SECONDS / step))


# ------------------------------------------------------------------ the targets
@dataclass(frozen=True)
class Targets:
    r"""Exact values and their first and second derivatives at one point.

    Attributes
    ----------
    value : ndarray, shape (n,)
        :math:`(V_1, \dots, V_n)` (truncated to ``horizon`` steps when given).
    gradient : ndarray, shape (n, D)
        ``gradient[i - 1]`` is :math:`\partial V_i / \partial (\theta_1, \dots, \theta_n)`,
        ``D`` the number of logits of all players.
    hessian : ndarray, shape (n, D, D)
        Second derivatives of :math:`V_i` in the same ``D`` logits.
    horizon : int or None
        ``None`` for the infinite discounted sum.
    dims : tuple of int, optional
        Logits of each player (default: ``D`` split equally).
    """

    value: np.ndarray
    gradient: np.ndarray
    hessian: np.ndarray
    horizon: int | None = None
    dims: tuple | None = None

    def __post_init__(self):
        if self.dims is None:
            n, D = self.gradient.shape
            if D % n:
                raise ValueError(f"give dims: {D} logits do not split equally over {n} players")
            object.__setattr__(self, "dims", (D // n,) * n)

    @property
    def n(self) -> int:
        """Number of players."""
        return len(cast(tuple, self.dims))              # set by __post_init__

    def _block(self, player: int) -> slice:
        dims = cast(tuple, self.dims)                   # set by __post_init__
        start = sum(dims[:player - 1])
        return slice(start, start + dims[player - 1])

    def grad(self, of: int, wrt: int) -> np.ndarray:
        r""":math:`\nabla_{wrt} V_{of}`, shape (d_wrt,)."""
        of, wrt = check_player(of, self.n), check_player(wrt, self.n)
        return self.gradient[of - 1, self._block(wrt)]

    def hessian_block(self, of: int, rows: int, cols: int) -> np.ndarray:
        r""":math:`\nabla_{rows} \nabla_{cols} V_{of}`, shape (d_rows, d_cols)."""
        of = check_player(of, self.n)
        rows, cols = check_player(rows, self.n), check_player(cols, self.n)
        return self.hessian[of - 1, self._block(rows), self._block(cols)]

    def cross_hessian(self, of: int, rows: int = 1, cols: int = 2) -> np.ndarray:
        r""":math:`\nabla_1 \nabla_2 V_{of}` (rows agent 1's logits), or of other players."""
        return self.hessian_block(of, rows, cols)

    def quantity(self, name: str, agent: int = 1, eta: float = 1.0,
                 opponent: int | None = None) -> np.ndarray:
        """The exact value of an estimator's target (see :data:`QUANTITIES`).

        ``eta`` (LOLA's look-ahead, for ``"lola"``) is validated by the LOLA rule.
        ``opponent`` is the player ``j`` of ``"cross"`` and ``"hessian"`` (needed
        with more than two players) and restricts ``"correction"`` to one term.
        """
        i = check_player(agent, self.n)
        _check_quantity(name)
        eta = _check_eta(eta)
        js = _opponents(name, i, self.n, opponent)
        if name == "grad":
            return self.grad(i, i)
        if name == "cross":
            return self.grad(i, js[0])
        if name == "hessian":
            return self.hessian_block(js[0], i, js[0])
        with np.errstate(over="ignore", invalid="ignore"):
            corr = sum(self.hessian_block(j, i, j) @ self.grad(i, j) for j in js)
            out = corr if name == "correction" else self.grad(i, i) + eta * corr
        if not np.all(np.isfinite(out)):
            raise ValueError(f"the exact {name!r} target of agent {agent} overflows double "
                             f"precision (eta={eta:g}); use a smaller eta or rescale the payoffs")
        return out

    def __sub__(self, other: "Targets") -> "Targets":
        return Targets(self.value - other.value, self.gradient - other.gradient,
                       self.hessian - other.hessian, None, self.dims)


def _opponents(name: str, agent: int, n: int, opponent) -> tuple:
    """The opponents ``j`` a quantity of ``agent`` involves (see :meth:`Targets.quantity`)."""
    if opponent is not None:
        if name in ("grad", "lola"):
            raise ValueError(f"opponent= selects the player j of 'cross', 'hessian' and "
                             f"'correction'; {name!r} involves "
                             + ("no opponent" if name == "grad" else "every opponent"))
        j = check_player(opponent, n, "opponent")
        if j == agent:
            raise ValueError(f"opponent must differ from agent ({agent})")
        return (j,)
    if name in ("cross", "hessian"):
        if n > 2:
            raise ValueError(f"in a {n}-player game {name!r} needs opponent= (the player j of "
                             + ("grad_j V_i" if name == "cross" else "grad_i grad_j V_j") + ")")
        return (3 - agent,)
    return tuple(j for j in range(1, n + 1) if j != agent)


def _check_eta(eta) -> float:
    """LOLA's look-ahead validated by the LOLA rule (a finite real number >= 0)."""
    return get_rule("lola").hyper_values({"eta": eta})["eta"]


def _check_quantity(name):
    if not isinstance(name, str) or name not in QUANTITIES:
        raise ValueError(f"unknown quantity {name!r}; choose one of {list(QUANTITIES)}")


# ------------------------------------------------------------------ linear algebra
def _start_value(q, dq, q2, P, dP, P2, gamma, r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Derivatives of :math:`q^\top (I - \gamma P)^{-1} r_i` for a start distribution ``q(θ)``.

    ``q2(w)`` is :math:`\sum_i \partial^2 q_i\, w_{ik}` and ``P2(u, w)`` is
    :math:`\sum_{ij} u_i\, \partial^2 P_{ij}\, w_{jk}`, each of shape (n, D, D).
    """
    M = np.eye(len(P)) - gamma * P
    w = np.linalg.solve(M, r.T)                                          # (N, n)
    dw = np.linalg.solve(M, gamma * np.einsum("aij,jk->aik", dP, w))    # (D, N, n)
    u = np.linalg.solve(M.T, q)
    udP = np.einsum("i,aij->aj", u, dP)
    value = q @ w
    grad = (dq @ w + np.einsum("i,aik->ak", q, dw)).T
    hess = (q2(w) + np.einsum("ai,bik->kab", dq, dw) + np.einsum("bi,aik->kab", dq, dw)
            + gamma * (P2(u, w) + np.einsum("aj,bjk->kab", udP, dw)
                       + np.einsum("bj,ajk->kab", udP, dw)))
    return value, grad, hess


def _sparse_forms(cj):
    """``q2`` and ``P2`` of :func:`_start_value` from the sparse second derivatives."""
    rows0, _ = cj.entries("p0")
    rows, cols = cj.entries("P")
    return ((lambda w: cj.contract("p0", w[rows0])),
            (lambda u, w: cj.contract("P", u[rows, None] * w[cols])))


def _times(X, Y):
    """The product of two matrices with their first and second derivatives."""
    A, dA, d2A = X
    B, dB, d2B = Y
    d2 = (d2A @ B + A @ d2B + np.einsum("aij,bjk->abik", dA, dB)
          + np.einsum("bij,ajk->abik", dA, dB))
    return A @ B, dA @ B + A @ dB, d2


def _power(P, dP, d2P, k: int):
    """:math:`P^k` with its first and second derivatives, by repeated squaring."""
    n, m = P.shape[-1], dP.shape[0]
    result = (np.eye(n), np.zeros((m, n, n)), np.zeros((m, m, n, n)))
    base = (P, dP, d2P)
    while k:
        if k & 1:
            result = _times(result, base)
        k >>= 1
        if k:
            base = _times(base, base)
    return result


def _truncated_sum(cj, gamma, r, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r""":math:`V^T` and its derivatives by the forward sum with the adjoint recursion.

    The sums over steps of outer products, :math:`Z = \sum_t f_t \otimes b_{T-1-t}` and
    :math:`X = \sum_t \partial f_t \otimes b_{T-1-t}`, are matrix products of blocks of
    steps; both are then contracted once with :math:`\partial A` and :math:`\partial^2 A`.
    """
    A, dA = gamma * cj.P, gamma * cj.dP
    D, N, n = dA.shape[0], len(A), len(r)
    b = np.zeros((T + 1, N, n))                 # b_k = sum_{j<k} A^j r: k remaining steps
    for k in range(T):
        b[k + 1] = r.T + A @ b[k]
    rows0, _ = cj.entries("p0")
    rows, cols = cj.entries("P")
    value = cj.p0 @ b[T]
    grad = (cj.dp0 @ b[T]).T
    hess = cj.contract("p0", b[T][rows0])
    f, df = cj.p0, cj.dp0
    Z = np.zeros((N, N * n))                     # sum_t f_t (x) b_{T-1-t}
    X = np.zeros((D * N, N * n))                 # sum_t df_t (x) b_{T-1-t}
    block = max(1, min(T - 1, 256))
    F, DF = np.empty((block, N)), np.empty((block, D, N))
    for start in range(0, T - 1, block):
        k = min(block, T - 1 - start)
        for step in range(k):
            F[step], DF[step] = f, df
            if start + step < T - 2:
                f, df = f @ A, df @ A + np.matmul(f, dA)
        B = b[T - 1 - start:T - 1 - start - k:-1].reshape(k, N * n)
        Z += F[:k].T @ B
        X += DF[:k].reshape(k, D * N).T @ B
    flat = dA.reshape(D, N * N)
    grad += (flat @ Z.reshape(N * N, n)).T
    X = X.reshape(D, N, N, n).transpose(3, 0, 1, 2).reshape(n, D, N * N)
    cross = X @ flat.T                                       # (n, D, D)
    hess += (gamma * cj.contract("P", Z.reshape(N, N, n)[rows, cols]) + cross
             + cross.swapaxes(1, 2))
    return value, grad, hess


def _finite(targets: Targets, r, what: str) -> Targets:
    for name in ("value", "gradient", "hessian"):
        if not np.all(np.isfinite(getattr(targets, name))):
            raise ValueError(f"{what} overflow double precision (payoffs up to "
                             f"{np.max(np.abs(r)):.3g}): rescale the payoffs, e.g. divide every "
                             f"player's payoffs by a common factor")
    return targets


def _point(game, args, what):
    """``(game shape, logits, extra arguments)`` of a one-point call."""
    thetas, extra = split_args(game, args, ("horizon",), what)
    sh = chain_shape(game)
    checked, _ = policy_probabilities(game, thetas)
    if any(t.ndim != 1 for t in checked):
        shapes = " and ".join(str(t.shape) for t in checked)
        need = " and ".join(f"({d},)" for d in sh.dims)
        raise ValueError(f"{what} take{'' if what.endswith('s') else 's'} one point: the "
                         f"logits must have shapes {need}; got {shapes}")
    return sh, checked, extra


def _dense_ok(sh) -> bool:
    return sh.D ** 2 * sh.N ** 2 <= MAX_DENSE_SECOND


def _tail_refusal(sh) -> str:
    return (f"the tail form needs the dense second derivatives of P^T, "
            f"{sh.D ** 2 * sh.N ** 2:,} entries for {sh.D} logits and {sh.N} chain states "
            f"(limit {MAX_DENSE_SECOND:,})")


def exact_targets(game, *args, horizon: int | None = None, method: str = "auto") -> Targets:
    r"""Exact values, gradients and Hessians of every player at one point.

    Call as ``exact_targets(game, theta1, ..., theta_n)`` (optionally followed by
    the horizon). With ``horizon=None`` the infinite discounted value
    :math:`V_i = p_0^\top (I - \gamma P)^{-1} r_i`; with a horizon ``T`` the
    truncated :math:`V^T_i = \sum_{t<T} \gamma^t p_t^\top r_i`, computed by the
    forward sum (``method="sum"``, at most ``max_sum_horizon(game)`` steps) or as
    :math:`V - \gamma^T p_T^\top (I - \gamma P)^{-1} r` with :math:`(\gamma P)^T`
    by repeated squaring (``method="tail"``, any horizon, chains with at most
    :data:`MAX_DENSE_SECOND` dense second derivatives); ``"auto"`` sums up to
    :data:`AUTO_SUM_HORIZON` steps and uses the tail form beyond where it can.
    The derivatives are exact up to rounding (closed-form linear algebra).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games, update_field
    >>> g, t1, t2 = games.ipd(), np.linspace(-1, 1, 5), np.linspace(1, -1, 5)
    >>> ex = exact_targets(g, t1, t2)
    >>> bool(np.allclose(ex.grad(1, 1), update_field(g, "nl")(t1, t2)[0], rtol=1e-10))
    True
    >>> lola = update_field(g, "lola", eta=1.0)(t1, t2)[0]
    >>> bool(np.allclose(ex.quantity("lola", agent=1, eta=1.0), lola, rtol=1e-10))
    True
    >>> g = games.rps()
    >>> ex = exact_targets(g, *[np.full(20, 0.1)] * 2, horizon=5)
    >>> ex.gradient.shape, ex.hessian.shape
    ((2, 40), (2, 40, 40))
    """
    sh, thetas, extra = _point(game, args, "exact targets")
    horizon = _merge(horizon, extra)
    if not isinstance(method, str) or method not in ("auto", "sum", "tail"):
        raise ValueError(f"unknown method {method!r}; choose 'auto', 'sum' or 'tail'")
    cj = chain_jets(game, thetas)
    gamma, r = float(sampling_game(game).gamma), sh.rewards
    if horizon is not None:
        horizon = check_positive_int(horizon, "horizon")
        method = _method(sh, game, method, horizon)
    what = "the exact values and derivatives"
    if horizon is None or method == "tail":
        q2, P2 = _sparse_forms(cj)
        with np.errstate(over="ignore", invalid="ignore"):
            full = Targets(*_start_value(cj.p0, cj.dp0, q2, cj.P, cj.dP, P2, gamma, r), None,
                           sh.dims)
        if horizon is None:
            return _finite(full, r, what)
        with np.errstate(over="ignore", invalid="ignore"):
            diff = full - _bias(sh, cj, gamma, r, horizon)
        return _finite(Targets(diff.value, diff.gradient, diff.hessian, horizon, sh.dims), r,
                       what)
    with np.errstate(over="ignore", invalid="ignore"):
        out = Targets(*_truncated_sum(cj, gamma, r, horizon), horizon, sh.dims)
    return _finite(out, r, what)


def _merge(horizon, extra):
    if "horizon" in extra:
        if horizon is not None:
            raise TypeError("horizon given twice (positionally and as a keyword)")
        return extra["horizon"]
    return horizon


def _method(sh, game, method, horizon) -> str:
    """The method for ``horizon`` steps: 'sum' or 'tail', or a clear refusal."""
    limit = max_sum_horizon(game)
    if method == "auto":
        if horizon <= AUTO_SUM_HORIZON or not _dense_ok(sh):
            method = "sum"
        else:
            method = "tail"
    if method == "tail" and not _dense_ok(sh):
        raise ValueError(f"method='tail' is not available for {sampling_game(game).name}: "
                         f"{_tail_refusal(sh)}; use method='sum' (horizons up to {limit:,})")
    if method == "sum" and horizon > limit:
        alt = ("use method='tail' (closed form, any horizon)" if _dense_ok(sh) else
               f"use a horizon of at most {limit:,} ({_tail_refusal(sh)})")
        raise ValueError(f"method='sum' adds the horizon={horizon:,} steps one by one (limit "
                         f"{limit:,}, about 5 s); {alt}")
    return method


def _bias(sh, cj, gamma, r, horizon) -> Targets:
    r""":math:`\gamma^T p_T^\top (I - \gamma P)^{-1} r` by repeated squaring (dense)."""
    d2p0, d2P = cj.dense_second()
    A, dA, d2A = _power(gamma * cj.P, gamma * cj.dP, gamma * d2P, horizon)
    q = cj.p0 @ A                                                  # gamma^T p_T
    dq = cj.dp0 @ A + np.einsum("i,aij->aj", cj.p0, dA)
    d2q = (d2p0 @ A + np.einsum("ai,bij->abj", cj.dp0, dA) + np.einsum("bi,aij->abj", cj.dp0, dA)
           + np.einsum("i,abij->abj", cj.p0, d2A))
    _, P2 = _sparse_forms(cj)
    q2 = lambda w: np.einsum("abi,ik->kab", d2q, w)                 # noqa: E731
    return Targets(*_start_value(q, dq, q2, cj.P, cj.dP, P2, gamma, r), horizon, sh.dims)


def truncation_bias(game, *args, horizon: int | None = None) -> Targets:
    r"""Exact :math:`V - V^T = \gamma^T p_T^\top (I - \gamma P)^{-1} r` and its derivatives.

    Call as ``truncation_bias(game, theta1, ..., theta_n, horizon)``. The bias of
    every estimator from episodes of ``horizon`` steps with respect to the
    infinite discounted value (:math:`p_T = p_0 P^T`). The discounted
    distribution :math:`\gamma^T p_T = p_0 (\gamma P)^T` and its derivatives
    come from repeated squaring: any horizon takes :math:`O(\log T)` matrix
    products. Chains beyond :data:`MAX_DENSE_SECOND` use :math:`V - V^T` with
    the forward sum instead (horizons up to ``max_sum_horizon(game)``).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games
    >>> g, t = games.ipd(), np.zeros(5)
    >>> b = truncation_bias(g, t, t, 150)
    >>> full, trunc = exact_targets(g, t, t), exact_targets(g, t, t, horizon=150)
    >>> bool(np.allclose(b.gradient, full.gradient - trunc.gradient, rtol=1e-9, atol=1e-12))
    True
    """
    sh, thetas, extra = _point(game, args, "truncation_bias")
    horizon = _merge(horizon, extra)
    if horizon is None:
        raise TypeError("truncation_bias needs the horizon (steps >= 1) after the logits")
    horizon = check_positive_int(horizon, "horizon")
    gamma, r = float(sampling_game(game).gamma), sh.rewards
    what = "the truncation bias and its derivatives"
    if not _dense_ok(sh):
        full = exact_targets(game, *thetas)
        part = exact_targets(game, *thetas, horizon=horizon, method="sum")
        diff = full - part
        return _finite(Targets(diff.value, diff.gradient, diff.hessian, horizon, sh.dims), r,
                       what)
    cj = chain_jets(game, thetas)
    with np.errstate(over="ignore", invalid="ignore"):
        out = _bias(sh, cj, gamma, r, horizon)
    return _finite(out, r, what)
