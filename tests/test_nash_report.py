"""The matching-pennies Nash convergence report (lola_sym.report.nash_report)."""

import json

import pytest

from lola_sym.report.nash_report import _eigen_text, matching_pennies_report


@pytest.fixture(scope="module")
def report():
    return matching_pennies_report(["nl", "lola", "sos"], runs=6, steps=200, seed=1)


def test_naive_cycles_lola_converges(report):
    """LOLA paper Sec. 4 / Fig. 4: LOLA converges to the Nash point of (I)MP, NL does not."""
    rows = {(r.game, r.rule): r for r in report.rows}
    for game in ("matching pennies", "IMP"):
        nl, lola = rows[(game, "nl")], rows[(game, "lola")]
        assert nl.flow == "centre" and nl.map == "diverges" and nl.lr_threshold == 0.0
        assert lola.flow == "stable" and lola.map == "converges" and lola.spectral_radius < 1
        # eigenvalue analysis agrees with training from random starts
        assert nl.converged_percent == 0 and lola.converged_percent == 100
        assert all(abs(a) < 1e-12 for a, _ in nl.eigenvalues)
    assert rows[("matching pennies", "lola")].exact_threshold == "32*eta/(eta**2 + 16)"
    assert rows[("matching pennies", "sos")].exact_threshold is None     # combined rule
    assert rows[("IMP", "lola")].exact_threshold is None                 # iterated game


def test_format_and_json(report):
    text = report.format()
    assert "IMP" in text and "32*eta/(eta**2 + 16)" in text and "±0.2500i" in text
    d = json.loads(json.dumps(report.as_dict()))
    assert d["settings"]["delta"] == 1.0 and len(d["rows"]) == 6


def test_eigen_text_merges_conjugates_and_repeats():
    assert _eigen_text([(-1.0, 0.5), (-1.0, -0.5)] * 2 + [(0.25, 0.0)]) == \
        "-1.0000±0.5000i (x2), +0.2500"


def test_bad_input():
    with pytest.raises(ValueError, match="include must be"):
        matching_pennies_report(["nl"], include=("chess",))
    with pytest.raises(ValueError, match="unknown rule"):
        matching_pennies_report(["nope"])


def test_nash_report_arguments_are_validated():
    """Before: near=nan counted no run as converged; a string of rules was split in letters."""
    from lola_sym.report.nash_report import matching_pennies_report
    ok = dict(rules=["nl"], include=("one-shot",), runs=1, steps=1)
    nan = float("nan")
    cases = [("rules", "lola", TypeError), ("include", "one-shot", TypeError),
             ("rules", [], ValueError), ("delta", nan, ValueError), ("delta", 0, ValueError),
             ("eta", nan, ValueError), ("eta", -1.0, ValueError), ("eta", "1", TypeError),
             ("runs", 0, ValueError), ("runs", True, TypeError), ("steps", -1, ValueError),
             ("steps", 2.5, TypeError), ("init_std", nan, ValueError),
             ("init_std", -0.5, ValueError), ("near", nan, ValueError), ("near", 0.0, ValueError),
             ("near", "0.01", TypeError), ("seed", -1, ValueError), ("seed", 1.5, TypeError)]
    for name, bad, error in cases:
        with pytest.raises(error, match=name):
            matching_pennies_report(**{**ok, name: bad})
