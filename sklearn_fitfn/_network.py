"""Build the Keras multilayer perceptron and give it its initial weights."""

import keras
import numpy as np

from ._activations import activation_function, canonical_activation


def build_mlp(n_inputs, n_outputs, hidden_layer_sizes, activations, dtype):
    """Build an (unseeded, zero-initialised) Keras MLP.

    Weights start at zero so that building a model draws nothing from any
    random generator; :func:`glorot_weights` supplies the real starting point.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Width of the input and of the (linear) output layer.
    hidden_layer_sizes : sequence of int
        Units of each hidden layer; empty for a purely linear model.
    activations : sequence of str
        One activation name per hidden layer, in either vocabulary.
    dtype : {"float32", "float64"}
        Dtype of the weights and of the computation.

    Returns
    -------
    keras.Sequential
    """
    layers = [keras.Input(shape=(n_inputs,), dtype=dtype)]
    for index, (units, activation) in enumerate(zip(hidden_layer_sizes, activations)):
        layers.append(
            keras.layers.Dense(
                units,
                activation=activation_function(activation),
                kernel_initializer="zeros",
                dtype=dtype,
                name=f"hidden_{index}",
            )
        )
    layers.append(
        keras.layers.Dense(
            n_outputs, kernel_initializer="zeros", dtype=dtype, name="output"
        )
    )
    return keras.Sequential(layers, name="mlp")


def dense_variables(model):
    """Return the model's weights as a flat list of TensorFlow variables.

    The order is ``[kernel_0, bias_0, kernel_1, bias_1, ...]``, input to output.
    """
    variables = []
    for layer in model.layers:
        variables += [layer.kernel.value, layer.bias.value]
    return variables


def network_weights(model):
    """Return copies of the model's weights as ``[kernel, bias, ...]`` arrays."""
    return [variable.numpy() for variable in dense_variables(model)]


def glorot_weights(random_state, layer_units, activations, dtype):
    """Draw starting weights exactly as scikit-learn's MLP does.

    Uniform on ``±sqrt(factor / (fan_in + fan_out))`` with factor 6, or 2 next
    to a logistic layer; kernel then bias for each layer, in order, from the
    same ``RandomState``. With the same seed and data, the starting point
    matches ``MLPRegressor``'s.

    Parameters
    ----------
    random_state : numpy.random.RandomState
    layer_units : list of int
        ``[n_inputs, *hidden_layer_sizes, n_outputs]``.
    activations : sequence of str
        One activation name per hidden layer.
    dtype : str

    Returns
    -------
    list of ndarray
        ``[kernel_0, bias_0, kernel_1, bias_1, ...]``.
    """
    canonical = [canonical_activation(a) for a in activations]
    weights = []
    for index, (fan_in, fan_out) in enumerate(zip(layer_units[:-1], layer_units[1:])):
        # The output layer takes the factor of the layer feeding it.
        neighbour = canonical[min(index, len(canonical) - 1)] if canonical else None
        factor = 2.0 if neighbour == "sigmoid" else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        kernel = random_state.uniform(-bound, bound, (fan_in, fan_out))
        bias = random_state.uniform(-bound, bound, fan_out)
        weights += [kernel.astype(dtype), bias.astype(dtype)]
    return weights
