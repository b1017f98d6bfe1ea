"""The estimator: MLPRegressor's training step for step, its inputs, outputs,
parameters, persistence and reproducibility."""

import pickle
import random
import subprocess
import sys
import warnings

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import DataConversionWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tensorflow.python.framework import config as tf_config

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._network.spec import dense_layers

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


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_the_keras_model_is_built_when_first_read_and_predicts_as_predict_does(
    regression_data, dtype, rtol
):
    """A fit of scikit-learn's activations on the compiled engine needs no
    Keras model: predict computes the same network on NumPy. model_ is
    built from the weights when first read, once, even by threads reading
    it together, and from then on predict uses the weights set into it."""
    import threading

    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, dtype=dtype).fit(X, y)
    predicted = reg.predict(X)
    assert "_model" not in vars(reg), "neither fit nor predict builds a Keras model"
    models = []
    readers = [threading.Thread(target=lambda: models.append(reg.model_)) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=60)
    assert len(models) == 4 and all(model is models[0] for model in models)
    assert isinstance(models[0], keras.Model) and reg.model_ is models[0]
    np.testing.assert_allclose(
        models[0](X.astype(dtype)).numpy().ravel(), predicted, rtol=rtol, atol=1e-6
    )
    np.testing.assert_array_equal(reg.predict(X), predicted)
    weights = reg.model_.get_weights()
    reg.model_.set_weights([2 * w for w in weights])
    np.testing.assert_allclose(
        reg.predict(X), reg.model_(X.astype(dtype)).numpy().ravel(), rtol=rtol, atol=1e-6
    )
    assert not np.allclose(reg.predict(X), predicted)


def test_a_network_numpy_does_not_compute_gets_its_keras_model_at_fit(regression_data):
    X, y = regression_data
    for params in [dict(activation="elu"), dict(loss="poisson"), dict(solver="rmsprop")]:
        reg = MLPFunctionRegressor(**SMALL, **params).fit(X, np.abs(y))
        assert isinstance(vars(reg)["_model"], keras.Model), params
    assert not hasattr(MLPFunctionRegressor(), "model_")


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


def test_lbfgs_with_tol_0_searches_until_no_step_improves_the_loss(regression_data):
    # tol also lowers SciPy's ftol, whose default would end the search once a
    # step improves the loss by less than 2.2e-9 of it.
    X, y = regression_data
    model = MLPFunctionRegressor(
        hidden_layer_sizes=(16,), solver="lbfgs", tol=0, max_iter=5000, random_state=0
    ).fit(X, y)
    assert model.n_iter_ < 5000  # it ended by itself ...
    # ... when nothing improved: the last step moved the loss by round-off
    # only (its digits depend on the CPU's BLAS kernels, so no exact equality),
    # where SciPy's default ftol would stop at a gain of up to 2.2e-9 of it.
    last_gain = model.loss_curve_[-2] - model.loss_curve_[-1]
    assert 0 <= last_gain <= 1e-12 * model.loss_curve_[-1]


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


@pytest.mark.parametrize("saved", [False, True])
def test_partial_fit_after_switching_solver_starts_the_new_solver_afresh(regression_data, saved):
    # The state of SGD's velocities cannot be Adam's moments: Adam starts from
    # zero, as a warm start does, from the weights SGD left.
    X, y = regression_data
    fitted = MLPFunctionRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    fitted.set_params(solver="sgd").fit(X, y)
    twin = pickle.loads(pickle.dumps(fitted))
    if saved:
        fitted = pickle.loads(pickle.dumps(fitted))
    fitted.set_params(solver="adam").partial_fit(X, y)
    twin.set_params(solver="adam", warm_start=True, max_iter=1).fit(X, y)
    np.testing.assert_allclose(fitted.predict(X), twin.predict(X), rtol=1e-12)
    assert len(fitted.loss_curve_) == 4
    fitted.set_params(solver="sgd").partial_fit(X, y)  # and back again
    assert len(fitted.loss_curve_) == 5
