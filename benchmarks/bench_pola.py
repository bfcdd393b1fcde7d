r"""Time of one POLA step: Newton on exact derivatives vs the reference's inner loop.

One agent's proximal step of POLA's Fig. 3 "outer POLA tabular" setting on the
contribution game with cf = 1.33 (README: ``--lr_policies_inner 5
--lr_policies_outer 0.3 --outer_beta 0.1``, ``prox_threshold`` 1e-8, at most 5000
iterations), from logits drawn N(0, 0.1^2), three ways:

* ``torch loop``: the reference's approach, written here from the formulas in
  ``../shared/reference/newer_methods.md`` (nothing taken from its code):
  autograd through :math:`V^1(x, \theta_2 - \mathrm{lr_{in}} \nabla_2 L_2(x, \theta_2))`
  (``create_graph``), value :math:`p_0^\top (I - \gamma P)^{-1} r` by
  ``torch.linalg.solve``, the KL of the per-state Bernoulli policies, plain gradient
  steps until the KL between consecutive iterates is < 1e-8 both ways;
* ``lola_sym outer``: rule ``pola_outer``, the same loop on lola_sym's compiled
  exact-LOLA gradient;
* ``lola_sym Newton``: rule ``pola``, Newton to :math:`|\nabla J| \le 10^{-11}`.

Prints per method: milliseconds per proximal step (best of a few repeats),
iterations, and the distance of the result to Newton's (max |logit difference|).
Run: ``python benchmarks/bench_pola.py`` (about a minute).
"""

from __future__ import annotations

import time

import numpy as np

from lola_sym import update_field
from lola_sym.games import contribution

CF = 1.33
GAMMA = 0.96
LR_IN, LR_OUT, BETA, THRESHOLD, MAX_ITERS = 5.0, 0.3, 0.1, 1e-8, 5000


def torch_prox_step(t1, t2):
    """The reference's inner-loop approach in PyTorch (float64); ``(x, iterations)``."""
    import torch
    torch.set_default_dtype(torch.float64)
    R = torch.tensor([[CF - 1, CF / 2 - 1], [CF / 2, 0.0]])
    r1 = R.reshape(-1)                                   # agent 1: CC, CD, DC, DD
    r2 = R.T.reshape(-1)                                 # agent 2, agent-1-first order
    swap = [0, 2, 1, 3]

    def values(a, b):
        p, q = torch.sigmoid(a), torch.sigmoid(b)

        def row(x, y):
            return torch.stack([x * y, x * (1 - y), (1 - x) * y, (1 - x) * (1 - y)])
        p0 = row(p[0], q[0])
        P = torch.stack([row(p[1 + s], q[1 + swap[s]]) for s in range(4)])
        A = torch.eye(4) - GAMMA * P
        return p0 @ torch.linalg.solve(A, r1), p0 @ torch.linalg.solve(A, r2)

    def kl(old, new):                                    # sum_s KL(Bern(old) || Bern(new))
        po, pn = torch.sigmoid(old), torch.sigmoid(new)
        return (po * (torch.log(po) - torch.log(pn))
                + (1 - po) * (torch.log(1 - po) - torch.log(1 - pn))).sum()

    old = torch.tensor(t1)
    x = old.clone().requires_grad_(True)
    th2 = torch.tensor(t2)
    for it in range(1, MAX_ITERS + 1):
        b = th2.clone().requires_grad_(True)
        _, v2 = values(x, b)
        (g2,) = torch.autograd.grad(v2, b, create_graph=True)
        v1, _ = values(x, th2 + LR_IN * g2)              # the opponent's naive step (ascent)
        obj = -v1 + BETA * kl(old, x)
        (g,) = torch.autograd.grad(obj, x)
        with torch.no_grad():
            prev = x.detach().clone()
            x = (x - LR_OUT * g).detach().requires_grad_(True)
            if kl(prev, x) < THRESHOLD and kl(x, prev) < THRESHOLD:
                break
    return x.detach().numpy(), it


def best_ms(fn, repeat=3):
    out, best = None, np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return 1e3 * best, out


def main():
    game = contribution(2, str(CF))
    rng = np.random.default_rng(0)
    t1, t2 = rng.normal(0, 0.1, 5), rng.normal(0, 0.1, 5)
    newton = update_field(game, "pola", eta=LR_IN, beta=BETA)
    outer = update_field(game, "pola_outer", eta=LR_IN, beta=BETA, lr_out=LR_OUT,
                         prox_threshold=THRESHOLD, max_iters=MAX_ITERS)
    newton.newton(0, (t1, t2))                           # warm-up (loads compiled code)
    ms_n, (xn, it_n) = best_ms(lambda: newton.newton(0, (t1, t2)))
    ms_o, (xo, it_o) = best_ms(lambda: outer.outer(0, (t1, t2)))
    ms_t, (xt, it_t) = best_ms(lambda: torch_prox_step(t1, t2), repeat=2)
    print(f"one POLA proximal step, contribution game cf={CF}, lr_in={LR_IN}, "
          f"lr_out={LR_OUT}, beta={BETA}, threshold={THRESHOLD:g}")
    print(f"{'method':18} {'ms/step':>10} {'iterations':>11} {'max|x - x_newton|':>18}")
    for name, ms, it, x in (("torch loop", ms_t, it_t, xt), ("lola_sym outer", ms_o, it_o, xo),
                            ("lola_sym Newton", ms_n, it_n, xn)):
        print(f"{name:18} {ms:10.2f} {it:11d} {np.max(np.abs(x - xn)):18.2e}")
    print(f"torch loop vs lola_sym outer: max|difference| = {np.max(np.abs(xt - xo)):.2e} "
          f"(the same algorithm: same iterations, same point)")


if __name__ == "__main__":
    main()
