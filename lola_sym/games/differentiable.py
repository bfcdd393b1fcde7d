r"""One-shot differentiable games: two value functions of two parameter vectors.

The games of the opponent-shaping literature (Tandem, Hamiltonian, matching
pennies with sigmoid policies, ...) with the same interface as the iterated
games: symbolic values, a value program, ``value``, ``update_field``.
Values are maximised; a game published with losses is stored as values = -loss.

Game parameters
---------------
Symbols of the values that are not agents' parameters (payoff constants such
as ``a`` in :math:`V_1 = a x y`) make the game a *family*, like the symbolic
repeated games: :attr:`DifferentiableGame.parameters` lists them, compiled
fields and values take their numbers at call time
(``update_field(game, "lola")(t1, t2, a=2.0)``), :meth:`~DifferentiableGame.substitute`
gives the numeric game, and the exact analyses (:mod:`lola_sym.analysis.jacobian`,
:mod:`lola_sym.analysis.thresholds`) return expressions in them. A game symbol must be
declared real (``sp.Symbol("a", real=True)``; sign assumptions such as
``positive=True`` are enforced on the values given), have a Python identifier
for a name not starting with ``_`` (it becomes a keyword argument), and have a
name of its own: not one of an agent's parameters, not one of
:data:`RESERVED_NAMES` (the names the rules give their rates, which the exact
analyses keep as symbols next to the game's), and not one of the value
program's intermediate quantities.

References
----------
.. [1] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. arXiv:1811.08469.
.. [2] Willi, T. et al. (2022). COLA: Consistent Learning with
   Opponent-Learning Awareness. ICML. arXiv:2203.04098.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp

from lola_sym.program import Program, sigmoid

__all__ = ["DifferentiableGame", "differentiable", "RESERVED_NAMES"]

#: Names a game symbol may not have: the learning rate ``eta`` of the lookahead rules
#: and ``gamma`` (CO's hyper-parameter, and the discount of repeated games). The exact
#: analyses return expressions in a game's symbols and the rules' rates together, and
#: the compiled programs take both as arguments, so one name must mean one thing.
RESERVED_NAMES = ("eta", "gamma")

#: Largest magnitude of a game symbol's numeric value (as for payoffs, see
#: :func:`lola_sym._validation.check_magnitude`).
MAX_PARAMETER_ABS = 1e300

#: Sign assumptions of a game symbol checked on every value given for it:
#: (assumption, test on a float array, test on an exact number, wording).
_SIGNS = (
    ("positive", lambda a: a > 0, lambda v: v.is_positive, "> 0"),
    ("nonnegative", lambda a: a >= 0, lambda v: v.is_nonnegative, ">= 0"),
    ("negative", lambda a: a < 0, lambda v: v.is_negative, "< 0"),
    ("nonpositive", lambda a: a <= 0, lambda v: v.is_nonpositive, "<= 0"),
    ("nonzero", lambda a: a != 0, lambda v: v.is_nonzero, "!= 0"),
    ("integer", lambda a: a == np.round(a), lambda v: v.is_integer, "an integer"),
)


def _symbols(params, name):
    if isinstance(params, sp.Symbol):
        params = (params,)
    try:
        params = tuple(params)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of sympy Symbols") from None
    if not params or not all(isinstance(p, sp.Symbol) for p in params):
        raise TypeError(f"{name} must be a non-empty sequence of sympy Symbols, got {params!r}")
    return params


def _value_expr(v, name):
    """A value function as a sympy expression: never parsed from a string, no NaN or infinity."""
    if isinstance(v, (str, bytes)):
        raise TypeError(f"{name} must be a sympy expression, not a string (strings would go "
                        f"through eval); build it from sympy.symbols, e.g. x * y")
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be a sympy expression or a number, got a bool")
    if not isinstance(v, (sp.Basic, int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a sympy expression or a number, got {type(v).__name__}")
    v = sp.sympify(v)
    if not isinstance(v, sp.Expr):
        raise TypeError(f"{name} must be a sympy expression, got {type(v).__name__}")
    if v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ValueError(f"{name} contains nan or an infinity ({v}); the values must be finite")
    if any(a.is_real is False for a in v.atoms(sp.Number, sp.NumberSymbol, type(sp.I))):
        raise ValueError(f"{name} has a non-real constant ({v}); values are real")
    return v


@dataclass(frozen=True)
class DifferentiableGame:
    r"""A one-shot game given by values :math:`V_1(\theta_1, \theta_2)`, :math:`V_2`.

    Parameters
    ----------
    V1, V2 : sympy.Expr
        Values (maximised) in the parameter symbols; may use
        :class:`~lola_sym.program.sigmoid`.
    params1, params2 : tuple of sympy.Symbol
        Each agent's parameters (dimensions may differ).
    name : str

    Examples
    --------
    >>> x, y = sp.symbols("x y")
    >>> g = differentiable(x * y, -x * y, [x], [y], name="Hamiltonian")
    >>> g.dims, g.value(np.array([2.0]), np.array([3.0])).tolist()
    ((1, 1), [6.0, -6.0])
    """

    V1: sp.Expr
    V2: sp.Expr
    params1: tuple
    params2: tuple
    name: str = "custom"

    kind = "differentiable"
    gamma = None

    def __post_init__(self):
        p1 = _symbols(self.params1, "params1")
        p2 = _symbols(self.params2, "params2")
        if set(p1) & set(p2) or len(set(p1)) < len(p1) or len(set(p2)) < len(p2):
            raise ValueError("parameter symbols must be distinct within and across agents")
        V1, V2 = _value_expr(self.V1, "V1"), _value_expr(self.V2, "V2")
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__}")
        object.__setattr__(self, "params1", p1)
        object.__setattr__(self, "params2", p2)
        object.__setattr__(self, "V1", V1)
        object.__setattr__(self, "V2", V2)
        _check_game_symbols(self)

    @property
    def dims(self) -> tuple:
        return len(self.params1), len(self.params2)

    @property
    def theta(self) -> tuple:
        return self.params1, self.params2

    @property
    def param_names(self) -> tuple:
        return tuple(str(p) for p in self.params1), tuple(str(p) for p in self.params2)

    @property
    def is_zero_sum(self) -> bool:
        return sp.simplify(self.V1 + self.V2) == 0

    @cached_property
    def parameters(self) -> tuple:
        """The game's symbols: free symbols of the values that are no agent's parameters, by name.

        Examples
        --------
        >>> a, b = sp.symbols("a b", real=True)
        >>> x, y = sp.symbols("x y", real=True)
        >>> differentiable(a * x * y - b * x ** 2 / 2, -a * x * y, [x], [y]).parameters
        (a, b)
        """
        agents = set(self.params1) | set(self.params2)
        free = (self.V1.free_symbols | self.V2.free_symbols) - agents
        return tuple(sorted(free, key=lambda s: s.name))

    @property
    def is_symbolic(self) -> bool:
        """Whether the values have game symbols (:attr:`parameters`)."""
        return bool(self.parameters)

    def parameter_array(self, **values) -> np.ndarray:
        """The game symbols' values as one float array ``(..., n_symbols)``, checked.

        Every symbol needs a finite real value of magnitude at most 1e300 that
        meets its sign assumptions (e.g. ``> 0`` for a symbol declared
        ``positive``): a scalar or an array; arrays broadcast against each other.

        Examples
        --------
        >>> a, b = sp.symbols("a b", real=True)
        >>> x, y = sp.symbols("x y", real=True)
        >>> g = differentiable(a * x * y - b * x ** 2 / 2, -a * x * y, [x], [y], name="bilinear")
        >>> g.parameter_array(a=[1, 2], b=0.5)
        array([[1. , 0.5],
               [2. , 0.5]])
        >>> g.parameter_array(a=1)
        Traceback (most recent call last):
        ...
        ValueError: bilinear needs a value for each of its symbols ['a', 'b']; missing ['b']
        """
        from lola_sym._validation import as_numeric_array
        names = [s.name for s in self.parameters]
        if not names:
            if values:
                raise TypeError(f"{self.name} has no symbols; unexpected keyword "
                                f"{sorted(values)[0]!r}")
            return np.zeros(0)
        self._check_names(values)
        missing = [n for n in names if n not in values]
        if missing:
            raise ValueError(f"{self.name} needs a value for each of its symbols {names}; "
                             f"missing {missing}")
        arrays = []
        for sym in self.parameters:
            v = values[sym.name]
            if isinstance(v, sp.Basic):
                v = _sympy_float(v, sym.name)
            a = as_numeric_array(v, sym.name, "iuf").astype(float)
            if not np.isfinite(a).all() or (np.abs(a) > MAX_PARAMETER_ABS).any():
                raise ValueError(f"{sym.name} must be finite and at most {MAX_PARAMETER_ABS:g} "
                                 f"in magnitude")
            for assumption, ok, _, wording in _SIGNS:
                if getattr(sym, f"is_{assumption}") and not ok(a).all():
                    bad = a[~ok(a)] if a.ndim else a
                    raise ValueError(f"{sym.name} is declared {assumption}: its values must be "
                                     f"{wording}, got {float(np.ravel(bad)[0])!r}")
            arrays.append(a)
        try:
            broadcast = np.broadcast_arrays(*arrays)
        except ValueError:
            shapes = ", ".join(f"{n}: {a.shape}" for n, a in zip(names, arrays))
            raise ValueError(f"the values of {self.name}'s symbols do not broadcast together "
                             f"({shapes})") from None
        return np.stack(broadcast, axis=-1)

    def substitute(self, **values) -> "DifferentiableGame":
        """The game with numbers for some or all of its symbols (kept exact).

        Numbers are read as by :func:`~lola_sym._validation.as_rational` (floats
        from their shortest repr, strings as rational literals); exact real sympy
        constants such as ``sp.sqrt(2)`` are kept. Symbols not given stay.

        Examples
        --------
        >>> a, b = sp.symbols("a b", real=True)
        >>> x, y = sp.symbols("x y", real=True)
        >>> g = differentiable(a * x * y - b * x ** 2 / 2, -a * x * y, [x], [y])
        >>> g.substitute(a=2, b="1/2").V1, g.substitute(b=0.25).parameters
        (-x**2/4 + 2*x*y, (a,))
        """
        from lola_sym._validation import as_rational
        self._check_names(values)
        by_name = {s.name: s for s in self.parameters}
        sub = {}
        for name, v in values.items():
            sym = by_name[name]
            if (isinstance(v, sp.Expr) and v.is_number and not isinstance(v, (sp.Rational, sp.Float))
                    and v.is_real and v.is_finite):
                exact = v                    # sqrt(2), pi, ...: exact constants stay
            else:
                exact = as_rational(v, name)
            for assumption, _, ok, wording in _SIGNS:
                if getattr(sym, f"is_{assumption}") and not ok(exact):
                    raise ValueError(f"{name} is declared {assumption}: its value must be "
                                     f"{wording}, got {exact}")
            sub[sym] = exact
        try:
            return DifferentiableGame(self.V1.xreplace(sub), self.V2.xreplace(sub), self.params1,
                                      self.params2, self.name)
        except ValueError as exc:
            raise ValueError(f"{self.name} with {values}: {exc}") from None

    def _check_names(self, values) -> None:
        names = [s.name for s in self.parameters]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"{self.name} has no symbol {unknown[0]!r}; its symbols are {names}")

    def spec(self) -> dict:
        """The exact specification (JSON-able) for cache keys, game symbols included."""
        out = {"kind": self.kind, "V1": sp.srepr(self.V1), "V2": sp.srepr(self.V2),
               "params1": [str(p) for p in self.params1],
               "params2": [str(p) for p in self.params2]}
        if self.parameters:
            out["parameters"] = [sp.srepr(p) for p in self.parameters]
        return out

    def values(self) -> tuple:
        """``(V1, V2)`` as sympy expressions."""
        return self.V1, self.V2

    def value_program(self) -> Program:
        """The value program: sigmoid steps (with their complements), then (V1, V2).

        Its inputs are the agents' parameters, then the game's symbols.
        """
        steps, sub = [], {}
        for node in sorted((self.V1 + self.V2).atoms(sigmoid), key=sp.default_sort_key):
            if node in sub:
                continue
            arg = node.args[0]
            p = sp.Symbol(f"p({arg})")
            q = sp.Symbol(f"p({-arg})")
            steps += [(p, node), (q, sigmoid(-arg))]
            sub[node], sub[sigmoid(-arg)] = p, q
        outs = [self.V1.xreplace(sub), self.V2.xreplace(sub)]
        names = [("V_1", outs[0]), ("V_2", outs[1])]
        prog = Program.from_steps(self.params1 + self.params2 + self.parameters, steps)
        prog, syms = prog.define(names)
        return prog.with_outputs(syms)

    def value(self, theta1, theta2, **parameters) -> np.ndarray:
        """Numeric values, shape ``(..., 2)``; a game with symbols takes their values as keywords.

        Examples
        --------
        >>> a = sp.Symbol("a", real=True)
        >>> x, y = sp.symbols("x y", real=True)
        >>> g = differentiable(a * x * y, -a * x * y, [x], [y])
        >>> g.value(np.array([2.0]), np.array([3.0]), a=[1.0, -1.0]).tolist()
        [[6.0, -6.0], [-6.0, 6.0]]
        """
        from lola_sym.games.values import numeric_values
        return numeric_values(self, theta1, theta2, **parameters)

    def average_reward(self, theta1, theta2, **parameters) -> np.ndarray:
        """The values themselves (a one-shot game has no per-step average)."""
        return self.value(theta1, theta2, **parameters)


def _sympy_float(v, name: str):
    """A real finite sympy number as a float (for :meth:`DifferentiableGame.parameter_array`)."""
    if not (isinstance(v, sp.Expr) and v.is_number):
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(v).__name__} "
                        f"{v}")
    if v.is_real is not True or v.is_finite is not True:
        raise ValueError(f"{name} must be a finite real number, got {v}")
    return float(v)


def _check_game_symbols(game) -> None:
    """Refuse game symbols the compiled code or the exact analyses could not tell apart."""
    agents = {p.name for p in game.params1 + game.params2}
    free = (game.V1.free_symbols | game.V2.free_symbols) - set(game.params1 + game.params2)
    for s in sorted(free, key=sp.default_sort_key):
        if not isinstance(s, sp.Symbol) or isinstance(s, sp.Dummy):
            raise TypeError(f"the values have a free {type(s).__name__} {s}; a game symbol must "
                            f"be a sympy Symbol")
    by_name = {}
    for s in sorted(free, key=sp.default_sort_key):
        if not s.name.isidentifier() or s.name.startswith("_"):
            raise ValueError(f"the game symbol {s.name!r} must be a Python identifier not "
                             f"starting with '_' (it becomes a keyword argument of the compiled "
                             f"fields and of value)")
        if s.is_real is not True:
            raise ValueError(f"the game symbol {s.name!r} must be declared real: "
                             f"sp.Symbol({s.name!r}, real=True) (or positive=True, ...)")
        if s.name in agents:
            raise ValueError(f"the game symbol {s.name!r} has the name of an agent's parameter "
                             f"(with other assumptions); rename one of them")
        if s.name in RESERVED_NAMES:
            raise ValueError(f"the game symbol {s.name!r} has a reserved name {RESERVED_NAMES} "
                             f"(the rules' rates, which the exact analyses keep as symbols); "
                             f"rename it")
        if s.name in by_name:
            raise ValueError(f"two game symbols are named {s.name!r} (with different "
                             f"assumptions); use one symbol per name")
        by_name[s.name] = s
    if by_name:
        taken = {s.name for s in game.value_program().symbols}
        clash = sorted(set(by_name) & taken)
        if clash:
            raise ValueError(f"the game symbol {clash[0]!r} has the name of a quantity of the "
                             f"value program; rename it")


def differentiable(V1, V2, params1, params2, *, name: str = "custom",
                   loss: bool = False) -> DifferentiableGame:
    """A differentiable game from two expressions; ``loss=True`` reads them as losses.

    Symbols of the expressions other than ``params1`` and ``params2`` are the
    game's symbols (:attr:`DifferentiableGame.parameters`, rules in the module
    docstring).

    Examples
    --------
    >>> x, y = sp.symbols("x y")
    >>> differentiable(x * y, -x * y, [x], [y], loss=True).V1
    -x*y
    >>> differentiable(sp.Symbol("eta", real=True) * x * y, -x * y, [x], [y])
    Traceback (most recent call last):
    ...
    ValueError: the game symbol 'eta' has a reserved name ('eta', 'gamma') (the rules' rates, which the exact analyses keep as symbols); rename it
    """
    V1, V2 = _value_expr(V1, "V1"), _value_expr(V2, "V2")
    if loss:
        V1, V2 = -V1, -V2
    return DifferentiableGame(V1, V2, params1, params2, name)
