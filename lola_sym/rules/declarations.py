r"""What a rule declares besides its derivation: hyper-parameters, bounds, page notes.

Plain frozen values, validated on construction: :class:`Bound` (an admissible
interval), :class:`Hyper` (a hyper-parameter: name, default, LaTeX, bound) and
:class:`Notes` (what the derivation pages say about the rule). A
:class:`~lola_sym.rules.Rule` holds them; :mod:`lola_sym.rules.registry`
re-exports them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Bound", "Hyper", "Notes"]


@dataclass(frozen=True)
class Bound:
    """The admissible interval of a hyper-parameter, declared with its rule.

    Examples
    --------
    >>> b = Bound(0.0, 1.0, lo_open=True, hi_open=True)
    >>> 0.5 in b, 0.0 in b, str(b)
    (True, False, '(0, 1)')
    >>> str(Bound())          # the default: rates, lookaheads and weights are non-negative
    '[0, inf)'
    """

    lo: float = 0.0
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = True

    def __contains__(self, x) -> bool:
        above = x > self.lo if self.lo_open else x >= self.lo
        below = x < self.hi if self.hi_open else x <= self.hi
        return bool(above and below)

    def __str__(self) -> str:
        def num(v):
            return "inf" if v == math.inf else f"{v:g}"
        return (f"{'(' if self.lo_open else '['}{num(self.lo)}, "
                f"{num(self.hi)}{')' if self.hi_open else ']'}")


@dataclass(frozen=True)
class Hyper:
    r"""A hyper-parameter of a rule, declared with the rule.

    Each is a sympy symbol (positive) of the derived program and a run-time
    argument of the compiled field; :meth:`Rule.hyper_values <lola_sym.rules.registry.Rule.hyper_values>` validates given
    values against ``bound``, and the derivation pages print ``latex``.

    Attributes
    ----------
    name : str
        Keyword name (``"eta"``).
    default : float
        Value when none is given.
    latex : str
        How the pages write it (``r"\eta"``).
    bound : Bound
        Admissible interval (default ``[0, inf)``: a negative lookahead, rate or
        weight is refused).

    Examples
    --------
    >>> h = Hyper("eta", 1.0, r"\eta")
    >>> h.latex, str(h.bound)
    ('\\eta', '[0, inf)')
    """

    name: str
    default: float
    latex: str
    bound: Bound = Bound()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"a hyper-parameter's name must be an identifier, got {self.name!r}")
        if not isinstance(self.bound, Bound):
            raise TypeError(f"the bound of {self.name!r} must be a Bound, "
                            f"got {type(self.bound).__name__}")
        if self.default not in self.bound:
            raise ValueError(f"the default {self.default!r} of {self.name!r} lies outside its "
                             f"bound {self.bound}")


@dataclass(frozen=True)
class Notes:
    r"""What the derivation pages say about a rule (LaTeX in raw strings).

    The package's convention is values :math:`V^i` maximised, ascent
    :math:`\theta_i \leftarrow \theta_i + \delta g_i`, :math:`\eta` the step the
    agent assumes its opponent takes; the source's is usually losses
    :math:`L_i = -V^i` minimised, :math:`\theta \leftarrow \theta - \mathrm{lr}\, g`,
    lookahead rate :math:`\alpha`.

    Attributes
    ----------
    values : str
        The update in values (ascent) convention, display maths.
    losses : str
        The same rule as its source writes it (losses, descent), display maths.
    source : str
        Paper and equation or section (the numbers quoted by the rule's module
        and the project's reference notes; none where they give none).
    remark : str
        One or two sentences: what is held fixed, special cases.
    combination : str
        Combined rules: how the finishing step combines the primitives, display
        maths (values convention).
    primitives : mapping
        Combined rules: LaTeX of each named primitive group (``"xi"`` to
        ``r"\xi"``); an entry of a group is written ``tex_{1,s}``, or
        ``(tex)_{1,s}`` when ``tex`` has a space.
    blocks : mapping
        Primitive groups that are Jacobian blocks :math:`\partial \xi_i / \partial
        \theta_j` (row-major), as ``name -> (i, j)``; their entries are written as
        those derivatives.
    steps : tuple of (str, str)
        Named steps of the programs this rule's module builds,
        ``<stem>_<agent>,<label>``: ``(stem regex, LaTeX)``; a group of the stem
        regex is written ``\1`` in the LaTeX (HOLA's level). Program steps are
        printed ``LaTeX_{agent,label}``, whichever rule's page they appear on.

    Examples
    --------
    >>> from lola_sym.rules import get_rule
    >>> notes = get_rule("cgd").notes
    >>> notes.losses
    'g = (I + \\eta H_o)^{-1} \\xi'
    >>> notes.primitives["H_12"], notes.blocks["H_12"]
    ('H_{12}', (1, 2))
    >>> get_rule("hola").notes.steps
    (('hola(\\d+)', 'h^{(\\1)}'),)
    """

    values: str
    losses: str
    source: str
    remark: str = ""
    combination: str = ""
    primitives: Mapping = field(default_factory=dict)
    blocks: Mapping = field(default_factory=dict)
    steps: tuple = ()
