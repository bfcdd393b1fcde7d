"""Finite-time Lyapunov exponents (lola_sym.analysis.lyapunov), checked on maps with known exponents.

* a linear map: the exponents are log|eigenvalues| (numpy's eigenvalues), and
  independently the log singular values of A^n / n;
* the logistic map at r = 4: ln 2 (Ott 2002, Sec. 2.3), and independently the
  integral of log|f'| against the invariant density 1 / (pi sqrt(x (1 - x))) (scipy quad);
* a learning map with a constant Jacobian (NL on the Hamiltonian game): 1/2 log(1 + delta^2),
  and independently the growth of |theta_T|;
* LOLA on matching pennies: log of the spectral radius at the fixed point (stability module).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from lola_sym import games
from lola_sym.analysis.lyapunov import LearningMap, learning_ftle, lyapunov_exponents
from lola_sym.analysis.stability import spectral_radius
from lola_sym.analysis.jacobian import jacobian

#: Finite-time bias of a linear map's exponents over LINEAR_STEPS steps (log cond / T).
LINEAR_TOL = 5e-3
LINEAR_STEPS = 2000
#: Rounding over a few thousand QR steps of a map whose exponents are exact.
QR_ROUND_TOL = 1e-10
#: The logistic map's FTLE: standard errors of the mean over runs allowed.
LOGISTIC_SIGMAS = 5.0
#: Convergence of a contracting run's exponent to log rho (transient effects / T).
CONVERGE_TOL = 2e-3
#: Central-difference agreement of a map Jacobian (step 1e-6).
FD_TOL = 1e-7


def _linear(A):
    A = np.asarray(A, dtype=float)
    return (lambda x: x @ A.T), (lambda x: np.broadcast_to(A, (x.shape[0],) + A.shape))


A_NONNORMAL = np.array([[1.2, 2.0, -1.0], [0.0, -0.6, 3.0], [0.0, 0.0, 0.3]])


def test_linear_map_matches_eigenvalues_and_singular_values():
    step, jac = _linear(A_NONNORMAL)
    x0 = np.random.default_rng(0).normal(size=(4, 3))
    res = lyapunov_exponents(step, jac, x0, LINEAR_STEPS)
    eig = np.sort(np.log(np.abs(np.linalg.eigvals(A_NONNORMAL))))[::-1]
    n = 200
    sv = np.log(np.linalg.svd(np.linalg.matrix_power(A_NONNORMAL, n), compute_uv=False)) / n
    np.testing.assert_allclose(res.exponents, np.broadcast_to(eig, (4, 3)), atol=LINEAR_TOL)
    np.testing.assert_allclose(sv, eig, atol=0.02)          # n = 200: log cond / n
    assert not res.diverged.any()


def test_linear_check_can_fail():
    """A wrong Jacobian (2A) is caught: every exponent off by log 2."""
    step, _ = _linear(A_NONNORMAL)
    _, jac2 = _linear(2 * A_NONNORMAL)
    res = lyapunov_exponents(step, jac2, np.ones(3), LINEAR_STEPS)
    eig = np.sort(np.log(np.abs(np.linalg.eigvals(A_NONNORMAL))))[::-1]
    assert np.all(np.abs(res.exponents[0] - eig) > 0.5)


def test_rotation_scaling_pair_shares_one_exponent():
    c, s = np.cos(0.7), np.sin(0.7)
    A = 0.9 * np.array([[c, -s], [s, c]])
    step, jac = _linear(A)
    res = lyapunov_exponents(step, jac, [1.0, 0.0], 300)
    np.testing.assert_allclose(res.exponents[0], [np.log(0.9)] * 2, atol=QR_ROUND_TOL)


def test_logistic_map_has_ln2_two_ways():
    r = 4.0
    step = lambda x: r * x * (1 - x)                             # noqa: E731
    jac = lambda x: (r * (1 - 2 * x))[:, :, None]                # noqa: E731
    x0 = np.random.default_rng(1).uniform(0.05, 0.95, size=(200, 1))
    res = lyapunov_exponents(step, jac, x0, 2000, transient=50)
    lam = res.largest
    mean, se = lam.mean(), lam.std(ddof=1) / np.sqrt(lam.size)
    integral, _ = quad(lambda x: np.log(abs(r * (1 - 2 * x))) / (np.pi * np.sqrt(x * (1 - x))),
                       0, 1, points=[0.5], limit=200)
    assert integral == pytest.approx(np.log(2), abs=1e-6)
    assert abs(mean - np.log(2)) < LOGISTIC_SIGMAS * se
    assert se < 0.01
    # the same map at r = 3.2 has a stable 2-cycle: a negative exponent
    step32 = lambda x: 3.2 * x * (1 - x)                         # noqa: E731
    jac32 = lambda x: (3.2 * (1 - 2 * x))[:, :, None]            # noqa: E731
    stable = lyapunov_exponents(step32, jac32, x0[:5], 500, transient=200).largest
    r2 = 3.2                 # the 2-cycle ((r + 1) -+ sqrt((r + 1)(r - 3))) / (2 r)
    a, b = ((r2 + 1) + np.array([-1, 1]) * np.sqrt((r2 + 1) * (r2 - 3))) / (2 * r2)
    assert step32(np.array([a]))[0] == pytest.approx(b)
    expected = np.log(abs(3.2 * (1 - 2 * a) * 3.2 * (1 - 2 * b))) / 2
    np.testing.assert_allclose(stable, expected, atol=1e-2)


def test_hamiltonian_nl_constant_jacobian_two_ways():
    delta = 0.1
    F = LearningMap(games.hamiltonian(), "nl", delta)
    x0 = np.array([[1.0, 0.5], [-0.2, 0.3]])
    res = lyapunov_exponents(F, None, x0, 100)
    exact = 0.5 * np.log(1 + delta ** 2)
    np.testing.assert_allclose(res.exponents, exact, atol=QR_ROUND_TOL)
    x = x0
    for _ in range(100):
        x = F.step(x)
    growth = np.log(np.linalg.norm(x, axis=1) / np.linalg.norm(x0, axis=1)) / 100
    np.testing.assert_allclose(growth, exact, atol=QR_ROUND_TOL)


def test_lola_matching_pennies_converges_at_log_spectral_radius():
    delta, eta = 1.0, 1.0
    g = games.matching_pennies()
    rho = spectral_radius(jacobian(g, "lola", [0.0], [0.0], eta=eta), delta)
    starts = [np.array([[0.1], [-0.3], [0.5]]), np.array([[0.2], [0.4], [-0.1]])]
    res = learning_ftle(g, "lola", delta=delta, eta=eta, thetas=starts, steps=1000,
                        transient=300, k=2)
    assert rho < 1
    np.testing.assert_allclose(res.largest, np.log(rho), atol=CONVERGE_TOL)


def test_learning_map_per_agent_rates_and_jacobian_by_differences():
    g = games.matching_pennies()
    F = LearningMap(g, "lola", (0.3, 1.2), eta=0.7)
    assert F.deltas == (0.3, 1.2)
    x = np.array([[0.4, -0.9]])
    D = F.jacobian(x)[0]
    h = 1e-6
    fd = np.stack([(F.step(x + h * e) - F.step(x - h * e))[0] / (2 * h) for e in np.eye(2)],
                  axis=1)
    np.testing.assert_allclose(D, fd, atol=FD_TOL)
    f1, f2 = F.field(x[:, :1], x[:, 1:])
    np.testing.assert_allclose(F.step(x), x + np.array([[0.3 * f1[0, 0], 1.2 * f2[0, 0]]]))


def test_divergence_is_marked_or_raised():
    step, jac = _linear(np.diag([3.0, 0.5]))
    res = lyapunov_exponents(step, jac, [[1.0, 1.0], [1e-9, 1.0]], 30, max_abs=1e6)
    assert res.diverged.tolist() == [True, False]
    assert np.isnan(res.exponents[0]).all() and np.isfinite(res.exponents[1]).all()
    with pytest.raises(ValueError, match="diverged at step"):
        lyapunov_exponents(step, jac, [1.0, 1.0], 30, max_abs=1e6, on_divergence="raise")


@pytest.mark.parametrize("kwargs, err", [
    (dict(x0=[[np.nan, 1.0]]), ValueError), (dict(x0="ab"), TypeError),
    (dict(k=3), ValueError), (dict(steps=0), ValueError),
    (dict(on_divergence="ignore"), ValueError)])
def test_bad_input(kwargs, err):
    step, jac = _linear(np.eye(2))
    args = dict(x0=[1.0, 1.0], steps=5)
    args.update(kwargs)
    with pytest.raises(err):
        lyapunov_exponents(step, jac, args.pop("x0"), args.pop("steps"), **args)
    with pytest.raises(TypeError, match="LearningMap"):
        lyapunov_exponents(step, None, [1.0], 5)
    with pytest.raises(ValueError, match="one per agent"):
        LearningMap(games.matching_pennies(), "nl", (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="delta"):
        LearningMap(games.matching_pennies(), "nl", -1.0)


def test_kaplan_yorke_dimension():
    step, jac = _linear(np.diag([2.0, 0.5, 0.1]))
    res = lyapunov_exponents(step, jac, [1.0, 1.0, 1.0], 50)
    # log 2 - log 2 = 0 after two: j = 2, partial sum 0 -> D = 2 + 0 / |log 0.1|
    assert res.kaplan_yorke[0] == pytest.approx(2.0, abs=1e-9)


def test_learning_map_follows_train_per_agent_rates():
    """The map iterated by hand equals lola_sym.train's trajectory (the same updates)."""
    from lola_sym import train
    g = games.ipd()
    F = LearningMap(g, "lola", (0.5, 1.5), eta=0.8)
    tr = train(g, "lola", runs=3, steps=20, delta=(0.5, 1.5), eta=0.8, seed=4)
    x = F.join([tr.theta1[0], tr.theta2[0]])
    for _ in range(20):
        x = F.step(x)
    np.testing.assert_allclose(x, F.join([tr.theta1[-1], tr.theta2[-1]]), rtol=0, atol=1e-12)
