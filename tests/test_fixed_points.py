"""Fixed points of the learning rules (lola_sym.analysis.fixed_points)."""

import numpy as np
import pytest
import sympy as sp

from lola_sym import games, update_field
from lola_sym.analysis.fixed_points import exact_fixed_points, find_fixed_points, residual
from lola_sym.rules import RULES
from tolerances import ATOL_FIXED_POINT

ALL_RULES = sorted(RULES)


def _max_abs(g):
    return max(float(np.max(np.abs(g[0]))), float(np.max(np.abs(g[1]))))


@pytest.mark.parametrize("rule", [pytest.param(r, marks=pytest.mark.slow) if r.startswith("pola") else r
                                  for r in ALL_RULES])   # POLA compiles exact LOLA: slow tier
@pytest.mark.parametrize("game", ["imp", "matching_pennies", "hamiltonian"])
def test_nash_point_is_a_fixed_point_of_every_rule(rule, game):
    """theta = 0: the Nash point of (iterated) matching pennies and the Hamiltonian game.

    Two kinds of rule cannot be asked: the Stackelberg leader, whose follower Hessian
    D22 V2 vanishes at theta = 0 on these zero-sum games (its field must refuse the point,
    naming the singular Hessian), and the rules computed numerically on iterated games
    only (POLA, LOQA, Advantage Alignment: refused on one-shot games)."""
    from lola_sym.field import FieldError
    from lola_sym.report.derive import has_program
    g = games.by_name(game)
    d1, d2 = g.dims
    if not has_program(rule) and g.kind == "differentiable":
        with pytest.raises(ValueError):
            update_field(g, rule)(np.zeros(d1), np.zeros(d2))
        return
    f = update_field(g, rule)
    if rule == "stackelberg":
        with pytest.raises(FieldError, match="singular"):
            f(np.zeros(d1), np.zeros(d2))
        return
    assert _max_abs(f(np.zeros(d1), np.zeros(d2))) <= ATOL_FIXED_POINT
    # not vacuous: away from it the field is not zero
    assert _max_abs(f(np.full(d1, 0.3), np.full(d2, -0.2))) > 1e-3


@pytest.mark.parametrize("rule", ["nl", "la", "co", "sos", "sga", "sga_plain", "cgd"])
def test_tandem_sfp_line_is_kept_by_the_consistent_rules(rule):
    """SOS paper: NL, LA, SOS, SGA, CO, CGD keep the fixed points of xi (x + y = 1)."""
    f = update_field(games.tandem(), rule)
    x = np.linspace(-2, 3, 7)[:, None]
    assert _max_abs(f(x, 1 - x)) <= ATOL_FIXED_POINT


@pytest.mark.parametrize("eta", [sp.Rational(1, 10), sp.Rational(1, 4), sp.Rational(3, 5)])
def test_lola_shifts_the_tandem_fixed_line(eta):
    """LOLA in Tandem: g1 = 2 - 2(x+y) + 4 eta (x+y) = 0 on x + y = 1/(1 - 2 eta) (hand-derived)."""
    sols = exact_fixed_points(games.tandem(), "lola", eta=eta)
    x, y = sp.symbols("x y", real=True)
    assert sols == [{x: 1 / (1 - 2 * eta) - y}]
    c = float(1 / (1 - 2 * eta))
    f = update_field(games.tandem(), "lola", eta=float(eta))
    xs = np.linspace(-1, 2, 5)[:, None]
    assert _max_abs(f(xs, c - xs)) <= ATOL_FIXED_POINT
    assert _max_abs(f(xs, 1 - xs)) > 0.1        # the SFP line is no longer fixed
    pts = find_fixed_points(games.tandem(), "lola", starts=6, seed=1, eta=float(eta))
    assert pts and all(abs(p.theta1[0] + p.theta2[0] - c) < 1e-9 for p in pts)


def test_exact_fixed_points_of_one_shot_games():
    x, y = sp.symbols("x y", real=True)
    assert exact_fixed_points(games.tandem(), "nl") == [{x: 1 - y}]
    assert exact_fixed_points(games.hamiltonian(), "lola") == [{x: 0, y: 0}]
    sols = exact_fixed_points(games.matching_pennies(), "lola")
    p1, p2 = sp.symbols("p_1 p_2")
    assert {p1: sp.S.Half, p2: sp.S.Half} in sols
    # the others are the boundary corners (saturated policies, limits)
    assert all(set(s.values()) <= {0, 1} for s in sols if s != {p1: sp.S.Half, p2: sp.S.Half})
    assert len(sols) == 5


def test_numerical_search_finds_the_interior_nash_and_boundary_limits():
    game = games.matching_pennies()
    pts = find_fixed_points(game, "nl", starts=12, seed=0)
    interior = [p for p in pts if not p.boundary]
    assert len(interior) == 1 and abs(interior[0].theta1[0]) < 1e-9
    assert all(p.residual <= 1e-10 for p in pts)
    for p in pts:
        assert residual(game, "nl", p.theta1, p.theta2) == pytest.approx(p.residual, abs=1e-300)
        if p.boundary:
            assert p.saturated and all(s[2] in (0, 1) for s in p.saturated)
    # de-duplicated in probability space
    keys = [tuple(np.round(1 / (1 + np.exp(-np.r_[p.theta1, p.theta2])), 4)) for p in pts]
    assert len(set(keys)) == len(keys)


def test_search_is_deterministic_and_uses_extra_starts():
    game = games.imp()
    a = find_fixed_points(game, "nl", starts=2, seed=4, x0=np.zeros((1, 10)))
    b = find_fixed_points(game, "nl", starts=2, seed=4, x0=np.zeros((1, 10)))
    assert [p.as_dict() for p in a] == [p.as_dict() for p in b]
    assert not a[0].boundary and np.max(np.abs(a[0].theta1)) < 1e-9


def test_bad_input():
    with pytest.raises(ValueError, match="iterated game"):
        exact_fixed_points(games.ipd(), "nl")
    with pytest.raises(ValueError, match="combined numerically"):
        exact_fixed_points(games.tandem(), "sos")
    with pytest.raises(ValueError, match="starts"):
        find_fixed_points(games.tandem(), "nl", starts=0)
    with pytest.raises(ValueError, match="x0 has a non-finite entry"):
        find_fixed_points(games.tandem(), "nl", starts=1, x0=[[np.nan, 0.0]])


def test_boundary_limits_say_whether_they_attract():
    """Mutual defection attracts naive learners in the IPD (LOLA paper: NL defects);
    the pure-strategy corners of matching pennies do not (the flow cycles around theta = 0).

    From all-defect logits the search ends in a corner whose *visited* states (s0 and DD
    of both players) defect. The logits of the states mutual defection never visits (CC,
    CD, DC) have gradients of about 1e-25 there, so where the root solver leaves them is
    rounding noise (it moved with the order of operations of the compiled code); the
    outward test at the all-defect corner itself is therefore checked directly."""
    from lola_sym.analysis.fixed_points import _attracting
    alld = find_fixed_points(games.ipd(), "nl", starts=1, seed=0, x0=np.full((1, 10), -20.0))
    visited = {(1, 0), (1, 4), (2, 0), (2, 4)}
    assert any(q.boundary and {s[:2] for s in q.saturated if s[2] == 0} >= visited
               for q in alld)
    f = update_field(games.ipd(), "nl")
    assert _attracting(lambda z: np.concatenate(f(z[:5], z[5:])), np.full(10, -600.0), 12.0)
    corners = [q for q in find_fixed_points(games.matching_pennies(), "nl", starts=12, seed=0)
               if q.boundary]
    assert corners and not any(q.attracting for q in corners)
    interior = [q for q in find_fixed_points(games.matching_pennies(), "nl", starts=4, seed=0)
                if not q.boundary]
    assert interior[0].attracting is None


@pytest.mark.parametrize("name, bad, error", [
    ("saturate", float("nan"), ValueError), ("saturate", -1.0, ValueError),
    ("saturate", float("inf"), ValueError), ("saturate", "12", TypeError),
    ("scale", float("nan"), ValueError), ("scale", True, TypeError),
    ("tol", float("nan"), ValueError), ("tol", 0.0, ValueError), ("tol", "1e-10", TypeError),
    ("starts", 2.0, TypeError), ("starts", True, TypeError), ("starts", "4", TypeError),
    ("seed", -1, ValueError), ("seed", 0.5, TypeError),
    ("x0", [[0.0, 0.0, 0.0]], ValueError), ("x0", [["a", "b"]], TypeError),
    ("x0", [[np.inf, 0.0]], ValueError), ("x0", "00", TypeError),
])
def test_search_arguments_are_validated(name, bad, error):
    """Before: saturate=nan silently reported no boundary point, x0 of the wrong width a
    numpy reshape error."""
    with pytest.raises(error, match=name):
        find_fixed_points(games.tandem(), "nl", starts=1, **{name: bad})


def test_residual_arguments_are_validated():
    with pytest.raises(ValueError, match="theta1"):
        residual(games.tandem(), "nl", [np.nan], [0.0])
    with pytest.raises(ValueError, match="theta2"):
        residual(games.tandem(), "nl", [0.0], [0.0, 1.0])
    with pytest.raises(TypeError, match="theta1"):
        residual(games.tandem(), "nl", "0", [0.0])
