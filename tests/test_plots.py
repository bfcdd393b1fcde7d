"""Tests of lola_sym.report.plots: headless figures with the expected artists, saving, bad input."""

import dataclasses
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.quiver import Quiver
from scipy.special import expit

from lola_sym import bias_variance, games, train, update_field
from lola_sym.games.layout import STATES
from lola_sym.report.plots import (FIXED_POINT_STYLES, basins, estimator_error, final_policies,
                            phase_portrait, training_curves)

GRID = np.linspace(-1.0, 1.0, 21)
X, Y = np.meshgrid(GRID, GRID)
#: the Hamiltonian game's naive-learning field (V1 = -xy, V2 = xy): a centre at the origin
U, V = -Y, X


@pytest.fixture(scope="module")
def nl():
    return train(games.ipd(), "nl", runs=4, steps=5, seed=0)


@pytest.fixture(scope="module")
def lola():
    return train(games.ipd(), "lola", runs=4, steps=5, seed=0)


@pytest.fixture(scope="module")
def half_diverged(nl):
    """``nl`` with runs 1 and 3 marked diverged (data unchanged: exclusion must drop them)."""
    return dataclasses.replace(nl, diverged_at=np.array([-1, 3, -1, 2]))


def no_pyplot_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    return plt is None or plt.get_fignums() == []


def legend_texts(legend):
    return [t.get_text() for t in legend.get_texts()]


# ------------------------------------------------------------------ training_curves
def test_training_curves_single_trajectory_is_headless_and_labelled(nl):
    fig = training_curves(nl)
    assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    assert no_pyplot_figures()
    (ax,) = fig.axes
    assert ax.get_ylabel() == r"$(1-\gamma)V^1$" and ax.get_xlabel() == "update"
    assert [line.get_label() for line in ax.lines] == ["NL (n=4)"]
    assert "IPD" in fig.get_suptitle()


def test_training_curves_one_line_and_one_band_per_setting_per_agent(nl, lola):
    fig = training_curves({"NL-Ex": nl, "LOLA-Ex": lola}, agent="both")
    assert len(fig.axes) == 2
    for i, ax in enumerate(fig.axes):
        assert len(ax.lines) == 2
        assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
        assert legend_texts(ax.get_legend()) == ["NL-Ex (n=4)", "LOLA-Ex (n=4)"]
        # the line is the mean over runs of agent i's reward
        np.testing.assert_array_equal(ax.lines[1].get_ydata(), lola.reward[:, :, i].mean(axis=1))
        np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(nl.steps + 1))


@pytest.mark.parametrize("spread, bands", [("std", 1), ("quartiles", 1), ("minmax", 1), (None, 0)])
def test_training_curves_spread_options(nl, spread, bands):
    ax = training_curves(nl, spread=spread).axes[0]
    assert len(ax.collections) == bands


def test_training_curves_minmax_band_spans_the_runs(nl):
    band = training_curves(nl, spread="minmax").axes[0].collections[0]
    ys = band.get_paths()[0].vertices[:, 1]
    r = nl.reward[:, :, 0]
    assert np.isclose(ys.min(), r.min()) and np.isclose(ys.max(), r.max())


def test_training_curves_mean_of_both_agents(nl):
    ax = training_curves(nl, agent="mean").axes[0]
    assert ax.get_ylabel() == r"$(1-\gamma)(V^1 + V^2)/2$"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), nl.reward.mean(axis=(1, 2)))


def test_training_curves_exclude_diverged_runs_and_count_them(half_diverged):
    ax = training_curves({"NL-Ex": half_diverged}).axes[0]
    assert [line.get_label() for line in ax.lines] == ["NL-Ex (n=2, 2 diverged excluded)"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(),
                               half_diverged.reward[:, [0, 2], 0].mean(axis=1))


def test_training_curves_all_runs_diverged_keep_a_legend_entry(nl):
    gone = train(games.ipd(), "nl", runs=4, steps=5, seed=0, max_abs=1.5, on_divergence="mark")
    assert gone.diverged.all()
    ax = training_curves({"tiny max_abs": gone, "NL-Ex": nl}).axes[0]
    assert len(ax.lines) == 2 and len(ax.lines[0].get_xdata()) == 0
    assert legend_texts(ax.get_legend())[0] == "tiny max_abs (all 4 runs diverged)"


def test_training_curves_one_shot_game_has_undiscounted_label():
    tr = train(games.hamiltonian(), "nl", runs=2, steps=3, seed=0, delta=0.1)
    assert training_curves(tr, agent=2).axes[0].get_ylabel() == "$V^2$"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(agent=3), ValueError, "agent must be 1, 2"),
    (dict(agent=True), ValueError, "agent must be 1, 2"),
    (dict(spread="iqr"), ValueError, "unknown spread 'iqr'"),
])
def test_training_curves_bad_options(nl, kwargs, error, match):
    with pytest.raises(error, match=match):
        training_curves(nl, **kwargs)


def test_training_curves_bad_trajectories(nl):
    with pytest.raises(ValueError, match="dict is empty"):
        training_curves({})
    with pytest.raises(TypeError, match=r"trajectories\['x'\] must be a Trajectory"):
        training_curves({"x": nl.reward})
    with pytest.raises(TypeError, match="expected a Trajectory or a dict"):
        training_curves([nl])


# ------------------------------------------------------------------ final_policies
def test_final_policies_two_agents_states_and_all_runs(nl, lola):
    fig = final_policies({"NL-Ex": nl, "LOLA-Ex": lola})
    assert no_pyplot_figures()
    ax1, ax2 = fig.axes
    assert (ax1.get_title(), ax2.get_title()) == ("agent 1", "agent 2")
    assert ax1.get_ylabel() == r"$P(C \mid s)$"
    assert [t.get_text() for t in ax2.get_xticklabels()] == list(STATES)
    for ax, theta in ((ax1, "theta1"), (ax2, "theta2")):
        dots = [line for line in ax.lines if line.get_marker() == "o"]
        assert [len(d.get_ydata()) for d in dots] == [4 * 5, 4 * 5]
        # dots are the final probabilities, bars their means
        np.testing.assert_allclose(np.sort(dots[1].get_ydata()),
                                   np.sort(expit(getattr(lola, theta)[-1]).ravel()))
        bars = [c for c in ax.collections if isinstance(c, LineCollection)]
        means = [seg[0, 1] for seg in bars[0].get_segments()]
        np.testing.assert_allclose(means, expit(getattr(nl, theta)[-1]).mean(axis=0))
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "NL-Ex (n=4)", "LOLA-Ex (n=4)", "mean over runs (bar)"]


def test_final_policies_jitter_is_seeded_and_local(nl):
    a = final_policies(nl, seed=3).axes[0].lines[0].get_xdata()
    b = final_policies(nl, seed=3).axes[0].lines[0].get_xdata()
    c = final_policies(nl, seed=4).axes[0].lines[0].get_xdata()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_final_policies_excludes_diverged_runs_and_names_heads_for_imp(half_diverged):
    ax = final_policies({"NL": half_diverged}).axes[0]
    assert len(ax.lines[0].get_ydata()) == 2 * 5
    imp = train(games.imp(), "nl", runs=2, steps=2, seed=0)
    assert final_policies(imp).axes[0].get_ylabel() == r"$P(H \mid s)$"


def test_final_policies_earlier_step(nl):
    fig = final_policies(nl, step=0)
    assert "update 0" in fig.get_suptitle()
    np.testing.assert_allclose(np.sort(fig.axes[0].lines[0].get_ydata()),
                               np.sort(expit(nl.theta1[0]).ravel()))


def test_final_policies_bad_input(nl):
    with pytest.raises(ValueError, match="step must be an int index"):
        final_policies(nl, step=6)
    with pytest.raises(ValueError, match="memory-1 policies"):
        final_policies(train(games.hamiltonian(), "nl", runs=2, steps=2, delta=0.1))


# ------------------------------------------------------------------ phase_portrait
def fixed_points():
    return [{"x": 0.0, "y": 0.0, "label": "centre"},
            {"x": 0.5, "y": 0.5, "label": "stable"},
            {"x": -0.5, "y": 0.5, "label": "stable"},
            SimpleNamespace(x=0.5, y=-0.5, label="saddle"),
            (-0.5, -0.5, "unstable")]


def test_phase_portrait_markers_per_class_and_legend():
    fig = phase_portrait(GRID, GRID, U, V, fixed_points=fixed_points(),
                         xlabel="$x$", ylabel="$y$", title="Hamiltonian game")
    assert no_pyplot_figures()
    ax = fig.axes[0]
    markers = {line.get_label(): line for line in ax.lines if line.get_gid() == "fixed point"}
    assert {k: len(v.get_xdata()) for k, v in markers.items()} == {
        "stable": 2, "unstable": 1, "saddle": 1, "centre": 1}
    assert len({markers[k].get_marker() + str(markers[k].get_markerfacecolor())
                for k in markers}) == 4
    assert legend_texts(ax.get_legend()) == ["stable", "unstable", "saddle", "centre"]
    assert isinstance(ax.collections[0], LineCollection)          # the stream lines
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("$x$", "$y$", "Hamiltonian game")
    assert len(fig.axes) == 2 and "speed" in fig.axes[1].get_ylabel()   # the colorbar


def test_phase_portrait_of_the_package_field():
    """The field as the stability module would pass it: update_field on a meshgrid."""
    g1, g2 = update_field(games.hamiltonian(), "nl")(X.reshape(-1, 1), Y.reshape(-1, 1))
    u, v = g1[:, 0].reshape(X.shape), g2[:, 0].reshape(X.shape)
    np.testing.assert_array_equal(u, U)
    np.testing.assert_array_equal(v, V)
    fig = phase_portrait(GRID, GRID, u, v, fixed_points=[{"x": 0, "y": 0, "label": "centre"}])
    assert legend_texts(fig.axes[0].get_legend()) == ["centre"]


@pytest.mark.parametrize("label, key", [("center", "centre"), ("stable focus", "stable"),
                                        ("Unstable_Node", "unstable"), ("sink", "stable"),
                                        ("degenerate", "non-hyperbolic")])
def test_phase_portrait_aliases(label, key):
    ax = phase_portrait(GRID, GRID, U, V, fixed_points=[{"x": 0, "y": 0, "label": label}]).axes[0]
    assert legend_texts(ax.get_legend()) == [key]
    assert ax.lines[0].get_marker() == FIXED_POINT_STYLES[key]["marker"]


def test_phase_portrait_quiver_trajectories_and_nan():
    u = U.copy()
    u[0, 0] = np.nan                                   # a blank cell is allowed
    path = np.stack([0.5 * np.cos(np.linspace(0, 3, 20)), 0.5 * np.sin(np.linspace(0, 3, 20))], 1)
    ax = phase_portrait(GRID, GRID, u, V, streamlines=False, trajectories=[path, path[:1]]).axes[0]
    assert any(isinstance(c, Quiver) for c in ax.collections)
    drawn = [line for line in ax.lines if line.get_label() == "trajectory"]
    assert len(drawn) == 1
    np.testing.assert_array_equal(drawn[0].get_xydata(), path)
    assert legend_texts(ax.get_legend()) == ["trajectory"]


def test_phase_portrait_into_given_axes():
    fig = Figure()
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    assert phase_portrait(GRID, GRID, U, V, ax=right) is fig
    assert len(left.collections) == 0 and len(right.collections) > 0


@pytest.mark.parametrize("args, match", [
    ((GRID, GRID, U[:, :-1], V),
     r"u must have shape \(len\(y\), len\(x\)\) = \(21, 21\), got \(21, 20\); rows follow y"),
    ((GRID, GRID[:-1], U, V), r"u must have shape .* = \(20, 21\), got \(21, 21\)"),
    ((GRID, GRID, U, V.T[None]), "v must have shape"),
    ((GRID ** 3, GRID, U, V), "x must be evenly spaced"),
    ((GRID[::-1], GRID, U, V), "x must be finite and strictly increasing"),
    ((X, GRID, U, V), "x must be a 1-d array"),
])
def test_phase_portrait_bad_shapes(args, match):
    with pytest.raises(ValueError, match=match):
        phase_portrait(*args)


def test_phase_portrait_bad_fixed_points_and_trajectories():
    with pytest.raises(ValueError, match="unknown classification 'spiral'; choose one of"):
        phase_portrait(GRID, GRID, U, V, fixed_points=[{"x": 0, "y": 0, "label": "spiral"}])
    with pytest.raises(ValueError, match=r"fixed_points\[1\] needs x, y and label"):
        phase_portrait(GRID, GRID, U, V,
                       fixed_points=[(0, 0, "saddle"), {"x": 0, "label": "saddle"}])
    with pytest.raises(TypeError, match="label'] must be a str"):
        phase_portrait(GRID, GRID, U, V, fixed_points=[{"x": 0, "y": 0, "label": 1}])
    with pytest.raises(ValueError, match=r"trajectories\[0\] must have shape \(n, 2\)"):
        phase_portrait(GRID, GRID, U, V, trajectories=[np.zeros((5, 3))])


# ------------------------------------------------------------------ basins
def test_basins_classes_image_and_legend():
    outcome = (X + Y > 0).astype(int)
    outcome[10, 10] = -1
    labels = {-1: "no convergence", 0: "defect", 1: "cooperate", 2: "unused"}
    fig = basins(GRID, GRID, outcome, labels=labels, fixed_points=fixed_points()[:2])
    assert no_pyplot_figures()
    ax = fig.axes[0]
    (im,) = ax.images
    assert isinstance(im, AxesImage)
    # pixels hold the position of their class among the sorted classes [-1, 0, 1, 2]
    np.testing.assert_array_equal(im.get_array(), outcome + 1)
    assert legend_texts(ax.get_legend()) == ["no convergence", "defect", "cooperate", "unused",
                                             "stable", "centre"]
    np.testing.assert_allclose(im.get_extent(), [-1.05, 1.05, -1.05, 1.05])


def test_basins_default_labels_and_booleans():
    ax = basins(GRID, GRID, X > 0).axes[0]
    assert legend_texts(ax.get_legend()) == ["class 0", "class 1"]


def test_basins_float_outcome_uses_a_colorbar():
    dist = np.hypot(X - 0.5, Y)
    dist[0, 0] = np.nan
    fig = basins(GRID, GRID, dist, colorbar_label="final distance to $(1/2, 0)$")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "final distance to $(1/2, 0)$"
    assert isinstance(fig.axes[0].images[0], AxesImage)
    assert fig.axes[0].get_legend() is None


def test_basins_bad_input():
    outcome = (X > 0).astype(int)
    with pytest.raises(ValueError, match=r"outcome must have shape .* got \(20, 21\)"):
        basins(GRID, GRID, outcome[1:])
    with pytest.raises(ValueError, match=r"no name for class\(es\) \[1\]"):
        basins(GRID, GRID, outcome, labels={0: "defect"})
    with pytest.raises(ValueError, match="labels name classes of an integer outcome"):
        basins(GRID, GRID, outcome.astype(float), labels={0: "defect"})
    with pytest.raises(TypeError, match="must hold integers, booleans or floats"):
        basins(GRID, GRID, outcome.astype(str))
    with pytest.raises(TypeError, match="labels keys must be int"):
        basins(GRID, GRID, outcome, labels={"0": "a", 1: "b"})


# ------------------------------------------------------------------ estimator_error
@pytest.fixture(scope="module")
def bv():
    return bias_variance(games.ipd(), np.zeros(5), np.zeros(5), batch_sizes=[10, 40],
                         horizons=[5], replicates=3, seed=0)


def test_estimator_error_wraps_bias_variance_plot(bv):
    fig = estimator_error(bv)
    assert no_pyplot_figures()
    ax = fig.axes[0]
    assert ax.get_xlabel() == bv.plot().axes[0].get_xlabel() == "batch size N (episodes)"
    np.testing.assert_array_equal(ax.get_xticks(), [10, 40])
    with pytest.raises(TypeError, match="needs a lola_sym.sampling.verify.BiasVariance"):
        estimator_error(bv.as_dict())


# ------------------------------------------------------------------ saving
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_every_figure_saves_png_and_pdf(tmp_path, nl, bv, suffix, magic):
    makers = {
        "curves": lambda p: training_curves(nl, path=p),
        "policies": lambda p: final_policies(nl, path=p),
        "portrait": lambda p: phase_portrait(GRID, GRID, U, V, path=p,
                                             fixed_points=[(0, 0, "centre")]),
        "basins": lambda p: basins(GRID, GRID, (X > 0).astype(int), path=p),
        "error": lambda p: estimator_error(bv, path=p),
    }
    for name, make in makers.items():
        path = tmp_path / "sub" / f"{name}{suffix}"
        assert isinstance(make(str(path) if name == "basins" else path), Figure)
        assert path.stat().st_size > 1000
        assert path.read_bytes()[:len(magic)] == magic


def test_saving_rejects_unknown_suffix(tmp_path, nl):
    with pytest.raises(ValueError, match=r"path must end in \.png or \.pdf"):
        training_curves(nl, path=tmp_path / "curves.svg")
    assert not (tmp_path / "curves.svg").exists()


def test_figures_have_a_png_repr_for_notebooks():
    """Jupyter shows an object with ``_repr_png_`` as an image, no pyplot backend needed."""
    from lola_sym import games, plots, train
    fig = plots.training_curves(train(games.ipd(), "nl", runs=2, steps=2, seed=0))
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_the_figure_helpers_live_below_both_figure_modules():
    """plots re-exports plots_dynamics; both take _figure and _save from _plot_support, which
    imports neither (no import cycle, not even inside a function)."""
    import ast
    import importlib
    from pathlib import Path

    def imports(module):
        tree = ast.parse(Path(importlib.import_module(module).__file__).read_text())
        return ({a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
                | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)})
    assert "lola_sym.report.plots" not in imports("lola_sym.report.plots_dynamics")
    assert not {"lola_sym.report.plots", "lola_sym.report.plots_dynamics"} & imports("lola_sym.report.plot_support")
    assert "lola_sym.report.plots_dynamics" in imports("lola_sym.report.plots")      # the check can fail
    from lola_sym.report import plot_support as _plot_support, plots, plots_dynamics
    assert plots._save is plots_dynamics._save is _plot_support._save
