"""The ``lola-sym`` command line.

Errors are printed as one line on stderr with exit code 2 (bad arguments) or
1 (a failure while running); no tracebacks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

__all__ = ["main", "build_parser"]


def _number(kind, lower, strict):
    """An argparse type: a finite ``kind`` above ``lower`` (strictly if ``strict``)."""
    what = f"{'positive' if strict else 'non-negative'} {'integer' if kind is int else 'number'}"

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
        ok = (v > lower if strict else v >= lower) and v < float("inf")
        if not ok:
            raise argparse.ArgumentTypeError(f"expected a finite {what}, got {text}")
        return v
    return parse


_positive_int = _number(int, 0, True)
_nonneg_int = _number(int, 0, False)
_positive_float = _number(float, 0.0, True)
_nonneg_float = _number(float, 0.0, False)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``lola-sym``."""
    parser = _Parser(prog="lola-sym", description="Exact gradients of learning in games.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    rep = sub.add_parser("reproduce", help="reproduce a paper's published results",
                         description="Reproduce a paper's results and print them beside the "
                                     "published numbers.")
    rep.add_argument("paper", choices=["lola2018"], help="which paper")
    rep.add_argument("--runs", type=_positive_int, default=50, help="independent runs (default 50)")
    rep.add_argument("--steps", type=_nonneg_int, default=200, help="updates per run (default 200)")
    rep.add_argument("--delta", type=_positive_float, default=1.0, help="learning rate (default 1)")
    rep.add_argument("--eta", type=_nonneg_float, default=1.0, help="LOLA lookahead rate (default 1)")
    rep.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the initial parameters")
    rep.add_argument("--games", nargs="+", choices=["IPD", "IMP"], default=["IPD", "IMP"])
    rep.add_argument("--json", action="store_true", help="print machine-readable JSON")
    rep.set_defaults(func=_reproduce)
    return parser


def _reproduce(args) -> int:
    from lola_sym.reproduce import format_table, lola2018, rows_as_dicts
    t0 = time.perf_counter()
    rows = lola2018(runs=args.runs, steps=args.steps, delta=args.delta, eta=args.eta,
                    seed=args.seed, games=tuple(args.games))
    seconds = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"paper": "lola2018", "runs": args.runs, "steps": args.steps,
                          "delta": args.delta, "eta": args.eta, "seed": args.seed,
                          "seconds": seconds, "rows": rows_as_dicts(rows)}, indent=2))
    else:
        header = (f"LOLA (Foerster et al. 2018), exact gradients: {args.runs} runs x {args.steps} "
                  f"updates, delta={args.delta:g}, eta={args.eta:g}, theta ~ N(0, 1), "
                  f"seed {args.seed}")
        print(format_table(rows, header))
        print(f"({seconds:.1f} s)")
    return 0


def main(argv=None) -> int:
    """Entry point of the ``lola-sym`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError) as exc:
        print(f"lola-sym {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
