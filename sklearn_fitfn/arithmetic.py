"""The neural-arithmetic benchmark on square units (and log and exponential
units for division), beside the published units, for use from Python.
"""

from . import _moved_names
from ._commands import arithmetic as _runner
from ._commands.arithmetic import (
    ArithmeticResult,
    estimator_for,
    run_arithmetic,
    sparsity_error,
)

#: Success rates published for the 100-input task, extrapolation U[2, 6]:
#: Madsen & Johansen, "Neural Arithmetic Units" (ICLR 2020), 100 seeds each;
#: None where no figure is quoted here.
PUBLISHED = _runner.PUBLISHED

#: The Primer benchmark's training and extrapolation ranges for its 2-input
#: task (Mistry, Farrahi & Hare, JMLR 2022): pairs of (training, extrapolation)
#: ranges, an extrapolation range of two intervals where it surrounds the
#: training one.
PRIMER_RANGES = _runner.PRIMER_RANGES

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
