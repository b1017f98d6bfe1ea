import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import r2_score

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import (
    TrainingRecord,
    _run_epochs,
    r2_score_from_sse,
    total_sum_of_squares,
)


def weighted_r2(sse, y, w):
    return float(r2_score_from_sse(tf.constant(sse), tf.constant(total_sum_of_squares(y, w))))


def test_validation_r2_equals_sklearns_r2_score():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(30, 2))
    pred = y + rng.normal(scale=0.3, size=y.shape)
    w = rng.uniform(0.5, 2.0, size=30)
    sse = (w[:, None] * (y - pred) ** 2).sum(axis=0)
    assert weighted_r2(sse, y, w) == pytest.approx(r2_score(y, pred, sample_weight=w), rel=1e-12)


def test_validation_r2_of_a_constant_target_follows_r2_score():
    y = np.ones((5, 1))
    assert weighted_r2(np.zeros(1), y, np.ones(5)) == 1.0
    assert weighted_r2(np.ones(1), y, np.ones(5)) == 0.0


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
    traces = _run_epochs.experimental_get_tracing_count()
    for n in (17, 60, 99):
        MLPFunctionRegressor(hidden_layer_sizes=(5,), max_iter=2).fit(X[:n], X[:n, 0])
    assert _run_epochs.experimental_get_tracing_count() == traces

