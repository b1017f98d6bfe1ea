"""TensorFlow's thread pools and executors against fit time: the figures behind
the package's choices.

Each fit runs in a fresh process (TensorFlow fixes its pools at start-up), the
settings alternate within each repeat, and MLPRegressor runs alongside as the
reference. Prints a Markdown table of medians.

    python benchmarks/bench_threads.py              # 3 repeats, about 10 minutes
"""

import argparse
import statistics

from bench_fit import measure

# name: (environment, executor of the compiled epochs). "pool" is TensorFlow's
# default executor, "inline" its single-threaded one, "auto" the package's rule.
SETTINGS = {
    "default pools, pool executor": ({"TF_NUM_INTRAOP_THREADS": "0"}, "pool"),
    "1 thread per op, pool executor": ({}, "pool"),
    "1 thread per op, 1 inter-op thread, pool executor": ({"TF_NUM_INTEROP_THREADS": "1"}, "pool"),
    "1 thread per op, single-threaded executor": ({}, "inline"),
    "the package's defaults": ({}, "auto"),
}
WORKLOADS = [
    (1000, [64, 64], 500),
    (1000, [128, 128], 200),
    (10000, [256, 256, 256], 20),
    (100000, [64, 64], 5),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = {}
    for _ in range(args.repeats):
        for n, sizes, epochs in WORKLOADS:
            task = {"kind": "fit", "n": n, "sizes": sizes, "epochs": epochs}
            for setting, (env, executor) in SETTINGS.items():
                ours = {**task, "name": "MLPFunctionRegressor", "executor": executor}
                runs.setdefault((n, tuple(sizes), setting), []).append(
                    measure(ours, tf_threads=env)["seconds"]
                )
            reference = {**task, "name": "MLPRegressor", "executor": "auto"}
            runs.setdefault((n, tuple(sizes), "MLPRegressor"), []).append(
                measure(reference, tf_threads={})["seconds"]
            )
    columns = [*SETTINGS, "MLPRegressor"]
    print("| rows, hidden layers, epochs | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for n, sizes, epochs in WORKLOADS:
        cells = [f"{statistics.median(runs[(n, tuple(sizes), c)]):.2f} s" for c in columns]
        print(f"| {n:,}, {tuple(sizes)}, {epochs} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
