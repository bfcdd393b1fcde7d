"""The rule x game outcome table: every rule in self-play on six games, same seeds.

Run: python benchmarks/rule_table.py [--runs 20] [--games ipd imp ...] [--rules nl lola ...]

Settings per game (printed with each table): the IPD and IMP as in the LOLA and
SOS papers (delta = eta = 1, N(0, 1) initial logits, 200 updates); Tandem as in
the SOS paper (delta = eta = 0.1, N(0, 0.1^2), a = b = 0.5); one-shot matching
pennies, the Hamiltonian game and one-shot chicken with smaller steps chosen so
that the naive learner stays finite. Targets: TFT (IPD), the Nash set
(IMP, matching pennies, Tandem, Hamiltonian), none for chicken.
"""

import argparse
import json
import time

import lola_sym as ls
from lola_sym.dynamics.compare import DEFAULT_RULES, compare

SETTINGS = {
    "ipd": dict(delta=1.0, eta=1.0, steps=200, init_std=1.0),
    "imp": dict(delta=1.0, eta=1.0, steps=200, init_std=1.0),
    "tandem": dict(delta=0.1, eta=0.1, steps=500, init_std=0.1, a=0.5, b=0.5),
    "matching_pennies": dict(delta=0.5, eta=0.5, steps=500, init_std=1.0),
    "hamiltonian": dict(delta=0.1, eta=0.1, steps=500, init_std=1.0),
    "chicken_one_shot": dict(delta=0.01, eta=0.01, steps=500, init_std=1.0),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", nargs="+", default=list(SETTINGS))
    ap.add_argument("--rules", nargs="+", default=list(DEFAULT_RULES))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the tables as JSON to this file")
    args = ap.parse_args()
    out = []
    for name in args.games:
        t0 = time.perf_counter()
        c = compare(ls.games.by_name(name), args.rules, runs=args.runs, seed=args.seed,
                    **SETTINGS[name])
        print(c.format())
        print(f"({time.perf_counter() - t0:.1f} s)\n", flush=True)
        out.append(c.as_dict())
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
