import keras
import numpy as np
from sklearn.neural_network import MLPRegressor

from sklearn_fitfn._network import build_mlp, dense_variables, glorot_weights


def test_build_mlp_has_the_requested_layers_and_a_linear_output():
    model = build_mlp(3, 2, (8, 5), ("relu", "logistic"), "float64")
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [8, 5, 2]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "sigmoid", "linear"]
    assert all(v.dtype == "float64" for v in model.weights)
    assert [tuple(v.shape) for v in dense_variables(model)] == [
        (3, 8), (8,), (8, 5), (5,), (5, 2), (2,)
    ]  # fmt: skip


def test_no_hidden_layers_is_a_linear_model():
    model = build_mlp(4, 1, (), (), "float32")
    assert len(model.layers) == 1 and model.layers[0].activation.__name__ == "linear"


def test_glorot_weights_are_scikit_learns_initial_weights():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = X.sum(axis=1)
    for activation in ["relu", "logistic"]:
        reference = MLPRegressor(hidden_layer_sizes=(7, 4), activation=activation,
                                 max_iter=1, random_state=3)  # fmt: skip
        reference._random_state = np.random.RandomState(3)
        reference.activation = activation
        reference.solver = "adam"
        reference.early_stopping = False
        reference._initialize(y.reshape(-1, 1), [3, 7, 4, 1], np.float64)
        ours = glorot_weights(np.random.RandomState(3), [3, 7, 4, 1],
                              (activation, activation), "float64")  # fmt: skip
        expected = [w for pair in zip(reference.coefs_, reference.intercepts_) for w in pair]
        for a, b in zip(ours, expected):
            np.testing.assert_array_equal(a, b)
