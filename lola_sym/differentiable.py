r"""One-shot differentiable games: two value functions of two parameter vectors.

The games of the opponent-shaping literature (Tandem, Hamiltonian, matching
pennies with sigmoid policies, ...) with the same interface as the iterated
games: symbolic values, a value program, ``value``, ``update_field``.
Values are maximised; a game published with losses is stored as values = -loss.

References
----------
.. [1] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. arXiv:1811.08469.
.. [2] Willi, T. et al. (2022). COLA: Consistent Learning with
   Opponent-Learning Awareness. ICML. arXiv:2203.04098.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from lola_sym.program import Program, sigmoid

__all__ = ["DifferentiableGame", "differentiable"]


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
        extra = (V1.free_symbols | V2.free_symbols) - set(p1) - set(p2)
        if extra:
            raise ValueError(f"values use symbols that are not parameters: {sorted(map(str, extra))}; "
                             "substitute numbers for constants")
        object.__setattr__(self, "params1", p1)
        object.__setattr__(self, "params2", p2)
        object.__setattr__(self, "V1", V1)
        object.__setattr__(self, "V2", V2)

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

    def spec(self) -> dict:
        """The exact specification (JSON-able) for cache keys."""
        return {"kind": self.kind, "V1": sp.srepr(self.V1), "V2": sp.srepr(self.V2),
                "params1": [str(p) for p in self.params1], "params2": [str(p) for p in self.params2]}

    def values(self) -> tuple:
        """``(V1, V2)`` as sympy expressions."""
        return self.V1, self.V2

    def value_program(self) -> Program:
        """The value program: sigmoid steps (with their complements), then (V1, V2)."""
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
        prog = Program.from_steps(self.params1 + self.params2, steps)
        prog, syms = prog.define(names)
        return prog.with_outputs(syms)

    def value(self, theta1, theta2) -> np.ndarray:
        """Numeric values, shape ``(..., 2)``."""
        from lola_sym.values import numeric_values
        return numeric_values(self, theta1, theta2)

    def average_reward(self, theta1, theta2) -> np.ndarray:
        """The values themselves (a one-shot game has no per-step average)."""
        return self.value(theta1, theta2)


def differentiable(V1, V2, params1, params2, *, name: str = "custom",
                   loss: bool = False) -> DifferentiableGame:
    """A differentiable game from two expressions; ``loss=True`` reads them as losses.

    Examples
    --------
    >>> x, y = sp.symbols("x y")
    >>> differentiable(x * y, -x * y, [x], [y], loss=True).V1
    -x*y
    """
    V1, V2 = _value_expr(V1, "V1"), _value_expr(V2, "V2")
    if loss:
        V1, V2 = -V1, -V2
    return DifferentiableGame(V1, V2, params1, params2, name)
