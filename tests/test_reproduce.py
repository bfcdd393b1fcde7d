"""The LOLA paper's exact-gradient results (Foerster et al. 2018, Table 3).

Training is chaotic at delta = eta = 1: these are statistics over 50 runs
with named tolerances, never end states.
"""

import numpy as np
import pytest

from lola_sym.games.layout import policy
from lola_sym.report.reproduce import format_table, lola2018, nash_distance, tft_like
from tolerances import MAX_IMP_LOLA_STD, TOL_IPD_LOLA_MEAN, TOL_IPD_NL_MEAN


@pytest.fixture(scope="module")
def rows():
    return {(r.game, r.setting): r for r in lola2018(runs=50, steps=200, seed=0)}


def test_ipd_lola_reaches_cooperation(rows):
    """Table 3 of Foerster et al. 2018: IPD LOLA-Ex R = -1.06 (0.19)."""
    r = rows[("IPD", "LOLA-Ex")]
    assert abs(r.r_mean - (-1.06)) <= TOL_IPD_LOLA_MEAN
    assert r.tft_percent > 25.0


def test_ipd_naive_learners_defect(rows):
    """Table 3 of Foerster et al. 2018: IPD NL-Ex R = -1.98 (0.14)."""
    r = rows[("IPD", "NL-Ex")]
    assert abs(r.r_mean - (-1.98)) <= TOL_IPD_NL_MEAN
    assert r.tft_percent < rows[("IPD", "LOLA-Ex")].tft_percent


def test_imp_lola_converges_to_nash_where_naive_learners_do_not(rows):
    """Table 3 of Foerster et al. 2018: IMP LOLA-Ex R = 0 (0.02), NL-Ex 0 (0.37)."""
    lola, nl = rows[("IMP", "LOLA-Ex")], rows[("IMP", "NL-Ex")]
    assert lola.r1_std < MAX_IMP_LOLA_STD
    assert nl.r1_std > 5 * MAX_IMP_LOLA_STD
    assert lola.nash_distance < 0.5 * nl.nash_distance


def test_table_lists_every_setting_beside_the_paper(rows):
    text = format_table(list(rows.values()))
    assert "-1.06 (0.19)" in text and "LOLA-Ex vs NL-Ex" in text
    assert len(rows) == 6 and all(r.diverged == 0 for r in rows.values())


def test_tft_criterion_and_nash_distance():
    t = policy("tft", 3.0)
    assert tft_like(t) and not tft_like(policy("wsls", 3.0)) and not tft_like(-t)
    assert nash_distance(np.zeros(5), np.zeros(5)) == 0.0
    assert nash_distance(policy("allc", 30.0), np.zeros(5)) > 0.49


def test_table_says_which_settings_had_diverged_runs():
    """Diverged runs are frozen and included in R: the table must say so, not look normal
    (--delta 1e308 printed an ordinary table with every run diverged)."""
    from lola_sym.report.reproduce import Row
    ok = Row("IPD", "NL-Ex", -1.0, 0.1, -1.0, 0.1, -1.0, 0.1, 50.0, None, 0, None, None, None)
    bad = Row("IMP", "LOLA-Ex", 0.0, 0.1, 0.0, 0.1, 0.0, 0.1, None, 0.3, 7, None, None, None)
    assert "diverged" not in format_table([ok])
    assert format_table([ok, bad]).splitlines()[-1] == (
        "diverged runs (frozen at their last finite parameters, included above): "
        "IMP LOLA-Ex 7")


def test_unknown_game_is_rejected():
    with pytest.raises(ValueError, match="unknown game"):
        lola2018(runs=1, steps=1, games=("PD",))
