r"""Opponent modelling and sample-based LOLA training (LOLA-OM, LOLA-PG, NL-PG).

**Opponent modelling** (Sec. 4.4 of [1]_). A memory-1 opponent cooperates in
its own-perspective state :math:`k` with probability :math:`\sigma(\theta_k)`,
independently at every visit, so the log-likelihood of its observed actions
separates per state and the maximum-likelihood estimate is closed-form: the
logit of the empirical cooperation frequency. With :math:`c_k` cooperations in
:math:`n_k` visits and pseudo-counts :math:`(a, b)` (a Beta(a, b) prior),

.. math::

    \hat\theta_k = \operatorname{logit} \frac{c_k + a}{n_k + a + b},

the MLE for :math:`a = b = 0`, and with the default :math:`a = b = 1`
(Laplace's rule, the posterior mean under a uniform prior) finite even for
unvisited states (estimate 0, probability 1/2) or states where the opponent
always played the same action. Confidence intervals: the Beta(c + a, n - c + b)
posterior quantiles mapped through the logit (``"beta"``), or Wald intervals on
the logit scale, :math:`\hat\theta \pm z / \sqrt{(n + a + b)\,\hat p (1 - \hat p)}`
(``"wald"``).

**LOLA-OM** (:func:`train_om`): exact LOLA (or NL) where each agent replaces its
opponent's parameters by the estimate from a fresh seeded batch of rollouts at
every step. **LOLA-PG / NL-PG** (:func:`train_pg`): every gradient, Hessian and
LOLA correction estimated from rollouts (:mod:`lola_sym.estimators`). Both
record the exact average reward per step :math:`(1 - \gamma) V` of the
parameters and the tit-for-tat criterion of :func:`lola_sym.reproduce.tft_like`.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.3, 4.4 and Table 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv, logit, ndtri   # Beta and normal quantiles

from lola_sym._validation import as_params, check_positive_int, check_real
from lola_sym.estimators import ESTIMATORS, estimate
from lola_sym.field import update_field
from lola_sym.layout import STATES
from lola_sym.reproduce import tft_like
from lola_sym.rollouts import Rollouts, _check_game, rollout
from lola_sym.training import as_generator

__all__ = ["OpponentModel", "fit_policy", "model_opponent", "SampleTrajectory", "train_om",
           "train_pg", "PRIOR", "PG_RULES"]

#: Default pseudo-counts (cooperations, defections) added in every state: Beta(1, 1).
PRIOR = (1.0, 1.0)
#: Rules :func:`train_pg` can estimate from samples.
PG_RULES = ("nl", "lola")
#: Episode-steps simulated at once (runs are chunked to stay below).
CHUNK_STEPS = 2_000_000


@dataclass(frozen=True)
class OpponentModel:
    r"""Estimated logits of a memory-1 policy from observed actions.

    Attributes
    ----------
    theta : ndarray, (*lead, 5)
        :math:`\operatorname{logit}((c + a) / (n + a + b))` per own-perspective state.
    cooperations, visits : ndarray, (*lead, 5)
        Counts :math:`c_k` and :math:`n_k`.
    prior : tuple of float
        Pseudo-counts :math:`(a, b)`.
    """

    theta: np.ndarray
    cooperations: np.ndarray
    visits: np.ndarray
    prior: tuple

    @property
    def probability(self) -> np.ndarray:
        """Estimated probability of cooperating in each state."""
        a, b = self.prior
        return (self.cooperations + a) / (self.visits + a + b)

    def interval(self, level: float = 0.95, method: str = "beta") -> tuple:
        """Confidence interval ``(lo, hi)`` of each logit at ``level``.

        ``"beta"``: quantiles of the Beta(c + a, n - c + b) posterior through
        the logit (needs positive pseudo-counts); ``"wald"``: estimate plus or
        minus ``z`` standard errors on the logit scale.

        Examples
        --------
        >>> m = fit_policy([[0, 2, 4]], [[0, 1, 1]])
        >>> lo, hi = m.interval(0.95)
        >>> bool(lo[0] < m.theta[0] < hi[0]), bool(lo[1] > -1e9)    # unseen state: finite
        (True, True)
        """
        level = check_real(level, "level")
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        a, b = self.prior
        c, n = self.cooperations, self.visits
        if method == "beta":
            if a <= 0 or b <= 0:
                raise ValueError("beta intervals need positive pseudo-counts; use prior=(1, 1) "
                                 "or method='wald'")
            q = (1 - level) / 2
            lo = betaincinv(c + a, n - c + b, q)
            hi = betaincinv(c + a, n - c + b, 1 - q)
            return logit(lo), logit(hi)
        if method == "wald":
            z = ndtri(0.5 + level / 2)
            p = self.probability
            half = z / np.sqrt((n + a + b) * p * (1 - p))
            return self.theta - half, self.theta + half
        raise ValueError(f"unknown interval method {method!r}; choose 'beta' or 'wald'")


def _check_prior(prior):
    try:
        a, b = prior
    except (TypeError, ValueError):
        raise ValueError(f"prior must be a pair of pseudo-counts (a, b), got {prior!r}") from None
    return (check_real(a, "prior[0]", nonnegative=True),
            check_real(b, "prior[1]", nonnegative=True))


def _from_counts(coop, visits, prior) -> OpponentModel:
    a, b = prior
    num, den = coop + a, visits + a + b
    degenerate = (num == 0) | (num == den)
    if np.any(degenerate):
        lead_axes = tuple(range(degenerate.ndim - 1))
        unseen = np.any(degenerate & (visits == 0), axis=lead_axes)
        bad = np.any(degenerate, axis=lead_axes)
        names = ", ".join(f"{STATES[k]} ({'never visited' if unseen[k] else 'one action only'})"
                          for k in range(5) if bad[k])
        raise ValueError(f"infinite maximum-likelihood logits in states {names}; "
                         f"use positive pseudo-counts, e.g. prior={PRIOR}")
    return OpponentModel(np.log(num) - np.log(den - num), coop, visits, prior)


def fit_policy(states, actions, mask=None, prior=PRIOR) -> OpponentModel:
    r"""Estimate memory-1 logits from one agent's own states and actions.

    Parameters
    ----------
    states, actions : array_like of int, (*lead, batch, T)
        Own-perspective state index (0 = s0, ..., 4 = DD) and action (0 = C,
        1 = D) of the modelled agent at every step.
    mask : array_like of bool, optional
        Steps to use (default all).
    prior : (float, float)
        Pseudo-counts of cooperations and defections added in every state.

    Examples
    --------
    >>> m = fit_policy([[0, 1, 1, 1]], [[0, 0, 0, 1]], prior=(1, 1))
    >>> m.visits, m.cooperations
    (array([1., 3., 0., 0., 0.]), array([1., 2., 0., 0., 0.]))
    >>> m.theta.round(4)        # logit(2/3), logit(3/5), then 0 for unseen states
    array([0.6931, 0.4055, 0.    , 0.    , 0.    ])
    >>> fit_policy([[0, 1]], [[0, 0]], prior=(0, 0))
    Traceback (most recent call last):
    ...
    ValueError: infinite maximum-likelihood logits in states s0 (one action only), CC (one action only), CD (never visited), DC (never visited), DD (never visited); use positive pseudo-counts, e.g. prior=(1.0, 1.0)
    """
    prior = _check_prior(prior)
    st, ac = np.asarray(states), np.asarray(actions)
    for name, arr, hi in (("states", st, 4), ("actions", ac, 1)):
        if arr.dtype.kind not in "iub":
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
        if arr.ndim < 1 or arr.size == 0:
            raise ValueError(f"{name} must be a non-empty array of shape (..., batch, T)")
        if arr.min() < 0 or arr.max() > hi:
            raise ValueError(f"{name} must lie in 0..{hi}, got values in {arr.min()}..{arr.max()}")
    if st.shape != ac.shape:
        raise ValueError(f"states and actions must have the same shape; got {st.shape} and {ac.shape}")
    m = np.ones(st.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != st.shape:
        raise ValueError(f"mask must have shape {st.shape}, got {m.shape}")
    lead = st.shape[:-2] if st.ndim >= 2 else ()
    onehot = (st[..., None] == np.arange(5)) & m[..., None]
    axes = (-3, -2) if st.ndim >= 2 else (-2,)
    visits = onehot.sum(axis=axes).astype(float).reshape(lead + (5,))
    coop = (onehot & (ac == 0)[..., None]).sum(axis=axes).astype(float).reshape(lead + (5,))
    return _from_counts(coop, visits, prior)


def model_opponent(ro: Rollouts, agent: int = 2, prior=PRIOR) -> OpponentModel:
    """Estimate agent ``agent``'s logits from its actions in the rollouts (own perspective).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games
    >>> theta2 = np.array([1.0, 0.5, -0.5, 0.0, -1.0])
    >>> ro = rollout(games.ipd(), np.zeros(5), theta2, batch=4000, horizon=20, seed=0)
    >>> bool(np.all(np.abs(model_opponent(ro).theta - theta2) < 0.1))
    True
    """
    if not isinstance(ro, Rollouts):
        raise TypeError(f"expected Rollouts from lola_sym.rollouts.rollout, got {type(ro).__name__}")
    if agent not in (1, 2):
        raise ValueError(f"agent must be 1 or 2, got {agent!r}")
    return fit_policy(ro.states[agent - 1], ro.actions[agent - 1], ro.mask, prior)


@dataclass(frozen=True)
class SampleTrajectory:
    r"""The result of :func:`train_om` or :func:`train_pg`.

    Attributes
    ----------
    theta1, theta2 : ndarray, (steps + 1, runs, 5)
        Parameters before each update and after the last one.
    reward : ndarray, (steps + 1, runs, 2)
        Exact average reward per step :math:`(1 - \gamma) V` of the parameters.
    model1, model2 : ndarray or None, (steps, runs, 5)
        For opponent modelling: agent 1's estimate of :math:`\theta_2` and agent
        2's estimate of :math:`\theta_1` used at each update.
    rules : tuple of str
    settings : dict
        Learning rate, batch, horizon, estimator, prior, ...
    """

    game: object
    theta1: np.ndarray
    theta2: np.ndarray
    reward: np.ndarray
    rules: tuple
    settings: dict
    model1: np.ndarray | None = None
    model2: np.ndarray | None = None

    @property
    def runs(self) -> int:
        return self.theta1.shape[1]

    @property
    def steps(self) -> int:
        return self.theta1.shape[0] - 1

    @property
    def final_reward(self) -> np.ndarray:
        """Average reward per step at the end, (runs, 2)."""
        return self.reward[-1]

    @property
    def tft(self) -> np.ndarray:
        """TFT criterion of :func:`lola_sym.reproduce.tft_like`, (steps + 1, runs, 2)."""
        return np.stack([tft_like(self.theta1), tft_like(self.theta2)], axis=-1)

    @property
    def tft_percent(self) -> float:
        """Percentage of TFT-like final policies over both agents of every run."""
        return 100.0 * float(self.tft[-1].mean())


def _setup(game, runs, steps, delta, seed, init_std, theta1, theta2):
    """Validated sizes and the initial parameters (drawn as lola_sym.training.train draws them)."""
    _check_game(game)
    runs = check_positive_int(runs, "runs")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    delta = check_real(delta, "delta", positive=True)
    rng = as_generator(seed)
    if theta1 is None and theta2 is None:
        std = check_real(init_std, "init_std", nonnegative=True)
        t1, t2 = rng.normal(0.0, std, (runs, 5)), rng.normal(0.0, std, (runs, 5))
    elif theta1 is not None and theta2 is not None:
        t1 = np.array(as_params(theta1, "theta1"), copy=True)
        t2 = np.array(as_params(theta2, "theta2"), copy=True)
        if t1.ndim != 2 or t1.shape != t2.shape:
            raise ValueError(f"theta1 and theta2 must both have shape (runs, 5); "
                             f"got {t1.shape} and {t2.shape}")
    else:
        raise ValueError("give both theta1 and theta2, or neither (random initialisation)")
    return int(steps), delta, rng, t1, t2


def _chunks(runs, batch, horizon):
    size = max(1, CHUNK_STEPS // (batch * horizon))
    return [slice(i, min(i + size, runs)) for i in range(0, runs, size)]


def _finish(game, T1, T2, rules, settings, M1=None, M2=None):
    reward = game.average_reward(T1, T2)
    if not np.all(np.isfinite(T1)) or not np.all(np.isfinite(T2)):
        raise ValueError("training produced non-finite parameters; lower delta")
    return SampleTrajectory(game, T1, T2, reward, rules, settings, M1, M2)


def train_om(game, rule1: str = "lola", rule2: str | None = None, *, runs: int = 10,
             steps: int = 50, delta: float = 1.0, eta: float = 1.0, batch: int = 1000,
             horizon: int = 50, prior=PRIOR, seed=0, init_std: float = 1.0, theta1=None,
             theta2=None) -> SampleTrajectory:
    r"""Exact LOLA / NL where each agent uses its estimate of the opponent (LOLA-OM, Sec. 4.4).

    At every step both agents play ``batch`` episodes of ``horizon`` steps per
    run; agent 1 updates with the exact rule evaluated at
    :math:`(\theta_1, \hat\theta_2)` and agent 2 at :math:`(\hat\theta_1, \theta_2)`,
    the estimates coming from :func:`model_opponent` on those episodes.
    Initial parameters are drawn exactly as :func:`lola_sym.training.train`
    draws them with the same seed.

    Examples
    --------
    >>> from lola_sym import games
    >>> tr = train_om(games.ipd(), runs=2, steps=3, batch=50, horizon=10, seed=0)
    >>> tr.theta1.shape, tr.model1.shape, tr.reward.shape
    ((4, 2, 5), (3, 2, 5), (4, 2, 2))
    """
    rule2 = rule1 if rule2 is None else rule2
    steps, delta, rng, t1, t2 = _setup(game, runs, steps, delta, seed, init_std, theta1, theta2)
    batch = check_positive_int(batch, "batch")
    horizon = check_positive_int(horizon, "horizon")
    prior = _check_prior(prior)
    eta = check_real(eta, "eta")
    f1 = update_field(game, rule1, **({"eta": eta} if rule1 == "lola" else {}))
    f2 = update_field(game, rule2, **({"eta": eta} if rule2 == "lola" else {}))
    runs = t1.shape[0]
    T1, T2 = np.empty((steps + 1, runs, 5)), np.empty((steps + 1, runs, 5))
    M1, M2 = np.empty((steps, runs, 5)), np.empty((steps, runs, 5))
    T1[0], T2[0] = t1, t2
    for s in range(steps):
        for sl in _chunks(runs, batch, horizon):
            ro = rollout(game, t1[sl], t2[sl], batch, horizon, seed=rng)
            M1[s, sl] = model_opponent(ro, 2, prior).theta
            M2[s, sl] = model_opponent(ro, 1, prior).theta
        g1 = f1(t1, M1[s])[0]
        g2 = f2(M2[s], t2)[1]
        t1, t2 = t1 + delta * g1, t2 + delta * g2
        T1[s + 1], T2[s + 1] = t1, t2
    settings = dict(delta=delta, eta=eta, batch=batch, horizon=horizon, prior=prior)
    return _finish(game, T1, T2, (f1.rule.name + "-om", f2.rule.name + "-om"), settings, M1, M2)


def train_pg(game, rule1: str = "lola", rule2: str | None = None, *, runs: int = 10,
             steps: int = 100, delta: float = 1.0, eta: float = 1.0, batch: int = 500,
             horizon: int = 100, estimator: str = "dice_baseline", termination: str = "fixed",
             independent: bool = False, seed=0, init_std: float = 1.0, theta1=None,
             theta2=None) -> SampleTrajectory:
    r"""LOLA-PG / NL-PG: the learning rules with every derivative estimated from rollouts.

    Agent ``i`` updates :math:`\theta_i \leftarrow \theta_i + \delta \hat g_i` with
    :math:`\hat g_i = \widehat{\nabla_i V_i}` (NL) or
    :math:`\widehat{\nabla_i V_i} + \eta\, \widehat{\nabla_i\nabla_j V_j}\,
    \widehat{\nabla_j V_i}` (LOLA), estimated by ``estimator`` (see
    :data:`lola_sym.estimators.ESTIMATORS`) from ``batch`` fresh episodes per
    run and step.

    Scaling (documented choice): the paper's PG setting (actor step 0.005,
    batch 4000, 150-step episodes) multiplies the release code's estimate,
    twice the batch mean, so its step is :math:`\delta = 0.01` in these
    units and needs about a hundred times more updates than the exact
    experiments. Here the exact experiments' :math:`\delta = \eta = 1` are
    used, with smaller batches and horizons chosen by the caller. The default
    ``"dice_baseline"`` subtracts a leave-one-out mean, which for a fixed
    horizon equals the release code's mean-reward baseline in the second-order
    term; the bare formula of the paper (``"lola_pg"``) has about ten times the
    standard error at 100-step episodes.

    Examples
    --------
    >>> from lola_sym import games
    >>> tr = train_pg(games.ipd(), "lola", "nl", runs=2, steps=2, batch=20, horizon=5, seed=0)
    >>> tr.rules, tr.final_reward.shape
    (('lola', 'nl'), (2, 2))
    """
    rule2 = rule1 if rule2 is None else rule2
    for r in (rule1, rule2):
        if r not in PG_RULES:
            raise ValueError(f"train_pg estimates the rules {list(PG_RULES)}, got {r!r}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; choose one of {sorted(ESTIMATORS)}")
    if ESTIMATORS[estimator][0] == "reinforce" and "lola" in (rule1, rule2):
        raise ValueError(f"estimator {estimator!r} is first-order; LOLA needs 'lola_pg' or "
                         "'dice' (or their _baseline variants)")
    steps, delta, rng, t1, t2 = _setup(game, runs, steps, delta, seed, init_std, theta1, theta2)
    batch = check_positive_int(batch, "batch")
    horizon = check_positive_int(horizon, "horizon")
    eta = check_real(eta, "eta")
    runs = t1.shape[0]
    T1, T2 = np.empty((steps + 1, runs, 5)), np.empty((steps + 1, runs, 5))
    T1[0], T2[0] = t1, t2
    quantity = {"nl": "grad", "lola": "lola"}
    for s in range(steps):
        g1, g2 = np.empty_like(t1), np.empty_like(t2)
        for sl in _chunks(runs, batch, horizon):
            ro = rollout(game, t1[sl], t2[sl], batch, horizon, seed=rng, termination=termination)
            g1[sl] = estimate(ro, quantity[rule1], estimator, 1, eta=eta,
                              independent=independent).value
            g2[sl] = estimate(ro, quantity[rule2], estimator, 2, eta=eta,
                              independent=independent).value
        t1, t2 = t1 + delta * g1, t2 + delta * g2
        T1[s + 1], T2[s + 1] = t1, t2
    settings = dict(delta=delta, eta=eta, batch=batch, horizon=horizon, estimator=estimator,
                    termination=termination, independent=independent)
    return _finish(game, T1, T2, (rule1, rule2), settings)
