"""sklearn_fitfn: a Keras multilayer perceptron as a first-class scikit-learn regressor."""

from . import _quiet  # noqa: F401  (must come first: silences TensorFlow's import)
from ._regressor import MLPFunctionRegressor

__version__ = "0.1.0"

__all__ = ["MLPFunctionRegressor", "__version__"]
