"""Grid searches on a Dask cluster: same results as in-process, robust to a lost worker.

The cluster is a LocalCluster of 2 worker processes with 1 thread each,
started here. In-process and on the workers, every fit runs the same float64
arithmetic from the same seeds; what may differ is the order of additions
inside TensorFlow's kernels when they split work over a different number of
threads, which moves results at the level of float64 round-off (1e-16
relative per operation, compounding over a few thousand steps). A relative
tolerance of 1e-9 on the CV scores is far above that and far below any real
difference between candidates (they differ by more than 1e-2 relative).
"""

import os
import signal
import subprocess
import sys
import time
import warnings

import cloudpickle
import joblib
import numpy as np
import psutil
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV as ScikitLearnGridSearchCV
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

distributed = pytest.importorskip("distributed")

from sklearn_fitfn import MLPFunctionRegressor  # noqa: E402
from sklearn_fitfn._commands.cluster import candidates_per_round, redo_lost_work  # noqa: E402
from sklearn_fitfn._commands.experiments import _describe  # noqa: E402
from sklearn_fitfn.datasets import make_squares  # noqa: E402
from sklearn_fitfn.distributed import (  # noqa: E402
    MISSING_EXTRA,
    _check_scheduler_address,
    dask_backend,
)
from sklearn_fitfn.experiments import run_experiment  # noqa: E402
from sklearn_fitfn.model_selection import GridSearchCV  # noqa: E402

GRID = dict(
    n_samples=300,
    max_iter=150,
    cv=3,
    activations=("identity", "relu"),
    architectures=[(8,), (16, 16)],
    progress=False,
)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as connected:
        yield connected


@pytest.fixture(scope="module")
def in_process():
    return run_experiment("squares", extrapolate=(1001, 2000), **GRID)


def assert_same_results(result, reference):
    assert result.search.best_params_ == reference.search.best_params_
    for key in ["mean_test_rmse", "mean_test_r2", "split0_test_rmse", "split2_test_rmse"]:
        np.testing.assert_allclose(
            result.search.cv_results_[key], reference.search.cv_results_[key], rtol=1e-9
        )
    for column in ["cv_rmse_mean", "test_rmse", "extrapolation_rmse"]:
        np.testing.assert_allclose(result.table[column], reference.table[column], rtol=1e-9)
    # Warnings of fits trained on a worker are given again where they are fitted.
    assert list(result.table["converged"]) == list(reference.table["converged"])


def test_grid_on_the_cluster_matches_in_process(client, in_process):
    with distributed.get_task_stream(client) as tasks:
        result = run_experiment("squares", extrapolate=(1001, 2000), scheduler=client, **GRID)
    # 4 candidates x 3 folds (3 of a shape: fewer than a group needs), then 3
    # refits (the best one is refitted by GridSearchCV here).
    assert len(tasks.data) >= 12 + 3
    assert_same_results(result, in_process)
    # Each fit trained on a worker, which the seconds per fit count.
    trained = result.search._training_seconds
    assert all(seconds > 0 for seconds in trained)
    shown = result.table.set_index(["activation", "architecture"])["fit_seconds"]
    for candidate, seconds in zip(result.search.cv_results_["params"], trained):
        assert shown[_describe(candidate)] >= seconds
    # The refitted models came back from the workers and still predict.
    X, y = make_squares(50, random_state=5)
    for activation, model in result.models.items():
        np.testing.assert_allclose(
            model.predict(X), in_process.models[activation].predict(X), rtol=1e-9
        )


def test_estimators_travel_to_workers_and_back(client):
    X, y = make_squares(200, random_state=0)
    X = (X - 500.0) / 300.0
    y = y / 1e6
    params = dict(hidden_layer_sizes=(8,), max_iter=50, random_state=0)

    def fit_there(X, y):
        return MLPFunctionRegressor(**params).fit(X, y)

    here = MLPFunctionRegressor(**params).fit(X, y)
    there = client.submit(fit_there, X, y, pure=False).result()
    np.testing.assert_allclose(there.predict(X), here.predict(X), rtol=1e-9)
    predicted_there = client.submit(lambda m, X: m.predict(X), here, X).result()
    np.testing.assert_allclose(predicted_there, here.predict(X), rtol=1e-9)
    assert there.loss_curve_ == pytest.approx(here.loss_curve_, rel=1e-9)


def _converging_warnings(search, X, y):
    """``search`` fitted; returns it and the ConvergenceWarnings its fits gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    return search, sorted(str(w.message) for w in caught if w.category is ConvergenceWarning)


def test_a_search_sends_one_task_per_group_and_per_member_alone(client, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = X[:, 0] ** 2 + X[:, 1]
    network = MLPFunctionRegressor(hidden_layer_sizes=(8, 8), max_iter=40, random_state=0)
    estimator = make_pipeline(StandardScaler(), network)
    # 4 candidates of one shape (12 fits: one group), one of another shape and
    # one with L-BFGS (3 fits each, alone).
    grid = [
        {
            "mlpfunctionregressor__alpha": [1e-4, 1e-1],
            "mlpfunctionregressor__learning_rate_init": [1e-3, 1e-2],
        },
        {
            "mlpfunctionregressor__hidden_layer_sizes": [(4,)],
            "mlpfunctionregressor__activation": ["elu"],  # TensorFlow's groups need 8
        },
        {"mlpfunctionregressor__solver": ["lbfgs"], "mlpfunctionregressor__max_iter": [5]},
    ]
    cv = KFold(3, shuffle=True, random_state=0)
    reference, warned_here = _converging_warnings(
        ScikitLearnGridSearchCV(estimator, grid, cv=cv), X, y
    )
    with distributed.get_task_stream(client) as tasks, joblib.parallel_config("dask"):
        search, warned = _converging_warnings(GridSearchCV(estimator, grid, cv=cv, verbose=1), X, y)
    ran = [task["key"] for task in tasks.data]
    # Only the training went to the cluster, and scikit-learn's loop took it here.
    assert ran and all("train_task" in key for key in ran), ran
    printed = capsys.readouterr().out
    assert printed.count("Trained 12 fits of hidden_layer_sizes=(8, 8)") == 1, printed
    assert "6 of 18 fits train one at a time" in printed
    # Each fit gives the warnings it gave alone: the engine's and L-BFGS's own.
    assert warned == warned_here
    assert any("lbfgs" in message.lower() for message in warned), warned
    assert search.best_params_ == reference.best_params_
    for key in ["mean_test_score", "split0_test_score", "split2_test_score"]:
        np.testing.assert_allclose(search.cv_results_[key], reference.cv_results_[key], rtol=1e-9)


class _DieAtSecondTask(distributed.WorkerPlugin):
    """On every worker: the first worker to start executing its second task
    kills its own process with SIGKILL, as a crash or the OOM killer would.

    The marker file, created exclusively, makes it one kill per cluster (the
    worker its nanny starts again gets this plugin too) and records the pid.
    Every worker gets a second task in a grid of 15 fits on 2 workers, so the
    kill happens in every run, while fits are running and more are queued:
    no timer, no race.
    """

    name = "die-at-second-task"

    def __init__(self, marker):
        self.marker = marker
        self.started = 0

    def setup(self, worker):
        self.started = 0

    def transition(self, key, start, finish, **kwargs):
        if finish != "executing":
            return
        self.started += 1
        if self.started != 2:
            return
        try:
            claimed = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(claimed, str(os.getpid()).encode())
        os.close(claimed)
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_lost_mid_grid_completes_the_grid_or_stops_clearly(
    client, in_process, tmp_path, record_property
):
    pids = set(client.run(os.getpid).values())
    marker = tmp_path / "killed"
    # The workers unpickle the plugin without importing this test module.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        client.register_plugin(_DieAtSecondTask(str(marker)))
        try:
            outcome = run_experiment("squares", extrapolate=(1001, 2000), scheduler=client, **GRID)
        except RuntimeError as error:
            outcome = error
    finally:
        client.unregister_worker_plugin(_DieAtSecondTask.name)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    victim = int(marker.read_text())
    assert victim in pids
    # Dask gives the lost fits to the other worker, and the data that died
    # with the victim is sent again (redo_lost_work): the grid completes, with
    # the results of a run that lost nothing.
    record_property("outcome", repr(outcome) if isinstance(outcome, RuntimeError) else "completed")
    assert not isinstance(outcome, RuntimeError), outcome
    assert_same_results(outcome, in_process)
    client.wait_for_workers(2, timeout=120)  # the nanny restarted the worker
    assert victim not in client.run(os.getpid).values()


def test_a_cluster_without_workers_fails_clearly_and_soon():
    with distributed.LocalCluster(
        n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as empty:
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            with dask_backend(empty.scheduler_address, timeout=2):
                pass
        assert time.perf_counter() - started < 30


def test_local_clusters_fail_tasks_that_find_no_worker():
    with dask_backend("local", n_workers=1) as client:
        timeout = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.no_workers_timeout)
    assert timeout == 60


def _listening(processes):
    """(pid, address, port) of every listening TCP socket of ``processes``."""
    found = set()
    for process in processes:
        for connection in process.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN:
                found.add((process.pid, connection.laddr.ip, connection.laddr.port))
    return found


def test_a_local_cluster_listens_on_loopback_only():
    this = psutil.Process()
    before = _listening([this, *this.children(recursive=True)])
    with dask_backend("local", n_workers=1) as client:
        dashboard = client.dashboard_link
        opened = _listening([this, *this.children(recursive=True)]) - before
        workers = client.scheduler_info()["workers"]
    # the scheduler and dashboard here, a nanny and a worker in child processes
    assert {pid for pid, _, _ in opened} - {this.pid}
    assert len(opened) >= 4, opened
    assert {address for _, address, _ in opened} == {"127.0.0.1"}, opened
    assert dashboard.startswith("http://127.0.0.1:"), dashboard
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)


def test_candidates_fill_whole_rounds():
    assert candidates_per_round(1, 3) == 1
    assert candidates_per_round(2, 3) == 2  # 6 fits: 3 full rounds of 2
    assert candidates_per_round(6, 3) == 2
    assert candidates_per_round(8, 5) == 8


def test_bad_scheduler_arguments():
    with pytest.raises(TypeError, match="scheduler must be 'local'"):
        with dask_backend(8786):
            pass
    with pytest.raises(
        ValueError, match="n_workers=2 applies to a cluster started for the run only"
    ):
        run_experiment("squares", scheduler="tcp://127.0.0.1:8786", n_workers=2, **GRID)


def fitfn(*args, env=None, prelude=""):
    code = (
        f"import sys\n{prelude}\nfrom sklearn_fitfn._commands.cli import main\n"
        "sys.exit(main(sys.argv[1:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
def test_fitfn_runs_on_a_local_cluster(tmp_path):
    result = fitfn(
        "squares",
        "-n",
        "300",
        "--epochs",
        "150",
        "--architectures",
        "8",
        "16,16",
        "--scheduler",
        "local",
        "--n-workers",
        "2",
        "-o",
        str(tmp_path / "out"),
    )
    assert result.returncode == 0, result.stderr
    assert "a linear network cannot fit x²" in result.stdout
    assert (tmp_path / "out" / "results.csv").exists()


def test_missing_dask_extra_is_one_line(tmp_path):
    result = fitfn(
        "squares",
        "--scheduler",
        "local",
        "-o",
        str(tmp_path / "out"),
        prelude="sys.modules['distributed'] = None",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"fitfn: error: {MISSING_EXTRA}"
    assert not (tmp_path / "out").exists()


def test_missing_dask_extra_in_python(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match="the 'dask' extra"):
        run_experiment("squares", scheduler="local", **GRID)


def test_a_refusing_scheduler_is_one_line_exit_1(tmp_path):
    # Nothing listens on port 9 here: the connection is refused at once, and
    # reported as refused before Dask's 30 s of retries.
    result = fitfn("squares", "--scheduler", "tcp://127.0.0.1:9", "-o", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "fitfn: Dask scheduler tcp://127.0.0.1:9: connection refused by 127.0.0.1:9: "
        "no scheduler listens there\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address", ["foo", "tcp://127.0.0.1", "tcp://127.0.0.1:notaport"])
def test_a_malformed_scheduler_address_is_a_usage_error(tmp_path, address):
    result = fitfn("squares", "--scheduler", address, "-o", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"fitfn: error: not a Dask scheduler address: {address!r}")
    assert not (tmp_path / "out").exists()


def test_an_unknown_scheduler_host_is_named():
    with pytest.raises(OSError, match="unknown host 'no-such-host.invalid'"):
        _check_scheduler_address("tcp://no-such-host.invalid:8786")


def test_lost_work_is_run_again_a_bounded_number_of_times():
    cancelled = distributed.client.FutureCancelledError
    calls, reports = [], []

    def work():
        calls.append(len(calls) + 1)
        if len(calls) < 3:
            raise cancelled("x", reason="lost dependencies")
        return "done"

    a_client = object()  # only whether there is a cluster matters
    assert redo_lost_work(a_client, work, report=lambda *a: reports.append(a)) == "done"
    assert calls == [1, 2, 3] and reports == [(2, 3), (3, 3)]

    def always_lost():
        raise cancelled("x", reason="lost dependencies")

    with pytest.raises(cancelled):
        redo_lost_work(a_client, always_lost, attempts=2)

    # A task that kills every worker it runs on is not tried again.
    tries = []

    def killing():
        tries.append(1)
        raise distributed.scheduler.KilledWorker("fit", "tcp://w", 3)

    with pytest.raises(distributed.scheduler.KilledWorker):
        redo_lost_work(a_client, killing)
    assert tries == [1]
    assert redo_lost_work(None, lambda: "once") == "once"


def test_work_the_cluster_could_not_redo_ends_in_one_clear_error(client):
    def lost():
        raise distributed.client.FutureCancelledError("x", reason="lost dependencies")

    with pytest.raises(RuntimeError, match="^the Dask cluster lost work when a worker died"):
        with dask_backend(client):
            redo_lost_work(client, lost)
