r"""Exact evaluation of a straight-line program in rational functions of its free inputs.

:func:`evaluate_rational` runs a :class:`~lola_sym.program.Program` at a point
given in rationals, keeping the inputs without a value (a game's symbols,
symbolic rates) as the variables of rational functions with factored
denominators (:class:`RationalFunctions`). It is the fast path of
:func:`lola_sym.analysis.jacobian.exact_jacobian`; a program that leaves the
rational functions there (a sigmoid of a non-zero rational) raises
:class:`NotRational` and the caller falls back to
:meth:`Program.evaluate_exact <lola_sym.program.Program.evaluate_exact>`.
"""

from __future__ import annotations

from math import gcd

import sympy as sp
from sympy.polys.rings import ring as _poly_ring

from lola_sym.program import Program

__all__ = ["NotRational", "RationalFunctions", "evaluate_rational"]


class NotRational(Exception):
    """A step value that is no rational function of the symbols left (e.g. ``sigmoid(1/3)``)."""


class RationalFunctions:
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


def evaluate_rational(prog: Program, env: dict, linear_in: tuple = ()) -> list:
    r"""The outputs of ``prog`` exactly at ``env`` (rationals), as rational functions of the
    inputs without a value (the game's symbols, symbolic rates).

    With ``linear_in`` (symbols without a value in which every output is linear and
    never inverted, e.g. the direction of a Jacobian-vector product), each output
    comes back as the list of its coefficients of those symbols.

    Raises :class:`NotRational` when a step is not a rational function there
    (a sigmoid of a non-zero rational, an irrational constant), and
    ``ZeroDivisionError`` at a pole; :func:`~lola_sym.analysis.jacobian.exact_jacobian` then falls back to
    :meth:`Program.evaluate_exact <lola_sym.program.Program.evaluate_exact>`.

    Examples
    --------
    Consensus optimisation on the Hamiltonian game, :math:`g = (-y - \gamma x,
    x - \gamma y)`, at :math:`x = 1, y = 2` with :math:`\gamma` left free:

    >>> from lola_sym.games import hamiltonian
    >>> from lola_sym.rules.consensus import derive_co
    >>> prog = derive_co(hamiltonian())
    >>> x, y, gamma = prog.inputs
    >>> evaluate_rational(prog, {x: 1, y: 2})
    [-gamma - 2, 1 - 2*gamma]
    >>> evaluate_rational(prog, {x: 1, y: 2}, linear_in=(gamma,))     # coefficients of gamma
    [[-1], [-2]]
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
    A = RationalFunctions(gens)
    # an element of A is a tuple (numerator, denominator, factors); see RationalFunctions
    vals: dict[sp.Basic, tuple] = {g: (x, 1, {}) for g, x in zip(gens, A.ring.gens)}
    for k, v in env.items():
        if v.is_Rational:
            vals[k] = A.constant(v)
        elif v in vals:                          # a rate given as a sympy Symbol
            vals[k] = vals[v]
        else:
            raise NotRational
    inverses: dict[sp.Basic, tuple] = {}
    memo: dict[sp.Basic, tuple] = {}

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
                raise NotRational
            v = e.func(*[sp.Rational(int(n.LC) if n else 0, c) for n, c, _ in args])
            if not v.is_Rational:
                raise NotRational
            r = A.constant(v)
        else:                                    # a float, pi, ...
            raise NotRational
        memo[e] = r
        return r

    for s, e in prog.steps:
        if s in needed:
            vals[s] = A.reduce(ev(e))
            memo.clear()
    if not linear_in:
        return [A.expr(ev(o)) for o in outs]
    gen = {g: x for g, x in zip(gens, A.ring.gens)}
    rows = []
    for o in outs:
        n, c, F = A.reduce(ev(o))
        rows.append([A.expr((n.diff(gen[t]), c, F)) if t in gen else sp.S.Zero
                     for t in linear_in])
    return rows
