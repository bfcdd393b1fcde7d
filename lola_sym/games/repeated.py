r"""Repeated games of any finite shape: n players, k actions each, memory 0, 1 or 2.

A :class:`RepeatedGame` is an exact, immutable value: one payoff array per
player of shape ``(k_1, ..., k_n)`` (rewards, maximised), a discount
:math:`\gamma`, and the memory ``m`` of the policies. Payoffs and
:math:`\gamma` may be numbers (stored as exact rationals) or sympy
expressions in declared symbols; a game with symbols is a *family*, whose
compiled fields take the symbols' values at call time.

Policies
--------
Player ``i`` has one state per own-perspective history of length ``0..m``
(:mod:`lola_sym.games.histories`). In each state:

* two actions: one logit :math:`\theta`, the first action has probability
  :math:`\sigma(\theta)` (the layout of :class:`~lola_sym.games.IteratedGame`);
* ``k > 2`` actions: ``k - 1`` logits :math:`x_0..x_{k-2}`, a softmax with the
  last action as the reference (logit 0),
  :math:`\pi_a = e^{x_a} / (1 + \sum_b e^{x_b})` (:class:`~lola_sym.program.softmax`).
  With one free logit fewer than actions the parameterisation is
  identifiable, so fixed points and Jacobians are not degenerate.

The logits of player ``i`` are ordered state by state (layout order of
:meth:`RepeatedGame.state_labels`), then action by action.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1.
.. [2] Zhao, S. et al. (2022). Proximal Learning With Opponent-Learning
   Awareness. NeurIPS. arXiv:2210.10125 (the contribution game, memory-1
   n-player policies).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import permutations

import numpy as np
import sympy as sp

from lola_sym._validation import MIN_ONE_MINUS_GAMMA, as_rational
from lola_sym.games.histories import StateSpace, default_labels

__all__ = ["RepeatedGame", "repeated", "MAX_PLAYERS", "MAX_ACTIONS", "MAX_MEMORY",
           "MAX_EXACT_STATES", "MAX_NUMERIC_TRANSITIONS",
           "MIN_ONE_MINUS_GAMMA"]

MAX_PLAYERS = 5
MAX_ACTIONS = 4
MAX_MEMORY = 2
#: Largest chain (full-length histories) solved by the exact value program: its
#: elimination has about N^3 / 3 steps, and every rule differentiates through them.
MAX_EXACT_STATES = 64
#: Most transitions (states x joint actions) of a numeric repeated game: larger chains are
#: computed by the sparse numeric path (:mod:`lola_sym.adjoint`) through
#: :func:`~lola_sym.games.repeated_markov.markov_of`, whose construction loops over them.
MAX_NUMERIC_TRANSITIONS = 200_000


def _entry(x, where: str):
    """A payoff or discount: an exact rational, or a real sympy expression in symbols."""
    if isinstance(x, sp.Basic) and not isinstance(x, sp.Number) and x.free_symbols:
        if not isinstance(x, sp.Expr):
            raise TypeError(f"{where} must be a number or a sympy expression, got {x!r}")
        if x.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            raise ValueError(f"{where} contains nan or an infinity ({x})")
        for s in x.free_symbols:
            if not isinstance(s, sp.Symbol):
                raise TypeError(f"{where} has a free {type(s).__name__}, not a Symbol: {x}")
            if s.is_real is False:
                raise ValueError(f"{where} uses the non-real symbol {s}")
            if not s.name.isidentifier() or s.name.startswith("_"):
                raise ValueError(f"{where} uses the symbol {s.name!r}: a game symbol must be a "
                                 f"Python identifier not starting with '_' (it becomes a keyword "
                                 f"argument of the compiled fields)")
        return x
    return as_rational(x, where)


def _payoff_arrays(payoffs):
    if isinstance(payoffs, (str, bytes)) or not hasattr(payoffs, "__len__"):
        raise TypeError("payoffs must be a sequence of one payoff array per player")
    arrays = []
    for i, R in enumerate(payoffs):
        if isinstance(R, sp.NDimArray) or isinstance(R, sp.MatrixBase):
            R = R.tolist()
        arr = np.array(R, dtype=object)
        arrays.append(arr)
    n = len(arrays)
    if not 2 <= n <= MAX_PLAYERS:
        raise ValueError(f"a repeated game has 2 to {MAX_PLAYERS} players (one payoff array "
                         f"each), got {n}")
    shape = arrays[0].shape
    if len(shape) != n:
        raise ValueError(f"each payoff array must have one axis per player: {n} players need "
                         f"shape (k_1, ..., k_{n}), got shape {shape}")
    for i, arr in enumerate(arrays):
        if arr.shape != shape:
            raise ValueError(f"payoff array {i + 1} has shape {arr.shape}, payoff array 1 has "
                             f"{shape}: all players' arrays index the same joint actions")
    for k in shape:
        if not 2 <= k <= MAX_ACTIONS:
            raise ValueError(f"each player has 2 to {MAX_ACTIONS} actions, got shape {shape}")
    flat = tuple(tuple(_entry(x, f"payoff {i + 1} at {idx}") for idx, x in np.ndenumerate(arr))
                 for i, arr in enumerate(arrays))
    return flat, tuple(int(k) for k in shape)


@dataclass(frozen=True)
class RepeatedGame:
    r"""An infinitely repeated n-player game with memory-``m`` policies.

    Build it with :func:`repeated`.

    Attributes
    ----------
    payoffs : tuple of tuple
        Per player, the rewards over the joint actions in C order (player 1's
        action slowest), exact rationals or sympy expressions.
    actions : tuple of int
        Number of actions of each player.
    gamma : sympy number or expression
        The discount.
    memory : int
        Joint actions a policy remembers (0, 1 or 2).
    labels : tuple of tuple of str
        Action labels of each player.
    name : str
        Label for reports (not part of :meth:`spec`).
    """

    payoffs: tuple
    actions: tuple
    gamma: sp.Expr
    memory: int = 1
    labels: tuple = ()
    name: str = "custom"

    kind = "repeated"

    def __post_init__(self):
        if not self.labels:
            object.__setattr__(self, "labels", tuple(default_labels(k) for k in self.actions))

    # ------------------------------------------------------------ structure
    @cached_property
    def space(self) -> StateSpace:
        """The joint actions, histories and states (:class:`~lola_sym.games.histories.StateSpace`)."""
        return StateSpace(self.actions, self.memory, self.labels)

    @property
    def n_players(self) -> int:
        """Number of players."""
        return len(self.actions)

    @cached_property
    def dims(self) -> tuple:
        """Number of logits of each player."""
        return tuple(self.space.n_states(i) * (k - 1) for i, k in enumerate(self.actions))

    @cached_property
    def param_names(self) -> tuple:
        """Labels of each player's logits, own perspective."""
        return tuple(self.space.param_labels(i) for i in range(self.n_players))

    def state_labels(self, player: int = 1) -> tuple:
        """Labels of the (1-based) ``player``'s states, own perspective, in layout order.

        Examples
        --------
        >>> from lola_sym.games import ipd_memory2
        >>> ipd_memory2().state_labels()[:6]
        ('s0', 'CC', 'CD', 'DC', 'DD', 'CC,CC')
        """
        return self.space.state_labels(self._player(player))

    @cached_property
    def theta(self) -> tuple:
        """Per player, the logit symbols ``theta_{i},{label}``."""
        return tuple(tuple(sp.Symbol(f"theta_{i + 1},{s}", real=True) for s in names)
                     for i, names in enumerate(self.param_names))

    @cached_property
    def parameters(self) -> tuple:
        """The free symbols of the payoffs and discount, sorted by name (run-time inputs)."""
        free = set()
        for row in self.payoffs:
            for x in row:
                free |= sp.sympify(x).free_symbols
        free |= sp.sympify(self.gamma).free_symbols
        return tuple(sorted(free, key=lambda s: s.name))

    @property
    def is_symbolic(self) -> bool:
        """Whether payoffs or discount contain symbols."""
        return bool(self.parameters)

    @property
    def n_chain_states(self) -> int:
        """States of the chain the value solves: the histories of length ``max(m, 1)``."""
        return int(np.prod(self.actions)) ** max(self.memory, 1)

    @property
    def field_path(self) -> str:
        """Which exact path computes this game's values and fields.

        ``"compiled"`` (the symbolic value program, compiled) up to
        :data:`MAX_EXACT_STATES` chain states, ``"adjoint"`` (sparse LU and
        adjoints, :mod:`lola_sym.adjoint`, through
        :func:`~lola_sym.games.repeated_markov.markov_of`) above.

        Examples
        --------
        >>> from lola_sym.games import contribution
        >>> contribution(3).field_path, contribution(4, memory=2).field_path
        ('compiled', 'adjoint')
        """
        return "adjoint" if self.n_chain_states > MAX_EXACT_STATES else "compiled"

    def _symbolic_path(self, what: str) -> None:
        if self.field_path == "adjoint":
            raise ValueError(
                f"{self.name} has {self.n_chain_states:,} chain states, more than the "
                f"{MAX_EXACT_STATES} of the symbolic value program: {what} does not exist for "
                f"it. Its values and fields are computed by the sparse numeric path "
                f"(game.value(...), lola_sym.update_field(game, rule); lola_sym.adjoint)")

    def payoff_vector(self, player: int) -> tuple:
        """Rewards of ``player`` (0-based) over the joint actions, C order."""
        return self.payoffs[player]

    def payoff_array(self, player: int = 1) -> np.ndarray:
        """The (1-based) ``player``'s payoff array, shape ``actions``, dtype object."""
        arr = np.empty(len(self.space.joint), dtype=object)
        arr[:] = self.payoffs[self._player(player)]
        return arr.reshape(self.actions)

    def _player(self, player) -> int:
        if isinstance(player, bool) or not isinstance(player, (int, np.integer)):
            raise TypeError(f"player must be an int 1..{self.n_players}, got {player!r}")
        if not 1 <= player <= self.n_players:
            raise ValueError(f"player must be 1..{self.n_players}, got {player}")
        return int(player) - 1

    @property
    def payoff_range(self) -> tuple:
        """(smallest, largest) numeric payoff over all players (numeric games only)."""
        if self.is_symbolic:
            raise ValueError(f"{self.name} has symbolic payoffs; substitute values first")
        vals = [x for row in self.payoffs for x in row]
        return min(vals), max(vals)

    def permuted(self, order) -> "RepeatedGame":
        """The game with players relabelled: new player ``j`` is old player ``order[j]`` (0-based).

        Examples
        --------
        >>> from lola_sym.games import ipd_memory2
        >>> g = ipd_memory2()
        >>> g.permuted((1, 0)).payoffs == g.payoffs   # the IPD is symmetric
        True
        """
        order = tuple(order)
        if sorted(order) != list(range(self.n_players)):
            raise ValueError(f"order must be a permutation of 0..{self.n_players - 1}, got {order}")
        actions = tuple(self.actions[o] for o in order)
        new = []
        for o in order:
            old = self.payoff_array(o + 1)
            new.append(tuple(np.transpose(old, order).ravel()))
        return RepeatedGame(tuple(new), actions, self.gamma, self.memory,
                            tuple(self.labels[o] for o in order), self.name + " (permuted)")

    @property
    def is_symmetric(self) -> bool:
        """True when every relabelling of the players permutes the payoffs accordingly."""
        if len(set(self.actions)) != 1:
            return False
        for order in permutations(range(self.n_players)):
            if self.permuted(order).payoffs != self.payoffs:
                return False
        return True

    def spec(self) -> dict:
        """The exact specification (JSON-able), e.g. for cache keys; the name is not part of it."""
        return {"kind": self.kind, "actions": list(self.actions), "memory": self.memory,
                "payoffs": [[sp.srepr(x) for x in row] for row in self.payoffs],
                "gamma": sp.srepr(sp.sympify(self.gamma)),
                "labels": [list(x) for x in self.labels]}

    # -------------------------------------------------------------- family
    def family(self):
        """``(symbolic game, numbers)`` of this game's shape, or None if it has symbols itself.

        The family has one symbol per payoff entry and one for the discount;
        its compiled code serves every numeric game of the same shape (players,
        actions, memory), with ``numbers`` bound as arguments.

        Examples
        --------
        >>> from lola_sym.games import rps
        >>> fam, numbers = rps().family()
        >>> len(fam.parameters), dict(zip(fam.parameters, numbers))[fam.gamma]
        (19, 0.9)
        """
        if self.is_symbolic or self.field_path == "adjoint":
            return None
        fam = _family_of(self.actions, self.memory, self.labels)
        return fam, self._numbers_for(fam)

    def _numbers_for(self, fam) -> tuple:
        """This game's numbers in the order of ``fam.parameters``."""
        from lola_sym.compile import to_double
        by_symbol = {sym: to_double(x) for frow, row in zip(fam.payoffs, self.payoffs)
                     for sym, x in zip(frow, row)}
        by_symbol[fam.gamma] = to_double(self.gamma)
        return tuple(by_symbol[s] for s in fam.parameters)

    def parameter_array(self, **values) -> np.ndarray:
        """The symbols' values as one float array ``(..., n_symbols)``, checked.

        Every symbol needs a finite real value (scalar or array; arrays broadcast);
        a symbolic discount must evaluate into (0, 1 - 1e-6].

        Examples
        --------
        >>> from lola_sym.games import ipd
        >>> ipd(symbolic=True).parameter_array(R=-1, S=-3, T=0, P=-2, gamma=0.96)
        array([-2.  , -1.  , -3.  ,  0.  ,  0.96])
        >>> ipd(symbolic=True).parameter_array(R=-1)
        Traceback (most recent call last):
        ...
        ValueError: IPD (symbolic) needs a value for each of its symbols ['P', 'R', 'S', 'T', 'gamma']; missing ['P', 'S', 'T', 'gamma']
        """
        from lola_sym._validation import as_numeric_array
        names = [s.name for s in self.parameters]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"{self.name} has no symbol {unknown[0]!r}; its symbols are {names}")
        missing = [n for n in names if n not in values]
        if missing:
            raise ValueError(f"{self.name} needs a value for each of its symbols {names}; "
                             f"missing {missing}")
        columns = []
        for n in names:
            a = as_numeric_array(values[n], n).astype(float)
            if not np.isfinite(a).all() or (np.abs(a) > 1e300).any():
                raise ValueError(f"{n} must be finite and at most 1e300 in magnitude")
            columns.append(a)
        arrays = np.broadcast_arrays(*columns)
        out = np.stack(arrays, axis=-1)
        if sp.sympify(self.gamma).free_symbols:
            g = _gamma_function(self)(*arrays)
            g = np.broadcast_to(np.asarray(g, dtype=float), out.shape[:-1])
            bad = ~((g > 0) & (1 - g >= MIN_ONE_MINUS_GAMMA))
            if bad.any():
                first = g[np.unravel_index(int(np.argmax(bad)), bad.shape)] if bad.ndim else g
                raise ValueError(f"the discount {self.gamma} must lie in (0, 1 - "
                                 f"{MIN_ONE_MINUS_GAMMA:g}], got {float(first)!r}")
        return out

    # ------------------------------------------------------------- symbolic
    def value_program(self):
        """The exact straight-line value program (:func:`lola_sym.games.chain.value_program`)."""
        self._symbolic_path("the symbolic value program")
        return _value_program(self)

    def substitute(self, **values) -> "RepeatedGame":
        """The numeric game with the given symbol values (exact rationals).

        Examples
        --------
        >>> from lola_sym.games import ipd
        >>> g = ipd(symbolic=True).substitute(R=-1, S=-3, T=0, P=-2, gamma="0.96")
        >>> g.payoffs[0], g.gamma
        ((-1, -3, 0, -2), 24/25)
        """
        by_name = {s.name: s for s in self.parameters}
        unknown = set(values) - set(by_name)
        if unknown:
            raise ValueError(f"{self.name} has no symbol {sorted(unknown)[0]!r}; its symbols are "
                             f"{sorted(by_name)}")
        sub = {by_name[k]: as_rational(v, k) for k, v in values.items()}
        payoffs = [[sp.sympify(x).xreplace(sub) for x in row] for row in self.payoffs]
        arrays = [np.array(row, dtype=object).reshape(self.actions) for row in payoffs]
        return repeated(arrays, sp.sympify(self.gamma).xreplace(sub), memory=self.memory,
                        labels=self.labels, name=self.name)

    def values(self) -> tuple:
        r"""``(V_1, ..., V_n)`` as exact expressions of the logits (and the game's symbols).

        Built by substituting the value program's steps: meant for small games
        (memory 0, or memory 1 with few joint actions); larger ones are refused
        with their size (use :meth:`value_program`, which stays small).
        """
        prog = self.value_program()
        size = prog.expanded_size()
        if size > 200_000:
            raise ValueError(f"the explicit values of {self.name} would have about {size:,} "
                             f"operations; use value_program() (a straight-line program of "
                             f"{len(prog.steps)} steps) or evaluate numerically")
        return tuple(prog.explicit())

    # -------------------------------------------------------------- numeric
    def policy_table(self, *thetas) -> tuple:
        """Per player, the probability of each action in each state, shape ``(..., states, k)``.

        Read from logits: a sigmoid for two actions, the reference-last softmax
        otherwise. Anyone can rebuild the chain from this table (and
        :meth:`state_labels`) to check the values independently.

        Examples
        --------
        >>> from lola_sym.games import rps
        >>> import numpy as np
        >>> g = rps()
        >>> t = np.zeros(g.dims[0])
        >>> g.policy_table(t, t)[0][0]       # uniform play in s0
        array([0.33333333, 0.33333333, 0.33333333])
        """
        from lola_sym._validation import as_params
        if len(thetas) != self.n_players:
            raise ValueError(f"{self.name} has {self.n_players} players: give one logit array "
                             f"each, got {len(thetas)}")
        out = []
        for i, th in enumerate(thetas):
            th = as_params(th, f"theta{i + 1}", self.dims[i])
            k = self.actions[i]
            x = th.reshape(th.shape[:-1] + (self.space.n_states(i), k - 1))
            z = np.concatenate([x, np.zeros(x.shape[:-1] + (1,))], axis=-1)
            z = z - z.max(axis=-1, keepdims=True)
            e = np.exp(z)
            out.append(e / e.sum(axis=-1, keepdims=True))
        return tuple(out)

    def value(self, *thetas, **parameters) -> np.ndarray:
        r"""Numeric values, shape ``(..., n)``, broadcasting leading axes.

        A game with symbols takes their values as keywords (scalars or arrays
        that broadcast like the logits).

        Examples
        --------
        >>> from lola_sym.games import contribution
        >>> import numpy as np
        >>> g = contribution(3, 1.5)
        >>> v = g.value(*[np.full(g.dims[0], 30.0)] * 3)   # everyone always contributes
        >>> [round(float(x), 6) for x in (1 - g.gamma) * v]
        [0.5, 0.5, 0.5]
        """
        if self.field_path == "adjoint":
            from lola_sym.games.repeated_markov import _cached
            if parameters:
                raise TypeError(f"{self.name} has no symbols; unexpected keyword "
                                f"{sorted(parameters)[0]!r}")
            return _cached(self).value(*thetas)
        from lola_sym.games.values import numeric_values
        return numeric_values(self, *thetas, **parameters)

    def average_reward(self, *thetas, **parameters) -> np.ndarray:
        r"""Average reward per step, :math:`(1 - \gamma) V`, shape ``(..., n)``."""
        v = self.value(*thetas, **parameters)
        if not sp.sympify(self.gamma).free_symbols:
            return float(1 - self.gamma) * v
        arrays = np.moveaxis(self.parameter_array(**parameters), -1, 0)
        g = np.asarray(_gamma_function(self)(*arrays), dtype=float)
        return (1 - g)[..., None] * v

    def __repr__(self) -> str:
        return (f"RepeatedGame({self.name!r}, players={self.n_players}, actions={self.actions}, "
                f"memory={self.memory}, gamma={self.gamma})")


@lru_cache(maxsize=None)
def _family_of(actions, memory, labels) -> "RepeatedGame":
    """The symbolic game of a shape: symbols ``_r{i}_{j}`` (payoffs) and ``_gamma``."""
    J = int(np.prod(actions))
    payoffs = tuple(tuple(sp.Symbol(f"_r{i + 1}_{j}", real=True) for j in range(J))
                    for i in range(len(actions)))
    gamma = sp.Symbol("_gamma", positive=True)
    return RepeatedGame(payoffs, actions, gamma, memory, labels,
                        f"{'x'.join(map(str, actions))} memory-{memory} family")


@lru_cache(maxsize=None)
def _gamma_function(game):
    return sp.lambdify(game.parameters, sp.sympify(game.gamma), modules="numpy")


@lru_cache(maxsize=None)
def _value_program(game):
    from lola_sym.games.chain import value_program
    return value_program(game)


def repeated(payoffs, gamma, memory: int = 1, labels=None, name: str = "custom") -> RepeatedGame:
    r"""A repeated game from one payoff array per player.

    Parameters
    ----------
    payoffs : sequence of array_like
        ``payoffs[i][a_1, ..., a_n]`` is player ``i + 1``'s reward when the
        players take actions ``a_1..a_n`` (rewards, maximised). Numbers
        (stored exactly; floats from their decimal representation) or sympy
        expressions in symbols.
    gamma : number or sympy expression
        The discount, in the open interval (0, 1) when numeric.
    memory : {0, 1, 2}
        Number of past joint actions the policies see.
    labels : sequence of sequence of str, optional
        Action labels per player (default C, D for two actions, a0, a1, ...
        otherwise).
    name : str

    Examples
    --------
    >>> g = repeated([[[3, 0], [5, 1]], [[3, 5], [0, 1]]], "0.9")
    >>> g.dims, g.param_names[0]
    ((5, 5), ('s0', 'CC', 'CD', 'DC', 'DD'))
    >>> repeated([[[1, 2], [3, 4]]] * 2, 0.9, memory=3)
    Traceback (most recent call last):
    ...
    ValueError: memory must be 0, 1 or 2 (past joint actions the policies see), got 3
    """
    flat, actions = _payoff_arrays(payoffs)
    if isinstance(memory, bool) or not isinstance(memory, (int, np.integer)):
        raise TypeError(f"memory must be an int 0, 1 or 2, got {type(memory).__name__}")
    if not 0 <= memory <= MAX_MEMORY:
        raise ValueError(f"memory must be 0, 1 or 2 (past joint actions the policies see), "
                         f"got {memory}")
    gamma = _entry(gamma, "gamma")
    if not gamma.free_symbols:
        if not 0 < gamma < 1:
            raise ValueError(f"gamma must lie in the open interval (0, 1), got {gamma}")
        if 1 - gamma < MIN_ONE_MINUS_GAMMA:
            raise ValueError(f"gamma = 1 - {sp.Float(1 - gamma, 3)} is too close to 1: values "
                             f"lose about 2e-16 / (1 - gamma) of relative accuracy; choose "
                             f"1 - gamma >= {MIN_ONE_MINUS_GAMMA:g}")
    J = int(np.prod(actions))
    symbolic = bool(sp.sympify(gamma).free_symbols) or any(
        isinstance(x, sp.Basic) and x.free_symbols for a in flat for x in a)
    if J ** memory > MAX_EXACT_STATES and symbolic:
        raise ValueError(
            f"this game's chain has {J ** memory} states ({J} joint actions, memory {memory}); "
            f"the symbolic value program solves at most {MAX_EXACT_STATES} (its elimination "
            f"grows as the cube), and a game with symbols needs it: give numbers, and the game "
            f"is computed by the sparse numeric path (lola_sym.adjoint)")
    if J ** (memory + 1) > MAX_NUMERIC_TRANSITIONS:
        raise ValueError(
            f"this game's chain has {J ** memory:,} states of {J} successors each "
            f"({J ** (memory + 1):,} transitions); the sparse numeric path takes at most "
            f"{MAX_NUMERIC_TRANSITIONS:,}: use fewer players, actions or a shorter memory")
    if labels is None:
        labels = tuple(default_labels(k) for k in actions)
    else:
        labels = tuple(tuple(str(x) for x in lab) for lab in labels)
        if len(labels) != len(actions) or any(len(lab) != k for lab, k in zip(labels, actions)):
            raise ValueError(f"labels must give {list(actions)} action names per player, "
                             f"got {labels}")
        if any(len(set(lab)) != len(lab) for lab in labels):
            raise ValueError(f"action labels must be distinct per player, got {labels}")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    game = RepeatedGame(flat, actions, gamma, int(memory), labels, name)
    _check_symbol_names(game)
    return game


def _check_symbol_names(game) -> None:
    """A game symbol must not share its name with a logit or a step of the value program."""
    names = {s.name for s in game.parameters}
    if not names:
        return
    # the step names do not depend on the payoffs: read them off the shape's family program
    prog = _family_of(game.actions, game.memory, game.labels).value_program()
    taken = {s.name for s in prog.symbols} | {s.name for th in game.theta for s in th}
    clash = names & taken
    if clash:
        raise ValueError(f"the game symbol {sorted(clash)[0]!r} has the name of a quantity of the "
                         f"value program; rename it")
    if len({s.name for s in game.parameters}) != len(game.parameters):
        raise ValueError("two game symbols share a name (with different assumptions); "
                         "use one symbol per name")
