"""Lyapunov certificates (lola_sym.analysis.certificates) on maps with known basins.

F(x) = x (1 + |x|^2) / 2 (and its rotated 2-d version) has the basin |x| < 1, A = R/2, so
P = 4/3 I in closed form and V = 4/3 |x|^2 decreases exactly on |x| < 1: the certified level
must approach 4/3 from below. Each certificate is checked against simulation: points sampled
inside the certified set converge (iterating the map, or training with lola_sym.train).
"""

from __future__ import annotations

import numpy as np
import pytest

from lola_sym import games, train
from lola_sym.analysis.certificates import (learning_certificate, lyapunov_certificate,
                                            lyapunov_matrix)

#: Closed-form P against scipy's solution.
P_TOL = 1e-12
#: With 20,000 samples the certified level is within this fraction of the true one.
LEVEL_FRACTION = 0.01
#: A converged run is this close to the fixed point.
CONVERGED = 1e-8
#: Below this V (|theta| ~ 1e-10) rounding may stop V from decreasing step by step.
V_ROUNDING = 1e-20


def _rotated(theta=0.9):
    c, s = np.cos(theta), np.sin(theta)
    R = np.array([[c, -s], [s, c]])

    def step(x):
        return (1 + np.sum(x ** 2, axis=-1, keepdims=True)) / 2 * (x @ R.T)
    return step, R / 2


def test_one_dimensional_basin_is_found():
    step = lambda x: x * (1 + x ** 2) / 2                       # noqa: E731
    cert = lyapunov_certificate(step, [[0.5]], [0.0], radius=3.0, samples=20000)
    assert abs(cert.P[0, 0] - 4 / 3) < P_TOL
    assert abs(cert.level - 4 / 3) <= LEVEL_FRACTION * 4 / 3
    assert cert.violations > 0 and cert.level < cert.max_level


def test_rotated_map_basin_two_ways():
    step, A = _rotated()
    cert = lyapunov_certificate(step, A, [0.0, 0.0], radius=2.0, samples=20000, seed=1)
    np.testing.assert_allclose(cert.P, 4 / 3 * np.eye(2), atol=P_TOL)
    assert abs(cert.level - 4 / 3) <= LEVEL_FRACTION * 4 / 3
    # simulation: inside converges, just outside the basin escapes
    x = cert.sample(500, seed=2)
    assert np.all(cert.contains(x))
    for _ in range(200):
        x = step(x)
    assert np.max(np.abs(x)) < CONVERGED
    y = np.array([[1.05, 0.0], [0.0, -1.05]])
    for _ in range(8):
        y = step(y)
    assert np.all(np.linalg.norm(y, axis=1) > 10)


def test_certificate_can_fail():
    """A map with a smaller basin (|x| < 1/2) gives a level far from the 4/3 checked above."""
    _, A = _rotated()
    R = 2 * A

    def smaller(x):
        return (1 + 4 * np.sum(x ** 2, axis=-1, keepdims=True)) / 2 * (x @ R.T)
    cert = lyapunov_certificate(smaller, A, [0.0, 0.0], radius=2.0, samples=5000)
    assert abs(cert.level - 4 / 3) > 10 * LEVEL_FRACTION * 4 / 3
    assert abs(cert.level - 4 / 3 / 4) <= LEVEL_FRACTION * 4 / 3


def test_lyapunov_equation_residual_nonnormal():
    A = np.array([[0.5, 2.0], [0.0, -0.3]])
    Q = np.array([[2.0, 0.5], [0.5, 1.0]])
    P = lyapunov_matrix(A, Q)
    np.testing.assert_allclose(A.T @ P @ A - P, -Q, atol=1e-12)
    assert np.min(np.linalg.eigvalsh(P)) > 0
    # the series sum_k (A^T)^k Q A^k, an independent solution
    S, term = np.zeros((2, 2)), Q.copy()
    for _ in range(200):
        S += term
        term = A.T @ term @ A
    np.testing.assert_allclose(P, S, atol=1e-12)


def test_learning_certificate_lola_matching_pennies_and_training():
    g = games.matching_pennies()
    cert = learning_certificate(g, "lola", [0.0], [0.0], delta=1.0, eta=1.0, samples=20000)
    assert 0 < cert.level < cert.max_level
    pts = cert.sample(40, seed=3)
    tr = train(g, "lola", theta1=pts[:, :1], theta2=pts[:, 1:], steps=3000, delta=1.0, eta=1.0)
    assert np.max(np.abs(tr.theta1[-1])) < 1e-6 and np.max(np.abs(tr.theta2[-1])) < 1e-6
    # V decreases along every one of these training runs, update by update
    path = np.concatenate([tr.theta1, tr.theta2], axis=-1)        # (steps + 1, runs, 2)
    V = cert.value(path)
    assert np.all((np.diff(V, axis=0) < 0) | (V[1:] < V_ROUNDING))


def test_learning_certificate_per_agent_rates():
    g = games.matching_pennies()
    cert = learning_certificate(g, "lola", [0.0], [0.0], delta=(0.5, 2.0), eta=1.0,
                                samples=4000)
    assert cert.level > 0 and cert.spectral_radius < 1


def test_refused():
    g = games.matching_pennies()
    with pytest.raises(ValueError, match="not stable"):
        learning_certificate(g, "nl", [0.0], [0.0], delta=0.1)
    with pytest.raises(ValueError, match="not a fixed point"):
        learning_certificate(g, "lola", [0.5], [0.0], delta=1.0, eta=1.0)
    with pytest.raises(ValueError, match="positive definite"):
        lyapunov_matrix([[0.5]], [[-1.0]])
    with pytest.raises(TypeError):
        lyapunov_certificate("F", [[0.5]], [0.0])
