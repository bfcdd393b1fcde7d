r"""The labelled result of a sweep: an :class:`xarray.Dataset` with one dimension per axis.

Dimensions: every axis given as a list (game, rules, delta, each
hyper-parameter, each game symbol, init or seed), then the quantities' own
(``agent``, numbered from 1; ``param``, numbered from 0; ``step``, the
recorded updates). Settings given as a single value are scalar coordinates.
A sweep of initial points has the coordinate ``theta0`` (init, agent, param).

Attributes (the same for every engine, so that datasets compare bit for bit):
``lola_sym_version``, ``spec`` (canonical JSON of the sweep,
:meth:`~lola_sym.sweep.spec.SweepSpec.to_json`), ``spec_digest``,
``seed_entropy`` (decimal string) and ``seed_derivation``, ``cache_keys``
(JSON list of the compiled programs' disk-cache keys), ``targets`` (JSON:
the ``distance`` target on each game).

Cells not computed yet (only seen in an unfinished store) hold NaN, or
:data:`NOT_RUN` in integer quantities.
"""

from __future__ import annotations

import json

import numpy as np

import lola_sym.sweep.quantities as Q
from lola_sym.sweep.grid import Grid

__all__ = ["template", "extra_shape", "NOT_RUN", "SEED_DERIVATION"]

#: Value of an integer quantity in a cell not computed yet.
NOT_RUN = -2

#: How the initial parameters of seed index ``s`` are drawn (stored with the results).
SEED_DERIVATION = ("initial parameters of seed index s: lola_sym.dynamics.training."
                   "initial_parameters(game, 1, numpy.random.default_rng(numpy.random."
                   "SeedSequence(seed_entropy).spawn(n)[s]), init_std), agent by agent; "
                   "the same for every other axis value")


def extra_shape(spec, grid_steps) -> dict:
    """Length of every extra dimension: ``agent``, ``param``, ``step``.

    Examples
    --------
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("ipd", ["nl", "lola"], eta=[0.5, 1.0], seeds=3, steps=5)
    >>> extra_shape(spec, [0, 5])           # two players of 5 logits; two recorded steps
    {'agent': 2, 'param': 5, 'step': 2}
    """
    return {"agent": spec.n_agents(), "param": spec.max_params(), "step": len(grid_steps)}


def _variables(spec) -> list:
    return list(spec.quantities) + [f"{n}_path" for n in spec.along]


def fill_value(name: str):
    return NOT_RUN if Q.dtype_of(name) == np.int64 else np.nan


def template(spec, grid: Grid, cache_keys: list, version: str):
    """The dataset of ``spec`` with every cell not run yet (NaN / :data:`NOT_RUN`).

    Parameters
    ----------
    spec : SweepSpec
    grid : Grid
        ``spec.grid(chunk_rows)``.
    cache_keys : list
        The compiled programs' disk-cache keys
        (:func:`lola_sym.sweep.warm.cache_keys`), stored as an attribute.
    version : str
        The package version, stored as an attribute.

    Returns
    -------
    xarray.Dataset

    Examples
    --------
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", ["nl", "lola"], seeds=3, steps=4)
    >>> ds = template(spec, spec.grid(), [], "0.1.0")
    >>> dict(ds.sizes), ds.rules.values.tolist()
    ({'rules': 2, 'seed': 3, 'agent': 2, 'param': 1}, ['nl', 'lola'])
    >>> list(ds.data_vars)
    ['reward', 'distance', 'diverged_at', 'converged_at', 'theta']
    >>> bool(ds.reward.isnull().all()), bool((ds.diverged_at == NOT_RUN).all())
    (True, True)
    >>> ds.attrs["spec_digest"] == spec.digest, ds.attrs["targets"]
    (True, '{"matching pennies": "nash"}')
    """
    import xarray as xr

    steps = Q.recorded_steps(spec.steps, spec.record_every)
    extra = extra_shape(spec, steps)
    coords = {}
    for a in grid.axes:
        values = np.asarray(a.labels if a.name in ("game", "rules") else a.values)
        if a.name == "init":
            values = np.arange(len(a))
        coords[a.name] = (a.name, values) if a.dim else ((), values[0])
    coords["agent"] = ("agent", np.arange(1, extra["agent"] + 1))
    coords["param"] = ("param", np.arange(extra["param"]))
    if spec.along:
        coords["step"] = ("step", steps)
    if spec.inits is not None:
        dims = spec.game_objects()[0].dims
        theta0 = np.full((len(spec.inits), extra["agent"], extra["param"]), np.nan)
        cuts = np.cumsum((0,) + tuple(dims))
        pts = np.asarray(spec.inits, dtype=float)
        for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
            theta0[:, i, :b - a] = pts[:, a:b]
        coords["theta0"] = (("init", "agent", "param"), theta0)
    data = {}
    targets = {g.name: spec.target_of(g) for g in spec.game_objects()}
    for name in _variables(spec):
        ex = Q.extra_dims(name)
        shape = grid.shape + tuple(extra[d] for d in ex)
        attrs = {"description": Q.DESCRIPTIONS[name.removesuffix("_path")]
                 + (" (along the run)" if name.endswith("_path") else "")}
        if name.startswith("distance"):
            attrs["target"] = json.dumps(targets, sort_keys=True)
        data[name] = (grid.dims + ex, np.full(shape, fill_value(name), dtype=Q.dtype_of(name)),
                      attrs)
    unused = [d for d in ("agent", "param") if not any(d in Q.extra_dims(n)
                                                       for n in _variables(spec))]
    unused = [d for d in unused if not (d in ("agent", "param") and spec.inits is not None)]
    for d in unused:
        del coords[d]
    attrs = {"lola_sym_version": version, "spec": spec.to_json(), "spec_digest": spec.digest,
             "seed_entropy": str(spec.entropy), "seed_derivation": SEED_DERIVATION,
             "cache_keys": json.dumps(cache_keys), "targets": json.dumps(targets,
                                                                          sort_keys=True)}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def block(spec, grid: Grid, chunk, name: str, values: np.ndarray, extra: dict) -> np.ndarray:
    """A task's ``(rows, ...)`` values of ``name`` as the chunk's block of the dataset variable.

    Agents and parameters a game lacks (a game axis of mixed shapes) are filled
    with NaN (:data:`NOT_RUN` for integers).
    """
    ex = Q.extra_dims(name)
    want = tuple(extra[d] for d in ex)
    v = np.asarray(values)
    if v.shape[1:] != want:
        full = np.full((v.shape[0],) + want, fill_value(name), dtype=Q.dtype_of(name))
        full[(slice(None),) + tuple(slice(0, k) for k in v.shape[1:])] = v
        v = full
    setting = tuple(1 for a in grid.setting_axes if a.dim)
    return v.astype(Q.dtype_of(name), copy=False).reshape(setting + grid.block_of(chunk) + want)
