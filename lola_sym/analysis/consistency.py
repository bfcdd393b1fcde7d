r"""Consistency of lookahead rules (COLA paper) and its expectation over a box.

A pair of update directions :math:`(g_1, g_2)` (the agents' lookahead steps are
:math:`h_i = \eta g_i`) is *consistent* when each is the gradient its owner
would take against the other's step. On the gradient scale of the COLA
tables (values convention, total derivatives through the opponent's step):

.. math::

    C = \big\| g_1 - \nabla_1 [V^1(\theta_1, \theta_2 + \eta g_2(\theta))] \big\|^2
      + \big\| g_2 - \nabla_2 [V^2(\theta_1 + \eta g_1(\theta), \theta_2)] \big\|^2 .

The expectation over a box of parameters is exact (symbolic integration) when
:math:`C` is a polynomial, e.g. in the Tandem game, and otherwise estimated by
seeded sampling with its standard error. Two players only (the loss pairs
each agent's lookahead with the other's); other games are refused.

References
----------
.. [1] Willi, T. et al. (2022). COLA: Consistent Learning with
   Opponent-Learning Awareness. ICML. arXiv:2203.04098, Eq. 5 and Tables 1-4.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from lola_sym._validation import check_game, as_rational, check_int, check_real, check_result_size
from lola_sym.field import derive
from lola_sym.rules.gradients import at_shifted_point
from lola_sym.rules import get_rule
from lola_sym.rules.lola import ETA

#: Largest |low|, |high| of the box of :func:`expected_consistency`.
MAX_BOX = 1e6

__all__ = ["consistency_program", "consistency", "expected_consistency", "ConsistencyEstimate"]


def _two_players(game) -> None:
    """Refuse a game of other than two players: the COLA loss is defined for two."""
    n = len(game.dims)
    if n != 2:
        raise ValueError(f"the consistency loss of Willi et al. (2022) is defined for two "
                         f"players (each lookahead against the other's); {game.name} has {n}")


@lru_cache(maxsize=None)
def consistency_program(game, rule: str, options: tuple = ()):
    """The exact program of :math:`C(\\theta)` for ``rule``'s directions; output ``(C,)``."""
    _two_players(game)
    r = get_rule(rule)
    if r.combine is not None:
        raise ValueError(f"rule {rule!r} has no smooth symbolic form; consistency needs one of "
                         "the symbolic rules (nl, lola, la, lola_full, exact_lola, hola, lola2, co)")
    if ETA not in r.hyper_symbols:
        raise ValueError(f"rule {rule!r} has no lookahead rate eta")
    prog, _ = derive(game, rule, options)
    d1 = game.dims[0]
    g1, g2 = list(prog.outputs[:d1]), list(prog.outputs[d1:])
    th1, th2 = game.theta
    prog, s1 = prog.define((f"_cg1_{k}", e) for k, e in enumerate(g1))
    prog, s2 = prog.define((f"_cg2_{k}", e) for k, e in enumerate(g2))
    prog, (V1s, _) = at_shifted_point(prog, game, shift2=[ETA * g for g in s2], prefix="_ca_")
    prog, t1 = prog.gradient(V1s, th1, prefix="_cga_")
    prog, (_, V2s) = at_shifted_point(prog, game, shift1=[ETA * g for g in s1], prefix="_cb_")
    prog, t2 = prog.gradient(V2s, th2, prefix="_cgb_")
    C = sum((a - b) ** 2 for a, b in zip(s1, t1)) + sum((a - b) ** 2 for a, b in zip(s2, t2))
    return prog.add_inputs([ETA]).with_outputs([C]).pruned()


@lru_cache(maxsize=None)
def _compiled(game, rule, options, backend=None):
    from lola_sym.compile import compile_field
    return compile_field(consistency_program(game, rule, options), game.theta, (ETA,),
                         n_out=(1,), stack=True, backend=backend)


def consistency(game, rule, theta1, theta2, eta: float, **options) -> np.ndarray:
    """:math:`C` at parameters of shape ``(..., d_i)``; returns shape ``(...)``.

    Examples
    --------
    >>> from lola_sym.games import tandem
    >>> c = consistency(tandem(), "exact_lola", np.array([0.0]), np.array([0.0]), eta=0.0)
    >>> float(c)   # no lookahead: naive steps are consistent
    0.0
    """
    check_game(game)
    _two_players(game)
    from lola_sym._validation import as_params
    eta = _eta(rule, eta)
    t1 = as_params(theta1, "theta1", game.dims[0])
    t2 = as_params(theta2, "theta2", game.dims[1])
    key = tuple(sorted(get_rule(rule).check_options(options).items()))
    c = _compiled(game, rule, key)(t1, t2, eta)[..., 0]
    bad = ~np.isfinite(c)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else "given"
        raise ValueError(f"the consistency loss of {rule!r} on {game.name} is not finite at point "
                         f"{where} ({int(bad.sum())} of {bad.size}): it overflows double precision "
                         f"with eta={eta:g}; use a smaller eta or rescale the payoffs")
    return c


def _eta(rule, eta) -> float:
    """The lookahead rate, validated by the rule's own validator (finite, in its bounds)."""
    return get_rule(rule).hyper_values({"eta": eta})["eta"]


@dataclass(frozen=True)
class ConsistencyEstimate:
    """Expected consistency loss over a box: exact value or a seeded estimate."""

    mean: float
    stderr: float          # 0 for exact values
    exact: object          # the sympy number when computed exactly, else None
    samples: int           # 0 for exact values


def expected_consistency(game, rule, eta, low: float = -1.0, high: float = 1.0, *,
                         exact: bool | None = None, samples: int = 100_000, seed=0,
                         **options) -> ConsistencyEstimate:
    r"""Expectation of :math:`C` for :math:`\theta \sim U[\text{low}, \text{high}]^d`.

    ``exact=None`` integrates symbolically when :math:`C` is a polynomial in
    the parameters and samples otherwise (``samples`` points from ``seed``).

    Examples
    --------
    >>> from lola_sym.games import tandem
    >>> expected_consistency(tandem(), "exact_lola", 1).exact   # COLA paper, Table 1
    128
    """
    check_game(game)
    _two_players(game)
    from lola_sym.dynamics.training import as_generator
    eta = _eta(rule, eta)
    lo, hi = check_real(low, "low"), check_real(high, "high")
    if not hi > lo:
        raise ValueError(f"need low < high, got [{lo}, {hi}]")
    if max(abs(lo), abs(hi)) > MAX_BOX:
        raise ValueError(f"the box [{lo:g}, {hi:g}] is absurdly large: parameters beyond "
                         f"{MAX_BOX:g} in magnitude saturate every sigmoid and overflow "
                         f"polynomials; use |low|, |high| <= {MAX_BOX:g}")
    key = tuple(sorted(get_rule(rule).check_options(options).items()))
    prog = consistency_program(game, rule, key)
    params = tuple(game.theta[0]) + tuple(game.theta[1])
    if exact is not False:
        # step by step: polynomial games (Tandem) stay small at any HOLA order
        out = prog.evaluate_exact({ETA: as_rational(eta, "eta")},
                                  accept=lambda v: v.is_polynomial(*params))
        poly = out is not None
        C = out[0] if poly else None
        if exact and not poly:
            raise ValueError("the consistency loss is not a polynomial here; use exact=False")
        if poly:
            val = C
            a, b = as_rational(lo, "low"), as_rational(hi, "high")
            for p in params:
                val = sp.integrate(val, (p, a, b)) / (b - a)
            val = sp.nsimplify(val)
            mean = float(val)
            if not np.isfinite(mean):
                raise ValueError(f"the exact expected consistency {sp.Float(val, 3)} is beyond "
                                 f"double precision (eta={eta:g}); its exact value is still "
                                 f"available as an expression: use a smaller eta")
            return ConsistencyEstimate(mean, 0.0, val, 0)
    n = check_int(samples, "samples", 2)      # a standard error needs two samples
    check_result_size(16 * n * sum(game.dims), f"expected_consistency(samples={n})",
                      "use fewer samples")
    rng = as_generator(seed)
    d1, d2 = game.dims
    t1 = rng.uniform(lo, hi, (n, d1))
    t2 = rng.uniform(lo, hi, (n, d2))
    c = consistency(game, rule, t1, t2, eta, **options)
    return ConsistencyEstimate(float(c.mean()), float(c.std(ddof=1) / np.sqrt(n)), None, n)
