"""Tests of lola_sym.sampling.verify: bias/variance data and plots, and check_gradient."""

import time

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from scipy.special import expit

from lola_sym import games, update_field
from lola_sym.sampling.estimators import estimate
from lola_sym.sampling.verify import (BiasVariance, GradientCheck, GradientCheckError, bias_variance,
                             check_gradient)
from tolerances import Z_MC

#: central finite differences with step 1e-5 on values ~ 50: error ~ h^2 V''' + eps V / h ~ 1e-9
FD_STEP, RTOL_FD, ATOL_FD = 1e-5, 1e-6, 1e-7


def fd_gradients(game):
    """An independent 'user' implementation: central differences of game.value."""
    def fn(t1, t2):
        out = []
        for agent, theta in ((0, t1), (1, t2)):
            g = np.empty(5)
            for k in range(5):
                e = np.zeros(5)
                e[k] = FD_STEP
                args = [(t1 + e, t2), (t1 - e, t2)] if agent == 0 else [(t1, t2 + e), (t1, t2 - e)]
                g[k] = (game.value(*args[0])[agent] - game.value(*args[1])[agent]) / (2 * FD_STEP)
            out.append(g)
        return tuple(out)
    return fn


# ------------------------------------------------------------------ check_gradient
@pytest.mark.parametrize("name", ["ipd", "imp"])
def test_check_gradient_passes_for_exact_and_finite_difference_gradients(name):
    game = games.by_name(name)
    nl = update_field(game, "nl")
    report = check_gradient(lambda a, b: nl(a, b), game, points=5, seed=1)
    assert report.passed and report.max_abs_error == 0.0 and report.agents == (1, 2)
    fd = check_gradient(fd_gradients(game), game, points=5, seed=1, rtol=RTOL_FD, atol=ATOL_FD)
    assert fd.passed and 0 < fd.max_rel_error < RTOL_FD, str(fd)
    # the same finite differences fail a much tighter tolerance: the check can fail
    assert not check_gradient(fd_gradients(game), game, points=5, seed=1, rtol=1e-13,
                              atol=0).passed


def test_check_gradient_of_lola_with_hyper_parameters():
    game = games.ipd()
    lola = update_field(game, "lola", eta=0.5)
    assert check_gradient(lambda a, b: lola(a, b), game, rule="lola", eta=0.5).passed
    nl = update_field(game, "nl")
    report = check_gradient(lambda a, b: nl(a, b), game, rule="lola", eta=0.5)
    assert not report.passed and report.rule == "lola"


def test_swapped_states_are_flagged_by_name_with_a_hint():
    game = games.ipd()
    nl = update_field(game, "nl")
    report = check_gradient(lambda a, b: nl(a, b)[0][[0, 1, 3, 2, 4]], game, points=6)
    assert not report.passed and report.agents == (1,)
    assert report.states_differing() == {1: {"CD": 6, "DC": 6}}
    assert report.worst[1] == 1 and report.worst[2] in ("CD", "DC")
    text = str(report)
    assert "FAILED" in text and f"state {report.worst[2]}: got" in text and "agent 1 differs in: CD (6/6 points)" in text
    assert "own perspective" in text and "theta1 = [" in text
    # agent 2's states mislabelled: only agent 2 is named
    both = check_gradient(lambda a, b: (nl(a, b)[0], nl(a, b)[1][[0, 1, 3, 2, 4]]), game)
    assert set(both.states_differing()) == {2}


@pytest.mark.parametrize("mistake, hint", [
    (lambda g, a, b: g / (expit(a) * expit(-a)), "probabilities, not logits"),
    (lambda g, a, b: -g, "wrong sign"),
])
def test_common_mistakes_get_hints(mistake, hint):
    game = games.ipd()
    nl = update_field(game, "nl")
    report = check_gradient(lambda a, b: mistake(nl(a, b)[0], a, b), game, points=4)
    assert not report.passed and any(hint in h for h in report.hints), str(report)
    assert len(report.states_differing()[1]) == 5


def test_exchanged_agents_hint():
    game = games.imp()
    nl = update_field(game, "nl")
    report = check_gradient(lambda a, b: nl(a, b)[::-1], game, points=4)
    assert any("exchanged: return (grad_1 V1, grad_2 V2)" in h for h in report.hints)


def test_raise_on_fail_raises_an_assertion_with_the_report():
    game = games.ipd()
    nl = update_field(game, "nl")
    with pytest.raises(GradientCheckError, match="agent 1 differs in: CD"):
        check_gradient(lambda a, b: nl(a, b)[0][[0, 1, 3, 2, 4]], game, raise_on_fail=True)
    assert issubclass(GradientCheckError, AssertionError)
    check_gradient(lambda a, b: nl(a, b), game, raise_on_fail=True)        # no error


def test_user_function_gets_copies_and_results_are_deterministic():
    game = games.ipd()
    nl = update_field(game, "nl")

    def mutating(a, b):
        out = nl(a, b)
        a[:] = 99.0
        return out
    r1 = check_gradient(mutating, game, points=3, seed=4)
    r2 = check_gradient(lambda a, b: nl(a, b), game, points=3, seed=4)
    assert r1.passed and np.array_equal(r1.theta1, r2.theta1) and np.all(np.abs(r1.theta1) <= 2)
    assert not np.array_equal(r1.theta1, check_gradient(mutating, game, points=3, seed=5).theta1)


def test_non_finite_user_values_fail_with_infinite_error():
    game = games.ipd()
    report = check_gradient(lambda a, b: np.full(5, np.nan), game, points=2)
    assert not report.passed and report.max_abs_error == np.inf
    assert isinstance(report, GradientCheck)


def test_check_gradient_rejects_bad_input():
    game = games.ipd()
    with pytest.raises(ValueError, match=r"returned shape \(4,\); expected \(5,\)"):
        check_gradient(lambda a, b: np.zeros(4), game)
    with pytest.raises(ValueError, match=r"g2 of shape \(3,\)"):
        check_gradient(lambda a, b: (np.zeros(5), np.zeros(3)), game)
    calls = []

    def flaky(a, b):
        calls.append(1)
        return np.zeros(5) if len(calls) == 1 else (np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="one gradient at some points and two at others"):
        check_gradient(flaky, game)
    with pytest.raises(TypeError, match="fn must be callable"):
        check_gradient(np.zeros(5), game)
    with pytest.raises(ValueError, match="points must be >= 1"):
        check_gradient(lambda a, b: np.zeros(5), game, points=0)
    with pytest.raises(ValueError, match="unknown rule"):
        check_gradient(lambda a, b: np.zeros(5), game, rule="sgd")
    with pytest.raises(TypeError, match="iterated 2x2 game"):
        check_gradient(lambda a, b: np.zeros(5), games.tandem())


# ------------------------------------------------------------------ bias / variance
@pytest.fixture(scope="module")
def ipd_bv():
    t1, t2 = np.random.default_rng(0).normal(size=(2, 5))
    return bias_variance(games.ipd(), t1, t2, quantity="grad",
                         estimators=["reinforce", "reinforce_baseline", "dice_baseline"],
                         batch_sizes=[40, 640], horizons=[4, 16], replicates=60, seed=1)


def test_bias_variance_data(ipd_bv):
    bv = ipd_bv
    assert isinstance(bv, BiasVariance)
    assert bv.mean.shape == bv.std.shape == (3, 2, 2, 5) and bv.rmse.shape == (3, 2, 2)
    assert bv.target.shape == (2, 5) and bv.exact.shape == (5,)
    # unbiased for the truncated target: every entry within Z_MC standard errors
    assert np.all(np.abs(bv.bias) <= Z_MC * bv.stderr)
    # against the infinite target the bias is the exact truncation bias (large at T = 4)
    assert np.all(np.abs(bv.mean - bv.exact + bv.truncation_bias) <= Z_MC * bv.stderr)
    assert not np.all(np.abs(bv.mean[:, :, 0] - bv.exact) <= Z_MC * bv.stderr[:, :, 0])
    # spread falls like 1/sqrt(N): a factor 4 from 40 to 640 episodes (loose: 60 replicates)
    ratio = bv.std[:, 0].mean(axis=-1) / bv.std[:, 1].mean(axis=-1)
    assert np.all((ratio > 2.5) & (ratio < 6.0))
    # a baseline reduces the variance
    assert np.all(bv.relative_std[1] < bv.relative_std[0])
    d = bv.as_dict()
    assert {"bias", "stderr", "rmse", "relative_bias", "truncation_bias", "mean"} <= set(d)


def test_bias_variance_plot_is_an_agg_figure_with_labelled_axes(ipd_bv):
    fig = ipd_bv.plot()
    assert isinstance(fig.canvas, FigureCanvasAgg)
    left, right = fig.axes[:2]
    assert "batch size" in left.get_xlabel() and "RMS error" in left.get_ylabel()
    assert "horizon" in right.get_xlabel() and "bias" in right.get_ylabel()
    assert left.get_xscale() == "log" and len(left.get_lines()) == 3 * 2 + 1


def test_bias_variance_accepts_functions_and_flags_a_biased_one():
    game = games.imp()
    t1, t2 = np.random.default_rng(2).normal(size=(2, 5))

    def halved(ro):
        return 0.5 * estimate(ro, "grad", "reinforce_baseline").value
    bv = bias_variance(game, t1, t2, estimators=[halved, "lola_pg"], batch_sizes=[200],
                       termination="geometric", horizons=None, replicates=40, seed=3)
    assert bv.estimators == ("halved", "lola_pg") and list(bv.horizons) == [-1]
    assert np.array_equal(bv.target[0], bv.exact)
    assert np.all(np.abs(bv.bias[1]) <= Z_MC * bv.stderr[1])
    assert not np.all(np.abs(bv.bias[0]) <= Z_MC * bv.stderr[0])
    assert bv.plot().axes[1].get_xticklabels()[0].get_text() == "geometric"


def test_bias_variance_second_order_quantities():
    t1, t2 = np.random.default_rng(4).normal(size=(2, 5))
    bv = bias_variance(games.ipd(), t1, t2, quantity="correction", agent=2,
                       estimators=("dice_baseline",), batch_sizes=[64], horizons=[6],
                       replicates=200, seed=5, independent=True, eta=1.0)
    assert bv.mean.shape == (1, 1, 1, 5)
    assert np.all(np.abs(bv.bias) <= Z_MC * bv.stderr)


def test_bias_variance_rejects_bad_input():
    game, z = games.ipd(), np.zeros(5)
    with pytest.raises(ValueError, match="first-order; it cannot estimate 'hessian'"):
        bias_variance(game, z, z, quantity="hessian", estimators="reinforce")
    with pytest.raises(ValueError, match="unknown estimator"):
        bias_variance(game, z, z, estimators=["magic"])
    with pytest.raises(ValueError, match="unknown quantity"):
        bias_variance(game, z, z, quantity="value")
    with pytest.raises(ValueError, match="replicates must be >= 2"):
        bias_variance(game, z, z, replicates=1)
    with pytest.raises(ValueError, match="batch size must be >= 1"):
        bias_variance(game, z, z, batch_sizes=[0])
    with pytest.raises(ValueError, match="needs horizons"):
        bias_variance(game, z, z, horizons=[])
    with pytest.raises(ValueError, match="one point"):
        bias_variance(game, np.zeros((2, 5)), z)
    with pytest.raises(ValueError, match=r"returned shape \(5,\); expected \(2, 5\)"):
        bias_variance(game, z, z, estimators=lambda ro: np.zeros(5), replicates=2,
                      batch_sizes=[3], horizons=[2])
    with pytest.raises(ValueError, match="unknown termination"):
        bias_variance(game, z, z, termination="random")


# ------------------------------------------------------------------ hostile input
#: wall-clock bound of calls that must be refused at once (before the size checks they
#: raised MemoryError after allocating; generous for shared CI cores)
FAST_SECONDS = 5.0


def _refused_fast(call, error, match):
    t0 = time.perf_counter()
    with pytest.raises(error, match=match):
        call()
    assert time.perf_counter() - t0 < FAST_SECONDS


def test_huge_point_counts_batches_and_replicates_are_refused_up_front():
    game, z = games.ipd(), np.zeros(5)
    _refused_fast(lambda: check_gradient(lambda a, b: np.zeros(5), game, points=10 ** 9),
                  ValueError, r"points=1,000,000,000 exceeds 1,000,000")
    _refused_fast(lambda: bias_variance(game, z, z, batch_sizes=(10 ** 12,)), ValueError,
                  r"one replicate of batch size 1,000,000,000,000 and horizon 50 simulates "
                  r"5e\+13 episode-steps")
    _refused_fast(lambda: bias_variance(game, z, z, batch_sizes=[10 ** 6], horizons=[100]),
                  ValueError, r"bias_variance at batch size 1,000,000 and horizon 100 would hold "
                              r"about 51 GB")
    _refused_fast(lambda: bias_variance(game, z, z, batch_sizes=[1000], horizons=[100],
                                        replicates=10 ** 5),
                  ValueError, r"would simulate 1e\+10 episode-steps .*fewer replicates")


def test_extreme_user_values_give_a_finite_report_without_warnings():
    game = games.ipd()
    report = check_gradient(lambda a, b: np.full(5, 1e308), game, points=3)
    text = str(report)                     # relative errors beyond double range are inf
    assert not report.passed and report.max_rel_error == np.inf and "FAILED" in text
    both = check_gradient(lambda a, b: (np.full(5, 1.7e308), np.full(5, -1.7e308)), game,
                          points=2)
    assert both.max_abs_error >= 1.7e308 and both.max_rel_error == np.inf and str(both)
    # zero tolerances: an exact implementation passes with relative error 0, not NaN
    nl = update_field(game, "nl")
    exact = check_gradient(lambda a, b: nl(a, b), game, points=3, rtol=0, atol=0)
    assert exact.passed and exact.max_rel_error == 0.0 and exact.worst[0] >= 0
    with pytest.raises(ValueError, match="scale must be at most 1000, got 1e"):
        check_gradient(lambda a, b: nl(a, b), game, scale=1e308)
    with pytest.raises(TypeError, match="scale must be a real number"):
        check_gradient(lambda a, b: nl(a, b), game, scale="2")


def test_complex_and_non_numeric_user_values_and_non_bool_flags_are_type_errors():
    game = games.ipd()
    nl = update_field(game, "nl")
    with pytest.raises(TypeError, match="output must hold real numbers, got dtype complex128"):
        check_gradient(lambda a, b: nl(a, b)[0] + 0j, game)
    with pytest.raises(TypeError, match="g2 must hold real numbers, got dtype complex128"):
        check_gradient(lambda a, b: (nl(a, b)[0], nl(a, b)[1] + 1j), game)
    with pytest.raises(TypeError, match="output must be an array of numbers, got NoneType"):
        check_gradient(lambda a, b: None, game)
    with pytest.raises(TypeError, match="got dtype bool"):
        check_gradient(lambda a, b: np.ones(5, bool), game)
    for flag in ("no", 0, None):
        with pytest.raises(TypeError, match="raise_on_fail must be True or False"):
            check_gradient(lambda a, b: nl(a, b), game, raise_on_fail=flag)


def test_bias_variance_refuses_bad_user_estimates_and_arguments():
    game, z = games.ipd(), np.zeros(5)
    kw = dict(batch_sizes=[5], horizons=[3], replicates=3)

    def const(value):
        return lambda ro: np.full((ro.lead[0], 5), value)
    with pytest.raises(TypeError, match="output must hold real numbers, got dtype complex128"):
        bias_variance(game, z, z, estimators=const(1j), **kw)
    with pytest.raises(ValueError, match=r"returned a non-finite estimate \(at index \(0, 0\)\)"):
        bias_variance(game, z, z, estimators=const(np.nan), **kw)

    def huge(ro):
        return np.full((ro.lead[0], 5), 1e300) * np.arange(1, ro.lead[0] + 1)[:, None]
    with pytest.raises(ValueError, match="squared errors of estimator 'huge' exceed double"):
        bias_variance(game, z, z, estimators=huge, **kw)
    with pytest.raises(ValueError, match=r"eta must lie in \[0, inf\) \(rule 'lola'\)"):
        bias_variance(game, z, z, quantity="lola", estimators="dice", eta=-1.0, **kw)
    with pytest.raises(TypeError, match="agent must be the int 1 or 2, got bool"):
        bias_variance(game, z, z, agent=True, **kw)
    with pytest.raises(TypeError, match="independent must be a bool"):
        bias_variance(game, z, z, independent="yes", **kw)
    with pytest.raises(TypeError, match="batch_sizes must be a sequence"):
        bias_variance(game, z, z, batch_sizes=100)
    with pytest.raises(TypeError, match="horizons must be a sequence"):
        bias_variance(game, z, z, horizons=50)
    with pytest.raises(ValueError, match=r"unknown estimator \['dice'\]"):
        bias_variance(game, z, z, estimators=[["dice"]], **kw)
    with pytest.raises(TypeError, match="batch size must be an int, got bool"):
        bias_variance(game, z, z, batch_sizes=[True])


def test_relative_errors_at_a_zero_exact_target_are_defined():
    """Saturated logits: the exact gradient and every estimate are exactly 0 (0/0 was NaN)."""
    game, t = games.ipd(), np.full(5, 800.0)
    bv = bias_variance(game, t, -t, batch_sizes=[5], horizons=[3], replicates=2)
    assert np.array_equal(bv.exact, np.zeros(5))
    assert np.array_equal(bv.relative_bias, np.zeros((1, 1, 1)))
    assert np.array_equal(bv.relative_std, np.zeros((1, 1, 1)))
