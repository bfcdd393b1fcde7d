"""Hostile inputs: each class of the hardening issue, one test (or a few) per class.

Every test here failed on the code before its fix (checked by running this file
against the commit before the hardening work: see the closing note of the issue).
Cache, CLI and exact-input classes live beside their modules (``test_cache.py``,
``test_cli.py``, ``test_exact_inputs.py``).
"""

import tracemalloc
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import lola_sym as ls
from lola_sym import games
from lola_sym.compile import BACKENDS, compile_field
from lola_sym.program import Program
from lola_sym.field import FieldError, update_field
from lola_sym.games.values import compiled_value
from lola_sym.rules import RULES, get_rule

import reference
from tolerances import RTOL_REFERENCE

x, y = sp.symbols("x y")


# ------------------------------------------------- constants that C truncated or dropped
#: payoffs beyond 64-bit integers, at the edge of double precision, tiny, and with
#: more digits than a double holds (they must round to the nearest double, not truncate)
CONSTANTS = [sp.Integer(10) ** 20, sp.Integer(2) ** 64 + 1, sp.Integer(10) ** 300,
             sp.Rational(1, 10 ** 300), sp.Rational(10 ** 30 + 1, 3),
             sp.Rational(123456789012345678901234567890123, 10 ** 31), -sp.Integer(10) ** 100]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("c", CONSTANTS, ids=lambda c: f"{float(c):.3g}")
def test_constants_reach_every_backend_exactly(backend, c):
    """Values with huge, tiny and many-digit payoffs agree with an mpmath solve to 1e-10.

    Before: the C backend printed 10**20 as a C integer literal (truncated to
    1.94e19) and dropped 1e300.
    """
    g = games.iterated([[c, 0], [5, 1]], [[c, 5], [0, 1]], sp.Rational(9, 10))
    fn = compiled_value(g, backend)
    t1, t2 = np.array([0.3, -1.0, 0.5, 2.0, -0.7]), np.array([-0.2, 0.4, 1.5, -1.1, 0.9])
    got = fn(t1, t2)
    want = np.array([float(v) for v in reference.values(g.R1, g.R2, g.gamma, t1, t2)])
    np.testing.assert_allclose(got, want, rtol=RTOL_REFERENCE)


@pytest.mark.parametrize("c", [sp.Integer(10) ** 400, sp.Rational(1, 10 ** 400), "1e-100000000",
                               Fraction(1, 10 ** 10000), Decimal("1e-99999999")],
                         ids=["1e400", "1e-400", "1e-1e8 text", "1e-10000", "Decimal 1e-99999999"])
def test_payoffs_beyond_double_are_refused_at_once(c):
    """Before: compiled to inf or 0 (10**400), or hung (the literal 1e-100000000)."""
    with pytest.raises(ValueError, match="magnitude"):
        games.iterated([[c, 0], [5, 1]], [[3, 5], [0, 1]], sp.Rational(9, 10))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("c", [sp.Integer(10) ** 400, sp.Rational(1, 10 ** 400)], ids=["1e400", "1e-400"])
def test_constants_beyond_double_are_refused_by_every_backend(backend, c):
    """A derived program whose constant has no double (here 1e400 * x) is refused, not rounded to inf/0."""
    prog = Program.from_steps((x, y), [("u", c * x * y)]).with_outputs([sp.Symbol("u"), x])
    with pytest.raises(ValueError, match="double precision"):
        compile_field(prog, [(x,), (y,)], n_out=(1, 1), backend=backend)


@pytest.mark.parametrize("gamma", [1 - Fraction(1, 10 ** 16), 1 - Fraction(1, 10 ** 7), "0.99999999"])
def test_discount_too_close_to_one_is_refused(gamma):
    """Before: ipd(1 - 1e-16) gave V = +1.2e16 for TFT where the value is -1.5e16 (wrong sign)."""
    with pytest.raises(ValueError, match="too close to 1"):
        games.ipd(gamma)


def test_discount_at_the_bound_is_accurate():
    g = games.ipd(1 - Fraction(1, 10 ** 6))
    t1, t2 = ls.policy("tft"), np.array([0.3, -2.0, 1.0, 0.5, 4.0])
    want = np.array([float(v) for v in reference.values(g.R1, g.R2, g.gamma, t1, t2)])
    np.testing.assert_allclose(g.value(t1, t2), want, rtol=1e-9)   # measured 2.2e-10


@pytest.mark.parametrize("backend", BACKENDS)
def test_irrational_constants_on_every_backend(backend):
    """pi and sqrt(2) in a differentiable game: compiled agrees with the 50-digit program (llvm failed)."""
    g = games.differentiable(sp.pi * x * y - x ** 2, -x * y + sp.sqrt(2) * y ** 2 / 7, [x], [y])
    f = update_field(g, "lola", backend=backend, eta=0.5)
    a, b = np.array([0.7]), np.array([-1.3])
    np.testing.assert_allclose(np.r_[f(a, b)], np.r_[f.evaluate(a, b)], rtol=1e-14)
    # d/dx (pi x y - x^2) = pi y - 2x, checked by hand at the point
    assert abs(update_field(g, "nl", backend=backend)(a, b)[0][0] - (np.pi * -1.3 - 1.4)) < 1e-14


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_batch_on_every_backend(backend):
    f = update_field(games.ipd(), "lola", backend=backend)
    g1, g2 = f(np.zeros((0, 5)), np.zeros((0, 5)))
    assert g1.shape == (0, 5) and g2.shape == (0, 5)


# ------------------------------------------------- hyper-parameters: one validator per rule
def test_every_rule_refuses_unknown_names_listing_what_it_takes():
    for name, rule in RULES.items():
        with pytest.raises(ValueError, match=r"no hyper-parameter 'zeta'; it takes \["):
            update_field(games.tandem(), name, zeta=1.0)


def test_every_rule_refuses_negative_and_non_finite_hyper_parameters():
    for name, rule in RULES.items():
        for h in rule.hyper:
            with pytest.raises(ValueError, match=f"{h} must lie in"):
                rule.hyper_values({h: -0.5})
            with pytest.raises(ValueError, match=f"{h} must be finite"):
                rule.hyper_values({h: float("nan")})
            with pytest.raises(TypeError, match=f"{h} must be a real number"):
                rule.hyper_values({h: "1"})
    with pytest.raises(ValueError, match=r"a must lie in \(0, 1\)"):
        update_field(games.tandem(), "sos", a=1.5)
    with pytest.raises(ValueError, match="gamma must lie in"):
        update_field(games.tandem(), "co", gamma=-1)
    with pytest.raises(ValueError, match="lam must lie in"):
        update_field(games.tandem(), "sga", lam=-1)


def test_compare_refuses_hyper_parameters_no_rule_takes():
    with pytest.raises(ValueError, match="'zeta'"):
        ls.compare(games.tandem(), ["nl", "lola"], runs=2, steps=1, zeta=5)
    with pytest.raises(ValueError, match="'eta'"):
        ls.compare(games.tandem(), ["nl"], runs=2, steps=1, eta=5)
    with pytest.raises(ValueError, match="eta must lie in"):
        ls.compare(games.tandem(), ["nl", "lola"], runs=2, steps=1, eta=-1)


def test_train_refuses_hyper_parameters_of_the_other_agent():
    with pytest.raises(ValueError, match="hyper1 names 'eta'"):
        ls.train(games.tandem(), "nl", "lola", runs=2, steps=1, hyper1={"eta": 5})
    tr = ls.train(games.tandem(), "nl", "lola", runs=2, steps=1, hyper2={"eta": 5})
    assert tr.hyper == ({}, {"eta": 5.0})


def test_train_refuses_a_bool_step_count():
    with pytest.raises(TypeError, match="steps must be an int"):
        ls.train(games.tandem(), "nl", runs=2, steps=True)
    with pytest.raises(TypeError, match="steps must be an int"):
        ls.tournament(rules=("nl",), runs=2, steps=True)


# ------------------------------------------------- finite but absurd inputs
def test_overflowing_hyper_parameter_is_an_error_not_inf():
    f = update_field(games.ipd(), "lola", eta=1e308)
    with pytest.raises(FieldError, match=r"not finite .*eta=1e\+308"):
        f(np.zeros(5), np.zeros(5))
    with pytest.raises(FieldError, match=r"at point \(0,\)"):
        f(np.zeros((3, 5)), np.zeros(5))
    g1, _ = f(np.zeros((3, 5)), np.zeros(5), failed="nan")      # explicit opt-in
    assert not np.isfinite(g1).all()


def test_consistency_with_absurd_eta():
    t = np.array([0.3])
    with pytest.raises(ValueError, match="not finite"):
        ls.consistency(games.tandem(), "exact_lola", t, t, eta=1e308)
    with pytest.raises(ValueError, match="eta must be finite"):
        ls.expected_consistency(games.tandem(), "exact_lola", float("nan"))
    with pytest.raises(TypeError, match="eta must be a real number"):
        ls.expected_consistency(games.tandem(), "exact_lola", "__import__('os').getpid()")


@pytest.mark.parametrize("dps", [0, -5, 5, 10 ** 6])
def test_evaluate_refuses_digits_below_double_precision(dps):
    f = update_field(games.matching_pennies(), "lola")
    with pytest.raises(ValueError, match="dps must be between"):
        f.evaluate(np.zeros(1), np.zeros(1), dps=dps)


def test_one_shot_game_with_nan_is_refused():
    for bad in (x * y + sp.nan, x * y * sp.Float("nan"), x * sp.oo, sp.zoo * y):
        with pytest.raises(ValueError, match="nan or an infinity"):
            games.differentiable(bad, -x * y, [x], [y])
    with pytest.raises(TypeError, match="not a string"):
        games.differentiable("__import__('os').getpid() * x", -x * y, [x], [y])
    g = games.differentiable(sp.log(x) * y, -x * y, [x], [y])
    with pytest.raises(ValueError, match="not finite at point"):
        g.value(np.array([-1.0]), np.array([1.0]))


def test_inf_logit_gives_the_promised_error_not_a_runtime_warning():
    f = update_field(games.ipd(), "lola")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="non-finite entry"):
            f(np.array([np.inf, 0, 0, 0, 0.0]), np.zeros(5))
        with pytest.raises(ValueError, match="non-finite entry"):
            f(np.zeros(5), np.array([0, 0, -np.inf, 0, 0.0]))


# ------------------------------------------------- CGD with a singular system at one point
#: V1 = x y^2 / 2, V2 = x^2 y / 2: I - eta H_o = [[1, -eta y], [-eta x, 1]], singular at eta^2 x y = 1
SINGULAR = games.differentiable(x * y ** 2 / 2, x ** 2 * y / 2, [x], [y], name="singular")


def test_cgd_singular_point_is_reported_with_its_index():
    f = update_field(SINGULAR, "cgd", eta=1.0)
    a, b = np.array([[0.5], [1.0], [2.0]]), np.array([[0.5], [1.0], [0.1]])
    with pytest.raises(FieldError, match=r"point \(1,\).*singular") as err:
        f(a, b)
    assert err.value.index == (1,)
    g1, g2 = f(a, b, failed="nan")
    assert np.isnan(g1[1]).all() and np.isfinite(g1[[0, 2]]).all()
    # the other rows are the exact solve: g = M^{-1} xi at (0.5, 0.5)
    M = np.array([[1, -0.5], [-0.5, 1]])
    np.testing.assert_allclose(np.r_[g1[0], g2[0]], np.linalg.solve(M, [0.125, 0.125]), rtol=1e-14)


def test_training_marks_the_singular_run_and_keeps_the_others():
    t1, t2 = np.array([[0.5], [1.0], [2.0]]), np.array([[0.5], [1.0], [0.1]])
    tr = ls.train(SINGULAR, "cgd", theta1=t1, theta2=t2, steps=3, delta=0.01,
                  on_divergence="mark", eta=1.0)
    assert tr.diverged_at.tolist() == [-1, 1, -1]
    with pytest.raises(ls.DivergenceError, match=r"run\(s\) \[1\].*singular"):
        ls.train(SINGULAR, "cgd", theta1=t1, theta2=t2, steps=3, delta=0.01, eta=1.0)


def test_classify_at_a_singular_point_is_a_clear_error():
    with pytest.raises(ValueError, match="singular"):
        ls.classify(SINGULAR, "cgd", [1.0], [1.0], delta=0.1, eta=1.0)


# ------------------------------------------------- size and memory guards
def test_hola_order_is_refused_before_deriving_with_an_estimate():
    with pytest.raises(ValueError, match=r"order=6 on IPD would derive about 24,892 program steps"):
        update_field(games.ipd(), "hola", order=6)
    with pytest.raises(ValueError, match="would derive about"):
        update_field(games.ipd(), "hola", order=100_000)
    assert get_rule("hola").size_estimate(games.tandem(), 6) < 10_000   # HOLA6 on Tandem is fine


def _peak_memory(fn, *args):
    """``fn(*args)`` and the peak of memory traced while it ran (numpy reports to tracemalloc)."""
    tracemalloc.start()
    try:
        out = fn(*args)
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_large_numpy_batches_run_in_bounded_memory():
    """LOLA on the IPD held ~3.9 KB per pair unchunked on numpy (234 MB for 60,000 pairs)."""
    f = update_field(games.ipd(), "lola", backend="numpy")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(60_000, 5)), rng.normal(size=(60_000, 5))
    (g1, g2), peak = _peak_memory(f, a, b)
    assert peak < 80e6, f"peak {peak / 1e6:.0f} MB"
    i = 12_345                                  # a row of the middle chunk: same as alone
    np.testing.assert_allclose(np.r_[g1[i], g2[i]], np.r_[f(a[i], b[i])], rtol=1e-14)


def test_large_cgd_batches_run_in_bounded_memory():
    """CGD's per-point (d1 + d2)^2 matrices: 296 MB peak for 200,000 IPD pairs unchunked."""
    f = update_field(games.ipd(), "cgd")
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200_000, 5)), rng.normal(size=(200_000, 5))
    (g1, _), peak = _peak_memory(f, a, b)
    assert peak < 120e6, f"peak {peak / 1e6:.0f} MB"      # measured 68 MB chunked
    np.testing.assert_allclose(g1[-1], f(a[-1], b[-1])[0], rtol=1e-13)


# ------------------------------------------------- smaller ones
def test_tournament_docstring_claims_hold():
    """Trained entries equal train(row, col, seed); mirrored ones are the swapped (A, B) run."""
    res = ls.tournament(rules=("nl", "lola"), runs=3, steps=4, seed=2)
    tr = ls.train(games.ipd(), "nl", "lola", runs=3, steps=4, seed=2, delta=0.5)
    p = res.pairings[("nl", "lola")]
    assert not p.mirrored and np.array_equal(p.reward, tr.final_reward)
    q = res.pairings[("lola", "nl")]
    assert q.mirrored and np.array_equal(q.reward, p.reward[:, ::-1])


# ------------------------------------------------- neighbours found by a hostile review
@pytest.mark.parametrize("call", [
    lambda g: update_field(g, "nl"), lambda g: ls.train(g), lambda g: ls.compare(g, ["nl"]),
    lambda g: ls.find_fixed_points(g, "nl"), lambda g: ls.classify(g, "nl", [0], [0]),
    lambda g: ls.exact_jacobian(g, "nl", [0], [0]), lambda g: ls.consistency(g, "lola", [0], [0], 1.0)],
    ids=["update_field", "train", "compare", "find_fixed_points", "classify", "exact_jacobian",
         "consistency"])
def test_a_non_game_is_a_type_error(call):
    """Before: AttributeError: 'str' object has no attribute 'dims'."""
    for bad in ("ipd", None, 5):
        with pytest.raises(TypeError, match="must be a lola_sym game"):
            call(bad)


def test_expected_consistency_neighbours():
    with pytest.raises(ValueError, match="beyond double precision"):   # exact value ~5.5e603
        ls.expected_consistency(games.tandem(), "exact_lola", 1e300)
    with pytest.raises(ValueError, match="samples must be >= 2"):     # NaN standard error before
        ls.expected_consistency(games.matching_pennies(), "lola", 1.0, samples=1)
    with pytest.raises(ValueError, match="absurdly large"):           # OverflowError before
        ls.expected_consistency(games.tandem(), "exact_lola", 1, low=-1e308, high=1e308,
                                exact=False)


def test_overflow_in_combined_rules_is_reported_not_warned():
    """SOS and SGA with payoffs of 1e200 overflowed with a RuntimeWarning (an error in this suite)."""
    z = np.zeros(5)
    big = games.iterated([[3e200, 0], [5e200, 1e200]], [[3e200, 5e200], [0, 1e200]], 0.96)
    for rule in ("sos", "sga"):
        with pytest.raises(FieldError, match="overflow"):
            update_field(big, rule)(z + 0.3, z - 0.2)
    tr = ls.train(big, "sos", runs=2, steps=2, on_divergence="mark")
    assert tr.diverged_at.tolist() == [1, 1]
    g1, _ = update_field(games.ipd(), "sos", eta=1e160)(z, z)     # large but finite: no error
    assert np.isfinite(g1).all()


@pytest.mark.parametrize("method", ["simultaneous", "extragradient", "optimistic"])
def test_training_with_an_absurd_rate_marks_divergence_without_warnings(method):
    tr = ls.train(games.tandem(), "nl", runs=3, steps=3, delta=1e300, method=method,
                  on_divergence="mark")
    assert tr.diverged.all() and np.isfinite(tr.theta1).all()


def test_training_arguments_neighbours():
    g = games.ipd()
    with pytest.raises(ValueError, match="init_std=1e\\+308"):       # named theta2 before
        ls.train(g, "nl", init_std=1e308)
    with pytest.raises(ValueError, match="runs=7 but theta1 has 2 rows"):   # used 2 silently
        ls.train(g, "nl", runs=7, theta1=np.zeros((2, 5)), theta2=np.zeros((2, 5)))
    with pytest.raises(TypeError, match="callback must be callable"):  # failed after a step
        ls.train(g, "nl", steps=0, callback="x")
    with pytest.raises(ValueError, match="would hold about"):          # MemoryError before
        ls.train(g, "nl", runs=10 ** 12)
    with pytest.raises(ValueError, match="would hold about"):
        ls.train(g, "nl", runs=10 ** 5, steps=10 ** 5)
    with pytest.raises(ValueError, match="unknown method"):           # ambiguous truth value
        ls.train(g, "nl", method=np.array(["simultaneous"]))
    with pytest.raises(TypeError, match="target must be"):
        ls.compare(g, ["nl"], target=np.zeros(3))


def test_threshold_and_fixed_point_neighbours():
    mp = games.matching_pennies()
    st = ls.classify(mp, "lola", [0], [0], eta=1e300)   # |lambda|^2 overflowed in lr_threshold
    assert st.flow == "stable"
    with pytest.raises(ValueError, match="starts=10000000 is more than"):   # hung before
        ls.find_fixed_points(mp, "lola", starts=10 ** 7)
    with pytest.raises(ValueError, match="scale=1e\\+200"):
        ls.find_fixed_points(games.hamiltonian(), "sga", scale=1e200)
    # a start where the field overflows is skipped instead of aborting the search
    pts = ls.find_fixed_points(games.tandem(), "lola", starts=4, x0=[1e308, -1e308], eta=0.2)
    assert pts and all(abs(p.theta1[0] + p.theta2[0] - 5 / 3) < 1e-9 for p in pts)


def test_hola_order_may_be_a_numpy_int():
    f = update_field(games.tandem(), "hola", order=np.int64(1))
    assert f.options == {"order": 1}
