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
    options : dict
        Structural options and defaults (e.g. HOLA's ``order``); each value
        gives a different derivation, passed as ``derive(game, **options)``.
    combine : callable, optional
        For rules without a smooth symbolic form (SOS, SGA, CGD): the program
        outputs named *primitives* (groups of sizes ``primitives(game)``) and
        ``combine(groups, hyper, game) -> (g1, g2)`` finishes in numpy.
    primitives : callable, optional
        ``primitives(game, **options) -> tuple of (name, size)`` for combined rules.
    """

    name: str
    title: str
    derive: Callable
    hyper: dict = field(default_factory=dict)
    order: int = 1
    needs_hessian: bool = False
    reference: str = ""
    options: dict = field(default_factory=dict)
    combine: Callable | None = None
    primitives: Callable | None = None
    #: hyper-parameters of the compiled program (the rest are used by ``combine`` only)
    program_hyper: tuple | None = None

    def compiled_hyper(self) -> tuple:
        """Names of the hyper-parameters the compiled program takes, in call order."""
        return tuple(self.hyper) if self.program_hyper is None else tuple(self.program_hyper)

    def output_groups(self, game, options: dict) -> tuple:
        """Sizes of the compiled output groups."""
        if self.primitives is None:
            return tuple(game.dims)
        return tuple(n for _, n in self.primitives(game, **options))

    def check_options(self, given: dict) -> dict:
        """Validated structural options merged with their defaults."""
        out = dict(self.options)
        for k, v in given.items():
            if k not in self.options:
                raise ValueError(f"rule {self.name!r} has no option {k!r}")
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"option {k!r} of rule {self.name!r} must be a non-negative int, "
                                 f"got {v!r}")
            out[k] = int(v)
        return out

    def split(self, given: dict) -> tuple:
        """Split keyword arguments into (validated structural options, hyper-parameters).

        Examples
        --------
        >>> get_rule("hola").split({"order": 3, "eta": 0.5})
        ({'order': 3}, {'eta': 0.5})
        >>> get_rule("lola").split({"beta": 1})
        Traceback (most recent call last):
        ...
        ValueError: rule 'lola' has no hyper-parameter 'beta'; it takes ['eta']
        """
        given = dict(given)
        options = self.check_options({k: given.pop(k) for k in list(given) if k in self.options})
        unknown = set(given) - set(self.hyper)
        if unknown:
            raise ValueError(f"rule {self.name!r} has no hyper-parameter {sorted(unknown)[0]!r}; "
                             f"it takes {sorted(self.hyper) + sorted(self.options)}")
        return options, given

    @property
    def hyper_symbols(self) -> tuple:
        """The compiled program's hyper-parameters as sympy symbols, in call order."""
        return tuple(sp.Symbol(h, positive=True) for h in self.compiled_hyper())


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
    >>> get_rule("lol")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown rule 'lol'; choose one of ['cgd', 'co', ...]
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
from lola_sym.rules import lookahead as _lookahead  # noqa: E402,F401
from lola_sym.rules import exact as _exact  # noqa: E402,F401
from lola_sym.rules import lola2 as _lola2  # noqa: E402,F401
from lola_sym.rules import consensus as _consensus  # noqa: E402,F401
from lola_sym.rules import composite as _composite  # noqa: E402,F401
