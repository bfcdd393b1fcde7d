r"""The exact largest convergent learning rate :math:`\delta^*`, right for every rate.

:func:`exact_lr_threshold` factors the characteristic polynomial of the exact
field Jacobian (:func:`lola_sym.analysis.jacobian.exact_jacobian`) and reads
:math:`\delta^* = \min_\lambda -2\,\mathrm{Re}\,\lambda / |\lambda|^2` off each
factor, by cases on the signs of its coefficients, as a ``Piecewise`` in a
symbolic rate and in the game's symbols (payoff parameters, a symbolic
discount). The numeric counterpart is :func:`lola_sym.analysis.stability.lr_threshold`,
with the same conventions (module docstring of :mod:`lola_sym.analysis.stability`).

References
----------
.. [1] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. (Learning-rate thresholds of the discrete map.)
"""

from __future__ import annotations

import sympy as sp

from lola_sym.analysis.jacobian import exact_jacobian

__all__ = ["exact_lr_threshold"]


def exact_lr_threshold(game, rule, *thetas, parameters=None, ratios=None, **settings):
    r"""The exact :math:`\delta^*` at a point, a sympy expression right for every rate.

    From the characteristic polynomial of the exact Jacobian
    (:func:`~lola_sym.analysis.jacobian.exact_jacobian`, whose arguments this takes),
    factored over the rationals in the rates left symbolic (given as sympy
    Symbols or not given; they are taken positive). Each factor contributes, by
    the definition :math:`\delta^* = \min_\lambda -2\,\mathrm{Re}\,\lambda / |\lambda|^2`
    over the non-zero eigenvalues, or 0 if one of them has
    :math:`\mathrm{Re}\,\lambda \ge 0`:

    * a linear factor :math:`\lambda - r`: :math:`-2/r` if :math:`r < 0`, no
      rate converges if :math:`r > 0`, nothing if :math:`r = 0`;
    * a quadratic :math:`\lambda^2 + p\lambda + q`, :math:`D = p^2 - 4q`:
      complex pair (:math:`D < 0`): :math:`p/q` if :math:`p > 0`, none if
      :math:`p \le 0` (purely imaginary at :math:`p = 0`); real roots
      (:math:`D \ge 0`): none if :math:`p < 0` or :math:`q < 0`, else
      :math:`4/(p + \sqrt D)` (the more negative root) if :math:`p > 0`, nothing
      if :math:`p = q = 0`.

    With one rate (say :math:`\eta`) and rational coefficients, the sign
    changes of :math:`r`, :math:`p`, :math:`q`, :math:`D` split
    :math:`\eta > 0` into intervals and points, and the result is a
    ``Piecewise`` with one branch per interval (equal neighbours merged) and
    exceptional points first: ``0`` where no rate converges, ``oo`` where every
    eigenvalue is 0 (e.g. :math:`J = 0`: every rate keeps the point), ``nan``
    where the rule has a pole. Tandem under LOLA (eigenvalues 0 and
    :math:`8\eta - 4`) gives :math:`\infty` at :math:`\eta = 1/2`,
    :math:`1/(2 - 4\eta)` below and 0 above. A single branch comes back as a
    plain expression. Coefficients that are not rational in the rate (e.g.
    :math:`\sigma(\eta)` in exact LOLA on sigmoid games) give a ``Piecewise``
    whose conditions are the signs of :math:`r, p, q, D` themselves, exact for
    every rate. With every rate given the result is a number. Numeric
    counterpart: :func:`~lola_sym.analysis.stability.lr_threshold` (same conventions).

    The point is one sequence of exact numbers per player (``*thetas``), so
    games of any number of players are covered.

    A game with symbols (``game.parameters``, e.g. payoff constants of a
    :class:`~lola_sym.games.DifferentiableGame`) keeps those not given as
    keywords (given ones are substituted exactly, as in
    :func:`~lola_sym.analysis.jacobian.exact_jacobian`): the result is the
    ``Piecewise`` whose conditions are the signs of :math:`r, p, q, D` as
    expressions in the symbols and the rates, exact for every real value of
    the symbols (within their declared assumptions) and every rate
    :math:`> 0`. Substituting numbers into it gives the threshold of
    ``game.substitute(...)``.

    Per-agent rates (:math:`\delta_1 \ne \delta_2`): with ``ratios``
    :math:`r = (r_1, \dots, r_n)` (exact numbers or positive Symbols, e.g.
    ``(1, tau)`` for the timescale ratio :math:`\tau = \delta_2/\delta_1`) the
    rates are :math:`\delta_i = s\, r_i` and the result is the threshold
    :math:`s^*` on the common scale :math:`s` (:math:`= \delta_1` for
    ``(1, tau)``): the same rule applied to
    :math:`\mathrm{diag}(r_i I_{d_i}) J`, whose eigenvalues govern
    :math:`I + s\,\mathrm{diag}(r) J`. A symbolic ratio counts as a rate
    (taken positive). The numeric counterpart is
    :func:`~lola_sym.analysis.stability.ratio_lr_threshold`.

    Raises
    ------
    ValueError
        For an irreducible factor of degree > 2 with symbolic rates or game
        symbols (no closed form: give the rates as numbers and substitute the
        symbols), and for bad arguments (as
        :func:`~lola_sym.analysis.jacobian.exact_jacobian`).

    Examples
    --------
    >>> from lola_sym import games
    >>> exact_lr_threshold(games.matching_pennies(), "lola", [0], [0])
    32*eta/(eta**2 + 16)
    >>> exact_lr_threshold(games.matching_pennies(), "nl", [0], [0])
    0
    >>> exact_lr_threshold(games.tandem(), "lola", [0], [0])
    Piecewise((oo, Eq(eta, 1/2)), (-1/(2*(2*eta - 1)), eta < 1/2), (0, True))

    A bilinear game with curvature :math:`a` and coupling :math:`c > 0`
    (losses :math:`c x y + a x^2/2` and :math:`-c x y + a y^2/2`): NL
    converges iff :math:`a > 0`, LOLA's shaping adds :math:`\eta c^2` to the
    damping.

    >>> a, c = sp.Symbol("a", real=True), sp.Symbol("c", positive=True)
    >>> x, y = sp.symbols("x y", real=True)
    >>> g = games.differentiable(c * x * y + a * x ** 2 / 2, -c * x * y + a * y ** 2 / 2,
    ...                          [x], [y], loss=True)
    >>> exact_lr_threshold(g, "nl", [0], [0])
    Piecewise((0, a <= 0), (2*a/(a**2 + c**2), True))
    >>> exact_lr_threshold(g, "lola", [0], [0], eta=1)
    Piecewise((0, a + c**2 <= 0), (2*(a + c**2)/(a**2 + 2*a*c**2 + c**4 + c**2), True))
    >>> exact_lr_threshold(g, "nl", [0], [0], a=1, c=1)
    1

    Matching pennies under LOLA with agent 2 learning :math:`\tau` times faster
    (threshold on :math:`\delta_1`; :math:`\tau = 1` gives the first example):

    >>> exact_lr_threshold(games.matching_pennies(), "lola", [0], [0], eta=1, ratios=(1, 3))
    64/51
    >>> tau = sp.Symbol("tau", positive=True)
    >>> exact_lr_threshold(games.matching_pennies(), "lola", [0], [0], eta=1, ratios=(1, tau))
    Piecewise((64/(tau + sqrt(-68*tau + (tau + 1)**2) + 1), tau < 33 - 8*sqrt(17)), (16*(tau + 1)/(17*tau), tau < 8*sqrt(17) + 33), (64/(tau + sqrt(-68*tau + (tau + 1)**2) + 1), True))
    """
    J = exact_jacobian(game, rule, *thetas, parameters=parameters, **settings)
    if ratios is not None:
        J = _scaled(J, game, ratios)
    game_symbols = J.free_symbols & set(getattr(game, "parameters", ()))
    rates = sorted(J.free_symbols - game_symbols, key=str)
    positive = {s: sp.Symbol(s.name, positive=True) for s in rates}
    back = {v: k for k, v in positive.items()}
    factors = _eigen_factors(J.xreplace(positive))
    rates = [positive[s] for s in rates]
    if not rates and not game_symbols:
        out = _threshold(factors, _sign)
    else:
        for f in factors:
            if f[0] == "poly":
                free = ", ".join(map(str, sorted(rates + list(game_symbols), key=str)))
                raise ValueError(
                    f"the characteristic polynomial has an irreducible factor of degree "
                    f"{sp.degree(f[1], _LAM)} in lambda: no closed-form threshold in {free}; "
                    f"give the rates as numbers and substitute the game's symbols "
                    f"(game.substitute), or use lr_threshold on the eigenvalues of "
                    f"jacobian(...)")
        if (len(rates) == 1 and not game_symbols
                and all(_is_rational_in(c, rates[0]) for f in factors for c in f[1:])):
            out = _threshold_by_intervals(factors, rates[0])
        else:
            out = _threshold_conditions(factors)
    return out.xreplace(back)


_LAM = sp.Symbol("_lambda_eig")


def _scaled(J, game, ratios):
    """``diag(r_i I_{d_i}) J`` for one exact ratio (or positive Symbol) per agent."""
    from lola_sym._exact_input import exact_number
    dims = tuple(game.dims)
    if isinstance(ratios, (str, sp.Basic)) or not hasattr(ratios, "__len__") \
            or len(ratios) != len(dims):
        raise ValueError(f"ratios must hold one rate ratio per agent ({len(dims)}), e.g. "
                         f"(1, tau); got {ratios!r}")
    r = []
    for i, x in enumerate(ratios):
        v = exact_number(x, f"ratios[{i}]", nonnegative=True, symbol=True)
        if v == 0:
            raise ValueError(f"ratios[{i}] must be > 0, got 0")
        r += [v] * dims[i]
    return sp.diag(*r) * J


def _eigen_factors(J) -> list:
    r"""The eigenvalues as irreducible factors of the characteristic polynomial.

    ``("linear", r)`` for :math:`\lambda - r`, ``("quadratic", p, q)`` for
    :math:`\lambda^2 + p\lambda + q`, ``("poly", f)`` otherwise; identically
    zero factors :math:`\lambda` are dropped (ignored eigenvalues).
    """
    coeffs = J.charpoly(_LAM, simplify=lambda e: e).all_coeffs()       # monic
    rational = not any(c.atoms(sp.Function) for c in coeffs)   # no sigmoid(eta), say
    coeffs = [sp.cancel(c) if rational else sp.expand(c) for c in coeffs]
    while len(coeffs) > 1 and coeffs[-1] == 0:       # eigenvalues that are identically 0
        coeffs.pop()
    cp = sp.Poly(coeffs, _LAM).as_expr()
    # factor over the rationals in the rates (sympy would take sigmoid(eta) as a generator)
    factors = sp.factor_list(cp)[1] if rational else [(cp, 1)]
    out: list[tuple] = []
    for f, _ in factors:
        if not f.has(_LAM):
            continue
        poly = sp.Poly(f, _LAM)
        c = [a if poly.LC() == 1 else sp.cancel(a / poly.LC()) for a in poly.all_coeffs()]
        if poly.degree() == 1:
            out.append(("linear", -c[1]))
        elif poly.degree() == 2:
            out.append(("quadratic", c[1], c[2]))
        else:
            out.append(("poly", f))
    return out


def _is_rational_in(expr, x) -> bool:
    num, den = sp.fraction(sp.cancel(expr))
    try:
        return all(sp.Poly(e, x).domain in (sp.ZZ, sp.QQ) for e in (num, den))
    except sp.PolynomialError:
        return False


def _threshold(factors, sign):
    r""":math:`\delta^*` as an expression, given ``sign(expr) -> -1, 0, 1`` (or None: a pole)."""
    cands = []
    for kind, *c in factors:
        if kind == "linear":
            (r,) = c
            s = sign(r)
            if s is None:
                return sp.nan
            if s > 0:
                return sp.S.Zero
            if s < 0:
                cands.append(-2 / r)
        elif kind == "quadratic":
            p, q = c
            disc = p ** 2 - 4 * q
            sd, sp_, sq = sign(disc), sign(p), sign(q)
            if None in (sd, sp_, sq):
                return sp.nan
            if sd < 0:
                if sp_ <= 0:
                    return sp.S.Zero
                cands.append(p / q)
            elif sp_ < 0 or sq < 0:
                return sp.S.Zero
            elif sp_ > 0:
                cands.append(4 / (p + sp.sqrt(disc)))
        else:
            for z in _roots(c[0]):
                re = sp.re(z)
                s = sign(re)
                if s > 0 or (s == 0 and sign(sp.im(z)) != 0):
                    return sp.S.Zero
                if s < 0:
                    cands.append(-2 * re / (re ** 2 + sp.im(z) ** 2))
    cands = list(dict.fromkeys(_tidy(e) for e in cands))
    return sp.oo if not cands else cands[0] if len(cands) == 1 else sp.Min(*cands)


def _roots(f) -> list:
    """Every root (with multiplicity, exact) of a polynomial in lambda with numeric coefficients."""
    poly = sp.Poly(f, _LAM)
    try:
        return poly.all_roots()             # CRootOf, for rational coefficients
    except (NotImplementedError, sp.PolynomialError, sp.DomainError):
        found = sp.roots(poly, multiple=True)
    if len(found) != poly.degree():
        raise ValueError(f"no closed form for the roots of the degree-{poly.degree()} factor "
                         f"{f} of the characteristic polynomial; use lr_threshold on the "
                         f"eigenvalues of jacobian(...)")
    return found


def _tidy(e):
    e = sp.cancel(e) if e.is_rational_function() else e
    e = sp.factor(e) if e.is_rational_function() else e
    return sp.simplify(e) if not e.is_rational_function() and sp.count_ops(e) < 100 else e


def _sign(x):
    """The sign of an exact real number: -1, 0 or 1 (evaluated to 60, then 600 digits)."""
    if x.is_zero:
        return 0
    if x.is_extended_positive:
        return 1
    if x.is_extended_negative:
        return -1
    for digits in (60, 600):
        v = sp.re(x.evalf(digits))
        if v.is_Number and abs(v) > sp.Float(10) ** (-digits // 2):
            return 1 if v > 0 else -1
    if x.equals(0):
        return 0
    raise ValueError(f"could not decide the sign of {x}")


def _poly_sign_at(poly, c) -> int:
    """Sign of a rational polynomial at an algebraic number ``c`` (exactly 0 decided exactly)."""
    if c.is_Rational:
        return _sign(poly.eval(c))
    m = sp.Poly(sp.minimal_polynomial(c, poly.gen), poly.gen)
    return 0 if poly.rem(m).is_zero else _sign(poly.as_expr().subs(poly.gen, c))


def _threshold_by_intervals(factors, x):
    r"""``Piecewise`` over :math:`x > 0`: one branch per interval between sign changes."""
    parts = []                  # (numerator, denominator) polynomials of every r, p, q, D
    for kind, *c in factors:
        exprs = c if kind == "linear" else [c[0], c[1], c[0] ** 2 - 4 * c[1]]
        for e in exprs:
            num, den = sp.fraction(sp.cancel(e))
            parts.append((sp.Poly(num, x), sp.Poly(den, x)))
    crit = set()
    for num, den in parts:
        for poly in (num, den):
            if poly.degree() > 0:
                crit.update(r for r in sp.real_roots(poly) if r.is_positive)
    crit = sorted(crit, key=lambda r: r.evalf(60))

    def rational_sign(e, value):
        num, den = sp.fraction(sp.cancel(e))
        sd = _poly_sign_at(sp.Poly(den, x), value)
        return None if sd == 0 else _poly_sign_at(sp.Poly(num, x), value) * sd

    bounds = [sp.S.Zero] + crit
    samples = [_between(lo, hi) for lo, hi in zip(bounds, bounds[1:])] + [
        sp.floor(bounds[-1].evalf(30)) + 1]
    cells = [_threshold(factors, lambda e, v=v: rational_sign(e, v)) for v in samples]
    points = []
    for k, c in enumerate(crit):
        value = _at(_threshold(factors, lambda e: rational_sign(e, c)), x, c)
        if _same(value, _at(cells[k + 1], x, c)):
            continue            # the next interval's branch covers the point
        if _same(value, _at(cells[k], x, c)) and _same(cells[k], cells[k + 1]):
            continue
        points.append((value, sp.Eq(x, c)))
    pieces = []
    for k, e in enumerate(cells):
        cond = x < crit[k] if k < len(crit) else sp.true
        if pieces and _same(pieces[-1][0], e):
            pieces[-1] = (e, cond)
        else:
            pieces.append((e, cond))
    if not points and len(pieces) == 1:
        return pieces[0][0]
    return sp.Piecewise(*points, *pieces[:-1], (pieces[-1][0], True))


def _same(a, b) -> bool:
    """Equal expressions (``oo`` equals only ``oo``; ``nan`` and ``zoo`` nothing)."""
    if a.has(sp.nan, sp.zoo) or b.has(sp.nan, sp.zoo):
        return False
    return a == b or (a.is_finite is not False and b.is_finite is not False
                      and sp.simplify(a - b) == 0)


def _at(e, x, c):
    """``e`` at ``x = c``, simplified (``zoo`` at a pole of ``e``)."""
    v = e.subs(x, c)
    return sp.radsimp(sp.simplify(v)) if v.is_finite is not False and not v.has(sp.zoo) else v


def _between(lo, hi):
    """A rational strictly between two real algebraic numbers."""
    return sp.Rational(str((lo.evalf(40) + hi.evalf(40)) / 2))


def _factored(e):
    """A rational coefficient factored (squares and common factors show), others as they are."""
    return sp.factor(e) if e.is_rational_function() else e


def _threshold_conditions(factors):
    r"""``Piecewise`` whose conditions are the signs of :math:`r, p, q, D` (any coefficients)."""
    unstable, cands = [], []
    for kind, *c in factors:
        if kind == "linear":
            r = _factored(c[0])
            unstable.append(r > 0)
            cands.append(sp.Piecewise((-2 / r, r < 0), (sp.oo, True)))
        else:
            p, q = map(_factored, c)
            disc = _factored(sp.expand(p ** 2 - 4 * q))
            unstable.append(sp.Or(sp.And(disc < 0, p <= 0), sp.And(disc >= 0, sp.Or(p < 0, q < 0))))
            cands.append(sp.Piecewise((p / q, disc < 0), (4 / (p + sp.sqrt(disc)), p > 0),
                                      (sp.oo, True)))
    return sp.Piecewise((sp.S.Zero, sp.Or(*unstable)), (sp.Min(*cands), True))
