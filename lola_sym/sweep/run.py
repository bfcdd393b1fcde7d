r"""Sweeps: train learners over a grid of games, rules, rates and seeds, with labelled results.

:func:`sweep` validates the grid (:func:`lola_sym.sweep.spec.make_spec`),
warms the compiled-code cache once, cuts the grid into chunks (one batched
:func:`lola_sym.train` call each), runs them on an engine
(:mod:`lola_sym.sweep.engine`) and gathers an :class:`xarray.Dataset`
(:mod:`lola_sym.sweep.dataset`), optionally stored in zarr as it goes
(:mod:`lola_sym.sweep.store`) and resumed from there.

Determinism: a cell's result depends only on its setting and its seed index
(:mod:`lola_sym.sweep.grid`), never on the engine, the number of workers or
the chunking, so the same sweep gives bit-identical datasets everywhere.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

import lola_sym.sweep.dataset as D
import lola_sym.sweep.store as S
from lola_sym.sweep.engine import execute, executor_for
from lola_sym.sweep.pool import LocalPool
from lola_sym.sweep.progress import Progress, format_seconds
from lola_sym.sweep.spec import make_spec
from lola_sym.sweep.task import Task, run_task
from lola_sym.sweep.warm import cache_keys, warm

__all__ = ["sweep", "run", "plan", "tasks_of", "SweepResult", "Plan"]


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep and how it ran.

    Attributes
    ----------
    dataset : xarray.Dataset
    chunks : int
        Chunks in the grid.
    computed : int
        Chunks computed by this run.
    skipped : int
        Chunks found finished in the store (a resume) and not computed again.
    retried : int
        Chunks run again because their worker died.
    seconds : float
        Wall time of the run (warm-up included).
    warm_seconds : float
        Building (or loading) the compiled programs in the driver.
    engine : str
    task_cpu_seconds : float
        CPU time the workers' processes spent in the tasks computed (summed).
    """

    dataset: Any                 # xarray.Dataset (xarray is imported when a sweep runs)
    chunks: int
    computed: int
    skipped: int
    retried: int
    seconds: float
    warm_seconds: float
    engine: str
    task_cpu_seconds: float = 0.0


@dataclass(frozen=True)
class Plan:
    """What a sweep would do (a dry run): its size and an estimate of its time.

    The estimate times a small probe of every (game, rules) pair,
    ``seconds = steps x (a + b x rows)`` per chunk fitted from two batch sizes,
    summed over the chunks and divided by the workers.
    """

    dims: dict
    cells: int
    chunks: int
    chunk_rows: int
    steps: int
    workers: int
    warm_seconds: float
    estimate_seconds: float

    def __str__(self) -> str:
        dims = " x ".join(f"{k} {v}" for k, v in self.dims.items()) or "one cell"
        return (f"grid: {dims} = {self.cells:,} cells x {self.steps} steps, in {self.chunks:,} "
                f"chunks of at most {self.chunk_rows} rows\n"
                f"estimated time on {self.workers} worker{'s' if self.workers > 1 else ''}: "
                f"{format_seconds(self.estimate_seconds)} (compiled programs ready in "
                f"{self.warm_seconds:.1f} s)")


def tasks_of(spec, grid, chunks, threads=None) -> list:
    """The :class:`~lola_sym.sweep.task.Task` of every chunk in ``chunks``.

    Parameters
    ----------
    spec : SweepSpec
    grid : Grid
        ``spec.grid(chunk_rows)``.
    chunks : sequence of Chunk
        Chunks of ``grid`` (``grid.chunks()``, or those left to run).
    threads : int, optional
        Each task's thread cap (:func:`~lola_sym.sweep.task.cap_threads`).

    Examples
    --------
    Settings outer, blocks of seeds inner:

    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", ["nl", "lola"], seeds=3, steps=4)
    >>> grid = spec.grid(chunk_rows=2)
    >>> tasks = tasks_of(spec, grid, grid.chunks())
    >>> [(t.chunk, t.rules, t.seeds.tolist()) for t in tasks]
    [(0, ('nl',), [0, 1]), (1, ('nl',), [2]), (2, ('lola',), [0, 1]), (3, ('lola',), [2])]
    >>> tasks[0].game, tasks[0].delta, tasks[0].steps, tasks[0].target
    ('matching_pennies', 1.0, 4, 'nash')
    """
    games = spec.game_objects()
    out = []
    for c in chunks:
        setting = dict(zip((a.name for a in grid.setting_axes), c.setting))
        gi = setting["game"]
        game_entry = spec.games[gi]
        hyper = tuple((n, vals[setting[n]]) for n, vals, _ in spec.hyper)
        rows = grid.rows_of(c)
        fixed = tuple((n, vals[0]) for n, vals, dim in spec.parameters if not dim)
        per_row = tuple((n, np.asarray(vals, dtype=float)[rows[n]])
                        for n, vals, dim in spec.parameters if dim)
        if spec.inits is not None:
            seeds, inits = None, np.asarray(spec.inits, dtype=float)[rows["init"]]
        else:
            seeds, inits = np.asarray(spec.seeds, dtype=np.int64)[rows["seed"]], None
        out.append(Task(c.index, game_entry, spec.rules[setting["rules"]],
                        _rates(spec, setting), hyper, fixed, per_row, seeds, inits,
                        spec.entropy, spec.steps, spec.method, spec.init_std, spec.max_abs,
                        spec.quantities, spec.target_of(games[gi]), spec.along,
                        spec.record_every, spec.converge_tol, spec.backend, threads))
    return out


def _rates(spec, setting):
    """The chunk's learning rate, or ``(delta1, delta2)`` when agent 2 has its own."""
    delta = spec.delta[setting["delta"]]
    return delta if spec.delta2 is None else (delta, spec.delta2[setting["delta2"]])


def _version() -> str:
    from lola_sym._version import __version__
    return __version__


def run(spec, *, store=None, overwrite: bool = False, chunk_rows: int | None = None,
        workers: int | None = None, executor=None, client=None, threads="auto",
        max_retries: int = 2, progress=None) -> SweepResult:
    """Run the sweep ``spec`` (see :func:`sweep`); returns a :class:`SweepResult`.

    The keyword arguments are those of :func:`sweep`.

    Examples
    --------
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", ["nl", "lola"], seeds=3, steps=4)
    >>> result = run(spec, workers=1, chunk_rows=2)
    >>> result.chunks, result.computed, result.skipped, result.engine
    (4, 4, 0, 'in-process')

    The results do not depend on the chunking, and a store is resumed (its
    finished chunks are not computed again):

    >>> run(spec, workers=1, chunk_rows=3).dataset.identical(result.dataset)
    True
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "mp.zarr")
    ...     first = run(spec, store=path, workers=1, chunk_rows=2)
    ...     again = run(spec, store=path, workers=1)
    >>> first.computed, again.computed, again.skipped, again.dataset.identical(result.dataset)
    (4, 0, 4, True)
    """
    t0 = time.perf_counter()
    if chunk_rows is None and store is not None and not overwrite:
        chunk_rows = S.stored_chunk_rows(store)
    if chunk_rows is not None and (isinstance(chunk_rows, bool) or not isinstance(
            chunk_rows, (int, np.integer)) or chunk_rows < 1):
        raise ValueError(f"chunk_rows must be a positive int, got {chunk_rows!r}")
    grid = spec.grid(None if chunk_rows is None else int(chunk_rows))
    chunks = grid.chunks()
    done = np.zeros(len(chunks), dtype=bool)
    warm_seconds = warm(spec)
    template = D.template(spec, grid, cache_keys(spec), _version())
    writer = None
    if store is not None:
        if S.is_store(store) and not overwrite:
            done = S.reopen(store, spec.digest, grid, len(chunks))
        else:
            S.create(store, template, grid, len(chunks), overwrite=overwrite)
        writer = S.Writer(store)
    todo = [c for c in chunks if not done[c.index]]
    ex, owned, label = executor_for(workers, executor, client, len(todo))
    if threads == "auto":               # threads of this process are not capped (shared)
        threads = None if ex is None or isinstance(ex, ThreadPoolExecutor) else 1
    tasks = tasks_of(spec, grid, todo, threads)
    if callable(progress):
        bar = Progress(len(chunks), grid.n_cells, callback=progress)
    else:
        import sys
        on = bool(getattr(sys.stderr, "isatty", lambda: False)()) if progress is None \
            else bool(progress)
        bar = Progress(len(chunks), grid.n_cells, enabled=on)
    skipped = int(done.sum())
    if skipped:
        bar.note(f"resuming {store}: {skipped} of {len(chunks)} chunks already done, "
                 f"{len(todo)} to go")
    bar.start(skipped, sum(c.n_rows for c in chunks if done[c.index]))
    extra = D.extra_shape(spec, template.coords["step"].values if "step" in template.coords
                          else ())
    arrays = None if writer is not None else {k: v.values for k, v in template.data_vars.items()}
    by_index = {c.index: c for c in chunks}
    cpu = [0.0]

    def on_result(task, result):
        c = by_index[task.chunk]
        region = grid.region(c)
        blocks = {k: D.block(spec, grid, c, k, v, extra) for k, v in result["data"].items()}
        if writer is not None:
            writer.write_chunk(c.index, region, blocks)
        else:
            for k, b in blocks.items():
                arrays[k][region] = b
        cpu[0] += result.get("cpu_seconds", 0.0)
        bar.advance(c.n_rows)

    try:
        retried = execute(tasks, on_result, executor=ex, max_retries=max_retries,
                          note=bar.note)
    except BaseException:
        if isinstance(ex, LocalPool) and owned:
            ex.terminate()              # an error or Ctrl-C: stop the workers now
        raise
    finally:
        bar.close()
        if owned:
            ex.shutdown(wait=True)
    if writer is not None:
        ds = S.load(store)
        ds = ds[list(template.data_vars)]          # the order of the quantities asked for
    else:
        ds = template                   # ``arrays`` are its variables' own arrays
    return SweepResult(ds, len(chunks), len(todo), skipped, retried,
                       time.perf_counter() - t0, warm_seconds, label, cpu[0])


def plan(spec, *, chunk_rows: int | None = None, workers: int | None = None,
         probe_steps: int = 10) -> Plan:
    """The grid's size and its estimated time from a timing probe (see :class:`Plan`).

    Warms the compiled programs and times ``probe_steps`` updates of 8 and 128
    rows of every (game, rules) pair; nothing is stored.

    Examples
    --------
    >>> from lola_sym.sweep.spec import make_spec
    >>> p = plan(make_spec("matching_pennies", ["nl", "lola"], seeds=3, steps=4), workers=1)
    >>> p.dims, p.cells, p.chunks, p.workers, p.estimate_seconds >= 0
    ({'rules': 2, 'seed': 3}, 6, 2, 1, True)
    >>> str(p).splitlines()[0]
    'grid: rules 2 x seed 3 = 6 cells x 4 steps, in 2 chunks of at most 1024 rows'
    """
    import os
    grid = spec.grid(chunk_rows)
    chunks = grid.chunks()
    warm_seconds = warm(spec)
    n_workers = (os.cpu_count() or 1) if workers is None else workers
    steps = max(1, min(spec.steps, probe_steps))
    cost = {}
    total = 0.0
    for c in chunks:
        setting = dict(zip((a.name for a in grid.setting_axes), c.setting))
        key = (setting["game"], setting["rules"])
        if key not in cost:
            probes = []
            for rows in (8, 128):
                t = tasks_of(spec, grid, [c])[0]
                t = _resized(t, rows, steps)
                run_task(t)                               # warm this rule's path
                t1 = time.perf_counter()
                run_task(t)
                probes.append((rows, (time.perf_counter() - t1) / steps))
            (r1, s1), (r2, s2) = probes
            b = max((s2 - s1) / (r2 - r1), 0.0)
            cost[key] = (max(s1 - b * r1, 0.0), b)
        a, b = cost[key]
        total += spec.steps * (a + b * c.n_rows)
    dims = dict(zip(grid.dims, grid.shape))
    return Plan(dims, grid.n_cells, len(chunks), grid.chunk_rows, spec.steps,
                max(1, min(n_workers, len(chunks))), warm_seconds,
                total / max(1, min(n_workers, len(chunks))))


def _resized(task: Task, rows: int, steps: int) -> Task:
    """``task`` with ``rows`` rows (repeating its first ones) and ``steps`` steps."""
    from dataclasses import replace
    n = task.n_rows
    idx = np.arange(rows) % n
    return replace(task, steps=steps,
                   seeds=None if task.seeds is None else task.seeds[idx],
                   inits=None if task.inits is None else task.inits[idx],
                   row_parameters=tuple((k, np.asarray(v)[idx]) for k, v in task.row_parameters),
                   record_every=max(1, min(task.record_every, steps)))


def sweep(game, rules="lola", *, delta=1.0, delta2=None, seeds=None, seed: int = 0, inits=None,
          parameters: dict | None = None, steps: int = 200, method: str = "simultaneous",
          init_std: float = 1.0, max_abs: float = 1e4, quantities=None, target="default",
          along=(), record_every: int | None = None, converge_tol: float = 1e-6,
          store=None, overwrite: bool = False, chunk_rows: int | None = None,
          workers: int | None = None, executor=None, client=None, threads="auto",
          max_retries: int = 2, progress=None, dry_run: bool = False, backend=None, **hyper):
    r"""Train learners over a grid of settings; the results as a labelled ``xarray.Dataset``.

    Every argument given as a list is an axis (a dimension of the dataset);
    given as a single value, a fixed setting (a scalar coordinate). Each cell
    is one run of :func:`lola_sym.train` with ``on_divergence="mark"``.

    Parameters
    ----------
    game : game, catalogue name, or list of them
        The game(s) (:mod:`lola_sym.games`); a list is the ``game`` axis,
        labelled by the games' names.
    rules : str, tuple of str, or list of them
        A rule name (every agent's: self-play), a tuple of one rule per agent
        (``("lola", "nl")``), or a list of such entries: the ``rules`` axis,
        labelled ``"lola"`` or ``"lola/nl"``.
    delta : float or list of float
        Learning rate :math:`\delta` (of every agent, or of agent 1 with ``delta2``).
    delta2 : float or list of float, optional
        Agent 2's own learning rate :math:`\delta_2` in a two-agent game (an axis
        ``delta2`` beside ``delta`` when a list); default: ``delta``.
    seeds : int or list of int
        Number of seeds (indices ``0..seeds-1``) or the seed indices: the
        ``seed`` axis (default 20). Seed index :math:`s` draws the initial
        parameters :math:`\theta \sim N(0, \text{init\_std}^2)` from
        ``SeedSequence(seed).spawn(n)[s]``, the same for every other axis value.
    seed : int
        The entropy of those seed sequences.
    inits : array (points, sum of d_i) or sequence of (points, d_i) arrays, optional
        Initial points instead of random draws (the ``init`` axis, with the
        coordinate ``theta0``), e.g. a grid of starts for basins of attraction.
    parameters : dict, optional
        Values of a game family's symbols (``ipd(symbolic=True)``), each a
        number or a list (an axis, batched as rows of one training call).
    steps, method, init_std, max_abs
        As in :func:`lola_sym.train`.
    quantities : sequence of str, optional
        What to measure at the end of each run
        (:data:`lola_sym.sweep.quantities.QUANTITIES`): ``reward``, ``value``,
        ``distance``, ``tft``, ``diverged_at``, ``converged_at``, ``theta``.
        Default: what every game of the sweep supports
        (:func:`~lola_sym.sweep.quantities.default_quantities`).
    target : {"default", "tft", "nash"}
        The target of ``distance`` (``"default"``: the game's known one).
    along : sequence of str
        Quantities also recorded along the run (``reward``, ``distance``,
        ``theta``), every ``record_every`` updates (default ``steps // 20``)
        and at the end, as ``<name>_path`` with a ``step`` dimension.
    converge_tol : float
        Step size (max norm) below which a run counts as converged (``converged_at``).
    store : path, optional
        A zarr store to write the results to as chunks finish. An existing
        store of the same sweep is resumed: its finished chunks are not run
        again. ``overwrite=True`` starts it afresh.
    chunk_rows : int, optional
        Runs per chunk (one batched training call, one task); default
        :data:`~lola_sym.sweep.grid.DEFAULT_CHUNK_ROWS` or fewer if memory
        requires. Results do not depend on it.
    workers : int, optional
        Processes of the local pool (default: one per core; ``1``: run in this
        process).
    executor : concurrent.futures.Executor, optional
        Run the chunks on this executor instead (e.g. ``client.get_executor()``
        of Dask distributed).
    client : dask.distributed.Client, optional
        Run the chunks on this Dask cluster (``pip install lola_sym[dask]``).
    threads : int, None or "auto"
        Threads of compiled code and BLAS per worker (``"auto"``: 1 on a pool,
        a process executor or Dask; uncapped in this process and on a
        ``ThreadPoolExecutor``).
    max_retries : int
        Times a chunk whose worker died is run again.
    progress : bool, callable or None
        A progress bar on stderr (None: when stderr is a terminal), or a
        function called with a :class:`~lola_sym.sweep.progress.Status` after
        every chunk.
    dry_run : bool
        Return a :class:`Plan` (grid size and estimated time from a short
        timing probe) instead of running.
    backend : str, optional
        The compilation backend (default: :func:`lola_sym.compile.default_backend`).
    **hyper
        Hyper-parameters and structural options of the rules (``eta=...``,
        ``order=...``), each a value or a list (an axis). A cell passes each
        only to the rules that take it.

    Returns
    -------
    xarray.Dataset or Plan
        The results (see :mod:`lola_sym.sweep.dataset`), or the plan of a dry run.

    Examples
    --------
    >>> ds = sweep("ipd", ["nl", "lola"], eta=[0.5, 1.0], seeds=4, steps=20, workers=1)
    >>> dict(ds.sizes)
    {'rules': 2, 'eta': 2, 'seed': 4, 'agent': 2}
    >>> float(ds.reward.sel(rules="nl", eta=0.5, seed=0, agent=1)) == float(
    ...     ds.reward.sel(rules="nl", eta=1.0, seed=0, agent=1))   # NL takes no eta
    True
    """
    spec = make_spec(game, rules, delta=delta, delta2=delta2, seeds=seeds, seed=seed, inits=inits,
                     parameters=parameters, steps=steps, method=method, init_std=init_std,
                     max_abs=max_abs, quantities=quantities, target=target, along=along,
                     record_every=record_every, converge_tol=converge_tol, backend=backend,
                     **hyper)
    if dry_run:
        return plan(spec, chunk_rows=chunk_rows, workers=workers)
    return run(spec, store=store, overwrite=overwrite, chunk_rows=chunk_rows, workers=workers,
               executor=executor, client=client, threads=threads, max_retries=max_retries,
               progress=progress).dataset
