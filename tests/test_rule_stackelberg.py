r"""The Stackelberg leader (Fiez, Chasnov & Ratliff 2020): contract, reference, identities.

:class:`TestStackelberg` inherits :class:`test_rules.RuleContract`, with the independent
reference replaced by the paper's formula in its own (losses) convention,
:math:`x \leftarrow x - \delta(D_1 f_1 - D_{21} f_2^\top (D_{22} f_2)^{-1} D_2 f_1)`,
:math:`y \leftarrow y - \delta D_2 f_2` (Fiez et al. 2020, Sec. 3), on mpmath
finite-difference derivatives of :math:`f_i = -V^i` (``tests/reference.py``'s
``FamilyReference``) and a numpy solve. Beyond it: the bimatrix formulas of the authors'
notebook written by hand, the singular-:math:`D_{22} f_2` error, the first-order relation
to LOLA, and the classification of Def. 1-2 on a quadratic game solved by hand.
"""

import mpmath
import numpy as np
import pytest
import sympy as sp

from lola_sym import games, update_field
from lola_sym.analysis.stackelberg_points import classify_stackelberg
from lola_sym.field import FieldError
from lola_sym.report.stackelberg_bimatrix import fiez_bimatrix
from lola_sym.rules import get_rule
from reference import FAMILY_DPS, FamilyReference
from test_rules import RuleContract
from tolerances import RTOL_BACKENDS, RTOL_EXACT_EVAL, RTOL_REFERENCE

#: the one-shot bimatrix field against the notebook's hand-written derivatives (float64
#: rounding of a few dozen operations, relative to the largest entry)
RTOL_HAND = 1e3 * np.finfo(float).eps
#: the finite-difference total Hessian of the classification (FD_STEP = 1e-5, central)
ATOL_TOTAL_HESSIAN = 1e-8


def _rel(got, want):
    got, want = np.concatenate(got), np.concatenate(want)
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def paper_reference(game, t1, t2):
    """The paper's update in losses, from mpmath derivatives; returned as ascent (-step)."""
    with mpmath.workdps(FAMILY_DPS):
        R = FamilyReference(game, t1, t2)
        d1 = R.d1
        H = np.array([[float(v) for v in row] for row in R.H()])   # d xi_i / d theta_j, losses
        D1f1 = np.array([float(v) for v in R.grad(1, 1)])
        D2f1 = np.array([float(v) for v in R.grad(1, 2)])
        D2f2 = np.array([float(v) for v in R.grad(2, 2)])
    D22f2, D21f2 = H[d1:, d1:], H[d1:, :d1]
    leader = D1f1 - D21f2.T @ np.linalg.solve(D22f2, D2f1)
    return -leader, -D2f2


class TestStackelberg(RuleContract):
    rule = "stackelberg"
    #: one IPD point: the mpmath Hessian of the IPD costs about 25 s per point
    reference_games = (("ipd", 1, 6.0), ("matching_pennies", 3, 3.0), ("tandem", 2, 2.0))

    def test_compiled_matches_independent_reference(self):
        for game, n, scale in self.reference_games:
            g = games.by_name(game)
            f = self.field(game)
            rng = np.random.default_rng(11)
            for _ in range(n):
                t1 = rng.uniform(-scale, scale, g.dims[0])
                t2 = rng.uniform(-scale, scale, g.dims[1])
                assert _rel(f(t1, t2), paper_reference(g, t1, t2)) <= RTOL_REFERENCE, game

    def test_reference_check_can_fail(self):
        g = games.matching_pennies()
        f = self.field("matching_pennies")
        t1, t2 = np.array([0.7]), np.array([-0.4])
        want = paper_reference(g, t1, t2)
        assert _rel(f(t1, t2), want) <= RTOL_REFERENCE
        assert _rel((f(t1, t2)[0] * (1 + 1e-8), f(t1, t2)[1]), want) > RTOL_REFERENCE
        # the sign of the implicit term matters: the leader without it is NL, and differs
        nl = update_field(g, "nl")(t1, t2)
        assert _rel(nl, want) > 1e3 * RTOL_REFERENCE

    def test_backends_agree(self):
        """As the contract, at |theta| <= 6: beyond, the follower's Hessian H_22 underflows
        towards singular (sigmoid'' ~ e^-|theta|) and the solve amplifies the backends'
        rounding by its condition number, which the contract's 1e-10 does not budget."""
        rng = np.random.default_rng(21)
        t1, t2 = rng.uniform(-6, 6, (100, 5)), rng.uniform(-6, 6, (100, 5))
        want = self.field(backend="numpy")(t1, t2)
        for backend in ("c", "llvm"):
            got = self.field(backend=backend)(t1, t2)
            for x, y in zip(got, want):
                scale = np.max(np.abs(y), axis=-1, keepdims=True)
                assert np.all(np.abs(x - y) <= RTOL_BACKENDS * scale), backend


def _notebook_stackgrad(x1, x2, tau=2.5, shift=1.0, lam=0.1):
    """Fiez's bimatrix notebook (softmax_2actions, bimatrix_2player_2actions) by hand:
    pi(x) = softmax(a x + b), a = (tau, -tau), b = (shift, -shift); costs
    f1 = pi(x1)^T A pi(x2) + lam x1^2/2, f2 = pi(x1)^T B pi(x2) + lam x2^2/2, and
    stackgrad = (D1f1 - D12f2 / D22f2 * D2f1, D2f2), returned as ascent (-stackgrad)."""
    A, B = np.eye(2), np.array([[0.5, 1.0], [1.0, 0.5]])
    a, b, da = np.array([tau, -tau]), np.array([shift, -shift]), np.array([1.0, -1.0]) * 2 * tau

    def pi(x):
        z = np.exp(a * x + b - np.max(a * x + b))
        return z / z.sum()

    def dpi(x):
        p = pi(x)
        return (1 - p) * p * da

    def ddpi(x):
        return (1 - 2 * pi(x)) * dpi(x) * da

    D1f1 = dpi(x1) @ A @ pi(x2) + lam * x1
    D2f1 = pi(x1) @ A @ dpi(x2)
    D2f2 = pi(x1) @ B @ dpi(x2) + lam * x2
    D22f2 = pi(x1) @ B @ ddpi(x2) + lam
    D12f2 = dpi(x1) @ B @ dpi(x2)
    return -(D1f1 - D12f2 / D22f2 * D2f1), -D2f2


def test_bimatrix_field_is_the_notebooks_formula():
    """The compiled Stackelberg field on fiez_bimatrix() = the notebook's stackgrad written
    by hand (fiezt/ICML-2020-Implicit-Stackelberg-Learning @ 371b48c,
    experiments/bimatrix-games.ipynb: A = I, B = [[1/2, 1], [1, 1/2]], temperature 2.5,
    softmax shift [1, -1] and [0, 0], reg_l2_self = 0.1)."""
    rng = np.random.default_rng(4)
    for shift in (1.0, 0.0):
        f = update_field(fiez_bimatrix(shift=shift), "stackelberg")
        for x, y in rng.uniform(-2, 2, (20, 2)):
            got = f(np.array([x]), np.array([y]))
            want = _notebook_stackgrad(x, y, shift=shift)
            assert _rel(got, [np.array([w]) for w in want]) <= RTOL_HAND
            wrong = _notebook_stackgrad(x, y, shift=shift, lam=0.11)
            assert _rel(got, [np.array([w]) for w in wrong]) > 1e3 * RTOL_HAND


def test_singular_follower_hessian_is_a_clear_error_naming_the_point():
    """Matching pennies, V^2 = (2p_1 - 1)(2p_2 - 1): H_22 = 2(2p_1 - 1) p_2'' vanishes where
    p_1 = 1/2, i.e. theta_1 = 0 (the Nash equilibrium): the leader's direction is undefined."""
    f = update_field(games.matching_pennies(), "stackelberg")
    t1 = np.array([[0.5], [0.0], [1.0]])
    t2 = np.array([[0.3], [0.7], [0.2]])
    with pytest.raises(FieldError, match=r"point \(1,\).*H_22.*singular") as exc:
        f(t1, t2)
    assert isinstance(exc.value, ValueError) and exc.value.index == (1,)
    g = f(t1, t2, failed="nan")
    assert np.isnan(g[0][1]).all() and np.isfinite(g[0][[0, 2]]).all()


def test_equals_lola_to_first_order_in_a_proximal_followers_rate():
    r"""Theory (module docstring of lola_sym.rules.stackelberg): against a follower that
    maximises V^2 - |theta_2 - theta_2^t|^2 / (2 eta), the leader's direction is
    grad_1 V1 - H21^T (H22 - I/eta)^{-1} grad_2 V1 = LOLA's (Foerster et al. 2018, Eq. 4.4)
    + O(eta^2). Checked on the IPD from the compiled primitives: the gap shrinks 4x when
    eta halves (second order), and is not O(eta) small against the plain Stackelberg rule."""
    game = games.ipd()
    st = update_field(game, "stackelberg")
    rng = np.random.default_rng(3)
    t1, t2 = rng.normal(size=5), rng.normal(size=5)
    g11, g12, _, h21t, h22 = st.compiled(t1, t2)
    H21T, H22 = h21t.reshape(5, 5), h22.reshape(5, 5)
    gaps = []
    for eta in (0.02, 0.01, 0.005):
        prox = g11 - H21T @ np.linalg.solve(H22 - np.eye(5) / eta, g12)
        lola = update_field(game, "lola", eta=eta)(t1, t2)[0]
        gaps.append(np.max(np.abs(prox - lola)))
    ratios = gaps[0] / gaps[1], gaps[1] / gaps[2]
    assert all(3.6 < r < 4.4 for r in ratios), ratios
    # the unregularised leader differs from LOLA at first order
    plain = st(t1, t2)[0]
    lola = update_field(game, "lola", eta=0.01)(t1, t2)[0]
    assert np.max(np.abs(plain - lola)) > 100 * gaps[1]


def test_follower_is_naive():
    game = games.ipd()
    rng = np.random.default_rng(5)
    t1, t2 = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    st = update_field(game, "stackelberg")(t1, t2)
    nl = update_field(game, "nl")(t1, t2)
    assert np.max(np.abs(st[1] - nl[1])) <= RTOL_EXACT_EVAL * np.max(np.abs(nl[1]))
    assert np.max(np.abs(st[0] - nl[0])) > 1e-3


def test_closed_update_on_a_quadratic_game():
    r"""V1 = -x^2 + x y, V2 = -y^2 + x y + y: H22 = -2, H21 = 1, grad_2 V1 = x, so
    g_1 = -2x + y + x/2 exactly (sympy through Rule.closed_update)."""
    x, y = sp.symbols("x y", real=True)
    game = games.differentiable(-x**2 + x*y, -y**2 + x*y + y, [x], [y])
    f = update_field(game, "stackelberg")
    (g1, g2), _ = get_rule("stackelberg").closed_update(f.explicit(), {}, game)
    assert sp.simplify(g1[0] - (-sp.Rational(3, 2) * x + y)) == 0
    assert sp.simplify(g2[0] - (-2 * y + x + 1)) == 0
    assert sp.simplify(g1[0] - (-2 * x + y)) != 0


def test_classification_of_the_quadratic_game():
    r"""Fiez et al. Def. 1-2 on the game above, solved by hand: the Nash point (1/3, 2/3)
    (grad_1 V1 = -2x + y = 0, grad_2 V2 = x - 2y + 1 = 0) is differential Nash but not
    Stackelberg; the Stackelberg point solves -3x/2 + y = 0 on r(x) = (x + 1)/2: (1/2, 3/4),
    with the leader's total Hessian d/dx(-3x/2 + (x + 1)/2) = -1 < 0."""
    x, y = sp.symbols("x y", real=True)
    game = games.differentiable(-x**2 + x*y, -y**2 + x*y + y, [x], [y])
    nash = classify_stackelberg(game, [1 / 3], [2 / 3])
    assert nash.differential_nash and nash.stable_nash and not nash.differential_stackelberg
    st = classify_stackelberg(game, [0.5], [0.75])
    assert st.differential_stackelberg and st.stable_stackelberg and not st.differential_nash
    assert abs(st.total_hessian[0] + 1.0) <= ATOL_TOTAL_HESSIAN
    assert abs(st.total_hessian[0] + 1.5) > ATOL_TOTAL_HESSIAN    # not the partial -2 + 1/2
    off = classify_stackelberg(game, [0.5], [0.7])
    assert not off.differential_stackelberg and off.stackelberg_residual > 1e-3


def test_classification_rejects_bad_input():
    with pytest.raises(ValueError, match="two players"):
        classify_stackelberg(games.contribution(3, "1.33", memory=0), [0.0], [0.0])
    with pytest.raises(ValueError, match="shape"):
        classify_stackelberg(games.ipd(), [0.0], [0.0])


def test_identically_singular_follower_has_no_closed_form_and_fails_everywhere():
    """The bilinear Hamiltonian game V^2 = xy is linear in y: H_22 = 0 everywhere, so the
    leader's direction exists nowhere (the page shows the primitives only)."""
    from lola_sym.rules.arithmetic import NoClosedForm
    game = games.hamiltonian()
    f = update_field(game, "stackelberg")
    with pytest.raises(FieldError, match="H_22"):
        f(np.array([0.3]), np.array([-1.2]))
    with pytest.raises(NoClosedForm, match="singular everywhere"):
        get_rule("stackelberg").closed_update(f.explicit(), {}, game)
