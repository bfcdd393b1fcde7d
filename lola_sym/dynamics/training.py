r"""Batched simultaneous training of learners on a game, two players or more.

Every agent updates from the same old parameters,
:math:`\theta_i \leftarrow \theta_i + \delta g_i(\theta_1, \ldots, \theta_n)`, for many
independent runs at once (the leading axis of the parameter arrays).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4 and 6.
.. [2] Letcher, A. et al. (2019). Differentiable Game Mechanics. JMLR 20(84),
   Sec. 2 (the n-player updates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from lola_sym._validation import (as_params, check_game, check_int, check_positive_int, check_real,
                                  check_result_size)
from lola_sym.field import UpdateField, update_field
from lola_sym.rules import get_rule

__all__ = ["train", "Trajectory", "DivergenceError", "as_generator", "initial_parameters",
           "METHODS"]

#: Ways of turning update directions into steps (see :func:`train`).
METHODS = ("simultaneous", "extragradient", "optimistic")


class DivergenceError(ValueError):
    """Training produced non-finite or runaway parameters; the message says where.

    ``update`` (1-based), ``runs`` (0-based run indices) and ``agents`` (for each
    of those runs, the 1-based agents whose parameters left the bound) say it
    in data, when known.
    """

    def __init__(self, message: str, update: int | None = None, runs=(), agents=None):
        super().__init__(message)
        self.update, self.runs, self.agents = update, tuple(runs), dict(agents or {})


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
    thetas : tuple of ndarray, shape (steps + 1, runs, d_i) each
        Every agent's parameters before each update and after the last one.
    reward : ndarray, shape (steps + 1, runs, n)
        Average reward per step :math:`(1 - \gamma) V_i` of every agent
        (the value itself for one-shot games).
    diverged_at : ndarray of int, shape (runs,)
        First update index at which a run diverged, ``-1`` if it never did;
        a diverged run keeps its last finite parameters.
    rules : tuple of str
        The rule of each agent.
    hyper : tuple of dict
        Their hyper-parameters and structural options.
    delta : float or tuple of float
        The learning rate, or the agents' rates when they differ.
    method : str
        The step method (see :func:`train`).
    parameters : dict
        The values of the game's symbols (a game family), empty for a numeric game.
    diverged_agents : ndarray of bool, shape (runs, n)
        The agents whose parameters left the bound at update ``diverged_at``.
    """

    game: object
    thetas: tuple
    reward: np.ndarray
    diverged_at: np.ndarray
    rules: tuple
    hyper: tuple
    delta: float | tuple
    method: str = "simultaneous"
    parameters: dict = field(default_factory=dict)
    diverged_agents: np.ndarray | None = None

    @property
    def n_agents(self) -> int:
        """Number of agents (players)."""
        return len(self.thetas)

    def _two(self, i):
        if len(self.thetas) != 2:
            raise AttributeError(f"theta{i + 1} is for two-player trajectories; this one has "
                                 f"{len(self.thetas)} agents: use thetas[{i}]")
        return self.thetas[i]

    @property
    def theta1(self) -> np.ndarray:
        """Agent 1's parameters, shape (steps + 1, runs, d_1) (two-player games)."""
        return self._two(0)

    @property
    def theta2(self) -> np.ndarray:
        """Agent 2's parameters, shape (steps + 1, runs, d_2) (two-player games)."""
        return self._two(1)

    @property
    def final_reward(self) -> np.ndarray:
        """Average reward per step at the end, shape (runs, n)."""
        return self.reward[-1]

    @property
    def diverged(self) -> np.ndarray:
        """Boolean mask of diverged runs."""
        return self.diverged_at >= 0

    @property
    def runs(self) -> int:
        return self.thetas[0].shape[1]

    @property
    def steps(self) -> int:
        return self.thetas[0].shape[0] - 1


def _reward_scale(game, parameters=None):
    r""":math:`1 - \gamma` (a number, or one per run for a symbolic discount); 1 for one-shot games;
    a game's own ``reward_scale`` where it has one (a finite horizon changes it)."""
    scale = getattr(game, "reward_scale", None)
    if isinstance(scale, float):
        return scale
    gamma = getattr(game, "gamma", None)
    if gamma is None:
        return 1.0
    expr = sp.sympify(gamma)
    if not expr.free_symbols:
        return float(1 - gamma)
    g = sp.lambdify(game.parameters, expr, modules="numpy")(
        *(parameters[s.name] for s in game.parameters))
    return (1.0 - np.asarray(g, dtype=float))[..., None]


def train(game, rule1=None, rule2=None, *, rules=None, runs: int | None = None,
          steps: int = 200, delta: float = 1.0, seed=0, init_std: float = 1.0, theta1=None,
          theta2=None, thetas=None, hyper1: dict | None = None, hyper2: dict | None = None,
          hyper=None, parameters: dict | None = None, on_divergence: str = "raise",
          max_abs: float = 1e4, method: str = "simultaneous", callback=None,
          **shared) -> Trajectory:
    r"""Train learners simultaneously from many initial conditions at once.

    Parameters
    ----------
    game : IteratedGame, RepeatedGame or DifferentiableGame
        Any number of players; rules for more than two need the registry tag
        ``"n_player"`` (``lola_sym.rules.rule_names("n_player")``).
    rule1, rule2 : str
        Rules of agent 1 and agent 2 of a two-player game (``rule1`` defaults to
        ``"lola"``, ``rule2`` to ``rule1``). With more players ``rule1`` alone
        is every agent's rule.
    rules : sequence of str, optional
        One rule per agent, instead of ``rule1``/``rule2``.
    runs, steps : int
        Number of independent runs (default 50, or the rows of the given
        parameters) and of updates.
    delta : float or sequence of float
        Learning rate :math:`\delta`, or one rate :math:`\delta_i` per agent
        (e.g. ``(0.1, 1.0)``: agent 1 learns ten times slower than agent 2).
    seed : int or numpy.random.Generator
        Source of the initial parameters, :math:`\theta \sim N(0, \text{init\_std}^2)`
        (:func:`initial_parameters`).
    theta1, theta2 : array_like, optional
        Initial parameters of shape ``(runs, d_i)`` of a two-player game.
    thetas : sequence of array_like, optional
        Initial parameters of every agent, instead of ``theta1``/``theta2``.
    hyper1, hyper2 : dict, optional
        Hyper-parameters and structural options (e.g. HOLA's ``order``) of agent 1
        and agent 2 of a two-player game.
    hyper : sequence of dict, optional
        One such dict per agent, instead of ``hyper1``/``hyper2``.
    parameters : dict, optional
        The values of the symbols of a game family (``game.parameters``, e.g.
        ``ipd(symbolic=True)``): scalars, or arrays of shape ``(runs,)`` for one
        game per run; required for such a game, refused for a numeric one.
    on_divergence : {"raise", "mark"}
        Raise :class:`DivergenceError` naming the update, the runs and the
        agents, or freeze the diverged runs and record them in ``diverged_at``
        and ``diverged_agents``.
    max_abs : float
        A parameter beyond this magnitude (or non-finite) counts as diverged.
    method : {"simultaneous", "extragradient", "optimistic"}
        How the directions :math:`g = (g_1, \ldots, g_n)` of the rules are turned into
        steps. ``"simultaneous"``: :math:`\theta_{t+1} = \theta_t + \delta g(\theta_t)`.
        ``"extragradient"`` (Korpelevich 1976): a trial step
        :math:`\tilde\theta = \theta_t + \delta g(\theta_t)`, then
        :math:`\theta_{t+1} = \theta_t + \delta g(\tilde\theta)`.
        ``"optimistic"`` (optimistic gradient, Daskalakis et al. 2018):
        :math:`\theta_{t+1} = \theta_t + 2\delta g(\theta_t) - \delta g(\theta_{t-1})`,
        with :math:`g(\theta_{-1}) = g(\theta_0)`.
    callback : callable, optional
        ``callback(done)`` after each update with the number of updates done
        (e.g. a progress bar).
    **shared
        Hyper-parameters for every agent whose rule takes them (e.g. ``eta``);
        per-agent settings override them.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> tr = train(ipd(), "nl", runs=3, steps=5, seed=1)
    >>> tr.theta1.shape, tr.reward.shape
    ((6, 3, 5), (6, 3, 2))
    >>> from lola_sym.games import contribution
    >>> tr = train(contribution(3, "1.8", memory=0), rules=["nl", "lola", "nl"], runs=4,
    ...            steps=2, eta=0.5)
    >>> [t.shape for t in tr.thetas], tr.reward.shape, tr.rules
    ([(3, 4, 1), (3, 4, 1), (3, 4, 1)], (3, 4, 3), ('nl', 'lola', 'nl'))
    """
    check_game(game)
    n = len(game.dims)
    runs = None if runs is None else check_positive_int(runs, "runs")
    steps = check_int(steps, "steps", 0)
    delta, deltas = _rates(delta, n)
    max_abs = check_real(max_abs, "max_abs", positive=True)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    if not isinstance(on_divergence, str):
        raise TypeError("method and on_divergence must be strings")
    if on_divergence not in ("raise", "mark"):
        raise ValueError(f"on_divergence must be 'raise' or 'mark', got {on_divergence!r}")
    names = _agent_rules(game, rule1, rule2, rules)
    own = _agent_hyper(game, names, hyper1, hyper2, hyper)
    _check_shared(names, shared)
    ts, runs = _start(game, runs, seed, init_std, max_abs, theta1, theta2, thetas)
    params = _parameters(game, parameters, runs)
    fields, which = _fields(game, names, own, shared)
    dims = game.dims
    check_result_size(8 * (steps + 1) * runs * (sum(dims) + n),
                      f"train(runs={runs}, steps={steps})", "use fewer runs or steps")
    T = [np.empty((steps + 1, runs, d)) for d in dims]
    for Ti, t in zip(T, ts):
        Ti[0] = t
    diverged_at = np.full(runs, -1, dtype=int)
    blamed = np.zeros((runs, n), dtype=bool)
    alive = np.ones(runs, dtype=bool)

    def direction(points):
        out = {}
        for k in dict.fromkeys(which):
            out[k] = fields[k](*points, failed="nan", **params)
        return [out[k][i] for i, k in enumerate(which)]

    previous = None
    for t in range(steps):
        trial_bad = None
        with np.errstate(over="ignore", invalid="ignore"):   # overflow is divergence, found below
            g = direction(ts)
            if method == "simultaneous":
                new = [x + d * gi for x, gi, d in zip(ts, g, deltas)]
            elif method == "extragradient":
                trial = [x + d * gi for x, gi, d in zip(ts, g, deltas)]
                trial_ok = [_ok(a, np.inf) for a in trial]
                ok = np.logical_and.reduce(trial_ok)[:, None]        # trial point finite
                h = direction([np.where(ok, a, x) for a, x in zip(trial, ts)])
                new = [np.where(ok, x + d * hi, np.nan) for x, hi, d in zip(ts, h, deltas)]
                trial_bad = np.stack([~o for o in trial_ok], axis=-1)
            else:   # optimistic
                q = g if previous is None else previous
                new = [x + d * (2 * gi - qi) for x, gi, qi, d in zip(ts, g, q, deltas)]
                previous = g
        out = np.stack([~_ok(x, max_abs) for x in new], axis=-1)     # (runs, n)
        bad = alive & out.any(axis=-1)
        if bad.any():
            idx = np.flatnonzero(bad)
            if trial_bad is not None:           # a failed trial step is the trial's agents' fault
                out = np.where(trial_bad.any(-1, keepdims=True), trial_bad, out)
            if on_divergence == "raise":
                raise _divergence(t, steps, idx, out, g, which, fields, names, delta, max_abs)
            diverged_at[idx] = t + 1
            blamed[idx] = out[idx]
            alive &= ~bad
        ts = [np.where(alive[:, None], x, old) for x, old in zip(new, ts)]
        for Ti, x in zip(T, ts):
            Ti[t + 1] = x
        if callback is not None:
            callback(t + 1)
    reward = _reward_scale(game, params) * game.value(*T, **params)
    agent_fields = [fields[k] for k in which]
    return Trajectory(game, tuple(T), reward, diverged_at, tuple(f.rule.name for f in agent_fields),
                      tuple({**f.hyper, **f.options} for f in agent_fields), delta, method,
                      params, blamed)


def _fields(game, names, own, shared) -> tuple:
    """The update fields, one per distinct (rule, settings), and which one each agent uses."""
    made: list[tuple[str, dict, UpdateField]] = []
    which: list[int] = []
    for name, h in zip(names, own):
        settings = get_rule(name).accepted({**shared, **h}, strict=False)
        for k, (other, s, _) in enumerate(made):
            if other == name and s == settings:
                which.append(k)
                break
        else:
            which.append(len(made))
            made.append((name, settings, update_field(game, name, **settings)))
    return [f for _, _, f in made], which


def _agent_rules(game, rule1, rule2, rules) -> tuple:
    """One rule name per agent, each checked to be defined for the game's number of players."""
    n = len(game.dims)
    if rules is not None:
        if rule1 is not None or rule2 is not None:
            raise ValueError("give rules=[...] (one per agent) or rule1/rule2, not both")
        if isinstance(rules, str) or not hasattr(rules, "__len__"):
            raise TypeError(f"rules must be a sequence of one rule name per agent, got "
                            f"{type(rules).__name__}")
        if len(rules) != n:
            raise ValueError(f"rules must give one rule per agent: {game.name} has {n} "
                             f"players, got {len(rules)} rules")
        names = tuple(rules)
    elif n == 2:
        first = "lola" if rule1 is None else rule1
        names = (first, first if rule2 is None else rule2)
    else:
        if rule2 is not None:
            raise ValueError(f"rule2 is agent 2's rule in a two-player game; {game.name} has "
                             f"{n} players: give rules=[...] (one per agent) or one rule for all")
        names = ("lola" if rule1 is None else rule1,) * n
    out = []
    for i, name in enumerate(names, start=1):
        rule = get_rule(name)                  # ValueError naming an unknown rule
        try:
            rule.check_players(game)
        except ValueError as exc:
            raise ValueError(f"agent {i}: {exc}") from None
        out.append(rule.name)
    return tuple(out)


def _agent_hyper(game, names, hyper1, hyper2, hyper) -> list:
    """Each agent's own settings, validated against its rule (strictly)."""
    n = len(names)
    if hyper is not None:
        if hyper1 is not None or hyper2 is not None:
            raise ValueError("give hyper=[...] (one dict per agent) or hyper1/hyper2, not both")
        if isinstance(hyper, dict) or isinstance(hyper, str) or not hasattr(hyper, "__len__"):
            raise TypeError(f"hyper must be a sequence of one dict per agent (shared settings "
                            f"are keywords, e.g. eta=0.5), got {type(hyper).__name__}")
        if len(hyper) != n:
            raise ValueError(f"hyper must give one dict per agent: {game.name} has {n} players, "
                             f"got {len(hyper)}")
        given: list[tuple[str | None, Any]] = [(f"hyper[{i}]", h) for i, h in enumerate(hyper)]
    else:
        if n != 2 and (hyper1 is not None or hyper2 is not None):
            raise ValueError(f"hyper1/hyper2 are for two-player games; {game.name} has {n} "
                             f"players: give hyper=[...] (one dict per agent)")
        given = [("hyper1", hyper1), ("hyper2", hyper2)][:n] + [(None, None)] * (n - 2)
    out = []
    for i, (name, (label, h)) in enumerate(zip(names, given), start=1):
        if h is not None and not isinstance(h, dict):
            raise TypeError(f"{label} must be a dict, got {type(h).__name__}")
        get_rule(name).accepted(h or {}, strict=True,
                                refusal=f"{label} names {{name!r}}, which rule {{rule!r}} "
                                        f"(agent {i}) does not take; it takes {{takes}}")
        out.append(dict(h or {}))
    return out


def _check_shared(names, shared) -> None:
    takes = set().union(*(_takes(r) for r in names))
    for key in shared:
        if key not in takes:
            distinct = list(dict.fromkeys(names))
            who = (f"neither {names[0]!r} nor {names[1]!r} takes" if len(names) == 2 else
                   f"rule {distinct[0]!r} (every agent's) does not take" if len(distinct) == 1
                   else f"none of the rules {distinct} takes")
            raise ValueError(f"{who} a hyper-parameter {key!r}; they take {sorted(takes)}")


def _start(game, runs, seed, init_std, max_abs, theta1, theta2, thetas) -> tuple:
    """The initial parameters (given, checked and copied, or drawn) and the number of runs."""
    dims, n = game.dims, len(game.dims)
    if thetas is not None:
        if theta1 is not None or theta2 is not None:
            raise ValueError("give thetas=[...] (one array per agent) or theta1/theta2, not both")
        if isinstance(thetas, np.ndarray) or not hasattr(thetas, "__len__") \
                or len(thetas) != n:
            raise ValueError(f"thetas must be a sequence of one (runs, d_i) array per agent "
                             f"({n} for {game.name})")
        labels = [f"thetas[{i}]" for i in range(n)]
        given = list(thetas)
    elif theta1 is None and theta2 is None:
        drawn = initial_parameters(game, 50 if runs is None else runs, seed, init_std, max_abs)
        return drawn, drawn[0].shape[0]
    elif n != 2:
        raise ValueError(f"theta1/theta2 are for two-player games; {game.name} has {n} "
                         f"players: give thetas=[...] (one array per agent)")
    elif theta1 is not None and theta2 is not None:
        labels, given = ["theta1", "theta2"], [theta1, theta2]
    else:
        raise ValueError("give both theta1 and theta2, or neither (random initialisation)")
    ts = [np.array(as_params(x, lab, d), dtype=np.float64, copy=True)
          for x, lab, d in zip(given, labels, dims)]
    if any(t.ndim != 2 for t in ts) or len({t.shape[0] for t in ts}) != 1:
        want = " and ".join(f"(runs, {d})" for d in dims)
        raise ValueError(f"{', '.join(labels)} must have shapes {want}; got "
                         f"{' and '.join(str(t.shape) for t in ts)}")
    if runs is not None and runs != ts[0].shape[0]:
        raise ValueError(f"runs={runs} but {labels[0]} has {ts[0].shape[0]} rows; give one or "
                         f"the other")
    if not all(_ok(t, max_abs).all() for t in ts):
        raise ValueError(f"initial parameters beyond max_abs={max_abs:g} (which counts as "
                         f"divergence); raise max_abs")
    return tuple(ts), ts[0].shape[0]


def _parameters(game, parameters, runs) -> dict:
    """The game symbols' values: checked by the game, scalars or one per run."""
    symbols = tuple(getattr(game, "parameters", ()))
    if not symbols:
        if parameters:
            raise ValueError(f"{game.name} has no symbols; parameters= gives the values of a "
                             f"game family's symbols (e.g. ipd(symbolic=True))")
        return {}
    names = [s.name for s in symbols]
    if parameters is None:
        raise ValueError(f"{game.name} is a game family with symbols {names}: give their "
                         f"values with parameters={{...}}, or substitute them first "
                         f"(game.substitute(...))")
    if not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict of symbol values, got "
                        f"{type(parameters).__name__}")
    game.parameter_array(**parameters)          # names, finiteness and the discount's range
    out = {}
    for k, v in parameters.items():
        a = np.array(v, dtype=float)
        if a.ndim > 1 or (a.ndim == 1 and a.shape != (runs,)):
            raise ValueError(f"parameters[{k!r}] must be a scalar or one value per run, shape "
                             f"({runs},); got shape {a.shape}")
        out[k] = float(a) if a.ndim == 0 else a
    return out


def _rates(delta, n: int):
    """``(delta as recorded, one rate per agent)``: a positive float, or one per agent.

    Examples
    --------
    >>> _rates(0.5, 2), _rates([0.1, 1], 2), _rates((0.2, 0.2), 2)
    ((0.5, (0.5, 0.5)), ((0.1, 1.0), (0.1, 1.0)), (0.2, (0.2, 0.2)))
    """
    if isinstance(delta, (list, tuple, np.ndarray)):
        rates = tuple(check_real(d, f"delta[{i}]", positive=True)
                      for i, d in enumerate(np.asarray(delta, dtype=object).ravel()))
        if len(rates) != n or np.ndim(delta) != 1:
            raise ValueError(f"delta takes one learning rate or one per agent ({n}), "
                             f"got {len(rates)}")
        return (rates[0] if len(set(rates)) == 1 else rates), rates
    rate = check_real(delta, "delta", positive=True)
    return rate, (rate,) * n


def _divergence(t, steps, idx, out, g, which, fields, names, delta, max_abs):
    """The :class:`DivergenceError` of update ``t + 1``: where (runs, agents) and why."""
    agents = {int(r): [int(a) + 1 for a in np.flatnonzero(out[r])] for r in idx[:10]}
    where = "; ".join(f"run {r}: agent(s) {a}" for r, a in list(agents.items())[:3])
    undefined = [i for i, gi in enumerate(g) if not np.isfinite(gi[idx]).all()]
    why = (f"the update direction of agent {undefined[0] + 1} was not finite "
           f"({fields[which[undefined[0]]].failure_reason()})" if undefined else
           f"parameters became non-finite or exceeded {max_abs:g}; lower delta")
    return DivergenceError(
        f"training diverged at update {t + 1} of {steps} in run(s) {idx[:10].tolist()} "
        f"({where}) ({' vs '.join(names)}, delta={delta}): {why}; or pass "
        f"on_divergence='mark'", t + 1, idx.tolist(), agents)


def initial_parameters(game, runs: int, seed, init_std: float, max_abs: float = 1e4) -> tuple:
    r"""Initial parameters :math:`\theta_i \sim N(0, \text{init\_std}^2)`, shapes ``(runs, d_i)``.

    The one draw used by :func:`train` and :func:`lola_sym.dynamics.compare.compare`:
    agent 1's parameters, then agent 2's, and so on, from ``seed``; one array
    per agent. An ``init_std`` above ``max_abs`` (beyond which parameters
    count as diverged) is refused.

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
    check_result_size(8 * runs * sum(game.dims), f"{runs} runs", "use fewer runs")
    rng = as_generator(seed)
    return tuple(rng.normal(0.0, std, size=(runs, d)) for d in game.dims)


def _ok(x, max_abs):
    return np.all(np.isfinite(x) & (np.abs(x) <= max_abs), axis=-1)


def _takes(rule) -> tuple:
    """Names of the hyper-parameters and structural options ``rule`` accepts."""
    r = get_rule(rule)
    return tuple(r.hyper) + tuple(r.options)
