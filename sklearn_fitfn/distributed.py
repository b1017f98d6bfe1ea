"""Run joblib work, such as a grid search's fits, on a Dask cluster.

Nothing home-made sits in between: this is joblib's ``dask`` backend on a
``distributed.Client``. The estimators travel to the workers pickled (the
Keras network too, when a fitted one comes back), so a worker needs this
package installed and nothing else prepared.

Needs the ``dask`` extra: ``pip install "sklearn-fitfn[dask]"``.
"""

import contextlib
import math

import joblib

MISSING_EXTRA = (
    "running on a Dask cluster needs the 'dask' extra: "
    "pip install \"sklearn-fitfn[dask]\" (dask and distributed)"
)

#: A run whose fits find no worker to run on for this long fails rather than waits.
NO_WORKERS_TIMEOUT = "60s"


def import_distributed():
    """Import and return ``distributed``, or raise ImportError naming the extra."""
    try:
        import distributed
    except ImportError as error:
        raise ImportError(MISSING_EXTRA) from error
    return distributed


def _local_cluster(distributed, n_workers):
    import dask

    # The scheduler of a LocalCluster lives in this process and reads this at
    # start: tasks that find no worker fail after the timeout instead of waiting.
    with dask.config.set({"distributed.scheduler.no-workers-timeout": NO_WORKERS_TIMEOUT}):
        return distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address=":0",  # any free port: 8787 may be another cluster's
        )  # fmt: skip


@contextlib.contextmanager
def dask_backend(scheduler, *, n_workers=None, timeout=None):
    """Send joblib's parallel work to a Dask cluster while the block runs.

    Inside the block, ``GridSearchCV(..., n_jobs=-1)`` and any
    ``joblib.Parallel`` run their tasks on the cluster's workers. A task whose
    worker dies is given to another worker; when Dask gives up instead (the
    data a task needed died with its worker, or ``KilledWorker``) the block
    ends with a ``RuntimeError`` that says so.

    Parameters
    ----------
    scheduler : str or distributed.Client
        ``"local"`` starts a ``LocalCluster`` on this machine (one thread per
        worker process) and shuts it down when the block ends; an address
        such as ``"tcp://10.0.0.5:8786"`` connects to a running scheduler; a
        ``Client`` is used as it is and left open.
    n_workers : int, optional
        Worker processes of a ``"local"`` cluster (default: Dask's choice,
        one per core).
    timeout : float, optional
        Seconds to wait for the scheduler to answer and for a first worker
        (default: Dask's ``distributed.comm.timeouts.connect``, 30 s).

    Yields
    ------
    distributed.Client

    Raises
    ------
    ImportError
        If dask or distributed is not installed.
    TimeoutError, OSError
        If the scheduler cannot be reached or has no workers in ``timeout``.
    RuntimeError
        If the cluster lost work it could not redo.
    """
    distributed = import_distributed()
    if timeout is None:
        import dask
        from dask.utils import parse_timedelta

        timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))
    with contextlib.ExitStack() as stack:
        if isinstance(scheduler, distributed.Client):
            client = scheduler
        elif scheduler == "local":
            cluster = stack.enter_context(_local_cluster(distributed, n_workers))
            client = stack.enter_context(distributed.Client(cluster, timeout=timeout))
        elif isinstance(scheduler, str):
            if n_workers is not None:
                raise ValueError("n_workers applies to scheduler='local' only")
            client = stack.enter_context(distributed.Client(scheduler, timeout=timeout))
        else:
            raise TypeError(
                "scheduler must be 'local', a scheduler address such as "
                f"'tcp://host:8786', or a distributed.Client; got {scheduler!r}"
            )
        client.wait_for_workers(1, timeout=timeout)
        lost = (distributed.client.FutureCancelledError, distributed.scheduler.KilledWorker)
        with client.as_current(), joblib.parallel_config(backend="dask"):
            try:
                yield client
            except lost as error:
                raise RuntimeError(
                    "the Dask cluster lost work when a worker died (its fits were "
                    "cancelled or it kept dying); nothing was kept, run it again: "
                    f"{type(error).__name__}: {error}"
                ) from error


def parallel_slots(client=None, n_jobs=None):
    """How many fits can run at once: the cluster's worker threads, or joblib's
    effective ``n_jobs`` when no cluster is given."""
    if client is not None:
        return max(1, sum(client.nthreads().values()))
    return joblib.effective_n_jobs(n_jobs)


def candidates_per_round(slots, folds):
    """Candidates to evaluate together so that their fits fill whole rounds of
    ``slots`` parallel fits: ``lcm(slots, folds) / folds``, at least 1."""
    return max(1, slots // math.gcd(slots, folds))
