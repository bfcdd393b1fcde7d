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
* exactly at a point with the hyper-parameters and the game's symbols left
  symbolic (:func:`exact_jacobian`, e.g. at :math:`\theta = 0` where every
  policy probability is 1/2: the IPD's LOLA Jacobian as rational functions
  of R, S, T, P, :math:`\gamma` and :math:`\eta`),
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

from collections.abc import Mapping
from math import gcd

import numpy as np
import sympy as sp
from sympy.polys.rings import ring as _poly_ring

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
    r"""Extend a field program by its exact Jacobian in the agents' parameters (forward mode).

    Outputs ``J`` flattened row-major: ``J[i, j] = d out_i / d theta_j``
    (:meth:`Program.jacobian <lola_sym.program.Program.jacobian>`); the game's
    symbols, if any, stay inputs.

    Examples
    --------
    >>> from lola_sym import games
    >>> from lola_sym.field import derive
    >>> jp = jacobian_program(derive(games.hamiltonian(), "nl")[0], games.hamiltonian())
    >>> jp.explicit()
    [0, -1, 1, 0]
    """
    return prog.jacobian([t for group in game.theta for t in group])


def _check_names(game, rule) -> None:
    """Refuse a game symbol with the name of one of ``rule``'s rates.

    The exact analyses return expressions in both, and the compiled programs
    take both as arguments, so the two would be confused (e.g. the discount
    ``gamma`` of ``ipd(symbolic=True)`` and CO's hyper-parameter ``gamma``).
    """
    names = {s.name for s in getattr(game, "parameters", ())}
    clash = sorted(names & {h.name for h in get_rule(rule).hyper_symbols})
    if clash:
        raise ValueError(f"{game.name} has a symbol {clash[0]!r} and rule {get_rule(rule).name!r} "
                         f"a hyper-parameter {clash[0]!r}: an analysis in both would confuse "
                         f"them; substitute the game's {clash[0]} (game.substitute) or use a "
                         f"game whose symbol has another name")


def _field(game, rule, backend=None, **hyper):
    from lola_sym.field import update_field
    return update_field(game, rule, backend=backend, **hyper)


def jacobian_function(game, rule, *, backend=None, **hyper):
    r"""``J(theta1, theta2, **parameters) -> (..., d, d)``: the field's Jacobian, compiled once.

    Use it in loops (root finding, grids); :func:`jacobian` evaluates it once.
    Exact derivative (compiled forward mode) for symbolic rules; central finite
    differences for combined rules (SOS, SGA, CGD). A game with symbols
    (``game.parameters``) takes their values as keywords of ``J``, as its
    update fields do (scalars or arrays broadcasting against the points).

    Examples
    --------
    >>> import sympy as sp
    >>> from lola_sym.games import differentiable
    >>> a, x, y = sp.Symbol("a", real=True), *sp.symbols("x y", real=True)
    >>> J = jacobian_function(differentiable(a * x * y, -a * x * y, [x], [y]), "nl")
    >>> J([0.0], [0.0], a=2.0).tolist()
    [[0.0, 2.0], [-2.0, 0.0]]
    """
    from lola_sym.field import compiled_program
    check_game(game)
    _check_names(game, rule)
    f = _field(game, rule, backend, **hyper)
    d1, d2 = game.dims
    d = d1 + d2
    if f.rule.combine is not None:
        def J(theta1, theta2, **parameters):
            _parameter_group(game, parameters)         # the values checked before anything runs
            return _fd_jacobian(f, as_params(theta1, "theta1", d1),
                                as_params(theta2, "theta2", d2), parameters)
        return J
    fn, _ = compiled_program(game, "jacobian:" + f.rule.name, f.compiled.backend,
                             tuple(sorted(f.options.items())))
    hyper_values = f._program_hyper

    def J(theta1, theta2, **parameters):
        extra = _parameter_group(game, parameters)
        (flat,) = fn(as_params(theta1, "theta1", d1), as_params(theta2, "theta2", d2),
                     *extra, *hyper_values)
        return flat.reshape(flat.shape[:-1] + (d, d))
    return J


def _parameter_group(game, given) -> tuple:
    """``(array,)`` of the game symbols' values, or ``()`` for a game without symbols.

    A numeric analysis cannot keep symbols: a missing value is an error that says
    where to give it and what keeps the symbols instead.
    """
    symbols = tuple(getattr(game, "parameters", ()))
    if not symbols:
        if given:
            raise TypeError(f"{game.name} has no symbols; unexpected keyword "
                            f"{sorted(given)[0]!r}")
        return ()
    missing = [s.name for s in symbols if s.name not in given]
    if missing:
        raise ValueError(f"{game.name} has the symbols {[s.name for s in symbols]}: a numeric "
                         f"Jacobian needs a value for each (missing {missing}), given as "
                         f"parameters={{...}} or as keywords of the compiled J; exact_jacobian "
                         f"keeps them as symbols")
    return (game.parameter_array(**given),)


def jacobian(game, rule, theta1, theta2, *, backend=None, parameters=None,
             **hyper) -> np.ndarray:
    r"""The Jacobian :math:`\partial g / \partial \theta` of ``rule``'s field, shape ``(..., d, d)``.

    Exact derivative (compiled forward mode) for symbolic rules; central finite
    differences for combined rules (SOS, SGA, CGD). See :func:`jacobian_function`
    to evaluate it repeatedly. A game with symbols needs their values,
    ``parameters={"a": 2.0, ...}`` (a mapping, so that a symbol and a rule's
    hyper-parameter can never be mistaken for each other).

    Examples
    --------
    >>> from lola_sym import games
    >>> jacobian(games.hamiltonian(), "nl", [0.3], [0.1]).tolist()
    [[0.0, -1.0], [1.0, 0.0]]
    >>> jacobian(games.ipd(symbolic=True), "nl", [0.0] * 5, [0.0] * 5).shape
    Traceback (most recent call last):
    ...
    ValueError: IPD (symbolic) has the symbols ['P', 'R', 'S', 'T', 'gamma']: a numeric Jacobian needs a value for each (missing ['P', 'R', 'S', 'T', 'gamma']), given as parameters={...} or as keywords of the compiled J; exact_jacobian keeps them as symbols
    """
    check_game(game)
    J = jacobian_function(game, rule, backend=backend, **hyper)
    return J(theta1, theta2, **_mapping(parameters))


def _mapping(parameters) -> dict:
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise TypeError(f"parameters must be a mapping of the game's symbol names to values, "
                        f"got {type(parameters).__name__}")
    bad = [k for k in parameters if not isinstance(k, str)]
    if bad:
        raise TypeError(f"parameters must be keyed by symbol names (str), got {bad[0]!r}")
    return dict(parameters)


def _fd_jacobian(f, t1, t2, parameters=None) -> np.ndarray:
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
        gp = np.concatenate(f(up[..., :d1], up[..., d1:], **(parameters or {})), axis=-1)
        gm = np.concatenate(f(down[..., :d1], down[..., d1:], **(parameters or {})), axis=-1)
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
    or a ``sympy.Symbol`` of your own. The game's symbols (``game.parameters``,
    e.g. the payoffs R, S, T, P and the discount gamma of
    ``ipd(symbolic=True)``) stay symbols too: the entries are rational functions
    of them (substitute numbers first with ``game.substitute(...)`` for a
    numeric Jacobian). Symbolic rules only.

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
    >>> a, x, y = sp.Symbol("a", real=True), *sp.symbols("x y", real=True)
    >>> bilinear = games.differentiable(a * x * y - x ** 2 / 2, -a * x * y, [x], [y])
    >>> exact_jacobian(bilinear, "lola", [0], [0])
    Matrix([
    [-a**2*eta - 1,         a],
    [           -a, -a**2*eta]])
    """
    check_game(game)
    from lola_sym.field import derive_jacobian
    r, options, hyper = symbolic_rule(rule, hyper, "jacobian() for its finite-difference Jacobian")
    _check_names(game, r.name)
    env = {}
    for name, vals, syms in (("theta1", theta1, game.theta[0]), ("theta2", theta2, game.theta[1])):
        env.update(zip(syms, exact_point(vals, name, len(syms))))
    prog, _ = derive_jacobian(game, r.name, tuple(sorted(options.items())))
    d1, d2 = game.dims
    for h in r.hyper_symbols:
        if h.name in hyper:
            env[h] = hyper[h.name]
    try:
        entries = _evaluate_rational(prog, env)
    except (_NotRational, ZeroDivisionError):     # e.g. sigmoid(1/3), sqrt(2), a pole
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
    _check_names(game, r.name)
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


# ------------------------------------------------ exact evaluation in rational functions
class _NotRational(Exception):
    """A step value that is no rational function of the symbols left (e.g. ``sigmoid(1/3)``)."""


class _RationalFunctions:
    r"""Arithmetic of :math:`n / (c \prod_f f^{m_f})`: ``(n, c, {f: m_f})``.

    ``n`` is a polynomial with integer coefficients in the symbols left, ``c`` a
    positive int and each ``f`` an irreducible primitive polynomial with a
    positive leading coefficient. Denominators stay factored, so sums take the
    least common multiple and products add multiplicities without a polynomial
    gcd; a value is reduced once per program step, by the integer content and
    trial division by its denominator's factors (one polynomial is a Groebner
    basis of its ideal: the remainder is zero iff it divides). Only the values
    that are inverted are factored. Measured on ``ipd(symbolic=True)``, LOLA's
    Jacobian at :math:`\theta = 0` (11,000 steps, rational functions in R, S,
    T, P, :math:`\gamma`, :math:`\eta`): 5 s, where expanding and cancelling
    every step as expressions (:meth:`Program.evaluate_exact
    <lola_sym.program.Program.evaluate_exact>`) had not finished after 11 min
    and sympy's fraction field (a gcd per operation) took 54 s.
    """

    def __init__(self, gens):
        self.ring = _poly_ring(gens or [sp.Dummy()], sp.ZZ)[0]
        self.zero = (self.ring.zero, 1, {})
        self.one = (self.ring.one, 1, {})

    def constant(self, q):
        return (self.ring(int(q.p)), int(q.q), {})

    def reduce(self, a):
        n, c, F = a
        if not n:
            return self.zero
        k = gcd(int(n.content()), c)
        if k != 1:
            n, c = n.quo_ground(k), c // k
        left = {}
        for f, m in F.items():
            while m:
                (q,), r = n.div([f])
                if r:
                    break
                n, m = q, m - 1
            if m:
                left[f] = m
        return (n, c, left)

    def add(self, a, b):
        (na, ca, Fa), (nb, cb, Fb) = a, b
        if not na:
            return b
        if not nb:
            return a
        c = ca * cb // gcd(ca, cb)
        F = {**Fa, **{f: max(m, Fa.get(f, 0)) for f, m in Fb.items()}}
        ta, tb = na * (c // ca), nb * (c // cb)
        for f, m in F.items():
            if m > Fa.get(f, 0):
                ta = ta * f ** (m - Fa.get(f, 0))
            if m > Fb.get(f, 0):
                tb = tb * f ** (m - Fb.get(f, 0))
        return (ta + tb, c, F)

    def mul(self, a, b):
        (na, ca, Fa), (nb, cb, Fb) = a, b
        if not na or not nb:
            return self.zero
        F = {**Fa, **{f: m + Fa.get(f, 0) for f, m in Fb.items()}}
        return (na * nb, ca * cb, F)

    def inverse(self, a):
        n, c, F = self.reduce(a)
        if not n:
            raise ZeroDivisionError("a pole of the program at this point")
        k, factors = n.factor_list()
        num = self.ring(c if k > 0 else -c)
        for f, m in F.items():
            num = num * f ** m
        G = {}
        for f, m in factors:
            if f.LC < 0:
                f, num = -f, num * (-1) ** m
            G[f] = G.get(f, 0) + m
        return (num, abs(int(k)), G)

    def power(self, a, k: int):
        if k < 0:
            a, k = self.inverse(a), -k
        n, c, F = a
        return (n ** k, c ** k, {f: m * k for f, m in F.items()})

    def expr(self, a):
        n, c, F = self.reduce(a)
        if not F:
            return sp.expand(n.as_expr() / c)
        return n.as_expr() / sp.Mul(c, *[f.as_expr() ** m for f, m in F.items()])


def _evaluate_rational(prog: Program, env: dict) -> list:
    """The outputs of ``prog`` exactly at ``env`` (rationals), as rational functions of the
    inputs without a value (the game's symbols, symbolic rates).

    Raises :class:`_NotRational` when a step is not a rational function there
    (a sigmoid of a non-zero rational, an irrational constant), and
    ``ZeroDivisionError`` at a pole; :func:`exact_jacobian` then falls back to
    :meth:`Program.evaluate_exact <lola_sym.program.Program.evaluate_exact>`.
    """
    outs = [sp.sympify(o) for o in prog.outputs]
    needed = prog._needed(outs)
    steps = {s for s, _ in prog.steps}
    env = {k: sp.sympify(v) for k, v in env.items()}
    free = set().union(*(v.free_symbols for v in env.values()))
    for s, e in prog.steps:
        if s in needed:
            free |= e.free_symbols - steps - set(env)
    for o in outs:
        free |= o.free_symbols - steps - set(env)
    gens = sorted(free, key=sp.default_sort_key)
    A = _RationalFunctions(gens)
    vals = {g: (x, 1, {}) for g, x in zip(gens, A.ring.gens)}
    for k, v in env.items():
        if v.is_Rational:
            vals[k] = A.constant(v)
        elif v in vals:                          # a rate given as a sympy Symbol
            vals[k] = vals[v]
        else:
            raise _NotRational
    inverses, memo = {}, {}

    def ev(e):
        if e in vals:
            return vals[e]
        if e in memo:
            return memo[e]
        if e.is_Rational:
            r = A.constant(e)
        elif e.is_Add:
            r = A.zero
            for x in e.args:
                r = A.add(r, ev(x))
        elif e.is_Mul:
            r = A.one
            for x in e.args:
                r = A.mul(r, ev(x))
        elif e.is_Pow and e.exp.is_Integer:
            k = int(e.exp)
            if k < 0 and e.base in steps:        # a step inverted: factor its value once
                if e.base not in inverses:
                    inverses[e.base] = A.inverse(ev(e.base))
                r = A.power(inverses[e.base], -k)
            else:
                r = A.power(ev(e.base), k)
        elif e.args:                             # a function of constants, e.g. sigmoid(0)
            args = [A.reduce(ev(x)) for x in e.args]
            if any(F or not n.is_ground for n, _, F in args):
                raise _NotRational
            v = e.func(*[sp.Rational(int(n.LC) if n else 0, c) for n, c, _ in args])
            if not v.is_Rational:
                raise _NotRational
            r = A.constant(v)
        else:                                    # a float, pi, ...
            raise _NotRational
        memo[e] = r
        return r

    for s, e in prog.steps:
        if s in needed:
            vals[s] = A.reduce(ev(e))
            memo.clear()
    return [A.expr(ev(o)) for o in outs]
