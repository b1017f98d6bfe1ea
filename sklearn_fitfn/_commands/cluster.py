"""The experiment's work on a Dask cluster: how many fits run at once, and
work that a dead worker took with it, run again."""

import math

import joblib

from ..distributed import _import_distributed

#: Times a piece of parallel work is run in all, when workers die with data it needed.
LOST_WORK_ATTEMPTS = 3


def redo_lost_work(client, work, *, attempts=LOST_WORK_ATTEMPTS, report=None):
    """Run ``work()``; if a dead worker took data it needed, run it again.

    joblib hands a Dask task's larger arguments (the data, a fold's indices)
    to one worker ahead of the task. When that worker dies, the tasks that
    needed them are cancelled rather than redone, because such data cannot
    be recomputed. Running the work again sends them anew to the workers
    alive; every fit is seeded, so the results are those of a run that lost
    nothing. A task that keeps killing its workers (``KilledWorker``) is not
    tried again.

    Parameters
    ----------
    client : distributed.Client or None
        The cluster; with None, ``work()`` runs once.
    work : callable
        The parallel work, run with no arguments; its result is returned.
    attempts : int, default=LOST_WORK_ATTEMPTS
        Runs in all before the cancellation is raised.
    report : callable, optional
        Called as ``report(attempt, attempts)`` before each new attempt.

    Returns
    -------
    object
        What ``work()`` returned.
    """
    if client is None:
        return work()
    cancelled = _import_distributed().client.FutureCancelledError
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except cancelled:
            if attempt == attempts:
                raise
            if report is not None:
                report(attempt + 1, attempts)


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
