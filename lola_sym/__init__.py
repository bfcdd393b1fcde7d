"""lola_sym: exact gradients of learning in games.

The public API is re-exported here; see the submodules for the derivations.
"""

from lola_sym import games
from lola_sym.field import UpdateField, update_field
from lola_sym.games import IteratedGame, iterated
from lola_sym.layout import from_release, policy, to_release
from lola_sym.program import Program, sigmoid
from lola_sym.rules import RULES, get_rule
from lola_sym.training import DivergenceError, Trajectory, train

__version__ = "0.1.0"

__all__ = ["games", "IteratedGame", "iterated", "update_field", "UpdateField", "policy",
           "to_release", "from_release", "Program", "sigmoid", "RULES", "get_rule",
           "train", "Trajectory", "DivergenceError", "__version__"]
