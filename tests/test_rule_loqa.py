"""LOQA (rule ``loqa``): the exact derivative through the opponent's Q-softmax model.

Source: Aghajohari et al. (ICLR 2024), abstract: the opponent samples actions in proportion to
its action values, pi2(b|s) ∝ exp(Q2(s, b)/tau); in memory-1 games
Q2(s, b) = E_a[r2(a, b) + gamma V2((a, b))] is closed-form
(``../shared/reference/newer_methods.md``; the paper's temperature was not verified, tau is a
hyper-parameter here). The IPD is the LOLA paper's (gamma = 0.96).
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

from lola_sym import update_field
from lola_sym.games import ipd
from lola_sym.rules.loqa import loqa_objective
from lola_sym.rules import TAGS, get_rule
from test_rules import RuleContract

#: complex-step derivative vs a 40-digit mpmath central difference (step 1e-15: error ~1e-30)
RTOL_LOQA_REFERENCE = 1e-9
#: complex step vs a float64 central difference (step 1e-6: truncation ~1e-9, rounding ~1e-9)
RTOL_LOQA_FD = 1e-6

GAME = ipd()
R1 = [[-1, -3], [0, -2]]
R2 = [[-1, 0], [-3, -2]]
GAMMA = mp.mpf(24) / 25
RNG = np.random.default_rng(4)
POINTS = [(RNG.normal(0, 1.5, 5), RNG.normal(0, 1.5, 5)) for _ in range(2)]


def _swap(s):
    return [0, 2, 1, 3][s]


def _mp_values(p1, p2, player):
    """State values over the 4 joint states (agent-1-first) and the start value, for the
    policies p1, p2 (probability of C in s0, CC, CD, DC, DD from each agent's own view)."""
    R = (R1, R2)[player]

    def joint(a, b):
        return [a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)]
    P = mp.matrix([joint(p1[1 + s], p2[1 + _swap(s)]) for s in range(4)])
    r = mp.matrix([R[0][0], R[0][1], R[1][0], R[1][1]])
    # v(s) = sum_x P[s, x] (r(x) + gamma v(x)):  (I - gamma P) v = P r
    v = mp.lu_solve(mp.eye(4) - GAMMA * P, P * r)
    mu = joint(p1[0], p2[0])
    v0 = sum(mu[x] * (r[x] + GAMMA * v[x]) for x in range(4))
    return v, v0


def reference_objective(t1, t2, player, tau):
    """V_player(own, opponent modelled as softmax(Q_opp / tau)), written from the formulas."""
    sig = lambda x: 1 / (1 + mp.exp(-x))                    # noqa: E731
    p = [[sig(x) for x in t1], [sig(x) for x in t2]]
    opp = 1 - player
    R_opp = (R1, R2)[opp]
    v_opp, _ = _mp_values(p[0], p[1], opp)
    # the opponent's Q(s, b) in each of its states; its state index 0 = s0, 1 + own-view joint
    model = []
    for s_opp in range(5):
        if s_opp == 0:
            p_own = p[player][0]
        else:
            joint_opp_view = s_opp - 1                   # (opponent's action, player's action)
            p_own = p[player][1 + _swap(joint_opp_view)]
        q = []
        for b in (0, 1):                                 # opponent's action
            tot = 0
            for a, pa in ((0, p_own), (1, 1 - p_own)):   # player's action
                # agent-1-first joint index of (player a, opponent b)
                x = 2 * a + b if player == 0 else 2 * b + a
                rew = R_opp[x // 2][x % 2]
                tot += pa * (rew + GAMMA * v_opp[x])
            q.append(tot)
        model.append(sig((q[0] - q[1]) / tau))
    pols = [None, None]
    pols[player], pols[opp] = p[player], model
    _, v0 = _mp_values(pols[0], pols[1], player)
    return v0


def reference_loqa(t1, t2, tau, dps=40):
    with mp.workdps(dps):
        h = mp.mpf("1e-15")
        out = []
        for player in (0, 1):
            g = []
            for k in range(5):
                up = [mp.mpf(float(x)) for x in (t1 if player == 0 else t2)]
                dn = list(up)
                up[k] += h
                dn[k] -= h
                other = [mp.mpf(float(x)) for x in (t2 if player == 0 else t1)]
                if player == 0:
                    d = reference_objective(up, other, 0, tau) - reference_objective(dn, other,
                                                                                     0, tau)
                else:
                    d = reference_objective(other, up, 1, tau) - reference_objective(other, dn,
                                                                                     1, tau)
                g.append(float(d / (2 * h)))
            out.append(np.array(g))
    return tuple(out)


class TestLoqa(RuleContract):
    rule = "loqa"
    hyper = {"tau": 1.5}


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
            want = reference_loqa(t1, t2, 1.5)
            for x, y in zip(f(t1, t2), want):
                assert np.max(np.abs(x - y)) <= RTOL_LOQA_REFERENCE * np.max(np.abs(y))

    def test_compiled_matches_exact_program(self):
        """The objective itself agrees with the mpmath one, and its float64 central difference
        with the complex step."""
        t1, t2 = POINTS[0]
        v = loqa_objective(GAME, 0, t1, t2, 1.5).real
        with mp.workdps(30):
            w = float(reference_objective([mp.mpf(float(x)) for x in t1],
                                          [mp.mpf(float(x)) for x in t2], 0, 1.5))
        assert abs(v - w) <= 1e-12 * abs(w)
        g = self.field()(t1, t2)[0]
        h = 1e-6
        fd = np.array([(loqa_objective(GAME, 0, t1 + h * e, t2, 1.5)
                        - loqa_objective(GAME, 0, t1 - h * e, t2, 1.5)).real / (2 * h)
                       for e in np.eye(5)])
        assert np.max(np.abs(g - fd)) <= RTOL_LOQA_FD * np.max(np.abs(g))

    def test_reference_check_can_fail(self):
        t1, t2 = POINTS[0]
        want = reference_loqa(t1, t2, 1.5)
        wrong = update_field(GAME, "loqa", tau=1.5 * (1 + 1e-6))(t1, t2)
        assert np.max(np.abs(wrong[0] - want[0])) > 10 * RTOL_LOQA_REFERENCE * np.max(
            np.abs(want[0]))

    def test_backends_agree(self):
        """No compiled code: every backend gives the same closed form, bit for bit."""
        t1, t2 = POINTS[0]
        a = update_field(GAME, self.rule, backend="numpy", **self.hyper)(t1, t2)
        b = update_field(GAME, self.rule, backend="c", **self.hyper)(t1, t2)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))

    #: the determinism check's points (a closed form per point, not a threaded batch)
    determinism_points = 30


def test_high_temperature_model_is_uniform_and_loqa_tends_to_naive():
    """tau -> inf: the model plays uniformly in every state, so g1 -> grad_1 V1(theta1, 0)."""
    t1, t2 = POINTS[1]
    g = update_field(GAME, "loqa", tau=1e9)(t1, t2)[0]
    nl = update_field(GAME, "nl")(t1, np.zeros(5))[0]
    assert np.max(np.abs(g - nl)) <= 1e-6 * np.max(np.abs(nl))
