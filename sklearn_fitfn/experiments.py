"""The grid search behind ``fitfn squares``, ``sums``, ``products``,
``cubes`` and ``sine``, for use from Python: the linear-versus-nonlinear
search, its summary and the best straight line's error.
"""

from . import _moved_names
from ._commands.experiments import (
    ExperimentResult,
    analytic_linear_floor,
    build_pipeline,
    least_squares_rmse,
    run_experiment,
)
from ._commands.settings import ExperimentSettings, InvalidExperiment

__all__ = [
    "ExperimentResult",
    "analytic_linear_floor",
    "build_pipeline",
    "least_squares_rmse",
    "run_experiment",
    "ExperimentSettings",
    "InvalidExperiment",
]

__getattr__ = _moved_names(
    __name__,
    {
        "format_rmse": "a helper of fitfn's reports (write f'{value:,.1f}')",
        "format_architecture": (
            "a helper of fitfn's reports (write str(tuple(hidden_layer_sizes)))"
        ),
    },
)
