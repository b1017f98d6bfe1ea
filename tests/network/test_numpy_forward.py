"""The network's outputs on NumPy: those of its Keras model, for the
activations NumPy computes, and no others claimed."""

import numpy as np
import pytest

from sklearn_fitfn._network import numpy_forward
from sklearn_fitfn._network.spec import NetworkSpec


def _spec(activation, dtype="float64", n_outputs=2, out_activation="identity"):
    return NetworkSpec.from_params(
        (5, 4), activation, dtype, 3, n_outputs, out_activation=out_activation
    )


@pytest.mark.parametrize(
    "activation",
    ["identity", "relu", "tanh", "logistic", ("relu", "tanh"), ("logistic", "identity")],
)
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_outputs_are_the_keras_models(activation, dtype, rtol):
    spec = _spec(activation, dtype)
    weights = spec.initial_weights(np.random.RandomState(0))
    weights = [w + 0.1 for w in weights]  # non-zero biases
    X = np.random.default_rng(1).normal(size=(40, 3)).astype(dtype)
    assert numpy_forward.computes(spec)
    ours = numpy_forward.network_output(spec.activations, weights, X)
    keras_outputs = spec.keras_model(weights)(X).numpy()
    assert ours.dtype == np.dtype(dtype) and ours.shape == (40, 2)
    np.testing.assert_allclose(ours, keras_outputs, rtol=rtol, atol=1e-6)


def test_networks_of_other_units_or_the_poisson_output_are_left_to_keras():
    assert not numpy_forward.computes(_spec("elu"))
    assert not numpy_forward.computes(_spec(("relu", "square")))
    assert not numpy_forward.computes(_spec("relu", n_outputs=1, out_activation="exp"))
