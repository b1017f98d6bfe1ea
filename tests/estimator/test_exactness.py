"""Square units fit squares and products exactly, inside and outside the training range.

Trained with L-BFGS in float64 through the canonical pipeline (scaled X and y),
with no L2 penalty (it would pull the weights off the exact solution) and
tol=0 (search until no step improves the loss). Measured, the largest error is
about 1e-9, so rounding to the nearest integer has a margin of 0.5 - 1e-9.
"""

import numpy as np
import pytest

from sklearn_fitfn.datasets import make_function_data
from sklearn_fitfn.experiments import build_pipeline

EXACT = dict(solver="lbfgs", alpha=0.0, tol=0.0, max_iter=2000)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_square_units_give_every_square_from_1_to_2000(seed):
    X, y = make_function_data("squares", 1000, random_state=0)
    model = build_pipeline("square", (4,), random_state=seed, **EXACT).fit(X, y)
    x = np.arange(1, 2001)
    predicted = model.predict(x.reshape(-1, 1))
    np.testing.assert_array_equal(np.round(predicted), x**2)
    assert np.abs(predicted - x**2).max() < 1e-3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_square_units_multiply_two_integers(seed):
    X, y = make_function_data("products", 1000, random_state=0)
    model = build_pipeline("square", (4,), random_state=seed, **EXACT).fit(X, y)
    for low, high, data_seed in [(1, 1000, 1), (1001, 2000, 2)]:
        X_new, y_new = make_function_data(
            "products", 1000, low=low, high=high, random_state=data_seed
        )
        np.testing.assert_array_equal(np.round(model.predict(X_new)), y_new)


def test_relu_is_not_exact_and_grows_worse_outside_the_range():
    X, y = make_function_data("squares", 1000, random_state=0)
    model = build_pipeline("relu", (16,), random_state=0, **EXACT).fit(X, y)
    inside = np.arange(1, 1001)
    outside = np.arange(1001, 2001)
    error_in = np.sqrt(np.mean((model.predict(inside.reshape(-1, 1)) - inside**2) ** 2))
    error_out = np.sqrt(np.mean((model.predict(outside.reshape(-1, 1)) - outside**2) ** 2))
    assert error_in > 1
    assert error_out > 10 * error_in


@pytest.mark.parametrize("function", ["squares", "products"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_square_units_are_enough(function, seed):
    X, y = make_function_data(function, 1000, random_state=0)
    model = build_pipeline("square", (2,), random_state=seed, **EXACT).fit(X, y)
    X_out, y_out = make_function_data(function, 1000, low=1001, high=2000, random_state=2)
    np.testing.assert_array_equal(np.round(model.predict(X)), y)
    np.testing.assert_array_equal(np.round(model.predict(X_out)), y_out)
