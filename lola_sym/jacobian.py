r"""Exact Jacobians of update fields and of the discrete update maps.

For a rule with directions :math:`g(\theta) = (g_1, g_2)` and
:math:`\theta = (\theta_1, \theta_2)`, the Jacobian of the *field*
:math:`J = \partial g / \partial \theta` (shape :math:`d \times d`,
:math:`d = d_1 + d_2`, rows ``g1`` then ``g2``) governs the continuous-time
flow :math:`\dot\theta = g(\theta)`; the discrete update
:math:`F(\theta) = \theta + \delta g(\theta)` has Jacobian :math:`I + \delta J`.

:math:`J` is derived exactly by forward mode on the rule's program (one
tangent sweep per parameter), compiled like the fields, and can be evaluated

* numerically and batched (:func:`jacobian`),
* exactly at a point with the hyper-parameters left symbolic
  (:func:`exact_jacobian`, e.g. at :math:`\theta = 0` where every policy
  probability is 1/2),
* as a full symbolic matrix in :math:`\theta` for small games
  (:func:`symbolic_jacobian`).

Combined rules (SOS, SGA, CGD) have no single symbolic form; their Jacobian is
taken by central finite differences of the compiled field (step
:data:`FD_STEP`, truncation error about :math:`10^{-10}`) and flagged as such.

References
----------
.. [1] Balduzzi, D. et al. (2018). The Mechanics of n-Player Differentiable
   Games. ICML. (The game Hessian and its parts.)
.. [2] Griewank, A. and Walther, A. (2008). *Evaluating Derivatives*, SIAM,
   Ch. 3 (forward mode).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from lola_sym._exact_input import exact_hyper, exact_number, exact_point
from lola_sym._validation import check_game, as_params, check_real
from lola_sym.program import Program
from lola_sym.rules import get_rule

__all__ = ["jacobian_program", "jacobian", "jacobian_function", "exact_jacobian",
           "symbolic_jacobian", "explicit_field", "symbolic_rule",
           "map_jacobian", "FD_STEP", "SYMBOLIC_MAX_OPS"]

#: Central-difference step of the finite-difference Jacobian of combined rules.
FD_STEP = 1e-5
#: Largest explicit field (in operations) :func:`symbolic_jacobian` differentiates.
SYMBOLIC_MAX_OPS = 4000


def jacobian_program(prog: Program, game) -> Program:
    r"""Extend a field program by its exact Jacobian (forward mode).

    Outputs ``J`` flattened row-major: ``J[i, j] = d out_i / d theta_j``.

    Examples
    --------
    >>> from lola_sym import games
    >>> from lola_sym.field import derive
    >>> jp = jacobian_program(derive(games.hamiltonian(), "nl")[0], games.hamiltonian())
    >>> jp.explicit()
    [0, -1, 1, 0]
    """
    thetas = [t for group in game.theta for t in group]
    outs = prog.outputs
    needed = prog._needed(outs)
    rewrite = prog._aliaser()
    active = set(thetas)
    partials = {}          # local partial derivatives, shared by every direction
    for s, e in prog.steps:
        if s in needed and e.free_symbols & active:
            partials[s] = [(a, rewrite(sp.diff(e, a))) for a in e.free_symbols & active]
            active.add(s)
    out_partials = [[(a, rewrite(sp.diff(o, a))) for a in o.free_symbols & active] for o in outs]
    new_steps, columns = [], []
    for k, t in enumerate(thetas):
        dot = {t: sp.S.One}
        for n, (s, _) in enumerate(prog.steps):
            if s not in partials:
                continue
            tan = sp.Add(*[p * dot[a] for a, p in partials[s] if a in dot])
            if tan == 0:
                continue
            if tan.is_Atom:
                dot[s] = tan
            else:
                sym = sp.Symbol(f"_j{k}_{n}")
                new_steps.append((sym, tan))
                dot[s] = sym
        columns.append([sp.Add(*[p * dot[a] for a, p in op if a in dot]) for op in out_partials])
    entries = [columns[j][i] for i in range(len(outs)) for j in range(len(thetas))]
    return prog.extend(new_steps, entries).pruned()


def _field(game, rule, backend=None, **hyper):
    from lola_sym.field import update_field
    return update_field(game, rule, backend=backend, **hyper)


def jacobian_function(game, rule, *, backend=None, **hyper):
    r"""``J(theta1, theta2) -> (..., d, d)``: the field's Jacobian, compiled and bound once.

    Use it in loops (root finding, grids); :func:`jacobian` evaluates it once.
    Exact derivative (compiled forward mode) for symbolic rules; central finite
    differences for combined rules (SOS, SGA, CGD).
    """
    from lola_sym.field import compiled_program
    f = _field(game, rule, backend, **hyper)
    d1, d2 = game.dims
    d = d1 + d2
    if f.rule.combine is not None:
        def J(theta1, theta2):
            return _fd_jacobian(f, as_params(theta1, "theta1", d1),
                                as_params(theta2, "theta2", d2))
        return J
    fn, _ = compiled_program(game, "jacobian:" + f.rule.name, f.compiled.backend,
                             tuple(sorted(f.options.items())))
    hyper_values = f._program_hyper

    def J(theta1, theta2):
        (flat,) = fn(as_params(theta1, "theta1", d1), as_params(theta2, "theta2", d2),
                     *hyper_values)
        return flat.reshape(flat.shape[:-1] + (d, d))
    return J


def jacobian(game, rule, theta1, theta2, *, backend=None, **hyper) -> np.ndarray:
    r"""The Jacobian :math:`\partial g / \partial \theta` of ``rule``'s field, shape ``(..., d, d)``.

    Exact derivative (compiled forward mode) for symbolic rules; central finite
    differences for combined rules (SOS, SGA, CGD). See :func:`jacobian_function`
    to evaluate it repeatedly.

    Examples
    --------
    >>> from lola_sym import games
    >>> jacobian(games.hamiltonian(), "nl", [0.3], [0.1]).tolist()
    [[0.0, -1.0], [1.0, 0.0]]
    """
    check_game(game)
    return jacobian_function(game, rule, backend=backend, **hyper)(theta1, theta2)


def _fd_jacobian(f, t1, t2) -> np.ndarray:
    d1, d2 = f.game.dims
    batch = np.broadcast_shapes(t1.shape[:-1], t2.shape[:-1])
    base = np.concatenate([np.broadcast_to(t1, batch + (d1,)),
                           np.broadcast_to(t2, batch + (d2,))], axis=-1)
    cols = []
    for k in range(d1 + d2):
        h = FD_STEP * max(1.0, float(np.max(np.abs(base[..., k]), initial=0.0)))
        e = np.zeros(d1 + d2)
        e[k] = h
        up, down = base + e, base - e
        gp = np.concatenate(f(up[..., :d1], up[..., d1:]), axis=-1)
        gm = np.concatenate(f(down[..., :d1], down[..., d1:]), axis=-1)
        cols.append((gp - gm) / (2 * h))
    return np.stack(cols, axis=-1)


def map_jacobian(J, delta) -> np.ndarray:
    r"""Jacobian :math:`I + \delta J` of the discrete map :math:`\theta + \delta g(\theta)`.

    Works for numeric arrays ``(..., d, d)`` and sympy matrices (``delta`` may be a symbol);
    a numeric ``delta`` must be finite and > 0.

    Examples
    --------
    >>> import sympy as sp
    >>> map_jacobian(sp.Matrix([[0, -1], [1, 0]]), sp.Symbol("delta"))
    Matrix([
    [    1, -delta],
    [delta,      1]])
    """
    if isinstance(J, sp.MatrixBase):
        if isinstance(delta, str):
            raise TypeError(f"delta must be a number or a sympy Symbol, got the string {delta!r}")
        delta = exact_number(delta, "delta", nonnegative=True, symbol=True)
        if delta == 0:
            raise ValueError("delta must be > 0, got 0")
        return sp.eye(J.shape[0]) + delta * J
    delta = check_real(delta, "delta", positive=True)
    J = as_params(J, "J", None)
    if J.ndim < 2 or J.shape[-1] != J.shape[-2]:
        raise ValueError(f"J must have shape (..., d, d), got {J.shape}")
    return np.eye(J.shape[-1]) + delta * J


def exact_jacobian(game, rule, theta1, theta2, **hyper) -> sp.Matrix:
    r"""The field's Jacobian at one point in exact arithmetic.

    ``theta1``, ``theta2`` are sequences of exact numbers: ints, ``Fraction``,
    sympy numbers (``sympy.Rational``, or constants such as ``sympy.sqrt(2)``),
    floats (read from their shortest repr: ``0.1`` is ``1/10``) or strings that
    are rational literals (``"1/3"``, ``"-2"``, ``"0.25"``; strings are never
    evaluated). Sigmoids of them stay exact (``sigmoid(0) = 1/2``).
    Hyper-parameters not given stay symbols (``eta``, ...), so thresholds can be
    derived as functions of the rates; given ones are non-negative exact numbers
    or a ``sympy.Symbol`` of your own. Symbolic rules only.

    Raises
    ------
    ValueError, TypeError
        For a wrong number of entries, an entry or rate that is not finite, not
        real, not a number or larger than
        :data:`~lola_sym._exact_input.MAX_EXACT_ABS`, or a negative rate; the
        message names the argument.

    Examples
    --------
    >>> from lola_sym import games
    >>> exact_jacobian(games.matching_pennies(), "lola", [0], [0])
    Matrix([
    [-eta/16,    -1/4],
    [    1/4, -eta/16]])
    >>> exact_jacobian(games.matching_pennies(), "lola", ["0"], [0.0], eta="1/2")
    Matrix([
    [-1/32,  -1/4],
    [  1/4, -1/32]])
    """
    check_game(game)
    from lola_sym.field import derive
    r, options, hyper = symbolic_rule(rule, hyper, "jacobian() for its finite-difference Jacobian")
    env = {}
    for name, vals, syms in (("theta1", theta1, game.theta[0]), ("theta2", theta2, game.theta[1])):
        env.update(zip(syms, exact_point(vals, name, len(syms))))
    prog, _ = derive(game, "jacobian:" + r.name, tuple(sorted(options.items())))
    d1, d2 = game.dims
    for h in r.hyper_symbols:
        if h.name in hyper:
            env[h] = hyper[h.name]
    entries = prog.evaluate_exact(env)
    d = d1 + d2
    return sp.Matrix(d, d, entries)


def symbolic_rule(rule, hyper: dict, instead: str) -> tuple:
    """``(rule, options, hyper)`` for a rule with a symbolic form; combined rules are refused.

    ``instead`` names what to use for combined rules (in the error message). The
    hyper-parameters come back as exact numbers or sympy Symbols
    (:func:`~lola_sym._exact_input.exact_hyper`).
    """
    r = get_rule(rule)
    if r.combine is not None:
        raise ValueError(f"rule {r.name!r} is combined numerically (no symbolic form); "
                         f"use {instead}")
    options, hyper = exact_hyper(r, hyper)
    return r, options, hyper


def explicit_field(game, rule, instead: str, **hyper) -> list:
    r"""The field :math:`(g_1, g_2)` as explicit sympy expressions, for small fields only.

    Given hyper-parameters are substituted as exact numbers (validated as in
    :func:`exact_jacobian`), the others stay symbols. Refuses (``ValueError``
    naming ``instead``) a field whose explicit form exceeds
    :data:`SYMBOLIC_MAX_OPS` operations; the size is estimated before anything
    is expanded (the IPD's would not fit in memory).

    Examples
    --------
    >>> from lola_sym import games
    >>> explicit_field(games.tandem(), "lola", "a numerical method", eta="1/4")
    [-x - y + 2, -x - y + 2]
    """
    from lola_sym.field import derive
    r, options, hyper = symbolic_rule(rule, hyper, instead)
    prog, _ = derive(game, r.name, tuple(sorted(options.items())))
    size = prog.expanded_size()
    if size > 20 * SYMBOLIC_MAX_OPS:
        raise ValueError(f"the explicit {r.name} field on {game.name} is too large "
                         f"(about {size:.3g} operations); use {instead}")
    values = {h: hyper[h.name] for h in r.hyper_symbols if h.name in hyper}
    g = [e.xreplace(values) for e in prog.explicit()]
    ops = sum(sp.count_ops(e) for e in g)
    if ops > SYMBOLIC_MAX_OPS:
        raise ValueError(f"the explicit {r.name} field on {game.name} has {ops} operations "
                         f"(> {SYMBOLIC_MAX_OPS}); use {instead}")
    return g


def symbolic_jacobian(game, rule, **hyper) -> sp.Matrix:
    r"""The field's Jacobian as a sympy matrix in :math:`\theta` (small games only).

    Differentiates the explicit field; refuses fields larger than
    :data:`SYMBOLIC_MAX_OPS` operations (use :func:`exact_jacobian` at a point).

    Examples
    --------
    >>> from lola_sym import games
    >>> symbolic_jacobian(games.tandem(), "nl")
    Matrix([
    [-2, -2],
    [-2, -2]])
    """
    check_game(game)
    g = explicit_field(game, rule, "exact_jacobian at a point instead", **hyper)
    thetas = [t for group in game.theta for t in group]
    J = sp.Matrix(g).jacobian(thetas)
    return J.applyfunc(lambda e: sp.simplify(e) if sp.count_ops(e) < 300 else e)
