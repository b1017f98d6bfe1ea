"""Activation names: scikit-learn's and Keras's vocabularies, resolved to Keras,
and the package's own units."""

#: scikit-learn's names (and a few spellings) mapped to the Keras name used.
ALIASES = {
    "identity": "linear",
    "logistic": "sigmoid",
    "swish": "silu",
}

#: Activations computed by Keras itself.
KERAS_ACTIVATIONS = frozenset(
    {"linear", "sigmoid", "tanh", "relu", "elu", "selu", "gelu", "silu", "softplus"}
)


def square(x):
    """The square unit, z -> z².

    Because (a + b)² - (a - b)² = 4ab, one hidden layer of these represents
    x² and x1·x2 exactly: every output is a quadratic polynomial of the inputs.
    In a Keras model it is Keras's own ``Multiply`` layer applied to a linear
    layer's output twice (see :mod:`._spec`), so a saved model needs nothing
    from this package to load.
    """
    return x * x


#: Units this package defines, by name.
CUSTOM_ACTIVATIONS = {"square": square}

#: Every name a user may pass as ``activation``.
ACTIVATION_NAMES = frozenset(KERAS_ACTIVATIONS | set(ALIASES) | set(CUSTOM_ACTIVATIONS))

#: Hidden activations that leave the whole network linear in its input.
LINEAR_NAMES = frozenset({"linear", "identity"})


def canonical_activation(name):
    """Return the Keras name for an activation given in either vocabulary.

    Parameters
    ----------
    name : str
        An activation name such as ``"identity"``, ``"logistic"`` or ``"gelu"``.

    Returns
    -------
    str
        The Keras name, e.g. ``"linear"`` for ``"identity"``.

    Raises
    ------
    ValueError
        If ``name`` is not a known activation.
    """
    if not isinstance(name, str) or name not in ACTIVATION_NAMES:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATION_NAMES)}")
    return ALIASES.get(name, name)


def activation_function(name):
    """Return the callable that computes activation ``name`` on tensors."""
    from ._quiet import keras  # here, so that the names above need no TensorFlow

    name = canonical_activation(name)
    return CUSTOM_ACTIVATIONS.get(name) or keras.activations.get(name)
