"""Import TensorFlow and Keras without their start-up log lines.

TensorFlow prints C++ log lines (CUDA probing, oneDNN notices, the absl
"before InitializeLog" warning) straight to file descriptor 2 while it is
imported, before any Python-level logging setting can take effect. This module
is imported first by the package so that ``import sklearn_fitfn`` stays silent.
A user who has set ``TF_CPP_MIN_LOG_LEVEL`` or ``TF_ENABLE_ONEDNN_OPTS`` keeps
their setting, and a user who asked for TensorFlow's logs (a level below 3)
sees them.
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
    if user_wants_logs or "tensorflow" in sys.modules:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401

        return

    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
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


_import_tensorflow_quietly()
