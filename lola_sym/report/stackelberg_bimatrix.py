r"""Fiez et al.'s bimatrix game: simultaneous gradient play against Stackelberg learning.

The setting of the bimatrix notebook of Fiez, Chasnov and Ratliff (2020)
(``covest-bimatrix-polynomial-experiments/bimatrix-games.ipynb`` of
``fiezt/ICML-2020-Implicit-Stackelberg-Learning``): costs (minimised)

.. math::

    f_1 = \pi(x)^\top A\, \pi(y) + \tfrac{\lambda}{2} x^2, \qquad
    f_2 = \pi(x)^\top B\, \pi(y) + \tfrac{\lambda}{2} y^2,

:math:`A = I`, :math:`B = [[\tfrac12, 1], [1, \tfrac12]]`, each player one
scalar parameter and a two-action softmax with temperature :math:`\tau = 2.5`,
:math:`\pi(x) = \mathrm{softmax}(\tau x, -\tau x) = (\sigma(2\tau x), \sigma(-2\tau x))`
shifted by :math:`s`: :math:`\pi(x) = \mathrm{softmax}(\tau x + s, -\tau x - s)
= (\sigma(2\tau x + 2s), \sigma(-2\tau x - 2s))` (the notebook's
``softmax_2actions([2.5, -2.5], [s, -s])``; its figures use :math:`s = 1`, its
``config_softmax1``, and :math:`s = 0`, where every run ends at the uniform
policies), L2 weight :math:`\lambda = 0.1` on the player's own parameter
(``reg_l2_self``), step 0.02 for the leader and 0.02 or 0.2 for the follower
(``ratios`` [1, 1] and [1, 10]), :math:`10^4` iterations from the starts
(-1, -1) and (1, -1) on the box :math:`[-2, 2]^2`. Stored as values
:math:`V^i = -f_i`.

The notebook prints its end points (float32, after :math:`10^4` iterations),
:data:`PUBLISHED`: simultaneous play ends at (-0.42478, -0.38634) and Stackelberg
learning at (-0.41443, -0.16066) with :math:`s = 1`.

Both dynamics run from the same grid: simultaneous gradient play (``nl``) and
the Stackelberg leader with a naive follower (``stackelberg``,
:mod:`lola_sym.rules.stackelberg`). Their end points are refined to critical
points by a root finder and classified (:mod:`lola_sym.analysis.stackelberg_points`):
the figure marks the stable differential Nash and the stable differential
Stackelberg points, as the paper's figure does.

References
----------
.. [1] Fiez, T., Chasnov, B. and Ratliff, L. (2020). Implicit Learning Dynamics
   in Stackelberg Games. ICML. arXiv:1906.01217, Sec. 6 (bimatrix example).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from scipy.optimize import root

from lola_sym._validation import check_int, check_real
from lola_sym.analysis.stackelberg_points import classify_stackelberg
from lola_sym.field import update_field
from lola_sym.games.differentiable import differentiable
from lola_sym.program import sigmoid

__all__ = ["fiez_bimatrix", "stackelberg_bimatrix_reproduction", "StackelbergBimatrixResult",
           "DEFAULTS", "REDUCED", "PAPER_CLAIM", "PUBLISHED", "NOTEBOOK_STARTS"]

#: The notebook's settings (fiezt/ICML-2020-Implicit-Stackelberg-Learning @ 371b48c,
#: experiments/bimatrix-games.ipynb, cells 2-3): temperature, shift of config_softmax1, L2
#: weight, step gamma = 2e-2, num_iter = 1e4, follower/leader step ratios, the box of the
#: plots; ``grid`` adds a grid x grid of cell-centre starts to its two starts (for the portrait).
DEFAULTS: dict[str, Any] = dict(temperature=2.5, shift=1.0, l2=0.1, step=0.02,
                                iterations=10_000, ratios=(1.0, 10.0), grid=4, box=2.0)
#: The notebook's two starts (its ``grid = np.array([[-1., -1], [1, -1]])``).
NOTEBOOK_STARTS = ((-1.0, -1.0), (1.0, -1.0))
#: End points printed by the notebook (shift 1, start (-1, -1)): (dynamics, ratio) -> (x, y).
PUBLISHED = {("nl", 1.0): (-0.42477897, -0.38634542), ("nl", 10.0): (-0.42477977, -0.38629845),
             ("stackelberg", 1.0): (-0.41443014, -0.16065857),
             ("stackelberg", 10.0): (-0.4144303, -0.16065636)}
#: A reduced setting that runs in seconds (CI).
REDUCED = dict(grid=2, iterations=300)
#: What the paper's figure shows.
PAPER_CLAIM = ("the figures mark a 'Stable Differential Nash' point (simultaneous play) and a "
               "'Stable Differential Stackelberg' point (Stackelberg learning), apart")


def fiez_bimatrix(temperature=sp.Rational(5, 2), l2=sp.Rational(1, 10), shift=1):
    r"""The notebook's bimatrix game as a one-shot differentiable game (values = -costs).

    Examples
    --------
    >>> g = fiez_bimatrix()
    >>> g.dims
    (1, 1)
    >>> float(fiez_bimatrix(shift=0).value([0.0], [0.0])[0])   # -(pi^T A pi) at uniform
    -0.5
    """
    x, y = sp.symbols("x y", real=True)
    tau, lam, s = sp.nsimplify(temperature), sp.nsimplify(l2), sp.nsimplify(shift)
    A = sp.eye(2)
    B = sp.Matrix([[sp.Rational(1, 2), 1], [1, sp.Rational(1, 2)]])
    px = sp.Matrix([sigmoid(2 * (tau * x + s)), sigmoid(-2 * (tau * x + s))])
    py = sp.Matrix([sigmoid(2 * (tau * y + s)), sigmoid(-2 * (tau * y + s))])
    f1 = (px.T * A * py)[0] + lam * x ** 2 / 2
    f2 = (px.T * B * py)[0] + lam * y ** 2 / 2
    return differentiable(-f1, -f2, [x], [y], name=f"Fiez bimatrix (tau={tau}, shift={s}, l2={lam})")


@dataclass(frozen=True)
class StackelbergBimatrixResult:
    """End points of both dynamics and the classified critical points.

    Attributes
    ----------
    starts : ndarray, shape (n, 2)
        The notebook's two starts, then the grid's.
    ends : dict
        ``(rule, ratio)`` -> end points, shape (n, 2); rule ``"nl"`` or ``"stackelberg"``.
    points : list of dict
        Each critical point reached: ``rule``, ``ratio``, ``x``, ``y``, ``count`` (starts
        whose end point refines to it), ``class`` (:class:`~lola_sym.analysis.stackelberg_points.StackelbergClass` as a dict).
    parameters : dict
    """

    starts: np.ndarray
    ends: dict
    points: list
    parameters: dict = field(default_factory=dict)

    def format_table(self) -> str:
        """The critical points reached, classified, beside the notebook's printed end points."""
        p = self.parameters
        lines = [f"Fiez bimatrix A=I, B=[[1/2,1],[1,1/2]], tau={p['temperature']:g}, "
                 f"shift={p['shift']:g}, L2={p['l2']:g}, step {p['step']:g} (follower x ratio), "
                 f"{p['iterations']} iterations, {len(self.starts)} starts"]
        head = (f"{'dynamics':12} {'ratio':>5} {'x':>9} {'y':>9} {'starts':>6} {'DNE':>5} "
                f"{'stable':>6} {'DSE':>5} {'stable':>6}  notebook end point")
        lines += [head, "-" * len(head)]
        for q in self.points:
            c = q["class"]
            pub = PUBLISHED.get((q["rule"], q["ratio"])) if p["shift"] == 1.0 else None
            lines.append(f"{q['rule']:12} {q['ratio']:5g} {q['x']:9.5f} {q['y']:9.5f} "
                         f"{q['count']:6d} {str(c['differential_nash']):>5} "
                         f"{str(c['stable_nash']):>6} {str(c['differential_stackelberg']):>5} "
                         f"{str(c['stable_stackelberg']):>6}  "
                         + ("" if pub is None else f"({pub[0]:.5f}, {pub[1]:.5f})"))
        lines.append("DNE / DSE = differential Nash / Stackelberg (Fiez et al. Def. 1-2); "
                     "stable = every eigenvalue of the dynamics' Jacobian has real part < 0; "
                     "paper: " + PAPER_CLAIM)
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """Plain data (for ``--json``)."""
        return {"parameters": dict(self.parameters), "points": self.points,
                "published": {f"{r} ratio {q:g}": v for (r, q), v in PUBLISHED.items()}}

    def plot(self, path=None):
        """Phase portraits of both dynamics (ratio 1) with the stable DNE and DSE marked."""
        from lola_sym.report.plot_support import _figure, _save
        p = self.parameters
        game = fiez_bimatrix(p["temperature"], p["l2"], p["shift"])
        fig = _figure((10.0, 5.8))
        axes = fig.subplots(1, 2)
        b = p["box"]
        xs = np.linspace(-b, b, 41)
        X, Y = np.meshgrid(xs, xs)
        for ax, rule, title in ((axes[0], "nl", "simultaneous gradient play"),
                                (axes[1], "stackelberg", "Stackelberg: x leads, y naive")):
            g1, g2 = update_field(game, rule)(X[..., None], Y[..., None], failed="nan")
            ax.streamplot(X, Y, g1[..., 0], g2[..., 0], density=1.1, color="0.65",
                          linewidth=0.7)
            ax.plot(*self.starts.T, "x", color="k", ms=6, label="starts")
            ax.plot(*self.ends[(rule, 1.0)].T, ".", color="C0", ms=5, label="end points")
            for q in self.points:
                c = q["class"]
                if c["stable_nash"]:
                    ax.plot(q["x"], q["y"], "o", ms=11, mfc="none", mec="blue", mew=2,
                            label="stable differential Nash")
                if c["stable_stackelberg"]:
                    ax.plot(q["x"], q["y"], "v", ms=11, mfc="none", mec="green", mew=2,
                            label="stable differential Stackelberg")
            ax.set(xlim=(-b, b), ylim=(-b, b), xlabel="player 1's action $x_1$ (leader)",
                   ylabel="player 2's action $x_2$", title=title, aspect="equal")
        handles, labels = [], []
        for ax in axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8,
                   frameon=False)
        return _save(fig, path)


def _refine(f, z):
    """A root of the field ``f`` from ``z`` (scipy's hybrid method), or None."""
    def fun(v):
        return np.concatenate(f(v[:1], v[1:], failed="nan"))
    sol = root(fun, z, method="hybr", tol=1e-13)
    r = fun(sol.x)
    return sol.x if np.all(np.isfinite(r)) and np.max(np.abs(r)) < 1e-10 else None


def stackelberg_bimatrix_reproduction(grid: int = DEFAULTS["grid"],
                                      iterations: int = DEFAULTS["iterations"],
                                      step: float = DEFAULTS["step"],
                                      ratios=DEFAULTS["ratios"],
                                      temperature: float = DEFAULTS["temperature"],
                                      shift: float = DEFAULTS["shift"],
                                      l2: float = DEFAULTS["l2"], box: float = DEFAULTS["box"],
                                      progress=None) -> StackelbergBimatrixResult:
    r"""Run both dynamics from the notebook's starts (and a grid), refine, classify.

    Parameters
    ----------
    grid : int
        Extra starts per axis (cell centres of a ``grid x grid`` grid on
        ``[-box, box]^2``, as the notebook's ``initial_grid``); 0 for none.
    iterations : int
        Steps of each dynamics (:math:`10^4` in the notebook).
    step : float
        The leader's step (0.02); the follower's is ``ratio * step``.
    ratios : sequence of float
        Follower-to-leader step ratios (the notebook's 1 and 10).
    temperature, shift, l2, box : float
        The notebook's temperature 2.5, softmax shift 1, L2 weight 0.1 and box 2.
    progress : callable, optional
        ``progress(done, total)`` after every iteration.

    Returns
    -------
    StackelbergBimatrixResult

    Examples
    --------
    >>> res = stackelberg_bimatrix_reproduction(**REDUCED)
    >>> res.ends[("nl", 1.0)].shape
    (6, 2)
    """
    grid = check_int(grid, "grid", 0)
    iterations = check_int(iterations, "iterations", 0)
    step = check_real(step, "step", positive=True)
    ratios = tuple(check_real(r, "ratio", positive=True) for r in ratios)
    if not ratios:
        raise ValueError("ratios must hold at least one follower/leader step ratio")
    temperature = check_real(temperature, "temperature", positive=True)
    shift = check_real(shift, "shift")
    l2 = check_real(l2, "l2", nonnegative=True)
    box = check_real(box, "box", positive=True)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    game = fiez_bimatrix(temperature, l2, shift)
    blocks = [np.array(NOTEBOOK_STARTS)]
    if grid:
        c = box / grid
        axis = np.linspace(-box + c, box - c, grid)
        X, Y = np.meshgrid(axis, axis)
        blocks.append(np.stack([X.ravel(), Y.ravel()], axis=-1))
    starts = np.concatenate(blocks)
    ends, points = {}, []
    runs = [(rule, ratio) for rule in ("nl", "stackelberg") for ratio in ratios]
    for n_run, (rule, ratio) in enumerate(runs):
        f = update_field(game, rule)
        x, y = starts[:, :1].copy(), starts[:, 1:].copy()
        for k in range(iterations):
            g1, g2 = f(x, y, failed="nan")
            x, y = x + step * g1, y + ratio * step * g2
            if progress is not None:
                progress(n_run * iterations + k + 1, len(runs) * iterations)
        ends[(rule, ratio)] = np.concatenate([x, y], axis=-1)
        found: list[dict[str, Any]] = []
        for z in ends[(rule, ratio)]:
            if not np.all(np.isfinite(z)):
                continue
            r = _refine(f, z)
            if r is None:
                continue
            for q in found:
                if np.max(np.abs(q["z"] - r)) < 1e-6:
                    q["count"] += 1
                    break
            else:
                found.append({"z": r, "count": 1})
        for q in sorted(found, key=lambda q: tuple(q["z"])):
            cls = classify_stackelberg(game, q["z"][:1], q["z"][1:])
            points.append({"rule": rule, "ratio": ratio, "x": float(q["z"][0]),
                           "y": float(q["z"][1]), "count": q["count"], "class": cls.as_dict()})
    params = dict(grid=grid, iterations=iterations, step=step, ratios=list(ratios),
                  temperature=temperature, shift=shift, l2=l2, box=box)
    return StackelbergBimatrixResult(starts, ends, points, params)
