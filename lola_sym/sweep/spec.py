r"""The specification of a sweep: its axes and settings, validated, with a canonical JSON form.

A :class:`SweepSpec` is what is shipped to workers (with the chunk they
compute) and what a store records to be resumed: game names or game values
(small immutable dataclasses), rule names, numbers. Never compiled code: the
workers rebuild the fields from the disk cache (:mod:`lola_sym.compile.cache`).

Axes, outer to inner (each given as a single value is a fixed setting, kept as
a scalar coordinate; as a list, an axis and a dimension of the dataset):

======== =============================================== ==========================
name     values                                          batched in one call?
======== =============================================== ==========================
game     catalogue names or game objects                 no
rules    a rule per agent (``"lola"``: every agent)      no
delta    learning rate :math:`\delta`                    no
delta2   agent 2's own rate :math:`\delta_2` (optional)  no
*hyper*  each rule hyper-parameter or option (``eta``)   no
*symbol* each symbol of a game family (``gamma``)        yes (rows)
init     initial points                                  yes (rows)
seed     seed indices                                    yes (rows)
======== =============================================== ==========================
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from lola_sym._validation import check_int, check_real
from lola_sym.dynamics.compare import default_target
from lola_sym.dynamics.training import METHODS
from lola_sym.games import by_name
from lola_sym.rules import get_rule
import lola_sym.sweep.quantities as Q
from lola_sym.sweep.grid import DEFAULT_CHUNK_ROWS, MAX_CHUNK_BYTES, Axis, Grid

__all__ = ["SweepSpec", "make_spec", "rules_label", "resolve_game", "agent_rules", "TARGETS"]

#: Targets of the ``distance`` quantity a sweep can ship to workers (by name).
TARGETS = ("default", "tft", "nash")

#: Axis names the sweep reserves (hyper-parameters and game symbols may not use them).
RESERVED = ("game", "rules", "delta", "init", "seed", "agent", "param", "step", "chunk")


def resolve_game(entry):
    """A game from a catalogue name or a game value (returned as is).

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> resolve_game("ipd") == ipd(), resolve_game(ipd()) == ipd()
    (True, True)
    >>> resolve_game("pd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown game 'pd'; choose one of [...]
    """
    return by_name(entry) if isinstance(entry, str) else entry


def rules_label(rules: tuple) -> str:
    """The coordinate label of a rule combination: ``"lola"`` (self-play) or ``"lola/nl"``.

    Examples
    --------
    >>> rules_label(("lola",)), rules_label(("lola", "nl"))
    ('lola', 'lola/nl')
    """
    return rules[0] if len(set(rules)) == 1 else "/".join(rules)


def _is_seq(x) -> bool:
    return isinstance(x, (list, tuple, np.ndarray, range)) and not isinstance(x, str)


def _values(x, name: str, kind) -> tuple:
    """``x`` (scalar or sequence) as (tuple of values, is an axis)."""
    if _is_seq(x):
        vals = tuple(np.asarray(x).ravel().tolist()) if isinstance(x, np.ndarray) else tuple(x)
        if not vals:
            raise ValueError(f"the {name} axis is empty; give at least one value")
        out = tuple(kind(v, name) for v in vals)
        if len(set(out)) != len(out):
            raise ValueError(f"the {name} axis repeats a value: {list(out)}")
        return out, True
    return (kind(x, name),), False


def _real(v, name):
    if isinstance(v, bool) or not isinstance(v, Real):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__} {v!r}")
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def _option(v, name):
    if isinstance(v, bool) or not isinstance(v, Integral):
        raise TypeError(f"{name} is a structural option and must be an int, got "
                        f"{type(v).__name__} {v!r}")
    return int(v)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep; build it with :func:`make_spec`.

    Every field is plain data; :meth:`to_json` is its canonical form and
    :attr:`digest` identifies it (a store refuses to resume another sweep).
    """

    games: tuple                 # catalogue names or game values
    games_dim: bool
    rules: tuple                 # tuples of one rule name per agent
    rules_dim: bool
    delta: tuple
    delta_dim: bool
    delta2: tuple | None         # agent 2's own rates (two-agent games), None: delta for all
    delta2_dim: bool
    hyper: tuple                 # (name, values, is_dim)
    parameters: tuple            # (symbol name, values, is_dim)
    inits: tuple | None          # one tuple of all agents' parameters per point
    seeds: tuple | None          # seed indices
    entropy: int
    steps: int
    method: str
    init_std: float
    max_abs: float
    quantities: tuple
    target: str
    along: tuple
    record_every: int
    converge_tol: float
    backend: str
    _games: tuple = field(default=(), compare=False, repr=False)

    # ---------------------------------------------------------------- games
    def game_objects(self) -> tuple:
        """The games of the game axis, resolved (catalogue names looked up)."""
        return self._games

    def game_labels(self) -> tuple:
        return tuple(g.name for g in self._games)

    def target_of(self, game):
        """The ``distance`` target on ``game`` (``None`` if it has none)."""
        return default_target(game) if self.target == "default" else self.target

    # ----------------------------------------------------------------- grid
    def axes(self) -> tuple:
        """The grid's axes in dataset order (see the module docstring)."""
        out = [Axis("game", self.games, self.game_labels(), self.games_dim, False),
               Axis("rules", self.rules, tuple(rules_label(r) for r in self.rules),
                    self.rules_dim, False),
               Axis("delta", self.delta, self.delta, self.delta_dim, False)]
        if self.delta2 is not None:
            out.append(Axis("delta2", self.delta2, self.delta2, self.delta2_dim, False))
        out += [Axis(n, v, v, d, False) for n, v, d in self.hyper]
        out += [Axis(n, v, v, d, True) for n, v, d in self.parameters]
        if self.inits is not None:
            out.append(Axis("init", self.inits, tuple(range(len(self.inits))), True, True))
        elif self.seeds is not None:
            out.append(Axis("seed", self.seeds, self.seeds, True, True))
        else:
            raise ValueError("a sweep needs seed indices or initial points; build it with "
                             "make_spec")
        return tuple(out)

    def default_chunk_rows(self) -> int:
        """:data:`~lola_sym.sweep.grid.DEFAULT_CHUNK_ROWS`, fewer if a chunk's trajectory would
        exceed :data:`~lola_sym.sweep.grid.MAX_CHUNK_BYTES`."""
        width = max(sum(g.dims) + len(g.dims) for g in self._games)
        per_row = 8 * (self.steps + 1) * width * 3     # trajectory, rewards, temporaries
        return max(1, min(DEFAULT_CHUNK_ROWS, MAX_CHUNK_BYTES // per_row))

    def grid(self, chunk_rows: int | None = None) -> Grid:
        return Grid(self.axes(), self.default_chunk_rows() if chunk_rows is None else chunk_rows)

    def n_agents(self) -> int:
        return max(len(g.dims) for g in self._games)

    def max_params(self) -> int:
        return max(max(g.dims) for g in self._games)

    # ----------------------------------------------------------------- JSON
    def to_json(self) -> str:
        """Canonical JSON (sorted keys) of everything the results depend on.

        Games appear as their name and exact specification (``game.spec()``).
        """
        doc = {
            "games": [{"name": g.name, "spec": g.spec()} for g in self._games],
            "games_dim": self.games_dim,
            "rules": [list(r) for r in self.rules], "rules_dim": self.rules_dim,
            "delta": list(self.delta), "delta_dim": self.delta_dim,
            **({} if self.delta2 is None else {"delta2": list(self.delta2),
                                                "delta2_dim": self.delta2_dim}),
            "hyper": [[n, list(v), d] for n, v, d in self.hyper],
            "parameters": [[n, list(v), d] for n, v, d in self.parameters],
            "inits": None if self.inits is None else [list(p) for p in self.inits],
            "seeds": None if self.seeds is None else list(self.seeds),
            "seed_entropy": str(self.entropy), "steps": self.steps, "method": self.method,
            "init_std": self.init_std, "max_abs": self.max_abs,
            "quantities": list(self.quantities), "target": self.target,
            "along": list(self.along), "record_every": self.record_every,
            "converge_tol": self.converge_tol, "backend": self.backend,
        }
        return json.dumps(doc, sort_keys=True)

    @property
    def digest(self) -> str:
        """SHA-256 of :meth:`to_json`."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()


def _rules_entry(entry, games) -> tuple:
    """A rules entry as a tuple of rule names, checked on every game.

    A name (or a tuple of one name repeated) is self-play, stored as a 1-tuple
    that means every agent, whatever the game's number of players.
    """
    if isinstance(entry, str):
        names = (entry,)
    elif isinstance(entry, tuple) and entry and all(isinstance(r, str) for r in entry):
        names = entry
    else:
        raise TypeError(f"a rules entry must be a rule name or a tuple of one rule name per "
                        f"agent, got {entry!r}")
    out = tuple(get_rule(r).name for r in names)       # ValueError naming an unknown rule
    if len(set(out)) == 1:
        out = out[:1]
    for g in games:
        if len(out) > 1 and len(out) != len(g.dims):
            raise ValueError(f"rules {entry!r} name {len(out)} agents; {g.name} has "
                             f"{len(g.dims)} players")
        for i, r in enumerate(out, start=1):
            try:
                get_rule(r).check_players(g)
            except ValueError as exc:
                raise ValueError(f"rules {rules_label(out)!r} on {g.name}: {exc}") from None
    return out


def agent_rules(rules: tuple, game) -> tuple:
    """One rule name per agent of ``game`` (a 1-tuple is every agent's rule).

    Examples
    --------
    >>> from lola_sym import games
    >>> agent_rules(("lola",), games.contribution(3)), agent_rules(("lola", "nl"), games.ipd())
    (('lola', 'lola', 'lola'), ('lola', 'nl'))
    """
    return rules * len(game.dims) if len(rules) == 1 else rules


def _inits(inits, games) -> tuple:
    """Initial points as a tuple of tuples (all agents' parameters concatenated), checked."""
    dims = {g.dims for g in games}
    if len(dims) != 1:
        raise ValueError("initial points need games of one shape (equal parameter counts); "
                         f"the game axis has {sorted(dims)}")
    dims = dims.pop()
    if isinstance(inits, np.ndarray) or (isinstance(inits, (list, tuple)) and inits
                                         and not isinstance(inits[0], np.ndarray)
                                         and np.ndim(inits) == 2):
        a = np.asarray(inits, dtype=float)
        if a.ndim != 2 or a.shape[1] != sum(dims):
            raise ValueError(f"inits must have shape (points, {sum(dims)}) (every agent's "
                             f"parameters side by side, dims {dims}) or be one (points, d_i) "
                             f"array per agent; got shape {a.shape}")
    elif isinstance(inits, (list, tuple)) and len(inits) == len(dims):
        parts = [np.asarray(p, dtype=float) for p in inits]
        if any(p.ndim != 2 or p.shape[1] != d for p, d in zip(parts, dims)) or \
                len({p.shape[0] for p in parts}) != 1:
            raise ValueError(f"inits given per agent must be arrays of shapes (points, d_i) "
                             f"with d = {dims} and one number of points; got "
                             f"{[p.shape for p in parts]}")
        a = np.concatenate(parts, axis=1)
    else:
        raise TypeError("inits must be an array (points, sum of d_i) or a sequence of one "
                        "(points, d_i) array per agent")
    if a.shape[0] == 0:
        raise ValueError("inits holds no point")
    if not np.all(np.isfinite(a)):
        raise ValueError("inits holds a non-finite value")
    return tuple(tuple(float(x) for x in row) for row in a)


def make_spec(game, rules="lola", *, delta=1.0, delta2=None, seeds=None, seed: int = 0, inits=None,
              parameters: dict | None = None, steps: int = 200, method: str = "simultaneous",
              init_std: float = 1.0, max_abs: float = 1e4, quantities=None,
              target: str = "default", along=(), record_every: int | None = None,
              converge_tol: float = 1e-6, backend: str | None = None, **hyper) -> SweepSpec:
    """Validate the arguments of :func:`lola_sym.sweep.sweep` into a :class:`SweepSpec`.

    See :func:`lola_sym.sweep.sweep` for the parameters.

    Examples
    --------
    >>> s = make_spec("ipd", ["nl", "lola"], eta=[0.5, 1.0], seeds=3, steps=5)
    >>> s.grid().dims, s.grid().shape
    (('rules', 'eta', 'seed'), (2, 2, 3))
    >>> make_spec("ipd", "nl", eta=[0.5, 1.0])
    Traceback (most recent call last):
    ...
    ValueError: no rule of the sweep takes the hyper-parameter 'eta': they take []
    """
    from lola_sym.compile import BACKENDS, default_backend

    # games
    entries, games_dim = (tuple(game), True) if isinstance(game, (list, tuple)) else ((game,),
                                                                                     False)
    if not entries:
        raise ValueError("the game axis is empty; give at least one game")
    games = []
    for e in entries:
        g = resolve_game(e)
        if not (hasattr(g, "dims") and hasattr(g, "spec") and hasattr(g, "value")):
            raise TypeError(f"a game must be a catalogue name or a game object, got "
                            f"{type(e).__name__}")
        games.append(g)
    labels = [g.name for g in games]
    if len(set(labels)) != len(labels):
        raise ValueError(f"the games' names label the game axis and must be distinct, got "
                         f"{labels}")
    # rules
    if isinstance(rules, list):
        if not rules:
            raise ValueError("the rules axis is empty; give at least one rule")
        rule_entries, rules_dim = tuple(_rules_entry(r, games) for r in rules), True
    else:
        rule_entries, rules_dim = (_rules_entry(rules, games),), False
    if len(set(rule_entries)) != len(rule_entries):
        raise ValueError(f"the rules axis repeats an entry: "
                         f"{[rules_label(r) for r in rule_entries]}")
    # delta and hyper-parameters
    deltas, delta_dim = _values(delta, "delta", _real)
    if any(d <= 0 for d in deltas):
        raise ValueError(f"delta must be positive, got {[d for d in deltas if d <= 0]}")
    deltas2, delta2_dim = (None, False) if delta2 is None else _values(delta2, "delta2", _real)
    if deltas2 is not None:
        if any(d <= 0 for d in deltas2):
            raise ValueError(f"delta2 must be positive, got {[d for d in deltas2 if d <= 0]}")
        if any(len(g.dims) != 2 for g in games):
            raise ValueError("delta2 (agent 2's own learning rate) needs two-agent games; "
                             "give one delta for every agent of a larger game")
    used = {r for combo in rule_entries for r in combo}
    takes = set[str]().union(*(set(get_rule(r).hyper) | set(get_rule(r).options) for r in used))
    hyper_axes = []
    for name, value in hyper.items():
        if name in RESERVED:
            raise ValueError(f"{name!r} names an axis of the sweep, not a hyper-parameter")
        if name not in takes:
            raise ValueError(f"no rule of the sweep takes the hyper-parameter {name!r}: they "
                             f"take {sorted(takes)}")
        is_option = any(name in get_rule(r).options for r in used)
        vals, dim = _values(value, name, _option if is_option else _real)
        for r in used:
            rule = get_rule(r)
            for v in vals:
                opts, hyp = rule.split(rule.accepted({name: v}, strict=False))
                rule.hyper_values(hyp)          # bounds (ValueError naming rule and bound)
        hyper_axes.append((name, vals, dim))
    # game symbols
    params = []
    symbols = [tuple(s.name for s in getattr(g, "parameters", ())) for g in games]
    parameters = dict(parameters or {})
    for g, names in zip(games, symbols):
        missing = sorted(set(names) - set(parameters))
        if missing:
            raise ValueError(f"{g.name} is a game family with symbols {list(names)}: give "
                             f"their values with parameters={{...}} (missing {missing})")
        if not names and parameters:
            raise ValueError(f"{g.name} has no symbols; parameters= gives the values of a "
                             f"game family's symbols (e.g. ipd(symbolic=True))")
    for name, value in parameters.items():
        if name in RESERVED or name in hyper:
            raise ValueError(f"the game symbol {name!r} clashes with an axis of the same name")
        vals, dim = _values(value, f"parameters[{name!r}]", _real)
        params.append((name, vals, dim))
    first = {n: v[0] for n, v, _ in params}
    for g in games:
        if getattr(g, "parameters", ()):
            for n, vals, _ in params:
                for v in vals:                  # the game's own range checks (e.g. gamma)
                    g.parameter_array(**{**first, n: v})
    # rows: initial points or seeds
    entropy = check_int(seed, "seed", 0)
    if inits is not None:
        if seeds is not None:
            raise ValueError("give inits= (initial points) or seeds= (random initial points), "
                             "not both")
        init_points, seed_idx = _inits(inits, games), None
    else:
        init_points = None
        if seeds is None:
            seeds = 20
        if isinstance(seeds, Integral) and not isinstance(seeds, bool):
            seed_idx = tuple(range(check_int(seeds, "seeds", 1)))
        else:
            seed_idx, _ = _values(seeds, "seeds", lambda v, n: check_int(v, n, 0))
    # settings
    steps = check_int(steps, "steps", 0)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    init_std = check_real(init_std, "init_std", nonnegative=True)
    max_abs = check_real(max_abs, "max_abs", positive=True)
    if init_std > max_abs:
        raise ValueError(f"init_std={init_std:g} draws initial parameters beyond "
                         f"max_abs={max_abs:g}; lower init_std or raise max_abs")
    converge_tol = check_real(converge_tol, "converge_tol", positive=True)
    if not isinstance(target, str) or target not in TARGETS:
        raise ValueError(f"target must be one of {list(TARGETS)} (a sweep ships targets by "
                         f"name), got {target!r}")
    resolved = [default_target(g) if target == "default" else target for g in games]
    if quantities is None:
        per_game = [Q.default_quantities(g, t) for g, t in zip(games, resolved)]
        quantities = tuple(q for q in per_game[0] if all(q in p for p in per_game))
    elif isinstance(quantities, str):
        quantities = (quantities,)
    quantities = tuple(quantities)
    if not quantities:
        raise ValueError("give at least one quantity to measure")
    if len(set(quantities)) != len(quantities):
        raise ValueError(f"quantities repeat a name: {list(quantities)}")
    along = (along,) if isinstance(along, str) else tuple(along)
    for name in along:
        if name not in Q.ALONG:
            raise ValueError(f"quantity {name!r} cannot be recorded along the run; choose "
                             f"from {list(Q.ALONG)}")
    for g, t in zip(games, resolved):
        for name in quantities + along:
            Q.check_quantity(g, name, t)
    if "ftle" in quantities:
        pairs = [r for r in rule_entries if len(set(r)) != 1]
        if pairs or method != "simultaneous":
            raise ValueError(f"quantity 'ftle' follows the learning map of one rule in "
                             f"self-play with simultaneous steps; got rules "
                             f"{[rules_label(r) for r in pairs] or 'self-play'} and method "
                             f"{method!r}")
    if record_every is None:
        record_every = max(1, steps // 20)
    record_every = check_int(record_every, "record_every", 1)
    backend = default_backend() if backend is None else backend
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    return SweepSpec(entries, games_dim, rule_entries, rules_dim, deltas, delta_dim, deltas2,
                     delta2_dim,
                     tuple(hyper_axes), tuple(params), init_points, seed_idx, entropy, steps,
                     method, init_std, max_abs, quantities, target, along, record_every,
                     converge_tol, backend, tuple(games))
