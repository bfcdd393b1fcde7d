r"""The arguments every analysis takes: one parameter array per player, and keywords.

Every function of :mod:`lola_sym.analysis` takes the players' parameters as
``*thetas`` (one array per player, any number of players) and, as keywords,
both the rule's hyper-parameters and, for a game with symbols
(``game.parameters``, e.g. R, S, T, P and gamma of ``ipd(symbolic=True)``),
their values. :func:`split_values` tells the two apart and names what is
unknown, missing or ambiguous; :func:`exact_values` reads values exactly for
the exact analyses (which keep the symbols not given).
"""

from __future__ import annotations

from collections.abc import Mapping

from lola_sym._exact_input import exact_number
from lola_sym._validation import as_params
from lola_sym.rules import get_rule

__all__ = ["symbol_names", "split_values", "exact_values", "player_arrays", "values_mapping",
           "need_values", "parameter_group"]


def symbol_names(game) -> list:
    """Names of the game's symbols (``game.parameters``), in the game's order.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> symbol_names(ipd(symbolic=True)), symbol_names(ipd())
    (['P', 'R', 'S', 'T', 'gamma'], [])
    """
    return [s.name for s in getattr(game, "parameters", ())]


def values_mapping(parameters) -> dict:
    """``parameters`` (a mapping of symbol names to values, or None) as a dict, checked.

    Examples
    --------
    >>> values_mapping(None), values_mapping({"gamma": 0.5})
    ({}, {'gamma': 0.5})
    """
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise TypeError(f"parameters must be a mapping of the game's symbol names to values, "
                        f"got {type(parameters).__name__}")
    bad = [k for k in parameters if not isinstance(k, str)]
    if bad:
        raise TypeError(f"parameters must be keyed by symbol names (str), got {bad[0]!r}")
    return dict(parameters)


def split_values(game, rule, given: Mapping, parameters=None) -> tuple:
    r"""``(hyper, values)``: keywords split into the rule's settings and the game's symbol values.

    Every analysis takes both kinds as keywords. A name the game has as a
    symbol (``game.parameters``) is a value, a name the rule takes (its
    hyper-parameters and structural options) a setting; a name that is both
    must be given in ``parameters`` (a mapping that holds only symbol values),
    and the keyword is then the rule's. Only names are checked here: the
    rule's validator checks the settings and the game the values.

    Raises
    ------
    ValueError
        For a name that is neither (listing both kinds), a name in ``parameters``
        the game does not have, a value given twice, or an ambiguous keyword.
    TypeError
        For ``parameters`` that is not a mapping of names.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> split_values(ipd(symbolic=True), "lola", {"eta": 0.5, "R": -1})
    ({'eta': 0.5}, {'R': -1})
    >>> split_values(ipd(symbolic=True), "lola", {"beta": 1})
    Traceback (most recent call last):
    ...
    ValueError: rule 'lola' has no hyper-parameter 'beta'; it takes ['eta']; and IPD (symbolic) has no symbol 'beta' (its symbols are ['P', 'R', 'S', 'T', 'gamma'])
    """
    r = get_rule(rule)
    symbols = symbol_names(game)
    takes = set(r.hyper) | set(r.options)
    values = values_mapping(parameters)
    if values and not symbols:
        raise TypeError(f"{game.name} has no symbols; unexpected parameters "
                        f"{sorted(values)[0]!r}")
    unknown = sorted(k for k in values if k not in symbols)
    if unknown:
        raise ValueError(f"parameters: {game.name} has no symbol {unknown[0]!r} (its symbols "
                         f"are {symbols}); rule hyper-parameters are keywords")
    hyper = {}
    for k, v in given.items():
        if k in takes and (k not in symbols or k in values):
            hyper[k] = v
        elif k in symbols and k in takes:
            raise ValueError(f"{k!r} is both a symbol of {game.name} and a hyper-parameter of "
                             f"rule {r.name!r}; give the game's value in parameters={{{k!r}: "
                             f"...}} and the rule's as the keyword {k}=...")
        elif k in symbols:
            if k in values:
                raise ValueError(f"the value of {game.name}'s symbol {k!r} is given twice, as a "
                                 f"keyword and in parameters")
            values[k] = v
        else:
            has = f"its symbols are {symbols}" if symbols else "it has none"
            raise ValueError(f"rule {r.name!r} has no hyper-parameter {k!r}; it takes "
                             f"{sorted(takes)}; and {game.name} has no symbol {k!r} ({has})")
    return hyper, values


def need_values(game, values: Mapping, what: str, instead: str | None = None) -> None:
    """Refuse a numeric analysis of a game whose symbols lack values, naming them.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> need_values(ipd(), {}, "Jacobian")            # no symbols: nothing to give
    >>> need_values(ipd(symbolic=True), {"gamma": 0.9}, "Jacobian", "exact_jacobian")
    Traceback (most recent call last):
    ...
    ValueError: IPD (symbolic) has the symbols ['P', 'R', 'S', 'T', 'gamma']: a numeric Jacobian needs a value for each (missing ['P', 'R', 'S', 'T']), as keywords (e.g. P=...) or parameters={...}; exact_jacobian keeps them as symbols
    """
    symbols = symbol_names(game)
    missing = [s for s in symbols if s not in values]
    if missing:
        keep = f"; {instead} keeps them as symbols" if instead else ""
        raise ValueError(f"{game.name} has the symbols {symbols}: a numeric {what} needs a value "
                         f"for each (missing {missing}), as keywords (e.g. {missing[0]}=...) or "
                         f"parameters={{...}}{keep}")


def parameter_group(game, given, what: str = "Jacobian",
                     instead: str = "exact_jacobian") -> tuple:
    """``(array,)`` of the game symbols' values, or ``()`` for a game without symbols.

    A numeric analysis cannot keep symbols: a missing value is an error that says
    where to give it and what keeps the symbols instead.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> parameter_group(ipd(), None)
    ()
    >>> parameter_group(ipd(symbolic=True), {"P": -2, "R": -1, "S": -3, "T": 0, "gamma": 0.96})
    (array([-2.  , -1.  , -3.  ,  0.  ,  0.96]),)
    """
    if not symbol_names(game):
        if given:
            raise TypeError(f"{game.name} has no symbols; unexpected keyword "
                            f"{sorted(given)[0]!r}")
        return ()
    need_values(game, given, what, instead)
    return (game.parameter_array(**given),)


def exact_values(game, values: Mapping) -> dict:
    r"""``{symbol: exact number}`` for the game's symbols given, validated by the game.

    Numbers are read as by :func:`~lola_sym._exact_input.exact_number` (floats
    from their shortest repr); the game checks them as in ``game.substitute``
    (a discount in (0, 1), declared signs). Symbols not given are not in the
    result: the exact analyses keep them.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> exact_values(ipd(symbolic=True), {"gamma": 0.96, "R": -1})
    {R: -1, gamma: 24/25}
    """
    by_name = {s.name: s for s in getattr(game, "parameters", ())}
    if not values:
        return {}
    unknown = sorted(k for k in values if k not in by_name)
    if unknown:
        raise ValueError(f"{game.name} has no symbol {unknown[0]!r}; its symbols are "
                         f"{sorted(by_name)}")
    exact = {k: exact_number(v, k, instead=f"; {k} is a symbol of {game.name}: leave it out "
                                           f"to keep it") for k, v in values.items()}
    game.substitute(**exact)                    # the game's own checks (discount, signs)
    return {by_name[k]: exact[k] for k in sorted(exact)}


def player_arrays(game, thetas, what: str) -> list:
    """Each player's parameters as float arrays ``(..., d_i)``, one per player, checked.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> [a.shape for a in player_arrays(ipd(), ([0] * 5, np.zeros((2, 5))), "the field")]
    [(5,), (2, 5)]
    """
    dims = tuple(game.dims)
    if len(thetas) != len(dims):
        raise TypeError(f"{what} on {game.name} takes {len(dims)} parameter arrays (one per "
                        f"player, theta1..theta{len(dims)}), got {len(thetas)}")
    return [as_params(t, f"theta{i + 1}", d) for i, (t, d) in enumerate(zip(thetas, dims))]
