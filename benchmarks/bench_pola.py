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

A second table times full POLA (both steps proximal, the reference's
``--inner_exact_prox``) at settings of ours (the README has no exact-value command
for it): ``lr_in`` 0.5, ``inner_beta`` 2, ``lr_out`` 0.3, ``outer_beta`` 1, the same
threshold and iteration caps (inner 10000):

* ``torch nested loops``: the reference's approach, written here from the formulas:
  for every outer iteration the opponent's proximal step by plain gradient steps
  (rate ``lr_in``, warm-started, until the KL between iterates is < 1e-8 both ways),
  its response to agent 1 by the implicit-function theorem on that fixed point, then
  one outer gradient step;
* ``lola_sym nested Newton``: rule ``pola_full``.

Run: ``python benchmarks/bench_pola.py`` (a few minutes).
"""

from __future__ import annotations

import time

import numpy as np

from lola_sym import update_field
from lola_sym.games import contribution

CF = 1.33
GAMMA = 0.96
LR_IN, LR_OUT, BETA, THRESHOLD, MAX_ITERS = 5.0, 0.3, 0.1, 1e-8, 5000


def torch_contribution():
    """``(torch, values, kl)``: the contribution game's exact values ``values(a, b) -> (V1, V2)``
    (:math:`p_0^\top (I - \gamma P)^{-1} r`, start state first) and the per-state Bernoulli
    KL, in PyTorch float64, written from the formulas."""
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
    return torch, values, kl


def torch_prox_step(t1, t2):
    """The reference's inner-loop approach in PyTorch (float64); ``(x, iterations)``."""
    torch, values, kl = torch_contribution()
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


#: full POLA's settings here (ours: the README has no exact-value command for it)
FULL_LR_IN, FULL_BETA_IN, FULL_LR_OUT, FULL_BETA, INNER_MAX_ITERS = 0.5, 2.0, 0.3, 1.0, 10000


def torch_full_pola_step(t1, t2):
    """Full POLA by the reference's nested loops in PyTorch (float64): ``(x, outer iterations,
    total inner iterations)``."""
    torch, values, kl = torch_contribution()
    old1, old2 = torch.tensor(t1), torch.tensor(t2)
    x = old1.clone()
    y = old2.clone()
    inner_total = 0

    def inner_objective(xx, yy):                         # the opponent's loss + prox term
        return -values(xx, yy)[1] + FULL_BETA_IN * kl(old2, yy)

    for it in range(1, MAX_ITERS + 1):
        for _ in range(INNER_MAX_ITERS):                 # prox_f: plain steps to a fixed point
            yy = y.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(inner_objective(x, yy), yy)
            prev, y = y, (y - FULL_LR_IN * g).detach()
            inner_total += 1
            if kl(prev, y) < THRESHOLD and kl(y, prev) < THRESHOLD:
                break
        # IFT at the fixed point y = y - lr grad_y F(x, y): dy/dx = -(H_yy)^-1 H_yx
        xx, yy = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
        (gy,) = torch.autograd.grad(inner_objective(xx, yy), yy, create_graph=True)
        Hyy = torch.stack([torch.autograd.grad(gy[k], yy, retain_graph=True)[0]
                           for k in range(5)])
        Hyx = torch.stack([torch.autograd.grad(gy[k], xx, retain_graph=True)[0]
                           for k in range(5)])
        dydx = -torch.linalg.solve(Hyy, Hyx)
        xx = x.clone().requires_grad_(True)
        yy = y.clone().requires_grad_(True)
        v1 = values(xx, yy)[0]
        gx, gyv = torch.autograd.grad(v1, (xx, yy))
        xk = x.clone().requires_grad_(True)
        (gkl,) = torch.autograd.grad(FULL_BETA * kl(old1, xk), xk)
        g = -(gx + dydx.T @ gyv) + gkl                  # gradient of the outer loss
        prev, x = x, (x - FULL_LR_OUT * g).detach()
        if kl(prev, x) < THRESHOLD and kl(x, prev) < THRESHOLD:
            break
    return x.numpy(), it, inner_total


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
    full = update_field(game, "pola_full", beta_in=FULL_BETA_IN, beta=FULL_BETA)
    full.nested(0, (t1, t2))                             # warm-up
    ms_f, (xf, it_f) = best_ms(lambda: full.nested(0, (t1, t2)))
    ms_ft, (xft, it_ft, inner_ft) = best_ms(lambda: torch_full_pola_step(t1, t2), repeat=1)
    print()
    print(f"one full-POLA step (both proximal), cf={CF}, lr_in={FULL_LR_IN}, beta_in="
          f"{FULL_BETA_IN}, lr_out={FULL_LR_OUT}, beta={FULL_BETA}, threshold={THRESHOLD:g}")
    print(f"{'method':24} {'ms/step':>10} {'outer it.':>10} {'inner it.':>10} "
          f"{'max|x - x_newton|':>18}")
    print(f"{'torch nested loops':24} {ms_ft:10.1f} {it_ft:10d} {inner_ft:10d} "
          f"{np.max(np.abs(xft - xf)):18.2e}")
    print(f"{'lola_sym nested Newton':24} {ms_f:10.1f} {it_f:10d} {'':>10} {0.0:18.2e}")
    print(f"speed-up: {ms_ft / ms_f:.0f}x")


if __name__ == "__main__":
    main()
