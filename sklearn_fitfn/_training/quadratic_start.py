"""A start for square units: the least-squares quadratic, split into units.

One hidden layer of square units computes a quadratic of its inputs,
``y = Σⱼ vⱼ (wⱼᵀx + bⱼ)² + c``. Conversely, every quadratic
``xᵀQx + gᵀx + c₀`` is such a network: each eigenvector ``u`` of ``Q``, with
eigenvalue ``λ``, is one unit (``w = √|λ| u``, ``v = sign λ``), whose ``b``
completes the square of ``g``'s share along ``u``; the share of ``g`` outside
``Q``'s range takes two units more, since ``(s + 1)² - (s - 1)² = 4s``. And
fitting a quadratic is linear least squares in the ``d(d + 1)/2 + d + 1``
monomials of the ``d`` inputs: convex, and exact on data that a quadratic
generates, where gradient descent from random weights often stalls.

So L-BFGS on one hidden layer of square units starts from that split (the
units the quadratic does not need keep their random weights, with output
weight zero), and polishes it. The monomials' normal equations hold
``p = d(d + 1)/2 + d + 1`` squared numbers, so memory grows with ``d⁴`` and
time with ``n·d⁴``: the start is made up to :data:`MAX_GRAM_BYTES`, and with
at least ``p`` rows; otherwise, and for several outputs, training starts from
the random weights, with a warning that says why. Linearly dependent inputs
(a constant or a repeated column) cost a second pass over the rows and a few
cheap ones, for a tiny ridge and its refinement (:data:`RIDGES`); the Gram
matrix is the only large array either way.
"""

import warnings

import numpy as np
import scipy.linalg
import scipy.linalg.blas
import scipy.sparse

from .blas import blas_threads_for, one_blas_thread
from .columns import column_moments

#: Memory the normal equations may take (2 GiB: about 180 inputs).
MAX_GRAM_BYTES = 2 * 1024**3

#: Ridges tried, as shares of the Gram matrix's mean diagonal, when its
#: Cholesky factorisation fails (the monomials are linearly dependent).
RIDGES = (1e-10, 1e-7, 1e-4)

#: Refinement steps after a ridge: each shrinks its bias by the ridge's share
#: or more along every direction that the data determine.
_REFINEMENTS = 4

#: Monomial values computed at once (32 MB in float64).
_CHUNK_ELEMENTS = 1 << 22


def n_monomials(n_features):
    """Coefficients of a quadratic in ``n_features`` inputs: squares and
    products, linear terms, and a constant."""
    return n_features * (n_features + 1) // 2 + n_features + 1


def _monomials(Z, upper):
    """Each row's products ``zᵢzⱼ`` (i ≤ j), then ``z``, then 1."""
    rows, cols = upper
    return np.column_stack([Z[:, rows] * Z[:, cols], Z, np.ones(len(Z))])


def _solve(normal_equations):
    """The normal equations' solution by Cholesky, or None when the Gram
    matrix is singular; it reads the upper triangle, in place, and the Gram
    matrix is gone when this returns."""
    gram, moment = normal_equations()
    try:
        return scipy.linalg.solve(
            gram, moment, assume_a="pos", lower=False, overwrite_a=True, check_finite=False
        )
    except (np.linalg.LinAlgError, ValueError):
        return None


def _solve_with_ridge(normal_equations, residual):
    """The least-squares coefficients of linearly dependent monomials (a
    constant or a repeated input make the Gram matrix singular).

    The same equations with a ridge on the diagonal, a small share of its
    mean, factorised by Cholesky in place (the time and memory of the first
    attempt), then refined: each step solves for the residual of the
    unridged equations, computed from the rows, so the ridge's shrinkage
    fades by a factor ``ridge / (σ² + ridge)`` a step along each singular
    direction of the monomials, towards the minimum-norm solution.
    """
    for share in RIDGES:
        gram, moment = normal_equations()
        gram[np.diag_indices_from(gram)] += share * np.mean(np.diag(gram))
        try:
            factor = scipy.linalg.cho_factor(
                gram, lower=False, overwrite_a=True, check_finite=False
            )
        except (np.linalg.LinAlgError, ValueError):
            continue
        coef = scipy.linalg.cho_solve(factor, moment, check_finite=False)
        for _ in range(_REFINEMENTS):
            coef += scipy.linalg.cho_solve(factor, residual(coef), check_finite=False)
        return coef
    raise np.linalg.LinAlgError("the quadratic's normal equations could not be solved")


def fit_quadratic(X, y, w=None):
    """The weighted least-squares quadratic of ``(X, y)``: ``(Q, g, c)`` with
    ``y ≈ xᵀQx + gᵀx + c``, Q symmetric.

    The monomials are formed from inputs centred and scaled to unit spread,
    which keeps the normal equations well conditioned, and the result is
    mapped back to the inputs' own units.
    """
    sparse = scipy.sparse.issparse(X)
    X = scipy.sparse.csr_matrix(X, dtype=np.float64) if sparse else np.asarray(X, np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    n_features = X.shape[1]
    mean, scale, varies = column_moments(X, w / w.sum())
    upper = np.triu_indices(n_features)

    p = n_monomials(n_features)

    def blocks():
        """The weighted monomials a block of rows at a time, and their weighted y."""
        step = max(1, _CHUNK_ELEMENTS // p)
        for start in range(0, X.shape[0], step):
            rows = slice(start, start + step)
            root_w = np.sqrt(w[rows])[:, None]
            inputs = X[rows].toarray() if sparse else X[rows]
            # A constant column's z is exactly zero: its monomials drop out
            # as linearly dependent, not as round-off noise made unit-sized.
            Z = (inputs - mean) / scale * varies
            block = np.asfortranarray(_monomials(Z, upper) * root_w)
            yield block, y[rows] * root_w[:, 0]

    def normal_equations():
        # Only the upper triangle of the symmetric Gram matrix: half the work.
        gram, moment = np.zeros((p, p), order="F"), np.zeros(p)
        for block, target in blocks():
            gram = scipy.linalg.blas.dsyrk(1.0, block, beta=1.0, c=gram, trans=1, overwrite_c=1)
            moment += block.T @ target
        return gram, moment

    def residual(coef):
        """The normal equations' residual, from the rows: no second Gram matrix."""
        return sum(block.T @ (target - block @ coef) for block, target in blocks())

    coef = _solve(normal_equations)
    if coef is None:
        coef = _solve_with_ridge(normal_equations, residual)
    n_products = len(upper[0])
    A = np.zeros((n_features, n_features))
    A[upper] = coef[:n_products]
    A = (A + A.T) / 2  # off the diagonal, each product's coefficient is shared by two entries
    h, k = coef[n_products:-1], coef[-1]
    # z = (x - mean) / scale: back to x.
    Q = A / np.outer(scale, scale)
    g = h / scale - 2 * Q @ mean
    c = mean @ Q @ mean - h @ (mean / scale) + k
    return Q, g, c


def split_into_square_units(Q, g, c, n_units, x_norm=1.0, rtol=1e-9):
    """Square units computing ``xᵀQx + gᵀx + c``, with as many as ``n_units`` allow.

    A part of the quadratic counts when it contributes more than ``rtol``
    times the quadratic's size to inputs of norm ``x_norm``: round-off of a
    least-squares fit leaves tiny eigenvalues and linear terms that no unit
    should be spent on.

    Returns
    -------
    kernel : ndarray of shape (n_features, n_units)
    bias : ndarray of shape (n_units,)
    out_kernel : ndarray of shape (n_units,)
        Zero for the units left unused.
    out_bias : float
    exact : bool
        Whether the units represent the quadratic exactly: it needs one per
        eigenvalue of Q above ``rtol`` times the largest, and two more when
        ``g`` has a share outside their span.
    """
    n_features = len(g)
    eigenvalues, vectors = np.linalg.eigh(Q)
    order = np.argsort(-np.abs(eigenvalues))
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]
    size = np.abs(eigenvalues[0]) * x_norm**2 + np.linalg.norm(g) * x_norm
    rank = int(np.sum(np.abs(eigenvalues) * x_norm**2 > rtol * size))
    outside = g - vectors[:, :rank] @ (vectors[:, :rank].T @ g)
    linear = bool(np.linalg.norm(outside) * x_norm > rtol * size)
    quadratic_units = min(rank, n_units - 2 if linear and n_units >= rank + 2 else n_units)
    use_linear = linear and n_units - quadratic_units >= 2
    exact = quadratic_units == rank and (use_linear or not linear)

    kernel, bias = np.zeros((n_features, n_units)), np.zeros(n_units)
    out_kernel, out_bias = np.zeros(n_units), float(c)
    for unit in range(quadratic_units):
        root = np.sqrt(np.abs(eigenvalues[unit]))
        sign = np.sign(eigenvalues[unit])
        kernel[:, unit] = root * vectors[:, unit]
        # v(wᵀx + b)² = v(wᵀx)² + 2vb·wᵀx + vb²: b carries g's share along u.
        bias[unit] = vectors[:, unit] @ g / (2 * sign * root)
        out_kernel[unit] = sign
        out_bias -= sign * bias[unit] ** 2
    if use_linear:
        for unit, sign in ((quadratic_units, 1.0), (quadratic_units + 1, -1.0)):
            kernel[:, unit] = outside / 4  # (s + 1)² - (s - 1)² = 4s
            bias[unit] = sign
            out_kernel[unit] = sign
    return kernel, bias, out_kernel, out_bias, exact


def _squared_row_norms(X):
    if scipy.sparse.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", X, X)


def _why_not(spec, data):
    """Why the quadratic start cannot be made for this fit, or None."""
    p = n_monomials(spec.n_inputs)
    if spec.n_outputs != 1:
        return f"it fits one output, and y has {spec.n_outputs}"
    if p * p * 8 > MAX_GRAM_BYTES:
        return (
            f"the quadratic of {spec.n_inputs} inputs has {p:,} coefficients, whose normal "
            f"equations would take {p * p * 8 / 1024**3:.1f} GiB (at most "
            f"{MAX_GRAM_BYTES / 1024**3:.0f} GiB)"
        )
    if np.count_nonzero(data.w) < p:
        return (
            f"the quadratic of {spec.n_inputs} inputs has {p:,} coefficients, more than the "
            f"{np.count_nonzero(data.w):,} rows of weight above zero"
        )
    return None


def applies(spec, settings):
    """Whether a fit starts from the quadratic: L-BFGS, the squared error,
    and one hidden layer of square units."""
    return (
        settings.solver == "lbfgs"
        and spec.out_activation == "identity"
        and spec.activations == ("square",)
    )


def quadratic_start(spec, data, weights):
    """``weights`` with the square units set to the least-squares quadratic's
    split (see the module's description), or as they are, with a warning,
    where the start cannot be made.

    Parameters
    ----------
    spec : NetworkSpec
        One hidden layer of square units and a linear output.
    data : TrainingData
    weights : list of ndarray
        The random starting weights ``[kernel, bias, out_kernel, out_bias]``.

    Returns
    -------
    list of ndarray
    """
    reason = _why_not(spec, data)
    if reason is not None:
        warnings.warn(
            f"Square units start from random weights, not from the least-squares "
            f"quadratic: {reason}.",
            UserWarning,
            stacklevel=4,
        )
        return weights
    n_units = spec.hidden_layer_sizes[0]
    p = n_monomials(spec.n_inputs)
    with blas_threads_for(data.X.shape[0] * p * p + p**3):  # the Gram matrix and its factor
        Q, g, c = fit_quadratic(data.X, data.y, data.w)
    x_norm = np.sqrt(np.average(_squared_row_norms(data.X), weights=data.w))
    with one_blas_thread():
        kernel, bias, out_kernel, out_bias, _ = split_into_square_units(Q, g, c, n_units, x_norm)
    random_kernel, random_bias = weights[0], weights[1]
    unused = out_kernel == 0
    kernel[:, unused], bias[unused] = random_kernel[:, unused], random_bias[unused]
    dtype = weights[0].dtype
    return [
        kernel.astype(dtype),
        bias.astype(dtype),
        out_kernel.reshape(-1, 1).astype(dtype),
        np.array([out_bias], dtype=dtype),
    ]
