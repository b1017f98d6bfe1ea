"""The neural-arithmetic benchmark's runner, without a real fit where it can:
one seed fitted and scored on its own draws, the network each seed fits, the
threshold where it vanishes, refused fits, the settings it refuses, and every
seed of every range run and reported."""

import time

import numpy as np
import pytest

from sklearn_fitfn._commands import arithmetic
from sklearn_fitfn._commands.arithmetic import sparsity_error
from sklearn_fitfn.datasets import arithmetic_success_threshold, make_arithmetic

# ------------------------------------------------- one seed of the benchmark

_PRIMER = arithmetic.TASKS[True]
_RANGES = ((1, 2), (2, 6))


def test_one_seed_is_fitted_and_scored_on_its_own_draws():
    started = time.perf_counter()
    row, formula = arithmetic._fit_one("mul", _PRIMER, ((10, 20), (20, 40)), 3, 1000, 2)
    elapsed = time.perf_counter() - started
    # The same seed's data, network and held-out draws, made here.
    X, y, windows = make_arithmetic(1000, "mul", interval=(10, 20), random_state=3, **_PRIMER)
    model = arithmetic.estimator_for("mul", 3).fit(X, y)
    X_out, y_out, _ = make_arithmetic(
        10_000, "mul", interval=(20, 40), random_state=1_000_003, windows=windows, **_PRIMER
    )
    threshold = arithmetic_success_threshold(
        "mul", windows, n_features=2, interval=(20, 40), n_samples=100_000, random_state=3
    )
    assert row["mse"] == np.mean((model.predict(X_out) - y_out) ** 2)
    assert row["threshold"] == threshold and row["success"] is True
    assert (row["a"], row["b"]) == (str(windows.a), str(windows.b))
    assert (row["seed"], row["train"], row["extrapolation"]) == (3, "(10, 20)", "(20, 40)")
    assert row["sparsity_error"] == sparsity_error(formula) < 1e-6
    assert 0 < row["seconds"] <= elapsed and row["refused"] == ""


def test_each_seed_fits_the_network_the_command_names_with_its_seed(monkeypatch):
    made = []

    def spy(operation, random_state=None, *, hidden=2):
        made.append((operation, random_state, hidden))
        return estimator_for(operation, random_state, hidden=hidden)

    estimator_for = arithmetic.estimator_for
    monkeypatch.setattr(arithmetic, "estimator_for", spy)
    arithmetic._fit_one("mul", _PRIMER, _RANGES, 5, 1000, 3)
    assert made == [("mul", 5, 3)]
    assert estimator_for("div", 5).random_state == 5
    assert estimator_for("mul", 7, hidden=3).random_state == 7
    assert estimator_for("mul").hidden_layer_sizes == (2,)  # two square units by default


class _Missing:
    """A network whose predictions miss by ``miss`` everywhere."""

    def __init__(self, network, miss):
        self.network, self.miss = network, miss

    def fit(self, X, y):
        self.network.fit(X, y)
        return self

    def predict(self, X):
        return self.network.predict(X) + self.miss

    def to_formula(self, tol):
        return self.network.to_formula(tol=tol)


@pytest.mark.parametrize("digits, solved", [(9.3, True), (8.7, False)])
def test_where_the_threshold_vanishes_nine_agreeing_digits_are_exact(monkeypatch, digits, solved):
    # add on the Primer's 2 inputs: its near-perfect solution is exact, so the
    # paper's threshold is round-off. Predictions that agree with y to 9
    # significant digits (a miss below 1e-9 of y's RMS) count as exact.
    X_out, y_out, _ = make_arithmetic(
        10_000, "add", interval=(2, 6), random_state=1_000_000, **_PRIMER
    )
    miss = 10**-digits * np.sqrt(np.mean(y_out**2))
    missing = _Missing(arithmetic.estimator_for("add", 0), miss)
    monkeypatch.setattr(arithmetic, "estimator_for", lambda *args, **kwargs: missing)
    row, _ = arithmetic._fit_one("add", _PRIMER, _RANGES, 0, 1000, 2)
    assert row["threshold"] < 1e-20
    assert row["mse"] == pytest.approx(miss**2, rel=1e-3)
    assert row["success"] is solved


def test_a_refused_fit_is_recorded_as_not_solved_without_figures():
    # A log unit cannot take a denominator that crosses 0.
    row, formula = arithmetic._fit_one("div", _PRIMER, ((-2, 2), (2, 6)), 0, 1000, 2)
    assert formula is None and row["success"] is False and row["refused"]
    assert np.isnan(row["mse"]) and np.isnan(row["sparsity_error"])
    assert row["threshold"] > 0


# ---------------------------------------------------- the benchmark's runner


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(seeds=True), "seeds must be a positive integer; got True"),
        (dict(seeds=2.0), "seeds must be a positive integer; got 2.0"),
        (dict(hidden=0), "hidden must be a positive integer; got 0"),
        (
            dict(seeds=2**32 + 1),
            "seeds must be at most 2**32 (NumPy's seeds are 0 to 2**32 - 1); got 4294967297",
        ),
        (dict(hidden=5000), "hidden=5000 square units are too many to read back: Expanding"),
    ],
)
def test_a_benchmark_that_cannot_run_is_named_whole(kwargs, message):
    with pytest.raises(ValueError) as error:
        arithmetic.check_arithmetic(**{"operation": "mul", "seeds": 1, **kwargs})
    assert str(error.value).startswith(message)


def test_the_largest_settings_that_can_run_are_accepted():
    arithmetic.check_arithmetic("mul", 2**32)  # seeds 0 to 2**32 - 1
    # 5000 units read back on the Primer's 2 inputs, not on 100.
    arithmetic.check_arithmetic("mul", 1, primer=True, hidden=5000)


def _fake_seed(calls):
    """A stand-in for one seed's fit: seed 1 is refused, the others solved."""

    def fit_one(operation, task, ranges, seed, n_samples, hidden):
        calls.append((ranges, seed, n_samples, hidden, task["n_features"]))
        row = {
            "seed": seed,
            "train": str(ranges[0]),
            "extrapolation": str(ranges[1]),
            "mse": 1.25e-12 * (seed + 1),
            "threshold": 2.5e-3,
            "success": seed != 2,
            "seconds": 0.25,
            "sparsity_error": 0.0,
            "refused": "pole" if seed == 1 else "",
        }
        return row, (None if seed == 1 else {(1, 1): float(seed + 2)})

    return fit_one


def test_the_runner_fits_every_seed_of_every_range_and_says_so(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(arithmetic, "_fit_one", _fake_seed(calls))
    result = arithmetic.run_arithmetic("mul", 3, primer=True, hidden=4)
    ranges = arithmetic.PRIMER_RANGES
    # A quadratic of 2 inputs has 6 coefficients: 1000 rows are plenty.
    assert calls == [(pair, seed, 1000, 4, 2) for pair in ranges for seed in range(3)]
    assert result.config == dict(operation="mul", seeds=3, primer=True, hidden=4, n_samples=1000)
    assert (result.operation, result.primer, len(result.table)) == ("mul", True, 27)
    assert result.formula == "y = 2·x0·x1"  # the first seed's, not a later one's
    lines = capsys.readouterr().err.splitlines()
    assert lines[:3] == [
        "[1/27] seed 0 (-20, -10) -> (-40, -20): MSE 1.25e-12 (threshold 2.50e-03) solved, 0.2 s",
        "[2/27] seed 1 (-20, -10) -> (-40, -20): refused (log units need one sign), not "
        "solved, 0.2 s",
        "[3/27] seed 2 (-20, -10) -> (-40, -20): MSE 3.75e-12 (threshold 2.50e-03) not "
        "solved, 0.2 s",
    ]
    assert len(lines) == 27 and lines[-1].startswith("[27/27] seed 2 (10, 20) -> (20, 40):")


def test_the_100_input_task_draws_enough_rows_for_its_quadratic(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(arithmetic, "_fit_one", _fake_seed(calls))
    result = arithmetic.run_arithmetic("square", 1, progress=False)
    # 101·102/2 = 5151 coefficients of a quadratic of 100 inputs, a tenth more: 5666.
    assert calls == [(((1, 2), (2, 6)), 0, 5666, 2, 100)]
    assert result.config["n_samples"] == 5666 and result.primer is False
    assert capsys.readouterr().err == ""


def test_the_runners_defaults_are_ten_seeds_of_mul_on_100_inputs(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(arithmetic, "_fit_one", _fake_seed(calls))
    result = arithmetic.run_arithmetic()
    assert calls == [(((1, 2), (2, 6)), seed, 5666, 2, 100) for seed in range(10)]
    assert result.operation == "mul" and result.config["seeds"] == 10
    assert len(capsys.readouterr().err.splitlines()) == 10  # progress, by default


def test_the_runner_checks_the_units_against_the_task_it_runs(monkeypatch):
    calls = []
    monkeypatch.setattr(arithmetic, "_fit_one", _fake_seed(calls))
    # 5000 square units read back on the Primer's 2 inputs (not on 100).
    arithmetic.run_arithmetic("mul", 1, primer=True, hidden=5000, progress=False)
    assert len(calls) == 9 and {call[3] for call in calls} == {5000}
