import numpy as np
import pandas as pd
import pytest

from sklearn_fitfn.datasets import (
    arithmetic_success_threshold,
    make_arithmetic,
    make_cubes,
    make_function_data,
    make_products,
    make_sine,
    make_squares,
    make_sums,
)


def test_squares_is_the_canonical_workload():
    X, y = make_squares(random_state=0)
    expected = np.random.default_rng(0).integers(1, 1001, size=(1000, 1))
    np.testing.assert_array_equal(X, expected)
    np.testing.assert_array_equal(y, expected[:, 0] ** 2)
    assert X.min() >= 1 and X.max() <= 1000


@pytest.mark.parametrize(
    "make, formula",
    [
        (make_sums, lambda X: X[:, 0] + X[:, 1]),
        (make_products, lambda X: X[:, 0] * X[:, 1]),
        (make_cubes, lambda X: X[:, 0] ** 3),
        (make_sine, lambda X: np.sin(X[:, 0])),
    ],
)
def test_each_function_computes_its_formula(make, formula):
    X, y = make(50, random_state=3)
    np.testing.assert_allclose(y, formula(X.astype(float)))


def test_continuous_range_features_and_frames():
    X, y = make_function_data(
        "sums", 200, n_features=3, low=-2.5, high=2.5, integer=False, random_state=0
    )
    assert X.shape == (200, 3) and X.min() >= -2.5 and X.max() <= 2.5
    assert not np.allclose(X, np.round(X))
    frame, target = make_products(10, random_state=0, as_frame=True)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["x1", "x2"]
    assert isinstance(target, pd.Series) and target.name == "y"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: make_function_data("tangent"), "unknown function"),
        (lambda: make_squares(low=5, high=5), "low must be smaller"),
        (lambda: make_squares(n_features=2), "exactly one input"),
        (lambda: make_sums(0), "n_samples"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "function, high, n_features",
    [
        ("squares", 4_000_000_000, None),
        ("cubes", 3_000_000, None),
        ("products", 10**10, None),
        ("products", 10**7, 3),
    ],
)
def test_integers_that_would_overflow_are_refused(function, high, n_features):
    with pytest.raises(ValueError, match="more than 64-bit integers hold"):
        make_function_data(function, 10, high=high, n_features=n_features)


def test_the_largest_integers_that_fit_give_exact_targets():
    X, y = make_function_data("squares", 100, high=3_037_000_499, random_state=0)
    assert (y > 0).all() and (y == X[:, 0].astype(object) ** 2).all()


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(n_features=5, windows=((90, 120), (0, 10))), r"window a=\(90, 120\) must be"),
        (dict(windows=((-3, 10), (5, 20))), r"window a=\(-3, 10\)"),
        (dict(windows=((10, 5), (5, 20))), r"window a=\(10, 5\)"),
        (dict(windows=((0, 10), (7, 7))), r"window b=\(7, 7\)"),  # empty: y = a / 0
        (dict(overlap_ratio=2.0), "overlap_ratio in \\[0, 1\\]"),
        (dict(overlap_ratio=-1), "overlap_ratio in \\[0, 1\\]"),
        (dict(n_samples=0), "n_samples must be at least 1"),
    ],
)
def test_arithmetic_arguments_that_cannot_be_are_named(options, message):
    options = {"n_samples": 10, **options}
    with pytest.raises(ValueError, match=message):
        make_arithmetic(options.pop("n_samples"), "div", **options)


def test_arithmetic_threshold_arguments_are_checked():
    windows = ((0, 10), (5, 15))
    with pytest.raises(ValueError, match="unknown operation 'pow'"):
        arithmetic_success_threshold("pow", windows)
    for bad in (0, -5):
        with pytest.raises(ValueError, match="n_samples must be at least 1"):
            arithmetic_success_threshold("mul", windows, n_samples=bad)


def test_make_arithmetic_takes_a_generator_as_make_function_data_does():
    X, y, _ = make_arithmetic(10, "add", random_state=np.random.default_rng(0))
    X2, y2, _ = make_arithmetic(10, "add", random_state=np.random.default_rng(0))
    np.testing.assert_array_equal(X, X2)
