r"""The zero-determinant check (Press & Dyson 2012) against long-run payoffs of the chain.

Independent check: the stationary distribution of the undiscounted memory-1 chain (a numpy
eigenvector, written here) against random memory-1 opponents must obey the relation the
check returns, for ZD policies, and must break it for a non-ZD one. The policies are the
paper's: extortion with chi = 3 in the conventional IPD (R, S, T, P) = (3, 0, 5, 1),
p = (11/13, 1/2, 7/26, 0) (Press & Dyson 2012, text after Eq. 12), and an equaliser that
sets the opponent's score to 2, p = (2/3, 0, 2/3, 1/3) (the condition of their Eq. 9:
p~ = beta S_Y + gamma 1 with beta = -1/3, gamma = 2/3).
"""

import numpy as np
import pytest

from lola_sym import games
from lola_sym.analysis.zd import own_payoffs, zd_check, zd_relation

#: stationary payoffs vs the relation (an eigenvector solve, a few eps times cond)
ATOL_STATIONARY = 1e-9
S_X, S_Y = np.array([3.0, 0.0, 5.0, 1.0]), np.array([3.0, 5.0, 0.0, 1.0])
EXTORT = np.array([11 / 13, 1 / 2, 7 / 26, 0.0])
EQUALISER = np.array([2 / 3, 0.0, 2 / 3, 1 / 3])


def stationary_payoffs(p, q, s_x, s_y):
    """Long-run payoffs of X (policy p, own perspective) against Y (policy q, Y's own
    perspective) in the undiscounted chain on X's states (CC, CD, DC, DD)."""
    q_x = q[[0, 2, 1, 3]]                        # Y's cooperation in X's states
    M = np.zeros((4, 4))
    for s in range(4):
        for xa in range(2):
            for ya in range(2):
                px = p[s] if xa == 0 else 1 - p[s]
                py = q_x[s] if ya == 0 else 1 - q_x[s]
                M[s, 2 * xa + ya] = px * py
    w, v = np.linalg.eig(M.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    pi = pi / pi.sum()
    return pi @ s_x, pi @ s_y


def _opponents(n, seed):
    return np.random.default_rng(seed).uniform(0.05, 0.95, (n, 4))


def test_extortion_enforces_its_relation_against_any_opponent():
    z = zd_relation(EXTORT, S_X, S_Y)
    assert z.is_zd and abs(z.chi - 3.0) <= 1e-12
    P = -z.gamma / (z.alpha + z.beta)             # the baseline: alpha P + beta P + gamma = 0
    assert abs(P - 1.0) <= 1e-12
    for q in _opponents(20, 0):
        sx, sy = stationary_payoffs(EXTORT, q, S_X, S_Y)
        assert abs(z.alpha * sx + z.beta * sy + z.gamma) <= ATOL_STATIONARY
        assert abs((sx - 1) - 3 * (sy - 1)) <= ATOL_STATIONARY


def test_equaliser_sets_the_opponents_score():
    z = zd_relation(EQUALISER, S_X, S_Y)
    assert z.is_zd and abs(z.alpha) <= 1e-12 and abs(-z.gamma / z.beta - 2.0) <= 1e-12
    for q in _opponents(20, 1):
        _, sy = stationary_payoffs(EQUALISER, q, S_X, S_Y)
        assert abs(sy - 2.0) <= ATOL_STATIONARY


def test_a_non_zd_policy_is_refused_and_enforces_nothing():
    p = np.array([0.9, 0.2, 0.6, 0.3])
    z = zd_relation(p, S_X, S_Y)
    assert not z.is_zd and z.relative_residual > 0.05
    gaps = [abs(z.alpha * sx + z.beta * sy + z.gamma)
            for sx, sy in (stationary_payoffs(p, q, S_X, S_Y) for q in _opponents(10, 2))]
    assert max(gaps) > 1e-3                        # the fitted relation is not enforced


def test_the_check_can_fail_near_a_zd_policy():
    """A ZD policy moved by 1e-6 in one probability leaves the span: residual ~ 1e-6."""
    z = zd_relation(EXTORT + np.array([0.0, 1e-6, 0.0, 0.0]), S_X, S_Y)
    assert not z.is_zd and 1e-8 < z.residual < 1e-6


def test_player_two_perspective_on_the_catalogue_ipd():
    """The LOLA paper's IPD (values -1, -3, 0, -2): an extortioner built for player 2 from
    its own payoffs, checked by the chain with player 2 as X."""
    game = games.ipd()
    s_x, s_y = own_payoffs(game, 2)
    P, chi, phi = -2.0, 2.0, 0.1                   # p~ = phi [(S_X - P) - chi (S_Y - P)]
    p = np.array([1, 1, 0, 0]) + phi * ((s_x - P) - chi * (s_y - P))
    assert np.all((p >= 0) & (p <= 1))
    c = np.clip(p, 1e-17, 1 - 1e-17)              # p_DD = 0: a logit of about -39
    theta = np.r_[0.0, np.log(c / (1 - c))]
    z = zd_relation(p, s_x, s_y)
    assert z.is_zd and abs(z.chi - chi) <= 1e-9
    assert zd_check(game, theta, player=2).is_zd
    assert not zd_check(game, theta + np.r_[0.0, 0.0, 1e-3, 0.0, 0.0], player=2).is_zd
    for q in _opponents(10, 3):
        sx, sy = stationary_payoffs(p, q, s_x, s_y)
        assert abs((sx - P) - chi * (sy - P)) <= ATOL_STATIONARY


def test_batches_and_bad_input():
    z = zd_relation(np.stack([EXTORT, EQUALISER, np.full(4, 0.5)]), S_X, S_Y)
    assert z.is_zd.tolist() == [True, True, False]
    with pytest.raises(ValueError, match="4 cooperation probabilities"):
        zd_relation([0.5, 0.5, 0.5], S_X, S_Y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        zd_relation([0.5, 1.5, 0.5, 0.5], S_X, S_Y)
    with pytest.raises(ValueError, match="5 logits"):
        zd_check(games.ipd(), np.zeros(4))
    with pytest.raises(ValueError, match="player"):
        own_payoffs(games.ipd(), 3)
