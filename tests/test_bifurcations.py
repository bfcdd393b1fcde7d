"""Bifurcations of the learning map and its flow (lola_sym.analysis.bifurcations).

Sources of the closed forms:

* matching pennies (issue 14, "Reproduce"): the Nash equilibrium theta = 0 has field
  Jacobian eigenvalues -c eta +- i/4, c = 1/16 for LA and LOLA, c = 1/8 for lola_full and
  exact LOLA, so |1 + delta lambda| = 1 at delta* = 32 eta/(eta^2 + 16), resp.
  16 eta/(eta^2 + 4) (also derived by lola_sym.analysis.thresholds.exact_lr_threshold, used
  here as the second way), and the multiplier's angle is arg(1 + delta* lambda);
* the fold game g = (a - x^2, -y): fold at a = 0, and on x = sqrt(a) the multiplier
  1 - 2 delta x is -1 at a = 1/delta^2;
* the transcritical game g = (a x - x^2, -y): x = 0 and x = a cross at a = 0 (branch point);
* the damped rotation g = (-a x - c y, c x - a y) (NL on a bilinear game with curvature a):
  eigenvalues -a +- ic, Hopf of the flow at a = 0, Neimark-Sacker of the map at
  delta = 2a/(a^2 + c^2).
"""

import numpy as np
import pytest
import sympy as sp

from lola_sym import games
from lola_sym.analysis.bifurcations import (bifurcation_diagram, continue_bifurcation,
                                            detect, detection_functions)
from lola_sym.analysis.continuation import continue_branch, learning_map
from lola_sym.analysis.thresholds import exact_lr_threshold

#: A located bifurcation parameter against its closed form (the issue asks 1e-10).
ATOL_LOCATE = 1e-10
#: A two-parameter curve against its closed form (the issue asks 1e-8).
ATOL_CURVE = 1e-8
#: Angles of critical multipliers against their closed form.
ATOL_ANGLE = 1e-9

MP = games.matching_pennies()
#: Field Jacobian at theta = 0 on matching pennies: -C eta +- i/4.
DAMPING = {"la": 1 / 16, "lola": 1 / 16, "lola_full": 1 / 8, "exact_lola": 1 / 8}
CLOSED = {"la": lambda e: 32 * e / (e ** 2 + 16), "lola": lambda e: 32 * e / (e ** 2 + 16),
          "lola_full": lambda e: 16 * e / (e ** 2 + 4),
          "exact_lola": lambda e: 16 * e / (e ** 2 + 4)}
ETAS = (0.3, 1.0, 2.5, 6.0)

A, C, X, Y = (sp.Symbol("a", real=True), sp.Symbol("c", positive=True),
              *sp.symbols("x y", real=True))
FOLD_GAME = games.differentiable(A * X - X ** 3 / 3, -Y ** 2 / 2, [X], [Y], name="fold")
TRANSCRITICAL = games.differentiable(A * X ** 2 / 2 - X ** 3 / 3, -Y ** 2 / 2, [X], [Y],
                                     name="transcritical")
ROTATION = games.differentiable(C * X * Y + A * X ** 2 / 2, -C * X * Y + A * Y ** 2 / 2,
                                [X], [Y], name="damped rotation", loss=True)


@pytest.mark.parametrize("rule", sorted(CLOSED))
@pytest.mark.parametrize("eta", ETAS)
def test_matching_pennies_neimark_sacker_in_delta(rule, eta):
    m = learning_map(MP, rule, eta=eta)
    expected = CLOSED[rule](eta)
    assert float(exact_lr_threshold(MP, rule, [0], [0], eta=sp.nsimplify(eta))) == \
        pytest.approx(expected, rel=1e-15)                  # the closed form, a second way
    b = bifurcation_diagram(m, [0.0, 0.0], "delta", 2 * expected, start=expected / 3,
                            step=expected / 4)
    (ns,) = b.special_points
    assert ns.kind == "neimark-sacker"
    assert abs(ns.value - expected) < ATOL_LOCATE
    lam = complex(-DAMPING[rule] * eta, 0.25)
    assert abs(ns.frequency - np.angle(1 + expected * lam)) < ATOL_ANGLE
    assert abs(abs(ns.multipliers[0]) - 1) < ATOL_LOCATE
    assert b.stable[0] and not b.stable[-1]


@pytest.mark.parametrize("rule", sorted(CLOSED))
def test_matching_pennies_neimark_sacker_curve(rule):
    m = learning_map(MP, rule, eta=1.0)
    ns = bifurcation_diagram(m, [0.0, 0.0], "delta", 6.0, start=0.5, step=0.5).special_points[0]
    for stop in (6.0, 0.2):
        c = continue_bifurcation(m, ns, "eta", stop, step=0.2)
        delta, eta = c.values.T
        assert eta[-1] == stop and len(c.values) > 5
        assert np.max(np.abs(delta - CLOSED[rule](eta))) < ATOL_CURVE
        assert np.max(c.residuals) < 1e-13
        np.testing.assert_allclose(np.abs(c.multipliers[:, 0]), 1.0, atol=ATOL_CURVE)
    # the curve rises to its maximum delta* = 4 (at eta = 4, resp. 2) and falls again
    turn = 4.0 if DAMPING[rule] == 1 / 16 else 2.0
    c = continue_bifurcation(m, ns, "eta", 6.0, step=0.2)
    delta, eta = c.values.T
    assert np.all(np.diff(eta) > 0) and eta[0] < turn < eta[-1]
    assert np.all(np.diff(delta)[eta[1:] < turn] > 0) and np.all(np.diff(delta)[eta[:-1] > turn] < 0)
    assert np.all(delta <= 4.0 + ATOL_CURVE)


def test_matching_pennies_neimark_sacker_in_eta():
    """At delta = 1, LA's point is stable for eta above 16 - sqrt(240)."""
    m = learning_map(MP, "la", eta=0.1, delta=1.0)
    b = bifurcation_diagram(m, [0.0, 0.0], "eta", 3.0, step=0.3)
    (ns,) = b.special_points
    assert ns.kind == "neimark-sacker" and abs(ns.value - (16 - 240 ** 0.5)) < ATOL_LOCATE
    assert not b.stable[0] and b.stable[-1]


def test_timescale_ratio_neimark_sacker():
    r"""Per-agent rates delta1, tau delta1 on MP under LOLA: det(I + D J) = 1 at
    tau* = c/(delta1 (c^2 + 1/16) - c), c = eta/16."""
    eta, d1 = 1.0, 1.5
    c = eta / 16
    expected = c / (d1 * (c ** 2 + 1 / 16) - c)
    m = learning_map(MP, "lola", delta=(d1, 0.5 * d1), eta=eta)
    b = bifurcation_diagram(m, [0.0, 0.0], "tau", 3.0, step=0.2)
    (ns,) = b.special_points
    assert ns.kind == "neimark-sacker" and abs(ns.value - expected) < ATOL_LOCATE
    # and the (delta1, tau) curve: delta1 = c (1 + tau) / (tau (c^2 + 1/16))
    curve = continue_bifurcation(m.with_values(tau=ns.value), ns, "delta", 2.5, step=0.1)
    tau, delta = curve.values.T
    assert np.max(np.abs(delta - c * (1 + tau) / (tau * (c ** 2 + 1 / 16)))) < ATOL_CURVE


def test_fold_and_period_doubling():
    delta = 0.5
    m = learning_map(FOLD_GAME, "nl", delta=delta, a=1.0)
    up = bifurcation_diagram(m, [1.0, 0.0], "a", 6.0, step=0.3)
    (pd,) = up.special_points
    assert pd.kind == "period-doubling"
    assert abs(pd.value - 1 / delta ** 2) < ATOL_LOCATE
    assert abs(pd.point[0] - 1 / delta) < ATOL_LOCATE
    assert abs(pd.multipliers[np.argmin(np.abs(pd.multipliers + 1))] + 1) < ATOL_LOCATE
    down = bifurcation_diagram(m, [1.0, 0.0], "a", -1.0, step=0.1, bounds=(-1.0, 1.0))
    folds = [s for s in down.special_points if s.kind == "fold"]
    assert len(folds) == 1
    assert abs(folds[0].value) < ATOL_LOCATE and abs(folds[0].point[0]) < 1e-5
    # flow: the same fold, no period doubling
    flow = bifurcation_diagram(m, [1.0, 0.0], "a", -1.0, step=0.1, bounds=(-1.0, 1.0),
                               system="flow")
    # and a neutral saddle (eigenvalues -2x = 1 and -1 of y: lambda_i + lambda_j = 0) at
    # x = -1/2, a = 1/4, which the Hopf test function sees but is not a bifurcation
    assert [s.kind for s in flow.special_points] == ["fold", "neutral saddle"]
    fold, saddle = flow.special_points
    assert abs(fold.value) < ATOL_LOCATE
    assert abs(saddle.value - 0.25) < ATOL_LOCATE and abs(saddle.point[0] + 0.5) < ATOL_LOCATE


def test_period_doubling_curve_in_delta():
    """The PD point of the fold game in (a, delta): a = 1/delta^2."""
    m = learning_map(FOLD_GAME, "nl", delta=0.5, a=1.0)
    pd = bifurcation_diagram(m, [1.0, 0.0], "a", 6.0, step=0.3).special_points[0]
    c = continue_bifurcation(m, pd, "delta", 1.0, step=0.05)
    a, delta = c.values.T
    assert delta[-1] == 1.0
    assert np.max(np.abs(a - 1 / delta ** 2)) < ATOL_CURVE


def test_branch_point_is_not_a_fold():
    m = learning_map(TRANSCRITICAL, "nl", delta=0.5, a=-1.0)
    b = bifurcation_diagram(m, [0.0, 0.0], "a", 1.0, step=0.15)
    assert [s.kind for s in b.special_points] == ["branch point"]
    assert abs(b.special_points[0].value) < ATOL_LOCATE


def test_hopf_of_the_flow_and_neimark_sacker_of_the_map():
    m = learning_map(ROTATION, "nl", delta=0.5, a=1.0, c=1.0)
    flow = bifurcation_diagram(m, [0.1, 0.1], "a", -1.0, step=0.15, system="flow")
    (h,) = flow.special_points
    assert h.kind == "hopf" and abs(h.value) < ATOL_LOCATE and abs(h.frequency - 1) < ATOL_ANGLE
    assert flow.stable[0] and not flow.stable[-1]
    # the map at delta = 1/2: a^2 - 4a + 1 = 0
    mp = bifurcation_diagram(m, [0.0, 0.0], "a", 0.05, step=0.15)
    (ns,) = mp.special_points
    assert ns.kind == "neimark-sacker" and abs(ns.value - (2 - 3 ** 0.5)) < ATOL_LOCATE
    # the Hopf curve in (a, c) is a = 0; the NS curve in (a, delta) is delta = 2a/(a^2 + 1)
    hc = continue_bifurcation(m, h, "c", 3.0, step=0.2)
    assert hc.values[-1, 1] == 3.0 and np.max(np.abs(hc.values[:, 0])) < ATOL_CURVE
    np.testing.assert_allclose(hc.frequencies, hc.values[:, 1], atol=ATOL_CURVE)
    nc = continue_bifurcation(m, ns, "delta", 0.9, step=0.05)
    a, delta = nc.values.T
    assert np.max(np.abs(delta - 2 * a / (a ** 2 + 1))) < ATOL_CURVE


def test_detection_functions_change_sign_at_the_crossings():
    t = detection_functions([0.0, 0.0], [1.1, 0.5])
    assert t["fold"] < 0 < detection_functions([0.0, 0.0], [0.9, 0.5])["fold"]
    assert detection_functions([0, 0], [-1.1, 0.5])["period-doubling"] < 0
    ring = [np.exp(1j), np.exp(-1j)]
    assert abs(detection_functions([0, 0], ring)["neimark-sacker"]) < 1e-15
    with pytest.raises(ValueError, match="system"):
        detection_functions([0], [0], "ode")


def test_checks_can_fail():
    """A branch with no crossing has no special point; a wrong closed form is far off."""
    m = learning_map(MP, "lola", eta=1.0)
    b = continue_branch(m, [0.0, 0.0], "delta", 1.5, start=0.1, step=0.3)
    assert detect(b) == []
    ns = bifurcation_diagram(m, [0.0, 0.0], "delta", 3.0, start=1.0, step=0.5).special_points[0]
    assert abs(ns.value - CLOSED["lola_full"](1.0)) > 1
    with pytest.raises(ValueError, match="must differ"):
        continue_bifurcation(m, ns, "delta", 2.0)
    with pytest.raises(ValueError, match="not a parameter"):
        continue_bifurcation(m, ns, "zeta", 2.0)


# ------------------------------------------------------------------ figures and the report
def test_figures_are_drawn_headless(tmp_path):
    from lola_sym.report.plots_bifurcation import plot_branch, plot_curve
    m = learning_map(FOLD_GAME, "nl", delta=0.5, a=6.0)
    b = bifurcation_diagram(m, [2.5, 0.0], "a", -1.0, step=0.2)
    assert {s.kind for s in b.special_points} >= {"fold", "period-doubling"}
    fig = plot_branch(b, path=tmp_path / "branch.png")
    assert (tmp_path / "branch.png").stat().st_size > 1000 and len(fig.axes) == 2
    pd = [s for s in b.special_points if s.kind == "period-doubling"][0]
    c = continue_bifurcation(m.with_values(a=pd.value), pd, "delta", 1.0, step=0.05)
    plot_curve(c, lambda d: 1 / d ** 2, path=tmp_path / "curve.pdf")
    assert (tmp_path / "curve.pdf").stat().st_size > 1000
    with pytest.raises(ValueError, match="coordinate"):
        plot_branch(b, coordinate=2)
    with pytest.raises(TypeError, match="Branch"):
        plot_branch(c)
    with pytest.raises(ValueError, match="one closed form per curve"):
        plot_curve([c, c], [None])


def test_segments_split_at_the_special_points():
    from lola_sym.report.plots_bifurcation import _segments
    pieces = _segments([0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [True, True, False], [(1, 1.5, 0.0)])
    assert [(p[0], p[2]) for p in pieces] == [([0.0, 1.0, 1.5], True), ([1.5, 2.0], False)]


def test_bifurcation_report_and_matching_pennies_reproduction(tmp_path):
    from lola_sym.report.plots_bifurcation import (REDUCED, bifurcation_report,
                                                   matching_pennies_reproduction)
    r = bifurcation_report("matching_pennies", "lola_full", "delta", 5.0, start=1.0, eta=1.0,
                           step=0.5, second="eta", second_stop=3.0)
    kind, value = r.format_table().splitlines()[2].split()[:2]
    assert kind == "neimark-sacker" and abs(float(value) - 3.2) < ATOL_LOCATE
    assert r.as_dict()["curve"]["parameters"] == ["delta", "eta"]
    r.plot(tmp_path / "mp.png")
    assert (tmp_path / "mp.png").exists() and (tmp_path / "mp_curve.png").exists()
    res = matching_pennies_reproduction(**REDUCED)
    assert max(res.curve_errors().values()) < ATOL_CURVE
    for rows in res.points.values():
        assert all(abs(got - want) < ATOL_LOCATE for _, got, want in rows)
    assert "32 eta/(eta^2 + 16)" in res.format_table()
    res.plot(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="both"):
        bifurcation_report("matching_pennies", "lola", "delta", 3.0, second="eta")
    with pytest.raises(ValueError, match="no closed form"):
        matching_pennies_reproduction(rules=("nl",))


def test_results_are_plain_data():
    import json
    m = learning_map(MP, "lola", eta=1.0)
    b = bifurcation_diagram(m, [0.0, 0.0], "delta", 3.0, start=1.0, step=0.5)
    data = json.loads(json.dumps(b.as_dict()))
    assert data["special_points"][0]["kind"] == "neimark-sacker"
    assert len(data["multipliers"]) == len(b) and data["multipliers"][0][0] == [
        float(b.multipliers[0, 0].real), float(b.multipliers[0, 0].imag)]
    c = continue_bifurcation(m, b.special_points[0], "eta", 2.0, step=0.5)
    assert json.loads(json.dumps(c.as_dict()))["kind"] == "neimark-sacker"
