r"""Figures of training, final policies, update fields and estimator errors.

Every function takes plain data (:class:`~lola_sym.training.Trajectory`,
NumPy arrays) and returns a :class:`matplotlib.figure.Figure` drawn on the
Agg canvas, so no display is needed and the global ``pyplot`` state is never
touched. Pass ``path="name.png"`` or ``path="name.pdf"`` to also save it
(the format follows the suffix).

* :func:`training_curves` -- average reward per step :math:`(1-\gamma)V^i`
  against the update, mean and spread over runs, one line per setting
  (Figs. 3-4 of [1]_).
* :func:`final_policies` -- :math:`P(C \mid s)` per state at the end of
  training, every run and the mean, agent 1 and agent 2 side by side
  (the policy panels of [1]_).
* :func:`phase_portrait` -- the update field of a two-parameter game on a
  grid with classified fixed points and optional trajectories ([2]_).
* :func:`basins` -- a basin-of-attraction image of class indices, or a
  colour map of a float outcome.
* :func:`estimator_error` -- the bias/variance figure of
  :meth:`lola_sym.verify.BiasVariance.plot`.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 6, Figs. 3-4.
.. [2] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. arXiv:1811.08469.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy.special import expit

from lola_sym.layout import N_PARAMS, STATES
from lola_sym.training import Trajectory

__all__ = ["training_curves", "final_policies", "phase_portrait", "basins", "estimator_error",
           "FIXED_POINT_STYLES", "FIXED_POINT_ALIASES", "SPREADS"]

#: Ways of drawing the spread over runs in :func:`training_curves`.
SPREADS = ("std", "quartiles", "minmax", None)

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


# ------------------------------------------------------------------ helpers
def _figure(figsize):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    """Save ``fig`` to ``path`` (``.png`` or ``.pdf``), creating missing parent folders."""
    if path is None:
        return fig
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "pdf"):
        raise ValueError(f"path must end in .png or .pdf, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=fmt, dpi=150 if fmt == "png" else None)
    return fig


def _settings(trajectories) -> dict:
    """A Trajectory or a mapping of them -> {label: Trajectory}."""
    if isinstance(trajectories, Trajectory):
        r1, r2 = trajectories.rules
        label = r1.upper() if r1 == r2 else f"{r1.upper()} vs {r2.upper()}"
        return {label: trajectories}
    if not isinstance(trajectories, Mapping):
        raise TypeError("expected a Trajectory or a dict {label: Trajectory}, got "
                        f"{type(trajectories).__name__}")
    if not trajectories:
        raise ValueError("no trajectories to plot: the dict is empty")
    for label, tr in trajectories.items():
        if not isinstance(tr, Trajectory):
            raise TypeError(f"trajectories[{label!r}] must be a Trajectory, "
                            f"got {type(tr).__name__}")
    return {str(k): v for k, v in trajectories.items()}


def _game_names(settings) -> str:
    return ", ".join(dict.fromkeys(getattr(t.game, "name", "game") for t in settings.values()))


def _colours(n):
    from matplotlib import colormaps
    cmap = colormaps["tab10"]
    return [cmap(k % 10) for k in range(n)]


def _excluded(tr) -> str:
    n = int(tr.diverged.sum())
    return "" if n == 0 else f", {n} diverged excluded"


# ------------------------------------------------------------------ training curves
def training_curves(trajectories, agent=1, *, spread="std", title=None, path=None):
    r"""Average reward per step against the update, one line per setting (Figs. 3-4 of [1]_).

    Each setting gets its mean over the runs as a line and the spread over
    runs as a shaded band. Runs that diverged (``Trajectory.diverged``) are
    left out of both, and the legend says how many runs remain and how many
    were left out; a setting whose runs all diverged keeps its legend entry
    and an empty line.

    Parameters
    ----------
    trajectories : Trajectory or dict of str to Trajectory
        One trajectory, labelled by its rules (``"LOLA"``, ``"LOLA vs NL"``),
        or several, labelled by the dict keys (e.g. ``{"NL-Ex": ..., "LOLA-Ex": ...}``).
    agent : {1, 2, "both", "mean"}
        Plot agent 1's or agent 2's reward :math:`(1-\gamma)V^i`, both side
        by side, or their mean :math:`(1-\gamma)(V^1 + V^2)/2`.
    spread : {"std", "quartiles", "minmax", None}
        The band: mean :math:`\pm` one standard deviation over runs, the
        25-75 % quantiles, the range, or none.
    title : str, optional
        Defaults to the game's name.
    path : str or path-like, optional
        Save to this ``.png`` or ``.pdf`` file as well.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per agent plotted; each holds exactly one ``Line2D`` per setting.

    Examples
    --------
    >>> from lola_sym import games, train
    >>> trs = {"NL-Ex": train(games.ipd(), "nl", runs=4, steps=5, seed=0),
    ...        "LOLA-Ex": train(games.ipd(), "lola", runs=4, steps=5, seed=0)}
    >>> fig = training_curves(trs, agent="both")
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['$(1-\\gamma)V^1$', '$(1-\\gamma)V^2$']
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['NL-Ex (n=4)', 'LOLA-Ex (n=4)']

    References
    ----------
    .. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
       AAMAS. arXiv:1709.04326, Figs. 3-4.
    """
    settings = _settings(trajectories)
    panels = {1: [1], 2: [2], "both": [1, 2], "mean": ["mean"]}
    if isinstance(agent, bool) or agent not in panels:
        raise ValueError(f"agent must be 1, 2, 'both' or 'mean', got {agent!r}")
    if spread not in SPREADS:
        raise ValueError(f"unknown spread {spread!r}; choose one of {list(SPREADS)}")
    fig = _figure((5.2 * len(panels[agent]) + 0.6, 4.0))
    axes = fig.subplots(1, len(panels[agent]), sharey=True, squeeze=False)[0]
    colours = _colours(len(settings))
    for ax, who in zip(axes, panels[agent]):
        for colour, (label, tr) in zip(colours, settings.items()):
            r = tr.reward[:, ~tr.diverged]
            r = r.mean(axis=-1) if who == "mean" else r[..., who - 1]     # (steps + 1, kept)
            steps = np.arange(tr.reward.shape[0])
            kept = r.shape[1]
            name = (f"{label} (all {tr.runs} runs diverged)" if kept == 0
                    else f"{label} (n={kept}{_excluded(tr)})")
            if kept == 0:
                ax.plot([], [], color=colour, lw=2, label=name)
                continue
            mean = r.mean(axis=1)
            ax.plot(steps, mean, color=colour, lw=2, label=name)
            if spread is not None and kept > 1:
                if spread == "std":
                    lo, hi = mean - r.std(axis=1), mean + r.std(axis=1)
                elif spread == "quartiles":
                    lo, hi = np.quantile(r, [0.25, 0.75], axis=1)
                else:
                    lo, hi = r.min(axis=1), r.max(axis=1)
                ax.fill_between(steps, lo, hi, color=colour, alpha=0.2, lw=0)
        scale = "(1-\\gamma)" if _discounted(settings) else ""
        ax.set_ylabel(f"${scale}V^{who}$" if who != "mean"
                      else f"${scale}(V^1 + V^2)/2$")
        ax.set_xlabel("update")
        ax.grid(alpha=0.3)
        if len(panels[agent]) > 1 or who == "mean":
            ax.set_title(f"agent {who}" if who != "mean" else "mean of both agents")
        ax.legend(fontsize=8, loc="best")
        ax.yaxis.set_tick_params(labelleft=True)
    band = {"std": r"band: $\pm$1 std over runs", "quartiles": "band: 25-75% over runs",
            "minmax": "band: min-max over runs", None: "mean over runs"}[spread]
    fig.suptitle(f"{title or _game_names(settings)}: average reward per step ({band})")
    return _save(fig, path)


def _discounted(settings) -> bool:
    return all(getattr(t.game, "gamma", None) is not None for t in settings.values())


# ------------------------------------------------------------------ final policies
def final_policies(trajectories, *, step=-1, action=None, seed=0, title=None, path=None):
    r"""Probability of the first action per state at the end of training, both agents.

    For memory-1 policies of an iterated game (5 logits ``[s0, CC, CD, DC, DD]``
    per agent, states read from the agent's own perspective, see
    :mod:`lola_sym.layout`): one dot per run (jittered sideways, non-diverged
    runs only) and a bar at the mean, agent 1 left and agent 2 right, one
    colour per setting.

    Parameters
    ----------
    trajectories : Trajectory or dict of str to Trajectory
    step : int
        Which update to show (default the last; negative indices count back).
    action : str, optional
        The action named on the y axis; ``"H"`` (heads) for games named IMP,
        ``"C"`` (cooperate) otherwise.
    seed : int
        Seed of the sideways jitter (a local generator; global state is untouched).
    title : str, optional
    path : str or path-like, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from lola_sym import games, train
    >>> fig = final_policies(train(games.ipd(), "nl", runs=4, steps=5, seed=0))
    >>> [ax.get_title() for ax in fig.axes], fig.axes[0].get_ylabel()
    (['agent 1', 'agent 2'], '$P(C \\mid s)$')
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['s0', 'CC', 'CD', 'DC', 'DD']

    References
    ----------
    .. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
       AAMAS. arXiv:1709.04326, Sec. 6.
    """
    settings = _settings(trajectories)
    for label, tr in settings.items():
        if tr.theta1.shape[-1] != N_PARAMS or tr.theta2.shape[-1] != N_PARAMS:
            raise ValueError(f"final_policies needs memory-1 policies ({N_PARAMS} logits per "
                             f"agent); {label!r} has {tr.theta1.shape[-1]} and "
                             f"{tr.theta2.shape[-1]}")
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or \
                not -tr.theta1.shape[0] <= step < tr.theta1.shape[0]:
            raise ValueError(f"step must be an int index into the {tr.theta1.shape[0]} recorded "
                             f"parameter sets of {label!r}, got {step!r}")
    if action is None:
        action = "H" if "IMP" in _game_names(settings).upper() else "C"
    rng = np.random.default_rng(seed)
    fig = _figure((11.5, 4.2))
    axes = fig.subplots(1, 2, sharey=True)
    colours = _colours(len(settings))
    n = len(settings)
    width = 0.8 / n
    x = np.arange(N_PARAMS)
    for i, ax in enumerate(axes):
        for k, (colour, (label, tr)) in enumerate(zip(colours, settings.items())):
            theta = (tr.theta1 if i == 0 else tr.theta2)[step][~tr.diverged]
            p = expit(theta)                                          # (kept, 5)
            pos = x - 0.4 + width * (k + 0.5)
            kept = p.shape[0]
            name = f"{label} (n={kept}{_excluded(tr)})"
            if kept == 0:
                ax.plot([], [], "o", color=colour, label=f"{label} (all {tr.runs} runs diverged)")
                continue
            jitter = rng.uniform(-0.3, 0.3, size=p.shape) * width
            ax.plot((pos + jitter).ravel(), p.ravel(), "o", ms=4, alpha=0.45, color=colour,
                    markeredgewidth=0, label=name)
            ax.hlines(p.mean(axis=0), pos - 0.42 * width, pos + 0.42 * width, color=colour,
                      lw=3)
        ax.set_xticks(x, STATES)
        ax.set_xlim(-0.5, N_PARAMS - 0.5)
        ax.set_ylim(-0.03, 1.03)
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        for b in x[:-1] + 0.5:
            ax.axvline(b, color="grey", lw=0.5, alpha=0.4)
        ax.set_title(f"agent {i + 1}")
        ax.set_xlabel("state $s$ (own perspective: own last action first)")
        ax.yaxis.set_tick_params(labelleft=True)
    axes[0].set_ylabel(f"$P({action} \\mid s)$")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], ls="none", marker="o", ms=7, color=line.get_color(),
                      label=line.get_label()) for line in axes[0].lines if line.get_marker() == "o"]
    handles.append(Line2D([], [], color="black", lw=3, label="mean over runs (bar)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4),
               fontsize=8)
    when = "the end of training" if step == -1 else f"update {step}"
    fig.suptitle(f"{title or _game_names(settings)}: policies at {when}")
    return _save(fig, path)


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


# ------------------------------------------------------------------ estimator error
def estimator_error(result, *, z=4.0, path=None):
    r"""RMS error against batch size and bias against horizon of gradient estimators.

    A thin wrapper over :meth:`lola_sym.verify.BiasVariance.plot` (which see):
    the same figure with the batch sizes as the x ticks of the left panel,
    saved when ``path`` is given.

    Parameters
    ----------
    result : lola_sym.verify.BiasVariance
        From :func:`lola_sym.verify.bias_variance`.
    z : float
        Half-width of the error bars on the bias, in standard errors.
    path : str or path-like, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games, bias_variance
    >>> bv = bias_variance(games.ipd(), np.zeros(5), np.zeros(5), batch_sizes=[10, 40],
    ...                    horizons=[5], replicates=3, seed=0)
    >>> estimator_error(bv).axes[0].get_xlabel()
    'batch size N (episodes)'

    References
    ----------
    .. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
       AAMAS. arXiv:1709.04326, Sec. 4.3.
    """
    from lola_sym.verify import BiasVariance
    if not isinstance(result, BiasVariance):
        raise TypeError("estimator_error needs a lola_sym.verify.BiasVariance (from "
                        f"bias_variance), got {type(result).__name__}")
    fig = result.plot(z=z)
    from matplotlib.ticker import NullFormatter
    ax = fig.axes[0]                   # log-scale minor labels overlap: label the batch sizes
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(result.batch_sizes, [str(int(n)) for n in result.batch_sizes])
    return _save(fig, path)
