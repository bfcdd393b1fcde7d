"""The ``pola-ipd`` reproduction (reduced settings for CI).

Published settings (Silent-Zebra/POLA @ b248b52, README "Commands used for Figure 3 (IPD with
Exact Value Function)"; ``../shared/reference/newer_methods.md``): cf in {1.1, 1.25, 1.33, 1.4,
1.6}, ``--repeats 20``; LOLA tabular ``--lr_policies_inner 3 --lr_policies_outer 25
--num_epochs 30``; outer POLA tabular ``--lr_policies_inner 5`` (cf 1.4: 4, cf 1.6: 2.5)
``--lr_policies_outer 0.3 --outer_beta 0.1 --num_epochs 2``; (outer) POLA pre-conditioned tabular
``--ill_condition --lr_policies_inner 0.4 / 0.5 / 0.4 / 0.3 / 0.3 --lr_policies_outer 0.05
--outer_exact_prox --outer_beta 0.5 --num_epochs 10``; "LOLA Pre-Conditioned Tabular: Could not
get anything finding TFT at all" (no command); TFT criterion: both agents'
P(C) < 0.65 after the opponent defects and score > 0.8 (cf - 1)/(1 - gamma), gamma = 0.96.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from lola_sym.games import contribution
from lola_sym.report.pola_ipd import (CONTRIBUTION_FACTORS, METHODS, REDUCED, finds_tft,
                                     pola_ipd_reproduction)


def test_settings_are_the_readmes():
    assert CONTRIBUTION_FACTORS == ("1.1", "1.25", "1.33", "1.4", "1.6")
    assert METHODS["LOLA tabular"][:4] == ("exact_lola", 30, 25.0, {"eta": 3.0})
    rule, epochs, delta, hyper, per_cf, pre = METHODS["outer POLA tabular"]
    assert (rule, epochs, delta, pre) == ("pola_outer", 2, 1.0, False)
    assert hyper == {"eta": 5.0, "beta": 0.1, "lr_out": 0.3} and per_cf == {"1.4": 4.0,
                                                                             "1.6": 2.5}
    rule, epochs, delta, hyper, per_cf, pre = METHODS["POLA pre-conditioned tabular"]
    assert (rule, epochs, delta, pre) == ("pola_outer", 10, 1.0, True)
    assert hyper == {"eta": 0.4, "beta": 0.5, "lr_out": 0.05}
    assert per_cf == {"1.1": 0.4, "1.25": 0.5, "1.33": 0.4, "1.4": 0.3, "1.6": 0.3}
    assert METHODS["LOLA pre-conditioned tabular"][5] is True


def test_tft_criterion_against_an_independent_value():
    """The criterion's score from the mpmath reference value (reference.values) and the
    probabilities from the sigmoid, on policies near the threshold on either side."""
    game = contribution(2, "1.25")
    cf, gamma = 1.25, 0.96
    R1 = [[cf - 1, cf / 2 - 1], [cf / 2, 0.0]]
    R2 = [[cf - 1, cf / 2], [cf / 2 - 1, 0.0]]
    rng = np.random.default_rng(0)
    for _ in range(6):
        t1 = np.array([4.0, 4.0, -0.3, 2.0, -4.0]) + rng.normal(0, 0.5, 5)
        t2 = np.array([4.0, 4.0, -0.3, 2.0, -4.0]) + rng.normal(0, 0.5, 5)
        v = np.mean([float(x) for x in reference.values(R1, R2, gamma, t1, t2)])
        p1, p2 = 1 / (1 + np.exp(-t1)), 1 / (1 + np.exp(-t2))
        want = (p1[2] < 0.65 and p1[4] < 0.65 and p2[2] < 0.65 and p2[4] < 0.65
                and v > 0.8 * (cf - 1) / (1 - gamma))
        assert bool(finds_tft(game, t1, t2, cf)) == want


#: the methods of the fast reduced run (the ideal POLA rows compile exact LOLA's Jacobian)
FAST_METHODS = ("LOLA tabular", "outer POLA tabular", "LOLA pre-conditioned tabular",
                "POLA pre-conditioned tabular")


def test_reduced_reproduction_runs_and_tabulates():
    res = pola_ipd_reproduction(**REDUCED, methods=FAST_METHODS)
    assert list(res.tft) == list(FAST_METHODS)
    for m in FAST_METHODS:
        assert res.tft[m]["1.33"].shape == (2,)
    table = res.format_table()
    assert "LOLA pre-conditioned tabular" in table and "Could not get anything finding TFT" in table
    d = res.as_dict()
    assert d["parameters"]["runs"] == 2 and len(d["rows"]) == len(FAST_METHODS)


def test_pre_conditioned_runs_play_the_mapped_logits():
    """A pre-conditioned run starts from phi = theta0 and plays logits M phi: with zero epochs
    its score is the value at (M theta0_1, M theta0_2), not at theta0 (checked against the
    game's value at logits mapped here by hand)."""
    from lola_sym.report import pola_ipd
    methods = dict(pola_ipd.METHODS)
    methods["zero"] = ("exact_lola", 0, 1.0, {"eta": 1.0}, {}, True)
    old = pola_ipd.METHODS
    try:
        pola_ipd.METHODS = methods
        res = pola_ipd_reproduction(runs=3, factors=("1.33",), methods=("zero",), seed=5)
    finally:
        pola_ipd.METHODS = old
    rng = np.random.default_rng(5)
    t1, t2 = rng.normal(0.0, 0.1, (3, 5)), rng.normal(0.0, 0.1, (3, 5))
    M = np.array([[1, 0, 0, 0, 0], [-2, 1, 0, 0, 0], [-2, 0, 1, 0, 0], [-2, 0, 0, 1, 0],
                  [-2, 0, 0, 0, 1]], dtype=float)
    game = contribution(2, "1.33")
    want = game.value(t1 @ M.T, t2 @ M.T).mean(-1)
    assert np.allclose(res.score["zero"]["1.33"], want, rtol=1e-14)
    assert not np.allclose(want, game.value(t1, t2).mean(-1), rtol=1e-3)


@pytest.mark.slow
def test_reduced_reproduction_of_every_method():
    """(slow: the ideal POLA rows compile exact LOLA's Jacobian, on the plain and the
    pre-conditioned family)"""
    res = pola_ipd_reproduction(**REDUCED)
    assert list(res.tft) == list(METHODS)
    assert all(res.tft[m]["1.33"].shape == (2,) for m in METHODS)


@pytest.mark.slow
def test_full_lola_tabular_finds_tft():
    """The README's LOLA tabular command finds TFT (measured here: 20/20 at every cf)."""
    res = pola_ipd_reproduction(methods=("LOLA tabular",))
    for cf, t in res.tft["LOLA tabular"].items():
        assert t.mean() >= 0.9, cf


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="methods must be"):
        pola_ipd_reproduction(runs=1, methods=("SOS",))
