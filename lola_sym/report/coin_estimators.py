r"""Policy-gradient estimators on the coin game, against its exact gradients.

Every public implementation of LOLA on the coin game (Sec. 5.2 of [1]_)
*samples* its gradients; this study measures how far those samples are from
the exact ones. At one seeded random policy point :math:`\theta_i \sim N(0,
\sigma^2)` of the tabular coin game (:func:`lola_sym.games.coin_game`, 3,456
logits per agent on the 3x3 board), for every episode length ``T`` and batch
size ``B``, independent batches of ``B`` episodes
(:func:`~lola_sym.sampling.markov_rollouts.markov_rollout`) give estimates
:math:`\hat g_1, \dots, \hat g_R` of agent 1's

* naive gradient :math:`\nabla_1 V_1` by REINFORCE, REINFORCE with the
  leave-one-out ``"time"`` baseline, and DiCE with the any-order baseline;
* LOLA correction :math:`\chi_1 = (\nabla_1 \nabla_2 V_2) \nabla_2 V_1` by
  LOLA-PG (the paper's Sec. 4.3 Hessian), DiCE and DiCE with the baseline;
* LOLA direction :math:`\nabla_1 V_1 + \eta \chi_1` by LOLA-PG and DiCE with
  the baseline,

(:mod:`lola_sym.sampling.markov_estimators`; products of two estimates take
their factors from disjoint halves of the batch, so all are unbiased), and the
exact targets :math:`g` come from the adjoint path (:mod:`lola_sym.adjoint`)
for the finite-horizon value :math:`V^{(T)}` the estimates are unbiased for,
and for the discounted infinite-horizon value (the second column: the
truncation bias). With :math:`e_r = \hat g_r - g` the study reports, relative
to :math:`\lVert g \rVert`:

* the bias :math:`\lVert \mathbb{E} e \rVert`, estimated without the noise of the
  mean, :math:`\sqrt{\max(0, \lVert \bar e \rVert^2 - \operatorname{tr}
  \hat\Sigma / R)}` (:math:`\lVert \bar e \rVert^2` overestimates it by
  :math:`\operatorname{tr} \Sigma / R` on average), with a 95 % basic
  bootstrap interval over the ``R`` batches (for the square, then its root),
  beside the *noise floor*
  :math:`\sqrt{\operatorname{tr} \hat\Sigma / R}`, the size of the mean error
  :math:`\lVert \bar e \rVert` of an unbiased estimator;
* the root mean squared error of one batch, :math:`\sqrt{\overline{\lVert e_r
  \rVert^2}}`, and the relative standard deviation :math:`\sqrt{\operatorname{tr}
  \hat\Sigma}`;
* the slope of :math:`\log` RMSE against :math:`\log B`: :math:`-1/2` for a
  mean of independent samples; for a product of two independent estimates,
  :math:`\widehat{H} \hat u`, whose error :math:`(\widehat{H} - H)(\hat u - u)`
  dominates while both errors exceed the truths, :math:`-1` (measured: -0.92
  to -0.97 on the 3x3 board up to 4,096 episodes, see Measured).

Batches of ``B`` episodes are disjoint slices of ``repeats`` simulations of
``max(batches)`` episodes each, at most ``groups`` slices per simulation, so
small batches get more repetitions than large ones.

The look-ahead :math:`\eta` defaults to that of the exact coin-game
reproduction (:data:`lola_sym.report.coin_game.DEFAULTS`, 1000; a logit's
gradient is about :math:`1/S` of an advantage, so LOLA's correction needs a
large :math:`\eta` to matter), and so does :math:`\sigma` (0.5).

Measured
--------
The defaults (3x3 board, seed 0, 8 x 4,096 episodes per ``T``; 2 minutes on
two shared cores), agent 1:

* No estimator has a detectable bias against the finite-horizon target: at
  ``B = 4096`` every debiased bias is below its noise floor and its interval
  reaches zero (naive gradient, ``T = 150``: 0.02, 95 % CI [0, 0.21], floor
  0.25). Against the discounted target the debiased bias of the naive gradient
  is 0.67 (``T = 10``) and 0.13 (``T = 50``), the exact truncation
  :math:`\lVert g^{(T)} - g \rVert / \lVert g \rVert` (0.68, 0.13) measured
  the other way; at ``T = 150`` the truncation (0.002) is far below the noise.
* Naive gradient: the relative RMSE of one batch is 11 at ``B = 16`` and 0.70
  at ``B = 4096`` (``T = 150``), slope -0.50. The leave-one-out baseline
  changes it by under 1 % from ``B = 256`` (and adds 3 % at ``B = 16``): on
  3,456 tabular logits the noise is that of the visitation of the states, not
  of the returns. A batch of 4,000 episodes, the paper's LOLA-PG setting,
  therefore leaves a relative error of about 70 % on the tabular gradient (the
  paper's agents were recurrent networks, whose gradients pool the states).
* LOLA correction :math:`(\nabla_1 \nabla_2 V_2) \nabla_2 V_1`: relative RMSE
  2,200-3,300 at ``B = 16`` and 14-15 at ``B = 4096``, slope -0.92 to -0.97: the
  error of the product of two estimates, each far noisier than its truth, falls
  like :math:`1/B` and has not reached the :math:`1/\sqrt{B}` regime. LOLA-PG,
  DiCE and DiCE with the baseline agree within 1 % from ``B = 256``; at
  ``B = 16`` the baseline of [3]_ even hurts (a leave-one-out mean of 15
  episodes is itself noisy): 2,200-2,700 without it, 2,500-3,300 with it.
* LOLA direction at :math:`\eta = 1000`: the correction dominates, relative
  RMSE 8.5 at ``B = 4096``, ``T = 150``.

At a trained point (``train_steps=200``: the exact LOLA run of
:mod:`lola_sym.report.coin_game` from the same start) the gradients are
smaller and the returns more spread, and the baselines matter: at ``T = 150``,
``B = 4096`` the relative RMSE of the naive gradient is 6.8 for REINFORCE and
1.8 with the baseline; that of the correction 62 for DiCE, 28 for LOLA-PG (no
baseline in its Hessian, the ``"time"`` baseline in its cross gradient) and
6.8 for DiCE with the baseline. Still no detectable bias against
:math:`V^{(T)}`; the slopes of the second-order estimates are -0.83 to -0.97.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.3 and 5.2.
.. [2] Foerster, J. et al. (2018). DiCE: The Infinitely Differentiable Monte
   Carlo Estimator. ICML. arXiv:1802.05098.
.. [3] Mao, J. et al. (2019). A Baseline for Any Order Gradient Estimation in
   Stochastic Computation Graphs. ICML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lola_sym._validation import check_int, check_real
from lola_sym.dynamics.training import as_generator
from lola_sym.field import update_field
from lola_sym.games.coin import coin_game
from lola_sym.report.coin_game import DEFAULTS as COIN_DEFAULTS
from lola_sym.sampling.markov_estimators import estimate, markov_targets
from lola_sym.sampling.markov_rollouts import markov_rollout

__all__ = ["coin_estimators_reproduction", "CoinEstimatorsResult", "STUDY", "DEFAULTS",
           "REDUCED", "BOOTSTRAP"]

#: The (quantity, estimator) pairs of the study, in table order.
STUDY = (("grad", "reinforce"), ("grad", "reinforce_baseline"), ("grad", "dice_baseline"),
         ("correction", "lola_pg"), ("correction", "dice"), ("correction", "dice_baseline"),
         ("lola", "lola_pg"), ("lola", "dice_baseline"))
#: The defaults of :func:`coin_estimators_reproduction`.
DEFAULTS: dict[str, Any] = dict(side=3, batches=(16, 64, 256, 1024, 4096), horizons=(10, 50, 150),
                                repeats=8, groups=16, eta=COIN_DEFAULTS["eta"],
                                init_std=COIN_DEFAULTS["init_std"])
#: A reduced setting that runs in seconds (CI).
REDUCED = dict(side=2, batches=(8, 32), horizons=(5, 10), repeats=2, groups=4)
#: Bootstrap resamples of the bias interval.
BOOTSTRAP = 1000
_NAMES = {"reinforce": "REINFORCE", "reinforce_baseline": "REINFORCE+b", "lola_pg": "LOLA-PG",
          "dice": "DiCE", "dice_baseline": "DiCE+b"}
_QUANTITY = {"grad": "naive gradient", "correction": "LOLA correction",
             "lola": "LOLA direction"}


@dataclass(frozen=True)
class CoinEstimatorsResult:
    r"""Bias and variance of every estimator, per episode length and batch size.

    Attributes
    ----------
    cells : list of dict
        One per (T, quantity, estimator, B): ``n`` (batches), relative ``bias``
        (debiased), ``bias_lo``/``bias_hi`` (95 % bootstrap), ``mean_error``
        (:math:`\lVert \bar e \rVert`), ``noise`` (the floor),
        ``rmse``, ``rel_std``, and against the discounted value ``bias_inf``
        (debiased likewise: the truncation bias) and ``rmse_inf``; ``truth``
        (:math:`\lVert g \rVert`) and ``truncation`` (:math:`\lVert g^{(T)} - g \rVert /
        \lVert g \rVert`, ``g`` discounted).
    parameters : dict
    """

    cells: list
    parameters: dict = field(default_factory=dict)

    def slope(self, T, quantity, estimator) -> float:
        """Least-squares slope of log RMSE against log B (-1/2 for an unbiased estimator)."""
        c = [x for x in self.cells if (x["T"], x["quantity"], x["estimator"]) ==
             (T, quantity, estimator)]
        B = np.log([x["B"] for x in c])
        e = np.log([x["rmse"] for x in c])
        return float(np.polyfit(B, e, 1)[0]) if len(c) > 1 else float("nan")

    def _lines(self):
        seen = []
        for x in self.cells:
            key = (x["T"], x["quantity"], x["estimator"])
            if key not in seen:
                seen.append(key)
        return seen

    def format_table(self) -> str:
        """One line per (T, quantity, estimator): RMSE per batch size, slope, and bias."""
        p = self.parameters
        batches = list(p["batches"])
        trained = (f" after {p['train_steps']} exact LOLA updates" if p.get("train_steps")
                   else "")
        lines = [f"coin game {p['side']}x{p['side']}, gamma 0.96, agent 1 at theta ~ "
                 f"N(0, {p['init_std']:g}^2) (seed {p['seed']}){trained}, eta={p['eta']:g}; "
                 f"{p['repeats']} simulations of {max(batches)} episodes per T, "
                 f"<= {p['groups']} batches each"]
        head = (f"{'T':>4} {'quantity':15} {'estimator':12} "
                + " ".join(f"{'B=' + str(b):>7}" for b in batches)
                + f" {'slope':>6}  {'bias at B=' + str(max(batches)) + ' [95% CI]':>26} "
                  f"{'floor':>7}  {'vs discounted: RMSE':>19} {'bias':>6}")
        lines += [head, "-" * len(head)]
        for T, q, e in self._lines():
            row = {x["B"]: x for x in self.cells
                   if (x["T"], x["quantity"], x["estimator"]) == (T, q, e)}
            big = row[max(batches)]
            lines.append(
                f"{T:4d} {_QUANTITY[q]:15} {_NAMES[e]:12} "
                + " ".join(f"{row[b]['rmse']:7.3f}" for b in batches)
                + f" {self.slope(T, q, e):6.2f}  {big['bias']:8.4f} "
                  f"[{big['bias_lo']:.4f}, {big['bias_hi']:.4f}] {big['noise']:7.4f}  "
                  f"{big['rmse_inf']:19.3f} {big['bias_inf']:6.4f}")
        trunc: dict[tuple, Any] = {}
        for x in self.cells:
            trunc.setdefault((x["T"], x["quantity"]), x["truncation"])
        lines.append("RMSE = sqrt(mean |g_hat - g|^2) / |g| of one batch of B episodes, against "
                     "the exact finite-horizon target g = grad V^(T) (adjoint path); slope = "
                     "d log RMSE / d log B (-0.5 unbiased); bias = |E error| / |g| (debiased: "
                     "sqrt(|mean error|^2 - floor^2)) with a bootstrap CI; floor = the size of "
                     "the mean error of an unbiased estimator; "
                     "vs discounted: the same against the infinite-horizon target.")
        lines.append("truncation |g^(T) - g^(inf)| / |g^(inf)|: " + ", ".join(
            f"T={T} {_QUANTITY[q]} {v:.3g}" for (T, q), v in trunc.items()))
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """Plain data (for ``--json``): the parameters, every cell and the fitted slopes."""
        return {"parameters": {k: (list(v) if isinstance(v, tuple) else v)
                               for k, v in self.parameters.items()},
                "cells": [dict(x) for x in self.cells],
                "slopes": [{"T": T, "quantity": q, "estimator": e,
                            "slope": self.slope(T, q, e)} for T, q, e in self._lines()]}

    def plot(self, path=None):
        """Log-log relative RMSE against the batch size, one panel per quantity, a colour and
        marker per estimator (DiCE hollow: its first order coincides with REINFORCE's) and a
        line style per T, with the :math:`1/\\sqrt{B}` slope and, for the products of two
        estimates, :math:`1/B` (saved to ``path`` if given; headless Agg)."""
        from lola_sym.report.plot_support import _figure, _save
        quantities = [q for q in _QUANTITY if any(x["quantity"] == q for x in self.cells)]
        fig = _figure((4.0 * len(quantities), 3.8))
        axes = np.atleast_1d(fig.subplots(1, len(quantities), sharey=True))
        horizons = sorted({x["T"] for x in self.cells})
        styles = ["-", "--", ":", "-."]
        estimators = list(dict.fromkeys(e for _, e in STUDY))
        for ax, q in zip(axes, quantities):
            for T, q2, e in self._lines():
                if q2 != q:
                    continue
                c = [x for x in self.cells if (x["T"], x["quantity"], x["estimator"]) ==
                     (T, q, e)]
                k = estimators.index(e)
                ax.loglog([x["B"] for x in c], [x["rmse"] for x in c], marker="osD^v"[k % 5],
                          ms=5 if e.startswith("dice") else 3, color=f"C{k}",
                          mfc="none" if e.startswith("dice") else f"C{k}",
                          ls=styles[horizons.index(T) % len(styles)],
                          label=f"{_NAMES[e]}, T={T}")
            B = np.array(sorted({x["B"] for x in self.cells}), dtype=float)
            top = max(x["rmse"] for x in self.cells if x["quantity"] == q and x["B"] == B[0])
            ax.loglog(B, top * np.sqrt(B[0] / B), color="0.4", lw=2, alpha=0.4,
                      label=r"$\propto 1/\sqrt{B}$")
            if q != "grad":         # products of two estimates: error ~ 1/B while it is large
                ax.loglog(B, top * B[0] / B, color="0.4", lw=2, alpha=0.4, ls="--",
                          label=r"$\propto 1/B$")
            ax.set(xlabel="batch size B (episodes)", title=_QUANTITY[q])
            ax.legend(fontsize=6, ncols=2)
        axes[0].set_ylabel(r"relative RMSE $\|\hat g - g\| / \|g\|$")
        return _save(fig, path)

    figure = plot


def _debiased(counts, gram, sq):
    r"""Debiased :math:`\lVert \mathbb{E} e \rVert^2` of the weighted samples (``counts``
    ``(m, R)`` summing to ``R`` each): :math:`\lVert \bar e \rVert^2 - \operatorname{tr}
    \hat\Sigma / R`, and the trace :math:`\operatorname{tr} \hat\Sigma`."""
    R = counts.shape[1]
    mean_sq = np.einsum("br,rs,bs->b", counts, gram, counts) / R ** 2
    tr_cov = np.maximum(counts @ sq - R * mean_sq, 0.0) / (R - 1)
    return mean_sq - tr_cov / R, tr_cov, mean_sq


def _cell(errors, truth, shift, truth_inf, rng):
    """Statistics of ``errors`` ``(R, d)`` against ``truth``; ``shift`` = ``g_T - g_inf``."""
    E = errors.astype(float)
    R = len(E)
    gram = E @ E.T
    mean = E.mean(axis=0)
    sq = np.diag(gram)
    (b2,), (tr_cov,), (mean_sq,) = _debiased(np.ones((1, R)), gram, sq)
    counts = np.stack([np.bincount(rng.integers(0, R, R), minlength=R)
                       for _ in range(BOOTSTRAP)]).astype(float)
    # the resamples' debiased statistic centres on the plug-in |e_bar|^2 (resampling adds its
    # own noise), so its spread about that is the spread of b2 about the truth: a basic
    # (reflected) bootstrap interval for |E e|^2, then the square root
    q_lo, q_hi = np.percentile(_debiased(counts, gram, sq)[0] - mean_sq, [2.5, 97.5])
    lo, hi = np.sqrt(np.maximum([b2 - q_hi, b2 - q_lo], 0.0))
    nt, ni = float(np.linalg.norm(truth)), float(np.linalg.norm(truth_inf))
    return dict(n=R, bias=float(np.sqrt(max(b2, 0.0))) / nt,
                bias_lo=float(lo) / nt, bias_hi=float(hi) / nt,
                mean_error=float(np.sqrt(mean_sq)) / nt,
                noise=float(np.sqrt(tr_cov / R)) / nt, rmse=float(np.sqrt(sq.mean())) / nt,
                rel_std=float(np.sqrt(tr_cov)) / nt,
                bias_inf=float(np.sqrt(max(float((mean + shift) @ (mean + shift)) - tr_cov / R,
                                           0.0))) / ni,
                rmse_inf=float(np.sqrt(np.mean(sq + 2 * E @ shift + shift @ shift))) / ni,
                truth=nt, truncation=float(np.linalg.norm(shift)) / ni)


def coin_estimators_reproduction(side: int = DEFAULTS["side"], batches=DEFAULTS["batches"],
                                 horizons=DEFAULTS["horizons"],
                                 repeats: int = DEFAULTS["repeats"],
                                 groups: int = DEFAULTS["groups"], eta: float = DEFAULTS["eta"],
                                 init_std: float = DEFAULTS["init_std"], seed=0, study=STUDY,
                                 train_steps: int = 0, progress=None,
                                 **game_options) -> CoinEstimatorsResult:
    r"""Bias and variance of REINFORCE, LOLA-PG and DiCE on the coin game, against exact gradients.

    Parameters
    ----------
    side : int
        Board side (3 in the paper).
    batches : sequence of int
        Batch sizes ``B`` (episodes per estimate), each >= 4.
    horizons : sequence of int
        Episode lengths ``T``.
    repeats : int
        Simulations of ``max(batches)`` episodes per ``T`` (>= 2).
    groups : int
        At most this many disjoint batches of each size per simulation.
    eta : float
        LOLA's look-ahead of the LOLA direction.
    init_std : float
        :math:`\sigma` of the policy point :math:`\theta_i \sim N(0, \sigma^2)`.
    seed : int or numpy.random.Generator
        Draws the policy point, then the episodes (never the global state).
    study : sequence of (quantity, estimator)
        Which estimates (default :data:`STUDY`).
    train_steps : int
        0: study the random point. Else study the point reached from it by this
        many exact LOLA updates of both agents (the discounted game, step
        :math:`\delta` of :data:`lola_sym.report.coin_game.DEFAULTS` and ``eta``):
        a trained policy.
    progress : callable, optional
        ``progress(done, total)`` after every simulation.
    **game_options
        Further options of :func:`~lola_sym.games.coin_game`.

    Returns
    -------
    CoinEstimatorsResult

    Examples
    --------
    >>> res = coin_estimators_reproduction(**REDUCED)
    >>> sorted({c["T"] for c in res.cells}), len(res.cells)
    ([5, 10], 32)
    >>> all(c["rmse"] > 0 for c in res.cells)
    True
    """
    side = check_int(side, "side", 2)
    repeats = check_int(repeats, "repeats", 2)
    groups = check_int(groups, "groups", 1)
    eta = check_real(eta, "eta", nonnegative=True)
    init_std = check_real(init_std, "init_std", nonnegative=True)
    batches = sorted({check_int(b, "batch size", 4) for b in batches})
    horizons = [check_int(T, "episode length", 1) for T in horizons]
    if not batches or not horizons:
        raise ValueError("give at least one batch size and one episode length")
    study = tuple(tuple(x) for x in study)
    unknown = [x for x in study if x not in STUDY]
    if unknown or not study:
        raise ValueError(f"study must be some of {list(STUDY)}, got {unknown or 'nothing'}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    train_steps = check_int(train_steps, "train_steps", 0)
    rng = as_generator(seed)
    game = coin_game(side, **game_options)
    thetas = [rng.normal(0.0, init_std, d) for d in game.dims]
    if train_steps:
        step = update_field(game, "lola", eta=eta)
        for _ in range(train_steps):
            thetas = [t + COIN_DEFAULTS["delta"] * g for t, g in zip(thetas, step(*thetas))]
    top = max(batches)
    inf = markov_targets(game, *thetas, horizon=None, eta=eta)
    cells, done, total = [], 0, repeats * len(horizons)
    for T in horizons:
        exact = markov_targets(game, *thetas, horizon=T, eta=eta)
        errors: dict[tuple, list[np.ndarray]] = {(q, e, B): [] for q, e in study for B in batches}
        for _ in range(repeats):
            ro = markov_rollout(game, *thetas, batch=top, horizon=T, seed=rng)
            for B in batches:
                for k in range(min(groups, top // B)):
                    sub = ro.select(slice(k * B, (k + 1) * B))
                    for q, e in study:
                        est = estimate(sub, q, e, 1, eta=eta, stderr=False)
                        errors[(q, e, B)].append((est.value - exact.of(q, 1)).astype(np.float32))
            done += 1
            if progress is not None:
                progress(done, total)
        for q, e in study:
            for B in batches:
                shift = exact.of(q, 1) - inf.of(q, 1)
                cells.append(dict(T=T, quantity=q, estimator=e, B=B,
                                  **_cell(np.stack(errors[(q, e, B)]), exact.of(q, 1), shift,
                                          inf.of(q, 1), rng)))
    params = dict(side=side, batches=tuple(batches), horizons=tuple(horizons), repeats=repeats,
                  groups=groups, eta=eta, init_std=init_std, train_steps=train_steps,
                  seed=seed if isinstance(seed, int) else None, game=game.name,
                  options=dict(game.construction["coin_game"]))
    return CoinEstimatorsResult(cells, params)
