"""Serving predictions: onnxruntime against ``predict`` and MLPRegressor's ``predict``.

The canonical network ((64, 64) relu, float64) fitted on the squares workload
(inputs scaled to [0, 1]) by MLPFunctionRegressor and by MLPRegressor. Each
predicts one row (latency: median of 300 calls) and 100,000 rows
(throughput: median of 5 calls), the three alternating in one process. A
fresh process per server measures what serving costs before the first
prediction: the imports and loading the file (a skops file of the
estimator, an ONNX file for onnxruntime), and the peak resident memory after
one prediction.

    python benchmarks/bench_serving.py        # writes benchmarks/SERVING.md
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROWS = 100_000

_CHILD = """
import json, sys, time
start = time.perf_counter()
import numpy as np
kind, path = sys.argv[1], sys.argv[2]
X = np.linspace(0, 1, 10).reshape(-1, 1)
if kind == "onnxruntime":
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    predict = lambda X: session.run(None, {"X": X})[0]
else:
    import skops.io as sio
    model = sio.load(path, trusted=["sklearn_fitfn._regressor.MLPFunctionRegressor"])
    predict = model.predict
predict(X)
ready = time.perf_counter() - start
with open("/proc/self/status") as status:  # this process's own peak, unlike ru_maxrss
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(json.dumps({"ready_s": ready, "peak_mb": peak_kb / 1024,
                  "tensorflow": "tensorflow" in sys.modules}))
"""


def _fitted():
    from sklearn.neural_network import MLPRegressor

    from sklearn_fitfn import MLPFunctionRegressor

    rng = np.random.default_rng(0)
    x = rng.integers(1, 1001, size=(1000, 1)).astype(float)
    X, y = x / 1000, (x.ravel() / 1000) ** 2
    params = dict(hidden_layer_sizes=(64, 64), max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPFunctionRegressor(**params).fit(X, y), MLPRegressor(**params).fit(X, y)


def _timed(predict, X, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(X)
        times.append(time.perf_counter() - start)
    return times


def _side_by_side(servers):
    one = np.array([[0.5]])
    many = np.random.default_rng(1).uniform(0, 1, size=(ROWS, 1))
    latency = {name: [] for name in servers}
    throughput = {name: [] for name in servers}
    for predict in servers.values():  # warm up
        predict(one), predict(many)
    for _ in range(5):  # alternating rounds
        for name, predict in servers.items():
            latency[name] += _timed(predict, one, 60)
            throughput[name] += _timed(predict, many, 1)
    return (
        {name: statistics.median(t) for name, t in latency.items()},
        {name: ROWS / statistics.median(t) for name, t in throughput.items()},
    )


def _fresh_process(kind, path):
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, path],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    import onnxruntime as ort
    import skops.io as sio

    from sklearn_fitfn.onnx import to_onnx

    ours, reference = _fitted()
    X = np.array([[0.5]])
    session = ort.InferenceSession(
        to_onnx(ours, X).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    servers = {
        "onnxruntime": lambda X: session.run(None, {"X": X})[0],
        "MLPFunctionRegressor.predict": ours.predict,
        "MLPRegressor.predict": reference.predict,
    }
    latency, throughput = _side_by_side(servers)
    with tempfile.TemporaryDirectory() as folder:
        onnx_path, skops_path = os.path.join(folder, "m.onnx"), os.path.join(folder, "m.skops")
        Path(onnx_path).write_bytes(to_onnx(ours, X).SerializeToString())
        sio.dump(ours, skops_path)
        start = {
            "onnxruntime": _fresh_process("onnxruntime", onnx_path),
            "MLPFunctionRegressor.predict": _fresh_process("skops", skops_path),
        }
    base = "MLPFunctionRegressor.predict"
    lines = [
        "# Serving predictions",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, onnxruntime {ort.__version__}; "
        f"{time.strftime('%Y-%m-%d')}. `python benchmarks/bench_serving.py`.",
        "",
        "(64, 64) relu in float64, one input, fitted on the squares workload. Latency: "
        "median of 300 one-row calls; throughput: median of 5 calls on 100,000 rows; "
        "the three alternating in one process.",
        "",
        "| server | 1 row (ms) | vs predict | rows/s on 1e5 rows | vs predict |",
        "|---|---|---|---|---|",
    ]
    for name in servers:
        lines.append(
            f"| {name} | {latency[name] * 1e3:.3f} | {latency[name] / latency[base]:.3g}x | "
            f"{throughput[name]:,.0f} | {throughput[name] / throughput[base]:.3g}x |"
        )
    lines += [
        "",
        "A fresh process, from its start to its first prediction (imports, loading the "
        "file, one call), and its peak resident memory:",
        "",
        "| server | ready (s) | peak memory (MB) | TensorFlow imported |",
        "|---|---|---|---|",
    ]
    for name, row in start.items():
        lines.append(
            f"| {name} | {row['ready_s']:.2f} | {row['peak_mb']:.0f} | "
            f"{'yes' if row['tensorflow'] else 'no'} |"
        )
    text = "\n".join(lines) + "\n"
    (HERE / "SERVING.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
