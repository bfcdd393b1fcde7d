"""The backend protocol: what every code generator provides, and the registry of them.

A backend is a module ``lola_sym.compile.backend_<name>`` with

``NAME``
    its name;
``CHUNKED``
    whether batches run in chunks that bound its temporaries (numpy) or whole;
``available() -> bool``
    whether it can run here;
``build(ordered, outs, args, prog, prog_args, n_out, lib_dir) -> (raw, source)``
    code for the CSE'd steps ``ordered`` and outputs ``outs`` over the plain
    argument symbols ``args`` (``prog``/``prog_args``: the original program, for
    backends that translate it themselves);
``call(raw, X, n_out) -> Y``
    rows of the C-contiguous ``X`` (points x arguments) to ``Y`` (points x outputs);
``point(raw, x, n_out) -> y``
    one point;
``to_payload(raw) -> dict`` / ``from_payload(payload, n_args, n_out, lib_dir) -> raw``
    JSON-able form for the disk cache (``ValueError`` when it cannot be cached).

Examples
--------
>>> backend_module("numpy").NAME
'numpy'
"""

from __future__ import annotations

import importlib

__all__ = ["BACKENDS", "backend_module"]

#: Backends accepted by :func:`~lola_sym.compile.compile_field`: ``"c"`` (C from the system
#: compiler, OpenMP over the batch), ``"llvm"`` (symengine's LLVM ``Lambdify``) and
#: ``"numpy"`` (``sympy.lambdify``, the portable fallback).
BACKENDS = ("c", "llvm", "numpy")


def backend_module(name: str):
    """The module implementing backend ``name``.

    Examples
    --------
    >>> backend_module("numpy").__name__
    'lola_sym.compile.backend_numpy'
    >>> backend_module("fortran")
    Traceback (most recent call last):
    ...
    ValueError: unknown backend 'fortran'; choose one of ('c', 'llvm', 'numpy')
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {BACKENDS}")
    return importlib.import_module(f"lola_sym.compile.backend_{name}")
