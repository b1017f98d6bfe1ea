"""Quiet Dask worker processes for the clusters this package starts.

Imported only where ``distributed`` is installed (the ``dask`` extra).
"""

import logging
import signal
import threading

from distributed import WorkerPlugin


class QuietWorker(WorkerPlugin):
    """Leave Ctrl-C to the process that started the cluster, and hold back
    the worker's Dask log lines below CRITICAL.

    A Ctrl-C in a terminal reaches every process of its group, the worker
    processes too: each would print a ``KeyboardInterrupt`` traceback and its
    shutdown log lines under the command's one line. The process that started
    the cluster handles the signal and ends the workers itself.
    ``LocalCluster(silence_logs=...)`` quiets that process and the nanny
    loggers only.
    """

    name = "sklearn-fitfn-quiet-worker"

    def setup(self, worker):
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
