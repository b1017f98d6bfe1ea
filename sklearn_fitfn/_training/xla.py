"""XLA's fixed shapes: the sizes its inputs are padded to, and its compiled loops.

XLA compiles a function for fixed shapes, so the compiled engine sends it
whole mini-batches only: inputs and epoch orders are padded with rows of
weight zero (which change neither the loss nor the gradient) to one of a few
sizes, so that data of nearby sizes (the folds of a cross-validation) share
one compilation.
"""

from typing import NamedTuple

import numpy as np

from .._quiet.tensorflow import tf
from .executor import step_multiply_adds


def xla_padding(n_rows, batch_size):
    """Rows to which XLA's inputs and epoch orders are padded.

    At least one row more than ``n_rows`` (the padding rows' first is where
    a short last batch takes its missing rows) and every row of the whole
    batches; rounded up to ``m * 2**e`` with ``m`` from 8 to 16, so that a
    few compiled shapes serve every number of rows, each at most an eighth
    larger than needed (the folds of a cross-validation, which differ by a
    row, share one).

    Parameters
    ----------
    n_rows, batch_size : int

    Returns
    -------
    int
    """
    needed = max(n_rows + 1, -(-n_rows // batch_size) * batch_size)
    scale = 2 ** max(0, needed.bit_length() - 4)
    return -(-needed // scale) * scale


def compiled_by_xla(function):
    """``function``, compiled by XLA when it is called inside a traced graph."""
    return tf.function(function, jit_compile=True, autograph=False)


# -- jit_compile="auto": XLA where its compilation pays for itself -------------

#: Seconds XLA saves on one mini-batch step, measured on a 2-core x86-64
#: machine (benchmarks/XLA_COSTS.md and benchmarks/RESULTS.md, 2026-11-30),
#: against the step's multiply-adds (:func:`.._executor.step_multiply_adds`);
#: interpolated between the points on a log scale, constant beyond them. XLA
#: fuses a step's element-wise work, which weighs most in small steps, and
#: its float64 products are faster than TensorFlow's.
STEP_SAVING = {
    "float64": (
        (5.6e3, 20e-6),
        (1.5e5, 20e-6),
        (4.2e5, 30e-6),
        (9.6e5, 150e-6),
        (4.3e6, 430e-6),
        (1.3e7, 460e-6),
        (2.7e7, 600e-6),
    ),
    "float32": (
        (5.6e3, 19e-6),
        (1.5e5, 25e-6),
        (4.2e5, 12e-6),
        (9.6e5, 30e-6),
        (4.3e6, 90e-6),
        (1.3e7, 106e-6),
    ),
}

#: Seconds a fit of a new network shape spends tracing the default path's epochs.
TRACE_SECONDS = 0.2

#: Seconds a fit under XLA spends tracing and compiling for a new shape or
#: size of data: fixed, and per weight layer.
XLA_COMPILE_SECONDS = (0.35, 0.10)


class XlaChoice(NamedTuple):
    """What ``jit_compile="auto"`` expects of one fit, in seconds.

    ``saving`` is the training time XLA is expected to save; ``*_one_off``
    what each path spends first on a new network shape (a trace; under XLA
    also a compilation).
    """

    saving: float
    default_one_off: float
    xla_one_off: float

    @property
    def uses_xla(self):
        """XLA when the fit's expected saving pays for XLA's extra one-off cost."""
        return self.saving > self.xla_one_off - self.default_one_off


def step_saving(layer_units, batch_size, dtype):
    """Seconds XLA is expected to save on one mini-batch step (:data:`STEP_SAVING`)."""
    points = STEP_SAVING[dtype]
    return float(
        np.interp(
            np.log(max(step_multiply_adds(layer_units, batch_size), 1)),
            np.log([m for m, _ in points]),
            [saving for _, saving in points],
        )
    )


def xla_choice(layer_units, dtype, steps, batch_size):
    """Weigh the default path against XLA for a fit of ``steps`` mini-batches.

    The choice depends on the fit alone, never on what the process has
    traced or compiled before, so that a fit takes the same path (and gives
    the same bits) whatever ran before it or beside it in other threads.

    Parameters
    ----------
    layer_units : sequence of int
        Widths from input to output.
    dtype : {"float32", "float64"}
    steps : int
        Mini-batches the fit runs at most (every epoch of ``max_iter``).
    batch_size : int

    Returns
    -------
    XlaChoice
    """
    fixed, per_layer = XLA_COMPILE_SECONDS
    return XlaChoice(
        saving=steps * step_saving(layer_units, batch_size, dtype),
        default_one_off=TRACE_SECONDS,
        xla_one_off=fixed + per_layer * (len(layer_units) - 1),
    )
