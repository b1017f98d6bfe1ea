import csv
import json
import os
import resource
import signal
import subprocess
import sys
import types

import matplotlib.image
import pandas as pd
import pytest

import sklearn_fitfn
import sklearn_fitfn._commands.figures
from sklearn_fitfn._commands import cli
from sklearn_fitfn._commands.cli import _experiment_files, _StopOnSignals, _Stopped, _write_results

SMALL = ["-n", "80", "--epochs", "5", "--architectures", "8", "--cv", "2"]


def fitfn(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "sklearn_fitfn", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def sigint_as_a_terminal_leaves_it():
    """In the child: SIGINT at its default, as a terminal's foreground job has
    it, even when this suite was started with SIGINT ignored (nohup, `cmd &`)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_squares_end_to_end(tmp_path):
    result = fitfn("squares", *SMALL, "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "identity: held-out RMSE" in result.stdout and "best straight line" in result.stdout
    assert result.stderr.count("CV RMSE") == 2  # one progress line per candidate
    out = tmp_path / "out"
    assert sorted(os.listdir(out)) == ["fits.png", "results.csv", "results.json", "rmse.png"]
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert {row["activation"] for row in rows} == {"identity", "relu"}
    assert {row["converged"] for row in rows} == {"False"}
    payload = json.loads((out / "results.json").read_text())
    assert payload["function"] == "squares" and "cv_results" in payload
    for png in ["fits.png", "rmse.png"]:
        assert matplotlib.image.imread(out / png).ndim == 3


def test_fits_run_one_per_core_by_default_with_the_results_of_one_at_a_time(tmp_path, capsys):
    # In this process: the command's parsing and files, without a new TensorFlow.
    tables = {}
    for n_jobs in (None, "1"):
        out = tmp_path / f"out-{n_jobs}"
        extra = [] if n_jobs is None else ["--n-jobs", n_jobs]
        assert cli.main(["squares", *SMALL, *extra, "-q", "-o", str(out)]) == 0
        config = json.loads((out / "results.json").read_text())["config"]
        assert config["n_jobs"] == (-1 if n_jobs is None else 1)
        tables[n_jobs] = pd.read_csv(out / "results.csv").drop(columns="fit_seconds")
    pd.testing.assert_frame_equal(tables[None], tables["1"])


_FREEZE_COUNTS = """
import gc, sys
from sklearn_fitfn._commands.cli import main
args = sys.argv[1:]
main([*args, "-o", "called"])
called = gc.get_freeze_count()
main([*args, "-o", "command"], own_process=True)
print(called, gc.get_freeze_count() > 0)
"""


def test_only_the_command_freezes_its_imports_for_the_garbage_collector(tmp_path):
    # gc.freeze acts on the whole process: a Python caller's process keeps its collector.
    result = subprocess.run(
        [sys.executable, "-c", _FREEZE_COUNTS, "squares", "-q", *SMALL],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 True"


def test_the_command_runs_as_the_owner_of_its_process(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "main", lambda **kwargs: calls.append(kwargs) or 0)
    with pytest.raises(SystemExit) as stop:
        cli.run()
    assert stop.value.code == 0 and calls == [{"own_process": True}]


def test_extrapolation_with_square_units_and_lbfgs(tmp_path):
    result = fitfn(
        "squares",
        "-n",
        "300",
        "--epochs",
        "500",
        "--architectures",
        "4",
        "--cv",
        "2",
        "--activations",
        "relu",
        "square",
        "--solver",
        "lbfgs",
        "--alpha",
        "0",
        "--tol",
        "0",
        "--extrapolate",
        "1001",
        "2000",
        "-o",
        "out",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "lbfgs, 500 iterations" in result.stdout
    assert "samples from outside the training range (1001..2000)" in result.stdout
    assert "square: exact" in result.stdout and "exact too" in result.stdout
    rows = list(csv.DictReader(open(tmp_path / "out" / "results.csv")))
    assert {"test_rmse", "extrapolation_rmse"} <= set(rows[0])
    relu = next(row for row in rows if row["activation"] == "relu")
    assert float(relu["extrapolation_rmse"]) > float(relu["test_rmse"])


def test_quiet_prints_only_the_verdict(tmp_path):
    result = fitfn("products", *SMALL, "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["identity", "relu"]
    # Five epochs and a stopping rule that is off: neither candidate converges.
    assert lines[2:] == [
        "2 of 2 candidates did not converge in every fold: training used all 5 epochs "
        "(max_iter) without the stopping rule ending it (scikit-learn's ConvergenceWarning; "
        "recorded in the 'converged' column, not printed).",
        "wrote fitfn-results/results.csv, fitfn-results/results.json, "
        "fitfn-results/fits.png, fitfn-results/rmse.png",
    ]
    assert (tmp_path / "fitfn-results" / "results.json").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["tangent"], "invalid choice: 'tangent'"),
        (["squares", "--low", "9", "--high", "3"], "--low 9 must be smaller than --high 3"),
        (["squares", "-n", "2", "--cv", "3"], "fewer than 2 held-out rows in each of the --cv 3"),
        (["squares", "-n", "2", "--cv", "2"], "use at least 4"),
        (["squares", "-n", "99999999999999999999"], "for the data alone, more than this"),
        (["squares", "-n", "2000000000"], "--n-samples 2000000000 rows would take about 576 GB"),
        (["squares", "--n-jobs", "0"], "--n-jobs 0: give a positive number of fits at once"),
        (["squares", "--n-jobs", "two"], "argument --n-jobs: invalid int value"),
        (["squares", "--activations", "rellu"], "unknown activation 'rellu'"),
        (["squares", "--architectures", "8,0"], "positive integers"),
        (["squares", "-o", "blocker/out"], "cannot write to output folder"),
        (["squares", "--extrapolate", "2000", "1001"], "--extrapolate 2000 1001 needs low < high"),
        (["squares", "--alpha", "-1"], "must be a finite number >= 0"),
        (["squares", "--solver", "newton"], "invalid choice: 'newton'"),
        (["squares", "--epochs", "1.5"], "argument --epochs: must be a positive integer: '1.5'"),
        (["squares", "--alpha", "lots"], "argument --alpha: must be a finite number >= 0: 'lots'"),
        (["replay", "--epochs", "5"], "fitfn replay: error: unrecognized arguments: --epochs 5"),
        (["replay", "-o", "blocker/out"], "cannot write to output folder"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    result = fitfn(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["blocker"]


def _stops(argv, capsys):
    """Run ``main(argv)`` in this process to its SystemExit; (status, stdout, stderr)."""
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    out, err = capsys.readouterr()
    return stop.value.code, out, err


def test_the_help_and_a_mistyped_command_list_every_command(capsys):
    commands = ["squares", "cubes", "sums", "products", "sine", "replay", "arithmetic"]
    status, out, _ = _stops(["--help"], capsys)
    assert status == 0
    listed = " ".join(out.split("positional arguments:")[1].split("options:")[0].split())
    assert all(command in listed for command in commands), listed
    status, _, err = _stops(["tangent"], capsys)
    assert status == 2
    assert "(choose from " + ", ".join(f"'{c}'" for c in commands) + ")" in err


@pytest.mark.parametrize("command", [[], ["replay"], ["arithmetic"]])
def test_no_help_text_prints_a_doubled_percent_sign(capsys, command):
    status, out, _ = _stops([*command, "--help"], capsys)
    assert status == 0 and "%%" not in out
    if command == ["arithmetic"]:
        assert "Wilson 95% interval" in " ".join(out.split())


def test_a_command_after_the_grid_searchs_options_is_a_usage_error(capsys):
    status, _, err = _stops(["-q", "replay"], capsys)
    assert status == 2
    assert err == "fitfn: error: replay is a command: write fitfn replay [options]\n"


def test_version(tmp_path):
    result = fitfn("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == f"fitfn {sklearn_fitfn.__version__}\n"


_WITHOUT_TENSORFLOW = """
import sys
from sklearn_fitfn._commands.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as stop:
    status = stop.code
print(status, "tensorflow" in sys.modules, "sklearn" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args, status",
    [
        (["--help"], 0),
        (["--version"], 0),
        (["tangent"], 2),
        (["squares", "--epochs", "1.5"], 2),
        (["squares", "--low", "9", "--high", "3"], 2),
        (["squares", "--activations", "rellu"], 2),
        (["squares", "-o", "blocker/out"], 2),
        (["squares", "--scheduler", "tcp://127.0.0.1"], 2),
        (["squares", "--scheduler", "tcp://127.0.0.1:9"], 1),  # refused at once
        (["replay", "--help"], 0),
        (["replay", "--seed", "x"], 2),
        (["replay", "-o", "blocker/out"], 2),
    ],
)
def test_help_version_and_argument_errors_answer_before_tensorflow_starts(tmp_path, args, status):
    """They take a fraction of a second because neither TensorFlow nor
    scikit-learn is imported (benchmarks/bench_cli.py measures the time)."""
    (tmp_path / "blocker").write_text("a file where a folder should be")
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TENSORFLOW, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.stderr.splitlines()[-1] == f"{status} False False", result.stderr


def test_help_lists_the_options(tmp_path):
    result = fitfn("--help", cwd=tmp_path)
    for option in [
        "--n-samples",
        "--low",
        "--high",
        "--cv",
        "--epochs",
        "--activations",
        "--architectures",
        "--solver",
        "--alpha",
        "--tol",
        "--extrapolate",
        "--seed",
        "--output",
        "--n-jobs",
        "--quiet",
        "--version",
    ]:
        assert option in result.stdout
    help_text = " ".join(result.stdout.split())  # argparse wraps lines
    for name in ["identity", "relu", "square", "tanh", "logistic", "gelu"]:
        assert name in help_text.split("from:")[1]


#: A search whose candidates after the first, identity (1), take many seconds.
LONG_SEARCH = [sys.executable, "-m", "sklearn_fitfn"]
LONG_SEARCH += "squares -n 400 --epochs 3000 --architectures 1 256,256,256".split()


def _folder_contents(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_whole_run_in_one_line_and_leaves_the_folder_as_it_was(
    tmp_path, signum, status
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("an earlier run's results\n")
    before = _folder_contents(out)
    # One fit at a time: the first candidate, identity (1), takes well under
    # a second; each of the three left takes many seconds, so the signal
    # lands in the search.
    process = subprocess.Popen(
        [*LONG_SEARCH, "--n-jobs", "1", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        preexec_fn=sigint_as_a_terminal_leaves_it,
    )
    first = process.stderr.readline()
    assert first.startswith("[1/4]"), first
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == status
    assert stdout == ""
    assert stderr == (
        f"fitfn: stopped by {signal.Signals(signum).name}; {out} is as it was before the run\n"
    )
    assert _folder_contents(out) == before


_SIGNAL_ON_IMPORT = """
import importlib.abc, os, signal, sys

class SignalOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "keras.src.models":  # TensorFlow's libraries have loaded and logged
            sys.meta_path.remove(self)
            os.kill(os.getpid(), {signum})
        return None

sys.meta_path.insert(0, SignalOnImport())
from sklearn_fitfn._commands.cli import run
sys.argv = ["fitfn", *sys.argv[1:]]
run()
"""


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_tensorflow_starts_is_one_line(tmp_path, signum, status):
    # TensorFlow's start-up lines are held back while it is imported, and
    # shown only if the import fails: an interruption is no failure.
    result = subprocess.run(
        [sys.executable, "-c", _SIGNAL_ON_IMPORT.format(signum=int(signum)), "squares"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
        preexec_fn=sigint_as_a_terminal_leaves_it,
        timeout=600,
    )
    assert result.returncode == status
    assert result.stderr == (
        f"fitfn: stopped by {signal.Signals(signum).name}; "
        f"fitfn-results is as it was before the run\n"
    )
    assert os.listdir(tmp_path) == []


def test_ctrl_c_in_a_terminal_stops_a_local_cluster_run_in_one_line(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    # As a terminal's Ctrl-C does, the signal goes to every process of the
    # group: the command and the Dask workers. It lands once the cluster is
    # up and the search has started; wherever it lands, the outcome is the same.
    process = subprocess.Popen(
        [*LONG_SEARCH, "--scheduler", "local", "--n-workers", "2", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,
        preexec_fn=sigint_as_a_terminal_leaves_it,
    )
    running = process.stderr.readline()
    assert running.startswith("running the fits on the Dask cluster at"), running
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert stdout == ""
    assert stderr == f"fitfn: stopped by SIGINT; {out} is as it was before the run\n"
    assert not out.exists()


def test_a_run_started_with_sigint_ignored_keeps_ignoring_it(tmp_path):
    # As `nohup fitfn ...` or `fitfn ... &` in a script: SIGINT is not the
    # command's to re-enable; the run goes on and writes its results.
    out = tmp_path / "out"

    def sigint_ignored():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    process = subprocess.Popen(
        [*LONG_SEARCH[:4], *SMALL, "--activations", "relu", "tanh", "identity"]
        + ["--n-jobs", "1", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        preexec_fn=sigint_ignored,
    )
    first = process.stderr.readline()
    assert first.startswith("[1/3]"), first
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "stopped by" not in stderr and "wrote" in stdout
    assert sorted(os.listdir(out)) == ["fits.png", "results.csv", "results.json", "rmse.png"]


def test_a_signal_while_writing_leaves_no_staged_file(tmp_path, monkeypatch):
    (tmp_path / "results.json").write_text("{}")
    before = _folder_contents(tmp_path)

    def plot_written(result, path):
        with open(path, "wb") as f:
            f.write(b"a figure")

    def signal_arrives(result, path):
        raise _Stopped(signal.SIGTERM)

    monkeypatch.setattr(sklearn_fitfn._commands.figures, "plot_fits", plot_written)
    monkeypatch.setattr(sklearn_fitfn._commands.figures, "plot_rmse", signal_arrives)
    result = types.SimpleNamespace(table=pd.DataFrame({"a": [1]}), to_json=lambda: '{"new": 1}')
    with pytest.raises(_Stopped), _StopOnSignals() as stopping:
        _write_results(_experiment_files(result), tmp_path, stopping)
    assert _folder_contents(tmp_path) == before
    assert not stopping.settled


def test_a_failed_write_is_one_line_exit_1_and_leaves_the_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("an earlier run's results\n")
    before = _folder_contents(out)

    def files_of_at_most_20_kb():  # as a full disk would, the figures fail to write
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    result = subprocess.run(
        [sys.executable, "-m", "sklearn_fitfn", "squares", *SMALL, "-q", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        preexec_fn=files_of_at_most_20_kb,
        timeout=600,
    )
    assert result.returncode == 1
    assert result.stderr == f"fitfn: cannot write the results to {str(out)!r}: File too large\n"
    assert _folder_contents(out) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["squares", "--alpha", "inf"], "argument --alpha: must be a finite number >= 0: 'inf'"),
        (["squares", "--tol", "inf"], "argument --tol: must be a finite number >= 0: 'inf'"),
        (["squares", "--seed", "-1"], "argument --seed: must be an integer from 0 to 4294967295"),
        (["squares", "--seed", "99999999999"], "must be an integer from 0 to 4294967295"),
        (["replay", "--seed", "-1"], "argument --seed: must be an integer from 0 to 4294967295"),
        (["squares", "--scheduler", "ucx://x"], "reaches a scheduler by tcp:// or tls://"),
        (["squares", "--high", "4000000000"], "make y = x² reach 1.6e+19, more than 64-bit"),
        (["products", "--high", "10000000000"], "make y = x1 · x2 reach 1e+20"),
        (["cubes", "--high", "3000000"], "make y = x³ reach 2.7e+19"),
        (["squares", "-o", ""], "argument -o/--output: give a folder name"),
        (["replay", "-o", " "], "argument -o/--output: give a folder name"),
        (["arithmetic", "--seeds", "10000000000"], "seeds must be at most 2**32"),
        (["arithmetic", "--hidden", "100000"], "hidden=100000 square units are too many"),
    ],
)
def test_values_that_cannot_run_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    status, out, err = _stops([*args, "-o", str(tmp_path / "out")], capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "out").exists()
