import gc
import weakref

import numpy as np

import sklearn_fitfn._compiled
from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import compiled_epochs, compiled_full_batch

X = np.random.default_rng(0).normal(size=(60, 2))
y = X[:, 0] * X[:, 1]


def _fit(width, solver="adam"):
    MLPFunctionRegressor(
        hidden_layer_sizes=(width,), max_iter=2, solver=solver, random_state=0
    ).fit(X, y)


def test_only_the_most_recent_shapes_keep_their_compiled_functions(monkeypatch):
    monkeypatch.setattr(sklearn_fitfn._compiled, "KEPT_SHAPES", 2)
    _fit(3)
    first = weakref.ref(next(reversed(compiled_epochs._functions.values())))
    for width in (4, 5, 6):
        _fit(width)
    assert len(compiled_epochs) == 2
    gc.collect()
    assert first() is None, "a dropped shape's compiled function must be freed"

    kept = list(compiled_epochs._functions.values())
    traces = compiled_epochs.tracing_count()
    _fit(6)  # the two most recent shapes are still compiled: no new trace
    _fit(5)
    assert set(map(id, compiled_epochs._functions.values())) == set(map(id, kept))
    assert compiled_epochs.tracing_count() == traces
    _fit(3)  # dropped earlier: compiled afresh
    newest = next(reversed(compiled_epochs._functions.values()))
    assert all(newest is not f for f in kept) and newest.experimental_get_tracing_count() == 1


def test_lbfgs_functions_are_bounded_too(monkeypatch):
    monkeypatch.setattr(sklearn_fitfn._compiled, "KEPT_SHAPES", 2)
    for width in (3, 4, 5, 6):
        _fit(width, solver="lbfgs")
    assert len(compiled_full_batch) == 2
