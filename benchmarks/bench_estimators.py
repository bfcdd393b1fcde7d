"""Bias and spread of the sample-based gradient estimators against the exact gradients.

Run: python benchmarks/bench_estimators.py [--batches 1000 16000] [--horizon 150]
                                           [--replicates 20] [--seed 0] [--plot out.png]

On the IPD at a seeded point (theta ~ N(0, 1)), for each quantity (agent 1's
own gradient, the opponent's cross Hessian, the LOLA direction with eta = 1)
and each estimator, over ``replicates`` independent batches:

* bias / |exact|: mean over entries of |mean estimate - exact| divided by the
  mean |exact| entry, against the exact *infinite-horizon* target (so it
  includes the exact truncation bias, printed on the header line, and the
  Monte-Carlo noise of the mean, printed as "floor" = (std / |exact|) / sqrt(replicates));
* std / |exact|: mean over entries of the standard deviation of one estimate;
* std ratio: std at the smallest batch over std at the largest (sqrt of the
  batch ratio for a 1/sqrt(N) estimator);
* ms/est: wall time per estimate (simulation shared by the estimators).
"""

import argparse
import os
import time

import numpy as np

from lola_sym import games
from lola_sym.sampling.rollouts import exact_targets, truncation_bias
from lola_sym.sampling.verify import bias_variance

QUANTITIES = (
    ("grad", ("reinforce", "reinforce_baseline", "lola_pg", "dice", "dice_baseline"), False),
    ("hessian", ("lola_pg", "dice", "dice_baseline"), False),
    ("lola", ("lola_pg", "dice_baseline"), True),
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1000, 16000])
    ap.add_argument("--horizon", type=int, default=150)
    ap.add_argument("--replicates", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default=None, help="save the gradient figure to this path")
    args = ap.parse_args()
    game = games.ipd()
    rng = np.random.default_rng(args.seed)
    t1, t2 = rng.normal(size=5), rng.normal(size=5)
    print(f"{game.name}, theta ~ N(0, 1) seed {args.seed}, horizon {args.horizon}, "
          f"{args.replicates} replicates per batch size, {os.cpu_count()} cores")
    print(f"theta1 = {np.round(t1, 3)}, theta2 = {np.round(t2, 3)}")
    exact = exact_targets(game, t1, t2)
    tb = truncation_bias(game, t1, t2, args.horizon)
    for quantity, names, independent in QUANTITIES:
        ex = exact.quantity(quantity)
        trunc = np.mean(np.abs(tb.quantity(quantity))) / np.mean(np.abs(ex))
        print(f"\n== {quantity} (agent 1){' , independent halves' if independent else ''}: "
              f"mean |exact| {np.mean(np.abs(ex)):.4g}, exact truncation bias / |exact| "
              f"{trunc:.2e}")
        t0 = time.perf_counter()
        bv = bias_variance(game, t1, t2, quantity=quantity, estimators=names,
                           batch_sizes=args.batches, horizons=[args.horizon],
                           replicates=args.replicates, seed=args.seed + 1,
                           independent=independent)
        per = (time.perf_counter() - t0) / (args.replicates * len(args.batches)) * 1e3
        head = f"{'estimator':20}" + "".join(
            f" {'N=' + str(n):>8} {'bias/|ex|':>10} {'floor':>8} {'std/|ex|':>9}"
            for n in args.batches) + f" {'std ratio':>9}"
        print(head)
        print("-" * len(head))
        for e, name in enumerate(bv.estimators):
            row = f"{name:20}"
            for b in range(len(args.batches)):
                rb, rs = bv.relative_bias[e, b, 0], bv.relative_std[e, b, 0]
                row += f" {'':>8} {rb:10.2e} {rs / np.sqrt(args.replicates):8.1e} {rs:9.3f}"
            ratio = bv.relative_std[e, 0, 0] / bv.relative_std[e, -1, 0]
            print(row + f" {ratio:9.2f}")
        print(f"(expected std ratio sqrt({args.batches[-1]}/{args.batches[0]}) = "
              f"{np.sqrt(args.batches[-1] / args.batches[0]):.2f}; {per:.0f} ms per batch "
              f"for all {len(names)} estimators)")
        if args.plot and quantity == "grad":
            bv.plot().savefig(args.plot, dpi=120)
            print(f"figure saved to {args.plot}")


if __name__ == "__main__":
    main()
