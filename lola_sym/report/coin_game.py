r"""The coin game of the LOLA paper (Sec. 5.2), reproduced with exact gradients.

Both agents learn with the same rule, NL (naive learners) or LOLA (Eq. 4.4),
from the same seeded initial logits :math:`\theta \sim N(0, \sigma^2)`, by
exact gradient ascent :math:`\theta \leftarrow \theta + \delta g` on the
tabular coin game (:func:`lola_sym.games.coin_game`; every field by the
adjoint path, :mod:`lola_sym.adjoint`). Every ``record_every`` updates the
report records, exactly (no sampling):

* the fraction of the coins each agent picks up that are of its own colour,
  :math:`\mathrm{own}_i / (\mathrm{own}_i + \mathrm{other}_i)`, from the
  expected discounted counts of pickups
  (:meth:`~lola_sym.games.markov.MarkovGame.statistics`), and the same
  fraction over both agents;
* the average reward per step, :math:`(1 - \gamma) V_i`;
* the coins picked up per step, both agents together.

The paper trains with policy gradients (LOLA-PG) and recurrent policies, and
reports that "NL agents learn to pick up any coin", while LOLA agents "pick
up mostly their own coins" and so obtain a higher reward. Its settings do not
carry over to exact gradients on tabular logits: a logit's gradient here is
its state's share of the discounted visitation (about :math:`1/S`) times an
advantage, so the step :math:`\delta` and LOLA's lookahead :math:`\eta` are
large numbers. The defaults below were chosen once, on a few runs, for NL and
LOLA to converge in 200 updates, and are documented, not tuned to a number.
The outcome depends on :math:`\eta` (measured, 50 runs, 200 updates,
:math:`\delta = 30`, pass ``eta=[100, 300, 1000, 3000]``): NL ends at 51 %
own-colour coins and a reward per step of +0.007; LOLA at 53 % (+0.02) with
:math:`\eta = 100`, 79 % (+0.21) with 300, 91 % (+0.28) with 1000, and with
3000 it overshoots: 50 %, +0.002, and half as many coins picked up.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 5.2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lola_sym._validation import check_int, check_real
from lola_sym.field import update_field
from lola_sym.games.coin import coin_game

__all__ = ["coin_game_reproduction", "CoinGameResult", "PAPER_CLAIM", "SETTINGS", "REDUCED",
           "DEFAULTS"]

#: The paper's qualitative claim per setting (Sec. 5.2), shown beside the results.
PAPER_CLAIM = {
    "NL-Ex": "picks up any coin: own-colour fraction near 1/2, low reward",
    "LOLA-Ex": "picks up mostly its own coins, higher reward than NL",
}
#: The settings: label -> rule of both agents.
SETTINGS = {"NL-Ex": "nl", "LOLA-Ex": "lola"}
#: The defaults of :func:`coin_game_reproduction`.
DEFAULTS: dict[str, Any] = dict(runs=50, steps=200, delta=30.0, eta=1000.0, side=3,
                                init_std=0.5, record_every=5)
#: A reduced setting that runs in seconds (CI): a few runs, a few updates.
REDUCED = dict(runs=2, steps=6, record_every=2)


@dataclass(frozen=True)
class CoinGameResult:
    r"""The recorded course of training of every setting.

    Attributes
    ----------
    steps : numpy.ndarray
        The updates at which the quantities were recorded (0 = the start).
    own_fraction : dict
        Per setting, ``(runs, records, 2)``: each agent's own-colour fraction.
    own_fraction_both : dict
        Per setting, ``(runs, records)``: own-colour coins over all coins picked.
    reward : dict
        Per setting, ``(runs, records, 2)``: average reward per step.
    coins : dict
        Per setting, ``(runs, records)``: coins picked up per step (both agents).
    parameters : dict
        The settings of the run (runs, steps, delta, eta, side, ...).
    """

    steps: np.ndarray
    own_fraction: dict
    own_fraction_both: dict
    reward: dict
    coins: dict
    parameters: dict = field(default_factory=dict)

    def rows(self) -> list:
        """One dict per setting: end-of-training means and standard deviations over runs."""
        out = []
        for label in self.own_fraction:
            f, fb = self.own_fraction[label][:, -1], self.own_fraction_both[label][:, -1]
            r, c = self.reward[label][:, -1], self.coins[label][:, -1]
            out.append({
                "setting": label,
                "own_1": float(f[:, 0].mean()), "own_1_std": float(f[:, 0].std()),
                "own_2": float(f[:, 1].mean()), "own_2_std": float(f[:, 1].std()),
                "own_both": float(fb.mean()), "own_both_std": float(fb.std()),
                "r_1": float(r[:, 0].mean()), "r_1_std": float(r[:, 0].std()),
                "r_2": float(r[:, 1].mean()), "r_2_std": float(r[:, 1].std()),
                "coins": float(c.mean()),
                "paper": PAPER_CLAIM.get(label.split(" ")[0], "")})
        return out

    def format_table(self) -> str:
        """The end-of-training table beside the paper's claim (fixed-width text)."""
        p = self.parameters
        lines = [f"coin game {p['side']}x{p['side']}, "
                 + ("discounted" if p.get("horizon") is None else f"horizon {p['horizon']}")
                 + f", gamma 0.96: {p['runs']} runs, {p['steps']} updates, "
                 f"delta={p['delta']:g}, eta={p['eta']}, theta ~ N(0, {p['init_std']:g}^2), "
                 f"seed {p['seed']}"]
        width = max(8, *(len(r) for r in self.own_fraction))
        head = (f"{'setting':{width}} {'own coins 1':>13} {'own coins 2':>13} {'both':>13} "
                f"{'R agent 1':>16} {'R agent 2':>16} {'coins/step':>10}  paper (Sec. 5.2)")
        lines += [head, "-" * len(head)]
        for r in self.rows():
            lines.append(
                f"{r['setting']:{width}} {100 * r['own_1']:6.1f}% ({100 * r['own_1_std']:4.1f}) "
                f"{100 * r['own_2']:6.1f}% ({100 * r['own_2_std']:4.1f}) "
                f"{100 * r['own_both']:6.1f}% ({100 * r['own_both_std']:4.1f}) "
                f"{r['r_1']:+8.4f} ({r['r_1_std']:.4f}) {r['r_2']:+8.4f} ({r['r_2_std']:.4f}) "
                f"{r['coins']:10.3f}  {r['paper']}")
        lines.append("own coins = own-colour coins / coins picked up by the agent (exact "
                     "expected discounted counts); R = average reward per step (1 - gamma) V; "
                     "mean (std) over runs at the end of training.")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """Plain data (for ``--json``): parameters, the table rows and the curves' means."""
        curves = {label: {"own_fraction_both": self.own_fraction_both[label].mean(0).tolist(),
                          "reward": self.reward[label].mean(0).tolist()}
                  for label in self.own_fraction}
        return {"parameters": dict(self.parameters), "steps": self.steps.tolist(),
                "rows": self.rows(), "curves": curves}

    def figure(self, path=None):
        """Own-colour fraction and average reward per step over training, mean and the
        10-90 % band over runs, one line per setting (saved to ``path`` if given)."""
        from lola_sym.report.plot_support import _figure, _save
        fig = _figure((9.0, 3.8))
        ax1, ax2 = fig.subplots(1, 2)
        for k, label in enumerate(self.own_fraction):
            colour = f"C{k}"
            for ax, data in ((ax1, self.own_fraction_both[label]),
                             (ax2, self.reward[label].mean(axis=-1))):
                lo, hi = np.percentile(data, [10, 90], axis=0)
                ax.fill_between(self.steps, lo, hi, color=colour, alpha=0.2, lw=0)
                ax.plot(self.steps, data.mean(axis=0), color=colour, label=label)
        ax1.axhline(0.5, color="0.5", ls=":", lw=1, label="either colour alike")
        low = min(np.nanmin(np.percentile(v, 10, axis=0)) for v in self.own_fraction_both.values())
        ax1.set(xlabel="update", ylabel="own-colour coins / coins picked",
                title="Coins of the agent's own colour", ylim=(min(0.3, low - 0.02), 1.02))
        ax2.axhline(0.0, color="0.5", ls=":", lw=1)
        ax2.set(xlabel="update", ylabel=r"average reward per step $(1-\gamma)V$",
                title="Reward (mean of both agents)")
        fig.legend(*ax1.get_legend_handles_labels(), loc="outside lower center",
                   ncols=min(6, len(self.own_fraction) + 1), fontsize=8, frameon=False)
        return _save(fig, path)


def _record(game, t1, t2):
    """Own-colour fractions ``(runs, 2)``, over both ``(runs,)``, rewards ``(runs, 2)``, coins."""
    s = game.statistics(t1, t2)
    own = np.stack([s["own_1"], s["own_2"]], axis=-1)
    other = np.stack([s["other_1"], s["other_2"]], axis=-1)
    total = own + other
    scale = game.reward_scale
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, own / total, np.nan)
        both = np.where(total.sum(-1) > 0, own.sum(-1) / total.sum(-1), np.nan)
    return frac, both, game.value(t1, t2) * scale, total.sum(-1) * scale


def coin_game_reproduction(runs: int = DEFAULTS["runs"], steps: int = DEFAULTS["steps"],
                           delta: float = DEFAULTS["delta"], eta: float = DEFAULTS["eta"],
                           side: int = DEFAULTS["side"], init_std: float = DEFAULTS["init_std"],
                           seed=0, horizon: int | None = None,
                           record_every: int = DEFAULTS["record_every"],
                           settings=tuple(SETTINGS), progress=None, **game_options
                           ) -> CoinGameResult:
    r"""Train NL vs NL and LOLA vs LOLA on the coin game with exact gradients.

    Parameters
    ----------
    runs, steps : int
        Independent runs per setting and updates per run.
    delta : float
        Step :math:`\delta` of both agents.
    eta : float or sequence of float
        LOLA's lookahead :math:`\eta`; several values give one LOLA setting each,
        labelled ``"LOLA-Ex eta=..."`` (the sensitivity of the outcome to it).
    side : int
        Board side (3 in the paper).
    init_std : float
        :math:`\sigma` of the initial logits.
    seed : int or numpy.random.Generator
        Source of the initial logits; every setting starts from the same ones.
    horizon : int, optional
        Episode length (150 in the paper); None for the discounted value (the
        default: one sparse LU per point instead of 150 steps, and values that
        differ by about :math:`\gamma^{150} = 0.2\%`).
    record_every : int
        Record the statistics every this many updates (and at the end).
    settings : sequence of str
        Labels of :data:`SETTINGS` to run.
    progress : callable, optional
        ``progress(done, total)`` after every update of every setting.
    **game_options
        Further options of :func:`~lola_sym.games.coin_game` (``both_reach``,
        ``variant``, ...).

    Returns
    -------
    CoinGameResult

    Examples
    --------
    >>> res = coin_game_reproduction(side=2, **REDUCED)
    >>> [r["setting"] for r in res.rows()], res.steps.tolist()
    (['NL-Ex', 'LOLA-Ex'], [0, 2, 4, 6])
    """
    runs = check_int(runs, "runs", 1)
    steps = check_int(steps, "steps", 0)
    record_every = check_int(record_every, "record_every", 1)
    delta = check_real(delta, "delta", positive=True)
    etas = [check_real(e, "eta", nonnegative=True) for e in
            (eta if isinstance(eta, (list, tuple, np.ndarray)) else [eta])]
    if not etas:
        raise ValueError("eta must be a number or a non-empty sequence of numbers")
    init_std = check_real(init_std, "init_std", nonnegative=True)
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown or not settings:
        raise ValueError(f"settings must be some of {list(SETTINGS)}, got {list(settings)}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    game = coin_game(side, horizon=horizon, **game_options)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    start = [rng.normal(0.0, init_std, (runs, d)) for d in game.dims]
    recorded = sorted(set(range(0, steps + 1, record_every)) | {steps})
    out: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("own", "both", "reward", "coins")}
    runs_of: list[tuple[str, str, dict[str, Any]]] = []         # (label, rule, hyper)
    for label in settings:
        rule = SETTINGS[label]
        if rule == "nl":
            runs_of.append((label, rule, {}))
        else:
            runs_of += [(label if len(etas) == 1 else f"{label} eta={e:g}", rule, {"eta": e})
                        for e in etas]
    total = steps * len(runs_of)
    for n_set, (label, rule, hyper) in enumerate(runs_of):
        f = update_field(game, rule, **hyper)
        t1, t2 = start[0].copy(), start[1].copy()
        rec = []
        for k in range(steps + 1):
            if k in recorded:
                rec.append(_record(game, t1, t2))
            if k == steps:
                break
            g1, g2 = f(t1, t2)
            t1, t2 = t1 + delta * g1, t2 + delta * g2
            if progress is not None:
                progress(n_set * steps + k + 1, total)
        for j, key in enumerate(("own", "both", "reward", "coins")):
            out[key][label] = np.stack([r[j] for r in rec], axis=1)
    params = dict(runs=runs, steps=steps, delta=delta, eta=etas[0] if len(etas) == 1 else etas,
                  side=side, init_std=init_std,
                  seed=seed if isinstance(seed, int) else None, horizon=horizon,
                  record_every=record_every, game=game.name,
                  options={k: v for k, v in game.construction["coin_game"].items()})
    return CoinGameResult(np.array(recorded), out["own"], out["both"], out["reward"],
                          out["coins"], params)
