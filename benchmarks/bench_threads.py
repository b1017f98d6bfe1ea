"""TensorFlow's thread pools and executors against fit time: the figures behind
the package's choices.

Each fit runs in a fresh process (TensorFlow fixes its pools at start-up), the
settings alternate within each repeat, and MLPRegressor runs alongside as the
reference. Prints a Markdown table of medians, in seconds: the first fit in the
process / a second fit of the same shape after it.

    python benchmarks/bench_threads.py              # 3 repeats, about 10 minutes
    python benchmarks/bench_threads.py --repeats 1  # about 3 minutes
"""

import argparse
import statistics

from bench_fit import measure

# name: (environment, executor of the compiled epochs). "pool" is TensorFlow's
# default executor, "inline" its single-threaded one, "auto" the package's rule.
SETTINGS = {
    "the package's defaults (TensorFlow's own)": ({}, "auto"),
    "TF_NUM_INTRAOP_THREADS=1": ({"TF_NUM_INTRAOP_THREADS": "1"}, "auto"),
    "TF_ENABLE_ONEDNN_OPTS=0": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, "auto"),
    "pool executor for every size": ({}, "pool"),
    "single-threaded executor for every size": ({}, "inline"),
}
# (rows, hidden layers, epochs, estimator name in bench_fit)
WORKLOADS = [
    (1000, [64, 64], 500, "MLPFunctionRegressor"),
    (1000, [64, 64], 500, "MLPFunctionRegressor, dtype='float32'"),
    (10000, [256, 256, 256], 10, "MLPFunctionRegressor"),
    (10000, [256, 256, 256], 10, "MLPFunctionRegressor, dtype='float32'"),
]


def _label(n, sizes, epochs, name):
    dtype = "float32" if "float32" in name else "float64"
    return f"{n:,}, {tuple(sizes)}, {epochs}, {dtype}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = {}
    for _ in range(args.repeats):
        for n, sizes, epochs, name in WORKLOADS:
            task = {
                "kind": "fit",
                "n": n,
                "sizes": sizes,
                "epochs": epochs,
                "name": name,
                "second_fit": True,
            }
            label = _label(n, sizes, epochs, name)
            for setting, (env, executor) in SETTINGS.items():
                runs.setdefault((label, setting), []).append(
                    measure({**task, "executor": executor}, tf_threads=env)
                )
            reference = {**task, "name": "MLPRegressor"}
            runs.setdefault((label, "MLPRegressor"), []).append(measure(reference, tf_threads={}))
    columns = [*SETTINGS, "MLPRegressor"]
    print("| rows, hidden layers, epochs, dtype | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for workload in WORKLOADS:
        label = _label(*workload)
        cells = [
            " / ".join(
                f"{statistics.median(run[key] for run in runs[(label, c)]):.2f}"
                for key in ("seconds", "second_seconds")
            )
            for c in columns
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
