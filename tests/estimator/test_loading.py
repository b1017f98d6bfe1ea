"""Loading accepts only what ``fit`` could have produced for the estimator's
parameters: the network they make, finite weights, one solver's optimizer
state, and no field that fit never sets."""

import pickle
import re

import numpy as np
import pytest

from sklearn_fitfn import MLPFunctionRegressor

SMALL = dict(hidden_layer_sizes=(16, 8), max_iter=10, batch_size=50, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    return X, np.exp(0.3 * X[:, 0]) + X[:, 1] ** 2


@pytest.fixture(scope="module")
def fitted(data):
    return MLPFunctionRegressor(**SMALL).fit(*data)


def _load(state):
    fresh = MLPFunctionRegressor.__new__(MLPFunctionRegressor)
    fresh.__setstate__(state)
    return fresh


def _refused(state, message):
    expected = f"Cannot load the fitted network: {message}."
    fresh = MLPFunctionRegressor.__new__(MLPFunctionRegressor)
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        fresh.__setstate__(state)
    assert not hasattr(fresh, "model_")


def _network_changed(fitted, change):
    state = fitted.__getstate__()
    network = pickle.loads(pickle.dumps(state["_fitted_network"]))  # a deep copy
    change(network)
    return {**state, "_fitted_network": network}


@pytest.mark.parametrize(
    "parameters, message",
    [
        (
            dict(activation="tanh"),
            "spec.activations is ('relu', 'relu'), where the "
            "estimator's parameters make ('tanh', 'tanh')",
        ),
        (
            dict(hidden_layer_sizes=(64, 64)),
            "spec.hidden_layer_sizes is (16, 8), where the estimator's parameters make (64, 64)",
        ),
        (
            dict(loss="poisson"),
            "spec.out_activation is 'identity', where the estimator's parameters make 'exp'",
        ),
        (dict(dtype="float32"), "spec.dtype is 'float64', where the parameter dtype is 'float32'"),
        (dict(hidden_layer_sizes="big"), "the parameters make no network: "),
    ],
)
def test_a_network_other_than_the_parameters_make_is_refused(fitted, parameters, message):
    state = {**fitted.__getstate__(), **parameters}
    expected = f"Cannot load the fitted network: {message}"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}"):
        _load(state)


def test_the_message_says_what_to_do_after_changing_a_parameter(fitted):
    state = {**fitted.__getstate__(), "activation": "tanh"}
    with pytest.raises(ValueError, match="set the parameters the network was fitted with"):
        _load(state)


def test_a_network_whose_output_the_loss_does_not_use_is_refused(fitted):
    def exp_output(network):
        network["spec"]["out_activation"] = "exp"

    _refused(
        _network_changed(fitted, exp_output),
        "spec.out_activation is 'exp', where the estimator's parameters make 'identity' "
        "(set the parameters the network was fitted with, or fit again, before saving)",
    )


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("field", ["weights", "optimizer_state"])
def test_non_finite_arrays_are_refused(fitted, value, field):
    def poison(network):
        network[field][2] = network[field][2].copy()
        network[field][2][0, 0] = value

    _refused(
        _network_changed(fitted, poison),
        f"{field}[2] must be finite (fit never keeps NaN or infinite values)",
    )


@pytest.mark.parametrize("name", ["predict", "__sklearn_tags__", "coefs"])
def test_a_field_fit_never_sets_is_refused(fitted, name):
    _refused(
        {**fitted.__getstate__(), name: 1}, f"the state holds fields fit never sets: ['{name}']"
    )


@pytest.mark.parametrize("n_features_in", [4, None])
def test_a_width_other_than_the_networks_inputs_is_refused(fitted, n_features_in):
    state = {**fitted.__getstate__(), "n_features_in_": n_features_in}
    _refused(state, f"n_features_in_ must be the network's 3 inputs; got {n_features_in!r}")


@pytest.mark.parametrize(
    "change, count",
    [
        (lambda state: state.clear(), 0),
        (lambda state: state.__delitem__(slice(4, None)), 4),
        (lambda state: state.extend([np.zeros(()), np.zeros(()), np.zeros(())]), 16),
    ],
    ids=["empty", "cut to 4", "3 extra scalars"],
)
def test_an_optimizer_state_of_neither_solver_is_refused(fitted, change, count):
    _refused(
        _network_changed(fitted, lambda network: change(network["optimizer_state"])),
        "optimizer_state must hold adam's 2 per weight and 1 scalars, sgd's 1 per weight "
        f"and 0 scalars; got {count} arrays",
    )


def test_an_sgd_state_loads_under_adam_and_partial_fit_starts_adam_afresh(data):
    X, y = data
    reg = MLPFunctionRegressor(**{**SMALL, "solver": "sgd"}).fit(X, y).set_params(solver="adam")
    loaded = pickle.loads(pickle.dumps(reg))
    assert len(loaded.partial_fit(X, y).loss_curve_) == len(reg.loss_curve_) + 1
