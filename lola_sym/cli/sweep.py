"""The ``lola-sym sweep`` subcommand: a grid of training runs, labelled, stored, resumable.

Axes come from the command line: a comma list (``--rules nl,lola``), or a
range ``start:stop:num`` (``--eta 0.5:2:5``, both ends included) is an axis;
a single value is a fixed setting. Results go to a zarr store (``--out``),
which a second run with the same arguments resumes.

Wired into :mod:`lola_sym.cli` by :func:`add_parser` (the parser) and
:func:`run` (the runner).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math

import numpy as np

from lola_sym.cli.arguments import discount, memory, players, positive_exact
from lola_sym.cli.support import UsageError, plain

__all__ = ["add_parser", "run", "axis_values"]

EXAMPLES = ["lola-sym sweep --rules nl,lola --eta 0.5:2:5 --seeds 8 --out results.zarr "
            "--workers 2",
            "lola-sym sweep --game ipd --rules lola --delta 0.1:1:10 --eta 0.1:1:10 --seeds 100 "
            "--out table3.zarr --plot tft.png --quantity tft --x eta --y delta",
            "lola-sym sweep --game ipd,imp --rules nl,lola --seeds 1000 --dry-run",
            "lola-sym sweep --rules lola --eta 1 --seeds 64 --dask tcp://scheduler:8786"]


def _number(text: str):
    v: int | float
    try:
        v = int(text)
    except ValueError:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if isinstance(v, float) and not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def axis_values(text: str):
    """An argparse type: ``x`` (a value), ``a,b,c`` (an axis) or ``start:stop:num`` (an axis).

    Examples
    --------
    >>> axis_values("1"), axis_values("0.5,1"), axis_values("0.5:2:4")
    (1, [0.5, 1], [0.5, 1.0, 1.5, 2.0])
    >>> axis_values("1:2:0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: a range start:stop:num needs num >= 1, got '1:2:0'
    """
    text = text.strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise argparse.ArgumentTypeError(f"a range is start:stop:num (e.g. 0.5:2:5), got "
                                             f"{text!r}")
        start, stop = _number(parts[0]), _number(parts[1])
        try:
            num = int(parts[2])
        except ValueError:
            raise argparse.ArgumentTypeError(f"a range start:stop:num needs an integer num, "
                                             f"got {text!r}") from None
        if num < 1:
            raise argparse.ArgumentTypeError(f"a range start:stop:num needs num >= 1, got "
                                             f"{text!r}")
        if num > 100_000:
            raise argparse.ArgumentTypeError(f"a range of more than 100,000 values: {text!r}")
        return [float(v) for v in np.linspace(float(start), float(stop), num)]
    if "," in text:
        return [_number(p) for p in text.split(",") if p.strip()]
    return _number(text)


def _names(text: str) -> list:
    items = [p.strip() for p in text.split(",") if p.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected one name or a comma list, got {text!r}")
    return items


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _nonneg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


def _hyper(text: str) -> tuple:
    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected name=value or name=a,b,c (e.g. "
                                         f"a=0.1,0.5), got {text!r}")
    return name.strip(), axis_values(value)


def add_parser(subparsers):
    """Add the ``sweep`` subcommand to ``subparsers``; returns its parser.

    Its ``func`` default is :func:`run`. Comma lists and ranges are parsed
    into axes (:func:`axis_values`).

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="demo")
    >>> p = add_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["sweep", "--rules", "nl,lola/nl", "--eta", "0.5:2:4",
    ...                           "--seeds", "8"])
    >>> args.rules, args.eta, args.seeds, args.game, args.steps, args.func is run
    (['nl', 'lola/nl'], [0.5, 1.0, 1.5, 2.0], 8, ['ipd'], 200, True)
    >>> _rules(args.rules)                  # a/b is one rule per agent
    ['nl', ('lola', 'nl')]
    """
    p = subparsers.add_parser(
        "sweep", help="a grid of training runs (rules x rates x seeds ...), stored, resumable",
        description="Train learners over every combination of the axes given, in chunks of "
                    "batched runs, on a local pool of processes (one per core) or a Dask "
                    "cluster, and summarise the labelled results (lola_sym.sweep). A comma "
                    "list or a range start:stop:num is an axis, a single value a fixed "
                    "setting. --out stores the results in zarr as they come; running the "
                    "same command again resumes it.",
        epilog="examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--game", type=_names, default=["ipd"], metavar="GAME[,GAME...]",
                   help="catalogue game(s) (default: ipd); a list is an axis")
    p.add_argument("--gamma", type=discount, default=None, metavar="G",
                   help="discount of every iterated or repeated game of the sweep (default: "
                        "each game's own)")
    p.add_argument("--players", type=players, default=None, metavar="N",
                   help="number of players of the contribution game, 2 to 5")
    p.add_argument("--cf", type=positive_exact, default=None, metavar="X",
                   help="contribution factor of the contribution game (default: 0.6 x players)")
    p.add_argument("--memory", type=memory, default=None, metavar="M",
                   help="past joint actions the policies see, 0 to 2")
    p.add_argument("--param", type=_hyper, nargs="+", action="extend", default=[],
                   metavar="SYM=X", help="values of the game's symbols, which makes the game "
                                         "its symbolic family (ipd: R, S, T, P, gamma); a list "
                                         "or range is an axis, e.g. gamma=0.8:0.98:10")
    p.add_argument("--rules", type=_names, default=["lola"], metavar="R[,R...]",
                   help="rule(s): a name is self-play, a/b gives agent 1 rule a and agent 2 "
                        "rule b; a list is an axis (default: lola)")
    p.add_argument("--delta", type=axis_values, default=1.0, metavar="X",
                   help="learning rate: a value, a,b,c or start:stop:num (default: 1)")
    p.add_argument("--delta2", type=axis_values, default=None, metavar="X",
                   help="agent 2's own learning rate in a two-agent game (same forms as "
                        "--delta; default: --delta)")
    p.add_argument("--eta", type=axis_values, default=None, metavar="X",
                   help="lookahead rate of the rules that take one (value, list or range)")
    p.add_argument("--hyper", type=_hyper, nargs="+", action="extend", default=[],
                   metavar="K=X", help="other hyper-parameters or options, e.g. order=1,2,3")
    p.add_argument("--seeds", type=_positive, default=20, help="seeds (default: 20)")
    p.add_argument("--seed", type=_nonneg, default=0,
                   help="entropy of the per-seed SeedSequence (default: 0)")
    p.add_argument("--steps", type=_nonneg, default=200, help="updates per run (default: 200)")
    p.add_argument("--method", default="simultaneous",
                   choices=["simultaneous", "extragradient", "optimistic"], help="step method")
    p.add_argument("--init-std", type=float, default=1.0,
                   help="standard deviation of the initial parameters (default: 1)")
    p.add_argument("--quantities", type=_names, default=None, metavar="Q[,Q...]",
                   help="what to measure: reward, value, distance, tft, diverged_at, "
                        "converged_at, ftle, theta (default: what the games support)")
    p.add_argument("--target", choices=["default", "tft", "nash"], default="default",
                   help="target of the distance quantity")
    p.add_argument("--along", type=_names, default=[], metavar="Q[,Q...]",
                   help="also record these along the run: reward, distance, theta")
    p.add_argument("--record-every", type=_positive, default=None,
                   help="updates between records along the run (default: steps // 20)")
    p.add_argument("--out", default=None, metavar="STORE",
                   help="zarr store of the results (resumed when it exists)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out store")
    p.add_argument("--workers", type=_positive, default=None,
                   help="processes of the local pool (default: one per core; 1: in this "
                        "process)")
    p.add_argument("--chunk-rows", type=_positive, default=None,
                   help="runs per chunk (one batched call each; default 1024 or fewer)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on a Dask cluster: a scheduler address, or local:N for a "
                        "LocalCluster of N processes (needs pip install lola_sym[dask])")
    p.add_argument("--dry-run", action="store_true",
                   help="print the grid size and an estimated time (a short timing probe)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help="save a heat map (--x and --y) or a line plot (--x only) of "
                        "--quantity, .png or .pdf")
    p.add_argument("--quantity", default=None, help="the quantity of --plot (default: the first)")
    p.add_argument("--x", default=None, help="horizontal axis of --plot")
    p.add_argument("--y", default=None, help="vertical axis of --plot (a heat map)")
    p.add_argument("--sel", nargs="+", default=[], metavar="AXIS=VALUE",
                   help="pick one value of other axes for --plot, e.g. rules=lola")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: only when stderr is a terminal)")
    p.set_defaults(func=run)
    return p


def _rules(items):
    out = []
    for it in items:
        parts = tuple(x.strip() for x in it.split("/"))
        out.append(parts[0] if len(parts) == 1 else parts)
    return out if len(out) > 1 else out[0]


def _sel(items) -> dict:
    out = {}
    for it in items:
        k, sep, v = it.partition("=")
        if not sep:
            raise UsageError(f"--sel takes AXIS=VALUE, got {it!r}")
        try:
            out[k] = _number(v)
        except argparse.ArgumentTypeError:
            out[k] = v
    return out


def _client(address):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--dask needs Dask distributed: pip install 'lola_sym[dask]'") from None
    if address.startswith("local:"):
        try:
            n = int(address.split(":", 1)[1])
        except ValueError:
            raise UsageError(f"--dask local:N needs a number of workers, got {address!r}") \
                from None
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    return Client(address), None


def _summary(ds, result) -> dict:
    means = {}
    for k, v in ds.data_vars.items():
        a = np.asarray(v.values, dtype=float)
        if k in ("diverged_at", "converged_at"):
            means[k + " (share >= 0)"] = float(np.mean(a >= 0))
        elif np.isfinite(a).any():
            means[k] = float(np.nanmean(a))
    return {"dims": {k: int(n) for k, n in ds.sizes.items()},
            "chunks": result.chunks, "computed": result.computed, "skipped": result.skipped,
            "retried": result.retried, "seconds": result.seconds, "engine": result.engine,
            "cells_per_second": _cells(ds) / result.seconds if result.seconds > 0 else None,
            "means": means}


def _cells(ds) -> int:
    n = 1
    for d, k in ds.sizes.items():
        if d not in ("agent", "param", "step"):
            n *= k
    return n


def _games(args):
    """The games of ``--game``: names as they are, or built with the game options given."""
    from lola_sym.cli.options import game_of
    from lola_sym.games import CATALOGUE
    options = ("gamma", "players", "cf", "memory")
    symbolic = bool(args.param)
    if not symbolic and all(getattr(args, k) is None for k in options):
        return args.game if len(args.game) > 1 else args.game[0]
    out = []
    for name in args.game:
        if name not in CATALOGUE:
            raise UsageError(f"unknown game {name!r}; the catalogue has {sorted(CATALOGUE)}")
        if symbolic:
            if any(getattr(args, k) is not None for k in options):
                raise UsageError("--param gives the game's symbols their values; with it, set "
                                 "gamma as --param gamma=... and leave out --gamma, --players, "
                                 "--cf and --memory")
            if "symbolic" not in inspect.signature(CATALOGUE[name]).parameters:
                raise UsageError(f"--param needs a game with symbols; {name} has none (games "
                                 f"with a symbolic form: {', '.join(_symbolic_games())})")
            out.append(CATALOGUE[name](symbolic=True))
        else:
            out.append(game_of(argparse.Namespace(game=name, **{k: getattr(args, k)
                                                                  for k in options})))
    return out if len(out) > 1 else out[0]


def _symbolic_games() -> list:
    from lola_sym.games import CATALOGUE
    return [k for k, f in CATALOGUE.items() if "symbolic" in inspect.signature(f).parameters]


def run(args) -> int:
    """Run ``lola-sym sweep`` with parsed ``args``; returns the exit code.

    Prints a summary (the dataset's sizes, the chunks computed and the mean of
    every quantity), as JSON with ``--json``; ``--dry-run`` prints the plan
    (:func:`lola_sym.sweep.run.plan`) instead.

    Examples
    --------
    Two seeds of naive learning on matching pennies, in this process; the
    means are those of the dataset :func:`lola_sym.sweep.sweep` returns for the
    same grid, and the mean reward of the zero-sum game is 0:

    >>> import contextlib, io
    >>> from lola_sym.cli import build_parser
    >>> args = build_parser().parse_args(["sweep", "--game", "matching_pennies",
    ...     "--rules", "nl", "--seeds", "2", "--steps", "3", "--workers", "1", "--json"])
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out):
    ...     code = run(args)
    >>> summary = json.loads(out.getvalue())
    >>> code, summary["dims"], summary["computed"], summary["means"]["reward"]
    (0, {'seed': 2, 'agent': 2, 'param': 1}, 1, 0.0)
    >>> from lola_sym.sweep import sweep
    >>> ds = sweep("matching_pennies", "nl", seeds=2, steps=3, workers=1)
    >>> summary["means"]["theta"] == float(ds.theta.mean())
    True
    """
    from lola_sym.sweep.run import plan, run as run_sweep
    from lola_sym.sweep.spec import make_spec
    hyper = {}
    if args.eta is not None:
        hyper["eta"] = args.eta
    for k, v in args.hyper:
        if k in hyper:
            raise UsageError(f"{k} is given twice")
        hyper[k] = v
    if args.dask is not None and args.workers is not None:
        raise UsageError("--workers sizes the local pool; with --dask the cluster decides")
    if args.plot is not None and args.x is None:
        raise UsageError("--plot needs --x (and --y for a heat map)")
    if args.plot is not None and not args.plot.lower().endswith((".png", ".pdf")):
        raise UsageError(f"--plot must end in .png or .pdf, got {args.plot!r}")
    games = _games(args)
    parameters = {}
    for k, v in args.param:
        if k in parameters:
            raise UsageError(f"--param {k} is given twice")
        parameters[k] = v
    if parameters:
        hyper["parameters"] = parameters
    try:
        spec = make_spec(games, _rules(args.rules), delta=args.delta, delta2=args.delta2,
                         seeds=args.seeds,
                         seed=args.seed, steps=args.steps, method=args.method,
                         init_std=args.init_std, quantities=args.quantities,
                         target=args.target, along=args.along, record_every=args.record_every,
                         **hyper)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    if args.dry_run:
        p = plan(spec, chunk_rows=args.chunk_rows, workers=args.workers)
        return _print(args, str(p), {"dims": p.dims, "cells": p.cells, "chunks": p.chunks,
                                   "chunk_rows": p.chunk_rows, "steps": p.steps,
                                   "workers": p.workers,
                                   "estimate_seconds": p.estimate_seconds})
    client = cluster = None
    if args.dask is not None:
        client, cluster = _client(args.dask)
    try:
        result = run_sweep(spec, store=args.out, overwrite=args.overwrite,
                           chunk_rows=args.chunk_rows, workers=args.workers, client=client,
                           progress=args.progress)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    ds = result.dataset
    if args.plot is not None:
        from lola_sym.report import sweep_plots
        q = args.quantity or next(iter(ds.data_vars))
        sel = _sel(args.sel)
        try:
            if args.y is None:
                sweep_plots.lines(ds, q, args.x, sel=sel, path=args.plot)
            else:
                sweep_plots.heatmap(ds, q, args.x, args.y, sel=sel, path=args.plot)
        except (ValueError, KeyError) as exc:
            raise UsageError(f"--plot: {exc}") from None
    data = _summary(ds, result)
    if args.out is not None:
        data["store"] = args.out
    lines = [f"sweep: {' x '.join(f'{k} {n}' for k, n in data['dims'].items())}; "
             f"{result.computed} of {result.chunks} chunks computed"
             + (f", {result.skipped} resumed from {args.out}" if result.skipped else "")
             + (f", {result.retried} retried after a lost worker" if result.retried else "")
             + f" ({result.engine}, {result.seconds:.1f} s, "
               f"{data['cells_per_second'] or 0:,.0f} cells/s)"]
    lines += [f"  mean {k}: {v:.4g}" for k, v in data["means"].items()]
    if args.out is not None:
        lines.append(f"  stored in {args.out} (lola_sym.sweep.load to read it)")
    return _print(args, "\n".join(lines), data)


def _print(args, text, data) -> int:
    """``text``, or ``data`` as JSON with ``--json``, on stdout (``--out`` is the store)."""
    print(json.dumps(plain(data), indent=2, allow_nan=False) if args.json else text)
    return 0

