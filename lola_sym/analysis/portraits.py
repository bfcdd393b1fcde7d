r"""Vector fields on a plane of parameters and basins of attraction (data for plots).

Two-parameter games (one logit or coordinate per agent) are shown on their
own plane :math:`(\theta_1, \theta_2)`; larger games on a plane through a base
point spanned by two chosen coordinates ``axes = ((agent, index), (agent, index))``.
:func:`lola_sym.report.plots.phase_portrait` and :func:`lola_sym.report.plots.basins` draw the results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym._validation import as_params, check_positive_int, check_real
from lola_sym.dynamics.training import train

__all__ = ["vector_field", "basins", "Basins", "plane_points"]


def _grid(x, name):
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a 1-d grid of numbers, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception:
        arr = None
    if arr is None or arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a 1-d grid of real numbers"
                        + ("" if arr is None else f", got dtype {arr.dtype}"))
    x = arr.astype(float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be a finite 1-d grid of at least 2 values")
    return x


def _index(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _axes(game, axes):
    d1, d2 = game.dims
    if axes is None:
        if (d1, d2) != (1, 1):
            raise ValueError(f"{game.name} has {d1}+{d2} parameters: choose the plane with "
                             f"axes=((agent, index), (agent, index))")
        return ((1, 0), (2, 0))
    try:
        (a1, i1), (a2, i2) = axes
    except (TypeError, ValueError):
        raise ValueError(f"axes must be ((agent, index), (agent, index)), got {axes!r}") from None
    if not all(_index(v) for v in (a1, i1, a2, i2)):
        raise TypeError(f"axes must hold ints ((agent, index), (agent, index)), got {axes!r}")
    for a, i in ((a1, i1), (a2, i2)):
        if a not in (1, 2) or not 0 <= i < game.dims[a - 1]:
            raise ValueError(f"axis ({a}, {i}) does not exist: agents are 1 and 2 with "
                             f"{d1} and {d2} parameters")
    if (a1, i1) == (a2, i2):
        raise ValueError("the two axes must differ")
    return ((a1, i1), (a2, i2))


def _base(game, base) -> tuple:
    """The base point ``(theta1, theta2)`` of the plane, zeros when not given."""
    d1, d2 = game.dims
    if base is None:
        return np.zeros(d1), np.zeros(d2)
    if isinstance(base, (str, bytes)) or not isinstance(base, (list, tuple)) or len(base) != 2:
        raise ValueError(f"base must be a pair (theta1, theta2) of shapes ({d1},) and ({d2},)")
    out = []
    for k, (b, d) in enumerate(zip(base, (d1, d2)), 1):
        try:
            out.append(as_params(b, f"base theta{k}", d))
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        if out[-1].ndim != 1:
            raise ValueError(f"base theta{k} must have shape ({d},), got {out[-1].shape}")
    return tuple(out)


def plane_points(game, x, y, *, axes=None, base=None):
    r"""Parameters of every grid point of the plane, shapes ``(len(y), len(x), d_i)``.

    Examples
    --------
    >>> from lola_sym import games
    >>> t1, t2 = plane_points(games.tandem(), [0, 1], [2, 3, 4])
    >>> t1.shape, t2[:, 0, 0].tolist()
    ((3, 2, 1), [2.0, 3.0, 4.0])
    """
    x, y = _grid(x, "x"), _grid(y, "y")
    ax = _axes(game, axes)
    b1, b2 = _base(game, base)
    d1, d2 = game.dims
    X, Y = np.meshgrid(x, y)
    t = [np.broadcast_to(b1, X.shape + (d1,)).copy(), np.broadcast_to(b2, X.shape + (d2,)).copy()]
    (a1, i1), (a2, i2) = ax
    t[a1 - 1][..., i1] = X
    t[a2 - 1][..., i2] = Y
    return t[0], t[1]


def vector_field(game, rule, x, y, *, axes=None, base=None, **hyper):
    r"""The rule's field on a grid: components ``(U, V)`` along the two axes, shape ``(len(y), len(x))``.

    Examples
    --------
    >>> from lola_sym import games
    >>> U, V = vector_field(games.hamiltonian(), "nl", [-1, 0, 1], [0, 2])
    >>> U.tolist(), V.tolist()    # g = (-y, x)
    ([[-0.0, -0.0, -0.0], [-2.0, -2.0, -2.0]], [[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]])
    """
    from lola_sym.field import update_field
    t1, t2 = plane_points(game, x, y, axes=axes, base=base)
    g = update_field(game, rule, **hyper)(t1, t2)
    (a1, i1), (a2, i2) = _axes(game, axes)
    return g[a1 - 1][..., i1], g[a2 - 1][..., i2]


def _points(points, d1, d2) -> np.ndarray:
    """End points ``[(theta1, theta2), ...]`` as rows of an ``(n, d1 + d2)`` array."""
    if isinstance(points, (str, bytes)) or not isinstance(points, (list, tuple)):
        raise TypeError(f"points must be a list of (theta1, theta2) pairs, got "
                        f"{type(points).__name__}")
    if len(points) == 0:
        raise ValueError("points: give at least one end point")
    rows = []
    for k, p in enumerate(points):
        if isinstance(p, (str, bytes)) or not isinstance(p, (list, tuple)) or len(p) != 2:
            raise TypeError(f"points[{k}] must be a pair (theta1, theta2), got {p!r}")
        a, b = (as_params(v, f"points[{k}] theta{j}", d) for j, v, d in ((1, p[0], d1),
                                                                          (2, p[1], d2)))
        if a.ndim != 1 or b.ndim != 1:
            raise ValueError(f"points[{k}] must be one point, shapes ({d1},) and ({d2},)")
        rows.append(np.concatenate([a, b]))
    return np.array(rows)


@dataclass(frozen=True)
class Basins:
    """Outcome of training from every point of a grid.

    Attributes
    ----------
    x, y : ndarray
        The grid.
    outcome : ndarray of int, shape (len(y), len(x))
        Index of the point in ``points`` the run ended within ``radius`` of, ``-1``
        if none, ``-2`` if the run diverged.
    distance : ndarray, shape (len(y), len(x))
        Final distance to the nearest of ``points`` (``nan`` for diverged runs).
    final1, final2 : ndarray
        Final parameters.
    """

    x: np.ndarray
    y: np.ndarray
    outcome: np.ndarray
    distance: np.ndarray
    final1: np.ndarray
    final2: np.ndarray
    labels: tuple


def basins(game, rule1, rule2=None, *, x, y, points, labels=None, radius: float = 1e-2,
           axes=None, base=None, steps: int = 200, delta: float = 0.1,
           method: str = "simultaneous", max_abs: float = 1e4, **hyper) -> Basins:
    r"""Train from every grid point (batched) and record where each run ends.

    Parameters
    ----------
    points : sequence of (theta1, theta2)
        Candidate end points (e.g. fixed points); distances are Euclidean in
        parameter space.
    labels : sequence of str, optional
        Names of ``points`` (for the plot legend).
    radius : float
        A run ends *at* a point when its final distance is below this (finite, > 0).
    steps, delta, method, max_abs, **hyper
        As in :func:`lola_sym.train`.

    Raises
    ------
    ValueError, TypeError
        For any argument of the wrong type, shape or range, before training; the
        message names the argument.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games
    >>> b = basins(games.hamiltonian(), "nl", x=[-1, 1], y=[-1, 1], points=[([0.0], [0.0])],
    ...            steps=200, delta=0.3, method="extragradient")
    >>> b.outcome.tolist()
    [[0, 0], [0, 0]]
    """
    steps = check_positive_int(steps, "steps")
    radius = check_real(radius, "radius", positive=True)
    delta = check_real(delta, "delta", positive=True)
    t1, t2 = plane_points(game, x, y, axes=axes, base=base)
    shape = t1.shape[:2]
    d1, d2 = game.dims
    P = _points(points, d1, d2)
    labels = tuple(labels) if labels is not None else tuple(f"point {k}" for k in range(len(P)))
    if len(labels) != len(P):
        raise ValueError(f"{len(labels)} labels for {len(P)} points")
    tr = train(game, rule1, rule2, theta1=t1.reshape(-1, d1), theta2=t2.reshape(-1, d2),
               steps=steps, delta=delta, method=method, on_divergence="mark",
               max_abs=max_abs, **hyper)
    z = np.concatenate([tr.theta1[-1], tr.theta2[-1]], axis=-1)
    dist_all = np.linalg.norm(z[:, None, :] - P[None, :, :], axis=-1)
    nearest = np.argmin(dist_all, axis=1)
    dist = dist_all[np.arange(len(z)), nearest]
    outcome = np.where(dist < radius, nearest, -1)
    outcome = np.where(tr.diverged, -2, outcome)
    dist = np.where(tr.diverged, np.nan, dist)
    return Basins(_grid(x, "x"), _grid(y, "y"), outcome.reshape(shape), dist.reshape(shape),
                  tr.theta1[-1].reshape(shape + (d1,)), tr.theta2[-1].reshape(shape + (d2,)),
                  labels)
