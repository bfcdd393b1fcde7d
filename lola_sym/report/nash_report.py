r"""Does a learning rule converge to the Nash equilibrium of matching pennies?

The LOLA paper's claim (Sec. 4, Fig. 4): in (iterated) matching pennies LOLA
converges to the Nash equilibrium, all probabilities 1/2 (:math:`\theta = 0`),
where naive learners cycle. :func:`matching_pennies_report` checks it for every
rule, one-shot and iterated, three ways: the Jacobian's eigenvalues at
:math:`\theta = 0` (flow classification and spectral radius of the discrete map
at the given rates), the supremum of convergent learning rates (exact, as a
function of :math:`\eta`, for the one-shot game and symbolic rules), and
training from random starts near the equilibrium.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4 and Fig. 4 (IMP).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, cast

import numpy as np
import sympy as sp

from lola_sym import games
from lola_sym._validation import check_int, check_positive_int, check_real
from lola_sym.report.reproduce import nash_distance
from lola_sym.rules import RULES, get_rule, rule_names
from lola_sym.analysis.stability import classify, exact_lr_threshold
from lola_sym.dynamics.training import as_generator, train

__all__ = ["matching_pennies_report", "NashRow", "NashReport", "REPORT_RULES", "NOT_REPORTED"]

#: Rules left out of the report by default, with the reason.
NOT_REPORTED = {
    "stackelberg": "undefined at matching pennies' equilibrium: the follower's Hessian "
                   "D22 V2 vanishes at theta = 0",
    **{r: "computed numerically on iterated games only (no one-shot form)"
       for r in rule_names("shaping_since_lola")}}
#: Rules in the report by default: every registered one that is defined at matching
#: pennies' equilibrium (not :data:`NOT_REPORTED`), in registration order (HOLA at order 2).
REPORT_RULES = tuple(r for r in rule_names() if r not in NOT_REPORTED)


@dataclass(frozen=True)
class NashRow:
    """One rule on one game at the Nash point."""

    game: str
    rule: str
    residual: float
    eigenvalues: tuple          # (real, imag) pairs
    flow: str
    spectral_radius: float
    map: str
    lr_threshold: float
    exact_threshold: str | None
    converged_percent: float
    final_distance: float
    diverged: int


@dataclass(frozen=True)
class NashReport:
    settings: dict
    rows: tuple

    def as_dict(self) -> dict:
        from dataclasses import asdict
        return {"settings": dict(self.settings), "rows": [asdict(r) for r in self.rows]}

    def format(self) -> str:
        s = self.settings
        out = [f"Matching pennies at the Nash point theta = 0: delta={s['delta']}, eta={s['eta']}; "
               f"training {s['runs']} runs x {s['steps']} steps from N(0, {s['init_std']}^2), "
               f"seed {s['seed']}; converged = max|p - 1/2| < {s['near']}",
               f"{'game':<18}{'rule':<12}{'flow':<16}{'rho(I+dJ)':>10} {'map':<10}"
               f"{'delta*':>9}  {'exact delta*(eta)':<24}{'conv%':>6}{'dist':>9}",]
        for r in self.rows:
            out.append(f"{r.game:<18}{r.rule:<12}{r.flow:<16}{r.spectral_radius:>10.4f} "
                       f"{r.map:<10}{r.lr_threshold:>9.4f}  {r.exact_threshold or '':<24}"
                       f"{r.converged_percent:>6.0f}{r.final_distance:>9.2e}")
        out.append("eigenvalues of J at theta = 0:")
        for r in self.rows:
            ev = _eigen_text(r.eigenvalues)
            out.append(f"  {r.game:<18}{r.rule:<12}{ev}")
        return "\n".join(out)


def _eigen_text(eigenvalues) -> str:
    """Eigenvalues as ``a±bi (xk)``, conjugate pairs and repeats merged (4 decimals)."""
    counts: dict = {}
    for a, b in eigenvalues:
        key = (round(a, 4) + 0.0, round(abs(b), 4) + 0.0)
        counts[key] = counts.get(key, 0) + 1
    parts = []
    for (a, b), n in counts.items():
        k = n // 2 if b else n
        txt = f"{a:+.4f}{'±' if b else ''}{b:.4f}i" if b else f"{a:+.4f}"
        parts.append(txt + (f" (x{k})" if k > 1 else ""))
    return ", ".join(parts)


def _names(x, what: str) -> tuple:
    """A non-empty sequence of names (a single string is refused, not split in letters)."""
    if isinstance(x, str) or not isinstance(x, (list, tuple)) or \
            not all(isinstance(v, str) for v in x):
        raise TypeError(f"{what} must be a list or tuple of names (str), got {x!r}")
    if not x:
        raise ValueError(f"{what} must name at least one entry")
    return tuple(x)


def matching_pennies_report(rules=REPORT_RULES, *, delta: float = 1.0, eta: float = 1.0,
                            runs: int = 20, steps: int = 200, init_std: float = 0.5,
                            near: float = 0.01, seed=0, include=("one-shot", "iterated")):
    r"""Stability of :math:`\theta = 0` in matching pennies under each rule, with a training check.

    Parameters
    ----------
    rules : sequence of str
    delta, eta : float
        Learning and lookahead rates, ``delta > 0``, ``eta >= 0`` (the LOLA
        paper uses 1 and 1 for IMP).
    runs, steps, init_std, seed
        The training check: ``runs`` self-play runs from :math:`N(0, \text{init\_std}^2)`.
    near : float
        A run has converged when :math:`\max|p - 1/2| <` ``near`` (finite, > 0).
    include : subset of {"one-shot", "iterated"}

    Raises
    ------
    ValueError, TypeError
        For any argument of the wrong type or range, before anything is trained;
        the message names the argument.

    Examples
    --------
    >>> rep = matching_pennies_report(["nl", "lola"], include=("one-shot",), runs=4, steps=100)
    >>> [(r.rule, r.flow, r.map, r.exact_threshold) for r in rep.rows]
    [('nl', 'centre', 'diverges', '0'), ('lola', 'stable', 'converges', '32*eta/(eta**2 + 16)')]
    """
    chosen: dict[str, Callable[[], games.DifferentiableGame | games.IteratedGame]] = {
        "one-shot": games.matching_pennies, "iterated": games.imp}
    rules, include = _names(rules, "rules"), _names(include, "include")
    for r in rules:
        get_rule(r)
    unknown = set(include) - set(chosen)
    if unknown:
        raise ValueError(f"include must be a subset of {sorted(chosen)}, got {sorted(unknown)}")
    delta = check_real(delta, "delta", positive=True)
    eta = check_real(eta, "eta", nonnegative=True)
    runs = check_positive_int(runs, "runs")
    steps = check_int(steps, "steps", 0)
    init_std = check_real(init_std, "init_std", nonnegative=True)
    near = check_real(near, "near", positive=True)
    as_generator(seed)          # type and sign checked here, before any training
    rows = []
    for kind in include:
        game = chosen[kind]()
        d1, d2 = game.dims
        z1, z2 = np.zeros(d1), np.zeros(d2)
        for name in rules:
            rule = RULES[name]
            hyper = rule.accepted({"eta": eta}, strict=False)
            st = classify(game, name, z1, z2, delta=delta, **hyper)
            exact = None
            if kind == "one-shot" and rule.combine is None:
                expr = exact_lr_threshold(game, name, [0], [0])
                exact = sp.sstr(expr)
            tr = train(game, name, runs=runs, steps=steps, delta=delta, seed=seed,
                       init_std=init_std, on_divergence="mark", **hyper)
            ok = ~tr.diverged
            dist = nash_distance(tr.theta1[-1][ok], tr.theta2[-1][ok])
            rows.append(NashRow(game.name, name, st.residual,
                                tuple((float(v.real), float(v.imag)) for v in st.eigenvalues),
                                st.flow, cast(float, st.spectral_radius),  # set: delta given
                                cast(str, st.map), st.lr_threshold, exact,
                                float(100 * np.mean(dist < near)) if dist.size else 0.0,
                                float(np.median(dist)) if dist.size else float("nan"),
                                int(tr.diverged.sum())))
    settings = {"delta": delta, "eta": eta, "runs": runs, "steps": steps, "init_std": init_std,
                "near": near, "seed": seed}
    return NashReport(settings, tuple(rows))
