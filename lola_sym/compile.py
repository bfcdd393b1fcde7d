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

import hashlib
import inspect
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import sympy as sp
from scipy.special import expit

from lola_sym.program import Program, sigmoid, softmax, softmax_numpy

__all__ = ["compile_field", "CompiledProgram", "BoundProgram", "BACKENDS", "to_double",
           "check_constants"]

#: Backends accepted by :func:`compile_field`: ``"c"`` (C from the system
#: compiler, OpenMP over the batch), ``"llvm"`` (symengine's LLVM ``Lambdify``)
#: and ``"numpy"`` (``sympy.lambdify``, the portable fallback).
BACKENDS = ("c", "llvm", "numpy")
#: symengine's CSE does not finish on very deep programs (measured: HOLA-2 on the
#: IPD, 1411 steps, > 5 min); the llvm backend refuses programs beyond this.
LLVM_MAX_STEPS = 1200


#: Bytes of temporaries that one vectorised evaluation may hold: numpy-evaluated
#: programs make one array per operation, so large batches run in chunks of
#: :func:`chunk_rows` rows (measured: LOLA on the IPD holds about 3.9 KB per pair
#: unchunked, so 10 M pairs needed 39 GB).
CHUNK_BYTES = 64 * 2 ** 20


def chunk_rows(n_ops: int) -> int:
    """Rows per chunk that keep a program of ``n_ops`` operations within :data:`CHUNK_BYTES`.

    Examples
    --------
    >>> chunk_rows(500)
    16777
    """
    return max(256, CHUNK_BYTES // (8 * max(int(n_ops), 1)))


def default_backend() -> str:
    """``"c"`` with a C compiler, else ``"llvm"`` with symengine, else ``"numpy"``."""
    from lola_sym import cbackend
    if cbackend.available():
        return "c"
    return "llvm" if _llvm_available() else "numpy"


def _llvm_available() -> bool:
    try:
        import symengine
        from symengine.lib.symengine_wrapper import llvm_loading_func  # noqa: F401
    except ImportError:
        return False
    return bool(getattr(symengine, "have_llvm", True))


def to_double(x) -> float:
    r"""The correctly rounded double of an exact sympy number, or a ``ValueError``.

    Every constant that a backend emits goes through this function, so that it
    round-trips: the emitted literal parses back to exactly this double. A
    constant whose magnitude overflows double precision, or a non-zero one that
    underflows to zero, is refused instead of becoming ``inf`` or ``0``.

    Examples
    --------
    >>> to_double(sp.Integer(10) ** 20)
    1e+20
    >>> to_double(sp.Rational(10**30 + 1, 3)) == (10**30 + 1) / 3
    True
    >>> to_double(sp.Integer(10) ** 400)
    Traceback (most recent call last):
    ...
    ValueError: the constant 1.0E+400 is beyond double precision (|x| > 1.8e308); rescale the payoffs or hyper-parameters
    """
    x = sp.sympify(x)
    if x.is_Rational:
        p, q = int(x.p), int(x.q)
        try:
            v = p / q                       # Python's int division is correctly rounded
        except OverflowError:
            v = float("inf")
    elif x.is_number and x.is_real is not False:
        v = float(sp.Float(x, 30)) if x.is_Float is False else float(x)
    else:
        raise ValueError(f"the constant {x} is not a real number")
    if not np.isfinite(v):
        raise ValueError(f"the constant {sp.Float(x, 2)} is beyond double precision "
                         f"(|x| > 1.8e308); rescale the payoffs or hyper-parameters")
    if v == 0.0 and x != 0:
        raise ValueError(f"the constant {sp.Float(x, 2)} underflows to zero in double precision "
                         f"(|x| < 4.9e-324); rescale the payoffs or hyper-parameters")
    return v


def check_constants(exprs) -> None:
    """Raise a ``ValueError`` if a numeric constant in ``exprs`` has no finite double (see :func:`to_double`)."""
    seen = set()
    for e in exprs:
        for a in sp.sympify(e).atoms(sp.Number, sp.NumberSymbol):
            if a not in seen:
                seen.add(a)
                to_double(a)


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


@dataclass(frozen=True, eq=False)
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
        Operation count after common-subexpression elimination (sympy's count).
    backend : str
        ``"llvm"`` or ``"numpy"``.
    source : str
        The generated Python source (numpy backend; empty for llvm).
    """

    raw: Callable
    dims: tuple
    n_out: tuple
    hyper: tuple
    stack: bool
    n_ops: int
    source: str
    backend: str = "numpy"

    def __post_init__(self):
        cuts = np.cumsum(self.n_out)[:-1]
        object.__setattr__(self, "_slices", tuple(
            slice(a, b) for a, b in zip((0, *cuts), (*cuts, sum(self.n_out)))))

    def _group(self, out):
        if self.stack:
            return out
        if out.ndim == 1:
            return tuple(out[s] for s in self._slices)
        groups, i = [], 0
        for n in self.n_out:
            groups.append(out[..., i:i + n])
            i += n
        return out if self.stack else tuple(groups)

    def __call__(self, *arrays_and_hyper):
        k = len(self.dims)
        arrays, hyper = arrays_and_hyper[:k], arrays_and_hyper[k:]
        if self.backend in ("llvm", "c"):
            return self._call_native(arrays, hyper)
        shape = np.broadcast_shapes(*(a.shape[:-1] for a in arrays))
        rows = chunk_rows(self.n_ops)
        n = int(np.prod(shape))
        if n <= rows:
            return self._group(self._eval_numpy(arrays, hyper, shape))
        flat = [np.broadcast_to(a, shape + (d,)).reshape(n, d) for a, d in zip(arrays, self.dims)]
        out = np.empty((n, sum(self.n_out)))
        for lo in range(0, n, rows):
            hi = min(lo + rows, n)
            out[lo:hi] = self._eval_numpy([a[lo:hi] for a in flat], hyper, (hi - lo,))
        return self._group(out.reshape(shape + (sum(self.n_out),)))

    def _eval_numpy(self, arrays, hyper, shape):
        cols = []
        for a, d in zip(arrays, self.dims):
            cols.extend(a[..., i] for i in range(d))
        outs = self.raw(*cols, *hyper)
        outs = [np.broadcast_to(np.asarray(o, dtype=np.float64), shape) for o in outs]
        return np.stack(outs, axis=-1)

    def to_payload(self) -> dict:
        """A JSON-able description for the disk cache (llvm and c backends)."""
        meta = {"dims": list(self.dims), "n_out": list(self.n_out), "backend": self.backend,
                "hyper": [str(h) for h in self.hyper], "stack": self.stack, "n_ops": self.n_ops}
        if self.backend == "c":
            data = self.raw.path.read_bytes()
            return {**meta, "lib": self.raw.path.name, "sha256": hashlib.sha256(data).hexdigest()}
        if self.backend != "llvm":
            raise ValueError("numpy-compiled programs are not cached")
        func, args = self.raw.__reduce__()
        args = list(args)
        dtype = args[7]
        args[7] = np.dtype(dtype).name
        return {**meta, "reduce": [list(a) if isinstance(a, tuple) else a for a in args]}

    @classmethod
    def from_payload(cls, payload: dict, hyper: tuple, lib_dir=None) -> "CompiledProgram":
        """Rebuild from :meth:`to_payload` output (already integrity-checked).

        For the c backend the library file in ``lib_dir`` must hash to the
        recorded SHA-256 before it is loaded.
        """
        if [str(h) for h in hyper] != payload["hyper"]:
            raise ValueError("cached hyper-parameters differ")
        dims, n_out = tuple(payload["dims"]), tuple(payload["n_out"])
        if payload.get("backend") == "c":
            from lola_sym import cbackend
            path = Path(lib_dir) / payload["lib"]
            if path.name != payload["lib"] or not path.is_file():
                raise ValueError("cached library is missing")
            if hashlib.sha256(path.read_bytes()).hexdigest() != payload["sha256"]:
                raise ValueError("cached library does not match its recorded hash")
            raw = cbackend.load(path, sum(dims) + len(hyper), sum(n_out))
            return cls(raw, dims, n_out, tuple(hyper), bool(payload["stack"]),
                       int(payload["n_ops"]), "", "c")
        from symengine.lib.symengine_wrapper import llvm_loading_func
        args = list(payload["reduce"])
        if len(args) != 9 or not isinstance(args[8], bytes) or args[7] != "float64":
            raise ValueError("unexpected cached function layout")
        args[2] = [tuple(s) for s in args[2]]
        args[7] = np.float64
        raw = llvm_loading_func(*args)
        return cls(raw, dims, n_out, tuple(hyper), bool(payload["stack"]),
                   int(payload["n_ops"]), "", "llvm")

    def point(self, *parts):
        """Fast path for one point: 1-d float64 arrays, one per group, then the hyper-parameters.

        Returns ``None`` when an input is not finite (the caller then reports
        which), so that the check costs one dot product instead of two
        ``isfinite`` passes.
        """
        x = np.concatenate(parts)
        if not np.isfinite(x).all():            # (x @ 0 warned on inf before the error)
            return None
        if self.backend == "llvm":
            out = np.empty(sum(self.n_out))
            self.raw.unsafe_real(x, out)
        elif self.backend == "c":
            out = self.raw.point(x)
        else:
            k = len(self.dims)
            return self(*parts[:k], *parts[k])
        return self._group(out)

    def bind(self, values) -> "BoundProgram":
        """This program with its last argument group fixed to ``values`` (a family's numbers)."""
        return BoundProgram(self, np.asarray(values, dtype=float))

    def _call_native(self, arrays, hyper):
        n_in = sum(self.dims)
        n_args = n_in + len(hyper)
        shape = np.broadcast_shapes(*(a.shape[:-1] for a in arrays))
        x = np.empty(shape + (n_args,))
        i = 0
        for a, d in zip(arrays, self.dims):
            x[..., i:i + d] = a
            i += d
        x[..., n_in:] = hyper
        x2 = x.reshape(-1, n_args)
        if x2.shape[0] == 0:                    # symengine's Lambdify refuses empty batches
            out = np.empty((0, sum(self.n_out)))
        elif self.backend == "llvm":
            out = self.raw(x2)
        else:
            out = np.empty((x2.shape[0], sum(self.n_out)))
            self.raw(x2, out)
        return self._group(out.reshape(shape + (sum(self.n_out),)))


@dataclass(frozen=True, eq=False)
class BoundProgram:
    """A :class:`CompiledProgram` of a game family with the family's symbols bound to numbers.

    A numeric game whose shape matches a compiled family (e.g. any 2x2 memory-1
    game) runs the family's code with its payoffs and discount passed as
    arguments, so that 10,000 games of one shape compile once. Same call
    interface as :class:`CompiledProgram`, without the bound group.
    """

    inner: CompiledProgram
    values: np.ndarray

    @property
    def dims(self) -> tuple:
        return self.inner.dims[:-1]

    def __getattr__(self, name):                # n_out, hyper, n_ops, backend, source, stack
        if name in ("inner", "values"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __call__(self, *arrays_and_hyper):
        k = len(self.dims)
        arrays, hyper = arrays_and_hyper[:k], arrays_and_hyper[k:]
        return self.inner(*arrays, self.values, *hyper)

    def point(self, *parts):
        k = len(self.dims)
        return self.inner.point(*parts[:k], self.values, *parts[k:])


def _private_lib_dir() -> Path:
    """Where the c backend writes libraries outside the disk cache: inside this process's
    private temporary directory (:func:`lola_sym.cache.private_dir`), removed at exit."""
    from lola_sym import cache
    path = cache.private_dir() / "lib"
    path.mkdir(exist_ok=True)
    return path


def _to_symengine(prog: Program, args):
    """The program's outputs as symengine expressions (a DAG sharing every step).

    The sigmoid steps become ``1 / (1 + exp(-theta))`` and ``1 / (1 + exp(theta))``:
    both accurate to full relative precision when the logit saturates, and
    without overflow (``exp`` of a large logit is ``inf``, giving exactly 0).
    Measured: two exponentials are faster than ``pbar = exp(-theta) * p``
    (1.8 M vs 1.45 M LOLA pairs/s on the IPD).
    """
    import symengine as se

    env = {a: se.Symbol(f"a{i}") for i, a in enumerate(args)}
    sig = {}

    def sigmoid_of(x):
        if x in sig:
            return sig[x][0]
        if -x in sig:
            return sig[-x][1]
        p, pbar = 1 / (1 + se.exp(-x)), 1 / (1 + se.exp(x))
        sig[x] = (p, pbar)
        return p

    def conv(e):
        if e.is_Symbol:
            return env[e]
        if e.is_Integer and abs(int(e)) <= 2 ** 53:    # exact in double: keep integer powers
            return se.Integer(int(e))
        if e.is_Number or e.is_NumberSymbol:
            return se.RealDouble(to_double(e))          # correctly rounded, unlike p/q in LLVM
        if isinstance(e, sigmoid):
            return sigmoid_of(conv(e.args[0]))
        if isinstance(e, softmax):
            a, x = int(e.args[0]), [conv(v) for v in e.args[1:]] + [se.Integer(0)]
            return 1 / se.Add(*[se.Integer(1)] + [se.exp(v - x[a]) for b, v in enumerate(x)
                                                   if b != a])
        parts = [conv(a) for a in e.args]
        if e.is_Add:
            return se.Add(*parts)
        if e.is_Mul:
            return se.Mul(*parts)
        if e.is_Pow:
            return se.Pow(*parts)
        if isinstance(e, sp.exp):
            return se.exp(*parts)
        if isinstance(e, sp.log):
            return se.log(*parts)
        raise TypeError(f"cannot compile {type(e).__name__} with the llvm backend")

    for s, e in prog.steps:
        env[s] = conv(e)
    return [env[a] for a in args], [conv(sp.sympify(o)) for o in prog.outputs]


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
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if backend == "llvm" and len(prog.pruned().steps) > LLVM_MAX_STEPS:
        raise ValueError(f"program of {len(prog.pruned().steps)} steps is too deep for the llvm "
                         f"backend (symengine's CSE does not finish); use backend='c' or 'numpy'")
    if backend == "llvm" and not _llvm_available():
        raise ValueError("backend 'llvm' needs symengine with LLVM support "
                         "(pip install symengine); use backend='numpy'")
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
    n_ops = int(sum(sp.count_ops(e) for _, e in ordered) + sum(sp.count_ops(o) for o in outs))
    dims = tuple(len(p) for p in params)
    if backend == "llvm":
        import symengine as se
        se_args, se_outs = _to_symengine(prog, args)
        raw = se.Lambdify(se_args, se_outs, backend="llvm", cse=True, real=True, opt_level=3)
        return CompiledProgram(raw, dims, tuple(n_out), hyper, stack, n_ops, "", backend)
    if backend == "c":
        from lola_sym import cbackend
        source = cbackend.c_source(ordered, outs, safe_args)
        path = cbackend.build(source, Path(lib_dir) if lib_dir else _private_lib_dir())
        raw = cbackend.load(path, len(args), sum(n_out))
        return CompiledProgram(raw, dims, tuple(n_out), hyper, stack, n_ops, source, backend)
    raw = sp.lambdify(safe_args, list(outs), modules=[{"sigmoid": expit, "softmax": softmax_numpy}, "numpy"],
                      cse=lambda _exprs: (ordered, list(outs)), docstring_limit=0)
    source = inspect.getsource(raw)
    return CompiledProgram(raw, dims, tuple(n_out), hyper, stack, n_ops, source, backend)
