r"""Figures of training, final policies, update fields and estimator errors.

Every function takes plain data (:class:`~lola_sym.dynamics.training.Trajectory`,
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
  :meth:`lola_sym.sampling.verify.BiasVariance.plot`.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 6, Figs. 3-4.
.. [2] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. arXiv:1811.08469.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import expit

from lola_sym.report.plot_support import _figure, _png_bytes, _save
from lola_sym.games.layout import N_PARAMS, STATES
from lola_sym.dynamics.training import Trajectory

__all__ = ["training_curves", "final_policies", "phase_portrait", "basins", "estimator_error",
           "FIXED_POINT_STYLES", "FIXED_POINT_ALIASES", "SPREADS"]

#: Ways of drawing the spread over runs in :func:`training_curves`.
SPREADS = ("std", "quartiles", "minmax", None)

# ------------------------------------------------------------------ helpers
# (figures on the Agg canvas and their saving: lola_sym.report.plot_support)
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
    :mod:`lola_sym.games.layout`): one dot per run (jittered sideways, non-diverged
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


# ------------------------------------------------------------------ estimator error
def estimator_error(result, *, z=4.0, path=None):
    r"""RMS error against batch size and bias against horizon of gradient estimators.

    A thin wrapper over :meth:`lola_sym.sampling.verify.BiasVariance.plot` (which see):
    the same figure with the batch sizes as the x ticks of the left panel,
    saved when ``path`` is given.

    Parameters
    ----------
    result : lola_sym.sampling.verify.BiasVariance
        From :func:`lola_sym.sampling.verify.bias_variance`.
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
    from lola_sym.sampling.verify import BiasVariance
    if not isinstance(result, BiasVariance):
        raise TypeError("estimator_error needs a lola_sym.sampling.verify.BiasVariance (from "
                        f"bias_variance), got {type(result).__name__}")
    fig = result.plot(z=z)
    fig._repr_png_ = lambda: _png_bytes(fig)
    from matplotlib.ticker import NullFormatter
    ax = fig.axes[0]                   # log-scale minor labels overlap: label the batch sizes
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(result.batch_sizes, [str(int(n)) for n in result.batch_sizes])
    for a in fig.axes:                 # and on log y axes spanning few decades
        if a.get_yscale() == "log":
            a.yaxis.set_minor_formatter(NullFormatter())
    return _save(fig, path)


# phase portraits and basins live in their own module (re-exported here)
from lola_sym.report.plots_dynamics import (FIXED_POINT_ALIASES, FIXED_POINT_STYLES,  # noqa: E402,F401
                                     basins, phase_portrait)
