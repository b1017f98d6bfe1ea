import re

import numpy as np
import pytest

from sklearn_fitfn._network.activations import (
    ACTIVATION_NAMES,
    ACTIVATIONS,
    CUSTOM_ACTIVATIONS,
    LINEAR_NAMES,
    POLYNOMIAL_ACTIVATIONS,
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


def test_one_table_drives_the_constraint_the_command_and_the_read_back():
    from sklearn_fitfn import MLPFunctionRegressor
    from sklearn_fitfn._commands.cli import _build_parser

    constraint = MLPFunctionRegressor._parameter_constraints["activation"][0]
    assert constraint.options == set(ACTIVATIONS) == ACTIVATION_NAMES
    help_text = " ".join(_build_parser().format_help().split())
    assert all(re.search(rf"\b{name}\b", help_text) for name in ACTIVATIONS)
    assert LINEAR_NAMES == {"identity", "linear"}
    assert POLYNOMIAL_ACTIVATIONS == {"linear", "square"}
    # every row resolves to a Keras activation, or to the package's own unit
    keras_names = {row.keras for row in ACTIVATIONS.values()} - set(CUSTOM_ACTIVATIONS)
    z = np.array([-1.5, 0.5])
    assert all(np.all(np.isfinite(activation_function(name)(z))) for name in keras_names)


def test_an_unknown_name_lists_the_names_by_vocabulary():
    with pytest.raises(ValueError) as error:
        canonical_activation("rellu")
    assert str(error.value) == (
        "unknown activation 'rellu'; choose from identity, logistic, tanh, relu "
        "(scikit-learn); linear, sigmoid, elu, selu, gelu, silu, swish, softplus, exponential "
        "(Keras); square, log (sklearn_fitfn)"
    )
