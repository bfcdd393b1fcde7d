r"""The compiled programs a sweep needs: warmed once in the driver, and their cache keys.

Before any task is sent, the driver builds every update field and value
program of the sweep once (:func:`warm`), so that the disk cache holds them
and the workers only load them (instead of all deriving and compiling the
same code at once). :func:`cache_keys` names the disk-cache entries, the keys
of :func:`lola_sym.compile.cache.cache_key` as
:func:`lola_sym.compile.cached.compiled_for` computes them; the dataset
stores them so that a result can be traced to the code that made it.
"""

from __future__ import annotations

import time

from lola_sym.field import cache_label
from lola_sym.rules import get_rule
from lola_sym.sweep.spec import agent_rules

__all__ = ["programs", "warm", "cache_keys"]


def programs(spec) -> list:
    """``(game, rule name, options)`` of every distinct field of the sweep (options sorted).

    Examples
    --------
    Two rules at two rates are two fields (the rate is a run-time argument):

    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("ipd", ["nl", "lola"], eta=[0.5, 1.0], seeds=3, steps=5)
    >>> [(game.name, rule, options) for game, rule, options in programs(spec)]
    [('IPD', 'nl', ()), ('IPD', 'lola', ())]
    """
    out = []
    option_axes = [(n, v) for n, v, _ in spec.hyper]
    for game in spec.game_objects():
        for combo in spec.rules:
            for name in dict.fromkeys(agent_rules(combo, game)):
                rule = get_rule(name)
                mine = [(n, v) for n, v in option_axes if n in rule.options]
                grids: list[list] = [[]]
                for n, vals in mine:
                    grids = [g + [(n, v)] for g in grids for v in vals]
                for g in grids:
                    options = tuple(sorted(rule.check_options(dict(g)).items()))
                    item = (game, rule.name, options)
                    if item not in out:
                        out.append(item)
    return out


def warm(spec) -> float:
    """Build every field and value program of the sweep in this process; seconds taken.

    Examples
    --------
    Afterwards the disk cache holds every compiled program the sweep uses,
    for the workers to load:

    >>> from lola_sym.compile import cache
    >>> from lola_sym.sweep.spec import make_spec
    >>> spec = make_spec("matching_pennies", ["nl", "lola"], eta=[0.5, 1.0], seeds=2, steps=4,
    ...                  backend="c")
    >>> warm(spec) >= 0.0
    True
    >>> [(label, cache.load(key) is not None) for _, label, key in cache_keys(spec)]
    [('nl', True), ('lola', True), ('value', True)]
    """
    from lola_sym.field import update_field
    from lola_sym.games.values import compiled_value
    t0 = time.perf_counter()
    for game, name, options in programs(spec):
        update_field(game, name, backend=spec.backend, **dict(options))
    for game in spec.game_objects():
        if hasattr(game, "value_program"):
            compiled_value(game, spec.backend)
    return time.perf_counter() - t0


def _key(game, label, hyper, backend):
    from lola_sym.compile import cache
    family = game.family() if hasattr(game, "family") else None
    if family is not None:
        game = family[0]
    return cache.cache_key(game.spec(), label, tuple(str(h) for h in hyper), backend)


def cache_keys(spec) -> list:
    """``[game name, program label, key]`` of every disk-cache entry the sweep uses.

    Empty for the numpy backend (it compiles in memory, nothing is cached).

    Examples
    --------
    >>> from lola_sym.sweep.spec import make_spec
    >>> keys = cache_keys(make_spec("ipd", "lola", backend="c"))
    >>> [k[:2] for k in keys], len(keys[0][2])
    ([['IPD', 'lola'], ['IPD', 'value']], 64)
    """
    if spec.backend not in ("c", "llvm"):
        return []
    out = []
    for game, name, options in programs(spec):
        label = cache_label(name, options)
        out.append([game.name, label, _key(game, label, get_rule(name).hyper_symbols,
                                           spec.backend)])
    for game in spec.game_objects():
        if hasattr(game, "value_program"):
            out.append([game.name, "value", _key(game, "value", (), spec.backend)])
    return out
