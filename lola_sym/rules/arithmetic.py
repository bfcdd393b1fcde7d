r"""One arithmetic for a rule's finishing step, over numpy arrays and over sympy.

A *combined* rule (SOS, SGA, CGD) derives exact primitives and finishes them
with a step that has no smooth symbolic form: a switch, a sign, a linear solve.
That step is written once, as ``finish(ar, groups, hyper, game)``, in the
operations of an arithmetic ``ar``:

* :data:`NUMPY` (:class:`NumpyArithmetic`) runs it on batches, vectors of shape
  ``(..., d)``; it is what ``Rule.combine`` (:class:`~lola_sym.rules.registry.Rule`)
  calls on the compiled primitives;
* :class:`SympyArithmetic` runs it on exact expressions, vectors as sympy column
  matrices; the derivation pages print the result, the *closed* finished update.
  An operation that has no closed form worth printing (a piecewise switch, the
  inverse of a large symbolic matrix) raises :class:`NoClosedForm`.

Vectors add, subtract, and multiply by numbers or hyper-parameters with the
ordinary operators in both arithmetics; everything that differs between the two
(inner products, a per-point scalar times a vector, switches, matrices) is a
method here.

Examples
--------
>>> import numpy as np, sympy as sp
>>> def finish(ar, groups, hyper, game_dims):       # g = xi - lam * <xi, v> v, split in two
...     xi, v = groups
...     return ar.split(xi - ar.scale(hyper["lam"] * ar.dot(xi, v), v), game_dims)
>>> finish(NUMPY, (np.array([1.0, 2.0]), np.array([0.0, 1.0])), {"lam": 0.5}, (1, 1))
(array([1.]), array([1.]))
>>> x, y, lam = sp.symbols("x y lam")
>>> finish(SympyArithmetic(), (sp.Matrix([x, y]), sp.Matrix([0, 1])), {"lam": lam}, (1, 1))
((x,), (-lam*y + y,))
"""

from __future__ import annotations

import numpy as np
import sympy as sp

__all__ = ["NoClosedForm", "NumpyArithmetic", "SympyArithmetic", "NUMPY", "MAX_CONDITION"]

#: Largest condition number of a linear solve of a combined rule (CGD, Stackelberg): beyond
#: it about 1e-16 x 1e12 = 1e-4 relative error, so the point is reported as singular.
MAX_CONDITION = 1e12


class NoClosedForm(Exception):
    """Raised by :class:`SympyArithmetic` for a step with no closed form worth printing."""


class NumpyArithmetic:
    """Finishing-step operations on batches: vectors ``(..., d)``, scalars ``(...)`` or floats.

    Runs under ``np.errstate(all="ignore")`` when called through
    ``Rule.combine`` (:class:`~lola_sym.rules.registry.Rule`): a point where the step
    overflows or divides by zero gives a non-finite direction, which the field
    reports with the point.
    """

    @staticmethod
    def dot(u, v):
        """Inner product over the last axis."""
        return np.sum(u * v, axis=-1)

    @staticmethod
    def scale(s, v):
        """A scalar per point (or a number) times a vector."""
        s = np.asarray(s)
        return s[..., None] * v if s.ndim else s * v

    @staticmethod
    def rational(p: int, q: int):
        """The number p/q (a float here)."""
        return p / q

    @staticmethod
    def where(condition, a, b):
        """``a`` where ``condition`` holds, else ``b`` (scalars per point)."""
        return np.where(condition, a, b)

    @staticmethod
    def minimum(a, b):
        """The smaller of two scalars per point."""
        return np.minimum(a, b)

    @staticmethod
    def sign(x):
        """The sign of a scalar per point (0 at 0)."""
        return np.sign(x)

    @staticmethod
    def define(name: str, x):
        """A named auxiliary quantity: just its value here."""
        return x

    @staticmethod
    def matrix(v, rows: int, cols: int):
        """A vector of ``rows * cols`` entries (row-major) as a matrix per point."""
        v = np.asarray(v)
        return v.reshape(v.shape[:-1] + (rows, cols))

    @staticmethod
    def identity(n: int):
        """The n x n identity matrix."""
        return np.eye(n)

    @staticmethod
    def block(rows):
        """One matrix per point from a nested list of blocks (broadcast over the points)."""
        parts = [p for row in rows for p in row]
        batch = np.broadcast_shapes(*(np.shape(p)[:-2] for p in parts))
        return np.concatenate([np.concatenate([np.broadcast_to(p, batch + np.shape(p)[-2:])
                                               for p in row], axis=-1) for row in rows], axis=-2)

    @staticmethod
    def solve(M, b):
        """``M^{-1} b`` per point; NaN at the points where ``M`` is singular.

        Singular includes numerically singular: a condition number above
        :data:`MAX_CONDITION`, where the solution would keep fewer than about
        four correct digits (e.g. a matrix that is exactly singular but carries
        rounding errors of 1e-17, whose "solution" is noise).
        """
        try:
            g = np.linalg.solve(M, b[..., None])[..., 0]
        except np.linalg.LinAlgError:
            g = np.full(b.shape, np.nan)
            for idx in np.ndindex(b.shape[:-1]):
                try:
                    g[idx] = np.linalg.solve(M[idx], b[idx])
                except np.linalg.LinAlgError:
                    pass
        with np.errstate(all="ignore"):
            bad = ~(np.linalg.cond(M) <= MAX_CONDITION)
        if np.any(bad):
            g = np.where(bad[..., None], np.nan, g)
        return g

    @staticmethod
    def split(g, dims) -> tuple:
        """The players' parts of a joint vector, sizes ``dims``."""
        out, lo = [], 0
        for d in dims:
            out.append(g[..., lo:lo + d])
            lo += d
        return tuple(out)


#: The arithmetic of ``Rule.combine`` (:class:`~lola_sym.rules.registry.Rule`).
NUMPY = NumpyArithmetic()


class SympyArithmetic:
    """Finishing-step operations on exact expressions: vectors are sympy column matrices.

    Parameters
    ----------
    simplify : callable, optional
        Applied to every inner product (the pages pass their factoring, so that
        an auxiliary quantity is printed factored); identity by default.
    max_solve : int
        Largest linear system solved symbolically; a larger one raises
        :class:`NoClosedForm` (its inverse is not worth printing).

    Attributes
    ----------
    definitions : list of (Symbol, Expr)
        The named auxiliary quantities met (:meth:`define`), in order.
    """

    def __init__(self, simplify=None, max_solve: int = 4):
        self.simplify = simplify if simplify is not None else (lambda e: e)
        self.max_solve = max_solve
        self.definitions: list = []

    def dot(self, u, v):
        return self.simplify(u.dot(v))

    @staticmethod
    def scale(s, v):
        return s * v

    @staticmethod
    def rational(p: int, q: int):
        return sp.Rational(p, q)

    @staticmethod
    def where(condition, a, b):
        raise NoClosedForm("a piecewise switch, finished in numpy")

    @staticmethod
    def minimum(a, b):
        raise NoClosedForm("a piecewise switch, finished in numpy")

    @staticmethod
    def sign(x):
        return sp.sign(x)

    def define(self, name: str, x):
        """A symbol ``name`` standing for ``x``, recorded in :attr:`definitions`."""
        sym = sp.Symbol(name)
        self.definitions.append((sym, x))
        return sym

    @staticmethod
    def matrix(v, rows: int, cols: int):
        return sp.Matrix(rows, cols, list(v))

    @staticmethod
    def identity(n: int):
        return sp.eye(n)

    @staticmethod
    def block(rows):
        return sp.Matrix.vstack(*[sp.Matrix.hstack(*row) for row in rows])

    def solve(self, M, b):
        if M.rows > self.max_solve:
            raise NoClosedForm(f"the inverse of a {M.rows} x {M.rows} symbolic matrix")
        return M.LUsolve(b)

    @staticmethod
    def split(g, dims) -> tuple:
        out, lo = [], 0
        for d in dims:
            out.append(tuple(g[lo:lo + d]))
            lo += d
        return tuple(out)
