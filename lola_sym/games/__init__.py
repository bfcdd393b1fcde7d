r"""Games: the protocol every game implements, its implementations, and the catalogue.

A game provides ``kind``, ``name``, ``dims`` (parameters per player),
``theta`` (their symbols), ``param_names``, ``parameters`` (free symbols of a
game family, empty for a numeric game), ``value_program()`` (the exact values
as a straight-line program), ``value(*thetas)`` and ``spec()`` (an exact,
JSON-able description for cache keys). Three implementations:

* :class:`IteratedGame`: the infinitely repeated 2x2 games with memory-1
  policies of the LOLA paper;
* :class:`RepeatedGame`: any finite repeated game, 2..5 players with 2..4
  actions each and memory 0, 1 or 2, with numeric or symbolic payoffs and
  discount;
* :class:`DifferentiableGame`: one-shot games given by value functions;

and :class:`Reparameterised`, any of them played in new parameters
:math:`\theta_i = M_i \phi_i` (e.g. POLA's pre-conditioned policies).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326.
"""

from lola_sym.games.differentiable import DifferentiableGame, differentiable
from lola_sym.games.iterated import JOINT_STATES, IteratedGame, iterated
from lola_sym.games.repeated import MIN_ONE_MINUS_GAMMA, RepeatedGame, repeated
from lola_sym.games.reparameterised import POLA_ILL_CONDITION, Reparameterised, reparameterised
from lola_sym.games import catalogue
from lola_sym.games.catalogue import *  # noqa: F401,F403  (every catalogue game, by its __all__)

__all__ = ["IteratedGame", "iterated", "RepeatedGame", "repeated", "DifferentiableGame",
           "differentiable", "Reparameterised", "reparameterised", "POLA_ILL_CONDITION",
           "JOINT_STATES", "MIN_ONE_MINUS_GAMMA", *catalogue.__all__]
