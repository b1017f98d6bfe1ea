"""Inputs as the compiled engine and Keras read them: dense arrays, or sparse rows.

A dense X goes to TensorFlow as one tensor, and a mini-batch is a gather of
its rows. A sparse X (a SciPy CSR or CSC matrix or array) is never densified
as a whole: it goes to TensorFlow as two ragged tensors that share its CSR
row boundaries, one of column indices and one of values. A mini-batch of it
is then a ``tf.SparseTensor``, and the first layer multiplies it as a sparse
matrix, as scikit-learn's MLPRegressor does. Where Keras's layers take the
rows (Keras's ``fit``, ``predict``), they take them dense a batch or a chunk
at a time.
"""

import numpy as np
import scipy.sparse

from .._quiet.tensorflow import tf

#: Elements of X densified at most at once (32 MB in float64).
DENSE_CHUNK_ELEMENTS = 1 << 22

#: Rows sent to the network at most at once, to bound its activations' memory.
CHUNK_ROWS = 65536


def canonical_csr(X):
    """A sparse X as a CSR matrix with sorted columns and no duplicates."""
    X = scipy.sparse.csr_matrix(X)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def engine_inputs(X, dtype):
    """X for the compiled functions: a Tensor, or ``(columns, values)`` ragged tensors."""
    dtype = tf.as_dtype(dtype)
    if not scipy.sparse.issparse(X):
        return tf.constant(X, dtype)
    X = canonical_csr(X)
    splits = X.indptr.astype(np.int64)
    columns = tf.RaggedTensor.from_row_splits(X.indices.astype(np.int64), splits, validate=False)
    values = tf.RaggedTensor.from_row_splits(
        X.data.astype(dtype.as_numpy_dtype), splits, validate=False
    )
    return columns, values


def empty_inputs(sparse, n_features, dtype):
    """No rows, in the form :func:`engine_inputs` gives for a dense or sparse X."""
    if sparse:
        return engine_inputs(scipy.sparse.csr_matrix((0, n_features)), dtype)
    return tf.zeros([0, n_features], dtype)


def input_signature(sparse, n_features, dtype):
    """The type of :func:`engine_inputs`'s result, any number of rows."""
    if not sparse:
        return tf.TensorSpec([None, n_features], dtype)
    return (
        tf.RaggedTensorSpec([None, None], tf.int64, ragged_rank=1, row_splits_dtype=tf.int64),
        tf.RaggedTensorSpec([None, None], dtype, ragged_rank=1, row_splits_dtype=tf.int64),
    )


def all_rows(X, n_features):
    """Every row of :func:`engine_inputs`'s result, as a Tensor or a SparseTensor."""
    if not isinstance(X, tuple):
        return X
    columns, values = X
    indices = tf.stack([columns.value_rowids(), columns.flat_values], axis=1)
    shape = tf.stack([columns.nrows(), tf.constant(n_features, tf.int64)])
    return tf.SparseTensor(indices, values.flat_values, shape)


def gather_rows(X, rows, n_features):
    """The given rows of :func:`engine_inputs`'s result, as a Tensor or a SparseTensor."""
    if not isinstance(X, tuple):
        return tf.gather(X, rows)
    return all_rows(tuple(tf.gather(part, rows) for part in X), n_features)


def matmul(a, b, transpose_a=False):
    """``a @ b`` (or ``aᵀ @ b``) where ``a`` may be a SparseTensor."""
    if isinstance(a, tf.SparseTensor):
        return tf.sparse.sparse_dense_matmul(a, b, adjoint_a=transpose_a)
    return tf.matmul(a, b, transpose_a=transpose_a)


def dense_chunks(X, dtype):
    """Consecutive row blocks of X as dense arrays of ``dtype``, each of at most
    :data:`CHUNK_ROWS` rows and, for a sparse X, :data:`DENSE_CHUNK_ELEMENTS`
    elements."""
    n_rows, n_features = X.shape
    sparse = scipy.sparse.issparse(X)
    rows = CHUNK_ROWS
    if sparse:
        X = scipy.sparse.csr_matrix(X)
        rows = max(1, min(rows, DENSE_CHUNK_ELEMENTS // max(1, n_features)))
    for start in range(0, n_rows, rows):
        block = X[start : start + rows]
        yield (block.toarray() if sparse else block).astype(dtype, copy=False)
