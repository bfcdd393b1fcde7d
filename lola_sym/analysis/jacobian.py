r"""Exact Jacobians of update fields and of the discrete update maps, for n players.

For a rule with directions :math:`g(\theta) = (g_1, \dots, g_n)` and
:math:`\theta = (\theta_1, \dots, \theta_n)`, the Jacobian of the *field*
:math:`J = \partial g / \partial \theta` (shape :math:`d \times d`,
:math:`d = d_1 + \dots + d_n`, rows ``g_1`` then ``g_2``, ..., columns
:math:`\theta_1` then :math:`\theta_2`, ...; block :math:`(i, j)` is
:math:`\partial g_i / \partial \theta_j`) governs the continuous-time flow
:math:`\dot\theta = g(\theta)`; the discrete update
:math:`F(\theta) = \theta + \delta g(\theta)` has Jacobian :math:`I + \delta J`.

:math:`J` is derived exactly by forward mode on the rule's program, compiled
like the fields, and can be evaluated

* numerically and batched (:func:`jacobian`),
* exactly at a point with the hyper-parameters and the game's symbols left
  symbolic (:func:`exact_jacobian`, e.g. at :math:`\theta = 0` where every
  policy probability is 1/2: the IPD's LOLA Jacobian as rational functions
  of R, S, T, P, :math:`\gamma` and :math:`\eta`),
* as a full symbolic matrix in :math:`\theta` for small games
  (:func:`symbolic_jacobian`).

Every function takes one parameter array per player (``*thetas``). A game
with symbols (``game.parameters``, e.g. R, S, T, P and gamma of
``ipd(symbolic=True)``) takes their values as keywords beside the rule's
hyper-parameters (``jacobian(g, "lola", t1, t2, R=-1, ..., eta=1.0)``), or as
a mapping ``parameters={...}``; the numeric analyses need every value
(:func:`~lola_sym.analysis.arguments.split_values` names the missing ones), the exact ones keep the
symbols not given.

Two compiled forms, chosen by the number of parameters :math:`d`
(:data:`FULL_JACOBIAN_MAX_DIM`): up to 10 (the 2x2 memory-1 games, one-shot
games) the whole Jacobian is one program (:meth:`Program.jacobian
<lola_sym.program.Program.jacobian>`, the local partials shared by the
:math:`d` tangent sweeps); above, one Jacobian-vector product (a single
tangent sweep, :meth:`Program.jvp <lola_sym.program.Program.jvp>`) with the
direction as run-time arguments, evaluated at the :math:`d` unit vectors.
Both are exact forward mode; the second compiles :math:`d` times smaller code
(measured in :data:`FULL_JACOBIAN_MAX_DIM`).

Combined rules (SOS, SGA, CGD) have no single symbolic form; their Jacobian is
taken by central finite differences of the compiled field (step
:data:`FD_STEP`, truncation error about :math:`10^{-10}`) and flagged as such.

References
----------
.. [1] Balduzzi, D. et al. (2018). The Mechanics of n-Player Differentiable
   Games. ICML. (The game Hessian and its parts.)
.. [2] Griewank, A. and Walther, A. (2008). *Evaluating Derivatives*, SIAM,
   Ch. 3 (forward mode).
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
import sympy as sp

from lola_sym._exact_input import exact_hyper, exact_number, exact_point
from lola_sym._validation import check_game, as_params, check_real
from lola_sym.analysis.arguments import (exact_values, need_values, parameter_group,  # noqa: F401
                                         player_arrays, split_values, symbol_names,
                                         values_mapping)
from lola_sym.analysis.exact_eval import NotRational, evaluate_rational
from lola_sym.program import Program
from lola_sym.rules import get_rule

__all__ = ["jacobian_program", "jvp_program", "jacobian", "jacobian_function", "exact_jacobian",
           "symbolic_jacobian", "explicit_field", "symbolic_rule", "map_jacobian", "FD_STEP",
           "SYMBOLIC_MAX_OPS", "FULL_JACOBIAN_MAX_DIM"]

#: Central-difference step of the finite-difference Jacobian of combined rules.
FD_STEP = 1e-5
#: Largest explicit field (in operations) :func:`symbolic_jacobian` differentiates.
SYMBOLIC_MAX_OPS = 4000
#: Largest number of parameters whose Jacobian is compiled as one program; larger games
#: compile one Jacobian-vector product and evaluate it at the unit vectors. Measured
#: (C backend, 2 cores): NL on the 3-player memory-1 contribution game (d = 27) compiled
#: as a whole Jacobian in 107 s (129,354 operations), as a product in a few seconds.
FULL_JACOBIAN_MAX_DIM = 10


def jacobian_program(prog: Program, game) -> Program:
    r"""Extend a field program by its exact Jacobian in the agents' parameters (forward mode).

    Outputs ``J`` flattened row-major: ``J[i, j] = d out_i / d theta_j``
    (:meth:`Program.jacobian <lola_sym.program.Program.jacobian>`); the game's
    symbols, if any, stay inputs.

    Examples
    --------
    >>> from lola_sym import games
    >>> from lola_sym.field import derive
    >>> jp = jacobian_program(derive(games.hamiltonian(), "nl")[0], games.hamiltonian())
    >>> jp.explicit()
    [0, -1, 1, 0]
    """
    return prog.jacobian([t for group in game.theta for t in group])


def _tangents(d: int) -> tuple:
    """The direction of a Jacobian-vector product: one run-time argument per parameter."""
    return tuple(sp.Symbol(f"_tangent{k}", real=True) for k in range(d))


@lru_cache(maxsize=None)
def jvp_program(game, rule: str, options: tuple = ()):
    r"""``(program, seconds)``: the field's Jacobian-vector product :math:`J v` (forward mode).

    The program's inputs are the parameters, the game's symbols, the rule's
    hyper-parameters and the direction :math:`v` (symbols ``_tangent0``, ...);
    its outputs the :math:`d` entries of :math:`J v`. One tangent sweep
    (:meth:`Program.jvp <lola_sym.program.Program.jvp>`), so its size is a few
    times the field's, where the whole Jacobian is about :math:`d` times.

    Examples
    --------
    >>> from lola_sym import games
    >>> prog, _ = jvp_program(games.hamiltonian(), "nl")
    >>> prog.explicit()             # g = (-y, x): J v = (-v_2, v_1)
    [-_tangent1, _tangent0]
    """
    from lola_sym.field import derive
    prog, t_rule = derive(game, rule, options)
    t0 = time.perf_counter()
    thetas = [t for group in game.theta for t in group]
    v = _tangents(len(thetas))
    ext, tangents = prog.jvp(prog.outputs, dict(zip(thetas, v)), prefix="_jv")
    out = ext.add_inputs(v).with_outputs(tangents).pruned()
    return out, t_rule + time.perf_counter() - t0


def _check_names(game, rule) -> None:
    """Refuse a game symbol with the name of one of ``rule``'s rates.

    The exact analyses return expressions in both, and the compiled programs
    take both as arguments, so the two would be confused (e.g. the discount
    ``gamma`` of ``ipd(symbolic=True)`` and CO's hyper-parameter ``gamma``).
    """
    names = {s.name for s in getattr(game, "parameters", ())}
    clash = sorted(names & {h.name for h in get_rule(rule).hyper_symbols})
    if clash:
        raise ValueError(f"{game.name} has a symbol {clash[0]!r} and rule {get_rule(rule).name!r} "
                         f"a hyper-parameter {clash[0]!r}: an analysis in both would confuse "
                         f"them; substitute the game's {clash[0]} (game.substitute) or use a "
                         f"game whose symbol has another name")


def _field(game, rule, backend=None, **hyper):
    from lola_sym.field import update_field
    return update_field(game, rule, backend=backend, **hyper)


# -------------------------------------------------------------------- numeric Jacobians
def jacobian_function(game, rule, *, backend=None, parameters=None, **settings):
    r"""``J(*thetas, **values) -> (..., d, d)``: the field's Jacobian, compiled once.

    Use it in loops (root finding, grids); :func:`jacobian` evaluates it once.
    Exact derivative (compiled forward mode) for symbolic rules; central finite
    differences for combined rules (SOS, SGA, CGD). ``J`` takes one parameter
    array per player. A game with symbols (``game.parameters``) takes their
    values as keywords, here (bound: every call uses them) or in the calls of
    ``J`` (scalars or arrays broadcasting against the points; they override
    bound ones).

    Examples
    --------
    >>> import sympy as sp
    >>> from lola_sym.games import differentiable
    >>> a, x, y = sp.Symbol("a", real=True), *sp.symbols("x y", real=True)
    >>> J = jacobian_function(differentiable(a * x * y, -a * x * y, [x], [y]), "nl")
    >>> J([0.0], [0.0], a=2.0).tolist()
    [[0.0, 2.0], [-2.0, 0.0]]
    """
    from lola_sym.field import compiled_program
    check_game(game)
    hyper, bound = split_values(game, rule, settings, parameters)
    _check_names(game, rule)
    if bound and len(bound) == len(symbol_names(game)):
        game.parameter_array(**bound)           # checked now, not at the first call
    f = _field(game, rule, backend, **hyper)
    d = sum(game.dims)
    path = getattr(f, "path", "compiled")
    if getattr(f, "has_jacobian", False):      # e.g. ideal POLA: the implicit-function theorem
        def J(*thetas, **values):
            ts = player_arrays(game, thetas, "J")
            if values:
                raise TypeError(f"{game.name} has no symbols; unexpected {sorted(values)}")
            batch = np.broadcast_shapes(*(t.shape[:-1] for t in ts))
            flat = [np.broadcast_to(t, batch + t.shape[-1:]).reshape(-1, t.shape[-1])
                    for t in ts]
            out = np.stack([f.jacobian(*(t[r] for t in flat)) for r in range(len(flat[0]))])
            return out.reshape(batch + (d, d))
        return J
    # combined rules (a numeric finishing step), games on the sparse adjoint path and the
    # numeric fields of the newer rules (no symbolic program to differentiate): central
    # differences of the field
    if f.rule.combine is not None or path != "compiled":
        def J(*thetas, **values):
            ts = player_arrays(game, thetas, "J")
            given = {**bound, **values}
            parameter_group(game, given)         # the values checked before anything runs
            return _fd_jacobian(f, *ts, parameters=given)
        return J
    options = tuple(sorted(f.options.items()))
    hyper_values = f._program_hyper
    if d <= FULL_JACOBIAN_MAX_DIM:
        fn, _ = compiled_program(game, f.rule.name, f.compiled.backend, options,
                                 jacobian=True)

        def J(*thetas, **values):
            ts = player_arrays(game, thetas, "J")
            extra = parameter_group(game, {**bound, **values})
            (flat,) = fn(*ts, *extra, *hyper_values)
            return flat.reshape(flat.shape[:-1] + (d, d))
        return J
    fn = _compiled_jvp(game, f.rule, f.compiled.backend, options)
    unit = np.eye(d)

    def J(*thetas, **values):
        ts = player_arrays(game, thetas, "J")
        extra = parameter_group(game, {**bound, **values})
        cols = [fn(*ts, *extra, *unit[k], *hyper_values)[0] for k in range(d)]
        return np.stack(cols, axis=-1)
    return J


def _compiled_jvp(game, rule, backend, options):
    """The compiled :func:`jvp_program`, through the disk cache (direction, then the rates)."""
    from lola_sym.compile.cached import compiled_for
    d = sum(game.dims)
    label = f"jvp:{rule.name}" + "".join(f";{k}={v}" for k, v in options)
    fn, _ = compiled_for(game, label, lambda g: jvp_program(g, rule.name, options),
                         hyper=_tangents(d) + rule.hyper_symbols, n_out=(d,), backend=backend)
    return fn


def jacobian(game, rule, *thetas, backend=None, parameters=None, **settings) -> np.ndarray:
    r"""The Jacobian :math:`\partial g / \partial \theta` of ``rule``'s field, shape ``(..., d, d)``.

    Parameters
    ----------
    game, rule
        As in :func:`lola_sym.update_field`.
    *thetas : array_like, shape (..., d_i)
        One parameter array per player (batches broadcast).
    backend : str, optional
    parameters : mapping, optional
        Values of the game's symbols, e.g. ``{"R": -1.0, ...}`` (the same as
        keywords; needed only for a symbol named like one of the rule's
        hyper-parameters).
    **settings
        The rule's hyper-parameters and the game's symbol values
        (:func:`split_values`).

    Exact derivative (compiled forward mode) for symbolic rules; central finite
    differences for combined rules (SOS, SGA, CGD). See :func:`jacobian_function`
    to evaluate it repeatedly.

    Examples
    --------
    >>> from lola_sym import games
    >>> jacobian(games.hamiltonian(), "nl", [0.3], [0.1]).tolist()
    [[0.0, -1.0], [1.0, 0.0]]
    >>> J = jacobian(games.contribution(3, "1.33", memory=0), "lola", [0.0], [0.0], [0.0], eta=1)
    >>> J.shape
    (3, 3)
    >>> jacobian(games.ipd(symbolic=True), "nl", [0.0] * 5, [0.0] * 5).shape
    Traceback (most recent call last):
    ...
    ValueError: IPD (symbolic) has the symbols ['P', 'R', 'S', 'T', 'gamma']: a numeric Jacobian needs a value for each (missing ['P', 'R', 'S', 'T', 'gamma']), as keywords (e.g. P=...) or parameters={...}; exact_jacobian keeps them as symbols
    """
    check_game(game)
    hyper, values = split_values(game, rule, settings, parameters)
    player_arrays(game, thetas, "jacobian")
    need_values(game, values, "Jacobian", "exact_jacobian")
    J = jacobian_function(game, rule, backend=backend, parameters=values, **hyper)
    return J(*thetas)


def _fd_jacobian(f, *thetas, parameters=None) -> np.ndarray:
    """Central differences of the field ``f`` (step :data:`FD_STEP`, relative)."""
    dims = tuple(f.game.dims)
    bounds = np.cumsum((0,) + dims)
    batch = np.broadcast_shapes(*(t.shape[:-1] for t in thetas))
    base = np.concatenate([np.broadcast_to(t, batch + (d,)) for t, d in zip(thetas, dims)],
                          axis=-1)

    def at(z):
        parts = [z[..., lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]
        return np.concatenate(f(*parts, **(parameters or {})), axis=-1)

    cols = []
    for k in range(bounds[-1]):
        h = FD_STEP * max(1.0, float(np.max(np.abs(base[..., k]), initial=0.0)))
        e = np.zeros(bounds[-1])
        e[k] = h
        cols.append((at(base + e) - at(base - e)) / (2 * h))
    return np.stack(cols, axis=-1)


def map_jacobian(J, delta) -> np.ndarray:
    r"""Jacobian :math:`I + \delta J` of the discrete map :math:`\theta + \delta g(\theta)`.

    Works for numeric arrays ``(..., d, d)`` and sympy matrices (``delta`` may be a symbol);
    a numeric ``delta`` must be finite and > 0.

    Examples
    --------
    >>> import sympy as sp
    >>> map_jacobian(sp.Matrix([[0, -1], [1, 0]]), sp.Symbol("delta"))
    Matrix([
    [    1, -delta],
    [delta,      1]])
    """
    if isinstance(J, sp.MatrixBase):
        if isinstance(delta, str):
            raise TypeError(f"delta must be a number or a sympy Symbol, got the string {delta!r}")
        delta = exact_number(delta, "delta", nonnegative=True, symbol=True)
        if delta == 0:
            raise ValueError("delta must be > 0, got 0")
        return sp.eye(J.shape[0]) + delta * J
    delta = check_real(delta, "delta", positive=True)
    J = as_params(J, "J", None)
    if J.ndim < 2 or J.shape[-1] != J.shape[-2]:
        raise ValueError(f"J must have shape (..., d, d), got {J.shape}")
    return np.eye(J.shape[-1]) + delta * J


# ---------------------------------------------------------------------- exact Jacobians
def exact_jacobian(game, rule, *thetas, parameters=None, **settings) -> sp.Matrix:
    r"""The field's Jacobian at one point in exact arithmetic.

    ``thetas`` (one per player) are sequences of exact numbers: ints,
    ``Fraction``, sympy numbers (``sympy.Rational``, or constants such as
    ``sympy.sqrt(2)``), floats (read from their shortest repr: ``0.1`` is
    ``1/10``) or strings that are rational literals (``"1/3"``, ``"-2"``,
    ``"0.25"``; strings are never evaluated). Sigmoids of them stay exact
    (``sigmoid(0) = 1/2``). Hyper-parameters not given stay symbols (``eta``,
    ...), so thresholds can be derived as functions of the rates; given ones
    are non-negative exact numbers or a ``sympy.Symbol`` of your own. The
    game's symbols (``game.parameters``, e.g. the payoffs R, S, T, P and the
    discount gamma of ``ipd(symbolic=True)``) stay symbols too, unless given
    as keywords (or in ``parameters``), which substitutes those exactly: the
    entries are rational functions of the symbols left. Symbolic rules only.

    Raises
    ------
    ValueError, TypeError
        For a wrong number of players or entries, an entry or rate that is not
        finite, not real, not a number or larger than
        :data:`~lola_sym._exact_input.MAX_EXACT_ABS`, a negative rate, or a
        keyword that is neither a hyper-parameter nor a game symbol; the message
        names the argument.

    Examples
    --------
    >>> from lola_sym import games
    >>> exact_jacobian(games.matching_pennies(), "lola", [0], [0])
    Matrix([
    [-eta/16,    -1/4],
    [    1/4, -eta/16]])
    >>> exact_jacobian(games.matching_pennies(), "lola", ["0"], [0.0], eta="1/2")
    Matrix([
    [-1/32,  -1/4],
    [  1/4, -1/32]])
    >>> a, x, y = sp.Symbol("a", real=True), *sp.symbols("x y", real=True)
    >>> bilinear = games.differentiable(a * x * y - x ** 2 / 2, -a * x * y, [x], [y])
    >>> exact_jacobian(bilinear, "lola", [0], [0])
    Matrix([
    [-a**2*eta - 1,         a],
    [           -a, -a**2*eta]])
    >>> exact_jacobian(bilinear, "lola", [0], [0], a=2, eta=1)
    Matrix([
    [-5,  2],
    [-2, -4]])

    """
    check_game(game)
    from lola_sym.field import derive_jacobian
    settings, values = split_values(game, rule, settings, parameters)
    r, options, hyper = symbolic_rule(rule, settings,
                                      "jacobian() for its finite-difference Jacobian")
    _check_names(game, r.name)
    if len(thetas) != len(game.dims):
        raise TypeError(f"exact_jacobian on {game.name} takes {len(game.dims)} parameter "
                        f"sequences (one per player), got {len(thetas)}")
    env = dict(exact_values(game, values))
    point = [exact_point(vals, f"theta{k}", len(syms))
             for k, (vals, syms) in enumerate(zip(thetas, game.theta), 1)]
    for h in r.hyper_symbols:
        if h.name in hyper:
            env[h] = hyper[h.name]
    d = sum(game.dims)
    key = tuple(sorted(options.items()))
    if d <= FULL_JACOBIAN_MAX_DIM:
        prog, _ = derive_jacobian(game, r.name, key)
        for syms, vals in zip(game.theta, point):
            env.update(zip(syms, vals))
        return sp.Matrix(d, d, _exact_outputs(prog, env))
    # one pass of the Jacobian-vector product with the direction v left symbolic: every
    # entry of J v is linear in v, and its coefficients are the columns. A numeric game
    # evaluates its family's program (derived once per shape, shared with the compiled
    # product) with the family's symbols set to its exact numbers.
    family = _exact_family(game)
    source = game if family is None else family[0]
    if family is not None:
        env.update(family[1])
    for syms, vals in zip(source.theta, point):
        env.update(zip(syms, vals))
    prog, _ = jvp_program(source, r.name, key)
    v = _tangents(d)
    try:
        rows = evaluate_rational(prog, env, linear_in=v)
    except (NotRational, ZeroDivisionError):
        cols = [prog.evaluate_exact({**env, **{t: int(t == v[k]) for t in v}})
                for k in range(d)]
        return sp.Matrix(d, d, lambda i, j: cols[j][i])
    return sp.Matrix(rows)


def _exact_family(game):
    """``(family, {family symbol: exact number})`` of a numeric game with a family, else None.

    The family (``game.family()``, e.g. every 3-player memory-1 game of two actions)
    has one symbol per payoff entry and one for the discount; the game's exact
    payoffs and discount are their values.
    """
    if getattr(game, "parameters", ()) or not hasattr(game, "family"):
        return None
    found = game.family()
    if found is None:
        return None
    fam = found[0]
    own = game.as_repeated() if hasattr(game, "as_repeated") else game
    pairs = [(s, x) for frow, row in zip(fam.payoffs, own.payoffs) for s, x in zip(frow, row)]
    pairs.append((fam.gamma, own.gamma))
    if not all(isinstance(s, sp.Symbol) for s, _ in pairs) or \
            [len(t) for t in fam.theta] != [len(t) for t in game.theta]:
        return None
    return fam, {s: sp.sympify(x) for s, x in pairs}


def _exact_outputs(prog, env) -> list:
    try:
        return evaluate_rational(prog, env)
    except (NotRational, ZeroDivisionError):     # e.g. sigmoid(1/3), sqrt(2), a pole
        return prog.evaluate_exact(env)


def symbolic_rule(rule, hyper: dict, instead: str) -> tuple:
    """``(rule, options, hyper)`` for a rule with a symbolic form; combined rules are refused.

    ``instead`` names what to use for combined rules (in the error message). The
    hyper-parameters come back as exact numbers or sympy Symbols
    (:func:`~lola_sym._exact_input.exact_hyper`).

    Examples
    --------
    >>> rule, options, hyper = symbolic_rule("lola", {"eta": 0.5}, "the numeric Jacobian")
    >>> rule.name, options, hyper
    ('lola', {}, {'eta': 1/2})
    >>> symbolic_rule("sos", {}, "the numeric Jacobian")
    Traceback (most recent call last):
    ...
    ValueError: rule 'sos' is combined numerically (no symbolic form); use the numeric Jacobian
    """
    r = get_rule(rule)
    if r.combine is not None:
        raise ValueError(f"rule {r.name!r} is combined numerically (no symbolic form); "
                         f"use {instead}")
    options, hyper = exact_hyper(r, hyper)
    return r, options, hyper


def explicit_field(game, rule, instead: str, *, parameters=None, **settings) -> list:
    r"""The field :math:`(g_1, \dots, g_n)` as explicit sympy expressions, for small fields only.

    Given hyper-parameters are substituted as exact numbers (validated as in
    :func:`exact_jacobian`), the others stay symbols; likewise the game's
    symbols given as keywords (or in ``parameters``). Refuses (``ValueError``
    naming ``instead``) a field whose explicit form exceeds
    :data:`SYMBOLIC_MAX_OPS` operations; the size is estimated before anything
    is expanded (the IPD's would not fit in memory).

    Examples
    --------
    >>> from lola_sym import games
    >>> explicit_field(games.tandem(), "lola", "a numerical method", eta="1/4")
    [-x - y + 2, -x - y + 2]
    """
    check_game(game)
    from lola_sym.field import derive
    settings, values = split_values(game, rule, settings, parameters)
    r, options, hyper = symbolic_rule(rule, settings, instead)
    _check_names(game, r.name)
    given = exact_values(game, values)
    prog, _ = derive(game, r.name, tuple(sorted(options.items())))
    size = prog.expanded_size()
    if size > 20 * SYMBOLIC_MAX_OPS:
        raise ValueError(f"the explicit {r.name} field on {game.name} is too large "
                         f"(about {size:.3g} operations); use {instead}")
    subs = {h: hyper[h.name] for h in r.hyper_symbols if h.name in hyper}
    subs.update(given)
    g = [e.xreplace(subs) for e in prog.explicit()]
    if given:
        g = [sp.cancel(e) if e.is_rational_function() else e for e in g]
    ops = sum(sp.count_ops(e) for e in g)
    if ops > SYMBOLIC_MAX_OPS:
        raise ValueError(f"the explicit {r.name} field on {game.name} has {ops} operations "
                         f"(> {SYMBOLIC_MAX_OPS}); use {instead}")
    return g


def symbolic_jacobian(game, rule, *, parameters=None, **settings) -> sp.Matrix:
    r"""The field's Jacobian as a sympy matrix in :math:`\theta` (small games only).

    Differentiates the explicit field (:func:`explicit_field`, whose keywords
    this takes: hyper-parameters and game symbols given are substituted, the
    others kept); refuses fields larger than :data:`SYMBOLIC_MAX_OPS`
    operations (use :func:`exact_jacobian` at a point).

    Examples
    --------
    >>> from lola_sym import games
    >>> symbolic_jacobian(games.tandem(), "nl")
    Matrix([
    [-2, -2],
    [-2, -2]])
    """
    check_game(game)
    g = explicit_field(game, rule, "exact_jacobian at a point instead", parameters=parameters,
                       **settings)
    thetas = [t for group in game.theta for t in group]
    J = sp.Matrix(g).jacobian(thetas)
    return J.applyfunc(lambda e: sp.simplify(e) if sp.count_ops(e) < 300 else e)
