r"""Verification against exact gradients: estimator bias and variance, and gradient checks.

* :func:`bias_variance` runs any estimator (a name of
  :data:`lola_sym.sampling.estimators.ESTIMATORS` or a function of the rollouts) on many
  seeded replicate batches for several batch sizes and horizons, and returns
  the mean, spread and error against the exact target as a
  :class:`BiasVariance` (arrays, :meth:`BiasVariance.as_dict`,
  :meth:`BiasVariance.plot`). The bias against the *infinite-horizon*
  gradient splits into the exact truncation bias
  (:func:`lola_sym.sampling.rollouts.truncation_bias`) and the Monte-Carlo bias against
  the truncated target, which is zero for the unbiased estimators.
* :func:`check_gradient` compares a user-supplied gradient function (for
  example one's own autodiff code) with the exact update field at seeded random
  points and reports where it differs: which point, which agent, which state,
  with hints for the usual mistakes (CD/DC labels, missing sigmoid factor,
  sign, agents exchanged).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from lola_sym._validation import (as_numeric_array, as_point, check_positive_int, check_real,
                                  check_result_size)
from lola_sym.sampling.estimators import ESTIMATOR_BYTES_PER_STEP, ESTIMATORS, estimate
from lola_sym.games.layout import STATES, SWAP, _check_agent
from lola_sym.sampling.rollouts import (MAX_EPISODE_STEPS, MAX_HORIZON, ROLLOUT_BYTES_PER_STEP,
                               _check_eta, _check_game, _check_quantity, exact_targets, rollout)
from lola_sym.dynamics.training import as_generator

__all__ = ["BiasVariance", "bias_variance", "GradientCheck", "GradientCheckError",
           "check_gradient"]

#: Episode-steps simulated at once (replicates are chunked to stay below).
CHUNK_STEPS = 2_000_000
#: Most episode-steps one :func:`bias_variance` call simulates over all replicates, batch
#: sizes and horizons: every estimator costs 0.2-0.6 us per episode-step (measured), so
#: this is about 5 minutes per estimator.
MAX_TOTAL_EPISODE_STEPS = 10 ** 9
#: Most points of :func:`check_gradient`: the user's function is called once per point
#: from Python (our part costs about 10 us a point, measured).
MAX_POINTS = 10 ** 6
#: Largest ``scale`` of :func:`check_gradient`: beyond logits of about 745 every sigmoid is
#: exactly 0 or 1 in double precision and every gradient vanishes, so a check would test nothing.
MAX_SCALE = 1000.0


@dataclass(frozen=True)
class BiasVariance:
    r"""Bias and variance of estimators against the exact target.

    Axes: ``e`` estimator, ``b`` batch size, ``h`` horizon, then the shape of
    the estimated quantity (``(5,)`` or ``(5, 5)``).

    Attributes
    ----------
    estimators : tuple of str
    batch_sizes, horizons : ndarray of int
        ``horizons`` is ``[-1]`` for geometric termination (no truncation).
    exact : ndarray
        The exact infinite-horizon target.
    target : ndarray, (h, ...)
        What the estimators are unbiased for: the truncated target (equal to
        ``exact`` for geometric termination).
    mean, std : ndarray, (e, b, h, ...)
        Mean and standard deviation of the estimates over the replicates.
    mse : ndarray, (e, b, h)
        Mean over replicates of the squared error against ``exact``, summed
        over entries.
    """

    game: str
    quantity: str
    agent: int
    termination: str
    replicates: int
    estimators: tuple
    batch_sizes: np.ndarray
    horizons: np.ndarray
    exact: np.ndarray
    target: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    mse: np.ndarray

    @property
    def _axes(self):
        return tuple(range(3, self.mean.ndim))

    @property
    def bias(self) -> np.ndarray:
        """Monte-Carlo bias against the truncated target, (e, b, h, ...)."""
        return self.mean - self.target

    @property
    def stderr(self) -> np.ndarray:
        """Standard error of :attr:`mean`, (e, b, h, ...)."""
        return self.std / np.sqrt(self.replicates)

    @property
    def truncation_bias(self) -> np.ndarray:
        """Exact ``exact - target`` per horizon, (h, ...)."""
        return self.exact - self.target

    @property
    def rmse(self) -> np.ndarray:
        """Root-mean-square error against the infinite-horizon target, (e, b, h)."""
        return np.sqrt(self.mse)

    @property
    def relative_bias(self) -> np.ndarray:
        """Mean |mean - exact| over entries relative to mean |exact|, (e, b, h).

        Where the exact target is zero: 0 for a zero numerator, else inf.
        """
        return _ratio(np.mean(np.abs(self.mean - self.exact), axis=self._axes),
                      np.mean(np.abs(self.exact)))

    @property
    def relative_std(self) -> np.ndarray:
        """Mean standard deviation over entries relative to mean |exact|, (e, b, h)."""
        return _ratio(np.mean(self.std, axis=self._axes), np.mean(np.abs(self.exact)))

    def as_dict(self) -> dict:
        """Plain arrays and labels (JSON-able after ``.tolist()``)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out.update(bias=self.bias, stderr=self.stderr, truncation_bias=self.truncation_bias,
                   rmse=self.rmse, relative_bias=self.relative_bias,
                   relative_std=self.relative_std)
        return out

    def plot(self, z: float = 4.0):
        """A matplotlib Figure (Agg backend): RMS error vs batch size, |bias| vs horizon.

        Left: RMS error against the exact target, log-log, one line per
        estimator and horizon, with a :math:`1/\\sqrt{N}` guide. Right: mean
        absolute bias against the infinite-horizon target at the largest batch,
        with ``z`` standard-error bars, and the exact truncation bias.
        """
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        fig = Figure(figsize=(10, 4), layout="constrained")
        FigureCanvasAgg(fig)
        ax, bx = fig.subplots(1, 2)
        N = self.batch_sizes
        for e, name in enumerate(self.estimators):
            for h, T in enumerate(self.horizons):
                label = name if len(self.horizons) == 1 else f"{name}, T={_fmt_T(T)}"
                ax.loglog(N, self.rmse[e, :, h], "o-", label=label)
        ref = self.rmse[:, 0, :].max() * np.sqrt(N[0] / N)
        ax.loglog(N, ref, "k--", lw=1, label=r"$\propto 1/\sqrt{N}$")
        ax.set_xlabel("batch size N (episodes)")
        ax.set_ylabel(f"RMS error of {self.quantity} estimate")
        ax.set_title(f"{self.game}: agent {self.agent}, {self.replicates} replicates")
        ax.legend(fontsize=7)
        x = np.arange(len(self.horizons))
        width = 0.8 / max(len(self.estimators), 1)
        tot = np.mean(np.abs(self.mean[:, -1] - self.exact), axis=tuple(range(2, self.mean.ndim - 1)))
        err = np.mean(self.stderr[:, -1], axis=tuple(range(2, self.mean.ndim - 1)))
        for e, name in enumerate(self.estimators):
            bx.bar(x + e * width, tot[e], width, label=name)
            bx.errorbar(x + e * width, tot[e], yerr=z * err[e], fmt="none", ecolor="k", capsize=2)
        trunc = np.mean(np.abs(self.truncation_bias), axis=tuple(range(1, self.target.ndim)))
        bx.plot(x + 0.4 - width / 2, trunc, "k*", ms=10, label="exact truncation bias")
        bx.set_xticks(x + 0.4 - width / 2, [_fmt_T(T) for T in self.horizons])
        bx.set_xlabel("horizon T")
        bx.set_ylabel(f"mean |bias| vs exact V (N={N[-1]}, bars: ±{z:g} s.e.)")
        bx.legend(fontsize=7)
        return fig


def _fmt_T(T):
    return "geometric" if T < 0 else str(int(T))


def _estimator(spec, quantity, agent, eta, independent):
    if callable(spec):
        return getattr(spec, "__name__", "custom"), spec
    if not isinstance(spec, str) or spec not in ESTIMATORS:
        raise ValueError(f"unknown estimator {spec!r}; choose one of {sorted(ESTIMATORS)} "
                         "or pass a function f(rollouts) -> array")
    if ESTIMATORS[spec][0] == "reinforce" and quantity not in ("grad", "cross"):
        raise ValueError(f"estimator {spec!r} is first-order; it cannot estimate {quantity!r}")
    return spec, lambda ro: estimate(ro, quantity, spec, agent, eta=eta,
                                     independent=independent).value


def bias_variance(game, theta1, theta2, *, quantity: str = "grad", estimators=("reinforce",),
                  agent: int = 1, batch_sizes=(100, 1000), horizons=(50,), replicates: int = 20,
                  seed=0, termination: str = "fixed", eta: float = 1.0,
                  independent: bool = False) -> BiasVariance:
    """Bias and variance of estimators at one point, per batch size and horizon.

    Parameters
    ----------
    game : IteratedGame
    theta1, theta2 : array_like, shape (5,)
    quantity : str
        One of :data:`lola_sym.sampling.rollouts.QUANTITIES`.
    estimators : str, callable or sequence of them
        Names in :data:`lola_sym.sampling.estimators.ESTIMATORS`, or functions
        ``f(rollouts) -> array`` returning one estimate per parameter pair
        (shape ``rollouts.lead + shape``). All estimators see the same episodes.
    batch_sizes, horizons : sequences of int
        ``horizons`` is ignored (and may be None) for geometric termination.
    replicates : int
        Independent batches per setting (>= 2).
    seed : int or numpy.random.Generator

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games
    >>> bv = bias_variance(games.ipd(), np.zeros(5), np.zeros(5), estimators=["reinforce", "dice"],
    ...                    batch_sizes=[20, 80], horizons=[5], replicates=4, seed=0)
    >>> bv.mean.shape, bv.rmse.shape
    ((2, 2, 1, 5), (2, 2, 1))
    >>> fig = bv.plot()
    >>> fig.axes[0].get_xlabel()
    'batch size N (episodes)'
    """
    _check_game(game)
    t1, t2 = as_point(theta1, theta2, "bias_variance")
    _check_quantity(quantity)
    _check_agent(agent)
    eta = _check_eta(eta)
    if not isinstance(independent, (bool, np.bool_)):
        raise TypeError(f"independent must be a bool, got {type(independent).__name__}")
    if isinstance(estimators, str) or callable(estimators):
        estimators = [estimators]
    specs = [_estimator(s, quantity, agent, eta, independent)
             for s in _sequence(estimators, "estimators")]
    if not specs:
        raise ValueError("estimators is empty: give at least one name or function")
    batch_sizes = [check_positive_int(b, "batch size")
                   for b in _sequence(batch_sizes, "batch_sizes")]
    if not batch_sizes:
        raise ValueError("batch_sizes is empty")
    replicates = check_positive_int(replicates, "replicates")
    if replicates < 2:
        raise ValueError("replicates must be >= 2 to estimate a variance")
    if not isinstance(termination, str):
        raise ValueError(f"unknown termination {termination!r}; choose 'fixed' or 'geometric'")
    if termination == "geometric":
        horizons = [-1]
    elif termination == "fixed":
        horizons = [] if horizons is None else _sequence(horizons, "horizons")
        if len(horizons) == 0:
            raise ValueError("termination='fixed' needs horizons (a non-empty list of ints >= 1)")
        horizons = [check_positive_int(T, "horizon") for T in horizons]
    else:
        raise ValueError(f"unknown termination {termination!r}; choose 'fixed' or 'geometric'")
    mean_len = 3.0 / (1.0 - float(game.gamma))
    _check_work(batch_sizes, [mean_len if T < 0 else T for T in horizons], replicates, len(specs))
    batch_sizes, horizons = np.array(batch_sizes), np.array(horizons)
    rng = as_generator(seed)
    exact_all = exact_targets(game, t1, t2)
    exact = exact_all.quantity(quantity, agent, eta)
    target = np.stack([exact if T < 0 else
                       exact_targets(game, t1, t2, int(T)).quantity(quantity, agent, eta)
                       for T in horizons])
    shape = (len(specs), len(batch_sizes), len(horizons)) + exact.shape
    mean, std, mse = np.empty(shape), np.empty(shape), np.empty(shape[:3])
    for b, N in enumerate(batch_sizes):
        for h, T in enumerate(horizons):
            steps = N * (mean_len if T < 0 else T)
            chunk = int(max(1, min(replicates, CHUNK_STEPS // max(steps, 1))))
            values = [[] for _ in specs]
            done = 0
            while done < replicates:
                n = min(chunk, replicates - done)
                ro = rollout(game, np.broadcast_to(t1, (n, 5)), t2, int(N),
                             None if T < 0 else int(T), seed=rng, termination=termination)
                for e, (_, fn) in enumerate(specs):
                    values[e].append(_check_output(fn(ro), (n,) + exact.shape, specs[e][0]))
                done += n
            for e in range(len(specs)):
                v = np.concatenate(values[e])
                mean[e, b, h], std[e, b, h], mse[e, b, h] = _moments(v, exact, specs[e][0])
    return BiasVariance(game.name, quantity, agent, termination, replicates,
                        tuple(name for name, _ in specs), batch_sizes, horizons, exact, target,
                        mean, std, mse)


def _sequence(x, name):
    """``x`` as a list, with a clear error for a non-sequence (a bare number or a string)."""
    if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
        raise TypeError(f"{name} must be a sequence (e.g. a list), got {type(x).__name__} {x!r}")
    return list(x)


def _check_work(batch_sizes, lengths, replicates, n_estimators):
    """Refuse before simulating: one replicate too large for a rollout or the estimators'
    memory, or a total beyond :data:`MAX_TOTAL_EPISODE_STEPS`."""
    N, T = max(batch_sizes), max(lengths)
    one = N * T
    if T > MAX_HORIZON or one > MAX_EPISODE_STEPS:
        raise ValueError(f"one replicate of batch size {N:,} and horizon {T:,.0f} simulates "
                         f"{one:.3g} episode-steps (limits: {MAX_EPISODE_STEPS:.0e} episode-steps "
                         f"and {MAX_HORIZON:,} steps per rollout); use smaller batch_sizes or "
                         f"horizons")
    check_result_size(int(one * (ESTIMATOR_BYTES_PER_STEP + ROLLOUT_BYTES_PER_STEP)),
                      f"bias_variance at batch size {N:,} and horizon {T:,.0f}",
                      "use smaller batch_sizes or horizons")
    check_result_size(8 * replicates * 25 * n_estimators,
                      f"bias_variance(replicates={replicates:,})", "use fewer replicates")
    total = replicates * float(sum(batch_sizes)) * sum(lengths)
    if total > MAX_TOTAL_EPISODE_STEPS:
        raise ValueError(f"bias_variance would simulate {total:.3g} episode-steps ({replicates:,} "
                         f"replicates x all batch sizes x all horizons; limit "
                         f"{MAX_TOTAL_EPISODE_STEPS:.0e}, about 5 minutes per estimator); use "
                         f"fewer replicates or smaller batch_sizes or horizons, or split the "
                         f"study over several calls")


def _check_output(value, shape, name):
    value = as_numeric_array(value, f"estimator {name!r} output", "iuf").astype(float)
    if value.shape != shape:
        raise ValueError(f"estimator {name!r} returned shape {value.shape}; expected {shape} "
                         "(one estimate per replicate)")
    if not np.all(np.isfinite(value)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
        raise ValueError(f"estimator {name!r} returned a non-finite estimate (at index {bad})")
    return value


def _moments(v, exact, name):
    """Mean and standard deviation over replicates and the mean squared error against exact."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = v.mean(axis=0), v.std(axis=0, ddof=1)
        mse = np.mean(np.sum((v - exact).reshape(len(v), -1) ** 2, axis=1))
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
            scale = np.max(np.abs(v), axis=0)           # moments of values scaled into [-1, 1]
            scale = np.where(scale > 0, scale, 1.0)
            x = v / scale
            mean, std = x.mean(axis=0) * scale, x.std(axis=0, ddof=1) * scale
    if not (np.isfinite(mse) and np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        raise ValueError(f"the squared errors of estimator {name!r} exceed double precision "
                         f"(estimates up to {np.max(np.abs(v)):.3g}); rescale the payoffs")
    return mean, std, mse


# ------------------------------------------------------------------ gradient checks
class GradientCheckError(AssertionError):
    """A user gradient differs from the exact one; the message is the full report."""


@dataclass(frozen=True)
class GradientCheck:
    r"""The result of :func:`check_gradient`.

    Attributes
    ----------
    theta1, theta2 : ndarray, (points, 5)
        The seeded test points.
    expected, got : ndarray, (points, 2, 5)
        Exact and user directions of both agents (``got`` is NaN for an agent
        the user function does not return).
    agents : tuple of int
        The agents compared.
    """

    game: str
    rule: str
    theta1: np.ndarray
    theta2: np.ndarray
    expected: np.ndarray
    got: np.ndarray
    agents: tuple
    rtol: float
    atol: float
    hints: tuple = field(default=())

    @property
    def abs_error(self) -> np.ndarray:
        """|got - expected| (inf where the user value is not finite), (points, 2, 5)."""
        with np.errstate(over="ignore", invalid="ignore"):     # beyond double range: inf
            err = np.abs(self.got - self.expected)
        return np.where(np.isfinite(self.got), err, np.inf)

    @property
    def rel_error(self) -> np.ndarray:
        """abs_error / (|expected| + atol) (0 where both are 0, inf beyond double range)."""
        return _ratio(self.abs_error, np.abs(self.expected) + self.atol)

    @property
    def _allowed(self) -> np.ndarray:
        with np.errstate(over="ignore"):
            return self.atol + self.rtol * np.abs(self.expected)

    @property
    def failing(self) -> np.ndarray:
        """Boolean (points, 2, 5): entries outside ``atol + rtol * |expected|``."""
        bad = self.abs_error > self._allowed
        bad[:, [a - 1 for a in (1, 2) if a not in self.agents]] = False
        return bad

    @property
    def passed(self) -> bool:
        return not bool(self.failing.any())

    def _checked(self, arr):
        return arr[:, [a - 1 for a in self.agents]]

    @property
    def max_abs_error(self) -> float:
        return float(self._checked(self.abs_error).max())

    @property
    def max_rel_error(self) -> float:
        return float(self._checked(self.rel_error).max())

    @property
    def worst(self) -> tuple:
        """(point, agent, state name) of the largest error relative to the tolerance."""
        score = _ratio(self.abs_error, self._allowed)
        score[:, [a - 1 for a in (1, 2) if a not in self.agents]] = -1
        k, i, s = np.unravel_index(int(np.argmax(score)), score.shape)
        return int(k), int(i) + 1, STATES[s]

    def states_differing(self) -> dict:
        """Agent -> {state name: number of points where it differs}."""
        bad = self.failing
        return {a: {STATES[s]: int(bad[:, a - 1, s].sum()) for s in range(5)
                    if bad[:, a - 1, s].any()} for a in self.agents if bad[:, a - 1].any()}

    def raise_for_failure(self) -> None:
        """Raise :class:`GradientCheckError` with the report when the check failed."""
        if not self.passed:
            raise GradientCheckError(str(self))

    def __str__(self) -> str:
        n = len(self.theta1)
        bad_points = int(self.failing.any(axis=(1, 2)).sum())
        who = " and ".join(f"agent {a}" for a in self.agents)
        head = (f"check_gradient on {self.game} (rule {self.rule!r}, {who}): "
                f"{'passed' if self.passed else 'FAILED'} at {n} points, "
                f"{bad_points} differing")
        lines = [head, f"  max abs error {self.max_abs_error:.3e}, max rel error "
                       f"{self.max_rel_error:.3e} (rtol={self.rtol:g}, atol={self.atol:g})"]
        if not self.passed:
            k, a, s = self.worst
            j = STATES.index(s)
            lines.append(f"  worst: point {k}, agent {a}, state {s}: got "
                         f"{self.got[k, a - 1, j]:.6g}, exact {self.expected[k, a - 1, j]:.6g}")
            lines.append(f"    theta1 = {np.array2string(self.theta1[k], precision=4)}")
            lines.append(f"    theta2 = {np.array2string(self.theta2[k], precision=4)}")
            for agent, states in self.states_differing().items():
                desc = ", ".join(f"{st} ({c}/{n} points)" for st, c in states.items())
                lines.append(f"  agent {agent} differs in: {desc}")
            lines += [f"  hint: {h}" for h in self.hints]
        return "\n".join(lines)


def _ratio(num, den):
    """``num / den`` elementwise: 0 where both are 0, inf where the ratio leaves double range."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(num == 0, 0.0, np.where(np.isnan(out), np.inf, out))


def _as_pair(out, name):
    """User output -> ((5,) or None, (5,) or None), real numbers only."""
    if isinstance(out, (tuple, list)) and len(out) == 2:
        parts = [as_numeric_array(o, f"{name}'s g{i + 1}", "iuf").astype(float)
                 for i, o in enumerate(out)]
    else:
        arr = as_numeric_array(out, f"{name}'s output", "iuf").astype(float)
        if arr.shape == (5,):
            return arr, None
        if arr.shape != (2, 5):
            raise ValueError(f"{name} returned shape {arr.shape}; expected (5,) for agent 1's "
                             "gradient, or (g1, g2) / shape (2, 5) for both agents")
        parts = [arr[0], arr[1]]
    for i, p in enumerate(parts):
        if p.shape != (5,):
            raise ValueError(f"{name} returned g{i + 1} of shape {p.shape}; expected (5,)")
    return parts[0], parts[1]


def _close(a, b, rtol, atol):
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


@np.errstate(over="ignore", invalid="ignore")          # non-finite user values never match
def _hints(got, expected, theta1, theta2, agents, rtol, atol):
    out = []
    for a in agents:
        g, e = got[:, a - 1], expected[:, a - 1]
        p = expit(theta1 if a == 1 else theta2)
        if _close(g[:, list(SWAP)], e, rtol, atol):
            out.append(f"agent {a}'s CD and DC entries are exchanged: states must be read from "
                       "the agent's own perspective (own action first; lola_sym.games.layout.SWAP)")
        if _close(g * p * (1 - p), e, rtol, atol):
            out.append(f"agent {a}'s gradient is taken with respect to probabilities, not logits: "
                       "multiply by p (1 - p), the derivative of the sigmoid")
        if _close(-g, e, rtol, atol):
            out.append(f"agent {a}'s gradient has the wrong sign: values are rewards, maximised")
    if agents == (1, 2) and _close(got[:, ::-1], expected, rtol, atol):
        out.append("g1 and g2 are exchanged: return (grad_1 V1, grad_2 V2)")
    return tuple(out)


def check_gradient(fn, game, *, rule: str = "nl", points: int = 8, seed=0, scale: float = 2.0,
                   rtol: float = 1e-6, atol: float = 1e-8, raise_on_fail: bool = False,
                   **hyper) -> GradientCheck:
    r"""Compare ``fn(theta1, theta2)`` with the exact update field at seeded random points.

    Parameters
    ----------
    fn : callable
        ``fn(theta1, theta2)`` with 1-d float arrays of shape (5,) returning
        agent 1's direction (shape (5,)) or both ``(g1, g2)``, real numbers (a
        complex, boolean or non-numeric result is a ``TypeError``; non-finite
        entries fail the check). For ``rule="nl"`` these are
        :math:`\nabla_1 V_1` and :math:`\nabla_2 V_2`.
    game : IteratedGame
    rule : str
        The exact rule to compare with (``"nl"``, ``"lola"``, ...); ``**hyper``
        are its hyper-parameters (e.g. ``eta``).
    points, seed, scale
        Number of points (at most :data:`MAX_POINTS`), their seed, logits uniform in
        ``[-scale, scale]`` (``0 < scale <=`` :data:`MAX_SCALE`).
    rtol, atol : float
        An entry passes when ``|got - exact| <= atol + rtol |exact|``.
    raise_on_fail : bool
        Raise :class:`GradientCheckError` (an ``AssertionError``) with the report
        (``True`` or ``False``; anything else is a ``TypeError``).

    Examples
    --------
    >>> from lola_sym import games, update_field
    >>> nl = update_field(games.ipd(), "nl")
    >>> print(check_gradient(lambda a, b: nl(a, b), games.ipd(), points=3))
    check_gradient on IPD (rule 'nl', agent 1 and agent 2): passed at 3 points, 0 differing
      max abs error 0.000e+00, max rel error 0.000e+00 (rtol=1e-06, atol=1e-08)
    >>> wrong = lambda a, b: nl(a, b)[0][[0, 1, 3, 2, 4]]      # CD and DC mislabelled
    >>> report = check_gradient(wrong, games.ipd(), points=3)
    >>> report.passed, report.states_differing()
    (False, {1: {'CD': 3, 'DC': 3}})
    >>> report.hints[0][:50]
    "agent 1's CD and DC entries are exchanged: states "
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable f(theta1, theta2), got {type(fn).__name__}")
    _check_game(game)
    from lola_sym.field import update_field
    field_ = update_field(game, rule, **hyper)
    points = check_positive_int(points, "points")
    if points > MAX_POINTS:
        raise ValueError(f"points={points:,} exceeds {MAX_POINTS:,}: fn is called once per point "
                         f"from Python; use fewer points, or several seeds")
    scale = check_real(scale, "scale", positive=True)
    if scale > MAX_SCALE:
        raise ValueError(f"scale must be at most {MAX_SCALE:g}, got {scale:g}: beyond logits of "
                         f"about 745 every sigmoid is exactly 0 or 1 and every gradient vanishes, "
                         f"so the check would test nothing")
    rtol = check_real(rtol, "rtol", nonnegative=True)
    atol = check_real(atol, "atol", nonnegative=True)
    if not isinstance(raise_on_fail, (bool, np.bool_)):
        raise TypeError(f"raise_on_fail must be True or False, got {type(raise_on_fail).__name__} "
                        f"{raise_on_fail!r}")
    rng = as_generator(seed)
    t1 = rng.uniform(-scale, scale, (points, 5))
    t2 = rng.uniform(-scale, scale, (points, 5))
    expected = np.stack(field_(t1, t2), axis=1)
    got = np.full_like(expected, np.nan)
    agents = None
    for k in range(points):
        g1, g2 = _as_pair(fn(t1[k].copy(), t2[k].copy()), getattr(fn, "__name__", "fn"))
        these = (1,) if g2 is None else (1, 2)
        if agents is not None and these != agents:
            raise ValueError("fn returned one gradient at some points and two at others")
        agents = these
        got[k, 0] = g1
        if g2 is not None:
            got[k, 1] = g2
    report = GradientCheck(game.name, field_.rule.name, t1, t2, expected, got, agents, rtol, atol)
    if not report.passed:
        hints = _hints(got, expected, t1, t2, agents, max(rtol, 1e-9), atol)
        report = GradientCheck(game.name, field_.rule.name, t1, t2, expected, got, agents, rtol,
                               atol, hints)
    if raise_on_fail:
        report.raise_for_failure()
    return report
