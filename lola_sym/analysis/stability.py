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
* **per-agent rates** :math:`\delta = (\delta_1, \dots, \delta_n)` (e.g. a
  timescale ratio :math:`\tau = \delta_2 / \delta_1`) make the map's
  Jacobian :math:`I + D J` with :math:`D = \operatorname{diag}(\delta_i I_{d_i})`;
  for rates :math:`\delta_i = s\,r_i` on a common scale :math:`s` with fixed
  ratios :math:`r`, the same formula applied to the eigenvalues of
  :math:`\operatorname{diag}(r) J` gives the threshold :math:`s^*` on the scale
  (:func:`ratio_lr_threshold`);
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
from typing import Any

import numpy as np

from lola_sym._validation import check_game, as_numeric_array, check_real
from lola_sym.analysis.arguments import need_values, player_arrays, split_values
from lola_sym.analysis.jacobian import jacobian
from lola_sym.analysis.thresholds import exact_lr_threshold  # noqa: F401  (re-exported)

__all__ = ["Stability", "classify", "classify_flow", "classify_map", "game_hessian",
           "lr_threshold", "exact_lr_threshold", "spectral_radius", "rate_vector",
           "ratio_lr_threshold", "EIG_TOL"]

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


def rate_vector(delta, d: int, dims=None) -> np.ndarray:
    r"""One learning rate per coordinate, shape ``(d,)``, from a common or per-agent ``delta``.

    ``delta`` is a number (the common rate), one rate per agent (with ``dims``,
    the agents' numbers of parameters, summing to ``d``), or one rate per
    coordinate (``d`` of them). Every rate must be finite and > 0.

    Examples
    --------
    >>> rate_vector(0.5, 2).tolist(), rate_vector((0.1, 1.0), 3, dims=(1, 2)).tolist()
    ([0.5, 0.5], [0.1, 1.0, 1.0])
    >>> rate_vector((0.1, 1.0), 3)
    Traceback (most recent call last):
    ...
    ValueError: delta has 2 rates: give one per agent with dims=(d_1, ..., d_n) (summing to 3), or one per coordinate (3)
    """
    if not isinstance(delta, (list, tuple, np.ndarray)):
        return np.full(d, check_real(delta, "delta", positive=True))
    rates = [check_real(x, f"delta[{i}]", positive=True)
             for i, x in enumerate(np.asarray(delta, dtype=object).ravel())]
    if np.ndim(delta) != 1:
        raise ValueError(f"delta must be a number or a 1-d sequence of rates, got shape "
                         f"{np.shape(delta)}")
    if dims is not None:
        dims = tuple(int(x) for x in dims)
        if sum(dims) != d or any(x < 1 for x in dims):
            raise ValueError(f"dims {dims} must be positive and sum to the dimension {d}")
        if len(rates) == len(dims):
            return np.repeat(np.array(rates, dtype=float), dims)
    if len(rates) == d:
        return np.array(rates, dtype=float)
    raise ValueError(f"delta has {len(rates)} rates: give one per agent with dims=(d_1, ..., "
                     f"d_n) (summing to {d}), or one per coordinate ({d})")


def spectral_radius(J, delta, dims=None) -> float:
    r""":math:`\rho(I + D J)`, the spectral radius of the discrete map's Jacobian.

    ``delta`` is the common rate (:math:`D = \delta I`) or one rate per agent
    (with ``dims``) or per coordinate (:func:`rate_vector`).

    Examples
    --------
    >>> spectral_radius([[-1.0, 0.0], [0.0, -3.0]], 0.5)
    0.5
    >>> spectral_radius([[-1.0, 0.0], [0.0, -3.0]], (0.5, 0.1), dims=(1, 1))
    0.7
    """
    J = _matrix(J)
    D = rate_vector(delta, J.shape[0], dims)
    return float(np.max(np.abs(np.linalg.eigvals(np.eye(J.shape[-1]) + D[:, None] * J))))


def classify_map(J, delta, tol: float = EIG_TOL, dims=None) -> str:
    """``"converges"``, ``"diverges"`` or ``"marginal"`` for the map at rate ``delta``.

    ``delta`` as in :func:`spectral_radius` (per-agent rates need ``dims``).

    Examples
    --------
    >>> classify_map([[0.0, -1.0], [1.0, 0.0]], 0.1)
    'diverges'
    >>> J = [[-1.0, -1.0], [1.0, -1.0]]
    >>> classify_map(J, 0.5), classify_map(J, (0.1, 2.5), dims=(1, 1))
    ('converges', 'diverges')
    """
    tol = check_real(tol, "tol", positive=True)
    rho = spectral_radius(J, delta, dims)
    return "converges" if rho < 1 - tol else "diverges" if rho > 1 + tol else "marginal"


def ratio_lr_threshold(J, ratios, dims=None, tol: float = EIG_TOL) -> float:
    r"""Supremum :math:`s^*` of the scales :math:`s` with :math:`\rho(I + s\,\mathrm{diag}(r) J) < 1`.

    Per-agent rates :math:`\delta_i = s\, r_i` with fixed ``ratios`` :math:`r`
    (e.g. ``(1, tau)`` for :math:`\tau = \delta_2/\delta_1`, so that
    :math:`s = \delta_1`): :func:`lr_threshold` of the eigenvalues of
    :math:`\mathrm{diag}(r) J`. ``ratios`` as ``delta`` of :func:`rate_vector`.

    Examples
    --------
    >>> J = [[-1.0, -1.0], [1.0, -1.0]]          # eigenvalues -1 +- i: threshold 1
    >>> round(ratio_lr_threshold(J, (1.0, 1.0), dims=(1, 1)), 12)
    1.0
    >>> round(ratio_lr_threshold(J, (1.0, 3.0), dims=(1, 1)), 12)   # diag(1, 3) J: -2 +- i sqrt(2)
    0.666666666667
    """
    J = _matrix(J)
    r = rate_vector(ratios, J.shape[0], dims)
    return lr_threshold(np.linalg.eigvals(r[:, None] * J), tol)


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
    delta: float | tuple | None
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
    delta : float or sequence of float, optional
        A learning rate (> 0) at which to classify the discrete map, or one
        rate per agent (:math:`\delta_1 \ne \delta_2`; the map's Jacobian is
        :math:`I + \mathrm{diag}(\delta_i) J`).
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
    >>> [classify(games.matching_pennies(), "lola", [0.0], [0.0], delta=d, eta=1.0).map
    ...  for d in (2.0, (0.5, 3.0))]                  # per-agent rates
    ['diverges', 'converges']
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
        if isinstance(delta, (list, tuple, np.ndarray)):
            if np.ndim(delta) != 1 or len(delta) != len(game.dims):
                raise ValueError(f"delta takes one rate or one per agent ({len(game.dims)}), "
                                 f"got {np.size(delta)}")
            rate_vector(delta, sum(game.dims), tuple(game.dims))     # checked now
            delta = tuple(float(x) for x in delta)
        else:
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
    given: dict[str, Any] = {k: float(v) for k, v in values.items()}
    f = update_field(game, rule, **hyper)
    res = float(max(np.max(np.abs(g)) for g in f(*ts, **given)))
    lam = np.linalg.eigvals(J)
    lam = lam[np.lexsort((lam.imag, lam.real))]
    rho = mp = None
    if delta is not None:
        rho = spectral_radius(J, delta, tuple(game.dims))
        mp = classify_map(J, delta, tol, tuple(game.dims))
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
