"""The linear-versus-nonlinear grid search, its summary and the best-straight-line floor."""

import contextlib
import dataclasses
import functools
import json
import math
import sys
import time
import warnings

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, ParameterGrid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.parallel import Parallel, delayed

from .._network.activations import LINEAR_NAMES, canonical_activation
from ..datasets import FUNCTIONS, make_function_data
from ..distributed import dask_backend
from ..formula import format_polynomial, to_polynomial
from ..model_selection import GridSearchCV
from .cluster import candidates_per_round, parallel_slots, redo_lost_work
from .settings import ExperimentSettings, InvalidExperiment
from .text import format_architecture, format_rmse

__all__ = [
    "run_experiment",
    "ExperimentSettings",
    "InvalidExperiment",
    "ExperimentResult",
    "build_pipeline",
    "least_squares_rmse",
    "analytic_linear_floor",
    "format_rmse",
    "format_architecture",
]

_MLP = "regressor__mlpfunctionregressor__"


def _converged(model, X, y):
    """Scorer: 1 if the model's network converged in its fit, else 0 (its fit
    raised MLPRegressor's ConvergenceWarning). X and y are not used."""
    return float(model.regressor_[-1].converged_)


_SCORING = {"rmse": "neg_root_mean_squared_error", "r2": "r2", "converged": _converged}


def build_pipeline(
    activation="relu",
    hidden_layer_sizes=(64, 64),
    *,
    max_iter=500,
    batch_size=100,
    learning_rate_init=1e-3,
    random_state=0,
    **params,
):
    """The canonical model: scaled X, scaled y, and an MLPFunctionRegressor.

    Predictions come back in the original units of y.

    Parameters
    ----------
    activation, hidden_layer_sizes, max_iter, batch_size, learning_rate_init,
    random_state, **params
        Passed to :class:`MLPFunctionRegressor`. The defaults are the
        canonical model: (64, 64), relu, Adam at 1e-3, batches of 100,
        500 epochs, no early stopping.

    Returns
    -------
    sklearn.compose.TransformedTargetRegressor
    """
    from .._regressor import MLPFunctionRegressor  # here: the settings need no TensorFlow

    params.setdefault("n_iter_no_change", max_iter)
    mlp = MLPFunctionRegressor(
        activation=activation,
        hidden_layer_sizes=hidden_layer_sizes,
        max_iter=max_iter,
        batch_size=batch_size,
        learning_rate_init=learning_rate_init,
        random_state=random_state,
        **params,
    )
    return TransformedTargetRegressor(
        make_pipeline(StandardScaler(), mlp), transformer=StandardScaler()
    )


def best_line_residuals(X, y):
    """The residuals of the best straight line (least squares with an intercept)
    through (X, y), in y's units."""
    design = np.column_stack([np.asarray(X, dtype=float), np.ones(len(X))])
    y = np.asarray(y, dtype=float)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return design @ coef - y


def least_squares_rmse(X, y):
    """RMSE of the best straight line (least squares with an intercept) on (X, y)."""
    return float(np.sqrt(np.mean(best_line_residuals(X, y) ** 2)))


#: The best line's RMSE on inputs uniform on [low, high], L = high - low, as
#: written for people (see :func:`analytic_linear_floor`).
ANALYTIC_FLOORS = {"squares": "L²/(6√5)", "products": "L²/12", "sums": "0"}


def analytic_linear_floor(function, low, high):
    """Best-line RMSE for inputs uniform on [low, high], where a closed form exists.

    For y = x², the residual of the best line is the centred parabola, whose
    RMSE is L²/(6√5) with L = high - low; for y = x1·x2 with independent
    inputs it is the product of the centred inputs, RMSE L²/12; sums are
    linear (0). Returns None for other functions.
    """
    width = high - low
    return {
        "squares": width**2 / (6 * math.sqrt(5)),
        "products": width**2 / 12,
        "sums": 0.0,
    }.get(function)


class _ReportingGridSearchCV(GridSearchCV):
    """The package's GridSearchCV, evaluating candidates a round at a time and
    reporting each.

    A round holds ``candidates_per_round`` candidates, so that its fits (one
    per candidate and fold) keep every parallel worker busy; the members of a
    round that share a network's shape train together.
    """

    report = None
    candidates_per_round = 1

    def _run_search(self, evaluate_candidates):
        evaluate_candidates = self._evaluated_together(evaluate_candidates)
        candidates = list(ParameterGrid(self.param_grid))
        step = self.candidates_per_round
        for start in range(0, len(candidates), step):
            results = evaluate_candidates(candidates[start : start + step])
            if self.report is not None:
                results = {**results, "mean_fit_time": self.seconds_per_fit(results)}
                for index in range(start, min(start + step, len(candidates))):
                    self.report(index + 1, len(candidates), candidates[index], results)

    def seconds_per_fit(self, results):
        """Each candidate's mean seconds per fit in ``results``, with the
        training its fits took before scikit-learn's loop fitted them (with
        their group, or on a cluster) counted in."""
        return results["mean_fit_time"] + np.asarray(self._training_seconds)


def _formula(model, X):
    """The formula a fitted model of square units computes, written out, with
    the terms that change no prediction on ``X`` by a millionth left out."""
    terms = to_polynomial(model, tol=0.0)
    reach = np.abs(np.asarray(X, dtype=float)).max(axis=0)
    size = {powers: abs(c) * np.prod(reach ** np.array(powers)) for powers, c in terms.items()}
    largest = max(size.values(), default=0.0)
    kept = {p: c for p, c in terms.items() if size[p] > 1e-6 * largest}
    # The inputs as FUNCTIONS names them: x, or x1, x2, ...
    names = ["x"] if len(reach) == 1 else [f"x{i + 1}" for i in range(len(reach))]
    return format_polynomial(kept, names=names)


def _describe(candidate):
    sizes = candidate[_MLP + "hidden_layer_sizes"]
    return candidate[_MLP + "activation"], format_architecture(sizes)


def _stderr_progress(index, total, candidate, results):
    activation, architecture = _describe(candidate)
    rmse = -results["mean_test_rmse"][index - 1]
    seconds = results["mean_fit_time"][index - 1]
    print(
        f"[{index}/{total}] {activation:>9} {architecture:<14} "
        f"CV RMSE {format_rmse(rmse)}  ({seconds:.1f} s per fit)",
        file=sys.stderr,
        flush=True,
    )


def _stderr_redo(attempt, attempts):
    print(
        "a Dask worker died with data its fits needed; running them again "
        f"(attempt {attempt} of {attempts})",
        file=sys.stderr,
        flush=True,
    )


@dataclasses.dataclass
class ExperimentResult:
    """What :func:`run_experiment` found.

    Attributes
    ----------
    function : str
    table : DataFrame
        One row per candidate, best first: activation, architecture, CV RMSE
        mean and std (original units), R² mean, mean seconds per fit (a
        group trained together shares its time equally among its fits), and
        ``converged`` (every cross-validation fit converged: none raised
        scikit-learn's ConvergenceWarning, which the run records instead of
        printing); with
        extrapolation also each candidate's held-out RMSE inside
        (``test_rmse``) and outside (``extrapolation_rmse``) the training range.
    linear_floor : float
        RMSE of the best straight line on the training data.
    held_out_floor : float
        RMSE of the best straight line on the held-out data: what a linear
        network's held-out RMSE (``test_rmse``) can never go below.
    analytic_floor : float or None
        The same from the closed form, where one exists.
    test_rmse : dict
        Held-out RMSE of the best model of each activation.
    samples : DataFrame
        A few test rows: inputs, Expected, Predicted and err per activation.
    models : dict
        The best model of each activation, refitted on all training data.
    search : GridSearchCV
    X_train, y_train, X_test, y_test : ndarray
    config : dict
        The settings of the run.
    extrapolation_rmse : dict or None
        RMSE of the best model of each activation outside the training range.
    extrapolation_samples : DataFrame or None
        A few rows from outside the training range, as ``samples``.
    X_extrapolate, y_extrapolate : ndarray or None
        The data from outside the training range.
    exact : dict
        For each activation, whether every held-out prediction rounds to the
        true (integer) value: ``{"inside": {...}, "outside": {...}}``, the
        second only with extrapolation.
    """

    function: str
    table: pd.DataFrame
    linear_floor: float
    held_out_floor: float
    analytic_floor: float | None
    test_rmse: dict
    samples: pd.DataFrame
    models: dict
    search: GridSearchCV
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    config: dict
    extrapolation_rmse: dict | None = None
    extrapolation_samples: pd.DataFrame | None = None
    X_extrapolate: np.ndarray | None = None
    y_extrapolate: np.ndarray | None = None
    exact: dict = dataclasses.field(default_factory=dict)

    def ranking(self, columns=None):
        """The ranking table as ``fitfn`` prints it: errors as people read them
        (``624.5``, ``3.2e-13``), R² to six decimals, seconds to two.

        Parameters
        ----------
        columns : list of str, optional
            The table's columns to show; all by default.

        Returns
        -------
        str
        """
        formats = {
            "cv_rmse_mean": format_rmse,
            "cv_rmse_std": format_rmse,
            "cv_r2_mean": "{:.6f}".format,
            "fit_seconds": "{:.2f}".format,
            "test_rmse": format_rmse,
            "extrapolation_rmse": format_rmse,
        }
        table = self.table if columns is None else self.table[list(columns)]
        return table.to_string(index=False, formatters=formats)

    def verdict(self):
        """Plain sentences: each activation's held-out error against the best
        straight line's on the same held-out data."""
        formula = FUNCTIONS[self.function][2]
        # A floor this far below the spread of y means y is linear in x.
        linear_target = self.held_out_floor <= 1e-6 * np.std(self.y_test)
        lines = []
        for activation, rmse in self.test_rmse.items():
            exact = self.exact.get("inside", {}).get(activation)
            if exact:
                line = (
                    f"{activation}: exact, every held-out prediction rounds to the "
                    f"true value (RMSE {format_rmse(rmse)})"
                )
            else:
                line = f"{activation}: held-out RMSE {format_rmse(rmse)}"
            if activation in LINEAR_NAMES:
                judged = (
                    f"{formula} is linear, so a linear network fits it"
                    if linear_target
                    else f"a linear network cannot fit {formula}"
                )
                line += (
                    f"; the best straight line on the same data gets "
                    f"{format_rmse(self.held_out_floor)}: {judged}."
                )
            elif linear_target or exact:
                line += "."
            else:
                line += (
                    f" ({100 * rmse / self.held_out_floor:.1f}% of the best straight "
                    "line's error on the same data)."
                )
            if canonical_activation(activation) == "square":
                line += f" It computes {_formula(self.models[activation], self.X_train)}."
            if self.extrapolation_rmse is not None:
                outside = self.extrapolation_rmse[activation]
                low, high = self.config["extrapolate"]
                line += f" Outside the training range ({low}..{high}): "
                if self.exact["outside"][activation]:
                    line += f"exact too (RMSE {format_rmse(outside)})."
                else:
                    line += f"RMSE {format_rmse(outside)}"
                    line += f", {outside / rmse:,.0f} times its error inside." if rmse > 0 else "."
            lines.append(line)
        return "\n".join(lines)

    def convergence_note(self):
        """One line on the candidates whose fits did not converge, or None."""
        failed = int((~self.table["converged"]).sum())
        if not failed:
            return None
        max_iter = self.config["max_iter"]
        if self.config["solver"] == "lbfgs":
            why = (
                f"L-BFGS ended at max_iter ({max_iter} iterations), at max_fun or in its "
                "line search, before its convergence test was met"
            )
        else:
            why = (
                f"training used all {max_iter} epochs (max_iter) without the stopping rule "
                "ending it"
            )
        return (
            f"{failed} of {len(self.table)} candidates did not converge in every fold: {why} "
            "(scikit-learn's ConvergenceWarning; recorded in the 'converged' column, not printed)."
        )

    def summary(self):
        """A JSON-ready dictionary of everything but the fitted models."""
        return {
            "function": self.function,
            "config": self.config,
            "linear_floor_rmse": self.linear_floor,
            "held_out_floor_rmse": self.held_out_floor,
            "analytic_linear_floor_rmse": self.analytic_floor,
            "test_rmse": self.test_rmse,
            "extrapolation_rmse": self.extrapolation_rmse,
            "exact": self.exact,
            "ranking": self.table.to_dict(orient="records"),
            "samples": self.samples.to_dict(orient="records"),
            "extrapolation_samples": (
                None
                if self.extrapolation_samples is None
                else self.extrapolation_samples.to_dict(orient="records")
            ),
            "verdict": self.verdict(),
            "convergence": self.convergence_note(),
        }

    def to_json(self):
        """``summary()`` plus the grid search's ``cv_results_``, as JSON text."""
        cv_results = {
            key: [_plain(v) for v in values] for key, values in self.search.cv_results_.items()
        }
        return json.dumps({**self.summary(), "cv_results": cv_results}, indent=2)


def _plain(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _best_of_each(activations, cv_results):
    """Index of the best candidate (lowest CV RMSE) of each activation."""
    best = {}
    for activation in activations:
        scores = [
            (-cv_results["mean_test_rmse"][i], i)
            for i, c in enumerate(cv_results["params"])
            if c[_MLP + "activation"] == activation
        ]
        best[activation] = min(scores)[1]
    return best


def _rmse(predicted, y):
    return float(np.sqrt(np.mean((predicted - y) ** 2)))


def _fit_on(estimator, params, X, y):
    return clone(estimator).set_params(**params).fit(X, y)


def _rounds_exactly(predictions, y):
    """Per activation: y is integer-valued and every prediction rounds to it."""
    integers = np.array_equal(y, np.round(y))
    return {a: bool(integers and np.array_equal(np.round(p), y)) for a, p in predictions.items()}


def _sample_table(X, y, predictions, n_rows, random_state):
    """A few rows of X and y with each activation's prediction and error."""
    shown = np.random.default_rng(random_state).choice(
        len(X), size=min(n_rows, len(X)), replace=False
    )
    samples = pd.DataFrame(X[shown], columns=[f"x{i + 1}" for i in range(X.shape[1])])
    samples["Expected"] = y[shown]
    for activation, predicted in predictions.items():
        samples[f"Predicted ({activation})"] = np.round(predicted[shown], 1)
        # + 0.0: an error that rounds to zero is 0.0, not -0.0.
        samples[f"err ({activation})"] = np.round(predicted[shown] - y[shown], 1) + 0.0
    return samples


def run_experiment(function="squares", *, progress=True, **settings):
    """Grid-search activation × architecture on a function and compare to a line.

    Training data come from ``make_function_data(function, ...,
    random_state=random_state)``, test data from the same range with
    ``random_state + 1``: with the defaults, the canonical squares workload.

    Parameters
    ----------
    function : str, default="squares"
        One of :data:`sklearn_fitfn.datasets.FUNCTIONS`.
    progress : bool or callable, default=True
        Print a line per finished candidate on stderr, or call
        ``progress(index, total, candidate, cv_results)``, where
        ``cv_results`` holds every candidate up to ``index`` (1-based).
    **settings
        The fields of :class:`ExperimentSettings`, by keyword, with its
        defaults: ``n_samples``, ``low``, ``high``, ``cv``, ``max_iter``,
        ``activations``, ``architectures``, ``solver``, ``alpha``, ``tol``,
        ``extrapolate``, ``random_state``, ``n_jobs``, ``scheduler``,
        ``n_workers``, ``n_samples_shown``.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    InvalidExperiment
        A ValueError naming the first setting that cannot be run, before any fit.
    """
    settings = ExperimentSettings(**settings)
    X_train, y_train = make_function_data(
        function,
        settings.n_samples,
        low=settings.low,
        high=settings.high,
        random_state=settings.random_state,
    )
    X_test, y_test = make_function_data(
        function,
        settings.n_samples,
        low=settings.low,
        high=settings.high,
        random_state=settings.random_state + 1,
    )
    started = time.perf_counter()
    search, fitted = _search(settings, X_train, y_train, progress)
    summary = _summarise(function, settings, search, fitted, (X_test, y_test))
    config = dict(settings.config(), seconds=round(time.perf_counter() - started, 1))
    return ExperimentResult(
        function=function,
        linear_floor=least_squares_rmse(X_train, y_train),
        held_out_floor=least_squares_rmse(X_test, y_test),
        analytic_floor=analytic_linear_floor(function, settings.low, settings.high),
        search=search,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        config=config,
        **summary,
    )


def _search(settings, X, y, progress):
    """Cross-validate every candidate, then refit on all of ``(X, y)`` those
    that will be scored on held-out rows: the best of each activation, or
    every candidate with extrapolation. Returns the search and the fitted
    candidates by index."""
    grid = {
        _MLP + "activation": list(settings.activations),
        _MLP + "hidden_layer_sizes": list(settings.architectures),
    }
    model = build_pipeline(
        max_iter=settings.max_iter,
        random_state=settings.random_state,
        solver=settings.solver,
        alpha=settings.alpha,
        tol=settings.tol,
    )
    # On one machine, parallel fits run in threads unless the caller chose a
    # joblib backend: TensorFlow releases the GIL while it trains, and a thread
    # needs no second copy of TensorFlow (a process worker imports it anew
    # before its first fit: seconds, docs/performance.md).
    with contextlib.ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        # Recorded per candidate (the "converged" column) instead of printed;
        # scikit-learn's parallel fits apply the caller's filters too.
        warnings.simplefilter("ignore", ConvergenceWarning)
        # batch_size=100 is more than a small fold holds; clipping it is intended.
        warnings.filterwarnings("ignore", "Got `batch_size`", UserWarning)
        if settings.scheduler is None:
            stack.enter_context(joblib.parallel_config(prefer="threads"))
            client = None
        else:
            backend = dask_backend(settings.scheduler, n_workers=settings.n_workers)
            client = stack.enter_context(backend)
        fit_jobs = settings.n_jobs if client is None else -1  # -1: every worker of the cluster
        if progress is True and client is not None:
            print(
                f"running the fits on the Dask cluster at {client.scheduler.address} "
                f"({len(client.nthreads())} workers)",
                file=sys.stderr,
                flush=True,
            )
        search = _ReportingGridSearchCV(
            model,
            grid,
            scoring=_SCORING,
            refit="rmse",
            cv=KFold(settings.cv, shuffle=True, random_state=settings.random_state),
            n_jobs=fit_jobs,
        )
        slots = parallel_slots(client, settings.n_jobs)
        search.candidates_per_round = candidates_per_round(slots, settings.cv)
        if progress:
            search.report = _stderr_progress if progress is True else progress
        redo = functools.partial(
            redo_lost_work, client, report=_stderr_redo if progress is True else None
        )
        redo(lambda: search.fit(X, y))
        candidates = search.cv_results_["params"]
        best_of = _best_of_each(settings.activations, search.cv_results_)
        to_fit = range(len(candidates)) if settings.extrapolate is not None else best_of.values()
        to_fit = [i for i in dict.fromkeys(to_fit) if i != search.best_index_]
        if progress is True and to_fit:
            print(
                f"refitting {len(to_fit)} more candidate(s) on all training data",
                file=sys.stderr,
                flush=True,
            )
        refitted = redo(
            lambda: Parallel(n_jobs=fit_jobs)(
                delayed(_fit_on)(search.estimator, candidates[i], X, y) for i in to_fit
            )
        )
    fitted = dict(zip(to_fit, refitted))
    fitted[search.best_index_] = search.best_estimator_
    return search, fitted


def _summarise(function, settings, search, fitted, test):
    """The ranked table, the best model of each activation, its held-out
    errors and sample rows (and the same outside the training range)."""
    X_test, y_test = test
    results, candidates = search.cv_results_, search.cv_results_["params"]
    table = pd.DataFrame(
        {
            "activation": [_describe(c)[0] for c in candidates],
            "architecture": [_describe(c)[1] for c in candidates],
            "cv_rmse_mean": -results["mean_test_rmse"],
            "cv_rmse_std": results["std_test_rmse"],
            "cv_r2_mean": results["mean_test_r2"],
            "fit_seconds": search.seconds_per_fit(results),
            "converged": results["mean_test_converged"] == 1,
        }
    )
    X_out = y_out = None
    if settings.extrapolate is not None:
        X_out, y_out = make_function_data(
            function,
            settings.n_samples,
            low=settings.extrapolate[0],
            high=settings.extrapolate[1],
            random_state=settings.random_state + 2,
        )
        table["test_rmse"] = [
            _rmse(fitted[i].predict(X_test), y_test) for i in range(len(candidates))
        ]
        table["extrapolation_rmse"] = [
            _rmse(fitted[i].predict(X_out), y_out) for i in range(len(candidates))
        ]
    table = table.sort_values("cv_rmse_mean", kind="stable").reset_index(drop=True)

    best_of = _best_of_each(settings.activations, results)
    models = {activation: fitted[i] for activation, i in best_of.items()}
    predictions = {a: m.predict(X_test) for a, m in models.items()}
    shown, seed = settings.n_samples_shown, settings.random_state
    summary = dict(
        table=table,
        models=models,
        test_rmse={a: _rmse(p, y_test) for a, p in predictions.items()},
        samples=_sample_table(X_test, y_test, predictions, shown, seed),
        exact={"inside": _rounds_exactly(predictions, y_test)},
        extrapolation_rmse=None,
        extrapolation_samples=None,
        X_extrapolate=X_out,
        y_extrapolate=y_out,
    )
    if settings.extrapolate is not None:
        outside = {a: m.predict(X_out) for a, m in models.items()}
        summary["exact"]["outside"] = _rounds_exactly(outside, y_out)
        summary["extrapolation_rmse"] = {a: _rmse(p, y_out) for a, p in outside.items()}
        summary["extrapolation_samples"] = _sample_table(X_out, y_out, outside, shown, seed)
    return summary
