"""The neural-arithmetic benchmark over many seeds, and what the quadratic start costs.

Runs ``sklearn_fitfn.arithmetic.run_arithmetic`` (the same runs as ``fitfn
arithmetic``) on the 100-input task for ``mul``, ``square`` and ``div`` over
100 seeds, and for ``add`` and ``sub`` over 20; the Primer's 2-input task on
its nine ranges for every operation over 100 seeds (division's range that
crosses zero on its own row); division's baselines, relu and identity
networks on the 100-input task over 20 seeds; then times the least-squares
quadratic (the start of square units with L-BFGS) and measures its peak
memory as the number of inputs grows, each size in a fresh process.

    python benchmarks/bench_arithmetic.py          # about 20 minutes; writes ARITHMETIC.md
    python benchmarks/bench_arithmetic.py --quick  # 3 seeds, small sizes
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_COST = """
import json, sys, time, tracemalloc
import numpy as np
from sklearn_fitfn._training.quadratic_start import fit_quadratic, n_monomials
d = int(sys.argv[1])
n = n_monomials(d) * 11 // 10
rng = np.random.default_rng(0)
X = rng.uniform(1, 2, size=(n, d))
y = X[:, 0] * X[:, -1]
tracemalloc.start()  # NumPy reports its arrays to tracemalloc
started = time.perf_counter()
fit_quadratic(X, y, None)
seconds = time.perf_counter() - started
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"inputs": d, "coefficients": n_monomials(d), "rows": n,
                  "seconds": seconds, "peak_mb": peak / 2**20}))
"""


def _benchmark_rows(quick):
    from sklearn_fitfn._commands.arithmetic import percent
    from sklearn_fitfn.arithmetic import run_arithmetic

    many, few = (3, 3) if quick else (100, 20)
    plan = [
        (op, many if op in ("mul", "square", "div") else few, False)
        for op in ("mul", "square", "add", "sub", "div")
    ]
    plan += [(op, many, True) for op in ("mul", "square", "add", "sub", "div")]
    rows = []
    for operation, seeds, primer in plan:
        result = run_arithmetic(operation, seeds, primer=primer, progress=False)
        table = result.table
        parts = [("Primer, 9 ranges" if primer else "100 inputs", table)]
        if primer and operation == "div":  # the range that crosses b = 0 on its own row
            crossing = table["train"] == "(-2, 2)"
            parts = [("Primer, 8 ranges of one sign", table[~crossing])]
            parts += [("Primer, U(-2, 2): b crosses 0", table[crossing])]
        for task, part in parts:
            rows.append(_row(operation, task, part, percent))
            print(rows[-1], flush=True)
    return rows


def _row(operation, task, table, percent):
    from scipy.stats import binomtest

    successes = int(table["success"].sum())
    interval = binomtest(successes, len(table)).proportion_ci(method="wilson")
    mse, sparsity = table["mse"].max(), table["sparsity_error"].max()
    return (
        f"| {operation} | {task} | {successes} / {len(table)} | "
        f"{percent(interval.low)}-{percent(interval.high)}% | "
        f"{table['seconds'].median():.2f} | {table['seconds'].max():.2f} | "
        f"{'refused' if mse != mse else f'{mse:.1e}'} | "
        f"{'-' if sparsity != sparsity else f'{sparsity:.1e}'} |"
    )


def _baseline_rows(quick):
    """relu and identity networks (Adam, the estimator's defaults) on the
    100-input division, beside the units made for it."""
    import warnings

    import numpy as np
    from scipy.stats import binomtest

    from sklearn_fitfn import MLPFunctionRegressor
    from sklearn_fitfn._commands.arithmetic import percent
    from sklearn_fitfn.datasets import arithmetic_success_threshold, make_arithmetic

    rows = []
    for name, activation in (("relu (100,)", "relu"), ("identity (100,)", "identity")):
        solved = []
        for seed in range(3 if quick else 20):
            X, y, windows = make_arithmetic(5666, "div", random_state=seed)
            X_far, y_far, _ = make_arithmetic(
                10_000, "div", interval=(2, 6), random_state=seed + 1_000_000, windows=windows
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                net = MLPFunctionRegressor(activation=activation, random_state=seed).fit(X, y)
            threshold = arithmetic_success_threshold(
                "div", windows, interval=(2, 6), n_samples=100_000, random_state=seed
            )
            solved.append(np.mean((net.predict(X_far) - y_far) ** 2) < threshold)
        interval = binomtest(sum(solved), len(solved)).proportion_ci(method="wilson")
        rows.append(
            f"| div | 100 inputs, {name}, Adam | {sum(solved)} / {len(solved)} | "
            f"{percent(interval.low)}-{percent(interval.high)}% |"
        )
        print(rows[-1], flush=True)
    return rows


def _cost_rows(quick):
    rows = []
    for inputs in (10, 25, 50) if quick else (10, 25, 50, 100, 150):
        out = subprocess.run(
            [sys.executable, "-c", _COST, str(inputs)],
            capture_output=True,
            text=True,
            check=True,
            timeout=3600,
        ).stdout
        cost = json.loads(out.strip().splitlines()[-1])
        rows.append(
            f"| {cost['inputs']} | {cost['coefficients']:,} | {cost['rows']:,} | "
            f"{cost['seconds']:.2f} | {cost['peak_mb']:,.0f} |"
        )
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from importlib.metadata import version

    lines = [
        "# The neural-arithmetic benchmark on square units, and log units for division",
        "",
        f"Produced by `python benchmarks/bench_arithmetic.py`: {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} CPUs, Python {platform.python_version()}, "
        f"TensorFlow {version('tensorflow')}, scikit-learn {version('scikit-learn')}.",
        "",
        'One hidden layer of 2 square units, `solver="lbfgs"`, every other parameter at '
        "its default; for `div`, two log units under one exponential unit "
        "(`sklearn_fitfn.arithmetic.estimator_for`). A seed succeeds when its MSE on the "
        "extrapolation range is below the paper's threshold (Madsen & Johansen 2020). The "
        "100-input task trains on U[1,2] and extrapolates to U[2,6]; the Primer's on each "
        "of its nine ranges. On U(-2, 2) the rows cross b = 0, where a / b is unbounded: "
        "the fit is refused (a log unit cannot take both signs) and counted as not solved.",
        "",
        "| operation | task | solved | Wilson 95% | median s a fit | longest s | largest MSE "
        "| largest sparsity error |",
        "|---|---|---|---|---|---|---|---|",
        *_benchmark_rows(args.quick),
        "",
        "## Division's baselines",
        "",
        "MLPFunctionRegressor with its defaults (one hidden layer of 100 units, Adam, 200 "
        "epochs), relu and identity, on the same 100-input division, seeds 0 to 19:",
        "",
        "| operation | network | solved | Wilson 95% |",
        "|---|---|---|---|",
        *_baseline_rows(args.quick),
        "",
        "## What the quadratic start costs as the inputs grow",
        "",
        "The weighted least-squares quadratic of uniform inputs, with 10% more rows than "
        "coefficients, in a fresh process each: the normal equations hold the square of "
        "the coefficients, so memory grows with the 4th power of the inputs and time with "
        "the rows times that. The estimator makes the start up to 2 GiB of normal "
        "equations (about 180 inputs), and falls back to random weights, with a warning, "
        "beyond.",
        "",
        "| inputs | coefficients | rows | seconds | peak memory of the fit, MiB |",
        "|---|---|---|---|---|",
        *_cost_rows(args.quick),
    ]
    (HERE / "ARITHMETIC.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
