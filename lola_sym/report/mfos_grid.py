r"""M-FOS's baseline grid, exactly: {IPD, IMP, chicken} x {STATIC, NL, LOLA, MAMAML}^2.

The protocol of ``src/main_non_mfos.py`` and ``NonMfosMetaGames`` in
``luchris429/Model-Free-Opponent-Shaping`` @ 3efb169 (Lu et al. 2022):

* **Games** (``src/environments.py``), built here from player 1's (M-FOS's
  ``p1``'s) perspective. M-FOS evaluates ``game([p2, p1])``, so its ``p1`` sits in
  the game's *second* seat:

  - IPD: :math:`\gamma = 0.96`, rewards [[-1, -3], [0, -2]]: the catalogue's
    :func:`~lola_sym.games.ipd`;
  - IMP: :math:`\gamma = 0.96`, seat 1 gets [[-1, 1], [1, -1]] and seat 2 the
    negative, so ``p1`` wins (+1) on a *match*: :func:`mfos_imp` (the catalogue's
    :func:`~lola_sym.games.imp` has :math:`\gamma = 0.9`);
  - chicken: one-shot, [[0, -1], [1, -100]] / [[0, 1], [-1, -100]]: the catalogue's
    :func:`~lola_sym.games.chicken_one_shot` (symmetric, so the seat does not matter).
* **Players**: STATIC (no update); NL (naive step, lr 1); LOLA with both terms and
  lookahead = lr = 1 (``lola_full`` with :math:`\eta = 1`, :math:`\delta = 1`:
  :math:`g = \nabla_1[V^1 + \eta \nabla_2 V^1 \cdot \nabla_2 V^2]`, M-FOS's
  ``grad_L[1][1] - lr * grad(grad_L[0][0] . grad_L[0][1])``); MAMAML: naive steps of
  lr 1 (M-FOS's grid uses ``self.lr``, not the learned :math:`\alpha`) from the
  learned initial logits (:func:`lola_sym.dynamics.meta.mamaml`, player 1's role;
  M-FOS loads the same weights for either seat).
* **Protocol**: batch 8192 of N(0, 1) logits, one update at ``reset`` whose reward is
  dropped, then 100 steps; the reward of each step is taken *before* its update,
  :math:`(1-\gamma)V` for IPD and IMP and the raw value for chicken, averaged over
  steps and batch. MAMAML pairs run once per learned seed (10 in M-FOS) and are
  averaged.

The ZD check (:mod:`lola_sym.analysis.zd`) is applied to every player's final
memory-1 policy in IPD and IMP: the median relative residual and the share of runs
within :data:`NEAR_ZD` of a ZD policy. M-FOS's abstract claims that M-FOS, not these
baselines, is the first to learn the extortion strategy.

References
----------
.. [1] Lu, C., Willi, T., Schroeder de Witt, C. and Foerster, J. (2022).
   Model-Free Opponent Shaping. ICML. arXiv:2205.01447, Sec. 5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, cast

import numpy as np
import sympy as sp

from lola_sym._validation import check_int, check_real
from lola_sym.analysis.zd import zd_check
from lola_sym.dynamics.meta import MFOS_MAMAML, MetaResult, good_shepherd, mamaml
from lola_sym.field import update_field
from lola_sym.games.catalogue import chicken_one_shot, ipd
from lola_sym.games.iterated import IteratedGame

__all__ = ["mfos_imp", "mfos_grid_reproduction", "MfosGridResult", "PLAYERS", "GAMES",
           "DEFAULTS", "REDUCED", "NEAR_ZD", "PAPER_CLAIM"]

#: The grid's players: name -> (rule, hyper-parameters); MAMAML learns its start first.
PLAYERS = {"STATIC": (None, {}), "NL": ("nl", {}), "LOLA": ("lola_full", {"eta": 1.0}),
           "MAMAML": ("nl", {})}
#: The defaults: main_non_mfos.py's batch 8192 and 100 steps, N(0, 1) starts, lr 1; MAMAML
#: trained with generate_mamaml's settings, 10 seeds (mamaml_IPD_0.th ... _9.th).
DEFAULTS: dict[str, Any] = dict(batch=8192, steps=100, init_std=1.0, lr=1.0, mamaml_seeds=10,
                                mamaml_options=dict(MFOS_MAMAML), shepherd=True)
#: A reduced setting that runs in seconds (CI).
REDUCED = dict(batch=8, steps=4, mamaml_seeds=1,
               mamaml_options=dict(batch=2, iterations=1, inner_steps=3), shepherd=False)
#: A policy whose relative ZD residual is below this counts as near-ZD in the table.
NEAR_ZD = 0.05
#: What M-FOS claims about these baselines (abstract and Sec. 5).
PAPER_CLAIM = ("no published table was available; claim: M-FOS (not in this grid) is the first "
               "method to learn the ZD extortion strategy in the IPD")


def mfos_imp() -> IteratedGame:
    """M-FOS's iterated matching pennies from its ``p1``'s side: p1 wins on a match, gamma 0.96.

    Examples
    --------
    >>> g = mfos_imp()
    >>> g.r1, float(g.gamma)
    ((1, -1, -1, 1), 0.96)
    """
    return IteratedGame(((1, -1), (-1, 1)), ((-1, 1), (1, -1)), sp.Rational(24, 25),
                        "IMP (M-FOS)")


#: The games: name -> (constructor, reward scale is (1 - gamma)).
GAMES: dict[str, tuple[Callable[[], Any], bool]] = {
    "IPD": (ipd, True), "IMP": (mfos_imp, True), "chicken": (chicken_one_shot, False)}


@dataclass(frozen=True)
class MfosGridResult:
    """Mean rewards of every pair in every game, and the ZD check of the final policies.

    Attributes
    ----------
    rows : list of dict
        ``game``, ``p1``, ``p2``, ``r1``, ``r2`` (mean reward per step), and for IPD/IMP
        ``zd1``, ``zd2`` (median relative ZD residual of each player's final policy),
        ``near_zd1``, ``near_zd2`` (share below :data:`NEAR_ZD`), ``chi1`` (median
        fitted extortion factor of player 1).
    mamaml : dict
        Per game, the learned starts and steps of each seed.
    shepherd : dict
        Per game, the Good Shepherd's static policy and its mean reward against NL.
    parameters : dict
    """

    rows: list
    mamaml: dict
    shepherd: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)

    def format_table(self) -> str:
        """The grid as printed text, with the ZD columns and the claim beside it."""
        p = self.parameters
        lines = [f"M-FOS non-M-FOS grid: batch {p['batch']}, {p['steps']} steps, "
                 f"N(0, {p['init_std']:g}^2) starts, lr {p['lr']:g}; MAMAML: "
                 f"{p['mamaml_seeds']} seed(s), {p['mamaml_options']}"]
        head = (f"{'game':8} {'p1':7} {'p2':7} {'reward p1':>10} {'reward p2':>10} "
                f"{'ZD res p1':>9} {'nearZD p1':>9} {'chi p1':>7} {'ZD res p2':>9} "
                f"{'nearZD p2':>9}")
        lines += [head, "-" * len(head)]
        for r in self.rows:
            zd = ""
            if "zd1" in r:
                zd = (f" {r['zd1']:9.3f} {100 * r['near_zd1']:8.1f}% {r['chi1']:7.2f} "
                      f"{r['zd2']:9.3f} {100 * r['near_zd2']:8.1f}%")
            lines.append(f"{r['game']:8} {r['p1']:7} {r['p2']:7} {r['r1']:+10.4f} "
                         f"{r['r2']:+10.4f}" + zd)
        for g, s in self.shepherd.items():
            lines.append(f"{g:8} Good Shepherd (static, learned) vs NL: reward p1 "
                         f"{s['r1']:+.4f}, p2 {s['r2']:+.4f}"
                         + (f", ZD residual {s['zd']:.3f}, chi {s['chi']:.2f}"
                            if "zd" in s else ""))
        lines.append(f"reward = (1 - gamma) V per step for IPD and IMP, the raw value for "
                     f"chicken, before each update, mean over steps and batch; ZD res = median "
                     f"relative residual of the final memory-1 policy (Press & Dyson), "
                     f"nearZD = share below {NEAR_ZD}. Paper: {PAPER_CLAIM}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """Plain data (for ``--json``)."""
        return {"parameters": dict(self.parameters), "rows": self.rows,
                "mamaml": self.mamaml, "shepherd": self.shepherd}

    def plot(self, path=None):
        """One heat map per game of player 1's mean reward over the 4 x 4 pairs."""
        from lola_sym.report.plot_support import _figure, _save
        names = list(PLAYERS)
        games_run = list(dict.fromkeys(r["game"] for r in self.rows))
        fig = _figure((4.0 * len(games_run), 3.8))
        axes = np.atleast_1d(fig.subplots(1, len(games_run)))
        for ax, g in zip(axes, games_run):
            M = np.full((4, 4), np.nan)
            for r in self.rows:
                if r["game"] == g:
                    M[names.index(r["p1"]), names.index(r["p2"])] = r["r1"]
            im = ax.imshow(M, cmap="viridis")
            lo, hi = np.nanmin(M), np.nanmax(M)
            for i in range(4):
                for j in range(4):
                    if np.isfinite(M[i, j]):
                        light = hi > lo and (M[i, j] - lo) / (hi - lo) > 0.6
                        ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", fontsize=7,
                                color="k" if light else "w")
            ax.set(xticks=range(4), yticks=range(4), xticklabels=names, yticklabels=names,
                   xlabel="p2", ylabel="p1", title=f"{g}: reward of p1")
            fig.colorbar(im, ax=ax, shrink=0.8)
        return _save(fig, path)


def _play(game, names, starts, steps, lr, scale):
    """Rewards per step ``(steps, batch, 2)`` and the final parameters, M-FOS's protocol."""
    fields = [None if PLAYERS[n][0] is None else update_field(game, PLAYERS[n][0], **PLAYERS[n][1])
              for n in names]
    th = [s.copy() for s in starts]

    def update(th):
        gs = [None if f is None else f(*th)[i] for i, f in enumerate(fields)]
        return [t if g is None else t + lr * g for t, g in zip(th, gs)]
    th = update(th)                                     # reset(): one step, reward dropped
    rewards = []
    for _ in range(steps):
        rewards.append(game.value(*th) * scale)
        th = update(th)
    return np.stack(rewards), th


def mfos_grid_reproduction(batch: int = DEFAULTS["batch"], steps: int = DEFAULTS["steps"],
                           init_std: float = DEFAULTS["init_std"], lr: float = DEFAULTS["lr"],
                           mamaml_seeds: int = DEFAULTS["mamaml_seeds"],
                           mamaml_options=None, shepherd: bool = DEFAULTS["shepherd"],
                           games=tuple(GAMES), seed=0, progress=None) -> MfosGridResult:
    r"""Run M-FOS's baseline grid exactly, with the ZD check of the final policies.

    Parameters
    ----------
    batch, steps : int
        Runs per pair (8192) and steps (100).
    init_std, lr : float
        Std of the initial logits (1) and every learner's step (1).
    mamaml_seeds : int
        MAMAML starts learned per game (10 in M-FOS), each paired with the grid once.
    mamaml_options : dict, optional
        Settings of :func:`~lola_sym.dynamics.meta.mamaml` (default M-FOS's).
    shepherd : bool
        Also learn the Good Shepherd static policy against NL (same settings).
    games : sequence of str
        Some of :data:`GAMES`.
    seed : int or numpy.random.Generator
    progress : callable, optional
        ``progress(done, total)`` after every pair.

    Returns
    -------
    MfosGridResult

    Examples
    --------
    >>> res = mfos_grid_reproduction(games=("chicken",), **REDUCED)
    >>> len(res.rows)
    16
    """
    batch = check_int(batch, "batch", 1)
    steps = check_int(steps, "steps", 1)
    init_std = check_real(init_std, "init_std", nonnegative=True)
    lr = check_real(lr, "lr", positive=True)
    mamaml_seeds = check_int(mamaml_seeds, "mamaml_seeds", 1)
    opts = dict(MFOS_MAMAML if mamaml_options is None else mamaml_options)
    unknown = [g for g in games if g not in GAMES]
    if unknown or not games:
        raise ValueError(f"games must be some of {list(GAMES)}, got {list(games)}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    rows, learned, shepherds = [], {}, {}
    total, done = 16 * len(games), 0
    for gname in games:
        make, discounted = GAMES[gname]
        game = make()
        scale = float(1 - game.gamma) if discounted else 1.0
        memory1 = isinstance(game, IteratedGame)
        seeds = [mamaml(game, seed=rng, **opts) for _ in range(mamaml_seeds)]
        learned[gname] = [{"theta0": m.theta0.tolist(), "alpha": m.alpha} for m in seeds]
        if shepherd:
            gs = good_shepherd(game, seed=rng, **opts)
            start = [np.broadcast_to(gs.theta0, (batch, game.dims[0])),
                     rng.normal(0.0, init_std, (batch, game.dims[1]))]
            rew, th = _play(game, ("STATIC", "NL"), start, steps, lr, scale)
            info = {"theta0": gs.theta0.tolist(), "r1": float(rew[..., 0].mean()),
                    "r2": float(rew[..., 1].mean())}
            if memory1:
                z = zd_check(game, gs.theta0, 1)
                info.update(zd=float(z.relative_residual), chi=float(z.chi))
            shepherds[gname] = info
        for p1 in PLAYERS:
            for p2 in PLAYERS:
                inits = seeds if "MAMAML" in (p1, p2) else [None]
                r1, r2, finals = [], [], []
                for m in inits:
                    start = [rng.normal(0.0, init_std, (batch, d)) for d in game.dims]
                    for i, name in enumerate((p1, p2)):
                        if name == "MAMAML":         # then inits are the MAMAML seeds
                            theta0 = cast(MetaResult, m).theta0
                            start[i] = np.broadcast_to(theta0, (batch, game.dims[i])).copy()
                    rew, th = _play(game, (p1, p2), start, steps, lr, scale)
                    r1.append(rew[..., 0].mean())
                    r2.append(rew[..., 1].mean())
                    finals.append(th)
                row = {"game": gname, "p1": p1, "p2": p2, "r1": float(np.mean(r1)),
                       "r2": float(np.mean(r2))}
                if memory1:
                    for i in (1, 2):
                        z = zd_check(game, np.concatenate([f[i - 1] for f in finals]), i)
                        row[f"zd{i}"] = float(np.median(z.relative_residual))
                        row[f"near_zd{i}"] = float(np.mean(z.relative_residual < NEAR_ZD))
                        if i == 1:
                            row["chi1"] = float(np.median(z.chi))
                rows.append(row)
                done += 1
                if progress is not None:
                    progress(done, total)
    params = dict(batch=batch, steps=steps, init_std=init_std, lr=lr,
                  mamaml_seeds=mamaml_seeds, mamaml_options=opts, games=list(games),
                  seed=seed if isinstance(seed, int) else None)
    return MfosGridResult(rows, learned, shepherds, params)
