"""What the estimator prints and changes in the process: nothing unasked."""

import os
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


def test_importing_the_estimator_and_fitting_print_nothing(package_first):
    # The process imports the package, fits a wide float64 network on the
    # engine and one with Keras's fit, and predicts with Keras (conftest.py).
    _, printed = package_first
    assert (printed.stdout, printed.stderr) == ("", "")


def test_importing_the_package_waits_for_tensorflow_only_when_the_estimator_is_used(
    package_first,
):
    found, _ = package_first
    assert not found["tensorflow at import"]
    assert found["tensorflow at first use"]


def test_the_estimators_import_changes_only_tensorflows_log_level(package_first, keras_first):
    # TensorFlow's own import may set variables too (it imports JAX where
    # installed, which sets TPU_SKIP_MDS_QUERY): those are not the package's.
    # Thread pools and oneDNN stay as TensorFlow chooses.
    ours = {tuple(change) for change in package_first[0]["environment"]}
    tensorflows = {tuple(change) for change in keras_first[0]["environment"]}
    assert ours - tensorflows == {("TF_CPP_MIN_LOG_LEVEL", "3")}


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
