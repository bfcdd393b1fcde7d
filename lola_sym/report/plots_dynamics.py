r"""Figures of learning dynamics on a plane: phase portraits and basins of attraction.

Drawn headless (Agg canvas, no pyplot) from plain data; the data come from
:mod:`lola_sym.analysis.portraits` (vector fields, basins) and :mod:`lola_sym.analysis.stability`
(classified fixed points). Re-exported by :mod:`lola_sym.report.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lola_sym.report.plot_support import _figure, _save
from lola_sym._validation import check_int, check_positive_int, check_real

__all__ = ["phase_portrait", "basins", "portrait", "FIXED_POINT_STYLES", "FIXED_POINT_ALIASES"]

#: Marker style per fixed-point classification (see :func:`phase_portrait`).
FIXED_POINT_STYLES = {
    "stable": dict(marker="o", markersize=10, markerfacecolor="black", markeredgecolor="white",
                   markeredgewidth=1.5),
    "unstable": dict(marker="o", markersize=10, markerfacecolor="white",
                     markeredgecolor="black", markeredgewidth=2),
    "saddle": dict(marker="X", markersize=11, markerfacecolor="crimson",
                   markeredgecolor="white", markeredgewidth=1),
    "centre": dict(marker="D", markersize=9, markerfacecolor="none", markeredgecolor="crimson",
                   markeredgewidth=2.5),
    "non-hyperbolic": dict(marker="s", markersize=9, markerfacecolor="gold",
                           markeredgecolor="black", markeredgewidth=1.5),
}

#: Other names accepted for the classifications (case, spaces and underscores ignored).
FIXED_POINT_ALIASES = {
    "center": "centre", "sink": "stable", "attractor": "stable", "stable node": "stable",
    "stable focus": "stable", "stable spiral": "stable", "source": "unstable",
    "repeller": "unstable", "unstable node": "unstable", "unstable focus": "unstable",
    "unstable spiral": "unstable", "saddle point": "saddle", "degenerate": "non-hyperbolic",
    "nonhyperbolic": "non-hyperbolic", "non hyperbolic": "non-hyperbolic",
}


# ------------------------------------------------------------------ phase portraits
def _grid(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    for s, a in (("x", x), ("y", y)):
        if a.ndim != 1 or a.size < 2:
            raise ValueError(f"{s} must be a 1-d array of at least 2 grid coordinates, "
                             f"got shape {a.shape}")
        if not np.all(np.isfinite(a)) or not np.all(np.diff(a) > 0):
            raise ValueError(f"{s} must be finite and strictly increasing")
        d = np.diff(a)
        if not np.allclose(d, d[0], rtol=1e-6, atol=0):
            raise ValueError(f"{s} must be evenly spaced (as from np.linspace)")
    return x, y


def _field(arr, x, y, name):
    arr = np.ma.masked_invalid(np.asarray(arr, dtype=float))
    if arr.shape != (y.size, x.size):
        raise ValueError(f"{name} must have shape (len(y), len(x)) = {(y.size, x.size)}, "
                         f"got {arr.shape}; rows follow y")
    return arr


def _fixed_point(fp, k):
    if isinstance(fp, Mapping):
        get = fp.get
    elif isinstance(fp, (tuple, list)) and len(fp) == 3:
        get = dict(zip(("x", "y", "label"), fp)).get
    else:
        def get(key):
            return getattr(fp, key, None)
    x, y, label = get("x"), get("y"), get("label")
    if x is None or y is None or label is None:
        raise ValueError(f"fixed_points[{k}] needs x, y and label (keys, attributes or an "
                         f"(x, y, label) tuple), got {fp!r}")
    if not isinstance(label, str):
        raise TypeError(f"fixed_points[{k}]['label'] must be a str, got {type(label).__name__}")
    key = " ".join(label.lower().replace("_", " ").split())
    key = FIXED_POINT_ALIASES.get(key, key)
    if key not in FIXED_POINT_STYLES:
        raise ValueError(f"fixed_points[{k}] has unknown classification {label!r}; choose one "
                         f"of {list(FIXED_POINT_STYLES)} or an alias in FIXED_POINT_ALIASES "
                         f"({sorted(FIXED_POINT_ALIASES)})")
    return float(x), float(y), key


def _draw_fixed_points(ax, fixed_points):
    groups = {}
    for k, fp in enumerate(fixed_points):
        x, y, key = _fixed_point(fp, k)
        groups.setdefault(key, []).append((x, y))
    for key in FIXED_POINT_STYLES:
        if key in groups:
            xs, ys = zip(*groups[key])
            ax.plot(xs, ys, ls="none", zorder=5, clip_on=True, label=key,
                    gid="fixed point", **FIXED_POINT_STYLES[key])


def _legend_below(ax, handles=None):
    """A legend under the axes (never over the field), with as many columns as fit."""
    if handles is None:
        handles = ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13),
              ncol=min(len(handles), 3), frameon=False)


def _new_axes(ax, figsize):
    if ax is None:
        return _figure(figsize).subplots()
    return ax


def phase_portrait(x, y, u, v, *, fixed_points=(), trajectories=(), xlabel=r"$\theta_1$",
                   ylabel=r"$\theta_2$", streamlines=True, title=None, density=1.2, ax=None,
                   path=None):
    r"""The update field of a two-parameter game on a grid, with classified fixed points.

    Parameters
    ----------
    x, y : array_like, 1-d
        Evenly spaced, increasing grid coordinates.
    u, v : array_like, shape (len(y), len(x))
        The field's components at ``(x[j], y[i])`` in row ``i``, column ``j``
        (as from ``np.meshgrid(x, y)``). Non-finite entries are left blank.
    fixed_points : sequence
        Each a dict (or an object with attributes, or an ``(x, y, label)``
        tuple) with ``x``, ``y`` and ``label``: one of ``"stable"``,
        ``"unstable"``, ``"saddle"``, ``"centre"``, ``"non-hyperbolic"``, or an
        alias (``"center"``, ``"sink"``, ``"source"``, ``"stable node"``,
        ``"unstable focus"``, ``"degenerate"``, ...; see :data:`FIXED_POINT_ALIASES`); any
        other label raises ``ValueError``. Styles are in
        :data:`FIXED_POINT_STYLES`; the legend has one entry per class.
    trajectories : sequence of array_like, shape (n, 2)
        Paths to overlay, e.g. ``np.stack([tr.theta1[:, k, 0], tr.theta2[:, k, 0]], 1)``;
        each starts with a small dot.
    xlabel, ylabel : str
    streamlines : bool
        Stream plot coloured by speed (default), or arrows of unit length
        coloured by speed (``False``).
    title : str, optional
    density : float
        Stream-line density (``matplotlib`` ``streamplot``).
    ax : matplotlib Axes, optional
        Draw here (e.g. one panel of a larger figure) instead of a new figure.
    path : str or path-like, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    The Hamiltonian game :math:`\dot x = -y, \dot y = x` has a centre at the origin:

    >>> import numpy as np
    >>> x = y = np.linspace(-1, 1, 21)
    >>> X, Y = np.meshgrid(x, y)
    >>> fig = phase_portrait(x, y, -Y, X, fixed_points=[{"x": 0, "y": 0, "label": "centre"}])
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['centre']
    >>> phase_portrait(x, y, -Y, X[:, :-1])
    Traceback (most recent call last):
    ...
    ValueError: v must have shape (len(y), len(x)) = (21, 21), got (21, 20); rows follow y
    """
    x, y = _grid(x, y)
    u, v = _field(u, x, y, "u"), _field(v, x, y, "v")
    mask = np.ma.getmaskarray(u) | np.ma.getmaskarray(v)
    u, v = np.ma.array(u, mask=mask), np.ma.array(v, mask=mask)
    paths = []
    for k, t in enumerate(trajectories):
        t = np.asarray(t, dtype=float)
        if t.ndim != 2 or t.shape[1] != 2 or t.shape[0] < 1:
            raise ValueError(f"trajectories[{k}] must have shape (n, 2), got {t.shape}")
        paths.append(t)
    fps = list(fixed_points)
    for k, fp in enumerate(fps):       # validate before drawing anything
        _fixed_point(fp, k)
    ax = _new_axes(ax, (6.4, 6.0))
    fig = ax.figure
    speed = np.ma.sqrt(u ** 2 + v ** 2)
    if streamlines:
        sp = ax.streamplot(x, y, u.filled(np.nan), v.filled(np.nan), color=speed.filled(np.nan),
                           cmap="viridis", density=density, linewidth=1.1, arrowsize=1.2)
        mappable = sp.lines
    else:
        # about 20 arrows a side, each 0.8 of a (sub-sampled) grid cell long, along (u, v)
        sx, sy = max(1, round(x.size / 20)), max(1, round(y.size / 20))
        cx, cy = sx * (x[1] - x[0]), sy * (y[1] - y[0])
        X, Y = np.meshgrid(x[::sx], y[::sy])
        a, b = u[::sy, ::sx] / cx, v[::sy, ::sx] / cy
        n = np.ma.sqrt(a ** 2 + b ** 2)
        n = np.ma.where(n > 0, n, 1.0)
        mappable = ax.quiver(X, Y, 0.8 * cx * a / n, 0.8 * cy * b / n, speed[::sy, ::sx],
                             cmap="viridis", angles="xy", scale_units="xy", scale=1,
                             pivot="mid", width=0.004)
    fig.colorbar(mappable, ax=ax, label=r"speed $\|(u, v)\|$", shrink=0.9)
    for k, t in enumerate(paths):
        ax.plot(t[:, 0], t[:, 1], color="darkorange", lw=2, zorder=4,
                label="trajectory" if k == 0 else None)
        ax.plot(t[0, 0], t[0, 1], "o", color="darkorange", ms=5, zorder=4)
        if t.shape[0] > 1:
            ax.annotate("", xy=t[-1], xytext=t[-2], zorder=4,
                        arrowprops=dict(arrowstyle="-|>", color="darkorange", lw=2,
                                        mutation_scale=18))
    _draw_fixed_points(ax, fps)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(y[0], y[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "update field and fixed points")
    if ax.get_legend_handles_labels()[1]:
        _legend_below(ax)
    return _save(fig, path)


# ------------------------------------------------------------------ basins
def basins(x, y, outcome, *, labels=None, fixed_points=(), xlabel=r"$\theta_1$",
           ylabel=r"$\theta_2$", colorbar_label="outcome", cmap=None, title=None, ax=None,
           path=None):
    r"""A basin-of-attraction image over a grid of initial conditions.

    Parameters
    ----------
    x, y : array_like, 1-d
        Evenly spaced, increasing grid coordinates (the pixel centres).
    outcome : array_like, shape (len(y), len(x))
        Integer (or boolean) class indices, e.g. which fixed point a run from
        ``(x[j], y[i])`` reached (``-1`` for "none" is fine): one colour per
        class and a legend. Or floats, e.g. the final distance to a target: a
        colour map with a colorbar; NaN pixels are grey.
    labels : dict of int to str, optional
        Names of the classes (integer outcomes only); every class present must
        be named. Classes named but absent still get a legend entry, so colours
        agree between figures with the same ``labels``.
    fixed_points : sequence, optional
        Marked as in :func:`phase_portrait`.
    xlabel, ylabel, colorbar_label : str
    cmap : str, optional
        Colour map (default ``"tab10"`` for classes, ``"viridis"`` for floats).
    title : str, optional
    ax : matplotlib Axes, optional
    path : str or path-like, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> x = y = np.linspace(-1, 1, 5)
    >>> X, Y = np.meshgrid(x, y)
    >>> fig = basins(x, y, (X + Y > 0).astype(int), labels={0: "defect", 1: "cooperate"})
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['defect', 'cooperate']
    >>> len(fig.axes[0].images)
    1
    """
    x, y = _grid(x, y)
    raw = np.asarray(outcome)
    if raw.shape != (y.size, x.size):
        raise ValueError(f"outcome must have shape (len(y), len(x)) = {(y.size, x.size)}, "
                         f"got {raw.shape}; rows follow y")
    categorical = raw.dtype.kind in "biu"
    if not categorical and raw.dtype.kind != "f":
        raise TypeError(f"outcome must hold integers, booleans or floats, got dtype {raw.dtype}")
    if labels is not None and not categorical:
        raise ValueError("labels name classes of an integer outcome; this outcome is float "
                         "(use colorbar_label to name a continuous quantity)")
    fps = list(fixed_points)
    for k, fp in enumerate(fps):
        _fixed_point(fp, k)
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch
    dx, dy = x[1] - x[0], y[1] - y[0]
    extent = (x[0] - dx / 2, x[-1] + dx / 2, y[0] - dy / 2, y[-1] + dy / 2)
    ax = _new_axes(ax, (6.4, 6.0))
    fig = ax.figure
    if categorical:
        raw = raw.astype(int)
        present = set(np.unique(raw).tolist())
        names = {} if labels is None else _labels(labels)
        missing = sorted(present - set(names)) if labels is not None else []
        if missing:
            raise ValueError(f"labels has no name for class(es) {missing} present in outcome")
        classes = sorted(present | set(names))
        base = colormaps[cmap or "tab10"]
        colours = [base(k % base.N) if base.N < 256 else base(k / max(len(classes) - 1, 1))
                   for k in range(len(classes))]
        index = np.searchsorted(classes, raw)
        ax.imshow(index, origin="lower", extent=extent, aspect="auto", interpolation="nearest",
                  cmap=ListedColormap(colours),
                  norm=BoundaryNorm(np.arange(len(classes) + 1) - 0.5, len(classes)))
        handles = [Patch(facecolor=c, edgecolor="black", label=names.get(k, f"class {k}"))
                   for c, k in zip(colours, classes)]
    else:
        cm = colormaps[cmap or "viridis"].with_extremes(bad="lightgrey")
        im = ax.imshow(np.ma.masked_invalid(raw.astype(float)), origin="lower", extent=extent,
                       aspect="auto", interpolation="nearest", cmap=cm)
        fig.colorbar(im, ax=ax, label=colorbar_label, shrink=0.9)
        handles = []
    _draw_fixed_points(ax, fps)
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "basins of attraction")
    h, _ = ax.get_legend_handles_labels()
    if handles or h:
        _legend_below(ax, handles + h)
    return _save(fig, path)


def _labels(labels):
    if not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a dict {{class index: name}}, got {type(labels).__name__}")
    out = {}
    for k, name in labels.items():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"labels keys must be int class indices, got {k!r}")
        out[int(k)] = str(name)
    return out


def portrait(game, rule, x, y, *, starts: int = 16, seed=0, trajectories=0, delta: float = 0.1,
             steps: int = 200, path=None, **hyper):
    r"""Phase portrait of a two-parameter game: the field, its fixed points found and classified.

    Fixed points inside the grid come from :func:`~lola_sym.analysis.fixed_points.find_fixed_points`
    (seeded) and are classified by :func:`~lola_sym.analysis.stability.classify` (flow);
    ``trajectories`` seeded training runs from random grid points are overlaid.
    Returns the matplotlib Figure (saved when ``path`` is given) and the
    classified points as dicts ``{"x", "y", "label"}``.

    Examples
    --------
    >>> from lola_sym import games
    >>> fig, pts = portrait(games.matching_pennies(), "lola", [-3, 3], [-3, 3], starts=4, eta=1.0)
    >>> pts
    [{'x': 0.0, 'y': 0.0, 'label': 'stable'}]
    """
    from lola_sym.analysis.fixed_points import find_fixed_points
    from lola_sym.analysis.portraits import _grid as _axis_grid, vector_field
    from lola_sym.analysis.stability import classify
    from lola_sym.dynamics.training import as_generator, train
    x, y = _axis_grid(x, "x"), _axis_grid(y, "y")
    if game.dims != (1, 1):
        raise ValueError(f"portrait needs a two-parameter game, {game.name} has {game.dims}")
    trajectories = check_int(trajectories, "trajectories", 0)
    starts = check_positive_int(starts, "starts")
    steps = check_positive_int(steps, "steps")
    delta = check_real(delta, "delta", positive=True)
    xs, ys = np.linspace(x[0], x[-1], 41), np.linspace(y[0], y[-1], 41)
    U, V = vector_field(game, rule, xs, ys, **hyper)
    rng = as_generator(seed)
    found = find_fixed_points(game, rule, starts=starts, seed=rng, scale=max(np.ptp(x), np.ptp(y)),
                              **hyper)
    pts = []
    for p in found:
        a, b = float(p.theta1[0]), float(p.theta2[0])
        if p.boundary or not (x[0] <= a <= x[-1] and y[0] <= b <= y[-1]):
            continue
        flow = classify(game, rule, p.theta1, p.theta2, **hyper).flow
        pts.append({"x": round(a, 12) + 0.0, "y": round(b, 12) + 0.0, "label": flow})
    paths = []
    if trajectories:
        t1 = rng.uniform(x[0], x[-1], (trajectories, 1))
        t2 = rng.uniform(y[0], y[-1], (trajectories, 1))
        tr = train(game, rule, theta1=t1, theta2=t2, steps=steps, delta=delta,
                   on_divergence="mark", **hyper)
        paths = [np.stack([tr.theta1[:, k, 0], tr.theta2[:, k, 0]], axis=1)
                 for k in range(tr.runs)]
    hyp = ", ".join(f"{k}={v}" for k, v in hyper.items())
    fig = phase_portrait(xs, ys, U, V, fixed_points=pts, trajectories=paths,
                         title=f"{rule} on {game.name}" + (f" ({hyp})" if hyp else ""),
                         path=path)
    return fig, pts
