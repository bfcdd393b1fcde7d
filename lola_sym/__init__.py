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
from lola_sym.consistency import consistency, expected_consistency
from lola_sym.differentiable import DifferentiableGame, differentiable
from lola_sym.rollouts import Rollouts, rollout, exact_targets, truncation_bias
from lola_sym.estimators import estimate, ESTIMATORS
from lola_sym.verify import bias_variance, check_gradient, GradientCheckError
from lola_sym.opponent_model import fit_policy, model_opponent, train_om, train_pg

__version__ = "0.1.0"

__all__ = ["games", "IteratedGame", "iterated", "update_field", "UpdateField", "policy",
           "to_release", "from_release", "Program", "sigmoid", "RULES", "get_rule",
           "train", "Trajectory", "DivergenceError", "consistency", "expected_consistency",
           "DifferentiableGame", "differentiable", "Rollouts", "rollout", "exact_targets",
           "truncation_bias", "estimate", "ESTIMATORS", "bias_variance", "check_gradient",
           "GradientCheckError", "fit_policy", "model_opponent", "train_om", "train_pg",
           "__version__"]
