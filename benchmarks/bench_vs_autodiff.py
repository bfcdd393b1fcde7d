"""lola_sym's compiled fields against JAX (jit + vmap) and PyTorch autograd, one run.

Run: python benchmarks/bench_vs_autodiff.py [--batch 10000] [--rules nl lola ...]
     [--backends c llvm numpy] [--peer-max-batch lola2=2000] [--peer-timeout 600]

Our backends (c, llvm, numpy) are timed in this process; JAX and PyTorch run
in separate processes (autodiff_peer.py; JAX beside large LLVM compilations
has hung) on the same parameter pairs, after checking they agree with ours to
1e-9, each under a time limit so that a stuck peer is reported, not waited
for. ``--peer-max-batch`` times a slow peer rule on the first N pairs only
(column ``pairs``). Also prints cold derivation + compilation (fresh process,
empty cache), warm start (fresh process, filled cache) and 1000 seeds x 200
LOLA steps on the IPD. Needs the extras: pip install -e ".[bench]".

Columns: ``single us`` one pair, numpy in and out; ``pairs/s`` batched
throughput on ``pairs`` pairs; ``x JAX`` throughput over JAX's for the rule;
``ops`` operations of our compiled program; ``build s`` our derive + compile
(from the disk cache when filled), for JAX trace + XLA compilation of the
batched field, for PyTorch the first call. Warm-up is never timed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _timing import best

HERE = Path(__file__).parent
RULES = ["nl", "lola", "exact_lola", "lola2"]
#: agreement required between our backends and of the peers with them (relative to max |g|)
TOL = 1e-9
START = """
import time, sys
t0 = time.perf_counter()
import lola_sym as ls
t1 = time.perf_counter()
g = ls.games.ipd()
for r in ("nl", "lola"):
    ls.update_field(g, r, backend="{backend}")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""




def start_times(backend):
    with tempfile.TemporaryDirectory() as d:
        env = {**os.environ, "LOLA_SYM_CACHE_DIR": d}
        rows = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", START.format(backend=backend)], env=env,
                                 capture_output=True, text=True, check=True).stdout.split()
            rows.append(tuple(map(float, out)))
        return rows   # (import s, derive+compile s) cold, then warm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--rules", nargs="+", default=RULES)
    ap.add_argument("--backends", nargs="+", default=["c", "llvm", "numpy"])
    ap.add_argument("--peers", nargs="*", default=["jax", "torch"], choices=["jax", "torch"])
    ap.add_argument("--peer-max-batch", nargs="*", default=[], metavar="RULE=N",
                    help="time RULE in the peers on the first N pairs only")
    ap.add_argument("--peer-timeout", type=float, default=600.0,
                    help="seconds allowed to each peer process")
    ap.add_argument("--peer-budget", type=float, default=10.0,
                    help="seconds of timing per peer rule and measurement")
    args = ap.parse_args()
    import lola_sym as ls
    game = ls.games.ipd()
    rng = np.random.default_rng(0)
    t1, t2 = rng.normal(size=(args.batch, 5)), rng.normal(size=(args.batch, 5))
    print(f"IPD, float64, batch {args.batch}, {len(os.sched_getaffinity(0))} cores (nproc)")
    rows, ref = [], {}
    for rule in args.rules:
        for backend in args.backends:
            if backend == "numpy" and rule in ("lola2",):
                continue
            t0 = time.perf_counter()
            try:
                f = ls.update_field(game, rule, backend=backend)
            except ValueError as exc:
                print(f"  {rule}/{backend}: {exc}")
                continue
            build = time.perf_counter() - t0
            out = f(t1, t2)
            want = ref.setdefault(rule, out)
            err = max(float(np.max(np.abs(o - w)) / np.max(np.abs(w))) for o, w in zip(out, want))
            if not err <= TOL:
                raise SystemExit(f"{rule}/{backend} disagrees with the first backend: {err:.2e}")
            single = best(lambda: f(t1[0], t2[0]), 5, 500)
            thr = args.batch / best(lambda: f(t1, t2), 5, 3)
            rows.append((rule, backend, single * 1e6, thr, args.batch, f.size(), build))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.npz"
        np.savez(path, theta1=t1, theta2=t2, **{f"{r}_g{i + 1}": out[i]
                                                 for r, out in ref.items() for i in range(2)})
        for fw in args.peers:
            cmd = [sys.executable, str(HERE / "autodiff_peer.py"), fw, str(path),
                   "--rules", *ref, "--budget", str(args.peer_budget)]
            if args.peer_max_batch:
                cmd += ["--max-batch", *args.peer_max_batch]
            try:
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=args.peer_timeout)
            except subprocess.TimeoutExpired:
                print(f"  {fw}: no result within {args.peer_timeout:.0f} s (killed)")
                continue
            if res.returncode != 0:
                print(f"  {fw}: unavailable ({res.stderr.strip().splitlines()[-1:]})")
                continue
            out = json.loads(res.stdout.strip().splitlines()[-1])
            info = out.pop("_info")
            chosen = sorted({r["setting"] for r in out.values() if r["setting"]})
            print(f"  {fw} {info['version']}: " + ", ".join(
                [f"{k} {v}" for k, v in info.items() if k != "version"] +
                [f"fastest with {', '.join(chosen)}"] * bool(chosen)))
            for rule, r in out.items():
                rows.append((rule, fw, r["single_us"], r["pairs_per_s"], r["batch"], None,
                             r["first_call_s"]))
    jax = {r[0]: r[3] for r in rows if r[1] == "jax"}
    print(f"{'rule':11} {'backend':7} {'single us':>10} {'pairs/s':>12} {'x JAX':>7} "
          f"{'pairs':>6} {'ops':>6} {'build s':>8}")
    for rule, be, single, thr, n, ops, build in rows:
        ratio = f"{thr / jax[rule]:7.1f}" if rule in jax else "      -"
        print(f"{rule:11} {be:7} {single:10.1f} {thr:12,.0f} {ratio} {n:6d} "
              f"{ops if ops else '-':>6} {build if build is not None else float('nan'):8.2f}")
    bounded = sorted({(r[0], r[1], r[4]) for r in rows if r[4] < args.batch})
    for rule, be, n in bounded:
        print(f"  note: {rule}/{be} timed on the first {n} of {args.batch} pairs "
              "(--peer-max-batch)")
    # a full training run
    ls.train(game, "lola", runs=2, steps=2, seed=0)     # warm: field and value program loaded
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        ls.train(game, "lola", runs=1000, steps=200, seed=0)
        times.append(time.perf_counter() - t0)
    print(f"train: 1000 seeds x 200 LOLA steps (c backend, compiled): best {min(times):.3f} s, "
          f"first {times[0]:.3f} s")
    for backend in ("c", "llvm"):
        (ci, cd), (wi, wd) = start_times(backend)
        print(f"start ({backend}): cold derive+compile NL+LOLA {cd:.2f} s, warm (cache) {wd:.3f} s; "
              f"import lola_sym {wi:.2f} s")


if __name__ == "__main__":
    main()
