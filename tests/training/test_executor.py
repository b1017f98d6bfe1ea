import numpy as np

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import executor as _executor
from sklearn_fitfn._training.executor import runs_inline


def test_small_networks_run_inline_and_wide_ones_on_the_thread_pool():
    # Where docs/performance.md measured each executor faster: the canonical
    # network inline, the wide one on the pool.
    assert runs_inline([1, 64, 64, 1], 100)
    assert not runs_inline([1, 256, 256, 256, 1], 100)
    # More work per step never brings a step back inline.
    for layers in ([1, 64, 64, 1], [3, 128, 1]):
        choices = [runs_inline(layers, batch) for batch in (1, 10, 100, 1_000, 10_000, 100_000)]
        assert choices == sorted(choices, reverse=True) and not choices[-1]
    widths = [runs_inline([1, w, w, 1], 100) for w in range(8, 1025, 8)]
    assert widths == sorted(widths, reverse=True)


def test_both_executors_train_identically(monkeypatch):
    """The executor decides only where operations run, never what they compute."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = np.sin(X).sum(axis=1)
    params = dict(
        hidden_layer_sizes=(8, 8),
        max_iter=20,
        batch_size=32,
        random_state=0,
        early_stopping=True,
        n_iter_no_change=30,
    )
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
