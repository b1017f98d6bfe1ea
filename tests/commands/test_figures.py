import subprocess
import sys

import matplotlib.image
import pytest
from matplotlib.colors import to_hex

from sklearn_fitfn._commands.experiments import build_pipeline, run_experiment
from sklearn_fitfn._commands.figures import (
    ACTIVATION_COLOURS,
    _compact,
    activation_colour,
    plot_fits,
    plot_replay,
    plot_rmse,
)
from sklearn_fitfn._commands.replay import ReplayResult, ReplayStep
from sklearn_fitfn._network.activations import ACTIVATION_NAMES, canonical_activation
from sklearn_fitfn.datasets import make_squares


@pytest.mark.parametrize("function, extrapolate", [("products", None), ("squares", (1001, 2000))])
def test_figures_are_valid_pngs(tmp_path, function, extrapolate):
    result = run_experiment(
        function,
        n_samples=60,
        max_iter=3,
        architectures=[(4,)],
        cv=2,
        extrapolate=extrapolate,
        progress=False,
    )
    for plot, name in [(plot_fits, "fits.png"), (plot_rmse, "rmse.png")]:
        figure = plot(result, tmp_path / name)
        image = matplotlib.image.imread(tmp_path / name)
        assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 500
        assert image.std() > 0.01  # not a blank canvas
        assert len(figure.axes) >= 1
    if extrapolate:
        axes = plot_fits(result).axes[0]
        assert axes.get_xlim()[1] >= 2000  # both ranges are drawn
        assert any("outside" in text.get_text() for text in axes.get_legend().get_texts())


def _line_colours(axes):
    return {line.get_label().split()[0]: to_hex(line.get_color()) for line in axes.get_lines()}


def test_each_activation_keeps_its_colour_whatever_the_order():
    def run(activations):
        return run_experiment(
            "squares",
            n_samples=60,
            max_iter=3,
            architectures=[(4,)],
            cv=2,
            activations=activations,
            progress=False,
        )

    first, second = run(["identity", "relu"]), run(["relu", "tanh", "identity"])
    colours = [_line_colours(plot_fits(result).axes[0]) for result in (first, second)]
    assert colours[0]["relu"] == colours[1]["relu"] == to_hex(ACTIVATION_COLOURS["relu"])
    assert colours[0]["identity"] == colours[1]["identity"] == to_hex(activation_colour("linear"))
    assert len(set(colours[1].values())) == 3
    bars = plot_rmse(second).axes[0].patches
    by_activation = dict(zip(second.table["activation"], (to_hex(b.get_facecolor()) for b in bars)))
    assert by_activation == {a: to_hex(activation_colour(a)) for a in ["relu", "tanh", "identity"]}


def test_every_activation_name_has_its_own_colour():
    canonical = {canonical_activation(name) for name in ACTIVATION_NAMES}
    assert {to_hex(activation_colour(name)) for name in canonical} == {
        to_hex(colour) for colour in ACTIVATION_COLOURS.values()
    }
    assert len({to_hex(c) for c in ACTIVATION_COLOURS.values()}) == len(ACTIVATION_COLOURS)
    assert activation_colour("identity") == activation_colour("linear")


def test_several_inputs_are_drawn_as_predicted_against_true_with_residuals_apart():
    result = run_experiment(
        "products", n_samples=60, max_iter=3, architectures=[(4,)], cv=2, progress=False
    )
    figure = plot_fits(result)
    top, *residuals = figure.axes
    assert len(residuals) == 2  # one panel, and one scale, per activation
    assert [line.get_label() for line in top.get_lines()] == ["predicted = true"]
    assert len(top.collections) == 2  # each model's predictions as points, not a line
    assert residuals[0].get_ylim() != residuals[1].get_ylim()


def test_ticks_never_use_an_offset_or_multiplier():
    assert [_compact(v) for v in [0, 1500, 250_000, 4e6, 0.25, 1e-10, -2e5]] == [
        "0",
        "1,500",
        "250k",
        "4M",
        "0.25",
        "1e-10",
        "-200k",
    ]


def test_the_replay_figure_has_a_fit_and_a_residual_panel_per_step(tmp_path):
    X, y = make_squares(100, random_state=0)
    steps = []
    for activation in ["identity", "relu", "square", "relu"]:
        model = build_pipeline(activation, (4,), max_iter=3).fit(X, y)
        steps.append(
            ReplayStep(
                name=f"{activation} step",
                change="",
                rmse=1.0,
                line_rmse=2.0,
                epochs=3,
                max_epochs=3,
                seconds=0.1,
                why="",
                measured={},
                model=model,
            )
        )
    result = ReplayResult(steps=steps, X=X, y=y, config={})
    figure = plot_replay(result, tmp_path / "replay.png")
    visible = [axes for axes in figure.axes if axes.get_visible()]
    assert len(visible) == 2 * len(steps)
    titles = [axes.get_title() for axes in visible if axes.get_title()]
    assert titles == [f"{i}. {s.name}" for i, s in enumerate(steps, 1)]
    assert matplotlib.image.imread(tmp_path / "replay.png").std() > 0.01


_IMPORT_ALONE = """
import sys
import matplotlib
backend = matplotlib.get_backend()
import sklearn_fitfn.datasets, sklearn_fitfn._commands.figures
from sklearn_fitfn._commands.figures import plot_rmse
assert matplotlib.get_backend() == backend, (backend, matplotlib.get_backend())
heavy = sorted({name.split(".")[0] for name in sys.modules} & {"tensorflow", "keras", "scikeras"})
print(heavy)
"""


def test_the_figures_and_the_data_import_without_tensorflow_or_a_backend_change():
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALONE], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


def test_drawing_keeps_no_pyplot_figure_open(tmp_path):
    import matplotlib.pyplot as plt

    result = run_experiment(
        "squares", n_samples=40, max_iter=2, architectures=[(4,)], cv=2, progress=False
    )
    open_before = plt.get_fignums()
    plot_rmse(result, tmp_path / "rmse.png")
    plot_fits(result, tmp_path / "fits.png")
    assert plt.get_fignums() == open_before
