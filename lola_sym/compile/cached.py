r"""The one cached compile entry point: a game's program, compiled once per shape.

:func:`compiled_for` compiles the program that ``build(game)`` derives, keyed
on a digest of what determines it (the game's exact specification, a label of
what is compiled, its hyper-parameter symbols and the backend, plus the
versions and source digest of :mod:`lola_sym.compile.cache`): the derivation
itself is skipped when the disk cache has the code, which is what the cache
is for. It reads games only through their protocol (``spec``, ``theta``,
``parameters``, ``family``, ``name``), so it sits below games and rules.

A numeric game that belongs to a family (``game.family()`` returns the
symbolic game of its shape and its numbers, e.g. every 2x2 memory-1 game)
runs the family's compiled code with its numbers bound
(:class:`~lola_sym.compile.BoundProgram`): one compilation per shape.
"""

from __future__ import annotations

import time
import warnings
from typing import Callable

from lola_sym.compile import cache
from lola_sym.compile.build import compile_field
from lola_sym.compile.compiled import CompiledProgram

__all__ = ["compiled_for", "arg_groups", "forget"]

#: compiled code of this process, by (game, label, hyper, n_out, stack, backend)
_MEMORY: dict = {}


def forget() -> None:
    """Drop the compiled code held in this process (the disk cache is kept).

    Examples
    --------
    >>> forget()
    >>> len(_MEMORY)
    0
    """
    _MEMORY.clear()


def arg_groups(game) -> tuple:
    """The compiled programs' argument groups: each player's parameters, then the game's symbols.

    Examples
    --------
    >>> from lola_sym.games import hamiltonian, ipd
    >>> arg_groups(hamiltonian())
    ((x,), (y,))
    >>> [len(g) for g in arg_groups(ipd(symbolic=True))]     # 5 logits each; P, R, S, T, gamma
    [5, 5, 5]
    """
    params = tuple(getattr(game, "parameters", ()))
    return tuple(game.theta) + ((params,) if params else ())


def compiled_for(game, label: str, build: Callable, *, hyper=(), n_out, stack: bool = False,
                 backend: str):
    """Compile ``build(game)`` (a :class:`~lola_sym.program.Program`), through the disk cache.

    Parameters
    ----------
    game : a game (the protocol of :mod:`lola_sym.games`)
    label : str
        What is compiled, e.g. ``"value"``, ``"lola"`` or ``"jacobian:lola;order=2"``: part of
        the cache key, so equal labels must mean equal programs on equal games.
    build : callable
        ``build(game) -> (program, derive_seconds)``, called only when the code is not cached
        (and on the family when the game has one).
    hyper : tuple of sympy.Symbol
        Scalar run-time arguments after the argument groups.
    n_out, stack : as :func:`~lola_sym.compile.compile_field`.
    backend : str

    Returns
    -------
    (CompiledProgram or BoundProgram, dict)
        The compiled code and ``meta``: ``derive_seconds``, ``compile_seconds`` of the build
        and ``from_cache``. A cache directory that cannot be used never fails the
        compilation: :mod:`lola_sym.compile.cache` warns once and the code is built in a
        private temporary directory instead.

    Examples
    --------
    The values of matching pennies,
    :math:`V^1 = -V^2 = -\\tanh(\\theta_1/2)\\tanh(\\theta_2/2)`, compiled once, then
    (in a new process, here after :func:`forget`) read from a disk cache in a
    temporary directory:

    >>> import os, tempfile
    >>> from unittest import mock
    >>> import numpy as np
    >>> from lola_sym.compile import backend_c
    >>> from lola_sym.games import matching_pennies
    >>> if not backend_c.available():                    # no C compiler here
    ...     import pytest; pytest.skip("backend 'c' needs a C compiler")
    >>> game = matching_pennies()
    >>> def build(g):
    ...     return g.value_program(), 0.0               # (program, seconds to derive it)
    >>> forget()
    >>> with (tempfile.TemporaryDirectory() as d,
    ...       mock.patch.dict(os.environ, {"LOLA_SYM_CACHE_DIR": d})):
    ...     fn, meta = compiled_for(game, "value", build, n_out=(2,), stack=True, backend="c")
    ...     forget()
    ...     again, meta_again = compiled_for(game, "value", build, n_out=(2,), stack=True,
    ...                                      backend="c")
    >>> meta["from_cache"], meta_again["from_cache"]
    (False, True)
    >>> t1, t2 = np.array([0.3]), np.array([-1.2])
    >>> v = again(t1, t2)
    >>> exact = -np.tanh(t1 / 2) * np.tanh(t2 / 2)
    >>> bool(np.allclose(v, [exact[0], -exact[0]], rtol=8 * np.finfo(float).eps, atol=0))
    True
    >>> bool((v == fn(t1, t2)).all())
    True
    """
    family = game.family() if hasattr(game, "family") else None
    if family is not None:
        fgame, numbers = family
        fn, meta = compiled_for(fgame, label, build, hyper=hyper, n_out=n_out, stack=stack,
                                backend=backend)
        return fn.bind(numbers), meta
    memo = (game, label, tuple(hyper), tuple(n_out), stack, backend)
    if memo not in _MEMORY:
        _MEMORY[memo] = _compile(game, label, build, hyper, n_out, stack, backend)
    return _MEMORY[memo]


def _compile(game, label, build, hyper, n_out, stack, backend):
    use_disk = backend in ("llvm", "c") and cache.enabled()
    lib_dir = None
    if use_disk:
        root = cache.location()                  # the configured directory, or a private one
        lib_dir = root / "lib"
        key = cache.cache_key(game.spec(), label, tuple(str(h) for h in hyper), backend)
        payload = cache.load(key, root=root)
        if payload is not None:
            try:
                fn = CompiledProgram.from_payload(payload["compiled"], hyper, lib_dir)
                return fn, {**payload["meta"], "from_cache": True}
            except (KeyError, TypeError, ValueError, OSError) as exc:
                warnings.warn(f"lola_sym cache: unusable entry for {label} on {game.name} "
                              f"({exc}); rebuilding", cache.CacheWarning, stacklevel=3)
    prog, t_derive = build(game)
    t0 = time.perf_counter()
    try:
        fn = compile_field(prog, arg_groups(game), hyper, n_out=n_out, stack=stack,
                           backend=backend, lib_dir=lib_dir)
    except OSError as exc:                       # the directory broke since location() checked
        if lib_dir is None:
            raise
        warnings.warn(f"lola_sym cache: could not write to {lib_dir} ({exc}); building in a "
                      f"private temporary directory", cache.CacheWarning, stacklevel=3)
        use_disk = False
        fn = compile_field(prog, arg_groups(game), hyper, n_out=n_out, stack=stack,
                           backend=backend)
    meta = {"derive_seconds": t_derive, "compile_seconds": time.perf_counter() - t0,
            "from_cache": False}
    if use_disk:
        compiled = fn.to_payload()
        cache.store(key, {"compiled": compiled, "meta": meta}, root=root,
                    libs=[compiled["lib"]] if "lib" in compiled else [])
    return fn, meta
