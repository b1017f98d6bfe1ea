"""The replay's parts, on small or hand-made networks. The whole replay runs
in tests/test_docs.py, through ``fitfn replay``, against the docs."""

import types

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_fitfn._commands.replay import (
    REPORT_LAYERS,
    ReplayResult,
    ReplayStep,
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
