"""General repeated games: lola_sym's compiled fields against JAX, and a symbolic game family.

Run: python benchmarks/bench_games.py [--batch 10000] [--games ipd_memory2 rps contribution]
     [--rules nl lola exact_lola] [--family-games 10000] [--numeric-games 200]

About 5 minutes on 2 idle cores. Needs the extras: pip install -e ".[bench]".

Table 1, one row per (game, rule), games memory-2 IPD (21 logits per player),
iterated RPS (3 actions, 20 logits) and the 3-player contribution game with
cf = 1.8 (9 logits each), eta = 1 where the rule has it. Each row runs in a
fresh process with an empty ``LOLA_SYM_CACHE_DIR``:

* ``cold s``: ``update_field(game, rule)`` (import and game construction not
  counted), split into ``derive`` (symbolic derivation), ``cse`` (common
  subexpressions and C source) and ``cc`` (the C compiler at the -O level
  the backend chose: -O0 above ``OPTIMISE_MAX_STATEMENTS`` statements, the
  count shown as ``stmts``);
* then, same process, same code: ``single us`` one point, numpy arrays in and
  out (best of several rounds, warm-up not timed); ``pts/s`` throughput over
  ``--batch`` random points;
* ``JAX pts/s``, ``JAX us``: an independent JAX implementation of the same
  exact fields (games_peer.py, jit + vmap, float64, its own process),
  ``JAX build`` its trace + XLA compilation of the batched field, ``x JAX``
  our throughput over JAX's; ``rel diff``: max over players of
  max |JAX - ours| / max |ours| on the whole batch, required <= 1e-9.

A rule that ``update_field`` refuses on a game is printed as ``not available:
<error>``. Both sides are timed on one core and on all cores (C backend:
OpenMP threads, ``thr``; JAX: one virtual host device per core, ``JAX cfg``
``chunked``, or one device, ``chunked1``) and keep the faster: on a busy
machine the single core can win. Targets: cold <= 10 s, x JAX >= 5.

Table 2, the symbolic IPD (``lola_sym.games.ipd(symbolic=True)``, symbols R,
S, T, P, gamma), in one fresh process: its LOLA field built cold, then
evaluated on ``--family-games`` random games at one point each in a single
call; against it the numeric path, ``update_field(lola_sym.iterated(R1, R2,
gamma), "lola")`` per game for ``--numeric-games`` of the same games, which
reuse the compiled 2x2 family (its first build reported apart); both paths
must agree on those games.

Exit status 1 when an available row disagrees with JAX or could not be checked.
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

from _timing import best_within

HERE = Path(__file__).parent
GAMES = ["ipd_memory2", "rps", "contribution"]
RULES = ["nl", "lola", "exact_lola"]
#: agreement required between lola_sym and JAX (relative to the largest entry of each output)
TOL = 1e-9
ETA = 1.0
COLD_TARGET_S, RATIO_TARGET = 10.0, 5.0


def make_game(key):
    """The benchmark's games by key."""
    import lola_sym as ls
    return {"ipd_memory2": ls.games.ipd_memory2,
            "rps": ls.games.rps,
            "contribution": lambda: ls.games.contribution(3, "1.8")}[key]()


def hyper_of(rule):
    """``eta = ETA`` for the rules that have a lookahead ``eta`` (from the registry)."""
    from lola_sym.rules import get_rule
    return {"eta": ETA} if "eta" in get_rule(rule).hyper else {}


def game_spec(game):
    """What the peer needs, as plain numbers (it derives the chain itself)."""
    return {"actions": list(game.actions), "memory": game.memory, "gamma": float(game.gamma),
            "eta": ETA, "payoffs": [[float(x) for x in game.payoff_array(i + 1).ravel()]
                                    for i in range(game.n_players)]}


def relative_error(out, want):
    return max(float(np.max(np.abs(o - w)) / np.max(np.abs(w))) for o, w in zip(out, want))


def c_backend():
    """``(module, name of its compiler step)`` of the C backend, before or after the
    package's move of the backends into ``lola_sym.compile``."""
    try:
        from lola_sym.compile import backend_c
        return backend_c, "build_library"
    except ImportError:
        from lola_sym import cbackend
        return cbackend, "build"


# ------------------------------------------------------------------ child processes
def cold_field(game, rule):
    """``update_field`` from an empty cache, timed: ``(field, info)`` or ``(None, {"error"})``."""
    import lola_sym as ls
    cbackend, step = c_backend()
    cc = []
    build = getattr(cbackend, step)

    def timed_build(source, out_dir):         # measurement hook: the C compiler's share
        t0 = time.perf_counter()
        path = build(source, out_dir)
        cc.append((time.perf_counter() - t0, source.count(";")))
        return path
    setattr(cbackend, step, timed_build)
    t0 = time.perf_counter()
    try:
        f = ls.update_field(game, rule, **hyper_of(rule))
    except Exception as exc:                  # reported as "not available", not a crash
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return None, {"error": f"{type(exc).__name__}: {msg}"}
    finally:
        setattr(cbackend, step, build)
    total = time.perf_counter() - t0
    cc_s, stmts = cc[-1] if cc else (float("nan"), 0)
    return f, {"seconds": total, "derive": f.derive_seconds, "cse": f.compile_seconds - cc_s,
               "cc": cc_s, "statements": stmts, "from_cache": f.from_cache,
               "opt": "-O2" if stmts <= cbackend.OPTIMISE_MAX_STATEMENTS else "-O0"}


def best_threads(f, thetas, budget):
    """``(points/s, threads)``: the C backend's OpenMP threads, 1 and nproc, the faster kept.

    On a busy machine a parallel region waits for every thread to be scheduled,
    so that one thread can be the faster (the JAX peer likewise tries one device).
    """
    raw = f.compiled.raw                      # the loaded CFunction (also through a bound family)
    nproc = len(os.sched_getaffinity(0))
    rates = {}
    for k in sorted({1, nproc}):
        raw.threads = k
        f(*thetas)
        rates[k] = len(thetas[0]) / best_within(lambda: f(*thetas), budget / 2)
    raw.threads = nproc
    best = max(rates, key=rates.get)
    return rates[best], best


def child_row(key, rule, out, batch, budget):
    """One row of table 1 on our side; the fields are saved to ``out`` for the peer.

    All in the process that built the field cold, so the timed code is that code
    (the disk cache keys on the package's source, which others may edit meanwhile).
    """
    game = make_game(key)
    rng = np.random.default_rng(0)
    thetas = [rng.normal(size=(batch, d)) for d in game.dims]
    point = [t[0].copy() for t in thetas]
    f, res = cold_field(game, rule)
    if f is None:
        return res
    g = f(*thetas)                            # warm-up
    res["single_us"] = best_within(lambda: f(*point), budget / 3) * 1e6
    res["pts_s"], res["threads"] = best_threads(f, thetas, budget)
    np.savez(out, V=game.value(*thetas), spec=np.array(json.dumps(game_spec(game))),
             **{f"theta{i + 1}": t for i, t in enumerate(thetas)},
             **{f"{rule}_g{i + 1}": x for i, x in enumerate(g)})
    return res


def child_family(n, m, budget):
    """Table 2: the symbolic IPD's LOLA field on ``n`` games at once vs ``m`` numeric fields."""
    import lola_sym as ls
    rng = np.random.default_rng(1)
    R, S, T, P = (rng.integers(-5, 6, size=n).astype(float) for _ in range(4))
    gam = rng.integers(50, 100, size=n) / 100                 # k / 100, as exact as the games
    theta1, theta2 = rng.normal(size=(n, 5)), rng.normal(size=(n, 5))
    f, res = cold_field(ls.games.ipd(symbolic=True), "lola")
    if f is None:
        return res

    def family_call():
        return f(theta1, theta2, R=R, S=S, T=T, P=P, gamma=gam)
    t0 = time.perf_counter()
    sym_out = family_call()
    res["first_call"] = time.perf_counter() - t0
    res["call"] = best_within(family_call, budget)

    def numeric_game(k):                      # the same games as numbers: R2 = R1 transposed
        R1 = [[int(R[k]), int(S[k])], [int(T[k]), int(P[k])]]
        return ls.iterated(R1, [list(r) for r in zip(*R1)], f"{gam[k]:.2f}")
    games = [numeric_game(k) for k in range(m)]
    t0 = time.perf_counter()
    fields = [ls.update_field(games[0], "lola", **hyper_of("lola"))]
    res["family_build"] = time.perf_counter() - t0
    per = []
    for g in games[1:]:
        t0 = time.perf_counter()
        fields.append(ls.update_field(g, "lola", **hyper_of("lola")))
        per.append(time.perf_counter() - t0)
    calls, err = [], 0.0
    for k, fk in enumerate(fields):
        a, b = theta1[k].copy(), theta2[k].copy()
        t0 = time.perf_counter()
        out = fk(a, b)
        calls.append(time.perf_counter() - t0)
        err = max(err, relative_error(out, [o[k] for o in sym_out]))
    res.update(n=n, m=m, per_mean=float(np.mean(per)), per_median=float(np.median(per)),
               per_max=float(np.max(per)), call_median=float(np.median(calls)), err=err)
    return res


def run_child(task, cache_dir, timeout):
    """``task`` in a fresh process with an empty cache: its JSON result or ``{"error"}``."""
    env = {**os.environ, "LOLA_SYM_CACHE_DIR": str(cache_dir)}
    try:
        res = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                              json.dumps(task)], env=env, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s (killed)"}
    if res.returncode != 0:
        tail = res.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"failed: {tail[0]}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_peer(path, rule, args):
    """games_peer.py on one rule: ``(its result, its info)`` or ``(None, why not)``."""
    cmd = [sys.executable, str(HERE / "games_peer.py"), str(path), "--rules", rule,
           "--budget", str(args.peer_budget)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=args.peer_timeout)
    except subprocess.TimeoutExpired:
        return None, f"JAX gave no result within {args.peer_timeout:.0f} s (killed)"
    if res.returncode != 0:
        tail = res.stderr.strip().splitlines()[-1:] or ["no output"]
        return None, f"JAX failed: {tail[0]}"
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return out[rule], out["_info"]


# ------------------------------------------------------------------ tables
def table_games(args, tmp):
    rows, failures, infos = [], [], {}
    for key in args.games:
        for rule in args.rules:
            path = tmp / f"{key}-{rule}.npz"
            ours = run_child({"row": [key, rule, str(path), args.batch, args.budget]},
                             tmp / f"{key}-{rule}", args.build_timeout)
            row = {"game": key, "rule": rule, "ours": ours}
            rows.append(row)
            if "error" not in ours:
                row["jax"], note = run_peer(path, rule, args)
                if row["jax"] is None:
                    row["note"] = note
                    failures.append(f"{key}/{rule}: {note}")
                else:
                    infos[key] = note
                    if not row["jax"]["max_rel_err"] <= TOL:
                        failures.append(f"{key}/{rule}: disagrees with JAX, relative difference "
                                        f"{row['jax']['max_rel_err']:.2e} > {TOL:g}")
            print(f"  {key}/{rule}: done", file=sys.stderr, flush=True)
    return rows, failures, infos


def print_games(rows, infos, args):
    print(f"\nTable 1: fields on {args.batch:,} random points (eta = {ETA:g}); cold = fresh "
          f"process, empty cache")
    head = (f"{'game':12} {'rule':10} {'cold s':>7} {'derive':>7} {'cse':>6} {'cc':>6} "
            f"{'-O':>3} {'stmts':>6} {'single us':>9} {'pts/s':>9} {'thr':>3} {'JAX pts/s':>9} "
            f"{'JAX cfg':>8} {'JAX us':>6} {'JAX build':>9} {'x JAX':>5} {'rel diff':>8}")
    print(head)
    print("-" * len(head))
    misses = []
    for r in rows:
        c, j, name = r["ours"], r.get("jax"), f"{r['game']:12} {r['rule']:10}"
        if "error" in c:
            print(f"{name} not available: {c['error']}")
            continue
        jax = (f"{j['points_per_s']:9,.0f} {j['setting']:>8} {j['single_us']:6.0f} "
               f"{j['build_s']:9.2f} {c['pts_s'] / j['points_per_s']:5.1f} "
               f"{j['max_rel_err']:8.1e}"
               if j else f"{'-':>9} {'-':>8} {'-':>6} {'-':>9} {'-':>5} {'-':>8}")
        print(f"{name} {c['seconds']:7.2f} {c['derive']:7.2f} {c['cse']:6.2f} {c['cc']:6.2f} "
              f"{c['opt'][1:]:>3} {c['statements']:6d} {c['single_us']:9.1f} "
              f"{c['pts_s']:9,.0f} {c['threads']:3d} {jax}"
              + (f"   ({r['note']})" if "note" in r else ""))
        if c["seconds"] > COLD_TARGET_S:
            misses.append(f"{r['game']}/{r['rule']}: cold {c['seconds']:.1f} s > "
                          f"{COLD_TARGET_S:g} s")
        if j and c["pts_s"] < RATIO_TARGET * j["points_per_s"]:
            misses.append(f"{r['game']}/{r['rule']}: {c['pts_s'] / j['points_per_s']:.1f}x JAX "
                          f"< {RATIO_TARGET:g}x")
    for m in misses:
        print(f"  target missed: {m}")
    for key, i in infos.items():
        print(f"  JAX {i['version']} on {key}: {i['devices']} host devices, float64, "
              f"{i['chunk']} points per LAPACK call")


def table_family(args, tmp):
    print("\nTable 2: symbolic IPD (R, S, T, P, gamma) LOLA field vs one numeric field per game")
    r = run_child({"family": [args.family_games, args.numeric_games, args.budget]},
                  tmp / "family", args.build_timeout)
    if "error" in r:
        print(f"  symbolic IPD LOLA: not available: {r['error']}")
        return [f"table 2: {r['error']}"]
    n, m = r["n"], r["m"]
    print(f"  symbolic: cold build {r['seconds']:.2f} s (derive {r['derive']:.2f}, cse "
          f"{r['cse']:.2f}, cc {r['cc']:.2f} at {r['opt']}, {r['statements']} statements); "
          f"{n:,} games x 1 point in one call: {r['call'] * 1e3:.2f} ms (first call "
          f"{r['first_call'] * 1e3:.2f} ms), {r['call'] / n * 1e6:.3f} us per game")
    print(f"  numeric: first game {r['family_build']:.2f} s (builds the 2x2 family, cold); "
          f"{m - 1} more games: construction {r['per_mean'] * 1e6:.0f} us per game (median "
          f"{r['per_median'] * 1e6:.0f}, max {r['per_max'] * 1e6:.0f}), then one call at one "
          f"point {r['call_median'] * 1e6:.0f} us (median)")
    print(f"  per game: symbolic batch {r['call'] / n * 1e6:.3f} us vs numeric construction + "
          f"one call {(r['per_mean'] + r['call_median']) * 1e6:.0f} us; agreement on the {m} "
          f"games: {r['err']:.1e} (<= {TOL:g} required)")
    return [] if r["err"] <= TOL else [f"symbolic vs numeric IPD fields disagree: {r['err']:.2e}"]


def main():
    if sys.argv[1:2] == ["--child"]:
        task = json.loads(sys.argv[2])
        res = child_row(*task["row"]) if "row" in task else child_family(*task["family"])
        print(json.dumps(res))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--games", nargs="+", default=GAMES, choices=GAMES)
    ap.add_argument("--rules", nargs="+", default=RULES, choices=RULES)
    ap.add_argument("--family-games", type=int, default=10_000,
                    help="random symbolic-IPD games evaluated in one call (table 2; 0 skips)")
    ap.add_argument("--numeric-games", type=int, default=200,
                    help="numeric 2x2 games built one by one (table 2; at least 2)")
    ap.add_argument("--budget", type=float, default=3.0,
                    help="seconds of timing per measurement on our side")
    ap.add_argument("--peer-budget", type=float, default=4.0,
                    help="seconds of timing per rule in the JAX process")
    ap.add_argument("--peer-timeout", type=float, default=300.0,
                    help="seconds allowed to each JAX process")
    ap.add_argument("--build-timeout", type=float, default=300.0,
                    help="seconds allowed to each of our processes (cold build and timing)")
    args = ap.parse_args()
    if args.family_games and not 2 <= args.numeric_games <= args.family_games:
        ap.error("--numeric-games must lie in 2..--family-games")
    from lola_sym.compile import default_backend
    cbackend, _ = c_backend()
    nproc = len(os.sched_getaffinity(0))
    load = os.getloadavg()
    print(f"{nproc} cores (nproc); backend {default_backend()}; each side timed on 1 and "
          f"{nproc} cores, faster kept; load average at start {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f}; C at -O0 above {cbackend.OPTIMISE_MAX_STATEMENTS} statements")
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows, failures, infos = table_games(args, tmp)
        print_games(rows, infos, args)
        if args.family_games > 0:
            failures += table_family(args, tmp)
    load = os.getloadavg()
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s; load average at end "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    for f in failures:
        print(f"FAIL {f}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
