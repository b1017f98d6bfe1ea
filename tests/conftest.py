import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from sklearn_fitfn import MLPFunctionRegressor  # TensorFlow starts quietly


def pytest_collection_finish(session):
    """Collecting the tests makes no TensorFlow object.

    A Keras optimizer or tensor made in a ``parametrize`` list starts
    TensorFlow's runtime while the tests are collected, and every process
    forked from the collecting one afterwards (mutmut's workers, see
    benchmarks/MUTATION.md) hangs at its first fit. Such objects are made
    inside the test.
    """
    if "tensorflow" not in sys.modules:
        return
    from tensorflow.python.eager import context

    # A private flag: a TensorFlow without it leaves the check out.
    if getattr(context.context(), "_initialized", False):
        raise pytest.UsageError(
            "a test module made a TensorFlow object while the tests were collected; "
            "make it inside the test"
        )


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


# -- fresh processes ---------------------------------------------------------------
#
# What the package does to a process is seen only in a new one, and each new
# process pays TensorFlow's start (seconds). Two processes, each started once
# per run, record what the tests of several modules read: one whose first
# import is the package, and one that starts with Keras alone.

_PACKAGE_FIRST = """
import json, os, sys, warnings
warnings.simplefilter("ignore")
before = dict(os.environ)
import sklearn_fitfn
found = {"tensorflow at import": "tensorflow" in sys.modules}
sklearn_fitfn.MLPFunctionRegressor
found["tensorflow at first use"] = "tensorflow" in sys.modules
found["environment"] = sorted((k, v) for k, v in os.environ.items() if before.get(k) != v)
import numpy as np
X = np.random.default_rng(0).normal(size=(100, 2)); y = X[:, 0] ** 2
# With oneDNN on (TensorFlow's default), float64 graphs of a wide network and
# Keras's fit and predict make the graph optimiser log DT_DOUBLE lines.
sklearn_fitfn.MLPFunctionRegressor(hidden_layer_sizes=(256, 256, 256), max_iter=1).fit(X, y)
found["scikeras before Keras's fit"] = "scikeras" in sys.modules
model = sklearn_fitfn.MLPFunctionRegressor(solver="rmsprop", max_iter=1).fit(X, y).model_
model.predict(X, verbose=0)
with open(sys.argv[1], "w") as out:
    json.dump(found, out)
"""

_KERAS_FIRST = """
import json, os, sys
before = dict(os.environ)
import keras, tensorflow as tf
found = {"environment": sorted((k, v) for k, v in os.environ.items() if before.get(k) != v)}
import numpy as np
X = np.load(sys.argv[2])
predictions = []
for path in sys.argv[3:]:
    model = keras.models.load_model(path)
    predictions.append(model(X).numpy().ravel().tolist())
keras.config.set_floatx("float64")
predictions.append(model.predict(X, verbose=0).ravel().tolist())
keras.config.set_floatx("float32")
found["saved models' predictions"] = predictions
found["package imported to load"] = "sklearn_fitfn" in sys.modules

import scikeras, sklearn.base
from scikeras.wrappers import BaseWrapper, KerasRegressor
classes = [BaseWrapper, KerasRegressor, keras.Model, keras.Sequential, keras.layers.Layer,
           keras.layers.Dense, keras.optimizers.Optimizer, keras.losses.Loss,
           keras.metrics.Metric, keras.callbacks.Callback, sklearn.base.BaseEstimator,
           sklearn.base.RegressorMixin, tf.Module, tf.Variable]
def snapshot():
    # Python creates an empty __annotations__ on a class when it is first read.
    return {c.__qualname__: {k: repr(v) for k, v in vars(c).items() if k != "__annotations__"}
            for c in classes}
classes_before, registered = snapshot(), set(keras.saving.get_custom_objects())
import sklearn_fitfn
X = np.random.default_rng(0).normal(size=(60, 2)); y = X[:, 0]
for solver in ["adam", "rmsprop"]:
    sklearn_fitfn.MLPFunctionRegressor(hidden_layer_sizes=(4,), max_iter=2, solver=solver).fit(X, y)
found["classes unchanged"] = classes_before == snapshot()
found["custom objects unchanged"] = registered == set(keras.saving.get_custom_objects())
with open(sys.argv[1], "w") as out:
    json.dump(found, out)
"""


def _clean_environment():
    """This process's environment without TensorFlow's variables and a thread
    count, as a user's shell would start it."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith("TF_") and k != "OMP_NUM_THREADS"
    }


def _run_fresh(script, folder, *arguments):
    """Run ``script`` in a new Python; return (what it found, its output)."""
    found = folder / "found.json"
    result = subprocess.run(
        [sys.executable, "-c", script, str(found), *map(str, arguments)],
        capture_output=True,
        text=True,
        env=_clean_environment(),
        cwd=folder,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(found.read_text()), result


@pytest.fixture(scope="session")
def package_first(tmp_path_factory):
    """A new process whose first import is the package: what it found (the
    modules imported when, the environment changed) and what it printed."""
    return _run_fresh(_PACKAGE_FIRST, tmp_path_factory.mktemp("package_first"))


@pytest.fixture(scope="session")
def keras_first(tmp_path_factory):
    """A new process that imports Keras alone, loads two saved models of the
    package (relu with Keras's fit, square units with L-BFGS), then imports
    SciKeras and the package and fits: returns what it found, the models and X."""
    folder = tmp_path_factory.mktemp("keras_first")
    X = np.random.default_rng(0).normal(size=(240, 3))
    y = X[:, 0] ** 2 + X[:, 1] - 0.5 * X[:, 2]
    small = dict(hidden_layer_sizes=(16, 8), max_iter=10, batch_size=50, random_state=0)
    models = {
        "relu": MLPFunctionRegressor(**small, solver="rmsprop").fit(X, y),
        "square": MLPFunctionRegressor(
            hidden_layer_sizes=(4,),
            activation="square",
            solver="lbfgs",
            max_iter=30,
            random_state=0,
        ).fit(X, y),
    }
    for name, model in models.items():
        model.model_.save(folder / f"{name}.keras")
    np.save(folder / "X.npy", X)
    found, _ = _run_fresh(
        _KERAS_FIRST, folder, folder / "X.npy", folder / "relu.keras", folder / "square.keras"
    )
    return found, models, X
