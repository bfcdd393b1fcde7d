r"""Period-k orbits of the learning map, found by Newton's method and classified.

A period-:math:`k` orbit of :math:`F(\theta) = \theta + D g(\theta)`
(:mod:`lola_sym.analysis.continuation`) is a point :math:`\theta_0` with
:math:`F^k(\theta_0) = \theta_0`; its points are
:math:`\theta_{j+1} = F(\theta_j)`. :func:`find_orbit` solves
:math:`R(\theta_0) = F^k(\theta_0) - \theta_0 = 0` by Newton's method with the
exact Jacobian of :math:`F^k`, chained along the orbit,

.. math:: M = A(\theta_{k-1}) \cdots A(\theta_1) A(\theta_0), \qquad
   A(\theta) = I + D J(\theta),

so :math:`\partial R / \partial\theta_0 = M - I`. The eigenvalues of the
monodromy matrix :math:`M` are the orbit's multipliers (the same at every
point of the orbit: the products are cyclic permutations); the orbit is
*stable* if they all lie inside the unit circle, *unstable* if all outside, a
*saddle* if both, *non-hyperbolic* if one is on it (within :data:`ORBIT_TOL`).
The *minimal* period is reported: a fixed point found as a "period-2 orbit"
comes back with ``period == 1``.

References
----------
.. [1] Kuznetsov, Yu. A. (2004). *Elements of Applied Bifurcation Theory*,
   3rd ed., Springer. Sec. 1.4 (cycles of maps and their multipliers).
.. [2] Parker, T. S. and Chua, L. O. (1989). *Practical Numerical Algorithms
   for Chaotic Systems*. Springer. Ch. 5 (Newton's method for periodic points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym._validation import check_int, check_real
from lola_sym.analysis.continuation import MAX_NEWTON, NEWTON_TOL, LearningMap, _flat

__all__ = ["Orbit", "find_orbit", "orbit_of", "classify_multipliers", "ORBIT_TOL"]

#: A multiplier within this of the unit circle counts as on it.
ORBIT_TOL = 1e-9


def classify_multipliers(multipliers, tol: float = ORBIT_TOL) -> str:
    r"""``"stable"``, ``"unstable"``, ``"saddle"`` or ``"non-hyperbolic"`` from the multipliers.

    Examples
    --------
    >>> classify_multipliers([0.5, -0.2]), classify_multipliers([2.0, 0.1])
    ('stable', 'saddle')
    >>> classify_multipliers([1j, -1j])
    'non-hyperbolic'
    """
    r = np.abs(np.asarray(multipliers, dtype=complex))
    tol = check_real(tol, "tol", positive=True)
    if r.size == 0 or not np.all(np.isfinite(r)):
        raise ValueError("multipliers must be a non-empty finite array")
    if np.any(np.abs(r - 1) <= tol):
        return "non-hyperbolic"
    if np.all(r < 1):
        return "stable"
    if np.all(r > 1):
        return "unstable"
    return "saddle"


@dataclass(frozen=True)
class Orbit:
    r"""A periodic orbit of the learning map.

    Attributes
    ----------
    points : numpy.ndarray, shape (period, d)
        :math:`\theta_0, \dots, \theta_{k-1}` (flat).
    period : int
        The minimal period.
    multipliers : numpy.ndarray, complex
        Eigenvalues of the monodromy matrix, by decreasing modulus.
    stability : str
        :func:`classify_multipliers` of them.
    residual : float
        :math:`\|F^k(\theta_0) - \theta_0\|_\infty`.
    """

    points: np.ndarray
    period: int
    multipliers: np.ndarray
    stability: str
    residual: float

    @property
    def amplitude(self) -> np.ndarray:
        """Per coordinate, half the spread of the orbit's points."""
        return (self.points.max(axis=0) - self.points.min(axis=0)) / 2

    def as_dict(self) -> dict:
        return {"points": self.points.tolist(), "period": self.period,
                "multipliers": [[float(z.real), float(z.imag)] for z in self.multipliers],
                "stability": self.stability, "residual": self.residual}


def _iterate(m: LearningMap, z, k, over):
    """The points ``z, F(z), ..., F^k(z)`` and the monodromy matrix of the first ``k``."""
    pts, M = [z], np.eye(m.d)
    for _ in range(k):
        M = m.map_jacobian(pts[-1], over) @ M
        pts.append(m.step(pts[-1], over))
    return np.array(pts), M


def _minimal_period(pts, k, tol) -> int:
    scale = 1 + np.max(np.abs(pts))
    for j in range(1, k):
        if k % j == 0 and np.max(np.abs(pts[j] - pts[0])) <= tol * scale:
            return j
    return k


def orbit_of(m: LearningMap, theta, period: int, over=None) -> Orbit:
    r"""The :class:`Orbit` through ``theta``, taken as a period-``period`` point (no solving).

    Examples
    --------
    >>> import sympy as sp
    >>> from lola_sym.games import differentiable
    >>> from lola_sym.analysis.continuation import learning_map
    >>> x, y = sp.symbols("x y", real=True)
    >>> m = learning_map(differentiable(x / 2 - x ** 3 / 3, -y ** 2 / 2, [x], [y]), "nl")
    >>> o = orbit_of(m, [2 ** -0.5, 0.0], 1)
    >>> o.stability, round(float(o.multipliers[0].real), 12)    # 1 - 2x* = 1 - sqrt(2)
    ('stable', -0.414213562373)
    """
    period = check_int(period, "period", 1)
    z = _flat(m, theta)
    pts, M = _iterate(m, z, period, over)
    k = _minimal_period(pts, period, 1e3 * NEWTON_TOL)
    if k != period:
        pts, M = _iterate(m, z, k, over)
    mu = np.linalg.eigvals(M)
    mu = mu[np.argsort(-np.abs(mu), kind="stable")]
    return Orbit(pts[:k].copy(), k, mu, classify_multipliers(mu),
                 float(np.max(np.abs(pts[k] - pts[0]))))


def find_orbit(m: LearningMap, theta, period: int, *, over=None, transient: int = 0,
               tol: float = NEWTON_TOL, max_iter: int = 4 * MAX_NEWTON) -> Orbit:
    r"""A period-``period`` orbit near ``theta``: Newton on :math:`F^k(\theta) - \theta`.

    Parameters
    ----------
    m : LearningMap
    theta : array_like
        Start (flat, or one array per player).
    period : int
        :math:`k \ge 1`; the orbit returned has the minimal period, which divides it.
    over : mapping, optional
        Parameter values replacing the map's (:class:`~lola_sym.analysis.continuation.LearningMap`).
    transient : int
        Iterate the map this many times from ``theta`` first (to reach an attracting orbit).
    tol, max_iter
        Newton's stopping rule (step below ``tol (1 + |theta|)``) and budget.

    Raises
    ------
    ValueError
        If Newton does not converge (the message gives the residual).

    Examples
    --------
    The map :math:`x \mapsto x + a - x^2` (NL on the game :math:`V_1 = a x - x^3/3`,
    :math:`\delta = 1`) has the 2-cycle :math:`1 \pm \sqrt{a - 1}` with
    multiplier :math:`5 - 4a`:

    >>> import sympy as sp
    >>> from lola_sym.games import differentiable
    >>> from lola_sym.analysis.continuation import learning_map
    >>> a, x, y = sp.Symbol("a", real=True), *sp.symbols("x y", real=True)
    >>> m = learning_map(differentiable(a * x - x ** 3 / 3, -y ** 2 / 2, [x], [y]), "nl", a=1.2)
    >>> o = find_orbit(m, [1.5, 0.0], 2)
    >>> sorted(o.points[:, 0].round(12).tolist()), o.stability
    ([0.5527864045, 1.4472135955], 'stable')
    >>> round(float(o.multipliers[0].real), 12)
    0.2
    """
    period = check_int(period, "period", 1)
    transient = check_int(transient, "transient", 0)
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = check_real(tol, "tol", positive=True)
    z = _flat(m, theta).copy()
    for _ in range(transient):
        z = m.step(z, over)
    for _ in range(max_iter):
        pts, M = _iterate(m, z, period, over)
        R = pts[-1] - z
        if not np.all(np.isfinite(R)):
            break
        dz = np.linalg.lstsq(M - np.eye(m.d), -R, rcond=None)[0]
        z = z + dz
        if np.linalg.norm(dz) <= tol * (1 + np.linalg.norm(z)):
            return orbit_of(m, z, period, over)
    raise ValueError(f"Newton did not find a period-{period} orbit of the {m.rule} map in "
                     f"{max_iter} steps (residual {np.linalg.norm(R):.3g}); start nearer "
                     f"the orbit or iterate first (transient=...)")
