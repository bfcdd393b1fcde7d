"""Shared pieces of the ``lola-sym`` subcommands: the game an invocation names, its
hyper-parameters checked against the rules, and small formatting helpers.

:class:`~lola_sym.cli.support.UsageError` means arguments that do not fit
together (exit code 2).
"""

from __future__ import annotations

import inspect
import math
from contextlib import contextmanager
from fractions import Fraction

import numpy as np
import sympy as sp

from lola_sym.cli.support import UsageError
from lola_sym.rules import get_rule

__all__ = ["usage", "takers", "game_of", "describe", "need_two_players", "check_players", "check_values", "check_size", "hyper_of", "check_sizes", "rational", "hyper_text", "mean_std", "mean_std_text"]


@contextmanager
def usage(prefix: str = ""):
    """Validation of arguments by the library: its ValueError or TypeError is a usage error.

    Only around checks made before anything runs (a rule's bounds, a program's size, a
    game's discount), so that a failure while running still exits with code 1.

    Examples
    --------
    >>> with usage("--eta: "):
    ...     raise ValueError("eta must be > 0")
    Traceback (most recent call last):
    ...
    lola_sym.cli.support.UsageError: --eta: eta must be > 0
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{prefix}{exc}") from None


def takers(option: str) -> list:
    """The catalogue games whose constructor takes the keyword ``option``.

    Examples
    --------
    >>> takers("cf")
    ['contribution']
    """
    from lola_sym.games import CATALOGUE
    return sorted(k for k, make in CATALOGUE.items()
                  if option in inspect.signature(make).parameters)


def game_of(args):
    """The catalogue game named by ``--game``, with ``--gamma``, ``--players``, ``--cf`` and
    ``--memory`` if given (each checked against what the game's constructor takes).

    Examples
    --------
    >>> from argparse import Namespace
    >>> from fractions import Fraction
    >>> game_of(Namespace(game="ipd", gamma=Fraction(9, 10))).gamma
    9/10
    >>> game_of(Namespace(game="tandem", gamma=Fraction(9, 10)))
    Traceback (most recent call last):
    ...
    lola_sym.cli.support.UsageError: --gamma is the discount of an iterated game; tandem is one-shot (consensus optimisation's gamma: --hyper gamma=...)
    """
    from lola_sym.games import CATALOGUE, repeated
    make = CATALOGUE[args.game]
    takes = inspect.signature(make).parameters
    players, cf, memory = (getattr(args, k, None) for k in ("players", "cf", "memory"))
    kw, given = {}, []
    if players is not None and "n_players" in takes:
        kw["n_players"], given = players, given + ["--players"]
    if cf is not None:
        if "cf" not in takes:
            raise UsageError(f"--cf is the contribution factor of {' and '.join(takers('cf'))}; "
                             f"{args.game} has none")
        kw["cf"], given = rational(cf), given + ["--cf"]
    if memory is not None and "memory" in takes:
        kw["memory"], given = memory, given + ["--memory"]
    with usage(f"{', '.join(given)}: " if given else ""):
        game = make(**kw)
    if args.gamma is not None:
        if "gamma" not in takes:
            raise UsageError(f"--gamma is the discount of an iterated game; {args.game} is "
                             f"one-shot (consensus optimisation's gamma: --hyper gamma=...)")
        with usage("--gamma: "):
            game = make(**kw, gamma=args.gamma)
    n = len(game.dims)
    if players is not None and players != n:
        raise UsageError(f"--players {players}: {args.game} has {n} players (--players sets the "
                         f"size of {' and '.join(takers('n_players'))})")
    if memory is not None and "memory" not in takes:
        if game.kind == "iterated":
            if memory != 1:         # the 2x2 game with policies of another memory
                rep = game.as_repeated()
                with usage("--memory: "):
                    game = repeated([rep.payoff_array(1), rep.payoff_array(2)], rep.gamma,
                                    memory=memory, labels=rep.labels,
                                    name=f"{game.name} (memory {memory})")
        elif game.kind == "repeated":
            if memory != game.memory:
                raise UsageError(f"--memory {memory}: {args.game} has memory {game.memory}; "
                                 f"other memories: {', '.join(takers('memory'))} or a 2x2 "
                                 f"iterated game such as ipd")
        else:
            raise UsageError(f"--memory is the memory of a repeated game's policies; "
                             f"{args.game} is one-shot")
    return game


def describe(game) -> str:
    """``game`` in a few words, for the refusals of commands that cannot take it.

    Examples
    --------
    >>> from lola_sym.games import ipd, tandem, three_player_ipd
    >>> describe(ipd()), describe(tandem())
    ('IPD is an iterated game', 'Tandem is a one-shot game')
    >>> describe(three_player_ipd())
    '3-player IPD (pax) is a 3-player repeated game with 2x2x2 actions and memory 1'
    """
    if game.kind == "repeated":
        return (f"{game.name} is a {len(game.dims)}-player repeated game with "
                f"{'x'.join(map(str, game.actions))} actions and memory {game.memory}")
    return f"{game.name} is {'a one-shot' if game.kind == 'differentiable' else 'an iterated'} game"


def need_two_players(game, command: str, why: str) -> None:
    """Refuse, as a usage error naming ``command`` and ``why``, a game of more than two players.

    Examples
    --------
    >>> from lola_sym.games import ipd, three_player_ipd
    >>> need_two_players(ipd(), "phase-portrait", "the plot has two axes")
    >>> need_two_players(three_player_ipd(), "phase-portrait", "the plot has two axes")
    Traceback (most recent call last):
    ...
    lola_sym.cli.support.UsageError: phase-portrait needs a two-player game (the plot has two axes); 3-player IPD (pax) is a 3-player repeated game with 2x2x2 actions and memory 1
    """
    if len(game.dims) != 2:
        raise UsageError(f"{command} needs a two-player game ({why}); {describe(game)}")


def check_players(game, rules, where=lambda r: "") -> None:
    """Every rule defined for the game's number of players (n-player rules beyond two).

    Examples
    --------
    >>> from lola_sym.games import three_player_ipd
    >>> check_players(three_player_ipd(), ["nl", "lola"])
    >>> check_players(three_player_ipd(), ["sos"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lola_sym.cli.support.UsageError: rule 'sos' needs exactly two players (3-player IPD (pax) has 3): ...
    """
    for r in dict.fromkeys(rules):
        with usage(where(r)):
            get_rule(r).check_players(game)


def check_values(rule, given: dict, where) -> None:
    """Each hyper-parameter of ``rule`` in ``given`` within the rule's declared bounds.

    ``where(name)`` says which option gave it (``--eta``, ``--hyper``, ``--rules sos:``).
    One name at a time, so that the message names the option at fault.

    Examples
    --------
    >>> from lola_sym.rules import get_rule
    >>> check_values(get_rule("lola"), {"eta": 1.0}, lambda name: "--eta")
    >>> check_values(get_rule("lola"), {"eta": -1.0}, lambda name: "--eta")
    Traceback (most recent call last):
    ...
    lola_sym.cli.support.UsageError: --eta: eta must lie in [0, inf) (rule 'lola'), got -1.0
    """
    for k, v in rule.accepted(given, strict=False, options=False).items():
        with usage(f"{where(k)}: "):
            rule.hyper_values({k: float(v)})


def check_size(game, rule, options: dict, where: str = "") -> None:
    """Refuse, before deriving, a program of ``rule`` too large to derive (HOLA's order), and
    a rule without an adjoint form on a game that the sparse adjoint path computes.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> check_size(ipd(), "hola", {"order": 2})
    >>> check_size(ipd(), "hola", {"order": 9}, "--order: ")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lola_sym.cli.support.UsageError: --order: rule 'hola' with order=9 on IPD would derive about ... program steps (limit 10,000, ...
    """
    rule = get_rule(rule)
    if getattr(game, "field_path", "compiled") == "adjoint":
        from lola_sym.adjoint import ADJOINT_RULES
        if rule.name not in ADJOINT_RULES:
            raise UsageError(f"{where}rule {rule.name!r} has no adjoint form, and "
                             f"{game.name} is computed by the sparse adjoint path (too large "
                             f"for the symbolic program); choose one of "
                             f"{sorted(ADJOINT_RULES)}")
    if rule.options:
        with usage(where):
            own, _ = rule.split(rule.accepted(options, strict=False))
            rule.check_size(game, own)


def hyper_of(args, rules, *, exact=False, options=True) -> dict:
    """``--eta``, ``--hyper`` and ``--order`` as keywords, checked against ``rules``.

    Values stay exact (``Fraction``, or ``sympy.Rational`` with ``exact="sympy"``: never
    strings, so no user text is ever parsed by sympy) when ``exact``, floats otherwise;
    structural options (HOLA's ``order``) are ints.

    Examples
    --------
    >>> from argparse import Namespace
    >>> from fractions import Fraction
    >>> args = Namespace(hyper=[], eta=Fraction(1, 2), order=None)
    >>> hyper_of(args, ["lola"]), hyper_of(args, ["lola"], exact=True)
    ({'eta': 0.5}, {'eta': Fraction(1, 2)})
    >>> hyper_of(Namespace(hyper=[("beta", Fraction(1))], eta=None, order=None), ["lola"])
    Traceback (most recent call last):
    ...
    lola_sym.cli.support.UsageError: rule 'lola' has no hyper-parameter 'beta'; it takes ['eta']
    """
    given: dict[str, int | float | Fraction | sp.Rational] = {}
    pairs = list(args.hyper)
    if getattr(args, "eta", None) is not None:
        pairs.insert(0, ("eta", args.eta))
    if getattr(args, "order", None) is not None:
        pairs.append(("order", Fraction(args.order)))
    rules = [get_rule(r) for r in rules]
    names = list(dict.fromkeys(r.name for r in rules))
    for k, v in pairs:
        if k in given:
            raise UsageError(f"hyper-parameter {k!r} given twice")
        takers = [r for r in rules if r.accepted({k: v}, strict=False, options=options)]
        if not takers:
            takes = sorted({h for r in rules for h in (*r.hyper, *(r.options if options else ()))})
            if len(names) == 1:
                raise UsageError(f"rule {names[0]!r} has no hyper-parameter {k!r}; it takes "
                                 f"{takes or 'none'}")
            raise UsageError(f"none of the rules {names} has a hyper-parameter {k!r}; they take "
                             f"{takes or 'none'}")
        if any(k in r.options for r in takers):
            if v.denominator != 1 or v < 0:
                raise UsageError(f"{k} must be a non-negative integer, got {v}")
            given[k] = int(v)
        elif exact == "sympy":
            given[k] = rational(v)
        else:
            given[k] = v if exact else float(v)
    for r in rules:
        check_values(r, given, lambda k: "--eta" if k == "eta" and getattr(
            args, "eta", None) is not None else "--hyper")
    return given


def check_sizes(args, game, rules, hyper: dict) -> None:
    """``--order`` (in ``hyper``) within the size guard of every rule that takes it.

    Examples
    --------
    >>> from argparse import Namespace
    >>> from lola_sym.games import ipd
    >>> check_sizes(Namespace(order=2), ipd(), ["hola", "lola"], {"order": 2})
    >>> check_sizes(Namespace(order=9), ipd(), ["hola"], {"order": 9})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lola_sym.cli.support.UsageError: --order: rule 'hola' with order=9 on IPD would derive ...
    """
    for r in dict.fromkeys(rules):
        check_size(game, r, hyper, "--order: " if getattr(args, "order", None) is not None
                    else "")


def rational(v: Fraction) -> sp.Rational:
    """An exact ``Fraction`` from the parser as a ``sympy.Rational`` (no string parsing).

    Examples
    --------
    >>> from fractions import Fraction
    >>> rational(Fraction(3, 4))
    3/4
    """
    return sp.Rational(v.numerator, v.denominator)


def hyper_text(h: dict) -> str:
    """Hyper-parameters as ``name=value`` text, floats in ``%g`` form.

    Examples
    --------
    >>> hyper_text({"eta": 0.5, "beta": 1e-3, "order": 2})
    'eta=0.5, beta=0.001, order=2'
    """
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in h.items())


def mean_std(x) -> tuple:
    """``(mean, standard deviation)`` of an array as floats, ``(nan, nan)`` when it is empty.

    Examples
    --------
    >>> import numpy as np
    >>> mean_std(np.array([1.0, 3.0])), mean_std(np.array([]))
    ((2.0, 1.0), (nan, nan))
    """
    return (float(np.mean(x)), float(np.std(x))) if x.size else (float("nan"), float("nan"))


def mean_std_text(m, s, sign="+", digits=4) -> str:
    """``+0.1234 (0.0100)``, or what a NaN mean stands for: no run left to average.

    Examples
    --------
    >>> mean_std_text(0.12345, 0.01), mean_std_text(float("nan"), float("nan"))
    ('+0.1235 (0.0100)', 'undefined (every run diverged)')
    """
    if math.isnan(m):
        return "undefined (every run diverged)"
    return f"{m:{sign}.{digits}f} ({s:.{digits}f})"
