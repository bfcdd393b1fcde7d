r"""Rules with a non-smooth or implicit last step: SOS, SGA, CGD.

Each derives exact *primitives* (the simultaneous gradient :math:`\xi`, Hessian
products, the LOLA shaping term :math:`\chi`, the off-diagonal Hessian blocks),
compiled like every rule, and finishes them with a step written once over
:mod:`lola_sym.rules.arithmetic` (run in numpy on the compiled primitives, and
in sympy for the derivation pages where it has a closed form): SOS's and SGA's
switches and CGD's linear solve. The primitives are what ``field.symbolic``
shows. Values convention (ascent), so signs differ from the loss-based papers:
with :math:`H_o` the off-diagonal blocks of :math:`H = \partial\xi/\partial\theta`,

* SOS: :math:`\xi_0 = \xi + \eta H_o \xi`, :math:`g = \xi_0 + p\,\eta\chi`,
  :math:`p = \min(p_1, p_2)`, :math:`p_1 = 1` if :math:`\eta\langle\chi, \xi_0\rangle \ge 0`
  else :math:`\min(1, -a\|\xi_0\|^2 / (\eta\langle\chi,\xi_0\rangle))`,
  :math:`p_2 = \|\xi\|^2` if :math:`\|\xi\| < b` else 1.
* SGA: :math:`g = \xi - \lambda A^\top \xi`, :math:`A = (H - H^\top)/2`,
  :math:`\lambda = \mathrm{lam}\cdot\mathrm{sign}(-\tfrac1d\langle\xi, H^\top\xi\rangle
  \langle A^\top\xi, H^\top\xi\rangle + 0.1)` (aligned) or ``lam`` (plain).
* CGD: :math:`g = (I - \eta H_o)^{-1}\xi`, an exact linear solve per point.

References
----------
.. [1] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. arXiv:1811.08469.
.. [2] Balduzzi, D. et al. (2018). The Mechanics of n-Player Differentiable
   Games. ICML. arXiv:1802.05642.
.. [3] Schaefer, F. and Anandkumar, A. (2019). Competitive Gradient Descent.
   NeurIPS. arXiv:1905.12103.
"""

from __future__ import annotations

import sympy as sp

from lola_sym.rules.gradients import gradient_program
from lola_sym.rules.registry import Bound, Hyper, Notes, Rule, register
from lola_sym.rules.consensus import h_transpose_xi
from lola_sym.rules.lola import ETA_HYPER, lola_correction
from lola_sym.rules.lookahead import lookahead_terms
from lola_sym.rules.sources import SOS2019

__all__ = ["sos_primitives", "sga_primitives", "cgd_primitives", "finish_sos", "finish_cgd"]


def _merge(*parts):
    """One program holding the new steps of several extensions of the same base."""
    prog = parts[0]
    known = set(prog.symbols)
    for p in parts[1:]:
        new = [(s, e) for s, e in p.steps if s not in known]
        known.update(s for s, _ in new)
        prog = prog.extend(new)
    return prog


def _d(game):
    return sum(game.dims)


# ----------------------------------------------------------------------- SOS
def sos_primitives(game):
    r"""Program with outputs xi, H_o xi, chi (each of length d1 + d2).

    Examples
    --------
    On the Hamiltonian game (:math:`V^1 = -xy = -V^2`) at :math:`x = 1, y = 2`,
    where :math:`\xi = (-y, x)` and :math:`H = \begin{pmatrix} 0 & -1 \\ 1 & 0
    \end{pmatrix}` (so :math:`H_o \xi = \chi = (-1, -2)`):

    >>> from lola_sym.games import hamiltonian
    >>> prog = sos_primitives(hamiltonian())
    >>> prog.evaluate(dict(zip(prog.inputs, (1, 2))))
    [-2, 1, -1, -2, -1, -2]
    """
    p1, G, (h1, h2) = lookahead_terms(game)
    p2, _, (c1, c2) = lola_correction(game)
    prog = _merge(p1, p2)
    xi = list(G[(1, 1)]) + list(G[(2, 2)])
    return prog.with_outputs(xi + list(h1) + list(h2) + list(c1) + list(c2))


def _sizes3(game, **_):
    d = _d(game)
    return (("xi", d), ("H_o xi", d), ("chi", d))


def finish_sos(ar, groups, hyper, game):
    r"""SOS's switch: :math:`g = \xi_0 + p\,\eta\chi` with :math:`p = \min(q_1, q_2)`.

    ``groups`` are :math:`(\xi, H_o \xi, \chi)` (:func:`sos_primitives`).

    Examples
    --------
    The primitives of the Hamiltonian game at :math:`x = 1, y = 2` (see
    :func:`sos_primitives`), :math:`\eta = 1/2`: :math:`\xi_0 = \xi + \eta H_o \xi
    = (-2.5, 0)`; :math:`\eta\, \chi \cdot \xi_0 > 0` and :math:`\|\xi\| > b`, so
    :math:`p = 1` and :math:`g = \xi_0 + \eta \chi = (-3, -1)`, as the compiled field:

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from lola_sym.rules.arithmetic import NUMPY
    >>> hyper = {"eta": 0.5, "a": 0.5, "b": 0.1}
    >>> groups = (np.array([-2.0, 1.0]), np.array([-1.0, -2.0]), np.array([-1.0, -2.0]))
    >>> finish_sos(NUMPY, groups, hyper, SimpleNamespace(dims=(1, 1)))
    (array([-3.]), array([-1.]))
    >>> from lola_sym import update_field
    >>> from lola_sym.games import hamiltonian
    >>> update_field(hamiltonian(), "sos", **hyper)(np.array([1.0]), np.array([2.0]))
    (array([-3.]), array([-1.]))
    """
    xi, hoxi, chi = groups
    eta, a, b = hyper["eta"], hyper["a"], hyper["b"]
    xi0 = xi + eta * hoxi
    dot = eta * ar.dot(chi, xi0)
    q1 = ar.where(dot < 0, ar.minimum(1.0, -a * ar.dot(xi0, xi0) / dot), 1.0)
    nxi2 = ar.dot(xi, xi)
    q2 = ar.where(nxi2 < b * b, nxi2, 1.0)
    p = ar.minimum(q1, q2)
    return ar.split(xi0 + ar.scale(p * eta, chi), game.dims)


# ----------------------------------------------------------------------- SGA
def sga_primitives(game):
    r"""Program with outputs xi, H^T xi, H xi.

    Examples
    --------
    On the Hamiltonian game (:math:`V^1 = -xy = -V^2`) at :math:`x = 1, y = 2`,
    where :math:`\xi = (-y, x)` and :math:`H = \begin{pmatrix} 0 & -1 \\ 1 & 0
    \end{pmatrix}` (so :math:`H^\top \xi = (1, 2)`, :math:`H \xi = (-1, -2)`):

    >>> from lola_sym.games import hamiltonian
    >>> prog = sga_primitives(hamiltonian())
    >>> prog.evaluate(dict(zip(prog.inputs, (1, 2))))
    [-2, 1, 1, 2, -1, -2]
    """
    prog, xi, htxi = h_transpose_xi(game)
    th = tuple(game.theta[0]) + tuple(game.theta[1])
    prog, hxi = prog.jvp(xi, dict(zip(th, xi)), prefix="_hxi_")
    return prog.with_outputs(list(xi) + list(htxi) + list(hxi))


def _sga_sizes(game, **_):
    d = _d(game)
    return (("xi", d), ("H^T xi", d), ("H xi", d))


def _finish_sga(aligned):
    def finish(ar, groups, hyper, game):
        r"""SGA: :math:`g = \xi - \lambda A^\top \xi`, :math:`A^\top\xi = (H^\top\xi - H\xi)/2`."""
        xi, htxi, hxi = groups
        at_xi = (htxi - hxi) / 2
        lam = hyper["lam"]
        if aligned:
            d = sum(game.dims)
            s = ar.define("s", -ar.dot(xi, htxi) * ar.dot(at_xi, htxi) / d + ar.rational(1, 10))
            lam = lam * ar.sign(s)
        return ar.split(xi - ar.scale(lam, at_xi), game.dims)
    return finish


# ----------------------------------------------------------------------- CGD
def cgd_primitives(game):
    r"""Program with outputs xi, dxi_1/dtheta_2 (d1 x d2, row-major), dxi_2/dtheta_1 (d2 x d1).

    Examples
    --------
    On the Hamiltonian game (:math:`V^1 = -xy = -V^2`) at :math:`x = 1, y = 2`,
    where :math:`\xi = (-y, x)` and :math:`H = \begin{pmatrix} 0 & -1 \\ 1 & 0
    \end{pmatrix}`:

    >>> from lola_sym.games import hamiltonian
    >>> prog = cgd_primitives(hamiltonian())
    >>> prog.evaluate(dict(zip(prog.inputs, (1, 2))))
    [-2, 1, -1, 1]
    """
    prog, G = gradient_program(game)
    th1, th2 = game.theta
    blocks = []
    for i, (own, other) in enumerate(((G[(1, 1)], th2), (G[(2, 2)], th1))):
        cols = []
        for j, t in enumerate(other):
            prog, col = prog.jvp(own, {t: sp.Integer(1)}, prefix=f"_cgd{i}_{j}_")
            cols.append(col)
        blocks.append([cols[j][k] for k in range(len(own)) for j in range(len(other))])
    xi = list(G[(1, 1)]) + list(G[(2, 2)])
    return prog.with_outputs(xi + blocks[0] + blocks[1])


def _cgd_sizes(game, **_):
    d1, d2 = game.dims
    return (("xi", d1 + d2), ("H_12", d1 * d2), ("H_21", d2 * d1))


def finish_cgd(ar, groups, hyper, game):
    r"""CGD: the exact solve :math:`g = (I - \eta H_o)^{-1} \xi`.

    ``groups`` are :math:`\xi` and the off-diagonal blocks of :math:`H`
    (:func:`cgd_primitives`).

    Examples
    --------
    The Hamiltonian game at :math:`x = 1, y = 2`, :math:`\eta = 1/2`:
    :math:`\begin{pmatrix} 1 & 1/2 \\ -1/2 & 1 \end{pmatrix} g = (-2, 1)` gives
    :math:`g = (-2, 0)`:

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from lola_sym.rules.arithmetic import NUMPY
    >>> groups = (np.array([-2.0, 1.0]), np.array([-1.0]), np.array([1.0]))
    >>> finish_cgd(NUMPY, groups, {"eta": 0.5}, SimpleNamespace(dims=(1, 1)))
    (array([-2.]), array([0.]))
    """
    xi, h12, h21 = groups
    d1, d2 = game.dims
    eta = hyper["eta"]
    M = ar.block([[ar.identity(d1), -eta * ar.matrix(h12, d1, d2)],
                  [-eta * ar.matrix(h21, d2, d1), ar.identity(d2)]])
    return ar.split(ar.solve(M, xi), game.dims)


#: why the combined rules need two players
_TWO_PLAYER_BLOCKS = ("its primitives are built from the two players' blocks of the game Hessian "
                      "(an n-player form is not derived here)")

#: LaTeX of the primitive groups of the combined rules (the pages' labels)
_PRIMITIVE_TEX = {"xi": r"\xi", "H_o xi": r"H_o \xi", "chi": r"\chi", "H^T xi": r"H^\top \xi",
                  "H xi": r"H \xi", "H_12": r"H_{12}", "H_21": r"H_{21}"}


def _tex(*names):
    return {n: _PRIMITIVE_TEX[n] for n in names}


BALDUZZI2018 = ("Balduzzi, D. et al. (2018). The Mechanics of n-Player Differentiable Games. ICML. "
                "arXiv:1802.05642")
#: the combination of both SGA variants: A^T xi from the primitives
_SGA_AT_XI = r"A^\top \xi = \tfrac12 (H^\top\xi - H\xi), \quad "

SOS = register(Rule(
    "sos", "stable opponent shaping", sos_primitives,
    (ETA_HYPER,
     # Algorithm 1 of Letcher et al. (2019): hyper-parameters a, b in (0, 1)
     Hyper("a", 0.5, "a", Bound(0.0, 1.0, True, True)),
     Hyper("b", 0.1, "b", Bound(0.0, 1.0, True, True))),
    order=2, needs_hessian=True, reference="Letcher et al. 2019", finish=finish_sos,
    primitives=_sizes3, program_hyper=(), rank=9,
    tags=frozenset({"opponent_shaping", "combined", "compare", "tournament"}),
    two_player_reason=_TWO_PLAYER_BLOCKS,
    notes=Notes(
        r"\xi_0 = \xi + \eta H_o \xi, \quad g = \xi_0 + p\, \eta \chi, \quad p = \min(q_1, q_2)",
        r"\xi_0 = (I - \alpha H_o)\xi, \quad \xi_p = \xi_0 - p \alpha \chi, \quad "
        r"p_1 = 1 \text{ if } \langle -\alpha\chi, \xi_0 \rangle \ge 0 \text{ else } "
        r"\min(1, -a \|\xi_0\|^2 / \langle -\alpha\chi, \xi_0 \rangle), \quad "
        r"p_2 = \|\xi\|^2 \text{ if } \|\xi\| < b \text{ else } 1",
        SOS2019 + " (stable opponent shaping; defaults a = 0.5, b = 0.1).",
        "LookAhead plus as much of LOLA's shaping term as keeps the fixed points and their "
        "stability. The switches $q_1$, $q_2$ are the paper's $p_1$, $p_2$ (renamed here: "
        r"$p_i$ is a policy probability), given under Combination.",
        combination=(
            r"\xi_0 = \xi + \eta\, H_o\xi, \quad g = \xi_0 + p\, \eta\, \chi, \quad "
            r"p = \min(q_1, q_2), \quad "
            r"q_1 = \begin{cases} 1 & \eta \langle \chi, \xi_0 \rangle \ge 0 \\ "
            r"\min\big(1, -a \|\xi_0\|^2 / (\eta \langle \chi, \xi_0 \rangle)\big) "
            r"& \text{otherwise} \end{cases}, \quad "
            r"q_2 = \begin{cases} \|\xi\|^2 & \|\xi\| < b \\ 1 & \text{otherwise} \end{cases}"),
        primitives=_tex("xi", "H_o xi", "chi"))))
SGA = register(Rule(
    "sga", "symplectic gradient adjustment (aligned)", sga_primitives,
    (Hyper("lam", 1.0, r"\mathrm{lam}"),), order=2, needs_hessian=True,
    reference="Balduzzi et al. 2018", finish=_finish_sga(True), primitives=_sga_sizes,
    program_hyper=(), rank=10, tags=frozenset({"symplectic", "combined", "compare"}),
    two_player_reason=_TWO_PLAYER_BLOCKS,
    notes=Notes(
        r"g = \xi - \lambda A^\top \xi, \quad A = \tfrac12 (H - H^\top), \quad "
        r"\lambda = \mathrm{lam} \cdot \operatorname{sign}\big(-\tfrac1d "
        r"\langle \xi, H^\top\xi \rangle \langle A^\top\xi, H^\top\xi \rangle + 0.1\big)",
        r"g = \xi + \lambda A^\top \xi, \quad \lambda = \operatorname{sign}\big(\tfrac1d "
        r"\langle \xi, H^\top\xi \rangle \langle A^\top\xi, H^\top\xi \rangle + 0.1\big)",
        BALDUZZI2018 + " (symplectic gradient adjustment, aligned sign).",
        "$d$ is the total number of parameters.",
        combination=(
            _SGA_AT_XI + r"g = \xi - \lambda A^\top \xi, \quad "
            r"\lambda = \mathrm{lam} \cdot \operatorname{sign}\big(-\tfrac1d \langle \xi, "
            r"H^\top\xi \rangle \langle A^\top\xi, H^\top\xi \rangle + \tfrac1{10}\big)"),
        primitives=_tex("xi", "H^T xi", "H xi"))))
SGA_PLAIN = register(Rule(
    "sga_plain", "symplectic gradient adjustment (lambda fixed)", sga_primitives,
    (Hyper("lam", 1.0, r"\mathrm{lam}"),), order=2, needs_hessian=True,
    reference="Balduzzi et al. 2018", finish=_finish_sga(False), primitives=_sga_sizes,
    program_hyper=(), rank=11, tags=frozenset({"symplectic", "combined"}),
    two_player_reason=_TWO_PLAYER_BLOCKS,
    notes=Notes(
        r"g = \xi - \lambda A^\top \xi, \quad A = \tfrac12 (H - H^\top), \quad "
        r"\lambda = \mathrm{lam}",
        r"g = \xi + \lambda A^\top \xi",
        BALDUZZI2018 + " (symplectic gradient adjustment, fixed lambda).",
        combination=_SGA_AT_XI + r"g = \xi - \mathrm{lam}\, A^\top \xi",
        primitives=_tex("xi", "H^T xi", "H xi"))))
CGD = register(Rule(
    "cgd", "competitive gradient descent", cgd_primitives, (ETA_HYPER,), order=2,
    needs_hessian=True, reference="Schaefer & Anandkumar 2019", finish=finish_cgd,
    primitives=_cgd_sizes, program_hyper=(), rank=12,
    failure="the matrix I - eta*H_o of CGD's linear solve is singular there",
    tags=frozenset({"combined", "compare"}),
    two_player_reason="competitive gradient descent solves the two-player bilinear game of "
                      "Schaefer & Anandkumar (2019)",
    notes=Notes(
        r"g = (I - \eta H_o)^{-1} \xi",
        r"g = (I + \eta H_o)^{-1} \xi",
        "Schaefer, F. and Anandkumar, A. (2019). Competitive Gradient Descent. NeurIPS. "
        "arXiv:1905.12103.",
        "The linear system is solved exactly at every point.",
        combination=(
            r"g = \begin{pmatrix} I & -\eta H_{12} \\ -\eta H_{21} & I \end{pmatrix}^{-1} \xi, "
            r"\quad H_{12} = \partial \xi_1 / \partial \theta_2, \quad "
            r"H_{21} = \partial \xi_2 / \partial \theta_1"),
        primitives=_tex("xi", "H_12", "H_21"), blocks={"H_12": (1, 2), "H_21": (2, 1)})))
