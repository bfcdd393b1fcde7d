r"""Learning rules: each derived exactly as a program of update directions.

A rule maps a game to a :class:`~lola_sym.program.Program` whose outputs are
the ascent directions :math:`(g_1, g_2)` of both agents (training does
:math:`\theta_i \leftarrow \theta_i + \delta g_i`). Rules are registered by
name with their metadata; :func:`get_rule` looks them up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

__all__ = ["Rule", "register", "get_rule", "RULES"]


@dataclass(frozen=True)
class Rule:
    """A registered learning rule.

    Attributes
    ----------
    name : str
        Registry name (``"nl"``, ``"lola"``, ...).
    title : str
        Human-readable name.
    derive : callable
        ``derive(game) -> Program`` with outputs ``g1 + g2`` (flattened).
    hyper : dict
        Hyper-parameter names and defaults; each is a sympy symbol in the
        derived program and a runtime argument of the compiled field.
    order : int
        Highest order of derivatives of the values the rule uses.
    needs_hessian : bool
        Whether second derivatives of the values appear.
    reference : str
        Where the rule comes from.
    """

    name: str
    title: str
    derive: Callable
    hyper: dict = field(default_factory=dict)
    order: int = 1
    needs_hessian: bool = False
    reference: str = ""

    @property
    def hyper_symbols(self) -> tuple:
        """The hyper-parameters as sympy symbols, in call order."""
        return tuple(sp.Symbol(h, positive=True) for h in self.hyper)


#: All registered rules by name.
RULES: dict = {}


def register(rule: Rule) -> Rule:
    """Add a rule to the registry."""
    if rule.name in RULES:
        raise ValueError(f"rule {rule.name!r} is already registered")
    RULES[rule.name] = rule
    return rule


def get_rule(name) -> Rule:
    """The rule called ``name``.

    Examples
    --------
    >>> get_rule("lola").hyper
    {'eta': 1.0}
    >>> get_rule("lol")
    Traceback (most recent call last):
    ...
    ValueError: unknown rule 'lol'; choose one of ['lola', 'nl']
    """
    if isinstance(name, Rule):
        return name
    if not isinstance(name, str):
        raise TypeError(f"rule must be a name (str), got {type(name).__name__}")
    try:
        return RULES[name]
    except KeyError:
        raise ValueError(f"unknown rule {name!r}; choose one of {sorted(RULES)}") from None


from lola_sym.rules import naive as _naive  # noqa: E402,F401  (registration)
from lola_sym.rules import lola as _lola  # noqa: E402,F401
