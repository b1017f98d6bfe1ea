"""How soon ``fit`` returns after Ctrl-C, against MLPRegressor.

Each measurement is a fresh process that starts an endless fit (``max_iter``
a million, stopping rule off) in its main thread; a timer thread sends
SIGINT to the main thread once training has run for a while, and the process
reports the seconds from the signal to ``fit``'s return, the warning, and
whether ``n_iter_`` and ``loss_curve_`` agree. The signal lands at a
different point of training in each repeat.

    python benchmarks/bench_interrupt.py           # writes benchmarks/INTERRUPT.md
    python benchmarks/bench_interrupt.py --quick   # 2 repeats
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (label, estimator, rows, hidden layers, extra parameters)
CASES = [
    ("(256, 256), 10,000 rows, Adam", "MLPFunctionRegressor", 10_000, (256, 256), {}),
    ("(256, 256), 10,000 rows, Adam", "MLPRegressor", 10_000, (256, 256), {}),
    (
        "(256, 256), 300,000 rows: one epoch takes seconds",
        "MLPFunctionRegressor",
        300_000,
        (256, 256),
        {},
    ),
    ("(256, 256), 300,000 rows: one epoch takes seconds", "MLPRegressor", 300_000, (256, 256), {}),
    (
        "(256, 256), 10,000 rows, early stopping",
        "MLPFunctionRegressor",
        10_000,
        (256, 256),
        {"early_stopping": True},
    ),
    (
        "(64,), 10,000 rows, Keras's fit (RMSprop)",
        "MLPFunctionRegressor",
        10_000,
        (64,),
        {"solver": "rmsprop"},
    ),
]

_CHILD = """
import json, signal, sys, threading, time, warnings
import numpy as np
estimator, rows, sizes, extra, delay = json.loads(sys.argv[1])
if estimator == "MLPRegressor":
    from sklearn.neural_network import MLPRegressor as Estimator
else:
    from sklearn_fitfn import MLPFunctionRegressor as Estimator
rng = np.random.default_rng(0)
X = rng.normal(size=(rows, 10))
y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
reg = Estimator(hidden_layer_sizes=tuple(sizes), max_iter=10**6, n_iter_no_change=10**6,
                random_state=0, **extra)
sent = []

def press_ctrl_c():
    sent.append(time.perf_counter())
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

threading.Timer(delay, press_ctrl_c).start()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    reg.fit(X, y)
returned = time.perf_counter()
print(json.dumps({
    "latency": returned - sent[0],
    "warnings": [str(w.message) for w in caught],
    "n_iter": reg.n_iter_,
    "agree": reg.n_iter_ == len(reg.loss_curve_),
}))
"""


def measure(estimator, rows, sizes, extra, delay):
    spec = json.dumps([estimator, rows, list(sizes), extra, delay])
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, spec], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    delays = [3.0, 3.7] if args.quick else [3.0, 3.3, 3.7, 4.2, 5.0]
    from importlib.metadata import version

    lines = [
        "# Ctrl-C during fit: seconds from the signal to fit's return",
        "",
        f"Produced by `python benchmarks/bench_interrupt.py`: {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} CPUs, Python "
        f"{platform.python_version()}, TensorFlow {version('tensorflow')}, scikit-learn "
        f"{version('scikit-learn')}.",
        "",
        "Each repeat is a fresh process; SIGINT reaches the main thread "
        + ", ".join(f"{d} s" for d in delays)
        + " after `fit` is called (one per repeat), 10 features, endless training.",
        "",
        "| case | estimator | median s | max s | epochs kept (per repeat) | warning "
        "| n_iter_ = len(loss_curve_) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, estimator, rows, sizes, extra in CASES:
        runs = [measure(estimator, rows, sizes, extra, d) for d in delays]
        latencies = [r["latency"] for r in runs]
        warned = all(r["warnings"] == ["Training interrupted by user."] for r in runs)
        row = (
            f"| {label} | {estimator} | {statistics.median(latencies):.3f} | "
            f"{max(latencies):.3f} | {', '.join(str(r['n_iter']) for r in runs)} | "
            f"{'yes' if warned else runs[0]['warnings']} | "
            f"{'yes' if all(r['agree'] for r in runs) else 'no'} |"
        )
        print(row, flush=True)
        lines.append(row)
    (HERE / "INTERRUPT.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
