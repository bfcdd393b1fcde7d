r"""Figures of a sweep: heat maps and line plots of any quantity over two of its axes.

A quantity of a :func:`lola_sym.sweep.sweep` dataset (a variable name, or any
:class:`xarray.DataArray` computed from it, e.g. ``ds.diverged_at >= 0``) is
drawn over two axes; every other numeric dimension (seeds, agents, ...) is
averaged (NaN, the diverged runs, left out), and a labelled axis (game, rules)
of more than one value must be picked with ``sel``. Figures are drawn headless
(:mod:`lola_sym.report.plot_support`); matplotlib is imported on first use.

Examples
--------
>>> import numpy as np, xarray as xr
>>> ds = xr.Dataset({"reward": (("delta", "eta", "seed"), np.arange(12.0).reshape(2, 3, 2))},
...                 coords={"delta": [0.5, 1.0], "eta": [0.1, 0.2, 0.3], "seed": [0, 1]})
>>> fig = heatmap(ds, "reward", x="eta", y="delta")
>>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
('eta', 'delta')
>>> reduced(ds, "reward", ("eta", "delta")).values.tolist()
[[0.5, 6.5], [2.5, 8.5], [4.5, 10.5]]
"""

from __future__ import annotations

from lola_sym.report.plot_support import _figure, _save

__all__ = ["reduced", "heatmap", "lines", "heatmaps"]


def _array(ds, quantity):
    if isinstance(quantity, str):
        if quantity not in ds.data_vars:
            raise ValueError(f"no quantity {quantity!r} in the dataset; it has "
                             f"{sorted(ds.data_vars)}")
        return ds[quantity]
    if hasattr(quantity, "dims") and hasattr(quantity, "mean"):
        return quantity
    raise TypeError(f"quantity must be a variable name or an xarray.DataArray, got "
                    f"{type(quantity).__name__}")


def reduced(ds, quantity, keep, sel=None):
    """``quantity`` with ``sel`` applied and every dimension but ``keep`` averaged (NaN skipped).

    A dimension of labels (strings) is never averaged: pick one value with ``sel``.
    Returns a DataArray with the dimensions ``keep``, in that order.

    Examples
    --------
    The mean over seeds, the NaN of a diverged run skipped:

    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"reward_1": (("eta", "seed"), np.array([[1.0, 3.0], [2.0, np.nan]])),
    ...                  "reward_2": (("eta", "seed"), np.array([[0.0, 1.0], [4.0, 2.0]]))},
    ...                 coords={"eta": [0.1, 1.0], "seed": [0, 1]})
    >>> reduced(ds, "reward_1", ["eta"]).values
    array([2., 2.])
    >>> reduced(ds, "reward_1", ["seed", "eta"]).dims
    ('seed', 'eta')
    """
    da = _array(ds, quantity)
    if sel:
        unknown = sorted(set(sel) - set(da.dims) - set(da.coords))
        if unknown:
            raise ValueError(f"cannot select {unknown[0]!r}: the quantity has dimensions "
                             f"{list(da.dims)}")
        da = da.sel(sel)
    keep = tuple(keep)
    for k in keep:
        if k not in da.dims:
            raise ValueError(f"{k!r} is not a dimension of the quantity (dimensions: "
                             f"{list(da.dims)}; a fixed setting is not an axis)")
    if len(set(keep)) != len(keep):
        raise ValueError(f"the two axes must differ, got {list(keep)}")
    rest = [d for d in da.dims if d not in keep]
    labelled = [d for d in rest if d in da.coords and da[d].dtype.kind in "US"]
    if labelled:
        d = labelled[0]
        raise ValueError(f"pick one value of the axis {d!r} with sel={{{d!r}: ...}} "
                         f"(it has {[str(v) for v in da[d].values]}); labelled axes are not "
                         f"averaged")
    out = da.astype(float).mean(dim=rest, skipna=True) if rest else da.astype(float)
    return out.transpose(*keep)


def _ticks(ax, which, values):
    labels = [v if isinstance(v, str) else f"{v:g}" for v in values.tolist()]
    pos = range(len(labels))
    step = max(1, len(labels) // 10)
    getattr(ax, f"set_{which}ticks")(list(pos)[::step])
    getattr(ax, f"set_{which}ticklabels")(labels[::step])


def _title(quantity, sel):
    name = quantity if isinstance(quantity, str) else (quantity.name or "quantity")
    where = ", ".join(f"{k}={v}" for k, v in (sel or {}).items())
    return f"{name}" + (f" ({where})" if where else "")


def _draw_heatmap(ax, fig, da, x, y, title, cmap, vmin, vmax):
    z = da.transpose(y, x).values
    mesh = ax.pcolormesh(z, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat")
    ax.set_xlim(0, z.shape[1])
    ax.set_ylim(0, z.shape[0])
    for which, d in (("x", x), ("y", y)):
        vals = da[d].values
        labels = [v if isinstance(v, str) else f"{v:g}" for v in vals.tolist()]
        step = max(1, len(labels) // 10)
        pos = [i + 0.5 for i in range(len(labels))][::step]
        getattr(ax, f"set_{which}ticks")(pos)
        getattr(ax, f"set_{which}ticklabels")(labels[::step])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title, fontsize=9)
    fig.colorbar(mesh, ax=ax)


def heatmap(ds, quantity, x: str, y: str, *, sel: dict | None = None, path=None,
            cmap: str = "viridis", vmin=None, vmax=None, title: str | None = None):
    """A heat map of ``quantity`` over the axes ``x`` (columns) and ``y`` (rows).

    Other dimensions are averaged (see :func:`reduced`); ``path`` (``.png`` or
    ``.pdf``) saves the figure. Returns the :class:`matplotlib.figure.Figure`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"reward_1": (("eta", "seed"), np.array([[1.0, 3.0], [2.0, np.nan]])),
    ...                  "reward_2": (("eta", "seed"), np.array([[0.0, 1.0], [4.0, 2.0]]))},
    ...                 coords={"eta": [0.1, 1.0], "seed": [0, 1]})
    >>> fig = heatmap(ds, "reward_1", "eta", "seed")
    >>> len(fig.axes), fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()   # map and colour bar
    (2, 'eta', 'seed')
    """
    da = reduced(ds, quantity, (x, y), sel)
    fig = _figure((5.0, 4.0))
    ax = fig.add_subplot()
    _draw_heatmap(ax, fig, da, x, y, title or "mean " + _title(quantity, sel), cmap, vmin,
                  vmax)
    return _save(fig, path)


def heatmaps(ds, quantities, x: str, y: str, *, sel: dict | None = None, path=None,
             cmap: str = "viridis", titles=None):
    """Heat maps of several quantities side by side, over the same axes (``titles``: one each).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"reward_1": (("eta", "seed"), np.array([[1.0, 3.0], [2.0, np.nan]])),
    ...                  "reward_2": (("eta", "seed"), np.array([[0.0, 1.0], [4.0, 2.0]]))},
    ...                 coords={"eta": [0.1, 1.0], "seed": [0, 1]})
    >>> len(heatmaps(ds, ["reward_1", "reward_2"], "eta", "seed").axes)   # two maps, two bars
    4
    """
    quantities = list(quantities)
    if not quantities:
        raise ValueError("give at least one quantity")
    if titles is not None and len(titles) != len(quantities):
        raise ValueError(f"give one title per quantity: {len(quantities)} quantities, "
                         f"{len(titles)} titles")
    fig = _figure((4.6 * len(quantities), 4.0))
    for k, q in enumerate(quantities):
        ax = fig.add_subplot(1, len(quantities), k + 1)
        title = titles[k] if titles is not None else "mean " + _title(q, sel)
        _draw_heatmap(ax, fig, reduced(ds, q, (x, y), sel), x, y, title, cmap, None, None)
    return _save(fig, path)


def lines(ds, quantity, x: str, hue: str | None = None, *, sel: dict | None = None,
          path=None, title: str | None = None):
    """A line plot of ``quantity`` against the axis ``x``, one line per value of ``hue``.

    Other dimensions are averaged (see :func:`reduced`). Returns the figure.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"reward_1": (("eta", "seed"), np.array([[1.0, 3.0], [2.0, np.nan]])),
    ...                  "reward_2": (("eta", "seed"), np.array([[0.0, 1.0], [4.0, 2.0]]))},
    ...                 coords={"eta": [0.1, 1.0], "seed": [0, 1]})
    >>> fig = lines(ds, "reward_2", "eta", hue="seed")
    >>> [np.asarray(line.get_ydata()).tolist() for line in fig.axes[0].lines]   # seeds 0, 1
    [[0.0, 4.0], [1.0, 2.0]]
    """
    keep = (x,) if hue is None else (x, hue)
    da = reduced(ds, quantity, keep, sel)
    fig = _figure((5.0, 3.6))
    ax = fig.add_subplot()
    xs = da[x].values
    numeric = xs.dtype.kind in "iuf"
    pos = xs if numeric else range(len(xs))
    if hue is None:
        ax.plot(pos, da.values, marker="o", ms=3)
    else:
        for v in da[hue].values:
            ax.plot(pos, da.sel({hue: v}).values, marker="o", ms=3,
                    label=f"{hue}={v if isinstance(v, str) else f'{v:g}'}")
        ax.legend(fontsize=8)
    if not numeric:
        _ticks(ax, "x", xs)
    ax.set_xlabel(x)
    ax.set_ylabel("mean " + (quantity if isinstance(quantity, str) else
                             (quantity.name or "quantity")))
    ax.set_title(title or "mean " + _title(quantity, sel), fontsize=9)
    ax.grid(alpha=0.3)
    return _save(fig, path)
