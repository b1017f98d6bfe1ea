"""What the estimator prints and changes in the process: nothing unasked."""

import ast
import functools
import os
import subprocess
import sys
import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_fitfn import MLPFunctionRegressor

SMALL = dict(hidden_layer_sizes=(16, 8), max_iter=30, batch_size=50, random_state=0)


# -- output ---------------------------------------------------------------------


def test_quiet_by_default_and_verbose_prints_the_loss(regression_data, capfd):
    X, y = regression_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # 30 epochs, as MLPRegressor
        MLPFunctionRegressor(**SMALL).fit(X, y).predict(X)
    assert capfd.readouterr() == ("", "")
    MLPFunctionRegressor(**{**SMALL, "max_iter": 3}, verbose=1).fit(X, y)
    out = capfd.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in out] == ["Iteration 1", "Iteration 2", "Iteration 3"]
    assert all("loss = " in line for line in out)


_IMPORT_AND_FIT = """
import numpy as np
from sklearn_fitfn import MLPFunctionRegressor
X = np.random.default_rng(0).normal(size=(100, 2)); y = X[:, 0] ** 2
MLPFunctionRegressor(hidden_layer_sizes=(256, 256, 256), max_iter=1).fit(X, y)
MLPFunctionRegressor(solver="rmsprop", max_iter=1).fit(X, y).model_.predict(X, verbose=0)
"""


def test_importing_the_estimator_and_fitting_print_nothing():
    # With oneDNN on (TensorFlow's default), float64 graphs of a wide network
    # and Keras's fit and predict make the graph optimiser log DT_DOUBLE lines.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    code = f"import warnings; warnings.simplefilter('ignore'){_IMPORT_AND_FIT}"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0
    assert (result.stdout, result.stderr) == ("", "")


def test_importing_the_package_waits_for_tensorflow_only_when_the_estimator_is_used():
    code = (
        "import sys, sklearn_fitfn; before = 'tensorflow' in sys.modules; "
        "sklearn_fitfn.MLPFunctionRegressor; print(before, 'tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600
    )
    assert (result.stdout, result.stderr) == ("False True\n", "")


_ENVIRONMENT_CHANGES = (
    "import os, sys; before = dict(os.environ); exec(sys.argv[1]); "
    "print(sorted((k, v) for k, v in os.environ.items() if before.get(k) != v))"
)


def _environment_changes(statement, env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    clean.pop("OMP_NUM_THREADS", None)
    result = subprocess.run(
        [sys.executable, "-c", _ENVIRONMENT_CHANGES, statement],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return set(ast.literal_eval(result.stdout.strip().splitlines()[-1]))


@functools.cache
def _tensorflows_own_changes():
    return _environment_changes("import keras, tensorflow", {})


@pytest.mark.parametrize(
    "env, expected",
    [
        # The only setting the estimator's import makes: TensorFlow's C++ log
        # level. Thread pools and oneDNN stay as TensorFlow chooses, in worker
        # processes too.
        ({}, {("TF_CPP_MIN_LOG_LEVEL", "3")}),
        ({"OMP_NUM_THREADS": "1"}, {("TF_CPP_MIN_LOG_LEVEL", "3")}),
        ({"TF_CPP_MIN_LOG_LEVEL": "3"}, set()),  # the user's value wins
        ({"TF_CPP_MIN_LOG_LEVEL": "1"}, set()),
    ],
)
def test_the_estimators_import_changes_only_tensorflows_log_level(env, expected):
    # TensorFlow's own import may set variables too (it imports JAX where
    # installed, which sets TPU_SKIP_MDS_QUERY): those are not the package's.
    ours = _environment_changes("from sklearn_fitfn import MLPFunctionRegressor", env)
    assert ours - _tensorflows_own_changes() == expected
