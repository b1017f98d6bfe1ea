"""Which TensorFlow executor runs the compiled epochs.

A mini-batch step of a small network is about two hundred operations of a
few microseconds each. TensorFlow's default executor hands every one of them
to its inter-operation thread pool, and that hand-over costs as much as the
arithmetic. Its single-threaded executor runs them one after another in the
calling thread instead: the canonical fit took a third less time
(docs/performance.md), and parallel fits in Python threads stop sharing one
pool. A wide network is the other way round: its independent matrix
products gain from running side by side, so it keeps the default executor.

The single-threaded executor cannot run loops lowered to low-level control
flow, so a graph must be traced for it (its loops stay functional ``While``
operations). Both the tracing and every call therefore run inside
:func:`executor`, and the choice is part of the traced function's key.
"""

import contextlib
import functools

from .._quiet.tensorflow import tf

try:  # not public API: without it, everything runs on the default executor
    from tensorflow.python.eager.context import function_executor_type
except ImportError:  # pragma: no cover
    function_executor_type = None

#: Multiply-adds of one mini-batch through the network's layers up to which
#: steps run in the calling thread; (128, 128) with batches of 100 is about
#: where the two executors cost the same on a 2-core machine.
INLINE_MAX_MULTIPLY_ADDS = 2_000_000


@functools.cache
def _cpu_only():
    # Steps placed on an accelerator involve asynchronous kernels, which the
    # single-threaded executor does not run.
    return not tf.config.list_logical_devices("GPU")


def step_multiply_adds(layer_units, batch_size):
    """Multiply-adds of one mini-batch through the network's layers: what
    sizes a step, for the executor's choice and for XLA's (:mod:`._training.xla`).

    Parameters
    ----------
    layer_units : sequence of int
        Widths from input to output.
    batch_size : int

    Returns
    -------
    int
    """
    return batch_size * sum(
        fan_in * fan_out for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:])
    )


def runs_inline(layer_units, batch_size):
    """Whether a network's steps run in the calling thread.

    Parameters
    ----------
    layer_units : sequence of int
        Widths from input to output.
    batch_size : int

    Returns
    -------
    bool
    """
    if function_executor_type is None or not _cpu_only():
        return False
    return step_multiply_adds(layer_units, batch_size) <= INLINE_MAX_MULTIPLY_ADDS


def executor(inline):
    """A context in which compiled functions trace and run for the chosen executor."""
    if inline:
        return function_executor_type("SINGLE_THREADED_EXECUTOR")
    return contextlib.nullcontext()
