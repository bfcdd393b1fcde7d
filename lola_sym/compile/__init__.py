"""Compilation: exact programs to numeric functions, behind one backend protocol.

Layers inside: :mod:`~lola_sym.compile.constants` (every constant a correctly
rounded double), :mod:`~lola_sym.compile.backends` (the protocol and registry;
one module per backend: ``backend_c``, ``backend_llvm``, ``backend_numpy``),
:mod:`~lola_sym.compile.compiled` (the callable result),
:mod:`~lola_sym.compile.build` (the one compile step) and
:mod:`~lola_sym.compile.cache` (the verified disk cache).
"""

from lola_sym.compile.backends import BACKENDS, backend_module
from lola_sym.compile.backend_llvm import LLVM_MAX_STEPS
from lola_sym.compile.build import compile_field, default_backend
from lola_sym.compile.compiled import CHUNK_BYTES, BoundProgram, CompiledProgram, chunk_rows
from lola_sym.compile.constants import check_constants, to_double

__all__ = ["compile_field", "default_backend", "CompiledProgram", "BoundProgram", "BACKENDS",
           "backend_module", "to_double", "check_constants", "chunk_rows", "CHUNK_BYTES",
           "LLVM_MAX_STEPS"]
