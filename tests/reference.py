"""An independent reference implementation for the tests, in mpmath.

Values by a high-precision linear solve of the Markov chain (not Cramer's
rule, not the package's program), gradients and mixed second derivatives by
high-precision finite differences (``mpmath.diff``). Written from the
formulas in ``../shared/reference/lola2018.md`` only; it shares no code with
``lola_sym``.
"""

from __future__ import annotations

import mpmath
import numpy as np

DPS = 40
_SWAP = (0, 1, 3, 2, 4)


def _sig(x):
    return 1 / (1 + mpmath.exp(-x))


def values(R1, R2, gamma, theta1, theta2, dps=DPS):
    """(V1, V2) = p0^T (I - gamma P)^{-1} r_i by an mpmath LU solve."""
    with mpmath.workdps(dps):
        gamma = mpmath.mpf(gamma.p) / gamma.q if hasattr(gamma, "q") else mpmath.mpf(gamma)
        x = [_sig(mpmath.mpf(t)) for t in theta1]
        y = [_sig(mpmath.mpf(t)) for t in theta2]
        def row(a, b):
            return [a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)]
        p0 = row(x[0], y[0])
        P = mpmath.matrix([row(x[1 + j], y[_SWAP[1 + j]]) for j in range(4)])
        M = mpmath.eye(4) - gamma * P
        out = []
        for R in (R1, R2):
            r = mpmath.matrix([mpmath.mpf(R[a][b].p) / R[a][b].q if hasattr(R[a][b], "q") else R[a][b]
                               for a in (0, 1) for b in (0, 1)])
            w = mpmath.lu_solve(M, r)
            out.append(sum(p0[j] * w[j] for j in range(4)))
        return out


def _value_fn(game, agent):
    def f(*th):
        return values(game.R1, game.R2, game.gamma, th[:5], th[5:], dps=mpmath.mp.dps)[agent - 1]
    return f


def grad(game, agent, wrt, theta1, theta2, dps=DPS):
    """Gradient of V_agent with respect to agent ``wrt``'s 5 logits."""
    with mpmath.workdps(dps):
        pt = [mpmath.mpf(float(t)) for t in list(theta1) + list(theta2)]
        f = _value_fn(game, agent)
        out = []
        for k in range(5):
            order = [0] * 10
            order[5 * (wrt - 1) + k] = 1
            out.append(mpmath.diff(f, pt, tuple(order)))
        return out


def cross_hessian(game, agent, theta1, theta2, dps=DPS):
    """H[k][l] = d^2 V_agent / d theta1_k d theta2_l."""
    with mpmath.workdps(dps):
        pt = [mpmath.mpf(float(t)) for t in list(theta1) + list(theta2)]
        f = _value_fn(game, agent)
        H = [[None] * 5 for _ in range(5)]
        for k in range(5):
            for l in range(5):
                order = [0] * 10
                order[k] = 1
                order[5 + l] = 1
                H[k][l] = mpmath.diff(f, pt, tuple(order))
        return H


def lola(game, theta1, theta2, eta, dps=DPS):
    """The LOLA directions (Eq. 4.4) from the reference derivatives, as float arrays."""
    with mpmath.workdps(dps):
        g11 = grad(game, 1, 1, theta1, theta2, dps)
        g12 = grad(game, 1, 2, theta1, theta2, dps)
        g21 = grad(game, 2, 1, theta1, theta2, dps)
        g22 = grad(game, 2, 2, theta1, theta2, dps)
        H1 = cross_hessian(game, 1, theta1, theta2, dps)
        H2 = cross_hessian(game, 2, theta1, theta2, dps)
        e = mpmath.mpf(eta)
        g1 = [g11[k] + e * sum(g12[l] * H2[k][l] for l in range(5)) for k in range(5)]
        g2 = [g22[l] + e * sum(g21[k] * H1[k][l] for k in range(5)) for l in range(5)]
        return np.array([float(v) for v in g1]), np.array([float(v) for v in g2])


def naive(game, theta1, theta2, dps=DPS):
    """The naive directions (grad_1 V1, grad_2 V2) as float arrays."""
    g11 = grad(game, 1, 1, theta1, theta2, dps)
    g22 = grad(game, 2, 2, theta1, theta2, dps)
    return np.array([float(v) for v in g11]), np.array([float(v) for v in g22])


#: reference directions by rule name: f(game, theta1, theta2, **hyper) -> (g1, g2)
RULES = {
    "nl": lambda game, t1, t2: naive(game, t1, t2),
    "lola": lambda game, t1, t2, eta: lola(game, t1, t2, eta),
}
