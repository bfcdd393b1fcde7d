"""Derivation time, compiled size, latency and throughput of the update fields.

Run: python benchmarks/bench_fields.py [--game ipd] [--rules nl lola] [--batch 10000]

Prints one row per rule: cold derivation and compilation time (this process
starts cold), the operation count after common-subexpression elimination, the
single-call latency (one parameter pair, Python overhead included) and the
batched throughput in parameter pairs per second.
"""

import argparse
import os
import time

import numpy as np

from _timing import best

import lola_sym as ls




def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--game", default="ipd")
    ap.add_argument("--rules", nargs="+", default=["nl", "lola"])
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--backend", default="numpy")
    args = ap.parse_args()
    game = ls.games.by_name(args.game)
    rng = np.random.default_rng(0)
    d1, d2 = game.dims
    t1, t2 = rng.normal(size=(args.batch, d1)), rng.normal(size=(args.batch, d2))
    print(f"game {game.name}, backend {args.backend}, {os.cpu_count()} cores, batch {args.batch}")
    print(f"{'rule':10} {'derive s':>9} {'compile s':>10} {'ops (cse)':>10} "
          f"{'single us':>10} {'batch ms':>9} {'pairs/s':>12}")
    for rule in args.rules:
        t0 = time.perf_counter()
        f = ls.update_field(game, rule, backend=args.backend)
        total = time.perf_counter() - t0
        single = best(lambda: f(t1[0], t2[0]), 5, 200)
        batch = best(lambda: f(t1, t2), 5, 3)
        print(f"{rule:10} {f.derive_seconds:9.2f} {f.compile_seconds:10.2f} {f.size():10d} "
              f"{single * 1e6:10.1f} {batch * 1e3:9.2f} {args.batch / batch:12,.0f}"
              f"   (first call incl. value program: {total:.2f} s)")


if __name__ == "__main__":
    main()
