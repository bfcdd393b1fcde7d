r"""The Stackelberg leader of Fiez, Chasnov and Ratliff (2020), with a naive follower.

The paper minimises costs :math:`f_1(x, y)`, :math:`f_2(x, y)` (leader
:math:`x = \theta_1`, follower :math:`y = \theta_2`). The leader descends the
*total* derivative of its cost along the follower's implicit best response
:math:`r(x)` (:math:`D_2 f_2(x, r(x)) = 0`, so by the implicit-function theorem
:math:`Dr = -(D_{22} f_2)^{-1} D_{21} f_2`):

.. math::

    x \leftarrow x - \delta_1 \big(D_1 f_1 - D_{21} f_2^\top (D_{22} f_2)^{-1} D_2 f_1\big),
    \qquad y \leftarrow y - \delta_2 D_2 f_2,

with :math:`D_{21} f_2 = \partial (D_2 f_2) / \partial x` (a :math:`d_2 \times d_1`
matrix). **Values convention.** With :math:`f_i = -V^i`:
:math:`D_1 f_1 = -\nabla_1 V^1`, :math:`D_2 f_1 = -\nabla_2 V^1`,
:math:`D_{21} f_2 = -H_{21}`, :math:`D_{22} f_2 = -H_{22}`, where
:math:`H_{21} = \partial(\nabla_2 V^2)/\partial\theta_1` and
:math:`H_{22} = \partial(\nabla_2 V^2)/\partial\theta_2`. Three signs meet in the
correction, so :math:`D_{21} f_2^\top (D_{22} f_2)^{-1} D_2 f_1 =
-H_{21}^\top H_{22}^{-1} \nabla_2 V^1`, and the ascent directions are

.. math::

    g_1 = \nabla_1 V^1 - H_{21}^\top H_{22}^{-1} \nabla_2 V^1, \qquad g_2 = \nabla_2 V^2 .

(At a follower's local maximum :math:`H_{22} \prec 0`, so the correction is
:math:`+H_{21}^\top (-H_{22})^{-1}\nabla_2 V^1`: the leader pushes the follower's
best response the way that raises :math:`V^1`.) The leader's direction is
undefined where :math:`H_{22}` is singular: the field then raises a
``FieldError`` (a ``ValueError``) naming the point.

The step is finished in :mod:`lola_sym.rules.arithmetic` by one exact linear
solve of the block system

.. math::

    \begin{pmatrix} H_{22} & 0 \\ H_{21}^\top & I \end{pmatrix}
    \begin{pmatrix} w \\ g_1 \end{pmatrix} =
    \begin{pmatrix} \nabla_2 V^1 \\ \nabla_1 V^1 \end{pmatrix},

whose second block is :math:`g_1 = \nabla_1 V^1 - H_{21}^\top H_{22}^{-1} \nabla_2 V^1`
(singular exactly where :math:`H_{22}` is). The rule takes no hyper-parameter:
the leader's rate is training's :math:`\delta`.

**Relation to LOLA.** Against a follower whose objective is proximal,
:math:`V^2 - \lVert\theta_2 - \theta_2^t\rVert^2 / (2\eta)`, the Hessian becomes
:math:`H_{22} - I/\eta` and :math:`-(H_{22} - I/\eta)^{-1} = \eta (I - \eta
H_{22})^{-1} = \eta I + O(\eta^2)`, so the leader's direction is LOLA's
:math:`\nabla_1 V^1 + \eta H_{21}^\top \nabla_2 V^1` (Eq. 4.4 of Foerster et al.
2018) to first order in the follower's rate :math:`\eta` (tested in
``tests/test_rule_stackelberg.py``). Against the unregularised follower the
implicit response :math:`-H_{22}^{-1} H_{21}` has no rate at all, and the two rules
differ at every order.

References
----------
.. [1] Fiez, T., Chasnov, B. and Ratliff, L. (2020). Implicit Learning Dynamics
   in Stackelberg Games: Equilibria Characterization, Convergence Analysis, and
   Empirical Study. ICML. arXiv:1906.01217, Sec. 3 (the leader's update).
"""

from __future__ import annotations

import sympy as sp

from lola_sym.rules.arithmetic import NoClosedForm
from lola_sym.rules.gradients import gradient_program
from lola_sym.rules.registry import Notes, Rule, register

__all__ = ["stackelberg_primitives", "finish_stackelberg"]

FIEZ2020 = ("Fiez, T., Chasnov, B. and Ratliff, L. (2020). Implicit Learning Dynamics in "
            "Stackelberg Games. ICML. arXiv:1906.01217")


def stackelberg_primitives(game):
    r"""Program with outputs :math:`\nabla_1 V^1, \nabla_2 V^1, \nabla_2 V^2, H_{21}^\top, H_{22}`.

    ``H_21^T`` is :math:`d_1 \times d_2` row-major (entry ``(j, k)`` =
    :math:`\partial (\nabla_2 V^2)_k / \partial \theta_{1,j}`), ``H_22`` is
    :math:`d_2 \times d_2` row-major; both by forward mode over the reverse sweep
    (one tangent per parameter).

    Examples
    --------
    >>> from lola_sym.games import matching_pennies
    >>> len(stackelberg_primitives(matching_pennies()).outputs)
    5
    """
    prog, G = gradient_program(game)
    th1, th2 = game.theta
    follower = G[(2, 2)]
    cols1, cols2 = [], []
    for j, t in enumerate(th1):
        prog, col = prog.jvp(follower, {t: sp.Integer(1)}, prefix=f"_st1_{j}_")
        cols1.append(col)
    for j, t in enumerate(th2):
        prog, col = prog.jvp(follower, {t: sp.Integer(1)}, prefix=f"_st2_{j}_")
        cols2.append(col)
    h21t = [cols1[j][k] for j in range(len(th1)) for k in range(len(th2))]
    h22 = [cols2[j][k] for k in range(len(th2)) for j in range(len(th2))]
    return prog.with_outputs(list(G[(1, 1)]) + list(G[(1, 2)]) + list(follower) + h21t + h22)


def _sizes(game, **_):
    d1, d2 = game.dims
    return (("grad_1 V1", d1), ("grad_2 V1", d2), ("xi_2", d2), ("H_21^T", d1 * d2),
            ("H_22", d2 * d2))


def finish_stackelberg(ar, groups, hyper, game):
    r"""The leader's :math:`g_1 = \nabla_1 V^1 - H_{21}^\top H_{22}^{-1} \nabla_2 V^1`, follower naive.

    ``groups`` are :math:`(\nabla_1 V^1, \nabla_2 V^1, \nabla_2 V^2, H_{21}^\top, H_{22})`
    (matrices flattened), in the arithmetic ``ar``.

    Examples
    --------
    :math:`d_1 = 2`, :math:`d_2 = 1`: :math:`g_1 = (1, 0) - (3, 1) \cdot 2 / (-4) = (2.5, 0.5)`:

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from lola_sym.rules.arithmetic import NUMPY
    >>> groups = (np.array([1.0, 0.0]), np.array([2.0]), np.array([0.5]),
    ...           np.array([3.0, 1.0]), np.array([-4.0]))
    >>> finish_stackelberg(NUMPY, groups, {}, SimpleNamespace(dims=(2, 1)))
    (array([2.5, 0.5]), array([0.5]))
    """
    g11, g12, xi2, h21t, h22 = groups
    d1, d2 = game.dims
    if isinstance(h22, sp.MatrixBase) and sp.simplify(ar.matrix(h22, d2, d2).det()) == 0:
        raise NoClosedForm(f"the follower's Hessian H_22 is singular everywhere on {game.name}: "
                           f"the Stackelberg leader's direction is undefined")
    M = ar.block([[ar.matrix(h22, d2, d2), ar.matrix(0 * h21t, d2, d1)],
                  [ar.matrix(h21t, d1, d2), ar.identity(d1)]])
    rhs = ar.block([[ar.matrix(g12, 1, d2), ar.matrix(g11, 1, d1)]])
    z = ar.solve(M, _row(ar, rhs))
    _, g1 = ar.split(z, (d2, d1))
    return g1, ar.split(xi2, (d2,))[0]


def _row(ar, rhs):
    """The 1 x n block as a vector of the arithmetic (numpy: last axis; sympy: a column)."""
    if isinstance(rhs, sp.MatrixBase):
        return rhs.T
    return rhs[..., 0, :]


STACKELBERG = register(Rule(
    "stackelberg", "Stackelberg leader with a naive follower (Fiez et al. 2020)",
    stackelberg_primitives, (), order=2, needs_hessian=True,
    reference="Fiez, Chasnov & Ratliff 2020, Sec. 3", finish=finish_stackelberg,
    primitives=_sizes, program_hyper=(), rank=40,
    failure=("the follower's Hessian H_22 = d(grad_2 V2)/d(theta_2) (D22 f2 of Fiez et al.) is "
             "singular there, so its best response is not locally unique and the leader's "
             "implicit derivative is undefined"),
    tags=frozenset({"combined"}),
    two_player_reason="it is a leader-follower rule: player 1 leads, player 2 follows",
    notes=Notes(
        r"g_1 = \nabla_1 V^1 - H_{21}^\top H_{22}^{-1} \nabla_2 V^1, \qquad g_2 = \nabla_2 V^2",
        r"x \leftarrow x - \gamma_1 \big(D_1 f_1 - D_{21} f_2^\top (D_{22} f_2)^{-1} D_2 f_1\big),"
        r" \qquad y \leftarrow y - \gamma_2 D_2 f_2",
        FIEZ2020 + ", Sec. 3 (the leader's total derivative through the implicit best response).",
        r"Values convention: $f_i = -V^i$, $H_{2j} = \partial(\nabla_2 V^2)/\partial\theta_j$. "
        r"Player 1 leads, player 2 is the naive follower; undefined where $H_{22}$ is singular.",
        combination=(
            r"\begin{pmatrix} H_{22} & 0 \\ H_{21}^\top & I \end{pmatrix}"
            r"\begin{pmatrix} w \\ g_1 \end{pmatrix} = "
            r"\begin{pmatrix} \nabla_2 V^1 \\ \nabla_1 V^1 \end{pmatrix}, \quad g_2 = \nabla_2 V^2"),
        primitives={"grad_1 V1": r"\nabla_1 V^1", "grad_2 V1": r"\nabla_2 V^1",
                    "xi_2": r"\nabla_2 V^2", "H_21^T": r"\big(H_{21}\big)^\top",
                    "H_22": r"H_{22}"},
        blocks={"H_22": (2, 2)})))
