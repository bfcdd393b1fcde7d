r"""Exact value gradients of both agents, as named steps of one program.

:math:`\nabla_j V_i` (the gradient of agent ``i``'s value with respect to
agent ``j``'s logits) is derived by reverse-mode differentiation of the exact
value program, through the sigmoid policies
(:math:`\partial p / \partial\theta = p \bar p`).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1-4.2.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["gradient_program", "value_gradient_program", "compiled_value_gradients"]


@lru_cache(maxsize=None)
def gradient_program(game):
    r"""The value program extended by every gradient block :math:`\nabla_j V_i`.

    Returns ``(program, G)`` where ``G[(i, j)]`` is the tuple of step symbols
    holding :math:`\nabla_j V_i` (named ``dV{i}/dtheta_{j,s}``), for all players
    ``i, j = 1..n``: one reverse sweep per value.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> prog, G = gradient_program(ipd())
    >>> G[(1, 2)][1]
    dV1/dtheta_2,CC
    """
    prog = game.value_program()
    theta = game.theta
    wrt = tuple(t for th in theta for t in th)
    G = {}
    for i, V in enumerate(prog.outputs, 1):
        prog, grads = prog.gradient(V, wrt, prefix=f"_g{i}_")
        lo = 0
        for j, th in enumerate(theta, 1):
            block = grads[lo:lo + len(th)]
            lo += len(th)
            names = game.param_names[j - 1]
            named = [(f"dV{i}/dtheta_{j},{names[k]}", g) for k, g in enumerate(block)]
            prog, syms = prog.define(named)
            G[(i, j)] = tuple(syms)
    return prog, G


def value_gradient_program(game):
    r"""The program whose outputs are every :math:`\nabla_j V^i`, ``i`` major then ``j``.

    Examples
    --------
    >>> from lola_sym.games import hamiltonian
    >>> [str(o) for o in value_gradient_program(hamiltonian()).outputs]
    ['dV1/dtheta_1,x', 'dV1/dtheta_2,y', 'dV2/dtheta_1,x', 'dV2/dtheta_2,y']
    """
    prog, G = gradient_program(game)
    n = len(game.theta)
    return prog.with_outputs([s for i in range(1, n + 1) for j in range(1, n + 1)
                              for s in G[(i, j)]])


def compiled_value_gradients(game, backend: str):
    r"""``f(*thetas) -> (flat,)``: :func:`value_gradient_program` compiled (disk cache).

    ``flat`` has shape ``(..., n d)``: row ``i`` of its ``(n, d)`` reshape is
    :math:`\nabla V^i` in every player's parameters (``d = sum(game.dims)``).

    Examples
    --------
    :math:`V^1 = -xy = -V^2` on the Hamiltonian game, at :math:`x = 1/2, y = 2`:

    >>> import numpy as np
    >>> from lola_sym.games import hamiltonian
    >>> f = compiled_value_gradients(hamiltonian(), "numpy")
    >>> f(np.array([0.5]), np.array([2.0]))[0].tolist()
    [-2.0, -0.5, 2.0, 0.5]
    """
    import time
    from lola_sym.compile.cached import compiled_for

    def build(g):
        t0 = time.perf_counter()
        return value_gradient_program(g).pruned(), time.perf_counter() - t0
    fn, _ = compiled_for(game, "value_gradients", build,
                         n_out=(len(game.dims) * sum(game.dims),), backend=backend)
    return fn


def at_shifted_point(prog, game, shift1=None, shift2=None, prefix="_s"):
    r"""Inline the value program at :math:`(\theta_1 + s_1, \theta_2 + s_2)`.

    ``shift1``/``shift2`` are sequences of expressions of ``prog`` (or None).
    Returns the extended program and the shifted ``(V1, V2)`` expressions;
    derivatives taken through them include the dependence of the shifts on
    the parameters (total derivatives).
    """
    th1, th2 = game.theta
    mapping = {}
    if shift1 is not None:
        mapping.update({t: t + s for t, s in zip(th1, shift1)})
    if shift2 is not None:
        mapping.update({t: t + s for t, s in zip(th2, shift2)})
    return prog.inline(game.value_program(), mapping, prefix=prefix)
