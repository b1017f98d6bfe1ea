"""The linear-versus-nonlinear grid search, its summary and the best-straight-line floor."""

import dataclasses
import json
import math
import sys
import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, KFold, ParameterGrid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._activations import LINEAR_NAMES
from ._regressor import MLPFunctionRegressor
from .datasets import FUNCTIONS, make_function_data

_MLP = "regressor__mlpfunctionregressor__"
_SCORING = {"rmse": "neg_root_mean_squared_error", "r2": "r2"}


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


def least_squares_rmse(X, y):
    """RMSE of the best straight line (least squares with an intercept) on (X, y)."""
    design = np.column_stack([np.asarray(X, dtype=float), np.ones(len(X))])
    coef, *_ = np.linalg.lstsq(design, np.asarray(y, dtype=float), rcond=None)
    return float(np.sqrt(np.mean((design @ coef - y) ** 2)))


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
    """GridSearchCV that evaluates one candidate at a time and reports each."""

    report = None

    def _run_search(self, evaluate_candidates):
        candidates = list(ParameterGrid(self.param_grid))
        for index, candidate in enumerate(candidates, 1):
            results = evaluate_candidates([candidate])
            if self.report is not None:
                self.report(index, len(candidates), candidate, results)


def format_architecture(hidden_layer_sizes):
    """Write hidden layer sizes as people do: ``(64, 64)``, ``(16)``."""
    return "(" + ", ".join(map(str, hidden_layer_sizes)) + ")"


def _describe(candidate):
    sizes = candidate[_MLP + "hidden_layer_sizes"]
    return candidate[_MLP + "activation"], format_architecture(sizes)


def _stderr_progress(index, total, candidate, results):
    activation, architecture = _describe(candidate)
    rmse = -results["mean_test_rmse"][-1]
    seconds = results["mean_fit_time"][-1]
    print(
        f"[{index}/{total}] {activation:>9} {architecture:<14} "
        f"CV RMSE {rmse:,.1f}  ({seconds:.1f} s per fit)",
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
        mean and std (original units), R² mean, mean fit seconds.
    linear_floor : float
        RMSE of the best straight line on the training data.
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
    """

    function: str
    table: pd.DataFrame
    linear_floor: float
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

    def verdict(self):
        """Plain sentences: each activation's error against the best straight line."""
        formula = FUNCTIONS[self.function][2]
        # A floor this far below the spread of y means y is linear in x.
        linear_target = self.linear_floor <= 1e-6 * np.std(self.y_train)
        lines = []
        for activation, rmse in self.test_rmse.items():
            if activation in LINEAR_NAMES:
                judged = (
                    f"{formula} is linear, so a linear network fits it"
                    if linear_target
                    else f"a linear network cannot fit {formula}"
                )
                lines.append(
                    f"{activation}: RMSE {rmse:,.1f}, the best straight line gets "
                    f"{self.linear_floor:,.1f}: {judged}."
                )
            elif linear_target:
                lines.append(f"{activation}: RMSE {rmse:,.1f}.")
            else:
                lines.append(
                    f"{activation}: RMSE {rmse:,.1f} "
                    f"({100 * rmse / self.linear_floor:.1f}% of the best straight line's error)."
                )
        return "\n".join(lines)

    def summary(self):
        """A JSON-ready dictionary of everything but the fitted models."""
        return {
            "function": self.function,
            "config": self.config,
            "linear_floor_rmse": self.linear_floor,
            "analytic_linear_floor_rmse": self.analytic_floor,
            "test_rmse": self.test_rmse,
            "ranking": self.table.to_dict(orient="records"),
            "samples": self.samples.to_dict(orient="records"),
            "verdict": self.verdict(),
        }

    def to_json(self):
        """``summary()`` plus the grid search's ``cv_results_``, as JSON text."""
        cv_results = {
            key: [_plain(v) for v in values]
            for key, values in self.search.cv_results_.items()
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


def run_experiment(
    function="squares",
    *,
    n_samples=1000,
    low=1,
    high=1000,
    cv=3,
    max_iter=500,
    activations=("identity", "relu"),
    architectures=((16,), (64, 64)),
    random_state=0,
    n_jobs=None,
    n_samples_shown=8,
    progress=True,
):
    """Grid-search activation × architecture on a function and compare to a line.

    Training data come from ``make_function_data(function, ...,
    random_state=random_state)``, test data from the same range with
    ``random_state + 1``: with the defaults, the canonical squares workload.

    Parameters
    ----------
    function : str, default="squares"
        One of :data:`sklearn_fitfn.datasets.FUNCTIONS`.
    n_samples : int, default=1000
        Rows of training data (and of test data).
    low, high : float, default=1, 1000
        Range of the integer inputs.
    cv : int, default=3
        Number of cross-validation folds (shuffled, seeded).
    max_iter : int, default=500
        Epochs per fit.
    activations : sequence of str, default=("identity", "relu")
    architectures : sequence of tuple of int, default=((16,), (64, 64))
    random_state : int, default=0
    n_jobs : int or None, default=None
        Parallel fits, as in GridSearchCV.
    n_samples_shown : int, default=8
        Rows in the Expected / Predicted table.
    progress : bool or callable, default=True
        Print a line per finished candidate on stderr, or call
        ``progress(index, total, candidate, cv_results)``.

    Returns
    -------
    ExperimentResult
    """
    if cv < 2:
        raise ValueError(f"cv must be at least 2 folds; got {cv}")
    if n_samples < cv:
        raise ValueError(f"n_samples={n_samples} is fewer than the cv={cv} folds")
    if not activations or not architectures:
        raise ValueError("give at least one activation and one architecture")
    X_train, y_train = make_function_data(
        function, n_samples, low=low, high=high, random_state=random_state
    )
    X_test, y_test = make_function_data(
        function, n_samples, low=low, high=high, random_state=random_state + 1
    )
    grid = {
        _MLP + "activation": list(activations),
        _MLP + "hidden_layer_sizes": [tuple(a) for a in architectures],
    }
    search = _ReportingGridSearchCV(
        build_pipeline(max_iter=max_iter, random_state=random_state),
        grid,
        scoring=_SCORING,
        refit="rmse",
        cv=KFold(cv, shuffle=True, random_state=random_state),
        n_jobs=n_jobs,
    )
    if progress:
        search.report = _stderr_progress if progress is True else progress
    started = time.perf_counter()
    search.fit(X_train, y_train)

    results = search.cv_results_
    candidates = results["params"]
    table = pd.DataFrame(
        {
            "activation": [_describe(c)[0] for c in candidates],
            "architecture": [_describe(c)[1] for c in candidates],
            "cv_rmse_mean": -results["mean_test_rmse"],
            "cv_rmse_std": results["std_test_rmse"],
            "cv_r2_mean": results["mean_test_r2"],
            "fit_seconds": results["mean_fit_time"],
        }
    )
    table = table.sort_values("cv_rmse_mean", kind="stable").reset_index(drop=True)

    models, test_rmse, predictions = {}, {}, {}
    for activation in activations:
        scores = [
            (-results["mean_test_rmse"][i], i)
            for i, c in enumerate(candidates)
            if c[_MLP + "activation"] == activation
        ]
        best = candidates[min(scores)[1]]
        if best == search.best_params_:
            model = search.best_estimator_
        else:
            model = clone(search.estimator).set_params(**best).fit(X_train, y_train)
        models[activation] = model
        predictions[activation] = model.predict(X_test)
        test_rmse[activation] = float(np.sqrt(np.mean((predictions[activation] - y_test) ** 2)))

    shown = np.random.default_rng(random_state).choice(
        len(X_test), size=min(n_samples_shown, len(X_test)), replace=False
    )
    samples = pd.DataFrame(
        X_test[shown], columns=[f"x{i + 1}" for i in range(X_test.shape[1])]
    )
    samples["Expected"] = y_test[shown]
    for activation in activations:
        samples[f"Predicted ({activation})"] = np.round(predictions[activation][shown], 1)
        samples[f"err ({activation})"] = np.round(
            predictions[activation][shown] - y_test[shown], 1
        )

    config = dict(
        n_samples=n_samples, low=low, high=high, cv=cv, max_iter=max_iter,
        activations=list(activations), architectures=[list(a) for a in architectures],
        random_state=random_state, n_jobs=n_jobs,
        seconds=round(time.perf_counter() - started, 1),
    )  # fmt: skip
    return ExperimentResult(
        function=function,
        table=table,
        linear_floor=least_squares_rmse(X_train, y_train),
        analytic_floor=analytic_linear_floor(function, low, high),
        test_rmse=test_rmse,
        samples=samples,
        models=models,
        search=search,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        config=config,
    )
