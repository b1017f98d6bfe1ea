"""The network's parameters laid out as flat vectors, one vector per group.

The parameters ``[kernel, bias, ...]`` are held either as one vector (every
kernel, then every bias, the order of scikit-learn's L-BFGS) or as one vector
per array. A mini-batch step of a small network costs per operation, not per
multiply: one vector turns the optimizer's dozen operations per array into a
dozen in all. A wide network is the other way round: its arrays update side
by side on TensorFlow's default executor, and copying them into and out of
one vector at every step costs more than it saves (docs/performance.md).

Every element is computed by the same operations in either layout, so the
layout never changes a result.
"""

import numpy as np

from .._quiet.tensorflow import tf


class ParameterLayout:
    """Where each array of ``[kernel, bias, ...]`` lies in the flat vectors.

    Parameters
    ----------
    shapes : sequence of tuple of int
        The arrays' shapes, ``[kernel, bias, ...]`` from input to output.
    grouped : bool
        One vector holding every array (kernels first, then biases), or one
        vector per array.
    """

    def __init__(self, shapes, grouped):
        self.shapes = tuple(tuple(int(n) for n in shape) for shape in shapes)
        n_arrays = len(self.shapes)
        if grouped:
            order = [*range(0, n_arrays, 2), *range(1, n_arrays, 2)]
            self.groups = (tuple(order),)
        else:
            self.groups = tuple((index,) for index in range(n_arrays))

    def __eq__(self, other):
        return isinstance(other, ParameterLayout) and (self.shapes, self.groups) == (
            other.shapes,
            other.groups,
        )

    def __hash__(self):  # a static argument of the compiled functions
        return hash((self.shapes, self.groups))

    def __repr__(self):
        return f"ParameterLayout(shapes={self.shapes}, groups={self.groups})"

    @property
    def n_arrays(self):
        return len(self.shapes)

    def _sizes(self, group):
        return [int(np.prod(self.shapes[index])) for index in group]

    def pack(self, arrays):
        """Numpy arrays ``[kernel, bias, ...]`` as one 1-D array per group."""
        return [np.concatenate([np.ravel(arrays[i]) for i in group]) for group in self.groups]

    def unpack(self, vectors):
        """1-D arrays, one per group, back as ``[kernel, bias, ...]`` (views)."""
        arrays = [None] * self.n_arrays
        for group, vector in zip(self.groups, vectors):
            pieces = np.split(vector, np.cumsum(self._sizes(group))[:-1])
            for index, piece in zip(group, pieces):
                arrays[index] = piece.reshape(self.shapes[index])
        return arrays

    def split(self, vectors):
        """Tensors, one per group, as the tensors ``[kernel, bias, ...]``."""
        arrays = [None] * self.n_arrays
        for group, vector in zip(self.groups, vectors):
            pieces = tf.split(vector, self._sizes(group)) if len(group) > 1 else [vector]
            for index, piece in zip(group, pieces):
                shape = self.shapes[index]
                arrays[index] = piece if len(shape) == 1 else tf.reshape(piece, shape)
        return arrays

    def join(self, arrays):
        """The tensors ``[kernel, bias, ...]`` as one 1-D tensor per group."""
        return [tf.concat([_flat(arrays[i]) for i in group], axis=0) for group in self.groups]


def _flat(tensor):
    return tensor if tensor.shape.rank == 1 else tf.reshape(tensor, [-1])
