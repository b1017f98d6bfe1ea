import gc
import weakref

import numpy as np
import pytest
import tensorflow as tf

import sklearn_fitfn._training.compiled
from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training.compiled import size_free_variable
from sklearn_fitfn._training.engine import compiled_epochs
from sklearn_fitfn._training.lbfgs import compiled_full_batch

X = np.random.default_rng(0).normal(size=(60, 2))
y = X[:, 0] * X[:, 1]


def _fit(width, solver="adam"):
    return MLPFunctionRegressor(
        hidden_layer_sizes=(width,), max_iter=2, solver=solver, random_state=0
    ).fit(X, y)


def test_only_the_most_recent_shapes_keep_their_compiled_functions(monkeypatch):
    monkeypatch.setattr(sklearn_fitfn._training.compiled, "KEPT_SHAPES", 2)
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


def test_dropped_compiled_functions_are_collected_without_waiting_for_python(monkeypatch):
    # A compiled function's graphs are reference cycles: with automatic
    # collection off, only the package's own collection can free them.
    monkeypatch.setattr(sklearn_fitfn._training.compiled, "KEPT_SHAPES", 1)
    monkeypatch.setattr(sklearn_fitfn._training.compiled, "DROPS_BEFORE_COLLECTING", 2)
    _fit(3)  # whatever earlier tests kept is dropped here
    monkeypatch.setattr(sklearn_fitfn._training.compiled, "_drops", 0)
    (trace,) = next(reversed(compiled_epochs._functions.values()))._list_all_concrete_functions()
    first = weakref.ref(trace.graph)
    del trace
    gc.disable()
    try:
        _fit(4)  # drops the first: one drop, not yet collected
        assert first() is not None
        _fit(5)  # the second drop: both collected
        assert first() is None
    finally:
        gc.enable()


def test_lbfgs_functions_are_bounded_too(monkeypatch):
    monkeypatch.setattr(sklearn_fitfn._training.compiled, "KEPT_SHAPES", 2)
    for width in (3, 4, 5, 6):
        _fit(width, solver="lbfgs")
    assert len(compiled_full_batch) == 2


def _declared_shapes_of_variables_created_by(function):
    declared = []

    def creator(next_creator, **kwargs):
        variable = next_creator(**kwargs)
        declared.append(variable.shape)
        return variable

    with tf.variable_creator_scope(creator):
        function()
    return declared


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_a_fit_declares_sizes_only_for_the_keras_models_own_variables(solver):
    # TensorFlow keeps, for the life of the process, the kernel that created
    # a variable of each declared shape: a search over many architectures
    # would grow without bound if the engine's variables declared theirs.
    # model_ is built when first read: its Dense layers declare their sizes then.
    declared = _declared_shapes_of_variables_created_by(lambda: _fit(7, solver=solver).model_)
    sized = [s for s in declared if s.rank and s.is_fully_defined()]
    engine = [s for s in declared if s.rank and not s.is_fully_defined()]
    assert sorted(map(tuple, sized)) == [(1,), (2, 7), (7,), (7, 1)]  # model_'s Dense layers
    # The parameters and the optimizer's slots, held as flat vectors (see _layout).
    assert len(engine) >= 2 and all(set(s.as_list()) == {None} for s in engine)
    unread = _declared_shapes_of_variables_created_by(lambda: _fit(7, solver=solver))
    assert [s for s in unread if s.rank and s.is_fully_defined()] == []


def test_a_size_free_variable_holds_its_value_and_takes_any_size():
    variable = size_free_variable(np.arange(6.0).reshape(2, 3), tf.float64)
    assert variable.shape.as_list() == [None, None]
    np.testing.assert_array_equal(variable.numpy(), np.arange(6.0).reshape(2, 3))
    variable.assign(np.ones((4, 5)))
    assert variable.numpy().shape == (4, 5)
