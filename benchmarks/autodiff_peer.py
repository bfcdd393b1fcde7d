r"""Reference update fields on the IPD with JAX (jit + vmap) or PyTorch autograd, float64.

Run by bench_vs_autodiff.py in its own process (JAX beside large LLVM
compilations has hung)::

    python autodiff_peer.py {jax,torch} in.npz [--rules nl lola ...] [--max-batch lola2=2000]

reads ``theta1``, ``theta2`` and lola_sym's fields ``<rule>_g1``, ``<rule>_g2``
from the .npz, checks agreement to ``TOL`` (relative to the largest entry)
before timing, times one-step latency and batched throughput (warm-up and
compilation excluded, compilation reported apart) and prints one JSON line.
Written from the formulas of ../shared/reference/lola2018.md, nothing shared
with lola_sym:

* value: :math:`V^i = p_0^\top (I - \gamma P)^{-1} r^i` (``linalg.solve``);
* NL: :math:`g_i = \nabla_i V^i`;
* LOLA (Eq. 4.4): :math:`g_1 = \nabla_1 V^1 + \eta\, (\nabla_2 V^1)^\top \nabla_1\nabla_2 V^2`,
  :math:`\nabla_2 V^1` held fixed; symmetric for agent 2;
* exact LOLA: :math:`g_1 = \nabla_1 [V^1(\theta_1, \theta_2 + \eta \nabla_2 V^2(\theta))]`,
  differentiated through the opponent's step;
* LOLA-2 (Sec. 4.5): :math:`g_1 = \nabla_1 V^1 + \eta\, (\nabla_2 V^1)^\top
  \partial g_2^{\mathrm{LOLA}} / \partial \theta_1` with the full Jacobian of the
  opponent's LOLA direction (third derivatives) and :math:`\nabla_2 V^1` held fixed.

Hessian-vector products are forward over reverse in JAX (``jvp`` of ``grad``),
vector-Jacobian products of the gradients (double backward) in PyTorch.
PyTorch is timed with 1 and with nproc intra-op threads and the faster kept
(``setting``; see ``torch_fields``). Timed calls go from numpy to numpy, as
lola_sym's fields do.

JAX on CPU and the LAPACK kernels. ``jnp.linalg.solve`` lowers to jaxlib's
LAPACK FFI kernels (``getrf``, ``trsm``). In jaxlib 0.10 these split a batch over
the XLA intra-op thread pool once ``batch * cost`` exceeds 200,000 flops
(cost 4*4*4 = 64 for the 4x4 LU, so above 3,125 pairs) and then *block a
pool thread* waiting for the pieces (``ParallelBatchMap``). When as many such
kernels run concurrently as the pool has threads (2 on a 2-core machine),
every pool thread waits on work that no thread is left to run: the process
deadlocks at 0% CPU (seen with gdb: both ``tf_XLAEigen`` threads in
``TriMatrixEquationSolver`` -> ``ParallelBatchMap`` -> ``BlockingCounter::Wait``).
LOLA-2 and exact LOLA have the most independent solves and hung at batch
>= 8,000; NL and LOLA can hit it too. The JAX peer therefore shards the batch
over virtual host devices (``--xla_force_host_platform_device_count``,
``shard_map`` of the vmapped field) so that each shard has at most
``LAPACK_INLINE_BATCH`` pairs: every LAPACK call then runs inline on its own
thread, nothing waits on the pool, and the shards still use all cores (as
fast as or faster than one vmap over the whole batch, measured).
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

from _timing import best_within

SWAP = [0, 1, 3, 2, 4]        # agent 2 sees the states CD and DC swapped
R1 = [-1.0, -3.0, 0.0, -2.0]  # rewards of agent 1 in CC, CD, DC, DD
R2 = [-1.0, 0.0, -3.0, -2.0]
GAMMA = 0.96
ETA = 1.0
RULES = ("nl", "lola", "exact_lola", "lola2")
#: agreement with lola_sym required before timing (relative to the largest entry)
TOL = 1e-9
#: largest shard for which jaxlib's batched 4x4 LAPACK kernels stay on the calling
#: thread (64 flops per LU * 3,125 = 200,000 = jaxlib's kMinWorkPerTask), with margin
LAPACK_INLINE_BATCH = 3000


def jax_fields(n_batch):
    """``{rule: (batched, single)}`` with JAX, batch sharded as explained above."""
    n_dev = max(os.cpu_count() or 1, math.ceil(n_batch / LAPACK_INLINE_BATCH))
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_force_host_platform_device_count={n_dev}").strip()
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    r = jnp.array([R1, R2]).T
    swap = jnp.array(SWAP)

    def values(t1, t2):
        x, y = jax.nn.sigmoid(t1), jax.nn.sigmoid(t2[swap])
        row = lambda a, b: jnp.stack([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)], -1)
        p0, P = row(x[0], y[0]), row(x[1:], y[1:])
        return p0 @ jnp.linalg.solve(jnp.eye(4) - GAMMA * P, r)

    V1 = lambda a, b: values(a, b)[0]
    V2 = lambda a, b: values(a, b)[1]
    d11, d12 = jax.grad(V1, 0), jax.grad(V1, 1)   # d_ij = grad_j V^i
    d21, d22 = jax.grad(V2, 0), jax.grad(V2, 1)

    def shaping1(a, b, v):   # (grad_1 grad_2 V2) v: derivative of grad_1 V2 along v in theta2
        return jax.jvp(lambda b_: d21(a, b_), (b,), (v,))[1]

    def shaping2(a, b, u):   # (grad_2 grad_1 V1) u
        return jax.jvp(lambda a_: d12(a_, b), (a,), (u,))[1]

    def lola1(a, b):
        return d11(a, b) + ETA * shaping1(a, b, jax.lax.stop_gradient(d12(a, b)))

    def lola2_(a, b):
        return d22(a, b) + ETA * shaping2(a, b, jax.lax.stop_gradient(d21(a, b)))

    def opp_lola1(a, b):     # the opponent's LOLA direction as a function (no stop-gradient)
        return d11(a, b) + ETA * shaping1(a, b, d12(a, b))

    def opp_lola2(a, b):
        return d22(a, b) + ETA * shaping2(a, b, d21(a, b))

    def second_order(a, b):
        v, u = jax.lax.stop_gradient(d12(a, b)), jax.lax.stop_gradient(d21(a, b))
        s1 = jax.vjp(lambda a_: opp_lola2(a_, b), a)[1](v)[0]
        s2 = jax.vjp(lambda b_: opp_lola1(a, b_), b)[1](u)[0]
        return d11(a, b) + ETA * s1, d22(a, b) + ETA * s2

    fields = {
        "nl": lambda a, b: (d11(a, b), d22(a, b)),
        "lola": lambda a, b: (lola1(a, b), lola2_(a, b)),
        "exact_lola": lambda a, b: (jax.grad(lambda a_: V1(a_, b + ETA * d22(a_, b)))(a),
                                    jax.grad(lambda b_: V2(a + ETA * d11(a, b_), b_))(b)),
        "lola2": second_order,
    }
    mesh = Mesh(np.array(jax.devices()), ("pairs",))
    spec = PartitionSpec("pairs")
    shard = NamedSharding(mesh, spec)

    def batched(f):
        g = jax.jit(jax.shard_map(jax.vmap(f), mesh=mesh, in_specs=(spec, spec),
                                  out_specs=(spec, spec)))

        def call(a, b):   # pad to a multiple of the device count, shard, drop the padding
            n = len(a)
            pad = -n % n_dev
            if pad:
                a, b = (np.concatenate([x, np.repeat(x[:1], pad, 0)]) for x in (a, b))
            assert len(a) // n_dev <= LAPACK_INLINE_BATCH, "shard would use the LAPACK pool"
            out = g(jax.device_put(a, shard), jax.device_put(b, shard))
            jax.block_until_ready(out)
            return tuple(np.asarray(o)[:n] for o in out)
        return call

    def single(f):
        g = jax.jit(f)
        return lambda a, b: tuple(np.asarray(o) for o in jax.block_until_ready(g(a, b)))

    info = {"devices": n_dev, "version": jax.__version__}
    return {k: (batched(f), single(f)) for k, f in fields.items()}, info, {"": lambda: None}


def torch_fields(n_batch):
    """``{rule: (batched, single)}`` with PyTorch autograd (one graph for the whole batch)."""
    import torch
    torch.set_default_dtype(torch.float64)
    grad = torch.autograd.grad
    r = torch.tensor([R1, R2]).T
    swap = torch.tensor(SWAP)

    def values(t1, t2):
        x, y = torch.sigmoid(t1), torch.sigmoid(t2[..., swap])
        row = lambda a, b: torch.stack([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)], -1)
        p0, P = row(x[..., 0], y[..., 0]), row(x[..., 1:], y[..., 1:])
        w = torch.linalg.solve(torch.eye(4) - GAMMA * P, r.expand(P.shape[:-2] + (4, 2)))
        return (p0.unsqueeze(-2) @ w).squeeze(-2)

    def first(a, b, graph):
        # pairs are independent, so the gradient of the batch sum is each pair's gradient
        V = values(a, b)
        d11, d12 = grad(V[..., 0].sum(), (a, b), create_graph=graph, retain_graph=True)
        d21, d22 = grad(V[..., 1].sum(), (a, b), create_graph=graph)
        return d11, d12, d21, d22

    def nl(a, b):
        d11, _, _, d22 = first(a, b, False)
        return d11, d22

    def lola(a, b):
        d11, d12, d21, d22 = first(a, b, True)
        c1, = grad(d22, a, grad_outputs=d12.detach(), retain_graph=True)  # (grad_1 grad_2 V2) v
        c2, = grad(d11, b, grad_outputs=d21.detach())                     # (grad_2 grad_1 V1) u
        return d11 + ETA * c1, d22 + ETA * c2

    def exact(a, b):
        d11, _, _, d22 = first(a, b, True)
        e1, = grad(values(a, b + ETA * d22)[..., 0].sum(), a, retain_graph=True)
        e2, = grad(values(a + ETA * d11, b)[..., 1].sum(), b)
        return e1, e2

    def second_order(a, b):
        d11, d12, d21, d22 = first(a, b, True)
        # the opponent's LOLA direction as a function: the shaping vectors are not detached
        # (grad_outputs take part in the graph with create_graph=True)
        c1, = grad(d22, a, grad_outputs=d12, create_graph=True)
        c2, = grad(d11, b, grad_outputs=d21, create_graph=True)
        s1, = grad(d22 + ETA * c2, a, grad_outputs=d12.detach(), retain_graph=True)
        s2, = grad(d11 + ETA * c1, b, grad_outputs=d21.detach())
        return d11 + ETA * s1, d22 + ETA * s2

    def wrap(f):
        def call(a, b):
            a = torch.from_numpy(np.ascontiguousarray(a)).requires_grad_(True)
            b = torch.from_numpy(np.ascontiguousarray(b)).requires_grad_(True)
            return tuple(o.detach().numpy() for o in f(a, b))
        return call

    fields = {"nl": nl, "lola": lola, "exact_lola": exact, "lola2": second_order}
    # torch's intra-op threads hurt badly on a small, shared machine: each parallel region
    # waits for every thread to be scheduled (measured on 2 busy cores: 4x4 batched solve of
    # 10,000 matrices 1.5 ms with 1 thread, 53 ms with 2; x * x on 50,000 doubles 0.02 ms
    # vs 7.8 ms), so every thread count from 1 to nproc is tried and the fastest kept
    n = len(os.sched_getaffinity(0))
    settings = {f"threads={k}": (lambda k=k: torch.set_num_threads(k)) for k in sorted({1, n})}
    info = {"version": torch.__version__}
    return {k: (wrap(f), wrap(f)) for k, f in fields.items()}, info, settings


def relative_error(out, want):
    return max(float(np.max(np.abs(o - w)) / np.max(np.abs(w))) for o, w in zip(out, want))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("framework", choices=["jax", "torch"])
    ap.add_argument("data")
    ap.add_argument("--rules", nargs="+", default=list(RULES), choices=RULES)
    ap.add_argument("--max-batch", nargs="*", default=[], metavar="RULE=N",
                    help="time RULE on the first N pairs only")
    ap.add_argument("--budget", type=float, default=10.0,
                    help="seconds of timing per rule and measurement (after warm-up)")
    args = ap.parse_args()
    limit = {k: int(v) for k, v in (s.split("=") for s in args.max_batch)}
    data = np.load(args.data)
    t1, t2 = data["theta1"], data["theta2"]
    rules = [r for r in args.rules if f"{r}_g1" in data]
    n_max = max([min(len(t1), limit.get(r, len(t1))) for r in rules] or [1])
    fns, info, settings = (jax_fields if args.framework == "jax" else torch_fields)(n_max)
    res = {"_info": info}
    for rule in rules:
        batched, single = fns[rule]
        n = min(len(t1), limit.get(rule, len(t1)))
        a, b = t1[:n], t2[:n]
        t0 = time.perf_counter()
        out = batched(a, b)                       # warm-up (JAX: trace + compile)
        first_call = time.perf_counter() - t0
        err = relative_error(out, (data[f"{rule}_g1"][:n], data[f"{rule}_g2"][:n]))
        if not err <= TOL:
            raise SystemExit(f"{args.framework} {rule} disagrees with lola_sym: "
                             f"relative error {err:.2e} > {TOL:g}")
        a0, b0 = t1[0].copy(), t2[0].copy()
        err1 = relative_error(single(a0, b0), (data[f"{rule}_g1"][0], data[f"{rule}_g2"][0]))
        if not err1 <= TOL:
            raise SystemExit(f"{args.framework} {rule} (one pair) disagrees: {err1:.2e}")
        lat, thr = {}, {}
        for name, apply in settings.items():   # the peer's best setting, separately for each
            apply()
            single(a0, b0), batched(a, b)
            lat[name] = best_within(lambda: single(a0, b0), args.budget / 2 / len(settings))
            thr[name] = best_within(lambda: batched(a, b), args.budget / len(settings))
        fast = min(thr, key=thr.get)
        res[rule] = {"single_us": min(lat.values()) * 1e6, "pairs_per_s": n / thr[fast],
                     "batch": n, "first_call_s": first_call, "max_rel_err": max(err, err1),
                     "setting": fast, "single_setting": min(lat, key=lat.get)}
        print(f"{args.framework} {rule}: {res[rule]}", file=sys.stderr, flush=True)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
