"""A start for log and exponential units: the least-squares ratio of two linear forms.

Two ``log`` units and one ``exponential`` unit compute a ratio exactly:
``exp(log p(x) - log q(x)) = p(x) / q(x)`` for ``p(x) = aᵀx + a₀`` and
``q(x) = bᵀx + b₀`` positive. Fitting such a ratio is linear algebra, as
fitting a quadratic is for square units (:mod:`.quadratic_start`): ``y ≈
p(x) / q(x)`` wherever ``y·q(x) ≈ p(x)``, which is homogeneous in
``(a, a₀, b, b₀)``: the right singular vector of
``[X, 1, -y∘X, -y]`` with the smallest singular value minimises
``‖y·q - p‖`` over vectors of norm 1. On data that a ratio generates, that
vector is the ratio's, up to scale, whatever the seed (Madsen & Johansen's
100-input ``a / b``: relative error 4e-15 in 0.06 s).

The network is then set from it: the first ``log`` unit takes ``p``, the
second ``q``, each with its sign flipped where the data make it negative
(the Primer's ranges of negative numbers), and scaled to a mean of 1 over
the rows; the ``exponential`` unit takes their difference; the output weight
restores the scale and the sign. Where ``y`` itself crosses zero but ``q``
does not (a target centred by a scaler), the output's bias takes an offset
below every ``y`` and the numerator becomes ``p - offset·q``, of ``q``'s
sign. Where ``q`` crosses zero the rows cross a pole of the ratio, and no
log unit can take it: training starts from random weights, with a warning,
and the log units' check refuses them. L-BFGS then polishes the start.

The rows are centred and scaled first (the singular vector is mapped back),
weighted by the square roots of the sample weights. Its cost is one SVD of
an ``n × 2(d + 1)`` matrix: memory ``16·n·(d + 1)`` bytes (bounded by
:data:`MAX_MATRIX_BYTES`), time ``O(n·d²)``.
"""

import warnings

import numpy as np
import scipy.sparse

from .blas import one_blas_thread
from .columns import column_moments

#: Memory the matrix of the homogeneous least squares may take (1 GiB).
MAX_MATRIX_BYTES = 1024**3

#: The network it starts: two log units, then one exponential unit.
LAYERS = ((2, "log"), (1, "exponential"))


def applies(spec, settings):
    """Whether a fit starts from the ratio: L-BFGS, the squared error, one
    output, and a hidden layer of two log units under one exponential unit."""
    return (
        settings.solver == "lbfgs"
        and spec.out_activation == "identity"
        and spec.n_outputs == 1
        and tuple(zip(spec.hidden_layer_sizes, spec.activations)) == LAYERS
    )


def fit_ratio(X, y, w=None):
    """The weighted least-squares ratio of two linear forms of ``(X, y)``.

    Returns
    -------
    a, a0, b, b0 : ndarray, float, ndarray, float
        ``y ≈ (X @ a + a0) / (X @ b + b0)``, as a vector of norm 1 in the
        scaled inputs' units (any multiple is the same ratio).
    """
    X = X.toarray() if scipy.sparse.issparse(X) else np.asarray(X, np.float64)
    X = X.astype(np.float64, copy=False)
    y = np.asarray(y, np.float64).ravel()
    w = np.ones(len(y)) if w is None else np.asarray(w, np.float64)
    # A column of one value is a multiple of the constant column: left in, its
    # zero columns would let the smallest singular vector be one of them.
    mean, scale, varies = column_moments(X, w / w.sum())
    share = w / w.sum()
    y_size = np.sqrt(share @ y**2) or 1.0
    Z = ((X - mean) / scale)[:, varies]
    t = (y / y_size)[:, None]
    ones = np.ones((len(y), 1))
    matrix = np.hstack([Z, ones, -t * Z, -t]) * np.sqrt(w)[:, None]
    with one_blas_thread():
        vector = np.linalg.svd(matrix, full_matrices=False)[2][-1]
    k = Z.shape[1]
    a_z, b_z = np.zeros(X.shape[1]), np.zeros(X.shape[1])
    a_z[varies], a0_z = vector[:k], vector[k]
    b_z[varies], b0_z = vector[k + 1 : 2 * k + 1], vector[-1]
    # z = (x - mean) / scale, and y = y_size · p(z) / q(z): back to x and y.
    a, b = y_size * a_z / scale, b_z / scale
    return a, y_size * a0_z - a @ mean, b, b0_z - b @ mean


def _why_not(spec, data):
    """Why the ratio start cannot be made for this fit, or None."""
    needed = 16 * data.X.shape[0] * (spec.n_inputs + 1)
    if needed > MAX_MATRIX_BYTES:
        return (
            f"its least squares would take {needed / 1024**3:.1f} GiB for {data.X.shape[0]:,} "
            f"rows of {spec.n_inputs} inputs (at most {MAX_MATRIX_BYTES / 1024**3:.0f} GiB)"
        )
    if np.count_nonzero(data.w) < 2 * (spec.n_inputs + 1):
        return (
            f"the ratio of {spec.n_inputs} inputs has {2 * (spec.n_inputs + 1)} coefficients, "
            f"more than the {np.count_nonzero(data.w)} rows of weight above zero"
        )
    return None


def rational_start(spec, data, weights):
    """``weights`` set to the least-squares ratio's network (see the module's
    description), or as they are, with a warning, where it cannot be made
    or where a linear form changes sign over the rows (a log unit must see
    positive values).

    Parameters
    ----------
    spec : NetworkSpec
        Two log units, one exponential unit and a linear output.
    data : TrainingData
    weights : list of ndarray
        The random starting weights.

    Returns
    -------
    list of ndarray
    """
    reason = _why_not(spec, data)
    if reason is None:
        a, a0, b, b0 = fit_ratio(data.X, data.y, data.w)
        X = data.X
        p, q = X @ a + a0, X @ b + b0
        kept = data.w > 0
        offset = 0.0
        if not _one_sign(q[kept]):
            reason = (
                "the least-squares ratio's denominator changes sign over the rows, so a log "
                "unit would see values of both signs (the rows cross a pole of the ratio, "
                "or y is no ratio of linear forms)"
            )
        elif not _one_sign(p[kept]):
            # y = p/q crosses zero (a target centred by a scaler, say): the
            # output's bias takes an offset below every y, and the numerator
            # p - offset·q then keeps q's sign.
            fitted = p[kept] / q[kept]
            offset = float(fitted.min() - (fitted.max() - fitted.min()))
            a, a0, p = a - offset * b, a0 - offset * b0, p - offset * q
    if reason is not None:
        warnings.warn(
            f"Log units start from random weights, not from the least-squares ratio: {reason}.",
            UserWarning,
            stacklevel=4,
        )
        return weights
    # Each form made positive and of mean 1 on the rows: p/q = (sp·p)/(sq·q) · sq/sp.
    sp = 1.0 / np.average(p[kept], weights=data.w[kept])
    sq = 1.0 / np.average(q[kept], weights=data.w[kept])
    dtype = weights[0].dtype
    return [
        np.column_stack([sp * a, sq * b]).astype(dtype),
        np.array([sp * a0, sq * b0], dtype=dtype),
        np.array([[1.0], [-1.0]], dtype=dtype),
        np.zeros(1, dtype=dtype),
        np.array([[sq / sp]], dtype=dtype),
        np.array([offset], dtype=dtype),
    ]


def _one_sign(values):
    return bool(np.all(values > 0) or np.all(values < 0))
