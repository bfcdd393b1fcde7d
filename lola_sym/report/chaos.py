r"""Two reproductions: Letcher's limit cycles, and the chaos of LOLA on the IPD.

**Letcher et al. (2021)**, "On the impossibility of global convergence in
multi-loss optimization": on the zero-sum game
:math:`L_1 = xy - x^2/2 + y^2/2 + x^4/4 - y^4/4 = -L_2`
(:func:`lola_sym.games.impossibility`), every method enters a limit cycle
around the only fixed point (the origin) instead of converging.
:func:`letcher_cycles_reproduction` runs the methods of the paper's Fig. 1 at
rate :math:`\alpha` from :math:`\theta_0 \sim N(0, 1)`: NL (gradient descent),
EG and OMD (the step methods ``"extragradient"`` and ``"optimistic"`` of
:func:`lola_sym.train` on NL's direction), CO (:math:`\gamma = 0.1`), SGA
(:math:`\lambda = 1`, aligned), LA, LOLA, SOS (:math:`a = b = 0.5`) and CGD,
the look-ahead rates equal to :math:`\alpha` as in the paper's code, and
:func:`~lola_sym.analysis.cycles.detect_cycle` judges the last ``tail`` of each
run about the origin (period in updates per revolution, amplitude = mean
distance from the origin, the smallest and largest distance).
The paper's notebook (``aletcher/impossibility-global-convergence``) uses
:math:`\alpha = 0.02` in the version read for this module; the issue states
0.01, the default here. Its SGA takes the sign of
:math:`\langle\xi, H^\top\xi\rangle\langle A^\top\xi, H^\top\xi\rangle`; the
registry's ``"sga"`` follows Balduzzi et al. (with the ``+0.1`` margin), so SGA
can differ.

**The IPD chaos map** (issue 14): LOLA on the IPD with :math:`\delta = \eta`
from 0.25 to 2, 1,000 seeded runs of 200 updates; for each rate the fraction of
runs with a positive largest finite-time Lyapunov exponent and the fraction
moved by more than :math:`10^{-6}` (final logits, max-norm) by a
:math:`10^{-12}` nudge of every initial logit
(:func:`~lola_sym.analysis.chaos.chaos_map`), beside the issue's 257 / 1,000 at
:math:`\delta = \eta = 1` and 7 / 1,000 at 2.

References
----------
.. [1] Letcher, A. (2021). On the impossibility of global convergence in
   multi-loss optimization. ICLR. arXiv:2005.12649.
.. [2] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness. AAMAS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from lola_sym._validation import check_int, check_real
from lola_sym.analysis.chaos import ChaosMap

__all__ = ["letcher_cycles_reproduction", "LetcherResult", "ipd_chaos_reproduction",
           "IPDChaosResult", "LETCHER_METHODS", "LETCHER_DEFAULTS", "LETCHER_REDUCED",
           "IPD_CHAOS_DEFAULTS", "IPD_CHAOS_REDUCED", "ISSUE_MOVED", "REDUCED"]

#: Letcher's methods: label -> (rule, step method, hyper-parameters; "alpha" = the rate).
LETCHER_METHODS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "NL": ("nl", "simultaneous", {}),
    "EG": ("nl", "extragradient", {}),
    "OMD": ("nl", "optimistic", {}),
    "CO": ("co", "simultaneous", {"gamma": 0.1}),
    "SGA": ("sga", "simultaneous", {"lam": 1.0}),
    "LA": ("la", "simultaneous", {"eta": "alpha"}),
    "LOLA": ("lola", "simultaneous", {"eta": "alpha"}),
    "SOS": ("sos", "simultaneous", {"eta": "alpha", "a": 0.5, "b": 0.5}),
    "CGD": ("cgd", "simultaneous", {"eta": "alpha"}),
}
#: The paper's setting (issue 14): rate 0.01, 3,000 updates, initial std 1.
LETCHER_DEFAULTS: dict[str, Any] = dict(runs=4, steps=3000, alpha=0.01, init_std=1.0, tail=0.7)
#: A reduced setting that runs in seconds (CI).
LETCHER_REDUCED = dict(runs=1, steps=400, alpha=0.05)
#: The issue's chaos measurement: delta = eta from 0.25 to 2, 1,000 runs, 200 updates.
IPD_CHAOS_DEFAULTS: dict[str, Any] = dict(
    deltas=tuple(np.round(np.arange(0.25, 2.001, 0.25), 2)), runs=1000, steps=200, init_std=1.0)
#: A reduced setting that runs in seconds (CI).
IPD_CHAOS_REDUCED = dict(deltas=(1.0, 2.0), runs=20, steps=40)
#: Both reduced settings, by reproduction.
REDUCED = {"letcher-cycles": LETCHER_REDUCED, "ipd-chaos": IPD_CHAOS_REDUCED}
#: The issue's counts of runs moved by the nudge, out of 1,000 (delta = eta).
ISSUE_MOVED = {1.0: 257, 2.0: 7}


def _finite(pick, values) -> float:
    """``pick`` (min or max) of the finite values, NaN if there are none."""
    ok = [float(v) for v in values if np.isfinite(v)]
    return pick(ok) if ok else float("nan")


@dataclass(frozen=True)
class LetcherResult:
    """Trajectories and detected cycles of every method (:func:`letcher_cycles_reproduction`).

    ``trajectories[label]`` has shape ``(steps + 1, runs, 2)``; ``cycles[label]`` is
    one :class:`~lola_sym.analysis.cycles.Cycle` per run.
    """

    trajectories: dict
    cycles: dict
    parameters: dict = field(default_factory=dict)

    def rows(self) -> list:
        """One dict per method: how many runs cycle, mean period and amplitude, radii."""
        out = []
        for label, cs in self.cycles.items():
            kinds = [c.kind for c in cs]
            rot = [c for c in cs if c.kind in ("limit cycle", "rotating")]
            out.append({
                "method": label, "runs": len(cs),
                "limit_cycles": kinds.count("limit cycle"),
                "kinds": {k: kinds.count(k) for k in dict.fromkeys(kinds)},
                "period": float(np.mean([c.period for c in rot])) if rot else float("nan"),
                "amplitude": float(np.mean([c.amplitude for c in rot])) if rot else float("nan"),
                "r_min": _finite(min, [c.radius_range[0] for c in cs]),
                "r_max": _finite(max, [c.radius_range[1] for c in cs]),
                "return_gap": _finite(max, [c.return_gap for c in cs]),
                "converged": sum(k == "fixed point" for k in kinds)})
        return out

    def format_table(self) -> str:
        """The cycle table (fixed-width text)."""
        p = self.parameters
        lines = [f"Letcher's impossibility game, {p['runs']} runs x {p['steps']} updates, "
                 f"alpha = {p['alpha']:g}, theta ~ N(0, {p['init_std']:g}^2), seed {p['seed']}; "
                 f"the last {p['tail']:.0%} judged about the origin"]
        head = (f"{'method':7} {'limit cycle':>11} {'period':>8} {'amplitude':>9} "
                f"{'min |th|':>9} {'max |th|':>9} {'rev. gap':>9}  verdicts")
        lines += [head, "-" * len(head)]
        for r in self.rows():
            lines.append(f"{r['method']:7} {r['limit_cycles']:>5} / {r['runs']:<3} "
                         f"{r['period']:8.1f} {r['amplitude']:9.4f} {r['r_min']:9.4f} "
                         f"{r['r_max']:9.4f} {r['return_gap']:9.1e}  "
                         + ", ".join(f"{k} x{n}" for k, n in r["kinds"].items()))
        lines.append("period = updates per revolution; amplitude = mean |theta| over whole "
                     "revolutions; rev. gap = change of the mean |theta| between the last two "
                     "revolutions (relative); paper: every method cycles, none converges.")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """Plain data: parameters and the rows."""
        return {"parameters": dict(self.parameters), "rows": self.rows()}

    def plot(self, path=None, start: int | None = None):
        """The 2x5 trajectory panel (:func:`~lola_sym.report.plots_chaos.letcher_panel`)."""
        from lola_sym.report.plots_chaos import letcher_panel
        s = start if start is not None else min(500, self.parameters["steps"] // 6)
        return letcher_panel(self.trajectories, start=s, path=path)


def letcher_cycles_reproduction(runs: int = LETCHER_DEFAULTS["runs"],
                                steps: int = LETCHER_DEFAULTS["steps"],
                                alpha: float = LETCHER_DEFAULTS["alpha"],
                                init_std: float = LETCHER_DEFAULTS["init_std"], seed=0,
                                tail: float = LETCHER_DEFAULTS["tail"], methods=None,
                                progress=None) -> LetcherResult:
    r"""Run Letcher's methods on the impossibility game and detect their cycles.

    Parameters
    ----------
    runs, steps : int
        Seeded runs per method (the same starts for every method) and updates.
    alpha : float
        The learning rate, also the look-ahead rate of LA, LOLA, SOS and CGD.
    init_std : float
        :math:`\theta_0 \sim N(0, \text{init\_std}^2)`.
    tail : float
        The fraction of the updates, at the end, judged by
        :func:`~lola_sym.analysis.cycles.detect_cycle`.
    methods : sequence of str, optional
        Labels of :data:`LETCHER_METHODS` (default all).
    progress : callable, optional
        ``progress(done, total)`` after each method.

    Examples
    --------
    >>> res = letcher_cycles_reproduction(methods=["NL", "LOLA"], **LETCHER_REDUCED)
    >>> [r["method"] for r in res.rows()], res.trajectories["NL"].shape
    (['NL', 'LOLA'], (401, 1, 2))
    """
    from lola_sym.analysis.cycles import detect_cycles
    from lola_sym.dynamics.training import initial_parameters, train
    from lola_sym.games import impossibility
    runs, steps = check_int(runs, "runs", 1), check_int(steps, "steps", 10)
    alpha = check_real(alpha, "alpha", positive=True)
    init_std = check_real(init_std, "init_std", nonnegative=True)
    labels = list(LETCHER_METHODS) if methods is None else list(methods)
    unknown = [m for m in labels if m not in LETCHER_METHODS]
    if unknown or not labels:
        raise ValueError(f"methods must be some of {list(LETCHER_METHODS)}, got {labels}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    game = impossibility()
    start = initial_parameters(game, runs, seed, init_std)
    trajectories, cycles = {}, {}
    for k, label in enumerate(labels, 1):
        rule, method, hyper = LETCHER_METHODS[label]
        hyper = {h: alpha if v == "alpha" else v for h, v in hyper.items()}
        tr = train(game, rule, thetas=start, steps=steps, delta=alpha, method=method,
                   on_divergence="mark", **hyper)
        x = np.concatenate(tr.thetas, axis=-1)
        trajectories[label] = x
        cycles[label] = detect_cycles(x, tail=tail, centre=[0.0, 0.0])
        if progress is not None:
            progress(k, len(labels))
    params = dict(runs=runs, steps=steps, alpha=alpha, init_std=init_std, tail=tail,
                  seed=seed if isinstance(seed, int) else None, game=game.name)
    return LetcherResult(trajectories, cycles, params)


@dataclass(frozen=True)
class IPDChaosResult:
    """The chaos map of LOLA on the IPD along δ = η (:func:`ipd_chaos_reproduction`)."""

    chaos_map: ChaosMap
    parameters: dict = field(default_factory=dict)

    def rows(self) -> list:
        """One dict per rate: chaotic and moved fractions, median exponent, the issue's number."""
        m = self.chaos_map
        moved = cast(np.ndarray, m.moved)           # the reproduction measures it
        n = self.parameters["runs"]
        return [{"delta": float(d), "median_ftle": float(m.median[i]),
                 "chaotic": float(m.fraction_chaotic[i]), "moved": float(moved[i]),
                 "moved_count": int(round(moved[i] * n)),
                 "issue_moved": ISSUE_MOVED.get(float(d))}
                for i, d in enumerate(m.deltas)]

    def format_table(self) -> str:
        """The chaos table beside the issue's counts (fixed-width text)."""
        p = self.parameters
        lines = [f"LOLA on the IPD, delta = eta: {p['runs']} runs x {p['steps']} updates, "
                 f"theta ~ N(0, {p['init_std']:g}^2), seed {p['seed']}; chaotic = largest FTLE "
                 f"> {self.chaos_map.settings['threshold']:g}; moved = final logits change > 1e-6 "
                 f"(max-norm) after a 1e-12 nudge of every initial logit"]
        head = (f"{'delta=eta':>9} {'median FTLE':>12} {'chaotic':>8} {'moved':>7} "
                f"{'count':>6}  issue (of 1,000)")
        lines += [head, "-" * len(head)]
        for r in self.rows():
            lines.append(f"{r['delta']:9.2f} {r['median_ftle']:12.4f} {r['chaotic']:8.3f} "
                         f"{r['moved']:7.3f} {r['moved_count']:6d}  "
                         + ("" if r["issue_moved"] is None else str(r["issue_moved"])))
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """Plain data: parameters and the rows."""
        return {"parameters": dict(self.parameters), "rows": self.rows()}

    def plot(self, path=None):
        """The chaos-map figure (:func:`~lola_sym.report.plots_chaos.chaos_map_figure`)."""
        from lola_sym.report.plots_chaos import chaos_map_figure
        return chaos_map_figure(self.chaos_map, issue={d: k / 1000 for d, k in
                                                       ISSUE_MOVED.items()}, path=path)


def ipd_chaos_reproduction(deltas=IPD_CHAOS_DEFAULTS["deltas"],
                           runs: int = IPD_CHAOS_DEFAULTS["runs"],
                           steps: int = IPD_CHAOS_DEFAULTS["steps"],
                           init_std: float = IPD_CHAOS_DEFAULTS["init_std"], seed=0,
                           progress=None) -> IPDChaosResult:
    r"""The IPD chaos map of issue 14: LOLA at δ = η, both chaos measures per rate.

    Examples
    --------
    >>> res = ipd_chaos_reproduction(**IPD_CHAOS_REDUCED)
    >>> [r["delta"] for r in res.rows()]
    [1.0, 2.0]
    """
    from lola_sym.analysis.chaos import chaos_map
    from lola_sym.games import ipd
    runs, steps = check_int(runs, "runs", 1), check_int(steps, "steps", 1)
    m = chaos_map(ipd(), "lola", deltas, runs=runs, steps=steps, seed=seed, init_std=init_std,
                  perturbation=True, progress=progress)
    params = dict(runs=runs, steps=steps, init_std=init_std,
                  seed=seed if isinstance(seed, int) else None, deltas=list(map(float, deltas)))
    return IPDChaosResult(m, params)
