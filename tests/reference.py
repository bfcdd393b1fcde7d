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


def directions(rule, game, t1, t2, **hyper):
    """Reference directions of any rule (the family ones from the loss-convention module)."""
    if rule in RULES and getattr(game, "kind", "") == "iterated":
        return RULES[rule](game, t1, t2, **hyper)
    if rule == "nl":
        return family_rule("la", game, t1, t2, eta=0.0)
    if rule == "lola":       # the paper's LOLA: LA-free, shaping term only
        la0 = family_rule("la", game, t1, t2, eta=0.0)
        la = family_rule("la", game, t1, t2, **hyper)
        full = family_rule("lola_full", game, t1, t2, **hyper)
        return tuple(n + (f - l) for n, f, l in zip(la0, full, la))
    return family_rule(rule, game, t1, t2, **hyper)


# --------------------------------------------------------------------------------------
# The rule family, written in the literature's *loss* convention (L = -V, descent) from
# ../shared/reference/opponent_shaping.md, then returned as ascent directions -g_lit.
# Derivatives by nested high-precision finite differences; H by differentiating xi.

FAMILY_DPS = 30


def _losses(game, dps):
    """L(theta) -> (L1, L2) as mpf for an iterated game or a one-shot DifferentiableGame."""
    if getattr(game, "kind", "iterated") == "iterated":
        def L(th):
            v = values(game.R1, game.R2, game.gamma, th[:5], th[5:], dps=mpmath.mp.dps)
            return [-v[0], -v[1]]
        return L
    import sympy as sp
    params = list(game.params1) + list(game.params2)
    f = sp.lambdify(params, [-game.V1.rewrite(sp.exp), -game.V2.rewrite(sp.exp)], "mpmath")
    return lambda th: f(*th)


def _grad(f, th, idx):
    out = []
    for k in idx:
        order = [0] * len(th)
        order[k] = 1
        out.append(mpmath.diff(f, th, tuple(order)))
    return out


class FamilyReference:
    """Loss-convention quantities of one game at one point (mpmath)."""

    def __init__(self, game, theta1, theta2, dps=FAMILY_DPS):
        self.game, self.dps = game, dps
        self.d1, self.d2 = len(theta1), len(theta2)
        self.th = [mpmath.mpf(float(t)) for t in list(theta1) + list(theta2)]
        self.L = _losses(game, dps)

    def idx(self, agent):
        return range(self.d1) if agent == 1 else range(self.d1, self.d1 + self.d2)

    def grad(self, loss, agent, th=None):
        """grad_agent L_loss at th (default: the point, memoised)."""
        if th is None:
            memo = self.__dict__.setdefault("_grads", {})
            if (loss, agent) not in memo:
                memo[(loss, agent)] = self.grad(loss, agent, self.th)
            return memo[(loss, agent)]
        return _grad(lambda *x: self.L(list(x))[loss - 1], th, self.idx(agent))

    def xi(self, th=None):
        return self.grad(1, 1, th) + self.grad(2, 2, th)

    def H(self):
        """H[i][j] = d xi_i / d theta_j (FD of the FD gradient), memoised."""
        if "_H" not in self.__dict__:
            self._H = self._hessian()
        return self._H

    def _hessian(self):
        n = len(self.th)
        cols = []
        for j in range(n):
            def xij(t, j=j):
                th = list(self.th)
                th[j] = t
                return self.xi(th)
            cols.append([mpmath.diff(lambda t, i=i: xij(t)[i], self.th[j]) for i in range(n)])
        return [[cols[j][i] for j in range(n)] for i in range(n)]

    def shifted(self, agent, shift):
        th = list(self.th)
        for k, s in zip(self.idx(agent), shift):
            th[k] += s
        return th


def _np(v):
    return np.array([float(x) for x in v])


_MEMO = {}


def family_rule(name, game, theta1, theta2, dps=FAMILY_DPS, **hyper):
    """Ascent directions (g1, g2) of rule ``name`` from the loss-convention definitions.

    The finite-difference Hessian of one point is shared between rules (memoised).
    """
    with mpmath.workdps(dps):
        key = (game, tuple(map(float, theta1)), tuple(map(float, theta2)), dps)
        if key not in _MEMO:
            _MEMO[key] = FamilyReference(game, theta1, theta2, dps)
        R = _MEMO[key]
        d1 = R.d1
        if name in ("exact_lola", "hola"):
            return _hola(R, mpmath.mpf(hyper["eta"]), hyper.get("order", 1))
        if name == "lola2":
            return _lola2(R, mpmath.mpf(hyper["eta"]))
        if name == "extragradient":
            return _extragradient(R, mpmath.mpf(hyper["eta"]))
        xi = mpmath.matrix(R.xi())
        H = mpmath.matrix(R.H())
        n = len(R.th)
        Ho = mpmath.matrix(H)
        for i in range(n):
            for j in range(n):
                if (i < d1) == (j < d1):
                    Ho[i, j] = 0
        # chi_i = (grad_i grad_j L_j) grad_j L_i: rows of H for the opponent's gradient
        g21 = mpmath.matrix(R.grad(1, 2))          # grad_2 L1
        g12 = mpmath.matrix(R.grad(2, 1))          # grad_1 L2
        chi = mpmath.matrix(n, 1)
        for k in range(d1):      # sum_l d(grad_2 L2)_l / d theta1_k * grad_2 L1_l
            chi[k] = sum(H[d1 + l, k] * g21[l] for l in range(R.d2))
        for l in range(R.d2):
            chi[d1 + l] = sum(H[k, d1 + l] * g12[k] for k in range(d1))
        eye = mpmath.eye(n)
        if name == "la":
            g = (eye - hyper["eta"] * Ho) * xi
        elif name == "lola_full":
            g = (eye - hyper["eta"] * Ho) * xi - hyper["eta"] * chi
        elif name == "co":
            g = xi + hyper["gamma"] * H.T * xi
        elif name == "cgd":
            g = mpmath.lu_solve(eye + hyper["eta"] * Ho, xi)
        elif name in ("sga", "sga_plain"):
            A = (H - H.T) * 0.5
            lam = hyper.get("lam", 1.0)
            if name == "sga":
                HTxi = H.T * xi
                s = (xi.T * HTxi)[0] * ((A.T * xi).T * HTxi)[0] / n + mpmath.mpf("0.1")
                lam = lam * mpmath.sign(s)
            g = xi + lam * A.T * xi
        elif name == "sos":
            a, b, al = hyper["a"], hyper["b"], hyper["eta"]
            xi0 = (eye - al * Ho) * xi
            dot = (((-al) * chi).T * xi0)[0]
            p1 = 1 if dot >= 0 else min(1, -a * mpmath.norm(xi0) ** 2 / dot)
            nx = mpmath.norm(xi)
            p2 = nx ** 2 if nx < b else 1
            g = xi0 - min(p1, p2) * al * chi
        else:
            raise KeyError(name)
        g = _np(-g)
        return g[:d1], g[d1:]


def _hola(R, eta, order):
    """h^{n+1}_1 = -eta grad_1 L1(theta1, theta2 + h^n_2(theta)), nested FD; returns h/eta."""
    def h(agent, level, th):
        if level == 0:
            return [mpmath.mpf(0)] * (R.d1 if agent == 1 else R.d2)
        other = 2 if agent == 1 else 1

        def shifted_loss(*x):
            x = list(x)
            step = h(other, level - 1, x)
            y = list(x)
            for k, s in zip(R.idx(other), step):
                y[k] += s
            return R.L(y)[agent - 1]
        return [-eta * v for v in _grad(shifted_loss, th, R.idx(agent))]
    g1 = _np(h(1, order + 1, R.th)) / float(eta)
    g2 = _np(h(2, order + 1, R.th)) / float(eta)
    return g1, g2


def _lola2(R, eta):
    """g1 = -[grad_1 L1 - eta * grad_1 (v . step2_lola)] with v = grad_2 L1 fixed (losses)."""
    def lola_dir(agent, th):
        """The LOLA paper's loss-convention direction xi_i - eta chi_i at th."""
        other = 2 if agent == 1 else 1
        own = R.grad(agent, agent, th)
        v = R.grad(agent, other, th)        # grad_other L_agent (held fixed)

        def directional(e):
            y = list(th)
            for k, s in zip(R.idx(other), v):
                y[k] += e * s
            return R.grad(other, agent, y)  # grad_agent L_other at theta + e v
        chi = [mpmath.diff(lambda e, i=i: directional(e)[i], 0) for i in range(len(own))]
        return [o - eta * c for o, c in zip(own, chi)]
    out = []
    for agent, other in ((1, 2), (2, 1)):
        own = R.grad(agent, agent)
        v = R.grad(agent, other)

        def inner(*x):
            step = lola_dir(other, list(x))
            return sum(vi * si for vi, si in zip(v, step))
        # the opponent's LOLA step is theta_other - delta * lola_dir: d/dtheta_agent of
        # L_agent(theta_other + step) to first order gives -eta * v . d lola_dir / d theta_agent
        shaping = _grad(inner, R.th, R.idx(agent))
        out.append(_np([-(o - eta * s) for o, s in zip(own, shaping)]))
    return out[0], out[1]


def _extragradient(R, eta):
    """theta' = theta - eta xi(theta); g = xi(theta') (losses, opponent_shaping.md), as ascent -g.

    Both gradients by finite differences of the losses, the second at the shifted point.
    """
    shifted = [t - eta * x for t, x in zip(R.th, R.xi())]
    g = _np([-v for v in R.xi(shifted)])
    return g[:R.d1], g[R.d1:]
