"""Exact analysis of game families: Jacobians and thresholds keep the games' symbols.

Games with free symbols (``game.parameters``): one-shot :class:`DifferentiableGame` families
(payoff constants in the values) and the symbolic IPD (R, S, T, P, gamma). Their fields take
the symbols' values at call time; the exact analyses return expressions in them.
"""

import numpy as np
import pytest
import sympy as sp

import lola_sym as ls
from lola_sym import games
from lola_sym.games import differentiable, ipd
from lola_sym.analysis.fixed_points import exact_fixed_points, find_fixed_points, residual
from lola_sym.analysis.jacobian import exact_jacobian, jacobian, jacobian_function, symbolic_jacobian
from lola_sym.program import sigmoid
from lola_sym.analysis.stability import classify, lr_threshold
from lola_sym.analysis.thresholds import exact_lr_threshold
from test_thresholds import _bisect_on_range
from tolerances import EPS, RTOL_THRESHOLD_BISECTION

A, B, C = sp.symbols("a b c", real=True)
X, Y = sp.symbols("x y", real=True)
ETA = sp.Symbol("eta", positive=True)

#: a family's field with numbers vs the substituted game's own field: the same arithmetic
#: with the constants passed as arguments instead of folded in (a few ulp of the largest
#: entry; measured below 4e-15)
RTOL_FAMILY_FIELD = 1e-13
#: symbolic IPD with numbers vs the numeric game, both compiled (issue: 1e-12)
RTOL_IPD_COMPILED = 1e-12


def bilinear():
    r"""Losses :math:`c x y + a x^2/2` and :math:`-c x y + b y^2/2`.

    NL's Jacobian is :math:`-[[a, c], [-c, b]]`: trace :math:`-(a + b)`, determinant
    :math:`ab + c^2`; its eigenvalues are real or complex depending on
    :math:`(a - b)^2 - 4c^2`, so the threshold changes formula with the payoffs.
    """
    return differentiable(C * X * Y + A * X ** 2 / 2, -C * X * Y + B * Y ** 2 / 2, [X], [Y],
                          loss=True, name="bilinear")


def one_shot_pd():
    """A one-shot 2x2 game with sigmoid policies and symbolic payoffs (player 2 mirrored)."""
    R, S, T, P = sp.symbols("R S T P", real=True)
    p, q, pb, qb = sigmoid(X), sigmoid(Y), sigmoid(-X), sigmoid(-Y)
    V1 = R * p * q + S * p * qb + T * pb * q + P * pb * qb
    V2 = R * p * q + T * p * qb + S * pb * q + P * pb * qb
    return differentiable(V1, V2, [X], [Y], name="one-shot PD family")


def zero_sum_2x2():
    """The zero-sum one-shot 2x2 family with sigmoid policies (matching pennies at R = P = 1,
    S = T = -1)."""
    R, S, T, P = sp.symbols("R S T P", real=True)
    p, q, pb, qb = sigmoid(X), sigmoid(Y), sigmoid(-X), sigmoid(-Y)
    V1 = R * p * q + S * p * qb + T * pb * q + P * pb * qb
    return differentiable(V1, -V1, [X], [Y], name="zero-sum 2x2 family")


def _rational(rng, lo, hi):
    return sp.Rational(int(rng.integers(lo * 10, hi * 10 + 1)), 10)


# ------------------------------------------------------------- (a) thresholds in the payoffs
@pytest.mark.parametrize("rule", ["nl", "lola", "la", "hola", "co"])
def test_threshold_in_the_payoffs_matches_bisection(rule):
    """delta*(a, b, c, rate) at 12 random payoffs and rates vs bisection of rho(I + delta J).

    References independent of the eigenvalue formula: bisection of the spectral radius on
    the exact Jacobian at those numbers (rounded to float at the end) and on the compiled
    Jacobian of the family with the numbers given at call time; and numeric lr_threshold on
    the compiled Jacobian. The substituted game's own exact threshold is the same number.
    """
    game = bilinear()
    rate_name = "gamma" if rule == "co" else "eta"
    rate = sp.Symbol(rate_name, positive=True)
    expr = exact_lr_threshold(game, rule, [0], [0])
    assert expr.free_symbols == ({A, B, C} if rule == "nl" else {A, B, C, rate})
    J_exact = exact_jacobian(game, rule, [0], [0])
    rng = np.random.default_rng(7)
    kinds = set()
    for k in range(12):
        values = {A: _rational(rng, -2, 2), B: _rational(rng, -2, 2), C: _rational(rng, -2, 2)}
        r = _rational(rng, 0.1, 2) if rule != "nl" else None
        at = {**values, **({rate: r} if r is not None else {})}
        got = expr.xreplace(at)
        assert got.is_real or got == sp.oo, (at, got)
        got = float(got)
        J = np.array(J_exact.subs(at).evalf(30), dtype=float)
        hyper = {rate_name: float(r)} if r is not None else {}
        Jc = jacobian(game, rule, [0.0], [0.0],
                      parameters={s.name: float(v) for s, v in values.items()}, **hyper)
        np.testing.assert_allclose(Jc, J, rtol=0, atol=100 * EPS * max(1.0, np.abs(J).max()))
        for ref in (_bisect_on_range(J), _bisect_on_range(Jc), lr_threshold(np.linalg.eigvals(Jc))):
            if ref == 0 or np.isinf(ref):
                assert got == ref, (at, got, ref)
            else:
                assert got == pytest.approx(ref, rel=RTOL_THRESHOLD_BISECTION), (at, got, ref)
        kinds.add("zero" if got == 0 else "positive")
        if k < 3:                       # the substituted game's threshold, exactly
            numeric = exact_lr_threshold(game.substitute(**{s.name: v for s, v in values.items()}),
                                         rule, [0], [0], **({rate_name: r} if r else {}))
            assert sp.simplify(expr.xreplace(at) - numeric) == 0
    assert kinds == {"zero", "positive"}         # both regimes were visited


def test_threshold_in_the_payoffs_closed_form():
    """NL: complex pair when (a - b)^2 < 4c^2, threshold (a + b) / (ab + c^2) if a + b > 0."""
    expr = exact_lr_threshold(bilinear(), "nl", [0], [0])
    assert expr.subs({A: 1, B: 1, C: 1}) == 1                  # (1 + 1) / (1 + 1)
    assert expr.subs({A: 1, B: -2, C: 1}) == 0                 # a + b < 0: no rate converges
    assert expr.subs({A: 1, B: 3, C: 0}) == sp.Rational(2, 3)  # real -1, -3: 2 / 3
    assert expr.subs({A: 1, B: 3, C: sp.Rational(1, 2)}) == 4 / (4 + sp.sqrt(3))  # -2 +- sqrt3/2
    assert expr.subs({A: 0, B: 0, C: 1}) == 0                  # a centre (Hamiltonian)


def test_threshold_of_a_sigmoid_family():
    """Zero-sum 2x2 family under LOLA at theta = 0 vs bisection at random payoffs; at
    matching pennies' payoffs it is the catalogue game's 32 eta / (eta^2 + 16)."""
    game = zero_sum_2x2()
    expr = exact_lr_threshold(game, "lola", [0], [0])
    assert expr.free_symbols == set(game.parameters) | {ETA}
    mp = {s: v for s, v in zip(game.parameters, (1, 1, -1, -1))}       # P, R, S, T
    assert sp.simplify(expr.xreplace(mp) - 32 * ETA / (ETA ** 2 + 16)) == 0
    J_exact = exact_jacobian(game, "lola", [0], [0])
    rng = np.random.default_rng(3)
    for _ in range(12):
        values = {s: _rational(rng, -3, 3) for s in game.parameters}
        at = {**values, ETA: _rational(rng, 0.1, 3)}
        J = np.array(J_exact.subs(at).evalf(30), dtype=float)
        got, ref = float(expr.xreplace(at)), _bisect_on_range(J)
        assert got == ref if ref in (0.0, np.inf) else \
            got == pytest.approx(ref, rel=RTOL_THRESHOLD_BISECTION), (at, got, ref)


def test_symmetric_sigmoid_family_is_never_lola_stable_at_the_centre():
    """The general-sum family of one_shot_pd: the threshold's conditions say, for every payoff
    and rate, that no rate converges at theta = 0 (the eigenvalues u (eta u -+ 16) / 512,
    u = P + R - S - T, never both negative)."""
    game = one_shot_pd()
    expr = exact_lr_threshold(game, "lola", [0], [0])
    rng = np.random.default_rng(4)
    for _ in range(10):
        at = {**{s: _rational(rng, -3, 3) for s in game.parameters}, ETA: _rational(rng, 0.1, 3)}
        assert expr.xreplace(at) in (0, sp.oo)


def test_the_family_threshold_check_can_fail():
    """A threshold with a wrong coupling (2c for c) is caught."""
    expr = exact_lr_threshold(bilinear(), "lola", [0], [0])
    wrong = expr.xreplace({C: 2 * C})
    at = {A: sp.Rational(1, 2), B: sp.Rational(3, 10), C: sp.Rational(7, 10), ETA: 1}
    J = np.array(exact_jacobian(bilinear(), "lola", [0], [0]).subs(at), dtype=float)
    ref = _bisect_on_range(J)
    assert float(expr.xreplace(at)) == pytest.approx(ref, rel=RTOL_THRESHOLD_BISECTION)
    assert abs(float(wrong.xreplace(at)) - ref) > 1e3 * RTOL_THRESHOLD_BISECTION * ref


# ------------------------------------------------------------- (b) the symbolic IPD at a point
IPD_NUMBERS = ({"R": -1, "S": -3, "T": 0, "P": -2, "gamma": sp.Rational(24, 25)},
               {"R": 3, "S": 0, "T": 5, "P": 1, "gamma": sp.Rational(9, 10)})


def _ipd_exact(rule, hyper):
    """The family's exact Jacobian at theta = 0 with numbers = the numeric game's, exactly."""
    g = ipd(symbolic=True)
    z = [0] * 5
    J = exact_jacobian(g, rule, z, z)
    by_name = {s.name: s for s in J.free_symbols}
    assert set(by_name) == {"R", "S", "T", "P", "gamma"} | ({"eta"} if hyper else set())
    exact_at = []
    for numbers in IPD_NUMBERS:
        got = J.xreplace({by_name[k]: v for k, v in numbers.items()}).applyfunc(sp.cancel)
        assert got == exact_jacobian(g.substitute(**numbers), rule, z, z)   # rationals, exactly
        exact_at.append(got)
    assert exact_at[0] == exact_jacobian(ipd(), rule, z, z)      # the catalogue's IPD
    assert exact_at[0] != exact_at[1]
    return exact_at


def test_symbolic_ipd_nl_jacobian_at_a_point():
    """NL on the symbolic IPD at theta = 0: rational functions of R, S, T, P, gamma that
    give the numeric games' exact Jacobians."""
    J = _ipd_exact("nl", {})
    # the game Hessian at theta = 0 is not symmetric in general (not a potential game)
    assert J[0] != J[0].T


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["nl", "lola"])
def test_symbolic_ipd_jacobian_at_a_point_matches_compiled(rule):
    """The symbolic IPD's Jacobian at theta = 0 (LOLA: in R, S, T, P, gamma, eta) with numbers
    = the numeric games' exact ones, and = the compiled Jacobians to 1e-12: the family's with
    the numbers at call time and the numeric game's (LOLA about a minute: derivations, exact
    evaluation, and C compilation of two 10 x 10 Jacobian programs)."""
    hyper = {"eta": True} if rule == "lola" else {}
    exact_at = _ipd_exact(rule, hyper)
    g = ipd(symbolic=True)
    for numbers, exact in zip(IPD_NUMBERS, exact_at):
        for eta in (sp.Rational(1, 2), 2):
            want = np.array(exact.subs(ETA, eta), dtype=float)
            rates = {"eta": float(eta)} if hyper else {}
            family = jacobian(g, rule, np.zeros(5), np.zeros(5),
                              parameters={k: float(v) for k, v in numbers.items()}, **rates)
            numeric = jacobian(g.substitute(**numbers), rule, np.zeros(5), np.zeros(5), **rates)
            scale = np.abs(want).max()
            for Jc in (family, numeric):
                assert np.max(np.abs(Jc - want)) <= RTOL_IPD_COMPILED * scale
    # the check can fail: the two games' Jacobians are far apart
    other = np.array(exact_at[0].subs(ETA, 2), dtype=float)
    assert np.max(np.abs(other - want)) > 1e3 * RTOL_IPD_COMPILED * scale


# ------------------------------------------------------------- (c) fields of a one-shot family
@pytest.mark.parametrize("rule, hyper", [("nl", {}), ("lola", {"eta": 0.7}),
                                         ("exact_lola", {"eta": 0.4}), ("sos", {})])
@pytest.mark.parametrize("make", [bilinear, one_shot_pd], ids=["bilinear", "sigmoid"])
def test_family_field_with_values_equals_substituted_field(make, rule, hyper):
    """The family's field with numbers at call time (broadcast over 3 rows) vs each
    substituted game's own compiled field, and the values likewise."""
    game = make()
    rng = np.random.default_rng(5)
    names = [s.name for s in game.parameters]
    rows = [{n: _rational(rng, -2, 2) for n in names} for _ in range(3)]
    t1, t2 = rng.normal(size=(2, 3, 1))
    columns = {n: np.array([float(r[n]) for r in rows]) for n in names}
    f = ls.update_field(game, rule, **hyper)
    g1, g2 = f(t1, t2, **columns)
    v = game.value(t1, t2, **columns)
    for k, row in enumerate(rows):
        sub = game.substitute(**row)
        assert not sub.parameters
        r1, r2 = ls.update_field(sub, rule, **hyper)(t1[k], t2[k])
        scale = max(1.0, np.abs(np.concatenate([r1, r2])).max())
        assert np.max(np.abs(np.concatenate([g1[k] - r1, g2[k] - r2]))) <= RTOL_FAMILY_FIELD * scale
        vr = sub.value(t1[k], t2[k])
        assert np.max(np.abs(v[k] - vr)) <= RTOL_FAMILY_FIELD * max(1.0, np.abs(vr).max())
    # the check can fail: another row's numbers give another field
    other = ls.update_field(game.substitute(**rows[1]), rule, **hyper)(t1[0], t2[0])
    assert np.max(np.abs(np.concatenate(other) - np.concatenate([g1[0], g2[0]]))) > 1e-6


def test_family_jacobian_function_and_classify():
    """Numeric analyses take the symbols' values: J(t1, t2, **values), classify(parameters=)."""
    game = bilinear()
    J = jacobian_function(game, "nl")
    got = J([0.0], [0.0], a=[1.0, -1.0], b=2.0, c=0.5)
    assert got.shape == (2, 2, 2)
    np.testing.assert_array_equal(got[0], [[-1.0, -0.5], [0.5, -2.0]])
    st = classify(game, "nl", [0.0], [0.0], parameters={"a": 1, "b": 2, "c": 0.5}, delta=0.1)
    assert st.flow == "stable" and st.map == "converges" and st.differential_nash
    assert st.as_dict()["parameters"] == {"a": 1.0, "b": 2.0, "c": 0.5}
    assert classify(game, "nl", [0.0], [0.0], parameters={"a": -1, "b": 2, "c": 0}).flow \
        == "saddle"


def test_symbolic_jacobian_keeps_the_payoffs():
    """The full symbolic Jacobian in theta, payoffs and eta; at theta = 0 it is exact_jacobian."""
    game = one_shot_pd()
    J = symbolic_jacobian(game, "lola")
    assert set(game.parameters) <= J.free_symbols
    at = J.subs({X: 0, Y: 0})
    assert sp.simplify(at - exact_jacobian(game, "lola", [0], [0])) == sp.zeros(2, 2)


# ------------------------------------------------------------- (d) bad inputs
def test_game_symbols_are_checked_on_construction():
    """Every rule of the module docstring of lola_sym.games.differentiable, one by one."""
    x, y = X, Y
    with pytest.raises(ValueError, match="declared real"):
        differentiable(sp.Symbol("k") * x * y, -x * y, [x], [y])
    with pytest.raises(ValueError, match="reserved"):
        differentiable(sp.Symbol("eta", positive=True) * x * y, -x * y, [x], [y])
    with pytest.raises(ValueError, match="reserved"):
        differentiable(sp.Symbol("gamma", real=True) * x * y, -x * y, [x], [y])
    with pytest.raises(ValueError, match="identifier"):
        differentiable(sp.Symbol("_a", real=True) * x * y, -x * y, [x], [y])
    with pytest.raises(ValueError, match="identifier"):
        differentiable(sp.Symbol("a b", real=True) * x * y, -x * y, [x], [y])
    with pytest.raises(ValueError, match="agent's parameter"):
        differentiable(sp.Symbol("x", positive=True) * x * y, -x * y, [x], [y])
    with pytest.raises(ValueError, match="share|two game symbols"):
        differentiable(sp.Symbol("a", real=True) * x * y, sp.Symbol("a", positive=True) * x * y,
                       [x], [y])
    with pytest.raises(TypeError, match="Symbol"):
        differentiable(sp.IndexedBase("w")[1] * x * y, -x * y, [x], [y])
    with pytest.raises(TypeError, match="Symbol"):
        differentiable(sp.Dummy("d", real=True) * x * y, -x * y, [x], [y])


@pytest.mark.parametrize("values, error, match", [
    ({"a": 1, "b": 2}, ValueError, r"missing \['c'\]"),
    ({"a": 1, "b": 2, "c": 3, "d": 4}, ValueError, "no symbol 'd'"),
    ({"a": 1, "b": 2, "c": float("nan")}, ValueError, "c must be finite"),
    ({"a": 1, "b": 2, "c": np.inf}, ValueError, "c must be finite"),
    ({"a": 1, "b": 2, "c": 1e301}, ValueError, "at most"),
    ({"a": 1, "b": 2, "c": "3"}, TypeError, "c must be an array of numbers"),
    ({"a": 1, "b": 2, "c": True}, TypeError, "c must hold real numbers"),
    ({"a": 1, "b": 2, "c": 1j}, TypeError, "c must hold real numbers"),
    ({"a": 1, "b": 2, "c": [1.0, None]}, TypeError, "c must hold real numbers"),
    ({"a": 1, "b": 2, "c": sp.I}, ValueError, "c must be a finite real number"),
    ({"a": 1, "b": 2, "c": sp.Symbol("z")}, TypeError, "c must be a number"),
    ({"a": [1, 2], "b": [1, 2, 3], "c": 0}, ValueError, "do not broadcast"),
])
def test_bad_parameter_values_are_refused(values, error, match):
    game = bilinear()
    with pytest.raises(error, match=match):
        game.parameter_array(**values)
    with pytest.raises(error, match=match):
        ls.update_field(game, "nl")([0.0], [0.0], **values)
    with pytest.raises(error, match=match):
        game.value([0.0], [0.0], **values)


def test_parameter_values_are_read_and_signs_enforced():
    game = bilinear()
    assert game.parameter_array(a=sp.Rational(1, 2), b=np.float32(2), c=np.int64(-1)).tolist() \
        == [0.5, 2.0, -1.0]
    k = sp.Symbol("k", positive=True)
    pos = differentiable(k * X * Y, -X * Y, [X], [Y], name="k-game")
    with pytest.raises(ValueError, match="k is declared positive.*> 0"):
        pos.parameter_array(k=[1.0, 0.0])
    with pytest.raises(ValueError, match="k is declared positive"):
        pos.substitute(k=-1)
    with pytest.raises(TypeError, match="no symbols"):
        games.tandem().parameter_array(a=1)
    with pytest.raises(TypeError, match="no symbols"):
        games.tandem().value([0.0], [0.0], a=1)


def test_substitute_checks_its_numbers():
    game = bilinear()
    with pytest.raises(ValueError, match="no symbol 'd'"):
        game.substitute(d=1)
    with pytest.raises(TypeError, match="rational literal|number such as"):
        game.substitute(a="__import__('os').getpid()")
    with pytest.raises(ValueError, match="finite"):
        game.substitute(a=float("nan"))
    with pytest.raises(TypeError, match="bool"):
        game.substitute(a=True)
    assert game.substitute(a=0.1).V1 == -C * X * Y - X ** 2 / 20      # floats read exactly
    assert game.substitute(c=sp.sqrt(2)).V1.has(sp.sqrt(2))            # exact constants kept
    inv = differentiable(X * Y / A, -X * Y, [X], [Y], name="inverse")
    with pytest.raises(ValueError, match="nan or an infinity"):
        inv.substitute(a=0)
    assert game.substitute() == game and game.substitute(a=1, b=2, c=3).spec()["V1"] \
        == differentiable(3 * X * Y + X ** 2 / 2, -3 * X * Y + Y ** 2, [X], [Y], loss=True,
                          name="bilinear").spec()["V1"]


def test_spec_and_hash_cover_the_symbols():
    """Same values in other symbols are other games (other cache keys)."""
    g, h = bilinear(), bilinear().substitute(a=1)
    assert g.spec() != h.spec() and "parameters" in g.spec() and "parameters" not in \
        games.tandem().spec()
    k = sp.Symbol("a", positive=True)
    other = differentiable(C * X * Y + k * X ** 2 / 2, -C * X * Y + B * Y ** 2 / 2, [X], [Y],
                           loss=True, name="bilinear")
    assert other.spec() != g.spec() and other != g


def test_numeric_analyses_need_the_values():
    game = bilinear()
    with pytest.raises(ValueError, match=r"numeric Jacobian needs a value for each.*\['a', 'b', 'c'\]"):
        jacobian(game, "nl", [0.0], [0.0])
    with pytest.raises(ValueError, match=r"missing \['c'\]"):
        jacobian(game, "lola", [0.0], [0.0], parameters={"a": 1, "b": 1})
    with pytest.raises(ValueError, match="missing"):
        jacobian(game, "sos", [0.0], [0.0])                 # finite differences too
    with pytest.raises(TypeError, match="mapping"):
        jacobian(game, "nl", [0.0], [0.0], parameters=[1, 2, 3])
    with pytest.raises(ValueError, match="missing"):
        classify(game, "nl", [0.0], [0.0])
    with pytest.raises(ValueError, match="one point"):
        classify(game, "nl", [0.0], [0.0], parameters={"a": [1, 2], "b": 1, "c": 1})
    with pytest.raises(TypeError, match="no symbols"):
        jacobian(games.tandem(), "nl", [0.0], [0.0], parameters={"a": 1})


def test_a_symbol_named_like_a_rate_is_refused_by_the_analysis():
    """ipd(symbolic=True) has the discount gamma; CO's hyper-parameter is gamma too."""
    with pytest.raises(ValueError, match="symbol 'gamma'.*hyper-parameter 'gamma'"):
        exact_jacobian(ipd(symbolic=True), "co", [0] * 5, [0] * 5)
    with pytest.raises(ValueError, match="symbol 'gamma'.*hyper-parameter 'gamma'"):
        jacobian_function(ipd(symbolic=True), "co")


def test_threshold_without_closed_form_names_the_symbols():
    """A 3 x 3 Jacobian whose characteristic polynomial is an irreducible cubic over Q(a)."""
    x1, x2, y1 = sp.symbols("x1 x2 y1", real=True)
    game = differentiable(-A * x1 * y1 - x1 * x2 - x2 ** 2 / 3, A * x1 * y1 + x2 * y1 - y1 ** 2 / 5,
                          [x1, x2], [y1], name="cubic")
    J = exact_jacobian(game, "nl", [0, 0], [0])
    assert J.free_symbols == {A}
    with pytest.raises(ValueError, match="degree 3.*a.*substitute"):
        exact_lr_threshold(game, "nl", [0, 0], [0])
    # with a number for a the cubic's roots are exact CRootOf numbers
    assert float(exact_lr_threshold(game.substitute(a=1), "nl", [0, 0], [0])) >= 0


# ------------------------------------------------------------- (e) symbol values as keywords
PD = {"R": -1, "S": -3, "T": 0, "P": -2, "gamma": 0.96}
STAG = {"R": 4, "S": 0, "T": 3, "P": 2, "gamma": 0.96}


def test_symbolic_ipd_fixed_points_with_values_are_the_numeric_game_s():
    """find_fixed_points on ipd(symbolic=True) with the IPD's numbers as keywords vs on ipd():
    each search's points are fixed points of the other game, and from all-defect logits both
    end in the corner where the states mutual defection visits (s0 and DD) defect (the others'
    logits are rounding noise there: test_fixed_points); with the stag hunt's numbers vs
    stag_hunt(), both find the stationary mixed equilibrium, every logit log 2 (P(hunt) =
    (P - S)/(P + R - S - T) = 2/3: the opponent's play does not depend on the state, so
    nothing a player does changes its payoff), equal to 1e-9 and classified alike."""
    sym = ipd(symbolic=True)
    a = find_fixed_points(sym, "nl", starts=2, seed=0, x0=np.full((1, 10), -20.0), **PD)
    b = find_fixed_points(ipd(), "nl", starts=2, seed=0, x0=np.full((1, 10), -20.0))
    visited = {(1, 0, 0), (1, 4, 0), (2, 0, 0), (2, 4, 0)}
    for pts in (a, b):
        assert any(p.boundary and visited <= set(p.saturated) for p in pts)
        assert all(p.residual <= 1e-10 for p in pts)
    assert all(residual(ipd(), "nl", *p.thetas) <= 1e-10 for p in a)
    assert all(residual(sym, "nl", *p.thetas, **PD) <= 1e-10 for p in b)
    rng = np.random.default_rng(0)
    x0 = np.log(2) + 0.05 * rng.normal(size=(1, 10))
    a = find_fixed_points(sym, "nl", starts=1, seed=0, x0=x0, **STAG)
    b = find_fixed_points(games.stag_hunt(), "nl", starts=1, seed=0, x0=x0)
    inner = [[p for p in pts if not p.boundary] for pts in (a, b)]
    assert all(len(q) >= 1 for q in inner)
    za, zb = (np.concatenate(q[0].thetas) for q in inner)
    np.testing.assert_allclose(za, np.log(2), rtol=0, atol=1e-9)
    np.testing.assert_allclose(za, zb, rtol=0, atol=1e-9)
    sa = classify(sym, "nl", *inner[0][0].thetas, **STAG)
    sb = classify(games.stag_hunt(), "nl", *inner[1][0].thetas)
    assert sa.flow == sb.flow and sa.parameters == {k: float(v) for k, v in STAG.items()}
    np.testing.assert_allclose(sa.jacobian, sb.jacobian, rtol=0, atol=1e-9)
    # the check can fail: the PD's numbers have no interior point there
    c = find_fixed_points(sym, "nl", starts=1, seed=0, x0=x0, **PD)
    assert not any(np.max(np.abs(np.concatenate(p.thetas) - np.log(2))) < 1e-3 for p in c)


def test_exact_fixed_points_of_a_family_keep_the_payoffs():
    """The one-shot 2x2 family under NL: the mixed point p = (P - S)/(R - S - T + P) for both
    players, as an expression; numbers as keywords give the substituted game's solutions, and
    the numeric search with the same keywords finds logit(2/3) in the stag hunt."""
    game = one_shot_pd()
    R, S, T, P = (sp.Symbol(n, real=True) for n in "RSTP")
    p1, p2 = sp.symbols("p_1 p_2")
    mixed = (P - S) / (P + R - S - T)
    sols = exact_fixed_points(game, "nl")
    interior = [s for s in sols if not set(s.values()) <= {0, 1}]
    assert len(interior) == 1 and all(sp.simplify(v - mixed) == 0 for v in interior[0].values())
    numbers = {"R": 4, "S": 0, "T": 3, "P": 2}
    with_values = exact_fixed_points(game, "nl", **numbers)
    assert with_values == exact_fixed_points(game.substitute(**numbers), "nl")
    assert {p1: sp.Rational(2, 3), p2: sp.Rational(2, 3)} in with_values
    pts = [p for p in find_fixed_points(game, "nl", starts=8, seed=0, x0=[[0.5, 0.5]], **numbers)
           if not p.boundary]
    assert len(pts) == 1
    np.testing.assert_allclose(np.concatenate(pts[0].thetas), np.log(2), rtol=0, atol=1e-12)
    # LOLA with zero lookahead is the naive learner; with eta > 0 it moves the mixed point
    assert exact_fixed_points(game, "lola", eta=0, **numbers) == with_values
    assert {p1: sp.Rational(2, 3), p2: sp.Rational(2, 3)} not in \
        exact_fixed_points(game, "lola", eta=1, **numbers)


def test_symbol_values_as_keywords_equal_the_parameters_mapping():
    game = bilinear()
    values = {"a": 1.0, "b": 2.0, "c": 0.5}
    J = jacobian(game, "lola", [0.3], [-0.2], eta=0.4, **values)
    assert np.array_equal(J, jacobian(game, "lola", [0.3], [-0.2], eta=0.4, parameters=values))
    assert np.array_equal(J, jacobian(game.substitute(a=1, b=2, c="1/2"), "lola", [0.3], [-0.2],
                                      eta=0.4))
    assert classify(game, "nl", [0.0], [0.0], delta=0.1, **values).as_dict() == \
        classify(game, "nl", [0.0], [0.0], delta=0.1, parameters=values).as_dict()
    assert ls.game_hessian(game, [0.0], [0.0], **values).tolist() == [[1.0, 0.5], [-0.5, 2.0]]
    # exact analyses substitute the values given and keep the others
    Je = exact_jacobian(game, "lola", [0], [0], a=2)
    assert Je.free_symbols == {B, C, ETA}
    assert Je == exact_jacobian(game.substitute(a=2), "lola", [0], [0])
    thr = exact_lr_threshold(game, "nl", [0], [0], a=1, b=1, c=1)
    assert thr == 1 == exact_lr_threshold(game.substitute(a=1, b=1, c=1), "nl", [0], [0])


def test_keywords_name_what_is_missing_unknown_or_ambiguous():
    sym = ipd(symbolic=True)
    z = np.zeros(5)
    with pytest.raises(ValueError, match=r"fixed-point search needs a value for each \(missing "
                                         r"\['P', 'S', 'T', 'gamma'\]\)"):
        find_fixed_points(sym, "nl", starts=1, R=-1)
    with pytest.raises(ValueError, match=r"rule 'lola' has no hyper-parameter 'beta'.*"
                                         r"IPD \(symbolic\) has no symbol 'beta'"):
        jacobian(sym, "lola", z, z, beta=1.0, **PD)
    with pytest.raises(ValueError, match=r"rule 'nl' has no hyper-parameter 'eta'; it takes \[\]"):
        classify(sym, "nl", z, z, eta=1.0, **PD)
    with pytest.raises(ValueError, match="given twice"):
        jacobian(sym, "nl", z, z, parameters={"R": -1}, **PD)
    with pytest.raises(ValueError, match="one point|one game"):
        find_fixed_points(sym, "nl", starts=1, **{**PD, "R": [-1.0, -2.0]})
    with pytest.raises(ValueError, match="discount"):
        find_fixed_points(sym, "nl", starts=1, **{**PD, "gamma": 1.5})
    with pytest.raises(ValueError, match="discount|gamma"):
        exact_jacobian(sym, "nl", [0] * 5, [0] * 5, gamma=2)
    with pytest.raises(TypeError, match="no symbols"):
        residual(games.tandem(), "nl", [0.0], [0.0], parameters={"R": 1})
    with pytest.raises(ValueError, match="has no symbol 'R'"):
        residual(games.tandem(), "nl", [0.0], [0.0], R=1)
    # SOS takes a and b, bilinear has symbols a and b: keywords would be ambiguous
    with pytest.raises(ValueError, match=r"'a' is both a symbol of bilinear and a "
                                         r"hyper-parameter of rule 'sos'.*parameters="):
        jacobian(bilinear(), "sos", [0.0], [0.0], a=1.0, b=1.0, c=1.0)
    J = jacobian(bilinear(), "sos", [0.0], [0.0], parameters={"a": 1.0, "b": 1.0, "c": 1.0},
                 a=0.4)
    assert J.shape == (2, 2) and np.all(np.isfinite(J))


def test_residual_and_exact_values_on_a_family():
    sym = ipd(symbolic=True)
    z = np.full(5, 0.3)
    assert residual(sym, "lola", z, -z, eta=0.5, **PD) == pytest.approx(
        residual(ipd(), "lola", z, -z, eta=0.5), rel=RTOL_IPD_COMPILED)
    k = sp.Symbol("k", positive=True)
    game = differentiable(k * X * Y, -X * Y, [X], [Y], name="k-game")
    with pytest.raises(ValueError, match="k is declared positive"):
        exact_jacobian(game, "nl", [0], [0], k=-1)
    assert exact_jacobian(game, "nl", [0], [0], k="1/2") == sp.Matrix([[0, sp.S.Half], [-1, 0]])
