r"""The extragradient rule: the shared rule contract, and its definition checked other ways.

:class:`TestExtragradient` inherits :class:`test_rules.RuleContract`: the compiled
field against the program at 50 digits, and against the independent mpmath
reference of tests/reference.py (losses convention, finite differences of an
LU solve of the chain) on the IPD, matching pennies and Tandem. Beyond it: the
bilinear Hamiltonian game in closed form (Gidel et al. 2019, Sec. 3), a
hand-written numpy field on matching pennies, :math:`\eta = 0` is NL, and the
n-player definition on the 3-player contribution game and iterated RPS.
"""

import numpy as np
import pytest
import sympy as sp

import reference
from lola_sym import games, update_field
from lola_sym.rules import RULES, get_rule, rule_names
from test_rules import RuleContract
from tolerances import ATOL_ONE_STEP, RTOL_EXACT_EVAL, RTOL_REFERENCE


class TestExtragradient(RuleContract):
    rule = "extragradient"
    hyper = {"eta": 0.7}


def _rel(got, want):
    got, want = np.concatenate(got), np.concatenate(want)
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def test_registered_by_its_module_alone():
    """No list was edited: the rule is found by discovery, after the earlier rules, and
    carries its notes and its hyper-parameter's LaTeX."""
    rule = get_rule("extragradient")
    assert list(RULES).index("extragradient") == 12           # after the twelve earlier rules
    assert "extragradient" in rule_names("n_player")
    assert rule.hyper_latex("eta") == r"\eta" and rule.notes.values.startswith(r"g_i = ")
    assert rule.order == 1 and not rule.needs_hessian and rule.finish is None
    rule.check_players(games.contribution(3))            # an n-player rule: no refusal


def test_hamiltonian_game_in_closed_form():
    r"""Bilinear game :math:`V^1 = -xy = -V^2`: :math:`\xi = (-y, x)`, and extragradient is
    the linear map :math:`g = \begin{pmatrix} -\eta & -1 \\ 1 & -\eta \end{pmatrix} \theta`,
    whose damping :math:`-\eta` is what makes it converge where NL circles (Gidel et al.
    2019, Sec. 3; Korpelevich 1976). Exact symbolic identity, and the compiled field."""
    game = games.hamiltonian()
    f = update_field(game, "extragradient", eta=0.4)
    (x,), (y,) = game.theta
    eta = get_rule("extragradient").hyper_symbols[0]
    g1, g2 = f.explicit()
    assert sp.simplify(g1[0] - (-eta * x - y)) == 0
    assert sp.simplify(g2[0] - (x - eta * y)) == 0
    assert sp.simplify(g1[0] - (eta * x - y)) != 0                # the wrong sign is seen
    rng = np.random.default_rng(3)
    t = rng.normal(size=(20, 2))
    got = np.stack([np.concatenate(f(a[:1], a[1:])) for a in t])
    want = t @ np.array([[-0.4, -1.0], [1.0, -0.4]]).T
    assert np.max(np.abs(got - want)) <= RTOL_EXACT_EVAL * np.max(np.abs(want))


def _mp_numpy_field(t1, t2, eta):
    """Matching pennies by hand: V1 = -(2p1-1)(2p2-1) = -V2, dp/dtheta = p(1-p)."""
    def naive(a, b):
        p1, p2 = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))
        return -2 * p1 * (1 - p1) * (2 * p2 - 1), 2 * p2 * (1 - p2) * (2 * p1 - 1)
    x1, x2 = naive(t1, t2)
    return naive(t1 + eta * x1, t2 + eta * x2)


def test_matching_pennies_against_a_hand_written_field():
    f = update_field(games.matching_pennies(), "extragradient", eta=0.9)
    rng = np.random.default_rng(8)
    t1, t2 = rng.uniform(-3, 3, (50, 1)), rng.uniform(-3, 3, (50, 1))
    want = _mp_numpy_field(t1, t2, 0.9)
    assert _rel(f(t1, t2), want) <= RTOL_EXACT_EVAL
    assert _rel(f(t1, t2), _mp_numpy_field(t1, t2, 0.91)) > 1e3 * RTOL_EXACT_EVAL


@pytest.mark.parametrize("game", ["ipd", "matching_pennies"])
def test_independent_reference_at_another_step(game):
    """A second eta, against the mpmath reference (losses convention, finite differences)."""
    g = games.by_name(game)
    f = update_field(g, "extragradient", eta=2.5)
    rng = np.random.default_rng(4)
    t1, t2 = rng.uniform(-2, 2, g.dims[0]), rng.uniform(-2, 2, g.dims[1])
    want = reference.directions("extragradient", g, t1, t2, eta=2.5)
    assert _rel(f(t1, t2), want) <= RTOL_REFERENCE
    wrong = reference.directions("extragradient", g, t1, t2, eta=2.5 * (1 + 1e-6))
    assert _rel(f(t1, t2), wrong) > RTOL_REFERENCE


def test_zero_step_is_the_naive_learner():
    """Exactly on matching pennies (the explicit outputs at eta = 0 are NL's), and to rounding
    on the IPD (the compiled code orders the sums differently); not at eta > 0."""
    mp = games.matching_pennies()
    eta = get_rule("extragradient").hyper_symbols[0]
    eg = update_field(mp, "extragradient").explicit()
    nl = update_field(mp, "nl").explicit()
    for a, b in zip(eg, nl):
        assert sp.simplify(a[0].xreplace({eta: 0}) - b[0]) == 0
        assert sp.simplify(a[0].xreplace({eta: sp.Rational(1, 2)}) - b[0]) != 0
    g = games.ipd()
    eg, nl = update_field(g, "extragradient", eta=0.0), update_field(g, "nl")
    rng = np.random.default_rng(2)
    t1, t2 = rng.normal(size=(30, 5)), rng.normal(size=(30, 5))
    assert _rel(eg(t1, t2), nl(t1, t2)) <= RTOL_EXACT_EVAL
    half = update_field(g, "extragradient", eta=0.5)
    assert _rel(half(t1, t2), nl(t1, t2)) > 1e3 * RTOL_EXACT_EVAL


@pytest.mark.parametrize("game", [
    lambda: games.contribution(3, "1.33", memory=0), lambda: games.rps(memory=0),
    pytest.param(lambda: games.contribution(3, "1.33"), marks=pytest.mark.slow),
    pytest.param(games.rps, marks=pytest.mark.slow)],
    ids=["contribution3_memory0", "rps_memory0", "contribution3", "rps"])
def test_n_player_definition(game):
    """g(theta) = xi(theta + eta xi(theta)) with xi the compiled NL field (itself checked
    against mpmath differences of an independent chain in tests/test_repeated.py): three
    players, three actions, memory 0 and 1."""
    g = game()
    eta = 0.6
    eg, nl = update_field(g, "extragradient", eta=eta), update_field(g, "nl")
    rng = np.random.default_rng(6)
    th = [rng.uniform(-1.5, 1.5, (8, d)) for d in g.dims]
    xi = nl(*th)
    want = nl(*[t + eta * x for t, x in zip(th, xi)])
    assert len(eg(*th)) == len(g.dims)
    assert _rel(eg(*th), want) <= RTOL_EXACT_EVAL
    wrong = nl(*[t + 1.01 * eta * x for t, x in zip(th, xi)])
    assert _rel(eg(*th), wrong) > 1e3 * RTOL_EXACT_EVAL


@pytest.mark.parametrize("game", ["ipd", lambda: games.contribution(3, "1.33", memory=0)],
                         ids=["ipd", "contribution3_memory0"])
def test_the_rule_is_the_naive_learner_trained_with_the_extragradient_step(game):
    """train's step method "extragradient" (a trial step theta + delta g, then the step from
    theta with g at the trial point) on NL is this rule with eta = delta, trained with plain
    simultaneous steps: the same trajectory, computed two ways (two NL evaluations per step
    vs the compiled extragradient program)."""
    from lola_sym.dynamics.training import train
    g = games.by_name(game) if isinstance(game, str) else game()
    delta = 0.4
    rng = np.random.default_rng(9)
    thetas = [rng.normal(size=(4, d)) for d in g.dims]
    method = train(g, rules=["nl"] * len(g.dims), thetas=thetas, steps=5, delta=delta,
                   method="extragradient")
    rule = train(g, rules=["extragradient"] * len(g.dims), thetas=thetas, steps=5, delta=delta,
                 eta=delta)
    a, b = np.concatenate(method.thetas, axis=-1), np.concatenate(rule.thetas, axis=-1)
    assert a.shape == b.shape and np.max(np.abs(a - b)) <= ATOL_ONE_STEP * max(1.0, np.abs(a).max())
    other = train(g, rules=["extragradient"] * len(g.dims), thetas=thetas, steps=5, delta=delta,
                  eta=0.9 * delta)
    assert np.max(np.abs(np.concatenate(other.thetas, axis=-1) - a)) > 1e-6
