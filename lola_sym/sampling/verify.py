r"""Verification against exact gradients: estimator bias and variance, and gradient checks.

Both work on every numeric repeated game (any number of players, actions and
memory; the 2x2 memory-1 games of the LOLA paper included).

* :func:`bias_variance` runs any estimator (a name of
  :data:`lola_sym.sampling.estimators.ESTIMATORS` or a function of the rollouts) on many
  seeded replicate batches for several batch sizes and horizons, and returns
  the mean, spread and error against the exact target as a
  :class:`BiasVariance` (arrays, :meth:`BiasVariance.as_dict`,
  :meth:`BiasVariance.plot`). The bias against the *infinite-horizon*
  gradient splits into the exact truncation bias
  (:func:`lola_sym.sampling.rollouts.truncation_bias`) and the Monte-Carlo bias against
  the truncated target, which is zero for the unbiased estimators.
* :func:`check_gradient` (:mod:`lola_sym.sampling.gradient_check`, re-exported
  here) compares a user-supplied gradient function (for example one's own
  autodiff code) with the exact update field at seeded random points and
  reports where it differs: which point, which agent, which state, with hints
  for the usual mistakes (CD/DC labels, missing sigmoid factor, sign, agents
  exchanged).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import SupportsFloat, cast

import numpy as np

from lola_sym._validation import as_numeric_array, check_positive_int, check_result_size
from lola_sym.dynamics.training import as_generator
from lola_sym.sampling.estimators import ESTIMATORS, estimate, estimator_bytes_per_step
from lola_sym.sampling.gradient_check import (MAX_POINTS, MAX_SCALE, GradientCheck,  # noqa: F401
                                              GradientCheckError, _ratio, check_gradient)
from lola_sym.sampling.markov import chain_shape, check_player, policy_probabilities
from lola_sym.sampling.rollouts import (MAX_EPISODE_STEPS, MAX_HORIZON, rollout,
                                        rollout_bytes_per_step)
from lola_sym.sampling.targets import _check_eta, _check_quantity, _opponents, exact_targets

__all__ = ["BiasVariance", "bias_variance", "GradientCheck", "GradientCheckError",
           "check_gradient"]

#: Episode-steps simulated at once (replicates are chunked to stay below).
CHUNK_STEPS = 2_000_000
#: Most episode-steps one :func:`bias_variance` call simulates over all replicates, batch
#: sizes and horizons: every estimator costs 0.2-0.6 us per episode-step (measured), so
#: this is about 5 minutes per estimator.
MAX_TOTAL_EPISODE_STEPS = 10 ** 9


@dataclass(frozen=True)
class BiasVariance:
    r"""Bias and variance of estimators against the exact target.

    Axes: ``e`` estimator, ``b`` batch size, ``h`` horizon, then the shape of
    the estimated quantity (``(d_i,)`` or ``(d_i, d_j)``; ``(5,)`` or ``(5, 5)``
    for 2x2 games).

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
        """Mean ``|mean - exact|`` over entries relative to mean ``|exact|``, (e, b, h).

        Where the exact target is zero: 0 for a zero numerator, else inf.
        """
        return _ratio(np.mean(np.abs(self.mean - self.exact), axis=self._axes),
                      np.mean(np.abs(self.exact)))

    @property
    def relative_std(self) -> np.ndarray:
        """Mean standard deviation over entries relative to mean ``|exact|``, (e, b, h)."""
        return _ratio(np.mean(self.std, axis=self._axes), np.mean(np.abs(self.exact)))

    def as_dict(self) -> dict:
        """Plain arrays and labels (JSON-able after ``.tolist()``)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out.update(bias=self.bias, stderr=self.stderr, truncation_bias=self.truncation_bias,
                   rmse=self.rmse, relative_bias=self.relative_bias,
                   relative_std=self.relative_std)
        return out

    def plot(self, z: float = 4.0):
        """A matplotlib Figure (Agg backend): RMS error vs batch size, ``|bias|`` vs horizon.

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


def _estimator(spec, quantity, agent, eta, independent, opponent):
    if callable(spec):
        return getattr(spec, "__name__", "custom"), spec
    if not isinstance(spec, str) or spec not in ESTIMATORS:
        raise ValueError(f"unknown estimator {spec!r}; choose one of {sorted(ESTIMATORS)} "
                         "or pass a function f(rollouts) -> array")
    if ESTIMATORS[spec][0] == "reinforce" and quantity not in ("grad", "cross"):
        raise ValueError(f"estimator {spec!r} is first-order; it cannot estimate {quantity!r}")
    return spec, lambda ro: estimate(ro, quantity, spec, agent, eta=eta, independent=independent,
                                     opponent=opponent).value


def bias_variance(game, *thetas, quantity: str = "grad", estimators=("reinforce",),
                  agent: int = 1, opponent: int | None = None, batch_sizes=(100, 1000),
                  horizons=(50,), replicates: int = 20, seed=0, termination: str = "fixed",
                  eta: float = 1.0, independent: bool = False) -> BiasVariance:
    """Bias and variance of estimators at one point, per batch size and horizon.

    Parameters
    ----------
    game : IteratedGame or RepeatedGame
        A numeric repeated game, any number of players.
    theta1, ..., theta_n : array_like, shapes (d_i,)
        The point: every player's logits.
    quantity : str
        One of :data:`lola_sym.sampling.targets.QUANTITIES`.
    estimators : str, callable or sequence of them
        Names in :data:`lola_sym.sampling.estimators.ESTIMATORS`, or functions
        ``f(rollouts) -> array`` returning one estimate per parameter point
        (shape ``rollouts.lead + shape``). All estimators see the same episodes.
    agent, opponent : int
        The player ``i`` of the quantity and, for ``"cross"`` and ``"hessian"``
        with more than two players, the player ``j``
        (:meth:`lola_sym.sampling.targets.Targets.quantity`).
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
    sh = chain_shape(game)
    ts = _one_point(game, thetas)
    _check_quantity(quantity)
    check_player(agent, sh.n)
    _opponents(quantity, agent, sh.n, opponent)
    eta = _check_eta(eta)
    if not isinstance(independent, (bool, np.bool_)):
        raise TypeError(f"independent must be a bool, got {type(independent).__name__}")
    if isinstance(estimators, str) or callable(estimators):
        estimators = [estimators]
    specs = [_estimator(s, quantity, agent, eta, independent, opponent)
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
    mean_len = 3.0 / (1.0 - float(cast(SupportsFloat, sh.game.gamma)))    # a number here
    _check_work(game, batch_sizes, [mean_len if T < 0 else T for T in horizons], replicates,
                len(specs))
    batch_sizes, horizons = np.array(batch_sizes), np.array(horizons)
    rng = as_generator(seed)

    def exact_quantity(T=None):
        return exact_targets(game, *ts, horizon=T).quantity(quantity, agent, eta, opponent)
    exact = exact_quantity()
    target = np.stack([exact if T < 0 else exact_quantity(int(T)) for T in horizons])
    shape = (len(specs), len(batch_sizes), len(horizons)) + exact.shape
    mean, std, mse = np.empty(shape), np.empty(shape), np.empty(shape[:3])
    for b, N in enumerate(batch_sizes):
        for h, T in enumerate(horizons):
            steps = N * (mean_len if T < 0 else T)
            chunk = int(max(1, min(replicates, CHUNK_STEPS // max(steps, 1))))
            values: list[list[np.ndarray]] = [[] for _ in specs]
            done = 0
            while done < replicates:
                n = min(chunk, replicates - done)
                ro = rollout(game, np.broadcast_to(ts[0], (n,) + ts[0].shape), *ts[1:], int(N),
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


def _one_point(game, thetas) -> tuple:
    """The players' logits at one point (1-d each), checked."""
    checked, _ = policy_probabilities(game, thetas)
    if any(t.ndim != 1 for t in checked):
        shapes = " and ".join(str(t.shape) for t in checked)
        need = " and ".join(f"({d},)" for d in chain_shape(game).dims)
        raise ValueError(f"bias_variance takes one point: the logits must have shapes {need}; "
                         f"got {shapes}")
    return checked


def _sequence(x, name):
    """``x`` as a list, with a clear error for a non-sequence (a bare number or a string)."""
    if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
        raise TypeError(f"{name} must be a sequence (e.g. a list), got {type(x).__name__} {x!r}")
    return list(x)


def _check_work(game, batch_sizes, lengths, replicates, n_estimators):
    """Refuse before simulating: one replicate too large for a rollout or the estimators'
    memory, or a total beyond :data:`MAX_TOTAL_EPISODE_STEPS`."""
    N, T = max(batch_sizes), max(lengths)
    one = N * T
    if T > MAX_HORIZON or one > MAX_EPISODE_STEPS:
        raise ValueError(f"one replicate of batch size {N:,} and horizon {T:,.0f} simulates "
                         f"{one:.3g} episode-steps (limits: {MAX_EPISODE_STEPS:.0e} episode-steps "
                         f"and {MAX_HORIZON:,} steps per rollout); use smaller batch_sizes or "
                         f"horizons")
    check_result_size(int(one * (estimator_bytes_per_step(game) + rollout_bytes_per_step(game))),
                      f"bias_variance at batch size {N:,} and horizon {T:,.0f}",
                      "use smaller batch_sizes or horizons")
    check_result_size(8 * replicates * max(chain_shape(game).dims) ** 2 * n_estimators,
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


