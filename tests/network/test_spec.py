import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.neural_network import MLPRegressor
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_fitfn._network.activations import ACTIVATION_NAMES
from sklearn_fitfn._network.spec import NetworkSpec, dense_layers, dense_weights


def spec(hidden=(8, 5), activation=("relu", "logistic"), dtype="float64", n_in=3, n_out=2):
    return NetworkSpec.from_params(hidden, activation, dtype, n_in, n_out)


def test_spec_resolves_both_vocabularies_and_one_name_for_every_layer():
    assert spec().activations == ("relu", "sigmoid")
    assert spec(activation="identity").activations == ("linear", "linear")
    assert spec(hidden=4, activation="relu").hidden_layer_sizes == (4,)
    assert spec().layer_units == [3, 8, 5, 2]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(hidden=(8, 0)), "hidden_layer_sizes"),
        (dict(hidden=(8, -3)), "hidden_layer_sizes"),
        (dict(hidden=(8, True)), "hidden_layer_sizes"),
        (dict(activation=["relu"]), "activation"),
        (dict(activation=["relu", "nope"]), "activation"),
        (dict(activation="rellu"), "activation"),
    ],
)
def test_spec_names_the_parameter_that_is_wrong(kwargs, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        spec(**kwargs)


def test_equal_specs_are_equal_values():
    """TensorFlow keys the engine's traces on the spec's values."""
    assert spec() == spec() and hash(spec()) == hash(spec())
    assert spec() != spec(dtype="float32")


def test_keras_model_has_the_requested_layers_and_a_linear_output():
    model = spec().keras_model()
    dense = dense_layers(model)
    assert [layer.units for layer in dense] == [8, 5, 2]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "sigmoid", "linear"]
    assert all(v.dtype == "float64" for v in model.weights)
    assert [w.shape for w in dense_weights(model)] == [(3, 8), (8,), (8, 5), (5,), (5, 2), (2,)]


def test_no_hidden_layers_is_a_linear_model():
    model = spec(hidden=(), activation=(), dtype="float32", n_in=4, n_out=1).keras_model()
    assert [layer.activation.__name__ for layer in dense_layers(model)] == ["linear"]


def test_square_units_are_keras_built_in_layers():
    model = spec(hidden=(4,), activation="square", n_out=1).keras_model()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Dense", "Multiply", "Dense"]
    assert all(type(layer).__module__.startswith("keras.") for layer in model.layers)


@pytest.mark.parametrize("activations", [(name, name) for name in sorted(ACTIVATION_NAMES)])
def test_engine_forward_pass_equals_the_keras_model(activations):
    """The compiled engine's pass and the Keras model are one network."""
    network = spec(activation=activations)
    weights = network.initial_weights(np.random.RandomState(0))
    X = np.random.default_rng(1).normal(size=(50, 3))
    engine = network.forward([tf.constant(w) for w in weights], tf.constant(X)).numpy()
    keras_out = network.keras_model(weights)(X).numpy()
    np.testing.assert_allclose(engine, keras_out, rtol=1e-12, atol=1e-14)


def test_exponential_output_in_both_passes():
    network = NetworkSpec.from_params((4,), "tanh", "float64", 3, 1, out_activation="exp")
    weights = network.initial_weights(np.random.RandomState(0))
    X = np.random.default_rng(1).normal(size=(30, 3))
    engine = network.forward([tf.constant(w) for w in weights], tf.constant(X)).numpy()
    model = network.keras_model(weights)
    assert dense_layers(model)[-1].activation.__name__ == "exponential"
    np.testing.assert_allclose(engine, model(X).numpy(), rtol=1e-12)
    assert (engine > 0).all()


def test_initial_weights_are_scikit_learns():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = X.sum(axis=1)
    for activation in ["relu", "logistic"]:
        reference = MLPRegressor(
            hidden_layer_sizes=(7, 4), activation=activation, max_iter=1, random_state=3
        )
        reference._random_state = np.random.RandomState(3)
        reference.activation = activation
        reference.solver = "adam"
        reference.early_stopping = False
        reference._initialize(y.reshape(-1, 1), [3, 7, 4, 1], np.float64)
        network = NetworkSpec.from_params((7, 4), activation, "float64", 3, 1)
        ours = network.initial_weights(np.random.RandomState(3))
        expected = [w for pair in zip(reference.coefs_, reference.intercepts_) for w in pair]
        for a, b in zip(ours, expected):
            np.testing.assert_array_equal(a, b)


def test_check_model_refuses_another_shape_or_dtype():
    model = spec().keras_model()
    spec().check_model(model)
    with pytest.raises(ValueError, match="warm_start=False"):
        spec(hidden=(8, 4)).check_model(model)
    with pytest.raises(ValueError, match="warm_start=False"):
        spec(dtype="float32").check_model(model)
    assert isinstance(model, keras.Model)


def test_the_kernel_cache_is_cleared_after_enough_new_variable_shapes(monkeypatch):
    from sklearn_fitfn._network import kernel_cache

    cleared = []
    monkeypatch.setattr(kernel_cache, "_seen", set())
    monkeypatch.setattr(kernel_cache, "_clear_kernel_cache", lambda: cleared.append(1))
    spec = NetworkSpec.from_params((3,), "relu", "float64", 2, 1)
    for _ in range(30):  # the same shapes again and again: nothing new to forget
        spec.keras_model()
    assert cleared == [] and len(kernel_cache._seen) == 4
    limit = kernel_cache.NEW_SHAPES_BEFORE_CLEARING
    kernel_cache.note_variable_shapes([(n,) for n in range(100, 100 + limit - 8)], "float64")
    assert cleared == [] and len(kernel_cache._seen) == limit - 4
    # (2, 40), (40,) and (40, 1) are new, (1,) is not: one short of the limit.
    NetworkSpec.from_params((40,), "relu", "float64", 2, 1).keras_model()
    assert cleared == [] and len(kernel_cache._seen) == limit - 1
    NetworkSpec.from_params((41,), "relu", "float64", 2, 1).keras_model()
    assert cleared == [1] and kernel_cache._seen == set()


def test_a_cleared_kernel_cache_is_rebuilt_as_needed(regression_data):
    from sklearn_fitfn import MLPFunctionRegressor
    from sklearn_fitfn._network import kernel_cache

    X, y = regression_data
    reg = MLPFunctionRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    before = reg.predict(X)
    kernel_cache._clear_kernel_cache()
    np.testing.assert_array_equal(reg.predict(X), before)
    again = MLPFunctionRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), before)
