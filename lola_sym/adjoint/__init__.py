r"""The exact numeric path of large Markov games: sparse LU and adjoint gradients.

A :class:`~lola_sym.games.markov.MarkovGame` (the coin game, or any repeated
game through :func:`markov_of`) is too large for the symbolic programs of the
compiled path. Its values come from one sparse LU of :math:`I - \gamma P`,
its gradients from adjoints, its Hessian-vector products from forward mode
over the adjoint (:mod:`lola_sym.adjoint.solve`), and the fields of NL, LOLA,
LookAhead, LOLA with both terms and exact LOLA from those
(:mod:`lola_sym.adjoint.rules`). :func:`lola_sym.update_field` returns these
fields for Markov games (``field.path == "adjoint"``); :func:`markov_of`
turns the package's repeated games into Markov games, so that both paths can
be compared where both apply. "Exact" here means exact to the precision of the
sparse solver (measured against the compiled symbolic path: 1e-14 relative).

* :func:`at` -- an :class:`Evaluation` at one point: ``values``,
  ``gradient(i, j)`` (:math:`\nabla_j V_i`), ``jvp`` and ``hvp``;
* :func:`direction` -- one rule's directions at one point;
* :func:`adjoint_field` / :class:`AdjointField` -- the batched field.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326.
"""

from lola_sym.games.repeated_markov import markov_of
from lola_sym.adjoint.field import AdjointField, adjoint_field
from lola_sym.adjoint.rules import ADJOINT_RULES, direction
from lola_sym.adjoint.solve import Evaluation, at

__all__ = ["markov_of", "at", "Evaluation", "direction", "ADJOINT_RULES",
           "AdjointField", "adjoint_field"]
