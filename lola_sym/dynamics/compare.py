r"""Every learning rule on one game, from the same seeds, summarised side by side.

:func:`compare` trains each rule in self-play from *identical* initial
parameters (one draw from the seed, shared by all rules) and reports the
final average reward per step of both agents, the distance to a named target
and how many runs diverged. Targets:

``"tft"``
    Tit-for-tat in a memory-1 iterated game: the largest
    :math:`|p_s - p^{\text{TFT}}_s|` over both agents' five states
    (:math:`p^{\text{TFT}} = (1, 1, 0, 1, 0)` in own-perspective order
    [s0, CC, CD, DC, DD]); the share of TFT-like agents (criterion of
    :func:`lola_sym.games.outcomes.tft_like`) is reported as well.
``"nash"``
    The game's known Nash set: all probabilities 1/2 in (iterated) matching
    pennies (largest :math:`|p - 1/2|`); the origin in the Hamiltonian and
    Balduzzi games (Euclidean norm); the line :math:`x + y = 1` in Tandem
    (distance :math:`|x + y - 1| / \sqrt 2`).
a callable
    ``target(theta_1, ..., theta_n) -> distances`` of shape ``(runs,)``.

Games of more than two players are compared with the rules that have an
n-player form (registry tag ``"n_player"``); by default those of them tagged
``"compare"`` (:func:`default_rules`).

References
----------
.. [1] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. (Rules compared on Tandem and the IPD.)
.. [2] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness. AAMAS.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import expit

from lola_sym._validation import check_game, check_positive_int, check_real
from lola_sym.games.outcomes import nash_distance, tft_like
from lola_sym.rules import get_rule, rule_names
from lola_sym.dynamics.training import METHODS, initial_parameters, train

__all__ = ["compare", "Comparison", "Outcome", "target_distance", "DEFAULT_RULES",
           "default_rules", "default_target"]

#: The rules :func:`compare` runs on a two-player game when none are named: those tagged
#: ``"compare"`` in the registry, in registration order (HOLA at its default order 2).
DEFAULT_RULES = rule_names("compare")


def default_rules(game) -> tuple:
    """The rules :func:`compare` runs on ``game`` when none are named.

    :data:`DEFAULT_RULES` for two players; for more, those of them with an
    n-player form (registry tag ``"n_player"``), in registration order.

    Examples
    --------
    >>> from lola_sym import games
    >>> default_rules(games.ipd()) == DEFAULT_RULES
    True
    >>> default_rules(games.contribution(3))
    ('nl', 'lola', 'la', 'lola_full', 'exact_lola')
    """
    if len(game.dims) == 2:
        return DEFAULT_RULES
    return tuple(r for r in rule_names("n_player") if r in DEFAULT_RULES)

_TFT_P = np.array([1.0, 1.0, 0.0, 1.0, 0.0])
_DEFAULT_TARGET = {"IPD": "tft", "IMP": "nash", "matching pennies": "nash",
                   "Hamiltonian": "nash", "Balduzzi": "nash", "Tandem": "nash"}


def default_target(game):
    """The target :func:`compare` uses for ``game`` by default (``None`` if none is known).

    Examples
    --------
    >>> from lola_sym import games
    >>> default_target(games.ipd()), default_target(games.tandem()), default_target(games.chicken())
    ('tft', 'nash', None)
    """
    return _DEFAULT_TARGET.get(game.name)


def target_distance(game, target, *thetas) -> np.ndarray:
    r"""Distance of each run's parameters (one array per agent) to ``target``.

    See the module docstring; ``"tft"`` and ``"nash"`` are targets of
    two-player games, a callable takes every agent's parameters.

    Examples
    --------
    >>> from lola_sym import games, policy
    >>> float(target_distance(games.ipd(), "tft", policy("tft", 30.0), policy("tft", 30.0)))
    ... # doctest: +ELLIPSIS
    9.3...e-14
    >>> float(target_distance(games.tandem(), "nash", np.array([0.5]), np.array([0.5])))
    0.0
    """
    n = len(game.dims)
    if len(thetas) != n:
        raise TypeError(f"target_distance takes one parameter array per agent: {game.name} has "
                        f"{n} players, got {len(thetas)}")
    thetas = tuple(np.asarray(t, dtype=float) for t in thetas)
    if callable(target):
        d = np.asarray(target(*thetas), dtype=float)
        if d.shape != thetas[0].shape[:-1]:
            raise ValueError(f"target returned shape {d.shape}, expected {thetas[0].shape[:-1]}")
        return d
    if target in ("tft", "nash") and n != 2:
        raise ValueError(f"target {target!r} is defined for two-player games; {game.name} has "
                         f"{n} players: pass a callable target(*thetas) -> distances")
    theta1, theta2 = thetas
    if target == "tft":
        if game.dims != (5, 5) or getattr(game, "gamma", None) is None:
            raise ValueError(f"target 'tft' needs a memory-1 iterated game, not {game.name}")
        p = expit(np.concatenate([theta1, theta2], axis=-1))
        return np.max(np.abs(p - np.tile(_TFT_P, 2)), axis=-1)
    if target == "nash":
        if game.name in ("IMP", "matching pennies"):
            return nash_distance(theta1, theta2)
        if game.name in ("Hamiltonian", "Balduzzi"):
            return np.sqrt(np.sum(theta1 ** 2, axis=-1) + np.sum(theta2 ** 2, axis=-1))
        if game.name == "Tandem":
            return np.abs(theta1[..., 0] + theta2[..., 0] - 1.0) / np.sqrt(2.0)
        raise ValueError(f"no known Nash target for {game.name!r}; pass a callable "
                         f"target(theta1, theta2) -> distances")
    raise ValueError(f"unknown target {target!r}; use 'tft', 'nash', a callable or None")


@dataclass(frozen=True)
class Outcome:
    """One rule's summary in a :class:`Comparison` (means and stds over non-diverged runs).

    ``r1_*`` and ``r2_*`` are agents 1 and 2; ``reward_mean`` and ``reward_std``
    hold every agent's, in order (games of more than two players).
    """

    rule: str
    label: str
    hyper: dict
    r1_mean: float
    r1_std: float
    r2_mean: float
    r2_std: float
    distance_mean: float | None
    distance_std: float | None
    near_percent: float | None     # runs within ``near`` of the target
    tft_percent: float | None      # agents meeting the TFT criterion (target "tft")
    diverged: int
    runs: int
    seconds: float                 # derivation/compilation (or cache load) + training
    reward_mean: tuple = ()        # every agent's mean final reward
    reward_std: tuple = ()


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: one :class:`Outcome` per rule, plus the settings."""

    game: str
    target: str | None
    near: float
    settings: dict
    outcomes: tuple
    trajectories: dict

    def __getitem__(self, label) -> Outcome:
        for o in self.outcomes:
            if o.label == label:
                return o
        raise KeyError(f"no rule {label!r} in this comparison; have "
                       f"{[o.label for o in self.outcomes]}")

    def as_dict(self) -> dict:
        """JSON-serialisable summary (no trajectories)."""
        return {"game": self.game, "target": self.target, "near": self.near,
                "settings": dict(self.settings),
                "outcomes": [asdict(o) for o in self.outcomes]}

    def format(self) -> str:
        """A plain-text table."""
        head = (f"{self.game}: {self.settings['runs']} runs x {self.settings['steps']} steps, "
                f"delta={self.settings['delta']}, method={self.settings['method']}, "
                f"seed={self.settings['seed']}, target={self.target}")
        n = max([2] + [len(o.reward_mean) for o in self.outcomes])
        rs = "".join(f"{'R' + str(k + 1):>16}" for k in range(n))
        cols = f"{'rule':<16}{rs}{'dist':>16}{'near%':>7}{'TFT%':>7}{'div':>5}{'s':>7}"
        lines = [head, cols]
        for o in self.outcomes:
            dist = "" if o.distance_mean is None else f"{o.distance_mean:.3f} ({o.distance_std:.3f})"
            near = "" if o.near_percent is None else f"{o.near_percent:.0f}"
            tft = "" if o.tft_percent is None else f"{o.tft_percent:.0f}"
            pairs = tuple(zip(o.reward_mean, o.reward_std)) or (
                (o.r1_mean, o.r1_std), (o.r2_mean, o.r2_std))
            lines.append(f"{o.label:<16}" + "".join(f"{_ms(m, s):>16}" for m, s in pairs)
                         + f"{dist:>16}{near:>7}{tft:>7}{o.diverged:>5}{o.seconds:>7.2f}")
        return "\n".join(lines)


def _ms(m, s):
    return "nan" if not np.isfinite(m) else f"{m:+.3f} ({s:.3f})"


def _spec(entry):
    if isinstance(entry, str):
        return entry, entry, {}
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict):
        name, kw = entry
        label = name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"
        return label, name, dict(kw)
    raise TypeError(f"a rule must be a name or (name, dict of hyper-parameters), got {entry!r}")


def compare(game, rules=None, *, runs: int = 20, steps: int = 200, delta: float = 1.0,
            seed=0, init_std: float = 1.0, method: str = "simultaneous", target="default",
            near: float = 0.1, max_abs: float = 1e4, parameters: dict | None = None,
            **hyper) -> Comparison:
    r"""Train every rule in self-play on ``game`` from the same initial parameters.

    Parameters
    ----------
    game : IteratedGame, RepeatedGame or DifferentiableGame
        Any number of players; with more than two, every rule needs an
        n-player form (registry tag ``"n_player"``).
    rules : sequence of str or (str, dict), optional
        Rule names, or ``(name, {hyper or options})`` for per-rule settings
        (e.g. ``("hola", {"order": 3})``); default :func:`default_rules`.
    runs, steps, delta, init_std, method, max_abs
        As in :func:`lola_sym.train`; diverged runs are marked, counted and
        left out of the statistics.
    seed : int or numpy.random.Generator
        One draw of initial parameters shared by every rule.
    target : "default", "tft", "nash", callable or None
        What to measure the distance to (``"default"``: :func:`default_target`).
    near : float
        Runs whose final distance is below this count as having reached the target.
    parameters : dict, optional
        Values of the symbols of a game family (see :func:`lola_sym.train`).
    **hyper
        Shared hyper-parameters (e.g. ``eta``), given to each rule that takes them.

    Examples
    --------
    >>> from lola_sym import games
    >>> c = compare(games.tandem(), ["nl", "lola_full", "sos"], runs=8, steps=500, delta=0.1,
    ...             eta=0.1, init_std=0.1)
    >>> lola, sos = c["lola_full"], c["sos"]   # SOS paper: mean loss 4/9 (LOLA) and 0 (SOS)
    >>> round(-(lola.r1_mean + lola.r2_mean) / 2, 4), abs(sos.r1_mean + sos.r2_mean) < 1e-9
    (0.4444, True)
    """
    check_game(game)
    if rules is None:
        rules = default_rules(game)
    if isinstance(rules, str):
        rules = [rules]
    specs = [_spec(r) for r in rules]
    if not specs:
        raise ValueError("give at least one rule to compare")
    labels = [s[0] for s in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"rules must be distinct, got {labels}")
    takes, settings_of = set(), {}
    for label, name, kw in specs:               # validate every rule's settings before training
        rule = get_rule(name)
        rule.check_players(game)                # more than two players: n-player rules only
        rule.split(kw)                          # per-rule names must be the rule's own
        takes |= set(rule.hyper) | set(rule.options)
        h = rule.accepted(hyper, strict=False) | kw
        rule.hyper_values(rule.split(h)[1])
        settings_of[label] = h
    unused = sorted(set(hyper) - takes)
    if unused:
        raise ValueError(f"no rule in {labels} takes the hyper-parameter {unused[0]!r}; "
                         f"they take {sorted(takes)}")
    runs = check_positive_int(runs, "runs")
    near = check_real(near, "near", positive=True)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    if not (target is None or isinstance(target, str) or callable(target)):
        raise TypeError(f"target must be 'default', 'tft', 'nash', a callable or None, "
                        f"got {type(target).__name__}")
    target = default_target(game) if target == "default" else target
    max_abs = check_real(max_abs, "max_abs", positive=True)
    std = check_real(init_std, "init_std", nonnegative=True)
    thetas = initial_parameters(game, runs, seed, std, max_abs)
    if target is not None:
        target_distance(game, target, *(t[:1] for t in thetas))   # validate before training
    outcomes, trajectories = [], {}
    for label, name, kw in specs:
        h = settings_of[label]
        t0 = time.perf_counter()
        tr = train(game, name, thetas=thetas, steps=steps, delta=delta, method=method,
                   on_divergence="mark", max_abs=max_abs, parameters=parameters, **h)
        seconds = time.perf_counter() - t0
        trajectories[label] = tr
        outcomes.append(_summarise(game, label, name, tr, target, near, seconds))
    settings = {"runs": runs, "steps": steps, "delta": delta, "seed": seed if not isinstance(
        seed, np.random.Generator) else "generator", "init_std": std, "method": method,
        **{k: v for k, v in hyper.items()}}
    if parameters:
        settings["parameters"] = dict(parameters)
    tname = target if (target is None or isinstance(target, str)) else getattr(
        target, "__name__", "callable")
    return Comparison(game.name, tname, near, settings, tuple(outcomes), trajectories)


def _summarise(game, label, name, tr, target, near, seconds) -> Outcome:
    ok = ~tr.diverged
    r = tr.final_reward[ok]
    final = [t[-1][ok] for t in tr.thetas]

    def ms(x) -> tuple[float, float]:
        return (float(np.mean(x)), float(np.std(x))) if x.size else (float("nan"), float("nan"))

    per_agent = [ms(r[:, k]) for k in range(r.shape[1])]
    dist = near_pct = tft = None
    if target is not None:
        d = target_distance(game, target, *final)
        dist = ms(d)
        near_pct = float(100 * np.mean(d < near)) if d.size else float("nan")
        if target == "tft":
            tft = float(100 * np.mean(np.concatenate([tft_like(t) for t in final]))) \
                if d.size else float("nan")
    return Outcome(name, label, dict(tr.hyper[0]), *per_agent[0], *per_agent[1],
                   None if dist is None else dist[0], None if dist is None else dist[1],
                   near_pct, tft, int(tr.diverged.sum()), tr.runs, seconds,
                   tuple(m for m, _ in per_agent), tuple(s for _, s in per_agent))
