r"""Chaos in learning: (δ, η) maps of the largest Lyapunov exponent, and the nudge experiment.

Two independent measures of sensitive dependence on the initial parameters,
for ``runs`` seeded starts :math:`\theta_0 \sim N(0, \text{init\_std}^2)`
(drawn as :func:`lola_sym.train` draws them):

* the **largest finite-time Lyapunov exponent** :math:`\lambda_1` of the
  learning map :math:`\theta \mapsto \theta + \delta g(\theta)` over ``steps``
  updates (:mod:`lola_sym.analysis.lyapunov`, exact Jacobians); a run counts
  as *chaotic* when :math:`\lambda_1 >` ``threshold`` (default
  :data:`CHAOS_THRESHOLD`, a finite-time margin above the :math:`\pm 0.01`
  spread of converging runs over 200 steps);
* the **perturbation experiment**: every initial parameter of every agent is
  moved by ``nudge`` (default :math:`10^{-12}`), both copies are trained for
  ``steps`` updates, and a run has *moved* when its outcome differs by more
  than ``moved`` (default :math:`10^{-6}`). The outcome (``outcome=``) is the
  final parameters (``"theta"``, max-norm over all agents' logits, the
  default), the final policy probabilities :math:`\sigma(\theta)`
  (``"policy"``), or the final average rewards :math:`(1 - \gamma) V_i`
  (``"reward"``). A growth from :math:`10^{-12}` to :math:`10^{-6}` in
  :math:`T` steps needs an average exponent of at least
  :math:`\ln(10^6)/T` (0.069 at :math:`T = 200`), so the two measures agree
  on strongly chaotic runs and the nudge experiment is the stricter one.

:func:`chaos_map` evaluates both on a grid of (δ, η) or along the line
δ = η.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326. (LOLA on the IPD, the rates δ and η.)
.. [2] Ott, E. (2002). *Chaos in Dynamical Systems*, 2nd ed., Cambridge, Sec. 4.4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lola_sym._validation import as_numeric_array, check_game, check_int, check_real
from lola_sym.analysis.lyapunov import LearningMap, lyapunov_exponents

__all__ = ["Perturbation", "perturbation_experiment", "ChaosMap", "chaos_map",
           "CHAOS_THRESHOLD", "OUTCOMES", "wilson_interval"]

#: A run is chaotic when its largest finite-time exponent exceeds this (per step).
CHAOS_THRESHOLD = 0.01
#: The outcomes the perturbation experiment can compare.
OUTCOMES = ("theta", "policy", "reward")


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple:
    r"""The Wilson score interval of a binomial proportion :math:`k/n` (95 % by default).

    Examples
    --------
    >>> lo, hi = wilson_interval(257, 1000)
    >>> round(lo, 4), round(hi, 4)
    (0.2309, 0.285)
    """
    k, n = check_int(k, "k", 0), check_int(n, "n", 1)
    if k > n:
        raise ValueError(f"k must be at most n, got k={k} > n={n}")
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return float(mid - half), float(mid + half)


@dataclass(frozen=True)
class Perturbation:
    """The result of :func:`perturbation_experiment`.

    Attributes
    ----------
    distance : ndarray, shape (runs,)
        The outcome difference of each run (max-norm), NaN where a copy diverged.
    moved : ndarray of bool, shape (runs,)
        ``distance > threshold``.
    diverged : ndarray of bool, shape (runs,)
        Runs where either copy diverged (left out of the count).
    settings : dict
        Everything that defines the experiment.
    """

    distance: np.ndarray
    moved: np.ndarray
    diverged: np.ndarray
    settings: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Number of runs that moved."""
        return int(self.moved.sum())

    @property
    def fraction(self) -> float:
        """Fraction of the runs that did not diverge that moved."""
        ok = int((~self.diverged).sum())
        return float(self.count / ok) if ok else float("nan")

    def interval(self) -> tuple:
        """The 95 % Wilson interval of :attr:`fraction`."""
        return wilson_interval(self.count, max(1, int((~self.diverged).sum())))


def _outcome(tr, outcome):
    if outcome == "reward":
        return tr.final_reward
    final = np.concatenate([t[-1] for t in tr.thetas], axis=-1)
    return final if outcome == "theta" else 1.0 / (1.0 + np.exp(-final))


def perturbation_experiment(game, rule, *, delta=1.0, runs: int = 1000, steps: int = 200,
                            nudge: float = 1e-12, threshold: float = 1e-6,
                            outcome: str = "theta", seed=0, init_std: float = 1.0,
                            parameters=None, **hyper) -> Perturbation:
    r"""How many runs a tiny nudge of the start moves by more than ``threshold``.

    Both agents learn with ``rule`` by :func:`lola_sym.train` from the seeded
    starts, once as drawn and once with ``nudge`` added to every initial
    parameter of every agent; after ``steps`` updates the ``outcome`` (see the
    module docstring) of the two copies is compared in the max-norm.

    Examples
    --------
    >>> from lola_sym import games
    >>> res = perturbation_experiment(games.matching_pennies(), "lola", runs=20, steps=50,
    ...                               eta=1.0)
    >>> res.count, res.settings["outcome"]      # LOLA converges: no run moves
    (0, 'theta')
    """
    from lola_sym.dynamics.training import initial_parameters, train
    check_game(game)
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {list(OUTCOMES)}, got {outcome!r}")
    nudge = check_real(nudge, "nudge", positive=True)
    threshold = check_real(threshold, "threshold", positive=True)
    runs, steps = check_int(runs, "runs", 1), check_int(steps, "steps", 1)
    ts = initial_parameters(game, runs, seed, init_std)
    common = dict(steps=steps, delta=delta, on_divergence="mark", parameters=parameters,
                  **hyper)
    a = train(game, rule, thetas=ts, **common)
    b = train(game, rule, thetas=[t + nudge for t in ts], **common)
    diverged = a.diverged | b.diverged
    dist = np.max(np.abs(_outcome(a, outcome) - _outcome(b, outcome)), axis=-1)
    dist = np.where(diverged, np.nan, dist)
    settings = dict(game=game.name, rule=a.rules[0], hyper=dict(a.hyper[0]), delta=delta,
                    runs=runs, steps=steps, nudge=nudge, threshold=threshold,
                    outcome=outcome, seed=seed if isinstance(seed, int) else None,
                    init_std=init_std)
    return Perturbation(dist, ~diverged & (dist > threshold), diverged, settings)


@dataclass(frozen=True)
class ChaosMap:
    r"""The result of :func:`chaos_map`.

    Attributes
    ----------
    deltas, etas : ndarray
        The grid; along the line δ = η both are the same 1-d array.
    largest : ndarray, shape (cells, runs) or (n_delta, n_eta, runs)
        The largest finite-time exponent of every run.
    moved : ndarray or None
        The fraction of runs moved by the nudge (same grid shape), if computed.
    diagonal : bool
        True for the line δ = η (one cell per δ).
    settings : dict
    """

    deltas: np.ndarray
    etas: np.ndarray
    largest: np.ndarray
    moved: np.ndarray | None
    diagonal: bool
    settings: dict = field(default_factory=dict)

    @property
    def fraction_chaotic(self) -> np.ndarray:
        """Fraction of the non-diverged runs with :math:`\\lambda_1 >` threshold, per cell."""
        lam = self.largest
        ok = np.isfinite(lam)
        with np.errstate(invalid="ignore"):
            return (np.where(ok, lam, -np.inf) > self.settings["threshold"]).sum(-1) / \
                np.maximum(ok.sum(-1), 1)

    @property
    def median(self) -> np.ndarray:
        """The median largest exponent per cell."""
        return np.nanmedian(self.largest, axis=-1)

    def format_table(self) -> str:
        """A fixed-width table (one row per cell)."""
        s = self.settings
        lines = [f"{s['rule']} on {s['game']}: {s['runs']} runs x {s['steps']} steps, "
                 f"seed {s['seed']}, chaotic = FTLE > {s['threshold']:g}"
                 + (f"; moved = outcome '{s['outcome']}' changes > {s['moved_threshold']:g} "
                    f"under a {s['nudge']:g} nudge" if self.moved is not None else "")]
        head = (f"{'delta':>7} {'eta':>7} {'median FTLE':>12} {'chaotic':>8}"
                + (f" {'moved':>7}" if self.moved is not None else ""))
        lines += [head, "-" * len(head)]
        frac, med = self.fraction_chaotic, self.median
        cells: list[tuple[int, ...]]
        cells = ([(i,) for i in range(len(self.deltas))] if self.diagonal else
                 [(i, j) for i in range(len(self.deltas)) for j in range(len(self.etas))])
        for c in cells:
            d = self.deltas[c[0]]
            e = d if self.diagonal else self.etas[c[1]]
            row = f"{d:7.3f} {e:7.3f} {med[c]:12.4f} {frac[c]:8.3f}"
            if self.moved is not None:
                row += f" {self.moved[c]:7.3f}"
            lines.append(row)
        return "\n".join(lines)


def chaos_map(game, rule, deltas, etas=None, *, runs: int = 100, steps: int = 200, seed=0,
              init_std: float = 1.0, threshold: float = CHAOS_THRESHOLD, transient: int = 0,
              perturbation: bool = False, nudge: float = 1e-12, moved: float = 1e-6,
              outcome: str = "theta", hyper_name: str = "eta", progress=None,
              parameters=None, **hyper) -> ChaosMap:
    r"""The largest finite-time Lyapunov exponent of ``rule`` on a grid of (δ, η).

    Parameters
    ----------
    game, rule
        As in :func:`lola_sym.update_field`.
    deltas : array_like
        Learning rates (> 0).
    etas : array_like, optional
        Values of the rule's hyper-parameter ``hyper_name`` (default ``"eta"``);
        without them the map follows the line δ = η.
    runs, steps, seed, init_std
        The seeded starts (the same in every cell) and the horizon.
    threshold : float
        The exponent above which a run counts as chaotic.
    transient : int
        Steps before the exponents are accumulated.
    perturbation : bool
        Also run :func:`perturbation_experiment` in every cell (``nudge``,
        ``moved``, ``outcome``).
    progress : callable, optional
        ``progress(done, total)`` after each cell.

    Examples
    --------
    >>> from lola_sym import games
    >>> m = chaos_map(games.matching_pennies(), "lola", [0.5, 1.0], runs=4, steps=100)
    >>> m.largest.shape, bool(np.all(m.fraction_chaotic == 0))
    ((2, 4), True)
    """
    check_game(game)
    ds = as_numeric_array(deltas, "deltas", "iuf").astype(float).ravel()
    if ds.size == 0 or not np.all(np.isfinite(ds) & (ds > 0)):
        raise ValueError("deltas must be a non-empty array of finite rates > 0")
    diagonal = etas is None
    es = ds if diagonal else as_numeric_array(etas, "etas", "iuf").astype(float).ravel()
    if es.size == 0 or not np.all(np.isfinite(es) & (es > 0)):
        raise ValueError("etas must be a non-empty array of finite values > 0")
    if hyper_name in hyper:
        raise ValueError(f"{hyper_name} is set by the map (etas); do not pass it as well")
    threshold = check_real(threshold, "threshold")
    runs, steps = check_int(runs, "runs", 1), check_int(steps, "steps", 1)
    from lola_sym.dynamics.training import initial_parameters
    ts = initial_parameters(game, runs, seed, init_std)
    cells = [(i,) for i in range(ds.size)] if diagonal else \
        [(i, j) for i in range(ds.size) for j in range(es.size)]
    shape = (ds.size,) if diagonal else (ds.size, es.size)
    largest = np.full(shape + (runs,), np.nan)
    frac_moved = np.full(shape, np.nan) if perturbation else None
    for n_done, c in enumerate(cells, 1):
        d = ds[c[0]]
        e = d if diagonal else es[c[1]]
        F = LearningMap(game, rule, d, parameters=parameters, **{hyper_name: e}, **hyper)
        res = lyapunov_exponents(F, None, F.join(ts), steps, k=1, transient=transient,
                                 max_abs=1e4)
        largest[c] = res.largest
        if frac_moved is not None:
            p = perturbation_experiment(game, rule, delta=d, runs=runs, steps=steps, nudge=nudge,
                                        threshold=moved, outcome=outcome, seed=seed,
                                        init_std=init_std, parameters=parameters,
                                        **{hyper_name: e}, **hyper)
            frac_moved[c] = p.fraction
        if progress is not None:
            progress(n_done, len(cells))
    settings = dict(game=game.name, rule=rule, runs=runs, steps=steps,
                    seed=seed if isinstance(seed, int) else None, init_std=init_std,
                    threshold=threshold, transient=transient, hyper_name=hyper_name,
                    hyper=dict(hyper), nudge=nudge, moved_threshold=moved, outcome=outcome)
    return ChaosMap(ds, es, largest, frac_moved, diagonal, settings)
