"""ONNX export: onnxruntime's predictions are the estimator's, on every activation."""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._network.activations import ACTIVATIONS

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")
from sklearn_fitfn.onnx import _ACTIVATION_GRAPHS, to_onnx  # noqa: E402

#: Relative agreement with ``predict``, by dtype (of the largest prediction).
TOLERANCE = {"float64": 1e-9, "float32": 1e-5}
SMALL = dict(hidden_layer_sizes=(16, 8), max_iter=20, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    return X, np.exp(0.3 * X[:, 0]) + X[:, 1] ** 2


def _served(model, X):
    session = ort.InferenceSession(
        to_onnx(model, X).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {"X": X})[0]


def _assert_served_as_predicted(model, X, dtype):
    served = _served(model, X)
    predicted = model.predict(X).reshape(served.shape)
    assert served.dtype == np.dtype(dtype)
    scale = np.abs(predicted).max()
    assert np.abs(served - predicted).max() <= TOLERANCE[dtype] * scale


def test_every_activation_of_the_table_has_an_onnx_form():
    assert {row.keras for row in ACTIVATIONS.values()} == set(_ACTIVATION_GRAPHS)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", sorted({row.keras for row in ACTIVATIONS.values()}))
def test_onnxruntime_predicts_what_predict_does(data, activation, dtype):
    X, y = data
    if activation == "log":  # log units need positive inputs: the ratio's network
        X = np.abs(X) + 1
        y = X[:, 0] / (X[:, 1] + X[:, 2])
        network = dict(hidden_layer_sizes=(2, 1), activation=("log", "exponential"))
        net = MLPFunctionRegressor(**network, solver="lbfgs", dtype=dtype).fit(X, y)
    else:
        net = MLPFunctionRegressor(**SMALL, activation=activation, dtype=dtype).fit(X, y)
    if activation == "gelu" and dtype == "float64":
        with pytest.raises(ValueError, match="'gelu' in float64"):
            to_onnx(net, X)
        return
    _assert_served_as_predicted(net, X.astype(dtype), dtype)


def test_poisson_output_and_several_targets(data):
    X, y = data
    _assert_served_as_predicted(
        MLPFunctionRegressor(**SMALL, loss="poisson").fit(X, y), X, "float64"
    )
    both = MLPFunctionRegressor(**SMALL).fit(X, np.c_[y, -2 * y])
    assert _served(both, X).shape == (len(X), 2)
    _assert_served_as_predicted(both, X, "float64")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_pipeline_inside_a_transformed_target_converts(data, dtype):
    X, y = data
    model = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), MLPFunctionRegressor(**SMALL, dtype=dtype)),
        transformer=StandardScaler(),
    ).fit(X, 1000 * y + 5)
    _assert_served_as_predicted(model, X.astype(dtype), dtype)


@pytest.mark.parametrize(
    "scaler",
    [StandardScaler(with_mean=False), StandardScaler(with_std=False)],
    ids=["with_mean=False", "with_std=False"],
)
def test_a_target_scaler_that_leaves_out_its_mean_or_spread_is_undone_as_it_undoes(data, scaler):
    # Targets around 1,500: its mean_, set but unused without with_mean, is far from 0.
    X, y = data
    model = TransformedTargetRegressor(MLPFunctionRegressor(**SMALL), transformer=scaler)
    model.fit(X, 300 * y + 1500)
    _assert_served_as_predicted(model, X, "float64")


def test_a_transformed_target_without_a_transformer_converts(data):
    X, y = data
    model = TransformedTargetRegressor(MLPFunctionRegressor(**SMALL)).fit(X, y)
    assert _served(model, X).shape == (len(X), 1)
    _assert_served_as_predicted(model, X, "float64")


def test_an_input_of_another_dtype_is_cast_to_the_networks(data):
    X, y = data
    net = MLPFunctionRegressor(**SMALL, dtype="float32").fit(X, y)
    _assert_served_as_predicted(net, X, "float32")


def test_what_it_cannot_convert_is_named(data):
    X, y = data
    quantiles = TransformedTargetRegressor(
        MLPFunctionRegressor(**SMALL), transformer=QuantileTransformer(n_quantiles=50)
    ).fit(X, y)
    expected = (
        "to_onnx converts a TransformedTargetRegressor whose transformer is a "
        "StandardScaler (or none); got QuantileTransformer."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        to_onnx(quantiles, X)
    linear = TransformedTargetRegressor(LinearRegression()).fit(X, y)
    expected = (
        "to_onnx converts a TransformedTargetRegressor whose regressor is an "
        "MLPFunctionRegressor or a Pipeline ending with one; got LinearRegression."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        to_onnx(linear, X)
    for unfitted in [
        MLPFunctionRegressor(),
        make_pipeline(StandardScaler().fit(X), MLPFunctionRegressor()),
    ]:
        with pytest.raises(
            NotFittedError, match="This MLPFunctionRegressor instance is not fitted"
        ):
            to_onnx(unfitted, X)


_SERVE_WITHOUT_TENSORFLOW = """
import sys
import numpy as np
import onnxruntime as ort
X, expected = np.load(sys.argv[2]), np.load(sys.argv[3])
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
served = session.run(None, {"X": X})[0].ravel()
assert "tensorflow" not in sys.modules and "keras" not in sys.modules
print(float(np.abs(served - expected).max() / np.abs(expected).max()))
"""


def test_served_by_onnxruntime_alone_without_tensorflow(data, tmp_path):
    X, y = data
    net = MLPFunctionRegressor(**SMALL).fit(X, y)
    (tmp_path / "net.onnx").write_bytes(to_onnx(net, X).SerializeToString())
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", net.predict(X))
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_SERVE_WITHOUT_TENSORFLOW)]
        + [str(tmp_path / name) for name in ("net.onnx", "X.npy", "y.npy")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) <= TOLERANCE["float64"]


def test_the_opset_and_the_input_shape_asked_for_are_the_graphs(data):
    """An older runtime needs an older opset; a graph of fixed batches
    declares its output of the same rows."""
    from skl2onnx.common.data_types import DoubleTensorType

    X, y = data
    model = TransformedTargetRegressor(
        MLPFunctionRegressor(**SMALL), transformer=StandardScaler()
    ).fit(X, 1000 * y + 5)
    for target in (model, model.regressor_):
        graph = to_onnx(target, X, target_opset=13)
        assert {(o.domain, o.version) for o in graph.opset_import} == {("", 13)}
        fixed = to_onnx(target, X, initial_types=[("X", DoubleTensorType([5, 3]))])
        output = fixed.graph.output[0].type.tensor_type.shape.dim
        assert [d.dim_value for d in output] == [5, 1]
        session = ort.InferenceSession(fixed.SerializeToString())
        served = session.run(None, {"X": X[:5]})[0]
        np.testing.assert_allclose(served.ravel(), target.predict(X[:5]), rtol=1e-9)


@pytest.mark.parametrize("network_dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_dtype", ["float32", "float64"])
def test_a_pipeline_in_a_transformed_target_of_another_dtype_than_x_converts(
    data, network_dtype, x_dtype
):
    X, y = data
    model = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), MLPFunctionRegressor(**SMALL, dtype=network_dtype)),
        transformer=StandardScaler(),
    ).fit(X, 1000 * y + 5)
    X = X.astype(x_dtype)
    served = _served(model, X)
    assert served.dtype == np.dtype(network_dtype)
    # The scaler before the network computes in X's dtype here and in scikit-learn's float64.
    np.testing.assert_allclose(served.ravel(), model.predict(X), rtol=1e-5)


def test_rows_of_another_width_are_refused(data):
    X, y = data
    net = MLPFunctionRegressor(**SMALL).fit(X, y)
    expected = (
        "X has 4 columns, but MLPFunctionRegressor was fitted on 3: the graph's input "
        "would not take the rows it predicts."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        to_onnx(net, np.ones((2, 4)))


def test_a_sparse_x_gives_a_graph_of_dense_rows(data):
    import scipy.sparse

    X, y = data
    net = MLPFunctionRegressor(**SMALL).fit(X, y)
    session = ort.InferenceSession(
        to_onnx(net, scipy.sparse.csr_matrix(X)).SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    served = session.run(None, {"X": X})[0].ravel()
    np.testing.assert_allclose(served, net.predict(X), rtol=1e-9)


@pytest.mark.parametrize("opset", [1, 5, 6])
def test_an_opset_onnxruntime_cannot_run_is_refused(data, opset):
    X, y = data
    net = MLPFunctionRegressor(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match=f"^target_opset={opset} is older than opset 7"):
        to_onnx(net, X, target_opset=opset)
    _served_session = ort.InferenceSession(
        to_onnx(net, X, target_opset=7).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    np.testing.assert_allclose(
        _served_session.run(None, {"X": X})[0].ravel(), net.predict(X), rtol=1e-9
    )
