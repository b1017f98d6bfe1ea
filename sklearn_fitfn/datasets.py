"""Function-fitting data: squares, sums, products, cubes and sines of random inputs.

With the defaults, ``make_squares(random_state=0)`` is the canonical training
set: 1,000 integers drawn uniformly from 1..1000 by
``np.random.default_rng(0).integers(1, 1001, size=(1000, 1))``, and y = x².
"""

import numpy as np

__all__ = [
    "make_function_data",
    "make_squares",
    "make_sums",
    "make_products",
    "make_cubes",
    "make_sine",
]

#: name -> (function of the input columns, default number of inputs, formula)
FUNCTIONS = {
    "squares": (lambda X: X[:, 0] ** 2, 1, "x²"),
    "cubes": (lambda X: X[:, 0] ** 3, 1, "x³"),
    "sums": (lambda X: X.sum(axis=1), 2, "x1 + x2"),
    "products": (lambda X: X.prod(axis=1), 2, "x1 · x2"),
    "sine": (lambda X: np.sin(X[:, 0]), 1, "sin(x)"),
}


def make_function_data(
    function,
    n_samples=1000,
    *,
    n_features=None,
    low=1,
    high=1000,
    integer=True,
    random_state=None,
    as_frame=False,
):
    """Draw inputs uniformly from [low, high] and compute ``function`` of them.

    Parameters
    ----------
    function : {"squares", "cubes", "sums", "products", "sine"}
        What y is: x², x³, the sum or the product of the inputs, or sin(x).
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=None
        Number of inputs; sums and products take any number (default 2), the
        others exactly one.
    low, high : float, default=1, 1000
        Range of the inputs, both ends included for integers.
    integer : bool, default=True
        Draw integers (``rng.integers(low, high + 1)``) or reals
        (``rng.uniform(low, high)``).
    random_state : int, numpy.random.Generator or None, default=None
        Seed of ``numpy.random.default_rng``.
    as_frame : bool, default=False
        Return a DataFrame (columns ``x1, x2, ...``) and a Series ``y``.

    Returns
    -------
    X : ndarray or DataFrame of shape (n_samples, n_features)
    y : ndarray or Series of shape (n_samples,)

    Examples
    --------
    >>> X, y = make_function_data("products", 3, random_state=0)
    >>> X.shape, bool((y == X[:, 0] * X[:, 1]).all())
    ((3, 2), True)
    """
    if function not in FUNCTIONS:
        raise ValueError(f"unknown function {function!r}; choose one of {sorted(FUNCTIONS)}")
    compute, default_features, _ = FUNCTIONS[function]
    n_features = default_features if n_features is None else n_features
    if function in {"squares", "cubes", "sine"} and n_features != 1:
        raise ValueError(f"{function} takes exactly one input; got n_features={n_features}")
    if n_features < 1:
        raise ValueError(f"n_features must be at least 1; got {n_features}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1; got {n_samples}")
    if not low < high:
        raise ValueError(f"low must be smaller than high; got low={low}, high={high}")

    rng = np.random.default_rng(random_state)
    if integer:
        X = rng.integers(low, high + 1, size=(n_samples, n_features))
    else:
        X = rng.uniform(low, high, size=(n_samples, n_features))
    y = compute(X.astype(np.float64) if function == "sine" else X)
    if as_frame:
        import pandas as pd

        columns = [f"x{i + 1}" for i in range(n_features)]
        return pd.DataFrame(X, columns=columns), pd.Series(y, name="y")
    return X, y


def make_squares(n_samples=1000, **kwargs):
    """y = x² (see :func:`make_function_data` for the parameters)."""
    return make_function_data("squares", n_samples, **kwargs)


def make_sums(n_samples=1000, **kwargs):
    """y = x1 + x2 + ... (see :func:`make_function_data`)."""
    return make_function_data("sums", n_samples, **kwargs)


def make_products(n_samples=1000, **kwargs):
    """y = x1 · x2 · ... (see :func:`make_function_data`)."""
    return make_function_data("products", n_samples, **kwargs)


def make_cubes(n_samples=1000, **kwargs):
    """y = x³ (see :func:`make_function_data`)."""
    return make_function_data("cubes", n_samples, **kwargs)


def make_sine(n_samples=1000, **kwargs):
    """y = sin(x) (see :func:`make_function_data`)."""
    return make_function_data("sine", n_samples, **kwargs)
