r"""Local stability of learning dynamics at a point: flow, discrete map, game view.

At a point :math:`\theta^*` with field Jacobian :math:`J` (see
:mod:`lola_sym.jacobian`):

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

References
----------
.. [1] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. Definitions 1-2 (SFP, strict saddle), Prop. on local convergence.
.. [2] Balduzzi, D. et al. (2018). The Mechanics of n-Player Differentiable Games. ICML.
.. [3] Ratliff, L. et al. (2013). Characterization and computation of local Nash
   equilibria in continuous games. (Differential Nash equilibria.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from lola_sym._validation import as_params, check_real
from lola_sym.jacobian import exact_jacobian, jacobian

__all__ = ["Stability", "classify", "classify_flow", "classify_map", "game_hessian",
           "lr_threshold", "exact_lr_threshold", "spectral_radius", "EIG_TOL"]

#: Real parts within this (relative to the largest eigenvalue modulus) count as zero.
EIG_TOL = 1e-9


def _eigenvalues(x) -> np.ndarray:
    """Eigenvalues as a non-empty finite complex 1-d array, with a clear error otherwise."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"eigenvalues must be an array of numbers, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"eigenvalues are not a regular array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in "iufc":
        raise TypeError(f"eigenvalues must be numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"eigenvalues must be 1-d, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("eigenvalues must hold at least one value")
    if not np.all(np.isfinite(arr)):
        raise ValueError("eigenvalues must be finite (the Jacobian overflowed or is undefined?)")
    return arr.astype(complex)


def _matrix(J) -> np.ndarray:
    """A Jacobian as a finite real square 2-d float array, with a clear error otherwise."""
    if isinstance(J, (str, bytes)) or J is None:
        raise TypeError(f"J must be a real square matrix, got {type(J).__name__}")
    try:
        arr = np.asarray(J)
    except Exception as exc:
        raise ValueError(f"J is not a regular array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"J must be a real matrix, got dtype {arr.dtype}")
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
    return float(np.min(-2 * lam.real / np.abs(lam) ** 2))


def exact_lr_threshold(game, rule, theta1, theta2, **hyper):
    r"""The exact :math:`\delta^*` at a point, a sympy expression right for every rate.

    From the characteristic polynomial of the exact Jacobian
    (:func:`~lola_sym.jacobian.exact_jacobian`, whose arguments this takes),
    factored over the rationals in the rates left symbolic (given as sympy
    Symbols or not given; they are taken positive). Each factor contributes, by
    the definition :math:`\delta^* = \min_\lambda -2\,\mathrm{Re}\,\lambda / |\lambda|^2`
    over the non-zero eigenvalues, or 0 if one of them has
    :math:`\mathrm{Re}\,\lambda \ge 0`:

    * a linear factor :math:`\lambda - r`: :math:`-2/r` if :math:`r < 0`, no
      rate converges if :math:`r > 0`, nothing if :math:`r = 0`;
    * a quadratic :math:`\lambda^2 + p\lambda + q`, :math:`D = p^2 - 4q`:
      complex pair (:math:`D < 0`): :math:`p/q` if :math:`p > 0`, none if
      :math:`p \le 0` (purely imaginary at :math:`p = 0`); real roots
      (:math:`D \ge 0`): none if :math:`p < 0` or :math:`q < 0`, else
      :math:`4/(p + \sqrt D)` (the more negative root) if :math:`p > 0`, nothing
      if :math:`p = q = 0`.

    With one rate (say :math:`\eta`) and rational coefficients, the sign
    changes of :math:`r`, :math:`p`, :math:`q`, :math:`D` split
    :math:`\eta > 0` into intervals and points, and the result is a
    ``Piecewise`` with one branch per interval (equal neighbours merged) and
    exceptional points first: ``0`` where no rate converges, ``oo`` where every
    eigenvalue is 0 (e.g. :math:`J = 0`: every rate keeps the point), ``nan``
    where the rule has a pole. Tandem under LOLA (eigenvalues 0 and
    :math:`8\eta - 4`) gives :math:`\infty` at :math:`\eta = 1/2`,
    :math:`1/(2 - 4\eta)` below and 0 above. A single branch comes back as a
    plain expression. Coefficients that are not rational in the rate (e.g.
    :math:`\sigma(\eta)` in exact LOLA on sigmoid games) give a ``Piecewise``
    whose conditions are the signs of :math:`r, p, q, D` themselves, exact for
    every rate. With every rate given the result is a number. Numeric
    counterpart: :func:`lr_threshold` (same conventions).

    Raises
    ------
    ValueError
        For an irreducible factor of degree > 2 with symbolic rates (no closed
        form: give the rates as numbers), and for bad arguments (as
        :func:`~lola_sym.jacobian.exact_jacobian`).

    Examples
    --------
    >>> from lola_sym import games
    >>> exact_lr_threshold(games.matching_pennies(), "lola", [0], [0])
    32*eta/(eta**2 + 16)
    >>> exact_lr_threshold(games.matching_pennies(), "nl", [0], [0])
    0
    >>> exact_lr_threshold(games.tandem(), "lola", [0], [0])
    Piecewise((oo, Eq(eta, 1/2)), (-1/(2*(2*eta - 1)), eta < 1/2), (0, True))
    """
    J = exact_jacobian(game, rule, theta1, theta2, **hyper)
    rates = sorted(J.free_symbols, key=str)
    positive = {s: sp.Symbol(s.name, positive=True) for s in rates}
    back = {v: k for k, v in positive.items()}
    factors = _eigen_factors(J.xreplace(positive))
    rates = [positive[s] for s in rates]
    if not rates:
        out = _threshold(factors, _sign)
    else:
        for f in factors:
            if f[0] == "poly":
                raise ValueError(
                    f"the characteristic polynomial has an irreducible factor of degree "
                    f"{sp.degree(f[1], _LAM)} in lambda: no closed-form threshold in "
                    f"{', '.join(map(str, rates))}; give the rates as numbers, or use "
                    f"lr_threshold on the eigenvalues of jacobian(...)")
        if len(rates) == 1 and all(_is_rational_in(c, rates[0]) for f in factors for c in f[1:]):
            out = _threshold_by_intervals(factors, rates[0])
        else:
            out = _threshold_conditions(factors)
    return out.xreplace(back)


_LAM = sp.Symbol("_lambda_eig")


def _eigen_factors(J) -> list:
    r"""The eigenvalues as irreducible factors of the characteristic polynomial.

    ``("linear", r)`` for :math:`\lambda - r`, ``("quadratic", p, q)`` for
    :math:`\lambda^2 + p\lambda + q`, ``("poly", f)`` otherwise; identically
    zero factors :math:`\lambda` are dropped (ignored eigenvalues).
    """
    coeffs = J.charpoly(_LAM, simplify=lambda e: e).all_coeffs()       # monic
    rational = not any(c.atoms(sp.Function) for c in coeffs)   # no sigmoid(eta), say
    coeffs = [sp.cancel(c) if rational else sp.expand(c) for c in coeffs]
    while len(coeffs) > 1 and coeffs[-1] == 0:       # eigenvalues that are identically 0
        coeffs.pop()
    cp = sp.Poly(coeffs, _LAM).as_expr()
    # factor over the rationals in the rates (sympy would take sigmoid(eta) as a generator)
    factors = sp.factor_list(cp)[1] if rational else [(cp, 1)]
    out = []
    for f, _ in factors:
        if not f.has(_LAM):
            continue
        poly = sp.Poly(f, _LAM)
        c = [a if poly.LC() == 1 else sp.cancel(a / poly.LC()) for a in poly.all_coeffs()]
        if poly.degree() == 1:
            out.append(("linear", -c[1]))
        elif poly.degree() == 2:
            out.append(("quadratic", c[1], c[2]))
        else:
            out.append(("poly", f))
    return out


def _is_rational_in(expr, x) -> bool:
    num, den = sp.fraction(sp.cancel(expr))
    try:
        return all(sp.Poly(e, x).domain in (sp.ZZ, sp.QQ) for e in (num, den))
    except sp.PolynomialError:
        return False


def _threshold(factors, sign):
    r""":math:`\delta^*` as an expression, given ``sign(expr) -> -1, 0, 1`` (or None: a pole)."""
    cands = []
    for kind, *c in factors:
        if kind == "linear":
            (r,) = c
            s = sign(r)
            if s is None:
                return sp.nan
            if s > 0:
                return sp.S.Zero
            if s < 0:
                cands.append(-2 / r)
        elif kind == "quadratic":
            p, q = c
            disc = p ** 2 - 4 * q
            sd, sp_, sq = sign(disc), sign(p), sign(q)
            if None in (sd, sp_, sq):
                return sp.nan
            if sd < 0:
                if sp_ <= 0:
                    return sp.S.Zero
                cands.append(p / q)
            elif sp_ < 0 or sq < 0:
                return sp.S.Zero
            elif sp_ > 0:
                cands.append(4 / (p + sp.sqrt(disc)))
        else:
            for z in _roots(c[0]):
                re = sp.re(z)
                s = sign(re)
                if s > 0 or (s == 0 and sign(sp.im(z)) != 0):
                    return sp.S.Zero
                if s < 0:
                    cands.append(-2 * re / (re ** 2 + sp.im(z) ** 2))
    cands = list(dict.fromkeys(_tidy(e) for e in cands))
    return sp.oo if not cands else cands[0] if len(cands) == 1 else sp.Min(*cands)


def _roots(f) -> list:
    """Every root (with multiplicity, exact) of a polynomial in lambda with numeric coefficients."""
    poly = sp.Poly(f, _LAM)
    try:
        return poly.all_roots()             # CRootOf, for rational coefficients
    except (NotImplementedError, sp.PolynomialError, sp.DomainError):
        found = sp.roots(poly, multiple=True)
    if len(found) != poly.degree():
        raise ValueError(f"no closed form for the roots of the degree-{poly.degree()} factor "
                         f"{f} of the characteristic polynomial; use lr_threshold on the "
                         f"eigenvalues of jacobian(...)")
    return found


def _tidy(e):
    e = sp.cancel(e) if e.is_rational_function() else e
    e = sp.factor(e) if e.is_rational_function() else e
    return sp.simplify(e) if not e.is_rational_function() and sp.count_ops(e) < 100 else e


def _sign(x):
    """The sign of an exact real number: -1, 0 or 1 (evaluated to 60, then 600 digits)."""
    if x.is_zero:
        return 0
    if x.is_extended_positive:
        return 1
    if x.is_extended_negative:
        return -1
    for digits in (60, 600):
        v = sp.re(x.evalf(digits))
        if v.is_Number and abs(v) > sp.Float(10) ** (-digits // 2):
            return 1 if v > 0 else -1
    if x.equals(0):
        return 0
    raise ValueError(f"could not decide the sign of {x}")


def _poly_sign_at(poly, c) -> int:
    """Sign of a rational polynomial at an algebraic number ``c`` (exactly 0 decided exactly)."""
    if c.is_Rational:
        return _sign(poly.eval(c))
    m = sp.Poly(sp.minimal_polynomial(c, poly.gen), poly.gen)
    return 0 if poly.rem(m).is_zero else _sign(poly.as_expr().subs(poly.gen, c))


def _threshold_by_intervals(factors, x):
    r"""``Piecewise`` over :math:`x > 0`: one branch per interval between sign changes."""
    parts = []                  # (numerator, denominator) polynomials of every r, p, q, D
    for kind, *c in factors:
        exprs = c if kind == "linear" else [c[0], c[1], c[0] ** 2 - 4 * c[1]]
        for e in exprs:
            num, den = sp.fraction(sp.cancel(e))
            parts.append((sp.Poly(num, x), sp.Poly(den, x)))
    crit = set()
    for num, den in parts:
        for poly in (num, den):
            if poly.degree() > 0:
                crit.update(r for r in sp.real_roots(poly) if r.is_positive)
    crit = sorted(crit, key=lambda r: r.evalf(60))

    def rational_sign(e, value):
        num, den = sp.fraction(sp.cancel(e))
        sd = _poly_sign_at(sp.Poly(den, x), value)
        return None if sd == 0 else _poly_sign_at(sp.Poly(num, x), value) * sd

    bounds = [sp.S.Zero] + crit
    samples = [_between(lo, hi) for lo, hi in zip(bounds, bounds[1:])] + [
        sp.floor(bounds[-1].evalf(30)) + 1]
    cells = [_threshold(factors, lambda e, v=v: rational_sign(e, v)) for v in samples]
    points = []
    for k, c in enumerate(crit):
        value = _at(_threshold(factors, lambda e: rational_sign(e, c)), x, c)
        if _same(value, _at(cells[k + 1], x, c)):
            continue            # the next interval's branch covers the point
        if _same(value, _at(cells[k], x, c)) and _same(cells[k], cells[k + 1]):
            continue
        points.append((value, sp.Eq(x, c)))
    pieces = []
    for k, e in enumerate(cells):
        cond = x < crit[k] if k < len(crit) else sp.true
        if pieces and _same(pieces[-1][0], e):
            pieces[-1] = (e, cond)
        else:
            pieces.append((e, cond))
    if not points and len(pieces) == 1:
        return pieces[0][0]
    return sp.Piecewise(*points, *pieces[:-1], (pieces[-1][0], True))


def _same(a, b) -> bool:
    """Equal expressions (``oo`` equals only ``oo``; ``nan`` and ``zoo`` nothing)."""
    if a.has(sp.nan, sp.zoo) or b.has(sp.nan, sp.zoo):
        return False
    return a == b or (a.is_finite is not False and b.is_finite is not False
                      and sp.simplify(a - b) == 0)


def _at(e, x, c):
    """``e`` at ``x = c``, simplified (``zoo`` at a pole of ``e``)."""
    v = e.subs(x, c)
    return sp.radsimp(sp.simplify(v)) if v.is_finite is not False and not v.has(sp.zoo) else v


def _between(lo, hi):
    """A rational strictly between two real algebraic numbers."""
    return sp.Rational(str((lo.evalf(40) + hi.evalf(40)) / 2))


def _threshold_conditions(factors):
    r"""``Piecewise`` whose conditions are the signs of :math:`r, p, q, D` (any coefficients)."""
    unstable, cands = [], []
    for kind, *c in factors:
        if kind == "linear":
            (r,) = c
            unstable.append(r > 0)
            cands.append(sp.Piecewise((-2 / r, r < 0), (sp.oo, True)))
        else:
            p, q = c
            disc = sp.expand(p ** 2 - 4 * q)
            unstable.append(sp.Or(sp.And(disc < 0, p <= 0), sp.And(disc >= 0, sp.Or(p < 0, q < 0))))
            cands.append(sp.Piecewise((p / q, disc < 0), (4 / (p + sp.sqrt(disc)), p > 0),
                                      (sp.oo, True)))
    return sp.Piecewise((sp.S.Zero, sp.Or(*unstable)), (sp.Min(*cands), True))


def game_hessian(game, theta1, theta2) -> np.ndarray:
    r"""The game Hessian :math:`H = \nabla\xi` of the losses :math:`L_i = -V_i`, shape (d, d).

    Examples
    --------
    >>> from lola_sym import games
    >>> game_hessian(games.tandem(), [0.0], [0.0]).tolist()
    [[2.0, 2.0], [2.0, 2.0]]
    """
    return -jacobian(game, "nl", theta1, theta2)


@dataclass(frozen=True)
class Stability:
    """The result of :func:`classify` at one point (see the module docstring)."""

    rule: str
    hyper: dict
    theta1: np.ndarray
    theta2: np.ndarray
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

    @property
    def symmetric(self) -> np.ndarray:
        """Symmetric part :math:`S = (H + H^T)/2` of the game Hessian."""
        return (self.game_hessian + self.game_hessian.T) / 2

    @property
    def antisymmetric(self) -> np.ndarray:
        """Antisymmetric part :math:`A = (H - H^T)/2` of the game Hessian."""
        return (self.game_hessian - self.game_hessian.T) / 2

    def as_dict(self) -> dict:
        def cx(z):
            return [[float(v.real), float(v.imag)] for v in z]
        return {"rule": self.rule, "hyper": dict(self.hyper), "theta1": self.theta1.tolist(),
                "theta2": self.theta2.tolist(), "residual": self.residual,
                "eigenvalues": cx(self.eigenvalues), "flow": self.flow,
                "lr_threshold": self.lr_threshold, "delta": self.delta,
                "spectral_radius": self.spectral_radius, "map": self.map,
                "stable_fixed_point": self.stable_fixed_point,
                "strict_saddle": self.strict_saddle, "differential_nash": self.differential_nash}


def classify(game, rule, theta1, theta2, *, delta: float | None = None, tol: float = EIG_TOL,
             fixed_tol: float = 1e-8, **hyper) -> Stability:
    r"""Classify ``rule``'s dynamics at one point.

    Parameters
    ----------
    game, rule, **hyper
        As in :func:`lola_sym.update_field`.
    theta1, theta2 : array_like
        The point, shapes ``(d1,)`` and ``(d2,)``.
    delta : float, optional
        A learning rate (> 0) at which to classify the discrete map.
    tol : float
        Relative tolerance for zero real parts (finite, > 0).
    fixed_tol : float
        Largest residual :math:`\max|\xi_k|` for the SFP / Nash tests, which
        only apply at fixed points of the game's gradient (finite, > 0).

    Raises
    ------
    ValueError, TypeError
        For a non-finite, non-positive or non-numeric ``delta``, ``tol`` or
        ``fixed_tol``, and bad points or hyper-parameters; the message names
        the argument.

    Examples
    --------
    >>> from lola_sym import games
    >>> s = classify(games.matching_pennies(), "nl", [0.0], [0.0], delta=0.1)
    >>> s.flow, s.map, s.lr_threshold, s.differential_nash
    ('centre', 'diverges', 0.0, False)
    >>> classify(games.matching_pennies(), "lola", [0.0], [0.0], delta=1.0, eta=1.0).map
    'converges'
    """
    from lola_sym.field import update_field
    tol = check_real(tol, "tol", positive=True)
    fixed_tol = check_real(fixed_tol, "fixed_tol", positive=True)
    if delta is not None:
        delta = check_real(delta, "delta", positive=True)
    d1, d2 = game.dims
    t1 = np.array(as_params(theta1, "theta1", d1), dtype=float)
    t2 = np.array(as_params(theta2, "theta2", d2), dtype=float)
    if t1.ndim != 1 or t2.ndim != 1:
        raise ValueError("classify takes one point: theta1 and theta2 must be 1-d")
    f = update_field(game, rule, **hyper)
    g1, g2 = f(t1, t2)
    res = float(max(np.max(np.abs(g1)), np.max(np.abs(g2))))
    J = jacobian(game, rule, t1, t2, **hyper)
    lam = np.linalg.eigvals(J)
    lam = lam[np.lexsort((lam.imag, lam.real))]
    rho = mp = None
    if delta is not None:
        rho = spectral_radius(J, delta)
        mp = classify_map(J, delta, tol)
    H = game_hessian(game, t1, t2)
    xi = update_field(game, "nl")(t1, t2)
    at_fixed = max(np.max(np.abs(xi[0])), np.max(np.abs(xi[1]))) <= fixed_tol
    eig_h = np.linalg.eigvals(H)
    scale = max(1.0, float(np.max(np.abs(eig_h), initial=0.0)))
    S = (H + H.T) / 2
    eig_s = np.linalg.eigvalsh(S)
    invertible = np.min(np.abs(eig_h)) / scale > tol
    sfp = bool(at_fixed and invertible and np.all(eig_s / scale >= -tol))
    strict_saddle = bool(at_fixed and np.any(eig_h.real / scale < -tol))
    own1 = np.linalg.eigvalsh((H[:d1, :d1] + H[:d1, :d1].T) / 2)
    own2 = np.linalg.eigvalsh((H[d1:, d1:] + H[d1:, d1:].T) / 2)
    nash = bool(at_fixed and np.all(own1 / scale > tol) and np.all(own2 / scale > tol))
    return Stability(f.rule.name, {**f.hyper, **f.options}, t1, t2, res, J, lam,
                     classify_flow(lam, tol), lr_threshold(lam, tol), delta, rho, mp, H, sfp,
                     strict_saddle, nash)
