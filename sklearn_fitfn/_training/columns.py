"""Weighted means and spreads of the input columns, for the starts.

Both starts (:mod:`.quadratic_start`, :mod:`.rational_start`) centre and
scale the inputs before their least squares, and leave out what a column of
one value would add: a multiple of the constant term. A column of one value
rarely has a spread of exactly zero: its mean is rounded, and ``x - mean``
is then a few units in the last place, which scaled to unit spread would
become a column of noise the size of the others. So a column counts as
constant when its spread is within the round-off of its values.
"""

import numpy as np
import scipy.sparse

#: Spreads up to this many units in the last place of a column's typical
#: value are round-off: the centred values' error is about two of them.
ROUND_OFF_ULPS = 64

#: Values of X centred at once (32 MB in float64).
_CHUNK_ELEMENTS = 1 << 22


def column_moments(X, share):
    """Each column's weighted mean and spread, and whether it varies.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    share : ndarray of shape (n_samples,)
        Row weights that sum to 1.

    Returns
    -------
    mean : ndarray of shape (n_features,)
    scale : ndarray of shape (n_features,)
        The spread (weighted standard deviation) of a varying column, and 1
        for a constant one.
    varies : ndarray of bool, shape (n_features,)
    """
    sparse = scipy.sparse.issparse(X)
    mean = np.asarray(X.T @ share, dtype=np.float64).ravel()
    # Centred in blocks of rows (a sparse X densified a block at a time):
    # the difference of two sums, E[x²] - E[x]², would lose half the digits.
    centred = np.zeros_like(mean)
    typical = np.zeros_like(mean)
    step = max(1, _CHUNK_ELEMENTS // max(1, X.shape[1]))
    for start in range(0, X.shape[0], step):
        rows = slice(start, start + step)
        block = X[rows].toarray() if sparse else np.asarray(X[rows], dtype=np.float64)
        centred += share[rows] @ (block - mean) ** 2
        typical += share[rows] @ block**2
    scale = np.sqrt(centred)
    varies = scale > ROUND_OFF_ULPS * np.finfo(np.float64).eps * np.sqrt(typical)
    scale[~varies] = 1.0
    return mean, scale, varies
