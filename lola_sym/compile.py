r"""Compilation of exact programs into numeric functions: the one place it happens.

A :class:`~lola_sym.program.Program` is turned into Python/numpy code by
``sympy.lambdify`` with common-subexpression elimination over the whole
program. Arguments are the parameter vectors of the agents (split into
columns) followed by scalar hyper-parameters; results are grouped back into
arrays of shape ``(..., d_i)``.

References
----------
.. [1] SymPy documentation, ``sympy.utilities.lambdify.lambdify`` and
   ``sympy.simplify.cse_main.cse``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import sympy as sp
from scipy.special import expit

from lola_sym.program import Program

__all__ = ["compile_field", "CompiledProgram", "BACKENDS"]

#: Backends accepted by :func:`compile_field`.
BACKENDS = ("numpy",)


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
    """Joint CSE of all step expressions and outputs, merged in dependency order."""
    exprs = [e for _, e in steps] + list(outs)
    repl, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("c"), order="none")
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


@dataclass(frozen=True)
class CompiledProgram:
    """A compiled program: call with one array per agent plus scalar hyper-parameters.

    Attributes
    ----------
    dims : tuple of int
        Parameter count of each agent (``theta_i`` has shape ``(..., dims[i])``).
    n_out : tuple of int
        Sizes of the output groups.
    hyper : tuple of sympy.Symbol
        Symbols of the scalar hyper-parameters, in call order.
    n_ops : int
        Operation count after common-subexpression elimination.
    source : str
        The generated Python source.
    """

    raw: Callable
    dims: tuple
    n_out: tuple
    hyper: tuple
    stack: bool
    n_ops: int
    source: str
    backend: str = "numpy"

    def __call__(self, *arrays_and_hyper):
        k = len(self.dims)
        arrays, hyper = arrays_and_hyper[:k], arrays_and_hyper[k:]
        cols = []
        for a, d in zip(arrays, self.dims):
            cols.extend(a[..., i] for i in range(d))
        shape = np.broadcast_shapes(*(a.shape[:-1] for a in arrays))
        outs = self.raw(*cols, *hyper)
        outs = [np.broadcast_to(np.asarray(o, dtype=np.float64), shape) for o in outs]
        groups, i = [], 0
        for n in self.n_out:
            groups.append(np.stack(outs[i:i + n], axis=-1))
            i += n
        if self.stack:
            return np.concatenate(groups, axis=-1)
        return tuple(groups)


def compile_field(prog: Program, params: Sequence[Sequence[sp.Symbol]],
                  hyper: Sequence[sp.Symbol] = (), *, n_out: Sequence[int],
                  stack: bool = False, backend: str = "numpy") -> CompiledProgram:
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
        Concatenate the groups into one array instead of returning a tuple.
    backend : {"numpy"}
        Code generator.

    Examples
    --------
    >>> import numpy as np, sympy as sp
    >>> x, y = sp.Symbol("x"), sp.Symbol("y")
    >>> prog = Program.from_steps((x, y), [("u", x * y)]).with_outputs([sp.Symbol("u") + 1, x])
    >>> f = compile_field(prog, [(x,), (y,)], n_out=(2,))
    >>> f(np.array([2.0]), np.array([3.0]))[0]
    array([7., 2.])
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
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
    steps, outs, safe_args = _safe_program(prog, args)
    ordered, outs = _cse_program(steps, outs)
    n_ops = int(sum(sp.count_ops(e) for _, e in ordered) + sum(sp.count_ops(o) for o in outs))
    raw = sp.lambdify(safe_args, list(outs), modules=[{"sigmoid": expit}, "numpy"],
                      cse=lambda _exprs: (ordered, list(outs)), docstring_limit=0)
    source = inspect.getsource(raw)
    return CompiledProgram(raw, tuple(len(p) for p in params), tuple(n_out), hyper,
                           stack, n_ops, source, backend)
