"""XLA's fixed shapes: the sizes its inputs are padded to, and its compiled loops.

XLA compiles a function for fixed shapes, so the compiled engine sends it
whole mini-batches only: inputs and epoch orders are padded with rows of
weight zero (which change neither the loss nor the gradient) to one of a few
sizes, so that data of nearby sizes (the folds of a cross-validation) share
one compilation.
"""

from typing import NamedTuple

from .._quiet import tf


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
#
# Measured on a 2-core x86-64 machine (benchmarks/bench_xla_costs.py, written
# to benchmarks/XLA_COSTS.md): a mini-batch step takes about
# ``fixed + per_multiply_add * batch_size * sum(fan_in * fan_out)`` seconds,
# on the default path and under XLA, and a new network shape costs a trace
# (both paths) plus XLA's compilation (XLA only), which grows with the layers.

#: Seconds of one step: (fixed, per multiply-add) on the default path and under XLA.
STEP_SECONDS = {
    "float64": {"default": (20e-6, 0.30e-9), "xla": (4e-6, 0.15e-9)},
    "float32": {"default": (20e-6, 0.11e-9), "xla": (4e-6, 0.08e-9)},
}

#: Seconds to trace the compiled epochs for a new network shape (either path).
TRACE_SECONDS = 0.25

#: XLA's compilation of a new shape and size of the data: fixed, and per weight layer.
XLA_COMPILE_SECONDS = (0.25, 0.10)


class XlaChoice(NamedTuple):
    """What ``jit_compile="auto"`` expects of one fit on each path, in seconds.

    ``*_training`` is the expected time of the fit's steps; ``*_one_off`` the
    trace and compilation it would still need; ``missed`` what the default
    path cost beyond XLA on this network shape's earlier fits in the process.
    """

    default_training: float
    xla_training: float
    default_one_off: float
    xla_one_off: float
    missed: float = 0.0

    @property
    def saving(self):
        """Seconds of training XLA is expected to save on this fit."""
        return self.default_training - self.xla_training

    @property
    def uses_xla(self):
        """XLA when this fit's saving pays for its extra one-off cost, or
        when the shape's earlier fits have already missed as much (buying
        rather than renting when the number of uses is unknown: never worse
        than twice the best choice in hindsight)."""
        extra = self.xla_one_off - self.default_one_off
        return self.saving > 0 and (self.saving > extra or self.missed >= extra)


def step_seconds(layer_units, batch_size, dtype, path):
    """Expected seconds of one mini-batch step on ``path`` (``"default"`` or ``"xla"``)."""
    fixed, per_multiply_add = STEP_SECONDS[dtype][path]
    multiply_adds = batch_size * sum(a * b for a, b in zip(layer_units[:-1], layer_units[1:]))
    return fixed + per_multiply_add * multiply_adds


def xla_choice(layer_units, dtype, steps, batch_size, *, traced, compiled, missed):
    """Weigh the default path against XLA for a fit of ``steps`` mini-batches.

    Parameters
    ----------
    layer_units : sequence of int
        Widths from input to output.
    dtype : {"float32", "float64"}
    steps : int
        Mini-batches the fit is expected to run (XLA's last one is padded
        to a whole batch: each is counted as one of ``batch_size`` rows).
    batch_size : int
    traced : bool
        Whether the default path's epochs are already traced for this shape.
    compiled : bool
        Whether XLA's are already compiled for this shape and size of data.
    missed : float
        Seconds the default path cost beyond XLA on this shape's earlier fits.

    Returns
    -------
    XlaChoice
    """
    fixed, per_layer = XLA_COMPILE_SECONDS
    one_off = {
        "default": 0.0 if traced else TRACE_SECONDS,
        "xla": 0.0 if compiled else TRACE_SECONDS + fixed + per_layer * (len(layer_units) - 1),
    }
    training = {
        path: steps * step_seconds(layer_units, batch_size, dtype, path)
        for path in ("default", "xla")
    }
    return XlaChoice(
        training["default"], training["xla"], one_off["default"], one_off["xla"], missed
    )
