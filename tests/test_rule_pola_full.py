"""Full POLA (rule ``pola_full``): both steps proximal, checked independently.

Published setting (Zhao et al. 2022, Sec. 3 and Algorithm 1; Silent-Zebra/POLA @ b248b52,
``LOLA_exact.py`` with ``--inner_exact_prox``: the opponent's step is the proximal operator
``prox_f`` with weight ``inner_beta``, differentiated by the implicit-function theorem in
``get_ift_terms``). Parameterisation invariance is the paper's Sec. 3 claim; the
pre-conditioning matrix is the reference's ``ill_cond_matrix1`` (start state first).
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from lola_sym import update_field
from lola_sym.rules import TAGS, get_rule
from test_rule_pola import (ATOL_INVARIANT, ATOL_POLA_REFERENCE, ATOL_STATIONARY, GAME,
                            M_PRECOND, POINTS, _kl_grad_formula, _sig)
from test_rules import RuleContract

#: full POLA's outer stationarity: central differences (step 1e-4) of the outer objective,
#: the opponent's response re-solved by an independent Newton (|grad| < 1e-13) at each
#: point: error ~ h^2 |third derivative| + 1e-13 / h ~ 1e-8
ATOL_FULL_STATIONARY = 1e-6
#: full POLA at beta_in = 1e8 against ideal POLA with no opponent step (eta = 0): the
#: opponent moves by O(1 / beta_in)
ATOL_FULL_LIMIT = 1e-6


def _response(x, t2, beta_in, naive, start=None):
    """The opponent's proximal step, written here: Newton on
    V2(x, y) - beta_in sum_s KL(Bern(s(t2)) || Bern(s(y))), its Hessian by central differences
    of the gradient (the compiled naive field, tested against mpmath elsewhere)."""
    def grad(y):
        return naive(x, y)[1] - beta_in * _kl_grad_formula(t2, y)
    y = np.array(t2 if start is None else start, dtype=float)
    for _ in range(100):
        g = grad(y)
        if np.max(np.abs(g)) < 1e-13:
            return y
        H = np.array([(grad(y + e) - grad(y - e)) / 2e-6 for e in np.eye(5) * 1e-6]).T
        y = y - np.linalg.solve(0.5 * (H + H.T), g)
    raise AssertionError("the reference response did not converge")


def _outer_objective(x, t1, t2, beta, beta_in, naive, start=None):
    """V1(x, y*(x)) - beta sum_s KL(Bern(s(t1)) || Bern(s(x))), from the formula."""
    y = _response(x, t2, beta_in, naive, start)
    p, q = _sig(t1), _sig(x)
    kl = np.sum(p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q)))
    return GAME.value(x, y)[0] - beta * kl


def _outer_gradient_fd(x, t1, t2, beta, beta_in, h=1e-4):
    """Central differences of the outer objective; each response warm-started at y*(x)."""
    naive = update_field(GAME, "nl")
    y0 = _response(x, t2, beta_in, naive)
    return np.array([(_outer_objective(x + e, t1, t2, beta, beta_in, naive, y0)
                      - _outer_objective(x - e, t1, t2, beta, beta_in, naive, y0)) / (2 * h)
                     for e in np.eye(5) * h])


def _mpmath_outer_gradient(x, y, t1, beta, beta_in):
    """Full POLA's outer gradient for agent 1 at (x, y*), from mpmath derivatives only."""
    import mpmath
    with mpmath.workdps(reference.DPS):
        pt = [mpmath.mpf(float(v)) for v in list(x) + list(y)]
        v2 = reference._value_fn(GAME, 2)

        def d(f, *idx):
            order = [0] * 10
            for k in idx:
                order[k] += 1
            return float(mpmath.diff(f, pt, tuple(order)))
        Hyy = np.array([[d(v2, 5 + a, 5 + b) for b in range(5)] for a in range(5)])
        Hyx = np.array([[d(v2, 5 + a, b) for b in range(5)] for a in range(5)])
    g11 = np.asarray(reference.grad(GAME, 1, 1, x, y), float)
    g12 = np.asarray(reference.grad(GAME, 1, 2, x, y), float)
    fisher = np.diag(_sig(y) * (1 - _sig(y)))
    Y = -np.linalg.solve(Hyy - beta_in * fisher, Hyx)
    return g11 + Y.T @ g12 - beta * _kl_grad_formula(t1, x)


class TestPolaFull(RuleContract):
    """Full POLA (both steps proximal; the reference's ``--inner_exact_prox``)."""

    rule = "pola_full"
    hyper = {"beta_in": 20.0, "beta": 20.0}

    def test_metadata(self):
        """As TestPola's: its primitive program (the value gradients) has no hyper-parameter."""
        r = get_rule(self.rule)
        assert r.needs_hessian == (r.order >= 2)
        prog = self.field().program
        assert len(prog.outputs) == 4 * 5 and not r.compiled_hyper()
        assert set(r.hyper) == {"beta", "beta_in"} and r.reference
        assert r.combine is None and r.primitives is None
        assert r.tags <= set(TAGS)

    #: the determinism check's points (each is a nested Newton solve)
    determinism_points = 4

    @pytest.mark.slow
    def test_compiled_matches_independent_reference(self):
        """(slow: 30 independent inner solves, about 15 s) The new logits are a stationary
        point of the outer objective, its gradient taken by central differences with the
        opponent's response solved independently (above)."""
        t1, t2 = POINTS[0]
        n1, _ = self.field().step(t1, t2)
        fd = _outer_gradient_fd(n1, t1, t2, 20.0, 20.0)
        assert np.max(np.abs(fd)) <= ATOL_FULL_STATIONARY
        # POLA's step with a naive opponent (its first-order model) is not stationary
        other = update_field(GAME, "pola", eta=1.0 / 20.0, beta=20.0).step(t1, t2)[0]
        assert np.max(np.abs(_outer_gradient_fd(other, t1, t2, 20.0, 20.0))) \
            > 10 * ATOL_FULL_STATIONARY

    def test_compiled_matches_exact_program(self):
        """The opponent's response is stationary for its own proximal objective under the
        mpmath reference gradient (50 digits), and equals the independent Newton's."""
        t1, t2 = POINTS[1]
        f = self.field()
        n1, _ = f.step(t1, t2)
        y, _ = f.opponent_step(0, n1, (t1, t2))
        g = np.asarray(reference.directions("nl", GAME, n1, y)[1], float)
        assert np.max(np.abs(g - 20.0 * _kl_grad_formula(t2, y))) <= ATOL_STATIONARY
        mine = _response(n1, t2, 20.0, update_field(GAME, "nl"))
        assert np.max(np.abs(mine - y)) <= ATOL_POLA_REFERENCE

    def test_outer_step_is_stationary_under_the_mpmath_reference(self):
        """The outer objective's gradient at the new logits, assembled here from mpmath
        derivatives of the values (40 digits): grad_1 V1 + (dy*/dx)^T grad_2 V1 - beta (s(x) -
        s(theta1)), with dy*/dx = -(d2 V2/dy2 - beta_in F)^-1 d2 V2/dy dx by the
        implicit-function theorem, F = diag(s(y)(1 - s(y))). It vanishes to ATOL_STATIONARY;
        at 1 % larger beta it does not (the check can fail)."""
        t1, t2 = POINTS[0]
        f = self.field()

        def residual(field):
            x, _ = field.step(t1, t2)
            y, _ = field.opponent_step(0, x, (t1, t2))
            return _mpmath_outer_gradient(x, y, t1, 20.0, 20.0)
        assert np.max(np.abs(residual(f))) <= ATOL_STATIONARY
        wrong = update_field(GAME, "pola_full", beta_in=20.0, beta=20.0 * 1.01)
        assert np.max(np.abs(residual(wrong))) > 1e3 * ATOL_STATIONARY

    def test_reference_check_can_fail(self):
        t1, t2 = POINTS[0]
        wrong = update_field(GAME, "pola_full", beta_in=20.0 * 1.01, beta=20.0).step(t1, t2)[0]
        assert np.max(np.abs(_outer_gradient_fd(wrong, t1, t2, 20.0, 20.0))) \
            > 10 * ATOL_FULL_STATIONARY

    def test_backends_agree(self):
        t1, t2 = POINTS[0]
        a = self.field(backend="numpy")(t1, t2)
        b = self.field(backend="c")(t1, t2)
        for x, y in zip(a, b):
            assert np.max(np.abs(x - y)) <= 1e-9

    def test_a_rigid_opponent_is_pola_without_an_opponent_step(self):
        """beta_in -> inf: the opponent does not move; full POLA is ideal POLA at eta = 0."""
        t1, t2 = POINTS[0]
        full = update_field(GAME, "pola_full", beta_in=1e8, beta=20.0)(t1, t2)
        still = update_field(GAME, "pola", eta=0.0, beta=20.0)(t1, t2)
        for x, y in zip(full, still):
            assert np.max(np.abs(x - y)) <= ATOL_FULL_LIMIT
        moving = update_field(GAME, "pola_full", beta_in=1.0, beta=20.0)(t1, t2)
        assert np.max(np.abs(moving[0] - still[0])) > 1e3 * ATOL_FULL_LIMIT

    def test_the_map_jacobian_is_refused_and_analysis_differences(self):
        f = self.field()
        assert not f.has_jacobian
        with pytest.raises(ValueError, match="third derivatives"):
            f.map_jacobian(*POINTS[0])

    def test_nested_solver_needs_its_parts(self):
        from lola_sym.rules.proximal import ProximalField
        with pytest.raises(ValueError, match="naive_jac and value_grads"):
            ProximalField(GAME, get_rule("pola_full"), self.hyper, {"weighted": 0}, None, None,
                          GAME.value, None, "nested")


def test_full_pola_is_invariant_to_the_parameterisation():
    r"""Zhao et al. 2022, Sec. 3: with both steps proximal, the update of the *policies* does
    not depend on the parameterisation. On POLA's contribution game (cf 1.33) with its
    pre-conditioned logits theta = M phi for both agents, full POLA's new policies in phi equal
    those in theta to solver tolerance (beta_in = 2, beta = 1); exact LOLA's do not (its step is
    a gradient step in the parameters)."""
    from lola_sym.games import contribution
    from lola_sym.games.reparameterised import reparameterised
    base = contribution(2, "1.33")
    g = reparameterised(base, M_PRECOND)
    Mi = np.linalg.inv(M_PRECOND)
    rng = np.random.default_rng(0)
    t1, t2 = rng.normal(0, 0.5, 5), rng.normal(0, 0.5, 5)
    hyper = {"beta_in": 2.0, "beta": 1.0}
    a = update_field(base, "pola_full", **hyper).step(t1, t2)
    b = update_field(g, "pola_full", **hyper).step(Mi @ t1, Mi @ t2)
    for x, y in zip(a, b):
        assert np.max(np.abs(_sig(x) - _sig(M_PRECOND @ y))) <= ATOL_INVARIANT
    lola_theta = update_field(base, "exact_lola", eta=1.0)(t1, t2)[0]
    lola_phi = update_field(g, "exact_lola", eta=1.0)(Mi @ t1, Mi @ t2)[0]
    delta = 0.1
    moved = _sig(t1 + delta * lola_theta) - _sig(M_PRECOND @ (Mi @ t1 + delta * lola_phi))
    assert np.max(np.abs(moved)) > 1e3 * ATOL_INVARIANT


@pytest.mark.slow
def test_pola_with_a_naive_opponent_is_not_invariant():
    """(slow: compiles exact LOLA's Jacobian on the reparameterised family) With the opponent's
    naive step (rule ``pola``, eta > 0) the invariance is lost: the opponent's gradient step
    depends on its parameterisation, so the outer problem differs."""
    from lola_sym.games import contribution
    from lola_sym.games.reparameterised import reparameterised
    base = contribution(2, "1.33")
    g = reparameterised(base, M_PRECOND)
    Mi = np.linalg.inv(M_PRECOND)
    rng = np.random.default_rng(0)
    t1, t2 = rng.normal(0, 0.5, 5), rng.normal(0, 0.5, 5)
    a = update_field(base, "pola", eta=1.0, beta=1.0).step(t1, t2)
    b = update_field(g, "pola", eta=1.0, beta=1.0).step(Mi @ t1, Mi @ t2)
    assert np.max(np.abs(_sig(a[0]) - _sig(M_PRECOND @ b[0]))) > 1e3 * ATOL_INVARIANT
