r"""The work of one chunk, as a worker does it: rebuild, train in one batched call, measure.

A :class:`Task` is plain data: a game (catalogue name or game value), rule
names, numbers, and the rows of the chunk (seed indices or initial points, and
the values of a game family's symbols). :func:`run_task` rebuilds the update
fields (from this process's memory, else the disk cache, else by deriving
them), draws each row's initial parameters from its own seed
(:func:`lola_sym.sweep.grid.seed_generator`), trains every row in one call of
:func:`lola_sym.train` and returns the quantities
(:mod:`lola_sym.sweep.quantities`).

Threads. A worker that shares the machine with other workers runs its
compiled code and BLAS on ``threads`` threads: :func:`cap_threads` sets
``OMP_THREAD_LIMIT`` before the process loads its first OpenMP library (the C
backend asks for one thread per core with an OpenMP ``num_threads`` clause,
which only the thread limit bounds) and caps BLAS and OpenMP pools with
threadpoolctl while the task runs. Results do not depend on the thread count
(every row is computed on its own).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lola_sym.dynamics.training import initial_parameters, train
from lola_sym.rules import get_rule
import lola_sym.sweep.quantities as Q
from lola_sym.sweep.grid import seed_generator
from lola_sym.sweep.spec import agent_rules, resolve_game

__all__ = ["Task", "run_task", "cap_threads", "cell_thetas", "cell_hyper", "os_threads"]


@dataclass(frozen=True)
class Task:
    """One chunk's work (see the module docstring); built by :mod:`lola_sym.sweep.run`."""

    chunk: int
    game: object
    rules: tuple
    delta: float | tuple
    hyper: tuple                  # (name, value) of every hyper-parameter axis at this setting
    fixed_parameters: tuple       # (symbol, value) of the game symbols given one value
    row_parameters: tuple         # (symbol, per-row values) of the symbol axes
    seeds: np.ndarray | None      # per-row seed index
    inits: np.ndarray | None      # per-row initial point (all agents side by side)
    entropy: int
    steps: int
    method: str
    init_std: float
    max_abs: float
    quantities: tuple
    target: str | None
    along: tuple
    record_every: int
    converge_tol: float
    backend: str
    threads: int | None = None

    @property
    def n_rows(self) -> int:
        return len(_rows(self))


def _rows(task: Task) -> np.ndarray:
    """The task's per-row seed indices, else its initial points (one of them is set)."""
    if task.seeds is not None:
        return task.seeds
    if task.inits is not None:
        return task.inits
    raise ValueError(f"task of chunk {task.chunk} has neither seed indices nor initial points; "
                     f"build tasks with lola_sym.sweep.run.tasks_of")


@lru_cache(maxsize=64)
def _game(entry):
    return resolve_game(entry)


def os_threads() -> int:
    """Threads of this process (Linux ``/proc``; 0 where unknown).

    Examples
    --------
    The operating system's count includes every Python thread:

    >>> import threading
    >>> n = os_threads()
    >>> n >= threading.active_count() if os.path.exists("/proc/self/status") else n == 0
    True
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cap_threads(threads: int | None):
    """A context that runs its body on at most ``threads`` threads (None: no cap).

    Sets ``OMP_THREAD_LIMIT`` (and ``OMP_NUM_THREADS``) when no OpenMP library
    is loaded yet in this process, so that the limit reaches the C backend,
    and caps every loaded BLAS and OpenMP pool with
    :func:`threadpoolctl.threadpool_limits`.

    Examples
    --------
    numpy's BLAS runs on one thread inside, as before after (the environment
    is restored here too: the limit would otherwise stay set in this process):

    >>> from unittest import mock
    >>> from threadpoolctl import threadpool_info
    >>> before = [p["num_threads"] for p in threadpool_info()]
    >>> with mock.patch.dict(os.environ), cap_threads(1):
    ...     inside = [p["num_threads"] for p in threadpool_info()]
    >>> len(inside) > 0 and set(inside) == {1}, [p["num_threads"] for p in threadpool_info()] == before
    (True, True)
    >>> isinstance(cap_threads(None), contextlib.nullcontext)
    True
    """
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_info, threadpool_limits
    if not any(i.get("user_api") == "openmp" for i in threadpool_info()):
        os.environ["OMP_THREAD_LIMIT"] = str(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
    return threadpool_limits(limits=threads)


def cell_hyper(rules: tuple, hyper: dict) -> dict:
    """The shared settings the rules of a cell take (the others are the axis's only).

    Examples
    --------
    SOS's ``a`` and ``b`` are kept for a cell with SOS, dropped for LOLA alone:

    >>> cell_hyper(("lola", "sos"), {"eta": 0.5, "a": 0.3, "b": 0.1})
    {'eta': 0.5, 'a': 0.3, 'b': 0.1}
    >>> cell_hyper(("lola",), {"eta": 0.5, "a": 0.3})
    {'eta': 0.5}
    """
    out = {}
    for r in rules:
        out.update(get_rule(r).accepted(hyper, strict=False))
    return out


def cell_thetas(game, task: Task) -> list:
    """Initial parameters of every row: one array ``(rows, d_i)`` per agent.

    Row ``k`` of a seeded task is ``initial_parameters(game, 1, seed_generator(entropy,
    seeds[k]), init_std)``: the draw of a one-run :func:`lola_sym.train` with that
    generator.

    Examples
    --------
    >>> from lola_sym import games
    >>> from lola_sym.dynamics.training import initial_parameters
    >>> from lola_sym.sweep.run import tasks_of
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", "nl", seeds=3, steps=4)
    >>> grid = spec.grid()
    >>> [task] = tasks_of(spec, grid, grid.chunks())
    >>> g = games.matching_pennies()
    >>> thetas = cell_thetas(g, task)
    >>> [a.shape for a in thetas]
    [(3, 1), (3, 1)]
    >>> one = initial_parameters(g, 1, seed_generator(task.entropy, 2), task.init_std)
    >>> bool(thetas[0][2, 0] == one[0][0, 0] and thetas[1][2, 0] == one[1][0, 0])
    True

    Given initial points, the columns are split by agent:

    >>> spec = make_spec("matching_pennies", "nl", inits=[[0.5, -1.0], [2.0, 0.0]], steps=4)
    >>> [task] = tasks_of(spec, spec.grid(), spec.grid().chunks())
    >>> [a.ravel().tolist() for a in cell_thetas(g, task)]
    [[0.5, 2.0], [-1.0, 0.0]]
    """
    if task.inits is not None:
        cuts = np.cumsum((0,) + tuple(game.dims))
        return [np.array(task.inits[:, a:b], dtype=np.float64) for a, b in zip(cuts, cuts[1:])]
    rows = [_draw(game, task.entropy, int(s), task.init_std, task.max_abs) for s in _rows(task)]
    return [np.concatenate([r[i] for r in rows], axis=0) for i in range(len(game.dims))]


@lru_cache(maxsize=1 << 16)
def _draw(game, entropy, seed, init_std, max_abs):
    """One seed's draw, kept: the chunks of other rules and rates reuse the same seeds."""
    out = initial_parameters(game, 1, seed_generator(entropy, seed), init_std, max_abs)
    for a in out:
        a.flags.writeable = False
    return out


def run_task(task: Task) -> dict:
    """Train the chunk's rows in one batched call and measure them.

    Returns ``{"chunk", "data": {quantity: array (rows, ...)}, "seconds", "cpu_seconds",
    "pid", "threads"}`` (``cpu_seconds``: CPU time of the worker's process during the task;
    ``threads``: the process's threads after the work, where known).

    Examples
    --------
    The chunk's rows are the runs of :func:`lola_sym.train` from the same
    initial parameters:

    >>> from lola_sym import games, train
    >>> from lola_sym.sweep.run import tasks_of
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", "nl", seeds=3, steps=4)
    >>> grid = spec.grid()
    >>> [task] = tasks_of(spec, grid, grid.chunks())
    >>> out = run_task(task)
    >>> out["chunk"], sorted(out["data"]), out["data"]["theta"].shape
    (0, ['converged_at', 'distance', 'diverged_at', 'reward', 'theta'], (3, 2, 1))
    >>> g = games.matching_pennies()
    >>> tr = train(g, "nl", thetas=cell_thetas(g, task), steps=4, delta=1.0)
    >>> bool(np.array_equal(out["data"]["theta"][:, 1, 0], tr.thetas[1][-1, :, 0]))
    True
    """
    t0, c0 = time.perf_counter(), time.process_time()
    from lola_sym.compile import default_backend
    with cap_threads(task.threads):
        if default_backend() != task.backend:
            raise RuntimeError(f"this worker compiles with backend {default_backend()!r}, the "
                               f"sweep with {task.backend!r}; results would differ in the last "
                               f"bits (install a C compiler on the workers or sweep with "
                               f"backend={default_backend()!r})")
        game = _game(task.game)
        names = agent_rules(task.rules, game)
        hyper = cell_hyper(names, dict(task.hyper))
        params = dict(task.fixed_parameters)
        params.update((k, np.asarray(v, dtype=float)) for k, v in task.row_parameters)
        tr = train(game, rules=list(names), thetas=cell_thetas(game, task), steps=task.steps,
                   # train takes (delta1, delta2) too; its annotation says only float
                   delta=task.delta,  # type: ignore[arg-type]
                   method=task.method, on_divergence="mark",
                   max_abs=task.max_abs, parameters=params or None, **hyper)
        data = Q.compute(game, tr, task.quantities, task.along, task.record_every, params,
                         task.target, task.converge_tol)
    return {"chunk": task.chunk, "data": data, "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0, "pid": os.getpid(),
            "threads": os_threads()}
