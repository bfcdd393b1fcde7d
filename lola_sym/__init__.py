"""lola_sym: exact gradients of learning in games.

The public API is re-exported here; see the submodules for the derivations.
"""

from lola_sym import games
from lola_sym.compile import cache  # noqa: F401  (lola_sym.cache, the disk cache)
from lola_sym.field import FieldError, UpdateField, update_field
from lola_sym.games import IteratedGame, iterated
from lola_sym.games.layout import from_release, policy, to_release
from lola_sym.program import Program, sigmoid
from lola_sym.rules import RULES, get_rule
from lola_sym.dynamics.training import DivergenceError, Trajectory, train
from lola_sym.analysis.consistency import consistency, expected_consistency
from lola_sym.games.differentiable import DifferentiableGame, differentiable
from lola_sym.sampling.rollouts import Rollouts, rollout, exact_targets, truncation_bias
from lola_sym.sampling.estimators import estimate, ESTIMATORS
from lola_sym.sampling.verify import bias_variance, check_gradient, GradientCheckError
from lola_sym.sampling.opponent_model import fit_policy, model_opponent, train_om, train_pg
from lola_sym.dynamics.compare import Comparison, compare
from lola_sym.analysis.jacobian import exact_jacobian, jacobian, symbolic_jacobian
from lola_sym.analysis.fixed_points import FixedPoint, exact_fixed_points, find_fixed_points
from lola_sym.analysis.stability import Stability, classify, game_hessian
from lola_sym.analysis.thresholds import exact_lr_threshold
from lola_sym.analysis.portraits import basins, vector_field
from lola_sym.report.nash_report import matching_pennies_report
from lola_sym.dynamics.tournament import tournament
from lola_sym.sampling.memory_one import long_run_reward, to_memory_one
from lola_sym.report.derive import render, rule_page
from lola_sym.sweep import sweep
from lola_sym import adjoint
from lola_sym.sampling.markov_rollouts import MarkovRollouts, markov_rollout
from lola_sym.analysis.continuation import Branch, continue_branch, learning_map
from lola_sym.analysis.bifurcations import bifurcation_diagram, continue_bifurcation
from lola_sym.analysis.orbits import find_orbit
from lola_sym.analysis.faces import FaceResult, face_point, find_faces
from lola_sym.analysis.lyapunov import LearningMap, learning_ftle, lyapunov_exponents
from lola_sym.analysis.chaos import chaos_map, perturbation_experiment
from lola_sym.analysis.certificates import learning_certificate, lyapunov_certificate
from lola_sym.analysis.cycles import detect_cycle, detect_cycles
from lola_sym.analysis.stackelberg_points import classify_stackelberg
from lola_sym.analysis.zd import zd_check, zd_relation
from lola_sym.dynamics.sensitivity import train_sensitivity
from lola_sym.dynamics.meta import good_shepherd, mamaml

from lola_sym._version import __version__

__all__ = ["games", "IteratedGame", "iterated", "update_field", "UpdateField", "FieldError", "policy",
           "to_release", "from_release", "Program", "sigmoid", "RULES", "get_rule",
           "train", "Trajectory", "DivergenceError", "consistency", "expected_consistency",
           "DifferentiableGame", "differentiable", "Rollouts", "rollout", "exact_targets",
           "truncation_bias", "estimate", "ESTIMATORS", "bias_variance", "check_gradient",
           "GradientCheckError", "fit_policy", "model_opponent", "train_om", "train_pg",
           "compare", "Comparison", "jacobian", "exact_jacobian", "symbolic_jacobian",
           "find_fixed_points", "exact_fixed_points", "FixedPoint", "classify", "Stability",
           "exact_lr_threshold", "game_hessian", "basins", "vector_field",
           "matching_pennies_report", "tournament", "to_memory_one", "long_run_reward",
           "render", "rule_page", "sweep", "adjoint", "MarkovRollouts", "markov_rollout",
           "Branch", "continue_branch", "learning_map", "bifurcation_diagram",
           "continue_bifurcation", "find_orbit", "FaceResult", "face_point", "find_faces",
           "LearningMap", "learning_ftle", "lyapunov_exponents", "chaos_map",
           "perturbation_experiment", "learning_certificate", "lyapunov_certificate",
           "detect_cycle", "detect_cycles", "classify_stackelberg", "zd_check", "zd_relation",
           "train_sensitivity", "good_shepherd", "mamaml", "__version__"]


def __getattr__(name):
    """``lola_sym.report.plots`` on first use (matplotlib is not imported with the package)."""
    if name == "plots":
        import importlib
        return importlib.import_module("lola_sym.report.plots")
    raise AttributeError(f"module 'lola_sym' has no attribute {name!r}")
