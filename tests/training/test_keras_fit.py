"""Keras's own training through SciKeras: optimizers, losses, callbacks,
history_, and every promise of the estimator on that path (reproducibility and
global state: tests/test_regressor.py, for both paths)."""

import concurrent.futures
import inspect
import os
import subprocess
import sys
import warnings
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import keras_fit, keras_pool
from sklearn_fitfn._training.keras_pool import compiled_models
from sklearn_fitfn._training.settings import uses_keras_fit

SMALL = dict(hidden_layer_sizes=(16, 8), max_iter=10, batch_size=50, random_state=0)


class EpochCounter(keras.callbacks.Callback):
    """Stops training after its third epoch, counted from its creation."""

    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1
        if self.epochs >= 3:
            self.model.stop_training = True


class _made_in_the_test:
    """An optimizer instance for a parametrized test, made inside the test.

    Making a Keras optimizer starts TensorFlow's runtime. One made while the
    tests are collected would start it in the collecting process, and the
    processes forked from that one (mutmut's workers) hang at their first fit.
    """

    def __init__(self, cls, **kwargs):
        self.cls, self.kwargs = cls, kwargs

    def __repr__(self):
        return f"{self.cls.__name__}-instance"


def _made(value):
    """``value``, or the instance it stands for when it is a ``_made_in_the_test``."""
    return value.cls(**value.kwargs) if isinstance(value, _made_in_the_test) else value


@pytest.mark.parametrize(
    "solver, loss, callbacks, keras_fit",
    [
        ("adam", "squared_error", None, False),
        ("sgd", "squared_error", [], False),
        ("lbfgs", "squared_error", None, False),
        ("rmsprop", "squared_error", None, True),
        ("adam", "huber", None, True),
        ("adam", "squared_error", [keras.callbacks.Callback()], True),
        (_made_in_the_test(keras.optimizers.Adam), "squared_error", None, True),
    ],
)
def test_which_settings_train_with_keras_fit(solver, loss, callbacks, keras_fit):
    assert uses_keras_fit(_made(solver), loss, callbacks) is keras_fit


@pytest.mark.parametrize(
    "solver, expected_class, rate",
    [
        ("rmsprop", keras.optimizers.RMSprop, 0.01),
        ("adamw", keras.optimizers.AdamW, 0.01),
        (keras.optimizers.Nadam, keras.optimizers.Nadam, 0.01),
        (
            _made_in_the_test(keras.optimizers.Adagrad, learning_rate=0.05),
            keras.optimizers.Adagrad,
            0.05,
        ),
    ],
)
def test_keras_optimizers_by_name_class_or_instance(regression_data, solver, expected_class, rate):
    X, y = regression_data
    solver = _made(solver)
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
    np.testing.assert_array_equal(direct, reg.predict(X))
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


@pytest.mark.parametrize(
    "solver", ["rmsprop", _made_in_the_test(keras.optimizers.Adagrad, learning_rate=0.05)]
)
def test_a_fit_on_a_lent_compiled_model_trains_as_on_a_new_one(regression_data, solver):
    """The second fit reuses the first's compiled model (nothing retraced),
    with its weights and optimizer state (Adagrad's accumulators start at 0.1)
    put back to where a new model starts."""
    X, y = regression_data
    solver = _made(solver)
    compiled_models.clear()
    options = dict(SMALL, solver=solver)
    first = MLPFunctionRegressor(**options).fit(X, y)
    assert len(compiled_models) == 1
    lent = compiled_models._idle[next(iter(compiled_models._idle))][0].model
    traced = lent.train_function
    second = MLPFunctionRegressor(**options).fit(X, y)
    assert lent.train_function is traced
    assert first.loss_curve_ == second.loss_curve_
    assert first.history_ == second.history_
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    assert first.model_ is not second.model_ and lent not in (first.model_, second.model_)
    for mine, theirs in zip(first.model_.optimizer.variables, second.model_.optimizer.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_new_optimizer_instances_with_the_same_settings_share_a_compiled_model(regression_data):
    # Keras names each instance anew (adam_w, adam_w_1, ...); a grid that
    # builds its optimizer per fit must not compile (and keep) a model per fit.
    X, y = regression_data
    compiled_models.clear()
    for _ in range(3):
        solver = keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.001)
        MLPFunctionRegressor(**SMALL, solver=solver).fit(X, y)
    assert len(compiled_models) == 1


class _ScaledSquaredError(keras.losses.Loss):
    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


def _alone(options, X, y):
    """The fit on a new compiled model, as if no other fit had run before."""
    compiled_models.clear()
    return MLPFunctionRegressor(**options).fit(X, y)


@pytest.mark.parametrize(
    "varied",
    [
        [dict(solver="rmsprop", learning_rate_init=rate) for rate in (0.001, 0.01, 0.05)],
        [dict(solver="rmsprop", alpha=alpha) for alpha in (0.0, 0.5, 3.0)],
        [
            dict(solver=_made_in_the_test(keras.optimizers.Adam, learning_rate=r))
            for r in (0.002, 0.02)
        ],
        [dict(solver="rmsprop", loss=_ScaledSquaredError()) for _ in range(3)],
    ],
    ids=["learning rates", "alphas", "optimizer instances", "custom losses"],
)
def test_fits_that_vary_rate_penalty_or_instance_share_one_model_and_train_as_alone(
    regression_data, varied, request
):
    """The learning rate and the L2 penalty are variables of the traced step:
    a grid over either, over optimizer instances or over new instances of a
    loss of one's own, traces one model, and each fit trains exactly as on a
    new one."""
    X, y = regression_data
    varied = [{key: _made(value) for key, value in options.items()} for options in varied]
    alone = [_alone(dict(SMALL, **options), X, y) for options in varied]
    compiled_models.clear()
    shared = [MLPFunctionRegressor(**SMALL, **options).fit(X, y) for options in varied]
    assert len(compiled_models) == 1
    for mine, theirs in zip(shared, alone):
        assert mine.loss_curve_ == theirs.loss_curve_
        np.testing.assert_array_equal(mine.predict(X), theirs.predict(X))
    different = "custom losses" not in request.node.name  # only new instances of one loss
    assert len({tuple(fit.loss_curve_) for fit in shared}) == (len(varied) if different else 1)


def test_each_network_and_each_count_of_batches_an_epoch_has_its_own_compiled_model(
    regression_data,
):
    """A compiled model traces one network and a number of batches a call:
    fits of another architecture, or of fewer rows, compile their own, and
    each trains exactly as on a new one."""
    X, y = regression_data
    runs = [((16, 8), 240), ((4,), 240), ((16, 8), 150)]  # 5, 5 and 3 batches of 50

    def options(layers):
        return dict(SMALL, solver="rmsprop", hidden_layer_sizes=layers)

    alone = [_alone(options(layers), X[:n], y[:n]) for layers, n in runs]
    compiled_models.clear()
    shared = [MLPFunctionRegressor(**options(layers)).fit(X[:n], y[:n]) for layers, n in runs]
    assert len(compiled_models) == 3
    for mine, theirs in zip(shared, alone):
        assert mine.loss_curve_ == theirs.loss_curve_
        np.testing.assert_array_equal(mine.predict(X), theirs.predict(X))


def test_a_loss_of_ones_own_with_other_settings_is_not_shared(regression_data):
    X, y = regression_data
    compiled_models.clear()
    fits = [
        MLPFunctionRegressor(**SMALL, solver="rmsprop", loss=_ScaledSquaredError(s)).fit(X, y)
        for s in (1.0, 4.0)
    ]
    assert len(compiled_models) == 2
    assert fits[1].loss_curve_[0] == pytest.approx(4 * fits[0].loss_curve_[0], rel=0.05)

    class Holding(_ScaledSquaredError):  # an attribute that is an object: never shared
        pass

    compiled_models.clear()
    for _ in range(2):
        loss = Holding()
        loss.table = np.ones(3)
        MLPFunctionRegressor(**SMALL, solver="rmsprop", loss=loss).fit(X, y)
    assert len(compiled_models) == 0


def test_partial_fit_chunks_of_changing_size_keep_their_traced_steps(regression_data, monkeypatch):
    X, y = regression_data
    chunks = [slice(0, 50), slice(0, 150), slice(50, 100), slice(0, 150), slice(0, 50)]
    kept = MLPFunctionRegressor(**SMALL, solver="rmsprop")
    traced = set()
    for rows in chunks:
        kept.partial_fit(X[rows], y[rows])
        traced.add(kept.model_.train_function)
    # The first call hands over a model not yet traced; the others trace one
    # step for 1 batch an epoch and one for 3, and take them back.
    assert len(traced - {None}) == 2
    # Traced anew for every call, as before the traced steps were kept.
    retraced = MLPFunctionRegressor(**SMALL, solver="rmsprop")
    for rows in chunks:
        monkeypatch.setattr(keras_fit, "_steps_traced", weakref.WeakKeyDictionary())
        retraced.partial_fit(X[rows], y[rows])
    assert kept.loss_curve_ == retraced.loss_curve_
    np.testing.assert_array_equal(kept.predict(X), retraced.predict(X))


def test_a_later_fit_leaves_the_model_an_earlier_one_handed_over_alone(regression_data):
    X, y = regression_data
    first = MLPFunctionRegressor(**SMALL, solver="rmsprop").fit(X, y)
    predicted = first.predict(X)
    MLPFunctionRegressor(**{**SMALL, "random_state": 1}, solver="rmsprop").fit(X, y)
    np.testing.assert_array_equal(first.predict(X), predicted)
    steps_per_epoch = -(-len(X) // SMALL["batch_size"])
    assert int(first.model_.optimizer.iterations) == SMALL["max_iter"] * steps_per_epoch


def test_a_failed_fit_returns_no_model_to_the_pool(regression_data):
    class Fails(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("callback failed")

    X, y = regression_data
    compiled_models.clear()
    with pytest.raises(RuntimeError, match="callback failed"):
        MLPFunctionRegressor(**SMALL, solver="rmsprop", callbacks=[Fails()]).fit(X, y)
    assert len(compiled_models) == 0
    fitted = MLPFunctionRegressor(**SMALL, solver="rmsprop").fit(X, y)
    fresh = MLPFunctionRegressor(**SMALL, solver="rmsprop").fit(X, y)
    assert fitted.loss_curve_ == fresh.loss_curve_


def test_fits_in_parallel_threads_match_the_same_fits_one_after_another(regression_data):
    X, y = regression_data
    settings = [dict(SMALL, solver="rmsprop", random_state=seed) for seed in range(4)]
    alone = [MLPFunctionRegressor(**s).fit(X, y).loss_curve_ for s in settings]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        together = list(
            pool.map(lambda s: MLPFunctionRegressor(**s).fit(X, y).loss_curve_, settings)
        )
    assert together == alone
    assert len(compiled_models) <= keras_pool.KEPT_PER_SETTINGS * keras_pool.KEPT_SETTINGS


_FITS_OF_ONE_SHAPE = """
import os, warnings
import numpy as np
from sklearn_fitfn import MLPFunctionRegressor

def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3))
y = X[:, 0] ** 2
options = dict(hidden_layer_sizes=(16,), max_iter=3, solver="rmsprop", random_state=0)
for i in range(10):
    MLPFunctionRegressor(**options, learning_rate_init=1e-3 * (1 + i)).fit(X, y)
before = rss_mb()
for i in range(50):  # a grid over the learning rate and alpha
    MLPFunctionRegressor(**options, learning_rate_init=1e-3 * (1 + i), alpha=i / 10).fit(X, y)
print((rss_mb() - before) / 50)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads Linux's /proc")
def test_fits_of_one_shape_on_keras_fit_do_not_grow():
    # Each fit of a new compiled model kept 3.4 MB for good (2.4 MB in a grid
    # over the learning rate, traced anew for each); a lent one keeps about a
    # tenth of that (the model handed over to the estimator).
    result = subprocess.run(
        [sys.executable, "-c", _FITS_OF_ONE_SHAPE], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert float(result.stdout) < 1.0


def test_keras_fits_of_many_shapes_log_no_retracing_notice(caplog):
    # Keras traces its training step per shape and size of data; TensorFlow
    # calls that frequent retracing and logs advice (to stderr, outside
    # pytest, whose own handler takes TensorFlow's records here), which the
    # package holds back while its fits run, and only then.
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i in range(8):
            X = rng.normal(size=(50 + 17 * i, 2))
            MLPFunctionRegressor(
                solver="rmsprop", hidden_layer_sizes=(4 + i,), max_iter=1, random_state=0
            ).fit(X, X[:, 0])
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
    assert tf.get_logger().filters == []


@pytest.mark.parametrize("name, parameters", sorted(keras_fit.SCIKERAS_PRIVATE_METHODS.items()))
def test_the_private_scikeras_methods_used_are_still_there(name, parameters):
    from scikeras.wrappers import KerasRegressor

    method = getattr(KerasRegressor, name, None)
    assert callable(method), (
        f"SciKeras's KerasRegressor no longer has {name}(), which the Keras path "
        "(sklearn_fitfn/_training/keras_fit.py) calls"
    )
    have = list(inspect.signature(method).parameters)[1 : 1 + len(parameters)]
    assert have == list(parameters), (
        f"SciKeras's KerasRegressor.{name} now takes {have}, not {list(parameters)}: "
        "update sklearn_fitfn/_training/keras_fit.py"
    )


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
