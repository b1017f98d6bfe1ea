import contextlib
import json
import os
import re
import time
import types
import warnings

import joblib
import numpy as np
import pytest

from sklearn_fitfn._commands import experiments
from sklearn_fitfn._commands.experiments import (
    ExperimentSettings,
    InvalidExperiment,
    analytic_linear_floor,
    least_squares_rmse,
    run_experiment,
)
from sklearn_fitfn.datasets import make_function_data, make_products, make_squares

# Small enough for the unit suite, large enough for wide margins.
QUICK = dict(n_samples=600, max_iter=200, architectures=[(32, 32)], cv=3)


@pytest.fixture(scope="module")
def squares():
    return run_experiment("squares", progress=False, **QUICK)


def test_the_best_line_floor_matches_its_closed_form():
    X, y = make_squares(random_state=0)
    assert least_squares_rmse(X, y) == pytest.approx(
        analytic_linear_floor("squares", 1, 1000), rel=0.03
    )
    # The closed form against the best line through x² on a fine grid of [0, 1000].
    x = np.linspace(0, 1000, 200_001)
    residuals = np.polyval(np.polyfit(x, x**2, 1), x) - x**2
    assert analytic_linear_floor("squares", 0, 1000) == pytest.approx(
        np.sqrt(np.mean(residuals**2)), rel=1e-4
    )
    X, y = make_products(20000, random_state=0)
    assert least_squares_rmse(X, y) == pytest.approx(
        analytic_linear_floor("products", 1, 1000), rel=0.03
    )


def test_relu_fits_squares_and_identity_is_stuck_at_the_line(squares):
    by_activation = squares.table.groupby("activation")["cv_rmse_mean"].min()
    assert by_activation["relu"] <= 0.10 * squares.linear_floor
    assert by_activation["identity"] >= 0.95 * squares.linear_floor
    assert squares.test_rmse["relu"] <= 0.10 * squares.linear_floor
    assert squares.test_rmse["identity"] >= 0.95 * squares.linear_floor
    assert "a linear network cannot fit x²" in squares.verdict()


def _reported(verdict, activation):
    """The held-out RMSE and the floor that the verdict prints for an activation."""
    line = next(line for line in verdict.splitlines() if line.startswith(f"{activation}:"))
    numbers = re.findall(r"RMSE ([\d,.]+)|gets ([\d,.]+)", line)
    rmse, floor = (float((a or b).replace(",", "").rstrip(".")) for a, b in numbers)
    return rmse, floor


def test_the_verdict_compares_held_out_with_held_out(squares):
    rmse, floor = _reported(squares.verdict(), "identity")
    assert (rmse, floor) == (
        pytest.approx(squares.test_rmse["identity"], abs=0.05),
        pytest.approx(squares.held_out_floor, abs=0.05),
    )
    assert floor == pytest.approx(least_squares_rmse(squares.X_test, squares.y_test), abs=0.05)
    assert rmse >= floor
    assert "on the same data" in squares.verdict()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_linear_network_is_never_reported_below_the_held_out_floor(seed):
    # Whatever it learned, a linear network is a straight line: on held-out
    # data it cannot beat the best line fitted to those very data.
    result = run_experiment(
        "squares",
        n_samples=200,
        cv=2,
        max_iter=30,
        activations=["identity"],
        architectures=[(8,), (16, 16)],
        random_state=seed,
        progress=False,
    )
    rmse, floor = _reported(result.verdict(), "identity")
    assert rmse >= floor == pytest.approx(result.held_out_floor, abs=0.05)
    assert result.test_rmse["identity"] >= result.held_out_floor


def test_both_activations_fit_sums():
    result = run_experiment("sums", progress=False, **QUICK)
    assert (result.table["cv_r2_mean"] > 0.999).all()
    assert "x1 + x2 is linear" in result.verdict()


def test_the_run_draws_its_data_and_floors_from_its_range():
    """The default function is squares; the training and held-out rows are
    drawn from the run's range with the run's seed and the next one, and the
    floors are those of that range, checked against the best line found here."""
    result = run_experiment(
        low=2.0,
        high=5.0,
        n_samples=50,
        max_iter=2,
        activations=("identity",),
        architectures=[(2,)],
        cv=2,
        random_state=3,
        progress=False,
    )
    assert result.function == "squares"
    for X, y in [(result.X_train, result.y_train), (result.X_test, result.y_test)]:
        assert X.shape == (50, 1) and 2.0 <= X.min() < 2.2 and 4.8 < X.max() <= 5.0
        np.testing.assert_array_equal(y, X[:, 0] ** 2)
    assert not np.array_equal(result.X_train, result.X_test)
    X_seed, _ = make_function_data("squares", 50, low=2.0, high=5.0, random_state=4)
    np.testing.assert_array_equal(result.X_test, X_seed)

    def best_line_rmse(X, y):
        design = np.column_stack([X[:, 0], np.ones(len(X))])
        coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
        return np.sqrt(np.mean((design @ coefficients - y) ** 2))

    assert result.linear_floor == pytest.approx(best_line_rmse(result.X_train, result.y_train))
    assert result.held_out_floor == pytest.approx(best_line_rmse(result.X_test, result.y_test))
    # x = 3.5 + 1.5 t with t uniform on [-1, 1]: the line leaves 1.5² (t² - 1/3),
    # whose RMSE is 1.5² · 2 / (3 √5).
    assert result.analytic_floor == pytest.approx(1.5**2 * 2 / (3 * np.sqrt(5)))


def test_result_contents(squares):
    table = squares.table
    assert list(table.columns) == [
        "activation",
        "architecture",
        "cv_rmse_mean",
        "cv_rmse_std",
        "cv_r2_mean",
        "fit_seconds",
        "converged",
    ]
    assert table["cv_rmse_mean"].is_monotonic_increasing
    assert set(squares.models) == {"identity", "relu"}
    samples = squares.samples
    assert len(samples) == 8
    np.testing.assert_array_equal(samples["Expected"], samples["x1"] ** 2)
    np.testing.assert_allclose(
        samples["err (relu)"], samples["Predicted (relu)"] - samples["Expected"]
    )
    payload = json.loads(squares.to_json())
    assert payload["linear_floor_rmse"] == squares.linear_floor
    assert len(payload["cv_results"]["params"]) == 2
    assert payload["ranking"][0]["activation"] == "relu"


def test_convergence_is_recorded_per_candidate_and_never_printed(capfd):
    # Adam runs all max_iter epochs here (the stopping rule is off), so no
    # fit converges; L-BFGS on a sum meets its gradient test. Folds of 40
    # rows also clip batch_size=100, which MLPRegressor warns about.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adam = run_experiment(
            "sums", n_samples=80, max_iter=5, cv=2, architectures=[(4,)], progress=False, n_jobs=2
        )
        lbfgs = run_experiment(
            "sums",
            n_samples=200,
            max_iter=2000,
            cv=2,
            architectures=[(4,)],
            activations=["identity"],
            solver="lbfgs",
            progress=False,
        )
    assert caught == [] and capfd.readouterr() == ("", "")
    assert adam.table["converged"].tolist() == [False, False]
    assert adam.convergence_note().startswith("2 of 2 candidates did not converge in every fold")
    assert "all 5 epochs (max_iter)" in adam.convergence_note()
    assert json.loads(adam.to_json())["convergence"] == adam.convergence_note()
    assert lbfgs.table["converged"].tolist() == [True]
    assert lbfgs.convergence_note() is None
    assert lbfgs.search.cv_results_["split0_test_converged"][0] == 1.0


EXACT = dict(solver="lbfgs", alpha=0.0, tol=0.0)


@pytest.fixture(scope="module")
def extrapolated():
    return run_experiment(
        "squares",
        n_samples=600,
        max_iter=1000,
        cv=3,
        activations=("relu", "square"),
        architectures=[(4,), (16,)],
        extrapolate=(1001, 2000),
        progress=False,
        **EXACT,
    )


@pytest.mark.slow
def test_extrapolation_scores_every_candidate_inside_and_outside(extrapolated):
    table = extrapolated.table
    assert len(table) == 4
    assert table[["test_rmse", "extrapolation_rmse"]].notna().all().all()
    X_out = extrapolated.X_extrapolate
    assert X_out.min() >= 1001 and X_out.max() <= 2000
    np.testing.assert_array_equal(extrapolated.y_extrapolate, X_out[:, 0] ** 2)
    for _, row in table[table["activation"] == "relu"].iterrows():
        assert row["extrapolation_rmse"] > 10 * row["test_rmse"]
    assert extrapolated.extrapolation_rmse["relu"] > 10 * extrapolated.test_rmse["relu"]


@pytest.mark.slow
def test_square_units_stay_exact_outside_the_training_range(extrapolated):
    square = extrapolated.table[extrapolated.table["activation"] == "square"]
    assert (square["cv_rmse_mean"] < 1e-3).all()
    assert (square["extrapolation_rmse"] < 1e-3).all()
    assert extrapolated.exact == {
        "inside": {"relu": False, "square": True},
        "outside": {"relu": False, "square": True},
    }
    samples = extrapolated.extrapolation_samples
    np.testing.assert_array_equal(samples["Predicted (square)"], samples["Expected"])
    verdict = extrapolated.verdict().splitlines()
    assert verdict[1].startswith("square: exact") and "exact too" in verdict[1]
    assert "times its error inside" in verdict[0]
    payload = json.loads(extrapolated.to_json())
    assert payload["config"]["extrapolate"] == [1001, 2000]
    assert payload["exact"]["outside"]["square"] is True


def test_progress_reports_every_candidate_once_its_round_is_done():
    seen = []

    def progress(index, total, candidate, results):
        seen.append((index, total, candidate, len(results["params"])))
        seen[-1] += (results["mean_fit_time"][index - 1],)

    result = run_experiment(
        "squares",
        n_samples=60,
        max_iter=2,
        architectures=[(4,), (8,)],
        cv=2,
        n_jobs=4,  # 4 fits at once: rounds of 2 candidates of 2 folds
        progress=progress,
    )
    assert [(i, total, done) for i, total, _, done, _ in seen] == [
        (1, 4, 2),
        (2, 4, 2),
        (3, 4, 4),
        (4, 4, 4),
    ]
    assert [c for _, _, c, _, _ in seen] == result.search.cv_results_["params"]


def test_progress_shows_the_tables_seconds_with_the_groups_training_counted_in():
    seen = {}

    def progress(index, total, candidate, results):
        seen[experiments._describe(candidate)] = results["mean_fit_time"][index - 1]

    # 8 folds of one candidate at once: a group, trained before scikit-learn's loop.
    result = run_experiment(
        "squares",
        n_samples=80,
        max_iter=2,
        activations=("identity", "relu"),
        architectures=[(4,)],
        cv=8,
        n_jobs=8,
        progress=progress,
    )
    table = dict(result.table.set_index(["activation", "architecture"])["fit_seconds"])
    assert seen == pytest.approx(table)
    cv_results = result.search.cv_results_
    # scikit-learn's own time of each member's fit leaves the training out.
    for candidate, fit in zip(cv_results["params"], cv_results["mean_fit_time"]):
        assert table[experiments._describe(candidate)] > fit


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(function="tangent"), "unknown function"),
        (dict(low=10, high=1), r"^low=10 must be smaller than high=1$"),
        (dict(n_samples=5, cv=3), r"^n_samples=5 leaves fewer than 2 held-out rows .* cv=3 folds"),
        (dict(cv=1), "^cv=1: cross-validation needs at least 2 folds$"),
        (dict(n_samples=10**20), "^n_samples=100000000000000000000 rows would take about"),
        (dict(extrapolate=(2000, 1001)), r"^extrapolate=\(2000, 1001\) needs low < high$"),
        (dict(n_jobs=0), "^n_jobs=0: give a positive number"),
        (dict(activations=[]), "at least one activation"),
        (dict(n_workers=2), "^n_workers=2 applies to a cluster started for the run only"),
        (dict(n_sample=10), "unexpected keyword argument 'n_sample'"),
    ],
)
def test_bad_experiment_settings_fail_before_any_fit(kwargs, message, monkeypatch):
    fits = []
    monkeypatch.setattr(experiments, "_search", lambda *args: fits.append(args))
    with pytest.raises((ValueError, TypeError), match=message):
        run_experiment(**{"function": "squares", "progress": False, **kwargs})
    assert fits == []


def test_a_bad_setting_is_spelled_as_its_caller_names_it():
    with pytest.raises(InvalidExperiment) as error:
        ExperimentSettings(n_samples=3, cv=2)
    assert str(error.value).startswith("n_samples=3 leaves")
    spelled = error.value.spelled(lambda name, value: f"<{name} {value}>")
    assert spelled.startswith(
        "<n_samples 3> leaves fewer than 2 held-out rows in each of the <cv 2>"
    )


def test_settings_are_plain_and_recorded_as_json():
    settings = ExperimentSettings(architectures=[[8], (4, 4)], activations=["relu"])
    assert settings.architectures == ((8,), (4, 4)) and settings.activations == ("relu",)
    config = settings.config()
    assert config["architectures"] == [[8], [4, 4]] and "n_samples_shown" not in config
    assert json.loads(json.dumps(config)) == config


@pytest.mark.parametrize("backend", [None, "loky"], ids=["threads", "process workers"])
def test_parallel_fits_give_the_same_grid_as_one_process(backend):
    settings = dict(n_samples=120, max_iter=20, architectures=[(8,), (4, 4)], cv=2, progress=False)
    serial = run_experiment("squares", n_jobs=1, **settings)
    chosen = contextlib.nullcontext() if backend is None else joblib.parallel_config(backend)
    with chosen:
        parallel = run_experiment("squares", n_jobs=2, **settings)
    np.testing.assert_allclose(
        parallel.table["cv_rmse_mean"], serial.table["cv_rmse_mean"], rtol=1e-9
    )
    assert parallel.test_rmse == pytest.approx(serial.test_rmse, rel=1e-9)


def test_every_network_is_trained_with_the_runs_settings():
    expected = dict(max_iter=3, random_state=3, solver="sgd", alpha=0.5, tol=0.25)
    started = time.perf_counter()
    result = run_experiment(
        "squares",
        n_samples=60,
        architectures=[(4,)],
        activations=("relu", "tanh"),
        cv=2,
        progress=False,
        **expected,
    )
    networks = [result.search.estimator.regressor[-1]]
    networks += [model.regressor_[-1] for model in result.models.values()]
    for network in networks:
        assert {k: network.get_params()[k] for k in expected} == expected
    assert {k: result.config[k] for k in expected} == expected
    # The run's seconds, rounded to a tenth (so at most 0.05 over the time it took).
    assert 0 <= result.config["seconds"] <= time.perf_counter() - started + 0.05
    # The held-out rows are the next seed's draw, not the training rows.
    X_test, y_test = make_squares(60, random_state=4)
    np.testing.assert_array_equal(result.X_test, X_test)
    np.testing.assert_array_equal(result.y_test, y_test)
    X_train, _ = make_squares(60, random_state=3)
    np.testing.assert_array_equal(result.X_train, X_train)


class _StandInClient:
    """What `_search` reads of a Dask client: its scheduler's address and its
    workers' threads."""

    def __init__(self, threads):
        self.scheduler = types.SimpleNamespace(address="tcp://127.0.0.1:8786")
        self.threads = threads

    def nthreads(self):
        return {f"tcp://127.0.0.1:{9000 + i}": n for i, n in enumerate(self.threads)}


def test_on_a_cluster_every_fit_goes_to_its_workers_and_lost_work_is_run_again(monkeypatch, capsys):
    """The cluster path without a cluster: a stand-in for `dask_backend` that
    yields a client of 3 worker threads and runs joblib's work in threads, and
    whose first search and first refits lose their work to a dead worker."""
    from distributed.client import FutureCancelledError

    opened, n_jobs_given = [], {"search": [], "refits": []}
    client = _StandInClient(threads=[1, 2])

    @contextlib.contextmanager
    def stand_in_backend(scheduler, *, n_workers=None):
        opened.append((scheduler, n_workers))
        with joblib.parallel_config(prefer="threads"):
            yield client

    def losing_the_first_try(name, method):
        def wrapped(*args, **kwargs):
            if len(n_jobs_given[name]) == 1:
                raise FutureCancelledError("key", "a worker died")
            return method(*args, **kwargs)

        return wrapped

    search_fit = experiments._ReportingGridSearchCV.fit

    def recording_fit(self, *args, **kwargs):
        n_jobs_given["search"].append(self.n_jobs)
        return losing_the_first_try("search", search_fit)(self, *args, **kwargs)

    class RecordingParallel(experiments.Parallel):
        def __call__(self, iterable):
            n_jobs_given["refits"].append(self.n_jobs)
            return losing_the_first_try("refits", super().__call__)(iterable)

    monkeypatch.setattr(experiments, "dask_backend", stand_in_backend)
    monkeypatch.setattr(experiments._ReportingGridSearchCV, "fit", recording_fit)
    monkeypatch.setattr(experiments, "Parallel", RecordingParallel)

    result = run_experiment(
        "squares",
        n_samples=60,
        max_iter=2,
        activations=("identity", "relu"),
        architectures=[(4,)],
        cv=2,
        n_jobs=1,  # a run on one machine would fit one at a time
        scheduler="local",
        n_workers=2,
    )
    assert opened == [("local", 2)]
    # Every worker thread of the cluster runs fits, whatever n_jobs said.
    assert n_jobs_given == {"search": [-1, -1], "refits": [-1, -1]}
    # 3 threads and 2 folds: rounds of lcm(3, 2) = 6 fits, 3 candidates.
    assert result.search.candidates_per_round == 3
    assert result.config["scheduler"] == "local" and result.config["n_workers"] == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "running the fits on the Dask cluster at tcp://127.0.0.1:8786 (2 workers)"
    redo = "a Dask worker died with data its fits needed; running them again (attempt 2 of 3)"
    assert lines[1] == redo
    assert lines[-2:] == ["refitting 1 more candidate(s) on all training data", redo]
    # The refitted candidate is the other activation's, fitted on all training rows.
    assert set(result.models) == {"identity", "relu"}
    for model in result.models.values():
        assert model.regressor_[-1].n_features_in_ == 1


def test_a_cluster_run_that_is_not_reported_prints_nothing(monkeypatch, capsys):
    @contextlib.contextmanager
    def stand_in_backend(scheduler, *, n_workers=None):
        with joblib.parallel_config(prefer="threads"):
            yield _StandInClient(threads=[1])

    from distributed.client import FutureCancelledError

    search_fit, tries = experiments._ReportingGridSearchCV.fit, []

    def losing_the_first_try(self, *args, **kwargs):
        tries.append(self)
        if len(tries) == 1:
            raise FutureCancelledError("key", "a worker died")
        return search_fit(self, *args, **kwargs)

    monkeypatch.setattr(experiments, "dask_backend", stand_in_backend)
    monkeypatch.setattr(experiments._ReportingGridSearchCV, "fit", losing_the_first_try)
    seen = []
    result = run_experiment(
        "squares",
        n_samples=40,
        max_iter=2,
        architectures=[(4,)],
        cv=2,
        scheduler="tcp://127.0.0.1:8786",
        progress=lambda index, *rest: seen.append(index),
    )
    # The search ran twice, silently: the caller's progress has no redo lines.
    assert len(tries) == 2 and seen == [1, 2] and capsys.readouterr().err == ""
    assert result.config["scheduler"] == "tcp://127.0.0.1:8786"
    # One worker thread and 2 folds: one candidate a round.
    assert result.search.candidates_per_round == 1


@pytest.mark.parametrize("extrapolate, refitted", [(None, 1), ((2.0, 3.0), 3)])
def test_the_run_refits_on_all_training_rows_what_it_scores_on_held_out_rows(
    monkeypatch, capsys, extrapolate, refitted
):
    """Without extrapolation, the best candidate of each activation (the
    search refits the best of all itself); with it, every candidate. The
    refits run in threads of this process, n_jobs at a time."""
    fit_on, refits = experiments._fit_on, []

    def recording_fit_on(*args):
        refits.append(os.getpid())
        return fit_on(*args)

    monkeypatch.setattr(experiments, "_fit_on", recording_fit_on)
    result = run_experiment(
        "squares",
        n_samples=60,
        max_iter=2,
        activations=("identity", "relu"),
        architectures=[(4,), (8,)],
        cv=2,
        n_jobs=2,
        extrapolate=extrapolate,
    )
    lines = capsys.readouterr().err.splitlines()
    assert f"refitting {refitted} more candidate(s) on all training data" in lines
    assert refits == [os.getpid()] * refitted
    assert result.search.n_jobs == 2
    # The rows shown are drawn with the run's seed, each model's prediction to a tenth.
    shown = np.random.default_rng(0).choice(60, size=8, replace=False)
    samples = result.samples
    np.testing.assert_array_equal(samples["x1"], result.X_test[shown, 0])
    np.testing.assert_array_equal(samples["Expected"], result.y_test[shown])
    for activation, model in result.models.items():
        predicted = np.round(model.predict(result.X_test)[shown], 1)
        np.testing.assert_array_equal(samples[f"Predicted ({activation})"], predicted)
    never = {"identity": False, "relu": False}  # two epochs round nothing exactly
    table = result.table
    columns = ["activation", "architecture", "cv_rmse_mean", "cv_rmse_std", "cv_r2_mean"]
    columns += ["fit_seconds", "converged"]
    if extrapolate is None:
        assert list(table.columns) == columns
        assert result.X_extrapolate is None and result.y_extrapolate is None
        assert result.extrapolation_rmse is None and result.extrapolation_samples is None
        assert result.exact == {"inside": never}
        return
    assert result.exact == {"inside": never, "outside": never}
    outside = result.extrapolation_samples
    np.testing.assert_array_equal(outside["x1"], result.X_extrapolate[shown, 0])
    np.testing.assert_array_equal(outside["Expected"], result.y_extrapolate[shown])
    assert list(table.columns) == [*columns, "test_rmse", "extrapolation_rmse"]
    # The rows outside: the range's draw with the seed after the held-out rows'.
    X_out, y_out = make_function_data("squares", 60, low=2.0, high=3.0, random_state=2)
    np.testing.assert_array_equal(result.X_extrapolate, X_out)
    np.testing.assert_array_equal(result.y_extrapolate, y_out)
    assert result.X_extrapolate.min() >= 2.0 and result.X_extrapolate.max() <= 3.0
    # Every candidate scored on the held-out rows and outside the range.
    assert table["test_rmse"].notna().all() and table["extrapolation_rmse"].notna().all()
    assert table["test_rmse"].nunique() == 4
    for activation in result.models:
        best = table[table["activation"] == activation].iloc[0]
        assert best["test_rmse"] == result.test_rmse[activation]
        assert best["extrapolation_rmse"] == result.extrapolation_rmse[activation]
