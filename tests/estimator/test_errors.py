"""Errors and faults: each named, before training where it can be, and none
leaving the fitted estimator half-changed."""

import re
import threading
import warnings

import keras
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPRegressor
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._network.spec import NetworkSpec
from sklearn_fitfn._training.engine import compiled_epochs
from sklearn_fitfn._training.lbfgs import compiled_full_batch

SMALL = dict(hidden_layer_sizes=(16, 8), max_iter=30, batch_size=50, random_state=0)


# -- errors ---------------------------------------------------------------------

#: MLPRegressor's error for a fit that diverged; ours starts with it.
MLPREGRESSOR_NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large "
    "values and need to be preprocessed."
)


@pytest.mark.parametrize(
    "X_change, y_change, error, message",
    [
        (lambda X: np.where(X > 2, np.nan, X), None, ValueError, "NaN"),
        (lambda X: np.where(X > 2, np.inf, X), None, ValueError, "infinity"),
        (None, lambda y: np.where(y > 3, np.nan, y), ValueError, "NaN"),
        (lambda X: X.reshape(len(X), 3, 1), None, ValueError, "dim 3"),
        (lambda X: X[:0], lambda y: y[:0], ValueError, "0 sample"),
        (
            lambda X: np.array([["a", "b", "c"]] * len(X), dtype=object),
            None,
            ValueError,
            "convert|string",
        ),
    ],
)
def test_bad_training_data_is_named(regression_data, X_change, y_change, error, message):
    X, y = regression_data
    X = X_change(X) if X_change else X
    y = y_change(y) if y_change else y
    reg = MLPFunctionRegressor(**SMALL)
    with pytest.raises(error, match=message):
        reg.fit(X, y)
    assert not hasattr(reg, "model_") and not hasattr(reg, "n_features_in_")


def test_predict_errors(regression_data):
    X, y = regression_data
    with pytest.raises(NotFittedError, match="not fitted"):
        MLPFunctionRegressor().predict(X)
    reg = MLPFunctionRegressor(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        reg.predict(X[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        reg.predict(np.full_like(X, np.nan))


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(activation="rellu"), "activation"),
        (dict(activation=["relu"]), "activation"),
        (dict(activation=["relu", "nope"]), "activation"),
        (dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes"),
        (dict(hidden_layer_sizes=(8, -3)), "hidden_layer_sizes"),
        (dict(hidden_layer_sizes=-1), "hidden_layer_sizes"),
        (dict(validation_fraction=-0.1), "validation_fraction"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(solver="rmsprob"), "solver"),
        (dict(solver=3), "solver"),
        (dict(loss="nope"), "loss"),
        (dict(callbacks=[3]), "callbacks"),
        (dict(callbacks="EarlyStopping"), "callbacks"),
        (dict(batch_size=0), "batch_size"),
        (dict(dtype="float16"), "dtype"),
    ],
)
def test_bad_parameters_raise_invalid_parameter_error_naming_it(regression_data, params, name):
    X, y = regression_data
    defaults = dict(hidden_layer_sizes=(8, 8), max_iter=2)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        MLPFunctionRegressor(**{**defaults, **params}).fit(X, y)


def test_validation_fraction_zero_as_mlpregressor(regression_data):
    X, y = regression_data
    for cls in (MLPFunctionRegressor, MLPRegressor):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            cls(**SMALL, validation_fraction=0.0).fit(X, y)  # unused without early stopping
            with pytest.raises(ValueError, match="test_size=0.0"):
                cls(**SMALL, validation_fraction=0.0, early_stopping=True).fit(X, y)


def test_a_failed_refit_leaves_the_fitted_estimator_as_it_was(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL).fit(X, y)
    before = reg.predict(X)
    curve = list(reg.loss_curve_)
    with pytest.raises(ValueError):
        reg.fit(np.full((10, 5), np.nan), y[:10])
    assert reg.n_features_in_ == 3
    np.testing.assert_array_equal(reg.predict(X), before)
    assert reg.loss_curve_ == curve


@pytest.mark.parametrize(
    "options, unit",
    [
        (dict(solver="adam"), "epoch"),
        (dict(solver="sgd"), "epoch"),
        (dict(solver="lbfgs"), "iteration"),
        (dict(solver="rmsprop"), "epoch"),
        (dict(solver="adam", warm_start=True), "epoch"),
        (dict(solver="adam", jit_compile=True), "epoch"),
        (dict(solver="lbfgs", jit_compile=True), "iteration"),
    ],
    ids=["adam", "sgd", "lbfgs", "keras-fit", "warm-start", "adam-xla", "lbfgs-xla"],
)
def test_a_non_finite_loss_stops_the_fit_and_says_what_to_do(regression_data, options, unit):
    # 1e20 squared overflows float32: every loss is infinite, the weights may not be.
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, dtype="float32", **options).fit(X, y)
    before, curve = reg.predict(X), list(reg.loss_curve_)
    with pytest.raises(ValueError) as error:
        reg.fit(X, y * 1e20)
    message = str(error.value)
    assert message.startswith(MLPREGRESSOR_NON_FINITE)  # so that MLPRegressor's handlers match
    assert re.search(rf"The training loss became non-finite \((inf|nan)\) at {unit} 1,", message)
    assert "in float32" in message and "Scale X and y" in message and "'float64'" in message
    # A learning rate to lower only where the solver has one.
    assert ("learning_rate_init" in message) == (unit == "epoch")
    np.testing.assert_array_equal(reg.predict(X), before)
    assert reg.loss_curve_ == curve


def test_a_float64_fit_that_diverges_is_not_told_to_use_float64(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, solver="sgd", learning_rate_init=1e30)
    with pytest.raises(ValueError) as error:
        reg.fit(X, y)
    message = str(error.value)
    assert "in float64" in message and "'float64'" not in message
    assert "lower learning_rate_init" in message


@pytest.mark.parametrize("solver", ["adam", "rmsprop"], ids=["engine", "keras-fit"])
def test_a_non_finite_loss_stops_partial_fit_too_and_leaves_the_model_as_it_was(
    regression_data, solver
):
    """The failed call changes nothing: the weights, the optimizer's state
    (Keras's, on Keras's fit), the loss curve; the next call goes on from there."""
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, dtype="float32", solver=solver)
    twin = MLPFunctionRegressor(**SMALL, dtype="float32", solver=solver)
    for model in (reg, twin):
        model.partial_fit(X, y).partial_fit(X, y)
    with pytest.raises(ValueError, match="non-finite"):
        reg.partial_fit(X, y * 1e20)
    assert reg.current_epoch == twin.current_epoch == 2
    assert reg.loss_curve_ == twin.loss_curve_
    np.testing.assert_array_equal(reg.predict(X), twin.predict(X))
    if solver == "rmsprop":
        state = [v.numpy() for v in reg.model_.optimizer.variables]
        expected = [v.numpy() for v in twin.model_.optimizer.variables]
        assert int(reg.model_.optimizer.iterations) == 2 * 5
        for mine, theirs in zip(state, expected, strict=True):
            np.testing.assert_array_equal(mine, theirs)
    for model in (reg, twin):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(reg.predict(X), twin.predict(X))


def test_unscaled_squares_in_float32_with_lbfgs_fail_clearly():
    x = np.linspace(1, 1e12, 300).reshape(-1, 1)
    reg = MLPFunctionRegressor(hidden_layer_sizes=(16,), solver="lbfgs", dtype="float32")
    with pytest.raises(ValueError, match="non-finite"):
        reg.fit(x, x.ravel() ** 2)
    assert not hasattr(reg, "model_")


class _HoldsALock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()


def _used_csv_logger(path):
    logger = keras.callbacks.CSVLogger(str(path))
    logger.on_train_begin()  # holds its open file from now on
    return logger


@pytest.mark.parametrize(
    "params, error, message",
    [
        (
            lambda tmp: dict(callbacks=[keras.callbacks.Callback(), _HoldsALock()]),
            TypeError,
            r"callbacks\[1\] \(_HoldsALock\) cannot be copied: .*lock.*new instance",
        ),
        (
            lambda tmp: dict(callbacks=[_used_csv_logger(tmp / "log.csv")]),
            TypeError,
            r"callbacks\[0\] \(CSVLogger\) cannot be copied",
        ),
        (
            lambda tmp: dict(loss="sparse_categorical_crossentropy"),
            InvalidParameterError,
            "real-valued targets \\('sparse_categorical_crossentropy' is not one\\)",
        ),
        (
            lambda tmp: dict(loss="binary_crossentropy"),
            InvalidParameterError,
            "'binary_crossentropy' is not one",
        ),
        (
            lambda tmp: dict(loss=keras.losses.BinaryCrossentropy()),
            InvalidParameterError,
            "BinaryCrossentropy is not one",
        ),
        (lambda tmp: dict(loss=keras.losses.Hinge()), InvalidParameterError, "Hinge is not one"),
    ],
    ids=["lock", "used-csv-logger", "sparse-cce", "bce", "bce-instance", "hinge-instance"],
)
def test_a_fault_is_named_before_training_and_leaves_the_fit_as_it_was(
    regression_data, tmp_path, monkeypatch, params, error, message
):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL).fit(X, y)
    before, curve = reg.predict(X), list(reg.loss_curve_)
    epochs = []
    monkeypatch.setattr("sklearn_fitfn._training.record.end_of_epoch", lambda *a: epochs.append(a))
    with pytest.raises(error, match=message):
        reg.set_params(**params(tmp_path)).fit(X, y)
    assert epochs == []  # refused before any training
    np.testing.assert_array_equal(reg.predict(X), before)
    assert reg.loss_curve_ == curve


@pytest.mark.parametrize(
    "loss", ["mae", "mean_absolute_percentage_error", keras.losses.Huber(), keras.losses.LogCosh()]
)
def test_keras_regression_losses_are_accepted(regression_data, loss):
    X, y = regression_data
    reg = MLPFunctionRegressor(**{**SMALL, "max_iter": 2}, loss=loss).fit(X, y)
    assert np.isfinite(reg.predict(X)).all()


@pytest.mark.parametrize("flag", [np.False_, np.True_])
def test_numpy_booleans_work_as_booleans(regression_data, flag):
    # As GridSearchCV passes them from a parameter grid given as an array.
    X, y = regression_data
    numpy_flags = dict(jit_compile=flag, shuffle=np.True_, nesterovs_momentum=np.False_)
    python_flags = {name: bool(value) for name, value in numpy_flags.items()}
    for solver in ["sgd", "lbfgs"]:
        ours = MLPFunctionRegressor(**SMALL, solver=solver, **numpy_flags).fit(X, y)
        plain = MLPFunctionRegressor(**SMALL, solver=solver, **python_flags).fit(X, y)
        assert ours.loss_curve_ == plain.loss_curve_
    search = GridSearchCV(
        MLPFunctionRegressor(**{**SMALL, "max_iter": 3}), {"jit_compile": np.array([False, True])}
    )
    assert len(search.fit(X, y).cv_results_["mean_test_score"]) == 2


@pytest.mark.parametrize(
    "solver, compiled", [("adam", compiled_epochs), ("lbfgs", compiled_full_batch)]
)
def test_a_failed_trace_is_not_kept_for_later_fits(regression_data, monkeypatch, solver, compiled):
    X, y = regression_data
    monkeypatch.setattr("sklearn_fitfn._training.compiled.KEPT_SHAPES", 1000)  # nothing evicted
    options = dict(hidden_layer_sizes=(7, 5, 3), max_iter=3, solver=solver, random_state=0)
    kept = len(compiled)
    with monkeypatch.context() as broken:
        broken.setattr(NetworkSpec, "loss_and_gradients", _fails_to_trace)
        with pytest.raises(RuntimeError, match="no trace"):
            MLPFunctionRegressor(**options).fit(X, y)
    assert len(compiled) == kept
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPFunctionRegressor(**options).fit(X, y)
    assert len(compiled) == kept + 1


def _fails_to_trace(*args, **kwargs):
    raise RuntimeError("no trace")
