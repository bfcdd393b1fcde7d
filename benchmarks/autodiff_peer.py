"""Reference LOLA/NL fields on the IPD with JAX (jit + vmap) or PyTorch autograd, float64.

Run by bench_vs_autodiff.py in its own process: reads theta1, theta2 and our
results from an .npz, checks agreement to 1e-9, times one-step latency and
batched throughput, prints one JSON line. Written from the formulas of
../shared/reference/lola2018.md (V = p0^T (I - gamma P)^{-1} r), nothing shared
with lola_sym.
"""

import json
import sys
import time

import numpy as np

from _timing import best

SWAP = [0, 1, 3, 2, 4]
R1 = [-1.0, -3.0, 0.0, -2.0]
R2 = [-1.0, 0.0, -3.0, -2.0]
GAMMA = 0.96




def run_jax(data):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    r = jnp.array([R1, R2])

    def values(t1, t2):
        x, y = jax.nn.sigmoid(t1), jax.nn.sigmoid(t2[jnp.array(SWAP)])
        row = lambda a, b: jnp.stack([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)], -1)
        p0 = row(x[0], y[0])
        P = row(x[1:], y[1:])
        w = jnp.linalg.solve(jnp.eye(4) - GAMMA * P, r.T)
        return p0 @ w

    V1 = lambda a, b: values(a, b)[0]
    V2 = lambda a, b: values(a, b)[1]
    g1, g2 = jax.grad(V1, 0), jax.grad(V2, 1)

    def lola(a, b, eta=1.0):
        v = jax.grad(V1, 1)(a, b)
        u = jax.grad(V2, 0)(a, b)
        c1 = jax.grad(lambda a_: jnp.dot(jax.grad(V2, 1)(a_, b), v))(a)
        c2 = jax.grad(lambda b_: jnp.dot(jax.grad(V1, 0)(a, b_), u))(b)
        return g1(a, b) + eta * c1, g2(a, b) + eta * c2

    nl = lambda a, b: (g1(a, b), g2(a, b))
    return {"nl": (jax.jit(jax.vmap(nl)), jax.jit(nl)), "lola": (jax.jit(jax.vmap(lola)), jax.jit(lola))}, \
        lambda out: tuple(np.asarray(o) for o in out), lambda f: f


def run_torch(data):
    import torch
    torch.set_default_dtype(torch.float64)
    r = torch.tensor([R1, R2])
    swap = torch.tensor(SWAP)

    def values(t1, t2):
        x, y = torch.sigmoid(t1), torch.sigmoid(t2[..., swap])
        row = lambda a, b: torch.stack([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)], -1)
        p0 = row(x[..., 0], y[..., 0])
        P = row(x[..., 1:], y[..., 1:])
        w = torch.linalg.solve(torch.eye(4) - GAMMA * P, r.T.expand(P.shape[:-2] + (4, 2)))
        return (p0.unsqueeze(-2) @ w).squeeze(-2)

    def fields(a, b, lola):
        a = a.clone().requires_grad_(True)
        b = b.clone().requires_grad_(True)
        V = values(a, b)
        g11, g21 = torch.autograd.grad(V[..., 0].sum(), (a, b), create_graph=lola)
        g12, g22 = torch.autograd.grad(V[..., 1].sum(), (a, b), create_graph=lola)
        if not lola:
            return g11, g22
        c1, = torch.autograd.grad((g22 * g21.detach()).sum(), a, retain_graph=True)
        c2, = torch.autograd.grad((g11 * g12.detach()).sum(), b)
        return g11 + c1, g22 + c2

    nl = lambda a, b: fields(a, b, False)
    lo = lambda a, b: fields(a, b, True)
    return {"nl": (nl, nl), "lola": (lo, lo)}, lambda out: tuple(o.detach().numpy() for o in out), \
        lambda arr: torch.from_numpy(arr)


def main():
    fw, path = sys.argv[1], sys.argv[2]
    data = np.load(path)
    fns, to_np, conv = (run_jax if fw == "jax" else run_torch)(data)
    t1, t2 = data["theta1"], data["theta2"]
    a, b = conv(t1), conv(t2)
    res = {}
    for rule, (batched, single) in fns.items():
        out = to_np(batched(a, b))
        want = (data[f"{rule}_g1"], data[f"{rule}_g2"])
        err = max(float(np.max(np.abs(o - w)) / np.max(np.abs(w))) for o, w in zip(out, want))
        if err > 1e-9:
            raise SystemExit(f"{fw} {rule} disagrees with lola_sym: relative error {err:.2e}")
        a0, b0 = conv(t1[0].copy()), conv(t2[0].copy())
        block = (lambda o: [x.block_until_ready() for x in o]) if fw == "jax" else (lambda o: o)
        single(a0, b0)
        lat = best(lambda: block(single(a0, b0)), 5, 200)
        thr = best(lambda: block(batched(a, b)), 5, 3)
        res[rule] = {"single_us": lat * 1e6, "pairs_per_s": len(t1) / thr, "max_rel_err": err}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
