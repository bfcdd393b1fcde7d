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
