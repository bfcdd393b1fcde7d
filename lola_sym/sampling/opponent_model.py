r"""Opponent modelling and sample-based LOLA training (LOLA-OM, LOLA-PG, NL-PG).

**Opponent modelling** (Sec. 4.4 of [1]_): the maximum-likelihood policy of a
player from its observed actions, :func:`fit_policy` and :func:`model_opponent`
(defined in :mod:`lola_sym.sampling.policy_fit`, re-exported here).

**LOLA-OM** (:func:`train_om`): exact LOLA (or any registered rule, with its
hyper-parameters) where each agent replaces its opponents' parameters by the
estimates from a fresh seeded batch of rollouts at every step. **LOLA-PG /
NL-PG** (:func:`train_pg`): every gradient, Hessian and LOLA correction
estimated from rollouts (:mod:`lola_sym.sampling.estimators`). Both run on
every numeric repeated game, any number of players (with a rule defined for
them, e.g. the n-player LOLA of Letcher et al. 2019), record the exact average
reward per step :math:`(1 - \gamma) V` of the parameters (and, for 2x2 memory-1
games, the tit-for-tat criterion of :func:`lola_sym.games.outcomes.tft_like`),
and detect divergence as :func:`lola_sym.dynamics.training.train` does.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.3, 4.4 and Table 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym._validation import as_params, check_positive_int, check_real, check_result_size
from lola_sym.dynamics.training import DivergenceError, as_generator
from lola_sym.field import update_field
from lola_sym.games.iterated import IteratedGame
from lola_sym.games.outcomes import tft_like
from lola_sym.games.repeated import RepeatedGame
from lola_sym.rules import get_rule, rule_names
from lola_sym.sampling.estimators import (ESTIMATORS, _check_estimator, estimate,
                                          estimator_bytes_per_step)
from lola_sym.sampling.markov import chain_shape
from lola_sym.sampling.policy_fit import (PRIOR, OpponentModel, _check_prior, fit_policy,
                                          model_opponent)
from lola_sym.sampling.rollouts import MAX_EPISODE_STEPS, MAX_HORIZON, TERMINATIONS, rollout

__all__ = ["OpponentModel", "fit_policy", "model_opponent", "SampleTrajectory", "train_om",
           "train_pg", "PRIOR", "PG_RULES"]

#: Rules :func:`train_pg` can estimate from samples: those tagged ``"policy_gradient"``.
PG_RULES = rule_names("policy_gradient")
#: Episode-steps simulated at once (runs are chunked to stay below).
CHUNK_STEPS = 2_000_000
#: Most episode-steps (steps x runs x batch x horizon) one :func:`train_om` or
#: :func:`train_pg` call simulates: at about 1 us each (measured, rollouts plus models or
#: estimators) some 3 hours. A longer experiment continues from the last parameters
#: (``thetas=[t[-1] for t in tr.thetas]``) in further calls.
MAX_TRAINING_EPISODE_STEPS = 10 ** 10


@dataclass(frozen=True)
class SampleTrajectory:
    r"""The result of :func:`train_om` or :func:`train_pg`.

    Attributes
    ----------
    thetas : tuple of ndarray, (steps + 1, runs, d_i) each
        Parameters before each update and after the last one (``theta1``,
        ``theta2`` for two players).
    reward : ndarray, (steps + 1, runs, n)
        Exact average reward per step :math:`(1 - \gamma) V` of the parameters.
    models : tuple of ndarray or None, (steps, runs, d_i) each
        For opponent modelling: the estimate of player ``i``'s parameters its
        opponents used at each update (``model1`` is agent 1's estimate of
        :math:`\theta_2`, ``model2`` agent 2's of :math:`\theta_1`).
    rules : tuple of str
    settings : dict
        Learning rate, batch, horizon, estimator, prior, hyper-parameters, ...
    diverged_at : ndarray of int, (runs,)
        First update at which a run diverged (``on_divergence="mark"``), ``-1``
        if it never did; a diverged run keeps its last finite parameters.
    """

    game: IteratedGame | RepeatedGame
    thetas: tuple
    reward: np.ndarray
    rules: tuple
    settings: dict
    models: tuple | None = None
    diverged_at: np.ndarray | None = None

    def _two(self, what, i):
        if len(self.thetas) != 2:
            raise AttributeError(f"{what} is for two-player games; this one has "
                                 f"{len(self.thetas)} agents: use "
                                 + ("thetas" if what.startswith("theta") else "models")
                                 + f"[{i}]")

    @property
    def theta1(self) -> np.ndarray:
        """Agent 1's parameters, (steps + 1, runs, d_1) (two-player games)."""
        self._two("theta1", 0)
        return self.thetas[0]

    @property
    def theta2(self) -> np.ndarray:
        """Agent 2's parameters, (steps + 1, runs, d_2) (two-player games)."""
        self._two("theta2", 1)
        return self.thetas[1]

    @property
    def model1(self) -> np.ndarray | None:
        """Agent 1's estimate of :math:`\\theta_2` at each update (two-player games)."""
        self._two("model1", 1)
        return None if self.models is None else self.models[1]

    @property
    def model2(self) -> np.ndarray | None:
        """Agent 2's estimate of :math:`\\theta_1` at each update (two-player games)."""
        self._two("model2", 0)
        return None if self.models is None else self.models[0]

    @property
    def diverged(self) -> np.ndarray:
        """Boolean mask of diverged runs."""
        if self.diverged_at is None:
            return np.zeros(self.runs, dtype=bool)
        return self.diverged_at >= 0

    @property
    def runs(self) -> int:
        return self.thetas[0].shape[1]

    @property
    def steps(self) -> int:
        return self.thetas[0].shape[0] - 1

    @property
    def final_reward(self) -> np.ndarray:
        """Average reward per step at the end, (runs, n)."""
        return self.reward[-1]

    @property
    def tft(self) -> np.ndarray:
        """TFT criterion of :func:`lola_sym.games.outcomes.tft_like`, (steps + 1, runs, 2).

        Defined for the 2x2 memory-1 games only (their five logits).
        """
        if not chain_shape(self.game).is_two_by_two:
            raise ValueError(f"the tit-for-tat criterion is defined for 2x2 memory-1 games; "
                             f"{self.game.name} is not one")
        return np.stack([tft_like(t) for t in self.thetas], axis=-1)

    @property
    def tft_percent(self) -> float:
        """Percentage of TFT-like final policies over both agents of every run."""
        return 100.0 * float(self.tft[-1].mean())


def _agent_rules(game, rule1, rule2, rules) -> tuple:
    """One rule name per agent: ``rules``, or ``(rule1, rule2)`` / ``rule1`` for everyone."""
    n = chain_shape(game).n
    if rules is not None:
        if rule2 is not None:
            raise ValueError("give rules=[...] (one per agent) or rule1/rule2, not both")
        if isinstance(rules, str) or not hasattr(rules, "__len__") or len(rules) != n:
            raise ValueError(f"rules must be a sequence of {n} rule names, one per agent, got "
                             f"{rules!r}")
        return tuple(rules)
    if n == 2:
        return (rule1, rule1 if rule2 is None else rule2)
    if rule2 is not None:
        raise ValueError(f"{game.name} has {n} players: give rules=[...] (one per agent), or "
                         f"rule1 alone for every agent")
    return (rule1,) * n


def _setup(game, runs, steps, delta, seed, init_std, thetas, batch, horizon,
           on_divergence, max_abs, what):
    """Validated sizes and the initial parameters (drawn as lola_sym.dynamics.training.train draws them)."""
    sh = chain_shape(game)
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
    names = " and ".join(f"theta{i + 1}" for i in range(sh.n))
    if all(t is None for t in thetas):
        std = check_real(init_std, "init_std", nonnegative=True)
        check_result_size(8 * sh.D * runs, f"{what}(runs={runs:,})", "use fewer runs")
        ts = [rng.normal(0.0, std, (runs, d)) for d in sh.dims]
        source = f"init_std={std:g} drew initial parameters"
    elif all(t is not None for t in thetas):
        ts = [np.array(as_params(t, f"theta{i + 1}", d), copy=True)
              for i, (t, d) in enumerate(zip(thetas, sh.dims))]
        if any(t.ndim != 2 or t.shape[0] != ts[0].shape[0] for t in ts):
            raise ValueError(f"{names} must have shapes "
                             + " and ".join(f"(runs, {d})" for d in sh.dims)
                             + f"; got {' and '.join(str(t.shape) for t in ts)}")
        source = f"the initial {names} have entries"
    else:
        raise ValueError(f"give {'both ' if sh.n == 2 else 'all of '}{names}, or neither "
                         f"(random initialisation)")
    if not all(np.all(_ok(t, max_abs)) for t in ts):
        raise ValueError(f"{source} beyond max_abs={max_abs:g} (or non-finite), where training "
                         f"counts a run as diverged; use smaller initial parameters or a larger "
                         f"max_abs")
    runs = ts[0].shape[0]
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
    check_result_size(8 * (steps + 1) * runs * (2 * sh.D + sh.n),
                      f"{what}(steps={steps:,}, runs={runs:,})", "use fewer steps or runs")
    return steps, delta, batch, horizon, max_abs, rng, ts


def _initial(theta1, theta2, thetas, n) -> list:
    if thetas is not None:
        if theta1 is not None or theta2 is not None:
            raise ValueError("give thetas=[...] or theta1/theta2, not both")
        if isinstance(thetas, (str, bytes)) or not hasattr(thetas, "__len__") or len(thetas) != n:
            raise ValueError(f"thetas must give {n} arrays of initial parameters, one per agent")
        return list(thetas)
    if n != 2 and (theta1 is not None or theta2 is not None):
        raise ValueError(f"theta1/theta2 are for two-player games; give thetas=[...] ({n} arrays)")
    return [theta1, theta2] if n == 2 else [None] * n


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

    def step(self, s, ts, gs, delta, undefined=""):
        """Parameters after update ``s + 1`` (diverged runs keep ``ts``)."""
        with np.errstate(over="ignore", invalid="ignore"):   # detected just below
            new = [t + delta * g for t, g in zip(ts, gs)]
        fine = np.logical_and.reduce([_ok(x, self.max_abs) for x in new])
        bad = self.alive & ~fine
        if bad.any():
            idx = np.flatnonzero(bad)
            if self.mode == "raise":
                nan_dir = ~np.logical_and.reduce([np.isfinite(g[idx]).all(-1) for g in gs])
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
        return [np.where(self.alive[:, None], x, t) for x, t in zip(new, ts)]


def _finish(game, Ts, rules, settings, diverged_at, models=None):
    reward = game.average_reward(*Ts)
    return SampleTrajectory(game, tuple(Ts), reward, rules, settings,
                            None if models is None else tuple(models), diverged_at)


def _rule_hyper(names, hyper, hyper1, hyper2) -> tuple:
    """Each rule's hyper-parameters and options: shared ``hyper`` go to the rules that take
    them (an error if none does), ``hyper1`` / ``hyper2`` to one agent's rule."""
    rules = [get_rule(r) for r in names]
    takes = [set(r.hyper) | set(r.options) for r in rules]
    every = set().union(*takes)
    distinct = list(dict.fromkeys(r.name for r in rules))
    for name in hyper:
        if name not in every:
            if len(distinct) == 1:
                raise ValueError(f"rule {distinct[0]!r} has no hyper-parameter {name!r}; it "
                                 f"takes {sorted(takes[0])}")
            which = (f"neither {distinct[0]!r} nor {distinct[1]!r}" if len(distinct) == 2 else
                     f"none of the rules {distinct}")
            raise ValueError(f"{which} takes a hyper-parameter {name!r}; they take "
                             f"{sorted(every)}")
    own = [hyper1, hyper2] + [None] * (len(rules) - 2)
    if len(rules) != 2 and (hyper1 is not None or hyper2 is not None):
        raise ValueError("hyper1/hyper2 are for two-player games; give shared keywords")
    out = []
    for i, (rule, mine) in enumerate(zip(rules, own), start=1):
        if mine is not None and not isinstance(mine, dict):
            raise TypeError(f"hyper{i} must be a dict, got {type(mine).__name__}")
        rule.accepted(mine or {}, strict=True,
                      refusal=f"hyper{i} names {{name!r}}, which rule {{rule!r}} (agent {i}) "
                              f"does not take; it takes {{takes}}")
        out.append(rule.accepted({**hyper, **(mine or {})}, strict=False))
    return tuple(out)


def train_om(game, rule1: str = "lola", rule2: str | None = None, *, rules=None,
             runs: int = 10, steps: int = 50, delta: float = 1.0, batch: int = 1000,
             horizon: int = 50, prior=None, seed=0, init_std: float = 1.0, theta1=None,
             theta2=None, thetas=None, hyper1: dict | None = None, hyper2: dict | None = None,
             on_divergence: str = "raise", max_abs: float = 1e4, **hyper) -> SampleTrajectory:
    r"""Exact learning rules where each agent uses its estimates of the opponents (LOLA-OM, Sec. 4.4).

    At every step all agents play ``batch`` episodes of ``horizon`` steps per
    run; agent ``i`` updates with the exact rule evaluated at its own
    parameters and the estimates :math:`\hat\theta_j` of the others (for two
    players: agent 1 at :math:`(\theta_1, \hat\theta_2)`, agent 2 at
    :math:`(\hat\theta_1, \theta_2)`), the estimates coming from
    :func:`model_opponent` on those episodes. Initial parameters are drawn
    exactly as :func:`lola_sym.dynamics.training.train` draws them with the
    same seed.

    Parameters
    ----------
    rule1, rule2, rules
        The agents' rules: ``rule1`` and ``rule2`` (default ``rule1``) for two
        players, ``rule1`` for every agent of more, or ``rules=[...]`` one per agent.
    prior : sequence of float, optional
        Pseudo-counts of the opponent models (:func:`fit_policy`; default one per action).
    theta1, theta2, thetas : array_like, optional
        Initial parameters ``(runs, d_i)`` (``thetas`` for any number of players).
    hyper1, hyper2, **hyper
        Hyper-parameters and structural options of the rules, as in
        :func:`lola_sym.dynamics.training.train`: ``**hyper`` (e.g. ``eta=0.5``) go to
        every rule that takes them and must be taken by at least one; values
        are checked by each rule (e.g. a negative ``eta`` is refused).
        ``hyper1``/``hyper2``: one agent's, two-player games.
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
    names = _agent_rules(game, rule1, rule2, rules)
    hs = _rule_hyper(names, hyper, hyper1, hyper2)
    n = len(names)
    steps, delta, batch, horizon, max_abs, rng, ts = _setup(
        game, runs, steps, delta, seed, init_std, _initial(theta1, theta2, thetas, n), batch,
        horizon, on_divergence, max_abs, "train_om")
    sh = chain_shape(game)
    priors = [_check_prior(prior, k) for k in sh.actions]
    fields = {}
    for name, h in zip(names, hs):
        key = (name, tuple(sorted(h.items())))
        if key not in fields:
            fields[key] = update_field(game, name, **h)
    fs = [fields[(name, tuple(sorted(h.items())))] for name, h in zip(names, hs)]
    runs = ts[0].shape[0]
    T = [np.empty((steps + 1, runs, d)) for d in sh.dims]
    M = [np.empty((steps, runs, d)) for d in sh.dims]
    for Ti, t in zip(T, ts):
        Ti[0] = t
    rule_names_ = tuple(f.rule.name + "-om" for f in fs)
    watch = _Divergence(runs, steps, max_abs, on_divergence, " vs ".join(rule_names_))
    for s in range(steps):
        for sl in _chunks(runs, batch, horizon):
            ro = rollout(game, *[t[sl] for t in ts], batch, horizon, seed=rng)
            for j in range(n):
                M[j][s, sl] = model_opponent(ro, j + 1, priors[j]).theta
        gs = [f(*[t if j == i else M[j][s] for j, t in enumerate(ts)], failed="nan")[i]
              for i, f in enumerate(fs)]
        ts = watch.step(s, ts, gs, delta, fs[0].failure_reason())
        for Ti, t in zip(T, ts):
            Ti[s + 1] = t
    settings = dict(delta=delta, batch=batch, horizon=horizon,
                    prior=priors[0] if len(set(priors)) == 1 else tuple(priors),
                    hyper=tuple({**f.hyper, **f.options} for f in fs),
                    max_abs=max_abs, on_divergence=on_divergence)
    return _finish(game, T, rule_names_, settings, watch.at, M)


def train_pg(game, rule1: str = "lola", rule2: str | None = None, *, rules=None,
             runs: int = 10, steps: int = 100, delta: float = 1.0, eta: float | None = None,
             batch: int = 500, horizon: int = 100, estimator: str = "dice_baseline",
             termination: str = "fixed", independent: bool = False, seed=0,
             init_std: float = 1.0, theta1=None, theta2=None, thetas=None,
             on_divergence: str = "raise", max_abs: float = 1e4) -> SampleTrajectory:
    r"""LOLA-PG / NL-PG: the learning rules with every derivative estimated from rollouts.

    Agent ``i`` updates :math:`\theta_i \leftarrow \theta_i + \delta \hat g_i` with
    :math:`\hat g_i = \widehat{\nabla_i V_i}` (NL) or
    :math:`\widehat{\nabla_i V_i} + \eta \sum_{j \ne i} \widehat{\nabla_i\nabla_j V_j}\,
    \widehat{\nabla_j V_i}` (LOLA; one opponent for two players), estimated by
    ``estimator`` (see :data:`lola_sym.sampling.estimators.ESTIMATORS`) from
    ``batch`` fresh episodes per run and step. ``eta`` is LOLA's look-ahead
    (default the LOLA rule's, 1), checked by the LOLA rule; giving it when no
    agent is LOLA is an error. Rules are chosen as in :func:`train_om`.
    Divergence is detected as in :func:`train_om` (``on_divergence``, ``max_abs``).

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
    names = _agent_rules(game, rule1, rule2, rules)
    for r in names:
        if not isinstance(r, str) or r not in PG_RULES:
            raise ValueError(f"train_pg estimates the rules {list(PG_RULES)}, got {r!r}")
    _check_estimator(estimator)
    if ESTIMATORS[estimator][0] == "reinforce" and "lola" in names:
        raise ValueError(f"estimator {estimator!r} is first-order; LOLA needs 'lola_pg' or "
                         "'dice' (or their _baseline variants)")
    if "lola" in names:
        eta = get_rule("lola").hyper_values({} if eta is None else {"eta": eta})["eta"]
    elif eta is not None:
        get_rule(names[0]).hyper_values({"eta": eta})       # refuses it, naming what nl takes
    if not isinstance(termination, str) or termination not in TERMINATIONS:
        raise ValueError(f"unknown termination {termination!r}; choose one of {TERMINATIONS}")
    if not isinstance(independent, (bool, np.bool_)):
        raise TypeError(f"independent must be a bool, got {type(independent).__name__}")
    n = len(names)
    steps, delta, batch, horizon, max_abs, rng, ts = _setup(
        game, runs, steps, delta, seed, init_std, _initial(theta1, theta2, thetas, n), batch,
        horizon, on_divergence, max_abs, "train_pg")
    check_result_size(min(ts[0].shape[0], max(1, CHUNK_STEPS // (batch * horizon))) * batch
                      * horizon * estimator_bytes_per_step(game),
                      f"train_pg's estimates from batch={batch:,} episodes of {horizon:,} steps",
                      "use a smaller batch or horizon")
    sh = chain_shape(game)
    runs = ts[0].shape[0]
    T = [np.empty((steps + 1, runs, d)) for d in sh.dims]
    for Ti, t in zip(T, ts):
        Ti[0] = t
    quantity = {"nl": "grad", "lola": "lola"}
    lola_eta = 1.0 if eta is None else eta
    watch = _Divergence(runs, steps, max_abs, on_divergence, " vs ".join(names))
    for s in range(steps):
        gs = [np.empty_like(t) for t in ts]
        for sl in _chunks(runs, batch, horizon):
            ro = rollout(game, *[t[sl] for t in ts], batch, horizon, seed=rng,
                         termination=termination)
            for i, name in enumerate(names):
                gs[i][sl] = estimate(ro, quantity[name], estimator, i + 1, eta=lola_eta,
                                     independent=independent).value
        ts = watch.step(s, ts, gs, delta)
        for Ti, t in zip(T, ts):
            Ti[s + 1] = t
    settings = dict(delta=delta, eta=eta, batch=batch, horizon=horizon, estimator=estimator,
                    termination=termination, independent=independent, max_abs=max_abs,
                    on_divergence=on_divergence)
    return _finish(game, T, names, settings, watch.at)
