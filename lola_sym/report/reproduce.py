r"""Reproduction of the LOLA paper's exact-gradient experiments (Table 3, Figs. 3-4).

IPD and IMP; NL-Ex and LOLA-Ex self-play and LOLA vs NL; 50 runs,
:math:`\theta \sim N(0, 1)`, :math:`\delta = \eta = 1`, 200 updates.

Tit-for-tat criterion (the paper does not define its %TFT): an agent's final
policy is TFT-like when, in its own-perspective states, it cooperates with
probability > 1/2 in s0, CC and DC and with probability < 1/2 in CD and DD,
i.e. it copies the opponent's last move and opens with C. The reported
percentage is over agents (both agents of every run).

Distance to the Nash equilibrium of IMP: per run, the largest
:math:`|p - 1/2|` over the 10 policy probabilities of both agents.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Table 3.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from lola_sym.games import imp, ipd
from lola_sym.games.outcomes import nash_distance, tft_like
from lola_sym.rules import get_rule
from lola_sym.dynamics.training import train

__all__ = ["tft_like", "nash_distance", "lola2018", "format_table", "PAPER_TABLE3", "Row"]

#: Table 3 of the LOLA paper: (game, setting) -> (R mean, R std, %TFT or None).
PAPER_TABLE3 = {
    ("IPD", "NL-Ex"): (-1.98, 0.14, 20.8),
    ("IPD", "LOLA-Ex"): (-1.06, 0.19, 81.0),
    ("IMP", "NL-Ex"): (0.0, 0.37, None),
    ("IMP", "LOLA-Ex"): (0.0, 0.02, None),
}

@dataclass(frozen=True)
class Row:
    """One line of the reproduction table."""

    game: str
    setting: str
    r1_mean: float
    r1_std: float
    r2_mean: float
    r2_std: float
    r_mean: float          # pooled over both agents
    r_std: float
    tft_percent: float | None
    nash_distance: float | None
    diverged: int
    paper_r_mean: float | None
    paper_r_std: float | None
    paper_tft_percent: float | None


_SETTINGS = (("NL-Ex", "nl", "nl"), ("LOLA-Ex", "lola", "lola"), ("LOLA-Ex vs NL-Ex", "lola", "nl"))


def lola2018(runs: int = 50, steps: int = 200, delta: float = 1.0, eta: float = 1.0,
             seed: int = 0, games=("IPD", "IMP")) -> list:
    """Run the exact-gradient experiments; returns a list of :class:`Row`.

    Every setting starts from the same seeded initial parameters.

    Examples
    --------
    >>> rows = lola2018(runs=4, steps=3, games=("IPD",))
    >>> [r.setting for r in rows]
    ['NL-Ex', 'LOLA-Ex', 'LOLA-Ex vs NL-Ex']
    """
    makers = {"IPD": ipd, "IMP": imp}
    rows = []
    for name in games:
        if name not in makers:
            raise ValueError(f"unknown game {name!r}; choose from {sorted(makers)}")
        game = makers[name]()
        for label, r1, r2 in _SETTINGS:
            tr = train(game, r1, r2, runs=runs, steps=steps, delta=delta, seed=seed,
                       hyper1=_eta(r1, eta), hyper2=_eta(r2, eta), on_divergence="mark")
            R = tr.final_reward
            t1, t2 = tr.theta1[-1], tr.theta2[-1]
            tft = None
            nash = None
            if name == "IPD":
                tft = 100.0 * float(np.mean(np.concatenate([tft_like(t1), tft_like(t2)])))
            else:
                nash = float(np.mean(nash_distance(t1, t2)))
            paper = PAPER_TABLE3.get((name, label), (None, None, None))
            rows.append(Row(name, label, float(R[:, 0].mean()), float(R[:, 0].std()),
                            float(R[:, 1].mean()), float(R[:, 1].std()), float(R.mean()),
                            float(R.std()), tft, nash, int(tr.diverged.sum()), *paper))
    return rows


def _eta(rule, eta):
    """LOLA's lookahead ``eta`` for the rules that take one (the naive learner takes none)."""
    return get_rule(rule).accepted({"eta": eta}, strict=False)


def _fmt(x, spec="+.2f"):
    return "-" if x is None else format(x, spec)


def format_table(rows, header: str = "") -> str:
    """The rows as a fixed-width text table beside the paper's numbers.

    Settings with diverged runs are listed below the table (their runs are frozen
    at the last finite parameters and counted in the statistics).

    Examples
    --------
    >>> row = Row("IPD", "LOLA-Ex", -1.06, 0.02, -1.07, 0.03, -1.065, 0.025, 97.5, None, 1,
    ...           -1.04, 0.01, 97.0)
    >>> print(format_table([row]))  # doctest: +NORMALIZE_WHITESPACE
    game setting                R agent 1      R agent 2        paper R   %TFT  paper Nash dist
    -------------------------------------------------------------------------------------------
    IPD  LOLA-Ex              -1.06 (0.02)    -1.07 (0.03)   -1.04 (0.01)   97.5   97.0         -
    R = average reward per step (1 - gamma) V at the end, mean (std) over runs; %TFT over both agents; Nash dist = mean over runs of max |p - 1/2|.
    diverged runs (frozen at their last finite parameters, included above): IPD LOLA-Ex 1
    """
    lines = [header] if header else []
    cols = (f"{'game':4} {'setting':17} {'R agent 1':>14} {'R agent 2':>14} {'paper R':>14} "
            f"{'%TFT':>6} {'paper':>6} {'Nash dist':>9}")
    lines += [cols, "-" * len(cols)]
    for r in rows:
        paper = ("-" if r.paper_r_mean is None
                 else f"{r.paper_r_mean:+.2f} ({r.paper_r_std:.2f})")
        lines.append(
            f"{r.game:4} {r.setting:17} {r.r1_mean:+8.2f} ({r.r1_std:.2f}) "
            f"{r.r2_mean:+8.2f} ({r.r2_std:.2f}) {paper:>14} "
            f"{_fmt(r.tft_percent, '.1f'):>6} {_fmt(r.paper_tft_percent, '.1f'):>6} "
            f"{_fmt(r.nash_distance, '.3f'):>9}")
    lines.append("R = average reward per step (1 - gamma) V at the end, mean (std) over runs; "
                 "%TFT over both agents; Nash dist = mean over runs of max |p - 1/2|.")
    diverged = [f"{r.game} {r.setting} {r.diverged}" for r in rows if r.diverged]
    if diverged:
        lines.append("diverged runs (frozen at their last finite parameters, included above): "
                     + ", ".join(diverged))
    return "\n".join(lines)


def rows_as_dicts(rows) -> list:
    """Rows as plain dicts (for ``--json``)."""
    return [asdict(r) for r in rows]
