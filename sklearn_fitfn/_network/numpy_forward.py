"""The network's forward pass on NumPy, for scikit-learn's activations.

A network whose hidden layers use scikit-learn's activations (identity,
logistic, tanh, relu) under a linear output computes on NumPy what its Keras
model computes, as MLPRegressor computes it: a product and a bias per layer,
then the activation, in place. The stacked epochs train such networks here
(:mod:`sklearn_fitfn._training.stacked_numpy`), and a fitted one predicts
here, so that a fit need not build its Keras model until ``model_`` is read.
"""

import numpy as np
import scipy.special

#: The activations computed here, by Keras name: each writes the activation
#: of its argument into it and returns it.
ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0, out=z),
    "tanh": lambda z: np.tanh(z, out=z),
    "sigmoid": lambda z: scipy.special.expit(z, out=z),
}


def computes(spec):
    """Whether NumPy computes ``spec``'s network here: its activations are
    scikit-learn's and its output linear (the squared error's)."""
    return spec.out_activation == "identity" and all(a in ACTIVATIONS for a in spec.activations)


def network_output(activations, weights, X):
    """The outputs of a network of ``activations`` and ``weights``
    (``[kernel, bias, ...]``) for the rows of a dense ``X``.

    Parameters
    ----------
    activations : tuple of str
        Each hidden layer's Keras name (:data:`ACTIVATIONS`).
    weights : list of ndarray
    X : ndarray of shape (n_samples, n_inputs)

    Returns
    -------
    ndarray of shape (n_samples, n_outputs)
    """
    hidden = X
    for layer in range(len(weights) // 2):
        hidden = hidden @ weights[2 * layer]
        hidden += weights[2 * layer + 1]
        if layer < len(activations):
            hidden = ACTIVATIONS[activations[layer]](hidden)
    return hidden
