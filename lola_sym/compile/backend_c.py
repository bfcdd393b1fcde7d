r"""The ``"c"`` backend: a straight-line program as C, built with the system compiler.

The common-subexpression-eliminated program becomes one C function that loops
over a batch of parameter points (OpenMP across cores for large batches, the
GIL released through ``ctypes``). Code size is linear in the program, so deep
derivations (HOLA-n, LOLA-2) compile as easily as the naive gradient; every
point is computed independently, so results do not depend on the thread count.

Batches are split over OpenMP threads in chunks of 64 points handed out
dynamically: on a shared machine a busy core then simply takes fewer chunks
(measured, LOLA on the IPD with one core busy: 4.2 M pairs/s dynamic vs 1.5 M
static; idle: 4.5 M vs 4.1 M).

The compiler is ``$CC`` or ``cc``/``gcc``; flags ``-O2 -march=native -fopenmp``
(without OpenMP when the compiler lacks it). Built libraries are stored in the
disk cache (:mod:`lola_sym.compile.cache`) and verified by hash before loading.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import sympy as sp
from sympy.printing.c import C99CodePrinter

from lola_sym.compile.constants import to_double

__all__ = ["NAME", "available", "build", "call", "point", "to_payload", "from_payload",
           "c_source", "build_library", "load", "CFunction", "THREADS_MIN_BATCH"]

NAME = "c"
CHUNKED = False

#: batches smaller than this run on one thread (thread start-up costs more)
THREADS_MIN_BATCH = 512


class _Printer(C99CodePrinter):
    """C99 printer whose numeric constants are double literals that round-trip exactly.

    sympy prints an ``Integer`` as a C integer literal, which C truncates beyond
    64 bits (``10**20`` became ``1.94e19``), and a ``Rational`` as a quotient of
    two such literals. Here every number is printed once, as the shortest
    decimal of its correctly rounded double (:func:`lola_sym.compile.to_double`,
    which raises for a constant that overflows or underflows).
    """

    def __init__(self, settings=None):
        # terms in the order the program holds them: sorting them (the default)
        # took 60 % of printing a large field
        super().__init__({"order": "none", **(settings or {})})

    def _print_number(self, expr):
        text = repr(to_double(expr))
        return f"({text})" if text.startswith("-") else text

    _print_Integer = _print_Rational = _print_Float = _print_number

    def _print_sigmoid(self, expr):
        return f"(1.0/(1.0 + exp(-({self._print(expr.args[0])}))))"

    def _print_softmax(self, expr):
        # exp(x_a - m) / sum_b exp(x_b - m), m = max_b x_b: the same exp calls for every
        # action of a state, which the compiler shares (-fno-math-errno makes exp pure)
        a, x = int(expr.args[0]), [self._print(v) for v in expr.args[1:]] + ["0.0"]
        m = "0.0"
        for v in x[:-1]:
            m = f"fmax({v}, {m})"
        terms = [f"exp(({v}) - {m})" for v in x]
        return f"({terms[a]}/({' + '.join(terms)}))"

    def _print_Pow(self, expr):
        b, e = expr.base, expr.exp
        if e.is_Integer and 1 <= abs(int(e)) <= 4:
            base = self.parenthesize(b, 100)
            prod = "*".join([base] * abs(int(e)))
            return f"({prod})" if e > 0 else f"(1.0/({prod}))"
        return super()._print_Pow(expr)


@lru_cache(maxsize=None)
def _compiler():
    cands = [os.environ.get("CC"), "cc", "gcc", "clang"]
    for c in cands:
        if c and shutil.which(c):
            return c
    return None


@lru_cache(maxsize=None)
def _openmp_flags() -> tuple:
    cc = _compiler()
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "t.c"
        src.write_text("#include <omp.h>\nint f(void){return omp_get_max_threads();}\n")
        ok = subprocess.run([cc, "-fopenmp", "-shared", "-fPIC", str(src), "-o", str(Path(d) / "t.so")],
                            capture_output=True).returncode == 0
    return ("-fopenmp",) if ok else ()


def available() -> bool:
    """Whether a C compiler is on the PATH.

    The compiler is ``$CC`` if set and found, else the first of ``cc``, ``gcc``,
    ``clang`` found.

    Examples
    --------
    >>> import os
    >>> found = [c for c in (os.environ.get("CC"), "cc", "gcc", "clang") if c and shutil.which(c)]
    >>> available() == bool(found)
    True
    """
    return _compiler() is not None


#: Programs longer than this many statements are split into static functions
#: (blocks) of ``BLOCK_STATEMENTS`` each, which pass the values later blocks
#: need through a small stack array. gcc's optimiser is super-linear in the size
#: of one function: the 2,568-statement LOLA field of iterated RPS took 46 s at
#: -O2 as one function and 9-12 s in blocks of 150-300, and ran as fast. Below
#: the threshold one function is kept: blocked, IPD exact LOLA (650 statements)
#: ran 11 % slower.
BLOCK_ABOVE = 1500
BLOCK_STATEMENTS = 200

#: Above this many statements even the blocked program is built at -O0 (compile
#: time grows about linearly once blocked; this only guards absurd sizes).
OPTIMISE_MAX_STATEMENTS = 40000


def _header(name: str, n_args: int, n_out: int) -> list:
    return [f"void {name}(const double *restrict X, double *restrict Y, long n, int nthreads)",
            "{",
            "#ifdef _OPENMP",
            "    #pragma omp parallel for schedule(dynamic, 64) num_threads(nthreads) "
            "if(nthreads > 1)",
            "#endif",
            "    for (long i = 0; i < n; ++i) {",
            f"        const double *x = X + i * {n_args};",
            f"        double *y = Y + i * {n_out};"]


def c_source(ordered, outs, args, name: str = "lola_eval") -> str:
    """C source of ``ordered`` steps (symbol, expression) and outputs over ``args``.

    One loop body of ``const double`` statements; above ``BLOCK_ABOVE``
    statements the body is split into blocks (see ``BLOCK_STATEMENTS``).

    Examples
    --------
    >>> x, y, s = sp.symbols("a0 a1 s0")
    >>> print(c_source([(s, x * y)], [s + 1], [x, y]).splitlines()[-3])
            y[0] = 1.0 + s0;
    """
    if len(ordered) > BLOCK_ABOVE:
        return _blocked_source(ordered, outs, args, name)
    pr = _Printer()
    lines = ["#include <math.h>", "", *_header(name, len(args), len(outs))]
    for k, a in enumerate(args):
        lines.append(f"        const double {a} = x[{k}];")
    for s, e in ordered:
        lines.append(f"        const double {s} = {pr.doprint(e)};")
    for k, o in enumerate(outs):
        lines.append(f"        y[{k}] = {pr.doprint(sp.sympify(o))};")
    lines += ["    }", "}", ""]
    return "\n".join(lines)


def _blocked_source(ordered, outs, args, name: str) -> str:
    """The loop body as static block functions ``b_k(x, t)``; ``t`` holds the values
    used outside the block that defines them (each written once, by its block)."""
    pr = _Printer()
    outs = [sp.sympify(o) for o in outs]
    blocks = [ordered[i:i + BLOCK_STATEMENTS] for i in range(0, len(ordered), BLOCK_STATEMENTS)]
    home = {s: k for k, block in enumerate(blocks) for s, _ in block}
    arg_index = {a: k for k, a in enumerate(args)}
    used_in = [set().union(*(e.free_symbols for _, e in block)) for block in blocks]
    used_by_outs = set().union(*(o.free_symbols for o in outs))
    shared = sorted({u for k, used in enumerate(used_in) for u in used
                     if u in home and home[u] != k} | (used_by_outs & set(home)),
                    key=lambda u: (home[u], str(u)))
    slot = {u: i for i, u in enumerate(shared)}

    def reads(used, local):
        lines = [f"    const double {a} = x[{arg_index[a]}];"
                 for a in sorted(used & set(arg_index), key=arg_index.get)]
        lines += [f"    const double {u} = t[{slot[u]}];"
                  for u in sorted(used - local, key=lambda u: slot.get(u, -1)) if u in slot]
        return lines

    lines = ["#include <math.h>", ""]
    for k, block in enumerate(blocks):
        local = {s for s, _ in block}
        lines += [f"static void b_{k}(const double *restrict x, double *restrict t)", "{",
                  *reads(used_in[k], local)]
        for s, e in block:
            lines.append(f"    const double {s} = {pr.doprint(e)};")
            if s in slot:
                lines.append(f"    t[{slot[s]}] = {s};")
        lines += ["}", ""]
    lines += _header(name, len(args), len(outs))
    lines.append(f"        double t[{max(len(slot), 1)}];")
    lines += [f"        b_{k}(x, t);" for k in range(len(blocks))]
    lines += ["    " + line for line in reads(used_by_outs, set())]
    for k, o in enumerate(outs):
        lines.append(f"        y[{k}] = {pr.doprint(o)};")
    lines += ["    }", "}", ""]
    return "\n".join(lines)


def build_library(source: str, out_dir: Path) -> Path:
    """Compile ``source`` into a shared library in ``out_dir``; returns its path.

    Optimised with ``-O2`` unless the source has more than
    ``OPTIMISE_MAX_STATEMENTS`` statements (then ``-O0``). The library is named by the
    source's digest and written atomically, so processes building the same
    source at once all succeed. ``OSError`` if ``out_dir`` cannot be written.

    Examples
    --------
    The same source gives the same library name, however often it is built:

    >>> if not available():                              # no C compiler here
    ...     import pytest; pytest.skip("backend 'c' needs a C compiler")
    >>> a0, a1, s0 = sp.symbols("a0 a1 s0")
    >>> source = c_source([(s0, a0 * a1)], [s0 + 1], [a0, a1])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     lib = build_library(source, Path(d))
    ...     again = build_library(source, Path(d))
    ...     f = load(lib, 2, 1)
    ...     lib == again, [p.name for p in Path(d).iterdir()] == [lib.name]
    (True, True)
    >>> f.point(np.array([2.0, 3.0]))                   # 2 * 3 + 1
    array([7.])
    """
    cc = _compiler()
    if cc is None:
        raise ValueError("backend 'c' needs a C compiler (set CC or install gcc); "
                         "use backend='llvm' or 'numpy'")
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    out_dir.mkdir(parents=True, exist_ok=True)
    lib = out_dir / f"lola_{digest}.so"
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "prog.c"
        src.write_text(source)
        tmp = Path(d) / "prog.so"
        opt = "-O2" if source.count(";") <= OPTIMISE_MAX_STATEMENTS else "-O0"
        cmd = [cc, opt, "-march=native", "-fno-math-errno", "-fPIC", "-shared", *_openmp_flags(), str(src),
               "-o", str(tmp), "-lm"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"C compilation failed: {res.stderr.strip()[:500]}")
        fd, part = tempfile.mkstemp(dir=out_dir, prefix=".so-")
        os.close(fd)
        try:                                # atomic: concurrent builders of one library agree
            shutil.copyfile(tmp, part)
            os.replace(part, lib)
        finally:
            Path(part).unlink(missing_ok=True)
    return lib


class CFunction:
    """A loaded batch function ``f(X (n, n_args), Y (n, n_out))``."""

    def __init__(self, path: Path, n_args: int, n_out: int, threads: int | None = None):
        self.path = Path(path)
        self.n_args, self.n_out = n_args, n_out
        self._lib = ctypes.CDLL(str(self.path))
        fn = self._lib.lola_eval
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long, ctypes.c_int]
        fn.restype = None
        self._fn = fn
        self.threads = threads or os.cpu_count() or 1
        self._local = threading.local()
        self._omp_max: Callable[[], int] | None
        try:                                    # libgomp's limit (OMP_NUM_THREADS, threadpoolctl)
            omp_max = self._lib.omp_get_max_threads
            omp_max.restype = ctypes.c_int
            self._omp_max = omp_max
        except AttributeError:                  # built without OpenMP
            self._omp_max = None

    def point(self, x):
        """One point: ``x`` of length ``n_args`` -> new array of length ``n_out``.

        Uses per-thread preallocated buffers whose addresses are looked up once
        (``ctypes`` address look-ups cost more than the computation here).
        """
        buf = getattr(self._local, "buf", None)
        if buf is None:
            bx, by = np.empty(self.n_args), np.empty(self.n_out)
            buf = self._local.buf = (bx, by, bx.ctypes.data, by.ctypes.data)
        bx, by, px, py = buf
        bx[:] = x
        self._fn(px, py, 1, 1)
        return by.copy()

    def __call__(self, X, Y):
        """Evaluate rows of the C-contiguous float64 ``X`` into ``Y`` (same row count)."""
        n = X.shape[0]
        nt = 1
        if n >= THREADS_MIN_BATCH:
            nt = self.threads if self._omp_max is None else min(self.threads, self._omp_max())
        self._fn(X.ctypes.data, Y.ctypes.data, n, nt)


def load(path: Path, n_args: int, n_out: int) -> CFunction:
    """Load a library built by :func:`build` or :func:`build_library`.

    Examples
    --------
    >>> if not available():                              # no C compiler here
    ...     import pytest; pytest.skip("backend 'c' needs a C compiler")
    >>> a0, a1, s0 = sp.symbols("a0 a1 s0")
    >>> source = c_source([(s0, sp.exp(a0))], [s0 * a1, a1], [a0, a1])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = load(build_library(source, Path(d)), 2, 2)
    >>> f.n_args, f.n_out
    (2, 2)
    >>> y = f.point(np.array([1.0, 2.0]))               # (e * 2, 2)
    >>> bool(abs(y[0] - 2 * np.e) <= 4 * np.finfo(float).eps * 2 * np.e), y[1]
    (True, np.float64(2.0))
    """
    return CFunction(path, n_args, n_out)


def _private_lib_dir() -> Path:
    """Where libraries go outside the disk cache: this process's private temporary
    directory (:func:`lola_sym.compile.cache.private_dir`), removed at exit."""
    from lola_sym.compile import cache
    path = cache.private_dir() / "lib"
    path.mkdir(exist_ok=True)
    return path


def build(ordered, outs, args, prog, prog_args, n_out, lib_dir):
    r"""C source of the CSE'd steps, compiled into ``lib_dir`` (default: private) and loaded.

    Normally called by :func:`~lola_sym.compile.compile_field`, which renames the
    program's symbols to ``a<i>`` (arguments) and ``s<j>``/``c<j>`` (steps) first;
    ``prog`` and ``prog_args`` are not used by this backend.

    Returns
    -------
    (CFunction, str)
        The loaded function and its C source.

    Examples
    --------
    :math:`y = (\sigma(a_0)\,a_1,\ a_0 + a_1)` at :math:`a = (2, 3)`, against the
    exact value and the numpy backend:

    >>> if not available():                              # no C compiler here
    ...     import pytest; pytest.skip("backend 'c' needs a C compiler")
    >>> from lola_sym.compile import backend_numpy
    >>> from lola_sym.program import sigmoid
    >>> a0, a1, s0, s1 = sp.symbols("a0 a1 s0 s1")
    >>> steps, outs = [(s0, sigmoid(a0)), (s1, s0 * a1)], [s1, a0 + a1]
    >>> raw, source = build(steps, outs, [a0, a1], None, None, 2, None)
    >>> y = raw.point(np.array([2.0, 3.0]))
    >>> exact = float(3 / (1 + sp.exp(-2)))
    >>> bool(abs(y[0] - exact) <= 4 * np.finfo(float).eps * exact), y[1]
    (True, np.float64(5.0))
    >>> ref, _ = backend_numpy.build(steps, outs, [a0, a1], None, None, 2, None)
    >>> bool(np.allclose(y, ref(2.0, 3.0), rtol=4 * np.finfo(float).eps, atol=0))
    True
    >>> "const double s0 = (1.0/(1.0 + exp(-(a0))));" in source
    True
    """
    source = c_source(ordered, outs, args)
    path = build_library(source, Path(lib_dir) if lib_dir else _private_lib_dir())
    return load(path, len(args), n_out), source


def call(raw, X, n_out):
    """Evaluate the rows of the C-contiguous ``X`` (OpenMP over large batches).

    Examples
    --------
    Every row is computed on its own, so a batch split over threads gives the
    one-point results bit for bit:

    >>> if not available():                              # no C compiler here
    ...     import pytest; pytest.skip("backend 'c' needs a C compiler")
    >>> a0, a1, s0 = sp.symbols("a0 a1 s0")
    >>> raw, _ = build([(s0, a0 * a1)], [s0 + 1, a0], [a0, a1], None, None, 2, None)
    >>> call(raw, np.array([[2.0, 3.0], [-1.0, 4.0]]), 2)       # a0 * a1 + 1 and a0
    array([[ 7.,  2.],
           [-3., -1.]])
    >>> X = np.random.default_rng(0).normal(size=(THREADS_MIN_BATCH, 2))
    >>> Y = call(raw, X, 2)
    >>> bool((Y == np.array([point(raw, x, 2) for x in X])).all())
    True

    Against numpy, within rounding (the compiler may fuse ``a0 * a1 + 1`` into one
    multiply-add, rounded once instead of twice):

    >>> ref = X[:, 0] * X[:, 1] + 1
    >>> err = np.abs(Y[:, 0] - ref) / (np.abs(X[:, 0] * X[:, 1]) + 1)
    >>> bool(err.max() <= 2 * np.finfo(float).eps), bool((Y[:, 1] == X[:, 0]).all())
    (True, True)
    """
    out = np.empty((X.shape[0], n_out))
    raw(X, out)
    return out


def point(raw, x, n_out):
    """One point, through the preallocated buffers of :meth:`CFunction.point`.

    Examples
    --------
    >>> if not available():                              # no C compiler here
    ...     import pytest; pytest.skip("backend 'c' needs a C compiler")
    >>> a0, a1, s0 = sp.symbols("a0 a1 s0")
    >>> raw, _ = build([(s0, a0 * a1)], [s0 + 1, a0], [a0, a1], None, None, 2, None)
    >>> x = np.array([2.0, 3.0])
    >>> y = point(raw, x, 2)
    >>> y, bool((y == call(raw, x[None, :], 2)[0]).all())
    (array([7., 2.]), True)
    >>> point(raw, np.array([0.5, 4.0]), 2), y      # a new array each call: y is kept
    (array([3. , 0.5]), array([7., 2.]))
    """
    return raw.point(x)


def to_payload(raw) -> dict:
    """The library's file name and SHA-256 (the file itself stays in ``lib/``).

    Examples
    --------
    >>> if not available():                              # no C compiler here
    ...     import pytest; pytest.skip("backend 'c' needs a C compiler")
    >>> a0, s0 = sp.symbols("a0 s0")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     raw, _ = build([(s0, a0 * a0)], [s0], [a0], None, None, 1, d)
    ...     payload = to_payload(raw)
    ...     digest = hashlib.sha256((Path(d) / payload["lib"]).read_bytes()).hexdigest()
    >>> sorted(payload), payload["lib"] == raw.path.name, payload["sha256"] == digest
    (['lib', 'sha256'], True, True)
    """
    data = raw.path.read_bytes()
    return {"lib": raw.path.name, "sha256": hashlib.sha256(data).hexdigest()}


def from_payload(payload, n_args, n_out, lib_dir):
    """Load the recorded library after checking its name and SHA-256.

    ``ValueError`` if the library is missing or does not hash to the recorded SHA-256.

    Examples
    --------
    >>> if not available():                              # no C compiler here
    ...     import pytest; pytest.skip("backend 'c' needs a C compiler")
    >>> a0, s0 = sp.symbols("a0 s0")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     raw, _ = build([(s0, a0 * a0)], [s0 + 1], [a0], None, None, 1, d)
    ...     again = from_payload(to_payload(raw), 1, 1, d)
    ...     forged = {**to_payload(raw), "sha256": "0" * 64}
    ...     try:
    ...         from_payload(forged, 1, 1, d)
    ...     except ValueError as exc:
    ...         print(exc)
    cached library does not match its recorded hash
    >>> again.point(np.array([3.0])), raw.point(np.array([3.0]))      # 3 * 3 + 1
    (array([10.]), array([10.]))
    """
    path = Path(lib_dir) / payload["lib"]
    if path.name != payload["lib"] or not path.is_file():
        raise ValueError("cached library is missing")
    if hashlib.sha256(path.read_bytes()).hexdigest() != payload["sha256"]:
        raise ValueError("cached library does not match its recorded hash")
    return load(path, n_args, n_out)
