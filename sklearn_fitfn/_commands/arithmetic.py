"""The neural-arithmetic benchmark, run on square units, beside the published units.

Each seed draws the benchmark's task (:func:`sklearn_fitfn.datasets.make_arithmetic`),
fits one hidden layer of square units with L-BFGS (which starts from the
least-squares quadratic) on the training range, and succeeds when its MSE on
the extrapolation range is below the paper's threshold
(:func:`sklearn_fitfn.datasets.arithmetic_success_threshold`). The success
rate comes with its Wilson 95% interval, as Madsen & Johansen report theirs.
Where that threshold vanishes (``add`` on the Primer's 2 inputs: its
near-perfect solution is exact, so the threshold is float64's round-off), an
MSE below ``(1e-9 · RMS of y)²``, predictions that agree with y to 9
significant digits, counts as exact.
"""

import dataclasses
import json
import math
import numbers
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from .._network.polynomial import Ratio, check_expansion_size, format_polynomial, term_order
from ..datasets import (
    _operation_function,
    arithmetic_success_threshold,
    make_arithmetic,
)

__all__ = [
    "estimator_for",
    "run_arithmetic",
    "ArithmeticResult",
    "sparsity_error",
    "PUBLISHED",
    "PRIMER_RANGES",
]

# Documented where users import it: sklearn_fitfn.arithmetic.PUBLISHED.
PUBLISHED = {
    "mul": {"NMU": 0.98, "NAC•": 0.31, "NALU": 0.0, "linear": 0.0, "relu": 0.0},
    "square": {"NMU": 1.0, "NAC•": None, "NALU": None, "linear": None, "relu": None},
    # Division: 0% for every unit the paper tries on it.
    "div": {"every unit tried": 0.0},
}

# Documented where users import it: sklearn_fitfn.arithmetic.PRIMER_RANGES.
PRIMER_RANGES = (
    ((-20, -10), (-40, -20)),
    ((-2, -1), (-6, -2)),
    ((-1.2, -1.1), (-6.1, -1.2)),
    ((-0.2, -0.1), (-2, -0.2)),
    ((-2, 2), ((-6, -2), (2, 6))),
    ((0.1, 0.2), (0.2, 2)),
    ((1, 2), (2, 6)),
    ((1.1, 1.2), (1.2, 6)),
    ((10, 20), (20, 40)),
)

#: The 100-input task (windows of 25 overlapping by 12) and the Primer's 2-input one.
TASKS = {
    False: dict(n_features=100, subset_ratio=0.25, overlap_ratio=0.5),
    True: dict(n_features=2, subset_ratio=0.5, overlap_ratio=0.0),
}


def percent(share):
    """A share as a percentage: to one decimal near 0% and 100%, where a whole
    number would round 99.6% up to 100% or 0.4% down to 0%."""
    value = round(100 * share, 1)
    return f"{value:.1f}" if 0 < value < 1 or 99 < value < 100 else f"{value:.0f}"


def sparsity_error(terms):
    """How far a recovered polynomial is from one with integer coefficients:
    the largest distance of a coefficient to its nearest integer.

    The paper's sparsity error measures how far each weight of an arithmetic
    unit is from 0 or ±1; square units' weights have no such target, but the
    polynomial they compute does (the exact formula's coefficients are small
    integers), so it is measured there, over every term the network has.
    """
    if isinstance(terms, Ratio):
        return max(sparsity_error(part) for part in terms)
    coefficients = np.array(list(terms.values()) or [0.0])
    return float(np.max(np.abs(coefficients - np.round(coefficients))))


@dataclasses.dataclass
class ArithmeticResult:
    """The benchmark's outcome, seed by seed.

    Attributes
    ----------
    operation : str
    primer : bool
        The Primer's 2-input task over its nine ranges, rather than the
        100-input task on U[1, 2] / U[2, 6].
    table : pandas.DataFrame
        One row per seed (and range): the windows, the extrapolation MSE, the
        threshold, success, seconds, sparsity error.
    formula : str
        The polynomial recovered on the first seed.
    config : dict
        The settings of the run.
    """

    operation: str
    primer: bool
    table: pd.DataFrame
    formula: str
    config: dict

    @property
    def successes(self):
        return int(self.table["success"].sum())

    @property
    def success_rate(self):
        return self.successes / len(self.table)

    def wilson_interval(self):
        """The success rate's Wilson 95% interval, as Madsen & Johansen report theirs.

        Returns
        -------
        (float, float)
            Its lower and upper ends.
        """
        interval = binomtest(self.successes, len(self.table)).proportion_ci(method="wilson")
        return float(interval.low), float(interval.high)

    def summary(self):
        """The figures of the run, as plain values."""
        low, high = self.wilson_interval()
        return {
            "operation": self.operation,
            "task": "primer" if self.primer else "100 inputs, U[1,2] / U[2,6]",
            "fits": len(self.table),
            "successes": self.successes,
            "success_rate": self.success_rate,
            "wilson_95": [low, high],
            "median_seconds": float(self.table["seconds"].median()),
            "max_seconds": float(self.table["seconds"].max()),
            "max_sparsity_error": float(self.table["sparsity_error"].max()),
            "formula_of_first_seed": self.formula,
            "published": None if self.primer else PUBLISHED.get(self.operation),
        }

    def report(self):
        """The verdict in plain lines, beside the published units' figures."""
        s = self.summary()
        low, high = s["wilson_95"]
        lines = [
            f"{self.operation}, {s['task']}: {units_of(self.operation)} "
            f"and L-BFGS succeed on "
            f"{s['successes']} of {s['fits']} ({percent(s['success_rate'])}%, Wilson 95% "
            f"interval {percent(low)}-{percent(high)}%), median {s['median_seconds']:.1f} s "
            f"a fit (longest {s['max_seconds']:.1f} s), sparsity error at most "
            f"{s['max_sparsity_error']:.1e}.",
            f"formula of the first seed: {self.formula}",
        ]
        if s["published"]:
            quoted = ", ".join(
                f"{unit} {100 * rate:.0f}%"
                for unit, rate in s["published"].items()
                if rate is not None
            )
            lines.append(f"published (Madsen & Johansen 2020, 100 seeds): {quoted}")
        refused = self.table[self.table["refused"] != ""] if "refused" in self.table else []
        if len(refused):
            ranges = ", ".join(f"U{r}" for r in sorted(set(refused["train"])))
            lines.append(
                f"not solved, and counted so: {len(refused)} fit(s) on {ranges}, whose rows "
                "cross b = 0, where a / b is unbounded: a log unit cannot take a denominator "
                "of both signs, so the fit is refused rather than trained."
            )
        return "\n".join(lines)

    def markdown(self):
        """The outcome as a paragraph of the docs: the figures that do not
        depend on the machine (no timings)."""
        s = self.summary()
        low, high = s["wilson_95"]
        thresholds = self.table["threshold"]
        refused = int((self.table["refused"] != "").sum()) if "refused" in self.table else 0
        crossing = (
            f" {refused} fits refused, and counted as not solved: their rows cross b = 0."
            if refused
            else ""
        )
        return (
            f"- **{self.operation}**, {s['task']}: solved in {s['successes']} of {s['fits']} fits "
            f"(Wilson 95% interval {percent(low)}-{percent(high)}%); largest extrapolation MSE "
            f"{self.table['mse'].max():.1e}, against thresholds of {thresholds.min():.2g} to "
            f"{thresholds.max():.2g}; sparsity error at most {s['max_sparsity_error']:.1e}."
            f"{crossing} The first seed's network computes `{self.formula}`.\n"
        )

    def to_json(self):
        """The summary and the per-seed table as JSON, every float to its last
        digit (a refused fit's missing MSE as null)."""
        # Not pandas' to_json: it keeps 10 decimals, so a solved fit's MSE of 1e-12 read 0.
        rows = [
            {key: None if _is_nan(value) else value for key, value in row.items()}
            for row in self.table.to_dict(orient="records")
        ]
        return json.dumps({**self.summary(), "config": self.config, "fits": rows}, indent=2)


def _is_nan(value):
    return isinstance(value, float) and math.isnan(value)


#: Added to a seed for its extrapolation data, so that no seed's training
#: draws are another seed's extrapolation draws.
_HELD_OUT_SEEDS = 1_000_000

#: Terms of a recovered formula written out; the rest are counted.
_TERMS_SHOWN = 6


def _written_side(terms, names):
    """One polynomial, its smallest terms (below 1e-6) left out, and a long
    one cut after :data:`_TERMS_SHOWN` terms with the count of the rest."""
    kept = {p: c for p, c in terms.items() if abs(c) > 1e-6}
    ordered = sorted(kept.items(), key=lambda item: term_order(item[0]))
    text = format_polynomial(dict(ordered[:_TERMS_SHOWN]), names=names)[4:]
    if len(ordered) > _TERMS_SHOWN:
        values = sorted({round(c, 6) for c in kept.values()})
        text += f" + … ({len(ordered)} terms in all, coefficients {values})"
    return text


def _written(formula, names):
    """A recovered formula, a polynomial or a ratio, each polynomial written
    as :func:`_written_side` writes it."""
    if isinstance(formula, Ratio):
        above, below = (_written_side(part, names) for part in formula)
        return f"y = ({above}) / ({below})"
    return "y = " + _written_side(formula, names)


def units_of(operation):
    """What learns ``operation``, as the verdict and the figure name it."""
    return "log and exponential units" if operation == "div" else "square units"


def estimator_for(operation, random_state=None, *, hidden=2):
    """The unfitted network that ``fitfn arithmetic`` fits for ``operation``.

    ``a + b``, ``a - b``, ``a · b`` and ``a²`` are quadratics of the inputs:
    one hidden layer of ``hidden`` square units, trained by L-BFGS from the
    least-squares quadratic. ``a / b`` is a ratio of two linear forms: two
    log units under one exponential unit, ``exp(log a - log b)``, trained by
    L-BFGS from the least-squares ratio.

    Parameters
    ----------
    operation : {"add", "sub", "mul", "square", "div"}
    random_state : int, RandomState instance or None, default=None
    hidden : int, default=2
        Square units, for the operations other than ``"div"``.

    Returns
    -------
    MLPFunctionRegressor

    Examples
    --------
    >>> from sklearn_fitfn.arithmetic import estimator_for
    >>> from sklearn_fitfn.datasets import make_arithmetic
    >>> X, y, windows = make_arithmetic(1000, "div", random_state=0)
    >>> net = estimator_for("div", random_state=0).fit(X, y)
    >>> X_far, y_far, _ = make_arithmetic(1000, "div", interval=(2, 6), random_state=1,
    ...                                   windows=windows)
    >>> bool(abs(net.predict(X_far) - y_far).max() < 1e-9)
    True
    """
    from .._regressor import MLPFunctionRegressor  # the task's data need no TensorFlow

    _operation_function(operation)
    if operation == "div":
        layers, activation = (2, 1), ("log", "exponential")
    else:
        layers, activation = (hidden,), "square"
    return MLPFunctionRegressor(
        hidden_layer_sizes=layers, activation=activation, solver="lbfgs", random_state=random_state
    )


def _fit_one(operation, task, ranges, seed, n_samples, hidden):
    """One seed: fit on the training range, score on the extrapolation range.

    A fit refused (log units on rows that cross ``b = 0``, the ratio's pole)
    is recorded as not solved, with the reason.
    """
    train, extrapolation = ranges
    X, y, windows = make_arithmetic(n_samples, operation, interval=train, random_state=seed, **task)
    X_out, y_out, _ = make_arithmetic(
        10_000,
        operation,
        interval=extrapolation,
        random_state=seed + _HELD_OUT_SEEDS,
        windows=windows,
        **task,
    )
    model = estimator_for(operation, seed, hidden=hidden)
    started = time.perf_counter()
    refused = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached: the MSE decides
        try:
            model.fit(X, y)
        except ValueError as error:
            refused = str(error)
    seconds = time.perf_counter() - started
    threshold = arithmetic_success_threshold(
        operation,
        windows,
        n_features=task["n_features"],
        interval=extrapolation,
        n_samples=100_000,
        random_state=seed,
    )
    row = {
        "seed": seed,
        "train": str(train),
        "extrapolation": str(extrapolation),
        "a": str(windows.a),
        "b": str(windows.b),
        "mse": float("nan"),
        "threshold": threshold,
        "success": False,
        "seconds": seconds,
        "sparsity_error": float("nan"),
        "refused": refused or "",
    }
    if refused is not None:
        return row, None
    mse = float(np.mean((model.predict(X_out) - y_out) ** 2))
    # Where the paper's threshold vanishes (a+b on 2 inputs: the near-perfect
    # solution is exact), predictions that agree with y to 9 digits are exact.
    round_off = float((1e-9 * np.sqrt(np.mean(y_out**2))) ** 2)
    formula = model.to_formula(tol=0.0)
    row.update(
        mse=mse,
        success=bool(mse < max(threshold, round_off)),
        sparsity_error=sparsity_error(formula),
    )
    return row, formula


def check_arithmetic(operation, seeds, *, primer=False, hidden=2):
    """Refuse, before any work, a benchmark that cannot run: an unknown
    operation, seeds that are not 1 to 2**32 (NumPy's seeds are 0 to
    2**32 - 1), or more square units than the formula's read-back allows.

    Raises
    ------
    ValueError
        Naming the setting and its bound.
    """
    _operation_function(operation)
    for name, value in (("seeds", seeds), ("hidden", hidden)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if seeds > 2**32:
        raise ValueError(
            f"seeds must be at most 2**32 (NumPy's seeds are 0 to 2**32 - 1); got {seeds}"
        )
    try:
        check_expansion_size([hidden], ("square",), TASKS[bool(primer)]["n_features"])
    except ValueError as error:
        message = f"hidden={hidden} square units are too many to read back: {error}"
        raise ValueError(message) from None


def run_arithmetic(operation="mul", seeds=10, *, primer=False, hidden=2, progress=True):
    """Run the benchmark on square units: one fit per seed (and Primer range).

    Parameters
    ----------
    operation : {"add", "sub", "mul", "square", "div"}, default="mul"
    seeds : int, default=10
        Seeds 0 to ``seeds - 1``; with ``primer``, for each of the nine ranges.
    primer : bool, default=False
        The Primer's 2-input task over :data:`PRIMER_RANGES`, rather than the
        100-input task on U[1, 2] with extrapolation on U[2, 6].
    hidden : int, default=2
        Square units in the hidden layer.
    progress : bool, default=True
        A line per fit on stderr.

    Returns
    -------
    ArithmeticResult
    """
    check_arithmetic(operation, seeds, primer=primer, hidden=hidden)
    task = TASKS[bool(primer)]
    ranges = PRIMER_RANGES if primer else (((1, 2), (2, 6)),)
    # Enough rows to determine the quadratic of the inputs, with a tenth to spare.
    n_samples = max(1000, (task["n_features"] + 1) * (task["n_features"] + 2) // 2 * 11 // 10)
    rows, formula = [], None
    n_runs = len(ranges) * seeds
    runs = ((pair, seed) for pair in ranges for seed in range(seeds))  # not listed up front
    for index, (pair, seed) in enumerate(runs, 1):
        row, terms = _fit_one(operation, task, pair, seed, n_samples, hidden)
        if formula is None and terms is not None:
            formula = _written(terms, names=None)
        rows.append(row)
        if progress:
            outcome = (
                f"MSE {row['mse']:.2e} (threshold {row['threshold']:.2e}) "
                f"{'solved' if row['success'] else 'not solved'}"
                if not row["refused"]
                else "refused (log units need one sign), not solved"
            )
            print(
                f"[{index}/{n_runs}] seed {seed} {row['train']} -> {row['extrapolation']}: "
                f"{outcome}, {row['seconds']:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    config = dict(
        operation=operation, seeds=seeds, primer=bool(primer), hidden=hidden, n_samples=n_samples
    )
    return ArithmeticResult(operation, bool(primer), pd.DataFrame(rows), formula, config)
