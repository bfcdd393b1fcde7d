r"""Vector fields on a plane of parameters and basins of attraction (data for plots).

These are two-parameter tools: a portrait is a plane. Two-player games with
one logit or coordinate per agent are shown on their own plane
:math:`(\theta_1, \theta_2)`; every other game (more parameters, more
players) on a plane through a base point spanned by two chosen coordinates
``axes = ((agent, index), (agent, index))``, agents numbered from 1; without
``axes`` such a game is refused with a message that says so. Keywords are the
rule's hyper-parameters and, for a game with symbols, their values
(:func:`~lola_sym.analysis.arguments.split_values`).
:func:`lola_sym.report.plots.phase_portrait` and :func:`lola_sym.report.plots.basins` draw the results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym._validation import as_params, check_positive_int, check_real
from lola_sym.analysis.arguments import need_values, split_values, values_mapping
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


def _shape(game) -> str:
    """The players' parameter counts, e.g. ``1+1+1``."""
    return "+".join(str(d) for d in game.dims)


def _axes(game, axes):
    dims = tuple(game.dims)
    n = len(dims)
    if axes is None:
        if dims != (1, 1):
            raise ValueError(f"{game.name} has {_shape(game)} parameters ({n} players), and a "
                             f"portrait is a plane: choose the plane with "
                             f"axes=((agent, index), (agent, index)), agents 1..{n}")
        return ((1, 0), (2, 0))
    try:
        (a1, i1), (a2, i2) = axes
    except (TypeError, ValueError):
        raise ValueError(f"axes must be ((agent, index), (agent, index)), got {axes!r}") from None
    if not all(_index(v) for v in (a1, i1, a2, i2)):
        raise TypeError(f"axes must hold ints ((agent, index), (agent, index)), got {axes!r}")
    for a, i in ((a1, i1), (a2, i2)):
        if not 1 <= a <= n or not 0 <= i < dims[a - 1]:
            raise ValueError(f"axis ({a}, {i}) does not exist: agents are 1..{n} with "
                             f"{_shape(game)} parameters")
    if (a1, i1) == (a2, i2):
        raise ValueError("the two axes must differ")
    return ((a1, i1), (a2, i2))


def _base(game, base) -> tuple:
    """The base point ``(theta1, ..., thetan)`` of the plane, zeros when not given."""
    dims = tuple(game.dims)
    if base is None:
        return tuple(np.zeros(d) for d in dims)
    names = ", ".join(f"theta{k}" for k in range(1, len(dims) + 1))
    shapes = " and ".join(f"({d},)" for d in dims)
    if isinstance(base, (str, bytes)) or not isinstance(base, (list, tuple)) \
            or len(base) != len(dims):
        raise ValueError(f"base must be a tuple ({names}) of shapes {shapes}")
    out = []
    for k, (b, d) in enumerate(zip(base, dims), 1):
        try:
            out.append(as_params(b, f"base theta{k}", d))
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        if out[-1].ndim != 1:
            raise ValueError(f"base theta{k} must have shape ({d},), got {out[-1].shape}")
    return tuple(out)


def plane_points(game, x, y, *, axes=None, base=None) -> tuple:
    r"""Parameters of every grid point of the plane: one array per player, ``(len(y), len(x), d_i)``.

    Examples
    --------
    >>> from lola_sym import games
    >>> t1, t2 = plane_points(games.tandem(), [0, 1], [2, 3, 4])
    >>> t1.shape, t2[:, 0, 0].tolist()
    ((3, 2, 1), [2.0, 3.0, 4.0])
    >>> ts = plane_points(games.contribution(3, "1.5", memory=0), [0, 1], [2, 3, 4],
    ...                   axes=((1, 0), (3, 0)))
    >>> len(ts), float(ts[1].max()), ts[2][:, 0, 0].tolist()
    (3, 0.0, [2.0, 3.0, 4.0])
    """
    x, y = _grid(x, "x"), _grid(y, "y")
    ax = _axes(game, axes)
    bases = _base(game, base)
    X, Y = np.meshgrid(x, y)
    t = [np.broadcast_to(b, X.shape + b.shape).copy() for b in bases]
    (a1, i1), (a2, i2) = ax
    t[a1 - 1][..., i1] = X
    t[a2 - 1][..., i2] = Y
    return tuple(t)


def vector_field(game, rule, x, y, *, axes=None, base=None, parameters=None, **settings):
    r"""The rule's field on a grid: components ``(U, V)`` along the two axes, shape ``(len(y), len(x))``.

    Examples
    --------
    >>> from lola_sym import games
    >>> U, V = vector_field(games.hamiltonian(), "nl", [-1, 0, 1], [0, 2])
    >>> U.tolist(), V.tolist()    # g = (-y, x)
    ([[-0.0, -0.0, -0.0], [-2.0, -2.0, -2.0]], [[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]])
    """
    from lola_sym.field import update_field
    hyper, values = split_values(game, rule, settings, parameters)
    ts = plane_points(game, x, y, axes=axes, base=base)
    need_values(game, values, "vector field")
    g = update_field(game, rule, **hyper)(*ts, **values)
    (a1, i1), (a2, i2) = _axes(game, axes)
    return g[a1 - 1][..., i1], g[a2 - 1][..., i2]


def _points(points, dims) -> np.ndarray:
    """End points ``[(theta1, ..., thetan), ...]`` as rows of an ``(n, d)`` array."""
    names = "(" + ", ".join(f"theta{k}" for k in range(1, len(dims) + 1)) + ")"
    shapes = ", ".join(f"({d},)" for d in dims)
    if isinstance(points, (str, bytes)) or not isinstance(points, (list, tuple)):
        raise TypeError(f"points must be a list of {names} tuples, got "
                        f"{type(points).__name__}")
    if len(points) == 0:
        raise ValueError("points: give at least one end point")
    rows = []
    for k, p in enumerate(points):
        if isinstance(p, (str, bytes)) or not isinstance(p, (list, tuple)) \
                or len(p) != len(dims):
            raise TypeError(f"points[{k}] must be a tuple {names}, got {p!r}")
        parts = [as_params(v, f"points[{k}] theta{j}", d)
                 for j, (v, d) in enumerate(zip(p, dims), 1)]
        if any(a.ndim != 1 for a in parts):
            raise ValueError(f"points[{k}] must be one point, shapes {shapes}")
        rows.append(np.concatenate(parts))
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
    finals : tuple of ndarray
        Final parameters of each player, shapes ``(len(y), len(x), d_i)``
        (``final1``, ``final2``: the first two).
    labels : tuple of str
    """

    x: np.ndarray
    y: np.ndarray
    outcome: np.ndarray
    distance: np.ndarray
    finals: tuple
    labels: tuple

    @property
    def final1(self) -> np.ndarray:
        """Player 1's final parameters."""
        return self.finals[0]

    @property
    def final2(self) -> np.ndarray:
        """Player 2's final parameters."""
        return self.finals[1]


def basins(game, rule1, rule2=None, *, x, y, points, labels=None, radius: float = 1e-2,
           axes=None, base=None, steps: int = 200, delta: float = 0.1,
           method: str = "simultaneous", max_abs: float = 1e4, parameters=None,
           **hyper) -> Basins:
    r"""Train from every grid point (batched) and record where each run ends.

    Parameters
    ----------
    rule1, rule2 : str
        As in :func:`lola_sym.train`: the two agents' rules of a two-player
        game; with more players ``rule1`` is every agent's (``rule2`` must be
        None).
    points : sequence of (theta1, ..., thetan)
        Candidate end points (e.g. fixed points), one array per player;
        distances are Euclidean in parameter space.
    labels : sequence of str, optional
        Names of ``points`` (for the plot legend).
    radius : float
        A run ends *at* a point when its final distance is below this (finite, > 0).
    parameters : mapping, optional
        Values of the game's symbols (as :func:`lola_sym.train`'s ``parameters``);
        they may also be given as keywords.
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
    ts = plane_points(game, x, y, axes=axes, base=base)
    shape = ts[0].shape[:2]
    dims = tuple(game.dims)
    if len(dims) != 2 and rule2 is not None:
        raise ValueError(f"{game.name} has {len(dims)} players: rule1 is every agent's rule; "
                         f"rule2 is for two-player games only")
    symbols = {s.name for s in getattr(game, "parameters", ())}
    values = values_mapping(parameters)
    values.update({k: hyper.pop(k) for k in list(hyper) if k in symbols})
    need_values(game, values, "basin computation")
    P = _points(points, dims)
    labels = tuple(labels) if labels is not None else tuple(f"point {k}" for k in range(len(P)))
    if len(labels) != len(P):
        raise ValueError(f"{len(labels)} labels for {len(P)} points")
    tr = train(game, rule1, rule2, thetas=[t.reshape(-1, d) for t, d in zip(ts, dims)],
               steps=steps, delta=delta, method=method, on_divergence="mark",
               max_abs=max_abs, parameters=values or None, **hyper)
    z = np.concatenate([t[-1] for t in tr.thetas], axis=-1)
    dist_all = np.linalg.norm(z[:, None, :] - P[None, :, :], axis=-1)
    nearest = np.argmin(dist_all, axis=1)
    dist = dist_all[np.arange(len(z)), nearest]
    outcome = np.where(dist < radius, nearest, -1)
    outcome = np.where(tr.diverged, -2, outcome)
    dist = np.where(tr.diverged, np.nan, dist)
    return Basins(_grid(x, "x"), _grid(y, "y"), outcome.reshape(shape), dist.reshape(shape),
                  tuple(t[-1].reshape(shape + (d,)) for t, d in zip(tr.thetas, dims)), labels)
