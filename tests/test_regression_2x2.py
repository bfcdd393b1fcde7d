"""Today's 2-player games give the fields recorded before the core was generalised.

``tests/data/fields_2x2.npz`` was written by ``tests/data/record_fields.py`` on the
code of the 2x2 memory-1 core (commit f7374c8); every value and update field must
still agree to :data:`RTOL_REGRESSION` relative to its scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lola_sym as ls

from data.record_fields import GAMES, HYPER

RECORD = np.load(Path(__file__).parent / "data" / "fields_2x2.npz")
#: agreement with the record, relative to the largest entry of the recorded array
RTOL_REGRESSION = 1e-13


def _close(new, old):
    scale = max(float(np.max(np.abs(old))), 1e-300)
    assert new.shape == old.shape
    assert float(np.max(np.abs(new - old))) <= RTOL_REGRESSION * scale


@pytest.mark.parametrize("name", GAMES)
def test_values_as_recorded(name):
    game = ls.games.by_name(name)
    t1, t2 = RECORD[f"{name}/theta1"], RECORD[f"{name}/theta2"]
    _close(game.value(t1, t2), RECORD[f"{name}/value"])


#: rules checked in the default run; the others (longer derivations) run in the slow tier
FAST_RULES = ("nl", "lola", "la", "co")
RULES = [r if r in FAST_RULES else pytest.param(r, marks=pytest.mark.slow) for r in sorted(HYPER)]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("name", GAMES)
def test_fields_as_recorded(name, rule):
    game = ls.games.by_name(name)
    t1, t2 = RECORD[f"{name}/theta1"], RECORD[f"{name}/theta2"]
    g1, g2 = ls.update_field(game, rule, **HYPER[rule])(t1, t2)
    _close(g1, RECORD[f"{name}/{rule}/g1"])
    _close(g2, RECORD[f"{name}/{rule}/g2"])
