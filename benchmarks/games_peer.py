r"""Reference update fields of general repeated games with JAX (jit + vmap), float64.

Run by bench_games.py in its own process, one game per call::

    python games_peer.py game.npz [--rules nl lola exact_lola] [--budget 10]
        [--layouts chunked vmap]

``game.npz`` holds ``spec`` (JSON: ``actions``, ``memory``, ``payoffs`` as
floats over the joint actions in C order, player 1's action slowest,
``gamma``, ``eta``), the logits ``theta1..thetan`` (batch, d_i), lola_sym's
values ``V`` (batch, n) and fields ``<rule>_g<i>``. Values, then each field,
must agree with lola_sym to ``TOL`` (relative to the largest entry) before
anything is timed; the result is one JSON line on stdout.

Written from the documented conventions, nothing shared with lola_sym:

* player :math:`i` reads a joint action as :math:`(a_i, a_{i+1}, \dots, a_{i-1})`;
  its states are such own-view histories of length :math:`0..m` (``s0``, then
  length 1, then length 2, each in C order, oldest move first); per state
  :math:`k_i - 1` logits, :math:`\pi = \mathrm{softmax}([x_0, \dots, x_{k-2}, 0])`
  (a sigmoid for two actions);
* the chain's states are the agent-first histories of length :math:`m`,
  reached through the transient histories of length :math:`1..m-1`:
  :math:`V_i = \sum_{l<m} \gamma^{l-1} q_l^\top r_i + \gamma^{m-1} q_m^\top
  (I - \gamma P)^{-1} r_i` (``solve``), :math:`q_1` the first move from ``s0``;
* NL: :math:`g_i = \nabla_i V_i`;
* LOLA: :math:`g_i = \nabla_i V_i + \eta \sum_{j \ne i} (\nabla_j V_i)^\top
  \nabla_i \nabla_j V_j`, :math:`\nabla_j V_i` held fixed (``stop_gradient``),
  the Hessian-vector product as ``jvp`` of :math:`\nabla_i V_j` in
  :math:`\theta_j`;
* exact LOLA: :math:`g_i = \nabla_i [V_i(\theta_i, \{\theta_j + \eta
  \nabla_j V_j(\theta)\}_{j \ne i})]`, differentiated through the others' steps.

The linear system is solved with ``jnp.linalg.solve`` (jaxlib's LAPACK
kernels). Layout ``chunked`` (default): the batch is split over one virtual
host device per core (``shard_map``) and each shard runs ``lax.map`` over
chunks small enough that jaxlib's batched LAPACK kernels stay on the calling
thread (they split larger batches over the intra-op pool and can deadlock
there, see autodiff_peer.py); ``chunked1``: the same on one device, i.e. one
core, kept when it is faster (on a busy machine a second worker that waits
to be scheduled costs more than it brings). Layout ``vmap``: one ``vmap``
over the whole batch on one device (can hang for that reason). Measured on
RPS, NL, 10,000 points, 2 cores: chunked 189,000 points/s, vmap 128,000; the
sharded ``vmap`` without chunks hung. An unrolled elimination without
pivoting instead of LAPACK (:math:`I - \gamma P` is row diagonally
dominant) took 41 s to compile and ran at 31,000 points/s, so it was
dropped. Of the layouts given, the fastest is kept (``setting``).

Latency is one point through a jitted unbatched function; throughput the whole
batch, numpy in and numpy out; compilation (first call) is reported apart.
"""

import argparse
import json
import os
import sys
import time
from itertools import product

import numpy as np

from _timing import best_within

#: agreement with lola_sym required before timing (relative to the largest entry)
TOL = 1e-9
RULES = ("nl", "lola", "exact_lola")
#: jaxlib's kMinWorkPerTask: batched LAPACK kernels split larger batches over the pool
LAPACK_MIN_WORK = 200_000


def relative_error(out, want):
    return max(float(np.max(np.abs(np.asarray(o) - w)) / np.max(np.abs(w)))
               for o, w in zip(out, want))


class Chain:
    """Index tables of a repeated game's histories (plain numpy, built once)."""

    def __init__(self, actions, memory):
        if memory < 1:
            raise ValueError("the peer handles memory >= 1")
        self.actions, self.m, self.n = tuple(actions), int(memory), len(actions)
        self.joints = list(product(*(range(k) for k in actions)))        # C order
        self.J = len(self.joints)
        self.N = self.J ** self.m
        # states[k][i, h]: player i's state after the h-th agent-first history of length k
        self.states = [np.array([[self.state(i, h) for h in product(self.joints, repeat=k)]
                                 for i in range(self.n)]) for k in range(self.m + 1)]

    def own_index(self, i, a):
        """Index of joint ``a`` among player ``i``'s own-view joint actions (C order)."""
        view = a[i:] + a[:i]
        ks = self.actions[i:] + self.actions[:i]
        idx = 0
        for x, k in zip(view, ks):
            idx = idx * k + x
        return idx

    def state(self, i, hist):
        """Player ``i``'s state after ``hist``: offset of its length, then base-J digits."""
        idx = 0
        for a in hist:
            idx = idx * self.J + self.own_index(i, a)
        return sum(self.J ** k for k in range(len(hist))) + idx


def jax_fields(spec):
    """``({rule: f(*thetas) -> (g_1, ..., g_n)}, values, N)`` for one point; N chain states."""
    import jax
    import jax.numpy as jnp

    chain = Chain(spec["actions"], spec["memory"])
    n, J, N, m = chain.n, chain.J, chain.N, chain.m
    ks = chain.actions
    gamma, eta = spec["gamma"], spec["eta"]
    r_joint = np.array(spec["payoffs"], dtype=float).T                 # (J, n)
    r_full = np.tile(r_joint, (N // J, 1))                              # last joint fastest
    shift = np.eye(J ** (m - 1))[None, :, :, None]                      # keeps h[1:] in P

    def policies(thetas):
        out = []
        for th, k in zip(thetas, ks):
            x = th.reshape(-1, k - 1)
            out.append(jax.nn.softmax(jnp.concatenate([x, jnp.zeros((x.shape[0], 1))], -1), -1))
        return out

    def joint_probs(pis, length):
        """(J^length, J): probability of each joint action after each history of that length."""
        w = pis[0][chain.states[length][0]]
        for i in range(1, n):
            p = pis[i][chain.states[length][i]]
            w = (w[:, :, None] * p[:, None, :]).reshape(w.shape[0], -1)
        return w

    def values(thetas):
        pis = policies(thetas)
        q = joint_probs(pis, 0)[0]                                      # q_1 over joints
        v = jnp.zeros(n)
        for length in range(1, m):
            last = q.reshape(-1, J).sum(0)
            v = v + gamma ** (length - 1) * (last @ r_joint)
            q = (q[:, None] * joint_probs(pis, length)).reshape(-1)
        W = joint_probs(pis, m)                                         # (N, J)
        P = (W.reshape(J, J ** (m - 1), 1, J) * shift).reshape(N, N)
        x = jnp.linalg.solve(jnp.eye(N) - gamma * P, jnp.asarray(r_full))
        return v + gamma ** (m - 1) * (q @ x)

    def put(th, j, x):
        return th[:j] + (x,) + th[j + 1:]

    def grad(i, j, th):      # grad_j V_i
        return jax.grad(lambda x: values(put(th, j, x))[i])(th[j])

    def nl(*th):
        return tuple(grad(i, i, th) for i in range(n))

    def lola(*th):
        out = []
        for i in range(n):
            g = grad(i, i, th)
            for j in range(n):
                if j != i:
                    v = jax.lax.stop_gradient(grad(i, j, th))
                    g = g + eta * jax.jvp(lambda x: grad(j, i, put(th, j, x)), (th[j],), (v,))[1]
            out.append(g)
        return tuple(out)

    def exact_lola(*th):
        out = []
        for i in range(n):
            def looked_ahead(x, i=i):
                t = put(th, i, x)
                moved = tuple(t[j] if j == i else t[j] + eta * grad(j, j, t) for j in range(n))
                return values(moved)[i]
            out.append(jax.grad(looked_ahead)(th[i]))
        return tuple(out)

    return {"nl": nl, "lola": lola, "exact_lola": exact_lola}, values, N


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--rules", nargs="+", default=list(RULES), choices=RULES)
    ap.add_argument("--budget", type=float, default=10.0,
                    help="seconds of timing per rule and measurement (after warm-up)")
    ap.add_argument("--layouts", nargs="+", default=["chunked", "chunked1"],
                    choices=["chunked", "chunked1", "vmap"],
                    help="vmap can deadlock in jaxlib's LAPACK kernels (module docstring)")
    args = ap.parse_args()
    n_dev = len(os.sched_getaffinity(0))
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_force_host_platform_device_count={n_dev}").strip()
    import jax
    jax.config.update("jax_enable_x64", True)
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    data = np.load(args.data)
    spec = json.loads(str(data["spec"]))
    n = len(spec["actions"])
    thetas = [data[f"theta{i + 1}"] for i in range(n)]
    batch = len(thetas[0])
    fields, values, n_states = jax_fields(spec)
    # points per LAPACK call that jaxlib runs inline: its batched kernels split work over
    # the pool above kMinWorkPerTask = 200,000 flops, an LU costs about N^3 (margin 0.9)
    chunk = max(1, int(0.9 * LAPACK_MIN_WORK / n_states ** 3))
    pspec = PartitionSpec("points")

    def batched(f, layout):
        if layout == "vmap":
            g, put, pad_to = jax.jit(jax.vmap(f)), (lambda a: a), 1
        else:
            devices = jax.devices()[:1 if layout == "chunked1" else n_dev]
            shard = NamedSharding(Mesh(np.array(devices), ("points",)), pspec)

            def per_shard(*ths):
                return jax.lax.map(lambda t: f(*t), ths, batch_size=chunk)
            g = jax.jit(jax.shard_map(per_shard, mesh=shard.mesh, in_specs=(pspec,) * n,
                                      out_specs=(pspec,) * n))
            put, pad_to = (lambda a: jax.device_put(a, shard)), len(devices)

        def call(*ths):
            k = len(ths[0])
            pad = -k % pad_to
            if pad:
                ths = [np.concatenate([t, np.repeat(t[:1], pad, 0)]) for t in ths]
            out = jax.block_until_ready(g(*(put(t) for t in ths)))
            return tuple(np.asarray(o)[:k] for o in out)
        return call

    def single(f):
        g = jax.jit(f)
        return lambda *ths: tuple(np.asarray(o) for o in jax.block_until_ready(g(*ths)))

    v = batched(lambda *t: (values(t),) * n, "chunked")(*thetas)[0]
    err = relative_error([v], [data["V"]])
    if not err <= TOL:
        raise SystemExit(f"jax values disagree with lola_sym: relative error {err:.2e}")
    res = {"_info": {"version": jax.__version__, "devices": n_dev, "chunk": chunk}}
    for rule in args.rules:
        if f"{rule}_g1" not in data:
            continue
        want = [data[f"{rule}_g{i + 1}"] for i in range(n)]
        point = [t[0].copy() for t in thetas]
        one = single(fields[rule])
        err1 = relative_error(one(*point), [w[0] for w in want])   # warm-up: trace + compile
        if not err1 <= TOL:
            raise SystemExit(f"jax {rule} (one point) disagrees with lola_sym: {err1:.2e}")
        lat = best_within(lambda: one(*point), args.budget / 4)
        for layout in args.layouts:
            call = batched(fields[rule], layout)
            t0 = time.perf_counter()
            out = call(*thetas)                                      # warm-up: trace + compile
            first = time.perf_counter() - t0
            err = relative_error(out, want)
            if not err <= TOL:
                raise SystemExit(f"jax {rule} ({layout}) disagrees with lola_sym: relative "
                                 f"error {err:.2e} > {TOL:g}")
            thr = batch / best_within(lambda: call(*thetas), args.budget / len(args.layouts))
            row = {"single_us": lat * 1e6, "points_per_s": thr, "build_s": first,
                   "max_rel_err": max(err, err1), "setting": layout}
            print(f"jax {rule}: {row}", file=sys.stderr, flush=True)
            if rule not in res or thr > res[rule]["points_per_s"]:
                res[rule] = row
    print(json.dumps(res))


if __name__ == "__main__":
    main()
