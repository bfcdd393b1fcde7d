r"""Update fields: a learning rule derived on a game and compiled.

:func:`update_field` returns an :class:`UpdateField`, a callable
``f(theta1, theta2) -> (g1, g2)`` of the agents' ascent directions, with the
exact derivation attached for inspection.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy as sp

from lola_sym._validation import as_params, check_real
from lola_sym import cache
from lola_sym.compile import BACKENDS, CompiledProgram, compile_field, default_backend
from lola_sym.rules import Rule, get_rule

__all__ = ["update_field", "UpdateField", "derive", "compiled_program"]


@lru_cache(maxsize=None)
def derive(game, rule_name: str, options: tuple = ()):
    """The rule's exact program on ``game`` (cached) and the derivation time in s.

    ``rule_name`` may also be ``"value"``: the value program, outputs (V1, V2),
    or ``"jacobian:<rule>"``: the rule's field Jacobian, flattened row-major.
    ``options`` are the rule's structural options as sorted ``(name, value)`` pairs.
    """
    t0 = time.perf_counter()
    if rule_name == "value":
        prog = game.value_program()
    elif rule_name.startswith("jacobian:"):
        from lola_sym.jacobian import jacobian_program
        prog = jacobian_program(derive(game, rule_name.split(":", 1)[1], options)[0], game)
    else:
        prog = get_rule(rule_name).derive(game, **dict(options))
    return prog.pruned(), time.perf_counter() - t0


@lru_cache(maxsize=None)
def compiled_program(game, what: str, backend: str, options: tuple = ()):
    """Compile a rule (or ``"value"``) on ``game``, through the disk cache for llvm.

    Returns ``(CompiledProgram, meta)`` with ``meta`` the derivation and
    compilation times of the build and ``from_cache``.
    """
    if what == "value":
        hyper, n_out, stack = (), (1, 1), True
    elif what.startswith("jacobian:"):
        d = sum(game.dims)
        hyper, n_out, stack = get_rule(what.split(":", 1)[1]).hyper_symbols, (d * d,), False
    else:
        rule = get_rule(what)
        hyper, n_out, stack = rule.hyper_symbols, rule.output_groups(game, dict(options)), False
    use_disk = backend in ("llvm", "c") and cache.enabled()
    if use_disk:
        key = cache.cache_key(game.spec(), what + "".join(f";{k}={v}" for k, v in options),
                              tuple(str(h) for h in hyper), backend)
        payload = cache.load(key)
        if payload is not None:
            try:
                fn = CompiledProgram.from_payload(payload["compiled"], hyper, cache.lib_dir())
                return fn, {**payload["meta"], "from_cache": True}
            except (KeyError, TypeError, ValueError) as exc:
                warnings.warn(f"lola_sym cache: unusable entry for {what} on {game.name} "
                              f"({exc}); rebuilding", cache.CacheWarning, stacklevel=2)
    prog, t_derive = derive(game, what, options)
    t0 = time.perf_counter()
    fn = compile_field(prog, game.theta, hyper, n_out=n_out, stack=stack, backend=backend,
                       lib_dir=cache.lib_dir() if use_disk else None)
    meta = {"derive_seconds": t_derive, "compile_seconds": time.perf_counter() - t0,
            "from_cache": False}
    if use_disk:
        cache.store(key, {"compiled": fn.to_payload(), "meta": meta})
    return fn, meta


@dataclass(frozen=True, eq=False)
class UpdateField:
    r"""A compiled learning rule on a game: ``f(theta1, theta2) -> (g1, g2)``.

    Attributes
    ----------
    game : the game
    rule : :class:`~lola_sym.rules.Rule`
    hyper : dict
        Hyper-parameter values bound to this field.
    options : dict
        Structural options of the derivation (e.g. HOLA's ``order``).
    compiled : :class:`~lola_sym.compile.CompiledProgram`
        The compiled program: the update directions, or for combined rules
        (SOS, SGA, CGD) the primitives that ``rule.combine`` finishes.
    derive_seconds, compile_seconds : float
        Time the derivation and compilation took when first built (possibly
        in an earlier process, when ``from_cache``).
    from_cache : bool
        Whether the compiled code came from the disk cache.
    """

    game: object
    rule: Rule
    hyper: dict
    compiled: object
    derive_seconds: float
    compile_seconds: float
    from_cache: bool = False
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        names = self.rule.compiled_hyper()
        object.__setattr__(self, "_program_hyper", tuple(self.hyper[n] for n in names))
        object.__setattr__(self, "_hyper_array", np.array(self._program_hyper, dtype=float))

    @property
    def program(self):
        r"""The exact derivation (:class:`~lola_sym.program.Program`), derived on first access.

        ``program.outputs`` are :math:`g_1` then :math:`g_2` (or the named
        primitives of a combined rule) in terms of named intermediate quantities.
        """
        return derive(self.game, self.rule.name, tuple(sorted(self.options.items())))[0]

    def _finish(self, out):
        if self.rule.combine is None:
            return out
        return self.rule.combine(out, self.hyper, self.game)

    def __call__(self, theta1, theta2) -> tuple:
        """Ascent directions ``(g1, g2)``, each of shape ``(..., d_i)``."""
        d1, d2 = self.game.dims
        if (type(theta1) is np.ndarray and type(theta2) is np.ndarray
                and theta1.dtype == np.float64 and theta2.dtype == np.float64
                and theta1.shape == (d1,) and theta2.shape == (d2,)):
            out = self.compiled.point(theta1, theta2, self._hyper_array)
            if out is not None:
                return self._finish(out)
        t1 = as_params(theta1, "theta1", d1)
        t2 = as_params(theta2, "theta2", d2)
        return self._finish(self.compiled(t1, t2, *self._program_hyper))

    @property
    def symbolic(self) -> tuple:
        r"""The derived outputs as sympy expressions of named intermediates.

        ``(g1, g2)`` for symbolic rules, with hyper-parameters as symbols (e.g.
        ``eta``); for combined rules a dict of the named primitives. Use
        :meth:`explicit` for fully substituted expressions.
        """
        return self._split(self.program.outputs)

    def _split(self, outs):
        if self.rule.primitives is None:
            d1 = self.game.dims[0]
            return tuple(outs[:d1]), tuple(outs[d1:])
        res, i = {}, 0
        for name, n in self.rule.primitives(self.game, **self.options):
            res[name] = tuple(outs[i:i + n])
            i += n
        return res

    def explicit(self):
        """:attr:`symbolic` with every intermediate substituted (can be very large)."""
        return self._split(self.program.explicit())

    def evaluate(self, theta1, theta2, dps: int = 50) -> tuple:
        """Evaluate the exact program (no compiled code) at one point, ``dps`` digits.

        Returns ``(g1, g2)`` as float arrays computed from the 50-digit program
        values (for combined rules the final numpy step runs on those values).
        """
        t1 = as_params(theta1, "theta1", self.game.dims[0])
        t2 = as_params(theta2, "theta2", self.game.dims[1])
        if t1.ndim != 1 or t2.ndim != 1:
            raise ValueError("evaluate takes one point: theta1 and theta2 must be 1-d")
        vals = dict(zip(self.game.theta[0], (sp.Float(repr(float(x)), dps) for x in t1)))
        vals.update(zip(self.game.theta[1], (sp.Float(repr(float(x)), dps) for x in t2)))
        vals.update(zip(self.rule.hyper_symbols,
                        (sp.Float(repr(float(v)), dps) for v in self._program_hyper)))
        out = np.array([float(v) for v in self.program.evaluate(vals, dps=dps)])
        groups, i = [], 0
        for n in self.compiled.n_out:
            groups.append(out[i:i + n])
            i += n
        return self._finish(tuple(groups))

    def size(self) -> int:
        """Operation count of the compiled code (after common-subexpression elimination)."""
        return self.compiled.n_ops

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in {**self.options, **self.hyper}.items())
        return f"UpdateField({self.rule.name!r} on {self.game.name}{', ' + hyper if hyper else ''})"


def update_field(game, rule, backend: str | None = None, **hyper) -> UpdateField:
    r"""Derive ``rule`` exactly on ``game`` and compile it.

    Parameters
    ----------
    game : IteratedGame or DifferentiableGame
    rule : str
        A registered rule name (see ``lola_sym.RULES``), e.g. ``"nl"``, ``"lola"``.
    backend : {"c", "llvm", "numpy"}, optional
        Compilation backend (see :mod:`lola_sym.compile`); default ``"c"`` when
        a C compiler is found, else ``"llvm"`` with symengine, else ``"numpy"``.
        c and llvm builds go through the disk cache (:mod:`lola_sym.cache`).
    **hyper
        The rule's hyper-parameters (e.g. ``eta`` for LOLA) with defaults from
        the rule's metadata, and its structural options (e.g. ``order`` for
        ``"hola"``).

    Returns
    -------
    UpdateField
        ``f(theta1, theta2) -> (g1, g2)`` ascent directions, shapes ``(..., d_i)``.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> f = update_field(ipd(), "lola", eta=1.0)
    >>> g1, g2 = f(np.zeros(5), np.zeros(5))
    >>> g1.shape, bool(np.allclose(g1, g2))   # symmetric game, same policies
    ((5,), True)
    >>> update_field(ipd(), "lola", beta=1.0)
    Traceback (most recent call last):
    ...
    ValueError: rule 'lola' has no hyper-parameter 'beta'; it takes ['eta']
    """
    rule = get_rule(rule)
    options, hyper = rule.split(hyper)
    values = {}
    for name, default in rule.hyper.items():
        values[name] = check_real(hyper.get(name, default), name)
    backend = default_backend() if backend is None else backend
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    key = tuple(sorted(options.items()))
    fn, meta = compiled_program(game, rule.name, backend, key)
    return UpdateField(game, rule, values, fn, meta["derive_seconds"], meta["compile_seconds"],
                       meta["from_cache"], options)
