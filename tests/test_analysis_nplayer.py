"""The analysis layer on games of more than two players (issue 12).

Games: POLA's contribution game ``contribution(3, cf)`` with memory 0 and 1, pax's
``three_player_ipd()`` (memory 1; memory 0 too), and three small memory-0 games of three
players built here with interior fixed points: the volunteer's dilemma (symmetric), Jordan's
game and a cyclic matching pennies (both invariant under rotating the players).

References independent of the package's programs:

* memory 0: the values written out in sympy from the payoff arrays,
  :math:`V_i = \\sum_a r_i(a) \\prod_j \\pi_j(a_j) / (1 - \\gamma)`, the NL and n-player LOLA
  fields and their Jacobians by ``sympy.diff`` (LOLA as in Letcher et al. 2019, Sec. 2:
  :math:`g_i = \\nabla_i V_i + \\eta \\sum_{j \\ne i} (\\nabla_j V_i)^\\top \\nabla_i \\nabla_j V_j`);
* memory 1: the Markov chain over joint actions built in mpmath from the payoff arrays and the
  players' own-perspective state labels, :math:`V_i = p_0^\\top (I - \\gamma P)^{-1} r_i` by an
  LU solve at :data:`DPS` digits, NL's field by differentiating that formula by hand, and its
  Jacobian by central differences of the field at that precision;
* central differences of the compiled field in double precision (a different code path from
  the compiled forward-mode Jacobian).
"""

from itertools import product

import mpmath
import numpy as np
import pytest
import sympy as sp

import lola_sym as ls
import lola_sym.analysis.jacobian as jacobian_module
from lola_sym import games, update_field
from lola_sym.analysis.fixed_points import exact_fixed_points, find_fixed_points, residual
from lola_sym.analysis.jacobian import exact_jacobian, jacobian, jacobian_function
from lola_sym.analysis.portraits import basins, plane_points, vector_field
from lola_sym.analysis.stability import (classify, classify_flow, game_hessian, lr_threshold,
                                         spectral_radius)
from lola_sym.analysis.thresholds import exact_lr_threshold
from lola_sym.games.repeated import repeated
from tolerances import EPS, RTOL_JACOBIAN_FD, RTOL_THRESHOLD_BISECTION

#: digits of the mpmath reference
DPS = 40
#: step of its central differences: truncation ~ H_MP^2 = 1e-30, rounding ~ 10^-DPS / H_MP
H_MP = mpmath.mpf("1e-15")
#: compiled (double) Jacobian and fields vs the independent references, relative to the
#: largest entry: a few hundred roundings of double precision (measured: 5e-15 worst)
RTOL_REFERENCE = 1e-12
#: exact (rational) Jacobian, rounded to double, vs the high-precision references
RTOL_EXACT = 100 * EPS
#: double-precision central differences of the compiled field: step (truncation h^2 g''',
#: rounding eps |g| / h; about 1e-9 here, checked against RTOL_JACOBIAN_FD = 1e-7)
H_FD = 1e-6
#: a fixed point's field vanishes to this
TOL_FIXED = 1e-10

ETA = sp.Symbol("eta", positive=True)


# ------------------------------------------------------------------ games of this file
def volunteer(b=2, c=1):
    """Volunteer's dilemma: C (volunteer) costs c; everyone gets b if anyone volunteers.

    Symmetric mixed equilibrium: each keeps (D) with probability q, q^2 = c / b, so
    P(C) = 1 - sqrt(c / b) (indifference: b - c = b (1 - q^2))."""
    arrays = []
    for i in range(3):
        arr = np.empty((2, 2, 2), dtype=object)
        for a in product((0, 1), repeat=3):
            arr[a] = (b if 0 in a else 0) - (c if a[i] == 0 else 0)
        arrays.append(arr)
    return repeated(arrays, "0.9", memory=0, name="volunteer's dilemma")


def jordan():
    """Jordan's game: 1 matches 2, 2 matches 3, 3 mismatches 1; its equilibrium is all 1/2."""
    arrays = [np.empty((2, 2, 2), dtype=object) for _ in range(3)]
    for a in product((0, 1), repeat=3):
        arrays[0][a] = 1 if a[0] == a[1] else -1
        arrays[1][a] = 1 if a[1] == a[2] else -1
        arrays[2][a] = 1 if a[2] != a[0] else -1
    return repeated(arrays, "0.9", memory=0, name="Jordan's game")


def cyclic_mp():
    r"""Zero-sum pairwise matching pennies around a cycle: i matches i+1, which mismatches i.

    At :math:`\theta = 0` (hand-derived): :math:`\partial^2 V_i / \partial\theta_i
    \partial\theta_{i\pm1} = \pm 4 \sigma'(0)^2 / (1 - \gamma) = \pm 5/2`, so NL's Jacobian is
    the circulant with rows (0, 5/2, -5/2); LOLA adds :math:`-\eta (5/2)^2 \cdot 2 = -25\eta/2`
    on the diagonal (each opponent's shaping), eigenvalues :math:`-25\eta/2` and
    :math:`-25\eta/2 \pm i\, 5\sqrt3/2`."""
    arrays = [np.empty((2, 2, 2), dtype=object) for _ in range(3)]
    for a in product((0, 1), repeat=3):
        def m(i, j):
            return 1 if a[i] == a[j] else -1
        arrays[0][a] = m(0, 1) - m(2, 0)
        arrays[1][a] = m(1, 2) - m(0, 1)
        arrays[2][a] = m(2, 0) - m(1, 2)
    return repeated(arrays, "0.9", memory=0, name="cyclic matching pennies")


MEMORY0 = {"contribution": lambda: games.contribution(3, "1.33", memory=0),
           "pax": lambda: games.three_player_ipd(memory=0),
           "volunteer": volunteer, "jordan": jordan, "cyclic_mp": cyclic_mp}


# ------------------------------------------------------------------ independent references
def _sigma(x):
    return 1 / (1 + sp.exp(-x))


class OneShotReference:
    """A memory-0 game of two-action players written out in sympy from its payoff arrays."""

    def __init__(self, game):
        n = game.n_players
        self.x = sp.symbols(f"x1:{n + 1}", real=True)
        gamma = sp.sympify(game.gamma)
        p = [_sigma(t) for t in self.x]                 # probability of action 0 (C)
        self.V = []
        for i in range(n):
            r = game.payoff_array(i + 1)
            self.V.append(sum(r[a] * sp.Mul(*[p[j] if a[j] == 0 else 1 - p[j] for j in range(n)])
                              for a in product((0, 1), repeat=n)) / (1 - gamma))

    def field(self, rule):
        x, V, n = self.x, self.V, len(self.x)
        g = [sp.diff(V[i], x[i]) for i in range(n)]
        if rule == "lola":
            g = [g[i] + ETA * sum(sp.diff(V[i], x[j]) * sp.diff(V[j], x[i], x[j])
                                  for j in range(n) if j != i) for i in range(n)]
        return sp.Matrix(g)

    def at(self, expr, point, eta=None):
        sub = dict(zip(self.x, (sp.Float(repr(float(t)), DPS) for t in point)))
        if eta is not None:
            sub[ETA] = sp.Float(repr(float(eta)), DPS)
        return np.array(expr.subs(sub).evalf(DPS), dtype=float)


class ChainReference:
    """Values of a two-action repeated game of memory 0 or 1 in mpmath, from its payoff arrays
    and the players' own-perspective state labels (own action first, then the others from the
    next player on), with its own chain over joint actions in player-1 order."""

    def __init__(self, game):
        self.n, self.memory = game.n_players, game.memory
        self.joint = list(product((0, 1), repeat=self.n))
        self.r = [[mpmath.mpf(sp.Rational(game.payoff_array(i + 1)[a]).p)
                   / sp.Rational(game.payoff_array(i + 1)[a]).q for a in self.joint]
                  for i in range(self.n)]
        g = sp.Rational(game.gamma)
        self.gamma = mpmath.mpf(g.p) / g.q
        self.labels = [game.state_labels(i + 1) for i in range(self.n)]
        self.names = game.labels

    def _state(self, i, a) -> int:
        own = [a[(i + k) % self.n] for k in range(self.n)]
        return self.labels[i].index("".join(self.names[(i + k) % self.n][x]
                                            for k, x in enumerate(own)))

    def _policies(self, z):
        n, d = self.n, len(z) // self.n
        return [[1 / (1 + mpmath.exp(-z[i * d + k])) for k in range(d)] for i in range(n)]

    def _chain(self, p):
        """First-move distribution and transition matrix over joint actions."""
        n = self.n

        def pi(i, s, x):
            return p[i][s] if x == 0 else 1 - p[i][s]
        first = [mpmath.fprod(pi(i, 0, a[i]) for i in range(n)) for a in self.joint]
        states = [[self._state(i, a) for i in range(n)] for a in self.joint]
        m = len(self.joint)
        P = mpmath.matrix(m, m)
        for u in range(m):
            for v, b in enumerate(self.joint):
                P[u, v] = mpmath.fprod(pi(i, states[u][i], b[i]) for i in range(n))
        return first, states, P

    def values(self, z):
        """(V_1, ..., V_n) at the flat parameters ``z`` (mpf)."""
        p = self._policies(z)
        if self.memory == 0:
            first = [mpmath.fprod(p[i][0] if a[i] == 0 else 1 - p[i][0] for i in range(self.n))
                     for a in self.joint]
            return [mpmath.fsum(f * r for f, r in zip(first, ri)) / (1 - self.gamma)
                    for ri in self.r]
        first, _, P = self._chain(p)
        M = mpmath.eye(len(self.joint)) - self.gamma * P
        return [mpmath.fdot(first, mpmath.lu_solve(M, mpmath.matrix(ri))) for ri in self.r]

    def nl_field(self, z):
        r"""NL's field :math:`\partial V_i / \partial \theta_{i,k}` of a memory-1 game, by
        :math:`dV = dp_0^\top w + \gamma\, u^\top dP\, w` with :math:`w = M^{-1} r_i`,
        :math:`u = M^{-\top} p_0`, :math:`M = I - \gamma P`."""
        n, d = self.n, len(z) // self.n
        p = self._policies(z)
        first, states, P = self._chain(p)
        m = len(self.joint)
        M = mpmath.eye(m) - self.gamma * P
        u = mpmath.lu_solve(M.T, mpmath.matrix(first))
        out = []
        for i in range(n):
            w = mpmath.lu_solve(M, mpmath.matrix(self.r[i]))
            for s in range(d):
                ds = p[i][s] * (1 - p[i][s])        # d pi(s, C) / d theta; pi(s, D) the opposite

                def dpi(x):
                    return ds if x == 0 else -ds
                total = 0
                if s == 0:
                    for a_idx, a in enumerate(self.joint):
                        rest = mpmath.fprod(p[j][0] if a[j] == 0 else 1 - p[j][0]
                                            for j in range(n) if j != i)
                        total += dpi(a[i]) * rest * w[a_idx]
                for a_idx in range(m):
                    if states[a_idx][i] != s:
                        continue
                    for b_idx, b in enumerate(self.joint):
                        rest = mpmath.fprod(p[j][states[a_idx][j]] if b[j] == 0
                                            else 1 - p[j][states[a_idx][j]]
                                            for j in range(n) if j != i)
                        total += self.gamma * u[a_idx] * dpi(b[i]) * rest * w[b_idx]
                out.append(total)
        return out

    def nl_jacobian(self, point, columns=None) -> np.ndarray:
        """NL's Jacobian, columns by central differences of :meth:`nl_field` at DPS digits."""
        with mpmath.workdps(DPS):
            z0 = [mpmath.mpf(repr(float(t))) for t in point]
            cols = range(len(z0)) if columns is None else columns
            J = np.zeros((len(z0), len(cols)))
            for c, b in enumerate(cols):
                up, down = list(z0), list(z0)
                up[b] += H_MP
                down[b] -= H_MP
                J[:, c] = [float((x - y) / (2 * H_MP))
                           for x, y in zip(self.nl_field(up), self.nl_field(down))]
            return J


def _fd(game, rule, thetas, h=H_FD, **kw):
    """Central differences of the compiled field (double), written independently."""
    f = update_field(game, rule, **{k: v for k, v in kw.items() if k == "eta"})
    values = {k: v for k, v in kw.items() if k != "eta"}
    dims = game.dims
    z = np.concatenate(thetas)
    bounds = np.cumsum((0,) + tuple(dims))

    def g(z):
        return np.concatenate(f(*(z[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])),
                                **values))
    cols = []
    for k in range(len(z)):
        e = np.zeros(len(z))
        e[k] = h
        cols.append((g(z + e) - g(z - e)) / (2 * h))
    return np.stack(cols, axis=1)


def _close(got, want, rtol) -> bool:
    return float(np.max(np.abs(got - want))) <= rtol * max(1.0, float(np.max(np.abs(want))))


def _rotate(thetas, order):
    return [thetas[o] for o in order]


def _blocks(J, dims, order):
    """J with its blocks permuted: block (a, b) of the result is block (order[a], order[b])."""
    bounds = np.cumsum((0,) + tuple(dims))
    idx = np.concatenate([np.arange(bounds[o], bounds[o + 1]) for o in order])
    return J[np.ix_(idx, idx)]


# ------------------------------------------------------------------ the references first
@pytest.mark.parametrize("make", [lambda: games.contribution(3, "1.33", memory=0),
                                  lambda: games.contribution(3, "1.33"),
                                  games.three_player_ipd, jordan],
                         ids=["contribution-m0", "contribution-m1", "pax-m1", "jordan"])
def test_the_chain_reference_has_the_game_s_values(make):
    """The mpmath chain (built from payoffs and labels only) gives the game's values, and the
    check can fail: a relabelled chain (another player's perspective) does not."""
    game = make()
    ref = ChainReference(game)
    rng = np.random.default_rng(1)
    thetas = [rng.normal(size=d) for d in game.dims]
    with mpmath.workdps(DPS):
        want = np.array([float(v) for v in ref.values([mpmath.mpf(float(t))
                                                      for t in np.concatenate(thetas)])])
    got = game.value(*thetas)
    assert _close(got, want, RTOL_REFERENCE)
    if game.memory == 1:
        # the hand-differentiated NL field vs central differences of the values, 40 digits
        with mpmath.workdps(DPS):
            z = [mpmath.mpf(float(t)) for t in np.concatenate(thetas)]
            field = ref.nl_field(z)
            d = len(z) // game.n_players
            for k in range(len(z)):
                up, down = list(z), list(z)
                up[k] += H_MP
                down[k] -= H_MP
                fd = (ref.values(up)[k // d] - ref.values(down)[k // d]) / (2 * H_MP)
                assert abs(field[k] - fd) <= mpmath.mpf(10) ** (-20) * max(1, abs(fd))
        wrong = ChainReference(game)
        wrong._state = lambda i, a: ref._state(0, a)        # every player reads player 1's view
        with mpmath.workdps(DPS):
            bad = np.array([float(v) for v in wrong.values(
                [mpmath.mpf(float(t)) for t in np.concatenate(thetas)])])
        assert not _close(got, bad, 1e3 * RTOL_REFERENCE)


# ------------------------------------------------------------------ Jacobians, memory 0
@pytest.mark.parametrize("rule", ["nl", "lola"])
@pytest.mark.parametrize("name", sorted(MEMORY0))
def test_memory0_field_and_jacobian_match_the_sympy_reference(name, rule):
    """Field and compiled Jacobian at 3 random points (one batch) vs sympy, vs central
    differences of the compiled field, and the exact Jacobian at theta = 0 vs sympy there."""
    game = MEMORY0[name]()
    ref = OneShotReference(game)
    eta = 0.7 if rule == "lola" else None
    hyper = {"eta": eta} if eta is not None else {}
    g_ref = ref.field(rule)
    J_ref = g_ref.jacobian(ref.x)
    rng = np.random.default_rng(3)
    points = rng.normal(size=(3, 3))
    got = jacobian(game, rule, *(points[:, [k]] for k in range(3)), **hyper)
    assert got.shape == (3, 3, 3)
    f = update_field(game, rule, **hyper)
    for n, z in enumerate(points):
        g = np.concatenate(f(*([t] for t in z)))
        assert _close(g, ref.at(g_ref, z, eta).ravel(), RTOL_REFERENCE)
        want = ref.at(J_ref, z, eta)
        assert _close(got[n], want, RTOL_REFERENCE)
        assert _close(got[n], _fd(game, rule, [[t] for t in z], **hyper), RTOL_JACOBIAN_FD)
    exact = exact_jacobian(game, rule, [0], [0], [0])
    assert exact.free_symbols <= {ETA}
    zero = J_ref.subs(dict.fromkeys(ref.x, 0))
    assert sp.simplify(exact - zero) == sp.zeros(3, 3)


def test_the_jacobian_check_can_fail():
    """A transposed Jacobian, and one of another rate, are far from the reference."""
    game = cyclic_mp()
    ref = OneShotReference(game)
    z = np.array([0.3, -0.4, 0.8])
    want = ref.at(ref.field("lola").jacobian(ref.x), z, 0.7)
    got = jacobian(game, "lola", [0.3], [-0.4], [0.8], eta=0.7)
    assert _close(got, want, RTOL_REFERENCE)
    assert not _close(got.T, want, 1e3 * RTOL_REFERENCE)
    assert not _close(jacobian(game, "lola", [0.3], [-0.4], [0.8], eta=0.71), want,
                      1e3 * RTOL_REFERENCE)


@pytest.mark.parametrize("rule", ["nl", "lola"])
def test_both_compiled_forms_agree(rule, monkeypatch):
    """Above FULL_JACOBIAN_MAX_DIM parameters the Jacobian is compiled as a Jacobian-vector
    product (and the exact one read off a product with a symbolic direction): forced here on a
    small game, the two forms give the same numbers and the same exact matrix."""
    game = volunteer()
    rng = np.random.default_rng(8)
    pts = [rng.normal(size=(4, 1)) for _ in range(3)]
    full = jacobian(game, rule, *pts, eta=0.5) if rule == "lola" else jacobian(game, rule, *pts)
    exact_full = exact_jacobian(game, rule, [0], ["1/3"], [0])
    monkeypatch.setattr(jacobian_module, "FULL_JACOBIAN_MAX_DIM", 0)
    product_form = (jacobian(game, rule, *pts, eta=0.5) if rule == "lola"
                    else jacobian(game, rule, *pts))
    assert _close(product_form, full, RTOL_REFERENCE)
    assert exact_jacobian(game, rule, [0], ["1/3"], [0]) == exact_full
    rational = exact_jacobian(game, rule, [0], [0], [0])
    monkeypatch.setattr(jacobian_module, "FULL_JACOBIAN_MAX_DIM", 10)
    assert rational == exact_jacobian(game, rule, [0], [0], [0])


def test_symbolic_jacobian_of_a_three_player_game():
    """The full symbolic Jacobian in theta (small memory-0 field): at theta = 0 the exact
    Jacobian, at a random point the compiled one."""
    from lola_sym.analysis.jacobian import symbolic_jacobian
    game = cyclic_mp()
    J = symbolic_jacobian(game, "lola", eta="1/2")
    th = [t for group in game.theta for t in group]
    assert sp.simplify(J.subs(dict.fromkeys(th, 0))
                       - exact_jacobian(game, "lola", [0], [0], [0], eta="1/2")) == sp.zeros(3, 3)
    z = [0.3, -0.7, 1.1]
    at = np.array(J.subs(dict(zip(th, z))).evalf(30), dtype=float)
    assert _close(jacobian(game, "lola", *([t] for t in z), eta=0.5), at, RTOL_REFERENCE)


# ------------------------------------------------------------------ Jacobians, memory 1
@pytest.mark.parametrize("make", [lambda: games.contribution(3, "1.33"), games.three_player_ipd],
                         ids=["contribution", "pax"])
def test_memory1_exact_jacobian_at_zero_matches_mpmath(make):
    """NL on the 27 logits of a 3-player memory-1 game: the exact Jacobian at theta = 0
    (rational, from one Jacobian-vector product with a symbolic direction, on the shape's
    family program with the game's numbers) vs the mpmath chain at 40 digits."""
    game = make()
    J = exact_jacobian(game, "nl", [0] * 9, [0] * 9, [0] * 9)
    assert J.shape == (27, 27) and not J.free_symbols
    want = ChainReference(game).nl_jacobian(np.zeros(27))
    got = np.array(J, dtype=float)
    assert _close(got, want, RTOL_EXACT)
    assert not _close(got.T, want, 1e3 * RTOL_EXACT)       # the check can fail


@pytest.mark.slow
def test_memory1_compiled_jacobian_matches_mpmath_and_differences():
    """The compiled NL Jacobian (a Jacobian-vector product: d = 27) on both 3-player memory-1
    games (one compiled family) at a random point vs central differences of the compiled
    field and the mpmath chain; permuting the players cyclically permutes its blocks.
    About a minute: compiling the family's field and product."""
    rng = np.random.default_rng(5)
    thetas = [rng.normal(size=9) for _ in range(3)]
    for game in (games.contribution(3, "1.33"), games.three_player_ipd()):
        J = jacobian(game, "nl", *thetas)
        assert _close(J, _fd(game, "nl", thetas), RTOL_JACOBIAN_FD)
        assert _close(J, ChainReference(game).nl_jacobian(np.concatenate(thetas)),
                      RTOL_REFERENCE)
        order = (1, 2, 0)
        Jr = jacobian(game, "nl", *_rotate(thetas, order))
        assert _close(Jr, _blocks(J, game.dims, order), RTOL_REFERENCE)
        assert not _close(Jr, J, 1e3 * RTOL_REFERENCE)


# ------------------------------------------------------------------ symmetry
@pytest.mark.parametrize("name, rule", [("contribution", "nl"), ("contribution", "lola"),
                                        ("pax", "lola"), ("volunteer", "lola"),
                                        ("jordan", "nl"), ("cyclic_mp", "lola")])
def test_rotating_the_players_rotates_the_jacobian_blocks(name, rule):
    """A game invariant under the rotation 1 -> 2 -> 3 -> 1: the Jacobian at the rotated point is
    the Jacobian with its blocks rotated (the states are read from each player's own
    perspective, so a rotation keeps every player's parameter order). Jordan's game is not
    invariant: there the rotated Jacobian differs."""
    game = MEMORY0[name]()
    order = (1, 2, 0)
    rng = np.random.default_rng(11)
    thetas = [rng.normal(size=1) for _ in range(3)]
    hyper = {"eta": 0.6} if rule == "lola" else {}
    J = jacobian(game, rule, *thetas, **hyper)
    Jr = jacobian(game, rule, *_rotate(thetas, order), **hyper)
    invariant = game.permuted(order).payoffs == game.payoffs
    assert invariant == (name != "jordan")
    assert _close(Jr, _blocks(J, game.dims, order), RTOL_REFERENCE) == invariant
    if invariant:
        assert not _close(Jr, J, 1e3 * RTOL_REFERENCE)       # not trivially equal
    H = game_hessian(game, *thetas)
    assert _close(game_hessian(game, *_rotate(thetas, order)), _blocks(H, game.dims, order),
                  RTOL_REFERENCE) == invariant


# ------------------------------------------------------------------ fixed points
@pytest.mark.parametrize("name, rule", [("volunteer", "nl"), ("volunteer", "la"),
                                        ("jordan", "nl"), ("jordan", "exact_lola"),
                                        ("cyclic_mp", "lola"), ("contribution", "nl"),
                                        ("pax", "lola")])
def test_fixed_points_vanish_and_are_classified_like_differences(name, rule):
    """Every point found has max|g| <= TOL_FIXED (recomputed by residual() and, for NL and LOLA,
    by the sympy reference field); at interior points the flow class equals the class of the
    eigenvalues of an independent central-difference Jacobian."""
    game = MEMORY0[name]()
    hyper = {"eta": 0.6} if rule != "nl" else {}
    pts = find_fixed_points(game, rule, starts=10, seed=2, x0=[[-20.0] * 3, [0.0] * 3],
                            **hyper)
    assert pts
    ref = OneShotReference(game) if rule in ("nl", "lola") else None
    interior = 0
    for p in pts:
        assert len(p.thetas) == 3 and p.residual <= TOL_FIXED
        assert residual(game, rule, *p.thetas, **hyper) == pytest.approx(p.residual, rel=1e-12,
                                                                          abs=1e-300)
        if ref is not None and not p.boundary:
            g = ref.at(ref.field(rule), np.concatenate(p.thetas), hyper.get("eta"))
            assert np.max(np.abs(g)) <= TOL_FIXED
        if p.boundary:
            continue
        interior += 1
        st = classify(game, rule, *p.thetas, **hyper)
        lam = np.linalg.eigvals(_fd(game, rule, list(p.thetas), **hyper))
        assert st.flow == classify_flow(lam), (p, st.eigenvalues, lam)
        assert st.residual == p.residual and len(st.thetas) == 3
    assert (interior > 0) == (name in ("volunteer", "jordan", "cyclic_mp"))


def test_known_interior_points_and_corners():
    """Volunteer's dilemma: NL's interior point is P(C) = 1 - 1/sqrt(2) for every player (a
    saddle); Jordan's game: 1/2 for everyone; contribution game (cf < n): only the all-keep
    corner attracts."""
    pts = [p for p in find_fixed_points(volunteer(), "nl", starts=12, seed=0) if not p.boundary]
    assert len(pts) == 1
    np.testing.assert_allclose(1 / (1 + np.exp(-np.concatenate(pts[0].thetas))),
                               1 - 1 / np.sqrt(2), rtol=0, atol=1e-12)
    assert classify(volunteer(), "nl", *pts[0].thetas).flow == "saddle"
    pts = [p for p in find_fixed_points(jordan(), "nl", starts=12, seed=0) if not p.boundary]
    assert len(pts) == 1 and np.max(np.abs(np.concatenate(pts[0].thetas))) < 1e-12
    corners = find_fixed_points(games.contribution(3, "1.33", memory=0), "nl", starts=8, seed=0,
                                x0=[[-20.0] * 3, [20.0] * 3])
    attracting = [p.saturated for p in corners if p.attracting]
    assert attracting == [((1, 0, 0), (2, 0, 0), (3, 0, 0))]
    assert any(p.saturated == ((1, 0, 1), (2, 0, 1), (3, 0, 1)) and not p.attracting
               for p in corners)


@pytest.mark.slow
def test_memory1_fixed_points():
    """NL on the 3-player memory-1 contribution game: every point found vanishes; from all-keep
    logits the search ends where the states mutual keeping visits (s0 and DDD) keep (the other
    logits' gradients are below 1e-25 there, rounding noise: see test_fixed_points), and at the
    all-keep corner the field pushes every logit further out."""
    game = games.contribution(3, "1.33")
    pts = find_fixed_points(game, "nl", starts=4, seed=0, x0=np.full((1, 27), -20.0))
    assert pts and all(p.residual <= TOL_FIXED for p in pts)
    assert all(residual(game, "nl", *p.thetas) == pytest.approx(p.residual, rel=1e-12, abs=1e-300)
               for p in pts)
    visited = {(a, k, 0) for a in (1, 2, 3) for k in (0, 8)}
    assert any(p.boundary and visited <= set(p.saturated) for p in pts)
    g = update_field(game, "nl")(*[np.full(9, -10.0)] * 3)
    assert all(np.all(x < 0) for x in g)


# ------------------------------------------------------------------ thresholds
def test_cyclic_matching_pennies_threshold_closed_form():
    """LOLA at theta = 0 (docstring of cyclic_mp): delta* = min(4/(25 eta), 4 eta/(25 eta^2 + 3))
    = 4 eta / (25 eta^2 + 3), vs bisection of the spectral radius of the compiled Jacobian and
    numeric lr_threshold; NL there has eigenvalues 0 and a purely imaginary pair."""
    game = cyclic_mp()
    J = exact_jacobian(game, "lola", [0], [0], [0])
    assert J == sp.Matrix(3, 3, lambda i, j: -25 * ETA / 2 if i == j else
                          sp.Rational(5, 2) * (1 if (j - i) % 3 == 1 else -1))
    expr = exact_lr_threshold(game, "lola", [0], [0], [0])
    for eta in (sp.Rational(1, 10), sp.Rational(1, 2), 1, 3):
        want = 4 * eta / (25 * eta ** 2 + 3)
        assert sp.simplify(expr.subs(ETA, eta) - want) == 0
        Jc = jacobian(game, "lola", [0.0], [0.0], [0.0], eta=float(eta))
        assert lr_threshold(np.linalg.eigvals(Jc)) == pytest.approx(float(want),
                                                                     rel=RTOL_THRESHOLD_BISECTION)
        lo, hi = 0.0, 10.0
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if spectral_radius(Jc, mid) < 1 else (lo, mid)
        assert lo == pytest.approx(float(want), rel=RTOL_THRESHOLD_BISECTION)
    assert exact_lr_threshold(game, "nl", [0], [0], [0]) == 0
    assert classify(game, "nl", [0.0], [0.0], [0.0]).flow == "non-hyperbolic"
    st = classify(game, "lola", [0.0], [0.0], [0.0], eta=1.0, delta=0.1)
    assert st.flow == "stable" and st.map == "converges" and st.lr_threshold == \
        pytest.approx(4 / 28, rel=RTOL_THRESHOLD_BISECTION)


# ------------------------------------------------------------------ arguments
def test_wrong_number_of_players_is_a_type_error():
    game = games.contribution(3, "1.33", memory=0)
    calls = [lambda: jacobian(game, "nl", [0.0], [0.0]),
             lambda: exact_jacobian(game, "nl", [0], [0]),
             lambda: classify(game, "nl", [0.0], [0.0]),
             lambda: game_hessian(game, [0.0], [0.0], [0.0], [0.0]),
             lambda: residual(game, "nl", [0.0]),
             lambda: exact_lr_threshold(game, "nl", [0], [0]),
             lambda: jacobian_function(game, "nl")([0.0], [0.0])]
    for call in calls:
        with pytest.raises(TypeError, match="3 parameter"):
            call()
    with pytest.raises(TypeError, match="takes 2 parameter"):
        jacobian(games.tandem(), "nl", [0.0], [0.0], [0.0])


def test_rules_without_an_n_player_form_are_refused_by_the_registry():
    game = games.contribution(3, "1.33", memory=0)
    for call in (lambda: jacobian(game, "sos", [0.0], [0.0], [0.0]),
                 lambda: classify(game, "co", [0.0], [0.0], [0.0]),
                 lambda: find_fixed_points(game, "lola2", starts=1),
                 lambda: exact_jacobian(game, "hola", [0], [0], [0])):
        with pytest.raises(ValueError, match="needs exactly two players"):
            call()


def test_exact_fixed_points_of_a_memory0_three_player_game():
    """sympy.solve in the probabilities: Jordan's game has the interior point 1/2 and the
    corners only where every field vanishes; iterated games with memory are refused."""
    sols = exact_fixed_points(jordan(), "nl")
    p = sp.symbols("p_1:4")
    half = {q: sp.S.Half for q in p}
    assert half in sols
    assert all(s == half or set(s.values()) <= {0, 1} for s in sols)
    with pytest.raises(ValueError, match="iterated game with memory"):
        exact_fixed_points(games.three_player_ipd(), "nl")


def test_portraits_on_three_players():
    """A plane through a 3-player game needs axes; its field is the field on the grid; basins
    train every agent with rule1."""
    game = cyclic_mp()
    with pytest.raises(ValueError, match=r"3 players.*a portrait is a plane.*axes"):
        vector_field(game, "nl", [0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="agents are 1..3"):
        vector_field(game, "nl", [0.0, 1.0], [0.0, 1.0], axes=((4, 0), (1, 0)))
    axes = ((1, 0), (3, 0))
    t = plane_points(game, [-1.0, 1.0], [0.5, 2.0], axes=axes, base=([0.0], [0.3], [0.0]))
    U, V = vector_field(game, "lola", [-1.0, 1.0], [0.5, 2.0], axes=axes,
                        base=([0.0], [0.3], [0.0]), eta=0.5)
    g = update_field(game, "lola", eta=0.5)(*t)
    np.testing.assert_array_equal(U, g[0][..., 0])
    np.testing.assert_array_equal(V, g[2][..., 0])
    assert np.all(t[1] == 0.3)
    b = basins(game, "lola", x=[-0.5, 0.5], y=[-0.5, 0.5], axes=axes, points=[([0.0],) * 3],
               steps=300, delta=0.05, eta=1.0)
    assert np.all(b.outcome == 0) and len(b.finals) == 3
    with pytest.raises(ValueError, match="rule2 is for two-player games"):
        basins(game, "nl", "lola", x=[0.0, 1.0], y=[0.0, 1.0], axes=axes,
               points=[([0.0],) * 3])
    with pytest.raises(ValueError, match="two players"):
        ls.consistency(game, "lola", [0.0], [0.0], 1.0)
