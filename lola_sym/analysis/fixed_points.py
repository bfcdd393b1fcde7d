r"""Fixed points of learning rules: exact (sympy) for small games, numerical otherwise.

A fixed point of a rule is a :math:`\theta` with :math:`g(\theta) = 0`.
:func:`find_fixed_points` runs scipy's hybrid Powell root finder (with the
exact compiled Jacobian of :mod:`lola_sym.analysis.jacobian`) from many seeded starts,
removes duplicates and reports each point with its residual
:math:`\max_k |g_k(\theta)|`. With sigmoid policies the fields also vanish in
the limit of saturated logits: a root the solver finds beyond
``saturate`` in some logit is reported as a *boundary* point, a limit with
that policy probability at 0 or 1 (probabilities rounded there). Points
hold one parameter array per player, for any number of players the rule is
defined for; a game with symbols takes their values as keywords beside the
rule's hyper-parameters (``find_fixed_points(ipd(symbolic=True), "nl", R=-1,
S=-3, T=0, P=-2, gamma=0.96)``).

:func:`exact_fixed_points` solves :math:`g = 0` with ``sympy.solve`` where the
explicit field is small (one-shot games, memory-0 repeated games): polynomial
games in the parameters directly, sigmoid games in the probabilities
:math:`p_i = \sigma(\theta_i)` (with :math:`\sigma(-\theta_i) = 1 - p_i`), so
that solutions with :math:`p_i \in \{0, 1\}` are the boundary limits.
Families of solutions come out parametrised (Tandem's line :math:`x + y = 1`),
and a game's symbols not given stay symbols (a family's mixed equilibrium as
an expression in its payoffs).

References
----------
.. [1] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. (Fixed points of LOLA and SOS in Tandem.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.special import expit

from lola_sym._validation import check_game, as_params, check_positive_int, check_real
from lola_sym.analysis.arguments import need_values, player_arrays, split_values
from lola_sym.analysis.jacobian import explicit_field, jacobian_function
from lola_sym.program import sigmoid
from lola_sym.rules import get_rule
from lola_sym.dynamics.training import as_generator

__all__ = ["FixedPoint", "find_fixed_points", "exact_fixed_points", "residual"]


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point found numerically.

    Attributes
    ----------
    thetas : tuple of ndarray
        Each player's parameters (saturated logits are large, not infinite);
        ``theta1``, ``theta2`` are the first two.
    residual : float
        :math:`\\max_k |g_k|` of the rule's field there.
    boundary : bool
        Some logit exceeds the saturation threshold: a limit point.
    saturated : tuple of (agent, index, probability)
        The saturated coordinates (agent 1-based) and their limit: 1 where the
        logit grows to :math:`+\\infty`, 0 where it falls to :math:`-\\infty`
        (with two actions, the limiting probability of the action the logit
        scores; with more, whether that action wins against the reference
        action).
    attracting : bool or None
        For boundary points: whether the field pushes every saturated logit
        further out, evaluated with those logits pulled back to
        ``PROBE_LOGIT`` (where the field has not underflowed); such a
        limit attracts nearby saturated policies. ``None`` for interior points.
    """

    thetas: tuple
    residual: float
    boundary: bool = False
    saturated: tuple = ()
    attracting: bool | None = None

    @property
    def theta1(self) -> np.ndarray:
        """Player 1's parameters."""
        return self.thetas[0]

    @property
    def theta2(self) -> np.ndarray:
        """Player 2's parameters."""
        return self.thetas[1]

    def as_dict(self) -> dict:
        """JSON-able summary; the players' parameters as ``theta1``, ``theta2``, ..."""
        return {**{f"theta{i}": t.tolist() for i, t in enumerate(self.thetas, 1)},
                "residual": self.residual, "boundary": self.boundary,
                "saturated": [list(s) for s in self.saturated], "attracting": self.attracting}


def _field(game, rule, **hyper):
    from lola_sym.field import update_field
    return update_field(game, rule, **hyper)


def residual(game, rule, *thetas, parameters=None, **settings) -> float:
    r"""Largest :math:`|g_k|` of ``rule``'s field at one point (one array per player).

    Keywords are the rule's hyper-parameters and the game's symbol values
    (:func:`~lola_sym.analysis.arguments.split_values`).

    Examples
    --------
    >>> from lola_sym import games
    >>> residual(games.tandem(), "nl", [0.25], [0.75])
    0.0
    >>> residual(games.ipd(symbolic=True), "nl", [0.0] * 5, [0.0] * 5,
    ...          R=-1, S=-3, T=0, P=-2, gamma=0.96) > 0
    True
    """
    check_game(game)
    hyper, values = split_values(game, rule, settings, parameters)
    ts = player_arrays(game, thetas, "residual")
    need_values(game, values, "residual", "exact_fixed_points")
    g = _field(game, rule, **hyper)(*ts, **values)
    return float(max(np.max(np.abs(x)) for x in g))


def _iterated(game) -> bool:
    return getattr(game, "gamma", None) is not None


def _uses_sigmoid(game) -> bool:
    return _iterated(game) or any(e.has(sigmoid) for e in (game.V1, game.V2))


def find_fixed_points(game, rule, *, starts: int = 32, seed=0, scale: float = 3.0,
                      tol: float = 1e-10, saturate: float = 12.0, x0=None, parameters=None,
                      **settings) -> list:
    r"""Fixed points of ``rule`` on ``game`` by root finding from seeded random starts.

    Parameters
    ----------
    game, rule
        As in :func:`lola_sym.update_field`; any number of players the rule
        is defined for.
    starts : int
        Number of starts (>= 1), :math:`\theta \sim N(0, \text{scale}^2)`, ``scale > 0``.
    seed : int or numpy.random.Generator
    tol : float
        Largest residual accepted (finite, > 0).
    saturate : float
        Logits beyond this magnitude (finite, > 0) mark a boundary (limit)
        point; only for games with sigmoid or softmax policies.
    x0 : array_like, optional
        Extra starts of shape ``(d,)`` or ``(n, d)`` (:math:`d = d_1 + \dots + d_n`,
        the players' parameters concatenated), finite, tried first.
    parameters : mapping, optional
        Values of the game's symbols (the same as keywords; needed only for a
        symbol named like one of the rule's hyper-parameters).
    **settings
        The rule's hyper-parameters, and for a game with symbols
        (``game.parameters``) one scalar value per symbol, e.g.
        ``R=-1, S=-3, T=0, P=-2, gamma=0.96`` for ``ipd(symbolic=True)``.

    Raises
    ------
    ValueError, TypeError
        For any argument of the wrong type, shape or range, a missing or
        unknown symbol value (the message names it).

    Returns
    -------
    list of FixedPoint
        Interior points first, then boundary points, each group by residual.

    Examples
    --------
    >>> from lola_sym import games
    >>> pts = find_fixed_points(games.matching_pennies(), "lola", starts=8, eta=1.0)
    >>> [(round(float(p.theta1[0]), 9), p.boundary) for p in pts if not p.boundary]
    [(0.0, False)]

    Three players who contribute or keep (memory 0): the field vanishes at every
    corner, but only the all-keep corner attracts (keeping is dominant at
    ``cf < n``).

    >>> pts = find_fixed_points(games.contribution(3, "1.5", memory=0), "nl", starts=4,
    ...                         x0=[-20.0, -20.0, -20.0])
    >>> [p.saturated for p in pts if p.attracting]
    [((1, 0, 0), (2, 0, 0), (3, 0, 0))]
    """
    check_game(game)
    from scipy.optimize import root     # imported here: scipy.optimize costs 0.2 s at start-up
    starts = check_positive_int(starts, "starts")
    if starts > MAX_STARTS:
        raise ValueError(f"starts={starts} is more than {MAX_STARTS:,} root searches (each about a "
                         f"millisecond to a second); use fewer starts, or pass x0 for chosen ones")
    scale = check_real(scale, "scale", positive=True)
    if scale > MAX_SCALE:
        raise ValueError(f"scale={scale:g} draws starts beyond {MAX_SCALE:g} in magnitude, where "
                         f"every sigmoid saturates and fields overflow; use scale <= {MAX_SCALE:g}")
    tol = check_real(tol, "tol", positive=True)
    saturate = check_real(saturate, "saturate", positive=True)
    hyper, values = split_values(game, rule, settings, parameters)
    need_values(game, values, "fixed-point search", "exact_fixed_points")
    if any(np.ndim(v) != 0 for v in values.values()):
        raise ValueError("find_fixed_points searches one game: every value of a game symbol "
                         "must be a scalar")
    if values:
        game.parameter_array(**values)          # checked before any compilation
    dims = tuple(game.dims)
    d = sum(dims)
    bounds = np.cumsum((0,) + dims)
    extra = None if x0 is None else as_params(x0, "x0", d).reshape(-1, d)
    rng = as_generator(seed)
    f = _field(game, rule, **hyper)
    X0 = rng.normal(0.0, scale, size=(starts, d))
    if extra is not None:
        X0 = np.concatenate([extra, X0])
    combined = f.rule.combine is not None

    def split(z):
        return [z[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]

    def fun(z):
        if not np.all(np.isfinite(z)):          # the solver wandered off: no root there
            return np.full(d, np.nan)
        return np.concatenate(f(*split(z), failed="nan", **values))

    jac_theta = None if combined else jacobian_function(game, rule, parameters=values,
                                                             **hyper)

    def jac(z):
        if not np.all(np.isfinite(z)):
            return np.full((d, d), np.nan)
        return jac_theta(*split(z))

    sig = _uses_sigmoid(game)
    agent = np.repeat(np.arange(1, len(dims) + 1), dims)
    index = np.concatenate([np.arange(k) for k in dims])
    found = []
    for z0 in X0:
        with np.errstate(all="ignore"):
            sol = root(fun, z0, jac=None if combined else jac, method="hybr", tol=1e-14)
        z = sol.x
        if not np.all(np.isfinite(z)):
            continue
        res = float(np.max(np.abs(fun(z))))
        if not res <= tol:                      # also NaN: the field overflowed at this start
            continue
        sat = tuple((int(agent[k]), int(index[k]), int(z[k] > 0))
                    for k in range(d) if sig and abs(z[k]) > saturate)
        attracting = _attracting(fun, z, saturate) if sat else None
        found.append(FixedPoint(tuple(t.copy() for t in split(z)), res, bool(sat), sat,
                                attracting))
    return _dedupe(found, sig)


#: Most random starts :func:`find_fixed_points` takes (each is one root search).
MAX_STARTS = 100_000
#: Largest standard deviation of the random starts.
MAX_SCALE = 1e3

#: Saturated logits are pulled back to this magnitude to read the field's direction there.
PROBE_LOGIT = 10.0


def _attracting(fun, z, saturate) -> bool:
    """Whether the field points outward in every saturated coordinate near the limit."""
    out = np.abs(z) > saturate
    probe = np.where(out, np.sign(z) * PROBE_LOGIT, z)
    g = fun(probe)
    return bool(np.all(g[out] * np.sign(z[out]) > 0))


def _key(p: FixedPoint, sig: bool) -> np.ndarray:
    z = np.concatenate(p.thetas)
    return np.round(expit(z), 6) if sig else z


def _dedupe(points, sig) -> list:
    out: list[FixedPoint] = []
    for p in sorted(points, key=lambda q: (q.boundary, q.residual)):
        k = _key(p, sig)
        if not any(np.max(np.abs(k - _key(q, sig))) < 1e-5 for q in out):
            out.append(p)
    return out


def exact_fixed_points(game, rule, *, parameters=None, **settings) -> list:
    r"""All solutions of :math:`g = 0` by ``sympy.solve`` (small, symbolic rules only).

    For one-shot games and memory-0 repeated games of any number of players
    (iterated games with memory have fields too large for ``sympy.solve``).
    Hyper-parameters not given stay symbols; so do the game's symbols
    (``game.parameters``), unless given as keywords (or in ``parameters``),
    which substitutes them exactly: a family's fixed points come out as
    expressions in its symbols. Sigmoid games are solved in the
    probabilities: the returned dicts map ``p_1``, ``p_2``, ...
    (``sympy.Symbol``, one per parameter in player order) to values; polynomial
    games map the parameters themselves. Solutions with a probability outside
    [0, 1] for every value of the symbols are dropped; those that are
    expressions in the symbols are kept whole (they lie in [0, 1] for some
    values only, e.g. a mixed equilibrium).

    Examples
    --------
    >>> from lola_sym import games
    >>> exact_fixed_points(games.tandem(), "nl")
    [{x: 1 - y}]
    >>> exact_fixed_points(games.tandem(), "lola")
    [{x: -y - 1/(2*eta - 1)}]

    A family: the one-shot 2x2 game with payoffs R, S, T, P (player 2 mirrored)
    has the mixed fixed point where each is indifferent,
    :math:`p = (P - S) / (R - S - T + P)`:

    >>> R, S, T, P = sp.symbols("R S T P", real=True)
    >>> x, y = sp.symbols("x y", real=True)
    >>> p, q, pb, qb = sigmoid(x), sigmoid(y), sigmoid(-x), sigmoid(-y)
    >>> g = games.differentiable(R * p * q + S * p * qb + T * pb * q + P * pb * qb,
    ...                          R * p * q + T * p * qb + S * pb * q + P * pb * qb, [x], [y])
    >>> [s for s in exact_fixed_points(g, "nl") if not set(s.values()) <= {0, 1}]
    [{p_1: (P - S)/(P + R - S - T), p_2: (P - S)/(P + R - S - T)}]
    >>> [s for s in exact_fixed_points(g, "nl", R=4, S=0, T=3, P=2)   # a stag hunt
    ...  if not set(s.values()) <= {0, 1}]
    [{p_1: 2/3, p_2: 2/3}]
    """
    check_game(game)
    if _iterated(game) and getattr(game, "memory", 1) != 0:
        raise ValueError(f"{game.name} is an iterated game with memory: its field is too large "
                         f"for sympy.solve; use find_fixed_points")
    g = explicit_field(game, rule, "find_fixed_points", parameters=parameters, **settings)
    thetas = [t for grp in game.theta for t in grp]
    if any(e.has(sigmoid) for e in g):
        ps = sp.symbols(f"p_1:{len(thetas) + 1}")
        sub = {}
        for t, p in zip(thetas, ps):
            sub[sigmoid(t)] = p
            sub[sigmoid(-t)] = 1 - p
        eqs = [sp.factor(sp.together(e.xreplace(sub))) for e in g]
        if any(e.has(sigmoid) or (e.free_symbols & set(thetas)) for e in eqs):
            raise ValueError(f"the {get_rule(rule).name} field on {game.name} is not a function "
                             f"of the probabilities alone; use find_fixed_points")
        sols = sp.solve(eqs, ps, dict=True)
        return [s for s in sols if all(_in_unit(v) for v in s.values())]
    return sp.solve(g, thetas, dict=True)


def _in_unit(v) -> bool:
    """False only when ``v`` is a number outside [0, 1]."""
    if v.is_number:
        return bool(0 <= v <= 1) if v.is_real else False
    return True
