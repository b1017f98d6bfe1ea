"""Function-fitting data: squares, sums, products, cubes and sines of random
inputs, and the neural-arithmetic benchmark.

With the defaults, ``make_squares(random_state=0)`` is the canonical training
set: 1,000 integers drawn uniformly from 1..1000 by
``np.random.default_rng(0).integers(1, 1001, size=(1000, 1))``, and y = x².
"""

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "make_function_data",
    "make_squares",
    "make_sums",
    "make_products",
    "make_cubes",
    "make_sine",
    "make_arithmetic",
    "ArithmeticWindows",
    "arithmetic_success_threshold",
]

#: name -> (function of the input columns, default number of inputs, formula)
FUNCTIONS = {
    "squares": (lambda X: X[:, 0] ** 2, 1, "x²"),
    "cubes": (lambda X: X[:, 0] ** 3, 1, "x³"),
    "sums": (lambda X: X.sum(axis=1), 2, "x1 + x2"),
    "products": (lambda X: X.prod(axis=1), 2, "x1 · x2"),
    "sine": (lambda X: np.sin(X[:, 0]), 1, "sin(x)"),
}


#: The degree of y in the inputs' size, for the functions computed in integers.
_DEGREE = {"squares": lambda n: 2, "cubes": lambda n: 3, "products": lambda n: n}


def _integer_overflow(function, n_features, low, high):
    """Why integer inputs in [low, high] give a y that 64-bit integers cannot
    hold (NumPy would wrap it around, silently), or None when they do not."""
    n_features = FUNCTIONS[function][1] if n_features is None else n_features
    largest = max(abs(int(low)), abs(int(high)))
    if function in _DEGREE:
        bound = largest ** _DEGREE[function](n_features)
    elif function == "sums":
        bound = largest * n_features
    else:
        return None
    limit = np.iinfo(np.int64).max
    if bound <= limit:
        return None
    return (
        f"inputs up to {largest:,} make y = {_formula(function, n_features)} reach "
        f"{bound:.3g}, more than 64-bit integers hold ({limit:.3g})"
    )


def _formula(function, n_features):
    """y's formula for ``n_features`` inputs: ``x1 · x2 · x3``, ``x1 + ... + x10``."""
    if function not in ("sums", "products"):
        return FUNCTIONS[function][2]
    sign = " + " if function == "sums" else " · "
    names = [f"x{i}" for i in range(1, n_features + 1)]
    if n_features > 3:
        names = [names[0], names[1], "...", names[-1]]
    return sign.join(names)


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
        overflow = _integer_overflow(function, n_features, low, high)
        if overflow is not None:
            raise ValueError(f"{overflow}: use a smaller range, or integer=False")
        X = rng.integers(low, high + 1, size=(n_samples, n_features))
    elif not np.isfinite(float(high) - float(low)):
        raise ValueError(
            f"the range high - low = {high} - ({low}) overflows 64-bit floats: use a smaller range"
        )
    else:
        X = rng.uniform(low, high, size=(n_samples, n_features))
    with np.errstate(over="ignore", invalid="ignore"):
        y = compute(X)
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        largest = max(abs(low), abs(high))
        raise ValueError(
            f"inputs up to {largest:.3g} make y = {_formula(function, n_features)} overflow "
            f"64-bit floats (largest {np.finfo(np.float64).max:.3g}): use a smaller range"
        )
    if as_frame:
        import pandas as pd

        columns = [f"x{i + 1}" for i in range(n_features)]
        return pd.DataFrame(X, columns=columns), pd.Series(y, name="y")
    return X, y


def make_squares(n_samples=1000, **kwargs):
    """The squares: y = x² of one input (parameters as :func:`make_function_data`)."""
    return make_function_data("squares", n_samples, **kwargs)


def make_sums(n_samples=1000, **kwargs):
    """The sums: y = x1 + x2, the sum of two inputs by default (parameters as
    :func:`make_function_data`)."""
    return make_function_data("sums", n_samples, **kwargs)


def make_products(n_samples=1000, **kwargs):
    """The products: y = x1 · x2, the product of two inputs by default (parameters
    as :func:`make_function_data`)."""
    return make_function_data("products", n_samples, **kwargs)


def make_cubes(n_samples=1000, **kwargs):
    """The cubes: y = x³ of one input (parameters as :func:`make_function_data`)."""
    return make_function_data("cubes", n_samples, **kwargs)


def make_sine(n_samples=1000, **kwargs):
    """The sine: y = sin(x) of one input (parameters as :func:`make_function_data`)."""
    return make_function_data("sine", n_samples, **kwargs)


# -- the neural-arithmetic benchmark ---------------------------------------------

#: The benchmark's operations on the sums ``a`` and ``b`` of the two windows.
ARITHMETIC_OPERATIONS = {
    "add": (lambda a, b: a + b, "a + b"),
    "sub": (lambda a, b: a - b, "a - b"),
    "mul": (lambda a, b: a * b, "a · b"),
    "square": (lambda a, b: a * a, "a²"),
    "div": (lambda a, b: a / b, "a / b"),
}


class ArithmeticWindows(NamedTuple):
    """Where the two summed windows of the inputs lie: ``(start, end)`` column
    ranges, end excluded, so that ``a = X[:, start:end].sum(axis=1)``."""

    a: tuple
    b: tuple


def _operation_function(operation):
    """The function of y computed by ``operation``; ValueError naming the
    operations when it is not one of them."""
    if not isinstance(operation, str) or operation not in ARITHMETIC_OPERATIONS:
        raise ValueError(
            f"unknown operation {operation!r}; choose one of {sorted(ARITHMETIC_OPERATIONS)}"
        )
    return ARITHMETIC_OPERATIONS[operation][0]


def _random_state(random_state):
    """A ``numpy.random.RandomState`` from None, an int or a RandomState:
    scikit-learn's ``check_random_state``, without importing scikit-learn,
    which the command's start-up would wait for (it reads this module)."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, np.random.Generator):  # as make_function_data takes
        return np.random.RandomState(random_state.integers(2**32))
    return np.random.RandomState(random_state)


def _check_windows(windows, n_features):
    """``windows`` as ArithmeticWindows of ``(start, end)`` column ranges,
    each non-empty and within the ``n_features`` columns; ValueError naming
    the one that is not."""
    windows = ArithmeticWindows(*(tuple(int(end) for end in window) for window in windows))
    for name, (start, end) in zip(windows._fields, windows):
        if not 0 <= start < end <= n_features:
            raise ValueError(
                f"window {name}=({start}, {end}) must be a non-empty range of the "
                f"{n_features} columns: 0 <= start < end <= {n_features}"
            )
    return windows


def _draw_windows(rng, n_features, subset_ratio, overlap_ratio):
    if not (0 < subset_ratio <= 1 and 0 <= overlap_ratio <= 1):
        raise ValueError(
            "subset_ratio must be in (0, 1] and overlap_ratio in [0, 1]; got "
            f"subset_ratio={subset_ratio}, overlap_ratio={overlap_ratio}"
        )
    subset = math.floor(subset_ratio * n_features)
    overlap = math.floor(overlap_ratio * subset)
    used = 2 * subset - overlap
    if subset < 1 or used > n_features:
        raise ValueError(
            f"subset_ratio={subset_ratio} and overlap_ratio={overlap_ratio} give windows of "
            f"{subset} columns overlapping by {overlap}: they need 1 to {n_features} columns "
            f"together, got {used}"
        )
    offset = int(rng.randint(0, n_features - used + 1))
    return ArithmeticWindows((offset, offset + subset), (offset + subset - overlap, offset + used))


def _intervals(interval):
    """``interval`` as a list of ``(low, high)`` pairs: one, or a union of several."""
    try:
        pairs = [interval] if np.ndim(interval) == 1 else list(interval)
        pairs = [(float(low), float(high)) for low, high in pairs]
    except (TypeError, ValueError):  # not pairs of numbers: (), (1, 2, 3), ((1, 2), 3)
        pairs = []
    if not pairs or any(not low < high for low, high in pairs):
        raise ValueError(
            f"interval must be (low, high) with low < high, or a union of such pairs such as "
            f"((-6, -2), (2, 6)); got {interval!r}"
        )
    return pairs


def _uniform_on(interval, shape, rng):
    """Draws uniform on ``interval`` (a union: each draw in one of its pairs,
    chosen in proportion to its length)."""
    pairs = _intervals(interval)
    if len(pairs) == 1:
        return rng.uniform(*pairs[0], size=shape)
    lengths = np.array([high - low for low, high in pairs])
    which = rng.choice(len(pairs), size=shape, p=lengths / lengths.sum())
    lows, highs = (np.array(side)[which] for side in zip(*pairs))
    return lows + (highs - lows) * rng.uniform(size=shape)


def _window_sums(X, windows):
    return tuple(X[:, start:end].sum(axis=1) for start, end in windows)


def make_arithmetic(
    n_samples,
    operation,
    n_features=100,
    subset_ratio=0.25,
    overlap_ratio=0.5,
    interval=(1, 2),
    random_state=None,
    windows=None,
):
    """The neural-arithmetic benchmark's data: a function of two sums of inputs.

    Each row has ``n_features`` inputs drawn uniformly from ``interval``;
    ``a`` sums a window of ``floor(subset_ratio * n_features)`` consecutive
    columns, ``b`` the next window of the same width, overlapping ``a`` by
    ``floor(overlap_ratio * width)`` columns, and y is ``operation`` of the
    two. The windows start at an offset drawn per seed, as the simple
    function task of Madsen & Johansen, "Neural Arithmetic Units" (ICLR 2020;
    reference code AndreasMadsen/stable-nalu) draws them: with the defaults,
    100 inputs, windows of 25 overlapping by 12, training on U[1, 2] and
    extrapolation on U[2, 6]. With ``n_features=2, subset_ratio=0.5,
    overlap_ratio=0`` it is the 2-input single-operation task of the Primer
    benchmark (Mistry, Farrahi & Hare, JMLR 2022).

    Parameters
    ----------
    n_samples : int
    operation : {"add", "sub", "mul", "square", "div"}
        ``a + b``, ``a - b``, ``a · b``, ``a²`` or ``a / b``.
    n_features : int, default=100
    subset_ratio, overlap_ratio : float, default=0.25, 0.5
        Width of a window as a share of the inputs, and the share of it that
        the two windows have in common.
    interval : (float, float) or sequence of them, default=(1, 2)
        Where inputs are drawn uniformly; a union of intervals, such as
        ``((-6, -2), (2, 6))``, draws from each in proportion to its length.
    random_state : int, RandomState or None
        Seeds the windows (the first draw, as the reference code's) and then
        the inputs.
    windows : ArithmeticWindows, optional
        Windows to keep, as returned by an earlier call: the held-out data of
        a seed, drawn with another ``random_state``, sums the same columns.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    windows : ArithmeticWindows

    Examples
    --------
    >>> from sklearn_fitfn.datasets import make_arithmetic
    >>> X, y, windows = make_arithmetic(1000, "mul", random_state=0)
    >>> windows
    ArithmeticWindows(a=(44, 69), b=(57, 82))
    >>> X_out, y_out, _ = make_arithmetic(
    ...     1000, "mul", interval=(2, 6), random_state=1, windows=windows)
    >>> bool(y_out.min() > y.max())
    True
    """
    function = _operation_function(operation)
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1; got {n_samples}")
    rng = _random_state(random_state)
    drawn = _draw_windows(rng, n_features, subset_ratio, overlap_ratio)
    windows = _check_windows(drawn if windows is None else windows, n_features)
    X = _uniform_on(interval, (n_samples, n_features), rng)
    y = function(*_window_sums(X, windows))
    return X, y, windows


def arithmetic_success_threshold(
    operation,
    windows,
    n_features=100,
    interval=(2, 6),
    epsilon=1e-5,
    n_samples=1_000_000,
    random_state=0,
):
    """The extrapolation MSE below which a seed of the benchmark succeeds.

    As Madsen & Johansen define it (ICLR 2020; stable-nalu's
    ``export/function_task_static_mse_expectation.r``): the MSE, against the
    exact answer, of a near-perfect solution whose summing weights are
    ``1 - epsilon`` on each window and ``epsilon`` everywhere else, estimated
    on ``n_samples`` rows drawn from ``interval`` (in blocks of 100,000, so
    memory stays bounded).

    Parameters
    ----------
    operation : {"add", "sub", "mul", "square", "div"}
    windows : ArithmeticWindows
    n_features : int, default=100
    interval : (float, float) or sequence of them, default=(2, 6)
        The extrapolation range.
    epsilon : float, default=1e-5
    n_samples : int, default=1_000_000
    random_state : int, RandomState or None, default=0

    Returns
    -------
    float
    """
    function = _operation_function(operation)
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1; got {n_samples}")
    windows = _check_windows(windows, n_features)
    rng = _random_state(random_state)
    total, done = 0.0, 0
    while done < n_samples:
        rows = min(100_000, n_samples - done)
        X = _uniform_on(interval, (rows, n_features), rng)
        sums = _window_sums(X, windows)
        everything = X.sum(axis=1)
        near = [(1 - epsilon) * s + epsilon * (everything - s) for s in sums]
        total += float(np.sum((function(*near) - function(*sums)) ** 2))
        done += rows
    return total / n_samples
