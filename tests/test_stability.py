"""Stability classification and learning-rate thresholds (lola_sym.stability)."""

import numpy as np
import pytest
import sympy as sp

from lola_sym import games, train
from lola_sym.differentiable import differentiable
from lola_sym.jacobian import exact_jacobian, jacobian
from lola_sym.reproduce import nash_distance
from lola_sym.rules import get_rule
from tolerances import ATOL_FIXED_POINT
from lola_sym.stability import (EIG_TOL, classify, classify_flow, classify_map,
                                exact_lr_threshold, lr_threshold, spectral_radius)

ETA = sp.Symbol("eta", positive=True)
MP = games.matching_pennies()


def _bisect_threshold(J, hi=100.0):
    """Largest delta with rho(I + delta J) < 1, by bisection (independent of the formula)."""
    lo = 0.0
    if spectral_radius(J, 1e-6) >= 1:
        return 0.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if spectral_radius(J, mid) < 1 else (lo, mid)
    return lo


def test_flow_classes():
    assert classify_flow([-1, -2]) == "stable"
    assert classify_flow([1, 2 + 1j, 2 - 1j]) == "unstable"
    assert classify_flow([-1, 2]) == "saddle"
    assert classify_flow([3j, -3j]) == "centre"
    assert classify_flow([0.0, -1.0]) == "non-hyperbolic"


def test_numeric_threshold_matches_bisection_on_random_stable_matrices():
    rng = np.random.default_rng(0)
    for _ in range(20):
        A = rng.normal(size=(4, 4))
        J = A - A.T - np.diag(rng.uniform(0.1, 2, size=4))   # eigenvalues in the left half-plane
        got = lr_threshold(np.linalg.eigvals(J))
        assert got == pytest.approx(_bisect_threshold(J), rel=1e-9)
    J = np.array([[0.0, -1.0], [1.0, 0.0]])
    assert lr_threshold(np.linalg.eigvals(J)) == 0.0 and _bisect_threshold(J) == 0.0


def test_one_shot_matching_pennies_naive_diverges_for_every_rate():
    """NL at theta = 0: eigenvalues of I + delta J are 1 +- i delta/4, modulus > 1 for delta > 0."""
    J = jacobian(MP, "nl", [0.0], [0.0])
    for delta in np.geomspace(1e-4, 1e2, 25):
        mods = np.abs(np.linalg.eigvals(np.eye(2) + delta * J))
        assert np.all(mods > 1) and mods.max() == pytest.approx(np.hypot(1, delta / 4), rel=1e-12)
    assert exact_lr_threshold(MP, "nl", [0], [0]) == 0


@pytest.mark.parametrize("rule, expected", [
    # J = [[-eta/16, -1/4], [1/4, -eta/16]]: lambda = -eta/16 +- i/4,
    # delta* = 2 (eta/16) / ((eta/16)^2 + 1/16) = 32 eta / (eta^2 + 16)
    ("lola", 32 * ETA / (ETA ** 2 + 16)),
    ("la", 32 * ETA / (ETA ** 2 + 16)),
    # both Taylor terms double the damping: lambda = -eta/8 +- i/4 -> 16 eta / (eta^2 + 4)
    ("lola_full", 16 * ETA / (ETA ** 2 + 4)),
    ("exact_lola", 16 * ETA / (ETA ** 2 + 4)),
])
def test_exact_thresholds_on_one_shot_matching_pennies(rule, expected):
    got = exact_lr_threshold(MP, rule, [0], [0])
    assert sp.simplify(got - expected) == 0
    for eta in (0.3, 1.0, 4.0):
        J = jacobian(MP, rule, [0.0], [0.0], eta=eta)
        assert float(expected.subs(ETA, eta)) == pytest.approx(_bisect_threshold(J), rel=1e-9)
        d = float(expected.subs(ETA, eta))
        assert classify_map(J, 0.9 * d) == "converges" and classify_map(J, 1.1 * d) == "diverges"


def test_iterated_matching_pennies_nash_classification_matches_training():
    """LOLA paper Fig. 4: at the all-1/2 policy NL is a centre (cycles), LOLA is stable."""
    game = games.imp()
    z = np.zeros(5)
    nl = classify(game, "nl", z, z, delta=1.0)
    lola = classify(game, "lola", z, z, delta=1.0, eta=1.0)
    assert nl.residual <= ATOL_FIXED_POINT and lola.residual <= ATOL_FIXED_POINT
    assert nl.flow == "centre" and nl.map == "diverges"
    assert lola.flow == "stable" and lola.map == "converges" and lola.spectral_radius < 1
    kw = dict(runs=10, steps=300, delta=1.0, init_std=0.1, seed=3)
    tr_nl, tr_lola = train(game, "nl", **kw), train(game, "lola", eta=1.0, **kw)
    d0 = nash_distance(tr_nl.theta1[0], tr_nl.theta2[0])
    d_nl = nash_distance(tr_nl.theta1[-1], tr_nl.theta2[-1])
    d_lola = nash_distance(tr_lola.theta1[-1], tr_lola.theta2[-1])
    # rho(I + J) = 0.9703 for LOLA: 300 steps shrink the distance by ~1e-4
    assert np.all(d_lola < 1e-3 * d0) and np.all(d_nl > d0)


def test_game_view_of_small_games():
    """H = -J_NL for losses; SFP, strict saddle and differential Nash on textbook cases."""
    ham = classify(games.hamiltonian(), "nl", [0.0], [0.0])
    np.testing.assert_array_equal(ham.game_hessian, [[0.0, 1.0], [-1.0, 0.0]])
    assert ham.stable_fixed_point and not ham.differential_nash and not ham.strict_saddle
    np.testing.assert_array_equal(ham.symmetric, np.zeros((2, 2)))
    bal = classify(games.balduzzi(), "nl", [0.0], [0.0])      # H = [[1, 10], [-10, 1]]
    assert bal.stable_fixed_point and bal.differential_nash and bal.flow == "stable"
    x, y = sp.symbols("x y", real=True)
    saddle = differentiable(-x ** 2 / 2, y ** 2 / 2, [x], [y], loss=True)   # H = diag(-1, 1)
    s = classify(saddle, "nl", [0.0], [0.0])
    assert s.strict_saddle and not s.stable_fixed_point and s.flow == "saddle"
    # Tandem's line: H = [[2, 2], [2, 2]] is PSD but singular -> not an SFP by the definition
    t = classify(games.tandem(), "nl", [0.25], [0.75])
    assert t.residual == 0 and not t.stable_fixed_point and t.flow == "non-hyperbolic"
    # away from a fixed point the game-theoretic tests do not apply
    assert not classify(games.balduzzi(), "nl", [1.0], [0.0]).stable_fixed_point


def test_as_dict_and_bad_input():
    s = classify(MP, "lola", [0.0], [0.0], delta=1.0, eta=1.0)
    d = s.as_dict()
    assert d["flow"] == "stable" and len(d["eigenvalues"]) == 2
    with pytest.raises(ValueError, match="one point"):
        classify(MP, "nl", [[0.0], [1.0]], [[0.0], [1.0]])
    with pytest.raises(ValueError, match="delta"):
        classify(MP, "nl", [0.0], [0.0], delta=-1.0)
    with pytest.raises(ValueError, match="unknown rule"):
        classify(MP, "nope", [0.0], [0.0])


# ---------------------------------------------------------------- exact threshold, every rate
#: bisection of rho(I + delta J) (200 halvings) vs the closed form: both limited by the
#: rounding of numpy's eigenvalues of a 2x2 or 10x10 matrix, ~1e3 eps relative
RTOL_THRESHOLD_BISECTION = 1e-9
#: 40 generic rates in (0, 5], away from branch points
GENERIC_RATES = tuple(np.round(np.linspace(0.05, 4.95, 40), 10) + 1e-7)
#: where some case changes formula: Tandem LOLA/LA (1/2), LOLA-full (1/4), HOLA (root of
#: 8x^3 - 8x^2 + 2x - 1); Balduzzi LA (1) and matching pennies HOLA (2 sqrt 2), where the
#: eigenvalues turn real and the two formulas meet
SPECIAL_RATES = (0.25, 0.5, 0.8774388331233464, 1.0, 2 * 2 ** 0.5)
#: offsets of the rates added on both sides of each special rate and branch point
NEAR = (1e-3, 1e-5)
#: largest relative disagreement per case (printed with -s by the last threshold test)
WORST_THRESHOLD_ERROR = {}


def _bisect_on_range(J, iters=200):
    """sup{delta > 0 : rho(I + delta J) < 1} by bisection, on the range of J.

    Independent of the eigenvalue formula: only the spectral radius of the map is used.
    Zero eigenvalues (directions along a set of fixed points, e.g. Tandem's line) are
    removed as in the definition of delta*, by restricting J to its range (an invariant
    subspace), orthonormal basis from the SVD; J = 0 gives inf.
    """
    J = np.asarray(J, dtype=float)
    U, s, _ = np.linalg.svd(J)
    if s[0] == 0:
        return float("inf")
    Q = U[:, : int(np.sum(s > 1e-12 * s[0]))]
    Jr = Q.T @ J @ Q
    lo = 1e-6 / s[0]
    if spectral_radius(Jr, lo) >= 1:
        return 0.0
    hi = 2 * lo
    while spectral_radius(Jr, hi) < 1:
        lo, hi = hi, 2 * hi
        if hi > 1e300:
            return float("inf")
    for _ in range(iters):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if spectral_radius(Jr, mid) < 1 else (lo, mid)
    return lo


def _branch_points(expr, rate) -> list:
    """The positive numbers ``c`` in conditions ``rate < c``, ``Eq(rate, c)`` of a Piecewise."""
    pts = set()
    for pw in expr.atoms(sp.Piecewise):
        for _, cond in pw.args:
            for rel in cond.atoms(sp.Rel):
                diff = rel.lhs - rel.rhs
                if sp.diff(diff, rate) in (1, -1):
                    pts.add(float(abs(diff.subs(rate, 0))))
    return sorted(p for p in pts if p > 0)


def _rates(expr, rate) -> list:
    special = set(SPECIAL_RATES) | set(_branch_points(expr, rate))
    near = [b + s * e for b in special for e in NEAR for s in (-1, 1)]
    return sorted(v for v in set(GENERIC_RATES) | set(near) if 0 < v <= 5.0)


THRESHOLD_CASES = [
    ("matching_pennies", "nl"), ("matching_pennies", "la"), ("matching_pennies", "lola"),
    ("matching_pennies", "lola_full"), ("matching_pennies", "exact_lola"),
    ("matching_pennies", "hola"), ("matching_pennies", "lola2"), ("matching_pennies", "co"),
    ("tandem", "nl"), ("tandem", "la"), ("tandem", "lola"), ("tandem", "lola_full"),
    ("tandem", "exact_lola"), ("tandem", "hola"), ("tandem", "lola2"), ("tandem", "co"),
    ("balduzzi", "la"), ("hamiltonian", "lola"), ("ultimatum", "lola2"),
    ("chicken_one_shot", "exact_lola"),
]


@pytest.mark.parametrize("game_name, rule", THRESHOLD_CASES)
def test_exact_threshold_is_right_for_every_rate(game_name, rule):
    """The symbolic delta*(eta) vs bisection of the spectral radius at each rate of a grid.

    The reference matrix is the exact Jacobian at the (rational) rate, rounded to float
    only at the end: near a branch point an eigenvalue is tiny and the compiled Jacobian
    loses relative accuracy to cancellation (1e-8 at 1e-5 from Tandem HOLA's branch
    point). The compiled Jacobian is checked too, with numeric lr_threshold, at the
    generic rates. Before the fix Tandem's LOLA threshold was -1/(2(2 eta - 1)) for every
    eta: negative for eta > 1/2, where no rate converges (delta* = 0).
    """
    game = games.by_name(game_name)
    name = "gamma" if rule == "co" else "eta"
    rate = sp.Symbol(name, positive=True)
    takes = name in get_rule(rule).hyper
    z1, z2 = [0] * game.dims[0], [0] * game.dims[1]
    expr = exact_lr_threshold(game, rule, z1, z2)
    assert expr.free_symbols <= {rate}
    J_exact = exact_jacobian(game, rule, z1, z2)
    branches = _branch_points(expr, rate)
    worst = 0.0
    for v in _rates(expr, rate):
        exact_v = sp.Rational(repr(float(v)))
        got = float(expr.subs(rate, exact_v))
        J = np.array(J_exact.subs(rate, exact_v).evalf(30), dtype=float)
        refs = [(_bisect_on_range(J), RTOL_THRESHOLD_BISECTION)]
        lam = np.abs(np.linalg.eigvals(J))
        lam_min = np.min(lam[lam > 1e-12 * max(lam.max(), 1e-300)], initial=np.inf)
        # numeric lr_threshold counts |lambda| <= EIG_TOL max(1, |lambda|_max) as 0 (e.g.
        # saturated sigmoids in chicken at eta > 2.5, |lambda| ~ 1e-10): compare above that
        numeric_ok = lam_min > 1e3 * EIG_TOL * max(1.0, lam.max())
        if numeric_ok:
            refs.append((lr_threshold(np.linalg.eigvals(J)), RTOL_THRESHOLD_BISECTION))
        if numeric_ok and v in GENERIC_RATES and all(abs(v - b) > 1e-2 for b in branches):
            Jc = jacobian(game, rule, np.zeros(game.dims[0]), np.zeros(game.dims[1]),
                          **({name: float(v)} if takes else {}))
            # first-order error budget: the compiled J's measured rounding error moves each
            # eigenvalue by about its norm, delta* by that relative to the smallest |lambda|
            budget = 4 * np.linalg.norm(Jc - J, 2) / lam_min
            refs.append((lr_threshold(np.linalg.eigvals(Jc)), RTOL_THRESHOLD_BISECTION + budget))
        for ref, rtol in refs:
            if np.isinf(ref) or ref == 0:
                assert got == ref, (v, got, refs)
            else:
                assert got == pytest.approx(ref, rel=rtol), (v, got, refs)
                if rtol == RTOL_THRESHOLD_BISECTION:
                    worst = max(worst, abs(got - ref) / ref)
    WORST_THRESHOLD_ERROR[(game_name, rule)] = worst
    assert worst < RTOL_THRESHOLD_BISECTION


def test_tandem_lola_threshold_branches():
    """J = (4 eta - 2) [[1, 1], [1, 1]]: eigenvalues 0 (along the fixed line) and 8 eta - 4."""
    expr = exact_lr_threshold(games.tandem(), "lola", [0], [0])
    half = sp.Rational(1, 2)
    for v in (sp.Rational(1, 10), sp.Rational(1, 4), sp.Rational(49, 100)):
        assert expr.subs(ETA, v) == 1 / (2 * (1 - 2 * v))
    assert expr.subs(ETA, half) == sp.oo        # J = 0: every rate keeps the point
    for v in (sp.Rational(51, 100), 1, 5):
        assert expr.subs(ETA, v) == 0
    J = jacobian(games.tandem(), "lola", [0.0], [0.0], eta=0.5)
    assert lr_threshold(np.linalg.eigvals(J)) == float("inf")
    # numbers for the rate give the branch's value
    assert exact_lr_threshold(games.tandem(), "lola", [0], [0], eta=1) == 0
    assert exact_lr_threshold(games.tandem(), "lola", [0], [0], eta="1/4") == 1


def test_threshold_branch_at_an_irrational_rate():
    """HOLA on matching pennies: lambda = -eta/8 +- i (8 - eta^2)/32, a real double root at
    eta = 2 sqrt(2), where the two formulas agree; HOLA on Tandem has the eigenvalue
    -4 (8 eta^3 - 8 eta^2 + 2 eta - 1)^2, zero at the cubic's (irrational) root."""
    expr = exact_lr_threshold(MP, "hola", [0], [0])
    assert sp.simplify(expr - 256 * ETA / (ETA ** 4 + 64)) == 0
    tandem = exact_lr_threshold(games.tandem(), "hola", [0], [0])
    assert isinstance(tandem, sp.Piecewise) and len(_branch_points(tandem, ETA)) >= 1


def test_the_bisection_reference_can_fail():
    """A threshold off by 1e-6 (relative) is caught; so is the old negative branch."""
    J = jacobian(MP, "lola", [0.0], [0.0], eta=1.0)
    ref = _bisect_on_range(J)
    assert ref == pytest.approx(32 / 17, rel=RTOL_THRESHOLD_BISECTION)
    assert abs(32 / 17 * (1 + 1e-6) - ref) > RTOL_THRESHOLD_BISECTION * ref
    J = jacobian(games.tandem(), "lola", [0.0], [0.0], eta=1.0)
    assert _bisect_on_range(J) == 0.0 and -1 / (2 * (2 * 1.0 - 1)) != 0.0


def test_threshold_of_iterated_matching_pennies_at_nash():
    """10 x 10 Jacobian: two quadratic factors; the memory states bind (LOLA paper's IMP)."""
    game = games.imp()
    expr = exact_lr_threshold(game, "lola", [0] * 5, [0] * 5)
    for v in (0.5, 1.0, 3.0):
        J = jacobian(game, "lola", np.zeros(5), np.zeros(5), eta=v)
        assert float(expr.subs(ETA, v)) == pytest.approx(_bisect_on_range(J),
                                                        rel=RTOL_THRESHOLD_BISECTION)


def test_threshold_without_closed_form_is_refused():
    """IPD LOLA at theta = 0: irreducible quintic factors, no closed form in eta."""
    with pytest.raises(ValueError, match="degree 5"):
        exact_lr_threshold(games.ipd(), "lola", [0] * 5, [0] * 5)


# ---------------------------------------------------------------- bad numeric arguments
#: values that are not a usable tolerance, rate or scale, and the error each must raise
NOT_POSITIVE = [(float("nan"), ValueError), (float("inf"), ValueError), (0.0, ValueError),
                (-1e-9, ValueError), (True, TypeError), ("1e-9", TypeError), (None, TypeError),
                (1j, TypeError)]
ROT = [[0.0, -1.0], [1.0, 0.0]]


@pytest.mark.parametrize("bad, error", NOT_POSITIVE)
def test_tolerances_are_validated(bad, error):
    """Before: classify(tol=nan) and classify_flow(tol=nan) returned an arbitrary label."""
    calls = {"classify_flow": lambda: classify_flow([1j, -1j], tol=bad),
             "lr_threshold": lambda: lr_threshold([-1 + 1j, -1 - 1j], tol=bad),
             "classify_map": lambda: classify_map(ROT, 0.1, tol=bad),
             "classify": lambda: classify(MP, "nl", [0.0], [0.0], tol=bad)}
    for name, call in calls.items():
        with pytest.raises(error, match="tol"):
            call()
    with pytest.raises(error, match="fixed_tol"):
        classify(MP, "nl", [0.0], [0.0], fixed_tol=bad)


@pytest.mark.parametrize("bad, error", NOT_POSITIVE)
def test_rates_are_validated(bad, error):
    from lola_sym.jacobian import map_jacobian
    calls = [lambda: spectral_radius(ROT, bad), lambda: classify_map(ROT, bad),
             lambda: map_jacobian(np.array(ROT), bad), lambda: map_jacobian(sp.Matrix(ROT), bad)]
    if bad is not None:         # classify(delta=None): no map to classify
        calls.append(lambda: classify(MP, "nl", [0.0], [0.0], delta=bad))
    for call in calls:
        with pytest.raises(error, match="delta"):
            call()
    assert map_jacobian(sp.Matrix(ROT), sp.Symbol("delta")).free_symbols == {sp.Symbol("delta")}


@pytest.mark.parametrize("eigenvalues, error, match", [
    ([], ValueError, "at least one"), ([np.nan, -1.0], ValueError, "finite"),
    ([np.inf], ValueError, "finite"), ([[-1.0, -2.0]], ValueError, "1-d"),
    (["a"], TypeError, "numbers"), ("-1", TypeError, "numbers"), (None, TypeError, "numbers"),
])
def test_eigenvalues_are_validated(eigenvalues, error, match):
    """Before: classify_flow([]) was 'stable' and classify_flow([nan]) 'non-hyperbolic'."""
    for f in (classify_flow, lr_threshold):
        with pytest.raises(error, match=f"eigenvalues.*{match}"):
            f(eigenvalues)


@pytest.mark.parametrize("J, error, match", [
    ([[np.nan, 0.0], [0.0, 1.0]], ValueError, "finite"), ([[1.0, 2.0]], ValueError, "square"),
    ([1.0, 2.0], ValueError, "square"), ([[1j, 0], [0, 1]], TypeError, "real"),
    ([["a", "b"], ["c", "d"]], TypeError, "real"), (np.zeros((0, 0)), ValueError, "square"),
])
def test_jacobians_are_validated(J, error, match):
    for call in (lambda: spectral_radius(J, 0.1), lambda: classify_map(J, 0.1)):
        with pytest.raises(error, match=f"J .*{match}"):
            call()


# the analysis front-ends (nash_report, portraits) are tested here with the functions they call
def test_nash_report_arguments_are_validated():
    """Before: near=nan counted no run as converged; a string of rules was split in letters."""
    from lola_sym.nash_report import matching_pennies_report
    ok = dict(rules=["nl"], include=("one-shot",), runs=1, steps=1)
    nan = float("nan")
    cases = [("rules", "lola", TypeError), ("include", "one-shot", TypeError),
             ("rules", [], ValueError), ("delta", nan, ValueError), ("delta", 0, ValueError),
             ("eta", nan, ValueError), ("eta", -1.0, ValueError), ("eta", "1", TypeError),
             ("runs", 0, ValueError), ("runs", True, TypeError), ("steps", -1, ValueError),
             ("steps", 2.5, TypeError), ("init_std", nan, ValueError),
             ("init_std", -0.5, ValueError), ("near", nan, ValueError), ("near", 0.0, ValueError),
             ("near", "0.01", TypeError), ("seed", -1, ValueError), ("seed", 1.5, TypeError)]
    for name, bad, error in cases:
        with pytest.raises(error, match=name):
            matching_pennies_report(**{**ok, name: bad})


def test_portrait_arguments_are_validated():
    from lola_sym.portraits import basins, plane_points, portrait, vector_field
    tandem = games.tandem()
    with pytest.raises(TypeError, match="x must"):
        vector_field(tandem, "nl", ["a", "b"], [0.0, 1.0])
    with pytest.raises(TypeError, match="y must"):
        vector_field(tandem, "nl", [0.0, 1.0], [True, False])
    with pytest.raises(ValueError, match="x must"):
        plane_points(tandem, [0.0, np.nan], [0.0, 1.0])
    ipd = games.ipd()
    for axes in (((True, 0), (2, 0)), ((1, 0.5), (2, 0)), ((1, "0"), (2, 0))):
        with pytest.raises(TypeError, match="axes"):
            plane_points(ipd, [0.0, 1.0], [0.0, 1.0], axes=axes)
    for base in (([0.0] * 4, [0.0] * 5), ([np.nan] * 5, [0.0] * 5), np.zeros(10), "ab"):
        with pytest.raises(ValueError, match="base"):
            plane_points(ipd, [0.0, 1.0], [0.0, 1.0], axes=((1, 0), (2, 0)), base=base)
    kw = dict(x=[-1.0, 1.0], y=[-1.0, 1.0], points=[([0.0], [0.0])], steps=2)
    for bad, error, match in [({"radius": float("nan")}, ValueError, "radius"),
                              ({"radius": 0.0}, ValueError, "radius"),
                              ({"radius": "0.1"}, TypeError, "radius"),
                              ({"points": [([np.nan], [0.0])]}, ValueError, "points"),
                              ({"points": [([0.0, 1.0], [0.0])]}, ValueError, "points"),
                              ({"points": "ab"}, TypeError, "points"),
                              ({"delta": float("nan")}, ValueError, "delta")]:
        with pytest.raises(error, match=match):
            basins(tandem, "nl", **{**kw, **bad})
    for bad, error, match in [({"trajectories": -1}, ValueError, "trajectories"),
                              ({"trajectories": 1.5}, TypeError, "trajectories"),
                              ({"trajectories": True}, TypeError, "trajectories"),
                              ({"delta": float("nan")}, ValueError, "delta"),
                              ({"steps": 0}, ValueError, "steps"),
                              ({"starts": 0}, ValueError, "starts"),
                              ({"seed": -3}, ValueError, "seed")]:
        with pytest.raises(error, match=match):
            portrait(MP, "nl", [-1.0, 1.0], [-1.0, 1.0], **bad)
