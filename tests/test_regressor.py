import ast
import functools
import os
import pickle
import random
import re
import subprocess
import sys
import threading
import warnings

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from tensorflow.python.framework import config as tf_config

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._spec import NetworkSpec, dense_layers
from sklearn_fitfn._training.engine import compiled_epochs
from sklearn_fitfn._training.lbfgs import compiled_full_batch

SMALL = dict(hidden_layer_sizes=(16, 8), max_iter=30, batch_size=50, random_state=0)


# -- the same training as MLPRegressor ------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        dict(shuffle=False),
        dict(shuffle=True),
        dict(solver="sgd", learning_rate="invscaling"),
        dict(
            solver="sgd",
            learning_rate="adaptive",
            nesterovs_momentum=False,
            n_iter_no_change=2,
            tol=10.0,
        ),
        dict(early_stopping=True, activation="tanh"),
        dict(early_stopping=True, n_iter_no_change=2, tol=0.05, validation_fraction=0.2),
        dict(
            solver="sgd",
            learning_rate="adaptive",
            early_stopping=True,
            n_iter_no_change=2,
            tol=0.05,
        ),
        dict(activation="logistic", alpha=0.1),
        dict(tol=10.0, n_iter_no_change=3),
    ],
)
def test_training_reproduces_mlpregressor_step_for_step(regression_data, options):
    X, y = regression_data
    ours = MLPFunctionRegressor(**SMALL, **options).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = MLPRegressor(**SMALL, **options).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.loss_curve_, reference.loss_curve_, rtol=1e-10)
    assert ours.n_iter_ == reference.n_iter_
    assert ours.t_ == reference.t_
    if options.get("early_stopping"):
        np.testing.assert_allclose(
            ours.validation_scores_, reference.validation_scores_, rtol=1e-10
        )
        assert ours.best_validation_score_ == pytest.approx(reference.best_validation_score_)
        assert ours.best_loss_ is None
    else:
        assert ours.best_loss_ == pytest.approx(reference.best_loss_)
        assert ours.validation_scores_ is None


@pytest.mark.parametrize(
    "options", [dict(), dict(solver="sgd"), dict(early_stopping=True), dict(solver="lbfgs")]
)
def test_poisson_loss_reproduces_mlpregressor(options):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1])).astype(float)
    params = dict(**SMALL, loss="poisson", **options)
    ours = MLPFunctionRegressor(**params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = MLPRegressor(**params).fit(X, y)
    # L-BFGS: TensorFlow's and NumPy's round-off over 30 iterations, as for squares.
    tolerance = 1e-8 if options.get("solver") == "lbfgs" else 1e-10
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=0, atol=tolerance)
    assert ours.loss_ == pytest.approx(reference.loss_, rel=1e-9)
    assert ours.n_iter_ == reference.n_iter_
    assert ours.out_activation_ == reference.out_activation_ == "exp"
    assert dense_layers(ours.model_)[-1].activation.__name__ == "exponential"
    np.testing.assert_allclose(ours.model_(X).numpy().ravel(), ours.predict(X), rtol=1e-12)


def test_poisson_loss_on_keras_fit_and_negative_targets_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = rng.poisson(np.exp(X[:, 0])).astype(float)
    reg = MLPFunctionRegressor(**SMALL, loss="poisson", solver="rmsprop").fit(X, y)
    assert (reg.predict(X) > 0).all() and reg.history_["loss"][-1] < reg.history_["loss"][0]
    unfitted = MLPFunctionRegressor(**SMALL, loss="poisson")
    with pytest.raises(ValueError, match="negative which is not allowed for Poisson"):
        unfitted.fit(X, y - 1)
    assert not hasattr(unfitted, "model_")


def test_partial_fit_and_warm_start_reproduce_mlpregressor(regression_data):
    X, y = regression_data
    ours, reference = MLPFunctionRegressor(**SMALL), MLPRegressor(**SMALL)
    for _ in range(3):
        ours.partial_fit(X, y)
        reference.partial_fit(X, y)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), atol=1e-10)
    assert ours.n_iter_ == 1 and ours.t_ == 3 * len(X)

    ours = MLPFunctionRegressor(**SMALL, warm_start=True).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = MLPRegressor(**SMALL, warm_start=True).fit(X, y)
        ours.fit(X, y)
        reference.fit(X, y)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), atol=1e-10)
    assert len(ours.loss_curve_) == 60


# -- the snippet from the README works ------------------------------------------


def test_pipeline_target_transform_and_grid_search_pick_relu_on_squares():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 1001, size=(300, 1))
    y = X[:, 0].astype(float) ** 2
    reg = MLPFunctionRegressor(
        hidden_layer_sizes=(32, 32),
        activation="relu",
        max_iter=150,
        learning_rate_init=0.01,
        random_state=0,
    )
    model = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), reg), transformer=StandardScaler()
    )
    grid = GridSearchCV(
        model, {"regressor__mlpfunctionregressor__activation": ["identity", "relu"]}, cv=3
    )
    grid.fit(X, y)
    assert grid.best_params_["regressor__mlpfunctionregressor__activation"] == "relu"
    identity_score, relu_score = grid.cv_results_["mean_test_score"]
    assert relu_score > 0.99 and identity_score < 0.95


# -- inputs and outputs ---------------------------------------------------------


def test_dataframe_input_records_feature_names(regression_data):
    X, y = regression_data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    reg = MLPFunctionRegressor(**SMALL).fit(frame, pd.Series(y))
    assert list(reg.feature_names_in_) == ["a", "b", "c"]
    with pytest.warns(UserWarning, match="feature names"):
        from_array = reg.predict(X)
    np.testing.assert_allclose(reg.predict(frame), from_array)


def test_multi_output_targets(regression_data):
    X, y = regression_data
    Y = np.column_stack([y, -y, X[:, 0]])
    reg = MLPFunctionRegressor(**{**SMALL, "max_iter": 150}).fit(X, Y)
    assert reg.n_outputs_ == 3 and reg.predict(X).shape == (len(X), 3)
    assert reg.score(X, Y) > 0.5


def test_column_vector_target_warns_and_predicts_1d(regression_data):
    X, y = regression_data
    with pytest.warns(DataConversionWarning):
        reg = MLPFunctionRegressor(**SMALL).fit(X, y.reshape(-1, 1))
    assert reg.predict(X).shape == (len(X),)


@pytest.mark.parametrize(
    "dtype, expected", [(np.int64, np.float64), (np.float32, np.float32), (np.float64, np.float64)]
)
def test_input_dtypes_follow_mlpregressor(regression_data, dtype, expected):
    X, y = regression_data
    X = (X * 10).astype(dtype)
    reg = MLPFunctionRegressor(**SMALL).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = MLPRegressor(**SMALL).fit(X, y)
    assert reg.predict(X).dtype == reference.predict(X).dtype == expected
    assert reg.coefs_[0].dtype == reference.coefs_[0].dtype == expected
    np.testing.assert_allclose(reg.predict(X), reference.predict(X), rtol=1e-3, atol=1e-3)
    # An explicit dtype applies whatever the input; a warm start keeps the network's.
    forced = MLPFunctionRegressor(**SMALL, dtype="float64").fit(X, y)
    assert forced.predict(X).dtype == np.float64
    reg.set_params(warm_start=True).fit(X.astype(np.float64), y)
    assert reg.predict(X).dtype == expected


def test_float32_computation(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, dtype="float32").fit(X, y)
    assert reg.predict(X).dtype == np.float32
    assert dense_layers(reg.model_)[0].kernel.dtype == "float32"
    reference = MLPFunctionRegressor(**SMALL).fit(X, y)
    np.testing.assert_allclose(reg.predict(X), reference.predict(X), atol=1e-3)


def test_fitted_attributes_describe_the_keras_network(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL).fit(X, y)
    assert isinstance(reg.model_, keras.Model)
    assert [c.shape for c in reg.coefs_] == [(3, 16), (16, 8), (8, 1)]
    assert [b.shape for b in reg.intercepts_] == [(16,), (8,), (1,)]
    assert reg.n_features_in_ == 3 and reg.n_outputs_ == 1 and reg.n_layers_ == 4
    assert reg.out_activation_ == "identity"
    assert reg.loss_ == reg.loss_curve_[-1] and reg.n_iter_ == len(reg.loss_curve_)
    hidden = X
    for coef, bias in zip(reg.coefs_[:-1], reg.intercepts_[:-1]):
        hidden = np.maximum(hidden @ coef + bias, 0)
    manual = (hidden @ reg.coefs_[-1] + reg.intercepts_[-1]).ravel()
    np.testing.assert_allclose(reg.predict(X), manual, rtol=1e-12)
    reg.coefs_[0][:] = 0  # copies: the network is untouched
    np.testing.assert_allclose(reg.predict(X), manual, rtol=1e-12)


def test_per_layer_activations_and_linear_model(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(
        hidden_layer_sizes=(8, 8), activation=["tanh", "gelu"], max_iter=5, random_state=0
    ).fit(X, y)
    names = [layer.activation.__name__ for layer in dense_layers(reg.model_)]
    assert names == ["tanh", "gelu", "linear"]
    linear = MLPFunctionRegressor(
        hidden_layer_sizes=(), max_iter=300, learning_rate_init=0.05, random_state=0
    ).fit(X, y)
    assert len(linear.coefs_) == 1
    design = np.column_stack([X, np.ones(len(X))])
    least_squares = design @ np.linalg.lstsq(design, y, rcond=None)[0]
    best_r2 = 1 - ((y - least_squares) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert best_r2 - 0.01 < linear.score(X, y) <= best_r2 + 1e-9


def test_sample_weights_mean_repeated_rows_and_zero_means_absent(regression_data):
    X, y = regression_data
    X, y = X[:40], y[:40]
    w = np.random.default_rng(2).integers(0, 3, size=40)
    params = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    weighted = MLPFunctionRegressor(**params).fit(X, y, sample_weight=w)
    repeated = MLPFunctionRegressor(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9)


# -- L-BFGS and square units ----------------------------------------------------


def test_signature_follows_mlpregressor_names_and_positions():
    import inspect

    ours = list(inspect.signature(MLPFunctionRegressor).parameters)
    theirs = list(inspect.signature(MLPRegressor).parameters)
    assert ours[: len(theirs)] == theirs
    assert ours[len(theirs) :] == ["dtype", "callbacks", "jit_compile"]


@pytest.mark.parametrize("options", [dict(), dict(activation="tanh", alpha=0.1)])
def test_lbfgs_reproduces_mlpregressor(regression_data, options):
    X, y = regression_data
    params = dict(hidden_layer_sizes=(16, 8), solver="lbfgs", max_iter=25, random_state=0)
    ours = MLPFunctionRegressor(**params, **options).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = MLPRegressor(**params, **options).fit(X, y)
    # Same starting point, same SciPy search; only the gradients' round-off
    # differs (TensorFlow against NumPy), which 25 iterations keep below 1e-8.
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=0, atol=1e-8)
    assert ours.n_iter_ == reference.n_iter_ == 25
    assert ours.loss_ == pytest.approx(reference.loss_, rel=1e-9)
    assert len(ours.loss_curve_) == 25 and ours.loss_curve_[-1] == ours.loss_


def test_lbfgs_honours_max_iter_max_fun_and_tol(regression_data):
    X, y = regression_data
    params = dict(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
    assert MLPFunctionRegressor(**params, max_iter=7).fit(X, y).n_iter_ == 7
    few_calls = MLPFunctionRegressor(**params, max_iter=500, max_fun=10).fit(X, y)
    assert few_calls.n_iter_ < 10
    loose = MLPFunctionRegressor(**params, max_iter=500, tol=1e-1).fit(X, y)
    tight = MLPFunctionRegressor(**params, max_iter=500, tol=1e-7).fit(X, y)
    assert loose.n_iter_ < tight.n_iter_
    assert tight.loss_ < loose.loss_


def test_lbfgs_sample_weights_mean_repeated_rows(regression_data):
    X, y = regression_data
    X, y = X[:40], y[:40]
    w = np.random.default_rng(2).integers(0, 3, size=40)
    params = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=15, random_state=0)
    weighted = MLPFunctionRegressor(**params).fit(X, y, sample_weight=w)
    repeated = MLPFunctionRegressor(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lbfgs_in_both_dtypes(regression_data, dtype):
    X, y = regression_data
    reg = MLPFunctionRegressor(
        hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200, dtype=dtype, random_state=0
    ).fit(X, y)
    assert reg.predict(X).dtype == np.dtype(dtype)
    assert reg.score(X, y) > 0.95


def test_lbfgs_has_no_partial_fit_and_warm_starts_from_its_weights(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(
        hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20, warm_start=True, random_state=0
    )
    assert not hasattr(reg, "partial_fit")
    first = reg.fit(X, y).loss_
    second = reg.fit(X, y).loss_
    assert second < first
    assert len(reg.loss_curve_) == 40


def test_square_units_train_pickle_and_reload(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(
        hidden_layer_sizes=(8, 4),
        activation=["square", "relu"],
        solver="lbfgs",
        max_iter=30,
        random_state=0,
    ).fit(X, y)
    z = X @ reg.coefs_[0] + reg.intercepts_[0]
    np.testing.assert_allclose(reg.model_.get_layer("square_0")([z, z]), z**2, rtol=1e-12)
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))


# -- clone, params, persistence -------------------------------------------------


def test_clone_and_params_round_trip():
    reg = MLPFunctionRegressor(hidden_layer_sizes=(4,), activation="tanh", alpha=0.5)
    twin = clone(reg)
    assert twin.get_params() == reg.get_params()
    twin.set_params(activation="relu", max_iter=3)
    assert twin.activation == "relu" and reg.activation == "tanh"
    assert "hidden_layer_sizes=(4,)" in repr(reg)
    with pytest.raises(ValueError, match="Invalid parameter"):
        reg.set_params(epochs=3)


@pytest.mark.parametrize(
    "dump, load",
    [
        (pickle.dumps, pickle.loads),
        (lambda est: joblib_dump(est), lambda blob: joblib_load(blob)),
    ],
)
def test_pickle_and_joblib_round_trips(regression_data, dump, load):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL).fit(X, y)
    restored = load(dump(reg))
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))
    # Training resumes from the same optimizer state too.
    restored.partial_fit(X, y)
    reg.partial_fit(X, y)
    np.testing.assert_allclose(restored.predict(X), reg.predict(X), rtol=1e-12)


def joblib_dump(estimator):
    import io

    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    return buffer.getvalue()


def joblib_load(blob):
    import io

    return joblib.load(io.BytesIO(blob))


# -- reproducibility and global state -------------------------------------------


# The compiled engine, and Keras's fit (with its validation split) through SciKeras.
SOLVERS = [dict(solver="adam"), dict(solver="rmsprop", early_stopping=True)]


@pytest.mark.parametrize("options", SOLVERS, ids=["engine", "keras-fit"])
def test_same_seed_same_predictions_in_one_process(regression_data, options):
    X, y = regression_data
    a = MLPFunctionRegressor(**SMALL, **options).fit(X, y).predict(X)
    b = MLPFunctionRegressor(**SMALL, **options).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    c = MLPFunctionRegressor(**{**SMALL, "random_state": 1}, **options).fit(X, y).predict(X)
    assert not np.allclose(a, c)


_SUBPROCESS_FIT = """
import warnings
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn_fitfn import MLPFunctionRegressor
warnings.simplefilter("ignore", ConvergenceWarning)  # 20 epochs do not converge
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2)); y = X[:, 0] ** 2 + X[:, 1]
reg = MLPFunctionRegressor(hidden_layer_sizes=(16,), max_iter=20, random_state=7, **{options})
reg.fit(X, y)
print(repr(reg.predict(X[:5]).tolist()))
"""


@pytest.mark.slow
@pytest.mark.parametrize("options", SOLVERS, ids=["engine", "keras-fit"])
def test_same_seed_same_predictions_in_two_processes(options):
    code = _SUBPROCESS_FIT.format(options=options)
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
        )
        for _ in range(2)
    ]
    assert outputs[0].stdout == outputs[1].stdout != ""
    assert outputs[0].stderr == "", "fitting with verbose=0 must print nothing"


@pytest.mark.parametrize("options", SOLVERS, ids=["engine", "keras-fit"])
def test_fit_leaves_no_global_random_or_determinism_state(regression_data, options):
    X, y = regression_data
    determinism = tf_config.is_op_determinism_enabled()
    np.random.seed(123)
    random.seed(123)
    tf.random.set_seed(123)
    expected = (np.random.random(), random.random(), float(tf.random.uniform([])))
    np.random.seed(123)
    random.seed(123)
    tf.random.set_seed(123)
    MLPFunctionRegressor(**SMALL, **options).fit(X, y).predict(X)
    observed = (np.random.random(), random.random(), float(tf.random.uniform([])))
    assert observed == expected
    assert tf_config.is_op_determinism_enabled() == determinism


# -- warm start and partial fit -------------------------------------------------


def test_warm_start_continues_and_cold_start_restarts(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, warm_start=True).fit(X, y)
    first = reg.loss_curve_[-1]
    reg.fit(X, y)
    assert len(reg.loss_curve_) == 60 and reg.loss_curve_[-1] < first
    reg.set_params(warm_start=False).fit(X, y)
    assert len(reg.loss_curve_) == 30
    reg.set_params(warm_start=True, hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match="warm_start=False"):
        reg.fit(X, y)


def test_initialize_builds_the_untrained_network(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL).initialize(X, y)
    assert reg.current_epoch == 0 and reg.predict(X).shape == (len(X),)
    fitted = MLPFunctionRegressor(**{**SMALL, "max_iter": 1}).fit(X, y)
    assert not np.allclose(reg.coefs_[0], fitted.coefs_[0])


def test_partial_fit_trains_one_epoch_per_call(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL)
    losses = [reg.partial_fit(X, y).loss_ for _ in range(5)]
    assert reg.current_epoch == 5 and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="early_stopping"):
        MLPFunctionRegressor(early_stopping=True).partial_fit(X, y)


def test_early_stopping_keeps_the_best_validation_weights(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(
        **{**SMALL, "max_iter": 300}, early_stopping=True, tol=1e-3, n_iter_no_change=5
    ).fit(X, y)
    assert reg.n_iter_ < 300
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)


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
    np.testing.assert_array_equal(reg.predict(X), before)
    assert reg.loss_curve_ == curve


def test_a_non_finite_loss_stops_partial_fit_too(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, dtype="float32").partial_fit(X, y)
    with pytest.raises(ValueError, match="non-finite"):
        reg.partial_fit(X, y * 1e20)
    assert reg.current_epoch == 1


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
    monkeypatch.setattr("sklearn_fitfn._compiled.KEPT_SHAPES", 1000)  # nothing evicted
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
