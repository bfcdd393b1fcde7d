r"""Figures of cycles and chaos: Letcher's 2x5 trajectory panel and the chaos map (headless Agg).

References
----------
.. [1] Letcher, A. (2021). On the impossibility of global convergence in
   multi-loss optimization. ICLR. arXiv:2005.12649, Fig. 1.
"""

from __future__ import annotations

import numpy as np

from lola_sym.report.plot_support import _figure, _save

__all__ = ["letcher_panel", "chaos_map_figure"]


def letcher_panel(trajectories: dict, start: int = 500, run: int = 0, path=None):
    r"""One panel per method: the path of :math:`(x, y)` from update ``start`` on (2x5 grid).

    ``trajectories`` maps a method's label to its parameters, shape
    ``(steps + 1, runs, 2)``; run ``run`` is drawn, from ``start`` (as in
    Letcher's Fig. 1, which starts at 500 for clarity), the start of the whole
    path marked. With fewer than ten methods the last panel shows the distance
    from the fixed point :math:`\|(x, y)\|` against the update, for every
    method. Saved to ``path`` (``.png`` / ``.pdf``) if given.

    Examples
    --------
    >>> t = np.linspace(0, 20, 301)
    >>> path = np.stack([np.c_[np.cos(t), np.sin(t)]], axis=1)
    >>> fig = letcher_panel({"NL": path, "LOLA": 0.9 * path}, start=100)
    >>> len(fig.axes)
    10
    """
    labels = list(trajectories)
    if not labels or len(labels) > 10:
        raise ValueError(f"give 1 to 10 methods, got {len(labels)}")
    fig = _figure((16.0, 6.8))
    axes = fig.subplots(2, 5).ravel()
    for ax, label in zip(axes, labels):
        x = np.asarray(trajectories[label], dtype=float)
        if x.ndim != 3 or x.shape[-1] != 2:
            raise ValueError(f"trajectories[{label!r}] must have shape (steps + 1, runs, 2), got "
                             f"{x.shape}")
        s = min(start, x.shape[0] - 2)
        ax.plot(x[s:, run, 0], x[s:, run, 1], lw=1.2, color="#003153")
        ax.plot([0], [0], "x", color="C3", ms=6)
        ax.set_title(label)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    if len(labels) < 10:
        ax = axes[-1]
        for k, label in enumerate(labels):
            x = np.asarray(trajectories[label], dtype=float)
            ax.plot(np.linalg.norm(x[:, run], axis=-1), lw=0.8, color=f"C{k % 10}", label=label)
        ax.set(xlabel="update", ylabel=r"$\|(x, y)\|$", title="distance from the fixed point")
        ax.legend(fontsize=6, ncols=2, frameon=False)
        for ax in axes[len(labels):-1]:
            ax.set_visible(False)
    else:
        for ax in axes[len(labels):]:
            ax.set_visible(False)
    return _save(fig, path)


def chaos_map_figure(chaos_map, issue=None, path=None):
    r"""The chaos map: fractions of chaotic and of moved runs, and the largest exponents.

    Along the line δ = η (``chaos_map.diagonal``): left, the fraction of runs
    with largest exponent above the threshold and the fraction moved by the
    nudge (with 95 % Wilson intervals), and ``issue`` (a mapping δ -> fraction)
    as reference points; right, the median largest exponent with the 10-90 %
    band. On a (δ, η) grid: heat maps of the median exponent and the chaotic
    fraction (one cell per grid point, spacing need not be uniform). Saved to
    ``path`` if given.

    Examples
    --------
    >>> from lola_sym import games
    >>> from lola_sym.analysis.chaos import chaos_map
    >>> m = chaos_map(games.matching_pennies(), "lola", [0.5, 1.0], runs=3, steps=20)
    >>> len(chaos_map_figure(m).axes)
    2
    """
    from lola_sym.analysis.chaos import wilson_interval
    s = chaos_map.settings
    fig = _figure((10.0, 4.0))
    ax1, ax2 = fig.subplots(1, 2)
    lam = chaos_map.largest
    if chaos_map.diagonal:
        d = chaos_map.deltas
        n_ok = np.isfinite(lam).sum(-1)
        frac = chaos_map.fraction_chaotic
        ci = np.array([wilson_interval(int(round(f * n)), max(int(n), 1))
                       for f, n in zip(frac, n_ok)])
        ax1.errorbar(d, frac, yerr=np.abs(ci.T - frac), marker="o", capsize=3,
                     label=f"FTLE > {s['threshold']:g}")
        if chaos_map.moved is not None:
            mv = chaos_map.moved
            ci = np.array([wilson_interval(int(round(f * n)), max(int(n), 1))
                           for f, n in zip(mv, n_ok)])
            ax1.errorbar(d, mv, yerr=np.abs(ci.T - mv), marker="s", capsize=3,
                         label=f"moved > {s['moved_threshold']:g} by a {s['nudge']:g} nudge")
        if issue:
            ax1.plot(list(issue), list(issue.values()), "*", color="k", mfc="none", ms=14,
                     zorder=5, label="issue 14 (moved)")
        ax1.set(xlabel=r"$\delta = \eta$", ylabel="fraction of runs", ylim=(-0.02, 1.02),
                title=f"{s['rule']} on {s['game']}: {s['runs']} runs, {s['steps']} steps")
        ax1.legend(fontsize=8, frameon=False)
        lo, med, hi = np.nanpercentile(lam, [10, 50, 90], axis=-1)
        ax2.fill_between(d, lo, hi, alpha=0.25, lw=0, label="10-90 %")
        ax2.plot(d, med, "o-", label="median")
        ax2.axhline(s["threshold"], color="C3", ls=":", lw=1, label="threshold")
        ax2.axhline(0, color="0.5", lw=0.8)
        ax2.set(xlabel=r"$\delta = \eta$", ylabel=r"largest FTLE $\lambda_1$ (per step)",
                title="largest finite-time Lyapunov exponent")
        ax2.legend(fontsize=8, frameon=False)
    else:
        for ax, data, title in ((ax1, np.nanmedian(lam, -1), "median largest FTLE"),
                                (ax2, chaos_map.fraction_chaotic, "fraction chaotic")):
            im = ax.pcolormesh(_edges(chaos_map.etas), _edges(chaos_map.deltas), data,
                               cmap="viridis")
            fig.colorbar(im, ax=ax)
            ax.set(xlabel=s["hyper_name"], ylabel=r"$\delta$", title=title)
    return _save(fig, path)


def _edges(v) -> np.ndarray:
    """Cell edges around grid values (midpoints; half a spacing beyond the ends)."""
    v = np.asarray(v, dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
