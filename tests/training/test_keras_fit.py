"""Keras's own training through SciKeras: optimizers, losses, callbacks,
history_, and every promise of the estimator on that path (reproducibility and
global state: tests/test_regressor.py, for both paths)."""

import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras_cases import SMALL, EpochCounter, made, made_in_the_test
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training.settings import uses_keras_fit


@pytest.mark.parametrize(
    "solver, loss, callbacks, keras_fit",
    [
        ("adam", "squared_error", None, False),
        ("sgd", "squared_error", [], False),
        ("lbfgs", "squared_error", None, False),
        ("rmsprop", "squared_error", None, True),
        ("adam", "huber", None, True),
        ("adam", "squared_error", [keras.callbacks.Callback()], True),
        (made_in_the_test(keras.optimizers.Adam), "squared_error", None, True),
    ],
)
def test_which_settings_train_with_keras_fit(solver, loss, callbacks, keras_fit):
    assert uses_keras_fit(made(solver), loss, callbacks) is keras_fit


@pytest.mark.parametrize(
    "solver, expected_class, rate",
    [
        ("rmsprop", keras.optimizers.RMSprop, 0.01),
        ("adamw", keras.optimizers.AdamW, 0.01),
        (keras.optimizers.Nadam, keras.optimizers.Nadam, 0.01),
        (
            made_in_the_test(keras.optimizers.Adagrad, learning_rate=0.05),
            keras.optimizers.Adagrad,
            0.05,
        ),
    ],
)
def test_keras_optimizers_by_name_class_or_instance(regression_data, solver, expected_class, rate):
    X, y = regression_data
    solver = made(solver)
    reg = MLPFunctionRegressor(**SMALL, solver=solver, learning_rate_init=0.01).fit(X, y)
    optimizer = reg.model_.optimizer
    assert type(optimizer) is expected_class
    assert float(optimizer.learning_rate) == pytest.approx(rate, rel=1e-6)
    assert int(optimizer.iterations) == 10 * 5  # 10 epochs of 5 batches
    assert reg.n_iter_ == len(reg.loss_curve_) == len(reg.history_["loss"]) == 10
    assert reg.loss_ == reg.loss_curve_[-1] < reg.loss_curve_[0]
    if isinstance(solver, keras.optimizers.Optimizer):
        assert not solver.built, "the user's optimizer must not be trained"


@pytest.mark.parametrize(
    "loss", ["huber", "mean_absolute_error", "log_cosh", keras.losses.Huber(delta=0.5)]
)
def test_keras_losses(regression_data, loss):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, loss=loss, learning_rate_init=0.01).fit(X, y)
    assert reg.history_["loss"][-1] < reg.history_["loss"][0]
    assert reg.score(X, y) > 0.3


def test_keras_fit_minimises_mlpregressors_own_objective(regression_data):
    """Same start, full batches, no shuffling: Keras's Adam on the Keras path
    follows the compiled engine (MLPRegressor's rules), penalty and sample
    weights included, to float32's precision of Keras's reported loss."""
    X, y = regression_data
    w = np.random.default_rng(3).uniform(0.5, 3.0, size=len(y))
    params = dict(
        hidden_layer_sizes=(16, 8),
        max_iter=20,
        batch_size=len(y),
        shuffle=False,
        alpha=0.1,
        learning_rate_init=0.01,
        random_state=0,
    )
    engine = MLPFunctionRegressor(**params).fit(X, y, sample_weight=w)
    via_keras = MLPFunctionRegressor(**params, callbacks=[keras.callbacks.Callback()])
    via_keras.fit(X, y, sample_weight=w)
    assert "history_" in vars(via_keras) and "history_" not in vars(engine)
    np.testing.assert_allclose(via_keras.loss_curve_, engine.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(via_keras.predict(X), engine.predict(X), rtol=1e-4, atol=1e-4)


def test_keras_early_stopping_on_val_loss_and_the_users_callback_untouched(regression_data):
    X, y = regression_data
    # min_delta so large that no epoch improves: stops after 1 + patience epochs.
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=1e9)
    reg = MLPFunctionRegressor(
        **{**SMALL, "max_iter": 50},
        solver="rmsprop",
        early_stopping=True,
        n_iter_no_change=np.inf,
        callbacks=[stopper],
    ).fit(X, y)
    assert reg.n_iter_ == 3 == len(reg.history_["val_loss"]) == len(reg.validation_scores_)
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert stopper.model is None and stopper.stopped_epoch == 0


def test_reduce_lr_on_plateau_and_csv_logger(regression_data, tmp_path):
    X, y = regression_data
    log = tmp_path / "training.csv"
    callbacks = [
        keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9),
        keras.callbacks.CSVLogger(str(log)),
    ]
    reg = MLPFunctionRegressor(
        **{**SMALL, "max_iter": 5}, solver="rmsprop", learning_rate_init=0.01, callbacks=callbacks
    ).fit(X, y)
    # The first epoch sets the plateau's reference; each later one halves the rate.
    assert float(reg.model_.optimizer.learning_rate) == pytest.approx(0.01 * 0.5**4, rel=1e-6)
    rows = log.read_text().strip().splitlines()
    assert rows[0].startswith("epoch") and len(rows) == 1 + 5


@pytest.mark.parametrize(
    "options, n_iter, converged",
    [
        (dict(max_iter=5), 5, False),
        (dict(max_iter=50, tol=1e9, n_iter_no_change=2), 4, True),
        (dict(max_iter=50, callbacks=[EpochCounter()]), 3, True),
    ],
    ids=["max_iter-reached", "mlpregressors-rule", "users-callback"],
)
def test_keras_fit_warns_and_records_convergence_as_mlpregressor(
    regression_data, options, n_iter, converged
):
    """max_iter epochs without a stop give MLPRegressor's ConvergenceWarning
    and ``converged_`` False; a stop by MLPRegressor's rule or by a callback
    of the user's gives neither."""
    X, y = regression_data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = MLPFunctionRegressor(**{**SMALL, "solver": "rmsprop", **options}).fit(X, y)
    assert reg.converged_ is converged
    assert reg.n_iter_ == n_iter
    expected = (
        []
        if converged
        else [
            "Stochastic Optimizer: Maximum iterations (5) reached and the optimization "
            "hasn't converged yet."
        ]
    )
    assert [str(w.message) for w in caught if w.category is ConvergenceWarning] == expected


def test_keras_counts_a_fits_epochs_from_0_and_partial_fits_on(regression_data, tmp_path):
    """As SciKeras: every fit, a warm start's included, numbers its epochs
    from 0 for the callbacks (a CSVLogger, a LearningRateScheduler); each
    partial_fit numbers its epoch after the ones before."""
    X, y = regression_data

    def epochs_logged(name, calls):
        log = tmp_path / name
        options = dict(SMALL, max_iter=3, solver="rmsprop", warm_start=True)
        reg = MLPFunctionRegressor(
            **options, callbacks=[keras.callbacks.CSVLogger(log, append=True)]
        )
        for call in calls:
            getattr(reg, call)(X, y)
        return [int(row.split(",")[0]) for row in log.read_text().splitlines() if row[0].isdigit()]

    assert epochs_logged("fits.csv", ["fit", "fit"]) == [0, 1, 2, 0, 1, 2]
    assert epochs_logged("partial.csv", ["partial_fit"] * 3) == [0, 1, 2]


def test_the_penalty_is_the_fits_and_not_left_on_the_model(regression_data):
    """After a partial_fit on Keras's fit (which trains ``model_`` itself),
    the model holds no L2 term: its ``losses`` (what Keras adds to the loss
    when the user trains ``model_`` further) are zero, and ``evaluate`` gives
    MLPRegressor's loss of the predictions alone (half the mean squared error)."""
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, solver="rmsprop", alpha=1.0)
    for _ in range(2):
        reg.partial_fit(X, y)
        assert [float(loss) for loss in reg.model_.losses] in ([], [0.0, 0.0, 0.0])
        half_mse = 0.5 * np.mean((reg.predict(X) - y) ** 2)
        assert reg.model_.evaluate(X, y, verbose=0) == pytest.approx(half_mse, rel=1e-4)


@pytest.mark.slow
def test_callback_state_never_leaks_between_fits_clones_or_grid_candidates(regression_data):
    X, y = regression_data
    counter = EpochCounter()
    reg = MLPFunctionRegressor(**{**SMALL, "max_iter": 20}, solver="rmsprop", callbacks=[counter])
    assert reg.fit(X, y).n_iter_ == 3
    assert reg.fit(X, y).n_iter_ == 3, "a second fit must start from a fresh callback"
    assert clone(reg).fit(X, y).n_iter_ == 3
    assert counter.epochs == 0

    grid = GridSearchCV(
        MLPFunctionRegressor(**{**SMALL, "max_iter": 20}),
        {
            "solver": ["adam", "rmsprop"],
            "learning_rate_init": [1e-3, 1e-2],
            "callbacks": [None, [EpochCounter()]],
        },
        cv=2,
    )
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 8
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    best = grid.best_estimator_
    assert best.n_iter_ == (3 if best.callbacks else 20)


def test_mlpregressor_stopping_rule_and_sgd_schedule_on_keras_path(regression_data):
    X, y = regression_data
    # tol so large that only the first epoch counts as an improvement:
    # MLPRegressor stops once the count exceeds n_iter_no_change, after 4 epochs.
    params = dict(**{**SMALL, "max_iter": 50}, tol=1e9, n_iter_no_change=2)
    reg = MLPFunctionRegressor(**params, solver="rmsprop").fit(X, y)
    assert reg.n_iter_ == 4 == MLPFunctionRegressor(**params).fit(X, y).n_iter_
    reg = MLPFunctionRegressor(
        **{**SMALL, "max_iter": 2},
        solver="sgd",
        learning_rate="invscaling",
        learning_rate_init=0.1,
        power_t=0.25,
        callbacks=[keras.callbacks.Callback()],
    ).fit(X, y)
    expected = 0.1 / (2 * len(y) + 1) ** 0.25  # scikit-learn's invscaling after 2 epochs
    assert float(reg.model_.optimizer.learning_rate) == pytest.approx(expected, rel=1e-6)


def test_shuffle_decides_whether_keras_fit_reorders_the_rows(regression_data):
    """With batches smaller than the data, shuffling changes what each step
    sees; with one batch of all rows, only the order of a sum."""
    X, y = regression_data

    def curve(**options):
        options = {**SMALL, "solver": "rmsprop", **options}
        return np.array(MLPFunctionRegressor(**options).fit(X, y).loss_curve_)

    shuffled, in_order = curve(shuffle=True), curve(shuffle=False)
    assert np.abs(shuffled / in_order - 1).max() > 1e-3
    np.testing.assert_allclose(
        curve(shuffle=True, batch_size=len(y)), curve(shuffle=False, batch_size=len(y)), rtol=1e-6
    )


def test_partial_fit_continues_the_keras_optimizer_and_warm_start_restarts_it(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, solver="rmsprop")
    for _ in range(3):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 1 and len(reg.loss_curve_) == 3 == len(reg.history_["loss"])
    assert int(reg.model_.optimizer.iterations) == 3 * 5 and reg.t_ == 3 * len(X)

    warm = MLPFunctionRegressor(**SMALL, solver="rmsprop", warm_start=True).fit(X, y)
    first = warm.loss_
    warm.fit(X, y)
    assert len(warm.loss_curve_) == 20 and warm.loss_ < first
    assert int(warm.model_.optimizer.iterations) == 10 * 5  # a new optimizer, as MLPRegressor


def test_pickle_clone_and_partial_fit_after_a_round_trip(regression_data):
    import pickle

    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL, solver="rmsprop").fit(X, y)
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))
    assert restored.history_ == reg.history_
    restored.partial_fit(X, y)
    reg.partial_fit(X, y)
    np.testing.assert_allclose(restored.predict(X), reg.predict(X), rtol=1e-12)
    assert clone(reg).get_params() == reg.get_params()


def test_quiet_by_default_and_verbose_prints_mlpregressors_lines(regression_data, capfd):
    X, y = regression_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # a short fit, as MLPRegressor
        reg = MLPFunctionRegressor(**SMALL, solver="rmsprop").fit(X, y)
        reg.predict(X)
        reg.model_.predict(X, verbose=0)
    assert capfd.readouterr() == ("", "")
    MLPFunctionRegressor(**{**SMALL, "max_iter": 2}, solver="rmsprop", verbose=1).fit(X, y)
    lines = capfd.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2"]


def test_saved_models_load_in_a_fresh_process_without_the_package(keras_first):
    # Saved by the estimators, loaded and run by Keras alone (conftest.py).
    found, models, X = keras_first
    relu_out, square_out, square_predict = found["saved models' predictions"]
    assert not found["package imported to load"]
    np.testing.assert_allclose(relu_out, models["relu"].predict(X), rtol=1e-12)
    np.testing.assert_allclose(square_out, models["square"].predict(X), rtol=1e-12)
    np.testing.assert_allclose(square_predict, models["square"].predict(X), rtol=1e-12)


def test_model_predict_is_the_estimators_prediction(regression_data):
    X, y = regression_data
    reg = MLPFunctionRegressor(**SMALL).fit(X, y)
    direct = reg.model_(X).numpy().ravel()
    # predict computes the same network on NumPy: BLAS rounds its own way.
    np.testing.assert_allclose(direct, reg.predict(X), rtol=1e-12, atol=1e-12)
    batched = tf.data.Dataset.from_tensor_slices(X).batch(32)
    np.testing.assert_allclose(
        reg.model_.predict(batched, verbose=0).ravel(), reg.predict(X), rtol=1e-12, atol=1e-12
    )
    # Keras casts NumPy float arrays to keras.config.floatx() (float32 by
    # default) before the model: the float64 network then sees rounded inputs.
    rounded = reg.model_.predict(X, verbose=0).ravel()
    assert rounded.dtype == np.float64
    np.testing.assert_allclose(rounded, reg.predict(X), rtol=1e-5, atol=1e-6)


def test_importing_and_using_the_package_changes_no_class_of_another_library(keras_first):
    # Keras, SciKeras and scikit-learn's classes, and Keras's registered
    # objects, before and after importing the package and fitting on both
    # paths (conftest.py).
    found, _, _ = keras_first
    assert found["classes unchanged"]
    assert found["custom objects unchanged"]


def test_importing_the_package_does_not_import_scikeras(package_first):
    """SciKeras changes Keras's pickling when imported; only Keras's fit needs it."""
    found, _ = package_first
    assert not found["scikeras before Keras's fit"]


_PLAIN_SCIKERAS = """
import sys
if sys.argv[1] == "with":
    import sklearn_fitfn
import keras, numpy as np
from scikeras.wrappers import KerasRegressor
def build():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(1)])
X = np.random.default_rng(0).normal(size=(100, 2)).astype("float32"); y = X[:, 0] ** 2
reg = KerasRegressor(build, loss="mse", epochs=3, verbose=0, random_state=0).fit(X, y)
tags = "__sklearn_tags__" in vars(KerasRegressor.__mro__[1])
print(repr([reg.predict(X[:3]).tolist(), tags]))
"""


@pytest.mark.slow
def test_a_plain_scikeras_regressor_behaves_as_without_the_package():
    # The one TensorFlow setting the package makes at import, made for both.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    runs = [
        subprocess.run(
            [sys.executable, "-c", _PLAIN_SCIKERAS, which],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        for which in ("with", "without")
    ]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr + runs[1].stderr
    assert runs[0].stdout == runs[1].stdout != ""


def _huber(r):
    return np.where(np.abs(r) <= 1, 0.5 * r**2, np.abs(r) - 0.5)


# Each loss written out here, as its definition says (Huber with delta 1).
LOSS_FUNCTIONS = {
    "squared_error": lambda r: r**2,
    "mae": np.abs,
    "mean_absolute_error": np.abs,
    "huber": _huber,
    "log_cosh": lambda r: np.log(np.cosh(r)),
}


@pytest.mark.parametrize("loss", sorted(LOSS_FUNCTIONS))
def test_the_named_loss_is_the_one_minimised(loss):
    # A constant input leaves the network one free number, its output: nine
    # zeros and one 100 put the squared error's best at the mean (10), the
    # absolute error's at the median (0), Huber's and log-cosh's near 1/9.
    from scipy.optimize import minimize_scalar

    X, y = np.zeros((10, 1)), np.array([0.0] * 9 + [100.0])
    best = minimize_scalar(lambda c: LOSS_FUNCTIONS[loss](y - c).sum(), bounds=(-5, 20)).x
    model = MLPFunctionRegressor(
        hidden_layer_sizes=(),
        loss=loss,
        learning_rate_init=0.5,
        max_iter=200,
        batch_size=10,
        n_iter_no_change=200,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        predicted = model.fit(X, y).predict(X[:1])[0]
    assert predicted == pytest.approx(best, abs=0.05)


@pytest.mark.parametrize(
    "loss",
    [
        "mean_squared_logarithmic_error",
        "msle",
        keras.losses.MeanSquaredLogarithmicError(),
    ],
)
def test_losses_that_need_non_negative_y_refuse_negative_y(regression_data, loss):
    X, y = regression_data
    with pytest.raises(ValueError, match=r"needs y >= 0, and \d+ value\(s\) of y are negative"):
        MLPFunctionRegressor(**SMALL, loss=loss).fit(X, y)
    MLPFunctionRegressor(**SMALL, loss=loss).fit(X, np.abs(y))  # the same loss on y >= 0


def test_keras_poisson_loss_is_refused_for_the_one_that_works(regression_data):
    X, y = regression_data
    with pytest.raises(ValueError, match="Use loss='poisson'"):
        MLPFunctionRegressor(**SMALL, loss=keras.losses.Poisson()).fit(X, np.abs(y))


@pytest.mark.parametrize("loss", ["cosine_similarity", keras.losses.CosineSimilarity()])
def test_cosine_similarity_needs_several_outputs(regression_data, loss):
    X, y = regression_data
    with pytest.raises(ValueError, match="cosine_similarity loss compares the directions"):
        MLPFunctionRegressor(**SMALL, loss=loss).fit(X, y)
    both = MLPFunctionRegressor(**SMALL, loss=loss).fit(X, np.c_[y, X[:, 1]])
    assert both.loss_curve_[-1] < both.loss_curve_[0]  # several outputs: it learns


def test_percentage_error_warns_of_zero_targets(regression_data):
    X, y = regression_data
    y = np.where(np.abs(y) < 0.3, 0.0, y)
    zeros = int((y == 0).sum())
    with pytest.warns(UserWarning, match=f"divides by \\|y\\|, and {zeros} value"):
        MLPFunctionRegressor(**SMALL, loss="mean_absolute_percentage_error").fit(X, y)
