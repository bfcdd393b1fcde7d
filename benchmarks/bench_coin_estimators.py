"""Time the Markov-game rollouts and estimators on the coin game, per episode-step.

Run: python benchmarks/bench_coin_estimators.py [--side 3] [--batch 1024] [--horizon 150]
                                                [--seed 0]

At a seeded point theta ~ N(0, 0.5^2) of the tabular coin game, one batch of
``batch`` episodes of ``horizon`` steps: the time of the simulation
(:func:`lola_sym.sampling.markov_rollouts.markov_rollout`, sparse scores
included) and of each estimate (:mod:`lola_sym.sampling.markov_estimators`),
in nanoseconds per episode-step, and of the exact targets (adjoint path) of
the same horizon, for scale. Best of a few rounds (``_timing.best_within``).
"""

import argparse
import os

import numpy as np
from _timing import best_within

from lola_sym.games import coin_game
from lola_sym.sampling import markov_estimators as me
from lola_sym.sampling.markov_rollouts import markov_rollout

ESTIMATES = (("grad", "reinforce", {}), ("grad", "reinforce_baseline", {}),
             ("grad", "dice_baseline", {}), ("grad", "reinforce", {"stderr": False}),
             ("correction", "lola_pg", {}), ("correction", "dice_baseline", {}),
             ("lola", "lola_pg", {"eta": 1000.0}), ("lola", "dice_baseline", {"eta": 1000.0}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--horizon", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    game = coin_game(args.side)
    rng = np.random.default_rng(args.seed)
    thetas = [rng.normal(0.0, 0.5, d) for d in game.dims]
    steps = args.batch * args.horizon
    print(f"{game.name}: {game.n_states} states, {game.dims[0]} logits per agent; batch "
          f"{args.batch} x T {args.horizon} = {steps:,} episode-steps; {os.cpu_count()} cores")
    t = best_within(lambda: markov_rollout(game, *thetas, batch=args.batch,
                                           horizon=args.horizon, seed=1), budget=5.0)
    print(f"{'rollout (simulation + sparse scores)':44} {t * 1e3:9.1f} ms {t / steps * 1e9:8.1f} "
          f"ns/step")
    ro = markov_rollout(game, *thetas, batch=args.batch, horizon=args.horizon, seed=1)
    ro.returns_to_go                                   # cached once, as in the study
    for q, e, kw in ESTIMATES:
        t = best_within(lambda: me.estimate(ro, q, e, 1, **kw), budget=5.0)
        label = f"{q} / {e}" + ("".join(f" {k}={v}" for k, v in kw.items()))
        print(f"{label:44} {t * 1e3:9.1f} ms {t / steps * 1e9:8.1f} ns/step")
    t = best_within(lambda: me.markov_targets(game, *thetas, horizon=args.horizon,
                                              eta=1000.0), budget=5.0, repeat=2)
    print(f"{'exact targets (adjoint, horizon T)':44} {t * 1e3:9.1f} ms")
    t = best_within(lambda: me.markov_targets(game, *thetas, horizon=None, eta=1000.0),
                    budget=5.0, repeat=2)
    print(f"{'exact targets (adjoint, discounted)':44} {t * 1e3:9.1f} ms")


if __name__ == "__main__":
    main()
