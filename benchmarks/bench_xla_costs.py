"""The cost model behind ``jit_compile="auto"``, against measurements.

For a few network shapes, batch sizes and both dtypes, each in a fresh
process: the seconds of a mini-batch step on the default path and under XLA
(from a second fit of the shape, its one-off costs behind it), and the
one-off costs of a first fit (its time less the second's). Beside each, what
``sklearn_fitfn._training.xla`` predicts. Writes benchmarks/XLA_COSTS.md.

    python benchmarks/bench_xla_costs.py
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_ROWS, N_FEATURES = 2000, 10
SHAPES = [(16,), (64, 64), (256, 256, 256)]
BATCH_SIZES = [32, 200]
DTYPES = ["float64", "float32"]
#: Floating-point work per fit, so that each takes a fraction of a second.
FLOPS_PER_FIT = 2e9


def _epochs(sizes, batch_size):
    from sklearn_fitfn._training.executor import step_multiply_adds

    multiply_adds = step_multiply_adds([N_FEATURES, *sizes, 1], batch_size)
    steps_per_epoch = -(-N_ROWS // batch_size)
    return max(5, min(400, int(FLOPS_PER_FIT / (6 * multiply_adds * steps_per_epoch))))


def worker(task):
    """Time a first and a second fit of one shape on one path, in this process."""
    import warnings

    import numpy as np

    from sklearn_fitfn import MLPFunctionRegressor

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, N_FEATURES)).astype(task["dtype"])
    y = (X**2).sum(axis=1)
    options = dict(
        hidden_layer_sizes=tuple(task["sizes"]),
        batch_size=task["batch_size"],
        max_iter=task["epochs"],
        n_iter_no_change=np.inf,
        tol=0,
        random_state=0,
        dtype=task["dtype"],
        jit_compile=task["xla"],
    )
    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        MLPFunctionRegressor(**options).fit(X, y)
        seconds.append(time.perf_counter() - started)
    return {"first": seconds[0], "second": seconds[1]}


def _measure(task):
    output = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(task)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(repeats=3):
    from sklearn_fitfn._training import xla

    lines = [
        '# The cost model of `jit_compile="auto"` against measurements',
        "",
        f"Produced by `python benchmarks/bench_xla_costs.py` on {time.strftime('%Y-%m-%d')}: "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}. "
        f"{N_ROWS:,} rows of {N_FEATURES} features; each fit in a fresh process, "
        f"median of {repeats}; a step's seconds from a second fit of the shape "
        "(its time over its mini-batches), the one-off seconds from the first fit "
        "less the second. Predicted: `sklearn_fitfn/_training/xla.py`.",
        "",
        "| dtype | hidden layers | batch | steps | default step µs | XLA step µs | "
        "XLA's saving a step µs, measured / predicted | one-off s, default: measured / "
        "predicted | one-off s, XLA: measured / predicted |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for dtype in DTYPES:
        for sizes in SHAPES:
            for batch_size in BATCH_SIZES:
                epochs = _epochs(sizes, batch_size)
                steps = epochs * -(-N_ROWS // batch_size)
                task = dict(sizes=sizes, batch_size=batch_size, dtype=dtype, epochs=epochs)
                runs = {False: [], True: []}
                for _ in range(repeats):
                    for on_xla in runs:
                        runs[on_xla].append(_measure({**task, "xla": on_xla}))
                choice = xla.xla_choice([N_FEATURES, *sizes, 1], dtype, steps, batch_size)
                step = {
                    on_xla: 1e6 * statistics.median(r["second"] for r in runs[on_xla]) / steps
                    for on_xla in runs
                }
                one_off = {
                    on_xla: statistics.median(r["first"] - r["second"] for r in runs[on_xla])
                    for on_xla in runs
                }
                line = (
                    f"| {dtype} | {sizes} | {batch_size} | {steps:,} | {step[False]:.0f} | "
                    f"{step[True]:.0f} | {step[False] - step[True]:.0f} / "
                    f"{1e6 * choice.saving / steps:.0f} | {one_off[False]:.2f} / "
                    f"{choice.default_one_off:.2f} | {one_off[True]:.2f} / "
                    f"{choice.xla_one_off:.2f} |"
                )
                print(line, flush=True)
                lines.append(line)
    (HERE / "XLA_COSTS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        print(json.dumps(worker(json.loads(sys.argv[2]))))
    else:
        main()
