r"""Policy-gradient estimators on Markov-game rollouts, and their exact targets.

The estimators of :mod:`lola_sym.sampling.estimators` (REINFORCE with and
without a baseline, LOLA-PG's second-order term, DiCE with the any-order
baseline), computed from the sparse scores of
:class:`~lola_sym.sampling.markov_rollouts.MarkovRollouts`, so that they run on
games of thousands of logits per player (the 3x3 coin game: 3,456) where the
dense forms of that module would need gigabytes per batch. The formulas are
the same; with :math:`d_t = \gamma^t`, :math:`G^i_t = \sum_{l \ge t}
\gamma^{l-t} r^i_l`, the scores :math:`s^j_t` and :math:`C^j_t = \sum_{l \le t}
s^j_l`:

* REINFORCE (Sec. 4.3 of [1]_): :math:`\nabla_j V_i \approx \sum_t d_t s^j_t
  (G^i_t - b_t)`;
* DiCE, first order ([2]_, baseline of [3]_): :math:`\sum_t d_t r^i_t C^j_t -
  \sum_t d_t b_t s^j_t`, evaluated as written, through the reverse cumulative
  sums :math:`\sum_{t \ge l} d_t r_t`; it equals REINFORCE with the same baseline
  term by term (a test checks it);
* the mixed second derivative along a vector ``u``, :math:`(\nabla_j \nabla_l
  V_i)\, u \approx \sum_t a_t\, C^j_t\, (C^l_t \cdot u)`, with :math:`a_t = d_t
  r^i_t` (LOLA-PG, Sec. 4.3 of [1]_, and DiCE without a baseline) or
  :math:`a_t = d_t (r^i_t - b_t) + d_{t+1} b_{t+1}` (DiCE with the baseline of
  [3]_). The matrix :math:`\nabla_j \nabla_l V_i` (3,456 squared on the coin
  game) is never formed: :math:`C^l_t \cdot u` is a running sum of sparse dot
  products and :math:`\sum_t a_t c_t C^j_t = \sum_l s^j_l \sum_{t \ge l} a_t
  c_t`, so one product costs O(T) per episode;
* the LOLA direction (Eq. 4.4 of [1]_, as :mod:`lola_sym.adjoint.rules`):
  :math:`g_i = \nabla_i V_i + \eta \sum_{j \ne i} (\nabla_i \nabla_j V_j)\,
  \nabla_j V_i`, the Hessian-vector product estimated along the estimated
  cross gradient (the sum alone is the quantity ``"correction"``, LOLA's
  shaping term :math:`\chi_i`). From the same episodes the product of two
  estimates has an O(1/batch) bias; with ``independent=True`` (the default
  here) the Hessian and the cross gradient come from disjoint halves of the
  batch, and the estimate is unbiased.

Every estimate is unbiased for the finite-horizon value of the episodes,
:math:`V^{(T)}` (the game ``game.with_horizon(T)``), as long as the baseline of
an episode does not depend on that episode's actions: zero, ``"time"`` (the
leave-one-out batch mean of :math:`G_t`), ``"value"`` (the exact critic
:math:`\mathbb{E}[G_t \mid s_t]`, the remaining-horizon value). The exact
targets (:func:`markov_targets`) come from the adjoint path
(:mod:`lola_sym.adjoint`): the gradients and the LOLA direction of
:math:`V^{(T)}`, or of the discounted infinite-horizon value for comparison
(the truncation bias).

The estimates are :class:`~lola_sym.sampling.estimators.Estimate` objects and
the estimator names those of :data:`~lola_sym.sampling.estimators.ESTIMATORS`.
The functions of that module are not called: they take dense score arrays
``(batch, T, d)`` and form each episode's Hessian ``(d_j, d_l)``, which on the
coin game is 3,456 x 3,456 per episode.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.3.
.. [2] Foerster, J. et al. (2018). DiCE: The Infinitely Differentiable Monte
   Carlo Estimator. ICML. arXiv:1802.05098.
.. [3] Mao, J. et al. (2019). A Baseline for Any Order Gradient Estimation in
   Stochastic Computation Graphs. ICML.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym._validation import check_real
from lola_sym.adjoint.rules import shaping_terms
from lola_sym.adjoint.solve import at
from lola_sym.games.markov import MarkovGame
from lola_sym.sampling.estimators import ESTIMATORS, Estimate
from lola_sym.sampling.markov_rollouts import MarkovRollouts

__all__ = ["Estimate", "ESTIMATORS", "BASELINES", "QUANTITIES", "MarkovTargets",
           "markov_targets", "target_for", "baseline_values", "policy_gradient",
           "dice_gradient", "hessian_vector", "lola_direction", "estimate"]

#: Named baselines (as in :mod:`lola_sym.sampling.estimators`).
BASELINES = ("time", "value")
#: What :func:`estimate` estimates: ``"grad"`` (:math:`\nabla_i V_i`), ``"cross"``
#: (:math:`\nabla_j V_i`), ``"correction"`` (LOLA's shaping term
#: :math:`\chi_i = \sum_{j \ne i} (\nabla_i \nabla_j V_j) \nabla_j V_i`), ``"lola"`` (the LOLA
#: direction of agent ``i``, :math:`\nabla_i V_i + \eta \chi_i`).
QUANTITIES = ("grad", "cross", "correction", "lola")
_DEFAULT = object()


def _check_rollouts(ro):
    if not isinstance(ro, MarkovRollouts):
        raise TypeError(f"expected MarkovRollouts from lola_sym.sampling.markov_rollouts."
                        f"markov_rollout, got {type(ro).__name__}")


def _player(ro, x, name="agent") -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name} must be an int 1..{ro.n_players}, got {x!r}")
    if not 1 <= x <= ro.n_players:
        raise ValueError(f"{name} must be a player 1..{ro.n_players}, got {x}")
    return int(x)


# ----------------------------------------------------------------- targets
@dataclass(frozen=True)
class MarkovTargets:
    r"""Exact values, gradients and LOLA directions of a Markov game at one point.

    Attributes
    ----------
    horizon : int or None
        ``T`` (finite-horizon value :math:`V^{(T)}`), or None (discounted).
    eta : float
        LOLA's look-ahead of ``lola``.
    values : numpy.ndarray, (n,)
    gradients : dict
        ``{(i, j): array (d_j,)}``: :math:`\nabla_j V_i` (1-based), every block.
    correction : tuple of numpy.ndarray
        Per agent, LOLA's shaping term :math:`\chi_i = \sum_{j \ne i} (\nabla_i
        \nabla_j V_j) \nabla_j V_i` (forward over adjoint).
    lola : tuple of numpy.ndarray
        Per agent, :math:`\nabla_i V_i + \eta \sum_{j \ne i} (\nabla_i \nabla_j
        V_j) \nabla_j V_i` (Eq. 4.4 of Foerster et al. (2018), :mod:`lola_sym.adjoint.rules`).
    """

    horizon: int | None
    eta: float
    values: np.ndarray
    gradients: dict
    correction: tuple
    lola: tuple

    def of(self, quantity: str, agent: int, opponent: int | None = None) -> np.ndarray:
        """The target of :func:`estimate`'s ``quantity`` for ``agent`` (and ``opponent``)."""
        if quantity == "grad":
            return self.gradients[(agent, agent)]
        if quantity == "lola":
            return self.lola[agent - 1]
        if quantity == "correction":
            return self.correction[agent - 1]
        if quantity == "cross":
            return self.gradients[(agent, opponent)]
        raise ValueError(f"unknown quantity {quantity!r}; choose one of {QUANTITIES}")


def markov_targets(game, *thetas, horizon, eta: float = 1.0) -> MarkovTargets:
    r"""The exact targets at one point, by sparse LU and adjoints (:mod:`lola_sym.adjoint`).

    Parameters
    ----------
    game : MarkovGame
    *thetas : array_like, (d_i,)
    horizon : int or None
        The episode length ``T`` the estimates are unbiased for, or None for the
        discounted infinite-horizon value (``game.gamma``).
    eta : float
        LOLA's look-ahead.

    Examples
    --------
    >>> from lola_sym.games import coin_game
    >>> g = coin_game(2)
    >>> t = np.zeros(g.dims[0])
    >>> tg = markov_targets(g, t, t, horizon=5)
    >>> tg.values.shape, tg.gradients[(1, 2)].shape, tg.lola[0].shape
    ((2,), (216,), (216,))
    """
    if not isinstance(game, MarkovGame):
        raise TypeError(f"markov_targets needs a MarkovGame, got {type(game).__name__}")
    eta = check_real(eta, "eta", nonnegative=True)
    ev = at(game.with_horizon(horizon), *thetas)
    grads = {k: np.real(v).copy() for k, v in ev.gradients().items()}
    chi = tuple(np.real(c) for c in shaping_terms(ev))
    lola = tuple(grads[(i, i)] + eta * c for i, c in enumerate(chi, 1))
    return MarkovTargets(horizon, eta, np.real(ev.values).copy(), grads, chi, lola)


def target_for(ro: MarkovRollouts, eta: float = 1.0) -> MarkovTargets:
    """The exact targets the estimators on ``ro`` are unbiased for (horizon ``ro.horizon``).

    Examples
    --------
    In the coin game at uniform policies, neither agent has an edge: both
    finite-horizon values are zero.

    >>> import numpy as np
    >>> from lola_sym.games import coin_game
    >>> from lola_sym.sampling.markov_rollouts import markov_rollout
    >>> g = coin_game(2)
    >>> t = np.zeros(g.dims[0])
    >>> tg = target_for(markov_rollout(g, t, t, batch=4, horizon=10, seed=0))
    >>> tg.horizon, bool(np.allclose(tg.values, 0.0, atol=1e-12)), tg.of("grad", 1).shape
    (10, True, (216,))
    """
    _check_rollouts(ro)
    return markov_targets(ro.game, *ro.thetas, horizon=ro.horizon, eta=eta)


# ---------------------------------------------------------------- baselines
def baseline_values(ro: MarkovRollouts, of: int, baseline) -> np.ndarray:
    r"""Baseline :math:`b_t` for agent ``of``'s return-to-go, shape ``(batch, T)``.

    ``None``: zero. ``"time"``: the leave-one-out batch mean of :math:`G_t` over
    the other episodes (needs batch >= 2). ``"value"``: the exact critic
    :math:`\mathbb{E}[G_t \mid s_t] = w^{(T - t)}(s_t)`, the value of the
    remaining steps from the backward recursion of the game's chain. An array
    broadcastable to ``(batch, T)`` is used as given.

    Examples
    --------
    The ``"time"`` baseline of episode 0 is the mean over the other episodes:

    >>> import numpy as np
    >>> from lola_sym.games import coin_game
    >>> from lola_sym.sampling.markov_rollouts import markov_rollout
    >>> g = coin_game(2)
    >>> t = np.zeros(g.dims[0])
    >>> ro = markov_rollout(g, t, t, batch=32, horizon=10, seed=0)
    >>> b = baseline_values(ro, 1, "time")
    >>> b.shape, bool(np.allclose(b[0], ro.returns_to_go[0][1:].mean(axis=0)))
    ((32, 10), True)
    """
    _check_rollouts(ro)
    of = _player(ro, of, "of")
    shape = (ro.batch, ro.horizon)
    if baseline is None:
        return np.zeros(shape)
    if isinstance(baseline, str):
        if baseline == "time":
            if ro.batch < 2:
                raise ValueError("baseline 'time' (leave-one-out mean) needs batch >= 2")
            G = ro.returns_to_go[of - 1]
            return (G.sum(axis=0, keepdims=True) - G) / (ro.batch - 1)
        if baseline == "value":
            g = ro.game
            chain = g.chain_at(g.tables(*ro.thetas))
            w = np.zeros(g.n_states)
            table = np.empty((ro.horizon, g.n_states))
            for k in range(ro.horizon):                       # k + 1 steps to go
                w = chain.r[of - 1] + ro.kappa * chain.step(w)
                table[ro.horizon - 1 - k] = w
            return table[np.arange(ro.horizon), ro.states]
        raise ValueError(f"unknown baseline {baseline!r}; choose None, one of {list(BASELINES)} "
                         f"or an array of shape {shape}")
    b = np.asarray(baseline, dtype=float)
    if not np.isfinite(b).all():
        raise ValueError("baseline has a non-finite entry")
    try:
        return np.broadcast_to(b, shape)
    except ValueError:
        raise ValueError(f"baseline of shape {b.shape} does not broadcast to the rollouts' "
                         f"(batch, T) = {shape}") from None


# ------------------------------------------------------------- estimators
def _reverse_cumsum(x):
    return np.cumsum(x[..., ::-1], axis=-1)[..., ::-1]


def _scatter(ro, player, coef, stderr=True):
    r"""Mean over episodes of :math:`\sum_t \mathrm{coef}_t\, s^{player}_t` and its standard
    error, both ``(d,)``; the per-episode vectors are summed sparsely."""
    d = ro.game.dims[player - 1]
    idx = ro.score_index(player).reshape(ro.batch, -1)
    val = (coef[..., None] * ro.score_values[player - 1]).reshape(ro.batch, -1)
    if not np.isfinite(val).all():
        raise ValueError("the estimate's samples are not finite: rescale the rewards or the "
                         "baseline")
    B = ro.batch
    mean = np.bincount(idx.ravel(), weights=val.ravel(), minlength=d) / B
    if not stderr:
        return mean, None
    if B < 2:
        return mean, np.full(d, np.inf)
    key = (np.arange(B)[:, None] * d + idx).ravel()
    uniq, inv = np.unique(key, return_inverse=True)
    per_episode = np.bincount(inv.ravel(), weights=val.ravel(), minlength=len(uniq))
    sumsq = np.bincount(uniq % d, weights=per_episode ** 2, minlength=d)
    var = np.maximum(sumsq / B - mean ** 2, 0.0) * B / (B - 1)
    return mean, np.sqrt(var / B)


def policy_gradient(ro: MarkovRollouts, of: int = 1, wrt: int = 1, baseline=None,
                    stderr: bool = True) -> Estimate:
    r"""REINFORCE: :math:`\nabla_{wrt} V_{of} \approx \sum_t \gamma^t s^{wrt}_t (G^{of}_t - b_t)`.

    Examples
    --------
    >>> from lola_sym.games import coin_game
    >>> from lola_sym.sampling.markov_rollouts import markov_rollout
    >>> g = coin_game(2)
    >>> t = np.zeros(g.dims[0])
    >>> ro = markov_rollout(g, t, t, batch=64, horizon=10, seed=0)
    >>> est = policy_gradient(ro, baseline="time")
    >>> est.value.shape, est.estimator
    ((216,), 'reinforce_baseline')
    """
    _check_rollouts(ro)
    of, wrt = _player(ro, of, "of"), _player(ro, wrt, "wrt")
    coef = ro.weights * (ro.returns_to_go[of - 1] - baseline_values(ro, of, baseline))
    mean, se = _scatter(ro, wrt, coef, stderr)
    return Estimate(mean, se, "grad" if of == wrt else "cross",
                    "reinforce" if baseline is None else "reinforce_baseline", of, ro.batch)


def dice_gradient(ro: MarkovRollouts, of: int = 1, wrt: int = 1, baseline=None,
                  stderr: bool = True) -> Estimate:
    r"""DiCE's first derivative: :math:`\sum_t d_t r^{of}_t C^{wrt}_t - \sum_t d_t b_t s^{wrt}_t`.

    Evaluated as written (cumulative scores by reverse cumulative sums of the
    weighted rewards), with the any-order baseline of Mao et al. (2019).

    Examples
    --------
    Term by term it is REINFORCE with the same baseline (:func:`policy_gradient`):

    >>> import numpy as np
    >>> from lola_sym.games import coin_game
    >>> from lola_sym.sampling.markov_rollouts import markov_rollout
    >>> g = coin_game(2)
    >>> t = np.zeros(g.dims[0])
    >>> ro = markov_rollout(g, t, t, batch=32, horizon=10, seed=0)
    >>> d = dice_gradient(ro, of=1, wrt=1, baseline="time")
    >>> pg = policy_gradient(ro, of=1, wrt=1, baseline="time")
    >>> d.value.shape, bool(np.allclose(d.value, pg.value, rtol=1e-12, atol=1e-12))
    ((216,), True)
    """
    _check_rollouts(ro)
    of, wrt = _player(ro, of, "of"), _player(ro, wrt, "wrt")
    dr = ro.weights * ro.rewards[of - 1]
    db = ro.weights * baseline_values(ro, of, baseline)
    mean, se = _scatter(ro, wrt, _reverse_cumsum(dr) - db, stderr)
    return Estimate(mean, se, "grad" if of == wrt else "cross",
                    "dice" if baseline is None else "dice_baseline", of, ro.batch)


def hessian_vector(ro: MarkovRollouts, u, of: int = 2, players=(1, 2), method: str = "lola_pg",
                   baseline=None, stderr: bool = True) -> Estimate:
    r"""An estimate of :math:`(\nabla_j \nabla_l V_{of})\, u` for ``(j, l) = players``, ``(d_j,)``.

    ``method="lola_pg"``: :math:`\sum_t d_t r^{of}_t C^j_t (C^l_t \cdot u)` (Sec. 4.3
    of Foerster et al. (2018); the DiCE cross derivative without a baseline is the same);
    ``method="dice"``: the DiCE cross derivative with the baseline of Mao et al. (2019),
    :math:`\sum_t (d_t r_t - d_t b_t + d_{t+1} b_{t+1}) C^j_t (C^l_t \cdot u)`.

    Examples
    --------
    >>> from lola_sym.games import coin_game
    >>> from lola_sym.sampling.markov_rollouts import markov_rollout
    >>> g = coin_game(2)
    >>> t = np.zeros(g.dims[0])
    >>> ro = markov_rollout(g, t, t, batch=32, horizon=10, seed=0)
    >>> hessian_vector(ro, np.ones(216), of=2, players=(1, 2)).value.shape
    (216,)
    """
    _check_rollouts(ro)
    of = _player(ro, of, "of")
    try:
        j, k = players
    except (TypeError, ValueError):
        raise ValueError(f"players must be a pair of distinct players (j, l), got "
                         f"{players!r}") from None
    j, k = _player(ro, j, "players[0]"), _player(ro, k, "players[1]")
    if j == k:
        raise ValueError(f"players must be two distinct players, got ({j}, {k}): the "
                         f"estimators give cross derivatives")
    u = np.asarray(u, dtype=float)
    if u.shape != (ro.game.dims[k - 1],) or not np.isfinite(u).all():
        raise ValueError(f"u must be a finite vector of player {k}'s {ro.game.dims[k - 1]} "
                         f"logits, got shape {u.shape}")
    if method not in ("lola_pg", "dice"):
        raise ValueError(f"method must be 'lola_pg' or 'dice', got {method!r}")
    dr = ro.weights * ro.rewards[of - 1]
    if method == "dice" and baseline is not None:
        db = ro.weights * baseline_values(ro, of, baseline)
        a = dr - db + np.concatenate([db[:, 1:], np.zeros((ro.batch, 1))], axis=1)
    else:
        a = dr
    dots = np.einsum("btk,btk->bt", ro.score_values[k - 1], u[ro.score_index(k)])
    c = np.cumsum(dots, axis=1)                                   # C^l_t . u
    mean, se = _scatter(ro, j, _reverse_cumsum(a * c), stderr)
    name = "lola_pg" if method == "lola_pg" else ("dice" if baseline is None else "dice_baseline")
    return Estimate(mean, se, "hessian_vector", name, of, ro.batch)


def _first(ro, method, of, wrt, baseline, stderr=True):
    if method == "dice":
        return dice_gradient(ro, of, wrt, baseline, stderr)
    return policy_gradient(ro, of, wrt, baseline, stderr)


def _correction(ro, i, estimator, baseline, independent):
    r"""LOLA's correction :math:`\sum_{j \ne i} \widehat{H}_{ij} \widehat{\nabla_j V_i}`
    (see :func:`lola_direction`)."""
    if estimator not in ("lola_pg", "dice", "dice_baseline"):
        raise ValueError(f"the LOLA correction and direction need a second-order estimator: "
                         f"'lola_pg', 'dice' or 'dice_baseline', got {estimator!r}")
    method, default = ESTIMATORS[estimator]
    baseline = default if baseline is _DEFAULT else baseline
    if not isinstance(independent, (bool, np.bool_)):
        raise TypeError(f"independent must be a bool, got {type(independent).__name__}")
    if independent:
        if ro.batch < 4:
            raise ValueError("independent=True splits the batch in two halves, each needing "
                             "batch >= 2: give batch >= 4")
        h_ro, g_ro = ro.select(slice(0, None, 2)), ro.select(slice(1, None, 2))
    else:
        h_ro = g_ro = ro
    out = 0
    for j in range(1, ro.n_players + 1):
        if j != i:
            cross = _first(g_ro, method, i, j, baseline, stderr=False).value
            out = out + hessian_vector(h_ro, cross, of=j, players=(i, j), method=method,
                                       baseline=None if method == "lola_pg" else baseline,
                                       stderr=False).value
    return out, method, baseline


def lola_direction(ro: MarkovRollouts, agent: int = 1, estimator: str = "lola_pg",
                   eta: float | None = 1.0, baseline=_DEFAULT,
                   independent: bool = True) -> Estimate:
    r"""The LOLA direction :math:`\nabla_i V_i + \eta \sum_{j \ne i} (\nabla_i \nabla_j V_j)
    \nabla_j V_i` of ``agent`` from rollouts (Eq. 4.4 of Foerster et al. (2018)).

    Parameters
    ----------
    ro : MarkovRollouts
    agent : int
        ``i``, 1-based.
    estimator : {"lola_pg", "dice", "dice_baseline"}
        ``"lola_pg"``: first-order terms with the ``"time"`` baseline, the
        Hessian without one (the paper's LOLA-PG); ``"dice"`` / ``"dice_baseline"``:
        the DiCE derivatives of first and second order, without / with the
        any-order baseline (the DiCE LOLA gradient).
    eta : float
        LOLA's look-ahead, >= 0; ``eta=None`` returns the correction
        :math:`\chi_i` alone (quantity ``"correction"``).
    baseline : None, "time", "value" or array, optional
        Overrides the estimator's default baseline.
    independent : bool
        Hessians from the even episodes, cross gradients from the odd ones, so
        that their product is unbiased (needs batch >= 4).

    Examples
    --------
    >>> from lola_sym.games import coin_game
    >>> from lola_sym.sampling.markov_rollouts import markov_rollout
    >>> g = coin_game(2)
    >>> t = np.zeros(g.dims[0])
    >>> ro = markov_rollout(g, t, t, batch=32, horizon=10, seed=0)
    >>> lola_direction(ro, agent=2, estimator="dice_baseline").value.shape
    (216,)
    >>> lola_direction(ro, estimator="reinforce")
    Traceback (most recent call last):
    ...
    ValueError: the LOLA correction and direction need a second-order estimator: 'lola_pg', 'dice' or 'dice_baseline', got 'reinforce'
    """
    _check_rollouts(ro)
    i = _player(ro, agent)
    if eta is not None:
        eta = check_real(eta, "eta", nonnegative=True)
    corr, method, baseline = _correction(ro, i, estimator, baseline, independent)
    if eta is None:
        return Estimate(corr, None, "correction", estimator, i, ro.batch)
    own = _first(ro, method, i, i, baseline, stderr=False).value
    return Estimate(own + eta * corr, None, "lola", estimator, i, ro.batch)


def estimate(ro: MarkovRollouts, quantity: str = "grad", estimator: str = "reinforce",
             agent: int = 1, *, baseline=_DEFAULT, eta: float = 1.0, independent: bool = True,
             opponent: int | None = None, stderr: bool = True) -> Estimate:
    r"""Estimate ``quantity`` (one of :data:`QUANTITIES`) of ``agent`` with ``estimator``.

    ``estimator`` is one of :data:`~lola_sym.sampling.estimators.ESTIMATORS` (those of
    :mod:`lola_sym.sampling.estimators`: ``"reinforce"``, ``"reinforce_baseline"``,
    ``"lola_pg"`` (first order: REINFORCE with the ``"time"`` baseline), ``"dice"``,
    ``"dice_baseline"``); ``"correction"`` and ``"lola"`` need one of the last three.
    ``stderr=False`` skips the standard errors of first-order estimates (a sort
    of the sampled entries); products of estimates have none.

    Examples
    --------
    >>> from lola_sym.games import coin_game
    >>> from lola_sym.sampling.markov_rollouts import markov_rollout
    >>> g = coin_game(2)
    >>> t = np.zeros(g.dims[0])
    >>> ro = markov_rollout(g, t, t, batch=32, horizon=10, seed=0)
    >>> estimate(ro, "cross", "dice", agent=1, opponent=2).quantity
    'cross'
    >>> estimate(ro, "value")
    Traceback (most recent call last):
    ...
    ValueError: unknown quantity 'value'; choose one of ('grad', 'cross', 'correction', 'lola')
    """
    _check_rollouts(ro)
    if quantity not in QUANTITIES:
        raise ValueError(f"unknown quantity {quantity!r}; choose one of {QUANTITIES}")
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; choose one of {sorted(ESTIMATORS)}")
    i = _player(ro, agent)
    if quantity in ("lola", "correction"):
        return lola_direction(ro, i, estimator, eta if quantity == "lola" else None, baseline,
                              independent)
    method, default = ESTIMATORS[estimator]
    baseline = default if baseline is _DEFAULT else baseline
    if quantity == "grad":
        j = i
    else:
        if opponent is None:
            if ro.n_players != 2:
                raise ValueError("quantity 'cross' needs opponent= with more than two players")
            opponent = 3 - i
        j = _player(ro, opponent, "opponent")
        if j == i:
            raise ValueError(f"opponent must differ from agent {i} for 'cross'")
    est = _first(ro, method, i, j, baseline, stderr=bool(stderr))
    return Estimate(est.value, est.stderr, quantity, estimator, i, ro.batch)
