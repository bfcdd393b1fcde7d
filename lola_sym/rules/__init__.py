"""Learning rules: each derived exactly as a program of update directions.

The registry (:mod:`lola_sym.rules.registry`: :class:`Rule`, :class:`Hyper`,
:class:`Notes`, :class:`Bound`, tags and queries), the arithmetic of the
finishing steps (:mod:`lola_sym.rules.arithmetic`), and one module per rule
family, each registering its rules on import. Every module of this package is
imported here (found with ``pkgutil``, in name order), so a new rule is one
new module: no list to edit. The registry's order is the rules' declared
``Rule.rank``, not the import order.
"""

import importlib
import pkgutil

from lola_sym.rules.registry import (MAX_PROGRAM_STEPS, RULES, TAGS, Bound, Hyper, Notes, Rule,
                                     get_rule, register, rule_names)


def _import_rule_modules() -> tuple:
    """Import every module of this package (registration); their names, sorted."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return tuple(names)


#: The modules of this package, each imported once (rule modules register their rules).
MODULES = _import_rule_modules()

__all__ = ["Rule", "Bound", "Hyper", "Notes", "register", "get_rule", "rule_names", "RULES",
           "TAGS", "MAX_PROGRAM_STEPS", "MODULES"]
