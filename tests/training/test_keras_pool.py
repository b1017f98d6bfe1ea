"""Compiled Keras models lent from one fit to the next (keras_pool): a fit on
a lent model trains as on a new one, what shares a model and what does not,
threads, memory over many fits, and the private SciKeras methods relied on."""

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
from keras_cases import SMALL, made, made_in_the_test
from sklearn.exceptions import ConvergenceWarning

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import keras_fit, keras_pool
from sklearn_fitfn._training.keras_pool import compiled_models


@pytest.mark.parametrize(
    "solver", ["rmsprop", made_in_the_test(keras.optimizers.Adagrad, learning_rate=0.05)]
)
def test_a_fit_on_a_lent_compiled_model_trains_as_on_a_new_one(regression_data, solver):
    """The second fit reuses the first's compiled model (nothing retraced),
    with its weights and optimizer state (Adagrad's accumulators start at 0.1)
    put back to where a new model starts."""
    X, y = regression_data
    solver = made(solver)
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
            dict(solver=made_in_the_test(keras.optimizers.Adam, learning_rate=r))
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
    varied = [{key: made(value) for key, value in options.items()} for options in varied]
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
    # over the learning rate, traced anew for each); a lent one kept 0.36 MB
    # while each fit's optimizer was numbered anew, and keeps 0.02 MB since.
    result = subprocess.run(
        [sys.executable, "-c", _FITS_OF_ONE_SHAPE], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert float(result.stdout) < 0.12


class NoNameSGD(keras.optimizers.SGD):
    """An optimizer of the user's own whose constructor takes no ``name``."""

    def __init__(self, learning_rate=0.01):
        super().__init__(learning_rate=learning_rate)


@pytest.mark.parametrize(
    "solver, name",
    [
        ("rmsprop", "rmsprop"),
        (keras.optimizers.Adamax, "adamax"),
        (made_in_the_test(keras.optimizers.RMSprop, learning_rate=0.01), "rm_sprop"),
        (made_in_the_test(keras.optimizers.RMSprop, name="my_rmsprop"), "my_rmsprop"),
    ],
)
def test_each_fit_names_its_optimizer_alike(regression_data, solver, name):
    """An optimizer's variables are named in its name's scope, and TensorFlow
    keeps a kernel per variable name for good: numbered anew for every fit
    (``rm_sprop_12``), they grew the process by 0.36 MB a fit."""
    X, y = regression_data
    options = dict(SMALL, max_iter=2)
    paths = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(2):
            optimizer = (
                MLPFunctionRegressor(**options, solver=made(solver)).fit(X, y).model_.optimizer
            )
            paths.append([variable.path for variable in optimizer.variables])
            assert optimizer.name == name
    assert paths[0] == paths[1]


def test_an_optimizer_class_that_takes_no_name_is_built_without_one(regression_data):
    X, y = regression_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPFunctionRegressor(**SMALL, solver=NoNameSGD).fit(X, y).model_
    assert type(model.optimizer) is NoNameSGD


def test_a_later_fit_leaves_an_earlier_fits_optimizer_state_alone(regression_data):
    # With an optimizer instance, SciKeras compiled the model handed to the
    # estimator with the lent model's own optimizer: the next fit reset and
    # trained the first estimator's optimizer state.
    X, y = regression_data
    compiled_models.clear()
    options = dict(SMALL, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = MLPFunctionRegressor(**options, solver=keras.optimizers.RMSprop(0.01)).fit(X, y)
        state = [variable.numpy().copy() for variable in first.model_.optimizer.variables]
        MLPFunctionRegressor(**options, solver=keras.optimizers.RMSprop(0.01)).fit(X[:50], y[:50])
    lent = compiled_models._idle[next(iter(compiled_models._idle))][0].model
    assert first.model_.optimizer is not lent.optimizer
    for variable, value in zip(first.model_.optimizer.variables, state, strict=True):
        np.testing.assert_array_equal(variable.numpy(), value)


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
