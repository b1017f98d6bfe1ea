"""The polynomial a network of square and identity units computes."""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._network.polynomial import Polynomial, format_polynomial


def _evaluate(terms, X):
    return sum(c * np.prod(X ** np.array(powers), axis=1) for powers, c in terms.items())


@pytest.mark.parametrize(
    "hidden, activation",
    [((3,), "square"), ((3, 2), "square"), ((4,), "identity"), ((3, 2), ["square", "identity"])],
)
def test_the_polynomial_is_the_network(hidden, activation):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    model = MLPFunctionRegressor(
        hidden_layer_sizes=hidden, activation=activation, max_iter=5, random_state=0
    ).fit(X, X[:, 0] * X[:, 1])
    terms = model.to_polynomial(tol=0)
    X_new = rng.uniform(-3, 3, size=(20, 3))
    np.testing.assert_allclose(_evaluate(terms, X_new), model.predict(X_new), rtol=1e-9)
    square_layers = [activation] * len(hidden) if isinstance(activation, str) else activation
    assert max(map(sum, terms)) == 2 ** square_layers.count("square")


def test_a_square_unit_expands_as_written():
    # One unit, (2·x0 - x1 + 1)², times 3, plus 0.5.
    model = MLPFunctionRegressor(hidden_layer_sizes=(1,), activation="square")
    model.initialize(np.zeros((2, 2)), np.zeros(2))
    model.model_.set_weights(
        [np.array([[2.0], [-1.0]]), np.array([1.0]), np.array([[3.0]]), np.array([0.5])]
    )
    assert model.to_polynomial() == {
        (2, 0): 12.0,
        (1, 1): -12.0,
        (0, 2): 3.0,
        (1, 0): 12.0,
        (0, 1): -6.0,
        (0, 0): 3.5,
    }
    assert model.to_polynomial(tol=4.0) == {(2, 0): 12.0, (1, 1): -12.0, (1, 0): 12.0, (0, 1): -6.0}


def _evaluate(terms, X):
    """A polynomial given as {exponents: coefficient}, at the rows of X."""
    return sum(c * np.prod(X ** np.array(powers), axis=1) for powers, c in terms.items())


def test_several_outputs_give_each_its_own_polynomial():
    X = np.random.default_rng(0).normal(size=(40, 2))
    model = MLPFunctionRegressor(
        hidden_layer_sizes=(3,), activation="square", max_iter=3, random_state=0
    ).fit(X, np.column_stack([X[:, 0], X[:, 1] ** 2]))
    polynomials = model.to_polynomial(tol=0)
    assert isinstance(polynomials, list) and len(polynomials) == 2
    predicted = model.predict(X)
    for output, terms in enumerate(polynomials):
        np.testing.assert_allclose(_evaluate(terms, X), predicted[:, output], rtol=1e-9)
    assert not np.allclose(predicted[:, 0], predicted[:, 1])  # two different functions


@pytest.mark.parametrize(
    "options, has",
    [
        (dict(activation="relu"), "relu units"),
        (
            dict(activation=["square", "tanh", "relu"], hidden_layer_sizes=(2, 2, 2)),
            "relu, tanh units",
        ),
        (dict(activation="square", loss="poisson"), "an exponential output (Poisson loss)"),
    ],
)
def test_other_networks_have_no_polynomial(options, has):
    X = np.random.default_rng(0).uniform(1, 2, size=(30, 2))
    model = MLPFunctionRegressor(**{"hidden_layer_sizes": (2,), "max_iter": 2, **options})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, X.sum(axis=1))
    message = (
        "MLPFunctionRegressor computes a polynomial only with square and identity units "
        f"and a linear output; this network has {has}."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        model.to_polynomial()


def test_an_unfitted_network_has_no_polynomial():
    with pytest.raises(NotFittedError):
        MLPFunctionRegressor(activation="square").to_polynomial()


@pytest.mark.parametrize(
    "terms, names, text",
    [
        ({(1, 1): 1.0}, None, "y = 1·x0·x1"),
        ({(2, 0): 1.0, (0, 0): -3.0, (1, 0): 2.5}, None, "y = 1·x0² + 2.5·x0 - 3"),
        ({(0, 3): -1.0}, ["a", "b"], "y = -1·b³"),
        ({}, None, "y = 0"),
        ({(0, 0): 4.0}, None, "y = 4"),
    ],
)
def test_a_polynomial_is_written_as_people_write_it(terms, names, text):
    assert format_polynomial(terms, names=names) == text


def test_polynomials_multiply_and_add():
    x0, x1 = Polynomial.variable(0), Polynomial.variable(1)
    square = (x0 + x1) * (x0 + x1)
    assert square.exponents(2) == {(2, 0): 1.0, (1, 1): 2.0, (0, 2): 1.0}


def test_an_expansion_too_large_is_refused_before_any_work():
    X = np.random.default_rng(0).normal(size=(30, 20))
    model = MLPFunctionRegressor(hidden_layer_sizes=(20, 20, 20), activation="square", max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, X[:, 0])
    # 20 inputs, each square layer doubling the degree: forms of C(21, 1) = 21,
    # C(22, 2) = 231 and C(24, 4) = 10,626 terms squared by 20 units each, and
    # C(28, 8) terms (monomials of degree 8 or less in 20 variables) at the end.
    work = 20 * (21**2 + 231**2 + 10_626**2)
    message = (
        f"Expanding this network into a polynomial would take about {work:.2g} term products "
        "(square layers of widths [20, 20, 20] on 20 inputs reach degree 8, up to 3,108,105 "
        "terms per output), more than the 5e+07 allowed: read back a smaller network."
    )
    assert f"{work:.2g}" == "2.3e+09"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        model.to_polynomial()


def test_the_expansion_size_counts_the_work_of_every_square_layer():
    from sklearn_fitfn._network.polynomial import MAX_EXPANSION_WORK, check_expansion_size

    # 20 inputs: the first layer squares forms of 21 terms, the second of 231.
    first, second = 10_000 * 21**2, 900 * 231**2
    assert first < MAX_EXPANSION_WORK and second < MAX_EXPANSION_WORK < first + second
    check_expansion_size([10_000], ("square",), 20)
    check_expansion_size([1, 900], ("square", "square"), 20)
    with pytest.raises(ValueError, match="about 5.2e"):
        check_expansion_size([10_000, 900], ("square", "square"), 20)
