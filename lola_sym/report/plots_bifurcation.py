r"""Bifurcation diagrams of learning maps: figures, a report, and the matching-pennies curve.

* :func:`plot_branch`: a branch of fixed points (:func:`~lola_sym.analysis.bifurcations.bifurcation_diagram`)
  against its parameter, stable parts solid and unstable dashed, with the
  spectral radius of the map (or the largest real part of the flow) below it
  and the located bifurcations marked (LP fold, BP branch point, PD period
  doubling, NS Neimark–Sacker, H Hopf).
* :func:`plot_curve`: a two-parameter curve of bifurcation points, beside a closed form.
* :func:`bifurcation_report`: both for a rule on a game, with a table
  (what ``lola-sym continuation`` prints).
* :func:`matching_pennies_reproduction`: issue 14's check that the exact
  thresholds of matching pennies (LA and LOLA :math:`\delta^* = 32\eta/(\eta^2 + 16)`,
  lola_full and exact LOLA :math:`16\eta/(\eta^2 + 4)`) come out as
  Neimark–Sacker points and their two-parameter continuation traces the curve.

Figures are drawn headless on the Agg canvas (:mod:`lola_sym.report.plot_support`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lola_sym._validation import check_real
from lola_sym.analysis.bifurcations import BifurcationCurve, bifurcation_diagram, continue_bifurcation
from lola_sym.analysis.continuation import Branch, learning_map
from lola_sym.report.plot_support import _figure, _save

__all__ = ["plot_branch", "plot_curve", "bifurcation_report", "BifurcationReport",
           "matching_pennies_reproduction", "MatchingPenniesResult", "MP_CLOSED_FORMS",
           "REDUCED", "DEFAULTS", "LABELS"]

#: Short labels of the special points in figures and tables.
LABELS = {"fold": "LP", "branch point": "BP", "period-doubling": "PD", "neimark-sacker": "NS",
          "hopf": "H", "neutral saddle": "NSa"}
#: The exact Neimark-Sacker thresholds of matching pennies at theta = 0 (issue 14).
MP_CLOSED_FORMS = {
    "la": ("32 eta/(eta^2 + 16)", lambda e: 32 * e / (e ** 2 + 16)),
    "lola": ("32 eta/(eta^2 + 16)", lambda e: 32 * e / (e ** 2 + 16)),
    "lola_full": ("16 eta/(eta^2 + 4)", lambda e: 16 * e / (e ** 2 + 4)),
    "exact_lola": ("16 eta/(eta^2 + 4)", lambda e: 16 * e / (e ** 2 + 4)),
}
#: The defaults of :func:`matching_pennies_reproduction`.
DEFAULTS = dict(rules=("la", "lola", "lola_full", "exact_lola"), etas=(0.5, 1.0, 2.0, 4.0),
                eta_range=(0.1, 8.0), step=0.1)
#: A reduced setting that runs in seconds (CI).
REDUCED = dict(rules=("lola", "lola_full"), etas=(1.0,), eta_range=(0.5, 3.0), step=0.3)


def _segments(x, y, stable, specials=()):
    """Runs of equal stability, ``[(x, y, stable)]``, split at the special points.

    ``specials`` are ``(index, x, y)``: a point between branch points ``index`` and
    ``index + 1``; the run before it keeps the stability of ``index``, the run after
    takes that of ``index + 1``.
    """
    nodes = []
    for k in range(len(x)):
        nodes.append((x[k], y[k], bool(stable[k])))
        nodes.extend((sx, sy, None) for i, sx, sy in specials if i == k)
    pieces = []
    for a, b in zip(nodes[:-1], nodes[1:]):
        st = a[2] if a[2] is not None else b[2]
        if pieces and pieces[-1][2] == st:
            pieces[-1][0].append(b[0])
            pieces[-1][1].append(b[1])
        else:
            pieces.append(([a[0], b[0]], [a[1], b[1]], st))
    return pieces


def plot_branch(branch: Branch, coordinate: int = 0, *, path=None, title: str | None = None):
    r"""A bifurcation diagram: one coordinate of the fixed point, and the stability margin.

    Top: :math:`\theta_{\text{coordinate}}` against the parameter (stable solid,
    unstable dashed). Bottom: the spectral radius :math:`\max|\mu|` of the map
    (line at 1) or, for the flow, :math:`\max\mathrm{Re}\,\lambda` (line at 0).
    Bifurcations are marked and labelled in both (neutral saddles, which
    are not bifurcations, are not). Saved to ``path``
    (``.png``/``.pdf``) if given; returns the figure.

    Examples
    --------
    >>> from lola_sym import games
    >>> m = learning_map(games.matching_pennies(), "lola", eta=1.0)
    >>> b = bifurcation_diagram(m, [0.0, 0.0], "delta", 3.0, start=1.0, step=0.5)
    >>> len(plot_branch(b).axes)
    2
    """
    if not isinstance(branch, Branch):
        raise TypeError(f"branch must be a Branch (from bifurcation_diagram), got "
                        f"{type(branch).__name__}")
    d = branch.points.shape[1]
    if isinstance(coordinate, bool) or not isinstance(coordinate, (int, np.integer)) \
            or not 0 <= coordinate < d:
        raise ValueError(f"coordinate must be an int in [0, {d}), got {coordinate!r}")
    fig = _figure((6.4, 5.2))
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = branch.values
    if branch.system == "map":
        margin, ref, name = np.max(np.abs(branch.multipliers), axis=1), 1.0, r"$\max|\mu|$"
    else:
        margin, ref, name = np.max(branch.eigenvalues.real, axis=1), 0.0, r"$\max\,\mathrm{Re}\,\lambda$"
    marked = [s for s in branch.special_points if s.kind != "neutral saddle"]

    def at(s):
        lam_mu = s.multipliers if branch.system == "map" else s.eigenvalues
        return np.max(np.abs(lam_mu)) if branch.system == "map" else np.max(lam_mu.real)
    for ax, y, sy in ((top, branch.points[:, coordinate], lambda s: s.point[coordinate]),
                      (bottom, margin, at)):
        specials = [(s.index, s.value, sy(s)) for s in marked]
        for xs, ys, st in _segments(x, y, branch.stable, specials):
            ax.plot(xs, ys, "-" if st else "--", color="C0" if st else "C3",
                    label="stable" if st else "unstable")
    bottom.axhline(ref, color="0.5", lw=0.8)
    for s in marked:
        for ax, y in ((top, s.point[coordinate]), (bottom, at(s))):
            ax.plot([s.value], [y], "ko", ms=5)
            ax.annotate(LABELS[s.kind], (s.value, y), textcoords="offset points",
                        xytext=(4, 4), fontsize=8)
    handles, labels = top.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    top.legend(uniq.values(), uniq.keys(), fontsize=8)
    top.set_ylabel(rf"$\theta_{{{coordinate + 1}}}$")
    bottom.set_ylabel(name)
    bottom.set_xlabel(_symbol(branch.parameter))
    m = branch.lmap
    top.set_title(title or f"{m.rule} on {m.game.name}: fixed points in {branch.parameter} "
                           f"({branch.system})", fontsize=10)
    return _save(fig, path)


def _symbol(name):
    return {"delta": r"$\delta$", "eta": r"$\eta$", "tau": r"$\tau$", "gamma": r"$\gamma$"}.get(
        name, name)


def plot_curve(curves, closed_form=None, *, path=None, title: str | None = None,
               labels=None):
    r"""Two-parameter bifurcation curves (:math:`p_1` against :math:`p_2`), beside a closed form.

    ``curves`` is a :class:`~lola_sym.analysis.bifurcations.BifurcationCurve`
    or a sequence of them (same parameters); ``closed_form`` a callable
    :math:`p_2 \mapsto p_1` or a sequence of them (one per curve, None to skip),
    drawn dashed over the range of :math:`p_2`.

    Examples
    --------
    >>> from lola_sym import games
    >>> m = learning_map(games.matching_pennies(), "lola", eta=1.0)
    >>> ns = bifurcation_diagram(m, [0.0, 0.0], "delta", 3.0, start=1.0, step=0.5).special_points[0]
    >>> c = continue_bifurcation(m, ns, "eta", 4.0, step=0.5)
    >>> len(plot_curve(c, lambda e: 32 * e / (e ** 2 + 16)).axes)
    1
    """
    curves = [curves] if isinstance(curves, BifurcationCurve) else list(curves)
    if not curves or not all(isinstance(c, BifurcationCurve) for c in curves):
        raise TypeError("curves must be a BifurcationCurve or a non-empty sequence of them")
    forms = closed_form if isinstance(closed_form, (list, tuple)) else [closed_form] * len(curves)
    if len(forms) != len(curves):
        raise ValueError(f"one closed form per curve: {len(curves)} curves, {len(forms)} forms")
    labels = labels or [f"{c.kind}" for c in curves]
    fig = _figure((5.6, 4.2))
    ax = fig.subplots()
    for k, (c, f, lab) in enumerate(zip(curves, forms, labels)):
        p1, p2 = c.values[:, 0], c.values[:, 1]
        ax.plot(p2, p1, ".-", color=f"C{k}", lw=2.5, ms=4, alpha=0.6,
                label=f"{lab} (continued)")
        if f is not None:
            grid = np.linspace(p2.min(), p2.max(), 200)
            ax.plot(grid, [f(v) for v in grid], "--", color="k", lw=0.9,
                    label="closed form" if k == 0 else None)
    ax.set_xlabel(_symbol(curves[0].parameters[1]))
    ax.set_ylabel(_symbol(curves[0].parameters[0]))
    ax.legend(fontsize=8)
    ax.set_title(title or f"{curves[0].kind} curves", fontsize=10)
    return _save(fig, path)


# -------------------------------------------------------------------------- report
@dataclass(frozen=True)
class BifurcationReport:
    """A branch with its bifurcations, and optionally the curve of the first one in two parameters."""

    branch: Branch
    curve: BifurcationCurve | None = None
    settings: dict = field(default_factory=dict)

    def format_table(self) -> str:
        """The special points (and the curve's end points), as printed by the CLI."""
        b = self.branch
        m = b.lmap
        lines = [f"{m.rule} on {m.game.name} ({b.system}), continued in {b.parameter} from "
                 f"{b.values[0]:.6g} to {b.values[-1]:.6g}: {len(b)} points, "
                 f"stable at start: {bool(b.stable[0])}, at end: {bool(b.stable[-1])}",
                 f"{'kind':<16} {b.parameter:>20} {'|theta|':>10} {'critical':>26}"]
        for s in b.special_points:
            crit = (s.multipliers if b.system == "map" else s.eigenvalues)
            c = crit[np.argmin(np.abs(np.abs(crit) - 1))] if b.system == "map" else \
                crit[np.argmin(np.abs(crit.real))]
            lines.append(f"{s.kind:<16} {s.value:>20.14g} {np.max(np.abs(s.point)):>10.3g} "
                         f"{c.real:>12.8f}{c.imag:+.8f}i")
        if not b.special_points:
            lines.append("(no bifurcation on the branch)")
        if self.curve is not None:
            c = self.curve
            p1, p2 = c.parameters
            lines.append(f"{c.kind} curve in ({p1}, {p2}): {len(c.values)} points, max residual "
                         f"{np.max(c.residuals):.2g}")
            for row in c.values[:: max(1, len(c.values) // 10)]:
                lines.append(f"  {p2} = {row[1]:<12.8g} {p1} = {row[0]:.14g}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"settings": dict(self.settings), "branch": self.branch.as_dict(),
                "curve": None if self.curve is None else self.curve.as_dict()}

    def plot(self, path=None):
        """The bifurcation diagram; with a curve, a second figure saved beside it (``_curve``)."""
        fig = plot_branch(self.branch, path=path)
        if self.curve is not None and path is not None:
            from pathlib import Path
            p = Path(path)
            plot_curve(self.curve, path=p.with_name(p.stem + "_curve" + p.suffix))
        return fig


def bifurcation_report(game, rule, parameter: str, stop: float, *, theta=None, start=None,
                       delta=1.0, step: float = 0.05, system: str = "map", second=None,
                       second_stop=None, max_steps: int = 500, progress=None,
                       **settings) -> BifurcationReport:
    r"""Continue a fixed point of ``rule`` on ``game`` in ``parameter`` and locate its bifurcations.

    Parameters
    ----------
    game : game or str
        A game, or a catalogue name (``"matching_pennies"``).
    rule : str
    parameter : str
        ``"delta"``, ``"tau"``, a hyper-parameter or a game symbol.
    stop : float
    theta : array_like, optional
        A point near the fixed point (default: all logits 0).
    start : float, optional
        The parameter's first value (default: the map's own).
    delta : float or tuple
        The rates (one per agent allowed).
    step, system, max_steps
        As in :func:`~lola_sym.analysis.bifurcations.bifurcation_diagram`.
    second, second_stop : optional
        Continue the first bifurcation found in (``parameter``, ``second``) up
        to ``second_stop``.
    progress : callable, optional
        Called as ``progress(done, total)`` after each stage (the branch, the curve).
    **settings
        The rule's hyper-parameters and the game's symbol values.

    Examples
    --------
    >>> r = bifurcation_report("matching_pennies", "lola", "delta", 3.0, start=1.0, eta=1.0,
    ...                        step=0.5)
    >>> r.format_table().splitlines()[2].split()[:2]
    ['neimark-sacker', '1.8823529411765']
    """
    if isinstance(game, str):
        from lola_sym.games import by_name
        game = by_name(game)
    stop = check_real(stop, "stop")
    if (second is None) != (second_stop is None):
        raise ValueError("give both second and second_stop, or neither")
    m = learning_map(game, rule, delta=delta, **settings)
    if start is not None:
        m = m.with_values(**{parameter: start})
    z = np.zeros(m.d) if theta is None else theta
    branch = bifurcation_diagram(m, z, parameter, stop, step=step, system=system,
                                 max_steps=max_steps)
    if progress:
        progress(1, 1 if second is None else 2)
    curve = None
    if second is not None:
        found = [s for s in branch.special_points if s.kind != "neutral saddle"]
        if not found:
            raise ValueError(f"no bifurcation on the branch in {parameter}: nothing to continue "
                             f"in {second}")
        s = found[0]
        m2 = m.with_values(**{parameter: s.value})
        curve = continue_bifurcation(m2, s, second, second_stop, step=step)
        if progress:
            progress(2, 2)
    return BifurcationReport(branch, curve, dict(game=game.name, rule=rule, parameter=parameter,
                                                 stop=stop, start=start, delta=delta,
                                                 second=second, second_stop=second_stop,
                                                 **settings))


# --------------------------------------------------------------- matching pennies (issue 14)
@dataclass(frozen=True)
class MatchingPenniesResult:
    """Neimark–Sacker points and curves of matching pennies, beside the closed forms."""

    points: dict            # rule -> [(eta, delta located, delta closed form)]
    curves: dict            # rule -> BifurcationCurve in (delta, eta)
    settings: dict

    def curve_errors(self) -> dict:
        r"""Per rule, the largest :math:`|\delta - \delta^*(\eta)|` along the curve.

        :math:`\delta^*(\eta)` is the rule's closed form (``MP_CLOSED_FORMS``).
        """
        return {r: float(np.max(np.abs(c.values[:, 0] - MP_CLOSED_FORMS[r][1](c.values[:, 1]))))
                for r, c in self.curves.items()}

    def format_table(self) -> str:
        lines = [f"{'rule':<11} {'eta':>6} {'delta NS (located)':>20} {'closed form':>20} "
                 f"{'error':>9}"]
        for r, rows in self.points.items():
            for eta, got, want in rows:
                lines.append(f"{r:<11} {eta:>6.3g} {got:>20.15f} {want:>20.15f} "
                             f"{abs(got - want):>9.1e}")
        lines.append("")
        lines.append(f"{'rule':<11} {'closed form':<20} {'eta range':>16} {'points':>7} "
                     f"{'max error':>10}")
        errs = self.curve_errors()
        for r, c in self.curves.items():
            lines.append(f"{r:<11} {MP_CLOSED_FORMS[r][0]:<20} "
                         f"{c.values[0, 1]:>7.3g}..{c.values[-1, 1]:<7.3g} {len(c.values):>7} "
                         f"{errs[r]:>10.1e}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"settings": dict(self.settings),
                "points": {r: [list(map(float, row)) for row in rows]
                           for r, rows in self.points.items()},
                "curves": {r: c.as_dict() for r, c in self.curves.items()},
                "curve_errors": self.curve_errors()}

    def plot(self, path=None):
        rules = list(self.curves)
        return plot_curve([self.curves[r] for r in rules],
                          [MP_CLOSED_FORMS[r][1] for r in rules], path=path, labels=rules,
                          title="matching pennies: Neimark-Sacker curves of theta = 0")


def matching_pennies_reproduction(rules=DEFAULTS["rules"], etas=DEFAULTS["etas"],
                                  eta_range=DEFAULTS["eta_range"], step=DEFAULTS["step"],
                                  progress=None) -> MatchingPenniesResult:
    r"""The exact thresholds of matching pennies as Neimark–Sacker points, and their curves.

    For each rule and :math:`\eta`, the fixed point :math:`\theta = 0` is
    continued in :math:`\delta` and its Neimark–Sacker point located; from the
    first, the curve in :math:`(\delta, \eta)` is continued over ``eta_range``
    (both directions). Each is compared with the closed form
    (:data:`MP_CLOSED_FORMS`).

    Examples
    --------
    >>> r = matching_pennies_reproduction(**REDUCED)
    >>> max(r.curve_errors().values()) < 1e-8
    True
    """
    from lola_sym.games import matching_pennies
    mp = matching_pennies()
    lo, hi = map(float, eta_range)
    if not 0 < lo < hi:
        raise ValueError(f"eta_range must be (lo, hi) with 0 < lo < hi, got {eta_range}")
    points, curves = {}, {}
    for done, rule in enumerate(rules):
        if rule not in MP_CLOSED_FORMS:
            raise ValueError(f"no closed form for rule {rule!r}; choose from {sorted(MP_CLOSED_FORMS)}")
        form = MP_CLOSED_FORMS[rule][1]
        rows: list[tuple] = []
        first: tuple | None = None
        for eta in etas:
            want = form(float(eta))
            m = learning_map(mp, rule, eta=float(eta))
            b = bifurcation_diagram(m, [0.0, 0.0], "delta", 2 * want, start=want / 3,
                                    step=want / 4)
            ns = [s for s in b.special_points if s.kind == "neimark-sacker"]
            if len(ns) != 1:
                raise RuntimeError(f"{rule} at eta={eta}: expected one Neimark-Sacker point, "
                                   f"found {[s.kind for s in b.special_points]}")
            rows.append((float(eta), ns[0].value, want))
            first = first or (m, ns[0])
        points[rule] = rows
        if first is None:
            raise ValueError(f"etas must hold at least one eta, got {etas!r}")
        m, ns = first
        up = continue_bifurcation(m, ns, "eta", hi, step=step, max_steps=2000)
        down = continue_bifurcation(m, ns, "eta", lo, step=step, max_steps=2000)
        curves[rule] = BifurcationCurve(
            up.kind, up.parameters, np.vstack([down.values[::-1], up.values[1:]]),
            np.vstack([down.points[::-1], up.points[1:]]),
            np.vstack([down.multipliers[::-1], up.multipliers[1:]]),
            np.concatenate([down.frequencies[::-1], up.frequencies[1:]]),
            np.concatenate([down.residuals[::-1], up.residuals[1:]]))
        if progress:
            progress(done + 1, len(rules))
    return MatchingPenniesResult(points, curves, dict(rules=tuple(rules), etas=tuple(etas),
                                                      eta_range=(lo, hi), step=step))
