r"""POLA's "IPD with exact value function" (Zhao et al. 2022, Fig. 3), reproduced exactly.

Two agents learn on POLA's contribution game (:func:`lola_sym.games.contribution`,
``n = 2``: an IPD with R = cf - 1, S = cf/2 - 1, T = cf/2, P = 0, gamma = 0.96,
memory 1 with a separate start state, ``--init_state_representation 2``) from
logits :math:`\theta \sim N(0, 0.1^2)`, for each contribution factor
cf in {1.1, 1.25, 1.33, 1.4, 1.6}, 20 runs each, with the README's commands:

* **LOLA tabular**: exact LOLA (no Taylor expansion; the opponent's naive step
  differentiated through), ``lr_policies_inner`` = 3 (:math:`\eta`),
  ``lr_policies_outer`` = 25 (:math:`\delta`), 30 epochs;
* **outer POLA tabular** (``--outer_exact_prox``): rule ``pola_outer``,
  ``lr_policies_inner`` = 5 (cf 1.4: 4, cf 1.6: 2.5), ``lr_policies_outer`` = 0.3
  (the prox loop's rate), ``outer_beta`` = 0.1, threshold 1e-8, at most 5000
  iterations, 2 epochs;
* **ideal POLA tabular**: the same proximal step solved by Newton (rule ``pola``),
  not in the README: it shows what the threshold of the outer loop leaves out;
* **LOLA pre-conditioned tabular** (``--ill_condition``): both agents' logits are
  :math:`M\phi` with POLA's matrix
  (:data:`~lola_sym.games.reparameterised.POLA_ILL_CONDITION`) and every step is
  taken in :math:`\phi`, exact LOLA differentiated in :math:`\phi`
  (:func:`~lola_sym.games.reparameterised.reparameterised`). The README gives no
  command ("could not get anything finding TFT at all"); this row uses LOLA
  tabular's (:math:`\eta = 3`, :math:`\delta = 25`, 30 epochs);
* **POLA pre-conditioned tabular**: outer POLA in :math:`\phi` with the README's
  commands (``lr_policies_inner`` 0.4 / 0.5 / 0.4 / 0.3 / 0.3 per cf,
  ``lr_policies_outer`` 0.05, ``outer_beta`` 0.5, 10 epochs); its KL compares the
  policies at logits :math:`M\phi`;
* **ideal POLA pre-conditioned**: the same step solved by Newton.

A run "finds TFT" under the reference's criterion when both agents cooperate
with probability < 0.65 in the two states where the opponent defected (CD and
DD from their own view) and the agents' mean value exceeds
:math:`0.8 (cf - 1)/(1 - \gamma)` (80 % of mutual cooperation's).

The start logits are drawn per cf and shared by all methods: the tabular
methods start from :math:`\theta`, the pre-conditioned ones from
:math:`\phi = \theta` (the reference draws the parameters with the same
standard deviation whatever they mean), so the pre-conditioned agents start
from logits :math:`M\theta`. The README's seeds (1, and 2 for POLA
pre-conditioned) seed PyTorch; ours is a numpy generator, so single runs differ
and the comparison is of shares.

References
----------
.. [1] Zhao, S., Lu, C., Grosse, R., Foerster, J. (2022). Proximal Learning With
   Opponent-Learning Awareness. NeurIPS. arXiv:2210.10125, Fig. 3.
.. [2] Silent-Zebra/POLA @ b248b52, README "Commands used for Figure 3".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lola_sym._validation import check_int, check_real
from lola_sym.field import update_field
from lola_sym.games import contribution
from lola_sym.games.reparameterised import POLA_ILL_CONDITION, reparameterised

__all__ = ["pola_ipd_reproduction", "PolaIpdResult", "METHODS", "README_CLAIMS",
           "CONTRIBUTION_FACTORS", "DEFAULTS", "REDUCED", "finds_tft"]

#: The contribution factors of Fig. 3 (exact decimals).
CONTRIBUTION_FACTORS = ("1.1", "1.25", "1.33", "1.4", "1.6")

#: per-cf lr_policies_inner of the README's POLA pre-conditioned commands
_PRECOND_ETA = {"1.1": 0.4, "1.25": 0.5, "1.33": 0.4, "1.4": 0.3, "1.6": 0.3}

#: label -> (rule, epochs, delta, hyper-parameters, per-cf eta overrides, pre-conditioned)
METHODS: dict[str, Any] = {
    "LOLA tabular": ("exact_lola", 30, 25.0, {"eta": 3.0}, {}, False),
    "outer POLA tabular": ("pola_outer", 2, 1.0, {"eta": 5.0, "beta": 0.1, "lr_out": 0.3},
                           {"1.4": 4.0, "1.6": 2.5}, False),
    "ideal POLA tabular": ("pola", 2, 1.0, {"eta": 5.0, "beta": 0.1},
                           {"1.4": 4.0, "1.6": 2.5}, False),
    "LOLA pre-conditioned tabular": ("exact_lola", 30, 25.0, {"eta": 3.0}, {}, True),
    "POLA pre-conditioned tabular": ("pola_outer", 10, 1.0,
                                     {"eta": 0.4, "beta": 0.5, "lr_out": 0.05},
                                     _PRECOND_ETA, True),
    "ideal POLA pre-conditioned": ("pola", 10, 1.0, {"eta": 0.4, "beta": 0.5}, _PRECOND_ETA,
                                   True),
}

#: What the README says of each method (Fig. 3's bars were not available).
README_CLAIMS = {
    "LOLA tabular": "finds TFT (README command for cf 1.1-1.6)",
    "outer POLA tabular": "finds TFT (README commands per cf)",
    "ideal POLA tabular": "(not in the README)",
    "LOLA pre-conditioned tabular": "\"Could not get anything finding TFT at all.\"",
    "POLA pre-conditioned tabular": "finds TFT (README commands per cf)",
    "ideal POLA pre-conditioned": "(not in the README)",
    "LOLA func approx": "\"Could not get CF 1.25 or below finding TFT with probability > 0.\"",
}

#: The defaults of :func:`pola_ipd_reproduction` (the README's: 20 repeats, std 0.1).
DEFAULTS: dict[str, Any] = dict(runs=20, init_std=0.1, seed=1)
#: A reduced setting that runs in seconds (CI).
REDUCED = dict(runs=2, factors=("1.33",))


def finds_tft(game, theta1, theta2, cf) -> np.ndarray:
    r"""The reference's TFT criterion per run, ``(runs,)`` bool.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import contribution
    >>> tft = np.array([[5.0, 5.0, -5.0, 5.0, -5.0]])       # s0, CC, CD, DC, DD
    >>> bool(finds_tft(contribution(2, "1.33"), tft, tft, 1.33)[0])
    True
    >>> alld = np.full((1, 5), -5.0)
    >>> bool(finds_tft(contribution(2, "1.33"), alld, alld, 1.33)[0])
    False
    """
    p = [1.0 / (1.0 + np.exp(-np.asarray(t, float))) for t in (theta1, theta2)]
    retaliates = np.all([(q[..., 2] < 0.65) & (q[..., 4] < 0.65) for q in p], axis=0)
    v = game.value(theta1, theta2).mean(axis=-1)
    return retaliates & (v > 0.8 * (float(cf) - 1.0) / (1.0 - float(game.gamma)))


@dataclass(frozen=True)
class PolaIpdResult:
    """Per method and contribution factor: the share of runs finding TFT, scores, failures.

    Attributes
    ----------
    tft : dict
        ``{method: {cf: (runs,) bool}}``.
    score : dict
        ``{method: {cf: (runs,) mean value of the two agents}}``.
    failed : dict
        ``{method: {cf: number of runs whose proximal solve failed}}``.
    seconds : dict
        ``{method: {cf: wall-clock seconds}}``.
    parameters : dict
    """

    tft: dict
    score: dict
    failed: dict
    seconds: dict
    parameters: dict = field(default_factory=dict)

    def rows(self) -> list:
        out = []
        for m, per in self.tft.items():
            row = {"method": m, "readme": README_CLAIMS.get(m, "")}
            for cf, t in per.items():
                row[cf] = float(np.mean(t))
                row[f"score {cf}"] = float(np.nanmean(self.score[m][cf]))
                row[f"failed {cf}"] = int(self.failed[m][cf])
            out.append(row)
        return out

    def format_table(self) -> str:
        p = self.parameters
        factors = p["factors"]
        lines = [f"POLA IPD with exact value function (contribution game, gamma 0.96): "
                 f"{p['runs']} runs per cf, theta ~ N(0, {p['init_std']:g}^2), seed {p['seed']}",
                 "share of runs finding TFT (reference's criterion); failed proximal solves "
                 "in brackets"]
        head = f"{'method':29}" + "".join(f"{'cf ' + cf:>9}    " for cf in factors) + "  README"
        lines += [head, "-" * len(head)]
        for r in self.rows():
            cells = "".join(
                f"{100 * r[cf]:8.0f}%" + (f" ({r['failed ' + cf]})" if r[f"failed {cf}"]
                                          else "    ") for cf in factors)
            lines.append(f"{r['method']:29}{cells}  {r['readme']}")
        for m in ("LOLA func approx",):
            lines.append(f"{m:29}{'':{13 * len(factors)}}  {README_CLAIMS[m]}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"parameters": dict(self.parameters), "rows": self.rows(),
                "seconds": {m: dict(v) for m, v in self.seconds.items()}}

    def plot(self, path=None):
        """Bars: share finding TFT per cf, one group per method (saved to ``path`` if given)."""
        from lola_sym.report.plot_support import _figure, _save
        fig = _figure((9.5, 3.6))
        ax = fig.subplots()
        factors = self.parameters["factors"]
        width = 0.8 / max(1, len(self.tft))
        for k, (m, per) in enumerate(self.tft.items()):
            x = np.arange(len(factors)) + k * width
            shares = [float(np.mean(per[cf])) for cf in factors]
            bars = ax.bar(x, shares, width, label=m)
            for xi, share in zip(x, shares):          # a share of 0 has no bar: say so
                if share == 0.0:
                    ax.text(xi, 0.01, "0", ha="center", va="bottom", fontsize=7,
                            color=bars.patches[0].get_facecolor())
        ax.set_xticks(np.arange(len(factors)) + 0.4 - width / 2, [f"cf {c}" for c in factors])
        ax.set(ylabel="share of runs finding TFT", ylim=(0, 1.05),
               title="POLA Fig. 3 protocol, exact values")
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return _save(fig, path)


def pola_ipd_reproduction(runs: int = DEFAULTS["runs"], init_std: float = DEFAULTS["init_std"],
                          seed=DEFAULTS["seed"], factors=CONTRIBUTION_FACTORS,
                          methods=tuple(METHODS), progress=None) -> PolaIpdResult:
    r"""Run the README's Fig. 3 commands on the exact contribution game.

    Parameters
    ----------
    runs : int
        Runs per method and contribution factor (the README's ``--repeats 20``).
    init_std : float
        Standard deviation of the initial logits.
    seed : int or numpy.random.Generator
        Every method starts from the same logits for a given cf.
    factors : sequence of str
        Contribution factors (decimal strings, exact).
    methods : sequence of str
        Labels of :data:`METHODS`.
    progress : callable, optional
        ``progress(done, total)`` after every (method, cf).

    Examples
    --------
    >>> res = pola_ipd_reproduction(**REDUCED, methods=("LOLA tabular",))
    >>> list(res.tft), list(res.tft["LOLA tabular"])
    (['LOLA tabular'], ['1.33'])
    """
    import time
    runs = check_int(runs, "runs", 1)
    init_std = check_real(init_std, "init_std", nonnegative=True)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be some of {list(METHODS)}, got {list(methods)}")
    factors = tuple(str(f) for f in factors)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    starts = {cf: [rng.normal(0.0, init_std, (runs, 5)) for _ in range(2)] for cf in factors}
    tft: dict[str, dict] = {m: {} for m in methods}
    score: dict[str, dict] = {m: {} for m in methods}
    failed: dict[str, dict] = {m: {} for m in methods}
    seconds: dict[str, dict] = {m: {} for m in methods}
    total, done = len(methods) * len(factors), 0
    for m in methods:
        rule, epochs, delta, hyper, per_cf, pre = METHODS[m]
        for cf in factors:
            t0 = time.perf_counter()
            game = contribution(2, cf)
            played: Any = reparameterised(game, POLA_ILL_CONDITION) if pre else game
            h: dict[str, Any] = dict(hyper)
            if "eta" in h and cf in per_cf:
                h["eta"] = per_cf[cf]
            f = update_field(played, rule, **h)
            t1, t2 = (s.copy() for s in starts[cf])
            for _ in range(epochs):                  # a failed run stays NaN, the rest go on
                alive = np.isfinite(t1).all(-1) & np.isfinite(t2).all(-1)
                if not alive.any():
                    break
                g1, g2 = f(t1[alive], t2[alive], failed="nan")
                t1[alive] += delta * g1
                t2[alive] += delta * g2
            if pre:                                  # the logits M phi the agents play
                t1, t2 = played.logits(t1, t2)
            bad = np.asarray(~(np.isfinite(t1).all(-1) & np.isfinite(t2).all(-1)))
            ok = np.where(bad[:, None], 0.0, t1), np.where(bad[:, None], 0.0, t2)
            tft[m][cf] = finds_tft(game, *ok, cf) & ~bad
            score[m][cf] = np.where(bad, np.nan, game.value(*ok).mean(-1))
            failed[m][cf] = int(bad.sum())
            seconds[m][cf] = time.perf_counter() - t0
            done += 1
            if progress is not None:
                progress(done, total)
    params = dict(runs=runs, init_std=init_std, seed=seed if isinstance(seed, int) else None,
                  factors=factors, methods=tuple(methods))
    return PolaIpdResult(tft, score, failed, seconds, params)
