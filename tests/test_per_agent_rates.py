"""Per-agent learning rates (issue 14, part 4): delta_1 != delta_2 through classification and thresholds.

The map is theta + diag(delta_i) g(theta); for rates delta_i = s r_i with fixed ratios r the
threshold on the scale s comes from the eigenvalues of diag(r) J. Each threshold is checked
three ways: exactly (exact_lr_threshold(ratios=...)), from numeric eigenvalues
(ratio_lr_threshold), and by bisection on the spectral radius of I + s diag(r) J, and then
by training just below and just above it.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from lola_sym import games, train
from lola_sym.analysis.jacobian import jacobian
from lola_sym.analysis.stability import (classify, classify_map, rate_vector,
                                         ratio_lr_threshold, spectral_radius)
from lola_sym.analysis.thresholds import exact_lr_threshold

#: Numeric eigenvalues against the exact threshold.
EIG_AGREE = 1e-12
#: Bisection on the spectral radius (60 halvings of [0, 10]).
BISECT_TOL = 1e-9
#: Training: a run at 0.97 s* must shrink, at 1.03 s* grow, over TRAIN_STEPS updates.
TRAIN_STEPS = 2000


def _bisect(J, r, hi=10.0):
    lo = 0.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if spectral_radius(J, tuple(mid * x for x in r), (1, 1)) < 1 else \
            (lo, mid)
    return lo


@pytest.mark.parametrize("tau", [sp.Rational(1, 3), sp.Integer(1), sp.Integer(3),
                                 sp.Integer(100)])
def test_matching_pennies_lola_ratio_threshold_three_ways(tau):
    g = games.matching_pennies()
    exact = exact_lr_threshold(g, "lola", [0], [0], eta=1, ratios=(1, tau))
    J = jacobian(g, "lola", [0.0], [0.0], eta=1.0)
    numeric = ratio_lr_threshold(J, (1.0, float(tau)), dims=(1, 1))
    assert abs(float(exact) - numeric) < EIG_AGREE * max(1.0, numeric)
    assert abs(_bisect(J, (1.0, float(tau))) - numeric) < BISECT_TOL
    t = sp.Symbol("tau", positive=True)
    symbolic = exact_lr_threshold(g, "lola", [0], [0], eta=1, ratios=(1, t))
    assert abs(float(symbolic.subs(t, tau)) - float(exact)) < EIG_AGREE
    if tau == 1:
        assert exact == exact_lr_threshold(g, "lola", [0], [0], eta=1) == sp.Rational(32, 17)


def test_ratio_threshold_bilinear_closed_form():
    """NL on c x y + a x^2/2 (losses): diag(1, tau) J has trace -a(1 + tau), det tau (a^2 + c^2).

    Complex pair when (a (1 - tau))^2 < 4 tau c^2: s* = p / q = a (1 + tau) / (tau (a^2 + c^2)).
    """
    x, y = sp.symbols("x y", real=True)
    a, c, tau = sp.Rational(1, 2), sp.Integer(2), sp.Integer(2)
    g = games.differentiable(c * x * y + a * x ** 2 / 2, -c * x * y + a * y ** 2 / 2, [x], [y],
                             loss=True)
    got = exact_lr_threshold(g, "nl", [0], [0], ratios=(1, tau))
    assert got == a * (1 + tau) / (tau * (a ** 2 + c ** 2))
    J = jacobian(g, "nl", [0.0], [0.0])
    assert abs(ratio_lr_threshold(J, (1, 2), dims=(1, 1)) - float(got)) < EIG_AGREE


@pytest.mark.parametrize("tau", [0.25, 4.0])
def test_training_converges_below_and_diverges_above_the_ratio_threshold(tau):
    g = games.matching_pennies()
    J = jacobian(g, "lola", [0.0], [0.0], eta=1.0)
    s = ratio_lr_threshold(J, (1.0, tau), dims=(1, 1))
    start = dict(theta1=np.array([[1e-3]]), theta2=np.array([[-2e-3]]))
    below = train(g, "lola", delta=(0.97 * s, 0.97 * s * tau), steps=TRAIN_STEPS, eta=1.0,
                  **start)
    above = train(g, "lola", delta=(1.03 * s, 1.03 * s * tau), steps=1000, eta=1.0,
                  on_divergence="mark", **start)
    r0 = np.hypot(1e-3, 2e-3)
    assert np.hypot(below.theta1[-1, 0, 0], below.theta2[-1, 0, 0]) < 1e-3 * r0
    assert np.hypot(above.theta1[-1, 0, 0], above.theta2[-1, 0, 0]) > 10 * r0
    assert classify_map(J, (0.97 * s, 0.97 * s * tau), dims=(1, 1)) == "converges"
    assert classify_map(J, (1.03 * s, 1.03 * s * tau), dims=(1, 1)) == "diverges"


def test_classify_with_per_agent_delta_matches_hand_spectral_radius():
    g = games.ipd()
    point = [np.full(5, 0.3), np.full(5, -0.2)]
    st = classify(g, "nl", *point, delta=(0.5, 2.0))
    J = jacobian(g, "nl", *point)
    D = np.diag([0.5] * 5 + [2.0] * 5)
    assert st.spectral_radius == pytest.approx(np.max(np.abs(np.linalg.eigvals(np.eye(10) + D @ J))),
                                               rel=1e-12)
    assert st.delta == (0.5, 2.0)
    common = classify(g, "nl", *point, delta=0.5)
    assert common.spectral_radius != pytest.approx(st.spectral_radius)     # can fail
    assert classify(g, "nl", *point, delta=(0.5, 0.5)).spectral_radius == \
        pytest.approx(common.spectral_radius, rel=1e-14)


def test_bad_per_agent_input():
    g = games.matching_pennies()
    with pytest.raises(ValueError, match="one rate or one per agent"):
        classify(g, "nl", [0.0], [0.0], delta=(0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="delta"):
        classify(g, "nl", [0.0], [0.0], delta=(0.1, -0.2))
    with pytest.raises(ValueError, match="dims"):
        rate_vector((0.1, 0.2), 3, dims=(1, 1))
    with pytest.raises(ValueError, match="one rate ratio per agent"):
        exact_lr_threshold(g, "lola", [0], [0], eta=1, ratios=(1, 2, 3))
    with pytest.raises(ValueError, match="> 0"):
        exact_lr_threshold(g, "lola", [0], [0], eta=1, ratios=(1, 0))
