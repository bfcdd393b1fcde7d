r"""Local stability of learning dynamics at a point: flow, discrete map, game view.

At a point :math:`\theta^*` with field Jacobian :math:`J` (see
:mod:`lola_sym.analysis.jacobian`):

* the **flow** :math:`\dot\theta = g(\theta)` is *stable* if every eigenvalue
  of :math:`J` has negative real part, *unstable* if every one is positive,
  a *saddle* if both signs occur, a *centre* if all are purely imaginary, and
  *non-hyperbolic* when some real part is zero while the others are negative
  (e.g. along a line of fixed points);
* the **discrete map** :math:`\theta + \delta g(\theta)` converges locally iff the
  spectral radius :math:`\rho(I + \delta J) < 1`. With
  :math:`\lambda = a + ib`, :math:`|1 + \delta\lambda| < 1` iff
  :math:`0 < \delta < -2a / |\lambda|^2`, so the supremum of the convergent
  learning rates is :math:`\delta^* = \min_\lambda -2\,\mathrm{Re}\,\lambda / |\lambda|^2`
  (no rate converges if some :math:`\mathrm{Re}\,\lambda \ge 0`);
* the **game view** (losses :math:`L_i = -V_i`, simultaneous gradient
  :math:`\xi = (\nabla_1 L_1, \nabla_2 L_2)`): the game Hessian
  :math:`H = \nabla \xi = -J_{\text{NL}}` with symmetric part :math:`S` and
  antisymmetric part :math:`A`; a *stable fixed point* (SFP) has
  :math:`\xi = 0`, :math:`H \succeq 0` (i.e. :math:`S \succeq 0`) and :math:`H`
  invertible; a *strict saddle* has an eigenvalue of :math:`H` with negative
  real part; a *differential Nash equilibrium* has :math:`\xi = 0` and each
  agent's own block :math:`\nabla_{ii} V_i \prec 0`.

Every function takes one parameter array per player (``*thetas``), so the
same definitions serve :math:`n` players (block :math:`(i, i)` of :math:`H`
is player :math:`i`'s own).

References
----------
.. [1] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. Definitions 1-2 (SFP, strict saddle), Prop. on local convergence.
.. [2] Balduzzi, D. et al. (2018). The Mechanics of n-Player Differentiable Games. ICML.
.. [3] Ratliff, L. et al. (2013). Characterization and computation of local Nash
   equilibria in continuous games. (Differential Nash equilibria.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lola_sym._validation import check_game, as_numeric_array, check_real
from lola_sym.analysis.arguments import need_values, player_arrays, split_values
from lola_sym.analysis.jacobian import jacobian
from lola_sym.analysis.thresholds import exact_lr_threshold  # noqa: F401  (re-exported)

__all__ = ["Stability", "classify", "classify_flow", "classify_map", "game_hessian",
           "lr_threshold", "exact_lr_threshold", "spectral_radius", "EIG_TOL"]

#: Real parts within this (relative to the largest eigenvalue modulus) count as zero.
EIG_TOL = 1e-9


def _eigenvalues(x) -> np.ndarray:
    """Eigenvalues as a non-empty finite complex 1-d array, with a clear error otherwise."""
    arr = as_numeric_array(x, "eigenvalues", "iufc")
    if arr.ndim != 1:
        raise ValueError(f"eigenvalues must be 1-d, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("eigenvalues must hold at least one value")
    if not np.all(np.isfinite(arr)):
        raise ValueError("eigenvalues must be finite (the Jacobian overflowed or is undefined?)")
    return arr.astype(complex)


def _matrix(J) -> np.ndarray:
    """A Jacobian as a finite real square 2-d float array, with a clear error otherwise."""
    arr = as_numeric_array(J, "J", "iuf")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"J must be a square matrix (d, d), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("J must be finite")
    return arr.astype(float)


def classify_flow(eigenvalues, tol: float = EIG_TOL) -> str:
    """Classification of the continuous-time flow from the Jacobian's eigenvalues.

    Examples
    --------
    >>> classify_flow([-1 + 2j, -1 - 2j]), classify_flow([1j, -1j]), classify_flow([-1, 2])
    ('stable', 'centre', 'saddle')
    """
    lam = _eigenvalues(eigenvalues)
    tol = check_real(tol, "tol", positive=True)
    scale = max(1.0, float(np.max(np.abs(lam), initial=0.0)))
    re = lam.real / scale
    neg, pos = re < -tol, re > tol
    zero = ~(neg | pos)
    if pos.any() and neg.any():
        return "saddle"
    if neg.all():
        return "stable"
    if pos.all():
        return "unstable"
    if zero.all() and np.all(np.abs(lam.imag) / scale > tol):
        return "centre"
    if pos.any():
        return "unstable"
    return "non-hyperbolic"


def spectral_radius(J, delta) -> float:
    r""":math:`\rho(I + \delta J)`, the spectral radius of the discrete map's Jacobian.

    Examples
    --------
    >>> spectral_radius([[-1.0, 0.0], [0.0, -3.0]], 0.5)
    0.5
    """
    J = _matrix(J)
    delta = check_real(delta, "delta", positive=True)
    return float(np.max(np.abs(np.linalg.eigvals(np.eye(J.shape[-1]) + delta * J))))


def classify_map(J, delta, tol: float = EIG_TOL) -> str:
    """``"converges"``, ``"diverges"`` or ``"marginal"`` for the map at rate ``delta``.

    Examples
    --------
    >>> classify_map([[0.0, -1.0], [1.0, 0.0]], 0.1)
    'diverges'
    """
    tol = check_real(tol, "tol", positive=True)
    rho = spectral_radius(J, delta)
    return "converges" if rho < 1 - tol else "diverges" if rho > 1 + tol else "marginal"


def lr_threshold(eigenvalues, tol: float = EIG_TOL) -> float:
    r"""Supremum :math:`\delta^*` of the rates with :math:`\rho(I + \delta J) < 1` (numeric).

    Zero eigenvalues (directions along a set of fixed points) are ignored, and
    ``inf`` is returned when every eigenvalue is zero; ``0.0`` when some
    eigenvalue has non-negative real part (no rate converges). "Zero" is
    relative to ``tol`` (finite, > 0) times ``max(1, max|lambda|)``, so a
    Jacobian whose eigenvalues are all below ``tol`` in modulus counts as zero.
    :func:`exact_lr_threshold` follows the same conventions exactly.

    Examples
    --------
    >>> round(lr_threshold([-1 + 1j, -1 - 1j]), 12)   # -2 * (-1) / 2
    1.0
    """
    lam = _eigenvalues(eigenvalues)
    tol = check_real(tol, "tol", positive=True)
    scale = max(1.0, float(np.max(np.abs(lam), initial=0.0)))
    lam = lam[np.abs(lam) / scale > tol]
    if lam.size == 0:
        return float("inf")
    if np.any(lam.real / scale >= -tol):
        return 0.0
    r = np.abs(lam)
    return float(np.min(-2 * (lam.real / r) / r))      # |lambda|^2 would overflow beyond 1e154


def game_hessian(game, *thetas, parameters=None, **values) -> np.ndarray:
    r"""The game Hessian :math:`H = \nabla\xi` of the losses :math:`L_i = -V_i`, shape (d, d).

    One parameter array per player; block :math:`(i, j)` is
    :math:`\nabla_j \nabla_i L_i`. A game with symbols needs their values, as
    keywords (``a=2.0``) or ``parameters={"a": 2.0, ...}``.

    Examples
    --------
    >>> from lola_sym import games
    >>> game_hessian(games.tandem(), [0.0], [0.0]).tolist()
    [[2.0, 2.0], [2.0, 2.0]]
    >>> game_hessian(games.contribution(3, "1.5", memory=0), [0.0], [0.0], [0.0]).shape
    (3, 3)
    """
    check_game(game)
    return -jacobian(game, "nl", *thetas, parameters=parameters, **values)


@dataclass(frozen=True)
class Stability:
    """The result of :func:`classify` at one point (see the module docstring).

    ``thetas`` holds each player's parameters (``theta1``, ``theta2`` are the
    first two); ``parameters`` the values of the game's symbols used.
    """

    rule: str
    hyper: dict
    thetas: tuple
    residual: float
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    flow: str
    lr_threshold: float
    delta: float | None
    spectral_radius: float | None
    map: str | None
    game_hessian: np.ndarray
    stable_fixed_point: bool
    strict_saddle: bool
    differential_nash: bool
    parameters: dict = field(default_factory=dict)

    @property
    def theta1(self) -> np.ndarray:
        """Player 1's parameters."""
        return self.thetas[0]

    @property
    def theta2(self) -> np.ndarray:
        """Player 2's parameters."""
        return self.thetas[1]

    @property
    def symmetric(self) -> np.ndarray:
        """Symmetric part :math:`S = (H + H^T)/2` of the game Hessian."""
        return (self.game_hessian + self.game_hessian.T) / 2

    @property
    def antisymmetric(self) -> np.ndarray:
        """Antisymmetric part :math:`A = (H - H^T)/2` of the game Hessian."""
        return (self.game_hessian - self.game_hessian.T) / 2

    def as_dict(self) -> dict:
        """JSON-able summary; the players' parameters as ``theta1``, ``theta2``, ..."""
        def cx(z):
            return [[float(v.real), float(v.imag)] for v in z]
        return {"rule": self.rule, "hyper": dict(self.hyper),
                **{f"theta{i}": t.tolist() for i, t in enumerate(self.thetas, 1)},
                "residual": self.residual,
                "eigenvalues": cx(self.eigenvalues), "flow": self.flow,
                "lr_threshold": self.lr_threshold, "delta": self.delta,
                "spectral_radius": self.spectral_radius, "map": self.map,
                "stable_fixed_point": self.stable_fixed_point,
                "strict_saddle": self.strict_saddle, "differential_nash": self.differential_nash,
                **({"parameters": dict(self.parameters)} if self.parameters else {})}


def classify(game, rule, *thetas, delta: float | None = None, tol: float = EIG_TOL,
             fixed_tol: float = 1e-8, parameters=None, **settings) -> Stability:
    r"""Classify ``rule``'s dynamics at one point.

    Parameters
    ----------
    game, rule
        As in :func:`lola_sym.update_field`.
    *thetas : array_like
        The point: one array per player, shapes ``(d_1,)``, ..., ``(d_n,)``.
    delta : float, optional
        A learning rate (> 0) at which to classify the discrete map.
    tol : float
        Relative tolerance for zero real parts (finite, > 0).
    fixed_tol : float
        Largest residual :math:`\max|\xi_k|` for the SFP / Nash tests, which
        only apply at fixed points of the game's gradient (finite, > 0).
    parameters : mapping, optional
        Values of the game's symbols (``game.parameters``), e.g. ``{"a": 2.0}``,
        the same as keywords (needed only for a symbol named like a
        hyper-parameter of the rule).
    **settings
        The rule's hyper-parameters and the game's symbol values (scalars):
        a game with symbols needs a value for each (a numeric classification
        cannot keep them; :func:`exact_lr_threshold` does).

    Raises
    ------
    ValueError, TypeError
        For a non-finite, non-positive or non-numeric ``delta``, ``tol`` or
        ``fixed_tol``, a wrong number of players, bad points,
        hyper-parameters or symbol values; the message names the argument.

    Examples
    --------
    >>> from lola_sym import games
    >>> s = classify(games.matching_pennies(), "nl", [0.0], [0.0], delta=0.1)
    >>> s.flow, s.map, s.lr_threshold, s.differential_nash
    ('centre', 'diverges', 0.0, False)
    >>> classify(games.matching_pennies(), "lola", [0.0], [0.0], delta=1.0, eta=1.0).map
    'converges'
    >>> import sympy as sp
    >>> a, x, y = sp.Symbol("a", real=True), *sp.symbols("x y", real=True)
    >>> saddle = games.differentiable(a * x ** 2 / 2, -y ** 2 / 2, [x], [y], name="a-saddle")
    >>> classify(saddle, "nl", [0.0], [0.0], a=1.0).flow
    'saddle'
    >>> classify(saddle, "nl", [0.0], [0.0], parameters={"a": -1.0}).flow
    'stable'
    """
    check_game(game)
    from lola_sym.field import update_field
    tol = check_real(tol, "tol", positive=True)
    fixed_tol = check_real(fixed_tol, "fixed_tol", positive=True)
    if delta is not None:
        delta = check_real(delta, "delta", positive=True)
    hyper, values = split_values(game, rule, settings, parameters)
    ts = [np.array(t, dtype=float) for t in player_arrays(game, thetas, "classify")]
    if any(t.ndim != 1 for t in ts):
        raise ValueError(f"classify takes one point: theta1..theta{len(ts)} must be 1-d")
    need_values(game, values, "classification", "exact_lr_threshold")
    if any(np.ndim(v) != 0 for v in values.values()):
        raise ValueError("classify takes one point: every value of a game symbol must be a "
                         "scalar")
    J = jacobian(game, rule, *ts, parameters=values, **hyper)    # checks the values
    given = {k: float(v) for k, v in values.items()}
    f = update_field(game, rule, **hyper)
    res = float(max(np.max(np.abs(g)) for g in f(*ts, **given)))
    lam = np.linalg.eigvals(J)
    lam = lam[np.lexsort((lam.imag, lam.real))]
    rho = mp = None
    if delta is not None:
        rho = spectral_radius(J, delta)
        mp = classify_map(J, delta, tol)
    H = game_hessian(game, *ts, parameters=given)
    xi = update_field(game, "nl")(*ts, **given)
    at_fixed = max(np.max(np.abs(x)) for x in xi) <= fixed_tol
    eig_h = np.linalg.eigvals(H)
    scale = max(1.0, float(np.max(np.abs(eig_h), initial=0.0)))
    S = (H + H.T) / 2
    eig_s = np.linalg.eigvalsh(S)
    invertible = np.min(np.abs(eig_h)) / scale > tol
    sfp = bool(at_fixed and invertible and np.all(eig_s / scale >= -tol))
    strict_saddle = bool(at_fixed and np.any(eig_h.real / scale < -tol))
    bounds = np.cumsum((0,) + tuple(game.dims))
    own = [np.linalg.eigvalsh(S[lo:hi, lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    nash = bool(at_fixed and all(np.all(e / scale > tol) for e in own))
    return Stability(f.rule.name, {**f.hyper, **f.options}, tuple(ts), res, J, lam,
                     classify_flow(lam, tol), lr_threshold(lam, tol), delta, rho, mp, H, sfp,
                     strict_saddle, nash, given)
