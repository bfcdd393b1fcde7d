"""POLA (rules ``pola`` and ``pola_outer``): the proximal step, checked independently.

Published settings used here (Zhao et al. 2022, Silent-Zebra/POLA @ b248b52, ``LOLA_exact.py``
and README "IPD with exact value function"; ``../shared/reference/newer_methods.md``):
``prox_threshold`` = 1e-8 and ``prox_outer_max_iters`` = 5000 (the rule's defaults); the
KL is ``kl_div(log pi_new, pi_static, reduction='batchmean')`` over a batch of one, i.e. the sum
over states of KL(Bern(pi_old) || Bern(pi_new)); the pre-conditioning matrix
M = [[1,0,0,0,0],[-2,1,0,0,0],[-2,0,1,0,0],[-2,0,0,1,0],[-2,0,0,0,1]] (start state first).
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from lola_sym import update_field
from lola_sym.games import ipd
from lola_sym.rules.proximal import (NEWTON_GTOL, ProximalSolveError, kl_divergence,
                                     kl_gradient, kl_hessian, visitation_weights)
from lola_sym.rules import TAGS, get_rule
from test_rules import RuleContract

#: Newton's solution vs a long plain gradient ascent on the same objective (both stop on
#: the exact gradient; the ascent's distance to the optimum is |grad| / |lambda_min|)
ATOL_POLA_REFERENCE = 1e-9
#: |grad J| at Newton's solution, grad J from the independent mpmath exact-LOLA reference
#: (50 digits) and the KL gradient written here from its formula
ATOL_STATIONARY = 1e-9
#: closed-form KL derivatives vs central finite differences (step 1e-5: error ~1e-10)
ATOL_KL_FD = 1e-8
#: outer POLA with a tiny threshold vs ideal POLA
ATOL_OUTER_IDEAL = 1e-7
#: IFT Jacobian vs central differences of the field (Newton to 1e-11, step 1e-5)
ATOL_IFT_FD = 1e-5
#: parameterisation invariance (both solves to |grad| <= 1e-11)
ATOL_INVARIANT = 1e-8

M_PRECOND = np.array([[1, 0, 0, 0, 0], [-2, 1, 0, 0, 0], [-2, 0, 1, 0, 0], [-2, 0, 0, 1, 0],
                      [-2, 0, 0, 0, 1]], dtype=float)

GAME = ipd()
RNG = np.random.default_rng(7)
POINTS = [(RNG.normal(0, 1, 5), RNG.normal(0, 1, 5)) for _ in range(2)]


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _kl_grad_formula(old, new):
    """d/dx sum_s KL(Bern(s(a)) || Bern(s(x))) = s(x) - s(a), written from the formula."""
    return _sig(new) - _sig(old)


def _ascent_reference(f, i, thetas, steps=60000):
    """Long plain gradient ascent on agent i's proximal objective (fixed step 1/L)."""
    H = f.hessian(i, thetas[i], thetas)
    lr = 1.0 / np.max(np.abs(np.linalg.eigvalsh(0.5 * (H + H.T))))
    x = np.array(thetas[i], dtype=float)
    beta, eta = f.hyper["beta"], f.hyper["eta"]
    grad = update_field(GAME, "exact_lola", eta=eta)
    for _ in range(steps):
        ts = list(thetas)
        ts[i] = x
        g = grad(*ts)[i] - beta * _kl_grad_formula(thetas[i], x)
        if np.max(np.abs(g)) < 1e-13:
            break
        x = x + 0.5 * lr * g
    return x


class TestPola(RuleContract):
    """Ideal POLA: Newton on the exact gradient and Hessian of the proximal objective."""

    rule = "pola"
    hyper = {"eta": 1.0, "beta": 20.0}


    def test_metadata(self):
        """The contract's metadata checks except the tags: no entry of TAGS fits this rule yet
        ("opponent_shaping" implies "lookahead", i.e. that eta = 0 gives the naive learner),
        so it has none until a tag is added to the registry."""
        r = get_rule(self.rule)
        assert r.needs_hessian == (r.order >= 2)
        prog = self.field().program
        assert {s.name for s in prog.inputs} >= {s.name for s in r.hyper_symbols}
        assert set(r.hyper) >= set(r.compiled_hyper()) and r.reference
        assert r.combine is None and r.primitives is None
        assert r.tags <= set(TAGS)

    #: the determinism check's points (each is a Newton solve, not a threaded batch)
    determinism_points = 6

    def test_compiled_matches_independent_reference(self):
        f = self.field()
        for t1, t2 in POINTS[:1]:
            new = f.step(t1, t2)
            for i in range(2):
                want = _ascent_reference(f, i, (t1, t2))
                assert np.max(np.abs(new[i] - want)) <= ATOL_POLA_REFERENCE

    def test_solution_is_stationary_under_the_mpmath_reference(self):
        f = self.field()
        t1, t2 = POINTS[1]
        n1, n2 = f.step(t1, t2)
        beta, eta = self.hyper["beta"], self.hyper["eta"]
        g1 = reference.directions("exact_lola", GAME, n1, t2, eta=eta)[0]
        g2 = reference.directions("exact_lola", GAME, t1, n2, eta=eta)[1]
        r1 = np.asarray(g1, float) - beta * _kl_grad_formula(t1, n1)
        r2 = np.asarray(g2, float) - beta * _kl_grad_formula(t2, n2)
        assert max(np.max(np.abs(r1)), np.max(np.abs(r2))) <= ATOL_STATIONARY
        # and the old point is not stationary (the check can fail)
        g0 = np.asarray(reference.directions("exact_lola", GAME, t1, t2, eta=eta)[0], float)
        assert np.max(np.abs(g0)) > 1e3 * ATOL_STATIONARY

    def test_compiled_matches_exact_program(self):
        """The closed-form KL gradient and Hessian vs central differences of the KL."""
        a, x = POINTS[0]
        h = 1e-5
        kl = lambda y: kl_divergence(GAME, 0, a, y)          # noqa: E731
        fd = np.array([(kl(x + h * e) - kl(x - h * e)) / (2 * h) for e in np.eye(5)])
        assert np.max(np.abs(fd - kl_gradient(GAME, 0, a, x))) <= ATOL_KL_FD
        assert np.max(np.abs(kl_gradient(GAME, 0, a, x) - _kl_grad_formula(a, x))) <= 1e-15
        gr = lambda y: kl_gradient(GAME, 0, a, y)            # noqa: E731
        fdh = np.array([(gr(x + h * e) - gr(x - h * e)) / (2 * h) for e in np.eye(5)])
        assert np.max(np.abs(fdh - kl_hessian(GAME, 0, a, x))) <= ATOL_KL_FD

    def test_reference_check_can_fail(self):
        f = self.field()
        t1, t2 = POINTS[0]
        want = _ascent_reference(f, 0, (t1, t2))
        wrong = update_field(GAME, "pola", eta=1.0, beta=20.0 * (1 + 1e-6)).step(t1, t2)[0]
        assert np.max(np.abs(wrong - want)) > 10 * ATOL_POLA_REFERENCE

    @pytest.mark.slow
    def test_backends_agree(self):
        """(slow: compiles exact LOLA's Jacobian with the numpy backend, 9 s)"""
        t1, t2 = POINTS[0]
        want = self.field(backend="numpy")(t1, t2)
        got = self.field(backend="c")(t1, t2)
        for x, y in zip(got, want):
            assert np.max(np.abs(x - y)) <= 1e-9

    def test_beta_to_infinity_is_the_natural_gradient_step(self):
        r"""As beta -> inf, beta * (theta+ - theta) -> F^{-1} grad h (F the Fisher block):
        the step shrinks like 1/beta, the error of the limit like 1/beta^2."""
        t1, t2 = POINTS[0]
        g = update_field(GAME, "exact_lola", eta=1.0)(t1, t2)[0]
        p = _sig(t1)
        natural = g / (p * (1 - p))
        errs, sizes = [], []
        for beta in (1e3, 1e4):
            step = update_field(GAME, "pola", eta=1.0, beta=beta)(t1, t2)[0]
            sizes.append(np.max(np.abs(step)))
            errs.append(np.max(np.abs(beta * step - natural)))
        assert sizes[1] < 0.11 * sizes[0]
        assert errs[1] < 0.11 * errs[0]

    def test_ift_jacobian_matches_finite_differences(self):
        f = self.field()
        t1, t2 = POINTS[0]
        J = f.jacobian(t1, t2)
        x = np.r_[t1, t2]
        h = 1e-5
        fd = np.empty((10, 10))
        for k in range(10):
            e = np.zeros(10)
            e[k] = h
            up = np.concatenate(f(*np.split(x + e, [5])))
            dn = np.concatenate(f(*np.split(x - e, [5])))
            fd[:, k] = (up - dn) / (2 * h)
        assert np.max(np.abs(J - fd)) <= ATOL_IFT_FD * max(1.0, np.max(np.abs(fd)))

    def test_a_solve_that_does_not_converge_names_the_point(self, monkeypatch):
        """With beta > 0 the KL grows without bound as a policy saturates, so a maximum exists
        (even beta = 1e-3 converges, in 16 iterations); a solve cut short raises, naming the
        point, or gives NaN rows with failed="nan"."""
        import lola_sym.rules.proximal as proximal
        f = update_field(GAME, "pola", eta=1.0, beta=1e-3)
        assert np.all(np.isfinite(f(np.zeros(5), np.zeros(5))[0]))
        monkeypatch.setattr(proximal, "NEWTON_MAX_ITERS", 2)
        with pytest.raises(ProximalSolveError, match=r"theta = \(\[0\. 0\."):
            f(np.zeros(5), np.zeros(5))
        g = f(np.zeros((2, 5)), np.zeros((2, 5)), failed="nan")
        assert np.isnan(g[0]).all()

    def test_games_without_policies_are_refused(self):
        from lola_sym.games import tandem
        with pytest.raises(ValueError, match="KL between per-state policies"):
            update_field(tandem(), "pola")

    def test_training_applies_the_pola_step(self):
        from lola_sym import train
        t1, t2 = POINTS[0]
        traj = train(GAME, "pola", theta1=t1[None], theta2=t2[None], steps=1, delta=1.0,
                     eta=1.0, beta=20.0)
        new = self.field().step(t1, t2)
        assert np.max(np.abs(traj.thetas[0][1, 0] - new[0])) <= 1e-12


class TestPolaOuter(RuleContract):
    """Outer POLA (Algorithm 1 as the reference code runs it)."""

    rule = "pola_outer"
    hyper = {"eta": 1.0, "beta": 20.0, "lr_out": 0.03}
    #: the outer loop run to convergence (the reference's threshold 1e-8 stops it early)
    converged = {"eta": 1.0, "beta": 20.0, "lr_out": 0.01, "prox_threshold": 1e-30,
                 "max_iters": 200000}


    def test_metadata(self):
        """The contract's metadata checks except the tags: no entry of TAGS fits this rule yet
        ("opponent_shaping" implies "lookahead", i.e. that eta = 0 gives the naive learner),
        so it has none until a tag is added to the registry."""
        r = get_rule(self.rule)
        assert r.needs_hessian == (r.order >= 2)
        prog = self.field().program
        assert {s.name for s in prog.inputs} >= {s.name for s in r.hyper_symbols}
        assert set(r.hyper) >= set(r.compiled_hyper()) and r.reference
        assert r.combine is None and r.primitives is None
        assert r.tags <= set(TAGS)

    #: the determinism check's points (each costs hundreds of gradient steps)
    determinism_points = 6

    def test_compiled_matches_independent_reference(self):
        """Outer POLA converges to ideal POLA as its threshold shrinks."""
        t1, t2 = POINTS[0]
        ideal = update_field(GAME, "pola", eta=1.0, beta=20.0)(t1, t2)
        got = update_field(GAME, "pola_outer", **self.converged)(t1, t2)
        for x, y in zip(got, ideal):
            assert np.max(np.abs(x - y)) <= ATOL_OUTER_IDEAL

    def test_compiled_matches_exact_program(self):
        """With the reference's own threshold (1e-8) it stops early, further from the optimum."""
        t1, t2 = POINTS[0]
        ideal = update_field(GAME, "pola", eta=1.0, beta=20.0)(t1, t2)
        coarse = update_field(GAME, "pola_outer", eta=1.0, beta=20.0, lr_out=0.01)(t1, t2)
        fine = update_field(GAME, "pola_outer", **self.converged)(t1, t2)
        assert (np.max(np.abs(coarse[0] - ideal[0]))
                > np.max(np.abs(fine[0] - ideal[0])))

    def test_reference_check_can_fail(self):
        t1, t2 = POINTS[0]
        ideal = update_field(GAME, "pola", eta=1.0, beta=20.0 * 1.001)(t1, t2)
        got = update_field(GAME, "pola_outer", **self.converged)(t1, t2)
        assert np.max(np.abs(got[0] - ideal[0])) > 10 * ATOL_OUTER_IDEAL

    def test_backends_agree(self):
        t1, t2 = POINTS[0]
        a = update_field(GAME, "pola_outer", backend="numpy", eta=1.0, beta=20.0,
                         lr_out=0.01)(t1, t2)
        b = update_field(GAME, "pola_outer", backend="c", eta=1.0, beta=20.0,
                         lr_out=0.01)(t1, t2)
        for x, y in zip(a, b):
            assert np.max(np.abs(x - y)) <= 1e-9


def test_parameterisation_invariance():
    r"""Under theta = M phi (POLA's pre-conditioned logits), with eta = 0 (the opponent's naive
    step is the one parameterisation-dependent part of the exact-value POLA): the proximal
    step's new *policy* is unchanged to solver tolerance, the naive gradient step's is not.

    The phi-space proximal step is solved here by Newton on
    J(phi) = V1(M phi, theta2) - beta KL(pi(M phi_old) || pi(M phi)), gradient
    M^T (grad_1 V1 - beta (s(M phi) - s(M phi_old))), Hessian by central differences of that
    exact gradient (it only steers Newton; convergence is judged on the exact gradient)."""
    t1, t2 = POINTS[0]
    beta = 20.0
    nl = update_field(GAME, "nl")
    phi0 = np.linalg.solve(M_PRECOND, t1)

    def grad_phi(phi):
        th = M_PRECOND @ phi
        return M_PRECOND.T @ (nl(th, t2)[0] - beta * (_sig(th) - _sig(t1)))

    phi = phi0.copy()
    for _ in range(100):
        g = grad_phi(phi)
        if np.max(np.abs(g)) <= NEWTON_GTOL:
            break
        h = 1e-6
        H = np.array([(grad_phi(phi + h * e) - grad_phi(phi - h * e)) / (2 * h)
                      for e in np.eye(5)]).T
        phi = phi - np.linalg.solve(0.5 * (H + H.T), g)
    assert np.max(np.abs(grad_phi(phi))) <= NEWTON_GTOL
    theta_pola = update_field(GAME, "pola", eta=0.0, beta=beta).step(t1, t2)[0]
    assert np.max(np.abs(_sig(M_PRECOND @ phi) - _sig(theta_pola))) <= ATOL_INVARIANT
    # the naive step (LOLA at eta = 0) in phi moves the policy differently
    delta = 0.05
    g = nl(t1, t2)[0]
    step_theta = _sig(t1 + delta * g)
    step_phi = _sig(M_PRECOND @ (phi0 + delta * M_PRECOND.T @ g))
    assert np.max(np.abs(step_theta - step_phi)) > 1e3 * ATOL_INVARIANT


def test_visitation_weights_match_a_truncated_sum():
    """p = sum_t gamma^t mu_1 P^t, summed over the agent's own states (+1 for s0), vs the
    linear solve; the IPD's CD and DC swap for agent 2."""
    t1, t2 = POINTS[0]
    w1 = visitation_weights(GAME, 0, t1, t2)
    w2 = visitation_weights(GAME, 1, t1, t2)
    p1, p2 = _sig(t1), _sig(t2)
    gamma = float(GAME.gamma)

    def joint(a, b):        # distribution over (CC, CD, DC, DD), agent-1-first
        return np.array([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)])
    mu = joint(p1[0], p2[0])
    P = np.array([joint(p1[1 + s], p2[1 + [0, 2, 1, 3][s]]) for s in range(4)])
    d, q = np.zeros(4), mu.copy()
    for t in range(2000):
        d += gamma ** t * q
        q = q @ P
    want1 = np.r_[1.0, d] / (5 * (1 + d.sum()))
    want2 = np.r_[1.0, d[[0, 2, 1, 3]]] / (5 * (1 + d.sum()))
    assert np.max(np.abs(w1 - want1)) <= 1e-12
    assert np.max(np.abs(w2 - want2)) <= 1e-12


def test_weighted_pola_is_stationary_for_the_weighted_objective():
    t1, t2 = POINTS[0]
    f = update_field(GAME, "pola", eta=1.0, beta=2000.0, weighted=1)
    n1, _ = f.step(t1, t2)
    w = visitation_weights(GAME, 0, t1, t2)
    g = update_field(GAME, "exact_lola", eta=1.0)(n1, t2)[0]
    assert np.max(np.abs(g - 2000.0 * w * _kl_grad_formula(t1, n1))) <= 1e-10
    unweighted = update_field(GAME, "pola", eta=1.0, beta=2000.0).step(t1, t2)[0]
    assert np.max(np.abs(unweighted - n1)) > 1e-3


def test_policy_maps_give_the_same_policy_in_phi_space():
    """The rule's own Newton solver run in phi (logits M phi, ProximalField.policy_maps) with
    eta = 0: value, gradient M^T grad V, Hessian M^T H M from the compiled naive field and its
    exact Jacobian. The new policy equals the theta-space one to solver tolerance; the
    IFT Jacobians are related by the chain rule, J_theta = M J_phi M^-1 (block-diagonal M)."""
    from lola_sym.analysis.jacobian import jacobian
    from lola_sym.rules import get_rule
    from lola_sym.rules.proximal import ProximalField
    t1, t2 = POINTS[1]
    beta = 20.0
    nl = update_field(GAME, "nl")
    Mi = np.linalg.inv(M_PRECOND)
    B = np.kron(np.eye(2), M_PRECOND)

    def grad(p1, p2):
        g = nl(M_PRECOND @ p1, M_PRECOND @ p2)
        return M_PRECOND.T @ g[0], M_PRECOND.T @ g[1]

    def jac(p1, p2):
        return B.T @ jacobian(GAME, "nl", M_PRECOND @ p1, M_PRECOND @ p2) @ B

    def value(p1, p2):
        return GAME.value(M_PRECOND @ p1, M_PRECOND @ p2)

    f_phi = ProximalField(GAME, get_rule("pola"), {"eta": 0.0, "beta": beta}, {"weighted": 0},
                          grad, jac, value, grad, policy_maps=(M_PRECOND, M_PRECOND))
    f_theta = update_field(GAME, "pola", eta=0.0, beta=beta)
    p1, p2 = Mi @ t1, Mi @ t2
    new_phi = f_phi.step(p1, p2)
    new_theta = f_theta.step(t1, t2)
    for a, b in zip(new_phi, new_theta):
        assert np.max(np.abs(_sig(M_PRECOND @ a) - _sig(b))) <= ATOL_INVARIANT
    J_phi = f_phi.map_jacobian(p1, p2)
    J_theta = f_theta.map_jacobian(t1, t2)
    assert np.max(np.abs(B @ J_phi @ np.linalg.inv(B) - J_theta)) <= 1e-6 * np.max(
        np.abs(J_theta))


def test_outer_pola_is_the_reference_loop_in_autograd():
    """Algorithm 1 as the reference runs it (``update_th_exact_value_outer_exact_prox``),
    written here in PyTorch autograd from newer_methods.md: differentiate through the
    opponent's naive step, plain steps on loss + beta KL until KL < threshold both ways. On
    the README's outer-POLA setting (cf 1.33, lr_in 5, lr_out 0.3, outer_beta 0.1) it stops
    after the same number of iterations at the same point as rule pola_outer."""
    torch = pytest.importorskip("torch")
    from lola_sym.games import contribution
    cf, gamma, lr_in, lr_out, beta = 1.33, 0.96, 5.0, 0.3, 0.1
    game = contribution(2, "1.33")
    rng = np.random.default_rng(0)
    t1, t2 = rng.normal(0, 0.1, 5), rng.normal(0, 0.1, 5)
    R = torch.tensor([[cf - 1, cf / 2 - 1], [cf / 2, 0.0]], dtype=torch.float64)
    r1, r2 = R.reshape(-1), R.T.reshape(-1)

    def values(a, b):
        p, q = torch.sigmoid(a), torch.sigmoid(b)

        def row(x, y):
            return torch.stack([x * y, x * (1 - y), (1 - x) * y, (1 - x) * (1 - y)])
        P = torch.stack([row(p[1 + s], q[1 + [0, 2, 1, 3][s]]) for s in range(4)])
        A = torch.eye(4, dtype=torch.float64) - gamma * P
        p0 = row(p[0], q[0])
        return p0 @ torch.linalg.solve(A, r1), p0 @ torch.linalg.solve(A, r2)

    def kl(old, new):
        po, pn = torch.sigmoid(old), torch.sigmoid(new)
        return (po * (torch.log(po) - torch.log(pn))
                + (1 - po) * (torch.log(1 - po) - torch.log(1 - pn))).sum()

    old = torch.tensor(t1)
    x = old.clone().requires_grad_(True)
    th2 = torch.tensor(t2)
    for it in range(1, 5001):
        b = th2.clone().requires_grad_(True)
        (g2,) = torch.autograd.grad(values(x, b)[1], b, create_graph=True)
        obj = -values(x, th2 + lr_in * g2)[0] + beta * kl(old, x)
        (g,) = torch.autograd.grad(obj, x)
        with torch.no_grad():
            prev = x.detach().clone()
            x = (x - lr_out * g).detach().requires_grad_(True)
            if kl(prev, x) < 1e-8 and kl(x, prev) < 1e-8:
                break
    f = update_field(game, "pola_outer", eta=lr_in, beta=beta, lr_out=lr_out)
    mine, iters = f.outer(0, (t1, t2))
    assert iters == it
    assert np.max(np.abs(mine - x.detach().numpy())) <= 1e-12


def test_analysis_uses_the_ift_jacobian_of_ideal_pola_and_differences_for_the_rest():
    """lola_sym.jacobian on ideal POLA is the implicit-function-theorem Jacobian (checked
    against central differences of the field to RTOL_ANALYSIS_FD); Advantage Alignment and
    LOQA, which have no derived program, get central differences."""
    import numpy as np

    from lola_sym import games, jacobian, update_field
    from lola_sym.analysis.jacobian import _fd_jacobian
    g = games.ipd()
    rng = np.random.default_rng(1)
    th = [0.5 * rng.normal(size=5) for _ in range(2)]
    J = jacobian(g, "pola", *th)
    fd = _fd_jacobian(update_field(g, "pola"), *th)
    assert np.abs(J - fd).max() < RTOL_ANALYSIS_FD * np.abs(fd).max()
    batch = jacobian(g, "pola", np.stack([th[0], th[0]]), th[1])
    assert batch.shape == (2, 10, 10) and np.allclose(batch[1], J, rtol=1e-12, atol=1e-14)
    for rule in ("advantage_alignment", "loqa"):
        assert np.isfinite(jacobian(g, rule, *th)).all()


#: IFT Jacobian vs central differences of a field solved to |grad| <= 1e-11 (measured 1.5e-9)
RTOL_ANALYSIS_FD = 1e-6
