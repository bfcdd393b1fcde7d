r"""Round-robin tournaments between learning rules (the LOLA paper's Table 4).

:func:`tournament` trains every pair of rules (self-play included) with
:func:`~lola_sym.dynamics.training.train` from the same seeded initial parameters. The
learned policies can be exported as memory-one probability vectors and Axelrod
players with :mod:`lola_sym.sampling.memory_one` (re-exported here).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 6 and Table 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lola_sym._validation import check_game, check_int, check_positive_int, check_real
from lola_sym.games import IteratedGame, ipd
from lola_sym.rules import get_rule, rule_names
from lola_sym.dynamics.training import initial_parameters, train
from lola_sym.sampling.memory_one import (INITIAL_MODES, from_memory_one, long_run_reward,  # noqa: F401
                                 simulate_axelrod, stationary_distribution, to_axelrod,
                                 to_axelrod_game, to_memory_one)

__all__ = ["tournament", "TournamentResult", "Pairing", "DEFAULT_RULES", "to_memory_one",
           "from_memory_one", "stationary_distribution", "long_run_reward", "to_axelrod",
           "to_axelrod_game", "simulate_axelrod", "INITIAL_MODES"]

#: The rules of the default tournament: those tagged ``"tournament"`` in the registry, the
#: ones of Table 4 of [1] (NL, LOLA and second-order LOLA, tagged ``"lola2018_tournament"``)
#: first. The order matters: in a symmetric game the (A, B) entry of an earlier rule A is
#: trained and (B, A) mirrored from it.
DEFAULT_RULES = rule_names("tournament", first="lola2018_tournament")


# ---------------------------------------------------------------- the tournament
@dataclass(frozen=True, eq=False)
class Pairing:
    r"""The end of training of one (row rule, column rule) pair over all runs.

    Attributes
    ----------
    row, col : str
        The rule playing agent 1 (row of the table) and agent 2 (column).
    reward : ndarray, shape (runs, 2)
        Final average reward per step :math:`(1 - \gamma) V` of the row and column agent.
    theta_row, theta_col : ndarray, shape (runs, 5)
        Final logits of both agents, each in its own perspective.
    diverged : ndarray of bool, shape (runs,)
        Runs that diverged (frozen at their last finite parameters, still counted in the means).
    mirrored : bool
        True when the entry is the mirror image of the (col, row) training, which a
        symmetric game makes identical to training the swapped pair from swapped starts.
    """

    row: str
    col: str
    reward: np.ndarray
    theta_row: np.ndarray
    theta_col: np.ndarray
    diverged: np.ndarray
    mirrored: bool = False

    @property
    def mean(self) -> np.ndarray:
        """Mean over runs of the row and column agent's reward, shape (2,)."""
        return self.reward.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation over runs (ddof = 0, as in Table 3 of the reproduction), shape (2,)."""
        return self.reward.std(axis=0)

    @property
    def n_diverged(self) -> int:
        return int(self.diverged.sum())

    def swapped(self) -> "Pairing":
        """The same training seen from the other side (row and column exchanged)."""
        return Pairing(self.col, self.row, self.reward[:, ::-1], self.theta_col, self.theta_row,
                       self.diverged, not self.mirrored)


@dataclass(frozen=True, eq=False)
class TournamentResult:
    """The result of :func:`tournament`; ``pairings[(row, col)]`` is a :class:`Pairing`."""

    game: IteratedGame
    rules: tuple
    pairings: dict
    runs: int
    steps: int
    delta: float
    seed: int | None
    init_std: float
    ordered: bool
    hyper: dict

    def pairing(self, row: str, col: str) -> Pairing:
        """The entry of ``row`` (agent 1) against ``col`` (agent 2)."""
        try:
            return self.pairings[(row, col)]
        except KeyError:
            raise ValueError(f"no pairing ({row!r}, {col!r}); the rules are {list(self.rules)}") from None

    def _table(self, attr) -> np.ndarray:
        return np.array([[getattr(self.pairings[(a, b)], attr) for b in self.rules]
                         for a in self.rules])

    @property
    def mean(self) -> np.ndarray:
        """``mean[i, j] = (row, col)`` mean rewards of rules i vs j, shape (n, n, 2)."""
        return self._table("mean")

    @property
    def std(self) -> np.ndarray:
        """Standard deviations over runs, shape (n, n, 2)."""
        return self._table("std")

    @property
    def diverged(self) -> np.ndarray:
        """Number of diverged runs per entry, shape (n, n)."""
        return self._table("n_diverged")

    def score(self) -> dict:
        """Each rule's mean reward over all its opponents (each opponent weighted equally)."""
        return {r: float(m) for r, m in zip(self.rules, self.mean[:, :, 0].mean(axis=1))}

    def format(self, std: bool = False) -> str:
        """The table as text: row rule vs column rule, entries ``"r_row / r_col"``.

        With ``std=True`` each number is followed by its standard deviation over runs.
        """
        mean, sd, div = self.mean, self.std, self.diverged

        def cell(i, j):
            parts = [f"{mean[i, j, k]:+.2f}" + (f" ({sd[i, j, k]:.2f})" if std else "")
                     for k in (0, 1)]
            return " / ".join(parts) + ("*" if div[i, j] else " ")

        cells = [[cell(i, j) for j in range(len(self.rules))] for i in range(len(self.rules))]
        w = max(len(c) for row in cells for c in row) + 2
        lw = max(4, *(len(r) for r in self.rules)) + 1
        seed = "a Generator" if self.seed is None else self.seed
        head = (f"{self.game.name} tournament: average reward per step (1 - gamma) V at the end "
                f"(row / column), mean{' (std)' if std else ''} over {self.runs} runs; "
                f"{self.steps} steps, delta = {self.delta:g}, seed = {seed}")
        lines = [head, " " * lw + "".join(f"{r:>{w}}" for r in self.rules) + f"{'mean':>8}",
                 "-" * (lw + w * len(self.rules) + 8)]
        score = self.score()
        for i, r in enumerate(self.rules):
            lines.append(f"{r:<{lw}}" + "".join(f"{c:>{w}}" for c in cells[i])
                         + f"{score[r]:>+8.2f}")
        hyper = "; ".join(f"{r}: " + ", ".join(f"{k}={v:g}" for k, v in h.items())
                          for r, h in self.hyper.items() if h)
        lines.append("mean = the row rule's reward averaged over its opponents"
                     + (f"; {hyper}" if hyper else ""))
        if div.any():
            bad = ", ".join(f"{self.rules[i]} vs {self.rules[j]}: {div[i, j]}"
                            for i, j in zip(*np.nonzero(div)))
            lines.append(f"* diverged runs (frozen, included in the means): {bad}")
        return "\n".join(lines)

    def as_dict(self, policies: bool = True) -> dict:
        """A JSON-serialisable summary; ``policies`` adds each run's final policies.

        Policies are given as memory-one cooperation probabilities
        ``[s0, CC, CD, DC, DD]`` (own perspective, see :func:`to_memory_one`) and as logits.
        """
        pairs = []
        for (a, b), p in self.pairings.items():
            d = {"row": a, "col": b, "mean": p.mean.tolist(), "std": p.std.tolist(),
                 "diverged": p.n_diverged, "mirrored": p.mirrored}
            if policies:
                d["policies"] = {"row": to_memory_one(p.theta_row).tolist(),
                                 "col": to_memory_one(p.theta_col).tolist(),
                                 "row_logits": p.theta_row.tolist(),
                                 "col_logits": p.theta_col.tolist()}
            pairs.append(d)
        return {"game": {"name": self.game.name, **self.game.spec()}, "rules": list(self.rules),
                "runs": self.runs, "steps": self.steps, "delta": self.delta, "seed": self.seed,
                "init_std": self.init_std, "ordered": self.ordered,
                "hyper": {r: dict(h) for r, h in self.hyper.items()},
                "score": self.score(), "pairs": pairs}


def _check_rules(rules) -> tuple:
    if isinstance(rules, (str, bytes)) or not hasattr(rules, "__iter__"):
        raise TypeError(f"rules must be a sequence of rule names such as ('nl', 'lola'), "
                        f"got {type(rules).__name__} {rules!r}")
    names = tuple(get_rule(r).name for r in rules)   # ValueError naming an unknown rule
    if not names:
        raise ValueError("rules is empty: give at least one rule name, e.g. ('nl', 'lola')")
    dup = sorted({r for r in names if names.count(r) > 1})
    if dup:
        raise ValueError(f"rules must be distinct; repeated: {dup}")
    return names


def _resolve_hyper(game, rules, shared: dict, per_rule) -> dict:
    """Each rule's settings: the shared ones it takes, overridden by its ``hyper_by_rule``.

    Settings are hyper-parameters and structural options (HOLA's ``order``), all
    validated before any training: names, values within the rule's declared
    bounds (:meth:`~lola_sym.rules.registry.Rule.hyper_values`), and the size of the
    program an option asks for (:meth:`~lola_sym.rules.Rule.check_size`).
    """
    takes = {r: (*get_rule(r).hyper, *get_rule(r).options) for r in rules}
    for k in shared:
        if not any(k in takes[r] for r in rules):
            raise ValueError(f"no rule of {list(rules)} takes a hyper-parameter {k!r}; they take "
                             f"{sorted(set().union(*takes.values()))}")
    if per_rule is None:
        per_rule = {}
    if not isinstance(per_rule, Mapping):
        raise TypeError(f"hyper_by_rule must be a dict such as {{'sos': {{'a': 0.5}}}}, got "
                        f"{type(per_rule).__name__}")
    for r, h in per_rule.items():
        if r not in takes:
            raise ValueError(f"hyper_by_rule names {r!r}, which is not in rules {list(rules)}")
        if not isinstance(h, Mapping):
            raise TypeError(f"hyper_by_rule[{r!r}] must be a dict of {r!r}'s settings such as "
                            f"{{{(takes[r] or ('eta',))[0]!r}: ...}}, got {type(h).__name__}")
        get_rule(r).accepted(h, strict=True)
    out = {}
    for r in rules:
        rule = get_rule(r)
        h = {**rule.accepted(shared, strict=False), **per_rule.get(r, {})}
        options, values = rule.split(h)
        rule.hyper_values(values)
        rule.check_size(game, options)
        out[r] = h
    return out


def tournament(game=None, rules=DEFAULT_RULES, *, runs: int = 50, steps: int = 200,
               delta: float = 0.5, seed=0, init_std: float = 1.0, ordered: bool | None = None,
               hyper_by_rule: dict | None = None, progress=None, **hyper) -> TournamentResult:
    r"""Round robin between learning rules, self-play included (Table 4 of [1]_).

    Every entry (row rule as agent 1, column rule as agent 2) is trained with
    :func:`~lola_sym.dynamics.training.train` from the *same* initial parameters
    :math:`\theta_1, \theta_2 \sim N(0, \text{init\_std}^2)` drawn once from ``seed``
    with ``on_divergence="mark"``. A *trained* entry equals
    ``train(game, row, col, seed=seed, ...)`` for an int seed. A *mirrored* entry
    (``Pairing.mirrored``: the (B, A) entries of a symmetric game when ``ordered``
    is false) is not trained: it is the (A, B) training with the agents' roles
    exchanged, which equals training (B, A) from the swapped starts
    :math:`(\theta_2, \theta_1)` up to rounding, and is therefore *not*
    ``train(game, B, A, seed=seed, ...)``.

    Parameters
    ----------
    game : IteratedGame, optional
        Default :func:`~lola_sym.games.ipd`.
    rules : sequence of str
        Distinct rule names (see ``lola_sym.rules.RULES``).
    runs, steps : int
        Independent runs per entry and updates per run.
    delta : float
        Learning rate; 0.5 as in the caption of Table 4 of [1]_.
    seed : int or numpy.random.Generator
    init_std : float
    ordered : bool, optional
        Train both (A, B) and (B, A). By default only for asymmetric games: in a
        symmetric game (B, A) is the mirror image of (A, B) (the field is
        symmetric to rounding; chaotic training amplifies that rounding, so a
        separately trained swapped pair agrees only statistically).
    hyper_by_rule : dict, optional
        Per-rule hyper-parameters and structural options, e.g. ``{"sos": {"a": 0.5}}``
        or ``{"hola": {"order": 1}}``; they override ``**hyper``.
    progress : callable, optional
        Called as ``progress(row, col)`` before each training (for command lines).
    **hyper
        Shared hyper-parameters (e.g. ``eta``) and options (``order``), given to every
        rule that takes them.

    Returns
    -------
    TournamentResult

    Examples
    --------
    >>> res = tournament(rules=("nl", "lola"), runs=2, steps=3, seed=0)
    >>> res.mean.shape, sorted(res.pairings)[:2]
    ((2, 2, 2), [('lola', 'lola'), ('lola', 'nl')])
    >>> bool(np.array_equal(res.pairing("lola", "nl").reward,
    ...                     res.pairing("nl", "lola").reward[:, ::-1]))
    True
    >>> tournament(rules=("nl", "lolaa"), runs=2, steps=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown rule 'lolaa'; choose one of [...]

    References
    ----------
    .. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
       AAMAS. arXiv:1709.04326, Table 4.
    """
    game = ipd() if game is None else check_game(game)
    if game.kind != "iterated":
        raise TypeError("tournament needs an iterated 2x2 game (lola_sym.games.IteratedGame), "
                        f"got the one-shot {game.name}")
    rules = _check_rules(rules)
    runs = check_positive_int(runs, "runs")
    steps = check_int(steps, "steps", 0)
    delta = check_real(delta, "delta", positive=True)
    init_std = check_real(init_std, "init_std", nonnegative=True)
    if ordered is None:
        ordered = not game.is_symmetric
    elif not isinstance(ordered, (bool, np.bool_)):
        kind = type(ordered)
        shown = kind.__name__ if kind.__module__ == "builtins" else \
            f"{kind.__module__}.{kind.__name__}"
        raise TypeError(f"ordered must be a bool (or numpy.bool_) or None, got {shown}")
    ordered = bool(ordered)
    if not ordered and not game.is_symmetric:
        raise ValueError(f"{game.name} is not symmetric: the (B, A) entries cannot be mirrored "
                         "from (A, B); use ordered=True")
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable or None")
    per = _resolve_hyper(game, rules, hyper, hyper_by_rule)
    t1, t2 = initial_parameters(game, runs, seed, init_std)
    int_seed = None if isinstance(seed, np.random.Generator) else int(seed)

    pairings = {}
    for i, a in enumerate(rules):
        for j, b in enumerate(rules):
            if (a, b) in pairings:
                continue
            if not ordered and j < i:
                continue
            if progress is not None:
                progress(a, b)
            tr = train(game, a, b, runs=runs, steps=steps, delta=delta, theta1=t1, theta2=t2,
                       hyper1=per[a], hyper2=per[b], on_divergence="mark")
            p = Pairing(a, b, tr.final_reward.copy(), tr.theta1[-1].copy(),
                        tr.theta2[-1].copy(), tr.diverged.copy())
            pairings[(a, b)] = p
            if not ordered and a != b:
                pairings[(b, a)] = p.swapped()
    full = {}
    for r in rules:
        rule = get_rule(r)
        options, values = rule.split(per[r])
        full[r] = {**rule.hyper_values(values), **rule.check_options(options)}
    ordered_pairings = {(a, b): pairings[(a, b)] for a in rules for b in rules}
    return TournamentResult(game, rules, ordered_pairings, runs, steps, delta, int_seed,
                            init_std, ordered, full)
