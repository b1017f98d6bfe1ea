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


def test_the_estimators_import_changes_only_tensorflows_log_level():
    # TensorFlow's own import may set variables too (it imports JAX where
    # installed, which sets TPU_SKIP_MDS_QUERY): those are not the package's.
    # Thread pools and oneDNN stay as TensorFlow chooses.
    ours = _environment_changes("from sklearn_fitfn import MLPFunctionRegressor", {})
    assert ours - _tensorflows_own_changes() == {("TF_CPP_MIN_LOG_LEVEL", "3")}


@pytest.mark.parametrize("value", ["3", "1"])
def test_a_log_level_the_user_set_is_kept(monkeypatch, value):
    from sklearn_fitfn._quiet.tensorflow import _import_tensorflow_quietly

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", value)
    _import_tensorflow_quietly()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == value


def test_the_log_level_is_set_when_the_user_set_none(monkeypatch):
    from sklearn_fitfn._quiet.tensorflow import _import_tensorflow_quietly

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    _import_tensorflow_quietly()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
