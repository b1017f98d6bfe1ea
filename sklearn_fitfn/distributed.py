"""Run joblib work, such as a grid search's fits, on a Dask cluster.

Nothing home-made sits in between: this is joblib's ``dask`` backend on a
``distributed.Client``. The estimators travel to the workers pickled (the
Keras network too, when a fitted one comes back), so a worker needs this
package installed and nothing else prepared.

Needs the ``dask`` extra: ``pip install "sklearn-fitfn[dask]"``.
"""

import contextlib
import logging
import os
import signal
import socket
import urllib.parse

import joblib

from . import _moved_names

__all__ = ["dask_backend"]

__getattr__ = _moved_names(
    __name__,
    {
        "check_scheduler_address": "dask_backend checks the address itself",
        "redo_lost_work": (
            "it was a helper of the fitfn command; a block of dask_backend that "
            "lost work raises RuntimeError, and running it again is safe"
        ),
    },
)

MISSING_EXTRA = (
    "running on a Dask cluster needs the 'dask' extra: "
    'pip install "sklearn-fitfn[dask]" (dask and distributed)'
)

#: The one address a local cluster listens on: nothing of it is reachable
#: from another machine.
LOOPBACK = "127.0.0.1"

#: A run whose fits find no worker to run on for this long fails rather than waits.
NO_WORKERS_TIMEOUT = "60s"


def _import_distributed():
    """Import and return ``distributed``, or raise ImportError naming the extra."""
    try:
        import distributed
    except ImportError as error:
        raise ImportError(MISSING_EXTRA) from error
    return distributed


@contextlib.contextmanager
def _local_cluster(distributed, n_workers):
    """A LocalCluster of worker processes on loopback, closed when the block ends.

    Its processes' log lines are held back: they come when a worker dies or
    the cluster shuts down mid-task, and what matters reaches the caller as
    an exception. An interruption (Ctrl-C, or any BaseException that is not
    an Exception) ends the worker processes at once instead of waiting up to
    4 s per worker for the fits they are running.
    """
    import dask

    from ._quiet.dask_worker import QuietWorker

    # The scheduler of a LocalCluster lives in this process and reads this at
    # start: tasks that find no worker fail after the timeout instead of waiting.
    with dask.config.set({"distributed.scheduler.no-workers-timeout": NO_WORKERS_TIMEOUT}):
        cluster = distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            # The scheduler, workers, nannies and dashboard listen on loopback
            # only, each on any free port (8787 may be another cluster's).
            host=LOOPBACK,
            dashboard_address=f"{LOOPBACK}:0",
            silence_logs=logging.CRITICAL,
            plugins=(QuietWorker(),),
        )
    with cluster:
        try:
            yield cluster
        except Exception:
            raise
        except BaseException:
            for nanny in list(cluster.workers.values()):
                with contextlib.suppress(OSError, TypeError):  # gone, or never started
                    os.kill(nanny.pid, signal.SIGKILL)
            raise


#: Seconds a scheduler's address has to accept a connection before the
#: search starts: a refused or unreachable address is reported at once,
#: instead of after Dask's 30 s of retries.
PROBE_TIMEOUT = 5.0


def _tcp_host_port(address):
    """Host and port of a ``tcp://`` or ``tls://`` address (``HOST:PORT`` means
    tcp, as in Dask), or ``(None, None)`` for another protocol.

    Raises ValueError naming what is missing: the port, a numeric port, a host.
    """
    scheme, separator, location = address.rpartition("://")
    scheme = scheme if separator else "tcp"
    if scheme not in ("tcp", "tls"):
        if not location:
            raise ValueError("nothing after the protocol")
        return None, None
    parsed = urllib.parse.urlsplit(f"//{location}")
    try:
        port = parsed.port
    except ValueError:
        raise ValueError("the port is not a number from 0 to 65535") from None
    if port is None:
        raise ValueError("no port number")
    if not parsed.hostname or parsed.path or parsed.query or parsed.fragment:
        raise ValueError("expected HOST:PORT")
    return parsed.hostname, port


def _check_scheduler_address(address, timeout=PROBE_TIMEOUT):
    """Check that a TCP scheduler address is well formed and accepts connections.

    Parameters
    ----------
    address : str
        Such as ``"tcp://10.0.0.5:8786"`` or ``"10.0.0.5:8786"``; addresses
        of other protocols (``ucx://``, ``inproc://``, ...) are left to Dask.
    timeout : float
        Seconds to wait for the connection.

    Raises
    ------
    ValueError
        If the address is not one (a usage error).
    OSError
        If the connection is refused, the host is unknown, or nothing answers
        within ``timeout`` (``TimeoutError``); the message says which.
    """
    try:
        host, port = _tcp_host_port(address)
    except ValueError as error:
        raise ValueError(
            f"not a Dask scheduler address: {address!r} ({error}); "
            "give one such as tcp://HOST:8786, or 'local'"
        ) from None
    if host is None:
        return
    where = f"{host}:{port}"
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except ConnectionRefusedError:
        raise OSError(f"connection refused by {where}: no scheduler listens there") from None
    except socket.gaierror:
        raise OSError(f"unknown host {host!r}") from None
    except TimeoutError:
        raise TimeoutError(f"no answer from {where} within {timeout:g} s") from None
    except OSError as error:
        raise OSError(f"cannot reach {where}: {error.strerror or error}") from None


@contextlib.contextmanager
def dask_backend(scheduler, *, n_workers=None, timeout=None):
    """Send joblib's parallel work to a Dask cluster while the block runs.

    Inside the block, ``GridSearchCV(..., n_jobs=-1)`` and any
    ``joblib.Parallel`` run their tasks on the cluster's workers. A task whose
    worker dies is given to another worker. When Dask gives up (``KilledWorker``:
    a task kept killing its workers) or cancels work because the data it
    needed died with its worker, the block ends with a ``RuntimeError`` that
    says so; every fit is seeded, so running the block again gives the results
    of a run that lost nothing (``fitfn`` does that itself, a bounded number of
    times).

    Parameters
    ----------
    scheduler : str or distributed.Client
        ``"local"`` starts a ``LocalCluster`` on this machine (one thread per
        worker process, no Dask log lines, and the workers leave Ctrl-C to
        this process) and shuts it down when the block ends, at once when
        the block is interrupted; an address such as
        ``"tcp://10.0.0.5:8786"`` connects to a running scheduler; a
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
    ValueError
        If ``scheduler`` is not an address Dask can parse.
    TimeoutError, OSError
        If the scheduler cannot be reached (a refused connection within
        :data:`PROBE_TIMEOUT`) or has no workers in ``timeout``.
    RuntimeError
        If the cluster lost work it could not redo.
    """
    distributed = _import_distributed()
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
            _check_scheduler_address(scheduler, min(timeout, PROBE_TIMEOUT))
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
