"""The verdict's figures, each against an independent computation: the model
chosen per activation, its held-out error as a share of the best straight
line's on the held-out data, and the extrapolation ratio."""

import re

import numpy as np
import pytest

from sklearn_fitfn.experiments import run_experiment

# Short training leaves relu far from exact, so that its error's share of the
# held-out line and of the training line differ at the printed precision.
SETTINGS = dict(
    n_samples=200,
    max_iter=15,
    cv=2,
    activations=("identity", "relu"),
    architectures=[(2,), (32, 32)],
    extrapolate=(1001, 1500),
    progress=False,
)


@pytest.fixture(scope="module")
def result():
    return run_experiment("squares", **SETTINGS)


def _line_rmse(x, y):
    slope, intercept = np.polyfit(np.ravel(x).astype(float), y.astype(float), 1)
    return float(np.sqrt(np.mean((slope * np.ravel(x) + intercept - y) ** 2)))


def _rmse(model, X, y):
    return float(np.sqrt(np.mean((model.predict(X) - y) ** 2)))


def _verdict_line(result, activation):
    (line,) = [x for x in result.verdict().splitlines() if x.startswith(activation + ":")]
    return line


def test_each_activation_is_represented_by_its_lowest_cv_error(result):
    cv = result.search.cv_results_
    for activation, model in result.models.items():
        rows = [
            i
            for i, params in enumerate(cv["params"])
            if any(k.endswith("__activation") and v == activation for k, v in params.items())
        ]
        errors = {i: -cv["mean_test_rmse"][i] for i in rows}
        assert len(set(errors.values())) == len(rows)  # a best and a worst to tell apart
        best = cv["params"][min(errors, key=errors.get)]
        (sizes,) = [v for k, v in best.items() if k.endswith("__hidden_layer_sizes")]
        assert model.regressor_[-1].hidden_layer_sizes == sizes, activation


def test_the_share_of_the_line_is_against_the_held_out_line(result):
    relu = result.models["relu"]
    rmse = _rmse(relu, result.X_test, result.y_test)
    held_out = _line_rmse(result.X_test, result.y_test)
    training = _line_rmse(result.X_train, result.y_train)
    expected = f"{100 * rmse / held_out:.1f}"
    assert expected != f"{100 * rmse / training:.1f}", "the test could not tell the floors apart"
    share = re.search(r"\(([\d.]+)% of the best straight line", _verdict_line(result, "relu"))
    assert share.group(1) == expected
    identity = _verdict_line(result, "identity")
    assert f"gets {held_out:,.1f}:" in identity


def test_the_extrapolation_ratio_is_outside_over_inside(result):
    for activation, model in result.models.items():
        inside = _rmse(model, result.X_test, result.y_test)
        outside = _rmse(model, result.X_extrapolate, result.y_extrapolate)
        ratio = re.search(r", ([\d,]+) times its error inside", _verdict_line(result, activation))
        assert ratio.group(1) == f"{outside / inside:,.0f}", activation
        assert outside > inside  # so an inverted ratio would print 0
