"""How soon ``fitfn`` ends after SIGINT or SIGTERM, and what it leaves.

Each measurement is a fresh ``fitfn squares`` process with a long search
(architectures 1 and 256,256,256, 3,000 epochs). The signal goes at a chosen
moment: a fixed delay after the start (while TensorFlow starts), on the first
progress line (the search under way in the process's own workers), or on the
line that says the Dask cluster is up (``--scheduler local``). SIGINT goes to
the whole process group, as a terminal's Ctrl-C does; SIGTERM to the command
only, as ``kill`` does. Recorded: seconds from the signal to the exit, the
exit status, the lines on stderr other than progress lines, and whether the
output folder is still absent.

    python benchmarks/bench_cli_signals.py           # writes benchmarks/SIGNALS.md
    python benchmarks/bench_cli_signals.py --quick   # 1 repeat
"""

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# One fit at a time, so that the first progress line comes within a second of the search.
LONG_SEARCH = "-n 400 --epochs 3000 --architectures 1 256,256,256 --n-jobs 1".split()
LOCAL = ["--scheduler", "local", "--n-workers", "2"]

#: (label, extra arguments, when: seconds after the start or a line's start)
MOMENTS = [
    ("TensorFlow starting (1 s)", [], 1.0),
    ("TensorFlow starting (2.5 s)", [], 2.5),
    ("search under way (first progress line)", [], "[1/4]"),
    ("local cluster starting (3 s)", LOCAL, 3.0),
    ("local cluster starting (3.5 s)", LOCAL, 3.5),
    ("local cluster starting (4 s)", LOCAL, 4.0),
    ("search on the local cluster (cluster up)", LOCAL, "running the fits"),
]


def _is_progress(line):
    return line.startswith(("[", "running the fits", "refitting"))


def measure(extra, when, signum):
    folder = Path(tempfile.mkdtemp(prefix="fitfn-signals-"))
    out = folder / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "sklearn_fitfn", "squares", *LONG_SEARCH, *extra, "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
        start_new_session=True,
    )
    seen = []
    if isinstance(when, float):
        time.sleep(when)
    else:
        while not (line := process.stderr.readline()).startswith(when):
            seen.append(line)
    sent = time.perf_counter()
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=300)
    seconds = time.perf_counter() - sent
    other = [line for line in (seen + stderr.splitlines(True)) if not _is_progress(line)]
    result = {
        "seconds": seconds,
        "status": process.returncode,
        "other_lines": len(other) + len(stdout.splitlines()),
        "folder_absent": not out.exists(),
    }
    shutil.rmtree(folder)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat instead of 3")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    rows = []
    for label, extra, when in MOMENTS:
        for signum in (signal.SIGINT, signal.SIGTERM):
            runs = [measure(extra, when, signum) for _ in range(repeats)]
            rows.append((label, signum, runs))
            print(label, signum.name, runs, flush=True)
    lines = [
        "# fitfn after SIGINT and SIGTERM",
        "",
        f"Produced by `python benchmarks/bench_cli_signals.py` on {time.strftime('%Y-%m-%d')}: "
        f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, Python "
        f"{platform.python_version()}; {repeats} fresh processes per row. SIGINT goes to the "
        "process group (a terminal's Ctrl-C), SIGTERM to the command (`kill`).",
        "",
        "| signal lands | signal | median s to exit | max s | exit statuses "
        "| other lines on stderr | output folder left absent |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, signum, runs in rows:
        seconds = [r["seconds"] for r in runs]
        lines.append(
            f"| {label} | {signum.name} | {statistics.median(seconds):.2f} | {max(seconds):.2f} "
            f"| {', '.join(sorted({str(r['status']) for r in runs}))} "
            f"| {max(r['other_lines'] for r in runs) - 1} "
            f"| {'yes' if all(r['folder_absent'] for r in runs) else 'NO'} |"
        )
    lines += [
        "",
        "Other lines: beyond the progress lines and the one line that says the run "
        "stopped (counted in the table as 0).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        (HERE / "SIGNALS.md").write_text(text)


if __name__ == "__main__":
    main()
