"""What ``fitfn arithmetic`` and ``fitfn squares`` print, checked line for line
on results built by hand, without a fit: each figure against a computation of
its own (the Wilson interval from its formula, the best line from NumPy's
polyfit, the extrapolation ratio from the two errors given)."""

import json
import math
import types

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.preprocessing import StandardScaler

from sklearn_fitfn._commands import arithmetic, experiments
from sklearn_fitfn._commands.arithmetic import ArithmeticResult, percent, sparsity_error
from sklearn_fitfn._commands.experiments import ExperimentResult
from sklearn_fitfn._network.polynomial import Ratio

# ---------------------------------------------------------------- arithmetic


def _wilson(successes, n, z=1.959963984540054):
    """The Wilson score interval from its textbook formula."""
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def _arithmetic_table(refused=("", "", "", "")):
    return pd.DataFrame(
        {
            "seed": [0, 1, 2, 3],
            "train": ["(1, 2)", "(1, 2)", "(-2, 2)", "(-2, 2)"],
            "mse": [1e-12, 3e-11, 2.5e-3, 4e-12],
            "threshold": [1.25e-5, 1.3e-5, 1.2e-5, 1.5e-5],
            "success": [True, True, False, True],
            "seconds": [1.0, 3.0, 2.0, 8.25],
            "sparsity_error": [1e-9, 4e-8, 0.25, 2e-9],
            "refused": list(refused),
        }
    )


@pytest.mark.parametrize(
    "share, printed",
    [
        (0.0, "0"),
        (0.004, "0.4"),
        (0.0004, "0"),  # rounds to 0.0: nothing to keep
        (0.01, "1"),
        (0.5, "50"),
        (0.99, "99"),
        (0.995, "99.5"),
        (0.9999, "100"),
        (1.0, "100"),
    ],
)
def test_a_percentage_keeps_a_decimal_only_near_0_and_100(share, printed):
    assert percent(share) == printed


def test_the_sparsity_error_of_a_ratio_is_its_worse_side():
    ratio = Ratio({(1, 0): 1.0 + 1e-7}, {(0, 1): 2.0 - 3e-5, (0, 0): 1.0})
    assert sparsity_error(ratio) == pytest.approx(3e-5)
    assert sparsity_error(Ratio({(1, 0): 0.4}, {(0, 1): 1.0})) == pytest.approx(0.4)
    assert sparsity_error({}) == 0.0
    assert sparsity_error({(1,): -2.75}) == pytest.approx(0.25)


def test_the_summary_holds_the_runs_figures():
    result = ArithmeticResult("mul", False, _arithmetic_table(), "y = x0·x1", {"seeds": 4})
    low, high = _wilson(3, 4)
    summary = result.summary()
    assert summary.pop("wilson_95") == [pytest.approx(low), pytest.approx(high)]
    assert summary == {
        "operation": "mul",
        "task": "100 inputs, U[1,2] / U[2,6]",
        "fits": 4,
        "successes": 3,
        "success_rate": 0.75,
        "median_seconds": 2.5,
        "max_seconds": 8.25,
        "max_sparsity_error": 0.25,
        "formula_of_first_seed": "y = x0·x1",
        "published": {"NMU": 0.98, "NAC•": 0.31, "NALU": 0.0, "linear": 0.0, "relu": 0.0},
    }
    primer = ArithmeticResult("mul", True, _arithmetic_table(), "", {}).summary()
    assert primer["task"] == "primer" and primer["published"] is None


def test_the_report_is_every_figure_of_the_run_beside_the_papers():
    result = ArithmeticResult("mul", False, _arithmetic_table(), "y = x0·x1", {})
    low, high = _wilson(3, 4)
    assert result.report().splitlines() == [
        "mul, 100 inputs, U[1,2] / U[2,6]: square units and L-BFGS succeed on 3 of 4 "
        f"(75%, Wilson 95% interval {100 * low:.0f}-{100 * high:.0f}%), median 2.5 s a fit "
        "(longest 8.2 s), sparsity error at most 2.5e-01.",
        "formula of the first seed: y = x0·x1",
        "published (Madsen & Johansen 2020, 100 seeds): NMU 98%, NAC• 31%, NALU 0%, "
        "linear 0%, relu 0%",
    ]
    # Only the figures the paper quotes are shown; the Primer has none.
    square = ArithmeticResult("square", False, _arithmetic_table(), "y = x0²", {})
    assert square.report().splitlines()[-1].endswith("100 seeds): NMU 100%")
    primer = ArithmeticResult("mul", True, _arithmetic_table(), "y = x0·x1", {})
    assert primer.report().splitlines()[0].startswith("mul, primer: square units")
    assert len(primer.report().splitlines()) == 2


def test_the_report_counts_the_refused_fits_of_each_range_once():
    table = _arithmetic_table(refused=("", "pole", "pole", "pole"))
    table["train"] = ["(1, 2)", "(-2, 2)", "(-2, 2)", "(-1, 1)"]
    result = ArithmeticResult("div", True, table, "y = (x0) / (x1)", {})
    lines = result.report().splitlines()
    assert lines[0].startswith("div, primer: log and exponential units and L-BFGS succeed")
    assert lines[-1] == (
        "not solved, and counted so: 3 fit(s) on U(-1, 1), U(-2, 2), whose rows cross b = 0, "
        "where a / b is unbounded: a log unit cannot take a denominator of both signs, so the "
        "fit is refused rather than trained."
    )
    assert "not solved" not in ArithmeticResult("div", True, _arithmetic_table(), "", {}).report()


def test_the_markdown_gives_the_machine_independent_figures():
    result = ArithmeticResult("mul", False, _arithmetic_table(), "y = x0·x1", {})
    low, high = _wilson(3, 4)
    assert result.markdown() == (
        "- **mul**, 100 inputs, U[1,2] / U[2,6]: solved in 3 of 4 fits (Wilson 95% interval "
        f"{100 * low:.0f}-{100 * high:.0f}%); largest extrapolation MSE 2.5e-03, against "
        "thresholds of 1.2e-05 to 1.5e-05; sparsity error at most 2.5e-01. "
        "The first seed's network computes `y = x0·x1`.\n"
    )
    refused = ArithmeticResult("div", False, _arithmetic_table(("", "x", "", "x")), "f", {})
    assert " 2 fits refused, and counted as not solved: their rows cross b = 0." in (
        refused.markdown()
    )
    # A table from before fits could be refused has no such column.
    older = ArithmeticResult("mul", False, _arithmetic_table().drop(columns="refused"), "f", {})
    assert older.markdown() == result.markdown().replace("`y = x0·x1`", "`f`")


def test_the_json_holds_the_summary_the_settings_and_every_fit():
    table = _arithmetic_table()
    result = ArithmeticResult("mul", False, table, "y = x0·x1", {"seeds": 4, "hidden": 2})
    text = result.to_json()
    assert text.splitlines()[:2] == ["{", '  "operation": "mul",']  # indented for people
    written = json.loads(text)
    assert written["config"] == {"seeds": 4, "hidden": 2}
    assert written["successes"] == 3 and written["operation"] == "mul"
    # Every float to its last digit: a solved fit's MSE is far below 1e-10.
    assert [row["mse"] for row in written["fits"]] == [1e-12, 3e-11, 2.5e-3, 4e-12]
    assert [row["success"] for row in written["fits"]] == [True, True, False, True]
    assert written["fits"][2] == dict(table.iloc[2], success=False, seed=2)
    table.loc[1, ["mse", "sparsity_error"]] = float("nan")  # a refused fit
    rows = json.loads(ArithmeticResult("div", False, table, "", {}).to_json())["fits"]
    assert (rows[1]["mse"], rows[1]["sparsity_error"]) == (None, None)


def test_a_formula_is_written_with_its_six_largest_degree_terms_and_a_count():
    terms = {(2, 0): 1.0, (1, 1): -2.0, (0, 0): 3.5, (1, 0): 5e-7}
    assert arithmetic._written(terms, names=None) == "y = 1·x0² - 2·x0·x1 + 3.5"
    many = {(i, 1): 1.0 for i in range(8)} | {(0, 0): 0.5}
    # Highest degree first: x0⁷·x1 to x0²·x1 are shown, 9 terms counted.
    assert arithmetic._written(many, names=["a", "b"]) == (
        "y = 1·a⁷·b + 1·a⁶·b + 1·a⁵·b + 1·a⁴·b + 1·a³·b + 1·a²·b"
        " + … (9 terms in all, coefficients [0.5, 1.0])"
    )
    six = {(i, 1): 1.0 for i in range(6)}
    assert arithmetic._written(six, names=["a", "b"]) == (
        "y = 1·a⁵·b + 1·a⁴·b + 1·a³·b + 1·a²·b + 1·a·b + 1·b"  # all shown: no count
    )
    # The coefficients of a long formula are listed to 6 decimals, alike ones once.
    near = {(i, 1): 1.0 + 4e-7 * (i % 2) for i in range(7)}
    assert arithmetic._written(near, names=["a", "b"]).endswith(
        " + … (7 terms in all, coefficients [1.0])"
    )
    ratio = Ratio({(1, 0): 1.0}, {(0, 1): 1.0, (0, 0): 1e-8})
    assert arithmetic._written(ratio, names=["a", "b"]) == "y = (1·a) / (1·b)"


@pytest.mark.parametrize(
    "operation, units", [("div", "log and exponential units"), ("mul", "square units")]
)
def test_the_units_named_are_those_the_operation_trains(operation, units):
    assert arithmetic.units_of(operation) == units


# ---------------------------------------------------------------- experiments


def _experiment(function="squares", **fields):
    """An ExperimentResult built by hand: only what the report reads is real."""
    y_test = np.array([1.0, 4.0, 9.0, 16.0])
    table = pd.DataFrame(
        {
            "activation": ["relu", "identity", "relu"],
            "architecture": ["(8,)", "(8,)", "(2,)"],
            "cv_rmse_mean": [1.0, 2.0, 3.0],
            "converged": [True, True, True],
        }
    )
    values = dict(
        function=function,
        table=table,
        linear_floor=7.5,
        held_out_floor=8.0,
        analytic_floor=None,
        test_rmse={"identity": 8.25, "relu": 0.5},
        samples=pd.DataFrame({"x1": [1.0], "Expected": [1.0]}),
        models={},
        search=types.SimpleNamespace(cv_results_={}),
        X_train=np.array([[1.0], [2.0]]),
        y_train=np.array([1.0, 4.0]),
        X_test=np.array([[1.0], [2.0], [3.0], [4.0]]),
        y_test=y_test,
        config={"max_iter": 200, "solver": "adam", "extrapolate": None},
    )
    values.update(fields)
    return ExperimentResult(**values)


def test_the_verdict_compares_each_activation_with_the_held_out_line():
    assert _experiment().verdict().splitlines() == [
        "identity: held-out RMSE 8.2; the best straight line on the same data gets 8.0: "
        "a linear network cannot fit x².",
        # 0.5 / 8.0 = 6.25%, printed to one decimal.
        "relu: held-out RMSE 0.5 (6.2% of the best straight line's error on the same data).",
    ]


def test_the_verdict_of_a_linear_function_says_a_line_fits_it():
    # A floor up to a millionth of y's spread (here 11.2) is round-off: y is linear.
    result = _experiment(
        "sums",
        held_out_floor=1e-5,
        y_test=np.array([0.0, 10.0, 20.0, 30.0]),
        test_rmse={"linear": 1e-9, "relu": 0.25},
    )
    assert result.verdict().splitlines() == [
        "linear: held-out RMSE 1.0e-09; the best straight line on the same data gets 1.0e-05: "
        "x1 + x2 is linear, so a linear network fits it.",
        "relu: held-out RMSE 0.2.",
    ]


def test_the_verdict_says_exact_inside_and_outside_and_the_ratio_between():
    result = _experiment(
        test_rmse={"identity": 8.25, "relu": 0.5, "tanh": 0.2},
        extrapolation_rmse={"identity": 825.0, "relu": 0.0, "tanh": 60.0},
        exact={
            "inside": {"identity": False, "relu": True, "tanh": False},
            "outside": {"identity": False, "relu": True, "tanh": False},
        },
        config={"max_iter": 200, "solver": "adam", "extrapolate": (1001, 1500)},
    )
    assert result.verdict().splitlines() == [
        "identity: held-out RMSE 8.2; the best straight line on the same data gets 8.0: "
        "a linear network cannot fit x². Outside the training range (1001..1500): "
        "RMSE 825.0, 100 times its error inside.",
        "relu: exact, every held-out prediction rounds to the true value (RMSE 0.5). "
        "Outside the training range (1001..1500): exact too (RMSE 0.0).",
        "tanh: held-out RMSE 0.2 (2.5% of the best straight line's error on the same data). "
        "Outside the training range (1001..1500): RMSE 60.0, 300 times its error inside.",
    ]


def test_a_model_without_error_inside_gives_no_ratio_outside():
    result = _experiment(
        test_rmse={"relu": 0.0},
        extrapolation_rmse={"relu": 3.0},
        exact={"inside": {"relu": False}, "outside": {"relu": False}},
        config={"max_iter": 200, "solver": "adam", "extrapolate": (5, 9)},
    )
    assert result.verdict().endswith("Outside the training range (5..9): RMSE 3.0.")


def _square_units(X, y, units):
    """Square units fitted by L-BFGS from the least-squares quadratic: exact."""
    model = experiments.build_pipeline(
        "square", (units,), solver="lbfgs", max_iter=50, random_state=0
    )
    return model.fit(X, y)


@pytest.fixture(scope="module")
def square_units():
    """Square units fitted to y = x² - 20·x + 5 on [1, 1000]."""
    x = np.linspace(1, 1000, 200).reshape(-1, 1)
    return _square_units(x, x[:, 0] ** 2 - 20 * x[:, 0] + 5, 1), x


def test_square_units_are_read_back_without_their_round_off_terms(square_units):
    model, x = square_units
    # Round-off terms (coefficients near 1e-16) change no prediction on x by a
    # millionth of the largest term, x² of size 1e6: left out. The constant 5
    # changes every prediction by 5: kept, though it multiplies no input.
    assert experiments._formula(model, x) == "y = 1·x² - 20·x + 5"
    result = _experiment(
        test_rmse={"square": 1e-9},
        models={"square": model},
        X_train=x,
        exact={"inside": {"square": True}},
    )
    assert result.verdict() == (
        "square: exact, every held-out prediction rounds to the true value (RMSE 1.0e-09). "
        "It computes y = 1·x² - 20·x + 5."
    )


def test_a_term_is_kept_by_its_size_on_the_data_not_its_coefficient():
    X = np.random.default_rng(0).uniform(1, 1000, size=(300, 2))
    model = _square_units(X, 5e-7 * X[:, 0] * X[:, 1] + 2 * X[:, 0] + 5, 2)
    # 5e-7·x1·x2 reaches 0.5 on the data: a term, though its coefficient is
    # below to_polynomial's default tol. The inputs are named as FUNCTIONS names them.
    assert experiments._formula(model, X) == "y = 5e-07·x1·x2 + 2·x1 + 5"


def test_the_convergence_note_counts_candidates_and_names_the_budget():
    assert _experiment().convergence_note() is None
    unconverged = _experiment()
    unconverged.table["converged"] = [False, True, False]
    assert unconverged.convergence_note() == (
        "2 of 3 candidates did not converge in every fold: training used all 200 epochs "
        "(max_iter) without the stopping rule ending it (scikit-learn's ConvergenceWarning; "
        "recorded in the 'converged' column, not printed)."
    )
    unconverged.config = {"max_iter": 15000, "solver": "lbfgs", "extrapolate": None}
    assert unconverged.convergence_note().startswith(
        "2 of 3 candidates did not converge in every fold: L-BFGS ended at max_iter "
        "(15000 iterations), at max_fun or in its line search, before its convergence "
        "test was met ("
    )


def test_the_summary_and_json_hold_every_figure_reported():
    cv_results = {
        "params": [{"a": (8, 8)}],
        "mean_test_rmse": np.array([-1.5]),
        "rank_test_rmse": np.array([1], dtype=np.int32),
    }
    result = _experiment(
        analytic_floor=7.9,
        search=types.SimpleNamespace(cv_results_=cv_results),
        extrapolation_samples=pd.DataFrame({"x1": [2000.0]}),
    )
    summary = result.summary()
    assert summary["linear_floor_rmse"] == 7.5 and summary["held_out_floor_rmse"] == 8.0
    assert summary["analytic_linear_floor_rmse"] == 7.9
    assert summary["test_rmse"] == {"identity": 8.25, "relu": 0.5}
    assert summary["ranking"][0] == {
        "activation": "relu",
        "architecture": "(8,)",
        "cv_rmse_mean": 1.0,
        "converged": True,
    }
    assert summary["samples"] == [{"x1": 1.0, "Expected": 1.0}]
    assert summary["extrapolation_samples"] == [{"x1": 2000.0}]
    assert summary["verdict"] == result.verdict()
    assert (summary["extrapolation_rmse"], summary["exact"]) == (None, {})
    assert summary["convergence"] is None
    assert _experiment().summary()["extrapolation_samples"] is None
    text = result.to_json()
    assert text.splitlines()[:2] == ["{", '  "function": "squares",']  # indented for people
    written = json.loads(text)
    assert written["cv_results"] == {
        "params": [{"a": [8, 8]}],
        "mean_test_rmse": [-1.5],
        "rank_test_rmse": [1],
    }
    assert written["function"] == "squares" and written["config"]["max_iter"] == 200


def test_the_error_of_predictions_is_their_root_mean_squared_difference():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert experiments._rmse(y + np.array([1.0, -1.0, 3.0, -3.0]), y) == pytest.approx(
        math.sqrt(5.0)
    )
    assert experiments._rmse(y, y) == 0.0


def test_each_activation_is_represented_by_its_lowest_error():
    mlp = experiments._MLP
    cv_results = {
        "params": [{mlp + "activation": a} for a in ("relu", "tanh", "relu", "tanh", "relu")],
        # Negated RMSE, as scikit-learn's scorer gives it.
        "mean_test_rmse": np.array([-3.0, -2.0, -1.0, -5.0, -4.0]),
    }
    assert experiments._best_of_each(["relu", "tanh"], cv_results) == {"relu": 2, "tanh": 1}


def test_exact_means_integer_targets_each_matched_by_its_rounded_prediction():
    y = np.array([1.0, 4.0, 9.0])
    predictions = {"a": y + 0.49, "b": y + np.array([0, 0, 0.51]), "c": y - 0.49}
    assert experiments._rounds_exactly(predictions, y) == {"a": True, "b": False, "c": True}
    assert experiments._rounds_exactly({"a": y + 0.5}, y + 0.5) == {"a": False}


def test_the_sample_rows_are_rows_of_the_data_with_each_prediction_and_error():
    X = np.arange(20.0).reshape(10, 2)
    y = X.sum(axis=1)
    predictions = {"relu": y + 0.26, "linear": y - 1.0}
    samples = experiments._sample_table(X, y, predictions, 4, random_state=3)
    assert list(samples.columns) == [
        "x1",
        "x2",
        "Expected",
        "Predicted (relu)",
        "err (relu)",
        "Predicted (linear)",
        "err (linear)",
    ]
    assert len(samples) == 4 and samples["x1"].is_unique
    rows = (samples["x1"] / 2).astype(int)  # row i holds 2i, 2i + 1
    np.testing.assert_array_equal(samples["x2"], X[rows, 1])
    np.testing.assert_array_equal(samples["Expected"], y[rows])
    np.testing.assert_allclose(samples["Predicted (relu)"], np.round(y[rows] + 0.26, 1))
    np.testing.assert_allclose(samples["err (relu)"], 0.3)
    np.testing.assert_allclose(samples["err (linear)"], -1.0)
    again = experiments._sample_table(X, y, predictions, 4, random_state=3)
    pd.testing.assert_frame_equal(samples, again)
    every = experiments._sample_table(X, y, predictions, 50, random_state=3)
    assert sorted(every["x1"]) == sorted(X[:, 0])  # each row once, none twice


def test_a_progress_line_names_the_candidate_and_its_figures(capsys):
    mlp = experiments._MLP
    candidate = {mlp + "activation": "relu", mlp + "hidden_layer_sizes": (64, 64)}
    results = {"mean_test_rmse": [-9.0, -1234.56], "mean_fit_time": [0.1, 2.25]}
    experiments._stderr_progress(2, 7, candidate, results)
    assert capsys.readouterr().err == (
        "[2/7]      relu (64, 64)       CV RMSE 1,234.6  (2.2 s per fit)\n"
    )
    experiments._stderr_redo(2, 3)
    assert capsys.readouterr().err == (
        "a Dask worker died with data its fits needed; running them again (attempt 2 of 3)\n"
    )


def test_seconds_per_fit_add_each_candidates_training_before_the_loop():
    search = experiments._ReportingGridSearchCV(None, {})
    search._training_seconds = [1.5, 0.0]
    seconds = search.seconds_per_fit({"mean_fit_time": np.array([0.25, 0.5])})
    np.testing.assert_allclose(seconds, [1.75, 0.5])


def test_the_best_line_is_numpys_least_squares_line():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 5, size=50)
    y = x**2 + rng.normal(size=50)
    slope, intercept = np.polyfit(x, y, 1)
    expected = slope * x + intercept - y
    np.testing.assert_allclose(experiments.best_line_residuals(x[:, None], y), expected)
    rmse = np.sqrt(np.mean(expected**2))
    assert experiments.least_squares_rmse(x[:, None], y) == pytest.approx(rmse)
    # A plane through two inputs leaves nothing.
    X = rng.uniform(size=(30, 2))
    assert experiments.least_squares_rmse(X, 3 * X[:, 0] - X[:, 1] + 7) < 1e-12


def test_the_closed_form_floors_are_the_best_lines_on_a_fine_grid():
    # Midpoints of a 1000-cell grid of [2, 12] (and its square), no sampling.
    x = 2 + 10 * (np.arange(1000) + 0.5) / 1000
    assert experiments.analytic_linear_floor("squares", 2, 12) == pytest.approx(
        experiments.least_squares_rmse(x[:, None], x**2), rel=1e-5
    )
    x1, x2 = (a.ravel() for a in np.meshgrid(x[::10], x[::10]))
    assert experiments.analytic_linear_floor("products", 2, 12) == pytest.approx(
        experiments.least_squares_rmse(np.column_stack([x1, x2]), x1 * x2), rel=1e-3
    )
    assert experiments.analytic_linear_floor("sums", 2, 12) == 0.0
    assert experiments.analytic_linear_floor("sine", 2, 12) is None


def test_the_canonical_pipeline_scales_both_sides_and_trains_to_max_iter():
    model = experiments.build_pipeline()
    assert isinstance(model, TransformedTargetRegressor)
    assert isinstance(model.transformer, StandardScaler)
    scaler, mlp = (step for _, step in model.regressor.steps)
    assert isinstance(scaler, StandardScaler)
    expected = dict(
        activation="relu",
        hidden_layer_sizes=(64, 64),
        max_iter=500,
        batch_size=100,
        learning_rate_init=1e-3,
        random_state=0,
        n_iter_no_change=500,  # no early end: every epoch is trained
    )
    assert {k: mlp.get_params()[k] for k in expected} == expected
    short = experiments.build_pipeline("tanh", (3,), max_iter=20, n_iter_no_change=4, alpha=0.5)
    params = short.regressor.steps[-1][1].get_params()
    assert (params["max_iter"], params["n_iter_no_change"], params["alpha"]) == (20, 4, 0.5)
    assert (params["activation"], params["hidden_layer_sizes"]) == ("tanh", (3,))


def test_the_converged_score_reads_the_networks_own_record():
    for converged in (True, False):
        network = types.SimpleNamespace(converged_=converged)
        model = types.SimpleNamespace(regressor_=[StandardScaler(), network])
        assert experiments._converged(model, None, None) == float(converged)
