"""The one table of activations: every name a user may pass, in scikit-learn's
vocabulary or Keras's, the Keras name each resolves to, which leave a network
linear and which read back exactly as a polynomial; and the package's own unit.

Every check of an activation name, every list of them in an error or a help
text, and every rule that depends on an activation's kind is read from
:data:`ACTIVATIONS`.
"""

from typing import NamedTuple


class Activation(NamedTuple):
    """One row of the table."""

    #: The Keras name it resolves to (its own name, for the package's units).
    keras: str
    #: Whose name it is: "scikit-learn", "Keras" or "sklearn_fitfn".
    vocabulary: str
    #: A hidden layer of it leaves the whole network linear in its input.
    linear: bool = False
    #: A network of such units computes a polynomial, read back exactly.
    polynomial: bool = False
    #: Defined for positive inputs only (the log): the values a unit sees on
    #: the training rows must stay above zero.
    positive_inputs: bool = False


#: Every name a user may pass as ``activation``. Names both vocabularies share
#: (relu, tanh) are listed under scikit-learn's.
ACTIVATIONS = {
    "identity": Activation("linear", "scikit-learn", linear=True, polynomial=True),
    "logistic": Activation("sigmoid", "scikit-learn"),
    "tanh": Activation("tanh", "scikit-learn"),
    "relu": Activation("relu", "scikit-learn"),
    "linear": Activation("linear", "Keras", linear=True, polynomial=True),
    "sigmoid": Activation("sigmoid", "Keras"),
    "elu": Activation("elu", "Keras"),
    "selu": Activation("selu", "Keras"),
    "gelu": Activation("gelu", "Keras"),
    "silu": Activation("silu", "Keras"),
    "swish": Activation("silu", "Keras"),
    "softplus": Activation("softplus", "Keras"),
    "exponential": Activation("exponential", "Keras"),
    "square": Activation("square", "sklearn_fitfn", polynomial=True),
    "log": Activation("log", "sklearn_fitfn", positive_inputs=True),
}

#: Every name a user may pass as ``activation``.
ACTIVATION_NAMES = frozenset(ACTIVATIONS)

#: Hidden activations that leave the whole network linear in its input.
LINEAR_NAMES = frozenset(name for name, row in ACTIVATIONS.items() if row.linear)

#: The Keras names of the activations whose networks are polynomials.
POLYNOMIAL_ACTIVATIONS = frozenset(row.keras for row in ACTIVATIONS.values() if row.polynomial)


def square(x):
    """The square unit, z -> z².

    Because (a + b)² - (a - b)² = 4ab, one hidden layer of these represents
    x² and x1·x2 exactly: every output is a quadratic polynomial of the inputs.
    In a Keras model it is Keras's own ``Multiply`` layer applied to a linear
    layer's output twice (see :mod:`.spec`), so a saved model needs nothing
    from this package to load.
    """
    return x * x


def log(x):
    """The log unit, z -> log z, for z > 0.

    Two of them under one ``exponential`` unit compute a ratio exactly,
    ``exp(log p - log q) = p / q``, and extrapolate it (see
    :mod:`sklearn_fitfn._training.rational_start`). A log unit must see
    positive values: the estimator refuses weights under which it sees
    zero or less on the training rows, and ``predict`` gives NaN where it
    does on new rows, as ``log`` does.
    """
    from .._quiet.tensorflow import tf

    return tf.math.log(x)


#: Units this package defines, by name.
CUSTOM_ACTIVATIONS = {"square": square, "log": log}

#: The Keras names of the activations defined for positive inputs only.
POSITIVE_INPUT_ACTIVATIONS = frozenset(
    row.keras for row in ACTIVATIONS.values() if row.positive_inputs
)


def activation_choices():
    """The accepted names grouped by vocabulary, for errors and help texts:
    ``"identity, logistic, tanh, relu (scikit-learn); linear, ... (Keras);
    square (sklearn_fitfn)"``."""
    groups = {}
    for name, row in ACTIVATIONS.items():
        groups.setdefault(row.vocabulary, []).append(name)
    return "; ".join(f"{', '.join(names)} ({vocabulary})" for vocabulary, names in groups.items())


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
        If ``name`` is not a known activation; the message lists the known ones.
    """
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {activation_choices()}")
    return ACTIVATIONS[name].keras


def activation_function(name):
    """Return the callable that computes activation ``name`` on tensors."""
    from .._quiet.tensorflow import keras  # here, so that the names above need no TensorFlow

    name = canonical_activation(name)
    return CUSTOM_ACTIVATIONS.get(name) or keras.activations.get(name)
