import signal

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


@pytest.fixture
def python_sigint_handler():
    """Python's own Ctrl-C handler for the test's duration, the previous one after.

    A process started in the background by a non-interactive shell, or under
    ``nohup``, inherits SIGINT as ignored, and Python then installs no
    handler: a test that needs Ctrl-C to raise installs it itself.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
