r"""Straight-line symbolic programs and their exact reverse-mode derivatives.

A :class:`Program` is an ordered list of assignments ``s_j = e_j`` where each
``e_j`` is a small exact sympy expression of the inputs and of earlier
symbols. Differentiating such a program (reverse mode, adjoint by adjoint)
gives another program whose size grows linearly, whereas differentiating the
fully substituted rational function makes it explode. Every quantity is still
an exact symbolic expression: :meth:`Program.explicit` substitutes all
intermediate symbols back, and :meth:`Program.evaluate` evaluates the program
at arbitrary precision without compiling it.

The sigmoid policies of the games are the one special function: the step
``p = sigma(theta)`` has the derivative ``p * (1 - p)``, which the programs
write with the companion step ``pbar = sigma(-theta)`` so that both stay
accurate when the logit saturates.

References
----------
.. [1] Griewank, A. and Walther, A. (2008). *Evaluating Derivatives*, 2nd ed.,
   SIAM. Chapter 3 (reverse mode on straight-line programs).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import count
from typing import Iterable, Mapping, Sequence

import mpmath
import sympy as sp
from sympy.core.mul import Mul

__all__ = ["sigmoid", "softmax", "Program", "partial"]


@lru_cache(maxsize=1 << 16)
def partial(e: sp.Expr, a: sp.Symbol) -> sp.Expr:
    r"""The local partial derivative :math:`\partial e / \partial a` of one program step.

    Steps are small sums and products of symbols, so the sum and product rules
    are applied directly and only other forms (powers with symbolic exponents,
    the policy functions) go through :func:`sympy.diff`; the result is the same
    expression ``sympy.diff`` gives, about 4x faster. Cached: the derivations
    differentiate the same steps once per agent and per direction.

    Examples
    --------
    >>> x, y, z = sp.symbols("x y z")
    >>> partial(-x * y + z, y), partial(x ** 2 * y, x), partial(sigmoid(x) * y, x)
    (-x, 2*x*y, y*sigmoid(-x)*sigmoid(x))
    """
    if e == a:
        return sp.S.One
    if e.is_Atom or a not in e.free_symbols:
        return sp.S.Zero
    if e.is_Add:
        return sp.Add(*[partial(t, a) for t in e.args if a in t.free_symbols])
    if e.is_Mul:
        args = e.args
        holders = [k for k, f in enumerate(args) if a in f.free_symbols]
        if len(holders) == 1 and args[holders[0]] == a:    # the common case: a plain factor
            rest = args[:holders[0]] + args[holders[0] + 1:]
            return rest[0] if len(rest) == 1 else Mul._from_args(rest)
        return sp.Add(*[sp.Mul(*args[:k], partial(args[k], a), *args[k + 1:]) for k in holders])
    if e.is_Pow and e.exp.is_Number:
        return e.exp * e.base ** (e.exp - 1) * partial(e.base, a)
    return sp.diff(e, a)


class sigmoid(sp.Function):
    r"""The logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> sigmoid(0)
    1/2
    >>> sp.diff(sigmoid(x), x)
    sigmoid(-x)*sigmoid(x)
    """

    @classmethod
    def eval(cls, x):
        """Automatic simplification: :math:`\\sigma(0) = 1/2`, otherwise left unevaluated."""
        if x == 0:
            return sp.S.Half
        return None

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sigmoid(x) * sigmoid(-x)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        x = self.args[0]._eval_evalf(prec)
        if x is None:
            return None
        with mpmath.workprec(prec):
            v = 1 / (1 + mpmath.exp(-mpmath.mpf(x)))
        return sp.Float(v, precision=prec)

    def _latex(self, printer, exp=None):
        out = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return out if exp is None else r"%s^{%s}" % (out, exp)


class softmax(sp.Function):
    r"""Probability of action ``a`` under a softmax whose last action has logit 0.

    ``softmax(a, x_0, ..., x_{r-1})`` is

    .. math:: \pi_a = \frac{e^{x_a}}{1 + \sum_{b<r} e^{x_b}}, \qquad
              \pi_r = \frac{1}{1 + \sum_{b<r} e^{x_b}},

    for ``a < r`` and ``a = r`` respectively: the policy over ``k = r + 1``
    actions with ``r`` free logits (the last action is the reference, logit 0;
    with ``r = 1`` it is :class:`sigmoid`). The derivative
    :math:`\partial\pi_a/\partial x_b = \pi_a(\delta_{ab} - \pi_b)` is written
    with :math:`1 - \pi_a = \sum_{c \ne a} \pi_c`, so that it stays accurate when
    the policy saturates. Compiled as ``1 / (1 + sum_b exp(x_b - x_a) + exp(-x_a))``,
    which is exactly 0 or 1 in the limits instead of ``inf / inf``.

    Examples
    --------
    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> softmax(2, 0, 0)
    1/3
    >>> sp.diff(softmax(0, x, y), y)
    -softmax(0, x, y)*softmax(1, x, y)
    >>> sp.diff(softmax(0, x, y), x)
    (softmax(1, x, y) + softmax(2, x, y))*softmax(0, x, y)
    """

    @classmethod
    def eval(cls, a, *x):
        """Automatic simplification: all logits 0 give :math:`1/(r + 1)`; bad ``a`` is refused."""
        if not (a.is_Integer and 0 <= a <= len(x)) or not x:
            raise ValueError(f"softmax(a, x_0..x_(r-1)) needs 0 <= a <= r and r >= 1, got a={a}, "
                             f"r={len(x)}")
        if all(v == 0 for v in x):
            return sp.Rational(1, len(x) + 1)
        return None

    def _logits(self):
        a, x = int(self.args[0]), self.args[1:]
        return a, list(x) + [sp.S.Zero]

    def fdiff(self, argindex=1):
        if argindex == 1:
            return sp.S.Zero
        a, x = int(self.args[0]), self.args[1:]
        b = argindex - 2
        if a == b:
            rest = sp.Add(*[softmax(c, *x) for c in range(len(x) + 1) if c != a])
            return self * rest
        return -self * softmax(b, *x)

    def _eval_rewrite_as_exp(self, a, *x, **kwargs):
        a, z = self._logits()
        return 1 / sp.Add(*[sp.exp(v - z[a]) for v in z])

    def _eval_evalf(self, prec):
        a, z = self._logits()
        vals = [v._eval_evalf(prec) if not v.is_Number else sp.Float(v, precision=prec) for v in z]
        if any(v is None for v in vals):
            return None
        with mpmath.workprec(prec):
            za = mpmath.mpf(vals[a])
            v = 1 / mpmath.fsum(mpmath.exp(mpmath.mpf(w) - za) for w in vals)
        return sp.Float(v, precision=prec)

    def _latex(self, printer, exp=None):
        a = int(self.args[0])
        out = r"\pi_{%d}\left(%s\right)" % (a, ", ".join(printer._print(v) for v in self.args[1:]))
        return out if exp is None else r"%s^{%s}" % (out, exp)


def softmax_numpy(a, *x):
    """Numeric :class:`softmax` (numpy broadcasting); 0 or 1 in the limits, never NaN.

    Examples
    --------
    >>> float(softmax_numpy(0, 800.0, 0.0))
    1.0
    """
    import numpy as np
    z = list(x) + [0.0]
    za = z[int(a)]
    with np.errstate(over="ignore"):
        total = sum(np.exp(np.subtract(v, za)) for v in z)
    return 1.0 / total


class _Rejected(Exception):
    """A step value refused by :meth:`Program.evaluate_exact`'s ``accept``."""


@dataclass(frozen=True)
class Program:
    r"""An exact straight-line program ``s_j = e_j`` with named outputs.

    Parameters
    ----------
    inputs : tuple of sympy.Symbol
        Free symbols the program reads (parameters, hyper-parameters).
    steps : tuple of (sympy.Symbol, sympy.Expr)
        Assignments in evaluation order; each expression uses inputs and
        earlier step symbols only.
    outputs : tuple of sympy.Expr
        The results, expressions of inputs and step symbols.

    Examples
    --------
    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> prog = Program.from_steps((x, y), [("u", x * y), ("v", sp.Symbol("u") + x)])
    >>> prog = prog.with_outputs([sp.Symbol("v") ** 2])
    >>> prog.explicit()
    [(x*y + x)**2]
    >>> grad, (dx, dy) = prog.gradient(prog.outputs[0], (x, y))
    >>> sp.factor(grad.explicit([dx, dy])[0] - sp.diff((x * y + x) ** 2, x))
    0
    """

    inputs: tuple
    steps: tuple = ()
    outputs: tuple = ()

    # ------------------------------------------------------------------ build
    @classmethod
    def from_steps(cls, inputs: Sequence[sp.Symbol], steps: Iterable) -> "Program":
        """Build a program from ``(name or Symbol, expression)`` pairs."""
        out = []
        for name, expr in steps:
            sym = sp.Symbol(name) if isinstance(name, str) else name
            out.append((sym, sp.sympify(expr)))
        prog = cls(tuple(inputs), tuple(out), ())
        prog._check()
        return prog

    def _check(self) -> None:
        known = set(self.inputs)
        for sym, expr in self.steps:
            unknown = expr.free_symbols - known
            assert not unknown, f"step {sym} uses undefined symbols {unknown}"
            assert sym not in known, f"symbol {sym} assigned twice"
            known.add(sym)

    def add_inputs(self, symbols: Iterable[sp.Symbol]) -> "Program":
        """Declare further input symbols (e.g. hyper-parameters)."""
        new = tuple(s for s in symbols if s not in self.inputs)
        return Program(self.inputs + new, self.steps, self.outputs)

    def with_outputs(self, outputs: Iterable) -> "Program":
        """The same steps with new outputs."""
        return Program(self.inputs, self.steps, tuple(sp.sympify(o) for o in outputs))

    def extend(self, steps: Iterable, outputs: Iterable | None = None) -> "Program":
        """Append steps (already symbols) and optionally replace the outputs."""
        return Program(self.inputs, self.steps + tuple(steps),
                       self.outputs if outputs is None else tuple(outputs))

    def define(self, named: Iterable) -> tuple:
        """Append ``(name, expression)`` steps; return the new program and the symbols."""
        new = []
        for name, expr in named:
            sym = sp.Symbol(name) if isinstance(name, str) else name
            new.append((sym, sp.sympify(expr)))
        return self.extend(new), [s for s, _ in new]

    def vjp(self, ys: Sequence[sp.Expr], wrt: Sequence[sp.Symbol], v: Sequence[sp.Expr],
            prefix: str = "_b"):
        r"""Vector-Jacobian product :math:`v^\top \partial y / \partial w` with ``v`` held fixed.

        ``v`` is a stop-gradient vector: the derivative is taken with
        placeholder symbols in its place, which are then replaced by ``v``
        (expressions of symbols the program already defines).
        """
        ys, v = tuple(ys), tuple(v)
        if len(ys) != len(v):
            raise ValueError(f"vjp needs as many vector entries ({len(v)}) as outputs ({len(ys)})")
        holders = sp.symbols(f"{prefix}v0:{len(v)}")
        s = sp.Add(*[h * y for h, y in zip(holders, ys)])
        prog, grads = self.gradient(s, wrt, prefix=prefix)
        mapping = dict(zip(holders, v))
        steps = prog.steps[len(self.steps):]
        steps = tuple((sym, e.xreplace(mapping)) for sym, e in steps)
        grads = [g.xreplace(mapping) for g in grads]
        return Program(self.inputs, self.steps + steps, self.outputs), grads

    @property
    def symbols(self) -> tuple:
        """The step symbols in order."""
        return tuple(s for s, _ in self.steps)

    def _fresh(self, prefix: str):
        used = {s.name for s in self.symbols} | {s.name for s in self.inputs}
        for n in count():
            name = f"{prefix}{n}"
            if name not in used:
                used.add(name)
                yield sp.Symbol(name)

    # ------------------------------------------------------------- analysis
    def size(self) -> int:
        """Number of arithmetic operations in steps and outputs (``sympy.count_ops``)."""
        return int(sum(sp.count_ops(e) for _, e in self.steps)
                   + sum(sp.count_ops(o) for o in self.outputs))

    def expanded_size(self, exprs: Sequence[sp.Expr] | None = None) -> int:
        """Operation count :meth:`explicit` would produce, estimated without building it.

        Each use of a step symbol counts that step's whole substituted size, so
        this is cheap even when the explicit expressions would be astronomically
        large (automatic simplification can only make them smaller).
        """
        exprs = self.outputs if exprs is None else tuple(exprs)
        size: dict = {}

        def tree(e):
            n = int(sp.count_ops(e))
            for node in sp.preorder_traversal(e):
                if node.is_Symbol and node in size:
                    n += size[node]
            return n

        for s, e in self.steps:
            size[s] = tree(e)
        return sum(tree(sp.sympify(e)) for e in exprs)

    def _needed(self, exprs: Iterable[sp.Expr]) -> set:
        """Step symbols the given expressions depend on, transitively."""
        defs = dict(self.steps)
        todo = set()
        for e in exprs:
            todo |= e.free_symbols
        needed = set()
        while todo:
            s = todo.pop()
            if s in defs and s not in needed:
                needed.add(s)
                todo |= defs[s].free_symbols
        return needed

    def pruned(self) -> "Program":
        """Drop the steps no output depends on."""
        needed = self._needed(self.outputs)
        return Program(self.inputs, tuple((s, e) for s, e in self.steps if s in needed),
                       self.outputs)

    # -------------------------------------------------------- differentiation
    def _aliaser(self):
        """A function rewriting derivatives with the program's own step symbols.

        ``sigmoid(t)`` becomes the step that holds it, and negative powers
        ``x**-k`` of a reciprocal step ``r = 1/x`` become ``r**k``: the derived
        programs then multiply where they would divide.
        """
        alias = {e: s for s, e in self.steps if isinstance(e, (sigmoid, softmax))}
        recip = {e.base: s for s, e in self.steps if e.is_Pow and e.exp == -1}

        def is_recip(n):
            return n.is_Pow and n.exp.is_Integer and n.exp < 0 and n.base in recip

        def rewrite(expr):
            expr = expr.xreplace(alias)
            if recip:
                expr = expr.replace(is_recip, lambda n: recip[n.base] ** (-n.exp))
            return expr
        return rewrite

    def gradient(self, y: sp.Expr, wrt: Sequence[sp.Symbol], prefix: str = "_a"):
        r"""Reverse-mode gradient of the scalar ``y`` with respect to ``wrt``.

        Returns the program extended by the adjoint steps (outputs unchanged)
        and the list of gradient expressions, one per symbol in ``wrt``.
        Derivatives of ``sigmoid`` steps are written with the step symbols
        ``sigma(theta)`` and ``sigma(-theta)`` when the program has them.
        """
        wrt = tuple(wrt)
        # activity: symbols that depend on wrt
        active = set(wrt)
        for s, e in self.steps:
            if e.free_symbols & active:
                active.add(s)
        needed = self._needed([y]) | (y.free_symbols & set(wrt))
        rewrite = self._aliaser()
        fresh = self._fresh(prefix)

        contrib: dict = {}

        def add(sym, term):
            if term != 0:
                contrib.setdefault(sym, []).append(term)

        for s in y.free_symbols & active:
            add(s, rewrite(partial(y, s)))
        new_steps = []
        adj_sym: dict = {}
        for s, e in reversed(self.steps):
            if s not in contrib or s not in needed:
                continue
            terms = contrib.pop(s)
            total = sp.Add(*terms)
            if total.is_Atom:
                a = total
            else:
                a = next(fresh)
                new_steps.append((a, total))
            adj_sym[s] = a
            for u in e.free_symbols & active:
                add(u, a * rewrite(partial(e, u)))
        grads = []
        for w in wrt:
            terms = contrib.get(w, [])
            total = sp.Add(*terms)
            grads.append(total)
        # adjoint steps were produced in reverse order of dependency: each
        # adjoint uses later adjoints, which were created earlier; keep order.
        prog = self.extend(new_steps)
        return prog, grads

    def jvp(self, ys: Sequence[sp.Expr], tangents: Mapping, prefix: str = "_t"):
        r"""Forward-mode directional derivatives of ``ys``.

        ``tangents`` maps input symbols to their tangent expressions (the
        direction); these expressions are *not* differentiated (stop-gradient),
        so they may use any symbol the program defines. Returns the program
        extended by the tangent steps and the list of tangents of ``ys``.
        """
        ys = tuple(sp.sympify(y) for y in ys)
        needed = self._needed(ys)
        rewrite = self._aliaser()
        dot = {k: sp.sympify(v) for k, v in tangents.items()}
        fresh = self._fresh(prefix)
        new_steps = []

        def tangent(e):
            terms = []
            for a in e.free_symbols:
                da = dot.get(a, 0)
                if da != 0:
                    terms.append(rewrite(partial(e, a)) * da)
            return sp.Add(*terms)

        for s, e in self.steps:
            if s not in needed:
                continue
            t = tangent(e)
            if t == 0:
                continue
            if t.is_Atom:
                dot[s] = t
            else:
                sym = next(fresh)
                new_steps.append((sym, t))
                dot[s] = sym
        return self.extend(new_steps), [tangent(y) for y in ys]

    def jacobian(self, wrt: Sequence[sp.Symbol], outputs: Sequence[sp.Expr] | None = None,
                 prefix: str = "_j") -> "Program":
        r"""The program extended by the exact Jacobian of its outputs (forward mode).

        Outputs ``J`` flattened row-major, ``J[i, j] = d out_i / d wrt_j``. The local
        partial derivatives of each step are taken once and shared by every direction.

        Examples
        --------
        >>> x, y = sp.symbols("x y")
        >>> prog = Program.from_steps((x, y), [("u", x * y)]).with_outputs([sp.Symbol("u"), x])
        >>> prog.jacobian((x, y)).explicit()
        [y, x, 1, 0]
        """
        wrt = tuple(wrt)
        outs = self.outputs if outputs is None else tuple(sp.sympify(o) for o in outputs)
        needed = self._needed(outs)
        rewrite = self._aliaser()
        active = set(wrt)
        partials = {}          # local partial derivatives, shared by every direction
        for s, e in self.steps:
            if s in needed and e.free_symbols & active:
                partials[s] = [(a, rewrite(partial(e, a))) for a in e.free_symbols & active]
                active.add(s)
        out_partials = [[(a, rewrite(partial(o, a))) for a in o.free_symbols & active]
                        for o in outs]
        new_steps, columns = [], []
        for k, t in enumerate(wrt):
            dot = {t: sp.S.One}
            for n, (s, _) in enumerate(self.steps):
                if s not in partials:
                    continue
                tan = sp.Add(*[p * dot[a] for a, p in partials[s] if a in dot])
                if tan == 0:
                    continue
                if tan.is_Atom:
                    dot[s] = tan
                else:
                    sym = sp.Symbol(f"{prefix}{k}_{n}")
                    new_steps.append((sym, tan))
                    dot[s] = sym
            columns.append([sp.Add(*[p * dot[a] for a, p in op if a in dot])
                            for op in out_partials])
        entries = [columns[j][i] for i in range(len(outs)) for j in range(len(wrt))]
        return self.extend(new_steps, entries).pruned()

    def inline(self, other: "Program", inputs: Mapping, prefix: str):
        """Append a renamed copy of ``other`` with its inputs replaced by expressions.

        ``inputs`` maps each input symbol of ``other`` to an expression of this
        program (e.g. a shifted parameter ``theta_2 + eta * g_2``); inputs not
        mapped stay as they are. Returns the extended program and ``other``'s
        outputs expressed in it. Differentiating through the result is the total
        derivative (e.g. exact LOLA's gradient through the opponent's step).
        """
        fresh = self._fresh(prefix)
        ren = {k: sp.sympify(v) for k, v in inputs.items()}
        new = []
        for s, e in other.steps:
            sym = next(fresh)
            new.append((sym, e.xreplace(ren)))
            ren[s] = sym
        outs = [sp.sympify(o).xreplace(ren) for o in other.outputs]
        extra = tuple(i for i in other.inputs if i not in inputs and i not in self.inputs)
        return Program(self.inputs + extra, self.steps + tuple(new), self.outputs), outs

    # --------------------------------------------------------------- editing
    def substitute(self, mapping: Mapping) -> "Program":
        """Replace input symbols by expressions of earlier-defined symbols.

        Used for stop-gradient placeholders: differentiate with a placeholder
        vector, then substitute the actual (held fixed) vector.
        """
        mapping = dict(mapping)
        steps = tuple((s, e.xreplace(mapping)) for s, e in self.steps)
        outs = tuple(o.xreplace(mapping) for o in self.outputs)
        inputs = tuple(i for i in self.inputs if i not in mapping)
        return Program(inputs, steps, outs)

    def reorder(self) -> "Program":
        """Topologically re-sort the steps (stable), e.g. after :meth:`substitute`."""
        known = set(self.inputs)
        pending = list(self.steps)
        ordered = []
        while pending:
            rest = []
            for s, e in pending:
                if e.free_symbols <= known:
                    ordered.append((s, e))
                    known.add(s)
                else:
                    rest.append((s, e))
            if len(rest) == len(pending):
                missing = set().union(*(e.free_symbols for _, e in rest)) - known
                raise ValueError(f"program has undefined or cyclic symbols: {sorted(map(str, missing))[:5]}")
            pending = rest
        return Program(self.inputs, tuple(ordered), self.outputs)

    # ------------------------------------------------------------ evaluation
    def explicit(self, exprs: Sequence[sp.Expr] | None = None) -> list:
        """Substitute every step symbol: the outputs as explicit expressions.

        The result can be very large for the derived learning rules; it is
        meant for inspection of small programs and for exact checks.
        """
        exprs = self.outputs if exprs is None else tuple(exprs)
        needed = self._needed(exprs)
        value: dict = {}
        for s, e in self.steps:
            if s in needed:
                value[s] = e.xreplace(value)
        return [sp.sympify(x).xreplace(value) for x in exprs]

    def evaluate_exact(self, values: Mapping, exprs: Sequence[sp.Expr] | None = None,
                       accept=None) -> list | None:
        """Evaluate exactly, step by step, keeping inputs without a value symbolic.

        Each step is expanded as a polynomial in the remaining symbols (and
        cancelled when it is a rational function of them), so quantities that stay
        small step by step never build the huge tree :meth:`explicit` would.
        ``accept(value)`` may reject a step's value (e.g. a non-polynomial one):
        the evaluation then stops and returns ``None``. ``values`` may also give
        intermediate step symbols (e.g. policy probabilities), which are kept.

        Examples
        --------
        >>> x, y = sp.symbols("x y")
        >>> prog = Program.from_steps((x, y), [("u", (x + y) ** 2)])
        >>> prog.with_outputs([sp.Symbol("u") - y ** 2]).evaluate_exact({x: 2})
        [4*y + 4]
        """
        exprs = self.outputs if exprs is None else tuple(exprs)
        env = {k: sp.sympify(v) for k, v in values.items()}
        needed = self._needed(exprs)

        def tidy(v):
            if v.free_symbols:
                v = sp.expand(v)
                if any(p.exp.is_negative and p.base.free_symbols for p in v.atoms(sp.Pow)):
                    v = sp.cancel(sp.together(v))
            if accept is not None and not accept(v):
                raise _Rejected
            return v
        try:
            for s, e in self.steps:
                if s in needed and s not in env:    # given intermediate values are kept
                    env[s] = tidy(e.xreplace(env))
            return [tidy(sp.sympify(x).xreplace(env)) for x in exprs]
        except _Rejected:
            return None

    def evaluate(self, values: Mapping, exprs: Sequence[sp.Expr] | None = None,
                 dps: int = 50) -> list:
        """Evaluate at a point, step by step, with ``dps`` significant digits.

        ``values`` maps every input symbol to a number (exact rationals stay
        exact as long as no sigmoid step is reached); it may also give the
        value of intermediate step symbols, which are then not recomputed
        (e.g. rational policy probabilities in place of the sigmoid steps).
        Returns sympy numbers.
        """
        exprs = self.outputs if exprs is None else tuple(exprs)
        env = {k: sp.sympify(v) for k, v in values.items()}
        needed = self._needed(exprs)
        for s, e in self.steps:
            if s in needed and s not in env:   # given intermediate values are kept
                v = e.xreplace(env)
                if not v.is_Rational:
                    v = v.evalf(dps)
                env[s] = v
        out = []
        for x in exprs:
            v = sp.sympify(x).xreplace(env)
            out.append(v if v.is_Rational else v.evalf(dps))
        return out
