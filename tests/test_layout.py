"""Tests of lola_sym.games.layout: the own-perspective convention and converters."""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given

from lola_sym.games.layout import SWAP, from_release, policy, theta_symbols, to_joint, to_release
from strategies import logits


def test_tft_is_the_same_vector_for_both_agents_and_copies_the_opponent():
    t = policy("tft", 1.0)
    # own perspective [s0, CC, CD, DC, DD]: cooperate after the opponent cooperated
    assert np.array_equal(t > 0, [True, True, False, True, False])


def test_release_layout_of_tft():
    """Release code: [CC, CD, DC, DD, s0], agent-1-first labels (reference/lola2018.md).

    The paper: agent 1 cooperates in s0, CC and DC; agent 2 in s0, CC and CD.
    """
    a, b = to_release(policy("tft", 1.0), policy("tft", 1.0))
    coop = ("CC", "CD", "DC", "DD", "s0")
    assert {s for s, x in zip(coop, a) if x > 0} == {"s0", "CC", "DC"}
    assert {s for s, x in zip(coop, b) if x > 0} == {"s0", "CC", "CD"}


@given(logits, logits)
def test_release_round_trip(t1, t2):
    a, b = from_release(*to_release(t1, t2))
    assert np.array_equal(a, t1) and np.array_equal(b, t2)


def test_to_joint_is_an_involution_and_swaps_cd_dc():
    x = np.arange(5.0)
    assert np.array_equal(to_joint(to_joint(x)), x)
    assert list(to_joint(x)) == [0, 1, 3, 2, 4] == list(SWAP)


def test_converters_broadcast_and_validate():
    x = np.zeros((3, 2, 5))
    a, b = to_release(x, x)
    assert a.shape == b.shape == (3, 2, 5)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 5\)"):
        to_release(np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match="non-finite"):
        to_release(np.full(5, np.nan), np.zeros(5))


def test_policy_errors():
    with pytest.raises(ValueError, match="unknown policy"):
        policy("tit-for-tat")
    with pytest.raises(ValueError, match="positive finite"):
        policy("tft", -1.0)


def test_symbols_and_agent_check():
    assert str(theta_symbols(2)[2]) == "theta_2,CD"
    with pytest.raises(ValueError, match="agent must be 1 or 2"):
        theta_symbols(3)
    # a bool or float agent is refused, not read as agent 1 ("theta_True,s0")
    for bad in (True, 1.0, np.array([1, 2])):
        with pytest.raises(TypeError, match="agent must be the int 1 or 2"):
            theta_symbols(bad)


@pytest.mark.parametrize("logit, error, match", [
    ("5", TypeError, "logit must be a real number, got str"),
    (None, TypeError, "logit must be a real number, got NoneType"),
    (True, TypeError, "logit must be a real number, got bool"),
    (np.array([1.0, 2.0]), TypeError, "logit must be a real number, got ndarray"),
    (10 ** 400, ValueError, "logit must be finite, got an int of 401 digits"),
    (Decimal("NaN"), ValueError, "logit must be finite"),
    (0, ValueError, "positive finite"),
])
def test_policy_logit_must_be_a_positive_finite_real(logit, error, match):
    with pytest.raises(error, match=match):
        policy("tft", logit)


def test_policy_accepts_exact_numbers_and_refuses_unhashable_names():
    assert np.array_equal(policy("tft", Decimal(2)), policy("tft", 2.0))
    assert np.array_equal(policy("alld", Fraction(1, 2)), np.full(5, -0.5))
    for name in ([], ["tft"], None, 3):
        with pytest.raises(TypeError, match=r"name must be a policy name \(str\)"):
            policy(name)
