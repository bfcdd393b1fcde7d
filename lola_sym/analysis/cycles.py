r"""Limit cycles in trajectories of maps: periodic orbits and quasi-periodic rotation.

A trajectory :math:`x_0, x_1, \dots, x_T` of a map (e.g. training,
:func:`lola_sym.train`) is judged on its *tail* (the last ``tail`` fraction of
the steps) as one of

* ``"diverged"``: a non-finite point;
* ``"fixed point"``: the last steps move less than ``atol``;
* ``"periodic"``: an exact cycle of period :math:`p \le` ``max_period``,
  :math:`\max_t |x_t - x_{t-p}| \le` ``atol`` over the tail (a period-:math:`p`
  orbit of the map);
* ``"limit cycle"``: quasi-periodic rotation about a centre (the mean of the
  tail), settled: in the plane of the tail's two principal directions the
  angle about the centre turns steadily, the *period* is the mean number of
  steps per revolution (over the whole revolutions of the tail), the
  *amplitude* the mean distance from the centre, and the mean distance over the last
  whole revolution differs from that over the one before by less than
  ``rtol`` times the amplitude (the trajectory has converged onto the closed
  curve, not spiralling in or out);
* ``"rotating"``: rotation that has not settled (the revolutions still differ
  by more than ``rtol``; the trajectory still spirals, e.g. slowly towards a
  fixed point or a cycle);
* ``"not settled"``: none of the above.

References
----------
.. [1] Letcher, A. (2021). On the impossibility of global convergence in
   multi-loss optimization. ICLR. arXiv:2005.12649. (Limit cycles of
   gradient-based methods on a zero-sum game.)
.. [2] Kuznetsov, Y. A. (2004). *Elements of Applied Bifurcation Theory*,
   3rd ed., Springer, Ch. 1 and 4 (cycles of maps, invariant closed curves).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym._validation import as_numeric_array, check_int, check_real

__all__ = ["Cycle", "detect_cycle", "detect_cycles", "KINDS"]

#: The verdicts of :func:`detect_cycle`.
KINDS = ("diverged", "fixed point", "periodic", "limit cycle", "rotating", "not settled")


@dataclass(frozen=True)
class Cycle:
    r"""The verdict of :func:`detect_cycle` on one trajectory.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    period : float
        Steps per revolution (``"limit cycle"``, ``"rotating"``), the exact
        period (``"periodic"``), NaN otherwise.
    amplitude : float
        Mean distance of the tail from its centre, over its whole revolutions
        when it rotates (0 for a fixed point).
    centre : ndarray, shape (d,)
        Mean of the tail.
    radius_range : tuple of float
        Smallest and largest distance from the centre over the tail.
    return_gap : float
        Change of the mean distance from the centre between the last two whole
        revolutions, relative to the amplitude (NaN with fewer than two).
    revolutions : float
        Revolutions completed over the tail.
    """

    kind: str
    period: float
    amplitude: float
    centre: np.ndarray
    radius_range: tuple
    return_gap: float
    revolutions: float

    def as_dict(self) -> dict:
        """JSON-able summary."""
        return {"kind": self.kind, "period": self.period, "amplitude": self.amplitude,
                "centre": self.centre.tolist(), "radius_range": list(self.radius_range),
                "return_gap": self.return_gap, "revolutions": self.revolutions}


def detect_cycle(trajectory, *, tail: float = 0.5, atol: float = 1e-9, rtol: float = 1e-3,
                 max_period: int = 64, centre=None) -> Cycle:
    r"""Classify the end of one trajectory (see the module docstring).

    Parameters
    ----------
    trajectory : array_like, shape (T + 1, d)
        The points :math:`x_0, \dots, x_T`, :math:`d \ge 1`.
    tail : float
        The fraction of the trajectory, at its end, that is judged (0 < tail <= 1).
    atol : float
        Step size of a fixed point and closure of an exact cycle.
    rtol : float
        Largest relative change between the last two revolutions of a
        settled limit cycle.
    max_period : int
        Longest exact period looked for.
    centre : array_like, optional
        The point the rotation is measured about (e.g. the game's fixed point
        inside the cycle); default the mean of the tail's whole revolutions.

    Examples
    --------
    A rotation by 1/10 of a turn, attracted to the unit circle:

    >>> z = [0.3 + 0j]
    >>> for _ in range(2000):
    ...     z.append(z[-1] * np.exp(2j * np.pi / 10) * (1 + 0.2 * (1 - abs(z[-1]) ** 2)))
    >>> c = detect_cycle(np.c_[np.real(z), np.imag(z)])
    >>> c.kind, round(c.period, 6), round(c.amplitude, 6)
    ('periodic', 10.0, 1.0)
    >>> z = [0.3 + 0j]
    >>> for _ in range(4000):
    ...     z.append(z[-1] * np.exp(1j) * (1 + 0.2 * (1 - abs(z[-1]) ** 2)))
    >>> c = detect_cycle(np.c_[np.real(z), np.imag(z)])
    >>> c.kind, round(c.period, 4), round(c.amplitude, 4)     # 2 pi steps per turn
    ('limit cycle', 6.2832, 1.0)
    """
    x = as_numeric_array(trajectory, "trajectory", "iuf").astype(float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 4 or x.shape[1] == 0:
        raise ValueError(f"trajectory must have shape (T + 1, d) with T >= 3, got {x.shape}")
    tail = check_real(tail, "tail", positive=True)
    if tail > 1:
        raise ValueError(f"tail must be in (0, 1], got {tail}")
    atol = check_real(atol, "atol", positive=True)
    rtol = check_real(rtol, "rtol", positive=True)
    max_period = check_int(max_period, "max_period", 1)
    nan = float("nan")
    if not np.all(np.isfinite(x)):
        return Cycle("diverged", nan, nan, np.full(x.shape[1], nan), (nan, nan), nan, 0.0)
    x = x[-max(4, int(round(tail * x.shape[0]))):]
    given = centre is not None
    if given:
        centre = as_numeric_array(centre, "centre", "iuf").astype(float).ravel()
        if centre.shape != (x.shape[1],) or not np.all(np.isfinite(centre)):
            raise ValueError(f"centre must be a finite point of dimension {x.shape[1]}")
    else:
        centre = x.mean(axis=0)
        if x.shape[1] >= 2:           # refine: the mean over whole revolutions only
            whole = _whole_revolutions(x, centre)
            if whole is not None:
                centre = x[whole[0]:whole[1]].mean(axis=0)
    dist = np.linalg.norm(x - centre, axis=1)
    rng = (float(dist.min()), float(dist.max()))
    steps = np.max(np.abs(np.diff(x, axis=0)), axis=1)
    if np.max(steps[-min(len(steps), 10):]) <= atol:
        return Cycle("fixed point", nan, 0.0, x[-1].copy(), (0.0, 0.0), nan, 0.0)
    for p in range(2, min(max_period, len(x) // 3) + 1):
        if np.max(np.abs(x[p:] - x[:-p])) <= atol:
            cyc = x[-p:]
            c = cyc.mean(axis=0)
            r = np.linalg.norm(cyc - c, axis=1)
            return Cycle("periodic", float(p), float(r.mean()), c, (float(r.min()), float(r.max())),
                         0.0, len(x) / p)
    if x.shape[1] == 1:
        return Cycle("not settled", nan, float(dist.mean()), centre, rng, nan, 0.0)
    phi = _angle(x, centre)
    dphi = np.diff(phi)
    turns = (phi[-1] - phi[0]) / (2 * np.pi)
    steady = np.all(np.sign(dphi) == np.sign(dphi.mean())) and np.all(dist > 0)
    if not steady or abs(turns) < 2:
        return Cycle("not settled", nan, float(dist.mean()), centre, rng, nan, abs(turns))
    period = float(2 * np.pi / abs(dphi.mean()))
    amp = float(dist.mean())
    # whole revolutions: where phi passes a multiple of 2 pi from its start
    k = np.floor((phi - phi[0]) / (2 * np.pi) * np.sign(dphi.mean()))
    starts = np.flatnonzero(np.diff(k) != 0) + 1
    gap = nan
    if len(starts) >= 2:        # over whole revolutions: no bias from a partial one
        lo, hi = starts[0], starts[-1]
        turned = abs(phi[hi] - phi[lo]) / (2 * np.pi)
        period = float((hi - lo) / turned)
        amp = float(dist[lo:hi].mean())
    if len(starts) >= 3:
        last = dist[starts[-2]:starts[-1]].mean()
        prev = dist[starts[-3]:starts[-2]].mean()
        gap = float(abs(last - prev) / amp)
    kind = "limit cycle" if gap == gap and gap <= rtol else "rotating"
    return Cycle(kind, period, amp, centre, rng, gap, abs(turns))


def _angle(x, centre):
    """The unwrapped angle about ``centre`` in the plane of the two principal directions."""
    _, _, vt = np.linalg.svd(x - centre, full_matrices=False)
    u = (x - centre) @ vt[:2].T
    return np.unwrap(np.arctan2(u[:, 1], u[:, 0]))


def _whole_revolutions(x, centre):
    """``(start, stop)`` indices spanning the whole revolutions of ``x`` about ``centre``."""
    phi = _angle(x, centre)
    turn = np.floor((phi - phi[0]) / (2 * np.pi) * np.sign(phi[-1] - phi[0] or 1.0))
    starts = np.flatnonzero(np.diff(turn) != 0) + 1
    return None if len(starts) < 2 else (int(starts[0]), int(starts[-1]))


def detect_cycles(trajectories, **options) -> list:
    """:func:`detect_cycle` of every run of ``(T + 1, runs, d)`` trajectories (e.g. training).

    Examples
    --------
    >>> t = np.linspace(0, 40 * np.pi, 2001)
    >>> runs = np.stack([np.c_[np.cos(t), np.sin(t)], np.c_[2 * np.cos(t), 2 * np.sin(t)]], 1)
    >>> [round(c.amplitude, 3) for c in detect_cycles(runs)]
    [1.0, 2.0]
    """
    x = as_numeric_array(trajectories, "trajectories", "iuf")
    if x.ndim != 3:
        raise ValueError(f"trajectories must have shape (T + 1, runs, d), got {x.shape}")
    return [detect_cycle(x[:, r], **options) for r in range(x.shape[1])]
