import numpy as np
import pytest
import tensorflow as tf

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import engine
from sklearn_fitfn._training.layout import ParameterLayout

SHAPES = [(3, 5), (5,), (5, 2), (2,)]


def _arrays(rng):
    return [rng.normal(size=shape) for shape in SHAPES]


@pytest.mark.parametrize("grouped", [True, False])
def test_packing_then_unpacking_gives_back_every_array(grouped):
    layout = ParameterLayout(SHAPES, grouped)
    arrays = _arrays(np.random.default_rng(0))
    vectors = layout.pack(arrays)
    assert len(vectors) == (1 if grouped else 4) and all(v.ndim == 1 for v in vectors)
    for back, array in zip(layout.unpack(vectors), arrays):
        np.testing.assert_array_equal(back, array)


def test_one_group_lays_out_every_kernel_then_every_bias_as_scikit_learns_lbfgs():
    arrays = _arrays(np.random.default_rng(1))
    (vector,) = ParameterLayout(SHAPES, grouped=True).pack(arrays)
    expected = np.concatenate([arrays[i].ravel() for i in (0, 2, 1, 3)])
    np.testing.assert_array_equal(vector, expected)


@pytest.mark.parametrize("grouped", [True, False])
def test_the_tensor_split_and_join_agree_with_the_numpy_packing(grouped):
    layout = ParameterLayout(SHAPES, grouped)
    arrays = _arrays(np.random.default_rng(2))
    vectors = layout.pack(arrays)
    split = layout.split([tf.constant(v) for v in vectors])
    for tensor, array in zip(split, arrays):
        np.testing.assert_array_equal(tensor.numpy(), array)
    for joined, vector in zip(layout.join(split), vectors):
        np.testing.assert_array_equal(joined.numpy(), vector)


def test_layouts_compare_by_their_shapes_and_groups():
    # The compiled functions are keyed by the layout: equal layouts must share one.
    assert ParameterLayout(SHAPES, True) == ParameterLayout(list(SHAPES), True)
    assert hash(ParameterLayout(SHAPES, True)) == hash(ParameterLayout(SHAPES, True))
    assert ParameterLayout(SHAPES, True) != ParameterLayout(SHAPES, False)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_fit_gives_the_same_bits_in_either_layout(monkeypatch, solver, early_stopping):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] ** 2 - X[:, 1]

    def fit():
        model = MLPFunctionRegressor(
            hidden_layer_sizes=(6, 4),
            solver=solver,
            max_iter=15,
            batch_size=32,
            early_stopping=early_stopping,
            random_state=0,
        ).fit(X, y)
        if not early_stopping:  # resumes the optimizer's state
            model.partial_fit(X, y)
        return model

    grouped = fit()
    asked = []

    def one_group_per_array(shapes, grouped):
        asked.append(grouped)
        return ParameterLayout(shapes, grouped=False)

    monkeypatch.setattr(engine, "ParameterLayout", one_group_per_array)
    separate = fit()
    assert asked and all(asked)  # a network this small is otherwise held as one group
    assert grouped.loss_curve_ == separate.loss_curve_
    assert grouped.validation_scores_ == separate.validation_scores_
    for a, b in zip(grouped.coefs_ + grouped.intercepts_, separate.coefs_ + separate.intercepts_):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(grouped._optimizer_state, separate._optimizer_state):
        np.testing.assert_array_equal(a, b)


def test_the_optimizer_state_is_kept_per_array_whatever_the_layout():
    X = np.random.default_rng(4).normal(size=(50, 3))
    model = MLPFunctionRegressor(hidden_layer_sizes=(6,), max_iter=1).partial_fit(X, X[:, 0])
    shapes = [a.shape for a in model.coefs_ + model.intercepts_]
    weight_shapes = [shapes[i] for i in (0, 2, 1, 3)]  # kernel, bias, kernel, bias
    moments = [a.shape for a in model._optimizer_state]
    assert moments == weight_shapes + weight_shapes + [()]  # Adam: m, v, step
