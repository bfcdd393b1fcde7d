"""The exact learning-rate threshold (lola_sym.analysis.thresholds) against bisection and lr_threshold."""

import numpy as np
import pytest
import sympy as sp

from lola_sym import games
from lola_sym.analysis.jacobian import exact_jacobian, jacobian
from lola_sym.rules import get_rule
from lola_sym.analysis.stability import EIG_TOL, lr_threshold, spectral_radius
from lola_sym.analysis.thresholds import exact_lr_threshold
from tolerances import RTOL_THRESHOLD_BISECTION

ETA = sp.Symbol("eta", positive=True)
MP = games.matching_pennies()

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
