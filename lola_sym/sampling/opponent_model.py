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

**LOLA-OM** (:func:`train_om`): exact LOLA (or any registered rule, with its
hyper-parameters) where each agent replaces its opponent's parameters by the
estimate from a fresh seeded batch of rollouts at every step. **LOLA-PG /
NL-PG** (:func:`train_pg`): every gradient, Hessian and LOLA correction
estimated from rollouts (:mod:`lola_sym.sampling.estimators`). Both record the exact
average reward per step :math:`(1 - \gamma) V` of the parameters and the
tit-for-tat criterion of :func:`lola_sym.report.reproduce.tft_like`, and detect
divergence as :func:`lola_sym.dynamics.training.train` does.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.3, 4.4 and Table 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv, expit, ndtri   # Beta and normal quantiles

from lola_sym._validation import as_params, check_positive_int, check_real, check_result_size
from lola_sym.sampling.estimators import (ESTIMATOR_BYTES_PER_STEP, ESTIMATORS, _check_estimator,
                                 estimate)
from lola_sym.field import update_field
from lola_sym.games.layout import STATES, _check_agent
from lola_sym.games.outcomes import tft_like
from lola_sym.sampling.rollouts import (MAX_EPISODE_STEPS, MAX_HORIZON, TERMINATIONS, Rollouts,
                               _check_game, rollout)
from lola_sym.rules import get_rule, rule_names
from lola_sym.dynamics.training import DivergenceError, as_generator

__all__ = ["OpponentModel", "fit_policy", "model_opponent", "SampleTrajectory", "train_om",
           "train_pg", "PRIOR", "PG_RULES"]

#: Default pseudo-counts (cooperations, defections) added in every state: Beta(1, 1).
PRIOR = (1.0, 1.0)
#: Rules :func:`train_pg` can estimate from samples: those tagged ``"policy_gradient"``.
PG_RULES = rule_names("policy_gradient")
#: Episode-steps simulated at once (runs are chunked to stay below).
CHUNK_STEPS = 2_000_000
#: Most episode-steps (steps x runs x batch x horizon) one :func:`train_om` or
#: :func:`train_pg` call simulates: at about 1 us each (measured, rollouts plus models or
#: estimators) some 3 hours. A longer experiment continues from the last parameters
#: (``theta1=tr.theta1[-1], theta2=tr.theta2[-1]``) in further calls.
MAX_TRAINING_EPISODE_STEPS = 10 ** 10


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
        """Estimated probability of cooperating in each state, :math:`(c + a) / (n + a + b)`."""
        return expit(self.theta)

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
        if not isinstance(method, str) or method not in ("beta", "wald"):
            raise ValueError(f"unknown interval method {method!r}; choose 'beta' or 'wald'")
        a, b = self.prior
        coop = self.cooperations + a                   # pseudo-counted cooperations ...
        defect = self.visits - self.cooperations + b   # ... and defections
        if method == "wald":
            # se of the logit: 1 / sqrt((n + a + b) p (1 - p)) = sqrt(1 / coop + 1 / defect)
            with np.errstate(over="ignore", divide="ignore"):
                half = ndtri(0.5 + level / 2) * np.sqrt(1 / coop + 1 / defect)
            lo, hi = self.theta - half, self.theta + half
        else:
            if a <= 0 or b <= 0:
                raise ValueError("beta intervals need positive pseudo-counts; use prior=(1, 1) "
                                 "or method='wald'")
            q = (1 - level) / 2
            # logit(x) = log(x) - log(1 - x) with 1 - x the complementary quantile of
            # Beta(defect, coop), accurate even when x rounds to 0 or 1
            with np.errstate(divide="ignore"):
                lo = np.log(betaincinv(coop, defect, q)) - np.log(betaincinv(defect, coop, 1 - q))
                hi = np.log(betaincinv(coop, defect, 1 - q)) - np.log(betaincinv(defect, coop, q))
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError(f"the {method} interval of the logits is beyond double precision at "
                             f"pseudo-counts prior={self.prior}; use pseudo-counts nearer 1"
                             + (" or method='wald'" if method == "beta" else ""))
        return lo, hi


def _check_prior(prior):
    try:
        a, b = prior
    except (TypeError, ValueError):
        raise ValueError(f"prior must be a pair of pseudo-counts (a, b), got {prior!r}") from None
    return (check_real(a, "prior[0]", nonnegative=True),
            check_real(b, "prior[1]", nonnegative=True))


def _from_counts(coop, visits, prior) -> OpponentModel:
    a, b = prior
    num, fail = coop + a, visits - coop + b          # never n + a + b: it may overflow
    degenerate = (num == 0) | (fail == 0)
    if np.any(degenerate):
        lead_axes = tuple(range(degenerate.ndim - 1))
        unseen = np.any(degenerate & (visits == 0), axis=lead_axes)
        bad = np.any(degenerate, axis=lead_axes)
        names = ", ".join(f"{STATES[k]} ({'never visited' if unseen[k] else 'one action only'})"
                          for k in range(5) if bad[k])
        raise ValueError(f"infinite maximum-likelihood logits in states {names}; "
                         f"use positive pseudo-counts, e.g. prior={PRIOR}")
    return OpponentModel(np.log(num) - np.log(fail), coop, visits, prior)


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
    for name, arr, hi, kinds in (("states", st, 4, "iu"), ("actions", ac, 1, "iub")):
        if arr.dtype.kind not in kinds:
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
        if arr.ndim < 1 or arr.size == 0:
            raise ValueError(f"{name} must be a non-empty array of shape (..., batch, T)")
        if arr.min() < 0 or arr.max() > hi:
            raise ValueError(f"{name} must lie in 0..{hi}, got values in {arr.min()}..{arr.max()}")
    if st.shape != ac.shape:
        raise ValueError(f"states and actions must have the same shape; got {st.shape} and {ac.shape}")
    m = np.ones(st.shape, dtype=bool) if mask is None else np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"mask must hold booleans (True = use the step), got dtype {m.dtype}")
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
        raise TypeError(f"expected Rollouts from lola_sym.sampling.rollouts.rollout, got {type(ro).__name__}")
    _check_agent(agent)
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
        Learning rate, batch, horizon, estimator, prior, hyper-parameters, ...
    diverged_at : ndarray of int, (runs,)
        First update at which a run diverged (``on_divergence="mark"``), ``-1``
        if it never did; a diverged run keeps its last finite parameters.
    """

    game: object
    theta1: np.ndarray
    theta2: np.ndarray
    reward: np.ndarray
    rules: tuple
    settings: dict
    model1: np.ndarray | None = None
    model2: np.ndarray | None = None
    diverged_at: np.ndarray | None = None

    @property
    def diverged(self) -> np.ndarray:
        """Boolean mask of diverged runs."""
        if self.diverged_at is None:
            return np.zeros(self.runs, dtype=bool)
        return self.diverged_at >= 0

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
        """TFT criterion of :func:`lola_sym.report.reproduce.tft_like`, (steps + 1, runs, 2)."""
        return np.stack([tft_like(self.theta1), tft_like(self.theta2)], axis=-1)

    @property
    def tft_percent(self) -> float:
        """Percentage of TFT-like final policies over both agents of every run."""
        return 100.0 * float(self.tft[-1].mean())


def _setup(game, runs, steps, delta, seed, init_std, theta1, theta2, batch, horizon,
           on_divergence, max_abs, what):
    """Validated sizes and the initial parameters (drawn as lola_sym.dynamics.training.train draws them)."""
    _check_game(game)
    runs = check_positive_int(runs, "runs")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    steps = int(steps)
    delta = check_real(delta, "delta", positive=True)
    batch = check_positive_int(batch, "batch")
    horizon = check_positive_int(horizon, "horizon")
    max_abs = check_real(max_abs, "max_abs", positive=True)
    if not isinstance(on_divergence, str) or on_divergence not in ("raise", "mark"):
        raise ValueError(f"on_divergence must be 'raise' or 'mark', got {on_divergence!r}")
    rng = as_generator(seed)
    if theta1 is None and theta2 is None:
        std = check_real(init_std, "init_std", nonnegative=True)
        check_result_size(2 * 8 * 5 * runs, f"{what}(runs={runs:,})", "use fewer runs")
        t1, t2 = rng.normal(0.0, std, (runs, 5)), rng.normal(0.0, std, (runs, 5))
        source = f"init_std={std:g} drew initial parameters"
    elif theta1 is not None and theta2 is not None:
        t1 = np.array(as_params(theta1, "theta1"), copy=True)
        t2 = np.array(as_params(theta2, "theta2"), copy=True)
        if t1.ndim != 2 or t1.shape != t2.shape:
            raise ValueError(f"theta1 and theta2 must both have shape (runs, 5); "
                             f"got {t1.shape} and {t2.shape}")
        source = "the initial theta1 and theta2 have entries"
    else:
        raise ValueError("give both theta1 and theta2, or neither (random initialisation)")
    if not (np.all(_ok(t1, max_abs)) and np.all(_ok(t2, max_abs))):
        raise ValueError(f"{source} beyond max_abs={max_abs:g} (or non-finite), where training "
                         f"counts a run as diverged; use smaller initial parameters or a larger "
                         f"max_abs")
    runs = t1.shape[0]
    if horizon > MAX_HORIZON or batch * horizon > MAX_EPISODE_STEPS:
        raise ValueError(f"{what}: one run's batch={batch:,} episodes of horizon={horizon:,} "
                         f"steps exceed what one rollout simulates ({MAX_EPISODE_STEPS:.0e} "
                         f"episode-steps, {MAX_HORIZON:,} steps); use a smaller batch or horizon")
    total = steps * runs * batch * horizon
    if total > MAX_TRAINING_EPISODE_STEPS:
        raise ValueError(f"{what} would simulate {total:.3g} episode-steps (steps x runs x batch "
                         f"x horizon; limit {MAX_TRAINING_EPISODE_STEPS:.0e}, about 3 hours); "
                         f"use fewer steps, runs or episodes, or continue from the last "
                         f"parameters in further calls")
    # trajectories, rewards and opponent models of every step
    check_result_size(8 * (steps + 1) * runs * (5 + 5 + 2 + 5 + 5),
                      f"{what}(steps={steps:,}, runs={runs:,})", "use fewer steps or runs")
    return steps, delta, batch, horizon, max_abs, rng, t1, t2


def _chunks(runs, batch, horizon):
    size = max(1, CHUNK_STEPS // (batch * horizon))
    return [slice(i, min(i + size, runs)) for i in range(0, runs, size)]


def _ok(x, max_abs):
    return np.all(np.isfinite(x) & (np.abs(x) <= max_abs), axis=-1)


class _Divergence:
    """Divergence bookkeeping shared by :func:`train_om` and :func:`train_pg` (as in
    :func:`lola_sym.dynamics.training.train`): a run whose parameters leave ``[-max_abs, max_abs]``
    or stop being finite is reported, or frozen and recorded."""

    def __init__(self, runs, steps, max_abs, on_divergence, label):
        self.steps, self.max_abs, self.mode, self.label = steps, max_abs, on_divergence, label
        self.at = np.full(runs, -1, dtype=int)
        self.alive = np.ones(runs, dtype=bool)

    def step(self, s, t1, t2, g1, g2, delta, undefined=""):
        """Parameters after update ``s + 1`` (diverged runs keep ``t1``, ``t2``)."""
        with np.errstate(over="ignore", invalid="ignore"):   # detected just below
            n1, n2 = t1 + delta * g1, t2 + delta * g2
        bad = self.alive & ~(_ok(n1, self.max_abs) & _ok(n2, self.max_abs))
        if bad.any():
            idx = np.flatnonzero(bad)
            if self.mode == "raise":
                nan_dir = ~(np.isfinite(g1[idx]).all(-1) & np.isfinite(g2[idx]).all(-1))
                why = (f"the update direction was not finite ({undefined})"
                       if nan_dir.any() and undefined else
                       f"parameters became non-finite or exceeded max_abs={self.max_abs:g}; "
                       f"lower delta")
                raise DivergenceError(
                    f"training diverged at update {s + 1} of {self.steps} in run(s) "
                    f"{idx[:10].tolist()} ({self.label}, delta={delta:g}): {why}; or pass "
                    f"on_divergence='mark'")
            self.at[idx] = s + 1
            self.alive &= ~bad
        return (np.where(self.alive[:, None], n1, t1), np.where(self.alive[:, None], n2, t2))


def _finish(game, T1, T2, rules, settings, diverged_at, M1=None, M2=None):
    reward = game.average_reward(T1, T2)
    return SampleTrajectory(game, T1, T2, reward, rules, settings, M1, M2, diverged_at)


def _rule_hyper(rule1, rule2, hyper, hyper1, hyper2) -> tuple:
    """Each rule's hyper-parameters and options: shared ``hyper`` go to the rules that take
    them (an error if neither does), ``hyper1`` / ``hyper2`` to one agent's rule."""
    rules = (get_rule(rule1), get_rule(rule2))
    takes = [set(r.hyper) | set(r.options) for r in rules]
    for name in hyper:
        if name not in takes[0] | takes[1]:
            if rules[0] is rules[1]:
                raise ValueError(f"rule {rules[0].name!r} has no hyper-parameter {name!r}; it "
                                 f"takes {sorted(takes[0])}")
            raise ValueError(f"neither {rules[0].name!r} nor {rules[1].name!r} takes a "
                             f"hyper-parameter {name!r}; they take {sorted(takes[0] | takes[1])}")
    out = []
    for i, (rule, own) in enumerate(zip(rules, (hyper1, hyper2)), start=1):
        if own is not None and not isinstance(own, dict):
            raise TypeError(f"hyper{i} must be a dict, got {type(own).__name__}")
        rule.accepted(own or {}, strict=True,
                      refusal=f"hyper{i} names {{name!r}}, which rule {{rule!r}} (agent {i}) "
                              f"does not take; it takes {{takes}}")
        out.append(rule.accepted({**hyper, **(own or {})}, strict=False))
    return tuple(out)


def train_om(game, rule1: str = "lola", rule2: str | None = None, *, runs: int = 10,
             steps: int = 50, delta: float = 1.0, batch: int = 1000, horizon: int = 50,
             prior=PRIOR, seed=0, init_std: float = 1.0, theta1=None, theta2=None,
             hyper1: dict | None = None, hyper2: dict | None = None,
             on_divergence: str = "raise", max_abs: float = 1e4, **hyper) -> SampleTrajectory:
    r"""Exact learning rules where each agent uses its estimate of the opponent (LOLA-OM, Sec. 4.4).

    At every step both agents play ``batch`` episodes of ``horizon`` steps per
    run; agent 1 updates with the exact rule evaluated at
    :math:`(\theta_1, \hat\theta_2)` and agent 2 at :math:`(\hat\theta_1, \theta_2)`,
    the estimates coming from :func:`model_opponent` on those episodes.
    Initial parameters are drawn exactly as :func:`lola_sym.dynamics.training.train`
    draws them with the same seed.

    Parameters
    ----------
    hyper1, hyper2, **hyper
        Hyper-parameters and structural options of the rules, as in
        :func:`lola_sym.dynamics.training.train`: ``**hyper`` (e.g. ``eta=0.5``) go to
        every rule that takes them and must be taken by at least one; values
        are checked by each rule (e.g. a negative ``eta`` is refused).
    on_divergence : {"raise", "mark"}
        Raise :class:`~lola_sym.dynamics.training.DivergenceError` naming the runs and
        update, or freeze the diverged runs and record them in ``diverged_at``.
    max_abs : float
        A parameter beyond this magnitude (or non-finite) counts as diverged.

    Examples
    --------
    >>> from lola_sym import games
    >>> tr = train_om(games.ipd(), runs=2, steps=3, batch=50, horizon=10, seed=0)
    >>> tr.theta1.shape, tr.model1.shape, tr.reward.shape
    ((4, 2, 5), (3, 2, 5), (4, 2, 2))
    >>> train_om(games.ipd(), "nl", eta=0.5)
    Traceback (most recent call last):
    ...
    ValueError: rule 'nl' has no hyper-parameter 'eta'; it takes []
    """
    rule2 = rule1 if rule2 is None else rule2
    h1, h2 = _rule_hyper(rule1, rule2, hyper, hyper1, hyper2)
    steps, delta, batch, horizon, max_abs, rng, t1, t2 = _setup(
        game, runs, steps, delta, seed, init_std, theta1, theta2, batch, horizon,
        on_divergence, max_abs, "train_om")
    prior = _check_prior(prior)
    f1 = update_field(game, rule1, **h1)
    f2 = f1 if (rule2 == rule1 and h1 == h2) else update_field(game, rule2, **h2)
    runs = t1.shape[0]
    T1, T2 = np.empty((steps + 1, runs, 5)), np.empty((steps + 1, runs, 5))
    M1, M2 = np.empty((steps, runs, 5)), np.empty((steps, runs, 5))
    T1[0], T2[0] = t1, t2
    names = (f1.rule.name + "-om", f2.rule.name + "-om")
    watch = _Divergence(runs, steps, max_abs, on_divergence, f"{names[0]} vs {names[1]}")
    for s in range(steps):
        for sl in _chunks(runs, batch, horizon):
            ro = rollout(game, t1[sl], t2[sl], batch, horizon, seed=rng)
            M1[s, sl] = model_opponent(ro, 2, prior).theta
            M2[s, sl] = model_opponent(ro, 1, prior).theta
        g1 = f1(t1, M1[s], failed="nan")[0]
        g2 = f2(M2[s], t2, failed="nan")[1]
        t1, t2 = watch.step(s, t1, t2, g1, g2, delta, f1.failure_reason())
        T1[s + 1], T2[s + 1] = t1, t2
    settings = dict(delta=delta, batch=batch, horizon=horizon, prior=prior,
                    hyper=({**f1.hyper, **f1.options}, {**f2.hyper, **f2.options}),
                    max_abs=max_abs, on_divergence=on_divergence)
    return _finish(game, T1, T2, names, settings, watch.at, M1, M2)


def train_pg(game, rule1: str = "lola", rule2: str | None = None, *, runs: int = 10,
             steps: int = 100, delta: float = 1.0, eta: float | None = None, batch: int = 500,
             horizon: int = 100, estimator: str = "dice_baseline", termination: str = "fixed",
             independent: bool = False, seed=0, init_std: float = 1.0, theta1=None,
             theta2=None, on_divergence: str = "raise", max_abs: float = 1e4) -> SampleTrajectory:
    r"""LOLA-PG / NL-PG: the learning rules with every derivative estimated from rollouts.

    Agent ``i`` updates :math:`\theta_i \leftarrow \theta_i + \delta \hat g_i` with
    :math:`\hat g_i = \widehat{\nabla_i V_i}` (NL) or
    :math:`\widehat{\nabla_i V_i} + \eta\, \widehat{\nabla_i\nabla_j V_j}\,
    \widehat{\nabla_j V_i}` (LOLA), estimated by ``estimator`` (see
    :data:`lola_sym.sampling.estimators.ESTIMATORS`) from ``batch`` fresh episodes per
    run and step. ``eta`` is LOLA's look-ahead (default the LOLA rule's, 1),
    checked by the LOLA rule; giving it when neither agent is LOLA is an error.
    Divergence is detected as in :func:`train_om` (``on_divergence``,
    ``max_abs``).

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
        if not isinstance(r, str) or r not in PG_RULES:
            raise ValueError(f"train_pg estimates the rules {list(PG_RULES)}, got {r!r}")
    _check_estimator(estimator)
    if ESTIMATORS[estimator][0] == "reinforce" and "lola" in (rule1, rule2):
        raise ValueError(f"estimator {estimator!r} is first-order; LOLA needs 'lola_pg' or "
                         "'dice' (or their _baseline variants)")
    if "lola" in (rule1, rule2):
        eta = get_rule("lola").hyper_values({} if eta is None else {"eta": eta})["eta"]
    elif eta is not None:
        get_rule(rule1).hyper_values({"eta": eta})       # refuses it, naming what nl takes
    if not isinstance(termination, str) or termination not in TERMINATIONS:
        raise ValueError(f"unknown termination {termination!r}; choose one of {TERMINATIONS}")
    if not isinstance(independent, (bool, np.bool_)):
        raise TypeError(f"independent must be a bool, got {type(independent).__name__}")
    steps, delta, batch, horizon, max_abs, rng, t1, t2 = _setup(
        game, runs, steps, delta, seed, init_std, theta1, theta2, batch, horizon,
        on_divergence, max_abs, "train_pg")
    check_result_size(min(t1.shape[0], max(1, CHUNK_STEPS // (batch * horizon))) * batch
                      * horizon * ESTIMATOR_BYTES_PER_STEP,
                      f"train_pg's estimates from batch={batch:,} episodes of {horizon:,} steps",
                      "use a smaller batch or horizon")
    runs = t1.shape[0]
    T1, T2 = np.empty((steps + 1, runs, 5)), np.empty((steps + 1, runs, 5))
    T1[0], T2[0] = t1, t2
    quantity = {"nl": "grad", "lola": "lola"}
    lola_eta = 1.0 if eta is None else eta
    watch = _Divergence(runs, steps, max_abs, on_divergence, f"{rule1} vs {rule2}")
    for s in range(steps):
        g1, g2 = np.empty_like(t1), np.empty_like(t2)
        for sl in _chunks(runs, batch, horizon):
            ro = rollout(game, t1[sl], t2[sl], batch, horizon, seed=rng, termination=termination)
            g1[sl] = estimate(ro, quantity[rule1], estimator, 1, eta=lola_eta,
                              independent=independent).value
            g2[sl] = estimate(ro, quantity[rule2], estimator, 2, eta=lola_eta,
                              independent=independent).value
        t1, t2 = watch.step(s, t1, t2, g1, g2, delta)
        T1[s + 1], T2[s + 1] = t1, t2
    settings = dict(delta=delta, eta=eta, batch=batch, horizon=horizon, estimator=estimator,
                    termination=termination, independent=independent, max_abs=max_abs,
                    on_divergence=on_divergence)
    return _finish(game, T1, T2, (rule1, rule2), settings, watch.at)
