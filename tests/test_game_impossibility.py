"""Letcher's impossibility game (``games.impossibility``): no method converges.

Source: Letcher, A. (2021), "On the impossibility of global convergence in
multi-loss optimization", ICLR, arXiv:2005.12649, and its code
(aletcher/impossibility-global-convergence @ a6fa57b), as summarised in
``reference/newer_methods.md``: losses L1 = xy - x^2/2 + y^2/2 + x^4/4 - y^4/4,
L2 = -L1; at rate 0.01 for 3000 epochs from initial std 1, GD, EG, OMD, SGA, CO,
CGD, LA, LOLA and SOS all enter limit cycles instead of converging.
"""

from __future__ import annotations

import numpy as np
import pytest

import lola_sym as ls
from lola_sym.games import differentiable, impossibility
from lola_sym.games.catalogue import _X, _Y

#: the compiled field against the hand-derived gradient (a few ulps of a cubic)
RTOL_FIELD = 1e-14
#: |eigenvalue - (1 +- i)| of the exact Jacobian at the origin
TOL_EIGEN = 1e-12
#: the published setting
DELTA, STEPS, RUNS, INIT_STD = 0.01, 3000, 8, 1.0
#: a run "converged" when it ends this close to the origin, "diverged" beyond the bound
CONVERGED, BOUND = 0.05, 3.0


def naive_ascent(x, y):
    """-dL1/dx and -dL2/dy written out by hand (values = -losses, ascent)."""
    return -(y - x + x ** 3), x + y - y ** 3


def test_naive_field_is_the_hand_derived_gradient():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 50, 1))
    g1, g2 = ls.update_field(impossibility(), "nl")(x, y)
    w1, w2 = naive_ascent(x, y)
    np.testing.assert_allclose(g1, w1, rtol=RTOL_FIELD, atol=1e-15)
    np.testing.assert_allclose(g2, w2, rtol=RTOL_FIELD, atol=1e-15)


def test_the_origin_repels():
    """The exact Jacobian of the naive ascent field at 0 is [[1, -1], [1, 1]]: eigenvalues
    1 +- i (losses: -1 +- i), an unstable focus for every step size."""
    st = ls.classify(impossibility(), "nl", [0.0], [0.0], delta=DELTA)
    np.testing.assert_allclose(st.jacobian, [[1.0, -1.0], [1.0, 1.0]], atol=TOL_EIGEN)
    np.testing.assert_allclose(sorted(st.eigenvalues, key=np.imag), [1 - 1j, 1 + 1j],
                               atol=TOL_EIGEN)
    assert st.spectral_radius > 1 and st.residual == 0


def _end_radii(game, rule, **hyper):
    """|theta| over the last 500 steps of each run: (smallest, largest), and divergences."""
    traj = ls.train(game, rule, rule, runs=RUNS, steps=STEPS, delta=DELTA, seed=7,
                    init_std=INIT_STD, **hyper)
    r = np.hypot(traj.thetas[0][-500:, :, 0], traj.thetas[1][-500:, :, 0])
    return r.min(axis=0), r.max(axis=0), traj.diverged_at


@pytest.mark.parametrize("rule,hyper", [("nl", {}), ("la", {"eta": 0.5}),
                                        ("lola", {"eta": 0.5}), ("sos", {"eta": 0.5}),
                                        ("sga", {}), ("co", {}), ("cgd", {"eta": 0.5})])
def test_no_rule_converges_and_none_diverges(rule, hyper):
    """Every run of every rule ends on a bounded cycle: away from the origin, inside BOUND."""
    low, high, diverged = _end_radii(impossibility(), rule, **hyper)
    assert (diverged == -1).all()
    assert (low > CONVERGED).all(), f"{rule}: a run converged ({low.min():.3g})"
    assert (high < BOUND).all()


def test_the_convergence_check_can_fail():
    """The same statistic on a strongly monotone game (losses x^2/2 + xy, y^2/2 - xy) sees
    every naive run converge."""
    control = differentiable(_X ** 2 / 2 + _X * _Y, _Y ** 2 / 2 - _X * _Y, [_X], [_Y],
                             name="monotone", loss=True)
    low, high, _ = _end_radii(control, "nl")
    assert (high < CONVERGED).all()
