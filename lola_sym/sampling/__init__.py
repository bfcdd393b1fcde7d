"""Sampling: rollouts of the iterated games, gradient estimators and their checks.

What the exact layer computes in closed form, estimated from play: Monte Carlo
rollouts (:mod:`~lola_sym.sampling.rollouts`), policy-gradient estimators
(:mod:`~lola_sym.sampling.estimators`), bias/variance checks against the exact
gradients (:mod:`~lola_sym.sampling.verify`), opponent modelling and
policy-gradient training (:mod:`~lola_sym.sampling.opponent_model`) and the
memory-one strategy export (:mod:`~lola_sym.sampling.memory_one`). These work
on the 2x2 memory-1 games (:class:`~lola_sym.games.IteratedGame`) and say so
for any other game.
"""
