"""The neural-arithmetic benchmark on square units (and log and exponential
units for division), beside the published units, for use from Python.
"""

from . import _moved_names
from ._commands.arithmetic import (
    PRIMER_RANGES,
    PUBLISHED,
    ArithmeticResult,
    estimator_for,
    run_arithmetic,
    sparsity_error,
)

__all__ = [
    "PRIMER_RANGES",
    "PUBLISHED",
    "ArithmeticResult",
    "estimator_for",
    "run_arithmetic",
    "sparsity_error",
]

__getattr__ = _moved_names(
    __name__,
    {
        "wilson_interval": (
            "use scipy.stats.binomtest(successes, trials).proportion_ci(method='wilson')"
        )
    },
)
