r"""Pseudo-arclength continuation of fixed points of the learning map in one parameter.

The learning map of a rule on a game is

.. math:: F(\theta) = \theta + D\,g(\theta; \eta, \text{game}),
   \qquad D = \mathrm{diag}(\delta_1 I_{d_1}, \dots, \delta_n I_{d_n}),

with per-agent rates :math:`\delta_i` (one common rate :math:`\delta` when
:math:`\delta_1 = \dots = \delta_n`). Its fixed points are the zeros of the
field :math:`g` whatever the rates; the rates change only their multipliers,
the eigenvalues of :math:`A = I + D J` (:math:`J = \partial g/\partial\theta`).
:class:`LearningMap` holds the game, the rule, the rates, the rule's
hyper-parameters and the game's symbol values, and evaluates :math:`g`,
:math:`J` (exact, compiled forward mode: :func:`~lola_sym.analysis.jacobian.jacobian_function`)
and :math:`A` with any one of them changed. The continued parameter is named:

* ``"delta"``: the first agent's rate :math:`\delta_1`, the ratios
  :math:`\delta_i/\delta_1` kept (a common rate when they are all 1);
* ``"tau"``: the timescale ratio :math:`\tau = \delta_2/\delta_1` of two agents;
* a hyper-parameter of the rule (``"eta"``, ...);
* a symbol of the game (``game.parameters``: ``"gamma"``, a payoff ``"R"``, ...).

:func:`continue_branch` follows a curve of zeros :math:`g(\theta; p) = 0` in
:math:`X = (\theta, p) \in \mathbb{R}^{d+1}` by pseudo-arclength continuation
(Keller 1977; Kuznetsov 2004, Sec. 10.2): the tangent :math:`T` spans the
kernel of :math:`[J \;\; g_p]`, the predictor is :math:`X + h T`, and the
corrector is Newton's method on

.. math:: g(\theta; p) = 0, \qquad T\cdot(X - X_{\text{pred}}) = 0,

whose matrix :math:`\begin{pmatrix} J & g_p \\ T^\top \end{pmatrix}` stays
invertible at folds, where :math:`J` is singular. Along the branch it records
the eigenvalues of :math:`J` (the flow :math:`\dot\theta = g`, the
:math:`\delta \to 0` limit) and the multipliers of :math:`A` (the map), and
the stability of each point. The bifurcations on a branch are found and
located by :func:`lola_sym.analysis.bifurcations.bifurcation_diagram`.

**The derivative in the parameter.** For ``delta`` and ``tau``,
:math:`g_p = 0` exactly (the fixed points do not move). For a hyper-parameter
or a game symbol the compiled programs have no derivative in it, so
:math:`g_p` is a central difference of the compiled field with step
:data:`PARAM_STEP` :math:`\cdot\max(1, |p|)`: truncation error
:math:`O(h^2)\approx 10^{-10}` relative, rounding :math:`\epsilon/h \approx
10^{-11}`. (A complex step is not available: the compiled code is real.)
This is enough because :math:`g_p` enters only the tangent and the Newton
matrix, never the residual: the corrector converges to a zero of the exactly
computed :math:`g`, with a contraction factor of about :math:`10^{-10}` per
step instead of quadratically, so the points on the branch are as accurate
as with an exact :math:`g_p`.

Combined rules (SOS, SGA, CGD, CO's combination) have no symbolic form; their
:math:`J` is the central difference of
:func:`~lola_sym.analysis.jacobian.jacobian_function` (about :math:`10^{-10}`),
so their multipliers, and the bifurcations located from them, carry that
error (measured: SOS's Neimark–Sacker rate on matching pennies, 1.8823529411957
against 32/17 = 1.8823529411765).

References
----------
.. [1] Keller, H. B. (1977). Numerical solution of bifurcation and nonlinear
   eigenvalue problems. In *Applications of Bifurcation Theory*, Academic Press.
.. [2] Kuznetsov, Yu. A. (2004). *Elements of Applied Bifurcation Theory*,
   3rd ed., Springer. Ch. 10 (continuation), Sec. 10.2.
.. [3] Allgower, E. L. and Georg, K. (2003). *Introduction to Numerical
   Continuation Methods*. SIAM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lola_sym._validation import check_game, check_int, check_real
from lola_sym.analysis.arguments import need_values, player_arrays, split_values, symbol_names
from lola_sym.analysis.jacobian import jacobian_function
from lola_sym.rules import get_rule

__all__ = ["LearningMap", "learning_map", "Branch", "continue_branch", "newton_fixed_point",
           "corrector", "PARAM_STEP", "NEWTON_TOL", "MAX_NEWTON"]

#: Relative step of the central difference in a hyper-parameter or a game symbol.
PARAM_STEP = 1e-5
#: Newton stops when its step is below this (relative to :math:`1 + \|X\|`).
NEWTON_TOL = 1e-13
#: Newton iterations per correction.
MAX_NEWTON = 20


class LearningMap:
    r"""The map :math:`\theta \mapsto \theta + D g(\theta)` of a rule on a game, with its settings.

    Build it with :func:`learning_map`. Points are flat arrays
    :math:`z = (\theta_1, \dots, \theta_n)` of length :math:`d`
    (:meth:`split` gives the players' parts). Every evaluation takes
    ``over``, a mapping of parameter names to values that replace the
    map's own (``{"eta": 0.5}``, ``{"delta": 2.0}``, ``{"gamma": 0.9}``).

    Examples
    --------
    >>> from lola_sym import games
    >>> m = learning_map(games.matching_pennies(), "lola", delta=1.0, eta=1.0)
    >>> m.map_jacobian([0.0, 0.0]).tolist()
    [[0.9375, -0.25], [0.25, 0.9375]]
    >>> m.kind("eta"), m.kind("tau"), m.value("delta")
    ('hyper', 'tau', 1.0)
    """

    def __init__(self, game, rule, delta, hyper, values, backend=None):
        self.game, self.rule, self.backend = game, get_rule(rule).name, backend
        self.delta = delta
        self.hyper, self.values = dict(hyper), dict(values)
        self.dims = tuple(game.dims)
        self.d = sum(self.dims)
        self._cache = {}

    # ------------------------------------------------------------------ parameters
    def names(self) -> list:
        """The names :meth:`kind` accepts."""
        r = get_rule(self.rule)
        return (["delta"] + (["tau"] if len(self.dims) == 2 else []) + list(r.hyper)
                + symbol_names(self.game))

    def kind(self, name) -> str:
        """``"delta"``, ``"tau"``, ``"hyper"`` or ``"symbol"``; a ``ValueError`` otherwise."""
        if not isinstance(name, str):
            raise TypeError(f"a parameter is named by a str, got {type(name).__name__}")
        if name == "delta":
            return "delta"
        if name == "tau":
            if len(self.dims) != 2:
                raise ValueError(f"tau (delta2/delta1) needs two players; {self.game.name} "
                                 f"has {len(self.dims)}: continue one agent's rate by "
                                 f"giving delta as a tuple and continuing 'delta'")
            return "tau"
        if name in get_rule(self.rule).hyper and name not in symbol_names(self.game):
            return "hyper"
        if name in symbol_names(self.game):
            return "symbol"
        raise ValueError(f"{name!r} is not a parameter of the {self.rule} map on "
                         f"{self.game.name}; choose one of {self.names()}")

    def value(self, name) -> float:
        """The map's own value of parameter ``name``."""
        k = self.kind(name)
        if k == "delta":
            return float(self.delta[0])
        if k == "tau":
            return float(self.delta[1] / self.delta[0])
        if k == "hyper":
            return float(self._field_of(self.hyper)[0].hyper[name])
        return float(self.values[name])

    def _settings(self, over) -> tuple:
        delta, hyper, values = list(self.delta), dict(self.hyper), dict(self.values)
        scale, tau = None, None
        for name, v in (over or {}).items():
            k = self.kind(name)
            v = check_real(v, name)
            if k == "delta":
                if v <= 0:
                    raise ValueError(f"delta must be > 0, got {v}")
                scale = v
            elif k == "tau":
                if v <= 0:
                    raise ValueError(f"tau = delta2/delta1 must be > 0, got {v}")
                tau = v
            elif k == "hyper":
                hyper[name] = v
            else:
                values[name] = v
        if scale is not None:                   # delta1 (ratios kept), then tau = delta2/delta1
            delta = [scale * r / self.delta[0] for r in self.delta]
        if tau is not None:
            delta = [delta[0], delta[0] * tau]
        return delta, hyper, values

    def with_values(self, **over) -> "LearningMap":
        """A copy with some parameters replaced (checked)."""
        delta, hyper, values = self._settings(over)
        self._field_of(hyper)
        return LearningMap(self.game, self.rule, tuple(delta), hyper, values, self.backend)

    def _field_of(self, hyper):
        key = tuple(sorted(hyper.items()))
        if key not in self._cache:
            from lola_sym.field import update_field
            f = update_field(self.game, self.rule, backend=self.backend, **hyper)
            J = jacobian_function(self.game, self.rule, backend=self.backend, **hyper)
            self._cache[key] = (f, J)
        return self._cache[key]

    # ------------------------------------------------------------------ evaluations
    def split(self, z) -> list:
        """The players' parts of a flat point ``z``."""
        z = np.asarray(z, dtype=float)
        return list(np.split(z, np.cumsum(self.dims)[:-1], axis=-1))

    def rates(self, over=None) -> np.ndarray:
        """The diagonal of :math:`D`, one rate per coordinate."""
        delta = self._settings(over)[0]
        return np.concatenate([np.full(d, r) for d, r in zip(self.dims, delta)])

    def field(self, z, over=None) -> np.ndarray:
        """:math:`g(z)`, flat."""
        _, hyper, values = self._settings(over)
        f, _ = self._field_of(hyper)
        return np.concatenate(f(*self.split(z), **values), axis=-1)

    def jacobian(self, z, over=None) -> np.ndarray:
        r""":math:`J = \partial g/\partial\theta` at ``z`` (exact, compiled)."""
        _, hyper, values = self._settings(over)
        _, J = self._field_of(hyper)
        return J(*self.split(z), **values)

    def map_jacobian(self, z, over=None) -> np.ndarray:
        r""":math:`A = I + D J` at ``z``."""
        return np.eye(self.d) + self.rates(over)[:, None] * self.jacobian(z, over)

    def step(self, z, over=None) -> np.ndarray:
        r""":math:`F(z) = z + D g(z)`."""
        return np.asarray(z, dtype=float) + self.rates(over) * self.field(z, over)

    def field_derivative(self, z, name, value, over=None) -> np.ndarray:
        r""":math:`\partial g/\partial p` at ``z`` for parameter ``name`` at ``value``.

        Zero for ``delta`` and ``tau``; a central difference (module docstring)
        otherwise. ``over`` sets other parameters.
        """
        if self.kind(name) in ("delta", "tau"):
            return np.zeros(self.d)
        h = PARAM_STEP * max(1.0, abs(value))
        up, down = dict(over or {}), dict(over or {})
        up[name], down[name] = value + h, value - h
        return (self.field(z, up) - self.field(z, down)) / (2 * h)

    def __repr__(self) -> str:
        return (f"LearningMap({self.rule!r} on {self.game.name}, delta={tuple(self.delta)}, "
                f"{self.hyper}, {self.values})")


def learning_map(game, rule, *, delta=1.0, backend=None, parameters=None,
                 **settings) -> LearningMap:
    r"""The learning map of ``rule`` on ``game`` at rates ``delta``.

    Parameters
    ----------
    game, rule
        As in :func:`lola_sym.update_field`.
    delta : float or sequence of float
        One rate for every agent, or one per agent (:math:`\delta_i > 0`).
    backend : str, optional
    parameters : mapping, optional
        Values of the game's symbols (as keywords too).
    **settings
        The rule's hyper-parameters and the game's symbol values (every symbol needs one).

    Examples
    --------
    >>> from lola_sym import games
    >>> m = learning_map(games.matching_pennies(), "nl", delta=(1.0, 0.5))
    >>> m.rates().tolist()
    [1.0, 0.5]
    >>> learning_map(games.matching_pennies(), "nl", delta=-1)
    Traceback (most recent call last):
    ...
    ValueError: delta must be > 0 (one rate, or one per agent), got -1.0
    """
    check_game(game)
    hyper, values = split_values(game, rule, settings, parameters)
    need_values(game, values, "continuation")
    n = len(game.dims)
    if isinstance(delta, (tuple, list, np.ndarray)):
        rates = [check_real(v, "delta") for v in delta]
        if len(rates) != n:
            raise ValueError(f"delta must be one rate or one per agent ({n} on {game.name}), "
                             f"got {len(rates)}")
    else:
        rates = [check_real(delta, "delta")] * n
    for r in rates:
        if r <= 0:
            raise ValueError(f"delta must be > 0 (one rate, or one per agent), got {r}")
    values = {k: check_real(v, k) for k, v in values.items()}
    m = LearningMap(game, rule, tuple(rates), {}, values, backend)
    m.hyper = dict(m._field_of(hyper)[0].hyper)     # the rule's checks and defaults
    return m


def _flat(m: LearningMap, theta) -> np.ndarray:
    """A point given flat (length d) or as one array per player, as a flat float array."""
    if isinstance(theta, (tuple, list)) and len(theta) == len(m.dims) and all(
            np.ndim(t) == 1 for t in theta):
        return np.concatenate(player_arrays(m.game, theta, "continuation"))
    z = np.asarray(theta, dtype=float)
    if z.shape != (m.d,) or not np.all(np.isfinite(z)):
        raise ValueError(f"a point of {m.game.name} is {m.d} finite numbers (flat, or one "
                         f"array per player), got shape {z.shape}")
    return z


def newton_fixed_point(m: LearningMap, theta, over=None, *, tol: float = NEWTON_TOL,
                       max_iter: int = MAX_NEWTON) -> np.ndarray:
    r"""A zero of :math:`g` near ``theta`` by Newton's method with the exact Jacobian.

    Raises ``ValueError`` if it does not converge in ``max_iter`` steps.

    Examples
    --------
    >>> import sympy as sp
    >>> from lola_sym.games import differentiable
    >>> x, y = sp.symbols("x y", real=True)
    >>> m = learning_map(differentiable(2 * x - x ** 3 / 3, -y ** 2 / 2, [x], [y]), "nl")
    >>> newton_fixed_point(m, [1.0, 0.3]).round(12).tolist()
    [1.414213562373, 0.0]
    """
    z = _flat(m, theta).copy()
    for _ in range(max_iter):
        dz = np.linalg.lstsq(m.jacobian(z, over), -m.field(z, over), rcond=None)[0]
        z = z + dz
        if np.linalg.norm(dz) <= tol * (1 + np.linalg.norm(z)):
            return z
    raise ValueError(f"Newton did not converge to a zero of the {m.rule} field in {max_iter} "
                     f"steps from {np.asarray(theta).tolist()} (residual "
                     f"{np.linalg.norm(m.field(z, over)):.3g}); start nearer a fixed point")


def corrector(H, DH, X_pred, T, *, tol: float = NEWTON_TOL, max_iter: int = MAX_NEWTON):
    r"""Newton on :math:`H(X) = 0,\ T\cdot(X - X_{\text{pred}}) = 0`; ``(X, converged)``.

    ``H`` maps :math:`\mathbb{R}^{N+1} \to \mathbb{R}^N`, ``DH`` gives its
    :math:`N \times (N+1)` Jacobian. Used by every continuation here.

    Examples
    --------
    The unit circle, corrected from :math:`(1.1, 0.1)` with :math:`y` held by
    :math:`T = (0, 1)`: the point :math:`(\sqrt{0.99}, 0.1)`.

    >>> import numpy as np
    >>> H = lambda X: np.array([X[0] ** 2 + X[1] ** 2 - 1.0])
    >>> DH = lambda X: np.array([[2 * X[0], 2 * X[1]]])
    >>> X, converged = corrector(H, DH, np.array([1.1, 0.1]), np.array([0.0, 1.0]))
    >>> converged, bool(np.allclose(X, [np.sqrt(0.99), 0.1], rtol=0, atol=1e-13))
    (True, True)
    """
    X = np.array(X_pred, dtype=float)
    for _ in range(max_iter):
        try:
            rhs = np.concatenate([H(X), [T @ (X - X_pred)]])
            M = np.vstack([DH(X), T])
            dX = np.linalg.solve(M, -rhs)
        except (np.linalg.LinAlgError, ValueError, ArithmeticError):
            return X, False
        if not np.all(np.isfinite(dX)):
            return X, False
        X = X + dX
        if np.linalg.norm(dX) <= tol * (1 + np.linalg.norm(X)):
            return X, True
    return X, False


def tangent(DH, X, previous=None) -> np.ndarray:
    r"""The unit kernel vector of :math:`DH(X)` (:math:`N \times (N+1)`), oriented along ``previous``."""
    M = DH(X)
    _, _, vt = np.linalg.svd(M)
    t = vt[-1]
    if previous is not None and t @ previous < 0:
        t = -t
    return t


def arclength(H, DH, X0, direction, *, step, max_steps, inside, min_step=None, max_step=None):
    r"""Points of the curve :math:`H = 0` from ``X0`` (pseudo-arclength), and their tangents.

    ``direction`` orients the first tangent; ``inside(X)`` stops the
    continuation at the first point for which it is false (that point is
    dropped). Steps adapt: halved when the corrector fails, grown by 1.3
    after a quick convergence, within ``[min_step, max_step]``.
    """
    min_step = step * 1e-6 if min_step is None else min_step
    max_step = step * 4 if max_step is None else max_step
    X, T = np.array(X0, dtype=float), tangent(DH, X0, direction)
    points, tangents, h = [X], [T], step
    while len(points) <= max_steps:
        Xn, ok = corrector(H, DH, X + h * T, T)
        if ok and np.linalg.norm(Xn - X) < 3 * h:
            Tn = tangent(DH, Xn, T)
            if not inside(Xn):
                break
            X, T = Xn, Tn
            points.append(X)
            tangents.append(T)
            h = min(h * 1.3, max_step)
        else:
            h /= 2
            if h < min_step:
                break
    return np.array(points), np.array(tangents)


@dataclass(frozen=True)
class Branch:
    r"""A branch of fixed points :math:`g(\theta; p) = 0` followed in parameter ``parameter``.

    Attributes
    ----------
    parameter : str
    values : numpy.ndarray, shape (n,)
        The parameter at each point.
    points : numpy.ndarray, shape (n, d)
        The fixed points (flat; :meth:`LearningMap.split` for the players' parts).
    eigenvalues : numpy.ndarray, shape (n, d), complex
        Eigenvalues of :math:`J` (the flow).
    multipliers : numpy.ndarray, shape (n, d), complex
        Eigenvalues of :math:`A = I + DJ` (the map), sorted by decreasing modulus.
    stable : numpy.ndarray of bool, shape (n,)
        Map stability (:math:`\max|\mu| < 1`); flow stability
        (:math:`\max\mathrm{Re}\,\lambda < 0`) for ``system="flow"``.
    system : {"map", "flow"}
    tangents : numpy.ndarray, shape (n, d + 1)
    special_points : tuple
        The located bifurcations (:class:`~lola_sym.analysis.bifurcations.SpecialPoint`),
        filled by :func:`~lola_sym.analysis.bifurcations.bifurcation_diagram`.
    lmap : LearningMap
    """

    parameter: str
    values: np.ndarray
    points: np.ndarray
    eigenvalues: np.ndarray
    multipliers: np.ndarray
    stable: np.ndarray
    system: str
    tangents: np.ndarray
    lmap: LearningMap = field(repr=False)
    special_points: tuple = ()

    def __len__(self) -> int:
        return len(self.values)

    def as_dict(self) -> dict:
        """Plain data (complex numbers as ``[re, im]``)."""
        def cx(a):
            return np.stack([a.real, a.imag], axis=-1).tolist()
        return {"parameter": self.parameter, "system": self.system,
                "values": self.values.tolist(), "points": self.points.tolist(),
                "eigenvalues": cx(self.eigenvalues), "multipliers": cx(self.multipliers),
                "stable": self.stable.tolist(),
                "special_points": [s.as_dict() for s in self.special_points]}


def spectra(m: LearningMap, z, over) -> tuple:
    r"""``(eigenvalues of J, multipliers of A)``, each sorted by decreasing modulus / real part."""
    J = m.jacobian(z, over)
    lam = np.linalg.eigvals(J)
    mu = np.linalg.eigvals(np.eye(m.d) + m.rates(over)[:, None] * J)
    return lam[np.argsort(-lam.real, kind="stable")], mu[np.argsort(-np.abs(mu), kind="stable")]


def is_stable(lam, mu, system) -> bool:
    """Map: every multiplier inside the unit circle; flow: every real part negative."""
    return bool(np.max(np.abs(mu)) < 1) if system == "map" else bool(np.max(lam.real) < 0)


def branch_system(m: LearningMap, parameter: str, system: str) -> tuple:
    """``(H, DH)`` of the fixed-point branch in ``X = (z, p)``, checked."""
    if system not in ("map", "flow"):
        raise ValueError(f"system must be 'map' or 'flow', got {system!r}")
    if system == "flow" and m.kind(parameter) in ("delta", "tau"):
        raise ValueError(f"the flow (delta -> 0) has no rate: continue it in one of "
                         f"{[n for n in m.names() if n not in ('delta', 'tau')]}")

    def H(X):
        return m.field(X[:-1], {parameter: X[-1]})

    def DH(X):
        over = {parameter: X[-1]}
        return np.column_stack([m.jacobian(X[:-1], over),
                                m.field_derivative(X[:-1], parameter, X[-1])])
    return H, DH


def continue_branch(m: LearningMap, theta, parameter: str, stop: float, *,
                    start: float | None = None, step: float = 0.05, max_steps: int = 500,
                    system: str = "map", bounds: tuple | None = None) -> Branch:
    r"""Follow the fixed point near ``theta`` as ``parameter`` goes from ``start`` toward ``stop``.

    Parameters
    ----------
    m : LearningMap
    theta : array_like
        A point near a fixed point (flat, or one array per player); corrected by
        Newton at ``start`` first.
    parameter : str
        ``"delta"``, ``"tau"``, a hyper-parameter or a game symbol (:meth:`LearningMap.kind`).
    stop : float
        The continuation ends when the parameter passes it (or leaves
        ``bounds``, by default the interval from ``start`` to ``stop``).
    start : float, optional
        The parameter's first value (default: the map's own).
    step : float
        The first arclength step (it adapts, up to 4 times this).
    max_steps : int
    system : {"map", "flow"}
        Stability of the map (multipliers in the unit circle) or of the flow.
    bounds : (float, float), optional
        Parameter interval to stay in (a branch may turn back at a fold).

    Examples
    --------
    >>> from lola_sym import games
    >>> m = learning_map(games.matching_pennies(), "lola", eta=1.0)
    >>> b = continue_branch(m, [0.0, 0.0], "delta", 3.0, start=1.0, step=0.5)
    >>> bool(b.stable[0]), bool(b.stable[-1]), float(abs(b.points).max())
    (True, False, 0.0)
    """
    step = check_real(step, "step", positive=True)
    max_steps = check_int(max_steps, "max_steps", 1)
    p0 = m.value(parameter) if start is None else check_real(start, "start")
    stop = check_real(stop, "stop")
    if stop == p0:
        raise ValueError(f"stop must differ from start ({p0})")
    lo, hi = (min(p0, stop), max(p0, stop)) if bounds is None else map(float, bounds)
    if not lo <= p0 <= hi:
        raise ValueError(f"start {p0} is outside bounds ({lo}, {hi})")
    H, DH = branch_system(m, parameter, system)
    z0 = newton_fixed_point(m, theta, {parameter: p0})
    X0 = np.append(z0, p0)
    direction = np.zeros(m.d + 1)
    direction[-1] = np.sign(stop - p0)
    span = hi - lo
    X, T = arclength(H, DH, X0, direction, step=step, max_steps=max_steps,
                     inside=lambda X: lo - 1e-12 * span <= X[-1] <= hi + 1e-12 * span)
    X, T = _close(H, DH, X, T, stop, 4 * step)
    return make_branch(m, parameter, X, T, system)


def _close(H, DH, X, T, stop, reach):
    """Append the branch point at parameter ``stop`` exactly when the last point is within ``reach``."""
    if abs(X[-1, -1] - stop) >= reach or X[-1, -1] == stop:
        return X, T
    e = np.zeros(X.shape[1])
    e[-1] = 1.0
    guess = X[-1] + T[-1] * (stop - X[-1, -1]) / T[-1, -1] if abs(T[-1, -1]) > 1e-3 else \
        np.append(X[-1, :-1], stop)
    guess[-1] = stop
    Xs, ok = corrector(H, DH, guess, e)
    if not ok or abs(Xs[-1] - stop) > 1e-12 * (1 + abs(stop)) or \
            np.linalg.norm(Xs - X[-1]) > 2 * reach:
        return X, T
    return np.vstack([X, Xs]), np.vstack([T, tangent(DH, Xs, T[-1])])


def make_branch(m, parameter, X, T, system) -> Branch:
    """The :class:`Branch` of the points ``X`` (rows ``(z, p)``) with their spectra."""
    lams, mus, stable = [], [], []
    for row in X:
        lam, mu = spectra(m, row[:-1], {parameter: row[-1]})
        lams.append(lam)
        mus.append(mu)
        stable.append(is_stable(lam, mu, system))
    return Branch(parameter, X[:, -1].copy(), X[:, :-1].copy(), np.array(lams), np.array(mus),
                  np.array(stable), system, np.array(T), m)
