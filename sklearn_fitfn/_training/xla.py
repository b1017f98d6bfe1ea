"""XLA's fixed shapes: the sizes its inputs are padded to, and its compiled loops.

XLA compiles a function for fixed shapes, so the compiled engine sends it
whole mini-batches only: inputs and epoch orders are padded with rows of
weight zero (which change neither the loss nor the gradient) to one of a few
sizes, so that data of nearby sizes (the folds of a cross-validation) share
one compilation.
"""

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
