r"""Batched simultaneous training of two learners on a game.

Both agents update from the same old parameters,
:math:`\theta_i \leftarrow \theta_i + \delta g_i(\theta_1, \theta_2)`, for many
independent runs at once (the leading axis of the parameter arrays).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4 and 6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym._validation import (as_params, check_game, check_int, check_positive_int, check_real,
                                  check_result_size)
from lola_sym.field import update_field
from lola_sym.rules import get_rule

__all__ = ["train", "Trajectory", "DivergenceError", "as_generator", "initial_parameters",
           "METHODS"]

#: Ways of turning update directions into steps (see :func:`train`).
METHODS = ("simultaneous", "extragradient", "optimistic")


class DivergenceError(ValueError):
    """Training produced non-finite or runaway parameters; the message says where."""


def as_generator(seed) -> np.random.Generator:
    """A ``numpy.random.Generator`` from an int seed or a Generator (never global state).

    Examples
    --------
    >>> as_generator(0).normal() == as_generator(0).normal()
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or a numpy.random.Generator, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))


@dataclass(frozen=True)
class Trajectory:
    r"""The result of :func:`train`.

    Attributes
    ----------
    theta1, theta2 : ndarray, shape (steps + 1, runs, d_i)
        Parameters before each update and after the last one.
    reward : ndarray, shape (steps + 1, runs, 2)
        Average reward per step :math:`(1 - \gamma) V_i` of both agents
        (the value itself for one-shot games).
    diverged_at : ndarray of int, shape (runs,)
        First update index at which a run diverged, ``-1`` if it never did;
        a diverged run keeps its last finite parameters.
    rules : tuple of str
        The rules of agent 1 and agent 2.
    hyper : tuple of dict
        Their hyper-parameters and structural options.
    delta : float
        The learning rate.
    method : str
        The step method (see :func:`train`).
    """

    game: object
    theta1: np.ndarray
    theta2: np.ndarray
    reward: np.ndarray
    diverged_at: np.ndarray
    rules: tuple
    hyper: tuple
    delta: float
    method: str = "simultaneous"

    @property
    def final_reward(self) -> np.ndarray:
        """Average reward per step at the end, shape (runs, 2)."""
        return self.reward[-1]

    @property
    def diverged(self) -> np.ndarray:
        """Boolean mask of diverged runs."""
        return self.diverged_at >= 0

    @property
    def runs(self) -> int:
        return self.theta1.shape[1]

    @property
    def steps(self) -> int:
        return self.theta1.shape[0] - 1


def _reward_scale(game) -> float:
    gamma = getattr(game, "gamma", None)
    return float(1 - gamma) if gamma is not None else 1.0


def train(game, rule1="lola", rule2=None, *, runs: int | None = None, steps: int = 200,
          delta: float = 1.0, seed=0, init_std: float = 1.0, theta1=None, theta2=None,
          hyper1: dict | None = None, hyper2: dict | None = None,
          on_divergence: str = "raise", max_abs: float = 1e4, method: str = "simultaneous",
          callback=None, **hyper) -> Trajectory:
    r"""Train two learners simultaneously from many initial conditions at once.

    Parameters
    ----------
    game : IteratedGame
    rule1, rule2 : str
        Rules of agent 1 and agent 2 (``rule2`` defaults to ``rule1``).
    runs, steps : int
        Number of independent runs (default 50, or the rows of ``theta1``) and
        of updates.
    delta : float
        Learning rate :math:`\delta`.
    seed : int or numpy.random.Generator
        Source of the initial parameters, :math:`\theta \sim N(0, \text{init\_std}^2)`.
    theta1, theta2 : array_like, optional
        Initial parameters of shape ``(runs, d_i)`` instead of random ones.
    hyper1, hyper2 : dict, optional
        Per-agent hyper-parameters and structural options (e.g. HOLA's
        ``order``); ``**hyper`` applies to both, each rule taking the ones it has.
    on_divergence : {"raise", "mark"}
        Raise :class:`DivergenceError` naming the runs and step, or freeze the
        diverged runs and record them in ``diverged_at``.
    max_abs : float
        A parameter beyond this magnitude (or non-finite) counts as diverged.
    callback : callable, optional
        ``callback(done)`` after each update with the number of updates done
        (e.g. a progress bar).
    method : {"simultaneous", "extragradient", "optimistic"}
        How the directions :math:`g = (g_1, g_2)` of the rules are turned into
        steps. ``"simultaneous"``: :math:`\theta_{t+1} = \theta_t + \delta g(\theta_t)`.
        ``"extragradient"`` (Korpelevich 1976): a trial step
        :math:`\tilde\theta = \theta_t + \delta g(\theta_t)`, then
        :math:`\theta_{t+1} = \theta_t + \delta g(\tilde\theta)`.
        ``"optimistic"`` (optimistic gradient, Daskalakis et al. 2018):
        :math:`\theta_{t+1} = \theta_t + 2\delta g(\theta_t) - \delta g(\theta_{t-1})`,
        with :math:`g(\theta_{-1}) = g(\theta_0)`.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> tr = train(ipd(), "nl", runs=3, steps=5, seed=1)
    >>> tr.theta1.shape, tr.reward.shape
    ((6, 3, 5), (6, 3, 2))
    """
    check_game(game)
    rule2 = rule1 if rule2 is None else rule2
    runs = None if runs is None else check_positive_int(runs, "runs")
    steps = check_int(steps, "steps", 0)
    delta = check_real(delta, "delta", positive=True)
    max_abs = check_real(max_abs, "max_abs", positive=True)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    if not isinstance(method, str) or not isinstance(on_divergence, str):
        raise TypeError("method and on_divergence must be strings")
    if on_divergence not in ("raise", "mark"):
        raise ValueError(f"on_divergence must be 'raise' or 'mark', got {on_divergence!r}")
    takes = set(_takes(rule1)) | set(_takes(rule2))
    for name in hyper:
        if name not in takes:
            raise ValueError(f"neither {rule1!r} nor {rule2!r} takes a hyper-parameter {name!r}; "
                             f"they take {sorted(takes)}")
    for i, (rule, own) in enumerate(((rule1, hyper1), (rule2, hyper2)), start=1):
        if own is not None and not isinstance(own, dict):
            raise TypeError(f"hyper{i} must be a dict, got {type(own).__name__}")
        get_rule(rule).accepted(own or {}, strict=True,
                                refusal=f"hyper{i} names {{name!r}}, which rule {{rule!r}} "
                                        f"(agent {i}) does not take; it takes {{takes}}")
    h1 = {**hyper, **(hyper1 or {})}
    h2 = {**hyper, **(hyper2 or {})}
    f1 = update_field(game, rule1, **get_rule(rule1).accepted(h1, strict=False))
    f2 = f1 if (rule2 == rule1 and h1 == h2) else update_field(
        game, rule2, **get_rule(rule2).accepted(h2, strict=False))
    d1, d2 = game.dims
    if theta1 is None and theta2 is None:
        t1, t2 = initial_parameters(game, 50 if runs is None else runs, seed, init_std, max_abs)
    elif theta1 is not None and theta2 is not None:
        t1 = np.array(as_params(theta1, "theta1", d1), dtype=np.float64, copy=True)
        t2 = np.array(as_params(theta2, "theta2", d2), dtype=np.float64, copy=True)
        if t1.ndim != 2 or t2.ndim != 2 or t1.shape[0] != t2.shape[0]:
            raise ValueError(f"theta1 and theta2 must have shapes (runs, {d1}) and (runs, {d2}); "
                             f"got {t1.shape} and {t2.shape}")
        if runs is not None and runs != t1.shape[0]:
            raise ValueError(f"runs={runs} but theta1 has {t1.shape[0]} rows; give one or the other")
        if not (_ok(t1, max_abs).all() and _ok(t2, max_abs).all()):
            raise ValueError(f"initial parameters beyond max_abs={max_abs:g} (which counts as "
                             f"divergence); raise max_abs")
        runs = t1.shape[0]
    else:
        raise ValueError("give both theta1 and theta2, or neither (random initialisation)")

    check_result_size(8 * (steps + 1) * runs * (d1 + d2 + 2),
                      f"train(runs={runs}, steps={steps})", "use fewer runs or steps")
    T1 = np.empty((steps + 1, runs, d1))
    T2 = np.empty((steps + 1, runs, d2))
    T1[0], T2[0] = t1, t2
    diverged_at = np.full(runs, -1, dtype=int)
    alive = np.ones(runs, dtype=bool)
    def direction(a, b):
        g1, g2 = f1(a, b, failed="nan")
        if f2 is not f1:
            g2 = f2(a, b, failed="nan")[1]
        return g1, g2

    previous = None
    for t in range(steps):
        with np.errstate(over="ignore", invalid="ignore"):   # overflow is divergence, found below
            g1, g2 = direction(t1, t2)
            if method == "simultaneous":
                n1, n2 = t1 + delta * g1, t2 + delta * g2
            elif method == "extragradient":
                a1, a2 = t1 + delta * g1, t2 + delta * g2
                ok = (_ok(a1, np.inf) & _ok(a2, np.inf))[:, None]    # trial point finite
                h1, h2 = direction(np.where(ok, a1, t1), np.where(ok, a2, t2))
                n1 = np.where(ok, t1 + delta * h1, np.nan)
                n2 = np.where(ok, t2 + delta * h2, np.nan)
            else:   # optimistic
                q1, q2 = (g1, g2) if previous is None else previous
                n1, n2 = t1 + delta * (2 * g1 - q1), t2 + delta * (2 * g2 - q2)
                previous = (g1, g2)
        bad = alive & ~(_ok(n1, max_abs) & _ok(n2, max_abs))
        if bad.any():
            idx = np.flatnonzero(bad)
            if on_divergence == "raise":
                undefined = ~(np.isfinite(g1[idx]).all(-1) & np.isfinite(g2[idx]).all(-1))
                why = (f"the update direction was not finite ({f1.failure_reason()})"
                       if undefined.any() else
                       f"parameters became non-finite or exceeded {max_abs:g}; lower delta")
                raise DivergenceError(
                    f"training diverged at update {t + 1} of {steps} in run(s) {idx[:10].tolist()} "
                    f"({rule1} vs {rule2}, delta={delta}): {why}; or pass on_divergence='mark'")
            diverged_at[idx] = t + 1
            alive &= ~bad
        t1 = np.where(alive[:, None], n1, t1)
        t2 = np.where(alive[:, None], n2, t2)
        T1[t + 1], T2[t + 1] = t1, t2
        if callback is not None:
            callback(t + 1)
    reward = _reward_scale(game) * game.value(T1, T2)
    return Trajectory(game, T1, T2, reward, diverged_at, (f1.rule.name, f2.rule.name),
                      ({**f1.hyper, **f1.options}, {**f2.hyper, **f2.options}), delta, method)


def initial_parameters(game, runs: int, seed, init_std: float, max_abs: float = 1e4) -> tuple:
    r"""Initial parameters :math:`\theta_i \sim N(0, \text{init\_std}^2)`, shapes ``(runs, d_i)``.

    The one draw used by :func:`train` and :func:`lola_sym.compare.compare`:
    agent 1's parameters, then agent 2's, from ``seed``. An ``init_std`` above
    ``max_abs`` (beyond which parameters count as diverged) is refused.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> t1, t2 = initial_parameters(ipd(), 3, 0, 1.0)
    >>> t1.shape, bool(np.all(t1 == train(ipd(), "nl", runs=3, steps=0, seed=0).theta1[0]))
    ((3, 5), True)
    """
    std = check_real(init_std, "init_std", nonnegative=True)
    if std > max_abs:
        raise ValueError(f"init_std={std:g} draws initial parameters beyond max_abs={max_abs:g} "
                         f"(which counts as divergence); lower init_std or raise max_abs")
    d1, d2 = game.dims
    check_result_size(8 * runs * (d1 + d2), f"{runs} runs", "use fewer runs")
    rng = as_generator(seed)
    return rng.normal(0.0, std, size=(runs, d1)), rng.normal(0.0, std, size=(runs, d2))


def _ok(x, max_abs):
    return np.all(np.isfinite(x) & (np.abs(x) <= max_abs), axis=-1)


def _takes(rule) -> tuple:
    """Names of the hyper-parameters and structural options ``rule`` accepts."""
    r = get_rule(rule)
    return tuple(r.hyper) + tuple(r.options)
