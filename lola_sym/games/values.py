r"""Exact closed-form values of iterated 2x2 games with memory-1 policies.

With :math:`M = I - \gamma P` the value of agent :math:`i` is, by Cramer's
rule,

.. math::

    V_i = p_0^\top M^{-1} r_i = \frac{p_0^\top \operatorname{adj}(M)\, r_i}{\det M}
        = \frac{N_i}{D},

a ratio of two polynomials in the policy probabilities
:math:`p_{i,s} = \sigma(\theta_{i,s})` and their complements
:math:`\bar p_{i,s} = 1 - p_{i,s} = \sigma(-\theta_{i,s})` (kept as separate
symbols: the expansion is smaller and stays accurate at saturated logits).
The payoffs and :math:`\gamma` may stay symbolic, so one derivation serves
every 2x2 game (:func:`generic_value_polynomials`).

Two exact representations are provided:

* :func:`value_polynomials`: the expanded ``(N1, N2, D)``, for inspection;
* :func:`value_program`: the same quantities as a straight-line program
  (Gaussian elimination of :math:`M^\top u = p_0`, :math:`V_i = u^\top r_i`).
  Differentiated step by step, its derivatives stay small, so every learning
  rule is derived from it (exactly: the tests check ``program == N/D`` in
  rational arithmetic).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1.
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
import sympy as sp

from lola_sym.games.chain import first_move, transitions
from lola_sym.games.histories import StateSpace
from lola_sym.games.layout import STATES, prob_symbols, theta_symbols
from lola_sym.program import Program, sigmoid

__all__ = ["generic_value_polynomials", "value_polynomials", "symbolic_values",
           "value_program", "compiled_value", "payoff_symbols", "GAMMA"]

#: The symbolic discount used by the generic derivation.
GAMMA = sp.Symbol("gamma", positive=True)
_JOINT = STATES[1:]
#: The states of the 2x2 memory-1 games (the chain's shape, independent of the payoffs).
_SPACE = StateSpace((2, 2), 1, (("C", "D"),) * 2)


def payoff_symbols(agent: int) -> tuple:
    """Symbols ``r_{i,CC}, ..., r_{i,DD}`` for a generic game (agent-1-first states).

    Examples
    --------
    >>> payoff_symbols(2)
    (r_2,CC, r_2,CD, r_2,DC, r_2,DD)
    """
    return tuple(sp.Symbol(f"r_{agent},{s}", real=True) for s in _JOINT)


def _chain(p1, pb1, p2, pb2):
    """First-move distribution p0 and transition matrix P in probability symbols.

    Built by the one chain builder (:func:`lola_sym.games.chain.first_move` and
    :func:`~lola_sym.games.chain.transitions`) over sympy symbols: agent 2's
    probability in joint state CD is its own-perspective ``p_2,DC``.
    """
    probs = ((p1, pb1), (p2, pb2))

    def prob(i, s, a):
        return probs[i][a][s]
    first = first_move(_SPACE, prob)
    p0 = [first[(a,)] for a in _SPACE.joint]
    P = []
    for h in _SPACE.histories(1):          # previous joint action CC, CD, DC, DD (agent 1 first)
        out = transitions(_SPACE, prob, h)
        P.append([out[(a,)] for a in _SPACE.joint])
    return p0, P


@lru_cache(maxsize=None)
def generic_value_polynomials() -> tuple:
    r"""``(N1, N2, D)`` with symbolic payoffs ``r_{i,s}`` and discount ``gamma``.

    Expanded polynomials in ``p_{i,s}``, ``pbar_{i,s}``, ``r_{i,s}``,
    ``gamma``; :math:`V_i = N_i / D`.

    Examples
    --------
    >>> N1, N2, D = generic_value_polynomials()
    >>> len(D.args)  # monomials of det(I - gamma P)
    65
    """
    p1, pb1 = prob_symbols(1)
    p2, pb2 = prob_symbols(2)
    p0, P = _chain(p1, pb1, p2, pb2)
    M = sp.eye(4) - GAMMA * sp.Matrix(P)
    D = sp.expand(M.det(method="berkowitz"))
    adj = M.adjugate(method="berkowitz")
    out = []
    for agent in (1, 2):
        r = sp.Matrix(payoff_symbols(agent))
        out.append(sp.expand((sp.Matrix([p0]) * adj * r)[0, 0]))
    return out[0], out[1], D


@lru_cache(maxsize=None)
def value_polynomials(game) -> tuple:
    """``(N1, N2, D)`` for a concrete game: the generic polynomials with its payoffs.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> N1, N2, D = value_polynomials(ipd())
    >>> from lola_sym.games.layout import prob_symbols
    >>> (p1, pb1), (p2, pb2) = prob_symbols(1), prob_symbols(2)
    >>> always_c = {**{s: 1 for s in p1 + p2}, **{s: 0 for s in pb1 + pb2}}
    >>> (N1 / D).subs(always_c)  # -1 per step, discounted: -1 / (1 - 24/25)
    -25
    """
    N1, N2, D = generic_value_polynomials()
    sub = {GAMMA: game.gamma}
    sub.update(zip(payoff_symbols(1), game.r1))
    sub.update(zip(payoff_symbols(2), game.r2))
    return tuple(sp.expand(e.xreplace(sub)) for e in (N1, N2, D))


def symbolic_values(game) -> tuple:
    r"""``(V1, V2)`` as exact expressions of the logits (``sympy.latex`` printable).

    Examples
    --------
    >>> from lola_sym.games import imp
    >>> V1, V2 = symbolic_values(imp())
    >>> sp.simplify(V1 + V2)
    0
    """
    N1, N2, D = value_polynomials(game)
    sub = {}
    for agent in (1, 2):
        th = theta_symbols(agent)
        p, pb = prob_symbols(agent)
        sub.update({p[k]: sigmoid(th[k]) for k in range(5)})
        sub.update({pb[k]: sigmoid(-th[k]) for k in range(5)})
    return tuple(sp.Mul(e.xreplace(sub), sp.Pow(D.xreplace(sub), -1)) for e in (N1, N2))


def value_program(game) -> Program:
    """The exact value program of a game: the one chain builder's
    (:func:`lola_sym.games.chain.value_program`), equal to ``N / D`` of
    :func:`value_polynomials` in rational arithmetic (tested).

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> prog = value_program(ipd())
    >>> prog.outputs
    (V_1, V_2)
    """
    return game.value_program()


def numeric_values(game, *thetas, **parameters) -> np.ndarray:
    """``(V_1, ..., V_n)`` of ``game`` at finite parameters, shape ``(..., n)``; an error if
    they overflow.

    The one numeric value path of every game (``game.value``). A game with
    symbols takes their values as keywords (scalars or broadcasting arrays).
    """
    from lola_sym._validation import as_params
    dims = game.dims
    if len(thetas) != len(dims):
        raise TypeError(f"{game.name} has {len(dims)} players: give one parameter array each, "
                        f"got {len(thetas)}")
    groups = [as_params(t, f"theta{i + 1}", d) for i, (t, d) in enumerate(zip(thetas, dims))]
    if getattr(game, "parameters", ()):
        groups.append(game.parameter_array(**parameters))
    elif parameters:
        raise TypeError(f"{game.name} has no symbols; unexpected keyword {sorted(parameters)[0]!r}")
    v = compiled_value(game)(*groups)
    bad = ~np.isfinite(v).all(axis=-1)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else "given"
        raise ValueError(f"the values of {game.name} are not finite at point {where} "
                         f"({int(bad.sum())} of {bad.size}): they overflow double precision "
                         f"or are undefined there (e.g. a log of a negative number); rescale "
                         f"the payoffs or check the value expressions")
    return v


def compiled_value(game, backend: str | None = None):
    """A compiled ``f(*thetas) -> (..., n)`` evaluating the values (cached).

    Examples
    --------
    At uniform policies every IPD outcome is equally likely, so each agent's
    value is the mean reward :math:`(-1 - 3 + 0 - 2)/4` over :math:`1 - \\gamma = 1/25`:

    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> compiled_value(ipd())(np.zeros(5), np.zeros(5))
    array([-37.5, -37.5])
    """
    from lola_sym.compile import default_backend
    return _compiled_value(game, backend or default_backend())


@lru_cache(maxsize=None)
def _compiled_value(game, backend):
    from lola_sym.compile.cached import compiled_for

    def build(g):
        t0 = time.perf_counter()
        return g.value_program().pruned(), time.perf_counter() - t0
    return compiled_for(game, "value", build, n_out=(len(game.theta),), stack=True,
                        backend=backend)[0]
