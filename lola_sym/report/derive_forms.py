r"""The forms :mod:`lola_sym.report.derive` writes a derived program in.

* closed: every intermediate substituted, :math:`\sigma(\pm\theta)` written in
  probabilities and factored (:func:`closed`);
* common-subexpression form: the program's lines after copy propagation, value
  numbering and ``sympy.cse``, with readable LaTeX names (:func:`cse_lines`);
* the field and its Jacobian at :math:`\theta = 0`, exactly, by forward mode in
  polynomial arithmetic over the rationals (:func:`at_zero`);
* the printed lines as one numeric Python function (:func:`numeric_function`);
* an estimate of the time all this takes, before doing it (:func:`cost_estimate`).

Everything rule-specific is read from the rule objects: the LaTeX of their
hyper-parameters and named program steps (:class:`lola_sym.rules.Hyper`,
:class:`lola_sym.rules.Notes`), and a combined rule's finished update
(:meth:`lola_sym.rules.Rule.closed_update`, the same finishing step the field
runs in numpy).

Private helpers of :mod:`lola_sym.report.derive`; tested through it.
"""

from __future__ import annotations

import math
import re
from itertools import combinations, count
from types import MappingProxyType

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from lola_sym.games.chain import first_move, transitions
from lola_sym.games.histories import StateSpace
from lola_sym.games.layout import prob_symbols
from lola_sym.rules.arithmetic import NoClosedForm
from lola_sym.rules.gradients import gradient_program
from lola_sym.program import sigmoid, softmax, softmax_numpy
from lola_sym.rules import RULES

#: Largest program (steps) evaluated exactly at theta = 0 (field and Jacobian).
JET_MAX_STEPS = 2500
#: Largest characteristic polynomial (operations) whose factors are solved.
EIGEN_MAX_OPS = 3000
#: Largest Jacobian at theta = 0 (parameters of all players) computed, printed and given its
#: characteristic polynomial: the 2x2 memory-1 games have 10 parameters; the repeated games'
#: 27 (3-player contribution) to 42 (memory-2 IPD) give pages of the exact field only.
JACOBIAN_MAX_DIM = 20
LAM = sp.Symbol("lambda")


#: Largest polynomial (monomials) printed on one line; a larger one is broken into lines of
#: at most :data:`LINE_MAX_FACTORS` factors, up to :data:`POLY_MAX_TERMS` monomials, beyond
#: which only its size is printed beside the structured form it comes from (the IPD's D has
#: 65 monomials, N_i 147; the sums of principal minors of its P 4 to 24).
POLY_FLAT_MAX_TERMS = 8
#: Most symbol factors on one line of a polynomial broken into lines: the documentation site's
#: column (furo, 1280 px window) holds about 12 factors such as p_{1,CC} (16 overflowed).
LINE_MAX_FACTORS = 12
#: Largest polynomial (monomials) written out at all.
POLY_MAX_TERMS = 32


def chain_form(game) -> tuple:
    r"""``(p0, P, E)``: the memory-1 chain of a 2x2 iterated game, in probability symbols.

    ``p0`` is the first move's distribution over the joint actions CC, CD, DC, DD (agent 1's
    action first), ``P`` the 4 x 4 transition matrix (row: the previous joint action) as a
    sympy ``ImmutableMatrix``, both built by the one chain builder
    (:func:`lola_sym.games.chain.transitions`) from each agent's own-perspective
    probabilities :math:`p_{i,s}` and :math:`\bar p_{i,s}`; ``E[k - 1]`` is the sum of the
    :math:`k \times k` principal minors of :math:`P`, so that

    .. math:: \det(I - \gamma P) = 1 + \sum_{k=1}^{4} (-\gamma)^k E_k

    (:math:`E_1 = \operatorname{tr} P`, :math:`E_4 = \det P`): the determinant ``D`` of the
    values :math:`V_i = N_i / D` in powers of :math:`\gamma`.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> p0, P, E = chain_form(ipd())
    >>> P[0, 0], E[0]
    (p_1,CC*p_2,CC, p_1,CC*p_2,CC + p_1,CD*pbar_2,DC + p_2,CD*pbar_1,DC + pbar_1,DD*pbar_2,DD)
    >>> [len(sp.Add.make_args(e)) for e in E]        # monomials of E_1 .. E_4
    [4, 12, 24, 24]
    """
    space = StateSpace((2, 2), 1, (("C", "D"),) * 2)
    symbols = (prob_symbols(1), prob_symbols(2))

    def prob(i, state, action):
        return symbols[i][action][state]
    first = first_move(space, prob)
    p0 = sp.ImmutableMatrix([[first[(a,)] for a in space.joint]])
    rows = []
    for history in space.histories(1):
        nxt = transitions(space, prob, history)
        rows.append([nxt[(a,)] for a in space.joint])
    P = sp.ImmutableMatrix(rows)
    n = P.shape[0]
    E = tuple(sp.expand(sum(P.extract(list(c), list(c)).det(method="berkowitz")
                            for c in combinations(range(n), k))) for k in range(1, n + 1))
    return p0, P, E


def hyper_names() -> set:
    """Names of every registered rule's hyper-parameters (collected in by :func:`factor_deep`)."""
    return {h for r in RULES.values() for h in r.hyper}

#: Longest a page's exact work (common-subexpression form, exact field and spectrum at
#: theta = 0) may take, estimated by :func:`cost_estimate`, in seconds; render refuses beyond.
RENDER_MAX_SECONDS = 60.0
#: Measured on a shared 2-core machine (HOLA on Tandem, eta symbolic): the exact values and
#: Jacobian at theta = 0 (:func:`_jet`) took 4.3 s at 1.26e6 units of :func:`polynomial_work`
#: (order 7) and 70 s at 5.06e6 (order 8): about the square of the work, as polynomial
#: products of twice the degree with longer coefficients.
_JET_SECONDS, _JET_WORK = 70.0, 5.06e6
#: Factoring the characteristic polynomial and simplifying its roots: 20 s at degree 252 in
#: eta (Tandem, HOLA order 6), 124 s for the factorisation alone at degree 508 (order 7).
_SPECTRUM_SECONDS, _SPECTRUM_DEGREE, _SPECTRUM_POWER = 20.0, 252, 2.5
#: ``sympy.cse`` of the program, its tidying and its printing, per step and per expression
#: node: measured 5.6 s for 1,022 steps of 11,014 nodes (Tandem, HOLA order 8), 34 s for 2,750
#: of 227,164 (matching pennies, order 7), 135 s for 5,482 of 821,870 (order 8), 98 s for
#: 4,112 of 576,628 (ultimatum, order 8), 61 s for 6,175 of 196,555 (IPD, order 4, with the
#: rest of the page); the sum of the two terms bounds each of these from above.
_CSE_SECONDS_PER_STEP, _CSE_SECONDS_PER_NODE = 5e-3, 1.7e-4

def numeric_function(inputs, steps, results):
    """A Python function of ``inputs`` running the lines ``steps`` and returning ``results``.

    Each line becomes one assignment, printed by sympy's NumPy printer, in order.
    """
    var = {s: sp.Symbol(f"v{i}") for i, s in enumerate(list(inputs) + [s for s, _ in steps])}
    printer = _Code({"fully_qualified_modules": False})
    body = [f"    {var[s]} = {printer.doprint(sp.sympify(e).xreplace(var))}" for s, e in steps]
    body.append("    return [" + ", ".join(printer.doprint(sp.sympify(e).xreplace(var))
                                      for e in results) + "]")
    src = f"def f({', '.join(str(var[s]) for s in inputs)}):\n" + "\n".join(body) + "\n"
    namespace = {name: getattr(np, name) for name in dir(np) if not name.startswith("_")}
    namespace.update({"numpy": np, "sign": np.sign, "sigmoid": _sigmoid,
                      "softmax": softmax_numpy})
    exec(compile(src, "<lola_sym.report.derive>", "exec"), namespace)  # noqa: S102 (generated here)
    return namespace["f"]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class _Code(NumPyPrinter):
    """sympy's NumPy printer, with the package's sigmoid and softmax."""

    def _print_sigmoid(self, expr):
        return f"sigmoid({self._print(expr.args[0])})"

    def _print_softmax(self, expr):
        return f"softmax({', '.join(self._print(a) for a in expr.args)})"


def output_groups(game, rule, options):
    """``(name, size)`` of the program's outputs: the update of each agent, or the primitives."""
    if rule.primitives is None:
        return tuple((f"g_{i}", d) for i, d in enumerate(game.dims, 1))
    return tuple(rule.primitives(game, **options))


def all_theta(game) -> tuple:
    """Every player's parameter symbols, in order (the columns of the field's Jacobian)."""
    return tuple(t for th in game.theta for t in th)


def probabilities(game):
    """``((p, sigmoid(theta)), ...)`` for the one-shot game's parameters, and theta -> p."""
    defs, psub = [], {}
    used = game.V1.has(sigmoid) or game.V2.has(sigmoid)
    for th in game.theta if used else ():
        for t in th:
            p = sp.Symbol("p_" + t.name.removeprefix("theta_"), positive=True)
            defs.append((p, sigmoid(t)))
            psub[t] = p
    return tuple(defs), psub


def factor_deep(expr):
    """The shorter of two simplified forms, also inside the arguments of sigmoid and sign.

    ``sympy.factor``, and the expression collected in its hyper-parameters with
    each coefficient factored (LOLA's :math:`\\xi + \\eta \\chi` stays visible).
    """
    expr = expr.replace(lambda n: isinstance(n, (sigmoid, sp.sign)),
                        lambda n: n.func(factor_deep(n.args[0])))
    best = sp.factor(expr)
    names = hyper_names()
    hyper = sorted((s for s in expr.free_symbols if s.name in names), key=str)
    if hyper:
        num, den = sp.fraction(sp.together(expr))

        def collected(x):
            parts = sp.collect(sp.expand(x), hyper, evaluate=False)
            return sp.factor_terms(sp.Add(*[k * sp.factor(v) for k, v in parts.items()]))
        other = collected(num) / collected(den)
        if sp.count_ops(other) < sp.count_ops(best):
            best = other
    return best


def closed(expr, psub):
    r"""An explicit expression with :math:`\sigma(\pm\theta)` written in probabilities, factored."""
    def conv(node):
        arg = node.args[0]
        if arg in psub:
            return psub[arg]
        if -arg in psub:
            return 1 - psub[-arg]
        return node
    expr = sp.sympify(expr).replace(lambda n: isinstance(n, sigmoid), conv)
    return factor_deep(expr)


def combine_closed(rule, outputs, hyper, game):
    """A combined rule's finished update from closed primitives, with its auxiliary
    definitions, or ``(None, ())`` where the finishing step has no closed form (SOS's
    piecewise switch, CGD's inverse beyond 4 x 4): :meth:`Rule.closed_update
    <lola_sym.rules.Rule.closed_update>`, inner products and entries factored."""
    try:
        update, aux = rule.closed_update(outputs, hyper, game, simplify=factor_deep)
    except NoClosedForm:
        return None, ()
    return tuple(tuple(factor_deep(e) for e in g) for g in update), aux


# ------------------------------------------------------------------ CSE form
#: LaTeX of the named steps every program shares (value gradients, the value program's
#: elimination); the rules' own named steps are declared with them (Notes.steps)
_SPECIAL = [
    (r"dV(\d)/dtheta_(\d),(.+)", lambda m, th: rf"\partial_{{{th(m[2], m[3])}}} V_{{{m[1]}}}"),
    (r"ipiv_(\d)", lambda m, th: rf"\rho_{{{m[1]}}}"),
    (r"U(\d)_(\d)(\d)", lambda m, th: rf"U^{{({m[1]})}}_{{{m[2]}{m[3]}}}"),
]


def _rule_steps() -> list:
    """``(pattern, format)`` for the named steps every registered rule declares."""
    out = []
    for rule in RULES.values():
        for stem, tex in (rule.notes.steps if rule.notes is not None else ()):
            def fmt(m, th, stem=stem, tex=tex):
                # a group of the stem (HOLA's level) is written \1, \2, ... in the LaTeX
                for k, group in enumerate(re.fullmatch(stem, m["stem"]).groups(), 1):
                    tex = tex.replace(f"\\{k}", group)
                return rf"{tex}_{{{_index(th, m['agent'], m['label'])}}}"
            out.append((rf"(?P<stem>{stem})_(?P<agent>\d+),(?P<label>.+)", fmt))
    return out


def _index(th, agent, label):
    """Subscript of agent ``agent``'s parameter ``label``: ``1,s0``, or ``1`` for one parameter."""
    return th(agent, label, index=True)


def latex_names(game, prog) -> dict:
    """LaTeX of the program's named symbols (anonymous ones are numbered later)."""
    labels = {}
    for agent, (params, names) in enumerate(zip(game.theta, game.param_names), 1):
        for t, n in zip(params, names):
            labels[(str(agent), n)] = (sp.latex(t), len(params))

    def th(agent, label, index=False):
        tex, n = labels[(agent, label)]
        if not index:
            return tex
        if game.kind == "iterated":
            return f"{agent},{label}"
        return agent if n == 1 else f"{agent},{tex}"

    out: dict = {}
    for rule in RULES.values():
        for h in rule.hyper_specs:
            out.setdefault(sp.Symbol(h.name, positive=True), h.latex)
    patterns = _SPECIAL[:1] + _rule_steps() + _SPECIAL[1:]
    for s, e in prog.steps:
        name = s.name
        if name.startswith("p(") and isinstance(e, sigmoid):
            arg = e.args[0]
            base, bar = (arg, False) if arg.is_Symbol else (-arg, True)
            if base.is_Symbol and base in all_theta(game):
                sub = base.name.removeprefix("theta_")
                out[s] = rf"\bar{{p}}_{{{sub}}}" if bar else f"p_{{{sub}}}"
            continue
        for pattern, fmt in patterns:
            m = re.fullmatch(pattern, name)
            if m:
                out[s] = fmt(m, th)
                break
    return out


def section_sizes(game, prog) -> tuple:
    """``(title, steps)`` of the program's sections, in order."""
    return tuple((title, len(steps)) for title, steps in _sections(game, prog))


def _sections(game, prog):
    value_syms = set(game.value_program().symbols)
    grad_syms = set(gradient_program(game)[0].symbols) - value_syms
    parts = {"Policies and values": [], "Value gradients": [], "Rule terms": []}
    for s, e in prog.steps:
        key = ("Policies and values" if s in value_syms else
               "Value gradients" if s in grad_syms else "Rule terms")
        parts[key].append((s, e))
    return [(k, v) for k, v in parts.items() if v]


def _anonymous(s):
    return s.name.startswith("_")


def _tidy(steps, outputs):
    """Copy propagation and value numbering on a straight-line program.

    Anonymous lines that only copy (``x = y``, ``x = -y``, ``x = 3``) are
    substituted, and an anonymous line repeating an earlier expression (an inlined
    copy of the value program, say) is replaced by the earlier symbol. Named lines
    are kept. Returns the new steps and outputs.
    """
    subst, seen, out = {}, {}, []
    for s, e in steps:
        e = e.xreplace(subst)
        if _anonymous(s):
            if e.is_Symbol or e.is_Number or (-e).is_Symbol:
                subst[s] = e
                continue
            if e in seen:
                subst[s] = seen[e]
                continue
        seen.setdefault(e, s)
        out.append((s, e))
    return out, [sp.sympify(o).xreplace(subst) for o in outputs]


def cse_lines(game, prog, names):
    """The program as sections of ``(symbol, expression)`` lines after ``sympy.cse``."""
    known = set(prog.inputs)
    tmp = (sp.Symbol(f"_cse{n}") for n in count())
    section_of = {s: title for title, steps in _sections(game, prog) for s, _ in steps}
    steps, outputs = _tidy(prog.steps, prog.outputs)
    grouped = {}
    for s, e in steps:
        grouped.setdefault(section_of[s], []).append((s, e))
    sections = []
    for title, steps in grouped.items():
        repl, reduced = sp.cse([e for _, e in steps], symbols=tmp, order="none")
        items = list(repl) + [(s, r) for (s, _), r in zip(steps, reduced)]
        ordered = []
        while items:
            rest = []
            for s, e in items:
                if e.free_symbols <= known:
                    ordered.append((s, e))
                    known.add(s)
                else:
                    rest.append((s, e))
            if len(rest) == len(items):
                raise RuntimeError(f"cyclic program section {title!r}")  # pragma: no cover
            items = rest
        sections.append((title, ordered))
    # tidy again after cse, keeping the sections
    flat = [(s, e) for _, lines in sections for s, e in lines]
    tidy, outputs = _tidy(flat, outputs)
    keep = dict(tidy)
    sections = [(title, [(s, keep[s]) for s, _ in lines if s in keep])
                for title, lines in sections]
    # a named line that only copies an anonymous one takes its place
    alias = {}
    for _, lines in sections:
        for s, e in lines:
            if not s.name.startswith("_") and e.is_Symbol and e.name.startswith("_") \
                    and e not in alias:
                alias[e] = s
    sections = [(title, [(alias.get(s, s), e.xreplace(alias)) for s, e in lines
                         if not (e in alias and alias[e] == s)])
                for title, lines in sections]
    # number the anonymous symbols in order of appearance
    letter = "w" if any(t.name.startswith("x") for th in game.theta for t in th) else "x"
    rename, k = {}, count(1)
    for _, lines in sections:
        for s, _ in lines:
            if s.name.startswith("_"):
                rename[s] = sp.Symbol(f"{letter}_{next(k)}")
    sections = tuple((title, tuple((s.xreplace(rename), e.xreplace(rename)) for s, e in lines))
                     for title, lines in sections)
    outs = [o.xreplace(alias).xreplace(rename) for o in outputs]
    return sections, outs


# -------------------------------------------------------------- at theta = 0
def at_zero(game, rule, prog, outputs, update, defs, form):
    theta = all_theta(game)
    zero = {t: sp.Integer(0) for t in theta}
    finished = rule.combine is None or update is not None
    small = len(theta) <= JACOBIAN_MAX_DIM
    smooth = finished and small
    res = {"values": None, "jacobian": None, "charpoly": None, "eigenvalues": None,
           "unsolved": 0, "skipped": None,
           "no_jacobian": None if small else (f"{len(theta)} parameters, more than "
                                              f"{JACOBIAN_MAX_DIM}")}
    if form == "closed":
        exprs = [e for g in update for e in g] if update is not None else \
            [e for v in outputs.values() for e in v]
        for sym, e in reversed(defs):
            exprs = [x.xreplace({sym: e}) for x in exprs]
        vals = [factor_deep(e.xreplace(zero)) for e in exprs]
        jac = None
        # a sign switch is locally constant where its argument is not zero
        switches = {n: sp.sign(sp.factor(n.args[0].xreplace(zero)))
                    for e in exprs for n in e.atoms(sp.sign)}
        smooth = smooth and all(v != 0 for v in switches.values())
        exprs = [e.xreplace(switches) for e in exprs]
        if smooth:
            jac = sp.Matrix([[factor_deep(sp.diff(e, t).xreplace(zero)) for t in theta]
                             for e in exprs])
    elif len(prog.steps) <= JET_MAX_STEPS:
        jacobian = rule.combine is None and small
        try:
            out = _jet(prog, prog.outputs, zero, jacobian=jacobian)
        except NotRational:
            res["skipped"] = ("the exact values involve the sigmoid at non-zero points "
                              "(the lookahead leaves theta = 0)")
            return res
        vals = [v for v, _ in out]
        jac = sp.Matrix([d for _, d in out]) if jacobian else None
    else:
        res["skipped"] = f"the program has more than {JET_MAX_STEPS} steps"
        return res
    if finished:
        res["values"], k = {}, 0
        for i, d in enumerate(game.dims, 1):
            res["values"][f"g_{i}"] = tuple(vals[k:k + d])
            k += d
    else:
        res["values"], k = {}, 0
        for name, v in outputs.items():
            res["values"][name] = tuple(vals[k:k + len(v)])
            k += len(v)
    res["values"] = MappingProxyType(res["values"])
    if jac is not None:
        res["jacobian"] = jac = sp.ImmutableMatrix(jac)
        if jac.has(sigmoid):    # not rational in the hyper-parameters: no spectrum written
            return res
        cp = sp.factor(jac.charpoly(LAM).as_expr())
        res["charpoly"] = cp
        if sp.count_ops(cp) <= EIGEN_MAX_OPS:
            eig, unsolved = {}, 0
            for f, m in sp.factor_list(cp, LAM)[1]:
                if sp.degree(f, LAM) > 2:
                    unsolved += m * sp.degree(f, LAM)
                    continue
                for r, mr in sp.roots(f, LAM).items():
                    r = sp.simplify(r)
                    eig[r] = eig.get(r, 0) + m * mr
            res["eigenvalues"], res["unsolved"] = MappingProxyType(eig), unsolved
    return res


# ------------------------------------------------------------------- cost
def polynomial_work(prog, theta, jacobian=True) -> tuple:
    r"""``(degree, work)``: the degree of :func:`_jet`'s polynomials (bounded) and its work.

    One pass that mirrors :func:`_jet` at :math:`\theta = 0` in exact rational
    arithmetic with the free hyper-parameters set to fixed unremarkable rationals
    (no polynomials, so it is fast), carrying with each value and gradient a bound
    on its degree in the hyper-parameters: sums take the largest, products add,
    powers multiply, and a value that comes out exactly zero is zero as a
    polynomial (Nash points, where every lookahead shift vanishes, keep low
    degrees). ``work`` adds, over the products and powers, the number of
    coefficients of the polynomials formed (:math:`\binom{d + k}{k}` for degree
    ``d`` in ``k`` hyper-parameters) for the value and the ``len(theta)`` gradient
    entries. Where :func:`_jet` would give up (:class:`NotRational`), so does this,
    with the work done so far. ``degree`` is that of the outputs' gradients, the
    Jacobian's entries (``-1`` when they are all zero).

    Examples
    --------
    >>> from lola_sym.games import tandem
    >>> from lola_sym.field import derive
    >>> prog = derive(tandem(), "hola", (("order", 5),))[0]
    >>> polynomial_work(prog, tandem().theta[0] + tandem().theta[1])[0]   # 2**(5+1) - 2
    62
    """
    theta = list(theta)
    point = set(theta) | set(prog.symbols)
    found: set = set()
    for e in [e for _, e in prog.steps] + [sp.sympify(x) for x in prog.outputs]:
        found |= e.free_symbols - point
    free = sorted(found, key=str)
    k, n = max(len(free), 1), len(theta) if jacobian else 0
    QQ = sp.QQ
    # primes over primes: never a root of the small-integer polynomials met here
    env = {s: (QQ(p, 10007), [QQ(0)] * n, 1, -1)
           for s, p in zip(free, (7919, 7927, 7933, 7937, 7949, 7951))}
    for i, t in enumerate(theta):
        env[t] = (QQ(0), [QQ(int(i == j)) for j in range(n)], -1, 0)
    work = [0]

    def coeffs(d):
        return math.comb(max(d, 0) + k, k)

    def deg(v, d):                  # exact zeros are zero polynomials
        return d if v else -1

    def gdeg(g, d):
        return d if any(g) else -1

    def fwd(e):
        if e in env:
            return env[e]
        if e.is_Number:
            c = QQ.convert(e)
            return c, [QQ(0)] * n, deg(c, 0), -1
        if e.is_Symbol:
            raise NotRational
        args = [fwd(a) for a in e.args]
        if e.is_Add:
            v = sum((a[0] for a in args), QQ(0))
            g = [sum((a[1][j] for a in args), QQ(0)) for j in range(n)]
            return v, g, deg(v, max(a[2] for a in args)), gdeg(g, max(a[3] for a in args))
        if e.is_Mul:
            v, dv = QQ(1), 0
            for a in args:
                v, dv = v * a[0], dv + a[2]
            g, dg = [QQ(0)] * n, -1
            for i, a in enumerate(args):
                if a[3] < 0:
                    continue
                other, dother = QQ(1), 0
                for m, b in enumerate(args):
                    if m != i:
                        other, dother = other * b[0], dother + b[2]
                if other:
                    g = [x + other * y for x, y in zip(g, a[1])]
                    dg = max(dg, a[3] + dother)
            dv, dg = deg(v, dv), gdeg(g, dg)
            work[0] += len(args) * (coeffs(dv) + n * coeffs(dg))
            return v, g, dv, dg
        if e.is_Pow and e.exp.is_Integer:
            (b, gb, db, dgb), p = args[0], int(e.exp)
            if p < 0 and (not b or db > 0):
                raise NotRational       # a zero or hyper-parameter dependent denominator
            v = b ** p
            gfac = p * b ** (p - 1) if (p - 1 >= 0 or b) else QQ(0)
            g = [gfac * y for y in gb]
            dv = deg(v, abs(p) * max(db, 0))
            dg = gdeg(g, abs(p - 1) * max(db, 0) + dgb)
            work[0] += max(abs(p).bit_length(), 1) * (coeffs(dv) + n * coeffs(dg))
            return v, g, dv, dg
        if isinstance(e, sigmoid) and not args[0][0]:
            g = [y / 4 for y in args[0][1]]
            return QQ(1, 2), g, 0, gdeg(g, args[0][3])
        if isinstance(e, softmax) and not any(a[0] for a in args[1:]):
            v, g = _softmax_at_zero(e, [a[1] for a in args[1:]], QQ, n)
            return v, g, 0, gdeg(g, max(a[3] for a in args[1:]))
        raise NotRational

    try:
        for s, e in prog.steps:
            env[s] = fwd(e)
        outs = [fwd(sp.sympify(o)) for o in prog.outputs]
    except NotRational:
        return -1, work[0]
    return max([o[3] for o in outs] + [-1]), work[0]


def cost_estimate(game, rule, prog, form) -> dict:
    r"""Estimated seconds of a page's exact work, before doing it.

    Returns ``{"cse": s, "jet": s, "spectrum": s, "degree": D}``: the
    common-subexpression form and its printing (by the program's steps and
    expression nodes), the exact field and Jacobian at :math:`\theta = 0` (by
    :func:`polynomial_work`), and the factored characteristic polynomial with its
    roots (by its degree in the hyper-parameters, at most :math:`(d_1 + d_2) D`
    for entries of degree :math:`D`). Closed forms are small by construction and
    count as free. The constants are measurements (see the module's constants);
    only the order of magnitude matters.

    Examples
    --------
    >>> from lola_sym.games import tandem
    >>> from lola_sym.field import derive
    >>> from lola_sym.rules import get_rule
    >>> prog = derive(tandem(), "hola", (("order", 8),))[0]
    >>> cost = cost_estimate(tandem(), get_rule("hola"), prog, "cse")
    >>> cost["degree"], cost["jet"] > RENDER_MAX_SECONDS
    (510, True)
    """
    out = {"cse": 0.0, "jet": 0.0, "spectrum": 0.0, "degree": 0}
    if form == "closed":
        return out
    if form == "cse":
        nodes = sum(1 for _, e in prog.steps for _ in sp.preorder_traversal(e))
        out["cse"] = _CSE_SECONDS_PER_STEP * len(prog.steps) + _CSE_SECONDS_PER_NODE * nodes
    if len(prog.steps) > JET_MAX_STEPS:
        return out
    jacobian = rule.combine is None and sum(game.dims) <= JACOBIAN_MAX_DIM
    degree, work = polynomial_work(prog, all_theta(game), jacobian)
    out["degree"] = degree
    out["jet"] = _JET_SECONDS * (work / _JET_WORK) ** 2
    if jacobian and degree > 0:
        out["spectrum"] = _SPECTRUM_SECONDS * (
            sum(game.dims) * degree / _SPECTRUM_DEGREE) ** _SPECTRUM_POWER
    return out


def _softmax_at_zero(e, grads, rational, n):
    r"""Value and gradient of :class:`~lola_sym.program.softmax` at all-zero logits.

    :math:`\pi_a = 1/k` and :math:`\partial \pi_a / \partial x_b = \pi_a (\delta_{ab} - \pi_b)
    = (k \delta_{ab} - 1) / k^2`, chained with the logits' gradients ``grads``;
    ``rational(p, q)`` is the number p/q in the caller's arithmetic.
    """
    a, k = int(e.args[0]), len(e.args)           # k - 1 free logits and the reference action
    g = [rational(0, 1)] * n
    for b, gb in enumerate(grads):
        w = rational((k if a == b else 0) - 1, k * k)
        g = [x + w * y for x, y in zip(g, gb)]
    return rational(1, k), g


class NotRational(Exception):
    """Raised by :func:`_jet` when a value is not a rational function of the hyper-parameters."""


def _jet(prog, exprs, point, jacobian=True):
    r"""Exact values (and gradients in ``point``'s symbols) of ``exprs`` at ``point``.

    Forward mode on the program in exact arithmetic: every node's value and
    gradient from its arguments', in the ring of polynomials of the free
    hyper-parameters (:math:`\sigma(0) = 1/2`, :math:`\sigma'(0) = 1/4`). Raises
    :class:`NotRational` when a sigmoid is evaluated away from zero or a
    denominator depends on a hyper-parameter.
    """
    wrt = list(point)
    n = len(wrt)
    point_syms = set(wrt) | set(prog.symbols)
    free = set()
    for e in [e for _, e in prog.steps] + [sp.sympify(x) for x in exprs]:
        free |= e.free_symbols - point_syms
    K = sp.polys.rings.PolyRing(tuple(sorted(free, key=str)), sp.QQ) if free else sp.QQ
    conv = K.from_expr if free else (lambda x: sp.QQ.convert(x))

    def power(b, k):
        if k >= 0:
            return b ** k
        if free and not b.is_ground:    # a non-constant denominator: not written out
            raise NotRational
        c = b.LC if free else b
        if c == 0:
            raise NotRational
        return conv(sp.Rational(1)) * (sp.QQ.one / c) ** (-k)
    zero = [K.zero] * n
    env = {k: (conv(v), [K.one if i == j else K.zero for j in range(n)])
           for i, (k, v) in enumerate(point.items())}
    for s in free:
        env[s] = (conv(s), zero)
    half, quarter = conv(sp.Rational(1, 2)), conv(sp.Rational(1, 4))

    def fwd(e):
        if e in env:
            return env[e]
        if e.is_Number:
            return conv(e), zero
        args = [fwd(a) for a in e.args]
        if e.is_Add:
            v = sum((a for a, _ in args), K.zero)
            g = [sum((ga[j] for _, ga in args), K.zero) for j in range(n)] if jacobian else zero
            return v, g
        if e.is_Mul:
            v = K.one
            for a, _ in args:
                v = v * a
            if not jacobian:
                return v, zero
            g = list(zero)
            for i, (_, ga) in enumerate(args):
                if any(ga):
                    other = K.one
                    for k, (a, _) in enumerate(args):
                        if k != i:
                            other = other * a
                    g = [x + other * y for x, y in zip(g, ga)]
            return v, g
        if e.is_Pow and e.exp.is_Integer:
            (b, gb), k = args[0], int(e.exp)
            v = power(b, k)
            return v, [k * power(b, k - 1) * y for y in gb] if jacobian and any(gb) else zero
        if isinstance(e, sigmoid) and args[0][0] == 0:
            return half, [quarter * y for y in args[0][1]]
        if isinstance(e, softmax) and all(a == 0 for a, _ in args[1:]):
            return _softmax_at_zero(e, [g for _, g in args[1:]],
                                    lambda p, q: conv(sp.Rational(p, q)), n)
        raise NotRational

    for s, e in prog.steps:
        env[s] = fwd(e)
    out = []
    for e in exprs:
        v, g = fwd(sp.sympify(e))
        out.append((sp.cancel(v.as_expr() if free else K.to_sympy(v)),
                    [sp.cancel(x.as_expr() if free else K.to_sympy(x)) for x in g]))
    return out
