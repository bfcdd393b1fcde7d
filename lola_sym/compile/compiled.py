"""Compiled programs: one callable over batches, whatever backend built it.

A :class:`CompiledProgram` is called with one array per argument group (each
player's parameters, then a game family's symbols) followed by scalar
hyper-parameters, and returns output groups of shape ``(..., n_i)``. It talks
to its backend only through the backend protocol (:mod:`lola_sym.compile.backends`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from lola_sym.compile.backends import BACKENDS, backend_module

__all__ = ["CompiledProgram", "BoundProgram", "chunk_rows", "CHUNK_BYTES"]

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
    source: str = field(repr=False)
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
        n_out = sum(self.n_out)
        backend = backend_module(self.backend)
        if x2.shape[0] == 0:                    # symengine's Lambdify refuses empty batches
            out = np.empty((0, n_out))
        else:
            rows = x2.shape[0] if backend.CHUNKED is False else chunk_rows(self.n_ops)
            out = np.empty((x2.shape[0], n_out))
            for lo in range(0, x2.shape[0], rows):
                hi = min(lo + rows, x2.shape[0])
                out[lo:hi] = backend.call(self.raw, np.ascontiguousarray(x2[lo:hi]), n_out)
        return self._group(out.reshape(shape + (n_out,)))

    def to_payload(self) -> dict:
        """A JSON-able description for the disk cache (backends that can be cached)."""
        meta = {"dims": list(self.dims), "n_out": list(self.n_out), "backend": self.backend,
                "hyper": [str(h) for h in self.hyper], "stack": self.stack, "n_ops": self.n_ops}
        return {**meta, **backend_module(self.backend).to_payload(self.raw)}

    @classmethod
    def from_payload(cls, payload: dict, hyper: tuple, lib_dir=None) -> "CompiledProgram":
        """Rebuild from :meth:`to_payload` output (already integrity-checked).

        Each backend checks its own part (e.g. the c backend's library must hash
        to the recorded SHA-256 before it is loaded).
        """
        if [str(h) for h in hyper] != payload["hyper"]:
            raise ValueError("cached hyper-parameters differ")
        dims, n_out = tuple(payload["dims"]), tuple(payload["n_out"])
        name = payload.get("backend")
        if name not in BACKENDS:
            raise ValueError(f"unknown cached backend {name!r}")
        raw = backend_module(name).from_payload(payload, sum(dims) + len(hyper), sum(n_out),
                                                lib_dir)
        return cls(raw, dims, n_out, tuple(hyper), bool(payload["stack"]),
                   int(payload["n_ops"]), "", name)

    def point(self, *parts):
        """Fast path for one point: 1-d float64 arrays, one per group, then the hyper-parameters.

        Returns ``None`` when an input is not finite (the caller then reports
        which), so that the check costs one dot product instead of two
        ``isfinite`` passes.
        """
        x = np.concatenate(parts)
        if not np.isfinite(x).all():            # (x @ 0 warned on inf before the error)
            return None
        return self._group(backend_module(self.backend).point(self.raw, x, sum(self.n_out)))

    def bind(self, values) -> "BoundProgram":
        """This program with its last argument group fixed to ``values`` (a family's numbers)."""
        return BoundProgram(self, np.asarray(values, dtype=float))



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
