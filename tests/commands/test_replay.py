"""The replay's parts, on small or hand-made networks. The whole replay runs
in tests/test_docs.py, through ``fitfn replay``, against the docs."""

import json
import types
import warnings

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_fitfn._commands.replay import (
    REPORT_LAYERS,
    ReplayResult,
    ReplayStep,
    _decimal,
    _explain,
    _measure,
    _rounded_rmse,
    first_layer_bends,
    replay_markdown,
    report_network,
    straight_pieces,
)
from sklearn_fitfn.datasets import make_squares


def _hand_made(activation, coefs, intercepts):
    """A fitted-looking model whose network has the given weights and whose
    scaling is the identity."""
    network = types.SimpleNamespace(
        activation=activation, coefs_=coefs, intercepts_=intercepts, fit=None
    )
    return types.SimpleNamespace(regressor_=make_pipeline(FunctionTransformer(), network))


def test_the_report_network_is_the_reports():
    model = report_network()
    network = model.regressor.steps[-1][1]
    assert network.hidden_layer_sizes == REPORT_LAYERS == (20, 100, 1000, 100, 20)
    assert (network.activation, network.solver, network.batch_size) == ("identity", "adam", 100)
    assert (network.max_iter, network.alpha, network.dtype) == (500, 0.0, "float32")
    assert (network.learning_rate_init, network.random_state) == (1e-3, 0)
    assert report_network(random_state=7).regressor.steps[-1][1].random_state == 7
    # All 500 epochs, as Keras's fit runs them.
    assert network.n_iter_no_change == 500 and network.tol == 0
    # x and y divided by 1e6 going in, multiplied back coming out.
    X = np.array([[1000.0], [1.0]])
    assert model.regressor.steps[0][1].fit_transform(X).tolist() == [[1e-3], [1e-6]]
    divide = model.transformer.fit(X)
    assert divide.inverse_transform(divide.transform(X)).tolist() == X.tolist()


def test_the_report_network_variants():
    stopping = report_network("relu", stopping=True).regressor.steps[-1][1]
    assert (stopping.activation, stopping.tol, stopping.n_iter_no_change) == ("relu", 1e-4, 10)
    standard = report_network("relu", scaling="standard")
    assert type(standard.transformer).__name__ == "StandardScaler"
    steps = [type(step).__name__ for _, step in standard.regressor.steps]
    assert steps == ["StandardScaler", "MLPFunctionRegressor"]
    with pytest.raises(ValueError, match="scaling must be 'report' or 'standard'"):
        report_network(scaling="minmax")


@pytest.mark.slow  # about 18 s; the full replay in test_docs.py runs it too
def test_the_report_network_trains_and_predicts_in_original_units():
    X, y = make_squares(200, random_state=0)
    model = report_network("relu", random_state=0).set_params(
        regressor__mlpfunctionregressor__max_iter=2
    )
    model.fit(X, y)
    assert model.regressor_[-1].n_iter_ == 2
    assert model.predict(X).shape == (200,) and np.all(np.isfinite(model.predict(X)))


def test_first_layer_bends_counts_the_units_that_bend_inside_the_data():
    # Units bend where w * x + b = 0: at x = 0.5, 2, -1 and 10; the data span 0..3.
    model = _hand_made(
        "relu",
        [np.array([[2.0, 1.0, 1.0, 0.1]]), np.ones((4, 1))],
        [np.array([-1.0, -2.0, 1.0, -1.0]), np.zeros(1)],
    )
    X = np.array([[0.0], [1.0], [3.0]])
    assert first_layer_bends(model, X) == 2
    assert first_layer_bends(_hand_made("identity", model.regressor_[-1].coefs_, None), X) == 0


def test_straight_pieces_counts_where_the_units_switch():
    model = _hand_made(
        "relu",
        [np.array([[1.0, 1.0]]), np.array([[1.0], [1.0]])],
        [np.array([-2.5, -6.5]), np.zeros(1)],
    )
    x = np.arange(0, 11, dtype=float).reshape(-1, 1)  # bends between 2 and 3, and 6 and 7
    assert straight_pieces(model, x) == 3
    assert straight_pieces(_hand_made("identity", None, None), x) == 1
    assert straight_pieces(_hand_made("tanh", None, None), x) is None
    # A second layer's bends count too: it switches between 4 and 5.
    deep = _hand_made(
        "relu",
        [np.array([[1.0]]), np.array([[1.0]]), np.array([[1.0]])],
        [np.array([0.5]), np.array([-4.5]), np.zeros(1)],
    )
    assert straight_pieces(deep, x) == 2
    # Both layers' bends count: the first switches between 2 and 3, the
    # second (on at relu(x - 2.5) > 0.5) between 3 and 4.
    both = _hand_made(
        "relu",
        [np.array([[1.0]]), np.array([[1.0]]), np.array([[1.0]])],
        [np.array([-2.5]), np.array([-0.5]), np.zeros(1)],
    )
    assert straight_pieces(both, x) == 3


def test_a_unit_off_at_a_point_switches_after_it():
    # x - 3 is 0 at x = 3: off there, on from 4; the other unit switches between 2 and 3.
    model = _hand_made(
        "relu",
        [np.array([[1.0, 1.0]]), np.array([[1.0], [1.0]])],
        [np.array([-3.0, -2.5]), np.zeros(1)],
    )
    assert straight_pieces(model, np.arange(0, 11, dtype=float).reshape(-1, 1)) == 3


def test_a_bend_at_the_edge_of_the_data_or_nowhere_is_not_inside():
    # Bends at 0 and 3, the data's ends; a unit of weight 0 bends nowhere (its
    # -b / w is infinite, or 0 / 0), without a warning.
    model = _hand_made(
        "relu",
        [np.array([[1.0, 1.0, 0.0, 0.0, 1.0]]), np.ones((5, 1))],
        [np.array([0.0, -3.0, 1.0, 0.0, -1.5]), np.zeros(1)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert first_layer_bends(model, np.array([[0.0], [1.0], [3.0]])) == 1


def test_the_markdown_and_the_printed_report_hold_the_same_figures():
    steps = [
        ReplayStep(
            name="a step",
            change="nothing",
            rmse=75484.2,
            line_rmse=75198.1,
            epochs=18,
            max_epochs=500,
            seconds=1.5,
            why="Because.",
            measured={},
            model=None,
        )
    ]
    result = ReplayResult(steps=steps, X=np.ones((3, 1)), y=np.ones(3), config={})
    assert "| 1. a step | 75,484.2 | 75,198.1 | 18 of 500 |" in result.markdown()
    assert result.markdown() == replay_markdown(result.summary()["steps"])
    printed = result.report()
    assert "1. a step" in printed and "75,484.2" in printed and "18/500" in printed
    assert printed.rstrip().endswith("1. Because.")
    assert '"seconds": 1.5' in result.to_json() and "model" not in result.summary()["steps"][0]


def test_the_markdown_is_the_table_then_the_sentences():
    steps = [_step("report", 75484.2, epochs=18), _step("relu", 0.25, line_rmse=2.5)]
    steps[0].why, steps[1].why = "First.", "Second."
    summary = ReplayResult(steps, np.ones((1, 1)), np.ones(1), {}).summary()
    assert replay_markdown(summary["steps"]) == (
        "| step | RMSE | best straight line | epochs run |\n"
        "|---|---|---|---|\n"
        "| 1. report | 75,484.2 | 75,198.1 | 18 of 500 |\n"
        "| 2. relu | 0.2 | 2.5 | 500 of 500 |\n"
        "\n"
        "1. First.\n"
        "2. Second.\n"
    )


@pytest.mark.parametrize(
    "value, written", [(1e-6, "0.000001"), (0.001, "0.001"), (1.0, "1"), (2.5, "2.5"), (0.0, "0")]
)
def test_an_input_bound_is_written_in_decimals_without_trailing_zeros(value, written):
    assert _decimal(value) == written


def _step(name, rmse, line_rmse=75198.1, epochs=500, max_epochs=500, measured=None, model=None):
    return ReplayStep(
        name=name,
        change="",
        rmse=rmse,
        line_rmse=line_rmse,
        epochs=epochs,
        max_epochs=max_epochs,
        seconds=0.0,
        why="",
        measured=measured or {},
        model=model,
    )


def test_each_sentence_quotes_its_steps_figures():
    canonical = types.SimpleNamespace(
        regressor_=make_pipeline(types.SimpleNamespace(hidden_layer_sizes=(64, 64)))
    )
    steps = [
        _step("report", 75484.2, measured={"distance_from_a_line": 3e-8}),
        _step(
            "relu",
            12000.0,
            measured={
                "first_layer_bends": 2,
                "first_layer_units": 20,
                "straight_pieces": 5,
                "weights": 224441,
            },
        ),
        _step("stopped", 80000.0, epochs=18, measured={"first_loss": 0.0123, "last_gain": 3.2e-5}),
        _step("standard", 120.0, measured={"first_layer_bends": 17, "straight_pieces": 40}),
        _step("canonical", 300.0, measured={"weights": 4353}, model=canonical),
        _step("square", 0.0),
    ]
    X = np.arange(1, 1001).reshape(-1, 1)
    sentences = _explain(steps, X)
    assert sentences[0] == (
        "With no activation the six Dense layers multiply out to one slope and one offset: "
        "the predictions lie on a straight line (the farthest is 3e-08 of their range from "
        "it), so the network ends at 1.004 times the best straight line's error and can "
        "never go below it."
    )
    assert sentences[1] == (
        "relu lets the curve bend, and the error falls to 16.0% of the line's; but divided "
        "by 1e6 the inputs lie between 0.000001 and 0.001, far from where the first layer's "
        "units bend: 2 of its 20 units bend inside the data, and after 500 epochs the curve "
        "has 5 straight pieces over 1..1000 (standardised: 17 units and 40 pieces)."
    )
    assert sentences[2] == (
        "MLPRegressor's default stopping rule ended training after 18 of 500 epochs: on "
        "y / 1e6 the loss is small from the start (0.012 after one epoch) and its last 10 "
        "epochs gained 3e-05 in all, less than tol = 1e-4, so the relu network stopped worse "
        'than a straight line (80,000.0 against 75,198.1): "relu did not help".'
    )
    assert sentences[3] == (
        "Standardised x and y put the data where the units bend, and the same network and "
        "epochs end 100 times lower than with x and y divided by 1e6: 0.2% of the line's "
        "error."
    )
    assert sentences[4] == (
        "The package's canonical model, build_pipeline(), standardises x and y and trains a "
        "(64, 64) relu network for 500 epochs: 0.4% of the line's error with 4,353 weights, "
        "where the report's network has 224,441."
    )
    assert sentences[5] == (
        "When y is known to be a square: a hidden layer of square units (z → z²) represents "
        "x² exactly, and L-BFGS finds it: every rounded prediction is exact."
    )
    steps[2].rmse, steps[5].rmse = 70000.0, 1.5
    again = _explain(steps, X)
    assert "so the relu network stopped near a straight line (70,000.0 against" in again[2]
    assert again[5].endswith("and L-BFGS finds it: RMSE 1.5 after rounding.")


def test_the_printed_table_aligns_its_columns_under_the_header():
    steps = [
        _step("the report", 75484.2, epochs=500),
        _step("relu", 1.25, line_rmse=2.5, epochs=18, max_epochs=50),
    ]
    steps[0].seconds, steps[1].seconds = 12.34, 0.5
    steps[0].why, steps[1].why = "First.", "Second."
    X = np.ones((1000, 1))
    assert ReplayResult(steps=steps, X=X, y=np.ones(1000), config={}).report().splitlines() == [
        "The original report, replayed on y = x² (1,000 integers x from 1..1000): RMSE on "
        "those rows after rounding, as in the report, beside the best straight line's on "
        "the same rows.",
        "",
        "step               RMSE  best line   epochs    time",
        "1. the report  75,484.2   75,198.1  500/500  12.3 s",
        "2. relu             1.2        2.5    18/50   0.5 s",
        "",
        "1. First.",
        "2. Second.",
    ]


def test_the_measured_figures_of_a_fitted_step():
    # Two relu units bending at x = 2.5 and 6.5, summed: a curve of 3 pieces on 0..10.
    model = _hand_made(
        "relu",
        [np.array([[1.0, 1.0]]), np.array([[1.0], [1.0]])],
        [np.array([-2.5, -6.5]), np.zeros(1)],
    )
    network = model.regressor_[-1]
    # The best loss before the last 10 epochs comes just before them, and is
    # lower than the best in them: the last 10 gained nothing.
    network.loss_curve_ = [5.0] + [3.0] * 11 + [1.0] + [1.5] * 9 + [1.2]
    network.loss_ = 1.4
    model.predict = lambda X: np.maximum(X[:, 0] - 2.5, 0) + np.maximum(X[:, 0] - 6.5, 0)
    grid = np.arange(0, 11, dtype=float).reshape(-1, 1)
    measured = _measure(model, np.array([[0.0], [3.0]]), grid)
    predicted = model.predict(grid)
    slope, intercept = np.polyfit(grid[:, 0], predicted, 1)
    farthest = np.max(np.abs(slope * grid[:, 0] + intercept - predicted)) / np.ptp(predicted)
    assert measured.pop("distance_from_a_line") == pytest.approx(farthest)
    assert measured == {
        "first_layer_units": 2,
        "first_layer_bends": 1,  # 2.5 inside 0..3, 6.5 outside
        "straight_pieces": 3,
        "first_loss": 5.0,
        "final_loss": 1.4,
        "last_gain": pytest.approx(1.0 - 1.2),
        "weights": 2 + 2 + 2 + 1,
    }
    network.loss_curve_ = [2.0] + [3.0] * 10
    assert _measure(model, np.array([[0.0], [3.0]]), grid)["last_gain"] == -1.0
    network.loss_curve_ = network.loss_curve_[:10]
    assert _measure(model, np.array([[0.0], [3.0]]), grid)["last_gain"] is None


def test_the_rounded_error_rounds_each_prediction_first():
    model = types.SimpleNamespace(predict=lambda X: X[:, 0] + np.array([0.4, -0.6, 0.5]))
    X, y = np.array([[1.0], [2.0], [4.0]]), np.array([1.0, 2.0, 4.0])
    # Rounded: 1, 1 and 4 (4.5 to even): one error of 1 in three rows.
    assert _rounded_rmse(model, X, y) == pytest.approx(np.sqrt(1 / 3))


def test_the_summary_leaves_out_the_models_and_keeps_every_figure():
    steps = [_step("a", 1.5, measured={"weights": 7}, model=object())]
    result = ReplayResult(steps=steps, X=np.ones((1, 1)), y=np.ones(1), config={"seed": 3})
    figures = dict(rmse=1.5, line_rmse=75198.1, epochs=500, max_epochs=500, seconds=0.0, why="")
    assert result.table().to_dict(orient="records") == [{"step": "a", **figures}]
    text = result.to_json()
    assert text.splitlines()[:2] == ["{", '  "config": {']  # indented, for people to read
    written = json.loads(text)
    assert written == {
        "config": {"seed": 3},
        "steps": [{"name": "a", "change": "", **figures, "measured": {"weights": 7}}],
    }
