"""LOLA-PG and NL-PG self-play in the IPD (Table 3 of Foerster et al. 2018), from samples only.

Run: python benchmarks/run_lola_pg.py [--runs 20] [--steps 200] [--batch 1000]
                                      [--horizon 150] [--seed 0] [--game ipd]

Every gradient, Hessian and LOLA correction is estimated from ``batch``
fresh episodes of ``horizon`` steps per run and update
(:func:`lola_sym.sampling.opponent_model.train_pg`), with delta = eta = 1 as in the exact
experiments (the paper's PG setting, actor step 0.005 on twice the batch
mean, batch 4000, 150-step episodes, needs about a hundred times more updates
than fit here; see ``train_pg``). The average reward per step (1 - gamma) V
and the TFT criterion (lola_sym.report.reproduce.tft_like) are computed exactly from
the final parameters. Settings:

* NL-PG: REINFORCE with a leave-one-out baseline;
* LOLA-PG (DiCE + baseline): second-order terms by DiCE with the any-order
  baseline (for a fixed horizon equal to the release code's mean-reward baseline);
* LOLA-PG (Sec. 4.3 formula): the paper's bare second-order formula.
"""

import argparse
import os
import time

import numpy as np

from lola_sym import games
from lola_sym.sampling.opponent_model import train_pg
from lola_sym.report.reproduce import nash_distance

#: Table 3 of the paper (IPD): setting -> (R mean, R std, %TFT).
PAPER = {"NL-PG": (-1.98, 0.00, 20.0), "LOLA-PG": (-1.17, 0.34, 66.4)}
SETTINGS = (
    ("NL-PG", "nl", "reinforce_baseline", "NL-PG"),
    ("LOLA-PG (DiCE + baseline)", "lola", "dice_baseline", "LOLA-PG"),
    ("LOLA-PG (Sec. 4.3 formula)", "lola", "lola_pg", "LOLA-PG"),
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--game", default="ipd", choices=["ipd", "imp"])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--horizon", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--settings", nargs="+", type=int, default=[0, 1, 2],
                    help="indices into the settings list (0 NL-PG, 1 LOLA-PG DiCE, 2 LOLA-PG formula)")
    args = ap.parse_args()
    game = games.by_name(args.game)
    print(f"{game.name}: {args.runs} runs x {args.steps} updates, batch {args.batch}, "
          f"horizon {args.horizon}, delta = eta = 1, seed {args.seed}, {os.cpu_count()} cores")
    rows = []
    for k in args.settings:
        label, rule, estimator, paper = SETTINGS[k]
        t0 = time.perf_counter()
        tr = train_pg(game, rule, runs=args.runs, steps=args.steps, batch=args.batch,
                      horizon=args.horizon, estimator=estimator, seed=args.seed)
        secs = time.perf_counter() - t0
        R = tr.final_reward
        extra = (f"{tr.tft_percent:5.1f}" if args.game == "ipd"
                 else f"{np.mean(nash_distance(tr.theta1[-1], tr.theta2[-1])):5.3f}")
        rows.append((label, estimator, R, extra, PAPER.get(paper) if args.game == "ipd" else None,
                     secs))
        print(f"  done {label} in {secs:.0f} s", flush=True)
    what = "%TFT" if args.game == "ipd" else "Nash d"
    head = (f"{'setting':28} {'estimator':19} {'R agent 1':>13} {'R agent 2':>13} {'R pooled':>13} "
            f"{what:>6} {'paper R':>13} {'paper %TFT':>10} {'time s':>7}")
    print("\n" + head + "\n" + "-" * len(head))
    for label, est, R, extra, paper, secs in rows:
        p_r = "-" if paper is None else f"{paper[0]:+.2f} ({paper[1]:.2f})"
        p_t = "-" if paper is None else f"{paper[2]:.1f}"
        print(f"{label:28} {est:19} {R[:, 0].mean():+6.2f} ({R[:, 0].std():.2f}) "
              f"{R[:, 1].mean():+6.2f} ({R[:, 1].std():.2f}) {R.mean():+6.2f} ({R.std():.2f}) "
              f"{extra:>6} {p_r:>13} {p_t:>10} {secs:7.0f}")
    print("R = exact average reward per step (1 - gamma) V of the final parameters, mean (std) "
          "over runs; %TFT over both agents of every run (lola_sym.report.reproduce.tft_like: "
          "cooperate in s0, CC, DC, defect in CD, DD, own perspective).")


if __name__ == "__main__":
    main()
