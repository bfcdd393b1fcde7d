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
in :mod:`lola_sym.games.layout`: index 0 is the first move ``s0``, then ``CC, CD,
DC, DD``. After joint action ``(a1, a2)`` (0 = C, 1 = D) agent 1 is in state
``1 + 2 a1 + a2`` and agent 2 in ``1 + 2 a2 + a1``.

The exact law of what the simulator produces lives here too: the chain
(:func:`chain`, :func:`joint_distribution`) and the exact values with their
first and second derivatives that the sample-based estimators of
:mod:`lola_sym.sampling.estimators` target (:func:`exact_targets`, infinite or
truncated to ``T`` steps, by closed-form forward-mode differentiation of
:math:`p_{t+1} = p_t P`), with the truncation bias
:math:`V - V^T = \gamma^T p_T^\top (I - \gamma P)^{-1} r` (:func:`truncation_bias`).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1 and 4.3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import expit

from lola_sym._validation import as_params, as_point, check_positive_int, check_result_size
from lola_sym.games.layout import SWAP, _check_agent
from lola_sym.rules import get_rule
from lola_sym.dynamics.training import as_generator

__all__ = ["Rollouts", "rollout", "chain", "joint_distribution", "TERMINATIONS", "Targets",
           "exact_targets", "truncation_bias", "target_for", "QUANTITIES"]

#: Accepted values of ``termination``.
TERMINATIONS = ("fixed", "geometric")
#: Most steps one :func:`rollout` simulates. Steps are sequential numpy passes costing
#: 13-20 us each even for a single episode (measured), so 10**6 steps take under 20 s;
#: longer horizons are refused up front instead of running for minutes.
MAX_HORIZON = 10 ** 6
#: Most episode-steps (parameter pairs x batch x steps) one :func:`rollout` simulates:
#: at 30-50 ns each (measured) about 20 s.
MAX_EPISODE_STEPS = 5 * 10 ** 8
#: Bytes :func:`rollout` holds per episode-step (own states, actions of both agents and the
#: mask, 5 bytes, built step-major and copied once) and per episode (the draws and lookups
#: of one step), for :func:`~lola_sym._validation.check_result_size`.
ROLLOUT_BYTES_PER_STEP, ROLLOUT_BYTES_PER_EPISODE = 10, 64
#: Forward sums of :func:`exact_targets` with ``method="sum"`` are sequential (about 50 us
#: a step, measured): longer horizons are refused (``method="tail"`` has no limit), and
#: ``method="auto"`` switches to the tail form above :data:`AUTO_SUM_HORIZON`.
MAX_SUM_HORIZON, AUTO_SUM_HORIZON = 10 ** 5, 1000


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
    >>> from lola_sym.games.layout import policy
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
    if not isinstance(termination, str) or termination not in TERMINATIONS:
        raise ValueError(f"unknown termination {termination!r}; choose one of {TERMINATIONS}")
    if horizon is not None:
        horizon = check_positive_int(horizon, "horizon")
    elif termination == "fixed":
        raise ValueError("termination='fixed' needs a horizon (number of steps >= 1)")
    rng = as_generator(seed)
    lead = np.broadcast_shapes(t1.shape[:-1], t2.shape[:-1])
    n = math.prod(lead)
    if n == 0:
        raise ValueError(f"theta1 and theta2 broadcast to the leading shape {lead}, which holds "
                         f"no parameter pair: give at least one pair of shape (..., 5)")
    gamma = float(game.gamma)
    steps = horizon
    if termination == "geometric":          # until every episode ended (or the cap)
        steps = _longest_episode(n * batch, game.gamma)
        steps = steps if horizon is None else min(horizon, steps)
    if steps > MAX_HORIZON:
        how = (f"horizon={horizon:,}" if horizon is not None else
               f"geometric termination with gamma={gamma:g} and {n * batch:,} episodes would "
               f"run about {steps:,} steps until every episode ended; that")
        raise ValueError(f"{how} exceeds the limit of {MAX_HORIZON:,} sequential steps per "
                         f"rollout (under 20 s); "
                         + ("use a shorter horizon" if horizon is not None else
                            "pass horizon= to cap the episodes (which biases the estimators), "
                            "or use a smaller gamma"))
    if n * batch * steps > MAX_EPISODE_STEPS:
        raise ValueError(f"rollout of {n:,} parameter pair(s) x batch={batch:,} x {steps:,} steps "
                         f"would simulate {n * batch * steps:.3g} episode-steps (limit "
                         f"{MAX_EPISODE_STEPS:.0e}, about 20 s); use a smaller batch or horizon, "
                         f"or split the batch over several calls (seeded differently)")
    check_result_size(n * batch * (steps * ROLLOUT_BYTES_PER_STEP + ROLLOUT_BYTES_PER_EPISODE),
                      f"rollout of {n:,} parameter pair(s) x batch={batch:,} x {steps:,} steps",
                      "use a smaller batch or horizon, or fewer parameter pairs per call")
    t1 = np.array(np.broadcast_to(t1, lead + (5,)))
    t2 = np.array(np.broadcast_to(t2, lead + (5,)))
    states, actions, mask = _simulate(expit(t1).reshape(n, 5), expit(t2).reshape(n, 5), batch,
                                      horizon, termination == "geometric", gamma, rng, steps)
    t = states.shape[0]
    shape = (2,) + lead + (batch, t)
    states = np.ascontiguousarray(np.moveaxis(states, 0, -1)).reshape(shape)
    actions = np.ascontiguousarray(np.moveaxis(actions, 0, -1)).reshape(shape)
    mask = np.ascontiguousarray(np.moveaxis(mask, 0, -1)).reshape(shape[1:])
    kappa = gamma if termination == "fixed" else 1.0
    return Rollouts(game, t1, t2, states, actions, mask, termination, kappa)


def _longest_episode(episodes: int, gamma) -> int:
    r"""Steps after which all of ``episodes`` geometric episodes have ended but for odds of
    :math:`e^{-5}` (:math:`N \gamma^t \le e^{-5}`)."""
    rate = -math.log1p(-float(1 - gamma))            # -log(gamma), accurate near gamma = 1
    return max(1, math.ceil((math.log(episodes) + 5.0) / rate))


def _simulate(p1, p2, batch, horizon, geometric, gamma, rng, expected):
    """Step-major states, actions (T, 2, n, batch) and mask (T, n, batch) of one simulation.

    ``geometric``: each episode continues with probability ``gamma`` after every step,
    until every episode ended (at most ``horizon`` steps, or :data:`MAX_HORIZON` when
    ``horizon`` is None). The random stream is one ``(2, n, batch)`` uniform draw per
    step, followed for geometric termination by one ``(n, batch)`` draw.
    """
    n = p1.shape[0]
    cap = MAX_HORIZON if horizon is None else horizon
    size = min(cap, expected)
    S = np.empty((size, 2, n, batch), np.int8)
    A = np.empty((size, 2, n, batch), np.int8)
    M = np.empty((size, n, batch), bool)
    pflat = np.concatenate([p1.ravel(), p2.ravel()])
    base = (5 * np.arange(2 * n, dtype=np.intp)).reshape(2, n, 1)
    s = np.zeros((2, n, batch), np.int8)                # own states: 0 = s0
    idx = np.empty((2, n, batch), np.intp)
    u, p = np.empty((2, n, batch)), np.empty((2, n, batch))
    alive = np.ones((n, batch), dtype=bool)
    survive = np.empty((n, batch))
    t = 0
    while t < cap and (not geometric or alive.any()):
        if t == S.shape[0]:                              # geometric episodes ran long: grow
            more = min(cap, 2 * t) - t
            S = np.concatenate([S, np.empty((more,) + S.shape[1:], np.int8)])
            A = np.concatenate([A, np.empty((more,) + A.shape[1:], np.int8)])
            M = np.concatenate([M, np.empty((more,) + M.shape[1:], bool)])
        rng.random(out=u)
        S[t] = s
        np.add(base, s, out=idx)
        pflat.take(idx, out=p)
        a = A[t]
        np.greater_equal(u, p, out=a, casting="unsafe")  # C (0) with probability p
        M[t] = alive
        np.multiply(a, 2, out=s)                         # own state 1 + 2 own + other's action
        s += a[::-1]
        s += 1
        if geometric:
            rng.random(out=survive)
            alive &= survive < gamma
        t += 1
    if horizon is None and alive.any():
        raise ValueError(f"geometric episodes were still running after {MAX_HORIZON:,} steps "
                         f"(gamma={gamma:g}); pass horizon= to cap them")
    return S[:t], A[:t], M[:t]


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
    >>> from lola_sym.games.layout import policy
    >>> joint_distribution(ipd(), policy("tft"), policy("alld"), 2).round(6)
    array([[0., 1., 0., 0.],
           [0., 0., 0., 1.]])
    """
    horizon = check_positive_int(horizon, "horizon")
    p0, P, _ = chain(game, theta1, theta2)
    check_result_size(8 * 4 * horizon * math.prod(P.shape[:-2]),
                      f"joint_distribution(horizon={horizon:,}) of {math.prod(P.shape[:-2]):,} "
                      f"parameter pair(s)", "use a shorter horizon or fewer parameter pairs")
    return _orbit(p0, P, horizon)


def _orbit(x0, M, T: int) -> np.ndarray:
    r"""Row vectors :math:`x_0 M^t` for :math:`t < T`, shape (..., T, n), in blocks.

    Within a block of :math:`B` steps every row is :math:`x_{kB} M^j` from the stored
    powers :math:`M^0, \ldots, M^{B-1}`, so the Python loop runs :math:`T / B` times
    (:math:`B \le T / 4`: the powers never outweigh the result).
    """
    lead = np.broadcast_shapes(x0.shape[:-1], M.shape[:-2])
    n = M.shape[-1]
    out = np.empty(lead + (T, n))
    B = max(1, min(1024, T // 4))
    powers = np.empty(M.shape[:-2] + (B, n, n))
    powers[..., 0, :, :] = np.eye(n)
    for j in range(1, B):
        powers[..., j, :, :] = powers[..., j - 1, :, :] @ M
    step = powers[..., B - 1, :, :] @ M                             # M^B
    x = np.broadcast_to(x0, lead + (n,))
    for start in range(0, T, B):
        k = min(B, T - start)
        out[..., start:start + k, :] = np.einsum("...i,...kij->...kj", x, powers[..., :k, :, :])
        if start + B < T:
            x = np.einsum("...i,...ij->...j", x, step)
    return out


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
        _check_agent(of), _check_agent(wrt)
        return self.gradient[of - 1, _BLOCK[wrt]]

    def cross_hessian(self, of: int) -> np.ndarray:
        r""":math:`\nabla_1 \nabla_2 V_{of}`, shape (5, 5): rows agent 1's logits."""
        _check_agent(of)
        return self.hessian[of - 1, _BLOCK[1], _BLOCK[2]]

    def quantity(self, name: str, agent: int = 1, eta: float = 1.0) -> np.ndarray:
        """The exact value of an estimator's target (see :data:`QUANTITIES`).

        ``eta`` (LOLA's look-ahead, for ``"lola"``) is validated by the LOLA rule.
        """
        _check_agent(agent)
        _check_quantity(name)
        eta = _check_eta(eta)
        i, j = agent, 3 - agent
        if name == "grad":
            return self.grad(i, i)
        if name == "cross":
            return self.grad(i, j)
        hess = self.hessian[j - 1, _BLOCK[i], _BLOCK[j]]
        if name == "hessian":
            return hess
        with np.errstate(over="ignore", invalid="ignore"):
            corr = hess @ self.grad(i, j)
            out = corr if name == "correction" else self.grad(i, i) + eta * corr
        if not np.all(np.isfinite(out)):
            raise ValueError(f"the exact {name!r} target of agent {agent} overflows double "
                             f"precision (eta={eta:g}); use a smaller eta or rescale the payoffs")
        return out

    def __sub__(self, other: "Targets") -> "Targets":
        return Targets(self.value - other.value, self.gradient - other.gradient,
                       self.hessian - other.hessian, None)


def _check_eta(eta) -> float:
    """LOLA's look-ahead validated by the LOLA rule (a finite real number >= 0)."""
    return get_rule("lola").hyper_values({"eta": eta})["eta"]


def _check_quantity(name):
    if not isinstance(name, str) or name not in QUANTITIES:
        raise ValueError(f"unknown quantity {name!r}; choose one of {list(QUANTITIES)}")


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


def _finite(targets: Targets, r, what: str) -> Targets:
    for name in ("value", "gradient", "hessian"):
        if not np.all(np.isfinite(getattr(targets, name))):
            raise ValueError(f"{what} overflow double precision (payoffs up to "
                             f"{np.max(np.abs(r)):.3g}): rescale the payoffs, e.g. divide R1 "
                             f"and R2 by a common factor")
    return targets


def exact_targets(game, theta1, theta2, horizon: int | None = None,
                  method: str = "auto") -> Targets:
    r"""Exact values, gradients and Hessians of both agents at one point.

    With ``horizon=None`` the infinite discounted value
    :math:`V_i = p_0^\top (I - \gamma P)^{-1} r_i`; with a horizon ``T`` the
    truncated :math:`V^T_i = \sum_{t<T} \gamma^t p_t^\top r_i`, computed by
    forward-mode recursion of :math:`p_{t+1} = p_t P` (``method="sum"``, at most
    :data:`MAX_SUM_HORIZON` steps) or as
    :math:`V - \gamma^T p_T^\top (I - \gamma P)^{-1} r` with :math:`(\gamma P)^T`
    by repeated squaring (``method="tail"``, any horizon); ``"auto"`` sums up to
    :data:`AUTO_SUM_HORIZON` steps and uses the tail form beyond.
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
    if not isinstance(method, str) or method not in ("auto", "sum", "tail"):
        raise ValueError(f"unknown method {method!r}; choose 'auto', 'sum' or 'tail'")
    if horizon is not None:
        horizon = check_positive_int(horizon, "horizon")
        if method == "sum" and horizon > MAX_SUM_HORIZON:
            raise ValueError(f"method='sum' adds the horizon={horizon:,} steps one by one (limit "
                             f"{MAX_SUM_HORIZON:,}, about 5 s); use method='tail' (closed form, "
                             f"any horizon)")
    with np.errstate(over="ignore", invalid="ignore"):
        full = Targets(*_start_value(p0, dp0, d2p0, P, dP, d2P, gamma, r))
    what = "the exact values and derivatives"
    if horizon is None:
        return _finite(full, r, what)
    if method == "tail" or (method == "auto" and horizon > AUTO_SUM_HORIZON):
        with np.errstate(over="ignore", invalid="ignore"):
            diff = full - truncation_bias(game, theta1, theta2, horizon)
        return _finite(Targets(diff.value, diff.gradient, diff.hessian, horizon), r, what)
    p, dp, d2p = p0, dp0, d2p0
    V, G, H = np.zeros(2), np.zeros((2, 10)), np.zeros((2, 10, 10))
    disc = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(horizon):
            V += disc * (r @ p)
            G += disc * (dp @ r.T).T
            H += disc * np.einsum("abi,ki->kab", d2p, r)
            if t + 1 < horizon:
                p, dp, d2p = _propagate(p, dp, d2p, P, dP, d2P)
            disc *= gamma
    return _finite(Targets(V, G, H, horizon), r, what)


def truncation_bias(game, theta1, theta2, horizon: int) -> Targets:
    r"""Exact :math:`V - V^T = \gamma^T p_T^\top (I - \gamma P)^{-1} r` and its derivatives.

    The bias of every estimator from episodes of ``horizon`` steps with
    respect to the infinite discounted value (:math:`p_T = p_0 P^T`). The
    discounted distribution :math:`\gamma^T p_T = p_0 (\gamma P)^T` and its
    derivatives come from repeated squaring: any horizon takes
    :math:`O(\log T)` matrix products.

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
    with np.errstate(over="ignore", invalid="ignore"):
        A, dA, d2A = _power(gamma * P, gamma * dP, gamma * d2P, horizon)
        q = p0 @ A                                                  # gamma^T p_T
        dq = dp0 @ A + np.einsum("i,aij->aj", p0, dA)
        d2q = (d2p0 @ A + np.einsum("ai,bij->abj", dp0, dA) + np.einsum("bi,aij->abj", dp0, dA)
               + np.einsum("i,abij->abj", p0, d2A))
        V, G, H = _start_value(q, dq, d2q, P, dP, d2P, gamma, r)
    return _finite(Targets(V, G, H, horizon), r, "the truncation bias and its derivatives")


def target_for(rollouts: Rollouts) -> Targets:
    """The exact targets the estimators on ``rollouts`` are unbiased for (one point).

    Fixed horizon: the truncated value; geometric termination: the exact value.
    """
    if not isinstance(rollouts, Rollouts):
        raise TypeError(f"expected Rollouts from lola_sym.sampling.rollouts.rollout, got "
                        f"{type(rollouts).__name__}")
    horizon = rollouts.horizon if rollouts.termination == "fixed" else None
    return exact_targets(rollouts.game, rollouts.theta1, rollouts.theta2, horizon)
