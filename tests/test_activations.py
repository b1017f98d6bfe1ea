import numpy as np
import pytest

from sklearn_fitfn._activations import (
    ACTIVATION_NAMES,
    activation_function,
    canonical_activation,
)


@pytest.mark.parametrize(
    "name, keras_name",
    [
        ("identity", "linear"),
        ("logistic", "sigmoid"),
        ("swish", "silu"),
        ("relu", "relu"),
        ("gelu", "gelu"),
        ("linear", "linear"),
    ],
)
def test_both_vocabularies_resolve_to_keras_names(name, keras_name):
    assert canonical_activation(name) == keras_name


def test_every_documented_name_is_accepted():
    documented = {
        "identity",
        "linear",
        "logistic",
        "sigmoid",
        "tanh",
        "relu",
        "elu",
        "selu",
        "gelu",
        "swish",
        "silu",
        "softplus",
        "square",
    }
    assert documented <= ACTIVATION_NAMES


@pytest.mark.parametrize("bad", ["rellu", "", None, 3])
def test_unknown_activation_names_the_problem(bad):
    with pytest.raises(ValueError, match="unknown activation"):
        canonical_activation(bad)


def test_activation_functions_compute_what_their_names_say():
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(activation_function("identity")(z), z)
    np.testing.assert_allclose(activation_function("relu")(z), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(activation_function("logistic")(z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(activation_function("tanh")(z), np.tanh(z))
    np.testing.assert_allclose(activation_function("square")(z), z**2)
