r"""Differential Nash and differential Stackelberg points (Fiez et al. 2020, Def. 1-2).

In the paper's costs :math:`f_i` (minimised; leader :math:`x = \theta_1`,
follower :math:`y = \theta_2`):

* **differential Nash** (Def. 1): :math:`D_1 f_1 = 0`, :math:`D_2 f_2 = 0`,
  :math:`D_1^2 f_1 \succ 0` and :math:`D_2^2 f_2 \succ 0`;
* **differential Stackelberg** (Def. 2): :math:`Df_1 = D_1 f_1 + Dr^\top D_2 f_1 = 0`
  (the total derivative along the follower's implicit response
  :math:`Dr = -(D_2^2 f_2)^{-1} D_{21} f_2`), :math:`D_2 f_2 = 0`,
  :math:`D^2 f_1 \succ 0` (the *total* second derivative of
  :math:`x \mapsto f_1(x, r(x))`) and :math:`D_2^2 f_2 \succ 0`.

With values :math:`V^i = -f_i` (the package's convention) the gradients flip sign
and every "positive definite" becomes "negative definite":
:math:`\nabla_1 V^1 = 0, \nabla_2 V^2 = 0, H_{11} \prec 0, H_{22} \prec 0` (Nash) and
:math:`g_1^{S} = 0, \nabla_2 V^2 = 0, T \prec 0, H_{22} \prec 0` (Stackelberg), with
:math:`H = \partial\xi/\partial\theta` the values' game Jacobian (the naive
learner's field Jacobian, exact forward mode), :math:`g_1^S` the Stackelberg
leader's direction (:mod:`lola_sym.rules.stackelberg`) and
:math:`T = \partial g_1^S/\partial\theta_1 + \partial g_1^S/\partial\theta_2\, Dr`,
:math:`Dr = -H_{22}^{-1} H_{21}`: on the follower's response curve :math:`g_1^S` is
the total gradient of :math:`V^1(\theta_1, r(\theta_1))`, so :math:`T` is its
total Hessian. :math:`\partial g^S/\partial\theta` is the Stackelberg field's
Jacobian, a combined rule's, so taken by central differences
(:data:`lola_sym.analysis.jacobian.FD_STEP`, error about :math:`10^{-10}`).

*Stable* means: the continuous-time flow of the rule's field has a Jacobian
with every eigenvalue in the open left half-plane (the naive learner's field for
Nash points, the Stackelberg field for Stackelberg points), the points marked in
Fiez et al.'s bimatrix figure.

References
----------
.. [1] Fiez, T., Chasnov, B. and Ratliff, L. (2020). Implicit Learning Dynamics
   in Stackelberg Games: Equilibria Characterization, Convergence Analysis, and
   Empirical Study. ICML. arXiv:1906.01217, Def. 1 and 2, Prop. 1.
.. [2] Ratliff, L., Burden, S. and Sastry, S. (2013). Characterization and
   computation of local Nash equilibria in continuous games. Allerton (Def. 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym._validation import check_game, check_real
from lola_sym.analysis.jacobian import jacobian

__all__ = ["StackelbergClass", "classify_stackelberg", "ATOL_CRITICAL"]

#: Largest max-norm of a direction at which a point counts as critical.
ATOL_CRITICAL = 1e-8


@dataclass(frozen=True)
class StackelbergClass:
    r"""What :func:`classify_stackelberg` finds at a point.

    Attributes
    ----------
    thetas : tuple of ndarray
        The point (leader's parameters, follower's parameters).
    nash_residual : float
        :math:`\max |\xi|` (the simultaneous gradient).
    stackelberg_residual : float
        :math:`\max |(g_1^S, \nabla_2 V^2)|`, NaN where :math:`H_{22}` is singular.
    h11, h22 : ndarray
        Eigenvalues of :math:`H_{11} = \nabla_1^2 V^1` and :math:`H_{22} = \nabla_2^2 V^2`.
    total_hessian : ndarray
        Eigenvalues of the leader's total Hessian :math:`T` (NaN if undefined).
    differential_nash, differential_stackelberg : bool
        Def. 1 and Def. 2 of Fiez et al. (2020), in values.
    stable_nash, stable_stackelberg : bool
        The point is a differential Nash (Stackelberg) point whose flow Jacobian
        under the naive (Stackelberg) dynamics has every eigenvalue with real part < 0.
    """

    thetas: tuple
    nash_residual: float
    stackelberg_residual: float
    h11: np.ndarray
    h22: np.ndarray
    total_hessian: np.ndarray
    differential_nash: bool
    differential_stackelberg: bool
    stable_nash: bool
    stable_stackelberg: bool

    def as_dict(self) -> dict:
        """JSON-able summary."""
        return {"thetas": [t.tolist() for t in self.thetas],
                "nash_residual": self.nash_residual,
                "stackelberg_residual": self.stackelberg_residual,
                "h11": self.h11.tolist(), "h22": self.h22.tolist(),
                "total_hessian": self.total_hessian.tolist(),
                "differential_nash": self.differential_nash,
                "differential_stackelberg": self.differential_stackelberg,
                "stable_nash": self.stable_nash, "stable_stackelberg": self.stable_stackelberg}


def _sym_eigs(M) -> np.ndarray:
    return np.linalg.eigvalsh((M + M.T) / 2)


def classify_stackelberg(game, theta1, theta2, *, atol: float = ATOL_CRITICAL,
                         **values) -> StackelbergClass:
    r"""Classify a point as differential Nash and/or differential Stackelberg.

    Parameters
    ----------
    game
        A two-player game (player 1 leads).
    theta1, theta2 : array_like
        The point (one parameter vector per player).
    atol : float
        A direction with max-norm at most ``atol`` counts as zero (finite, > 0);
        a definite Hessian needs every eigenvalue beyond ``atol`` as well.
    **values
        Values of the game's symbols, if any.

    Returns
    -------
    StackelbergClass

    Raises
    ------
    ValueError
        For a game that is not two-player, or a bad point.

    Examples
    --------
    A quadratic game where the leader gains from leading: at the Nash point
    :math:`(0, 0)` the leader's total gradient is not zero.

    >>> import sympy as sp
    >>> from lola_sym.games import differentiable
    >>> x, y = sp.symbols("x y", real=True)
    >>> g = differentiable(-x**2 + x*y, -y**2 + x*y + y, [x], [y])
    >>> c = classify_stackelberg(g, [1/3], [2/3])
    >>> c.differential_nash, c.differential_stackelberg, c.stable_nash
    (True, False, True)
    >>> c = classify_stackelberg(g, [0.5], [0.75])  # g_1 = -3x/2 + y, r(x) = (x + 1)/2
    >>> c.differential_nash, c.differential_stackelberg, c.stable_stackelberg
    (False, True, True)
    >>> round(float(c.total_hessian[0]), 8)          # d/dx (-3x/2 + (x + 1)/2) = -1
    -1.0
    """
    check_game(game)
    if len(game.dims) != 2:
        raise ValueError(f"a Stackelberg classification needs two players (leader, follower); "
                         f"{game.name} has {len(game.dims)}")
    atol = check_real(atol, "atol", positive=True)
    d1, d2 = game.dims
    from lola_sym.field import update_field
    t1 = np.asarray(theta1, dtype=float)
    t2 = np.asarray(theta2, dtype=float)
    if t1.shape != (d1,) or t2.shape != (d2,):
        raise ValueError(f"classify_stackelberg takes one point: theta1 of shape ({d1},) and "
                         f"theta2 of shape ({d2},), got {t1.shape} and {t2.shape}")
    xi = np.concatenate(update_field(game, "nl")(t1, t2, **values))
    J = jacobian(game, "nl", t1, t2, **values)
    H11, H21, H22 = J[:d1, :d1], J[d1:, :d1], J[d1:, d1:]
    h11, h22 = _sym_eigs(H11), _sym_eigs(H22)
    nash_res = float(np.max(np.abs(xi)))
    stable_flow_nl = bool(np.max(np.linalg.eigvals(J).real) < 0)
    dne = nash_res <= atol and bool(np.all(h11 < -atol)) and bool(np.all(h22 < -atol))
    gS = np.concatenate(update_field(game, "stackelberg")(t1, t2, failed="nan", **values))
    singular = (not np.all(np.isfinite(gS))) or np.min(np.abs(h22)) <= atol
    if singular:
        stack_res, T, dse, stable_s = float("nan"), np.full(d1, np.nan), False, False
    else:
        stack_res = float(np.max(np.abs(gS)))
        JS = jacobian(game, "stackelberg", t1, t2, **values)
        Dr = -np.linalg.solve(H22, H21)
        T = _sym_eigs(JS[:d1, :d1] + JS[:d1, d1:] @ Dr)
        dse = stack_res <= atol and bool(np.all(T < -atol)) and bool(np.all(h22 < -atol))
        stable_s = dse and bool(np.max(np.linalg.eigvals(JS).real) < 0)
    return StackelbergClass((t1, t2), nash_res, stack_res, h11, h22, T, dne, bool(dse),
                            dne and stable_flow_nl, bool(stable_s))
