"""The figures show what they say: each curve is its model's predictions, each
figure in a legend is the one the data give, each panel has its own scale.

Every expected value here is computed from the models and the data, not by
the figure code's own helpers.
"""

import re

import numpy as np
import pytest

from sklearn_fitfn._commands.experiments import build_pipeline, run_experiment
from sklearn_fitfn._commands.figures import plot_arithmetic, plot_fits, plot_replay, plot_rmse
from sklearn_fitfn._commands.replay import ReplayResult, ReplayStep
from sklearn_fitfn.arithmetic import run_arithmetic
from sklearn_fitfn.datasets import make_squares


def _squares_experiment(extrapolate):
    return run_experiment(
        "squares",
        n_samples=80,
        max_iter=5,
        activations=["identity", "relu"],
        architectures=[(4,)],
        cv=2,
        extrapolate=extrapolate,
        progress=False,
    )


@pytest.fixture(scope="module")
def squares():
    """The experiment, extrapolated: its figure draws both ranges."""
    return _squares_experiment((1001, 1500))


@pytest.fixture(scope="module")
def squares_inside():
    return _squares_experiment(None)


def _figures_in(text):
    """The numbers written in ``text``, as floats (``75,198.1``, ``2.3e-09``)."""
    return [float(n.replace(",", "")) for n in re.findall(r"-?\d[\d,]*\.?\d*(?:e[-+]\d+)?", text)]


def _agrees_to_its_digits(written, value):
    """``value`` rounds to ``written`` at the precision ``written`` shows."""
    return abs(written - value) <= 0.051 * 10 ** np.floor(np.log10(abs(value) or 1)) or (
        abs(written - value) <= 0.051
    )


def _rmse(model, X, y):
    return float(np.sqrt(np.mean((model.predict(X) - y) ** 2)))


def test_each_curve_is_its_models_predictions_and_each_residual_its_error(squares_inside):
    result = squares_inside
    figure = plot_fits(result)
    top, *panels = figure.axes
    order = np.argsort(result.X_test[:, 0])
    X, y = result.X_test[order], result.y_test[order]
    curves = {line.get_label().split()[0]: line for line in top.get_lines()}
    for (activation, model), panel in zip(result.models.items(), panels):
        predicted = model.predict(X)
        np.testing.assert_array_equal(curves[activation].get_xdata(), X[:, 0])
        np.testing.assert_array_equal(curves[activation].get_ydata(), predicted)
        (residual_line,) = [line for line in panel.get_lines() if len(line.get_xdata()) > 2]
        np.testing.assert_array_equal(residual_line.get_ydata(), predicted - y)
        # Its own scale: the panel spans its residuals, and not much more.
        low, high = panel.get_ylim()
        spread = (predicted - y).max() - (predicted - y).min()
        assert low <= (predicted - y).min() and high >= (predicted - y).max()
        assert high - low < 1.5 * spread
    scattered = top.collections[0].get_offsets()
    np.testing.assert_array_equal(np.asarray(scattered)[:, 1], y)


def test_the_legends_errors_are_the_models_errors_on_the_held_out_rows(squares):
    result = squares
    legend = [text.get_text() for text in plot_fits(result).axes[0].get_legend().get_texts()]
    for activation, model in result.models.items():
        (label,) = [text for text in legend if text.startswith(activation + " ")]
        inside, outside = _figures_in(label.split("RMSE", 1)[1])[:2]
        assert _agrees_to_its_digits(inside, _rmse(model, result.X_test, result.y_test))
        assert _agrees_to_its_digits(
            outside, _rmse(model, result.X_extrapolate, result.y_extrapolate)
        )


def test_outside_the_range_the_error_panels_show_the_size_of_each_error(squares):
    result = squares
    figure = plot_fits(result)
    X = np.concatenate([result.X_test, result.X_extrapolate])
    y = np.concatenate([result.y_test, result.y_extrapolate])
    order = np.argsort(X[:, 0])
    for model, panel in zip(result.models.values(), figure.axes[1:]):
        assert panel.get_yscale() == "log"
        (line,) = panel.get_lines()
        expected = np.maximum(np.abs(model.predict(X[order]) - y[order]), 1e-12)
        np.testing.assert_array_equal(line.get_ydata(), expected)


def test_the_bars_are_the_tables_cross_validated_errors_and_the_line_the_floor(squares):
    result = squares
    axes = plot_rmse(result).axes[0]
    bars = [patch.get_height() for patch in axes.patches]
    np.testing.assert_array_equal(bars, result.table["cv_rmse_mean"].to_numpy())
    (floor,) = [line for line in axes.get_lines() if line.get_linestyle() == "--"]
    assert floor.get_ydata()[0] == result.linear_floor
    # The floor written in the legend is the best line's error on the training rows.
    X, y = result.X_train, result.y_train
    design = np.column_stack([X, np.ones(len(X))])
    line_error = np.sqrt(np.mean((design @ np.linalg.lstsq(design, y, rcond=None)[0] - y) ** 2))
    (written,) = _figures_in(axes.get_legend().get_texts()[0].get_text())
    assert abs(written - line_error) <= 0.5


def test_each_replay_step_draws_its_models_fit_on_the_training_rows():
    X, y = make_squares(100, random_state=0)
    steps = []
    for activation in ["identity", "relu"]:
        model = build_pipeline(activation, (4,), max_iter=3).fit(X, y)
        steps.append(ReplayStep(activation, "", 1.0, 2.0, 3, 3, 0.1, "", {}, model))
    figure = plot_replay(ReplayResult(steps=steps, X=X, y=y, config={}))
    order = np.argsort(X[:, 0])
    visible = [axes for axes in figure.axes if axes.get_visible()]  # row by row: curves, residuals
    for step, curve, residual in zip(steps, visible[: len(steps)], visible[len(steps) :]):
        predicted = step.model.predict(X[order])
        np.testing.assert_array_equal(curve.get_lines()[0].get_ydata(), predicted)
        np.testing.assert_array_equal(residual.get_lines()[0].get_ydata(), predicted - y[order])


def test_the_arithmetic_figure_marks_each_fit_at_its_error_beside_its_threshold():
    result = run_arithmetic("div", 1, primer=True, progress=False)
    axes = plot_arithmetic(result).axes[0]
    by_label = {c.get_label(): np.asarray(c.get_offsets()) for c in axes.collections}
    table = result.table
    solved = table[table["success"]]
    np.testing.assert_array_equal(by_label["solved"][:, 1], solved["mse"].to_numpy())
    np.testing.assert_array_equal(
        by_label["success threshold"][:, 1], table["threshold"].to_numpy()
    )
    refused = [label for label in by_label if label.startswith("refused")]
    assert len(by_label[refused[0]]) == (table["refused"] != "").sum() == 1
    assert f"{len(solved)} of {len(table)} solved" in axes.get_title()
