r"""M-FOS's meta-learning baselines (lola_sym.dynamics.meta) on a game solved by hand.

Settings cited: MAMAML in luchris429/Model-Free-Opponent-Shaping @ 3efb169,
src/environments.py ``generate_mamaml`` (Adam 0.01, 1000 iterations, 100 inner steps,
inner lr 1, initial logits N(0, 1), alpha ~ U(0, 1)); batch 8192 in src/main_non_mfos.py.

The shepherding game: V^1 = -(y - 2)^2 - x^2 / 2, V^2 = -(y - x)^2. A naive follower with
step 1/4 from y_0 = 0 moves y_{t+1} = (y_t + x) / 2, so y_t = c_t x with c_t = 1 - 2^-t,
and a static leader's objective (1/T) sum_{t<T} V^1 is a quadratic in x, maximised at
x* = 2 mean(c) / (mean(c^2) + 1/2) = 1.297 (numpy below).
"""

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import minimize

from lola_sym import games
from lola_sym.dynamics.meta import ALPHA_MIN, MFOS_MAMAML, Adam, good_shepherd, mamaml

#: Adam's end point vs the closed-form optimum (Adam 0.05 for 400 iterations on a
#: quadratic: oscillation ~ the rate times a decaying factor)
ATOL_OPTIMUM = 2e-2
T = 10


def _shepherd_game():
    x, y = sp.symbols("x y", real=True)
    return games.differentiable(-(y - 2)**2 - x**2 / 2, -(y - x)**2, [x], [y])


def _x_star():
    c = 1 - 0.5 ** np.arange(T)
    return 2 * c.mean() / ((c ** 2).mean() + 0.5)


def test_mfos_settings_are_cited_values():
    assert MFOS_MAMAML == dict(outer_lr=0.01, iterations=1000, inner_steps=100, inner_lr=1.0,
                               init_std=1.0, batch=8192)


def test_good_shepherd_finds_the_closed_form_static_optimum():
    res = good_shepherd(_shepherd_game(), inner_steps=T, batch=1, iterations=400,
                        outer_lr=0.05, inner_lr=0.25, init_std=0.0, seed=3)
    assert abs(res.theta0[0] - _x_star()) <= ATOL_OPTIMUM
    assert abs(res.theta0[0] - 2.0) > 10 * ATOL_OPTIMUM        # not the naive target y = 2
    assert res.history[-1] > res.history[0]


def _mamaml_objective(v):
    """The MAMAML objective simulated plainly: x_{t+1} = x_t - alpha x_t (player 1's own
    gradient is -x), y_{t+1} = y_t + (x_t - y_t) / 2, mean of V^1 over t < T."""
    x, a = v
    y, total = 0.0, 0.0
    for _ in range(T):
        total += -(y - 2) ** 2 - x ** 2 / 2
        x, y = x - a * x, y + 0.5 * (x - y)
    return total / T


def test_mamaml_finds_the_optimum_of_start_and_step():
    """Against an independent optimiser (Nelder-Mead on the plain simulation): the learned
    start and step, and the objective."""
    opt = minimize(lambda v: -_mamaml_objective(v), [1.0, 0.1], method="Nelder-Mead",
                   options=dict(xatol=1e-10, fatol=1e-14))
    res = mamaml(_shepherd_game(), inner_steps=T, batch=1, iterations=400, outer_lr=0.05,
                 inner_lr=0.25, init_std=0.0, seed=4)
    assert abs(res.theta0[0] - opt.x[0]) <= ATOL_OPTIMUM
    assert abs(res.alpha - opt.x[1]) <= ATOL_OPTIMUM
    assert abs(_mamaml_objective([res.theta0[0], res.alpha]) + opt.fun) <= 1e-6
    assert abs(opt.x[0] - _x_star()) > 10 * ATOL_OPTIMUM     # learning changes the start
    assert res.history[-1] > res.history[0]


def test_mamaml_improves_its_objective_on_the_ipd():
    """A few iterations on the IPD (reduced from M-FOS's settings): the mean reward of the
    meta-learner over the inner run rises."""
    res = mamaml(games.ipd(), inner_steps=20, batch=16, iterations=12, outer_lr=0.1, seed=0)
    assert res.alpha >= ALPHA_MIN
    assert np.mean(res.history[-3:]) > np.mean(res.history[:3])


def test_adam_matches_its_definition_for_one_step():
    """First step of Adam: m = (1-b1) g, v = (1-b2) g^2, bias-corrected to g and g^2,
    so x moves by lr * g / (|g| + eps) = lr * sign(g)."""
    opt = Adam(0.3)
    x = opt.step(np.array([1.0, -2.0]), np.array([4.0, -0.5]))
    assert np.allclose(x, [1.3, -2.3], rtol=0, atol=1e-8)


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="two-player"):
        mamaml(games.contribution(3, "1.33", memory=0), iterations=1)
    with pytest.raises(ValueError, match="batch"):
        good_shepherd(games.ipd(), batch=0)
    with pytest.raises(TypeError, match="progress"):
        mamaml(games.ipd(), iterations=1, progress=3)
