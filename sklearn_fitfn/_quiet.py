"""TensorFlow and Keras, imported without their start-up log lines, with thread
pools sized for small networks: every module of the package that uses them
takes them from here (``from ._quiet import keras, tf``), so whichever runs
first starts TensorFlow quietly.

TensorFlow prints C++ log lines (CUDA probing, oneDNN notices, the absl
"before InitializeLog" warning) straight to file descriptor 2 while it is
imported, before any Python-level logging setting can take effect. This module
keeps the package's use of TensorFlow silent.
A user who has set ``TF_CPP_MIN_LOG_LEVEL`` or ``TF_ENABLE_ONEDNN_OPTS`` keeps
their setting, and a user who asked for TensorFlow's logs (a level below 3)
sees them.

TensorFlow's thread pools are fixed when it starts, from the environment. Each
operation of a multilayer perceptron is small (a 100 x 64 by 64 x 64 product),
and splitting one over several threads costs more than it saves: with one
thread per operation (``TF_NUM_INTRAOP_THREADS=1``) every fit size in
benchmarks/bench_fit.py ran faster (docs/performance.md). Independent operations still run
in parallel on the inter-operation pool. In processes whose thread budget is
set by ``OMP_NUM_THREADS``, as joblib's and Dask's worker processes set it so
that parallel fits do not oversubscribe the cores, that pool follows it. A
value the user has set for either variable is kept.
"""

import os
import sys
import tempfile


def _import_tensorflow_quietly():
    user_wants_logs = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") != "3"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # oneDNN's notice cannot be silenced by the log level; switching its
    # reordered kernels off also keeps round-off identical between runs.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", os.environ["OMP_NUM_THREADS"])
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
        except BaseException:
            os.dup2(saved_fd, 2)
            captured.seek(0)
            # The import failed: what TensorFlow printed is now worth seeing.
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    return tensorflow, keras


tf, keras = _import_tensorflow_quietly()
