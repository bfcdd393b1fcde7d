r"""Batched Monte-Carlo rollouts of iterated 2x2 games with memory-1 policies.

Many episodes are simulated at once with numpy from a seeded
``numpy.random.Generator``. Episodes either have a fixed horizon ``T`` (the
estimators then weight step ``t`` by :math:`\gamma^t` and target the
*truncated* value :math:`\sum_{t<T} \gamma^t \mathbb{E}[r_t]`) or terminate
geometrically: after every step the episode continues with probability
:math:`\gamma`, so that the undiscounted return is an unbiased sample of the
exact discounted value :math:`V = p_0^\top (I - \gamma P)^{-1} r`
(Sec. 4.1 of [1]_).

States are read from each agent's *own* perspective (own action first), as
in :mod:`lola_sym.layout`: index 0 is the first move ``s0``, then ``CC, CD,
DC, DD``. After joint action ``(a1, a2)`` (0 = C, 1 = D) agent 1 is in state
``1 + 2 a1 + a2`` and agent 2 in ``1 + 2 a2 + a1``.

The exact law of what the simulator produces lives here too: the chain
(:func:`chain`, :func:`joint_distribution`) and the exact values with their
first and second derivatives that the sample-based estimators of
:mod:`lola_sym.estimators` target (:func:`exact_targets`, infinite or
truncated to ``T`` steps, by closed-form forward-mode differentiation of
:math:`p_{t+1} = p_t P`), with the truncation bias
:math:`V - V^T = \gamma^T p_T^\top (I - \gamma P)^{-1} r` (:func:`truncation_bias`).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1 and 4.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import expit

from lola_sym._validation import as_params, as_point, check_positive_int
from lola_sym.layout import SWAP
from lola_sym.training import as_generator

__all__ = ["Rollouts", "rollout", "chain", "joint_distribution", "TERMINATIONS", "Targets",
           "exact_targets", "truncation_bias", "target_for", "QUANTITIES"]

#: Accepted values of ``termination``.
TERMINATIONS = ("fixed", "geometric")


def _check_game(game):
    if getattr(game, "kind", None) != "iterated":
        raise TypeError("game must be an iterated 2x2 game (lola_sym.games.IteratedGame), "
                        f"got {type(game).__name__}")


def _payoffs(game) -> np.ndarray:
    """Rewards as floats, shape (2, 2, 2): ``[agent, a1, a2]``."""
    return np.array([[[float(x) for x in row] for row in R] for R in (game.R1, game.R2)])


@dataclass(frozen=True, eq=False)
class Rollouts:
    r"""A batch of simulated episodes (see :func:`rollout`).

    Every per-step array has shape ``(2, *lead, batch, T)`` where the first
    axis is the agent (0 = agent 1, 1 = agent 2) and ``lead`` are the leading
    axes of the parameters (independent parameter pairs simulated together).

    Attributes
    ----------
    game : IteratedGame
    theta1, theta2 : ndarray, shape (*lead, 5)
        The parameters the episodes were drawn with (copies).
    states : ndarray of int8
        Each agent's own-perspective state index at step ``t`` (0 = s0).
    actions : ndarray of int8
        Each agent's action at step ``t`` (0 = C, 1 = D).
    mask : ndarray of bool, shape (*lead, batch, T)
        Whether the episode is still running at step ``t`` (all True for a
        fixed horizon).
    termination : {"fixed", "geometric"}
    kappa : float
        Per-step discount the estimators apply: :math:`\gamma` for a fixed
        horizon, 1 for geometric termination (the discount is then the
        continuation probability).
    """

    game: object
    theta1: np.ndarray
    theta2: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    mask: np.ndarray
    termination: str
    kappa: float

    @property
    def batch(self) -> int:
        """Number of episodes per parameter pair."""
        return self.states.shape[-2]

    @property
    def horizon(self) -> int:
        """Number of simulated steps ``T`` (the longest episode for geometric termination)."""
        return self.states.shape[-1]

    @property
    def lead(self) -> tuple:
        """Leading shape of the parameters."""
        return self.states.shape[1:-2]

    @cached_property
    def rewards(self) -> np.ndarray:
        """Rewards of both agents, float64, zero after an episode ended."""
        R = _payoffs(self.game)
        a1, a2 = self.actions[0].astype(np.intp), self.actions[1].astype(np.intp)
        return np.stack([R[0][a1, a2], R[1][a1, a2]]) * self.mask

    @property
    def joint_actions(self) -> np.ndarray:
        """Joint action index ``2 a1 + a2`` (CC, CD, DC, DD, agent 1 first), (*lead, batch, T)."""
        return 2 * self.actions[0].astype(np.intp) + self.actions[1]

    @cached_property
    def weights(self) -> np.ndarray:
        r"""Per-step weights :math:`d_t = \kappa^t \cdot \text{mask}_t`, shape (*lead, batch, T).

        The estimators target :math:`\mathbb{E}[\sum_t d_t r_t]`.
        """
        return self.kappa ** np.arange(self.horizon) * self.mask

    def returns(self) -> np.ndarray:
        r"""Discounted returns :math:`\sum_t d_t r_t` of both agents, shape (2, *lead, batch)."""
        return np.sum(self.rewards * self.weights, axis=-1)

    def returns_to_go(self) -> np.ndarray:
        r""":math:`G_t = \sum_{l \ge t} \kappa^{l-t} r_l`, shape (2, *lead, batch, T) (read-only)."""
        return self._returns_to_go

    @cached_property
    def _returns_to_go(self) -> np.ndarray:
        r = self.rewards
        out = np.empty_like(r)
        acc = np.zeros(r.shape[:-1])
        for t in range(self.horizon - 1, -1, -1):
            acc = r[..., t] + self.kappa * acc
            out[..., t] = acc
        out.flags.writeable = False
        return out

    @cached_property
    def scores(self) -> np.ndarray:
        r"""Score functions :math:`\nabla_{\theta_i} \log \pi_i(u^i_t \mid s^i_t)`, (2, *lead, batch, T, 5).

        Non-zero only on the logit of the visited own state ``k``:
        :math:`1 - p_{i,k}` after C, :math:`-p_{i,k}` after D (zero after the
        episode ended). Read-only.
        """
        st = self.states.astype(np.intp)
        lead_idx = np.ix_(*[np.arange(n) for n in self.lead]) if self.lead else ()
        idx = tuple(i[..., None, None] for i in lead_idx)
        x = np.empty(st.shape)
        for i, theta in enumerate((self.theta1, self.theta2)):
            q, qbar = expit(theta)[idx + (st[i],)], expit(-theta)[idx + (st[i],)]
            x[i] = np.where(self.actions[i] == 0, qbar, -q) * self.mask
        out = np.zeros(st.shape + (5,))
        np.put_along_axis(out, st[..., None], x[..., None], axis=-1)
        out.flags.writeable = False
        return out

    @cached_property
    def cumulative_scores(self) -> np.ndarray:
        r""":math:`C^i_t = \sum_{l \le t} s^i_l`, (2, *lead, batch, T, 5). Read-only."""
        out = np.cumsum(self.scores, axis=-2)
        out.flags.writeable = False
        return out

    def select(self, index) -> "Rollouts":
        """The sub-batch of episodes ``index`` (a slice or index array on the batch axis).

        Examples
        --------
        >>> from lola_sym.games import ipd
        >>> ro = rollout(ipd(), [0.0] * 5, [0.0] * 5, batch=10, horizon=3, seed=0)
        >>> ro.select(slice(0, None, 2)).batch
        5
        """
        cut = (Ellipsis, index, slice(None))
        return Rollouts(self.game, self.theta1, self.theta2, self.states[cut], self.actions[cut],
                        self.mask[cut], self.termination, self.kappa)

    def __repr__(self) -> str:
        return (f"Rollouts({self.game.name}, lead={self.lead}, batch={self.batch}, "
                f"T={self.horizon}, termination={self.termination!r})")


def rollout(game, theta1, theta2, batch: int, horizon: int | None = None, *, seed=0,
            termination: str = "fixed") -> Rollouts:
    r"""Simulate ``batch`` episodes of ``game`` for each parameter pair.

    Parameters
    ----------
    game : IteratedGame
    theta1, theta2 : array_like, shape (..., 5)
        Logits ``[s0, CC, CD, DC, DD]`` (own perspective); leading axes
        broadcast and are simulated together, each with ``batch`` episodes.
    batch : int
        Episodes per parameter pair, >= 1.
    horizon : int, optional
        Number of steps ``T`` (>= 1). Required for ``termination="fixed"``;
        for ``"geometric"`` it caps the episode length (episodes still
        running are then cut, which biases the estimators: leave it None to
        simulate until every episode has ended).
    seed : int or numpy.random.Generator
        Source of randomness (never global state).
    termination : {"fixed", "geometric"}
        Fixed horizon, or continue with probability :math:`\gamma` after each step.

    Returns
    -------
    Rollouts

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> from lola_sym.layout import policy
    >>> ro = rollout(ipd(), policy("tft"), policy("alld"), batch=2, horizon=4, seed=0)
    >>> ro.actions[0]          # tit-for-tat opens with C, then copies D
    array([[0, 1, 1, 1],
           [0, 1, 1, 1]], dtype=int8)
    >>> ro.states[0][0]        # agent 1's own states: s0, CD, DD, DD
    array([0, 2, 4, 4], dtype=int8)
    >>> ro.rewards[:, 0, :2]   # (agent, episode 0, first two steps)
    array([[-3., -2.],
           [ 0., -2.]])
    >>> rollout(ipd(), policy("tft"), policy("tft"), batch=0, horizon=4)
    Traceback (most recent call last):
    ...
    ValueError: batch must be >= 1, got 0
    """
    _check_game(game)
    t1 = as_params(theta1, "theta1")
    t2 = as_params(theta2, "theta2")
    batch = check_positive_int(batch, "batch")
    if termination not in TERMINATIONS:
        raise ValueError(f"unknown termination {termination!r}; choose one of {TERMINATIONS}")
    if horizon is not None:
        horizon = check_positive_int(horizon, "horizon")
    elif termination == "fixed":
        raise ValueError("termination='fixed' needs a horizon (number of steps >= 1)")
    rng = as_generator(seed)
    lead = np.broadcast_shapes(t1.shape[:-1], t2.shape[:-1])
    t1 = np.array(np.broadcast_to(t1, lead + (5,)))
    t2 = np.array(np.broadcast_to(t2, lead + (5,)))
    n = int(np.prod(lead, dtype=int))
    p1, p2 = expit(t1).reshape(n, 5), expit(t2).reshape(n, 5)
    rows = np.arange(n)[:, None]
    gamma = float(game.gamma)
    s1 = np.zeros((n, batch), dtype=np.intp)
    s2 = np.zeros((n, batch), dtype=np.intp)
    alive = np.ones((n, batch), dtype=bool)
    S, A, M = [], [], []
    t = 0
    while (horizon is None or t < horizon) and alive.any():
        u = rng.random((2, n, batch))
        a1 = (u[0] >= p1[rows, s1]).astype(np.int8)          # C (0) with probability p
        a2 = (u[1] >= p2[rows, s2]).astype(np.int8)
        S.append(np.stack([s1, s2]).astype(np.int8))
        A.append(np.stack([a1, a2]))
        M.append(alive.copy())
        s1 = 1 + 2 * a1.astype(np.intp) + a2
        s2 = 1 + 2 * a2.astype(np.intp) + a1
        if termination == "geometric":
            alive &= rng.random((n, batch)) < gamma
        t += 1
    shape = (2,) + lead + (batch, t)
    states = np.stack(S, axis=-1).reshape(shape)
    actions = np.stack(A, axis=-1).reshape(shape)
    mask = np.stack(M, axis=-1).reshape(shape[1:])
    kappa = gamma if termination == "fixed" else 1.0
    return Rollouts(game, t1, t2, states, actions, mask, termination, kappa)


def chain(game, theta1, theta2) -> tuple:
    r"""The exact Markov chain of joint actions: ``(p0, P, r)``.

    ``p0`` has shape (..., 4) (first joint action over CC, CD, DC, DD, agent 1
    first), ``P`` shape (..., 4, 4) (row = previous joint action), ``r`` shape
    (2, 4) (rewards of both agents per joint action). Agent 2's probability
    in joint state ``j`` is read from its own-perspective entry ``SWAP[1 + j]``.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> p0, P, r = chain(ipd(), [0.0] * 5, [0.0] * 5)
    >>> p0, P.sum(axis=-1), r[0]
    (array([0.25, 0.25, 0.25, 0.25]), array([1., 1., 1., 1.]), array([-1., -3.,  0., -2.]))
    """
    _check_game(game)
    x = expit(as_params(theta1, "theta1"))
    y = expit(as_params(theta2, "theta2"))

    def row(a, b):
        return np.stack([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)], axis=-1)

    p0 = row(x[..., 0], y[..., 0])
    P = np.stack([row(x[..., 1 + j], y[..., SWAP[1 + j]]) for j in range(4)], axis=-2)
    r = np.array([[float(v) for v in game.r1], [float(v) for v in game.r2]])
    return p0, P, r


def joint_distribution(game, theta1, theta2, horizon: int) -> np.ndarray:
    r"""Exact distribution of the joint action at each step, :math:`p_t = p_0 P^t`.

    Shape (..., horizon, 4) over CC, CD, DC, DD (agent 1 first). Agent 1's
    own state at step ``t + 1`` is joint action ``t`` (index ``1 + j``);
    agent 2's is ``SWAP[1 + j]``. Expected rewards at step ``t`` are
    ``p_t @ r.T`` with ``r`` from :func:`chain`.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> from lola_sym.layout import policy
    >>> joint_distribution(ipd(), policy("tft"), policy("alld"), 2).round(6)
    array([[0., 1., 0., 0.],
           [0., 0., 0., 1.]])
    """
    horizon = check_positive_int(horizon, "horizon")
    p0, P, _ = chain(game, theta1, theta2)
    out = [np.broadcast_to(p0, P.shape[:-1])]
    for _ in range(horizon - 1):
        out.append(np.einsum("...i,...ij->...j", out[-1], P))
    return np.stack(out, axis=-2)


#: What an estimator estimates, for agent ``i`` with opponent ``j``: own gradient
#: :math:`\nabla_i V_i`, cross gradient :math:`\nabla_j V_i`, the opponent's cross
#: Hessian :math:`\nabla_i \nabla_j V_j` (rows = own logits), the LOLA correction
#: (Hessian times cross gradient) and the LOLA direction (own gradient + eta * correction).
QUANTITIES = ("grad", "cross", "hessian", "correction", "lola")


# ------------------------------------------------------------------ exact targets
@dataclass(frozen=True)
class Targets:
    r"""Exact values and their first and second derivatives at one point.

    Attributes
    ----------
    value : ndarray, shape (2,)
        :math:`(V_1, V_2)` (truncated to ``horizon`` steps when given).
    gradient : ndarray, shape (2, 10)
        ``gradient[i - 1]`` is :math:`\partial V_i / \partial (\theta_1, \theta_2)`.
    hessian : ndarray, shape (2, 10, 10)
        Second derivatives of :math:`V_i` in the same 10 parameters.
    horizon : int or None
        ``None`` for the infinite discounted sum.
    """

    value: np.ndarray
    gradient: np.ndarray
    hessian: np.ndarray
    horizon: int | None = None

    def grad(self, of: int, wrt: int) -> np.ndarray:
        r""":math:`\nabla_{wrt} V_{of}`, shape (5,)."""
        return self.gradient[of - 1, _BLOCK[wrt]]

    def cross_hessian(self, of: int) -> np.ndarray:
        r""":math:`\nabla_1 \nabla_2 V_{of}`, shape (5, 5): rows agent 1's logits."""
        return self.hessian[of - 1, _BLOCK[1], _BLOCK[2]]

    def quantity(self, name: str, agent: int = 1, eta: float = 1.0) -> np.ndarray:
        """The exact value of an estimator's target (see :data:`QUANTITIES`)."""
        if agent not in (1, 2):
            raise ValueError(f"agent must be 1 or 2, got {agent!r}")
        if name not in QUANTITIES:
            raise ValueError(f"unknown quantity {name!r}; choose one of {list(QUANTITIES)}")
        i, j = agent, 3 - agent
        if name == "grad":
            return self.grad(i, i)
        if name == "cross":
            return self.grad(i, j)
        hess = self.hessian[j - 1, _BLOCK[i], _BLOCK[j]]
        if name == "hessian":
            return hess
        corr = hess @ self.grad(i, j)
        return corr if name == "correction" else self.grad(i, i) + eta * corr

    def __sub__(self, other: "Targets") -> "Targets":
        return Targets(self.value - other.value, self.gradient - other.gradient,
                       self.hessian - other.hessian, None)


_BLOCK = {1: slice(0, 5), 2: slice(5, 10)}
_DX = np.array([1.0, 1.0, -1.0, -1.0])   # d row / dx = dx * [y, ybar, -y, -ybar]
_DY = np.array([1.0, -1.0, 1.0, -1.0])   # d row / dy = dy * [x, -x, xbar, -xbar]
_DXY = np.array([1.0, -1.0, -1.0, 1.0])


def _chain_derivatives(theta1, theta2):
    """p0, P and their first/second derivatives in the 10 logits (one point)."""
    th = np.concatenate([theta1, theta2])
    x, xb = expit(th), expit(-th)
    dx = x * xb
    ddx = dx * (xb - x)
    q = np.zeros((5, 10, 4))          # rows: p0, then P rows CC, CD, DC, DD
    rows, d2 = np.zeros((5, 4)), np.zeros((5, 10, 10, 4))
    for k in range(5):
        a, b = (0, 5) if k == 0 else (k, 5 + SWAP[k])
        yv = np.array([x[b], xb[b], x[b], xb[b]])
        xv = np.array([x[a], x[a], xb[a], xb[a]])
        rows[k] = xv * yv
        q[k, a] = dx[a] * _DX * yv
        q[k, b] = dx[b] * _DY * xv
        d2[k, a, a] = ddx[a] * _DX * yv
        d2[k, b, b] = ddx[b] * _DY * xv
        d2[k, a, b] = d2[k, b, a] = dx[a] * dx[b] * _DXY
    P, dP = rows[1:], q[1:].transpose(1, 0, 2)
    d2P = d2[1:].transpose(1, 2, 0, 3)
    return rows[0], q[0], d2[0], P, dP, d2P


def _start_value(q, dq, d2q, P, dP, d2P, gamma, r):
    r"""Derivatives of :math:`q^\top (I - \gamma P)^{-1} r_i` for a start distribution ``q(θ)``."""
    M = np.eye(4) - gamma * P
    w = np.linalg.solve(M, r.T)                                    # (4, 2)
    dw = np.linalg.solve(M, gamma * np.einsum("aij,jk->aik", dP, w))  # (10, 4, 2)
    u = np.linalg.solve(M.T, q)
    value = q @ w
    grad = (dq @ w + np.einsum("i,aik->ak", q, dw)).T
    inner = (np.einsum("abij,jk->abik", d2P, w) + np.einsum("aij,bjk->abik", dP, dw)
             + np.einsum("bij,ajk->abik", dP, dw))
    hess = (np.einsum("abi,ik->kab", d2q, w) + np.einsum("ai,bik->kab", dq, dw)
            + np.einsum("bi,aik->kab", dq, dw) + gamma * np.einsum("i,abik->kab", u, inner))
    return value, grad, hess


def _point(game, theta1, theta2):
    _check_game(game)
    t1, t2 = as_point(theta1, theta2, "exact targets")
    r = np.array([[float(v) for v in game.r1], [float(v) for v in game.r2]])
    return _chain_derivatives(t1, t2), float(game.gamma), r


def _propagate(p, dp, d2p, P, dP, d2P):
    """One step p -> p P of the distribution and its derivatives."""
    d2 = (d2p @ P + np.einsum("ai,bij->abj", dp, dP) + np.einsum("bi,aij->abj", dp, dP)
          + np.einsum("i,abij->abj", p, d2P))
    return p @ P, dp @ P + np.einsum("i,aij->aj", p, dP), d2


def exact_targets(game, theta1, theta2, horizon: int | None = None,
                  method: str = "sum") -> Targets:
    r"""Exact values, gradients and Hessians of both agents at one point.

    With ``horizon=None`` the infinite discounted value
    :math:`V_i = p_0^\top (I - \gamma P)^{-1} r_i`; with a horizon ``T`` the
    truncated :math:`V^T_i = \sum_{t<T} \gamma^t p_t^\top r_i`, computed by
    forward-mode recursion of :math:`p_{t+1} = p_t P` (``method="sum"``) or as
    :math:`V - \gamma^T p_T^\top (I - \gamma P)^{-1} r` (``method="tail"``).
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
    """
    (p0, dp0, d2p0, P, dP, d2P), gamma, r = _point(game, theta1, theta2)
    if method not in ("sum", "tail"):
        raise ValueError(f"unknown method {method!r}; choose 'sum' or 'tail'")
    full = Targets(*_start_value(p0, dp0, d2p0, P, dP, d2P, gamma, r))
    if horizon is None:
        return full
    horizon = check_positive_int(horizon, "horizon")
    if method == "tail":
        tail = truncation_bias(game, theta1, theta2, horizon)
        diff = full - tail
        return Targets(diff.value, diff.gradient, diff.hessian, horizon)
    p, dp, d2p = p0, dp0, d2p0
    V, G, H = np.zeros(2), np.zeros((2, 10)), np.zeros((2, 10, 10))
    disc = 1.0
    for t in range(horizon):
        V += disc * (r @ p)
        G += disc * (dp @ r.T).T
        H += disc * np.einsum("abi,ki->kab", d2p, r)
        if t + 1 < horizon:
            p, dp, d2p = _propagate(p, dp, d2p, P, dP, d2P)
        disc *= gamma
    return Targets(V, G, H, horizon)


def truncation_bias(game, theta1, theta2, horizon: int) -> Targets:
    r"""Exact :math:`V - V^T = \gamma^T p_T^\top (I - \gamma P)^{-1} r` and its derivatives.

    The bias of every estimator from episodes of ``horizon`` steps with
    respect to the infinite discounted value (:math:`p_T = p_0 P^T`).

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
    (p0, dp0, d2p0, P, dP, d2P), gamma, r = _point(game, theta1, theta2)
    horizon = check_positive_int(horizon, "horizon")
    p, dp, d2p = p0, dp0, d2p0
    for _ in range(horizon):
        p, dp, d2p = _propagate(p, dp, d2p, P, dP, d2P)
    V, G, H = _start_value(p, dp, d2p, P, dP, d2P, gamma, r)
    scale = gamma ** horizon
    return Targets(scale * V, scale * G, scale * H, horizon)


def target_for(rollouts: Rollouts) -> Targets:
    """The exact targets the estimators on ``rollouts`` are unbiased for (one point).

    Fixed horizon: the truncated value; geometric termination: the exact value.
    """
    horizon = rollouts.horizon if rollouts.termination == "fixed" else None
    return exact_targets(rollouts.game, rollouts.theta1, rollouts.theta2, horizon)
