"""Tests of lola_sym.games: construction, validation, catalogue."""

import pytest
import sympy as sp

from lola_sym import games
from lola_sym.games import IteratedGame, by_name, iterated


def test_ipd_payoffs_and_gamma_are_exact():
    """LOLA paper Table 1 payoffs, gamma = 0.96 (reference/lola2018.md)."""
    g = games.ipd()
    assert g.r1 == (-1, -3, 0, -2) and g.r2 == (-1, 0, -3, -2)
    assert g.gamma == sp.Rational(24, 25) and isinstance(g.gamma, sp.Rational)
    assert g.is_symmetric and not g.is_zero_sum


def test_imp_is_zero_sum_with_gamma_nine_tenths():
    g = games.imp()
    assert g.is_zero_sum and g.gamma == sp.Rational(9, 10)
    assert g.r1 == (1, -1, -1, 1)


@pytest.mark.parametrize("name", sorted(games.CATALOGUE))
def test_catalogue_games_are_valid_and_hashable(name):
    g = by_name(name)
    assert hash(g) == hash(by_name(name)) and g == by_name(name)
    assert g.spec() == by_name(name).spec() and len(g.theta) == len(g.dims) >= 2
    if g.kind == "iterated":
        assert all(isinstance(x, sp.Rational) for x in g.r1 + g.r2)
    elif g.kind == "repeated":
        assert all(isinstance(x, sp.Rational) for row in g.payoffs for x in row)
        assert [len(t) for t in g.theta] == list(g.dims)
    elif g.kind == "markov":
        assert [len(t) for t in g.theta] == list(g.dims)
    else:
        assert not (g.V1.free_symbols | g.V2.free_symbols) - set(g.params1 + g.params2)


def test_game_is_immutable():
    g = games.ipd()
    with pytest.raises(AttributeError):
        g.gamma = sp.Rational(1, 2)


def test_floats_are_read_exactly():
    g = iterated([[0.5, 1], [2, 3]], [[1, 2], [3, 4]], 0.96)
    assert g.R1[0][0] == sp.Rational(1, 2) and g.gamma == sp.Rational(24, 25)


@pytest.mark.parametrize("gamma", [0, 1, -0.5, 1.5, float("nan"), float("inf")])
def test_gamma_outside_open_interval_is_rejected(gamma):
    with pytest.raises(ValueError, match="gamma"):
        iterated([[1, 2], [3, 4]], [[1, 2], [3, 4]], gamma)


@pytest.mark.parametrize("R1, match", [
    ([[1, 2, 3], [4, 5, 6]], "2x2"),
    ([[1, 2]], "2x2"),
    ([[1, float("nan")], [3, 4]], r"R1\[0\]\[1\]"),
    (5, "2x2"),
])
def test_bad_payoffs_are_rejected(R1, match):
    with pytest.raises(ValueError, match=match):
        iterated(R1, [[1, 2], [3, 4]], 0.5)


def test_non_numeric_payoff_is_a_type_error():
    with pytest.raises((TypeError, ValueError), match=r"R2\[1\]\[0\]"):
        iterated([[1, 2], [3, 4]], [[1, 2], [None, 4]], 0.5)


def test_swapped_exchanges_roles():
    g = iterated([[1, 2], [3, 4]], [[5, 6], [7, 8]], "1/2")
    s = g.swapped()
    assert s.R1 == ((5, 7), (6, 8)) and s.R2 == ((1, 3), (2, 4))
    assert s.swapped().R1 == g.R1 and s.swapped().R2 == g.R2
    assert games.ipd().swapped().R1 == games.ipd().R1  # symmetric


def test_unknown_game_name():
    with pytest.raises(ValueError, match="unknown game 'pd'"):
        by_name("pd")


def test_dataclass_equality_depends_on_payoffs():
    assert games.ipd() != games.ipd(gamma=sp.Rational(9, 10))
    assert isinstance(games.ipd(), IteratedGame)
