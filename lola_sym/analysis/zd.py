r"""Zero-determinant strategies (Press & Dyson 2012): does a memory-1 policy fix a payoff relation?

Player X plays a memory-1 policy with cooperation probabilities
:math:`p = (p_{CC}, p_{CD}, p_{DC}, p_{DD})` in the states read from its own
perspective (own last action first). Let :math:`S_X` and :math:`S_Y` be X's and
Y's payoffs in those four states. If

.. math:: \tilde p = p - (1, 1, 0, 0) = \alpha S_X + \beta S_Y + \gamma \mathbf 1

for some :math:`\alpha, \beta, \gamma`, then against *any* memory-1 opponent the
long-run (stationary, undiscounted) payoffs obey
:math:`\alpha s_X + \beta s_Y + \gamma = 0` (Press & Dyson 2012, Eq. 7-8: the
determinant of the chain's modified matrix has :math:`\tilde p` as a column).
:func:`zd_relation` projects :math:`\tilde p` on :math:`\mathrm{span}(S_X, S_Y, \mathbf 1)`
(a least-squares solve) and returns the coefficients and the distance of
:math:`\tilde p` from that span, the *residual*: zero exactly for ZD policies.
Extortion with factor :math:`\chi` and baseline :math:`P` is the case
:math:`s_X - P = \chi (s_Y - P)`, i.e. :math:`(\alpha, \beta, \gamma) \propto
(1, -\chi, (\chi - 1) P)`; an equaliser has :math:`\alpha = 0` (it sets
:math:`s_Y = -\gamma/\beta`).

The relation holds for the undiscounted game; in a discounted game with
:math:`\gamma < 1` it holds only in the limit :math:`\gamma \to 1` (Hilbe, Traulsen
& Sigmund 2015 give the discounted form), so applied to policies learnt on a
discounted game the check says whether the policy is a ZD policy of the stage
game, not that the discounted values obey the relation exactly.

References
----------
.. [1] Press, W. H. and Dyson, F. J. (2012). Iterated Prisoner's Dilemma contains
   strategies that dominate any evolutionary opponent. PNAS 109(26), 10409-10413.
.. [2] Hilbe, C., Traulsen, A. and Sigmund, K. (2015). Partners or rivals?
   Strategies for the iterated prisoner's dilemma. Games Econ. Behav. 92, 41-52.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

__all__ = ["ZDRelation", "zd_relation", "zd_check", "own_payoffs", "ATOL_ZD"]

#: Residual below which a policy counts as zero-determinant (probabilities in double).
ATOL_ZD = 1e-9


@dataclass(frozen=True)
class ZDRelation:
    r"""The linear payoff relation a memory-1 policy comes closest to enforcing.

    Attributes
    ----------
    alpha, beta, gamma : ndarray
        Coefficients of :math:`\alpha s_X + \beta s_Y + \gamma = 0` (the least-squares,
        minimum-norm fit of :math:`\tilde p`), shape ``(...)``.
    residual : ndarray
        Euclidean distance of :math:`\tilde p` from :math:`\mathrm{span}(S_X, S_Y, \mathbf 1)`.
    relative_residual : ndarray
        ``residual / |p~|`` (0 for a ZD policy, at most 1).
    is_zd : ndarray of bool
        ``residual <= atol``.
    chi : ndarray
        :math:`-\beta/\alpha`: the extortion factor :math:`\chi` when the relation is
        :math:`s_X - P = \chi(s_Y - P)` (inf where :math:`\alpha = 0`).
    """

    alpha: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray
    residual: np.ndarray
    relative_residual: np.ndarray
    is_zd: np.ndarray
    chi: np.ndarray


def zd_relation(p, s_x, s_y, *, atol: float = ATOL_ZD) -> ZDRelation:
    r"""Fit :math:`p - (1,1,0,0) = \alpha S_X + \beta S_Y + \gamma\mathbf 1`; residual and coefficients.

    Parameters
    ----------
    p : array_like, shape (..., 4)
        Cooperation probabilities in X's states (CC, CD, DC, DD), own action first.
    s_x, s_y : array_like, shape (4,)
        X's and Y's payoffs in those states.
    atol : float
        Residual below which ``is_zd`` holds.

    Returns
    -------
    ZDRelation

    Examples
    --------
    Press & Dyson's extortionate policy with :math:`\chi = 3` in the conventional IPD
    (R, S, T, P) = (3, 0, 5, 1): :math:`p = (11/13, 1/2, 7/26, 0)`.

    >>> S_X, S_Y = [3, 0, 5, 1], [3, 5, 0, 1]
    >>> z = zd_relation([11/13, 1/2, 7/26, 0], S_X, S_Y)
    >>> bool(z.is_zd), round(float(z.chi), 12)
    (True, 3.0)
    >>> bool(zd_relation([1, 0, 1, 0], S_X, S_Y).is_zd)     # tit-for-tat: p~ = (0,-1,1,0)
    True
    >>> bool(zd_relation([0.9, 0.2, 0.6, 0.3], S_X, S_Y).is_zd)
    False
    """
    p = np.asarray(p, dtype=float)
    if p.ndim == 0 or p.shape[-1] != 4:
        raise ValueError(f"p must hold the 4 cooperation probabilities (CC, CD, DC, DD) on its "
                         f"last axis, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("p must hold probabilities in [0, 1]")
    A = np.stack([np.asarray(s_x, dtype=float), np.asarray(s_y, dtype=float), np.ones(4)],
                 axis=-1)
    if A.shape != (4, 3) or not np.all(np.isfinite(A)):
        raise ValueError("s_x and s_y must be 4 finite payoffs each (states CC, CD, DC, DD)")
    pt = p - np.array([1.0, 1.0, 0.0, 0.0])
    pinv = np.linalg.pinv(A)                       # minimum-norm least squares, any rank
    coef = np.einsum("ks,...s->...k", pinv, pt)
    fit = np.einsum("sk,...k->...s", A, coef)
    residual = np.linalg.norm(pt - fit, axis=-1)
    norm = np.linalg.norm(pt, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(norm > 0, residual / np.where(norm > 0, norm, 1.0), 0.0)
        chi = np.where(coef[..., 0] != 0, -coef[..., 1] / coef[..., 0], np.inf)
    return ZDRelation(coef[..., 0], coef[..., 1], coef[..., 2], residual, rel,
                      residual <= atol, chi)


def own_payoffs(game, player: int) -> tuple:
    """``(S_X, S_Y)`` of a 2x2 iterated game in ``player``'s own-perspective states.

    Examples
    --------
    >>> from lola_sym import games
    >>> own_payoffs(games.ipd(), 2)
    (array([-1., -3.,  0., -2.]), array([-1.,  0., -3., -2.]))
    """
    r1 = np.array([float(v) for v in game.r1])
    r2 = np.array([float(v) for v in game.r2])
    if player == 1:
        return r1, r2
    if player == 2:
        swap = [0, 2, 1, 3]                        # (own, other) = (a2, a1)
        return r2[swap], r1[swap]
    raise ValueError(f"player must be 1 or 2, got {player!r}")


def zd_check(game, theta, player: int = 1, *, atol: float = ATOL_ZD) -> ZDRelation:
    r"""The ZD check of a memory-1 sigmoid policy ``theta`` (``(..., 5)``: start, CC, CD, DC, DD).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games
    >>> big = 40.0                                  # saturated tit-for-tat: C after C
    >>> tft = np.array([big, big, -big, big, -big])
    >>> bool(zd_check(games.ipd(), tft).is_zd)
    True
    """
    theta = np.asarray(theta, dtype=float)
    if theta.ndim == 0 or theta.shape[-1] != 5:
        raise ValueError(f"theta must be a memory-1 policy of 5 logits (start, CC, CD, DC, "
                         f"DD), got shape {theta.shape}")
    s_x, s_y = own_payoffs(game, player)
    return zd_relation(expit(theta[..., 1:]), s_x, s_y, atol=atol)
