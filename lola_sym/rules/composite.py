r"""Rules with a non-smooth or implicit last step: SOS, SGA, CGD.

Each derives exact *primitives* (the simultaneous gradient :math:`\xi`, Hessian
products, the LOLA shaping term :math:`\chi`, the off-diagonal Hessian blocks),
compiled like every rule, and combines them in numpy: SOS's and SGA's
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

import numpy as np
import sympy as sp

from lola_sym.rules.gradients import gradient_program
from lola_sym.rules.registry import Bound, Rule, register
from lola_sym.rules.consensus import h_transpose_xi
from lola_sym.rules.lola import lola_correction
from lola_sym.rules.lookahead import lookahead_terms

__all__ = ["sos_primitives", "sga_primitives", "cgd_primitives"]


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
    """Program with outputs xi, H_o xi, chi (each of length d1 + d2)."""
    p1, G, (h1, h2) = lookahead_terms(game)
    p2, _, (c1, c2) = lola_correction(game)
    prog = _merge(p1, p2)
    xi = list(G[(1, 1)]) + list(G[(2, 2)])
    return prog.with_outputs(xi + list(h1) + list(h2) + list(c1) + list(c2))


def _sizes3(game, **_):
    d = _d(game)
    return (("xi", d), ("H_o xi", d), ("chi", d))


def combine_sos(groups, hyper, game):
    with np.errstate(over="ignore", invalid="ignore"):   # overflow: the field reports the point
        return _combine_sos(groups, hyper, game)


def _combine_sos(groups, hyper, game):
    xi, hoxi, chi = groups
    eta, a, b = hyper["eta"], hyper["a"], hyper["b"]
    xi0 = xi + eta * hoxi
    dot = eta * np.sum(chi * xi0, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dot < 0, -a * np.sum(xi0 * xi0, axis=-1) / np.where(dot < 0, dot, -1.0), 1.0)
    p1 = np.minimum(1.0, ratio)
    nxi2 = np.sum(xi * xi, axis=-1)
    p2 = np.where(nxi2 < b * b, nxi2, 1.0)
    p = np.minimum(p1, p2)[..., None]
    g = xi0 + p * eta * chi
    d1 = game.dims[0]
    return g[..., :d1], g[..., d1:]


# ----------------------------------------------------------------------- SGA
def sga_primitives(game):
    """Program with outputs xi, H^T xi, H xi."""
    prog, xi, htxi = h_transpose_xi(game)
    th = tuple(game.theta[0]) + tuple(game.theta[1])
    prog, hxi = prog.jvp(xi, dict(zip(th, xi)), prefix="_hxi_")
    return prog.with_outputs(list(xi) + list(htxi) + list(hxi))


def _sga_sizes(game, **_):
    d = _d(game)
    return (("xi", d), ("H^T xi", d), ("H xi", d))


def _combine_sga(aligned):
    @np.errstate(over="ignore", invalid="ignore")      # overflow: the field reports the point
    def combine(groups, hyper, game):
        xi, htxi, hxi = groups
        at_xi = 0.5 * (htxi - hxi)
        lam = hyper["lam"]
        if aligned:
            d = xi.shape[-1]
            s = -np.sum(xi * htxi, axis=-1) * np.sum(at_xi * htxi, axis=-1) / d + 0.1
            lam = lam * np.sign(s)[..., None]
        g = xi - lam * at_xi
        d1 = game.dims[0]
        return g[..., :d1], g[..., d1:]
    return combine


# ----------------------------------------------------------------------- CGD
def cgd_primitives(game):
    """Program with outputs xi, dxi_1/dtheta_2 (d1 x d2, row-major), dxi_2/dtheta_1 (d2 x d1)."""
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


@np.errstate(over="ignore", invalid="ignore")          # overflow: the field reports the point
def combine_cgd(groups, hyper, game):
    xi, h12, h21 = groups
    d1, d2 = game.dims
    shape = xi.shape[:-1]
    M = np.broadcast_to(np.eye(d1 + d2), shape + (d1 + d2, d1 + d2)).copy()
    M[..., :d1, d1:] -= hyper["eta"] * h12.reshape(shape + (d1, d2))
    M[..., d1:, :d1] -= hyper["eta"] * h21.reshape(shape + (d2, d1))
    g = _solve(M, xi)
    return g[..., :d1], g[..., d1:]


def _solve(M, b):
    """``M^{-1} b`` per point; NaN at points where ``M`` is singular (the field reports them)."""
    try:
        return np.linalg.solve(M, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        g = np.full(b.shape, np.nan)
        for idx in np.ndindex(b.shape[:-1]):
            try:
                g[idx] = np.linalg.solve(M[idx], b[idx])
            except np.linalg.LinAlgError:
                pass
        return g


#: why the combined rules need two players
_TWO_PLAYER_BLOCKS = ("its primitives are built from the two players' blocks of the game Hessian "
                      "(an n-player form is not derived here)")

SOS = register(Rule("sos", "stable opponent shaping", sos_primitives,
                    {"eta": 1.0, "a": 0.5, "b": 0.1}, order=2, needs_hessian=True,
                    reference="Letcher et al. 2019", combine=combine_sos, primitives=_sizes3,
                    program_hyper=(),
                    # Algorithm 1 of Letcher et al. (2019): hyper-parameters a, b in (0, 1)
                    bounds={"a": Bound(0.0, 1.0, True, True), "b": Bound(0.0, 1.0, True, True)},
                    tags=frozenset({"opponent_shaping", "combined", "compare", "tournament"}),
                    two_player_reason=_TWO_PLAYER_BLOCKS))
SGA = register(Rule("sga", "symplectic gradient adjustment (aligned)", sga_primitives,
                    {"lam": 1.0}, order=2, needs_hessian=True, reference="Balduzzi et al. 2018",
                    combine=_combine_sga(True), primitives=_sga_sizes, program_hyper=(),
                    tags=frozenset({"symplectic", "combined", "compare"}),
                    two_player_reason=_TWO_PLAYER_BLOCKS))
SGA_PLAIN = register(Rule("sga_plain", "symplectic gradient adjustment (lambda fixed)",
                          sga_primitives, {"lam": 1.0}, order=2, needs_hessian=True,
                          reference="Balduzzi et al. 2018", combine=_combine_sga(False),
                          primitives=_sga_sizes, program_hyper=(),
                          tags=frozenset({"symplectic", "combined"}),
                          two_player_reason=_TWO_PLAYER_BLOCKS))
CGD = register(Rule("cgd", "competitive gradient descent", cgd_primitives, {"eta": 1.0},
                    order=2, needs_hessian=True, reference="Schaefer & Anandkumar 2019",
                    combine=combine_cgd, primitives=_cgd_sizes, program_hyper=(),
                    failure="the matrix I - eta*H_o of CGD's linear solve is singular there",
                    tags=frozenset({"combined", "compare"}),
                    two_player_reason="competitive gradient descent solves the two-player "
                                      "bilinear game of Schaefer & Anandkumar (2019)"))
