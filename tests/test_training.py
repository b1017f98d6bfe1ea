import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import r2_score

from sklearn_fitfn import MLPFunctionRegressor, _executor
from sklearn_fitfn._executor import runs_inline
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


def test_small_networks_run_inline_and_wide_ones_on_the_thread_pool():
    assert runs_inline([1, 64, 64, 1], 100)
    assert runs_inline([1, 64, 64, 64, 64, 1], 100)
    assert not runs_inline([1, 256, 256, 256, 1], 100)
    assert not runs_inline([1, 64, 64, 1], 10_000)


def test_both_executors_train_identically(monkeypatch):
    """The executor decides only where operations run, never what they compute."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = np.sin(X).sum(axis=1)
    params = dict(hidden_layer_sizes=(8, 8), max_iter=20, batch_size=32, random_state=0,
                  early_stopping=True, n_iter_no_change=30)  # fmt: skip
    assert runs_inline([3, 8, 8, 1], 32)
    inline = MLPFunctionRegressor(**params).fit(X, y)
    monkeypatch.setattr(_executor, "INLINE_MAX_MULTIPLY_ADDS", 0)
    assert not runs_inline([3, 8, 8, 1], 32)
    pooled = MLPFunctionRegressor(**params).fit(X, y)
    np.testing.assert_array_equal(inline.loss_curve_, pooled.loss_curve_)
    np.testing.assert_array_equal(inline.validation_scores_, pooled.validation_scores_)
    np.testing.assert_array_equal(inline.predict(X), pooled.predict(X))


def test_default_executor_where_a_gpu_is_seen_or_the_switch_is_missing(monkeypatch):
    monkeypatch.setattr(_executor, "_cpu_only", lambda: False)
    assert not runs_inline([1, 64, 64, 1], 100)
    monkeypatch.undo()
    monkeypatch.setattr(_executor, "function_executor_type", None)
    assert not runs_inline([1, 64, 64, 1], 100)
