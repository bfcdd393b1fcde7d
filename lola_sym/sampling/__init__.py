"""Sampling: rollouts of repeated games, gradient estimators and their checks.

What the exact layer computes in closed form, estimated from play: Monte Carlo
rollouts (:mod:`~lola_sym.sampling.rollouts`) on the numeric chain of
:mod:`~lola_sym.sampling.markov` (built by the one chain builder,
:mod:`lola_sym.games.chain`), exact targets with their derivatives
(:mod:`~lola_sym.sampling.jets`, :mod:`~lola_sym.sampling.targets`), policy-gradient estimators
(:mod:`~lola_sym.sampling.estimators`), bias/variance and gradient checks
against the exact gradients (:mod:`~lola_sym.sampling.verify`,
:mod:`~lola_sym.sampling.gradient_check`), opponent modelling and
policy-gradient training (:mod:`~lola_sym.sampling.policy_fit`,
:mod:`~lola_sym.sampling.opponent_model`). These work on every numeric repeated
game: n players, k actions, memory 0 to 2, and the 2x2 memory-1 games of the
LOLA paper. The memory-one strategy export (:mod:`~lola_sym.sampling.memory_one`,
Axelrod) is defined for 2x2 memory-1 games only and refuses any other.
"""
