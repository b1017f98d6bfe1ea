import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import r2_score

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._network.spec import NetworkSpec
from sklearn_fitfn._training.engine import compiled_epochs, shuffled
from sklearn_fitfn._training.record import TrainingRecord, total_sum_of_squares, validation_r2


def weighted_r2(y, pred, w):
    total = tf.constant(total_sum_of_squares(y, w))
    return float(validation_r2(tf.constant(pred), tf.constant(y), tf.constant(w), total))


def test_validation_r2_equals_sklearns_r2_score():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(30, 2))
    pred = y + rng.normal(scale=0.3, size=y.shape)
    w = rng.uniform(0.5, 2.0, size=30)
    assert weighted_r2(y, pred, w) == pytest.approx(r2_score(y, pred, sample_weight=w), rel=1e-12)


def test_validation_r2_of_a_constant_target_follows_r2_score():
    y = np.ones((5, 1))
    assert weighted_r2(y, y, np.ones(5)) == 1.0
    assert weighted_r2(y, y + 1, np.ones(5)) == 0.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_validation_r2_of_a_diverged_network_is_nan_as_mlpregressor_scores_it(bad):
    y = np.arange(6.0).reshape(-1, 1)
    pred = y.copy()
    pred[2] = bad
    assert np.isnan(weighted_r2(y, pred, np.ones(6)))
    # Finite predictions whose squares overflow score -inf, as r2_score does.
    assert weighted_r2(y, y + 1e200, np.ones(6)) == -np.inf


def test_fresh_record_matches_mlpregressor_attributes():
    assert TrainingRecord.start(False).best_loss == np.inf
    early = TrainingRecord.start(True)
    assert early.best_loss is None and early.validation_scores == []


def test_one_compiled_epoch_serves_every_sample_count():
    """A new number of rows must not recompile the epoch: that is what keeps
    grid searches and check_estimator fast."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    MLPFunctionRegressor(hidden_layer_sizes=(5,), max_iter=2).fit(X, X[:, 0])
    traces = compiled_epochs.tracing_count()
    for n in (17, 60, 99):
        MLPFunctionRegressor(hidden_layer_sizes=(5,), max_iter=2).fit(X[:n], X[:n, 0])
    assert compiled_epochs.tracing_count() == traces


@pytest.mark.parametrize(
    "activations, out_activation",
    [
        (("relu", "tanh"), "identity"),
        (("elu", "selu"), "identity"),
        (("gelu", "silu"), "identity"),
        (("softplus", "logistic"), "identity"),
        (("square", "identity"), "identity"),
        (("relu", "tanh"), "exp"),
        (("square", "logistic"), "exp"),
    ],
)
def test_backpropagation_equals_autodiff_of_the_loss(activations, out_activation):
    """The written-out gradient of every activation, with sample weights,
    several outputs and the L2 penalty, equals TensorFlow's own, for the
    squared error and (exponential output) the Poisson deviance."""
    rng = np.random.default_rng(0)
    shapes = [(3, 5), (5,), (5, 4), (4,), (4, 2), (2,)]
    params = [tf.constant(rng.normal(size=s)) for s in shapes]
    X = tf.constant(rng.normal(size=(20, 3)))
    y = tf.constant(rng.poisson(2.0, size=(20, 2)).astype(float))
    w, alpha = tf.constant(rng.uniform(0.5, 2.0, size=20)), tf.constant(0.3, tf.float64)
    network = NetworkSpec.from_params(
        (5, 4), activations, "float64", 3, 2, out_activation=out_activation
    )
    loss, grads = network.loss_and_gradients(params, X, y, w, alpha)
    with tf.GradientTape() as tape:
        tape.watch(params)
        predicted = network.forward(params, X)
        if out_activation == "exp":  # MLPRegressor's half Poisson deviance
            per_row = tf.reduce_sum(tf.math.xlogy(y, y / predicted) - y + predicted, axis=1)
        else:
            per_row = 0.5 * tf.reduce_mean((predicted - y) ** 2, axis=1)
        penalty = sum(tf.reduce_sum(k**2) for k in params[0::2])
        expected = (tf.reduce_sum(w * per_row) + 0.5 * alpha * penalty) / tf.reduce_sum(w)
    np.testing.assert_allclose(loss.numpy(), expected.numpy(), rtol=1e-12)
    for ours, reference in zip(grads, tape.gradient(expected, params)):
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-10, atol=1e-14)


def test_shuffled_draws_as_sklearn_utils_shuffle():
    from sklearn.utils import shuffle

    ours, theirs = np.random.RandomState(5), np.random.RandomState(5)
    rows = np.arange(37, dtype=np.int32)
    a, b = rows, rows
    for _ in range(4):
        a, b = shuffled(a, ours), shuffle(b, random_state=theirs)
        np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int32
