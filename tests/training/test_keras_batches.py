"""The parts of Keras's path around its fit, called directly: each epoch's
batches, the validation batches, the L2 penalty per batch, the weights'
scale, the traced training steps kept per model, and MLPRegressor's rules
after each epoch. No network is trained."""

import math
import types

import numpy as np
import pytest
import scipy.sparse

from sklearn_fitfn._network import inputs
from sklearn_fitfn._quiet.tensorflow import keras
from sklearn_fitfn._training import keras_fit
from sklearn_fitfn._training.optimizers import LearningRateSchedule
from sklearn_fitfn._training.record import TrainingRecord


def _rows(n):
    """X, y and w whose every row tells its index: X = (10·i, -i), y = i, w = i / 100."""
    index = np.arange(n, dtype=float)
    return np.column_stack([10 * index, -index]), index, index / 100


def _batches(dataset):
    return [tuple(np.asarray(part) for part in batch) for batch in dataset]


@pytest.mark.parametrize("sparse", [False, True])
def test_each_epoch_takes_every_row_once_in_batches_of_the_size_given(sparse):
    X, y, w = _rows(10)
    batches = _batches(
        keras_fit._epoch_batches(
            scipy.sparse.csr_matrix(X) if sparse else X, y, w, 4, 7, 0, 3, True
        )
    )
    assert [len(b[1]) for b in batches] == [4, 4, 2] * 3
    orders = []
    for epoch in range(3):
        rows = np.concatenate([b[1] for b in batches[3 * epoch : 3 * epoch + 3]])
        assert sorted(rows) == list(range(10))
        orders.append(rows.astype(int).tolist())
    assert len({tuple(order) for order in orders}) == 3  # shuffled anew each epoch
    for X_rows, y_rows, w_rows in batches:
        assert isinstance(X_rows, np.ndarray)  # sparse rows come densified
        np.testing.assert_array_equal(X_rows, np.column_stack([10 * y_rows, -y_rows]))
        np.testing.assert_allclose(w_rows, y_rows / 100)


def test_an_epochs_order_depends_on_the_seed_and_the_epoch_alone():
    X, y, w = _rows(12)

    def orders(seed, first_epoch, n_epochs, shuffle=True):
        batches = keras_fit._epoch_batches(X, y, w, 5, seed, first_epoch, n_epochs, shuffle)
        rows = np.concatenate([b[1] for b in _batches(batches)]).astype(int)
        return rows.reshape(n_epochs, 12).tolist()

    # A fit that goes on from epoch 2 (partial_fit, warm_start) shuffles as one
    # that ran from the start.
    assert orders(3, 2, 2) == orders(3, 0, 4)[2:]
    assert orders(3, 0, 2) != orders(4, 0, 2)
    assert orders(3, 0, 2, shuffle=False) == [list(range(12))] * 2


def test_the_validation_rows_come_in_their_order():
    X, y, w = _rows(7)
    batches = _batches(keras_fit._validation_batches(scipy.sparse.csr_matrix(X), y, w, 3))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), X)


def _data(w, batch_size):
    return types.SimpleNamespace(n_samples=len(w), batch_size=batch_size, w=np.asarray(w))


@pytest.mark.parametrize("scale", [1.0, 2.0, 0.25])
def test_weights_of_any_scale_train_as_mlpregressor_weighs_them(scale):
    # MLPRegressor's loss per batch: (½·Σ w·(y - ŷ)² + ½·alpha·‖W‖²) / Σ w, where
    # a batch of 4 rows weighs 4·mean(w) on average. Keras's: the mean of the
    # batch's w·(y - ŷ)², plus the penalty. With w scaled to mean 1 the two
    # agree when Keras's penalty is ½·alpha over the batch's expected weight.
    w = scale * np.array([1.0, 3.0, 1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 1.0])
    settings = types.SimpleNamespace(alpha=0.3)
    batching = keras_fit._Batching.of(settings, _data(w, 4))
    assert batching.w.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(batching.w / batching.w[0], w / w[0])
    expected_batch_weight = 4 * w.mean()
    assert batching.penalty == pytest.approx(0.5 * 0.3 / expected_batch_weight)
    assert batching.steps_per_epoch == math.ceil(10 / 4) == 3
    unweighted = keras_fit._Batching.of(settings, _data(np.ones(12), 5))
    # scikit-learn's own: (0.5 * alpha) * ‖W‖² / batch_size.
    assert unweighted.penalty == pytest.approx(0.5 * 0.3 / 5)
    assert unweighted.steps_per_epoch == 3


def test_the_penalty_is_its_strength_times_the_squared_kernel_in_kerass_float():
    # A float64 network's penalty joins Keras's float32 loss as float32.
    kernel = np.array([[1.0, 2.0], [3.0, -4.0]])
    penalty = keras_fit._Penalty(keras.Variable(0.5, dtype="float64"))(kernel)
    assert float(penalty) == 0.5 * 30
    assert penalty.dtype == keras.config.floatx()


def test_every_kernel_gets_one_penalty_variable_set_for_each_fit():
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(3), keras.layers.Dense(1, dtype="float64")]
    )
    keras_fit._attach_penalty(model, 0.25)
    strengths = [layer.kernel.regularizer.strength for layer in model.layers]
    assert [float(s.numpy()) for s in strengths] == [0.25, 0.25]
    assert [s.dtype for s in strengths] == [np.float32, np.float64]
    # A scalar that training reads and never changes.
    assert all(s.shape == () and not s.trainable for s in strengths)
    keras_fit._attach_penalty(model, 0.5)
    # The same variables, set anew: the traced training step reads them.
    assert [layer.kernel.regularizer.strength for layer in model.layers] == strengths
    expected = sum(0.5 * np.sum(np.square(layer.kernel.numpy())) for layer in model.layers)
    penalties = [layer.kernel.regularizer(layer.kernel.value) for layer in model.layers]
    assert float(sum(penalties)) == pytest.approx(expected, rel=1e-6)


class _Model:
    """What _train_in_steps reads and sets on a Keras model."""

    def __init__(self):
        self.steps_per_execution = 1
        self.train_function = None


def test_the_training_step_traced_for_a_number_of_batches_is_kept_for_its_return():
    model = _Model()
    keras_fit._train_in_steps(model, 1)
    assert model.train_function is None  # unchanged: nothing traced yet
    model.train_function = "traced for 1"
    keras_fit._train_in_steps(model, 5)
    assert (model.steps_per_execution, model.train_function) == (5, None)
    model.train_function = "traced for 5"
    keras_fit._train_in_steps(model, 1)
    assert (model.steps_per_execution, model.train_function) == (1, "traced for 1")
    keras_fit._train_in_steps(model, 5)
    assert model.train_function == "traced for 5"


def test_only_the_four_most_recent_traced_steps_are_kept():
    model = _Model()
    for steps in range(1, 8):
        keras_fit._train_in_steps(model, steps)
        model.train_function = f"traced for {steps}"
    keras_fit._train_in_steps(model, 1)
    # The step traced for 1 batch was the oldest: dropped, so Keras traces it again.
    assert model.train_function is None
    assert list(keras_fit._steps_traced[model]) == [4, 5, 6, 7]
    keras_fit._train_in_steps(model, 6)
    assert model.train_function == "traced for 6"


def _linear_model(dtype="float32"):
    model = keras.Sequential([keras.Input((1,), dtype=dtype), keras.layers.Dense(1, dtype=dtype)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def _rules(model, schedule=None, validation=None, n_iter_no_change=2, early_stopping=False):
    settings = types.SimpleNamespace(tol=1e-3, n_iter_no_change=n_iter_no_change, verbose=False)
    record = TrainingRecord.start(early_stopping)
    callback = keras_fit.MLPRegressorRules(record, 50, schedule, settings, validation)
    callback.set_model(model)
    return callback, record


def test_each_epoch_is_booked_and_the_flat_ones_stop_training():
    model = _linear_model()
    callback, record = _rules(model)
    assert callback.stopped is False
    for epoch, loss in enumerate([4.0, 3.0, 2.9995, 2.9999]):
        callback.on_epoch_end(epoch, {"loss": loss})
        assert not callback.stopped and not model.stop_training
    # A third epoch gaining less than tol = 1e-3 over the best: more than 2 flat epochs.
    callback.on_epoch_end(4, {"loss": 2.9991})
    assert callback.stopped and model.stop_training
    assert record.loss_curve == [4.0, 3.0, 2.9995, 2.9999, 2.9991]
    assert (record.n_iter, record.t, record.best_loss) == (5, 250, 2.9991)


def test_the_sgd_schedule_sets_kerass_learning_rate_and_others_leave_it():
    model = _linear_model()
    schedule = LearningRateSchedule(0.2, "invscaling", power_t=0.5)
    callback, _ = _rules(model, schedule)
    for epoch in range(3):
        callback.on_epoch_end(epoch, {"loss": 1.0 - epoch})
        # scikit-learn's invscaling: learning_rate_init / (t + 1) ** power_t, t the rows seen.
        rows_seen = 50 * (epoch + 1)
        assert float(model.optimizer.learning_rate) == pytest.approx(
            0.2 / (rows_seen + 1) ** 0.5, rel=1e-6
        )
    for schedule in (None, LearningRateSchedule(0.05, "constant")):
        model = _linear_model()
        callback, _ = _rules(model, schedule)
        callback.on_epoch_end(0, {"loss": 1.0})
        assert float(model.optimizer.learning_rate) == pytest.approx(0.1)


def test_a_non_finite_loss_names_the_epoch_and_the_dtype():
    callback, record = _rules(_linear_model("float64"))
    callback.on_epoch_end(0, {"loss": 1.0})
    with pytest.raises(ValueError, match=r"non-finite \(nan\) at epoch 2, computing in float64"):
        callback.on_epoch_end(1, {"loss": float("nan")})


def test_early_stopping_scores_the_validation_rows_and_keeps_the_best_weights(monkeypatch):
    from sklearn.metrics import r2_score

    monkeypatch.setattr(inputs, "CHUNK_ROWS", 3)  # the 4 rows predicted in 2 chunks

    X_val = scipy.sparse.csr_matrix(np.array([[1.0], [2.0], [3.0], [5.0]]))
    y_val = np.array([[2.0], [4.0], [7.0], [10.0]])
    w_val = np.array([1.0, 2.0, 1.0, 0.5])
    model = _linear_model("float64")
    callback, record = _rules(model, validation=(X_val, y_val, w_val), early_stopping=True)
    scores = []
    for epoch, slope in enumerate([2.0, 1.0, 1.9]):
        model.layers[0].set_weights([np.array([[slope]]), np.zeros(1)])
        callback.on_epoch_end(epoch, {"loss": float("nan")})  # not read: the score decides
        predicted = slope * X_val.toarray()
        scores.append(r2_score(y_val, predicted, sample_weight=w_val))
    np.testing.assert_allclose(record.validation_scores, scores)
    assert record.best_validation_score == pytest.approx(max(scores))
    # The best weights are the first epoch's (slope 2), though later ones came after.
    np.testing.assert_array_equal(record.best_weights[0], [[2.0]])


def test_of_equal_validation_scores_the_first_weights_are_kept():
    # y = 2x: slopes 3 and 1 miss it by x and -x, the same squared errors.
    X_val = np.array([[1.0], [2.0], [3.0], [5.0]])
    model = _linear_model("float64")
    validation = (X_val, 2 * X_val, np.ones(4))
    callback, record = _rules(model, validation=validation, early_stopping=True)
    for epoch, slope in enumerate([3.0, 1.0]):
        model.layers[0].set_weights([np.array([[slope]]), np.zeros(1)])
        callback.on_epoch_end(epoch, {"loss": 1.0})
    assert record.validation_scores[0] == record.validation_scores[1]
    np.testing.assert_array_equal(record.best_weights[0], [[3.0]])


@pytest.mark.parametrize("loss_weight", [None, 0.5])
def test_scikeras_is_given_the_fits_settings_and_our_rules_first(loss_weight):
    rules_callback, users_callback = object(), keras.callbacks.History()
    settings = types.SimpleNamespace(
        keras=keras_fit.KerasSettings(
            optimizer="adam",
            optimizer_params={"learning_rate": 0.01, "beta_1": 0.8},
            loss="huber",
            loss_weight=loss_weight,
            callbacks=[users_callback],
        ),
        jit_compile=False,
    )
    model = object()
    params = keras_fit._wrapper(model, settings, rules_callback, 7, 3).get_params()
    expected = {
        "model": model,
        "optimizer": "adam",
        "loss": "huber",
        "callbacks": [rules_callback, users_callback],
        "epochs": 7,
        # SciKeras neither batches, shuffles, seeds nor prints: the batches
        # come as one dataset of the fit's own shuffle, an epoch a call.
        "batch_size": None,
        "verbose": 0,
        "shuffle": False,
        "random_state": None,
        "compile__jit_compile": False,
        "compile__steps_per_execution": 3,
        "optimizer__learning_rate": 0.01,
        "optimizer__beta_1": 0.8,
    }
    assert {k: params[k] for k in expected} == expected
    assert params.get("compile__loss_weights") == loss_weight
