"""The formula of a fitted pipeline of square units, in the data's own units."""

import re
import warnings

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn.datasets import make_products
from sklearn_fitfn.experiments import build_pipeline, run_experiment
from sklearn_fitfn.formula import format_polynomial, to_formula, to_polynomial


def _rounded(terms, digits=6):
    return {powers: round(c, digits) for powers, c in terms.items()}


def test_a_scaled_pipeline_gives_the_formula_in_the_datas_units():
    X, y = make_products(1000, random_state=0)  # integers 1..1000, y up to 1e6
    model = build_pipeline("square", (2,), solver="lbfgs").fit(X, y)
    assert _rounded(to_polynomial(model, tol=1e-3)) == {(1, 1): 1.0}
    assert format_polynomial(to_polynomial(model, tol=1e-3), digits=4) == "y = 1·x0·x1"


@pytest.mark.parametrize(
    "wrap",
    [
        lambda mlp: mlp,
        lambda mlp: make_pipeline(StandardScaler(), mlp),
        lambda mlp: make_pipeline("passthrough", StandardScaler(with_mean=False), mlp),
        lambda mlp: TransformedTargetRegressor(mlp, transformer=StandardScaler()),
    ],
    ids=["estimator", "pipeline", "passthrough-no-mean", "target-only"],
)
def test_every_supported_wrapping_gives_the_same_function(wrap):
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, size=(300, 2))
    y = 2 * X[:, 0] ** 2 - X[:, 0] * X[:, 1] + 3
    mlp = MLPFunctionRegressor(
        hidden_layer_sizes=(4,), activation="square", solver="lbfgs", random_state=0
    )
    model = wrap(mlp).fit(X, y)
    terms = to_polynomial(model, tol=0)
    X_new = rng.uniform(-5, 5, size=(20, 2))
    predicted = sum(c * np.prod(X_new ** np.array(p), axis=1) for p, c in terms.items())
    np.testing.assert_allclose(predicted, model.predict(X_new), rtol=1e-7, atol=1e-7)
    assert _rounded(to_polynomial(model, tol=1e-6), 5) == {(2, 0): 2.0, (1, 1): -1.0, (0, 0): 3.0}


@pytest.mark.parametrize(
    "model, message",
    [
        (
            make_pipeline(MinMaxScaler(), MLPFunctionRegressor(max_iter=2)),
            "to_polynomial reads pipelines of StandardScaler steps and the estimator; "
            "step 'minmaxscaler' is MinMaxScaler",
        ),
        (
            make_pipeline(StandardScaler(), LinearRegression()),
            "to_polynomial needs a fitted MLPFunctionRegressor inside; got LinearRegression",
        ),
        (
            TransformedTargetRegressor(
                MLPFunctionRegressor(max_iter=2), func=np.log1p, inverse_func=np.expm1
            ),
            "to_polynomial reads a TransformedTargetRegressor whose transformer is a "
            "StandardScaler; this one has None",
        ),
        (
            TransformedTargetRegressor(
                MLPFunctionRegressor(max_iter=2), transformer=MinMaxScaler()
            ),
            "to_polynomial reads a TransformedTargetRegressor whose transformer is a "
            "StandardScaler; this one has MinMaxScaler()",
        ),
    ],
    ids=["pipeline step", "estimator", "target function", "target transformer"],
)
def test_other_models_are_named_in_the_error(model, message):
    X = np.random.default_rng(0).uniform(1, 2, size=(30, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, X.sum(axis=1))
    for read_back in (to_polynomial, to_formula):
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            read_back(model)


def test_by_default_only_terms_of_a_millionth_or_less_are_left_out():
    """A network barely trained has terms of every size: the default
    polynomial keeps those above 1e-6 and so still computes its predictions."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(40, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPFunctionRegressor(
            hidden_layer_sizes=(3,), activation="square", max_iter=2, random_state=0
        ).fit(X, X[:, 0] * X[:, 1])
    terms = to_polynomial(model)
    assert terms == to_polynomial(model, tol=1e-6)
    assert min(abs(c) for c in terms.values()) < 0.5
    predicted = sum(c * np.prod(X ** np.array(p), axis=1) for p, c in terms.items())
    np.testing.assert_allclose(predicted, model.predict(X), atol=1e-5)


def test_the_verdict_of_square_units_writes_the_formula_out():
    result = run_experiment(
        "squares",
        n_samples=200,
        cv=2,
        max_iter=200,
        activations=["square"],
        architectures=[(2,)],
        solver="lbfgs",
        progress=False,
    )
    assert "It computes y = 1·x²." in result.verdict()


@pytest.mark.parametrize("tol", [float("nan"), -1.0, float("inf"), "1e-6"])
def test_a_tolerance_that_cannot_be_is_refused(tol):
    with pytest.raises(ValueError, match="tol must be a finite number >= 0"):
        to_polynomial(MLPFunctionRegressor(), tol=tol)


def test_an_unfitted_transformed_target_regressor_is_not_fitted():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import NotFittedError

    model = TransformedTargetRegressor(MLPFunctionRegressor(activation="square"))
    with pytest.raises(NotFittedError):
        to_polynomial(model)


def test_the_polynomials_of_several_outputs_are_written_one_a_line():
    written = format_polynomial([{(2, 0): 1.0}, {(1, 1): -2.0, (0, 0): 3.0}])
    assert written == "y[0] = 1·x0²\ny[1] = -2·x0·x1 + 3"


def _ratio_network(X, y):
    from sklearn_fitfn import MLPFunctionRegressor

    return MLPFunctionRegressor(
        hidden_layer_sizes=(2, 1), activation=("log", "exponential"), solver="lbfgs"
    ).fit(X, y)


def test_a_ratio_network_reads_back_as_the_ratio_in_the_users_units():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_fitfn import MLPFunctionRegressor
    from sklearn_fitfn.formula import Ratio, format_polynomial, to_formula

    rng = np.random.default_rng(0)
    X = rng.uniform(-2, -1, size=(300, 4))
    y = (X[:, 0] + 2 * X[:, 1]) / (X[:, 2] - 3)
    expected = Ratio(
        {(1, 0, 0, 0): 1.0, (0, 1, 0, 0): 2.0}, {(0, 0, 1, 0): 1.0, (0, 0, 0, 0): -3.0}
    )
    alone = _ratio_network(X, y).to_formula(tol=1e-9)
    network = dict(hidden_layer_sizes=(2, 1), activation=("log", "exponential"), solver="lbfgs")
    scaled = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), MLPFunctionRegressor(**network)),
        transformer=StandardScaler(),
    ).fit(X, y)
    for formula in (alone, to_formula(scaled, tol=1e-9)):
        assert isinstance(formula, Ratio)
        for side, wanted in zip(formula, expected):
            assert side.keys() == wanted.keys()
            np.testing.assert_allclose([side[k] for k in wanted], list(wanted.values()), rtol=1e-7)
    assert format_polynomial(alone, digits=4) == "y = (1·x0 + 2·x1) / (1·x2 - 3)"


def test_a_polynomial_network_reads_back_as_before_through_to_formula():
    from sklearn_fitfn.datasets import make_products
    from sklearn_fitfn.experiments import build_pipeline
    from sklearn_fitfn.formula import to_formula, to_polynomial

    X, y = make_products(1000, random_state=0)
    model = build_pipeline("square", (2,), solver="lbfgs").fit(X, y)
    assert to_formula(model, tol=1e-3) == to_polynomial(model, tol=1e-3)


def test_a_power_that_is_no_integer_is_no_ratio():
    from sklearn_fitfn.formula import to_formula

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, size=(200, 2))
    net = _ratio_network(X, X[:, 0] / X[:, 1])
    weights = net.model_.get_weights()
    weights[2] = weights[2] * 0.5  # sqrt(a / b)
    net.model_.set_weights(weights)
    with pytest.raises(ValueError, match=r"not integers: the network computes a product of powers"):
        to_formula(net)
    weights[2] = np.array([[5.0], [-3.0]])  # a⁵ / b³: eight forms to multiply out
    net.model_.set_weights(weights)
    with pytest.raises(ValueError, match="would multiply 8 linear forms"):
        to_formula(net)
    with pytest.raises(ValueError, match="computes a polynomial only with square"):
        net.to_polynomial()


@pytest.mark.parametrize("with_mean, with_std", [(False, True), (True, False), (False, False)])
def test_scalers_that_only_centre_or_only_scale_are_read_in_the_users_units(with_mean, with_std):
    from sklearn_fitfn.formula import to_formula

    rng = np.random.default_rng(1)
    X = rng.uniform(1, 3, size=(300, 2))
    scaler = dict(with_mean=with_mean, with_std=with_std)
    square = dict(hidden_layer_sizes=(2,), activation="square", solver="lbfgs", random_state=0)
    products = TransformedTargetRegressor(
        make_pipeline(StandardScaler(**scaler), MLPFunctionRegressor(**square)),
        transformer=StandardScaler(**scaler),
    ).fit(X, 3 * X[:, 0] * X[:, 1] + 2)
    terms = to_polynomial(products, tol=1e-6)
    assert terms.keys() == {(1, 1), (0, 0)}
    np.testing.assert_allclose([terms[(1, 1)], terms[(0, 0)]], [3.0, 2.0], rtol=1e-7)
    ratio = dict(hidden_layer_sizes=(2, 1), activation=("log", "exponential"), solver="lbfgs")
    division = TransformedTargetRegressor(
        make_pipeline(StandardScaler(**scaler), MLPFunctionRegressor(**ratio, random_state=0)),
        transformer=StandardScaler(**scaler),
    ).fit(X, X[:, 0] / X[:, 1])
    numerator, denominator = to_formula(division, tol=1e-6)
    np.testing.assert_allclose(list(numerator.values()), [1.0], rtol=1e-7)
    assert list(numerator) == [(1, 0)] and list(denominator) == [(0, 1)]


def test_to_formula_leaves_out_exactly_the_terms_no_larger_than_tol():
    from sklearn_fitfn._network.polynomial import Polynomial
    from sklearn_fitfn.formula import to_formula

    assert Polynomial({(0,): 0.5, (): 0.25}).exponents(1, tol=0.25) == {(1,): 0.5}
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, size=(300, 2))
    network = MLPFunctionRegressor(
        hidden_layer_sizes=(2,), activation="square", solver="lbfgs", random_state=0
    ).fit(X, X[:, 0] * X[:, 1] + 0.001 * X[:, 0])
    assert len(to_formula(network)) == 2  # the default tol keeps 0.001·x0
    assert to_formula(network, tol=0.01).keys() == {(1, 1)}
    halves = _ratio_network(X, 0.5 * X[:, 0] / X[:, 1]).to_formula()
    np.testing.assert_allclose(list(halves.numerator.values()), [0.5], rtol=1e-7)


def test_a_ratio_of_squares_is_read_back_and_the_exponentials_bias_scales_it():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, size=(200, 2))
    net = _ratio_network(X, X[:, 0] / X[:, 1])
    weights = net.model_.get_weights()
    weights[2] = np.array([[2.0], [-2.0]])  # (a / b)², four forms: the most allowed
    weights[3] = np.array([np.log(3.0)])  # e^bias = 3
    net.model_.set_weights(weights)
    numerator, denominator = net.to_formula(tol=1e-9)
    assert numerator.keys() == {(2, 0)} and denominator.keys() == {(0, 2)}
    # What the network computes, and the formula read back: 3·c·(p/q)².
    np.testing.assert_allclose(
        net.predict(X), numerator[(2, 0)] * X[:, 0] ** 2 / X[:, 1] ** 2, rtol=1e-9
    )
    weights[2] = np.array([[5.0], [-3.0]])
    net.model_.set_weights(weights)
    with pytest.raises(ValueError) as error:
        net.to_formula()
    assert str(error.value) == (
        "Expanding this ratio would multiply 8 linear forms (powers [5, -3]), more than the 4 "
        "allowed: read back a smaller network."
    )


def test_a_ratio_network_with_an_exponential_output_is_no_ratio():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, size=(200, 2))
    net = _ratio_network(X, X[:, 0] / X[:, 1])
    net._spec = net._spec._replace(out_activation="exp")  # as loss="poisson" builds it
    with pytest.raises(ValueError) as error:
        net.to_formula()
    assert str(error.value) == (
        "MLPFunctionRegressor computes a ratio of polynomials with a layer of log units under "
        "one exponential unit, a linear output and one target; this network has activations "
        "('log', 'exponential'), a exp output and 1 target(s)."
    )


def test_a_ratio_and_several_outputs_are_written_with_the_names_and_digits_given():
    from sklearn_fitfn.formula import Ratio

    ratio = Ratio({(1, 0): 1 / 3}, {(0, 1): 1.0, (0, 0): 2 / 3})
    assert format_polynomial(ratio, names=["a", "b"], digits=2) == "y = (0.33·a) / (1·b + 0.67)"
    outputs = [{(1, 0): 1 / 3}, {(0, 1): 2.0}]
    assert format_polynomial(outputs, names=["a", "b"], digits=2) == "y[0] = 0.33·a\ny[1] = 2·b"


def test_coefficients_are_written_to_six_significant_digits_by_default():
    assert format_polynomial({(1,): 1 / 3, (0,): -2 / 3}) == "y = 0.333333·x0 - 0.666667"


def test_terms_are_written_highest_degree_first_then_by_the_first_inputs_power():
    terms = {(1, 0, 1): 1.0, (0, 2, 0): 1.0, (2, 0, 0): 1.0, (0, 0, 0): 0.0}
    assert format_polynomial(terms) == "y = 1·x0² + 1·x1² + 1·x0·x2 + 0"
