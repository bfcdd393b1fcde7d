r"""Sample-based estimators of value gradients and of the LOLA correction, and their targets.

They work on the rollouts of every repeated game (:mod:`lola_sym.sampling.rollouts`):
any number of players, actions and memory.

From a batch of :class:`~lola_sym.sampling.rollouts.Rollouts` with per-step weights
:math:`d_t` (:math:`\gamma^t` for a fixed horizon, the survival indicator for
geometric termination), return-to-go :math:`G^i_t = \sum_{l \ge t} \kappa^{l-t} r^i_l`
and the score functions of the policies on the logits of the visited
own-perspective state :math:`k` (for a softmax with the last action as the
reference, :math:`\mathbb{1}[u = b] - \pi_{i,k,b}` for each other action
:math:`b`; for two actions :math:`\mathbb{1}[u = C] - p_{i,k}`),

.. math::

    s^i_t = \nabla_{\theta_i} \log \pi_i(u^i_t \mid s_t),
    \qquad C^i_t = \sum_{l \le t} s^i_l ,

the estimators are (Sec. 4.3 of [1]_, [2]_, [3]_):

* REINFORCE, with a baseline :math:`b_t` or without:
  :math:`\nabla_j V_i \approx \sum_t d_t\, s^j_t (G^i_t - b_t)`;
* the LOLA-PG second-order estimator, for any two distinct players :math:`j, l`:
  :math:`\nabla_j \nabla_l V_i \approx \sum_t d_t\, r^i_t\, C^j_t (C^l_t)^\top`
  (valid because a player's log-probabilities depend on its own logits only,
  :math:`\nabla_j \nabla_l \log \pi = 0`);
* DiCE: the derivatives of :math:`\sum_t d_t r_t ⊡(\tau_{\le t}) +
  \sum_t d_t b_t (1 - ⊡(\sigma_t)) ⊡(\tau_{<t})` (magic box
  :math:`⊡(x) = e^{x - \perp x}`, :math:`\tau` the summed log-probabilities of
  both agents, :math:`\sigma_t` those of step ``t``; the baseline term is that
  of [3]_, correct to every order), written out in closed form:
  first derivative :math:`\sum_t d_t r_t C^j_t - \sum_t d_t b_t s^j_t` and
  cross derivative
  :math:`\sum_t C^1_t (C^2_t)^\top (d_t r_t - d_t b_t + d_{t+1} b_{t+1})`.
  Without a baseline DiCE coincides term by term with REINFORCE (first order)
  and with the LOLA-PG formula (second order), because
  :math:`\nabla_1\nabla_2 \log \pi = 0`: the tests check both identities.

Every estimator is an average over episodes, unbiased for the *truncated*
value :math:`\sum_{t<T}\gamma^t \mathbb{E}[r_t]` (fixed horizon) or for the
exact value (geometric termination), as long as the baseline of an episode does
not depend on that episode's actions (true for ``"time"``, a leave-one-out
batch mean, and ``"value"``, the exact critic). The LOLA correction
:math:`\sum_{j \ne i} \nabla_i \nabla_j V_j\, \nabla_j V_i` (its n-player form,
Letcher et al. 2019) is a sum of products of two estimates: from the same
episodes it has an :math:`O(1/\text{batch})` bias, from independent halves (``independent=True``) none.

The exact targets (:func:`exact_targets`, :func:`target_for`) and the
truncation bias :math:`V - V^T = \gamma^T p_T^\top (I - \gamma P)^{-1} r` with
its derivatives (:func:`truncation_bias`) are defined next to the simulator in
:mod:`lola_sym.sampling.targets` and re-exported here.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.3.
.. [2] Foerster, J., Farquhar, G., Al-Shedivat, M., Rocktäschel, T., Xing, E.
   and Whiteson, S. (2018). DiCE: The Infinitely Differentiable Monte Carlo
   Estimator. ICML. arXiv:1802.05098.
.. [3] Mao, J., Foerster, J., Rocktäschel, T., Al-Shedivat, M., Farquhar, G.
   and Whiteson, S. (2019). A Baseline for Any Order Gradient Estimation in
   Stochastic Computation Graphs. ICML.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym._validation import as_numeric_array, check_result_size
from lola_sym.sampling.markov import _orbit, chain, chain_shape, check_player
from lola_sym.sampling.rollouts import Rollouts, target_for
from lola_sym.sampling.targets import (QUANTITIES, Targets, _check_eta, _check_quantity,
                                       _opponents, exact_targets, truncation_bias)

__all__ = ["Estimate", "Targets", "estimate", "policy_gradient", "lola_pg_hessian", "dice",
           "baseline_values", "exact_targets", "truncation_bias", "target_for", "ESTIMATORS",
           "QUANTITIES", "BASELINES", "estimator_bytes_per_step"]

#: Estimator name -> (method, default baseline).
ESTIMATORS = {
    "reinforce": ("reinforce", None),
    "reinforce_baseline": ("reinforce", "time"),
    "lola_pg": ("lola_pg", "time"),
    "dice": ("dice", None),
    "dice_baseline": ("dice", "time"),
}
#: Named baselines: leave-one-out batch mean of the return-to-go per step, exact critic.
BASELINES = ("time", "value")
_DEFAULT = object()
#: Peak bytes the estimators hold per episode-step of the rollouts of a 2x2 game (rewards,
#: weights, returns-to-go, scores and their cumulative sums of both agents, temporaries):
#: measured with tracemalloc at most 277 (DiCE with a baseline, LOLA direction) and 477 with
#: ``independent=True`` (each half caches its own scores).
ESTIMATOR_BYTES_PER_STEP = 500
#: ... and per logit of all players (scores, cumulative scores and einsum temporaries, each
#: float64, both halves with ``independent=True``): :func:`estimator_bytes_per_step`. Measured
#: (tracemalloc, LOLA direction with DiCE and a baseline, ``independent=True``): 42 per logit
#: for 2x2 games, 35 for the memory-2 IPD and iterated RPS, 37 for the 3-player contribution
#: game.
ESTIMATOR_BYTES_PER_LOGIT_STEP = 50


def estimator_bytes_per_step(game) -> int:
    """Peak bytes the estimators hold per episode-step of ``game``'s rollouts.

    Examples
    --------
    >>> from lola_sym import games
    >>> estimator_bytes_per_step(games.ipd()), estimator_bytes_per_step(games.ipd_memory2())
    (500, 2100)
    """
    return max(ESTIMATOR_BYTES_PER_STEP, ESTIMATOR_BYTES_PER_LOGIT_STEP * chain_shape(game).D)


# ------------------------------------------------------------------ estimators
@dataclass(frozen=True)
class Estimate:
    r"""A Monte-Carlo estimate.

    Attributes
    ----------
    value : ndarray, shape ``(*lead, d)`` or ``(*lead, d_i, d_j)``
    stderr : ndarray or None
        Standard error of each entry (sample standard deviation over episodes
        divided by :math:`\sqrt{\text{batch}}`), ``None`` for products of
        estimates (correction, LOLA direction).
    quantity, estimator : str
    agent : int
    batch : int
    """

    value: np.ndarray
    stderr: np.ndarray | None
    quantity: str
    estimator: str
    agent: int
    batch: int


def _player(ro, x, name="agent"):
    return check_player(x, ro.n_players, name)


def _check_rollouts(ro):
    if not isinstance(ro, Rollouts):
        raise TypeError(f"expected Rollouts from lola_sym.sampling.rollouts.rollout, got "
                        f"{type(ro).__name__}")
    steps = ro.mask.size
    check_result_size(steps * estimator_bytes_per_step(ro.game),
                      f"estimating from {steps:,} episode-steps ({ro!r})",
                      "estimate from fewer episodes at a time (ro.select(slice(i, j)) gives a "
                      "sub-batch) and average, or simulate a shorter horizon")


def _overflowed(ro, what):
    """The error for estimates beyond double precision."""
    top = float(np.max(np.abs(chain_shape(ro.game).payoffs)))
    return ValueError(f"{what} overflowed double precision (payoffs up to {top:.3g}, "
                      f"{ro.horizon} steps); rescale the payoffs (divide every player's payoffs "
                      f"by a common factor) and any baseline given, or use a shorter horizon")


def _quiet():
    """Arithmetic that may leave double precision runs under this; its result is checked."""
    return np.errstate(over="ignore", invalid="ignore")


def baseline_values(ro: Rollouts, of: int, baseline) -> np.ndarray:
    r"""Baseline :math:`b_t` for agent ``of``'s return-to-go, shape ``(*lead, batch, T)``.

    ``None``: zero. ``"time"``: leave-one-out batch mean of :math:`G_t` over the
    other running episodes (independent of the episode's own actions, so the
    estimators stay unbiased; needs batch >= 2). ``"value"``: the exact critic
    :math:`\mathbb{E}[G_t \mid h_t]` given the history :math:`h_t` the policies
    see (agent 1's own state), from the Markov chain (remaining-horizon value for
    a fixed horizon). An array broadcastable to ``(*lead, batch, T)`` is used as
    given (it must not depend on the episode's actions at or after ``t``).

    Examples
    --------
    The ``"time"`` baseline of episode 0 is the mean over the other episodes:

    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> from lola_sym.sampling.rollouts import rollout
    >>> ro = rollout(ipd(), [0.5] * 5, [-0.5] * 5, batch=50, horizon=10, seed=1)
    >>> b = baseline_values(ro, 1, "time")
    >>> b.shape, bool(np.allclose(b[0], ro.returns_to_go()[0][1:].mean(axis=0)))
    ((50, 10), True)
    """
    _check_rollouts(ro)
    _player(ro, of)
    shape = ro.mask.shape
    if baseline is None:
        return np.zeros(shape)
    if isinstance(baseline, str):
        if baseline == "time":
            if ro.batch < 2:
                raise ValueError("baseline 'time' (leave-one-out mean) needs batch >= 2")
            G = ro.returns_to_go()[of - 1] * ro.mask
            total, count = G.sum(-2, keepdims=True), ro.mask.sum(-2, keepdims=True)
            others = count - ro.mask
            return np.where(others > 0, (total - G) / np.maximum(others, 1), 0.0)
        if baseline == "value":
            return _critic(ro, of)
        raise ValueError(f"unknown baseline {baseline!r}; choose None, one of {list(BASELINES)} "
                         f"or an array of shape {shape}")
    b = as_numeric_array(baseline, "baseline", "iuf").astype(float)
    if not np.all(np.isfinite(b)):
        raise ValueError("baseline has a non-finite entry")
    try:
        return np.broadcast_to(b, shape)
    except ValueError:
        raise ValueError(f"baseline of shape {b.shape} does not broadcast to the rollouts' "
                         f"(*lead, batch, T) = {shape}") from None


def _critic(ro, of):
    """Exact E[G_t | own state of agent 1 at t] as a table gathered along the episodes.

    Agent 1's own state determines the chain state of the previous step (its
    history), or is ``s0`` (no history: the first step, and every step of memory 0).
    """
    sh = chain_shape(ro.game)
    p0, P, r = chain(ro.game, *ro.thetas)
    gamma, T = float(sh.game.gamma), ro.horizon
    if ro.termination == "fixed":
        # w_k = sum_{l<k} (gamma P)^l r: the value of the k remaining steps; at step t, k = T - t
        v = _orbit(np.broadcast_to(r[of - 1], P.shape[:-1]), gamma * P.swapaxes(-1, -2), T)
        w = np.cumsum(v, axis=-2)[..., ::-1, :]
        start = np.einsum("...i,...ti->...t", p0, w)
        later = np.einsum("...ij,...tj->...ti", P, w)
    else:
        M = np.eye(sh.N) - gamma * P
        w = np.linalg.solve(M, np.broadcast_to(r[of - 1], M.shape[:-1])[..., None])[..., 0]
        start = np.einsum("...i,...i->...", p0, w)[..., None]
        later = np.einsum("...ij,...j->...i", P, w)[..., None, :]
    to_chain = sh.state_to_chain
    table = np.empty(ro.lead + (T, len(to_chain)))
    table[..., to_chain < 0] = start[..., None]
    table[..., to_chain >= 0] = later[..., to_chain[to_chain >= 0]]
    st = ro.states[0].astype(np.intp)
    lead_idx = np.ix_(*[np.arange(n) for n in ro.lead]) if ro.lead else ()
    idx = tuple(i[..., None, None] for i in lead_idx)
    return table[idx + (np.arange(T), st)] * ro.mask


def _mean(samples, ro, what, stderr=True) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean over episodes and its standard error, finite for any finite samples."""
    axis = len(ro.lead)
    if not np.all(np.isfinite(samples)):
        raise _overflowed(ro, f"the {what} samples")
    with _quiet():
        value = samples.mean(axis=axis)
        se = None
        if stderr and ro.batch >= 2:
            se = samples.std(axis=axis, ddof=1) / np.sqrt(ro.batch)
    if not (np.all(np.isfinite(value)) and (se is None or np.all(np.isfinite(se)))):
        # sums of squares beyond double precision: the moments of samples scaled into [-1, 1]
        scale = np.max(np.abs(samples), axis=axis, keepdims=True)
        scale = np.where(scale > 0, scale, 1.0)
        x = samples / scale
        scale = np.squeeze(scale, axis)
        value = x.mean(axis=axis) * scale
        if se is not None:
            se = x.std(axis=axis, ddof=1) / np.sqrt(ro.batch) * scale
    if stderr and ro.batch < 2:
        se = np.full(value.shape, np.inf)
    return value, se


def policy_gradient(ro: Rollouts, of: int = 1, wrt: int = 1, baseline=None) -> Estimate:
    r"""REINFORCE (Sec. 4.3 of Foerster et al. 2018): :math:`\nabla_{wrt} V_{of} \approx \sum_t d_t s^{wrt}_t (G^{of}_t - b_t)`.

    Examples
    --------
    >>> from lola_sym import games
    >>> from lola_sym.sampling.rollouts import rollout
    >>> ro = rollout(games.ipd(), [0.0] * 5, [0.0] * 5, batch=100, horizon=20, seed=0)
    >>> policy_gradient(ro, baseline="time").value.shape
    (5,)
    """
    _check_rollouts(ro)
    _player(ro, of), _player(ro, wrt)
    with _quiet():
        G = ro.returns_to_go()[of - 1]
        adv = ro.weights * (G - baseline_values(ro, of, baseline))
        samples = np.einsum("...t,...ti->...i", adv, ro.scores[wrt - 1])
    return Estimate(*_mean(samples, ro, "REINFORCE"), "grad" if of == wrt else "cross",
                    "reinforce" if baseline is None else "reinforce_baseline", of, ro.batch)


def _pair(ro, players) -> tuple:
    try:
        j, k = players
    except (TypeError, ValueError):
        raise ValueError(f"players must be a pair of distinct players (j, l), got "
                         f"{players!r}") from None
    j, k = _player(ro, j, "players[0]"), _player(ro, k, "players[1]")
    if j == k:
        raise ValueError(f"players must be two distinct players, got ({j}, {k}): the "
                         f"second-order estimators give cross derivatives")
    return j, k


def _outer_sum(weight, C1, C2):
    r""":math:`\sum_t w_t C^1_t (C^2_t)^\top` per episode, shape ``(*lead, batch, d_1, d_2)``."""
    return np.matmul((weight[..., None] * C1).swapaxes(-1, -2), C2)


def lola_pg_hessian(ro: Rollouts, of: int = 2, players=(1, 2)) -> Estimate:
    r"""The LOLA-PG estimator of :math:`\nabla_j\nabla_l V_{of}` (Sec. 4.3 of Foerster et al. 2018), rows = θ_j.

    :math:`\sum_t d_t r^{of}_t \big(\sum_{l\le t} s^j_l\big)\big(\sum_{l\le t} s^l_l\big)^\top`
    with ``(j, l) = players`` (default agents 1 and 2).

    Examples
    --------
    Unbiased for the exact cross Hessian of the finite-horizon value: every
    entry within 4 standard errors of it (4,000 episodes):

    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> from lola_sym.sampling.rollouts import rollout, target_for
    >>> ro = rollout(ipd(), [0.5] * 5, [-0.5] * 5, batch=4000, horizon=10, seed=1)
    >>> h = lola_pg_hessian(ro, of=2)
    >>> exact = target_for(ro).cross_hessian(2, 1, 2)
    >>> h.value.shape, bool(np.all(np.abs(h.value - exact) < 4 * h.stderr))
    ((5, 5), True)
    """
    _check_rollouts(ro)
    _player(ro, of)
    j, k = _pair(ro, players)
    C = ro.cumulative_scores
    with _quiet():
        samples = _outer_sum(ro.weights * ro.rewards[of - 1], C[j - 1], C[k - 1])
    return Estimate(*_mean(samples, ro, "LOLA-PG Hessian"), "hessian", "lola_pg", of, ro.batch)


def _dice_first(ro, of, wrt, dr, db, name):
    r"""DiCE's :math:`\nabla_{wrt} V_{of}`: :math:`\sum_t d_t r_t C^{wrt}_t - \sum_t d_t b_t s^{wrt}_t`."""
    with _quiet():
        samples = (np.einsum("...t,...ti->...i", dr, ro.cumulative_scores[wrt - 1])
                   - np.einsum("...t,...ti->...i", db, ro.scores[wrt - 1]))
    return Estimate(*_mean(samples, ro, "DiCE gradient"), "grad", name, of, ro.batch)


def dice(ro: Rollouts, of: int = 1, baseline=None, players=(1, 2)) -> tuple:
    r"""First and cross second derivatives of the DiCE objective of agent ``of``.

    Returns ``(grad_j, grad_l, cross)`` estimates of :math:`\nabla_j V_{of}`,
    :math:`\nabla_l V_{of}` and :math:`\nabla_j\nabla_l V_{of}` (rows = θ_j) for
    ``(j, l) = players`` (default agents 1 and 2), closed forms of Foerster et al. (2018b, DiCE) with
    the any-order baseline of Mao et al. (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games
    >>> from lola_sym.sampling.rollouts import rollout
    >>> ro = rollout(games.ipd(), [0.5] * 5, [-0.5] * 5, batch=50, horizon=10, seed=1)
    >>> g1, g2, h = dice(ro, of=2)
    >>> bool(np.allclose(h.value, lola_pg_hessian(ro, of=2).value))   # no baseline: identical
    True
    """
    _check_rollouts(ro)
    _player(ro, of)
    j, k = _pair(ro, players)
    C = ro.cumulative_scores
    name = "dice" if baseline is None else "dice_baseline"
    with _quiet():
        dr = ro.weights * ro.rewards[of - 1]
        db = ro.weights * baseline_values(ro, of, baseline)
    firsts = [_dice_first(ro, of, p, dr, db, name) for p in (j, k)]
    with _quiet():
        db_next = np.concatenate([db[..., 1:], np.zeros(db.shape[:-1] + (1,))], axis=-1)
        cross = _outer_sum(dr - db + db_next, C[j - 1], C[k - 1])
    return firsts[0], firsts[1], Estimate(*_mean(cross, ro, "DiCE Hessian"), "hessian", name,
                                          of, ro.batch)


def _first(ro, method, of, wrt, baseline):
    if method == "dice":
        with _quiet():
            dr = ro.weights * ro.rewards[of - 1]
            db = ro.weights * baseline_values(ro, of, baseline)
        return _dice_first(ro, of, wrt, dr, db, "dice" if baseline is None else "dice_baseline")
    return policy_gradient(ro, of, wrt, baseline)


def _hessian(ro, method, i, j, baseline):
    r"""The opponent's cross Hessian :math:`\nabla_i \nabla_j V_j`, rows = ``i``'s logits."""
    if method == "reinforce":
        raise ValueError("REINFORCE is a first-order estimator; for Hessians, corrections and "
                         "LOLA directions use 'lola_pg' or 'dice' (or their _baseline variants)")
    lo, hi = min(i, j), max(i, j)
    if method == "lola_pg":
        est = lola_pg_hessian(ro, of=j, players=(lo, hi))
    else:
        est = dice(ro, of=j, baseline=baseline, players=(lo, hi))[2]
    if i == lo:
        return est.value, est.stderr
    return est.value.swapaxes(-1, -2), est.stderr.swapaxes(-1, -2)


def estimate(ro: Rollouts, quantity: str = "grad", estimator: str = "reinforce",
             agent: int = 1, *, baseline=_DEFAULT, eta: float = 1.0,
             independent: bool = False, opponent: int | None = None) -> Estimate:
    r"""Estimate a target of agent ``agent`` from rollouts (see :data:`~lola_sym.sampling.targets.QUANTITIES`).

    Parameters
    ----------
    ro : Rollouts
    quantity : {"grad", "cross", "hessian", "correction", "lola"}
    estimator : str
        One of :data:`ESTIMATORS`: ``"reinforce"``, ``"reinforce_baseline"``
        (first order only), ``"lola_pg"`` (first order with a baseline, the
        paper's second-order formula), ``"dice"``, ``"dice_baseline"``.
    agent : int
        The player ``i`` (1-based).
    baseline : None, "time", "value" or array, optional
        Overrides the estimator's default baseline (first-order terms, and
        DiCE's second-order term; the LOLA-PG Hessian formula has none).
    eta : float
        LOLA's look-ahead for ``quantity="lola"``, a finite number >= 0 (validated
        by the LOLA rule for every quantity).
    independent : bool
        Correction and LOLA direction: estimate the Hessians and the cross
        gradients from disjoint halves of the batch (even and odd episodes),
        which makes their products unbiased.
    opponent : int, optional
        The player ``j`` of ``"cross"`` (:math:`\nabla_j V_i`) and ``"hessian"``
        (:math:`\nabla_i \nabla_j V_j`): the other agent of a two-player game,
        required with more players. For ``"correction"`` it keeps one term of
        the n-player sum :math:`\sum_{j \ne i} \nabla_i \nabla_j V_j\, \nabla_j V_i`.

    Examples
    --------
    >>> from lola_sym import games
    >>> from lola_sym.sampling.rollouts import rollout
    >>> ro = rollout(games.ipd(), [0.0] * 5, [0.0] * 5, batch=200, horizon=20, seed=0)
    >>> estimate(ro, "lola", "lola_pg", agent=2, eta=1.0).value.shape
    (5,)
    >>> estimate(ro, "hessian", "reinforce")
    Traceback (most recent call last):
    ...
    ValueError: REINFORCE is a first-order estimator; for Hessians, corrections and LOLA directions use 'lola_pg' or 'dice' (or their _baseline variants)
    """
    _check_rollouts(ro)
    _check_quantity(quantity)
    method, default = ESTIMATORS[_check_estimator(estimator)]
    baseline = default if baseline is _DEFAULT else baseline
    i = _player(ro, agent)
    eta = _check_eta(eta)
    if not isinstance(independent, (bool, np.bool_)):
        raise TypeError(f"independent must be a bool, got {type(independent).__name__}")
    js = _opponents(quantity, i, ro.n_players, opponent)

    def done(value, stderr):
        return Estimate(value, stderr, quantity, estimator, agent, ro.batch)

    if quantity in ("grad", "cross"):
        est = _first(ro, method, i, i if quantity == "grad" else js[0], baseline)
        return done(est.value, est.stderr)
    if quantity == "hessian":
        return done(*_hessian(ro, method, i, js[0], baseline))
    if independent:
        if ro.batch < 2:
            raise ValueError("independent=True splits the batch in two: it needs batch >= 2")
        h_ro, g_ro = ro.select(slice(0, None, 2)), ro.select(slice(1, None, 2))
    else:
        h_ro = g_ro = ro
    terms = []                                  # one per opponent j (at least one)
    for j in js:
        H = _hessian(h_ro, method, i, j, baseline)[0]
        cross = _first(g_ro, method, i, j, baseline).value
        with _quiet():
            terms.append(np.einsum("...kl,...l->...k", H, cross))
    corr = terms[0]
    with _quiet():
        for term in terms[1:]:
            corr = corr + term
    if not np.all(np.isfinite(corr)):
        raise _overflowed(ro, "the LOLA correction (Hessian times cross gradient)")
    if quantity == "correction":
        return done(corr, None)
    own = _first(ro, method, i, i, baseline).value
    with _quiet():
        direction = own + eta * corr
    if not np.all(np.isfinite(direction)):
        raise ValueError(f"the LOLA direction own gradient + eta * correction overflowed double "
                         f"precision at eta={eta:g} (correction up to {np.max(np.abs(corr)):.3g}); "
                         f"use a smaller eta")
    return done(direction, None)


def _check_estimator(name) -> str:
    """``name`` if it is one of :data:`ESTIMATORS`, else a ``ValueError`` listing them."""
    if not isinstance(name, str) or name not in ESTIMATORS:
        raise ValueError(f"unknown estimator {name!r}; choose one of {sorted(ESTIMATORS)}")
    return name
