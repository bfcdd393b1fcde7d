"""Vector fields on planes and basins of attraction (lola_sym.analysis.portraits)."""

import numpy as np
import pytest

from lola_sym import games, update_field
from lola_sym.analysis.portraits import basins, plane_points, vector_field


def test_vector_field_is_the_field_on_the_grid():
    x, y = np.linspace(-2, 2, 5), np.linspace(-1, 1, 3)
    U, V = vector_field(games.tandem(), "lola", x, y, eta=0.2)
    f = update_field(games.tandem(), "lola", eta=0.2)
    for i, yy in enumerate(y):
        for j, xx in enumerate(x):
            g1, g2 = f(np.array([xx]), np.array([yy]))
            assert (U[i, j], V[i, j]) == (g1[0], g2[0])


def test_plane_through_a_base_point_of_the_ipd():
    base = (np.full(5, 0.5), np.full(5, -0.5))
    t1, t2 = plane_points(games.ipd(), [0.0, 1.0], [2.0, 3.0, 4.0], axes=((1, 0), (2, 3)),
                          base=base)
    assert t1.shape == (3, 2, 5) and np.all(t1[..., 1:] == 0.5) and np.all(t2[..., :3] == -0.5)
    assert t1[1, 1, 0] == 1.0 and t2[2, 0, 3] == 4.0
    U, V = vector_field(games.ipd(), "nl", [0.0, 1.0], [2.0, 3.0, 4.0], axes=((1, 0), (2, 3)),
                        base=base)
    g1, g2 = update_field(games.ipd(), "nl")(t1, t2)
    np.testing.assert_array_equal(U, g1[..., 0])
    np.testing.assert_array_equal(V, g2[..., 3])


def test_basins_of_matching_pennies():
    """LOLA drives every start to the Nash point; NL cycles around it (never arrives)."""
    x = y = np.linspace(-1.5, 1.5, 4)
    kw = dict(x=x, y=y, points=[([0.0], [0.0])], labels=["Nash"], steps=300, delta=1.0)
    lola = basins(games.matching_pennies(), "lola", eta=1.0, **kw)
    nl = basins(games.matching_pennies(), "nl", **kw)
    assert np.all(lola.outcome == 0) and np.all(nl.outcome == -1)
    assert lola.labels == ("Nash",) and lola.distance.shape == (4, 4)
    np.testing.assert_array_equal(lola.final1[..., 0] ** 2 + lola.final2[..., 0] ** 2 < 1e-4,
                                  True)


def test_diverged_runs_are_marked():
    b = basins(games.hamiltonian(), "nl", x=[-1.0, 1.0], y=[-1.0, 1.0], points=[([0.0], [0.0])],
               steps=100, delta=1.0, max_abs=10.0)
    assert np.all(b.outcome == -2) and np.all(np.isnan(b.distance))


@pytest.mark.parametrize("kwargs, match", [
    (dict(axes=None), "choose the plane"),
    (dict(axes=((3, 0), (1, 0))), "does not exist"),
    (dict(axes=((1, 0), (1, 0))), "must differ"),
    (dict(axes="xy"), "axes must be"),
])
def test_bad_planes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        vector_field(games.ipd(), "nl", [0.0, 1.0], [0.0, 1.0], **kwargs)


def test_bad_grids_and_points():
    with pytest.raises(ValueError, match="1-d grid"):
        vector_field(games.tandem(), "nl", [0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="at least one end point"):
        basins(games.tandem(), "nl", x=[0.0, 1.0], y=[0.0, 1.0], points=[])
    with pytest.raises(ValueError, match="labels for"):
        basins(games.tandem(), "nl", x=[0.0, 1.0], y=[0.0, 1.0], points=[([0.0], [1.0])],
               labels=["a", "b"])


def test_portrait_marks_classified_fixed_points():
    from lola_sym.report.plots_dynamics import portrait
    fig, pts = portrait(games.matching_pennies(), "nl", [-3, 3], [-3, 3], starts=6,
                        trajectories=2, delta=0.5, steps=50)
    assert pts == [{"x": 0.0, "y": 0.0, "label": "centre"}]
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1] + [t.get_text() for t in fig.legends[0].get_texts()] \
        if fig.legends else ax.get_legend_handles_labels()[1]
    assert "centre" in labels
    fig, pts = portrait(games.tandem(), "lola", [-1, 2], [-1, 2], starts=6, eta=0.2)
    # LOLA's shifted line x + y = 1 / (1 - 2 eta) = 5/3, non-isolated: non-hyperbolic
    assert pts and all(abs(p["x"] + p["y"] - 5 / 3) < 1e-9 and p["label"] == "non-hyperbolic"
                       for p in pts)
    with pytest.raises(ValueError, match="two-parameter game"):
        portrait(games.imp(), "nl", [0, 1], [0, 1])


def test_portrait_arguments_are_validated():
    from lola_sym.report.plots_dynamics import portrait
    from lola_sym.analysis.portraits import basins, plane_points, vector_field
    tandem = games.tandem()
    with pytest.raises(TypeError, match="x must"):
        vector_field(tandem, "nl", ["a", "b"], [0.0, 1.0])
    with pytest.raises(TypeError, match="y must"):
        vector_field(tandem, "nl", [0.0, 1.0], [True, False])
    with pytest.raises(ValueError, match="x must"):
        plane_points(tandem, [0.0, np.nan], [0.0, 1.0])
    ipd = games.ipd()
    for axes in (((True, 0), (2, 0)), ((1, 0.5), (2, 0)), ((1, "0"), (2, 0))):
        with pytest.raises(TypeError, match="axes"):
            plane_points(ipd, [0.0, 1.0], [0.0, 1.0], axes=axes)
    for base in (([0.0] * 4, [0.0] * 5), ([np.nan] * 5, [0.0] * 5), np.zeros(10), "ab"):
        with pytest.raises(ValueError, match="base"):
            plane_points(ipd, [0.0, 1.0], [0.0, 1.0], axes=((1, 0), (2, 0)), base=base)
    kw = dict(x=[-1.0, 1.0], y=[-1.0, 1.0], points=[([0.0], [0.0])], steps=2)
    for bad, error, match in [({"radius": float("nan")}, ValueError, "radius"),
                              ({"radius": 0.0}, ValueError, "radius"),
                              ({"radius": "0.1"}, TypeError, "radius"),
                              ({"points": [([np.nan], [0.0])]}, ValueError, "points"),
                              ({"points": [([0.0, 1.0], [0.0])]}, ValueError, "points"),
                              ({"points": "ab"}, TypeError, "points"),
                              ({"delta": float("nan")}, ValueError, "delta")]:
        with pytest.raises(error, match=match):
            basins(tandem, "nl", **{**kw, **bad})
    for bad, error, match in [({"trajectories": -1}, ValueError, "trajectories"),
                              ({"trajectories": 1.5}, TypeError, "trajectories"),
                              ({"trajectories": True}, TypeError, "trajectories"),
                              ({"delta": float("nan")}, ValueError, "delta"),
                              ({"steps": 0}, ValueError, "steps"),
                              ({"starts": 0}, ValueError, "starts"),
                              ({"seed": -3}, ValueError, "seed")]:
        with pytest.raises(error, match=match):
            portrait(games.matching_pennies(), "nl", [-1.0, 1.0], [-1.0, 1.0], **bad)
