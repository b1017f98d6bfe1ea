"""Log and exponential units: the least-squares ratio as their start, exact division."""

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._network.spec import NetworkSpec
from sklearn_fitfn._quiet.tensorflow import keras, tf
from sklearn_fitfn._training.rational_start import fit_ratio
from sklearn_fitfn.datasets import make_arithmetic

RATIO = dict(hidden_layer_sizes=(2, 1), activation=("log", "exponential"), solver="lbfgs")
SMALL_TASK = dict(n_features=12, subset_ratio=0.25, overlap_ratio=0.5)


def _ratio_value(a, a0, b, b0, X):
    return (X @ a + a0) / (X @ b + b0)


@pytest.mark.parametrize("interval", [(1, 2), (-2, -1), (0.1, 0.2), (-20, -10)])
def test_the_least_squares_ratio_is_the_datas_in_any_range(interval):
    X, y, windows = make_arithmetic(300, "div", interval=interval, random_state=1, **SMALL_TASK)
    a, a0, b, b0 = fit_ratio(X, y)
    np.testing.assert_allclose(_ratio_value(a, a0, b, b0, X), y, rtol=1e-10)
    # The windows themselves, up to one scale for both: a sum of ones over each.
    scale = a[windows.a[0]]
    expected_a = np.zeros(12)
    expected_a[slice(*windows.a)] = 1
    expected_b = np.zeros(12)
    expected_b[slice(*windows.b)] = 1
    np.testing.assert_allclose(a / scale, expected_a, atol=1e-9)
    np.testing.assert_allclose(b / scale, expected_b, atol=1e-9)


def test_sparse_and_float32_inputs_give_the_ratio_of_their_values():
    """A sparse X is the same rows; float32 X and y are read as their values in
    float64, so the start is as exact as for a float64 copy."""
    import scipy.sparse

    X, y, _ = make_arithmetic(200, "div", random_state=4, **SMALL_TASK)
    dense = fit_ratio(X, y)
    for mine, theirs in zip(fit_ratio(scipy.sparse.csr_matrix(X), y), dense, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    as_float64 = fit_ratio(X32.astype(np.float64), y32.astype(np.float64))
    for mine, theirs in zip(fit_ratio(X32, y32), as_float64, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_weights_count_as_repeated_rows():
    X, y, _ = make_arithmetic(200, "div", random_state=2, **SMALL_TASK)
    y_noisy = y + np.random.default_rng(0).normal(scale=0.01, size=len(y))
    w = np.random.default_rng(1).integers(0, 3, size=len(y))
    weighted = fit_ratio(X, y_noisy, w.astype(float))
    repeated = fit_ratio(np.repeat(X, w, axis=0), np.repeat(y_noisy, w))
    np.testing.assert_allclose(_ratio_value(*weighted, X), _ratio_value(*repeated, X), rtol=1e-8)


@pytest.mark.parametrize("interval, far", [((1, 2), (2, 6)), ((-2, -1), (-6, -2))])
def test_log_units_divide_exactly_and_extrapolate(interval, far):
    X, y, windows = make_arithmetic(400, "div", interval=interval, random_state=5, **SMALL_TASK)
    X_far, y_far, _ = make_arithmetic(
        1000, "div", interval=far, random_state=6, windows=windows, **SMALL_TASK
    )
    net = MLPFunctionRegressor(**RATIO, random_state=0).fit(X, y)
    np.testing.assert_allclose(net.predict(X_far), y_far, rtol=1e-9)
    assert net.converged_ and net.n_iter_ >= 1


def test_a_target_that_crosses_zero_takes_an_offset():
    # y = a/b - 1 crosses zero; the output's bias takes the offset.
    X, y, _ = make_arithmetic(300, "div", random_state=3, **SMALL_TASK)
    net = MLPFunctionRegressor(**RATIO, random_state=0).fit(X, y - 1)
    assert (y - 1).min() < 0 < (y - 1).max()
    np.testing.assert_allclose(net.predict(X), y - 1, atol=1e-9)


def test_rows_that_cross_a_pole_are_refused_with_the_reason():
    X, y, _ = make_arithmetic(300, "div", interval=(-2, 2), random_state=0, **SMALL_TASK)
    net = MLPFunctionRegressor(**RATIO, random_state=0)
    expected = (
        "Log units start from random weights, not from the least-squares ratio: the "
        "least-squares ratio's denominator changes sign over the rows, so a log unit would "
        "see values of both signs (the rows cross a pole of the ratio, or y is no ratio of "
        "linear forms)."
    )
    with pytest.warns(UserWarning, match=f"^{re.escape(expected)}$"):
        with pytest.raises(ValueError, match="the log units of hidden layer 0 need positive"):
            net.fit(X, y)
    assert not hasattr(net, "model_")


def test_log_units_from_random_weights_are_refused_before_training():
    X, y, _ = make_arithmetic(300, "div", random_state=0, **SMALL_TASK)
    net = MLPFunctionRegressor(hidden_layer_sizes=(4,), activation="log", random_state=0)
    with pytest.raises(ValueError, match=r"see zero or less \(or NaN\) on \d+ of the 300"):
        net.fit(X - 1.5, y)


def test_the_keras_model_the_engine_and_a_saved_model_agree(tmp_path):
    spec = NetworkSpec.from_params((2, 1), ("log", "exponential"), "float64", 3, 1)
    weights = spec.initial_weights(np.random.RandomState(0))
    weights[0], weights[1] = np.abs(weights[0]), np.abs(weights[1]) + 1  # positive on X > 0
    X = np.random.default_rng(0).uniform(1, 2, size=(20, 3))
    model = spec.keras_model(weights)
    engine = spec.forward([tf.constant(w) for w in weights], tf.constant(X))
    np.testing.assert_allclose(np.asarray(model(X)), np.asarray(engine), rtol=1e-14)
    model.save(tmp_path / "ratio.keras")
    loaded = keras.models.load_model(tmp_path / "ratio.keras")  # registered when it was built
    np.testing.assert_array_equal(np.asarray(loaded(X)), np.asarray(model(X)))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", np.asarray(model(X)))
    run = subprocess.run(
        [sys.executable, "-c", _LOAD_ELSEWHERE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]


#: Keras's safe mode, without this package: the log unit by its saved name.
_LOAD_ELSEWHERE = """
import sys
from pathlib import Path
import keras, numpy as np
folder = Path(sys.argv[1])
model = keras.models.load_model(
    folder / "ratio.keras", custom_objects={"sklearn_fitfn>log": keras.ops.log}
)
predicted = np.asarray(model(np.load(folder / "X.npy")))
np.testing.assert_array_equal(predicted, np.load(folder / "y.npy"))
assert "sklearn_fitfn" not in sys.modules
"""


def test_the_start_bounds_its_memory(monkeypatch):
    import sklearn_fitfn._training.rational_start as rational

    monkeypatch.setattr(rational, "MAX_MATRIX_BYTES", 1000)
    X, y, _ = make_arithmetic(300, "div", random_state=0, **SMALL_TASK)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        with pytest.raises(UserWarning, match="its least squares would take"):
            MLPFunctionRegressor(**RATIO, random_state=0).fit(X, y)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("constant_column", [False, True])
def test_the_start_computes_the_ratio_before_any_training(dtype, constant_column):
    """The log units take p and q, each of mean 1 over the rows; the network
    they start is the ratio already (a column of one value included)."""
    rng = np.random.default_rng(4)
    X = rng.uniform(1, 2, size=(200, 4))
    if constant_column:
        X[:, 3] = 1.5
    y = (X[:, 0] + 2 * X[:, 1] + 1) / (X[:, 2] + 0.5)
    network = MLPFunctionRegressor(**RATIO, random_state=0, dtype=dtype)
    start = network._training_member(X, y).start
    assert [w.dtype for w in start.weights] == [np.dtype(dtype)] * 6
    w0, b0, w1, b1, w2, b2 = (w.astype(np.float64) for w in start.weights)
    logs_take = X @ w0 + b0
    np.testing.assert_allclose(logs_take.mean(axis=0), [1.0, 1.0], rtol=1e-5)
    predicted = (np.exp(np.log(logs_take) @ w1 + b1) @ w2 + b2).ravel()
    np.testing.assert_allclose(predicted, y, rtol=1e-9 if dtype == "float64" else 1e-5)


def test_why_the_start_cannot_be_made_is_said_with_its_figures():
    from types import SimpleNamespace

    from sklearn_fitfn._training.rational_start import _why_not

    def rows(n, d, weighted=None):
        w = np.ones(n) if weighted is None else np.r_[np.ones(weighted), np.zeros(n - weighted)]
        return SimpleNamespace(n_inputs=d), SimpleNamespace(X=np.empty((n, d)), w=w)

    assert _why_not(*rows(20, 3)) is None
    # 16 bytes for each of the n rows' 2(d + 1) entries, taken with its SVD's copy.
    huge = SimpleNamespace(n_inputs=8), SimpleNamespace(X=np.empty((10_000_000, 0)), w=None)
    assert 16 * 10_000_000 * 9 / 1024**3 == pytest.approx(1.341, abs=1e-3)
    huge[1].X = np.lib.stride_tricks.as_strided(np.zeros(1), (10_000_000, 8), (0, 0))
    assert _why_not(*huge) == (
        "its least squares would take 1.3 GiB for 10,000,000 rows of 8 inputs (at most 1 GiB)"
    )
    assert _why_not(*rows(20, 3, weighted=7)) == (
        "the ratio of 3 inputs has 8 coefficients, more than the 7 rows of weight above zero"
    )
    assert _why_not(*rows(20, 3, weighted=8)) is None


def test_an_input_of_one_value_leaves_division_exact():
    X = np.random.default_rng(4).uniform(1, 2, size=(200, 4))
    X[:, 3] = 1.5
    y = (X[:, 0] + 2 * X[:, 1] + 1) / (X[:, 2] + 0.5)
    net = MLPFunctionRegressor(**RATIO, random_state=0).fit(X, y)
    np.testing.assert_allclose(net.predict(X), y, rtol=1e-9)


@pytest.mark.parametrize("value", [1 / 3, 1e8 + 1 / 3])
def test_an_input_whose_spread_is_round_off_counts_as_one_value(value):
    # Its mean is rounded, so x - mean is a few units in the last place: a
    # column of noise that scaling to unit spread would make as large as the rest.
    X = np.random.default_rng(4).uniform(1, 2, size=(200, 4))
    X[:, 3] = value
    y = (X[:, 0] + 2 * X[:, 1] + 1) / (X[:, 2] + 0.5)
    net = MLPFunctionRegressor(**RATIO, random_state=0).fit(X, y)
    np.testing.assert_allclose(net.predict(X), y, rtol=1e-9)
    X_far = X.copy()
    X_far[:, :3] += 2.0
    far = (X_far[:, 0] + 2 * X_far[:, 1] + 1) / (X_far[:, 2] + 0.5)
    np.testing.assert_allclose(net.predict(X_far), far, rtol=1e-9)


@pytest.mark.parametrize("case", ["10% noise", "rounded inputs", "zeros", "two outputs"])
def test_data_that_are_no_ratio_say_that_log_units_left_their_domain(case):
    X, y, _ = make_arithmetic(1000, "div", n_features=10, random_state=0)
    noise = np.random.default_rng(0).uniform(0.9, 1.1, len(y))
    X, y = {
        "10% noise": (X, y * noise),
        "rounded inputs": (np.round(X, 1), y),
        "zeros": (X, np.zeros(len(y))),
        "two outputs": (X, np.column_stack([y, y])),
    }[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the start cannot be made for some
        with pytest.raises(ValueError) as raised:
            MLPFunctionRegressor(**RATIO, random_state=0).fit(X, y)
    message = str(raised.value)
    assert message.startswith("Solver produced non-finite parameter weights.")
    assert "L-BFGS moved a log unit's input to zero or below, where log is not defined" in message
    assert message.endswith("or give the log units a ratio's data.")
