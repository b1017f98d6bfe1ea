import numpy as np
import pytest

from sklearn_fitfn import MLPFunctionRegressor  # noqa: F401  (TensorFlow starts quietly)


@pytest.fixture
def regression_data():
    """A small smooth nonlinear problem with three features."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 3))
    y = X[:, 0] ** 2 + X[:, 1] - 0.5 * X[:, 2]
    return X, y
