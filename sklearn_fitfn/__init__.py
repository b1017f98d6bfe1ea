"""sklearn_fitfn: a Keras multilayer perceptron as a first-class scikit-learn regressor.

``MLPFunctionRegressor`` is imported on first use, so that ``import
sklearn_fitfn`` (and the ``fitfn`` command's help and argument checks) does
not wait for TensorFlow's start-up.
"""

__version__ = "0.1.0"

__all__ = ["MLPFunctionRegressor", "__version__"]


def __getattr__(name):
    if name == "MLPFunctionRegressor":
        from ._regressor import MLPFunctionRegressor

        return MLPFunctionRegressor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
