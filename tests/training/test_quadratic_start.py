"""The least-squares quadratic and its split into square units: the start of
L-BFGS on one hidden layer of square units."""

import warnings

import numpy as np
import pytest
import scipy.sparse

import sklearn_fitfn._training.quadratic_start as quadratic
from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training.quadratic_start import (
    fit_quadratic,
    n_monomials,
    split_into_square_units,
)
from sklearn_fitfn.datasets import arithmetic_success_threshold, make_arithmetic


def _quadratic_value(Q, g, c, X):
    return np.einsum("ij,jk,ik->i", X, Q, X) + X @ g + c


def _units_value(kernel, bias, out_kernel, out_bias, X):
    return ((X @ kernel + bias) ** 2) @ out_kernel + out_bias


def _random_quadratic(rng, n_features, rank, linear=True):
    U = rng.normal(size=(n_features, rank))
    signs = rng.choice([-1.0, 1.0], size=rank)
    Q = (U * signs) @ U.T
    g = rng.normal(size=n_features) if linear else np.zeros(n_features)
    return Q, g, float(rng.normal())


@pytest.mark.parametrize("rank, linear", [(0, True), (1, False), (2, False), (3, True)])
def test_enough_square_units_represent_a_quadratic_exactly(rank, linear):
    rng = np.random.default_rng(rank)
    Q, g, c = _random_quadratic(rng, 6, rank, linear)
    n_units = rank + 2 * linear + 1  # one to spare, left unused
    kernel, bias, out_kernel, out_bias, exact = split_into_square_units(Q, g, c, n_units)
    assert exact
    assert np.count_nonzero(out_kernel) == rank + 2 * linear
    X = rng.uniform(-5, 5, size=(50, 6))
    np.testing.assert_allclose(
        _units_value(kernel, bias, out_kernel, out_bias, X),
        _quadratic_value(Q, g, c, X),
        rtol=1e-10,
        atol=1e-9,
    )


def test_too_few_units_keep_the_largest_eigenvalues_and_say_so():
    rng = np.random.default_rng(0)
    rotation, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    eigenvalues = np.array([0.5, -5.0, 0.1, 10.0, 1.0])
    Q = rotation @ np.diag(eigenvalues) @ rotation.T
    kernel, bias, out_kernel, _, exact = split_into_square_units(Q, np.zeros(5), 0.0, 2)
    assert not exact
    # What the two units compute, Σ v (wᵀx)², is the quadratic along the two
    # eigenvectors of largest |eigenvalue| (10 and -5), and nothing else.
    kept = rotation[:, [3, 1]] @ np.diag([10.0, -5.0]) @ rotation[:, [3, 1]].T
    np.testing.assert_allclose(kernel @ np.diag(out_kernel) @ kernel.T, kept, atol=1e-12)
    np.testing.assert_allclose(bias, 0.0, atol=1e-12)


def test_the_least_squares_quadratic_is_exact_on_quadratic_data_in_any_units():
    rng = np.random.default_rng(1)
    Q, g, c = _random_quadratic(rng, 4, 2)
    X = rng.uniform(1000, 1010, size=(200, 4))  # far from zero, narrow: badly scaled
    y = _quadratic_value(Q, g, c, X)
    Q_fit, g_fit, c_fit = fit_quadratic(X, y, np.ones(200))
    X_new = rng.uniform(900, 1100, size=(30, 4))
    np.testing.assert_allclose(
        _quadratic_value(Q_fit, g_fit, c_fit, X_new), _quadratic_value(Q, g, c, X_new), rtol=1e-6
    )


def test_weights_count_as_repeated_rows():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    y = rng.normal(size=40)  # no quadratic fits it exactly: the weights matter
    w = rng.integers(0, 3, size=40).astype(float)
    weighted = fit_quadratic(X, y, w)
    repeated = fit_quadratic(np.repeat(X, w.astype(int), axis=0), np.repeat(y, w.astype(int)), None)
    for a, b in zip(weighted, repeated):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_monomial_count_grows_with_the_square_of_the_inputs():
    assert [n_monomials(d) for d in (1, 2, 100)] == [3, 6, 5151]


@pytest.mark.parametrize("operation", ["mul", "square", "add", "sub"])
def test_square_units_and_lbfgs_solve_the_arithmetic_task_with_default_settings(operation):
    # The benchmark's task at a fifth of its width: 20 inputs, windows of 5
    # overlapping by 2, trained on U[1, 2] and scored on U[2, 6].
    task = dict(n_features=20, subset_ratio=0.25, overlap_ratio=0.5)
    X, y, windows = make_arithmetic(600, operation, random_state=0, **task)
    X_out, y_out, _ = make_arithmetic(
        2000, operation, interval=(2, 6), random_state=1, windows=windows, **task
    )
    model = MLPFunctionRegressor(
        hidden_layer_sizes=(2,), activation="square", solver="lbfgs", random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the start applies: no fallback warning
        model.fit(X, y)
    threshold = arithmetic_success_threshold(operation, windows, n_features=20, n_samples=100_000)
    assert np.mean((model.predict(X_out) - y_out) ** 2) < threshold / 1000


def _square_lbfgs(**options):
    return MLPFunctionRegressor(
        hidden_layer_sizes=(3,), activation="square", solver="lbfgs", max_iter=5, **options
    )


@pytest.mark.parametrize(
    "shape, why",
    [
        (dict(n=10, n_outputs=1), "coefficients, more than the 10 rows"),
        (dict(n=100, n_outputs=2), "it fits one output, and y has 2"),
    ],
)
def test_where_the_start_cannot_be_made_training_starts_at_random_and_says_why(shape, why):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(shape["n"], 4))
    y = rng.normal(size=(shape["n"], shape["n_outputs"])).squeeze()
    with pytest.warns(UserWarning, match=f"start from random weights.*{why}"):
        fitted = _square_lbfgs(random_state=0).fit(X, y)
    assert np.isfinite(fitted.predict(X)).all()


def test_a_quadratic_too_large_for_memory_falls_back(monkeypatch):
    monkeypatch.setattr(quadratic, "MAX_GRAM_BYTES", 1000)
    X = np.random.default_rng(0).normal(size=(200, 4))
    with pytest.warns(UserWarning, match=r"15 coefficients, whose normal equations would take"):
        _square_lbfgs(random_state=0).fit(X, X[:, 0] * X[:, 1])


@pytest.mark.parametrize(
    "options",
    [
        dict(solver="adam", activation="square"),
        dict(solver="lbfgs", activation="relu"),
        dict(solver="lbfgs", activation="square", hidden_layer_sizes=(3, 3)),
        dict(solver="lbfgs", activation="square", loss="poisson"),
    ],
)
def test_other_networks_start_as_mlpregressor_does(options, monkeypatch):
    calls = []
    monkeypatch.setattr(quadratic, "quadratic_start", lambda *args: calls.append(args))
    X = np.random.default_rng(0).uniform(1, 2, size=(50, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPFunctionRegressor(**{"hidden_layer_sizes": (3,), "max_iter": 3, **options}).fit(
            X, X[:, 0] * X[:, 1]
        )
    assert calls == []


def test_a_warm_start_continues_from_the_fitted_weights(monkeypatch):
    X = np.random.default_rng(0).uniform(1, 2, size=(50, 3))
    model = _square_lbfgs(random_state=0, warm_start=True).fit(X, X[:, 0] * X[:, 1])
    calls = []
    monkeypatch.setattr(quadratic, "quadratic_start", lambda *args: calls.append(args))
    model.fit(X, X[:, 0] * X[:, 1])
    assert calls == []


def test_a_sparse_x_and_a_constant_input_give_the_dense_quadratic():
    rng = np.random.default_rng(3)
    X = rng.uniform(1, 2, size=(300, 4)) * (rng.random((300, 4)) < 0.7)
    X[:, 2] = 5.0  # constant: its monomials are all one column's multiples
    y = X[:, 0] * X[:, 1] + X[:, 3] ** 2
    dense = fit_quadratic(X, y)
    sparse = fit_quadratic(scipy.sparse.csr_matrix(X), y)
    X_new = rng.uniform(0, 3, size=(20, 4))
    X_new[:, 2] = 5.0
    for Q, g, c in (dense, sparse):
        np.testing.assert_allclose(
            _quadratic_value(Q, g, c, X_new),
            _quadratic_value(
                np.array([[0, 0.5, 0, 0], [0.5, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1.0]]),
                np.zeros(4),
                0.0,
                X_new,
            ),
            rtol=1e-7,
            atol=1e-7,
        )


def test_an_exact_start_is_reported_converged_after_one_iteration():
    # L-BFGS's line search finds no lower loss at an exact start, which SciPy
    # calls a failure; the fit is exact, so it is converged, with no warning.
    X = np.random.default_rng(0).uniform(1, 2, size=(100, 2))
    model = MLPFunctionRegressor(
        hidden_layer_sizes=(2,), activation="square", solver="lbfgs", alpha=0, tol=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, X[:, 0] * X[:, 1])
    assert model.converged_ and model.n_iter_ == 1 and len(model.loss_curve_) == 1
    assert model.loss_ < 1e-20


def test_square_units_pass_scikit_learns_n_iter_check():
    from sklearn.utils.estimator_checks import check_non_transformer_estimators_n_iter

    estimator = MLPFunctionRegressor(activation="square", solver="lbfgs", hidden_layer_sizes=(4,))
    check_non_transformer_estimators_n_iter(type(estimator).__name__, estimator)


def test_dependent_inputs_are_solved_exactly_holding_one_gram_matrix(monkeypatch):
    """A constant and a repeated column make the normal equations singular:
    they are solved with a ridge and refined, to the exact quadratic, while
    memory holds the Gram matrix once (an eigendecomposition of it took
    minutes and three copies at 100 inputs)."""
    import tracemalloc

    monkeypatch.setattr(quadratic, "_CHUNK_ELEMENTS", 1 << 15)  # blocks far below the Gram
    rng = np.random.default_rng(4)
    n_features = 45
    X = rng.uniform(1, 2, size=(1500, n_features))
    X[:, 7] = 3.0
    X[:, 9] = X[:, 4]
    y = X[:, 0] * X[:, 1] - 2 * X[:, 4] ** 2 + X[:, 9] + 1
    gram_bytes = quadratic.n_monomials(n_features) ** 2 * 8
    tracemalloc.start()
    try:
        Q, g, c = fit_quadratic(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * gram_bytes
    np.testing.assert_allclose(_quadratic_value(Q, g, c, X), y, rtol=1e-9)
    net = MLPFunctionRegressor(
        hidden_layer_sizes=(4,), activation="square", solver="lbfgs", random_state=0
    ).fit(X, y)
    assert np.sqrt(np.mean((net.predict(X) - y) ** 2)) < 1e-7


def test_a_column_of_one_value_fits_its_target_and_predicts_no_more():
    # 3.0's rounded mean leaves x - mean of a few units in the last place:
    # as unit-spread noise it made predictions of 363,609 at x = 3 (the target
    # is 9) and 2.8e30 at x = 4.
    X, y = np.full((100, 1), 3.0), np.full(100, 9.0)
    model = MLPFunctionRegressor(hidden_layer_sizes=(1,), activation="square", solver="lbfgs")
    model.fit(X, y)
    np.testing.assert_allclose(model.predict([[3.0], [4.0]]), [9.0, 9.0], rtol=1e-9)


@pytest.mark.parametrize("value", [1 / 3, 0.1, 1e6 + 0.1])
def test_a_constant_input_beside_real_ones_leaves_the_product_exact(value):
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(1, 2, 200), rng.uniform(1, 2, 200), np.full(200, value)])
    model = MLPFunctionRegressor(hidden_layer_sizes=(4,), activation="square", solver="lbfgs")
    model.fit(X, X[:, 0] * X[:, 1])
    np.testing.assert_allclose(model.predict([[3.0, 5.0, value]]), [15.0], rtol=1e-9)
