"""The starts' column means and spreads: a column of one value counts as
constant even where its rounded mean leaves x - mean a few units in the last
place, a column that varies keeps its spread, sparse as dense."""

import numpy as np
import pytest
import scipy.sparse

from sklearn_fitfn._training.columns import column_moments


@pytest.mark.parametrize("value", [3.0, 1 / 3, 0.1, 1e8 + 1 / 3, -7.25, 0.0])
def test_a_column_of_one_value_is_constant(value):
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=500), np.full(500, value)])
    share = rng.uniform(0.5, 2, 500)
    mean, scale, varies = column_moments(X, share / share.sum())
    assert varies.tolist() == [True, False]
    assert scale[1] == 1.0
    assert mean[1] == pytest.approx(value, rel=1e-15, abs=1e-300)


def test_a_column_that_varies_keeps_its_weighted_spread():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(5, 2, 1000), 1e6 + rng.uniform(0, 1e-3, 1000)])
    w = rng.uniform(0.5, 2, 1000)
    mean, scale, varies = column_moments(X, w / w.sum())
    assert varies.all()
    np.testing.assert_allclose(mean, np.average(X, axis=0, weights=w), rtol=1e-14)
    expected = np.sqrt(np.average((X - np.average(X, axis=0, weights=w)) ** 2, axis=0, weights=w))
    np.testing.assert_allclose(scale, expected, rtol=1e-9)


def test_sparse_rows_give_their_dense_values(monkeypatch):
    import sklearn_fitfn._training.columns as columns

    monkeypatch.setattr(columns, "_CHUNK_ELEMENTS", 30)  # several blocks of rows
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 3)) * (rng.uniform(size=(100, 3)) < 0.3)
    X[:, 2] = 0.0
    share = np.full(100, 0.01)
    dense = column_moments(X, share)
    sparse = column_moments(scipy.sparse.csr_matrix(X), share)
    for a, b in zip(dense, sparse):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    assert dense[2].tolist() == [True, True, False]
