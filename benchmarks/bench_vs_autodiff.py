"""lola_sym's compiled fields against JAX (jit + vmap) and PyTorch autograd, one run.

Run: python benchmarks/bench_vs_autodiff.py [--batch 10000]

Our backends (c, llvm, numpy) are timed in this process; JAX and PyTorch run
in separate processes (JAX beside large LLVM compilations has hung) on the
same parameter pairs, after checking they agree with ours to 1e-9. Also
prints cold derivation + compilation (fresh process, empty cache), warm start
(fresh process, filled cache) and 1000 seeds x 200 LOLA steps on the IPD.
Needs the extras: pip install -e ".[bench]".
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
    args = ap.parse_args()
    import lola_sym as ls
    game = ls.games.ipd()
    rng = np.random.default_rng(0)
    t1, t2 = rng.normal(size=(args.batch, 5)), rng.normal(size=(args.batch, 5))
    print(f"IPD, float64, batch {args.batch}, {os.cpu_count()} cores")
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
            ref.setdefault(rule, out)
            single = best(lambda: f(t1[0], t2[0]), 5, 500)
            thr = args.batch / best(lambda: f(t1, t2), 5, 3)
            rows.append((rule, backend, single * 1e6, thr, f.size(), build))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.npz"
        np.savez(path, theta1=t1, theta2=t2, **{f"{r}_g{i + 1}": ref[r][i]
                                                 for r in ("nl", "lola") for i in range(2)})
        for fw in ("jax", "torch"):
            res = subprocess.run([sys.executable, str(HERE / "autodiff_peer.py"), fw, str(path)],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                print(f"  {fw}: unavailable ({res.stderr.strip().splitlines()[-1:]})")
                continue
            for rule, r in json.loads(res.stdout.strip().splitlines()[-1]).items():
                rows.append((rule, fw, r["single_us"], r["pairs_per_s"], None, None))
    jax = {r[0]: r[3] for r in rows if r[1] == "jax"}
    print(f"{'rule':11} {'backend':7} {'single us':>10} {'pairs/s':>12} {'x JAX':>7} {'ops':>6} {'build s':>8}")
    for rule, be, single, thr, ops, build in rows:
        ratio = f"{thr / jax[rule]:7.1f}" if rule in jax else "      -"
        print(f"{rule:11} {be:7} {single:10.1f} {thr:12,.0f} {ratio} {ops if ops else '-':>6} "
              f"{build if build is not None else float('nan'):8.2f}")
    # a full training run
    ls.update_field(game, "lola")
    t0 = time.perf_counter()
    ls.train(game, "lola", runs=1000, steps=200, seed=0)
    print(f"train: 1000 seeds x 200 LOLA steps (c backend, compiled): {time.perf_counter() - t0:.3f} s")
    for backend in ("c", "llvm"):
        (ci, cd), (wi, wd) = start_times(backend)
        print(f"start ({backend}): cold derive+compile NL+LOLA {cd:.2f} s, warm (cache) {wd:.3f} s; "
              f"import lola_sym {wi:.2f} s")


if __name__ == "__main__":
    main()
