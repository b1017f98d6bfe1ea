"""TensorFlow and Keras, imported without their log lines: every module of the
package that uses them takes them from here (``from .._quiet.tensorflow
import keras, tf``), so whichever runs first starts TensorFlow quietly.

TensorFlow prints C++ log lines (CUDA probing, oneDNN notices, the absl
"before InitializeLog" warning) straight to file descriptor 2 while it is
imported, before any Python-level logging setting can take effect; they are
held back here. Later lines (a failed ``cuInit`` when devices are first
listed, the graph optimiser's ``Not handling type DT_DOUBLE`` for float64
graphs with oneDNN on) come from TensorFlow's C++ logging, whose level is read
once, from ``TF_CPP_MIN_LOG_LEVEL``: the package sets it to 3 unless the user
has set it, and a user who asked for logs (a level below 3) sees every line.

That level is the only process-wide setting the package makes: thread pools,
oneDNN and everything else stay as TensorFlow chooses. One thread per
operation (``TF_NUM_INTRAOP_THREADS=1``) made only the wide network faster,
while it would hold every TensorFlow computation of the process to one core
per operation, and turning oneDNN off changed no fit's time: both are the
user's to choose (benchmarks/bench_threads.py, docs/performance.md).
"""

import collections
import contextlib
import logging
import os
import sys
import tempfile
import threading


def _import_tensorflow_quietly():
    user_wants_logs = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") != "3"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if user_wants_logs or "tensorflow" in sys.modules:
        import keras
        import tensorflow

        return tensorflow, keras

    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras
            import tensorflow
        except Exception:
            os.dup2(saved_fd, 2)
            captured.seek(0)
            # The import failed: what TensorFlow printed is now worth seeing.
            # (Not when it was interrupted: Ctrl-C is no reason to show it.)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    return tensorflow, keras


tf, keras = _import_tensorflow_quietly()


class _RetracingNotices(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" notices logged by
    the threads that are running one of the package's fits, and nothing else.

    Keras's fit traces its training step once per network shape and size of
    data, which is what a grid search asks of it; TensorFlow reads that as a
    loop that retraces by mistake and logs a paragraph of advice to stderr.
    """

    def __init__(self):
        super().__init__()
        self.threads = collections.Counter()
        self.lock = threading.Lock()

    def filter(self, record):
        return not (
            record.thread in self.threads
            and "triggered tf.function retracing" in record.getMessage()
        )


_retracing_notices = _RetracingNotices()


@contextlib.contextmanager
def without_retracing_notices():
    """Hold back TensorFlow's retracing notices from this thread while the
    block runs. The filter sits on TensorFlow's logger only while some
    thread is inside such a block, so the process's logging is as it was
    before and after."""
    logger = tf.get_logger()
    thread = threading.get_ident()
    with _retracing_notices.lock:
        if not _retracing_notices.threads:
            logger.addFilter(_retracing_notices)
        _retracing_notices.threads[thread] += 1
    try:
        yield
    finally:
        with _retracing_notices.lock:
            _retracing_notices.threads[thread] -= 1
            if not _retracing_notices.threads[thread]:
                del _retracing_notices.threads[thread]
            if not _retracing_notices.threads:
                logger.removeFilter(_retracing_notices)
