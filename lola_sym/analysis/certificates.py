r"""Lyapunov certificates: a sampled lower bound on the basin of a stable fixed point of a map.

At a fixed point :math:`x^*` of a map :math:`F` with Jacobian
:math:`A = DF(x^*)`, :math:`\rho(A) < 1`, the discrete Lyapunov equation

.. math:: A^\top P A - P = -Q, \qquad Q \succ 0

has a unique solution :math:`P \succ 0`, and :math:`V(x) = (x - x^*)^\top P (x - x^*)`
decreases along the linearised map. Along the nonlinear map it decreases on
some sublevel set :math:`\Omega_c = \{x : V(x) < c\}`; if
:math:`V(F(x)) < V(x)` for every :math:`x \in \Omega_c \setminus \{x^*\}`, then
:math:`\Omega_c` is forward invariant and every trajectory starting in it
converges to :math:`x^*` (LaSalle's invariance principle for maps), so
:math:`\Omega_c` lies in the basin of attraction.

:func:`lyapunov_certificate` reports the largest such :math:`c` *on samples*:
seeded points spread over the ellipsoid :math:`V \le c_{\max}` (radii uniform,
so that small and large levels are both covered), and :math:`c` is the
smallest :math:`V` of a sample at which :math:`V` fails to decrease
precisely, the largest sampled :math:`V` below that first failure, so that
every sample with :math:`V \le c` passed. It is a certificate up to sampling:
a violation between samples is not excluded, and the true largest level may
lie below :math:`c` by up to the spacing of the samples' levels near it. For learning,
:func:`learning_certificate` uses the map
:math:`\theta \mapsto \theta + \operatorname{diag}(\delta) g(\theta)` with its exact
Jacobian (:class:`~lola_sym.analysis.lyapunov.LearningMap`).

References
----------
.. [1] Khalil, H. K. (2002). *Nonlinear Systems*, 3rd ed., Prentice Hall,
   Sec. 4.6 and 8.2 (estimating the region of attraction from a quadratic
   Lyapunov function).
.. [2] LaSalle, J. P. (1976). *The Stability of Dynamical Systems*. SIAM
   (invariance principle for difference equations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_discrete_lyapunov

from lola_sym._validation import as_numeric_array, check_int, check_real

__all__ = ["Certificate", "lyapunov_certificate", "learning_certificate", "lyapunov_matrix"]


def lyapunov_matrix(A, Q=None) -> np.ndarray:
    r"""The solution :math:`P` of :math:`A^\top P A - P = -Q` (``Q`` defaults to :math:`I`).

    Raises ``ValueError`` unless :math:`\rho(A) < 1` (no positive definite
    solution otherwise) and ``Q`` is symmetric positive definite.

    Examples
    --------
    >>> lyapunov_matrix([[0.5, 0.0], [0.0, 0.0]]).tolist()     # 1 / (1 - 0.25) = 4/3
    [[1.3333333333333333, 0.0], [0.0, 1.0]]
    """
    A = as_numeric_array(A, "A", "iuf").astype(float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"A must be a square matrix, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError("A must be finite")
    rho = float(np.max(np.abs(np.linalg.eigvals(A))))
    if rho >= 1:
        raise ValueError(f"the fixed point is not stable: spectral radius {rho:.6g} >= 1, so "
                         f"A^T P A - P = -Q has no positive definite solution")
    d = A.shape[0]
    Q = np.eye(d) if Q is None else as_numeric_array(Q, "Q", "iuf").astype(float)
    if Q.shape != (d, d) or not np.allclose(Q, Q.T) or np.min(np.linalg.eigvalsh(Q)) <= 0:
        raise ValueError(f"Q must be a symmetric positive definite ({d}, {d}) matrix")
    P = solve_discrete_lyapunov(A.T, Q)
    return (P + P.T) / 2


@dataclass(frozen=True)
class Certificate:
    r"""A sampled Lyapunov certificate (the result of :func:`lyapunov_certificate`).

    Attributes
    ----------
    x_star : ndarray, shape (d,)
    P, Q : ndarray, shape (d, d)
        :math:`A^\top P A - P = -Q`.
    level : float
        The certified level :math:`c`: :math:`V` decreased at every sample with
        :math:`V \le c` (the largest such sampled level below the first failure).
    max_level : float
        The largest level sampled; ``violations == 0`` means no sample failed.
    samples : int
        Points tested.
    violations : int
        Samples (at any level up to ``max_level``) where :math:`V` did not decrease.
    spectral_radius : float
        :math:`\rho(A)`.
    """

    x_star: np.ndarray
    P: np.ndarray
    Q: np.ndarray
    level: float
    max_level: float
    samples: int
    violations: int
    spectral_radius: float

    def value(self, x) -> np.ndarray:
        r""":math:`V(x) = (x - x^*)^\top P (x - x^*)` for points ``(..., d)``."""
        e = np.asarray(x, dtype=float) - self.x_star
        return np.einsum("...i,ij,...j->...", e, self.P, e)

    def contains(self, x) -> np.ndarray:
        r"""Whether points lie in the certified set :math:`V \le c`."""
        return self.value(x) <= self.level

    @property
    def inner_radius(self) -> float:
        r"""Radius of the largest ball around :math:`x^*` inside the set: :math:`\sqrt{c/\lambda_{\max}(P)}`."""
        return float(np.sqrt(self.level / np.max(np.linalg.eigvalsh(self.P))))

    def sample(self, n: int, seed=0, level: float | None = None) -> np.ndarray:
        r"""``n`` seeded points inside the ellipsoid :math:`V \le` ``level`` (default the certified one)."""
        from lola_sym.dynamics.training import as_generator
        return _ellipsoid_points(self.P, self.x_star, self.level if level is None else level,
                                 check_int(n, "n", 1), as_generator(seed), uniform=True)


def _ellipsoid_points(P, x_star, c, n, rng, uniform=False):
    d = P.shape[0]
    L = np.linalg.cholesky(P)                 # P = L L^T: V = |L^T e|^2
    u = rng.normal(size=(n, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = rng.uniform(size=(n, 1))
    r = r ** (1 / d) if uniform else r
    z = np.sqrt(c) * r * u                    # |z|^2 = V
    return x_star + np.linalg.solve(L.T, z.T).T


def lyapunov_certificate(step, jacobian, x_star, *, Q=None, radius: float = 10.0,
                         samples: int = 20000, seed=0, fixed_tol: float = 1e-8) -> Certificate:
    r"""The largest sampled sublevel set of :math:`V` on which the map decreases :math:`V`.

    Parameters
    ----------
    step : callable
        The map, ``step(x) -> F(x)`` on arrays ``(n, d)``.
    jacobian : callable or array_like
        ``jacobian(x) -> (n, d, d)``, evaluated at ``x_star``, or the matrix
        :math:`A = DF(x^*)` itself.
    x_star : array_like, shape (d,)
        The fixed point (:math:`|F(x^*) - x^*| \le` ``fixed_tol`` is checked).
    Q : array_like, optional
        Symmetric positive definite right-hand side (default :math:`I`).
    radius : float
        The samples fill the ellipsoid :math:`V \le \lambda_{\min}(P)\,\text{radius}^2`,
        which lies inside the ball of this radius around :math:`x^*`.
    samples : int
        Number of seeded sample points.
    seed : int or numpy.random.Generator

    Examples
    --------
    :math:`F(x) = x (1 + x^2) / 2` has basin :math:`(-1, 1)`; :math:`P = 4/3`
    and :math:`V` decreases exactly where :math:`x^2 < 1`:

    >>> cert = lyapunov_certificate(lambda x: x * (1 + x ** 2) / 2, [[0.5]], [0.0],
    ...                             radius=3.0, samples=4000)
    >>> round(cert.level, 2), float(cert.P[0, 0]) == 4 / 3
    (1.33, True)
    """
    from lola_sym.dynamics.training import as_generator
    if not callable(step):
        raise TypeError("step must be a callable x -> F(x)")
    xs = as_numeric_array(x_star, "x_star", "iuf").astype(float).ravel()
    if xs.size == 0 or not np.all(np.isfinite(xs)):
        raise ValueError("x_star must be a non-empty finite point")
    radius = check_real(radius, "radius", positive=True)
    samples = check_int(samples, "samples", 1)
    fixed_tol = check_real(fixed_tol, "fixed_tol", positive=True)
    residual = float(np.max(np.abs(np.asarray(step(xs[None, :]), dtype=float)[0] - xs)))
    if not residual <= fixed_tol:
        raise ValueError(f"x_star is not a fixed point of the map: |F(x*) - x*| = "
                         f"{residual:.3g} > fixed_tol={fixed_tol:g}")
    A = np.asarray(jacobian(xs[None, :]), dtype=float)[0] if callable(jacobian) else \
        as_numeric_array(jacobian, "jacobian", "iuf").astype(float)
    if A.shape != (xs.size, xs.size):
        raise ValueError(f"the Jacobian at x_star must be ({xs.size}, {xs.size}), got {A.shape}")
    P = lyapunov_matrix(A, Q)
    Qm = np.eye(xs.size) if Q is None else np.asarray(Q, dtype=float)
    c_max = float(np.min(np.linalg.eigvalsh(P))) * radius ** 2
    pts = _ellipsoid_points(P, xs, c_max, samples, as_generator(seed))
    e0, e1 = pts - xs, np.asarray(step(pts), dtype=float) - xs
    v0 = np.einsum("ni,ij,nj->n", e0, P, e0)
    with np.errstate(over="ignore", invalid="ignore"):
        v1 = np.einsum("ni,ij,nj->n", e1, P, e1)
    bad = (v0 > 0) & ~(v1 < v0)              # NaN / overflow counts as a failure
    first = float(np.min(v0[bad])) if bad.any() else np.inf
    passed = v0[~bad & (v0 < first)]
    level = float(np.max(passed)) if passed.size else 0.0
    rho = float(np.max(np.abs(np.linalg.eigvals(A))))
    return Certificate(xs, P, Qm, level, c_max, samples, int(bad.sum()), rho)


def learning_certificate(game, rule, *thetas, delta=1.0, Q=None, radius: float = 10.0,
                         samples: int = 20000, seed=0, fixed_tol: float = 1e-8,
                         parameters=None, **hyper) -> Certificate:
    r"""A certificate for a stable fixed point of ``rule``'s learning map on ``game``.

    The point is one parameter array per agent (``*thetas``); ``delta`` the
    common rate or one per agent. Raises ``ValueError`` if the point is not a
    fixed point or not stable at this rate.

    Examples
    --------
    >>> from lola_sym import games
    >>> cert = learning_certificate(games.matching_pennies(), "lola", [0.0], [0.0], delta=1.0,
    ...                             eta=1.0, samples=2000)
    >>> cert.spectral_radius < 1 and cert.level > 0
    True
    """
    from lola_sym.analysis.lyapunov import LearningMap
    F = LearningMap(game, rule, delta, parameters=parameters, **hyper)
    if len(thetas) != len(F.dims):
        raise ValueError(f"give the point as one parameter array per agent ({len(F.dims)})")
    x = F.join([np.atleast_1d(np.asarray(t, dtype=float)) for t in thetas])
    return lyapunov_certificate(F.step, F.jacobian, x, Q=Q, radius=radius, samples=samples,
                                seed=seed, fixed_tol=fixed_tol)
