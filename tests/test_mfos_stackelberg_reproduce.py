r"""The reproductions ``mfos-grid`` and ``stackelberg-bimatrix`` (reduced settings).

Published settings, with their sources:

* Fiez, Chasnov & Ratliff (2020), fiezt/ICML-2020-Implicit-Stackelberg-Learning @ 371b48c,
  experiments/bimatrix-games.ipynb, cells 2-3: A = I, B = [[1/2, 1], [1, 1/2]], softmax
  temperature 2.5 with shift [1, -1] (config_softmax1), reg_l2_self = 0.1, gamma = 2e-2,
  num_iter = 1e4, starts (-1, -1) and (1, -1), step ratios [1, 1] and [1, 10]; its printed
  end points (start (-1, -1)): Nash learning (-0.42477897, -0.38634542), Stackelberg
  learning (-0.41443014, -0.16065857).
* Lu et al. (2022), luchris429/Model-Free-Opponent-Shaping @ 3efb169: src/main_non_mfos.py
  (batch 8192, 100 steps, players STATIC/NL/LOLA/MAMAML, games IPD/IMP/chicken) and
  src/environments.py (NonMfosMetaGames: std 1, lr 1, one update at reset, reward before
  each update, (1 - gamma) V for IPD/IMP with gamma 0.96, raw for chicken; IMP seat 1 gets
  [[-1, 1], [1, -1]]; chicken [[0, -1], [1, -100]] / [[0, 1], [-1, -100]]).
"""

import numpy as np
import pytest
from scipy.special import expit

from lola_sym import games
from lola_sym.report import mfos_grid as mg
from lola_sym.report import stackelberg_bimatrix as sb

#: the notebook's end points are float32 iterates after 1e4 steps; its own two runs (ratios
#: 1 and 10) differ by 5e-5, so the exact roots agree with them to about that
TOL_NOTEBOOK = 1e-4
#: a hand-written numpy protocol vs the package's (same arithmetic up to summation order)
RTOL_PROTOCOL = 1e-12


@pytest.fixture(scope="module")
def notebook_run():
    return sb.stackelberg_bimatrix_reproduction(grid=0, ratios=(1.0,))


def test_stackelberg_bimatrix_matches_the_notebooks_end_points(notebook_run):
    pts = {q["rule"]: q for q in notebook_run.points}
    assert set(pts) == {"nl", "stackelberg"}
    for rule in ("nl", "stackelberg"):
        want = np.array(sb.PUBLISHED[(rule, 1.0)])
        got = np.array([pts[rule]["x"], pts[rule]["y"]])
        assert np.max(np.abs(got - want)) <= TOL_NOTEBOOK, rule
        assert pts[rule]["count"] == 2               # both of the notebook's starts
    # the two points are apart: the leader moves the follower's response (y by 0.23)
    assert abs(pts["nl"]["y"] - pts["stackelberg"]["y"]) > 100 * TOL_NOTEBOOK


def test_stackelberg_bimatrix_classification_as_the_figure_marks(notebook_run):
    """The notebook marks the Nash-learning end point 'Stable Differential Nash' and the
    Stackelberg-learning end point 'Stable Differential Stackelberg' (cell 3)."""
    pts = {q["rule"]: q["class"] for q in notebook_run.points}
    assert pts["nl"]["stable_nash"] and not pts["nl"]["differential_stackelberg"]
    assert pts["stackelberg"]["stable_stackelberg"] and not pts["stackelberg"]["differential_nash"]


def test_stackelberg_bimatrix_reduced_table_json_and_plot(tmp_path):
    res = sb.stackelberg_bimatrix_reproduction(**sb.REDUCED)
    text = res.format_table()
    assert "notebook end point" in text and "stackelberg" in text
    assert res.as_dict()["parameters"]["iterations"] == sb.REDUCED["iterations"]
    path = tmp_path / "portrait.png"
    res.plot(path)
    assert path.stat().st_size > 10_000
    with pytest.raises(ValueError):
        sb.stackelberg_bimatrix_reproduction(ratios=())


def test_mfos_games_are_mfos_s():
    """IMP: M-FOS's p1 sits in seat 2 and wins on a match; gamma 0.96 (the catalogue's IMP
    has 0.9). Checked on deterministic policies: both play C forever."""
    g = mg.mfos_imp()
    big = np.full(5, 40.0)
    assert np.allclose(g.value(big, big) * (1 - 0.96), [1.0, -1.0], atol=1e-12)
    assert float(games.imp().gamma) == 0.9 and float(g.gamma) == 0.96
    assert mg.GAMES["IPD"][0]().r1 == (-1, -3, 0, -2)


def _hand_chicken(t1, t2, names, steps):
    """M-FOS's protocol on one-shot chicken by hand (numpy): NL/STATIC players, lr 1."""
    P1 = np.array([[0.0, -1.0], [1.0, -100.0]])
    P2 = np.array([[0.0, 1.0], [-1.0, -100.0]])

    def values(a, b):
        p, q = expit(a), expit(b)
        x, y = np.stack([p, 1 - p], -1), np.stack([q, 1 - q], -1)
        return np.einsum("bi,ij,bj->b", x, P1, y), np.einsum("bi,ij,bj->b", x, P2, y)

    def step(a, b):
        p, q = expit(a), expit(b)
        y, x = np.stack([q, 1 - q], -1), np.stack([p, 1 - p], -1)
        ga = p * (1 - p) * (y @ (P1[0] - P1[1]))
        gb = q * (1 - q) * (x @ (P2[:, 0] - P2[:, 1]))
        return (a + ga if names[0] == "NL" else a), (b + gb if names[1] == "NL" else b)
    a, b = step(t1[:, 0], t2[:, 0])
    out = []
    for _ in range(steps):
        out.append(np.stack(values(a, b), -1))
        a, b = step(a, b)
    return np.stack(out)


@pytest.mark.parametrize("names", [("NL", "STATIC"), ("NL", "NL"), ("STATIC", "NL")])
def test_mfos_protocol_against_a_hand_written_loop(names):
    game = games.chicken_one_shot()
    rng = np.random.default_rng(0)
    t1, t2 = rng.normal(size=(6, 1)), rng.normal(size=(6, 1))
    got, _ = mg._play(game, names, [t1, t2], 5, 1.0, 1.0)
    want = _hand_chicken(t1, t2, names, 5)
    assert np.max(np.abs(got - want)) <= RTOL_PROTOCOL * np.max(np.abs(want))
    wrong = _hand_chicken(t1, t2, ("STATIC", "STATIC"), 5)
    assert np.max(np.abs(got - wrong)) > 1e-6


def test_mfos_grid_reduced_runs_every_pair_and_checks_zd(tmp_path):
    res = mg.mfos_grid_reproduction(games=("IPD", "chicken"), **mg.REDUCED)
    assert len(res.rows) == 32
    ipd_rows = [r for r in res.rows if r["game"] == "IPD"]
    assert all(0.0 <= r["zd1"] <= 1.0 and 0.0 <= r["near_zd2"] <= 1.0 for r in ipd_rows)
    assert all("zd1" not in r for r in res.rows if r["game"] == "chicken")
    static = [r for r in ipd_rows if r["p1"] == r["p2"] == "STATIC"][0]
    assert -3.0 <= static["r1"] <= 0.0             # (1 - gamma) V within the payoffs
    assert "MAMAML" in res.format_table() and res.as_dict()["mamaml"]["IPD"]
    res.plot(tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="games"):
        mg.mfos_grid_reproduction(games=("RPS",), **mg.REDUCED)
