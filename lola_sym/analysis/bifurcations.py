r"""Bifurcations of the learning map (fold, period doubling, Neimark–Sacker) and of its flow (Hopf).

A fixed point of :math:`F(\theta) = \theta + D g(\theta)` (module
:mod:`lola_sym.analysis.continuation`) loses stability when a multiplier
:math:`\mu` of :math:`A = I + DJ` crosses the unit circle:

* **fold** (limit point): :math:`\mu = +1`, i.e. :math:`J` singular;
* **period doubling** (flip): :math:`\mu = -1`;
* **Neimark–Sacker**: a complex pair :math:`\mu = e^{\pm i\omega}`,
  :math:`0 < \omega < \pi`;

and for the flow :math:`\dot\theta = g` (the :math:`\delta \to 0` limit), a
fold at :math:`\lambda = 0` and a **Hopf** point at :math:`\lambda = \pm i\omega`.

**Detection** along a :class:`~lola_sym.analysis.continuation.Branch` uses the
test functions of Kuznetsov (2004, Sec. 10.2.2), smooth functions of the
entries of :math:`A` (or :math:`J`) with no eigenvalue to track:

.. math::
   \psi_{LP} = \det(A - I) = \prod_i (\mu_i - 1), \quad
   \psi_{PD} = \det(A + I) = \prod_i (\mu_i + 1), \quad
   \psi_{NS} = \det(A \odot A - I) = \prod_{i<j} (\mu_i\mu_j - 1),

(:math:`\odot` the bialternate product), and for the flow
:math:`\det J = \prod_i \lambda_i` and
:math:`\det(2J\odot I) = \prod_{i<j}(\lambda_i + \lambda_j)`. A sign change
between two points of the branch brackets a bifurcation. :math:`\psi_{NS}`
also vanishes at a *neutral saddle* (two real multipliers with
:math:`\mu_i\mu_j = 1`), :math:`\psi_H` at a real pair :math:`\lambda_i = -\lambda_j`;
the located point is labelled by its spectrum. A :math:`\psi_{LP}` zero at
which the parameter does not turn back is a *branch point* (a transcritical or
pitchfork crossing of another branch), not a fold.

**Location** is a minimally augmented system (Govaerts 2000, Ch. 4): on the
segment between the two bracketing points, each trial point is corrected onto
the branch by Newton's method (the exact Jacobian; the same corrector as the
continuation), and the bracketed zero of the test function along the segment
is found by Brent's method to :data:`LOCATE_XTOL` in the segment coordinate.
The point found solves :math:`g = 0` to machine precision and the test
function changes sign within :data:`LOCATE_XTOL` of it: the parameter is
located to about :math:`10^{-14}` relative, well inside the :math:`10^{-10}`
asked.

**Two-parameter continuation** of a located point follows the curve of
solutions of the augmented system

.. math:: g(\theta; p_1, p_2) = 0, \qquad \phi(\theta; p_1, p_2) = 0

in :math:`(\theta, p_1, p_2)` by pseudo-arclength, with the regular test
function of the critical eigenvalue: :math:`\phi = |\mu_c|^2 - 1` (NS, the
complex pair nearest the circle), :math:`\mu_c \mp 1` (fold, PD; the real
multiplier nearest :math:`\pm 1`), :math:`\mathrm{Re}\,\lambda_c` (Hopf). The
row of derivatives of :math:`\phi` is a central difference of the exact
spectra (step :data:`CURVE_STEP`); as for the parameter derivative of the
continuation, it enters only Newton's matrix, so the curve's points solve
:math:`g = 0,\ \phi = 0` to machine precision.

References
----------
.. [1] Kuznetsov, Yu. A. (2004). *Elements of Applied Bifurcation Theory*,
   3rd ed., Springer. Ch. 4 (bifurcations of maps), Sec. 10.2 (test
   functions), Sec. 10.3 (two-parameter continuation).
.. [2] Govaerts, W. (2000). *Numerical Methods for Bifurcations of Dynamical
   Equilibria*. SIAM.
.. [3] Dhooge, A., Govaerts, W., Kuznetsov, Yu. A. et al. (2008). New features of
   the software MatCont for bifurcation analysis of dynamical systems.
   *Math. Comput. Model. Dyn. Syst.* 14(2).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from lola_sym._validation import check_int, check_real
from lola_sym.analysis.continuation import (Branch, LearningMap, arclength, continue_branch,
                                            corrector, spectra)

__all__ = ["SpecialPoint", "BifurcationCurve", "detection_functions", "bifurcation_diagram",
           "detect", "continue_bifurcation", "LOCATE_XTOL", "CURVE_STEP", "UNIT_TOL",
           "MAP_TESTS", "FLOW_TESTS"]

#: Brent's tolerance in the segment coordinate (0..1) when locating a bifurcation.
LOCATE_XTOL = 1e-15
#: Relative central-difference step of the test function's derivatives (two-parameter curves).
CURVE_STEP = 1e-6
#: A located multiplier counts as on the unit circle (or a real part as zero) within this.
UNIT_TOL = 1e-7

#: Test functions of the map, by bifurcation.
MAP_TESTS = ("fold", "period-doubling", "neimark-sacker")
#: Test functions of the flow.
FLOW_TESTS = ("fold", "hopf")


def _pairs(x):
    i, j = np.triu_indices(len(x), 1)
    return x[i], x[j]


def detection_functions(eigenvalues, multipliers, system: str = "map") -> dict:
    r"""The test functions (module docstring) at a point, from its spectra.

    Examples
    --------
    >>> t = detection_functions([-0.1 + 0.5j, -0.1 - 0.5j], [0.9 + 0.5j, 0.9 - 0.5j])
    >>> {k: round(v, 6) for k, v in t.items()}
    {'fold': 0.26, 'period-doubling': 3.86, 'neimark-sacker': 0.06}
    >>> {k: round(v, 6) for k, v in detection_functions([-1, 2], [0, 3], "flow").items()}
    {'fold': -2.0, 'hopf': 1.0}
    """
    lam = np.asarray(eigenvalues, dtype=complex)
    mu = np.asarray(multipliers, dtype=complex)
    if system == "map":
        a, b = _pairs(mu)
        return {"fold": float(np.prod(mu - 1).real), "period-doubling": float(np.prod(mu + 1).real),
                "neimark-sacker": float(np.prod(a * b - 1).real)}
    if system == "flow":
        a, b = _pairs(lam)
        return {"fold": float(np.prod(lam).real), "hopf": float(np.prod(a + b).real)}
    raise ValueError(f"system must be 'map' or 'flow', got {system!r}")


@dataclass(frozen=True)
class SpecialPoint:
    r"""A located bifurcation on a branch.

    Attributes
    ----------
    kind : str
        ``"fold"``, ``"branch point"``, ``"period-doubling"``, ``"neimark-sacker"``,
        ``"hopf"`` or ``"neutral saddle"``.
    parameter : str
    value : float
        The parameter at the bifurcation.
    point : numpy.ndarray, shape (d,)
    eigenvalues, multipliers : numpy.ndarray, complex
        Spectra of :math:`J` and :math:`A` there.
    frequency : float
        :math:`\omega` of the critical pair (:math:`\arg\mu` for NS,
        :math:`\mathrm{Im}\,\lambda` for Hopf); ``nan`` otherwise.
    test : str
        The test function that changed sign.
    index : int
        The branch segment ``index, index + 1`` that held it.
    system : str
    """

    kind: str
    parameter: str
    value: float
    point: np.ndarray
    eigenvalues: np.ndarray
    multipliers: np.ndarray
    frequency: float
    test: str
    index: int
    system: str

    def as_dict(self) -> dict:
        def cx(a):
            return [[float(z.real), float(z.imag)] for z in a]
        return {"kind": self.kind, "parameter": self.parameter, "value": self.value,
                "point": self.point.tolist(), "eigenvalues": cx(self.eigenvalues),
                "multipliers": cx(self.multipliers), "frequency": self.frequency,
                "test": self.test, "index": self.index, "system": self.system}


def _critical(kind, lam, mu):
    """The critical eigenvalue of a bifurcation: the one nearest the crossing."""
    if kind == "neimark-sacker":
        cands = mu[mu.imag > UNIT_TOL]
        return None if cands.size == 0 else cands[np.argmin(np.abs(np.abs(cands) - 1))]
    if kind == "hopf":
        scale = max(1.0, float(np.max(np.abs(lam))))
        cands = lam[lam.imag > UNIT_TOL * scale]
        return None if cands.size == 0 else cands[np.argmin(np.abs(cands.real))]
    return None


def _label(test, lam, mu, turned) -> tuple:
    """``(kind, frequency)`` of a located zero of test function ``test``."""
    if test == "fold":
        return ("fold" if turned else "branch point"), float("nan")
    if test == "period-doubling":
        return "period-doubling", float("nan")
    c = _critical(test, lam, mu)
    if test == "neimark-sacker":
        if c is not None and abs(abs(c) - 1) < UNIT_TOL:
            return "neimark-sacker", float(np.angle(c))
        return "neutral saddle", float("nan")
    scale = max(1.0, float(np.max(np.abs(lam))))
    if c is not None and abs(c.real) < UNIT_TOL * scale:
        return "hopf", float(c.imag)
    return "neutral saddle", float("nan")


def _segment_point(branch: Branch, k: int, sigma: float):
    """The branch point on the normal plane through ``sigma`` of segment ``k`` (Newton)."""
    from lola_sym.analysis.continuation import branch_system
    H, DH = branch_system(branch.lmap, branch.parameter, branch.system)
    X0 = np.append(branch.points[k], branch.values[k])
    X1 = np.append(branch.points[k + 1], branch.values[k + 1])
    S = (X1 - X0) / np.linalg.norm(X1 - X0)
    X, ok = corrector(H, DH, X0 + sigma * (X1 - X0), S)
    if not ok:
        raise ValueError(f"the corrector failed on segment {k} of the branch at sigma={sigma}; "
                         f"continue with a smaller step")
    return X


def _spectra_at(branch, X):
    return spectra(branch.lmap, X[:-1], {branch.parameter: X[-1]})


def detect(branch: Branch) -> list:
    r"""``[(k, test)]``: the segments ``k, k+1`` on which a test function changes sign.

    Parameters
    ----------
    branch : Branch
        A branch of fixed points
        (:func:`~lola_sym.analysis.continuation.continue_branch`).

    Returns
    -------
    list of (int, str)
        Segment index and the name of the test function (:data:`MAP_TESTS` or
        :data:`FLOW_TESTS`, by ``branch.system``); ``locate`` finds the zero (Brent).

    Examples
    --------
    Matching pennies under LOLA (:math:`\eta = 1`): the Nash point loses
    stability at :math:`\delta^* = 32/17` through a complex pair of multipliers.
    The segment found holds that value, and the branch's stability flags (from
    the multipliers' moduli) change there:

    >>> from lola_sym import games
    >>> from lola_sym.analysis.continuation import continue_branch, learning_map
    >>> m = learning_map(games.matching_pennies(), "lola", eta=1.0)
    >>> b = continue_branch(m, [0.0, 0.0], "delta", 3.0, start=1.0, step=0.25)
    >>> [(k, test)] = detect(b)
    >>> test, bool(b.values[k] < 32 / 17 < b.values[k + 1])
    ('neimark-sacker', True)
    >>> bool(b.stable[k]), bool(b.stable[k + 1])
    (True, False)
    """
    found = []
    tests = MAP_TESTS if branch.system == "map" else FLOW_TESTS
    values = [detection_functions(lam, mu, branch.system)
              for lam, mu in zip(branch.eigenvalues, branch.multipliers)]
    for k in range(len(branch) - 1):
        for t in tests:
            if values[k][t] * values[k + 1][t] < 0:
                found.append((k, t))
    return found


def locate(branch: Branch, k: int, test: str) -> SpecialPoint:
    r"""Locate the zero of test function ``test`` on segment ``k`` of ``branch`` (Brent)."""
    def psi(sigma):
        X = _segment_point(branch, k, sigma)
        return detection_functions(*_spectra_at(branch, X), branch.system)[test]
    sigma = brentq(psi, 0.0, 1.0, xtol=LOCATE_XTOL, rtol=4 * np.finfo(float).eps, maxiter=200)
    X = _segment_point(branch, k, sigma)
    lam, mu = _spectra_at(branch, X)
    turned = branch.tangents[k][-1] * branch.tangents[k + 1][-1] < 0
    kind, omega = _label(test, lam, mu, turned)
    return SpecialPoint(kind, branch.parameter, float(X[-1]), X[:-1], lam, mu, omega, test, k,
                        branch.system)


def bifurcation_diagram(m: LearningMap, theta, parameter: str, stop: float, *,
                        start: float | None = None, step: float = 0.05, max_steps: int = 500,
                        system: str = "map", bounds: tuple | None = None) -> Branch:
    r"""Continue the fixed point near ``theta`` in ``parameter`` and locate its bifurcations.

    Takes the arguments of :func:`~lola_sym.analysis.continuation.continue_branch`;
    returns its :class:`~lola_sym.analysis.continuation.Branch` with
    ``special_points`` filled (in the order met along the branch).

    Examples
    --------
    Matching pennies under LOLA: the Nash equilibrium :math:`\theta = 0` loses
    stability in a Neimark–Sacker bifurcation at
    :math:`\delta^* = 32\eta/(\eta^2 + 16)` (= 32/17 at :math:`\eta = 1`).

    >>> from lola_sym import games
    >>> from lola_sym.analysis.continuation import learning_map
    >>> m = learning_map(games.matching_pennies(), "lola", eta=1.0)
    >>> b = bifurcation_diagram(m, [0.0, 0.0], "delta", 3.0, start=1.0, step=0.25)
    >>> [(s.kind, round(s.value, 12)) for s in b.special_points], round(32 / 17, 12)
    ([('neimark-sacker', 1.882352941176)], 1.882352941176)
    """
    branch = continue_branch(m, theta, parameter, stop, start=start, step=step,
                             max_steps=max_steps, system=system, bounds=bounds)
    points = [locate(branch, k, t) for k, t in detect(branch)]
    points.sort(key=lambda s: s.index)
    return dataclasses.replace(branch, special_points=tuple(points))


# ------------------------------------------------------------------ two-parameter curves
def _phi(kind, lam, mu):
    """The regular test function of the critical eigenvalue (module docstring)."""
    if kind == "neimark-sacker":
        c = _critical(kind, lam, mu)
        if c is None:
            raise ValueError("no complex multiplier: the Neimark-Sacker curve ended "
                             "(a 1:1 resonance)")
        return abs(c) ** 2 - 1
    if kind == "hopf":
        c = _critical(kind, lam, mu)
        if c is None:
            raise ValueError("no complex eigenvalue: the Hopf curve ended (a Bogdanov-Takens "
                             "point)")
        return c.real
    if kind in ("fold", "branch point"):
        r = mu[np.abs(mu.imag) <= UNIT_TOL]
        return float((r[np.argmin(np.abs(r - 1))] - 1).real)
    if kind == "period-doubling":
        r = mu[np.abs(mu.imag) <= UNIT_TOL]
        return float((r[np.argmin(np.abs(r + 1))] + 1).real)
    raise ValueError(f"no two-parameter continuation of a {kind!r} point")


@dataclass(frozen=True)
class BifurcationCurve:
    r"""A curve of bifurcation points in two parameters.

    Attributes
    ----------
    kind : str
    parameters : tuple of str
        :math:`(p_1, p_2)`.
    values : numpy.ndarray, shape (n, 2)
    points : numpy.ndarray, shape (n, d)
    multipliers : numpy.ndarray, shape (n, d), complex
    frequencies : numpy.ndarray, shape (n,)
        :math:`\arg\mu_c` (NS) or :math:`\mathrm{Im}\,\lambda_c` (Hopf); nan otherwise.
    residuals : numpy.ndarray, shape (n,)
        :math:`\max(|g|, |\phi|)` at each point.
    """

    kind: str
    parameters: tuple
    values: np.ndarray
    points: np.ndarray
    multipliers: np.ndarray
    frequencies: np.ndarray
    residuals: np.ndarray

    def as_dict(self) -> dict:
        return {"kind": self.kind, "parameters": list(self.parameters),
                "values": self.values.tolist(), "points": self.points.tolist(),
                "multipliers": np.stack([self.multipliers.real, self.multipliers.imag],
                                        axis=-1).tolist(),
                "frequencies": self.frequencies.tolist(), "residuals": self.residuals.tolist()}


def continue_bifurcation(m: LearningMap, point: SpecialPoint, second: str, stop: float, *,
                         step: float = 0.05, max_steps: int = 400,
                         bounds: tuple | None = None) -> BifurcationCurve:
    r"""Follow a fold, period-doubling, Neimark–Sacker or Hopf point in two parameters.

    Parameters
    ----------
    m : LearningMap
        The map the point was located on.
    point : SpecialPoint
        From :func:`bifurcation_diagram`; its parameter is :math:`p_1`.
    second : str
        The second parameter :math:`p_2` (continued from ``m``'s own value).
    stop : float
        The curve is followed while :math:`p_2` moves toward ``stop`` and stays
        between its start and ``stop``.
    step, max_steps
        Arclength step (adaptive) and number of points.
    bounds : ((lo1, hi1), (lo2, hi2)), optional
        A box to stay in (default: :math:`p_1` free but positive for rates,
        :math:`p_2` between its start and ``stop``).

    Examples
    --------
    >>> from lola_sym import games
    >>> from lola_sym.analysis.continuation import learning_map
    >>> m = learning_map(games.matching_pennies(), "lola", eta=1.0)
    >>> ns = bifurcation_diagram(m, [0.0, 0.0], "delta", 3.0, start=1.0, step=0.25).special_points[0]
    >>> c = continue_bifurcation(m, ns, "eta", 2.0, step=0.2)
    >>> delta, eta = c.values[-1]
    >>> float(eta), bool(abs(delta - 32 * eta / (eta ** 2 + 16)) < 1e-12)
    (2.0, True)
    """
    if point.system == "map" and point.kind in ("neutral saddle",):
        raise ValueError("a neutral saddle is not a bifurcation; nothing to continue")
    first = point.parameter
    if second == first:
        raise ValueError(f"the second parameter must differ from the first ({first!r})")
    m.kind(second)
    if point.system == "flow" and m.kind(second) in ("delta", "tau"):
        raise ValueError("the flow has no rate: continue a Hopf point in another parameter")
    step = check_real(step, "step", positive=True)
    max_steps = check_int(max_steps, "max_steps", 1)
    stop = check_real(stop, "stop")
    p2 = m.value(second)
    if stop == p2:
        raise ValueError(f"stop must differ from {second}'s value {p2}")
    if bounds is None:
        lo1, hi1 = (0.0, np.inf) if m.kind(first) != "symbol" else (-np.inf, np.inf)
        lo2, hi2 = min(p2, stop), max(p2, stop)
    else:
        (lo1, hi1), (lo2, hi2) = bounds
    kind = point.kind
    d = m.d

    def over(X):
        return {first: X[d], second: X[d + 1]}

    def phi(X):
        lam, mu = spectra(m, X[:d], over(X))
        return _phi(kind, lam, mu)

    def H(X):
        return np.append(m.field(X[:d], over(X)), phi(X))

    def DH(X):
        o = over(X)
        top = np.column_stack([m.jacobian(X[:d], o), m.field_derivative(X[:d], first, X[d], o),
                               m.field_derivative(X[:d], second, X[d + 1], o)])
        row = np.empty(d + 2)
        for i in range(d + 2):
            h = CURVE_STEP * max(1.0, abs(X[i]))
            e = np.zeros(d + 2)
            e[i] = h
            row[i] = (phi(X + e) - phi(X - e)) / (2 * h)
        return np.vstack([top, row])

    X0 = np.concatenate([point.point, [point.value, p2]])
    X0, ok = corrector(H, DH, X0, np.eye(d + 2)[d + 1])
    if not ok:
        raise ValueError(f"the {kind} point did not solve the augmented system at "
                         f"{second}={p2}; locate it again on the map with that value")
    direction = np.zeros(d + 2)
    direction[d + 1] = np.sign(stop - p2)
    span = hi2 - lo2

    def inside(X):
        return lo1 < X[d] < hi1 and lo2 - 1e-12 * span <= X[d + 1] <= hi2 + 1e-12 * span

    X, _ = arclength(H, DH, X0, direction, step=step, max_steps=max_steps, inside=inside)
    # the last point exactly at stop, when the curve reaches it
    if len(X) and abs(X[-1, d + 1] - stop) < 4 * step and X[-1, d + 1] != stop:
        Xs, ok = corrector(H, DH, np.append(X[-1, :d + 1], stop), np.eye(d + 2)[d + 1])
        if ok and inside(Xs):
            X = np.vstack([X, Xs])
    mus, freqs, res = [], [], []
    for row in X:
        lam, mu = spectra(m, row[:d], over(row))
        mus.append(mu)
        c = _critical(kind, lam, mu)
        freqs.append(float("nan") if c is None else
                     float(np.angle(c)) if kind == "neimark-sacker" else float(c.imag))
        res.append(float(np.max(np.abs(H(row)))))
    return BifurcationCurve(kind, (first, second), X[:, d:].copy(), X[:, :d].copy(),
                            np.array(mus), np.array(freqs), np.array(res))
