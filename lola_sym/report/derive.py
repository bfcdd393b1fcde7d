r"""Readable derivations: a learning rule on a game, written out as Markdown with LaTeX.

:func:`derivation` collects, for one game and one rule, the exact quantities a
reader wants to see, and :func:`render` formats them:

* the game's values: :math:`V_i = N_i / D` (expanded polynomials of the policy
  probabilities, :func:`lola_sym.games.values.value_polynomials`) for iterated games,
  the closed form for one-shot games;
* for repeated games of any shape (:class:`~lola_sym.games.RepeatedGame`): the
  agents, actions and states (own perspective), the policy convention and
  table, the rewards, and the size of the value program;
* the value gradients and the rule's update vector :math:`(g_1, \dots, g_n)` of
  each agent, in one of three forms chosen by size (:func:`expanded_size`, an
  operation count of the fully substituted outputs computed without building
  them, and the program's steps):

  - *closed*: every intermediate substituted, policies written as
    :math:`p_i = \sigma(\theta_i)` with :math:`\sigma(-\theta_i) = 1 - p_i`, and
    factored (``sympy.factor``), when at most :data:`CLOSED_MAX_OPS` operations;
  - *cse*: the derivation program as numbered lines ``x_k = ...`` after common
    subexpression elimination (``sympy.cse``), named intermediates (policies,
    value gradients, shaping terms) keeping their names, for programs of at most
    :data:`CSE_MAX_STEPS` steps;
  - *summary*: beyond that, the straight-line program's size by section;

* for combined rules (SOS, SGA, CGD) the primitives they use and the formula that
  finishes them, and the finished update itself where it has a closed form;
* the field and its Jacobian at :math:`\theta = 0`, exactly (rational, or
  polynomial in the hyper-parameters), with the factored characteristic
  polynomial and the eigenvalues of its factors of degree at most two (the
  Jacobian for at most :data:`~lola_sym.report.derive_forms.JACOBIAN_MAX_DIM`
  parameters).

What the pages say about a rule (its definition in both conventions, source,
the LaTeX of its hyper-parameters and named steps, a combined rule's finishing
step) is read from the :class:`~lola_sym.rules.Rule` itself.

Hyper-parameters stay symbols unless given; given values must lie in the rule's
declared bounds (compared exactly). A request whose program is too large to
derive (:meth:`Rule.check_size <lola_sym.rules.Rule.check_size>`), or whose page
is estimated to take more than :data:`~lola_sym.report.derive_forms.RENDER_MAX_SECONDS` (HOLA of high order
with a symbolic :math:`\eta`, say), is refused up front with the estimate and
what would make it cheaper (:func:`check_derivation`).

:func:`rule_page` writes one page per rule: its definition, its source, and its
derived form on one-shot matching pennies. :meth:`Derivation.evaluate` evaluates exactly the expressions
that are printed, so the tests can check them against the compiled field.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326.
.. [2] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. arXiv:1811.08469.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter

from lola_sym import games as _games
from lola_sym.report.derive_forms import (LINE_MAX_FACTORS, POLY_FLAT_MAX_TERMS,
                                          POLY_MAX_TERMS, RENDER_MAX_SECONDS, all_theta,
                                          at_zero, chain_form, closed, combine_closed,
                                          cost_estimate, cse_lines, latex_names,
                                          numeric_function, output_groups, probabilities,
                                          section_sizes)
from lola_sym._validation import as_params, as_rational
from lola_sym.field import derive as _derive
from lola_sym.program import sigmoid
from lola_sym.rules import RULES, Notes, Rule, get_rule

__all__ = ["render", "rule_page", "derivation", "check_derivation", "Derivation", "expanded_size",
           "CLOSED_MAX_OPS", "CSE_MAX_STEPS", "FORMS", "RENDER_MAX_SECONDS", "write_pages",
           "iterated_values"]

#: Largest estimated operation count of the substituted outputs written in closed form.
CLOSED_MAX_OPS = 3000
#: Largest derived program (steps) written out line by line when the form is chosen
#: automatically; a larger one gets a summary page (its size, its sections, the exact field at
#: theta = 0). Measured: NL on the memory-2 IPD has 1,165 steps, on iterated RPS 790, on the
#: 3-player contribution game 735 (written out); LOLA on them 2,066 to 3,414 (summarised);
#: the 2x2 pages are far below (LOLA on the IPD: 413), HOLA of order 8 on Tandem has 1,022.
CSE_MAX_STEPS = 1500
#: The forms a page can be written in (``"auto"`` chooses).
FORMS = ("auto", "closed", "cse", "summary")


# ------------------------------------------------------------------ the data
@dataclass(frozen=True, eq=False)
class Derivation:
    r"""What :func:`render` prints, as sympy expressions.

    Attributes
    ----------
    game, rule : the game and the :class:`~lola_sym.rules.Rule`
    label : str
        How the game was given: its catalogue name, or ``<name>`` for a game object.
    hyper : dict
        Hyper-parameter name to value: an exact number, or its symbol.
    options : dict
        Structural options of the rule (HOLA's ``order``).
    form : {"closed", "cse"}
    definitions : tuple of (Symbol, Expr)
        Closed form only: the probability symbols, ``(p_1, sigmoid(theta_1))``,
        then auxiliary quantities of the finished update (SGA's switch ``s``).
    values : tuple
        ``(V1, V2)`` (one-shot, in the probability symbols) or ``(N1, N2, D)``.
    gradients : dict
        Closed form only: ``{(i, j): tuple}`` the entries of :math:`\nabla_j V^i`.
    lines : tuple of (title, tuple of (Symbol, Expr))
        CSE form only: the program's lines in sections, in evaluation order.
    outputs : dict
        ``{"g_1": ..., "g_2": ...}``, or the primitives of a combined rule by name.
    update : tuple or None
        A combined rule's finished ``(g1, g2)`` when it has a closed form.
    at_zero : mapping
        At :math:`\theta = 0`: ``"values"`` (like ``outputs``; the finished update
        when there is one), ``"jacobian"`` (ImmutableMatrix or None), ``"charpoly"``
        (factored, in ``lambda``), ``"eigenvalues"`` (root -> multiplicity, from the
        factors of degree at most two), ``"unsolved"`` (how many eigenvalues are
        roots of larger factors), ``"skipped"`` (why nothing was evaluated, or None).
    names : dict
        Symbol to LaTeX, for printing.
    size : int
        Steps of the derived program (after pruning, hyper-parameters substituted).
    sections : tuple of (str, int)
        Steps of the program's sections (policies and values, value gradients,
        rule terms).
    """

    game: Any
    rule: Rule
    label: str
    hyper: dict
    options: dict
    form: str
    definitions: tuple
    values: tuple
    gradients: dict
    lines: tuple
    outputs: dict
    update: tuple | None
    at_zero: dict
    names: dict = field(repr=False)
    size: int = 0
    sections: tuple = ()

    def evaluate(self, *thetas, **hyper) -> tuple:
        r"""The printed update at one point, in float64: ``(g_1, ..., g_n)``.

        Evaluates exactly the expressions :func:`render` prints (the closed
        form, or the CSE lines one after the other), then, for combined rules
        without a closed update, the rule's own ``combine``. Symbolic
        hyper-parameters take the values given here, else the rule's defaults.
        A page in the ``"summary"`` form prints no lines: it is refused (its
        printed numbers are :attr:`at_zero`).
        """
        game = self.game
        if self.form == "summary":
            raise ValueError(f"the page of {self.rule.name!r} on {game.name} writes no program "
                             f"lines (summary form: {self.size:,} steps); compare its exact "
                             f"values at theta = 0 (at_zero) or use update_field")
        if len(thetas) != len(game.dims):
            raise TypeError(f"evaluate takes {len(game.dims)} parameter arrays (one per player), "
                            f"got {len(thetas)}")
        ts = [as_params(t, f"theta{i}", d) for i, (t, d) in enumerate(zip(thetas, game.dims), 1)]
        if any(t.ndim != 1 for t in ts):
            raise ValueError("evaluate takes one point: every theta must be 1-d")
        unknown = set(hyper) - set(self.rule.hyper)
        if unknown:
            raise ValueError(f"rule {self.rule.name!r} has no hyper-parameter "
                             f"{sorted(unknown)[0]!r}")
        num = {}
        for name, v in self.hyper.items():
            num[name] = float(hyper.get(name, self.rule.hyper[name]) if v.is_Symbol else v)
        args = np.concatenate(ts).tolist() + [num[k] for k in self._free_hyper]
        out = self._numeric(*args)
        if self.update is not None:
            return tuple(np.array(x) for x in _split(out, game.dims))
        groups, k = [], 0
        for v in self.outputs.values():
            groups.append(np.array(out[k:k + len(v)]))
            k += len(v)
        if self.rule.combine is None:
            return tuple(groups)
        return self.rule.combine(tuple(groups), num, game)

    @property
    def _free_hyper(self) -> tuple:
        return tuple(k for k, v in self.hyper.items() if v.is_Symbol)

    @cached_property
    def _numeric(self):
        """The printed lines as one Python function of (theta, free hyper-parameters).

        Each printed expression becomes one assignment, printed by sympy's NumPy
        printer, in the order the page gives them.
        """
        inputs = list(all_theta(self.game)) + [sp.Symbol(k, positive=True)
                                               for k in self._free_hyper]
        steps = self.definitions + tuple(ln for _, sec in self.lines for ln in sec)
        results = (tuple(e for g in self.update for e in g) if self.update is not None else
                   tuple(e for v in self.outputs.values() for e in v))
        return numeric_function(inputs, steps, results)


def _split(values, dims) -> list:
    """``values`` cut into consecutive parts of sizes ``dims``."""
    out, k = [], 0
    for d in dims:
        out.append(values[k:k + d])
        k += d
    return out


# -------------------------------------------------------------- size guard
def expanded_size(prog, exprs=None) -> int:
    r"""Operation count of ``exprs`` with every step of ``prog`` substituted, estimated.

    Counts the tree that :meth:`~lola_sym.program.Program.explicit` would build
    (``sympy.count_ops`` of each step, each use of a step symbol counting its
    whole substituted size) without building it, so it is cheap even when the
    answer is astronomically large. Automatic simplification can only make the
    real expression smaller.

    Examples
    --------
    >>> from lola_sym.games import matching_pennies, ipd
    >>> from lola_sym.field import derive
    >>> expanded_size(derive(matching_pennies(), "nl")[0]) < 100
    True
    >>> expanded_size(derive(ipd(), "nl")[0]) > 10 ** 5
    True
    """
    return prog.expanded_size(exprs)


# ----------------------------------------------------------------- derivation
def _resolve_game(game):
    if isinstance(game, str):
        return _games.by_name(game), game
    if isinstance(game, (_games.IteratedGame, _games.DifferentiableGame, _games.RepeatedGame)):
        return game, f"<{game.name}>"
    raise ValueError(f"game must be a catalogue name (one of {sorted(_games.CATALOGUE)}) or a "
                     f"game object, got {type(game).__name__}")


def _resolve_rule(rule, given: dict):
    if not isinstance(rule, (str, Rule)):
        raise ValueError(f"rule must be a registered name (one of {sorted(RULES)}), "
                         f"got {type(rule).__name__}")
    rule = get_rule(rule)
    options, given = rule.split(given)
    hyper = {}
    for name in rule.hyper:
        sym = sp.Symbol(name, positive=True)
        hyper[name] = _in_bound(rule, name, as_rational(given[name], name)) if name in given \
            else sym
    return rule, hyper, options


def _in_bound(rule, name: str, value: sp.Rational) -> sp.Rational:
    """``value`` if it lies in the rule's declared bound of ``name`` (compared exactly).

    The bounds :meth:`Rule.hyper_values <lola_sym.rules.Rule.hyper_values>` enforces on
    floats, for exact values: ``eta=-1`` of LOLA or ``a=5`` of SOS are refused here too.
    """
    b = rule.bound(name)
    # Bound compares with Python's operators, and Fraction vs float is exact (inf included)
    if Fraction(int(value.p), int(value.q)) not in b:
        raise ValueError(f"{name} must lie in {b} (rule {rule.name!r}), got {value}")
    return value


def derivation(game, rule, *, form: str = "auto", **hyper) -> Derivation:
    r"""Derive ``rule`` on ``game`` and collect what :func:`render` prints.

    Parameters
    ----------
    game : str or game
        A catalogue name (``lola_sym.games.CATALOGUE``) or a game object.
    rule : str
        A registered rule name (``lola_sym.RULES``).
    form : {"auto", "closed", "cse", "summary"}
        ``"auto"`` writes the closed form for a one-shot game whose substituted
        outputs have at most :data:`CLOSED_MAX_OPS` operations
        (:func:`expanded_size`; iterated games are always far above), else the
        CSE form for a program of at most :data:`CSE_MAX_STEPS` steps, else a
        summary (the program's size and the exact field at :math:`\theta = 0`).
    **hyper
        Hyper-parameter values (exact; symbols when omitted) and structural
        options (``order`` of ``"hola"``).

    Returns
    -------
    Derivation

    Examples
    --------
    >>> d = derivation("matching_pennies", "nl")
    >>> d.form, d.outputs["g_1"]
    ('closed', (2*p_1*(p_1 - 1)*(2*p_2 - 1),))
    >>> dict(d.at_zero["eigenvalues"])
    {-I/4: 1, I/4: 1}
    """
    game, label = _resolve_game(game)
    rule, hyper, options = _resolve_rule(rule, hyper)
    form = _plan(game, rule.name, form, tuple(hyper.items()), tuple(sorted(options.items())))
    return _derivation(game, label, rule.name, form, tuple(hyper.items()),
                       tuple(sorted(options.items())))


def check_derivation(game, rule, *, form: str = "auto", **hyper) -> str:
    r"""Validate a :func:`derivation` request and estimate its cost, without doing the work.

    Checks the game, the rule, the hyper-parameters (exact, within the rule's
    declared bounds) and options, refuses a program too large to derive
    (:meth:`Rule.check_size <lola_sym.rules.Rule.check_size>`), derives the program
    (cached) and refuses a page whose exact work is estimated beyond
    :data:`~lola_sym.report.derive_forms.RENDER_MAX_SECONDS` (:func:`lola_sym.report.derive_forms.cost_estimate`), saying
    what would make it cheaper. :func:`derivation` and :func:`render` run the same
    checks first.

    Returns
    -------
    str
        The form the page would be written in, ``"closed"`` or ``"cse"``.

    Examples
    --------
    >>> check_derivation("matching_pennies", "lola")
    'closed'
    >>> check_derivation("matching_pennies", "lola", eta=-1)
    Traceback (most recent call last):
    ...
    ValueError: eta must lie in [0, inf) (rule 'lola'), got -1
    >>> check_derivation("tandem", "hola", order=8)   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: rendering rule 'hola' with order=8 on Tandem would take about ... min ...
    >>> check_derivation("tandem", "hola", order=8, eta="1/2")
    'cse'
    """
    game, _ = _resolve_game(game)
    rule, hyper, options = _resolve_rule(rule, hyper)
    return _plan(game, rule.name, form, tuple(hyper.items()), tuple(sorted(options.items())))


def _program(game, rule, hyper_items, option_items):
    """The rule's program on ``game`` with the exact hyper-parameters substituted."""
    prog, _ = _derive(game, rule.name, option_items)
    numeric = {sp.Symbol(k, positive=True): v for k, v in hyper_items if not v.is_Symbol}
    return prog.substitute(numeric)


@lru_cache(maxsize=128)
def _plan(game, rule_name, form, hyper_items, option_items) -> str:
    """The form to write (``form`` resolved), after the size and cost guards."""
    rule = get_rule(rule_name)
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(map(repr, FORMS))}, got {form!r}")
    rule.check_players(game)
    rule.check_size(game, dict(option_items))       # before deriving: refuses huge programs
    prog = _program(game, rule, hyper_items, option_items)
    size = expanded_size(prog)
    one_shot = game.kind == "differentiable"
    if form == "auto":
        form = ("closed" if size <= CLOSED_MAX_OPS and one_shot else
                "cse" if len(prog.steps) <= CSE_MAX_STEPS else "summary")
    elif form == "closed" and size > 50 * CLOSED_MAX_OPS:
        raise ValueError(f"{rule.name!r} on {game.name} is too large for the closed form "
                         f"(about {size} operations); use form='cse'")
    elif form == "closed" and not one_shot:
        raise ValueError(f"the closed form is written for one-shot games, {game.name} is "
                         f"{game.kind}; use form='cse'")
    cost = cost_estimate(game, rule, prog, form)
    seconds = cost["cse"] + cost["jet"] + cost["spectrum"]
    if seconds > RENDER_MAX_SECONDS:
        opts = ", ".join(f"{k}={v}" for k, v in option_items)
        what = f"rule {rule.name!r}" + (f" with {opts}" if opts else "") + f" on {game.name}"
        took = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:,.0f} min"
        free = [k for k, v in hyper_items if v.is_Symbol and sp.Symbol(k, positive=True)
                in prog.inputs]
        hints = []
        if free and cost["jet"] + cost["spectrum"] > cost["cse"]:
            why = (f"the exact field and Jacobian at theta = 0 are polynomials of degree up to "
                   f"{cost['degree']} in {', '.join(free)}")
            hints.append(f"give {' and '.join(free)} a value (e.g. {free[0]}=1/2)")
        else:
            why = f"the program has {len(prog.steps):,} steps to write out"
        hints.append(f"choose a smaller {' or '.join(rule.options)}" if rule.options else
                     "choose a smaller game")
        raise ValueError(f"rendering {what} would take about {took} (estimated; limit "
                         f"{RENDER_MAX_SECONDS:.0f} s): {why}; {', or '.join(hints)}")
    return form


@lru_cache(maxsize=128)
def _derivation(game, label, rule_name, form, hyper_items, option_items):
    rule, hyper, options = get_rule(rule_name), dict(hyper_items), dict(option_items)
    prog = _program(game, rule, hyper_items, option_items)
    names = latex_names(game, prog)
    groups = output_groups(game, rule, options)
    defs, psub = probabilities(game) if form == "closed" else ((), {})
    if game.kind == "iterated":
        values = game.value_polynomials()
    elif game.kind == "differentiable":
        values = tuple(closed(v, psub) for v in game.values())
    else:                   # the page gives the value program's size, not N/D
        values = ()
    grads, lines, update = {}, (), None
    if form == "closed":
        outs = [closed(e, psub) for e in prog.explicit()]
        for i, V in enumerate(game.values(), 1):
            for j, th in enumerate(game.theta, 1):
                grads[(i, j)] = tuple(closed(sp.diff(V, t), psub) for t in th)
    elif form == "cse":
        lines, outs = cse_lines(game, prog, names)
    else:                   # summary: nothing written out, the outputs only named
        outs = list(prog.outputs)
    outputs, k = {}, 0
    for name, n in groups:
        outputs[name] = tuple(outs[k:k + n])
        k += n
    if form == "closed" and rule.combine is not None:
        update, aux = combine_closed(rule, outputs, hyper, game)
        defs += aux
    zero = at_zero(game, rule, prog, outputs, update, defs, form)
    frozen = MappingProxyType
    return Derivation(game, rule, label, frozen(hyper), frozen(options), form, defs, values,
                      frozen(grads), lines, frozen(outputs), update, frozen(zero),
                      frozen(names), len(prog.steps), section_sizes(game, prog))


# ------------------------------------------------------------------ formatting
class _Latex(LatexPrinter):
    """sympy's LaTeX printer with powers of sigmoid (``sigmoid._latex`` takes no ``exp``)."""

    def _print(self, expr, **kwargs):
        if isinstance(expr, sigmoid):
            return self._print_sigmoid(expr, **kwargs)
        return super()._print(expr, **kwargs)

    def _print_sigmoid(self, expr, exp=None):
        tex = r"\sigma\left(%s\right)" % self._print(expr.args[0])
        return tex if exp is None else r"\sigma^{%s}\left(%s\right)" % (
            exp, self._print(expr.args[0]))


def _tex(expr, names=None):
    return _Latex({"symbol_names": names or {}}).doprint(expr)


def _index(game, a, j):
    """Subscript of parameter ``j`` of agent ``a``: ``1,CC`` (by label), ``1`` or ``1,x``."""
    th, lab = game.theta[a - 1], game.param_names[a - 1]
    if game.kind != "differentiable":
        return f"{a},{lab[j]}"
    return str(a) if len(th) == 1 else f"{a},{_tex(th[j])}"


def _entry_label(game, rule, name, k):
    """LaTeX of component ``k`` of output group ``name`` (an update, or a rule's primitive)."""
    m = re.fullmatch(r"g_(\d+)", name)
    if m:
        return f"g_{{{_index(game, int(m[1]), k)}}}"
    if name in rule.notes.blocks:          # a Jacobian block d xi_rows / d theta_cols
        rows, cols = rule.notes.blocks[name]
        nc = game.dims[cols - 1]
        return (rf"\partial_{{{_tex(game.theta[cols - 1][k % nc])}}} "
                rf"\xi_{{{_index(game, rows, k // nc)}}}")
    agent, j = 1, k                        # a joint vector over the agents' parameters
    while j >= game.dims[agent - 1]:
        j -= game.dims[agent - 1]
        agent += 1
    tex = rule.notes.primitives[name]
    base = f"({tex})" if " " in tex else tex
    return f"{base}_{{{_index(game, agent, j)}}}"


def _group_tex(rule, name):
    """LaTeX of output group ``name``: ``g_1``, or the rule's primitive (``"H_o xi"``)."""
    return name if re.fullmatch(r"g_\d+", name) else rule.notes.primitives[name]


def _prob_defs(d):
    return tuple((p, e) for p, e in d.definitions if isinstance(e, sigmoid))


def _vector_block(game, rule, groups, names):
    out = []
    for name, vals in groups.items():
        for k, e in enumerate(vals):
            out += [f"$$ {_entry_label(game, rule, name, k)} = {_tex(e, names)} $$", ""]
    return out


def _game_section(d, h):
    game, names = d.game, d.names
    out = [f"{h} The game", ""]
    if game.kind == "iterated":
        out += [f"{game.name}, iterated with memory-1 policies: agent $i$ plays C with "
                r"probability $p_{i,s} = \sigma(\theta_{i,s})$ in its own state "
                r"$s \in \{s0, CC, CD, DC, DD\}$ (own action first), "
                r"$\bar p_{i,s} = 1 - p_{i,s}$. Rewards over CC, CD, DC, DD (agent 1's action "
                f"first): $r_1 = {list(game.r1)}$, $r_2 = {list(game.r2)}$; "
                rf"$\gamma = {_tex(game.gamma)}$.", ""]
        return out + iterated_values(game)
    if game.kind == "repeated":
        return out + _repeated_game(game)
    out += [f"{game.name}, one-shot; values (maximised):", "",
            f"$$ V_1 = {_tex(game.V1)}, \\qquad V_2 = {_tex(game.V2)} $$", ""]
    if d.definitions:
        defs = ", ".join(f"${_tex(p)} = {_tex(s)}$" for p, s in _prob_defs(d))
        out += [rf"With {defs} (so $\sigma(-\theta) = 1 - p$):", "",
                f"$$ V_1 = {_tex(d.values[0], names)}, \\qquad "
                f"V_2 = {_tex(d.values[1], names)} $$", ""]
    return out


def _poly_lines(label: str, poly) -> list:
    r"""Markdown of ``label = poly`` by size: one line, broken lines, or ``[]`` (too large).

    At most :data:`~lola_sym.report.derive_forms.POLY_FLAT_MAX_TERMS` monomials go on one
    line; up to :data:`~lola_sym.report.derive_forms.POLY_MAX_TERMS` are broken into an
    ``aligned`` block of at most :data:`~lola_sym.report.derive_forms.LINE_MAX_FACTORS`
    symbol factors a line (at least one term).
    """
    terms = sp.Add.make_args(sp.expand(poly))
    if len(terms) <= POLY_FLAT_MAX_TERMS:
        return [f"$$ {label} = {_tex(poly)} $$", ""]
    if len(terms) > POLY_MAX_TERMS:
        return []
    ordered = sp.Add(*terms).as_ordered_terms()
    lines: list = []
    row: list = []
    width = 0
    for k, term in enumerate(ordered):
        tex = _tex(term)
        if k > 0:
            tex = f"- {tex[1:].lstrip()}" if tex.startswith("-") else f"+ {tex}"
        factors = sum(int(e) if e.is_Integer else 1
                      for b, e in term.as_powers_dict().items() if b.is_Symbol)
        if row and width + factors > LINE_MAX_FACTORS:
            lines.append(" ".join(row))
            row, width = [], 0
        row.append(tex)
        width += factors
    lines.append(" ".join(row))
    body = r" \\ ".join(("" if i == 0 else "& ") + ln for i, ln in enumerate(lines))
    return [rf"$$ \begin{{aligned}} {label} = {{}} & {body} \end{{aligned}} $$", ""]


def iterated_values(game) -> list:
    r"""Markdown lines of an iterated 2x2 game's exact values, structured by size.

    The first-move distribution :math:`p_0` and the transition matrix :math:`P` written out
    (:func:`lola_sym.report.derive_forms.chain_form`), :math:`V_i = N_i / D` by Cramer's rule,
    the determinant :math:`D = \det(I - \gamma P)` in powers of :math:`\gamma` with the sums
    of principal minors :math:`E_k` of :math:`P` as coefficients, and the expanded
    :math:`D`, :math:`N_1`, :math:`N_2` where they are small enough to read (their sizes
    otherwise).

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> lines = iterated_values(ipd())
    >>> next(ln for ln in lines if ln.startswith("$$ E_{1}"))
    '$$ E_{1} = p_{1,CC} p_{2,CC} + p_{1,CD} \\bar{p}_{2,DC} + p_{2,CD} \\bar{p}_{1,DC} + \\bar{p}_{1,DD} \\bar{p}_{2,DD} $$'
    >>> any(ln.startswith("$$ D =") for ln in lines)      # 65 monomials: only its size
    False
    """
    p0, P, E = chain_form(game)
    N1, N2, D = game.value_polynomials()
    states = ", ".join(_games.JOINT_STATES)
    out = [r"$V_i = p_0^\top (I - \gamma P)^{-1} r_i = N_i / D$ with "
           r"$D = \det(I - \gamma P)$ and $N_i = p_0^\top \operatorname{adj}(I - \gamma P)\, r_i$ "
           f"(Cramer's rule). The first move and the transitions over the joint actions "
           f"({states}, agent 1's action first; rows of $P$: the previous joint action), each "
           r"agent choosing in its own state (agent 2's probability after CD is "
           r"$p_{2,DC}$):", "",
           rf"$$ p_0 = {_tex(p0)} $$", "",
           rf"$$ P = {_tex(P)} $$", "",
           r"In powers of $\gamma$: $D = 1 - \gamma E_1 + \gamma^2 E_2 - \gamma^3 E_3 + "
           r"\gamma^4 E_4$, with $E_k$ the sum of the $k \times k$ principal minors of $P$ "
           r"($E_1 = \operatorname{tr} P$, $E_4 = \det P$):", ""]
    for k, e in enumerate(E, 1):
        out += _poly_lines(f"E_{{{k}}}", e) or [
            f"$E_{k}$ has {len(sp.Add.make_args(e))} monomials (not written out).", ""]
    sizes = {"D": D, "N_1": N1, "N_2": N2}
    shown = [label for label, poly in sizes.items() if _poly_lines(label, poly)]
    out += [rf"Expanded with $\gamma = {_tex(game.gamma)}$ "
            f"(`game.value_polynomials()`): " + ", ".join(
                f"${label}$ has {len(sp.Add.make_args(poly))} monomials"
                for label, poly in sizes.items())
            + (f"; written out when at most {POLY_MAX_TERMS}." if len(shown) < 3 else "."), ""]
    for label in shown:
        out += _poly_lines(label, sizes[label])
    return out


def _repeated_game(game) -> list:
    """A repeated game: agents, actions, states, the policy convention, rewards, value program."""
    n, m, space = game.n_players, game.memory, game.space
    acts = "; ".join(f"agent {i}: " + ", ".join(f"`{a}`" for a in game.labels[i - 1])
                     for i in range(1, n + 1))
    states = game.state_labels(1)
    where = ("no memory: one state, `s0`, and stationary mixed strategies" if m == 0 else
             f"memory {m}: an agent's state is the last "
             + (f"{m} joint actions" if m > 1 else "joint action") + " (`s0` before the first move"
             + (", then the shorter histories" if m > 1 else "") + "), read from the agent's "
             "own perspective: own action first, then the others in cyclic order from the next "
             "agent (a symmetric strategy is then the same vector for every agent)")
    out = [f"{game.name}: {n} agents repeat a one-shot game ({acts}) with discount "
           rf"$\gamma = {_tex(sp.sympify(game.gamma))}$; {where}.", "",
           f"States of each agent ({len(states)}, in the order of its parameters): "
           + ", ".join(f"`{s}`" for s in states) + ".", ""]
    if all(k == 2 for k in game.actions):
        policy = (r"Policies: one logit per state; agent $i$ plays its first action with "
                  r"probability $p_{i,s} = \sigma(\theta_{i,s})$ in state $s$, its second with "
                  r"$\bar p_{i,s} = 1 - p_{i,s}$.")
    else:
        policy = (r"Policies: with $k$ actions, $k - 1$ logits per state, one for each action "
                  r"but the last, which is the reference (logit 0): "
                  r"$\pi_{i,s}(a) = e^{\theta_{i,s:a}} / (1 + \sum_{b < k} e^{\theta_{i,s:b}})$ "
                  r"and $\pi_{i,s}(k) = 1 / (1 + \sum_{b < k} e^{\theta_{i,s:b}})$, a softmax "
                  r"(the sigmoid for two actions).")
    out += [policy + f" The agents have {', '.join(map(str, game.dims))} parameters, labelled "
            "`state` (two actions) or `state:action`. The policy table "
            "`game.policy_table(theta_1, ..., theta_n)[i - 1][..., s, a]` holds these "
            "probabilities (rows: the states above; columns: the actions), from which the chain "
            "can be rebuilt independently.", ""]
    out += ["Rewards by joint action (agent 1's action first):", "",
            "| joint action | " + " | ".join(f"$r_{i}$" for i in range(1, n + 1)) + " |",
            "|---|" + "---|" * n]
    for j, a in enumerate(space.joint):
        out.append(f"| `{space.joint_label(a)}` | "
                   + " | ".join(f"${_tex(sp.sympify(game.payoffs[i][j]))}$" for i in range(n))
                   + " |")
    prog = game.value_program()
    if m == 0:
        how = (r"$V_i = \frac{1}{1 - \gamma} \sum_a \pi(a)\, r_i(a)$ with $\pi$ the product of "
               r"the agents' mixed strategies")
    else:
        N = len(space.histories(m))
        how = (rf"$V_i = \sum_t \gamma^t\, \mathbb{{E}}[r_i]$, exactly: the chain over the {N} "
               rf"histories of length {m} is solved by Gaussian elimination without pivoting "
               r"($(I - \gamma P)^\top$ is column diagonally dominant)")
    out += ["", f"Values (maximised): {how}, in a straight-line program of {len(prog.steps):,} "
            f"steps (`game.value_program()`); no N/D closed form is written out.", ""]
    return out


def _derived_section(d, h):
    """The gradients and update (closed), program (CSE) or its size (summary), and theta = 0."""
    game, rule, names = d.game, d.rule, d.names
    out = []
    if d.form == "summary":
        parts = ", ".join(f"{title.lower()} {n:,}" for title, n in d.sections)
        out += [f"{h} Derived program", "",
                f"A straight-line program of {d.size:,} steps ({parts}): more than "
                f"{CSE_MAX_STEPS:,}, so it is not written out line by line "
                f"(`lola_sym.update_field(game, {rule.name!r}).program` holds it; "
                f"`render(..., form='cse')` writes it).", ""]
    elif d.form == "closed":
        out += [f"{h} Value gradients", ""]
        for (i, j), vals in d.gradients.items():
            for t, e in zip(game.theta[j - 1], vals):
                out += [f"$$ \\partial_{{{_tex(t)}}} V_{i} = {_tex(e, names)} $$", ""]
        title = "Update" if rule.combine is None else "Primitives"
        out += [f"{h} {title} (closed form)", ""]
        if d.definitions:
            defs = ", ".join(f"${_tex(p)} = {_tex(s)}$" for p, s in _prob_defs(d))
            out += [f"Every intermediate substituted and factored; {defs}.", ""]
        out += _vector_block(game, rule, d.outputs, names)
    else:
        n = sum(len(lines) for _, lines in d.lines)
        out += [f"{h} Derived program (common-subexpression form)", "",
                f"{n} lines, evaluated in order, then the outputs. Named lines are the "
                r"policies, the value program (Gaussian elimination of $(I - \gamma P)^\top u = "
                r"p_0$ with inverted pivots $\rho_k$; $u$ the discounted state visitation), the "
                r"value gradients $\partial_{\theta_{j,s}} V_i$ and the rule's named terms; "
                r"$x_k$ are common subexpressions and intermediate adjoints (sympy.cse over the "
                r"exact reverse/forward-mode program)." if game.kind == "iterated" else
                f"{n} lines, evaluated in order, then the outputs; $x_k$ are common "
                "subexpressions and intermediate adjoints (sympy.cse over the exact program).",
                ""]
        for title, lines in d.lines:
            out += [f"**{title}** ({len(lines)} lines)", ""]
            out += [f"- ${_tex(s, names)} = {_tex(e, names)}$" for s, e in lines]
            out.append("")
        out += [f"{h} {'Update' if rule.combine is None else 'Primitives'}", ""]
        for name, vals in d.outputs.items():
            out += [f"- ${_entry_label(game, rule, name, k)} = {_tex(e, names)}$"
                    for k, e in enumerate(vals)]
        out.append("")
    if rule.combine is not None:
        out += [f"{h} Combination", "", f"$$ {rule.notes.combination} $$", ""]
        if d.update is not None:
            out += ["Finished update, closed form:", ""]
            out += _vector_block(game, rule, {f"g_{i}": g for i, g in enumerate(d.update, 1)},
                                 names)
            for sym, e in d.definitions[len(_prob_defs(d)):]:
                out += [f"with $$ {_tex(sym)} = {_tex(e, names)} $$", ""]
    out += _zero_section(d, h)
    return out


def _zero_section(d, h):
    z = d.at_zero
    if z["values"] is None:
        return [f"{h} At θ = 0", "", f"Not written out: {z['skipped']}.", ""]
    theta = all_theta(d.game)
    out = [f"{h} At θ = 0", "", "Exact values:", ""]
    for name, vals in z["values"].items():
        vec = ", ".join(_tex(v, d.names) for v in vals)
        vec = vec if len(vals) == 1 else rf"\left({vec}\right)"
        out += [f"$$ {_group_tex(d.rule, name)} = {vec} $$", ""]
    if z["jacobian"] is None and z["no_jacobian"]:
        out += [f"The Jacobian at $\\theta = 0$ is not written out: {z['no_jacobian']}.", ""]
    if z["jacobian"] is not None:
        cols = ", ".join(_tex(t) for t in theta)
        rows = ("$g_1$ then $g_2$" if len(d.game.dims) == 2 else
                f"$g_1$ to $g_{len(d.game.dims)}$")
        out += [rf"Jacobian $J = \partial g / \partial \theta$ at $\theta = 0$ (rows {rows}, "
                f"columns ${cols}$):", "",
                f"$$ J = {_tex(z['jacobian'], d.names)} $$", "",
                "Characteristic polynomial:", "",
                rf"$$ \det(\lambda I - J) = {_tex(z['charpoly'], d.names)} $$", ""]
        if z["eigenvalues"]:
            eig = ", \\quad ".join(_tex(r, d.names) + (f" \\; (\\times {m})" if m > 1 else "")
                                   for r, m in z["eigenvalues"].items())
            out += ["Eigenvalues" + (" (from the factors of degree at most two):"
                                     if z["unsolved"] else ":"), "", f"$$ {eig} $$", ""]
        if z["unsolved"]:
            out += [f"{z['unsolved']} eigenvalues are roots of factors of degree above two "
                    "(not solved here).", ""]
    return out


def _hyper_text(d):
    if not d.hyper:
        return "No hyper-parameters."
    parts = []
    for k, v in d.hyper.items():
        tex = d.rule.hyper_latex(k)
        parts.append(f"${tex}$ symbolic" if v.is_Symbol else f"${tex} = {_tex(v)}$")
    opts = [f"{k} = {v}" for k, v in d.options.items()]
    return "Hyper-parameters: " + ", ".join(parts + opts) + "."


def _notes(rule: Rule) -> Notes:
    """The rule's notes (its equations and source), which a page prints."""
    if rule.notes is None:
        raise ValueError(f"rule {rule.name!r} declares no notes (equations, source) to print; "
                         f"give its Rule a Notes(...)")
    return rule.notes


def render(game, rule, *, form: str = "auto", **hyper) -> str:
    r"""Markdown (with LaTeX) of ``rule`` derived on ``game``.

    Parameters
    ----------
    game : str or game
        A catalogue name (e.g. ``"ipd"``, ``"matching_pennies"``) or a game object.
    rule : str
        A registered rule name (e.g. ``"nl"``, ``"lola"``, ``"sos"``).
    form : {"auto", "closed", "cse"}
        See :func:`derivation`.
    **hyper
        Exact hyper-parameter values (symbols when omitted) and options
        (``order`` of ``"hola"``).

    Returns
    -------
    str
        The page: the game's values, the rule, the derived gradients and
        update (closed or common-subexpression form), and :math:`\theta = 0`.

    Examples
    --------
    >>> page = render("matching_pennies", "lola")
    >>> print(page.splitlines()[0])
    # LOLA (first order, Eq. 4.4) on matching pennies
    >>> print(next(line for line in page.splitlines() if line.startswith("$$ g_{1}")))
    ... # doctest: +NORMALIZE_WHITESPACE
    $$ g_{1} = 2 p_{1} \left(p_{1} - 1\right) \left(4 \eta p_{2}^{2} \left(2 p_{1} - 1\right)
       \left(p_{2} - 1\right)^{2} + 2 p_{2} - 1\right) $$
    >>> render("matching_pennies", "lol")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown rule 'lol'; choose one of [...]
    """
    d = derivation(game, rule, form=form, **hyper)
    note = _notes(d.rule)
    args = "".join(f", {k}={v}" for k, v in d.options.items())
    args += "".join(f", {k}={v if v.is_Integer else repr(str(v))}"
                    for k, v in d.hyper.items() if not v.is_Symbol)
    game_arg = repr(d.label) if d.label in _games.CATALOGUE else "game"
    out = [f"# {d.rule.title} on {d.game.name}", "",
           f"Derived by `lola_sym.report.derive.render({game_arg}, {d.rule.name!r}{args})`; do not "
           "edit by hand. Values $V^i$ are maximised; each agent updates "
           r"$\theta_i \leftarrow \theta_i + \delta g_i$.", ""]
    out += _game_section(d, "##")
    out += ["## The rule", "", f"$$ {note.values} $$", ""]
    if note.remark:
        out += [note.remark, ""]
    out += [f"Source: {note.source} {_hyper_text(d)} See [the rule's page]"
            f"(../rules/{d.rule.name}.md).", ""]
    out += _derived_section(d, "##")
    return "\n".join(out).rstrip() + "\n"


def has_program(rule) -> bool:
    """Whether a rule's field is one derived program (so that it has derivation pages).

    The rules tagged ``shaping_since_lola`` (POLA, LOQA, Advantage Alignment)
    are computed numerically on iterated games instead.

    Examples
    --------
    >>> has_program(get_rule("lola")), has_program(get_rule("pola"))
    (True, False)
    """
    return "shaping_since_lola" not in get_rule(rule).tags


def rule_page(rule) -> str:
    r"""A short Markdown page on one rule: definition, source, form on matching pennies.

    Parameters
    ----------
    rule : str
        A registered rule name.

    Returns
    -------
    str
        The definition (values maximised, :math:`\eta` the opponent's assumed
        step) and the source's loss form, the registry metadata, and the rule
        derived on one-shot matching pennies with symbolic hyper-parameters.

    Examples
    --------
    >>> page = rule_page("nl")
    >>> print(page.splitlines()[0])
    # naive learner (`nl`)
    """
    rule, _, _ = _resolve_rule(rule, {})
    note = _notes(rule)
    hyper = ", ".join(f"${h.latex}$ (`{h.name}`, default {h.default:g})"
                      for h in rule.hyper_specs) or "none"
    opts = ", ".join(f"`{k}` (default {v})" for k, v in rule.options.items())
    out = [f"# {rule.title} (`{rule.name}`)", "",
           f"Generated by `lola_sym.report.derive.rule_page({rule.name!r})`; do not edit by hand.", "",
           "## Definition", "",
           "Values $V^i$ maximised, ascent $\\theta_i \\leftarrow \\theta_i + \\delta g_i$; "
           r"$\xi = (\nabla_1 V^1, \nabla_2 V^2)$, $H = \partial \xi / \partial \theta$ with "
           r"off-diagonal blocks $H_o$, $\chi_1 = (\nabla_2 V^1)^\top \nabla_1 \nabla_2 V^2$; "
           r"$\eta$ is the step the agent assumes its opponent takes.", "",
           f"$$ {note.values} $$", ""]
    if note.remark:
        out += [note.remark, ""]
    out += [r"In the source's convention (losses $L_i = -V^i$ minimised, "
            r"$\theta \leftarrow \theta - \mathrm{lr}\, g$, lookahead $\alpha = \eta$; $\xi$, $H$, "
            r"$\chi$ of the losses):", "", f"$$ {note.losses} $$", "",
            f"Source: {note.source}", "",
            f"Registry: hyper-parameters {hyper}" + (f"; options {opts}" if opts else "") +
            f"; derivatives of the values up to order {rule.order}"
            + ("; combined in numpy from exact primitives" if rule.combine else "") + ".", ""]
    if not has_program(rule):
        out += ["## How it is computed", "",
                "This rule has no derived straight-line program: `lola_sym.update_field` "
                "computes its field numerically on iterated games, exact to the tolerance "
                "its module states (a Newton solve, or a closed form on the game's chain), "
                "with `field.path` saying which. It has no page on one-shot games.", ""]
        return "\n".join(out).rstrip() + "\n"
    d = derivation("matching_pennies", rule.name)
    out += ["## On one-shot matching pennies", "",
            r"$V_1 = -(2 p_1 - 1)(2 p_2 - 1) = -V_2$ with $p_i = \sigma(\theta_i)$; the Nash "
            r"equilibrium is $\theta = 0$. " + _hyper_text(d), ""]
    out += _derived_section(d, "###")
    return "\n".join(out).rstrip() + "\n"


def write_pages(render_page, filenames, out_dir) -> None:
    """Write ``render_page(name)`` to ``out_dir/name`` for each name, timing each (derivations/).

    The generator scripts in ``derivations/`` share this; their committed output
    is what the tests compare with ``render_page`` now.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_pages(lambda name: f"# {name}\\n", ["a.md"], tmp)   # doctest: +ELLIPSIS
    ...     print(pathlib.Path(tmp, "a.md").read_text())
    wrote .../a.md (0.0 s)
    total 0.0 s
    # a.md
    <BLANKLINE>
    """
    import pathlib
    import time
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for filename in filenames:
        t = time.perf_counter()
        (out / filename).write_text(render_page(filename))
        print(f"wrote {out / filename} ({time.perf_counter() - t:.1f} s)")
    print(f"total {time.perf_counter() - t0:.1f} s")
