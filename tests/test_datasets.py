import re

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


# -- what each generator gives, checked against independent computations ------


@pytest.mark.parametrize(
    "make, options, check",
    [
        (make_squares, dict(high=3), lambda X: X.max() <= 3),
        (make_sums, dict(n_features=3), lambda X: X.shape[1] == 3),
        (make_products, dict(low=-4, high=-1), lambda X: X.max() <= -1),
        (make_cubes, dict(high=3), lambda X: X.max() <= 3),
        (make_sine, dict(low=100, high=103), lambda X: X.min() >= 100),
    ],
)
def test_each_generator_passes_on_its_rows_and_options(make, options, check):
    assert len(make(random_state=0)[0]) == 1000  # the documented default, as make_function_data's
    assert len(make_function_data(make.__name__.removeprefix("make_"), random_state=0)[0]) == 1000
    X, y = make(7, random_state=0, **options)
    assert X.shape[0] == len(y) == 7 and check(X)


def test_one_row_is_enough_and_n_features_below_one_is_named():
    X, y = make_sums(1, random_state=0)
    assert X.shape == (1, 2) and y[0] == X[0].sum()
    with pytest.raises(ValueError, match="n_features must be at least 1; got 0"):
        make_function_data("sums", 10, n_features=0)


@pytest.mark.parametrize("function", ["squares", "cubes", "sine"])
def test_one_input_functions_refuse_two(function):
    with pytest.raises(ValueError, match=f"{function} takes exactly one input"):
        make_function_data(function, 10, n_features=2)


def test_continuous_draws_fill_the_whole_range():
    X, _ = make_function_data(
        "sums", 300, n_features=2, low=-2.5, high=2.5, integer=False, random_state=0
    )
    assert X.min() < -2.4 and X.max() > 2.4


def test_a_frame_holds_the_same_numbers_as_the_arrays():
    X, y = make_products(10, random_state=4)
    frame, target = make_products(10, random_state=4, as_frame=True)
    np.testing.assert_array_equal(frame.to_numpy(), X)
    np.testing.assert_array_equal(target.to_numpy(), y)


def test_sums_that_would_overflow_are_refused_and_the_largest_that_fit_are_exact():
    with pytest.raises(ValueError, match="more than 64-bit integers hold"):
        make_function_data("sums", 10, high=5 * 10**18)
    # 2**63 - 1 is divisible by 7: seven inputs of a seventh of it reach it exactly.
    high = (2**63 - 1) // 7
    X, y = make_function_data("sums", 5, n_features=7, low=high - 10, high=high, random_state=0)
    assert [int(v) for v in y] == [sum(int(v) for v in row) for row in X]


def test_the_command_lines_overflow_check_uses_each_functions_own_inputs():
    # fitfn passes n_features=None: the function's own number of inputs.
    from sklearn_fitfn.datasets import _integer_overflow

    assert _integer_overflow("products", None, 1, 3_037_000_499) is None  # 2 inputs fit
    assert "reach" in _integer_overflow("products", None, 1, 3_037_000_500)
    assert _integer_overflow("sine", None, 1, 10**30) is None  # computed in floats


def _geometry(windows):
    (a_start, a_end), (b_start, b_end) = windows
    return a_start, a_end - a_start, b_end - b_start, a_end - b_start, b_end


@pytest.mark.parametrize(
    "n_features, subset_ratio, overlap_ratio, width, overlap",
    [(10, 0.25, 0.5, 2, 1), (100, 0.25, 0.5, 25, 12), (12, 0.5, 0.0, 6, 0), (9, 0.4, 1.0, 3, 3)],
)
def test_windows_have_their_widths_and_overlap_at_every_offset(
    n_features, subset_ratio, overlap_ratio, width, overlap
):
    used = 2 * width - overlap
    offsets = set()
    for seed in range(300):
        _, _, windows = make_arithmetic(
            1, "add", n_features, subset_ratio, overlap_ratio, random_state=seed
        )
        start, a_width, b_width, shared, b_end = _geometry(windows)
        assert (a_width, b_width, shared) == (width, width, overlap)
        assert b_end == start + used <= n_features
        offsets.add(start)
    assert offsets == set(range(n_features - used + 1)), "every offset is drawn, and no other"


@pytest.mark.parametrize(
    "options, windows",
    [
        (dict(n_features=4, subset_ratio=1.0, overlap_ratio=1.0), ((0, 4), (0, 4))),
        (dict(n_features=2, subset_ratio=0.5, overlap_ratio=0.0), ((0, 1), (1, 2))),  # Primer
    ],
)
def test_ratios_at_their_bounds_are_accepted(options, windows):
    assert make_arithmetic(3, "add", random_state=0, **options)[2] == windows


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(subset_ratio=0), r"^subset_ratio must be in \(0, 1\] and overlap_ratio in \[0, 1\]"),
        (dict(subset_ratio=1.5), r"subset_ratio must be in \(0, 1\]"),
        (dict(subset_ratio=0.001), "give windows of 0 columns overlapping by 0"),
        (dict(n_features=3, subset_ratio=0.67, overlap_ratio=0), "need 1 to 3 columns"),
        (dict(interval=()), "interval must be"),
        (dict(interval=(1, 2, 3)), "interval must be"),
        (dict(interval=((1, 2), 3)), "interval must be"),
        (dict(interval=(2, 2)), "interval must be"),
    ],
)
def test_window_and_interval_arguments_that_cannot_be_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        make_arithmetic(3, "add", **options)


def test_windows_may_end_at_the_last_column():
    X, y, windows = make_arithmetic(4, "sub", n_features=10, windows=((0, 5), (5, 10)))
    np.testing.assert_allclose(y, X[:, :5].sum(axis=1) - X[:, 5:].sum(axis=1))


def test_seeds_give_their_own_data_reproducibly():
    def draw(seed):
        X, _, windows = make_arithmetic(2, "add", n_features=40, random_state=seed)
        return windows, X.round(12).tobytes()

    assert draw(3) == draw(3)
    generators = {draw(np.random.default_rng(seed)) for seed in range(20)}
    assert len(generators) == 20, "each Generator seed gives its own data"


def test_inputs_are_uniform_on_one_interval_or_a_union():
    X = make_arithmetic(1000, "add", n_features=100, interval=(2, 6), random_state=0)[0]
    assert 2 <= X.min() < 2.01 and 5.99 < X.max() <= 6
    assert X.mean() == pytest.approx(4, abs=0.02)
    X = make_arithmetic(1000, "add", n_features=100, interval=((0, 1), (2, 5)), random_state=0)[0]
    low, high = X[X < 1.5], X[X > 1.5]
    assert ((0 <= low) & (low <= 1)).all() and ((2 <= high) & (high <= 5)).all()
    assert len(high) / X.size == pytest.approx(3 / 4, abs=0.01), "drawn in proportion to length"
    assert low.mean() == pytest.approx(0.5, abs=0.01) and high.mean() == pytest.approx(
        3.5, abs=0.02
    )


@pytest.mark.parametrize("operation", ["add", "sub", "mul", "square", "div"])
def test_the_success_threshold_is_the_near_solutions_expected_error(operation):
    # Windows of one column each among three inputs drawn from U[2, 6] (the
    # default extrapolation range). The near solution weighs each window's own
    # column 1 - eps and the others eps; its expected squared error is computed
    # here by the midpoint rule on a 60^3 grid, not by sampling.
    eps = 1e-5
    grid = 2 + 4 * (np.arange(60) + 0.5) / 60
    x0, x1, x2 = np.meshgrid(grid, grid, grid, indexing="ij")
    total = x0 + x1 + x2
    near_a = (1 - eps) * x0 + eps * (total - x0)
    near_b = (1 - eps) * x1 + eps * (total - x1)
    exact = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}.get(
        operation, lambda a, b: a * a
    )
    expected = np.mean((exact(near_a, near_b) - exact(x0, x1)) ** 2)
    # 250,000 rows: three blocks of at most 100,000.
    threshold = arithmetic_success_threshold(
        operation, ((0, 1), (1, 2)), n_features=3, n_samples=250_000
    )
    assert threshold == pytest.approx(expected, rel=0.02)


def test_the_success_thresholds_defaults_are_the_benchmarks():
    windows = ((0, 1), (99, 100))
    assert make_arithmetic(2, "add", random_state=0)[0].shape == (2, 100)
    default = arithmetic_success_threshold("mul", windows, n_samples=1000)
    assert default == arithmetic_success_threshold(
        "mul",
        windows,
        n_features=100,
        interval=(2, 6),
        epsilon=1e-5,
        n_samples=1000,
        random_state=0,
    )
    one_row = arithmetic_success_threshold("add", windows, n_samples=1)
    assert 0 < one_row < 1e-3  # (2 eps · 98 columns of about 4)² is 6e-5


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (make_squares, dict(high=1e300, integer=False), "make y = x² overflow 64-bit floats"),
        (make_products, dict(n_features=3, high=1e120, integer=False), "y = x1 · x2 · x3 overflow"),
        (make_squares, dict(low=-1e308, high=1e308, integer=False), "high - low = 1e+308 - "),
        (make_products, dict(n_features=10, high=100), "y = x1 · x2 · ... · x10 reach 1e+20"),
        (make_sums, dict(n_features=3, high=2**62), "y = x1 + x2 + x3 reach"),
    ],
)
def test_data_whose_y_would_overflow_is_refused_naming_its_formula(make, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make(10, random_state=0, **kwargs)
