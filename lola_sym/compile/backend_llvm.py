"""The ``"llvm"`` backend: symengine's LLVM ``Lambdify`` of the program's DAG."""

from __future__ import annotations

import numpy as np
import sympy as sp

from lola_sym.compile.constants import to_double
from lola_sym.program import Program, sigmoid, softmax

__all__ = ["NAME", "available", "build", "call", "point", "to_payload", "from_payload",
           "LLVM_MAX_STEPS"]

NAME = "llvm"
CHUNKED = False
#: symengine's CSE does not finish on very deep programs (measured: HOLA-2 on the
#: IPD, 1411 steps, > 5 min); the llvm backend refuses programs beyond this.
LLVM_MAX_STEPS = 1200


def available() -> bool:
    """Whether symengine with LLVM support is importable.

    Examples
    --------
    >>> import importlib.util
    >>> if importlib.util.find_spec("symengine") is None:
    ...     expected = False
    ... else:
    ...     import symengine
    ...     expected = bool(symengine.have_llvm)
    >>> available() == expected
    True
    """
    return _llvm_available()


def _llvm_available() -> bool:
    try:
        import symengine
        from symengine.lib.symengine_wrapper import llvm_loading_func  # noqa: F401
    except ImportError:
        return False
    return bool(getattr(symengine, "have_llvm", True))


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
    sig: dict = {}              # logit -> (sigmoid, 1 - sigmoid), shared by +x and -x

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


def build(ordered, outs, args, prog, prog_args, n_out, lib_dir):
    r"""Lambdify the program's outputs over ``prog_args`` with LLVM (CSE by symengine).

    This backend translates the program ``prog`` itself: the CSE'd ``ordered``,
    ``outs`` and ``args`` that :func:`~lola_sym.compile.compile_field` passes are
    not used, nor is ``lib_dir`` (the machine code lives in the returned object).

    Returns
    -------
    (symengine.Lambdify, str)
        The compiled function and an empty source.

    Examples
    --------
    :math:`(\sigma(x)\,y,\ x + y)` at :math:`(2, 3)`, against the exact value:

    >>> if not available():                              # no symengine with LLVM here
    ...     import pytest; pytest.skip("backend 'llvm' needs symengine with LLVM")
    >>> from lola_sym.program import Program, sigmoid
    >>> x, y, p, u = sp.symbols("x y p u")
    >>> prog = Program.from_steps((x, y), [(p, sigmoid(x)), (u, p * y)]).with_outputs([u, x + y])
    >>> raw, _ = build([], [], [], prog, [x, y], 2, None)
    >>> out = point(raw, np.array([2.0, 3.0]), 2)
    >>> exact = float(3 / (1 + sp.exp(-2)))
    >>> bool(abs(out[0] - exact) <= 4 * np.finfo(float).eps * exact), out[1]
    (True, np.float64(5.0))

    Saturated logits give exact limits, not NaN:

    >>> point(raw, np.array([-800.0, 3.0]), 2)
    array([   0., -797.])
    """
    import symengine as se
    if len(prog.steps) > LLVM_MAX_STEPS:
        raise ValueError(f"program of {len(prog.steps)} steps is too deep for the llvm "
                         f"backend (symengine's CSE does not finish); use backend='c' or 'numpy'")
    if not _llvm_available():
        raise ValueError("backend 'llvm' needs symengine with LLVM support "
                         "(pip install symengine); use backend='numpy'")
    se_args, se_outs = _to_symengine(prog, prog_args)
    raw = se.Lambdify(se_args, se_outs, backend="llvm", cse=True, real=True, opt_level=3)
    return raw, ""


def call(raw, X, n_out):
    """Evaluate the rows of ``X``.

    Examples
    --------
    >>> if not available():                              # no symengine with LLVM here
    ...     import pytest; pytest.skip("backend 'llvm' needs symengine with LLVM")
    >>> from lola_sym.program import Program, sigmoid
    >>> x, y, p, u = sp.symbols("x y p u")
    >>> prog = Program.from_steps((x, y), [(p, sigmoid(x)), (u, p * y)]).with_outputs([u, x + y])
    >>> raw, _ = build([], [], [], prog, [x, y], 2, None)
    >>> X = np.array([[2.0, 3.0], [0.0, 1.0]])
    >>> Y = call(raw, X, 2)
    >>> Y[1], bool((Y[0] == point(raw, X[0], 2)).all())         # sigma(0) * 1 = 1/2
    (array([0.5, 1. ]), True)
    """
    return raw(X)


def point(raw, x, n_out):
    """One point.

    Examples
    --------
    >>> if not available():                              # no symengine with LLVM here
    ...     import pytest; pytest.skip("backend 'llvm' needs symengine with LLVM")
    >>> from lola_sym.program import Program, sigmoid
    >>> x, y, p, u = sp.symbols("x y p u")
    >>> prog = Program.from_steps((x, y), [(p, sigmoid(x)), (u, p * y)]).with_outputs([u, x + y])
    >>> raw, _ = build([], [], [], prog, [x, y], 2, None)
    >>> out = point(raw, np.array([0.0, 4.0]), 2)               # sigma(0) * 4, 0 + 4
    >>> out
    array([2., 4.])
    >>> point(raw, np.array([1.0, 1.0]), 2)[1], out[1]           # a new array each call
    (np.float64(2.0), np.float64(4.0))
    """
    out = np.empty(n_out)
    raw.unsafe_real(x, out)
    return out


def to_payload(raw) -> dict:
    """symengine's own serialisation of the compiled function.

    JSON-able apart from one ``bytes`` value (the machine code), which the disk
    cache (:mod:`lola_sym.compile.cache`) stores base64-encoded.

    Examples
    --------
    >>> if not available():                              # no symengine with LLVM here
    ...     import pytest; pytest.skip("backend 'llvm' needs symengine with LLVM")
    >>> from lola_sym.program import Program, sigmoid
    >>> x, y, p, u = sp.symbols("x y p u")
    >>> prog = Program.from_steps((x, y), [(p, sigmoid(x)), (u, p * y)]).with_outputs([u, x + y])
    >>> raw, _ = build([], [], [], prog, [x, y], 2, None)
    >>> payload = to_payload(raw)
    >>> args = payload["reduce"]
    >>> len(args), args[7], type(args[8]).__name__
    (9, 'float64', 'bytes')
    >>> again = from_payload(payload, 2, 2, None)
    >>> x = np.array([2.0, 3.0])
    >>> bool((point(again, x, 2) == point(raw, x, 2)).all())
    True
    """
    func, args = raw.__reduce__()
    args = list(args)
    args[7] = np.dtype(args[7]).name
    return {"reduce": [list(a) if isinstance(a, tuple) else a for a in args]}


def from_payload(payload, n_args, n_out, lib_dir):
    """Rebuild from :func:`to_payload`, after checking its layout.

    ``ValueError`` if the payload does not have the layout :func:`to_payload` writes.

    Examples
    --------
    >>> if not available():                              # no symengine with LLVM here
    ...     import pytest; pytest.skip("backend 'llvm' needs symengine with LLVM")
    >>> from lola_sym.program import Program, sigmoid
    >>> x, y, p, u = sp.symbols("x y p u")
    >>> prog = Program.from_steps((x, y), [(p, sigmoid(x)), (u, p * y)]).with_outputs([u, x + y])
    >>> raw, _ = build([], [], [], prog, [x, y], 2, None)
    >>> again = from_payload(to_payload(raw), 2, 2, None)
    >>> point(again, np.array([0.0, 4.0]), 2)                   # sigma(0) * 4, 0 + 4
    array([2., 4.])
    >>> bad = to_payload(raw)
    >>> bad["reduce"][7] = "float32"
    >>> from_payload(bad, 2, 2, None)
    Traceback (most recent call last):
    ...
    ValueError: unexpected cached function layout
    """
    from symengine.lib.symengine_wrapper import llvm_loading_func
    args = list(payload["reduce"])
    if len(args) != 9 or not isinstance(args[8], bytes) or args[7] != "float64":
        raise ValueError("unexpected cached function layout")
    args[2] = [tuple(s) for s in args[2]]
    args[7] = np.float64
    return llvm_loading_func(*args)
