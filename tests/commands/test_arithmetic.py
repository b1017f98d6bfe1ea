"""The neural-arithmetic benchmark on square units: the runner, its figures and
its command."""

import json
import os
import subprocess
import sys

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from sklearn_fitfn._commands.arithmetic import (
    PRIMER_RANGES,
    ArithmeticResult,
    run_arithmetic,
    sparsity_error,
)
from sklearn_fitfn._commands.figures import plot_arithmetic
from sklearn_fitfn.datasets import arithmetic_success_threshold, make_arithmetic


def _result_of(successes, fits):
    table = pd.DataFrame({"success": [True] * successes + [False] * (fits - successes)})
    return ArithmeticResult("mul", False, table, "", {})


@pytest.mark.parametrize("successes, printed", [(199, "99.5"), (1, "0.5"), (100, "50")])
def test_a_rate_near_0_or_100_percent_keeps_its_decimal(successes, printed):
    # 199 of 200 is not "100%", nor 1 of 200 "0%": the report keeps a decimal there.
    result = _result_of(successes, 200)
    result.table["seconds"] = result.table["mse"] = result.table["sparsity_error"] = 0.0
    assert f"{successes} of 200 ({printed}%, Wilson 95% interval" in result.report()


def test_the_wilson_interval_is_the_papers():
    # Madsen & Johansen report the NMU's 98 of 100 as 98% (+1/-5).
    low, high = _result_of(98, 100).wilson_interval()
    assert (round(low, 3), round(high, 3)) == (0.93, 0.994)
    assert _result_of(0, 10).wilson_interval()[0] == 0.0
    assert _result_of(10, 10).wilson_interval()[1] == pytest.approx(1.0)


def test_sparsity_error_is_the_distance_to_integer_coefficients():
    assert sparsity_error({(1, 1): 1.0 + 1e-9, (0, 0): -2e-8}) == pytest.approx(2e-8)
    assert sparsity_error({(1, 0): 0.5}) == 0.5


def test_the_windows_are_drawn_as_the_reference_code_draws_them():
    # Windows of floor(0.25 * 100) = 25 columns, overlapping by floor(0.5 * 25) = 12,
    # at an offset drawn first from RandomState(seed).
    for seed in range(5):
        _, _, windows = make_arithmetic(1, "mul", random_state=seed)
        offset = np.random.RandomState(seed).randint(0, 100 - 38 + 1)
        assert windows == ((offset, offset + 25), (offset + 13, offset + 38))


def test_the_data_follow_the_operation_and_the_interval():
    X, y, windows = make_arithmetic(500, "sub", interval=((-6, -2), (2, 6)), random_state=0)
    assert ((np.abs(X) >= 2) & (np.abs(X) <= 6)).all() and (X < 0).any() and (X > 0).any()
    a, b = (X[:, start:end].sum(axis=1) for start, end in windows)
    np.testing.assert_allclose(y, a - b)
    X2, _, kept = make_arithmetic(10, "sub", random_state=7, windows=windows)
    assert kept == windows


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(operation="pow"), "unknown operation 'pow'"),
        (dict(interval=(2, 1)), "interval must be"),
        (dict(subset_ratio=0.8), "they need 1 to 100 columns together, got 120"),
    ],
)
def test_bad_benchmark_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_arithmetic(10, **{"operation": "mul", **kwargs})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(operation="pow"), "unknown operation 'pow'"),
        (dict(seeds=0), "seeds must be a positive integer"),
        (dict(seeds=2**40), r"seeds must be at most 2\*\*32"),
        (dict(hidden=100_000), "hidden=100000 square units are too many to read back"),
        (dict(hidden=10**7, primer=True), "hidden=10000000 square units are too many"),
    ],
)
def test_a_benchmark_that_cannot_run_is_refused_before_any_fit(monkeypatch, kwargs, message):
    import sklearn_fitfn._commands.arithmetic as arithmetic

    def no_fit(*args):
        raise AssertionError("a fit ran")

    monkeypatch.setattr(arithmetic, "_fit_one", no_fit)
    with pytest.raises(ValueError, match=message):
        run_arithmetic(**{"operation": "mul", **kwargs})


def test_the_threshold_of_mul_is_the_papers():
    _, _, windows = make_arithmetic(1, "mul", random_state=0)
    assert arithmetic_success_threshold("mul", windows, n_samples=200_000) == pytest.approx(
        0.16, rel=0.05
    )


def test_the_primer_task_is_solved_on_every_range_and_the_formula_read_back():
    result = run_arithmetic("mul", 1, primer=True, progress=False)
    assert len(result.table) == len(PRIMER_RANGES) == 9
    assert result.successes == 9
    assert result.formula == "y = 1·x0·x1"
    assert result.table["sparsity_error"].max() < 1e-6
    summary = json.loads(result.to_json())
    assert summary["successes"] == 9 and len(summary["fits"]) == 9
    assert "succeed on 9 of 9 (100%, Wilson 95% interval 70-100%)" in result.report()


def test_division_is_solved_on_every_range_that_keeps_b_of_one_sign():
    result = run_arithmetic("div", 2, primer=True, progress=False)
    table = result.table
    crossing = table["train"] == "(-2, 2)"
    assert table.loc[~crossing, "success"].all()
    assert not table.loc[crossing, "success"].any()
    assert table.loc[crossing, "refused"].str.contains("need positive inputs").all()
    assert result.formula == "y = (1·x0) / (1·x1)"
    report = result.report()
    assert "log and exponential units and L-BFGS succeed on 16 of 18" in report
    assert "not solved, and counted so: 2 fit(s) on U(-2, 2), whose rows cross b = 0" in report


def test_division_on_the_100_input_task_reads_back_the_two_windows():
    result = run_arithmetic("div", 1, progress=False)
    assert result.successes == 1
    a, b = (eval(result.table[side][0]) for side in ("a", "b"))  # "(start, end)"
    assert result.formula.startswith(f"y = (1·x{a[0]} + 1·x{a[0] + 1} + ")
    assert f") / (1·x{b[0]} + 1·x{b[0] + 1} + " in result.formula
    assert result.formula.count("(25 terms in all, coefficients [1.0])") == 2


@pytest.mark.parametrize("operation", ["add", "sub", "mul", "square", "div"])
def test_estimator_for_is_what_the_command_fits(operation):
    from sklearn_fitfn.arithmetic import estimator_for

    task = dict(n_features=10, subset_ratio=0.3, overlap_ratio=0.5)  # 66 quadratic terms
    X, y, windows = make_arithmetic(500, operation, random_state=3, **task)
    X_far, y_far, _ = make_arithmetic(
        2000, operation, interval=(2, 6), random_state=4, windows=windows, **task
    )
    net = estimator_for(operation, random_state=3).fit(X, y)
    threshold = arithmetic_success_threshold(
        operation, windows, n_features=10, interval=(2, 6), n_samples=100_000
    )
    assert np.mean((net.predict(X_far) - y_far) ** 2) < threshold
    expected = ("log", "exponential") if operation == "div" else ("square",)
    assert net._spec.activations == expected and net.solver == "lbfgs"


def test_the_100_input_task_is_solved_and_beside_the_papers_figures(capsys):
    result = run_arithmetic("square", 1, progress=True)
    assert result.successes == 1
    assert result.table["mse"][0] < result.table["threshold"][0] / 1e6
    assert "published (Madsen & Johansen 2020, 100 seeds): NMU 100%" in result.report()
    assert capsys.readouterr().err.startswith("[1/1] seed 0 (1, 2) -> (2, 6): MSE ")


def test_the_figure_shows_every_fit(tmp_path):
    result = run_arithmetic("div", 2, primer=True, progress=False)
    figure = plot_arithmetic(result, tmp_path / "arithmetic.png")
    image = matplotlib.image.imread(tmp_path / "arithmetic.png")
    assert image.shape[1] > image.shape[0] > 300 and image.std() > 0.01
    assert len(figure.axes[0].get_xticklabels()) == 9


def test_the_command_writes_its_files_and_prints_the_verdict(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_fitfn", "arithmetic", "--primer", "--seeds", "1", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "mul, primer: square units and L-BFGS succeed on 9 of 9" in result.stdout
    assert sorted(os.listdir(tmp_path / "fitfn-results")) == [
        "arithmetic.csv",
        "arithmetic.json",
        "arithmetic.png",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--operation", "pow"], "invalid choice: 'pow'"),
        (["--seeds", "0"], "must be a positive integer"),
    ],
)
def test_bad_options_are_one_line_exit_2(tmp_path, args, message):
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_fitfn", "arithmetic", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_a_ratio_reads_back_with_the_windows_coefficients_on_every_seed_tried():
    # Seed 9 once read back as coefficients of 1e12: the denominator was
    # divided by a round-off term.
    from sklearn_fitfn.arithmetic import estimator_for

    for seed in (0, 9):
        X, y, windows = make_arithmetic(5666, "div", random_state=seed)
        formula = estimator_for("div", random_state=seed).fit(X, y).to_formula(tol=1e-6)
        for part, (start, end) in zip(formula, windows):
            assert sorted(powers.index(1) for powers in part) == list(range(start, end))
            np.testing.assert_allclose(list(part.values()), 1.0, rtol=1e-6)
