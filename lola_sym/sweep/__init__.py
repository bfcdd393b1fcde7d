r"""Sweeps at scale: learning dynamics over grids, labelled, resumable, on one core or a cluster.

:func:`sweep` trains learners over every combination of games, rule pairs,
learning rates, hyper-parameters, game-symbol values, seeds or initial points,
and returns an :class:`xarray.Dataset` with one dimension per axis. Chunks of
the grid (one batched :func:`lola_sym.train` call each) run in this process,
on a local pool of processes (one per core, threads capped), on any
:class:`concurrent.futures.Executor` or on a Dask cluster; results can be
stored in zarr as they come and resumed after a kill. Figures:
:mod:`lola_sym.report.sweep_plots`.

Modules, one concept each: :mod:`~lola_sym.sweep.spec` (the validated
specification), :mod:`~lola_sym.sweep.grid` (axes, chunks, seeds),
:mod:`~lola_sym.sweep.quantities` (what is measured), :mod:`~lola_sym.sweep.task`
(one chunk's work), :mod:`~lola_sym.sweep.pool` (the local process pool),
:mod:`~lola_sym.sweep.engine` (dispatch and retries), :mod:`~lola_sym.sweep.warm`
(compiled programs and cache keys), :mod:`~lola_sym.sweep.dataset` (the
labelled result), :mod:`~lola_sym.sweep.store` (zarr persistence),
:mod:`~lola_sym.sweep.progress`, :mod:`~lola_sym.sweep.run` (the driver).
"""

from lola_sym.sweep.run import Plan, SweepResult, plan, run, sweep
from lola_sym.sweep.spec import SweepSpec, make_spec
from lola_sym.sweep.engine import SweepWarning
from lola_sym.sweep.pool import LocalPool, WorkerLost
from lola_sym.sweep.store import load

__all__ = ["sweep", "run", "plan", "make_spec", "SweepSpec", "SweepResult", "Plan",
           "SweepWarning", "LocalPool", "WorkerLost", "load"]
