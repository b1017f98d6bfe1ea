"""How long ``fitfn`` takes to answer, without work and for the whole job.

Each measurement is a fresh process running the installed ``fitfn`` command,
timed from start to exit: ``--help``, ``--version``, a few argument errors,
and, as the reference, ``python -c pass`` (the interpreter alone) and the
import of the estimator (TensorFlow's start-up, what every call paid before
the command imported it lazily). Then the whole job, ``fitfn squares -q``:
TensorFlow's start-up, the search (4 candidates x 3 folds), the refits and
the two figures.

    python benchmarks/bench_cli.py           # writes benchmarks/CLI.md
    python benchmarks/bench_cli.py --quick   # 2 repeats
"""

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (label, command line)
CASES = [
    ("python -c pass (the interpreter alone)", [sys.executable, "-c", "pass"]),
    ("fitfn --help", ["fitfn", "--help"]),
    ("fitfn --version", ["fitfn", "--version"]),
    ("fitfn squares --epochs 1.5", ["fitfn", "squares", "--epochs", "1.5"]),
    ("fitfn tangent", ["fitfn", "tangent"]),
    ("fitfn squares --scheduler foo", ["fitfn", "squares", "--scheduler", "foo"]),
    (
        "fitfn squares --scheduler tcp://127.0.0.1:9 (refused)",
        ["fitfn", "squares", "--scheduler", "tcp://127.0.0.1:9"],
    ),
    (
        "import of MLPFunctionRegressor (TensorFlow's start-up)",
        [sys.executable, "-c", "from sklearn_fitfn import MLPFunctionRegressor"],
    ),
]


def seconds(command, must_succeed=False):
    """Seconds from start to exit; with ``must_succeed``, stop if the command failed."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if must_succeed and result.returncode:
        sys.exit(f"bench_cli: {' '.join(command)} failed:\n{result.stderr}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats instead of 7")
    args = parser.parse_args()
    if shutil.which("fitfn") is None:
        sys.exit("bench_cli: install the package first (pip install .): no fitfn command")
    repeats = 2 if args.quick else 7
    output = tempfile.mkdtemp(prefix="bench_cli-")
    job = (
        "fitfn squares -q (the whole job: start-up, 4 candidates x 3 folds, refits, figures)",
        ["fitfn", "squares", "-q", "-o", output],
    )
    cases = [*CASES, job]
    seconds(CASES[-1][1])  # a first start reads TensorFlow from disk; time warm starts
    times = {label: [] for label, _ in cases}
    for _ in range(repeats):  # alternate the cases, so that load affects all alike
        for label, command in cases:
            times[label].append(seconds(command, must_succeed=command is job[1]))
    shutil.rmtree(output)
    lines = [
        "# fitfn's answer time, without work and for the whole job",
        "",
        f"Produced by `python benchmarks/bench_cli.py` on {time.strftime('%Y-%m-%d')}: "
        f"{platform.machine()}, Python {platform.python_version()}; "
        f"each a fresh process, {repeats} repeats alternating, seconds from start to exit.",
        "",
        "| command | median s | max s |",
        "|---|---|---|",
    ]
    for label, values in times.items():
        lines.append(f"| {label} | {statistics.median(values):.2f} | {max(values):.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        (HERE / "CLI.md").write_text(text)


if __name__ == "__main__":
    main()
