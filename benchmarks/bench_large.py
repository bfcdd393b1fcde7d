"""Large Markov games: the adjoint path (sparse LU) against JAX autodiff through dense inv(I - gamma P).

Run: python benchmarks/bench_large.py [--sides 2 3 4] [--players 2 3 4 5] [--memory 1 2]
     [--jax-max-states 2000] [--timeout 900] [--json out.json] [--figure out.png]

For each chain (the coin game by board side, the contribution game by number
of players, with memory-1 policies, and with ``--memory 1 2`` memory-2 ones too:
up to 1,057 states, above the symbolic program's 64) and each method, a fresh worker process builds the same
game, draws the same logits (seeded) and times one value, one gradient (every
block grad_j V_i) and one LOLA field (eta = 1), after one untimed warm-up call
of each (JAX's tracing and XLA compilation are reported apart, as ``jit s``).

* ``adjoint``: ``lola_sym`` -- ``game.value``, ``lola_sym.adjoint.at(...).gradients()``
  and ``update_field(game, "lola")``.
* ``jax-inv``: how POLA and pax compute exact values, written here: the dense
  ``S x S`` chain assembled from the same transition table (chance nodes folded
  in) by a differentiable scatter-add, ``V = mu0 @ inv(I - gamma P) @ r``,
  gradients by ``jax.jacrev``, LOLA's shaping term by ``jax.jvp`` of
  ``jax.grad`` (float64, jit).
* ``jax-solve``: the same with one dense solve instead of the inverse,
  ``V = solve((I - gamma P)^T, mu0) @ r`` (a stronger dense baseline; JAX's
  ``inv`` also has a fixed cost of about 15 ms on this CPU).

``peak MB`` is the largest resident memory a worker reaches during its
computations (warm-up and timing, sampled every millisecond) above its
resident memory before them (after imports and building the game). The parent
checks that both methods agree (values, gradients, LOLA fields) and prints the
ratios and the scaling exponent of each method's time in the number of states
(least squares in log-log). Chains above ``--jax-max-states`` are not run with
JAX: a dense matrix of that size, its inverse and their cotangents would need
the memory shown as ``dense MB`` (8 S^2 bytes per matrix).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from _timing import best_within

HERE = Path(__file__).parent
ETA = 1.0
METHODS = ("adjoint", "jax-inv", "jax-solve")
#: agreement required between the adjoint path and JAX (relative to the largest entry)
TOL = 1e-9


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


class PeakMemory:
    """Samples the resident memory every millisecond in a thread; ``peak`` above the start."""

    def __enter__(self):
        self.start = _rss_mb()
        self.peak = self.start
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.001)

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())

    @property
    def used(self):
        return self.peak - self.start


def make_game(kind, size):
    import lola_sym as ls
    from lola_sym.adjoint import markov_of
    if kind == "coin":
        return ls.games.coin_game(size)
    memory = 2 if kind == "contribution-m2" else 1
    return markov_of(ls.games.contribution(size, memory=memory))


def logits(game):
    rng = np.random.default_rng(0)
    return [rng.normal(0.0, 1.0, d) for d in game.dims]


# ------------------------------------------------------------------ workers
def worker_adjoint(game, th, budget):
    from lola_sym import update_field
    from lola_sym.adjoint import at
    field = update_field(game, "lola", eta=ETA)
    out = {}
    with PeakMemory() as mem:
        value = game.value(*th)
        ev = at(game, *th)
        grads = ev.gradients()
        lola = field(*th)
        out["value_s"] = best_within(lambda: game.value(*th), budget)
        out["gradient_s"] = best_within(lambda: at(game, *th).gradients(), budget)
        out["lola_s"] = best_within(lambda: field(*th), budget)
    lu = ev.chain.lu()
    out.update(peak_mb=mem.used, jit_s=0.0, lu_nnz=int(lu.L.nnz + lu.U.nnz),
               matrix_n=int(lu.shape[0]))
    n = game.n_players
    arrays = {"value": value, "lola": np.concatenate(lola),
              "gradient": np.concatenate([grads[(i, j)] for i in range(1, n + 1)
                                          for j in range(1, n + 1)])}
    return out, arrays


def dense_kernel(game):
    """The transition entries with the chance nodes folded in: (state, joint, next, prob)."""
    s, a, nxt, p = game.transitions
    S = game.n_states
    direct = nxt < S
    rows = [(s[direct], a[direct], nxt[direct], p[direct])]
    node, cnext, cprob = game.chance
    for z in range(game.n_chance):
        via = nxt == S + z
        if via.any():
            sel = node == z
            k = int(sel.sum())
            rows.append((np.repeat(s[via], k), np.repeat(a[via], k), np.tile(cnext[sel], via.sum()),
                         np.repeat(p[via], k) * np.tile(cprob[sel], via.sum())))
    return tuple(np.concatenate(c) for c in zip(*rows))


def worker_jax(game, th, budget, solve=False):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    S, n = game.n_states, game.n_players
    # the chain's numbers are arguments of the jitted functions, not constants folded by XLA
    chain = {"kernel": tuple(jnp.asarray(x) for x in dense_kernel(game)),
             "views": tuple(jnp.asarray(v) for v in game.views),
             "R": jnp.asarray(game.rewards), "mu": jnp.asarray(game.start)}
    rows = [len(r) for r in game.rows]
    ks = game.actions
    gamma = float(game.gamma)

    def probs(C, t, i):
        x = t.reshape(rows[i], ks[i] - 1)
        z = jnp.concatenate([x, jnp.zeros((rows[i], 1))], axis=1)
        return jax.nn.softmax(z, axis=1)[C["views"][i]]

    def values(C, *ts):
        s, a, nxt, p = C["kernel"]
        joint = probs(C, ts[0], 0)
        for i in range(1, n):
            joint = (joint[:, :, None] * probs(C, ts[i], i)[:, None, :]).reshape(S, -1)
        P = jnp.zeros((S, S)).at[s, nxt].add(p * joint[s, a])
        r = jnp.einsum("sa,nsa->ns", joint, C["R"])
        M = jnp.eye(S) - gamma * P
        if solve:
            return jnp.linalg.solve(M.T, C["mu"]) @ r.T
        return C["mu"] @ jnp.linalg.inv(M) @ r.T

    value = jax.jit(values)
    jacobian = jax.jacrev(values, argnums=tuple(range(1, n + 1)))
    jac = jax.jit(jacobian)

    def lola(C, *ts):
        G = jacobian(C, *ts)                # G[k][i] = d V_i / d theta_k, shape (n, d_k)
        out = []
        for i in range(n):
            g = G[i][i]
            for j in range(n):
                if j != i:
                    def grad_i_of_Vj(x, i=i, j=j):
                        args = list(ts)
                        args[j] = x
                        return jax.grad(lambda *z: values(C, *z)[j], argnums=i)(*args)
                    g = g + ETA * jax.jvp(grad_i_of_Vj, (ts[j],), (G[j][i],))[1]
            out.append(g)
        return out
    lola_jit = jax.jit(lola)
    th = [jnp.asarray(t) for t in th]
    out = {}
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        v = value(chain, *th).block_until_ready()
        G = jac(chain, *th)
        L = lola_jit(chain, *th)
        jax.block_until_ready(L)
        out["jit_s"] = time.perf_counter() - t0
        out["value_s"] = best_within(lambda: value(chain, *th).block_until_ready(), budget)
        out["gradient_s"] = best_within(lambda: jax.block_until_ready(jac(chain, *th)), budget)
        out["lola_s"] = best_within(lambda: jax.block_until_ready(lola_jit(chain, *th)), budget)
    out["peak_mb"] = mem.used
    arrays = {"value": np.asarray(v), "lola": np.concatenate([np.asarray(x) for x in L]),
              "gradient": np.concatenate([np.asarray(G[j][i]) for i in range(n)
                                          for j in range(n)])}
    return out, arrays


def run_worker(args):
    game = make_game(args.kind, args.size)
    th = logits(game)
    if args.worker == "adjoint":
        out, arrays = worker_adjoint(game, th, args.budget)
    else:
        out, arrays = worker_jax(game, th, args.budget, solve=args.worker == "jax-solve")
    np.savez(args.out, **arrays)
    print(json.dumps(out))


# ------------------------------------------------------------------- parent
def spawn(method, kind, size, budget, timeout):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "out.npz")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method, "--kind", kind,
               "--size", str(size), "--out", path, "--budget", str(budget)]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"over {timeout:.0f} s"}, None
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["killed"])[-1]
            return {"error": last[:80]}, None
        return json.loads(res.stdout.strip().splitlines()[-1]), dict(np.load(path))


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def slope(xs, ys):
    xs, ys = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    return float(np.polyfit(xs, ys, 1)[0]) if len(xs) >= 2 else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sides", nargs="*", type=int, default=[2, 3, 4])
    ap.add_argument("--players", nargs="*", type=int, default=[2, 3, 4, 5])
    ap.add_argument("--jax-max-states", type=int, default=2000)
    ap.add_argument("--budget", type=float, default=5.0, help="seconds of timing per call kind")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per worker")
    ap.add_argument("--json", default=None)
    ap.add_argument("--figure", default=None)
    ap.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    ap.add_argument("--memory", nargs="*", type=int, default=[1], choices=[1, 2],
                    help="memories of the contribution game's policies (2: up to 1,057 states)")
    ap.add_argument("--kind", choices=["coin", "contribution", "contribution-m2"],
                    help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return run_worker(args)
    cases = [("coin", s) for s in args.sides] + [
        ("contribution" if m == 1 else "contribution-m2", n) for m in args.memory
        for n in args.players]
    head = (f"{'chain':16} {'states':>6} {'method':9} {'value ms':>9} {'grad ms':>9} "
            f"{'LOLA ms':>9} {'jit s':>6} {'peak MB':>8} {'LU nnz':>9} {'dense MB':>8} "
            f"{'jax/adjoint':>15} {'agree':>8}")
    print(head)
    print("-" * len(head))
    results = []
    for kind, size in cases:
        game = make_game(kind, size)
        S = game.n_states
        name = f"{kind} {size}x{size}" if kind == "coin" else f"{kind} n={size}"
        name = name.replace("contribution-m2", "contrib. m2")
        rows = {}
        for method in METHODS:
            if method != "adjoint" and S > args.jax_max_states:
                rows[method] = ({"error": f"not run: S > {args.jax_max_states}"}, None)
                continue
            rows[method] = spawn(method, kind, size, args.budget, args.timeout)
        ad, ad_arr = rows["adjoint"]
        for method, (r, arr) in rows.items():
            if "error" in r:
                print(f"{name:16} {S:6d} {method:9} {r['error']}")
                continue
            ratio = agree = ""
            if method != "adjoint" and "error" not in ad:
                ratio = f"{r['lola_s'] / ad['lola_s']:.1f}x"
                err = max(rel(ad_arr[k], arr[k]) for k in ("value", "gradient", "lola"))
                agree = f"{err:.0e}" + ("" if err < TOL else " !")
            print(f"{name:16} {S:6d} {method:9} {1e3 * r['value_s']:9.3f} "
                  f"{1e3 * r['gradient_s']:9.3f} {1e3 * r['lola_s']:9.3f} {r['jit_s']:6.1f} "
                  f"{r['peak_mb']:8.1f} {r.get('lu_nnz', ''):>9} {8 * S * S / 2 ** 20:8.1f} "
                  f"{ratio:>15} {agree:>8}")
        results.append({"chain": name, "kind": kind, "size": size, "states": S,
                        **{m: r for m, (r, _) in rows.items()}})
    print()
    for kind in ("coin", "contribution", "contribution-m2"):
        for method in METHODS:
            pts = [(r["states"], r[method]["lola_s"]) for r in results
                   if r["kind"] == kind and "error" not in r[method]]
            if len(pts) >= 2:
                print(f"{kind}: {method} LOLA time grows as states^{slope(*zip(*pts)):.2f} "
                      f"(states {pts[0][0]}..{pts[-1][0]})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.figure:
        plot(results, args.figure)


def plot(results, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for kind, marker in (("coin", "o"), ("contribution", "s"), ("contribution-m2", "^")):
        for method, colour in zip(METHODS, ("C0", "C1", "C2")):
            pts = sorted((r["states"], r[method]["lola_s"]) for r in results
                         if r["kind"] == kind and "error" not in r[method])
            if pts:
                x, y = zip(*pts)
                ax.loglog(x, y, marker=marker, color=colour, label=f"{kind}: {method}")
    ax.set(xlabel="states S", ylabel="one LOLA field evaluation (s)",
           title="Sparse LU + adjoints vs JAX through dense inv(I - gamma P)")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=150)


if __name__ == "__main__":
    main()
