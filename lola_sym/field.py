r"""Update fields: a learning rule derived on a game and compiled.

:func:`update_field` returns an :class:`UpdateField`, a callable
``f(theta_1, ..., theta_n, **symbols) -> (g_1, ..., g_n)`` of the agents' ascent
directions (a game family's symbols as keywords), with the exact derivation
attached for inspection. Compilation goes through
:func:`lola_sym.compile.cached.compiled_for`: the disk cache, once per game family.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from lola_sym._validation import as_params, check_field_call, check_game
from lola_sym.compile import BACKENDS, chunk_rows, default_backend
from lola_sym.compile.cached import compiled_for
from lola_sym.games.reparameterised import Reparameterised
from lola_sym.rules import Rule, get_rule
from lola_sym.rules.advantage_alignment import build_field as _aa_field
from lola_sym.rules.loqa import build_field as _loqa_field
from lola_sym.rules.gradients import compiled_value_gradients
from lola_sym.rules.pola import proximal_solver

__all__ = ["update_field", "UpdateField", "FieldError", "derive", "derive_jacobian",
           "compiled_program", "forget_compiled"]


class FieldError(ValueError):
    """An update direction that is not finite at a point; ``index`` and ``reason`` say where and why."""

    def __init__(self, message: str, index: tuple = (), reason: str = ""):
        super().__init__(message)
        self.index, self.reason = index, reason


@lru_cache(maxsize=None)
def derive(game, rule_name: str, options: tuple = ()):
    """The rule's exact program on ``game`` (cached) and the derivation time in s.

    ``options`` are the rule's structural options as sorted ``(name, value)`` pairs.
    """
    t0 = time.perf_counter()
    rule = get_rule(rule_name)
    rule.check_players(game)
    rule.check_size(game, dict(options))
    prog = rule.derive(game, **dict(options))
    return prog.pruned(), time.perf_counter() - t0


@lru_cache(maxsize=None)
def derive_jacobian(game, rule_name: str, options: tuple = ()):
    """The Jacobian of the rule's field w.r.t. every parameter (:meth:`~lola_sym.program.Program.jacobian`)."""
    prog, t_rule = derive(game, rule_name, options)
    t0 = time.perf_counter()
    jac = prog.jacobian([t for group in game.theta for t in group])
    return jac, t_rule + time.perf_counter() - t0


def forget_compiled() -> None:
    """Drop every compiled program held in this process (the disk cache is kept).

    Examples
    --------
    The next field is compiled again (or loaded from the disk cache), with the
    same result:

    >>> import numpy as np
    >>> from lola_sym.games import hamiltonian
    >>> x, y = np.array([1.0]), np.array([2.0])
    >>> before = update_field(hamiltonian(), "nl")(x, y)
    >>> forget_compiled()
    >>> after = update_field(hamiltonian(), "nl")(x, y)
    >>> all(np.array_equal(a, b) for a, b in zip(before, after))
    True
    """
    from lola_sym.compile.cached import forget
    from lola_sym.games.values import _compiled_value
    forget()
    _compiled_value.cache_clear()


def cache_label(rule_name: str, options: tuple = (), *, jacobian: bool = False) -> str:
    """The disk-cache label of a rule's compiled field (or Jacobian) with its options.

    Examples
    --------
    >>> cache_label("hola", (("order", 2),)), cache_label("lola", jacobian=True)
    ('hola;order=2', 'jacobian:lola')
    """
    return ("jacobian:" if jacobian else "") + rule_name + "".join(f";{k}={v}"
                                                                  for k, v in options)


def compiled_program(game, rule_name: str, backend: str, options: tuple = (), *,
                     jacobian: bool = False):
    """Compile rule ``rule_name``'s field on ``game``, or with ``jacobian=True`` its Jacobian.

    Through :func:`lola_sym.compile.cached.compiled_for` (disk cache, one compilation per
    game family). Returns ``(compiled, meta)``.

    Examples
    --------
    The naive field :math:`(-y, x)` of the Hamiltonian game and its Jacobian
    :math:`\\begin{pmatrix} 0 & -1 \\\\ 1 & 0 \\end{pmatrix}` (row-major):

    >>> import numpy as np
    >>> from lola_sym.games import hamiltonian
    >>> f, meta = compiled_program(hamiltonian(), "nl", "numpy")
    >>> f(np.array([1.0]), np.array([2.0]))
    (array([-2.]), array([1.]))
    >>> J, _ = compiled_program(hamiltonian(), "nl", "numpy", jacobian=True)
    >>> J(np.array([1.0]), np.array([2.0]))
    (array([ 0., -1.,  1.,  0.]),)
    >>> sorted(meta)
    ['compile_seconds', 'derive_seconds', 'from_cache']
    """
    rule = get_rule(rule_name)
    rule.check_players(game)                    # refused on the game asked for, not its family
    rule.check_size(game, dict(options))
    clash = sorted({p.name for p in getattr(game, "parameters", ())} & set(rule.compiled_hyper()))
    if clash:
        raise ValueError(f"{game.name}'s symbol {clash[0]!r} has the name of rule {rule.name!r}'s "
                         f"hyper-parameter; the two would be one argument of the compiled code. "
                         f"Substitute a value for the game's symbol (game.substitute(...)) or "
                         f"rebuild the game with another symbol name")
    label = cache_label(rule.name, options, jacobian=jacobian)
    if jacobian:
        d = sum(game.dims)
        return compiled_for(game, label, lambda g: derive_jacobian(g, rule.name, options),
                            hyper=rule.hyper_symbols, n_out=(d * d,), backend=backend)
    return compiled_for(game, label, lambda g: derive(g, rule.name, options),
                        hyper=rule.hyper_symbols, n_out=rule.output_groups(game, dict(options)),
                        backend=backend)


#: Digits accepted by :meth:`UpdateField.evaluate`: at least double precision's 16,
#: at most an amount that still finishes (mpmath's cost grows with the digits).
MIN_DPS, MAX_DPS = 16, 10_000


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
    path : str
        ``"compiled"``: which exact path computes the field (Markov games get
        :class:`lola_sym.adjoint.AdjointField`, whose path is ``"adjoint"``).
    """

    path = "compiled"

    game: Any
    rule: Rule
    hyper: dict
    compiled: Any
    derive_seconds: float
    compile_seconds: float
    from_cache: bool = False
    options: dict = field(default_factory=dict)
    #: the compiled hyper-parameters' values, in the program's order (set from ``hyper``)
    _program_hyper: tuple = field(init=False, repr=False, compare=False)
    _hyper_array: np.ndarray = field(init=False, repr=False, compare=False)

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

    def __call__(self, *thetas, failed: str = "raise", **parameters) -> tuple:
        """Ascent directions ``(g_1, ..., g_n)``, each of shape ``(..., d_i)``.

        Parameters
        ----------
        *thetas : array_like, shape (..., d_i)
            Finite parameters of each player (broadcast against each other).
        failed : {"raise", "nan"}
            Where the direction is not finite at a point (a payoff or
            hyper-parameter so large that the computation overflows, or CGD's
            singular linear system): raise a :class:`FieldError` naming the
            first such point and the reason, or return NaN in those rows
            (training uses this to mark the runs concerned).
        **parameters
            For a game with symbols (``game.parameters``), one value per
            symbol, e.g. ``R=-1, gamma=0.96``: scalars or arrays that broadcast
            against the logits' leading axes.
        """
        check_field_call(self.rule.name, self.game, thetas, failed)
        dims = self.game.dims
        extra = self._parameter_group(parameters)
        if ((extra is None or extra.ndim == 1) and all(
                type(t) is np.ndarray and t.dtype == np.float64 and t.shape == (d,)
                for t, d in zip(thetas, dims))):          # one point, any number of players
            out = self.compiled.point(*thetas, *(() if extra is None else (extra,)),
                                      self._hyper_array)
            if out is not None:
                g = self._finish(out)
                if failed == "nan" or all(np.isfinite(x).all() for x in g):
                    return g                    # the common case, checked cheaply
                return self._checked(g, failed)
        ts = [as_params(t, f"theta{i + 1}", d) for i, (t, d) in enumerate(zip(thetas, dims))]
        groups = ts + ([extra] if extra is not None else [])
        shape = np.broadcast_shapes(*(t.shape[:-1] for t in groups))
        n = int(np.prod(shape))
        # combined rules hold a few arrays of the outputs' size per point (CGD: (d1 + d2)^2
        # matrices and the solver's copies); numpy-compiled programs hold their temporaries
        rows = (chunk_rows(self.compiled.n_ops) if self.compiled.backend == "numpy"
                else chunk_rows(4 * sum(self.compiled.n_out)))
        if self.rule.combine is None or n <= rows:
            return self._checked(self._finish(self.compiled(*groups, *self._program_hyper)),
                                 failed)
        flat = [np.broadcast_to(t, shape + t.shape[-1:]).reshape(n, t.shape[-1]) for t in groups]
        out = [np.empty((n, d)) for d in dims]
        for lo in range(0, n, rows):
            hi = min(lo + rows, n)
            res = self._finish(self.compiled(*(a[lo:hi] for a in flat), *self._program_hyper))
            for o, r in zip(out, res):
                o[lo:hi] = r
        return self._checked(tuple(o.reshape(shape + (d,)) for o, d in zip(out, dims)), failed)

    def _parameter_group(self, given):
        """The game symbols' values as one array ``(..., n_symbols)``, or None for numeric games."""
        symbols = tuple(getattr(self.game, "parameters", ()))
        if not symbols:
            if given:
                raise TypeError(f"{self.game.name} has no symbols; unexpected keyword "
                                f"{sorted(given)[0]!r} (hyper-parameters are given to "
                                f"update_field)")
            return None
        return self.game.parameter_array(**given)

    def _checked(self, g, failed):
        if failed == "nan":
            return g
        bad = ~np.logical_and.reduce([np.isfinite(x).all(axis=-1) for x in g])
        if not bad.any():
            return g
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        raise FieldError(
            f"the {self.rule.name!r} direction on {self.game.name} is not finite at point "
            f"{where or 'given'} ({int(bad.sum())} of {bad.size} points): {self.failure_reason()}",
            where, self.failure_reason())

    def failure_reason(self) -> str:
        """Why this field's direction can fail to be finite at a point (for error messages)."""
        hyper = ", ".join(f"{k}={v:g}" for k, v in self.hyper.items())
        generic = ("the computation overflowed double precision; the payoffs"
                   + (f" or the hyper-parameters ({hyper})" if hyper else "")
                   + " are too large, rescale them")
        return f"{self.rule.failure}, or {generic}" if self.rule.failure else generic

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
            res, i = [], 0
            for d in self.game.dims:
                res.append(tuple(outs[i:i + d]))
                i += d
            return tuple(res)
        res, i = {}, 0
        for name, n in self.rule.primitives(self.game, **self.options):
            res[name] = tuple(outs[i:i + n])
            i += n
        return res

    def explicit(self):
        """:attr:`symbolic` with every intermediate substituted (can be very large)."""
        return self._split(self.program.explicit())

    def evaluate(self, *thetas, dps: int = 50, **parameters) -> tuple:
        """Evaluate the exact program (no compiled code) at one point, ``dps`` digits.

        Returns ``(g_1, ..., g_n)`` as float arrays computed from the ``dps``-digit
        program values (for combined rules the final numpy step runs on those
        values). A game with symbols takes their values as keywords.
        """
        dims = self.game.dims
        if len(thetas) != len(dims):
            raise TypeError(f"evaluate takes {len(dims)} parameter arrays (one per player), "
                            f"got {len(thetas)}")
        ts = [as_params(t, f"theta{i + 1}", d) for i, (t, d) in enumerate(zip(thetas, dims))]
        if any(t.ndim != 1 for t in ts):
            raise ValueError("evaluate takes one point: every theta must be 1-d")
        if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)):
            raise TypeError(f"dps must be an int (decimal digits), got {type(dps).__name__}")
        if not MIN_DPS <= dps <= MAX_DPS:
            raise ValueError(f"dps must be between {MIN_DPS} (double precision) and {MAX_DPS} "
                             f"digits, got {dps}")
        vals: dict = {}
        for sym, t in zip(self.game.theta, ts):
            vals.update(zip(sym, (sp.Float(repr(float(x)), dps) for x in t)))
        extra = self._parameter_group(parameters)
        if extra is not None:
            if extra.ndim != 1:
                raise ValueError("evaluate takes one point: every game symbol must be a scalar")
            vals.update(zip(self.game.parameters, (sp.Float(repr(float(x)), dps) for x in extra)))
        vals.update(zip(self.rule.hyper_symbols,
                        (sp.Float(repr(float(v)), dps) for v in self._program_hyper)))
        out = np.array([float(v) for v in self.program.evaluate(vals, dps=dps)])
        groups, i = [], 0
        for n in self.compiled.n_out:
            groups.append(out[i:i + n])
            i += n
        return self._checked(self._finish(tuple(groups)), "raise")

    def size(self) -> int:
        """Operation count of the compiled code (after common-subexpression elimination)."""
        return self.compiled.n_ops

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in {**self.options, **self.hyper}.items())
        return f"UpdateField({self.rule.name!r} on {self.game.name}{', ' + hyper if hyper else ''})"


def update_field(game, rule, backend: str | None = None, **hyper) -> Any:
    r"""Derive ``rule`` exactly on ``game`` and compile it.

    Parameters
    ----------
    game : IteratedGame or DifferentiableGame
    rule : str
        A registered rule name (see ``lola_sym.RULES``), e.g. ``"nl"``, ``"lola"``.
    backend : {"c", "llvm", "numpy"}, optional
        Compilation backend (see :mod:`lola_sym.compile`); default ``"c"`` when
        a C compiler is found, else ``"llvm"`` with symengine, else ``"numpy"``.
        c and llvm builds go through the disk cache (:mod:`lola_sym.compile.cache`).
    **hyper
        The rule's hyper-parameters (e.g. ``eta`` for LOLA) with defaults from
        the rule's metadata, and its structural options (e.g. ``order`` for
        ``"hola"``).

    Returns
    -------
    UpdateField
        ``f(theta1, theta2) -> (g1, g2)`` ascent directions, shapes ``(..., d_i)``.
        The game decides the path: a game whose ``field_path`` is ``"adjoint"``
        (a :class:`~lola_sym.games.markov.MarkovGame`, too large for a symbolic
        program) gets a :class:`~lola_sym.adjoint.AdjointField` with the same call
        API; ``field.path`` says which (``"compiled"`` or ``"adjoint"``).

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
    if getattr(game, "field_path", "compiled") == "adjoint":
        from lola_sym.adjoint.field import adjoint_field
        return adjoint_field(game, rule, backend, FieldError, **hyper)
    check_game(game)
    rule = get_rule(rule)
    options, hyper = rule.split(hyper)
    values = rule.hyper_values(hyper)
    backend = default_backend() if backend is None else backend
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if rule.name in CLOSED_FORM_FIELDS:
        return CLOSED_FORM_FIELDS[rule.name](game, rule, values, options, backend)
    solver = proximal_solver(rule)
    if solver is not None:
        return _proximal_field(game, rule, values, options, backend, solver)
    key = tuple(sorted(options.items()))
    fn, meta = compiled_program(game, rule.name, backend, key)
    return UpdateField(game, rule, values, fn, meta["derive_seconds"], meta["compile_seconds"],
                       meta["from_cache"], options)


#: rules whose field is a numeric closed form on the game's chain, not a compiled program
CLOSED_FORM_FIELDS = {"advantage_alignment": _aa_field, "loqa": _loqa_field}


def _proximal_field(game, rule, values, options, backend, solver):
    """POLA's numeric field (:class:`~lola_sym.rules.proximal.ProximalField`), built from
    compiled programs of ``game``: for ``"pola"`` and ``"pola_outer"`` the exact-LOLA field at
    lookahead ``eta`` and its exact Jacobian (compiled at first use); for ``"pola_full"`` the
    value gradients and the naive field's exact Jacobian. On a
    :class:`~lola_sym.games.reparameterised.Reparameterised` game the KL compares the base
    game's policies at logits :math:`M_i x`."""
    from lola_sym.rules.proximal import ProximalField
    rule.check_players(game)
    if getattr(game, "parameters", ()):
        raise ValueError(f"rule {rule.name!r} solves a proximal step numerically; give "
                         f"{game.name}'s symbols values first (game.substitute(...))")
    d = sum(game.dims)
    naive = update_field(game, "nl", backend)

    def lazy_jacobian(name, *hyper):
        """The compiled ``(d, d)`` Jacobian of rule ``name``'s field, compiled at first use."""
        held = []

        def jac(*thetas):
            if not held:
                held.append(compiled_program(game, name, backend, (), jacobian=True)[0])
            (flat,) = held[0](*(np.asarray(t, dtype=float) for t in thetas), *hyper)
            return flat.reshape(d, d)
        return jac

    policy = {}
    if isinstance(game, Reparameterised):                        # theta = M phi
        policy = dict(policy_game=game.base,
                      policy_maps=tuple(game.matrix(i) for i in range(len(game.dims))))
    if solver == "nested":
        return ProximalField(game, rule, values, options, None, None, game.value, naive,
                             solver, naive_jac=lazy_jacobian("nl"),
                             value_grads=_value_gradients(game, backend), **policy)
    eta = values["eta"]
    grad = update_field(game, "exact_lola", backend, eta=eta)
    return ProximalField(game, rule, values, options, grad, lazy_jacobian("exact_lola", eta),
                         game.value, naive, solver, **policy)


def _value_gradients(game, backend):
    r"""``f(t1, t2) -> ((grad_1 V1, grad_2 V1), (grad_1 V2, grad_2 V2))``, compiled (2 players)."""
    fn = compiled_value_gradients(game, backend)
    n, split = len(game.dims), np.cumsum(game.dims)[:-1]

    def grads(*thetas):
        (flat,) = fn(*(np.asarray(t, dtype=float) for t in thetas))
        rows = flat.reshape(flat.shape[:-1] + (n, -1))
        return tuple(tuple(np.split(rows[..., i, :], split, axis=-1)) for i in range(n))
    return grads
