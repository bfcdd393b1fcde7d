"""Tests of lola_sym.dynamics.training."""

import numpy as np
import pytest

from lola_sym import games, update_field
from lola_sym.dynamics.training import DivergenceError, as_generator, train
from tolerances import ATOL_ONE_STEP


def test_one_step_equals_the_update_map():
    g = games.ipd()
    tr = train(g, "lola", "nl", runs=7, steps=1, delta=0.5, seed=3, hyper1={"eta": 2.0})
    t1, t2 = tr.theta1[0], tr.theta2[0]
    g1 = update_field(g, "lola", eta=2.0)(t1, t2)[0]
    g2 = update_field(g, "nl")(t1, t2)[1]
    assert np.allclose(tr.theta1[1], t1 + 0.5 * g1, rtol=0, atol=ATOL_ONE_STEP)
    assert np.allclose(tr.theta2[1], t2 + 0.5 * g2, rtol=0, atol=ATOL_ONE_STEP)
    assert tr.rules == ("lola", "nl") and tr.hyper == ({"eta": 2.0}, {})


def test_short_trajectory_equals_manual_iteration():
    g = games.imp()
    f = update_field(g, "lola", eta=1.0)
    tr = train(g, "lola", runs=3, steps=5, delta=1.0, seed=0, eta=1.0)
    t1, t2 = tr.theta1[0].copy(), tr.theta2[0].copy()
    for _ in range(5):
        g1, g2 = f(t1, t2)
        t1, t2 = t1 + g1, t2 + g2
    assert np.allclose(tr.theta1[-1], t1, rtol=0, atol=1e-10)
    assert np.allclose(tr.theta2[-1], t2, rtol=0, atol=1e-10)


def test_reward_is_average_reward_per_step():
    g = games.ipd()
    tr = train(g, "nl", runs=2, steps=2, seed=0)
    assert np.allclose(tr.reward, g.average_reward(tr.theta1, tr.theta2), rtol=1e-14)
    assert tr.final_reward.shape == (2, 2) and tr.runs == 2 and tr.steps == 2


def test_same_seed_same_result_and_generator_accepted():
    g = games.ipd()
    a = train(g, "nl", runs=4, steps=3, seed=5)
    b = train(g, "nl", runs=4, steps=3, seed=5)
    c = train(g, "nl", runs=4, steps=3, seed=np.random.default_rng(5))
    d = train(g, "nl", runs=4, steps=3, seed=6)
    assert np.array_equal(a.theta1, b.theta1) and np.array_equal(a.theta1, c.theta1)
    assert not np.array_equal(a.theta1, d.theta1)


def test_given_initial_parameters_are_not_mutated():
    g = games.ipd()
    t1, t2 = np.zeros((2, 5)), np.ones((2, 5))
    tr = train(g, "nl", theta1=t1, theta2=t2, steps=2)
    assert np.all(t1 == 0) and np.all(t2 == 1)
    assert np.array_equal(tr.theta1[0], t1)


def test_divergence_is_reported_with_run_and_step():
    g = games.ipd()
    # run 1 sits near the bound and is pushed past it (grad of theta_DD is -0.41)
    t1 = np.array([[0.0] * 5, [-4.0] * 5])
    with pytest.raises(DivergenceError, match=r"update 1 of 3 in run\(s\) \[1\]"):
        train(g, "nl", theta1=t1, theta2=t1, steps=3, delta=1.0, max_abs=4.2)
    tr = train(g, "nl", theta1=t1, theta2=t1, steps=2, delta=1.0, max_abs=4.2,
               on_divergence="mark")
    assert tr.diverged_at.tolist() == [-1, 1]
    assert np.array_equal(tr.theta1[-1, 1], t1[1])      # frozen at its last finite value


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(runs=0), ValueError, "runs must be >= 1"),
    (dict(steps=-1), ValueError, "steps must be"),
    (dict(delta=0.0), ValueError, "delta must be > 0"),
    (dict(seed=1.5), TypeError, "seed must be"),
    (dict(on_divergence="ignore"), ValueError, "on_divergence"),
    (dict(alpha=1.0), ValueError, "hyper-parameter 'alpha'"),
    (dict(theta1=np.zeros((2, 5))), ValueError, "give both"),
    (dict(theta1=np.zeros((2, 5)), theta2=np.zeros((3, 5))), ValueError, "shapes"),
])
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train(games.ipd(), "nl", **kwargs)


def test_as_generator_rejects_negative_seed():
    with pytest.raises(ValueError):
        as_generator(-1)


# --- step methods -----------------------------------------------------------
# Hamiltonian game (values -xy, xy): the naive field is g = A theta with
# A = [[0, -1], [1, 0]], A^2 = -I, so every method is a known linear map.
_A = np.array([[0.0, -1.0], [1.0, 0.0]])


def _hamiltonian_start():
    return np.array([[0.3], [-1.2]]), np.array([[0.7], [0.4]])


def test_extragradient_step_is_the_korpelevich_map():
    """Extragradient on a bilinear game: theta' = (I + delta A + delta^2 A^2) theta."""
    delta = 0.3
    t1, t2 = _hamiltonian_start()
    tr = train(games.hamiltonian(), "nl", theta1=t1, theta2=t2, steps=3, delta=delta,
               method="extragradient")
    M = np.eye(2) + delta * _A + delta ** 2 * _A @ _A
    z = np.concatenate([t1, t2], axis=1)
    for k in range(4):
        got = np.concatenate([tr.theta1[k], tr.theta2[k]], axis=1)
        np.testing.assert_allclose(got, z, rtol=0, atol=ATOL_ONE_STEP)
        z = z @ M.T
    assert tr.method == "extragradient"


def test_optimistic_step_uses_the_previous_direction():
    """OGDA: theta_{t+1} = theta_t + 2 delta g_t - delta g_{t-1}, g_{-1} = g_0."""
    delta = 0.2
    t1, t2 = _hamiltonian_start()
    tr = train(games.hamiltonian(), "nl", theta1=t1, theta2=t2, steps=4, delta=delta,
               method="optimistic")
    z = [np.concatenate([t1, t2], axis=1)]
    g_prev = z[0] @ _A.T
    for _ in range(4):
        g = z[-1] @ _A.T
        z.append(z[-1] + delta * (2 * g - g_prev))
        g_prev = g
    got = np.concatenate([tr.theta1, tr.theta2], axis=2)
    np.testing.assert_allclose(got, np.stack(z), rtol=0, atol=ATOL_ONE_STEP)


@pytest.mark.parametrize("method, converges", [("simultaneous", False), ("extragradient", True),
                                               ("optimistic", True)])
def test_methods_on_the_hamiltonian_game(method, converges):
    """Simultaneous naive steps spiral out (|1 + i delta| > 1); EG and OGDA converge to 0."""
    t1, t2 = _hamiltonian_start()
    tr = train(games.hamiltonian(), "nl", theta1=t1, theta2=t2, steps=150, delta=0.3,
               method=method)
    r0 = np.hypot(t1, t2)[0, 0]
    r = float(np.hypot(tr.theta1[-1], tr.theta2[-1])[0, 0])
    assert (r < 1e-2 * r0) if converges else (r > 2 * r0)


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="unknown method 'adam'"):
        train(games.hamiltonian(), "nl", runs=1, steps=1, method="adam")
