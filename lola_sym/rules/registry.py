r"""The rule registry: what a learning rule is, and how rules are found.

A rule maps a game to a :class:`~lola_sym.program.Program` whose outputs are
the ascent directions :math:`(g_1, \dots, g_n)` of the agents (training does
:math:`\theta_i \leftarrow \theta_i + \delta g_i`). A :class:`Rule` owns
everything about itself: its derivation, its hyper-parameters (:class:`Hyper`:
default, LaTeX name, admissible interval), its notes for the derivation pages
(:class:`Notes`), and for combined rules its finishing step, written once over
an arithmetic that runs on numpy batches and on sympy expressions
(:mod:`lola_sym.rules.arithmetic`). Rules are registered by name
(:func:`register`, called by the rule's own module; the package imports every
module of ``lola_sym.rules``), :func:`get_rule` looks them up, and
:func:`rule_names` lists them by tag (each tag's meaning is in :data:`TAGS`), in
the order of their ``Rule.rank``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Number
from types import MappingProxyType
from typing import Any, Callable, SupportsFloat, cast

import numpy as np
import sympy as sp

from lola_sym.rules.arithmetic import NUMPY, NoClosedForm, SympyArithmetic
from lola_sym.rules.declarations import Bound, Hyper, Notes

__all__ = ["Rule", "Bound", "Hyper", "Notes", "register", "get_rule", "rule_names", "RULES",
           "TAGS"]

#: The tags a rule may carry (:attr:`Rule.tags`) and what each says about it. Lists of
#: rules (the defaults of :func:`~lola_sym.dynamics.compare.compare`, the tournament, the report)
#: are queries of the registry by tag (:func:`rule_names`), never hand-kept tuples.
TAGS = {
    "lookahead": "anticipates the opponent's learning step of size eta (LookAhead and the LOLA "
                 "family; with eta = 0 it is the naive learner)",
    "opponent_shaping": "differentiates through the opponent's learning step, shaping it "
                        "(LOLA's term eta * chi, in full or in part)",
    "combined": "no smooth symbolic form: exact primitives finished in numpy (Rule.combine)",
    "shaping_since_lola": "opponent shaping after LOLA that is not a plain lookahead (POLA's "
                          "proximal step, LOQA's Q-value opponent model, Advantage Alignment's "
                          "weighted advantages): its field is exact but not one derived program",
    "symplectic": "symplectic gradient adjustment: xi - lam * A^T xi with A the antisymmetric "
                  "part of the game Hessian (Balduzzi et al. 2018)",
    "policy_gradient": "has sample-based policy-gradient estimators (lola_sym.sampling.estimators), so "
                       "lola_sym.sampling.opponent_model.train_pg can train it from rollouts",
    "lola2018_tournament": "a rule of the LOLA paper's tournament (Foerster et al. 2018, "
                           "Table 4): NL, LOLA and second-order LOLA",
    "compare": "run by default when rules are compared side by side (lola_sym.dynamics.compare); "
               "variants such as SGA with a fixed lambda are left out",
    "n_player": "defined for any number of players (the n-player forms of Letcher et al. "
                "2019, Sec. 2); rules without it need exactly two",
    "tournament": "in the default round-robin tournament (lola_sym.dynamics.tournament): the LOLA "
                  "paper's rules, then LookAhead and SOS",
}


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
        ``derive(game) -> Program`` with outputs ``g_1 + ... + g_n`` (flattened).
    hyper : dict
        Hyper-parameter names and defaults; each is a sympy symbol in the
        derived program and a runtime argument of the compiled field. Given as
        a tuple of :class:`Hyper` (name, default, LaTeX, bound); a plain dict of
        defaults is accepted too (LaTeX = name, bound ``[0, inf)``).
    order : int
        Highest order of derivatives of the values the rule uses.
    needs_hessian : bool
        Whether second derivatives of the values appear.
    reference : str
        Where the rule comes from.
    options : dict
        Structural options and defaults (e.g. HOLA's ``order``); each value
        gives a different derivation, passed as ``derive(game, **options)``.
    finish : callable, optional
        For rules without a smooth symbolic form (SOS, SGA, CGD): the program
        outputs named *primitives* (groups of sizes ``primitives(game)``) and
        ``finish(ar, groups, hyper, game) -> (g_1, ..., g_n)`` finishes them in
        the arithmetic ``ar`` (:mod:`lola_sym.rules.arithmetic`): written once,
        run on numpy batches by :attr:`combine` and on sympy expressions by
        :meth:`closed_update`.
    combine : callable or None
        Not an argument: ``combine(groups, hyper, game) -> (g_1, ..., g_n)``,
        ``finish`` in numpy (None for rules without ``finish``).
    primitives : callable, optional
        ``primitives(game, **options) -> tuple of (name, size)`` for combined rules.
    notes : Notes, optional
        The rule's definition and source for the derivation pages.
    rank : int, optional
        The rule's place in every listing (:data:`RULES`, :func:`rule_names`):
        ranked rules first by rank (ranks are unique), then unranked ones in
        registration order. The package's rules are ranked, so that the order
        does not depend on the order their modules are imported in.
    tags : frozenset of str
        What kind of rule it is and which default lists it belongs to (the
        meanings are in :data:`TAGS`); queried with :func:`rule_names`.
    """

    name: str
    title: str
    derive: Callable
    #: given as a tuple of Hyper or a dict of defaults; a dict name -> default once constructed
    hyper: Any = field(default_factory=dict)
    order: int = 1
    needs_hessian: bool = False
    reference: str = ""
    options: dict = field(default_factory=dict)
    finish: Callable | None = None
    primitives: Callable | None = None
    #: hyper-parameters of the compiled program (the rest are used by ``finish`` only)
    program_hyper: tuple | None = None
    #: ``size_estimate(game, **options) -> int``: an estimate (from above) of the
    #: derived program's steps, for rules whose size grows with an option
    size_estimate: Callable | None = None
    #: when the rule's direction is undefined at a point, for error messages (e.g. CGD's
    #: singular linear system); overflow is reported for every rule
    failure: str = ""
    tags: frozenset = frozenset()
    #: why the rule needs exactly two players (rules without the ``n_player`` tag)
    two_player_reason: str = "it is defined for two players"
    notes: Notes | None = None
    rank: int | None = None
    #: the declared hyper-parameters (set from ``hyper``)
    hyper_specs: tuple = field(init=False, repr=False, compare=False)
    #: admissible interval of each hyper-parameter, by name (set from ``hyper``)
    bounds: Mapping = field(init=False, repr=False, compare=False)
    combine: Callable | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        given = self.hyper
        if isinstance(given, Mapping):
            specs = tuple(Hyper(k, v, k) for k, v in given.items())
        else:
            specs = tuple(given)
            bad = [h for h in specs if not isinstance(h, Hyper)]
            if bad:
                raise TypeError(f"the hyper-parameters of rule {self.name!r} must be Hyper "
                                f"declarations (or a dict of defaults), got {bad[0]!r}")
        names = [h.name for h in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"rule {self.name!r} declares a hyper-parameter twice: {names}")
        if (self.finish is None) != (self.primitives is None):
            raise ValueError(f"rule {self.name!r}: a finishing step and primitives go together "
                             f"(a combined rule has both, a smooth rule neither)")
        if self.rank is not None and (isinstance(self.rank, bool)
                                      or not isinstance(self.rank, int)):
            raise TypeError(f"the rank of rule {self.name!r} must be an int, got {self.rank!r}")
        object.__setattr__(self, "hyper_specs", specs)
        object.__setattr__(self, "hyper", {h.name: h.default for h in specs})
        object.__setattr__(self, "bounds", MappingProxyType({h.name: h.bound for h in specs}))
        object.__setattr__(self, "combine", None if self.finish is None else
                           _numpy_finish(self.finish))

    def hyper_latex(self, name: str) -> str:
        r"""The LaTeX of hyper-parameter ``name``.

        Examples
        --------
        >>> get_rule("sga").hyper_latex("lam")
        '\\mathrm{lam}'
        """
        for h in self.hyper_specs:
            if h.name == name:
                return h.latex
        raise ValueError(f"rule {self.name!r} has no hyper-parameter {name!r}; "
                         f"it takes {sorted(self.hyper)}")

    def closed_update(self, outputs: Mapping, hyper: Mapping, game, simplify=None) -> tuple:
        r"""The finishing step on exact primitives: ``((g_1, ..., g_n), definitions)``.

        The same :attr:`finish` that :attr:`combine` runs in numpy, run in
        :class:`~lola_sym.rules.arithmetic.SympyArithmetic`. ``definitions`` are
        the auxiliary quantities it names (SGA's switch ``s``), as
        ``(Symbol, Expr)`` pairs.

        Parameters
        ----------
        outputs : mapping
            Each primitive group's entries by name (sympy expressions), in the
            order of :attr:`primitives`.
        hyper : mapping
            Hyper-parameter name to a number or symbol.
        game : game
        simplify : callable, optional
            Applied to every inner product the step forms.

        Raises
        ------
        NoClosedForm
            When the step has no closed form worth printing (SOS's switch,
            CGD's inverse beyond 4 x 4); also for a rule without a finishing step.

        Examples
        --------
        >>> import sympy as sp
        >>> from lola_sym.games import matching_pennies
        >>> x, h, ht, lam = sp.symbols("x h ht lam")
        >>> prims = {"xi": (x, -x), "H^T xi": (ht, -ht), "H xi": (h, -h)}
        >>> get_rule("sga_plain").closed_update(prims, {"lam": lam}, matching_pennies())
        (((-lam*(-h/2 + ht/2) + x,), (-lam*(h/2 - ht/2) - x,)), ())
        """
        if self.finish is None:
            raise NoClosedForm(f"rule {self.name!r} has no finishing step")
        ar = SympyArithmetic(simplify)
        groups = tuple(sp.Matrix(v) for v in outputs.values())
        update = self.finish(ar, groups, dict(hyper), game)
        return tuple(tuple(g) for g in update), tuple(ar.definitions)

    def check_players(self, game) -> None:
        """Refuse a game of more than two players unless the rule has an n-player form.

        Examples
        --------
        >>> from lola_sym.games import contribution
        >>> get_rule("sos").check_players(contribution(3))   # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: rule 'sos' needs exactly two players (contribution (n=3, cf=9/5) has 3): ...
        """
        n = len(game.dims)
        if n == 2 or "n_player" in self.tags:
            return
        raise ValueError(f"rule {self.name!r} needs exactly two players ({game.name} has {n}): "
                         f"{self.two_player_reason}; for {n} players use one of "
                         f"{list(rule_names('n_player'))}")

    def check_size(self, game, options: dict) -> None:
        """Refuse, before deriving, a program estimated beyond ``MAX_PROGRAM_STEPS``.

        Derivation time grows about quadratically with the program (measured,
        HOLA on the IPD: 1,411 steps in 3 s, 3,015 in 11 s, 6,175 in 48 s).

        Examples
        --------
        >>> from lola_sym.games import ipd
        >>> get_rule("hola").check_size(ipd(), {"order": 6})   # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: rule 'hola' with order=6 on IPD would derive about 24,892 program steps (limit 10,000, about 2 min of derivation; this one about 13 min); ...
        """
        if self.size_estimate is None:
            return
        n = int(self.size_estimate(game, **options))
        if n > MAX_PROGRAM_STEPS:
            opts = ", ".join(f"{k}={v}" for k, v in options.items())
            raise ValueError(
                f"rule {self.name!r} with {opts} on {game.name} would derive about {n:,} program "
                f"steps (limit {MAX_PROGRAM_STEPS:,}, about 2 min of derivation; this one about "
                f"{_derive_minutes(n):.0f} min); choose a smaller option, or a smaller game")

    def accepted(self, given: Mapping, *, strict: bool, options: bool = True,
                 refusal: str = "rule {rule!r} takes no hyper-parameter {name!r}; "
                                "it takes {takes}") -> dict:
        """The entries of ``given`` that this rule takes, in the order given.

        The one place where settings are picked for a rule: its hyper-parameters
        and, with ``options``, its structural options (HOLA's ``order``). Only the
        names are checked; the values are validated by :meth:`hyper_values` and
        :meth:`check_options`.

        Parameters
        ----------
        given : mapping
            Settings, possibly meant for several rules.
        strict : bool
            What to do with a name the rule does not take: ``False`` drops it
            silently (shared keywords, some of which belong to other rules);
            ``True`` refuses it with a ``ValueError``.
        options : bool
            Whether structural options count as taken (else only hyper-parameters).
        refusal : str
            The message of that ``ValueError``, formatted with ``rule`` (this
            rule's name), ``name`` (the alphabetically first name refused) and
            ``takes`` (the sorted names the rule takes).

        Examples
        --------
        >>> hola = get_rule("hola")
        >>> hola.accepted({"eta": 0.5, "a": 0.1, "order": 3}, strict=False)
        {'eta': 0.5, 'order': 3}
        >>> hola.accepted({"eta": 0.5, "order": 3}, strict=False, options=False)
        {'eta': 0.5}
        >>> hola.accepted({"eta": 0.5, "b": 1, "a": 0.1}, strict=True)
        Traceback (most recent call last):
        ...
        ValueError: rule 'hola' takes no hyper-parameter 'a'; it takes ['eta', 'order']
        """
        known = set(self.hyper) | (set(self.options) if options else set())
        if strict:
            refused = sorted((k for k in given if k not in known), key=str)
            if refused:
                raise ValueError(refusal.format(rule=self.name, name=refused[0],
                                                takes=sorted(known)))
        return {k: v for k, v in given.items() if k in known}

    def bound(self, name: str) -> Bound:
        """The admissible interval of hyper-parameter ``name``."""
        return self.bounds.get(name, Bound())

    def hyper_values(self, given: dict) -> dict:
        """Validated float values of every hyper-parameter, defaults filled in.

        The rule's one validator: an unknown name is an error that lists the
        names the rule takes, a value must be a finite real number (not a
        string or bool), and it must lie in the rule's declared :meth:`bound`.

        Examples
        --------
        >>> get_rule("sos").hyper_values({"eta": 0.5})
        {'eta': 0.5, 'a': 0.5, 'b': 0.1}
        >>> get_rule("lola").hyper_values({"eta": -1})
        Traceback (most recent call last):
        ...
        ValueError: eta must lie in [0, inf) (rule 'lola'), got -1.0
        >>> get_rule("nl").hyper_values({"eta": 5})
        Traceback (most recent call last):
        ...
        ValueError: rule 'nl' has no hyper-parameter 'eta'; it takes []
        """
        given = dict(given)
        unknown = set(given) - set(self.hyper)
        if unknown:
            raise ValueError(f"rule {self.name!r} has no hyper-parameter {sorted(unknown)[0]!r}; "
                             f"it takes {sorted(self.hyper) + sorted(self.options)}")
        out = {}
        for name, default in self.hyper.items():
            v = given.get(name, default)
            if (isinstance(v, (bool, np.bool_)) or not isinstance(v, (Number, np.number))
                    or isinstance(v, (complex, np.complexfloating))):
                raise TypeError(f"{name} must be a real number (rule {self.name!r}), "
                                f"got {type(v).__name__} {v!r}")
            try:
                v = float(cast(SupportsFloat, v))   # a real number (checked above)
            except OverflowError:               # an int beyond double precision
                v = math.inf
            if not math.isfinite(v):
                raise ValueError(f"{name} must be finite (rule {self.name!r}), got {v}")
            if v not in self.bound(name):
                raise ValueError(f"{name} must lie in {self.bound(name)} (rule {self.name!r}), "
                                 f"got {v}")
            out[name] = v
        return out

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
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 0:
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


def _numpy_finish(finish):
    """``combine(groups, hyper, game)``: ``finish`` run in numpy on compiled primitives."""
    def combine(groups, hyper, game):
        # overflow or a zero division at a point gives a non-finite direction there, which
        # the field reports with the point
        with np.errstate(all="ignore"):
            return finish(NUMPY, tuple(groups), hyper, game)
    combine.__doc__ = finish.__doc__
    return combine


#: Largest program (in steps, estimated before deriving) that a rule may derive.
MAX_PROGRAM_STEPS = 10_000


def _derive_minutes(steps: int) -> float:
    """Derivation time in minutes, quadratic fit to HOLA on the IPD (48 s at 6,175 steps)."""
    return 48.0 * (steps / 6175) ** 2 / 60


#: All registered rules by name, in the order of their ``Rule.rank`` (then unranked
#: rules in registration order).
RULES: dict = {}


def register(rule: Rule) -> Rule:
    """Add a rule to the registry, in its place by ``Rule.rank``.

    Its tags must be a frozenset of names in :data:`TAGS`, its name and rank
    (if any) not taken. Each rule module calls this for its own rules; the
    package imports every module of ``lola_sym.rules``, so nothing else lists them.

    Examples
    --------
    >>> from lola_sym.rules.naive import derive_nl
    >>> register(Rule("_doc", "a rule", derive_nl, rank=get_rule("lola").rank,
    ...               tags=frozenset({"compare"})))   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: rule '_doc' has the rank 2 of rule 'lola'; ranks are unique, take one above ...
    """
    if rule.name in RULES:
        raise ValueError(f"rule {rule.name!r} is already registered")
    if not isinstance(rule.tags, frozenset):
        raise TypeError(f"the tags of rule {rule.name!r} must be a frozenset, "
                        f"got {type(rule.tags).__name__}")
    unknown = sorted(t for t in rule.tags if t not in TAGS)
    if unknown:
        raise ValueError(f"rule {rule.name!r} has the unknown tag {unknown[0]!r}; "
                         f"choose from {sorted(TAGS)}")
    if rule.rank is not None:
        taken = {r.rank: r.name for r in RULES.values() if r.rank is not None}
        if rule.rank in taken:
            raise ValueError(f"rule {rule.name!r} has the rank {rule.rank} of rule "
                             f"{taken[rule.rank]!r}; ranks are unique, take one above "
                             f"{max(taken)}")
    RULES[rule.name] = rule
    # ranked rules by rank, then the unranked ones in registration order (a stable sort)
    ordered = sorted(RULES.values(), key=lambda r: (r.rank is None, r.rank or 0))
    RULES.clear()
    RULES.update((r.name, r) for r in ordered)
    return rule


def rule_names(tag: str | None = None, *, first: str | None = None) -> tuple:
    """Names of the registered rules carrying ``tag`` (all rules if None), in registry order.

    Parameters
    ----------
    tag : str, optional
        One of :data:`TAGS`.
    first : str, optional
        Another tag: the rules that also carry it come first (each group still in
        registration order), e.g. the LOLA paper's own rules before the others.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> rule_names("policy_gradient")
    ('nl', 'lola')
    >>> rule_names("tournament", first="lola2018_tournament")
    ('nl', 'lola', 'lola2', 'la', 'sos')
    >>> len(rule_names()) == len(RULES)
    True
    >>> rule_names("chess")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown tag 'chess'; choose one of ['combined', 'compare', ...]
    """
    for t in (tag, first):
        if t is not None and t not in TAGS:
            raise ValueError(f"unknown tag {t!r}; choose one of {sorted(TAGS)}")
    names = tuple(n for n, r in RULES.items() if tag is None or tag in r.tags)
    if first is None:
        return names
    return tuple(sorted(names, key=lambda n: first not in RULES[n].tags))


def get_rule(name) -> Rule:
    """The rule called ``name``.

    Examples
    --------
    >>> get_rule("lola").hyper
    {'eta': 1.0}
    >>> get_rule("lol")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown rule 'lol'; choose one of ['advantage_alignment', 'cgd', 'co', ...]
    """
    if isinstance(name, Rule):
        return name
    if not isinstance(name, str):
        raise TypeError(f"rule must be a name (str), got {type(name).__name__}")
    try:
        return RULES[name]
    except KeyError:
        raise ValueError(f"unknown rule {name!r}; choose one of {sorted(RULES)}") from None
