"""Learning rules: each derived exactly as a program of update directions.

The registry (:mod:`lola_sym.rules.registry`: :class:`Rule`, :class:`Bound`,
tags and queries) and one module per rule family, each registering its rules
on import.
"""

from lola_sym.rules.registry import (MAX_PROGRAM_STEPS, RULES, TAGS, Bound, Rule, get_rule,
                                     register, rule_names)
from lola_sym.rules import naive as _naive  # noqa: E402,F401  (registration)
from lola_sym.rules import lola as _lola  # noqa: E402,F401
from lola_sym.rules import lookahead as _lookahead  # noqa: E402,F401
from lola_sym.rules import exact as _exact  # noqa: E402,F401
from lola_sym.rules import lola2 as _lola2  # noqa: E402,F401
from lola_sym.rules import consensus as _consensus  # noqa: E402,F401
from lola_sym.rules import composite as _composite  # noqa: E402,F401

__all__ = ["Rule", "Bound", "register", "get_rule", "rule_names", "RULES", "TAGS",
           "MAX_PROGRAM_STEPS"]
