"""Advantage Alignment (rule ``advantage_alignment``): the exact expected update.

Sources: Duque et al. (ICLR 2025), the modified advantage
A*(x_t) = A1(x_t) + beta gamma (sum_{k<t} gamma^(t-k) A1(x_k)) A2(x_t) (README and
``train.py::aa_terms`` of jduquevan/advantage-alignment @ 2065e43, quoted in
``../shared/reference/newer_methods.md``); its closed form on a Markov chain
mu0 (I - gamma P)^-1 diag(A1) (gamma^2 P) (I - gamma^2 P)^-1 f (same notes, checked there
21.339910280608 vs a truncated sum); claim (Fig. 1b): in the one-step-history IPD the learned
cooperation probabilities resemble TFT. The IPD is the LOLA paper's (gamma = 0.96).
"""

from __future__ import annotations

import numpy as np

from lola_sym import train, update_field
from lola_sym.games import ipd
from lola_sym.games.iterated import iterated
from lola_sym.rules.advantage_alignment import aa_directions, joint_chain
from lola_sym.rules import TAGS, get_rule
from test_rules import RuleContract
from tolerances import Z_MC

#: closed form vs the forward recursion truncated at gamma^T < 1e-17 (pure rounding)
RTOL_AA_REFERENCE = 1e-9
#: beta = 0: the policy-gradient part vs the compiled naive field
RTOL_PG = 1e-11

GAME = ipd()
RNG = np.random.default_rng(3)
POINTS = [(RNG.normal(0, 1.5, 5), RNG.normal(0, 1.5, 5)) for _ in range(3)]


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _swap(s):
    """Agent 2's own-perspective state of a joint state (CD <-> DC)."""
    return [0, 2, 1, 3][s]


def _independent_chain(t1, t2, R1, R2, gamma, T):
    """The IPD's joint chain written out by hand, state values by truncated iteration."""
    p1, p2 = _sig(t1), _sig(t2)
    pay = [np.asarray(R1, float), np.asarray(R2, float)]
    # x = (h, a, b): h in {s0, CC, CD, DC, DD} (agent-1-first), a, b in {C=0, D=1}
    xs = [(h, a, b) for h in range(5) for a in (0, 1) for b in (0, 1)]

    def pi(p, s, a):
        return p[s] if a == 0 else 1 - p[s]

    def w(h, a, b):
        s1 = h
        s2 = 0 if h == 0 else 1 + _swap(h - 1)
        return pi(p1, s1, a) * pi(p2, s2, b)
    n = len(xs)
    P = np.zeros((n, n))
    for i, (h, a, b) in enumerate(xs):
        h2 = 1 + 2 * a + b
        for j, (hh, aa, bb) in enumerate(xs):
            if hh == h2:
                P[i, j] = w(hh, aa, bb)
    mu0 = np.array([w(h, a, b) if h == 0 else 0.0 for h, a, b in xs])
    r = np.array([[pay[k][a, b] for h, a, b in xs] for k in (0, 1)])
    Q = np.zeros((2, n))
    for _ in range(T):
        Q = r + gamma * Q @ P.T
    wx = np.array([w(*x) for x in xs])
    V = np.array([[sum(wx[j] * Q[k, j] for j in range(n) if xs[j][0] == h) for h in range(5)]
                  for k in (0, 1)])
    A = Q - V[:, [x[0] for x in xs]]
    G = []
    for k, p in ((0, p1), (1, p2)):
        g = np.zeros((n, 5))
        for i, (h, a, b) in enumerate(xs):
            s = h if k == 0 else (0 if h == 0 else 1 + _swap(h - 1))
            own = a if k == 0 else b
            g[i, s] = (1 - p[s]) if own == 0 else -p[s]       # d log pi / d logit
        G.append(g)
    return mu0, P, A, G


def reference_aa(t1, t2, beta, R1=((-1, -3), (0, -2)), R2=((-1, 0), (-3, -2)), gamma=0.96,
                 T=1100):
    """The expectation by a forward recursion: u_{t+1} = gamma (u_t + A_own * d_t) P."""
    mu0, P, A, G = _independent_chain(t1, t2, R1, R2, gamma, T)
    out = []
    for k in (0, 1):
        own, other = A[k], A[1 - k]
        d, u = mu0.copy(), np.zeros_like(mu0)
        g = np.zeros(5)
        for t in range(T):
            g += gamma ** t * (d * own) @ G[k] + beta * gamma * gamma ** t * (u * other) @ G[k]
            u = gamma * (u + own * d) @ P
            d = d @ P
        out.append(g)
    return tuple(out)


class TestAdvantageAlignment(RuleContract):
    rule = "advantage_alignment"
    hyper = {"beta": 0.7}


    def test_metadata(self):
        """The contract's metadata checks except the tags: no entry of TAGS fits this rule yet
        ("opponent_shaping" implies "lookahead", i.e. that eta = 0 gives the naive learner),
        so it has none until a tag is added to the registry."""
        r = get_rule(self.rule)
        assert r.needs_hessian == (r.order >= 2)
        prog = self.field().program
        assert {s.name for s in prog.inputs} >= {s.name for s in r.hyper_symbols}
        assert set(r.hyper) >= set(r.compiled_hyper()) and r.reference
        assert r.combine is None and r.primitives is None
        assert r.tags <= set(TAGS)
    def test_compiled_matches_independent_reference(self):
        f = self.field()
        for t1, t2 in POINTS:
            want = reference_aa(t1, t2, 0.7)
            got = f(t1, t2)
            for x, y in zip(got, want):
                assert np.max(np.abs(x - y)) <= RTOL_AA_REFERENCE * np.max(np.abs(y))

    def test_compiled_matches_exact_program(self):
        """beta = 0: the policy-gradient part is the exact value gradient (compiled NL)."""
        f = update_field(GAME, "advantage_alignment", beta=0.0)
        nl = update_field(GAME, "nl")
        for t1, t2 in POINTS:
            for x, y in zip(f(t1, t2), nl(t1, t2)):
                assert np.max(np.abs(x - y)) <= RTOL_PG * np.max(np.abs(y))

    def test_reference_check_can_fail(self):
        t1, t2 = POINTS[0]
        want = reference_aa(t1, t2, 0.7)
        wrong = update_field(GAME, "advantage_alignment", beta=0.7 * (1 + 1e-6))(t1, t2)
        assert np.max(np.abs(wrong[0] - want[0])) > 10 * RTOL_AA_REFERENCE * np.max(
            np.abs(want[0]))

    def test_backends_agree(self):
        """No compiled code: every backend gives the same closed form, bit for bit."""
        t1, t2 = POINTS[0]
        a = update_field(GAME, self.rule, backend="numpy", **self.hyper)(t1, t2)
        b = update_field(GAME, self.rule, backend="c", **self.hyper)(t1, t2)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))

    #: the determinism check's points (a closed form per point, not a threaded batch)
    determinism_points = 30


def _monte_carlo_aa_term(game, t1, t2, n, horizon, seed):
    """Per-trajectory samples of sum_t gamma^t (sum_{k<t} gamma^(t-k) A1(x_k)) A2(x_t)
    grad log pi1(a_t|s_t), rolled out on the chain (A's exact), and the truncation's size."""
    c = joint_chain(game, t1, t2)
    rng = np.random.default_rng(seed)
    cdf0 = np.cumsum(c.mu0)
    cdfP = np.cumsum(c.P, axis=1)
    x = np.searchsorted(cdf0, rng.random(n) * cdf0[-1])
    acc = np.zeros(n)
    total = np.zeros((n, c.G[0].shape[1]))
    for t in range(horizon):
        total += (c.gamma ** t * acc * c.A[1][x])[:, None] * c.G[0][x]
        acc = c.gamma * (acc + c.A[0][x])
        u = rng.random(n)
        x = np.array([np.searchsorted(cdfP[i], v * cdfP[i, -1]) for i, v in zip(x, u)])
    return total


def test_closed_form_matches_monte_carlo_within_a_confidence_interval():
    """On an IPD with gamma = 0.8 (horizon 150: gamma^150 ~ 3e-15), 4,000 rollouts; every
    entry within Z_MC standard errors; a wrong formula ((I - gamma P)^-1 on the right) is
    refused by the same interval."""
    game = iterated(((-1, -3), (0, -2)), ((-1, 0), (-3, -2)), 0.8, "ipd-0.8")
    t1, t2 = np.array([0.3, 1.0, -0.5, 0.8, -1.2]), np.array([-0.2, 0.7, 0.4, -0.6, 0.1])
    samples = _monte_carlo_aa_term(game, t1, t2, 4000, 150, seed=5)
    mean, se = samples.mean(0), samples.std(0, ddof=1) / np.sqrt(len(samples))
    c = joint_chain(game, t1, t2)
    X = c.P.shape[0]
    left = np.linalg.solve((np.eye(X) - c.gamma * c.P).T, c.mu0)
    f = c.A[1][:, None] * c.G[0]

    def term(inner):
        return (left * c.A[0]) @ (c.gamma ** 2 * (c.P @ np.linalg.solve(
            np.eye(X) - inner * c.P, f)))
    exact = term(c.gamma ** 2)
    # the rule: (g(beta) - g(0)) / (beta gamma) is the term
    g1 = aa_directions(game, t1, t2, 1.0)[0] - aa_directions(game, t1, t2, 0.0)[0]
    assert np.max(np.abs(g1 / c.gamma - exact)) <= 1e-12 * np.max(np.abs(exact))
    assert np.all(np.abs(mean - exact) <= Z_MC * se)
    wrong = term(c.gamma)
    assert np.any(np.abs(mean - wrong) > Z_MC * se)


def test_learned_policy_resembles_tft():
    """Duque et al. 2025, Fig. 1b: AA agents in the IPD learn TFT-like policies. Measured
    here (exact expected update, beta = 1, delta = 0.1, 300 steps, 6 runs, init std 1, seed 1):
    in 5 of the 6 runs both agents end with P(C | CC) > 0.9 and P(C | CD), P(C | DD) < 0.1
    and cooperate (average reward > -1.1; mutual cooperation's is -1, defection's -2);
    P(C | DC) (after one's own defection against a cooperator, rarely visited) is not pinned
    down (0.05 to 0.85), so the policy is TFT on the visited states. The sixth run ends in an
    alternating exploitation (agent 1 defects first and cooperates after DC; agent 2
    cooperates after CD): TFT-like is typical, not guaranteed. Naive learners (beta = 0)
    defect from the same start."""
    tr = train(GAME, "advantage_alignment", runs=6, steps=300, delta=0.1, seed=1, beta=1.0)
    tft = np.ones(6, dtype=bool)
    for th in tr.thetas:
        p = _sig(th[-1])
        tft &= (p[:, 1] > 0.9) & (p[:, 2] < 0.1) & (p[:, 4] < 0.1)
    tft &= np.all(tr.reward[-1] > -1.1, axis=-1)
    assert tft.sum() >= 5
    nl = train(GAME, "advantage_alignment", runs=6, steps=300, delta=0.1, seed=1, beta=0.0)
    assert np.all(nl.reward[-1] < -1.5)
