"""Memory over many network shapes: RSS against the number of distinct shapes fitted.

One process per estimator fits architectures ``(k, 8)`` for k = 1, 2, ... on
the same small data (2 epochs each, as a random search over architectures
would) and records its resident set size after garbage collection. The
compiled engine keeps the compiled functions of its most recent
``KEPT_SHAPES`` shapes only (sklearn_fitfn/_training/compiled.py).

    python benchmarks/bench_memory.py            # writes benchmarks/MEMORY.md
    python benchmarks/bench_memory.py --shapes 60
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = """
import gc, json, os, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
estimator, n_shapes, marks = json.loads(sys.argv[1])
if estimator == "MLPRegressor":
    from sklearn.neural_network import MLPRegressor as Estimator
else:
    from sklearn_fitfn import MLPFunctionRegressor as Estimator

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2))
y = X[:, 0] * X[:, 1]
rss = {}
for k in range(1, n_shapes + 1):
    Estimator(hidden_layer_sizes=(k, 8), max_iter=2, random_state=0).fit(X, y)
    if k in marks:
        gc.collect()
        rss[k] = rss_mb()
print(json.dumps(rss))
"""


def _jax_installed():
    try:
        return f"JAX {version('jax')}"
    except PackageNotFoundError:
        return "no JAX"


def measure(estimator, n_shapes, marks):
    spec = json.dumps([estimator, n_shapes, marks])
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, spec], capture_output=True, text=True, check=True
    ).stdout
    return {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", type=int, default=150)
    args = parser.parse_args(argv)
    marks = sorted({m for m in (1, 10, 25, 50, 100, 150, args.shapes) if m <= args.shapes})
    results = {
        name: measure(name, args.shapes, marks) for name in ("MLPFunctionRegressor", "MLPRegressor")
    }
    lines = [
        "# Memory over many network shapes",
        "",
        f"Produced by `python benchmarks/bench_memory.py`: {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} CPUs, Python {platform.python_version()}, "
        f"TensorFlow {version('tensorflow')}, scikit-learn {version('scikit-learn')}, "
        f"{_jax_installed()} (TensorFlow imports JAX when it is installed: about 130 MB more "
        "in every row).",
        "",
        "RSS in MB after fitting k distinct architectures (k, 8), 2 epochs each, "
        "one process per estimator.",
        "",
        "| distinct shapes | " + " | ".join(results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for k in marks:
        lines.append(f"| {k} | " + " | ".join(f"{r[k]:,.0f}" for r in results.values()) + " |")
    for first, last in ((1, 50), (10, marks[-1])):
        if last not in results["MLPRegressor"]:
            continue
        growth = ", ".join(
            f"{name} {(r[last] - r[first]):+,.0f} MB "
            f"({(r[last] - r[first]) / (last - first):.2f} MB per shape)"
            for name, r in results.items()
        )
        lines += ["", f"From {first} to {last} shapes: {growth}."]
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "MEMORY.md").write_text(text)


if __name__ == "__main__":
    main()
