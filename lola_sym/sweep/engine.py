r"""Running a sweep's tasks: in this process, on a local pool, on any executor or on Dask.

:func:`executor_for` picks the engine from the arguments of
:func:`lola_sym.sweep.sweep`:

* ``workers=1`` (or a single task): in this process, one task after the other;
* ``workers=N`` (default: one per core): a :class:`~lola_sym.sweep.pool.LocalPool`
  of N processes, each capped at ``threads`` threads;
* ``executor=``: any :class:`concurrent.futures.Executor` (a
  ``ProcessPoolExecutor``, ``client.get_executor()`` of Dask distributed, ...);
* ``client=``: a Dask distributed client, through ``client.get_executor()``.

:func:`execute` submits every task and hands each result to a function as it
arrives (in any order: results are written by region, so the order does not
matter). A task whose worker died (:class:`~lola_sym.sweep.pool.WorkerLost`,
Dask's ``KilledWorker``) is submitted again, at most ``max_retries`` times,
with a :class:`SweepWarning`; any other exception of a task stops the sweep
(the chunks already finished are kept by a store).
"""

from __future__ import annotations

import os
import sys
import warnings
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, wait

from lola_sym.sweep.pool import LocalPool, WorkerLost
from lola_sym.sweep.task import run_task

__all__ = ["SweepWarning", "executor_for", "execute", "is_lost_worker"]


class SweepWarning(UserWarning):
    """Something a sweep recovered from (a lost worker), said once per event."""


def is_lost_worker(exc) -> bool:
    """Whether ``exc`` says a task's worker died (so the task may be run again).

    Examples
    --------
    >>> from lola_sym.sweep.pool import WorkerLost
    >>> is_lost_worker(WorkerLost("worker 3 exited")), is_lost_worker(ValueError("bad input"))
    (True, False)
    """
    if isinstance(exc, WorkerLost):
        return True
    dist = sys.modules.get("distributed")
    killed = getattr(dist, "KilledWorker", None) if dist is not None else None
    return killed is not None and isinstance(exc, killed)


def executor_for(workers, executor, client, n_tasks: int):
    """``(executor or None, owned, label)``: None runs in this process; ``owned`` ones are
    shut down by the sweep.

    Parameters
    ----------
    workers, executor, client
        As in :func:`lola_sym.sweep.sweep` (at most one of ``executor`` and
        ``client``; ``workers`` only without them).
    n_tasks : int
        Tasks to run: a single one runs in this process.

    Examples
    --------
    >>> executor_for(1, None, None, n_tasks=8), executor_for(4, None, None, n_tasks=1)
    ((None, False, 'in-process'), (None, False, 'in-process'))
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as ex:
    ...     got, owned, label = executor_for(None, ex, None, n_tasks=8)
    >>> got is ex, owned, label
    (True, False, 'ThreadPoolExecutor')

    A local pool (its processes start with its first task):

    >>> pool, owned, label = executor_for(2, None, None, n_tasks=8)
    >>> type(pool).__name__, owned, label
    ('LocalPool', True, 'local pool of 2')
    >>> pool.shutdown()
    >>> executor_for(0, None, None, n_tasks=8)
    Traceback (most recent call last):
    ...
    ValueError: workers must be a positive int, got 0
    """
    given = [x is not None for x in (executor, client)]
    if sum(given) > 1:
        raise ValueError("give executor= or client=, not both")
    if executor is not None:
        if not isinstance(executor, Executor):
            raise TypeError(f"executor must be a concurrent.futures.Executor (e.g. "
                            f"client.get_executor()), got {type(executor).__name__}")
        if workers is not None:
            raise ValueError("workers= sizes the local pool; with executor= the executor "
                             "decides")
        return executor, False, type(executor).__name__
    if client is not None:
        if workers is not None:
            raise ValueError("workers= sizes the local pool; with client= the Dask cluster "
                             "decides")
        if not hasattr(client, "get_executor"):
            raise TypeError(f"client must be a dask.distributed Client, got "
                            f"{type(client).__name__}")
        return client.get_executor(pure=False), True, "dask"
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    if workers == 1 or n_tasks <= 1:
        return None, False, "in-process"
    return LocalPool(min(workers, n_tasks)), True, f"local pool of {min(workers, n_tasks)}"


def execute(tasks, on_result, *, executor=None, max_retries: int = 2, note=None) -> int:
    """Run every task, calling ``on_result(task, result)`` as each finishes; returns retries.

    ``executor`` None runs them here in order. ``note(text)`` is told of every retry.

    Examples
    --------
    The chunks of a sweep, in this process and on two threads: the same results.

    >>> import numpy as np
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from lola_sym.sweep.run import tasks_of
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", "nl", seeds=3, steps=4)
    >>> grid = spec.grid(chunk_rows=2)
    >>> tasks = tasks_of(spec, grid, grid.chunks())
    >>> here, threaded = {}, {}
    >>> execute(tasks, lambda task, r: here.update({task.chunk: r["data"]["theta"]}))
    0
    >>> with ThreadPoolExecutor(2) as ex:
    ...     execute(tasks, lambda task, r: threaded.update({task.chunk: r["data"]["theta"]}),
    ...             executor=ex)
    0
    >>> sorted(here), all(np.array_equal(here[k], threaded[k]) for k in here)
    ([0, 1], True)
    """
    if executor is None:
        for t in tasks:
            on_result(t, run_task(t))
        return 0
    tries = {t.chunk: 0 for t in tasks}
    retried = 0
    pending = {}
    try:
        for t in tasks:
            pending[executor.submit(run_task, t)] = t
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for f in done:
                t = pending.pop(f)
                exc = f.exception()
                if exc is None:
                    on_result(t, f.result())
                    continue
                if isinstance(exc, BrokenExecutor):
                    raise RuntimeError(f"the executor broke ({exc}); the chunks finished so far "
                                       f"are kept in the store: run the sweep again to "
                                       f"resume") from exc
                if not is_lost_worker(exc):
                    raise exc
                tries[t.chunk] += 1
                if tries[t.chunk] > max_retries:
                    raise RuntimeError(f"chunk {t.chunk} lost its worker {tries[t.chunk]} "
                                       f"times ({exc}); giving up (a store keeps the "
                                       f"finished chunks: run again to resume)") from exc
                retried += 1
                text = (f"chunk {t.chunk} ({t.n_rows} cells) lost its worker ({exc}); "
                        f"running it again (retry {tries[t.chunk]} of {max_retries})")
                warnings.warn(text, SweepWarning, stacklevel=2)
                if note is not None:
                    note(text)
                pending[executor.submit(run_task, t)] = t
    finally:
        for f in pending:
            f.cancel()
    return retried
