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


def _moved_names(module, moved):
    """A module ``__getattr__`` that explains each name in ``moved``.

    ``moved`` maps a name the module no longer offers to a sentence saying
    where it went; other missing names raise the usual AttributeError. The
    explanation is an ImportError, so that ``from module import name`` shows
    it (Python replaces an AttributeError there with its own message).
    """

    def __getattr__(name):
        if name in moved:
            raise ImportError(f"{module}.{name} is no longer public: {moved[name]}")
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def __dir__():
    return sorted(set(globals()) | set(__all__))
