"""Hypothesis strategies shared by the tests: payoffs, discounts, logits, games."""

import numpy as np
import sympy as sp
from hypothesis import strategies as st

from lola_sym.games import iterated

payoff = st.integers(-5, 5).map(sp.Integer)
matrix = st.lists(st.lists(payoff, min_size=2, max_size=2), min_size=2, max_size=2)
#: discounts in (0, 1) as exact rationals with small denominators
gamma = st.integers(1, 19).map(lambda k: sp.Rational(k, 20))
#: one agent's logits, |theta| <= 6
logits = st.lists(st.floats(-6, 6, allow_nan=False), min_size=5, max_size=5).map(np.array)


@st.composite
def games(draw):
    """Random iterated 2x2 games with integer payoffs and a rational discount."""
    return iterated(draw(matrix), draw(matrix), draw(gamma), "random")


@st.composite
def symmetric_games(draw):
    """Random symmetric games (R2 = R1^T)."""
    R1 = draw(matrix)
    R2 = [[R1[b][a] for b in (0, 1)] for a in (0, 1)]
    return iterated(R1, R2, draw(gamma), "random symmetric")


#: a power of ten for payoff scales from tiny to huge (values stay within double precision)
scale_exponent = st.integers(-300, 290)


@st.composite
def scaled_games(draw):
    """Random iterated games whose integer payoffs are scaled by 10**k, k in [-300, 290]."""
    c = sp.Integer(10) ** draw(scale_exponent)
    R1 = [[c * v for v in row] for row in draw(matrix)]
    R2 = [[c * v for v in row] for row in draw(matrix)]
    return iterated(R1, R2, draw(gamma), "random scaled")


x, y = sp.symbols("x y")
_monomials = (x * y, x ** 2, y ** 2, x, y, x ** 2 * y, x * y ** 2)


@st.composite
def differentiable_games(draw):
    """Random one-shot polynomial games V_i = sum of integer multiples of monomials in (x, y)."""
    from lola_sym.games import differentiable
    coef = st.lists(st.integers(-4, 4), min_size=len(_monomials), max_size=len(_monomials))
    V1 = sum(c * m for c, m in zip(draw(coef), _monomials))
    V2 = sum(c * m for c, m in zip(draw(coef), _monomials))
    return differentiable(V1 + x * y, V2 - x * y, [x], [y], name="random polynomial")


#: anything a careless or hostile caller might pass where a number belongs
hostile_scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10 ** 400, 10 ** 400),
    st.text(max_size=8), st.booleans(), st.none(), st.complex_numbers(max_magnitude=1e3),
    st.lists(st.floats(-1, 1), max_size=3), st.just(sp.Symbol("eta")), st.just(sp.nan),
    st.just(np.float32(1.5)), st.just(np.int64(3)))
