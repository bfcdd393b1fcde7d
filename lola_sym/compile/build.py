r"""Compilation of exact programs into numeric functions: the one place it happens.

:func:`compile_field` prunes a :class:`~lola_sym.program.Program`, checks its
constants, renames its symbols to plain identifiers, eliminates common
subexpressions over the whole program and hands the result to a backend
(:mod:`lola_sym.compile.backends`). Arguments are the argument groups (each
player's parameters, a family's symbols) split into columns, then scalar
hyper-parameters; results are grouped back into arrays of shape ``(..., n_i)``.

References
----------
.. [1] SymPy documentation, ``sympy.utilities.lambdify.lambdify`` and
   ``sympy.simplify.cse_main.cse``.
"""

from __future__ import annotations

from typing import Sequence

import sympy as sp
from sympy.simplify.cse_main import tree_cse

from lola_sym.compile.backends import BACKENDS, backend_module
from lola_sym.compile.compiled import CompiledProgram
from lola_sym.compile.constants import check_constants
from lola_sym.program import Program

__all__ = ["compile_field", "default_backend"]


def default_backend() -> str:
    """``"c"`` with a C compiler, else ``"llvm"`` with symengine, else ``"numpy"``.

    Examples
    --------
    >>> from lola_sym.compile import backend_c, backend_llvm
    >>> expected = ("c" if backend_c.available() else
    ...             "llvm" if backend_llvm.available() else "numpy")
    >>> default_backend() == expected
    True
    """
    for name in BACKENDS:
        if backend_module(name).available():
            return name
    return "numpy"


def _safe_program(prog: Program, args: Sequence[sp.Symbol]):
    """Rename every symbol to a plain identifier and inline trivial steps."""
    ren = {s: sp.Symbol(f"a{i}") for i, s in enumerate(args)}
    steps = []
    for i, (s, e) in enumerate(prog.steps):
        e = e.xreplace(ren)
        if e.is_Atom:                       # copies and constants: inline
            ren[s] = e
        else:
            new = sp.Symbol(f"s{i}")
            ren[s] = new
            steps.append((new, e))
    outs = [sp.sympify(o).xreplace(ren) for o in prog.outputs]
    return steps, outs, [ren[a] for a in args]


def _cse_program(steps, outs):
    """Joint CSE of all step expressions and outputs, merged in dependency order.

    Repeated subtrees only (sympy's ``tree_cse``): the search for common
    sub-sums and sub-products that ``sympy.cse`` adds (``opt_cse``) took 60 % of
    the CSE time of large fields and gave slower C (RPS LOLA: CSE 12.9 s -> 3.3 s,
    gcc 23 s -> 9 s, 36k -> 108k points/s on a loaded machine).
    """
    exprs = [e for _, e in steps] + list(outs)
    taken = set().union(*(e.free_symbols for e in exprs)) if exprs else set()
    names = (c for c in sp.numbered_symbols("c") if c not in taken)
    repl, reduced = tree_cse(exprs, names, opt_subs={}, order="none")
    merged = list(repl) + [(s, r) for (s, _), r in zip(steps, reduced[: len(steps)])]
    outs = reduced[len(steps):]
    # stable topological order: a step runs once the symbols it uses exist
    defined = {s for s, _ in merged}
    ordered, done, pending = [], set(), merged
    while pending:
        rest = []
        for s, e in pending:
            if all(u in done or u not in defined for u in e.free_symbols):
                ordered.append((s, e))
                done.add(s)
            else:
                rest.append((s, e))
        assert len(rest) < len(pending), "cyclic program"
        pending = rest
    return ordered, outs


def operation_count(exprs) -> int:
    """Arithmetic operations in ``exprs`` as trees: ``n - 1`` per sum or product of ``n``
    terms, one per power or function call.

    A cheap stand-in for :func:`sympy.count_ops` (which took 15 % of a cold
    compile) used to size batches and reported by ``UpdateField.size``.

    Examples
    --------
    >>> x, y = sp.symbols("x y")
    >>> operation_count([x * y + x ** 2 + 1, sp.exp(x)])
    5
    """
    n, stack = 0, list(exprs)
    while stack:
        e = stack.pop()
        if e.is_Atom:
            continue
        n += len(e.args) - 1 if (e.is_Add or e.is_Mul) else 1
        stack.extend(e.args)
    return n


def compile_field(prog: Program, params: Sequence[Sequence[sp.Symbol]],
                  hyper: Sequence[sp.Symbol] = (), *, n_out: Sequence[int],
                  stack: bool = False, backend: str | None = None,
                  lib_dir=None) -> CompiledProgram:
    r"""Compile ``prog`` into a :class:`CompiledProgram`.

    Parameters
    ----------
    prog : Program
        Outputs are flattened groups of sizes ``n_out``.
    params : sequence of symbol tuples
        Each agent's parameter symbols, in order.
    hyper : sequence of sympy.Symbol
        Scalar hyper-parameters passed after the arrays.
    n_out : sequence of int
        Output group sizes; ``sum(n_out) == len(prog.outputs)``.
    stack : bool
        Return one array of all outputs instead of a tuple of groups.
    backend : {"c", "llvm", "numpy"}, optional
        Code generator; default :func:`default_backend`.
    lib_dir : path, optional
        Where the c backend puts its shared library (default: a private
        temporary directory of this process, removed at exit).

    Examples
    --------
    >>> import numpy as np, sympy as sp
    >>> x, y = sp.Symbol("x"), sp.Symbol("y")
    >>> prog = Program.from_steps((x, y), [("u", x * y)]).with_outputs([sp.Symbol("u") + 1, x])
    >>> f = compile_field(prog, [(x,), (y,)], n_out=(2,), backend="numpy")
    >>> f(np.array([2.0]), np.array([3.0]))[0]
    array([7., 2.])
    """
    backend = default_backend() if backend is None else backend
    module = backend_module(backend)
    params = [tuple(p) for p in params]
    hyper = tuple(hyper)
    if sum(n_out) != len(prog.outputs):
        raise ValueError(f"n_out {tuple(n_out)} does not match {len(prog.outputs)} outputs")
    args = [s for p in params for s in p] + list(hyper)
    used = set().union(*(e.free_symbols for _, e in prog.steps), *(sp.sympify(o).free_symbols
                                                                     for o in prog.outputs))
    missing = (used | set(prog.inputs)) - set(args) - set(prog.symbols)
    if missing:
        raise ValueError(f"program inputs without a value: {sorted(map(str, missing))}")
    prog = prog.pruned()
    check_constants([e for _, e in prog.steps] + list(prog.outputs))
    steps, outs, safe_args = _safe_program(prog, args)
    ordered, outs = _cse_program(steps, outs)
    n_ops = operation_count([e for _, e in ordered] + list(outs))
    raw, source = module.build(ordered, outs, safe_args, prog, args, sum(n_out), lib_dir)
    return CompiledProgram(raw, tuple(len(p) for p in params), tuple(n_out), hyper, stack,
                           n_ops, source, backend)
