r"""A local pool of worker processes that loses only the task of a worker that dies.

:class:`LocalPool` is a :class:`concurrent.futures.Executor`: one process per
core by default, started from a fork server that has imported lola_sym
(:func:`_context`), each running at most ``threads`` threads
(:func:`lola_sym.sweep.task.cap_threads`). Each worker takes one task at a
time through its own pipe. When a worker dies (killed, out of memory, a crash
in compiled code) only the future of the task it held fails, with
:class:`WorkerLost`; the pool starts a replacement and goes on.
(:class:`concurrent.futures.ProcessPoolExecutor` instead breaks as a whole and
fails every pending future.)

As with any pool that starts processes by ``spawn`` or ``forkserver``, a script
that uses it must start it under ``if __name__ == "__main__":`` (the workers
import the script's main module); a pool whose workers keep dying before
their first task gives up after :data:`MAX_FAILED_STARTS` with a
``RuntimeError`` saying so.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import traceback
from collections import deque
from concurrent.futures import Executor, Future
from multiprocessing.connection import wait

__all__ = ["LocalPool", "WorkerLost", "RemoteError", "MAX_FAILED_STARTS"]

#: Workers in a row that may die before running any task before the pool gives up (a
#: worker that cannot start, e.g. a script without the ``__main__`` guard, would otherwise
#: be replaced forever).
MAX_FAILED_STARTS = 3


class WorkerLost(RuntimeError):
    """The worker running a task died before returning it (the task may be run again)."""


class RemoteError(RuntimeError):
    """An exception of a task that could not be sent back as itself; the message has its traceback."""


def _worker(conn, threads):
    """A worker's loop: receive ``(fn, args, kwargs)``, send ``("ok", result)`` or ``("err", exc)``."""
    if threads is not None:             # before any OpenMP library is loaded in this process
        os.environ["OMP_THREAD_LIMIT"] = str(threads)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=threads)   # the pools already loaded (numpy's BLAS), for good
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        fn, args, kwargs = msg
        try:
            reply = ("ok", fn(*args, **kwargs))
        except BaseException as exc:        # noqa: BLE001  (sent back to the caller's future)
            reply = ("err", exc, traceback.format_exc())
        try:
            conn.send(reply)
        except Exception:                   # an unpicklable result or exception
            conn.send(("err", None, traceback.format_exc()))


def _context():
    """The ``forkserver`` start method where there is one, preloading the sweep's modules.

    A worker is then forked from a server process that has imported lola_sym
    once (no copy of the parent's threads, locks or OpenMP state, unlike
    ``fork``; no import per worker, unlike ``spawn``). Elsewhere: ``spawn``.
    """
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["lola_sym.sweep.task"])
        return ctx
    return mp.get_context("spawn")


class _Slot:
    """One worker process, its pipe and the task it holds."""

    def __init__(self, ctx, threads):
        parent, child = ctx.Pipe(duplex=True)
        self.conn = parent
        self.process = ctx.Process(target=_worker, args=(child, threads), daemon=True)
        self.process.start()
        child.close()
        self.job = None                     # (future, fn, args, kwargs)
        self.finished = 0                   # tasks it returned


class LocalPool(Executor):
    """A pool of ``workers`` processes, each capped at ``threads`` threads.

    Parameters
    ----------
    workers : int, optional
        Number of processes (default: ``os.cpu_count()``).
    threads : int or None
        Threads per worker for compiled code and BLAS (None: no cap).

    Examples
    --------
    >>> with LocalPool(1) as pool:
    ...     pool.submit(pow, 2, 10).result()
    1024
    """

    def __init__(self, workers: int | None = None, threads: int | None = 1):
        workers = (os.cpu_count() or 1) if workers is None else workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive int, got {workers!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise ValueError(f"threads must be a positive int or None, got {threads!r}")
        self.workers, self.threads = workers, threads
        self._ctx = _context()
        self._lock = threading.Lock()
        self._queue: deque = deque()
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._slots: list = []
        self._shutdown = False
        self._manager: threading.Thread | None = None
        self.lost = 0                       # tasks lost with their worker
        self._failed_starts = 0             # workers in a row that died before any task

    # ------------------------------------------------------------ Executor
    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Schedule ``fn(*args, **kwargs)`` on a worker process and return its Future."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            f: Future = Future()
            self._queue.append((f, fn, args, kwargs, False))
            if self._manager is None:
                self._slots = [_Slot(self._ctx, self.threads) for _ in range(self.workers)]
                self._manager = threading.Thread(target=self._manage, daemon=True,
                                                 name="lola_sym LocalPool")
                self._manager.start()
        self._wake()
        return f

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while self._queue:
                    f, *_, started = self._queue.popleft()
                    if started:
                        f.set_exception(WorkerLost("the pool was shut down"))
                    else:
                        f.cancel()
        self._wake()
        if wait and self._manager is not None:
            self._manager.join()

    def busy(self) -> dict:
        """``{pid: future}`` of the workers holding a task now."""
        with self._lock:
            return {s.process.pid: s.job[0] for s in self._slots if s.job is not None}

    def pids(self) -> list:
        with self._lock:
            return [s.process.pid for s in self._slots]

    # -------------------------------------------------------------- manager
    def _wake(self):
        try:
            self._wake_w.send(None)
        except OSError:
            pass

    def _assign(self):
        with self._lock:
            for s in self._slots:
                if s.job is not None or not s.process.is_alive():
                    continue
                while self._queue:
                    f, fn, args, kwargs, started = self._queue.popleft()
                    if started or f.set_running_or_notify_cancel():
                        s.job = (f, fn, args, kwargs)
                        break
                if s.job is None:
                    continue
                try:
                    s.conn.send(s.job[1:])
                except OSError:                 # the worker is gone: the job waits for another
                    self._queue.appendleft(s.job + (True,))
                    s.job = None
                except Exception as exc:        # the task does not pickle
                    s.job[0].set_exception(exc)
                    s.job = None

    def _finish(self, s, reply):
        f = s.job[0]
        s.job = None
        s.finished += 1
        self._failed_starts = 0
        if reply[0] == "ok":
            f.set_result(reply[1])
        elif reply[1] is not None:
            f.set_exception(reply[1])
        else:
            f.set_exception(RemoteError(reply[2]))

    def _replace(self, s):
        """Worker ``s`` died: fail its task with WorkerLost, start another in its place."""
        try:
            while s.job is not None and s.conn.poll():   # it finished just before dying
                self._finish(s, s.conn.recv())
        except (EOFError, OSError):
            pass
        code = s.process.exitcode
        if s.finished == 0 and not self._shutdown:
            self._failed_starts += 1
        err = None
        if self._failed_starts >= MAX_FAILED_STARTS:
            err = RuntimeError(
                f"{self._failed_starts} worker processes in a row exited before returning any "
                f"task (last exit code {code}); their error output above says why. A script "
                f"that starts a pool needs the guard if __name__ == '__main__':")
            with self._lock:
                self._shutdown = True           # before any future says so
        if s.job is not None:
            if err is None:
                self.lost += 1
                s.job[0].set_exception(WorkerLost(f"worker process {s.process.pid} died (exit "
                                                  f"code {code}) while running a task"))
            else:
                s.job[0].set_exception(err)
            s.job = None
        s.conn.close()
        with self._lock:
            i = self._slots.index(s)
            if err is not None:
                while self._queue:
                    f, *_, started = self._queue.popleft()
                    if started or f.set_running_or_notify_cancel():
                        f.set_exception(err)
            if not self._shutdown or self._queue:     # queued work still needs a worker
                self._slots[i] = _Slot(self._ctx, self.threads)
            else:
                del self._slots[i]

    def _manage(self):
        while True:
            self._assign()
            with self._lock:
                done = self._shutdown and not self._queue and all(s.job is None
                                                                  for s in self._slots)
                slots = list(self._slots)
            if done:
                break
            waits = [self._wake_r] + [s.conn for s in slots if s.job is not None] + \
                [s.process.sentinel for s in slots]
            ready = wait(waits)
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv()
            for s in slots:
                if s.job is not None and s.conn in ready:
                    try:
                        self._finish(s, s.conn.recv())
                    except (EOFError, OSError):
                        pass                        # died mid-reply: its sentinel says so
                if s.process.sentinel in ready or not s.process.is_alive():
                    self._replace(s)
        for s in self._slots:
            try:
                s.conn.send(None)
            except OSError:
                pass
        for s in self._slots:
            s.process.join(timeout=5)
            if s.process.is_alive():
                s.process.terminate()
            s.conn.close()
        self._slots = []

    def terminate(self) -> None:
        """Stop every worker now (their tasks fail with WorkerLost) and shut down."""
        with self._lock:
            self._shutdown = True
            while self._queue:
                f, *_, started = self._queue.popleft()
                if started:
                    f.set_exception(WorkerLost("the pool was terminated"))
                else:
                    f.cancel()
            procs = [s.process for s in self._slots]
        for p in procs:
            p.terminate()
        self._wake()
        if self._manager is not None:
            self._manager.join()
