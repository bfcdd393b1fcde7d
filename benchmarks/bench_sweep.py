"""Sweeps: throughput on 1 and 2 workers and on a Dask LocalCluster(2), against a hand loop.

Run: python benchmarks/bench_sweep.py [--rules nl lola] [--etas 10] [--seeds 200]
     [--steps 100] [--game ipd] [--no-dask] [--table3] [--figure tft.png]

About a minute on 2 idle cores with the defaults. Dask needs pip install -e ".[dask]".

The grid (default 2 rules x 10 eta x 200 seeds x 100 steps of the IPD, delta = 1)
runs, in this one process, as:

* ``hand loop``: the same cells as a hand-written single-process loop, one
  batched ``lola_sym.train`` call per (rule, eta) over every seed, initial
  parameters drawn from the sweep's per-seed SeedSequence (so that the results
  can be compared: they must be equal bit for bit);
* ``sweep, 1 worker``: ``lola_sym.sweep.sweep(..., workers=1)``, in this process
  (threads uncapped, like the hand loop);
* ``sweep, 2 workers``: the local pool of 2 processes, one thread each;
* ``dask LocalCluster(2)``: ``sweep(..., client=client)`` on 2 worker processes
  of 1 thread (the cluster's start-up reported apart, not timed).

This process runs its compiled code on one thread (``OMP_THREAD_LIMIT=1``,
set before anything is compiled or loaded; ``--openmp`` leaves the C
backend's OpenMP on for batches of 512 rows or more). Measured on 2 cores
shared with other jobs (load average about 4), one LOLA call on 1,000 IPD
runs x 200 steps took 2.2 s with OpenMP's two threads spin-waiting for each
other, 0.54 s with ``OMP_WAIT_POLICY=PASSIVE`` and 0.21 s on one thread: with
OpenMP on, "1 worker" would be neither one core nor comparable.

Every row is the best of ``--repeat`` runs (the compiled code is warm: the
first build is reported apart); columns: seconds, cells/s (runs of ``steps``
updates per second), the ratio of the hand loop's time to the row's
(``x hand``: above 1 is faster than the hand loop), for 2 workers the
scaling over 1 worker, and the CPU seconds of the run (this process and its
workers' tasks, as they report it) and their ratio to the hand loop's: the
overhead, which depends less on what else the machine is running (a
worker's start-up and idle time are not counted).

``--table3`` prints the dry run of the issue's grid (LOLA paper Table 3: IPD
and IMP, NL and LOLA, a 20 x 20 (delta, eta) grid x 1,000 seeds x 200 steps)
from a short timing probe, and what a cluster of 100 nodes would do with it.
``--table3-run`` runs that grid for real (about half an hour on 2 idle
cores; ``--table3-seeds`` makes it smaller): the hand-written batched calls
(one ``train`` call of all seeds per game, rule, delta and eta), then the
sweep on 1 worker, on 2 and on a Dask LocalCluster(2), once each, checks that
all of them give the same rewards bit for bit, prints seconds, cells/s,
scaling and overhead, and draws the figure of the LOLA cells on the IPD
(``--figure``, default ``table3_ipd_lola.png``) from the sweep's own dataset.

``--figure FILE`` runs LOLA self-play on the IPD over a (delta, eta) grid
(``--figure-grid`` values each, ``--figure-seeds`` seeds, 200 steps) and saves
the heat maps of the mean average reward and the fraction TFT-like.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def hand_loop(game, rules, etas, seeds, steps, deltas=(1.0,)):
    """The cells as a hand-written loop: one batched train call per (rule, delta, eta).

    Returns the final average rewards, shape (rules, deltas, etas, seeds, agents).
    """
    from lola_sym import train
    from lola_sym.dynamics.training import initial_parameters
    from lola_sym.rules import get_rule
    from lola_sym.sweep.grid import seed_generator
    rows = [initial_parameters(game, 1, seed_generator(0, s), 1.0) for s in range(seeds)]
    thetas = [np.concatenate([r[i] for r in rows]) for i in range(len(game.dims))]
    out = np.empty((len(rules), len(deltas), len(etas), seeds, len(game.dims)))
    for i, rule in enumerate(rules):
        takes = "eta" in get_rule(rule).hyper
        for d, delta in enumerate(deltas):
            for j, eta in enumerate(etas):
                tr = train(game, rule, thetas=thetas, steps=steps, delta=delta,
                           on_divergence="mark", **({"eta": eta} if takes else {}))
                r = tr.reward[-1].copy()
                r[tr.diverged] = np.nan
                out[i, d, j] = r
    return out


def cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes (user + system)."""
    import resource
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def best_of(fn, repeat, workers_cpu=None):
    """(best wall seconds, CPU seconds of that run, result) over ``repeat`` runs.

    CPU: this process's, plus ``workers_cpu(result)`` (the CPU time other processes report).
    """
    best, result = (float("inf"), 0.0), None
    for _ in range(repeat):
        t, c = time.perf_counter(), cpu_seconds()
        result = fn()
        used = cpu_seconds() - c + (0.0 if workers_cpu is None else workers_cpu(result))
        best = min(best, (time.perf_counter() - t, used))
    return best[0], best[1], result


def main():
    if "--openmp" not in sys.argv:
        # before any compiled library loads: one thread per process, so that "1 worker" is one
        # core and the hand loop and the sweep in this process run alike (see the docstring)
        os.environ["OMP_THREAD_LIMIT"] = "1"
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--game", default="ipd")
    ap.add_argument("--rules", nargs="+", default=["nl", "lola"])
    ap.add_argument("--etas", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--openmp", action="store_true",
                    help="let batches of 512 rows or more use OpenMP in this process")
    ap.add_argument("--table3", action="store_true")
    ap.add_argument("--table3-run", action="store_true")
    ap.add_argument("--table3-seeds", type=int, default=1000)
    ap.add_argument("--table3-store", default=None,
                    help="save the Table 3 sweep's dataset to this zarr store")
    ap.add_argument("--figure", default=None)
    ap.add_argument("--figure-grid", type=int, default=10)
    ap.add_argument("--figure-seeds", type=int, default=100)
    args = ap.parse_args()

    if args.table3_run:
        table3_run(args.table3_seeds, not args.no_dask, args.figure or "table3_ipd_lola.png",
                   args.table3_store)
        return
    from lola_sym.games import by_name
    from lola_sym.sweep import make_spec, run
    from lola_sym.sweep.warm import warm

    game = by_name(args.game)
    etas = [float(x) for x in np.linspace(0.5, 2.0, args.etas)]
    spec = make_spec(args.game, list(args.rules), eta=etas, seeds=args.seeds,
                     steps=args.steps, quantities="reward")
    cells = len(args.rules) * len(etas) * args.seeds
    t = time.perf_counter()
    warm(spec)
    print(f"grid: {args.game}, rules {args.rules} x {len(etas)} eta x {args.seeds} seeds = "
          f"{cells:,} cells x {args.steps} steps; {os.cpu_count()} cores; compiled programs "
          f"ready in {time.perf_counter() - t:.1f} s")

    rows = []
    t_hand, c_hand, ref = best_of(
        lambda: hand_loop(game, args.rules, etas, args.seeds, args.steps), args.repeat)
    rows.append(("hand loop (1 process)", t_hand, c_hand, None))

    def check(ds):
        got = ds.reward.transpose("rules", "eta", "seed", "agent").values[:, None]
        if got.tobytes() != ref.tobytes():
            raise AssertionError("the sweep's rewards differ from the hand loop's")

    t1, c1, r = best_of(lambda: run(spec, workers=1), args.repeat)
    check(r.dataset)
    rows.append(("sweep, 1 worker (in process)", t1, c1, None))

    def workers_cpu(result):
        return result.task_cpu_seconds

    t2, c2, r = best_of(lambda: run(spec, workers=2), args.repeat, workers_cpu)
    check(r.dataset)
    rows.append(("sweep, 2 workers (local pool)", t2, c2, t1 / t2))
    if not args.no_dask:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            print("dask: not installed (pip install -e '.[dask]'), skipped")
        else:
            t = time.perf_counter()
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                up = time.perf_counter() - t
                run(spec, client=client)                 # workers load the compiled code
                td, cd, r = best_of(lambda: run(spec, client=client), args.repeat,
                                    workers_cpu)
            check(r.dataset)
            rows.append((f"dask LocalCluster(2) (start-up {up:.1f} s)", td, cd, t1 / td))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"\n{'engine':<44}{'seconds':>9}{'cells/s':>11}{'x hand':>8}{'x 1 worker':>12}"
          f"{'CPU s':>8}{'CPU/hand':>10}")
    for name, s, c, scale in rows:
        print(f"{name:<44}{s:>9.3f}{cells / s:>11,.0f}{t_hand / s:>8.2f}"
              f"{'' if scale is None else f'{scale:.2f}':>12}"
              f"{'' if c is None else f'{c:.2f}':>8}{'' if c is None else f'{c / c_hand:.2f}':>10}")
    print("every engine's rewards equal the hand loop's, bit for bit; CPU s: this process's, "
          "plus the CPU time the workers report for their tasks")

    if args.table3:
        table3()
    if args.figure:
        figure(args.figure, args.figure_grid, args.figure_seeds)


def table3():
    """Dry run of the LOLA paper's Table 3 grid, and the arithmetic for a 100-node cluster."""
    from lola_sym.sweep import sweep
    grid = [float(x) for x in np.linspace(0.1, 2.0, 20)]
    total = 0.0
    print("\nTable 3 grid (dry run, estimates from a short probe on this machine):")
    for g in ("ipd", "imp"):
        p = sweep(g, ["nl", "lola"], delta=grid, eta=grid, seeds=1000, steps=200,
                  quantities="reward", dry_run=True, workers=1)
        print(f"  {g}: {p}".replace("\n", "\n    "))
        total += p.estimate_seconds
    cells = 2 * 2 * 400 * 1000
    print(f"  both games: {cells:,} cells, {total / 3600:.2f} h on one worker; "
          f"{total / 2 / 3600:.2f} h on 2; a 100-node cluster of 2 workers each: "
          f"{total / 200:.0f} s of work spread over 1,600 chunks of 1,000 runs, "
          f"8 chunks per worker")


TABLE3_GRID = [float(x) for x in np.linspace(0.1, 2.0, 20)]


def table3_run(seeds, dask, path, store):
    """Run the Table 3 grid on every engine once; timings, scaling, overhead and the figure."""
    from lola_sym.games import by_name
    from lola_sym.sweep import make_spec, run
    from lola_sym.sweep.warm import warm
    games, rules, grid = ("ipd", "imp"), ["nl", "lola"], TABLE3_GRID
    spec = make_spec(list(games), rules, delta=grid, eta=grid, seeds=seeds, steps=200,
                     quantities=("reward", "tft", "diverged_at"))
    cells = len(games) * len(rules) * len(grid) ** 2 * seeds
    t = time.perf_counter()
    warm(spec)
    print(f"Table 3 grid: {games} x {rules} x {len(grid)} delta x {len(grid)} eta x {seeds} "
          f"seeds = {cells:,} cells x 200 steps; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; compiled programs ready in {time.perf_counter() - t:.1f} s",
          flush=True)
    rows = []
    t, c = time.perf_counter(), cpu_seconds()
    ref = np.stack([hand_loop(by_name(g), rules, grid, seeds, 200, deltas=grid) for g in games])
    t_hand, c_hand = time.perf_counter() - t, cpu_seconds() - c
    rows.append(("hand-written batched calls (1 process)", t_hand, c_hand, None))
    print(f"  hand loop: {t_hand:.1f} s", flush=True)

    def check(ds):
        got = ds.reward.transpose("game", "rules", "delta", "eta", "seed", "agent").values
        if got.tobytes() != ref.tobytes():
            raise AssertionError("the sweep's rewards differ from the hand loop's")

    def timed(label, scale_of, **kw):
        t, c = time.perf_counter(), cpu_seconds()
        r = run(spec, **kw)
        s = time.perf_counter() - t
        check(r.dataset)
        rows.append((label, s, cpu_seconds() - c + (r.task_cpu_seconds if scale_of else 0.0),
                     None if scale_of is None else scale_of / s))
        print(f"  {label}: {s:.1f} s", flush=True)
        return s, r

    t1, r1 = timed("sweep, 1 worker (in process)", None, workers=1, store=store,
                   overwrite=store is not None)
    timed("sweep, 2 workers (local pool)", t1, workers=2)
    if dask:
        from dask.distributed import Client, LocalCluster
        t = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            up = time.perf_counter() - t
            timed(f"dask LocalCluster(2) (start-up {up:.1f} s)", t1, client=client)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'engine':<44}{'seconds':>9}{'cells/s':>11}{'x hand':>8}{'x 1 worker':>12}"
          f"{'CPU s':>8}{'CPU/hand':>10}")
    for name, s, c, scale in rows:
        print(f"{name:<44}{s:>9.1f}{cells / s:>11,.0f}{t_hand / s:>8.2f}"
              f"{'' if scale is None else f'{scale:.2f}':>12}{c:>8.1f}{c / c_hand:>10.2f}")
    print("every engine's rewards equal the hand loop's, bit for bit")
    per_cell = t1 / cells
    print(f"a 100-node cluster of 2 workers each (200 workers): {cells:,} cells x {per_cell * 1e6:.0f}"
          f" us = {t1:.0f} s of one worker's work / 200 = {t1 / 200:.1f} s, plus the start-up and "
          f"one warm-up per worker")
    ds = r1.dataset.sel(game="IPD", rules="lola")
    table3_figure(ds, path)


def table3_figure(ds, path):
    """Heat maps of the mean average reward and the fraction TFT-like over (delta, eta)."""
    from lola_sym.report.sweep_plots import heatmaps
    heatmaps(ds, ["reward", "tft"], x="eta", y="delta", path=path,
             titles=["LOLA self-play, IPD: mean average reward",
                     "fraction of agents TFT-like (5-state signs)"])
    r = ds.reward.mean(("seed", "agent"))
    f = ds.tft.mean(("seed", "agent"))
    print(f"figure {path}: mean average reward {float(r.min()):.3f} .. {float(r.max()):.3f}; "
          f"fraction TFT-like {float(f.min()):.2f} .. {float(f.max()):.2f}; diverged runs "
          f"{int((ds.diverged_at >= 0).sum())}")
    for d in ds.delta.values[::4]:
        print(f"  delta={d:.2f}: reward " + " ".join(f"{float(v):+.2f}" for v in
                                                     r.sel(delta=d).values[::2])
              + " | tft " + " ".join(f"{float(v):.2f}" for v in f.sel(delta=d).values[::2]))


def figure(path, n, seeds):
    """LOLA on the IPD over (delta, eta): mean average reward and fraction TFT-like."""
    from lola_sym.report.sweep_plots import heatmaps
    from lola_sym.sweep import sweep
    vals = [float(x) for x in np.linspace(0.2, 2.0, n)]
    t = time.perf_counter()
    ds = sweep("ipd", "lola", delta=vals, eta=vals, seeds=seeds, steps=200,
               quantities=("reward", "tft", "diverged_at"), workers=2)
    print(f"\nfigure: LOLA on the IPD, {n} x {n} (delta, eta) x {seeds} seeds x 200 steps in "
          f"{time.perf_counter() - t:.1f} s; diverged runs: {int((ds.diverged_at >= 0).sum())}")
    heatmaps(ds, ["reward", "tft"], x="eta", y="delta", path=path,
             titles=["LOLA self-play, IPD: mean average reward",
                     "fraction of agents TFT-like (5-state signs)"])
    r = ds.reward.mean(("seed", "agent"))
    f = ds.tft.mean(("seed", "agent"))
    print(f"  mean average reward: {float(r.min()):.3f} .. {float(r.max()):.3f}; fraction "
          f"TFT-like {float(f.min()):.2f} .. {float(f.max()):.2f}; saved {path}")
    for d in (vals[0], vals[n // 2], vals[-1]):
        print(f"  delta={d:.2f}: reward " + " ".join(f"{float(v):+.2f}" for v in r.sel(delta=d))
              + " | tft " + " ".join(f"{float(v):.2f}" for v in f.sel(delta=d)))


if __name__ == "__main__":
    main()
