"""BLAS threads against time, idle and beside other CPU-bound work: the
figures behind ``sklearn_fitfn._training.blas.PARALLEL_FLOPS``.

Two parts, each repeated, alternating its settings, medians reported:

- kernels: the starts' dense algebra (the ratio start's SVD, the quadratic
  start's Gram matrix and Cholesky factor, the split's eigh) at the sizes the
  package meets, with one BLAS thread and with BLAS's default;
- whole fits: the arithmetic command's division and multiplication fits
  (100 inputs, 5,666 rows), with the package's bound ("after") and without it
  ("before": ``PARALLEL_FLOPS = 0``).

Two conditions: idle, and "busy", beside two processes that spin on the CPU,
as many as the machine's cores here (a test suite, a build). Each
condition's measurements run in a process of their own. (A measured process
at a lower priority than the spinning ones, ``nice -n 19``, gets so little of
the CPU that its wall times measure the scheduler, not BLAS.) Writes
benchmarks/BLAS_THREADS.md.

    python benchmarks/bench_blas_threads.py               # 3 repeats, about 10 minutes
    python benchmarks/bench_blas_threads.py --repeats 1
"""

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_info, threadpool_limits

HERE = Path(__file__).resolve().parent
#: A spinning process is ended after this many seconds even if this script dies.
SPIN_LIMIT_S = 1800


@contextlib.contextmanager
def busy(n_processes):
    """``n_processes`` CPU-bound processes beside the block (none for 0)."""
    spin = f"import time\nend = time.time() + {SPIN_LIMIT_S}\nwhile time.time() < end: pass"
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(n_processes)]
    try:
        time.sleep(0.5 if spinners else 0)
        yield
    finally:
        for process in spinners:
            process.kill()
            process.wait()


def _svd(m, n):
    A = np.random.default_rng(0).normal(size=(m, n))
    return f"SVD {m:,} x {n}", 4 * m * n * n, lambda: np.linalg.svd(A, full_matrices=False)


def _gram(m, p):
    A = np.asfortranarray(np.random.default_rng(0).normal(size=(m, p)))

    def run():
        gram = scipy.linalg.blas.dsyrk(1.0, A, trans=1)
        gram[np.diag_indices_from(gram)] += m
        scipy.linalg.cho_factor(gram, overwrite_a=True, check_finite=False)

    return f"Gram + Cholesky {m:,} x {p:,}", m * p * p + p**3 / 3, run


def _eigh(d):
    A = np.random.default_rng(0).normal(size=(d, d))
    A = A + A.T
    return f"eigh {d} x {d}", 9 * d**3, lambda: np.linalg.eigh(A)


KERNELS = [
    _svd(1000, 22),  # division, 10 inputs
    _svd(5666, 202),  # division, 100 inputs (the arithmetic command)
    _svd(20000, 402),
    _gram(1000, 66),  # square units, 10 inputs
    _gram(1000, 496),  # 30 inputs
    _gram(2100, 1891),  # 60 inputs
    _gram(5666, 5151),  # 100 inputs (the arithmetic command)
    _eigh(100),
]


def _seconds(function, *args):
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def kernels(repeats):
    runs = {}
    for _ in range(repeats):
        for name, flops, function in KERNELS:
            for threads in (1, None):
                with threadpool_limits(limits=threads, user_api="blas"):
                    runs.setdefault((name, flops, threads), []).append(_seconds(function))
    return {key: statistics.median(times) for key, times in runs.items()}


def fits(repeats):
    from sklearn_fitfn._commands.arithmetic import estimator_for
    from sklearn_fitfn._training import blas
    from sklearn_fitfn.datasets import make_arithmetic

    bound = blas.PARALLEL_FLOPS
    data = {op: make_arithmetic(5666, op, random_state=0)[:2] for op in ("div", "mul")}
    for op, (X, y) in data.items():  # traced once, outside the timings
        estimator_for(op, random_state=0).set_params(max_iter=1).fit(X, y)
    runs = {}
    for _ in range(repeats):
        for op, (X, y) in data.items():
            for label, limit in (("before", None), ("after", bound)):
                model = estimator_for(op, random_state=0)
                with _without_bound() if limit is None else contextlib.nullcontext():
                    runs.setdefault((op, label), []).append(_seconds(model.fit, X, y))
    return {key: statistics.median(times) for key, times in runs.items()}


@contextlib.contextmanager
def _without_bound():
    """The package's starts with BLAS's default threads, as before the bound."""
    from sklearn_fitfn._training import blas

    enter, leave = blas._enter, blas._leave
    blas._enter = blas._leave = lambda: None
    try:
        yield
    finally:
        blas._enter, blas._leave = enter, leave


def _in_a_process(part, repeats, load, nice):
    """Medians of ``part`` measured in a process of its own, beside ``load``
    spinning processes, at niceness ``nice``."""
    command = [sys.executable, __file__, "--child", part, "--repeats", str(repeats)]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    with busy(load):
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return {tuple(key): value for key, value in json.loads(output.splitlines()[-1])}


#: (column label, spinning processes, niceness of the measured process)
CONDITIONS = [("idle", 0, 0), ("busy", 2, 0)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=["kernels", "fits"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        medians = (kernels if args.child == "kernels" else fits)(args.repeats)
        print(json.dumps([[list(key), value] for key, value in medians.items()]))
        return
    blas_libraries = sorted(
        {f"{i['internal_api']} {i['version']} ({i['architecture']})" for i in threadpool_info()}
    )
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    labels = [label for label, _, _ in CONDITIONS]
    lines = [
        "# BLAS threads, idle and busy",
        "",
        f"`python benchmarks/bench_blas_threads.py --repeats {args.repeats}`, {os.cpu_count()} "
        f"cores ({cpu}), NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"BLAS: {', '.join(blas_libraries)}. Medians of {args.repeats}, in seconds; busy: "
        "beside 2 processes spinning on the CPU.",
        "",
        "| kernel | GFLOP | "
        + " | ".join(f"{label}, 1 thread | {label}, default" for label in labels)
        + " |",
        "|---|---|" + "---|---|" * len(labels),
    ]
    measured = [_in_a_process("kernels", args.repeats, load, nice) for _, load, nice in CONDITIONS]
    for name, flops, _ in KERNELS:
        cells = [f"{table[(name, flops, t)]:.3f}" for table in measured for t in (1, None)]
        lines.append(f"| {name} | {flops / 1e9:.2g} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Whole fits of the arithmetic command (100 inputs, 5,666 rows, L-BFGS from the "
        "start): before, BLAS's default threads; after, the package's bound.",
        "",
        "| fit | " + " | ".join(f"{label}, before | {label}, after" for label in labels) + " |",
        "|---|" + "---|---|" * len(labels),
    ]
    measured = [_in_a_process("fits", args.repeats, load, nice) for _, load, nice in CONDITIONS]
    for op in ("div", "mul"):
        cells = [f"{t[(op, label)]:.2f}" for t in measured for label in ("before", "after")]
        lines.append(f"| {op} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "BLAS_THREADS.md").write_text(text)


if __name__ == "__main__":
    main()
