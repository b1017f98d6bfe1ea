"""A fitted estimator's state is data: pickles and skops files hold no Keras
object, loading rebuilds the network, and a tampered file is refused."""

import io
import json
import pickle
import re

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skops_edits import edited_skops

from sklearn_fitfn import MLPFunctionRegressor

sio = pytest.importorskip("skops.io")

SMALL = dict(hidden_layer_sizes=(16, 8), max_iter=10, batch_size=50, random_state=0)

#: One fit per training path.
PATHS = {
    "engine": dict(SMALL),
    "engine float32 sgd": dict(SMALL, solver="sgd", dtype="float32"),
    "early stopping": dict(SMALL, early_stopping=True),
    "keras fit": dict(SMALL, solver="rmsprop"),
    "lbfgs": dict(SMALL, solver="lbfgs"),
    "square units": dict(hidden_layer_sizes=(4,), activation="square", solver="lbfgs"),
    "poisson": dict(SMALL, loss="poisson"),
}

OWN_TYPE = "sklearn_fitfn._regressor.MLPFunctionRegressor"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    return X, np.exp(0.3 * X[:, 0]) + X[:, 1] ** 2


@pytest.fixture(scope="module")
def fitted(data):
    return {name: MLPFunctionRegressor(**params).fit(*data) for name, params in PATHS.items()}


def _load_listing_imports(blob):
    """Unpickle ``blob``, and the modules of every global it imported."""
    modules = set()

    class Listing(pickle.Unpickler):
        def find_class(self, module, name):
            modules.add(module.split(".")[0])
            return super().find_class(module, name)

    return Listing(io.BytesIO(blob)).load(), modules


def _same_fit(restored, reg, X):
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))
    for name in ("loss_curve_", "best_loss_", "n_iter_", "converged_", "t_", "n_outputs_"):
        assert getattr(restored, name) == getattr(reg, name), name
    assert restored.validation_scores_ == reg.validation_scores_
    assert restored.get_params() == reg.get_params()


@pytest.mark.parametrize("path", PATHS)
def test_a_pickle_holds_plain_data_and_rebuilds_the_keras_model(fitted, data, path):
    import keras

    reg = fitted[path]
    restored, modules = _load_listing_imports(pickle.dumps(reg))
    assert modules <= {"sklearn_fitfn", "numpy", "builtins", "copyreg", "_codecs"}, modules
    assert isinstance(restored.model_, keras.Model)
    _same_fit(restored, reg, data[0])
    assert restored.__getstate__()["_fitted_network"]["spec"]["activations"] == list(
        reg._spec.activations
    )


@pytest.mark.parametrize("path", ["engine", "keras fit"])
def test_partial_fit_after_loading_goes_on_as_without_saving(data, path):
    X, y = data
    reg = MLPFunctionRegressor(**PATHS[path]).fit(X, y)
    assert reg.model_.compiled == (path == "keras fit")  # the optimizer is Keras's, in the model
    restored = pickle.loads(pickle.dumps(reg))
    for _ in range(2):
        restored.partial_fit(X, y)
        reg.partial_fit(X, y)
    np.testing.assert_allclose(restored.predict(X), reg.predict(X), rtol=1e-12)
    assert restored.loss_curve_ == pytest.approx(reg.loss_curve_, rel=1e-12)
    history = getattr(reg, "history_", {})
    assert getattr(restored, "history_", {}).keys() == history.keys()
    for key, values in history.items():
        assert len(values) == 12  # the fit's 10 epochs and both partial fits'
        assert restored.history_[key] == pytest.approx(values, rel=1e-12)


def test_a_warm_start_after_loading_counts_on_towards_its_stop(data):
    """The stopping rule's count of epochs without improvement is saved. tol
    so large that no epoch after the first improves: the first fit ends with
    a count of 2, and the warm start after it stops once the count passes 3,
    after 2 epochs (from a count of 0, it would run all 3 without a stop)."""
    X, y = data
    options = dict(SMALL, max_iter=3, tol=1e9, n_iter_no_change=3, warm_start=True)
    reg = MLPFunctionRegressor(**options).fit(X, y)
    restored = pickle.loads(pickle.dumps(reg))
    for model in (reg, restored):
        model.fit(X, y)
        assert model.n_iter_ == 2 and len(model.loss_curve_) == 5
        assert model.converged_ is True
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))


def test_pickles_are_smaller_than_with_the_keras_model_inside(fitted):
    reg = fitted["lbfgs"]
    arrays = sum(a.nbytes for a in reg.coefs_ + reg.intercepts_)
    # Weights, a short record and the parameters: no saved Keras archive.
    assert len(pickle.dumps(reg)) < arrays + 3000


def _tampered_state(reg, change):
    state = reg.__getstate__()
    network = pickle.loads(pickle.dumps(state["_fitted_network"]))  # a deep copy
    change(network)
    return {**state, "_fitted_network": network}


_FIELDS = ["format", "keras_optimizer_state", "optimizer_state", "record", "spec", "weights"]


def _set(*path_and_value):
    """A change that sets the field at ``path`` of the network's data."""
    *path, value = path_and_value

    def change(network):
        for key in path[:-1]:
            network = network[key]
        network[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "path, change, message",
    [
        ("engine", _set("format", 99), "format must be 1 (this version's); got 99"),
        (
            "engine",
            lambda n: n.pop("record"),
            f"the network's data must have the fields {_FIELDS}; "
            f"got {[f for f in _FIELDS if f != 'record']}",
        ),
        ("engine", _set("spec", "relu"), "spec must be a dict; got str"),
        (
            "engine",
            _set("spec", "hidden_layer_sizes", 16),
            "spec.hidden_layer_sizes must be a list; got 16",
        ),
        (
            "engine",
            lambda n: n["spec"]["activations"].__setitem__(0, "os.system"),
            "spec.activations[0] is not an activation's name: 'os.system'",
        ),
        (
            "engine",
            _set("spec", "dtype", "object"),
            "spec.dtype must be one of ('float32', 'float64'); got 'object'",
        ),
        (
            "engine",
            _set("spec", "n_inputs", -3),
            "spec.n_inputs must be an integer of at least 1; got -3",
        ),
        ("engine", lambda n: n["weights"].pop(), "weights must be a list of 6 arrays"),
        (
            "engine",
            _set("weights", 0, [[0.0] * 16] * 3),
            "weights[0] must be a NumPy array; got list",
        ),
        (
            "engine",
            _set("weights", 0, np.zeros((4, 16))),
            "weights[0] must be float64 of shape (3, 16); got float64 of shape (4, 16)",
        ),
        (
            "engine",
            _set("weights", 1, np.zeros(16, "float32")),
            "weights[1] must be float64 of shape (16,); got float32 of shape (16,)",
        ),
        ("engine", _set("optimizer_state", "adam"), "optimizer_state must be a list of arrays"),
        (
            "engine",
            _set("optimizer_state", 0, np.zeros(3)),
            "optimizer_state[0] must be float64 of shape (3, 16); got float64 of shape (3,)",
        ),
        (
            "keras fit",
            _set("keras_optimizer_state", "rmsprop"),
            "keras_optimizer_state must be a list of arrays",
        ),
        (
            "keras fit",
            _set("keras_optimizer_state", 0, np.array(["x"])),
            "keras_optimizer_state[0] must be a numeric NumPy array",
        ),
        ("engine", _set("record", [1.0]), "record must be a dict; got list"),
        (
            "engine",
            _set("record", "loss_curve", "nan"),
            "record.loss_curve must be a list of numbers; got str",
        ),
        (
            "engine",
            _set("record", "loss_curve", [0.5, None]),
            "record.loss_curve[1] must be a number; got None",
        ),
        (
            "engine",
            _set("record", "best_loss", "low"),
            "record.best_loss must be a number; got 'low'",
        ),
        (
            "engine",
            _set("record", "n_iter", -1),
            "record.n_iter must be an integer of at least 0; got -1",
        ),
        (
            "engine",
            _set("record", "converged", "yes"),
            "record.converged must be True, False or None; got 'yes'",
        ),
        (
            "early stopping",
            _set("record", "validation_scores", [0.5, "x"]),
            "record.validation_scores[1] must be a number; got 'x'",
        ),
        (
            "engine",
            _set("spec", "n_outputs", 0),
            "spec.n_outputs must be an integer of at least 1; got 0",
        ),
        (
            "engine",
            _set("spec", "out_activation", "softmax"),
            "spec.out_activation must be one of ('identity', 'exp'); got 'softmax'",
        ),
        (
            "engine",
            _set("record", "best_weights", [np.zeros(2)]),
            "record.best_weights must be a list of 6 arrays",
        ),
    ],
)
def test_loading_refuses_a_tampered_state_naming_the_field(fitted, path, change, message):
    state = _tampered_state(fitted[path], change)
    fresh = MLPFunctionRegressor.__new__(MLPFunctionRegressor)
    expected = f"Cannot load the fitted network: {message}."
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        fresh.__setstate__(state)
    assert not hasattr(fresh, "model_")


def test_loading_refuses_network_data_that_is_not_a_dict(fitted):
    state = {**fitted["engine"].__getstate__(), "_fitted_network": "weights.bin"}
    expected = "Cannot load the fitted network: the network's data must be a dict; got str."
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        MLPFunctionRegressor.__new__(MLPFunctionRegressor).__setstate__(state)


def test_loading_refuses_a_history_that_is_not_numbers(fitted):
    state = fitted["keras fit"].__getstate__()
    state["history_"] = {"loss": ["__import__('os')"]}
    with pytest.raises(ValueError, match="history_ must map metric names to lists of numbers"):
        MLPFunctionRegressor.__new__(MLPFunctionRegressor).__setstate__(state)


def test_loading_refuses_a_keras_model_in_the_state(fitted):
    state = fitted["engine"].__getstate__()
    state["model_"] = "a Keras model"
    with pytest.raises(ValueError, match="model_"):
        MLPFunctionRegressor.__new__(MLPFunctionRegressor).__setstate__(state)


# -- skops --------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_skops_round_trip_on_every_path(fitted, data, path):
    reg = fitted[path]
    blob = sio.dumps(reg)
    assert sio.get_untrusted_types(data=blob) == [OWN_TYPE]
    _same_fit(sio.loads(blob, trusted=[OWN_TYPE]), reg, data[0])


def test_skops_round_trip_of_a_pipeline_in_a_transformed_target(data):
    X, y = data
    model = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), MLPFunctionRegressor(**SMALL)),
        transformer=StandardScaler(),
    ).fit(X, y)
    blob = sio.dumps(model)
    assert sio.get_untrusted_types(data=blob) == [OWN_TYPE]
    np.testing.assert_array_equal(sio.loads(blob, trusted=[OWN_TYPE]).predict(X), model.predict(X))


def _network_node(schema):
    return schema["content"]["content"]["_fitted_network"]["content"]


def test_skops_refuses_an_activation_replaced_by_code(fitted, tmp_path):
    marker = tmp_path / "ran"

    def edit(schema, files):
        node = _network_node(schema)["spec"]["content"]["activations"]["content"][0]
        node["content"] = json.dumps(f"__import__('pathlib').Path({str(marker)!r}).touch()")
        node["__id__"] = 1  # not the id of the parameter's string, which skops would reuse

    blob = edited_skops(sio.dumps(fitted["engine"]), edit)
    with pytest.raises(ValueError, match=r"activations\[0\] is not an activation"):
        sio.loads(blob, trusted=[OWN_TYPE])
    assert not marker.exists()


def test_skops_refuses_a_weight_of_another_shape(fitted):
    def edit(schema, files):
        name = _network_node(schema)["weights"]["content"][0]["file"]
        buffer = io.BytesIO()
        np.save(buffer, np.zeros((5, 16)))
        files[name] = buffer.getvalue()

    blob = edited_skops(sio.dumps(fitted["engine"]), edit)
    with pytest.raises(ValueError, match=r"weights\[0\] must be float64 of shape \(3, 16\)"):
        sio.loads(blob, trusted=[OWN_TYPE])


def test_skops_refuses_a_type_the_user_did_not_trust(fitted):
    from skops.io.exceptions import UntrustedTypesFoundException

    def edit(schema, files):
        node = _network_node(schema)["spec"]["content"]["dtype"]
        node.update({"__class__": "system", "__module__": "os", "__loader__": "TypeNode"})

    blob = edited_skops(sio.dumps(fitted["engine"]), edit)
    assert "os.system" in sio.get_untrusted_types(data=blob)
    with pytest.raises(UntrustedTypesFoundException, match="os.system"):
        sio.loads(blob, trusted=[OWN_TYPE])


@pytest.mark.parametrize(
    "name, keras_types",
    [
        ("loss", {"keras.src.losses.losses.Huber", "keras.src.losses.losses.huber"}),
        ("callbacks", {"keras.src.callbacks.early_stopping.EarlyStopping"}),
    ],
)
def test_a_keras_loss_or_callbacks_dump_and_load_once_their_keras_types_are_trusted(
    data, tmp_path, name, keras_types
):
    import keras

    X, y = data
    value = keras.losses.Huber() if name == "loss" else [keras.callbacks.EarlyStopping()]
    model = MLPFunctionRegressor(**SMALL, **{name: value}).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = set(sio.get_untrusted_types(file=path))
    assert keras_types | {OWN_TYPE} <= untrusted
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path, trusted=[OWN_TYPE])
    loaded = sio.load(path, trusted=sorted(untrusted))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_keras_optimizer_instance_cannot_be_written(data, tmp_path):
    import keras

    X, y = data
    model = MLPFunctionRegressor(**SMALL, solver=keras.optimizers.Adam()).fit(X, y)
    with pytest.raises(TypeError, match="__slots__"):
        sio.dump(model, tmp_path / "model.skops")
