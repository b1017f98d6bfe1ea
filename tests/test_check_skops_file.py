"""check_skops_file reads a skops file's schema and its arrays' headers, and
refuses what they declare before skops decompresses anything large."""

import io
import json
import zipfile

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skops_edits import edited_skops

from sklearn_fitfn import MLPFunctionRegressor, sharing
from sklearn_fitfn.sharing import check_skops_file

sio = pytest.importorskip("skops.io")

SMALL = dict(hidden_layer_sizes=(16, 8), max_iter=5, batch_size=50, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] ** 2
    engine = make_pipeline(StandardScaler(), MLPFunctionRegressor(**SMALL)).fit(X, y)
    keras_fit = MLPFunctionRegressor(**SMALL, solver="rmsprop").fit(X, y)
    return {"pipeline": sio.dumps(engine), "keras fit": sio.dumps(keras_fit)}


def _declaring(shape, dtype="<f8"):
    """A .npy file's header declaring ``shape``, then 16 bytes of its values
    (reading the values would fail: only the header can be read)."""
    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + bytes(16)


def _step(schema, index):
    return schema["content"]["content"]["steps"]["content"][index]["content"][1]["content"]


def _network(estimator_content):
    return estimator_content["content"]["_fitted_network"]["content"]


def test_a_file_dump_wrote_passes_and_its_arrays_bytes_are_counted(blobs):
    blob = blobs["pipeline"]
    archive = zipfile.ZipFile(io.BytesIO(blob))
    arrays = [
        np.load(io.BytesIO(archive.read(name)))
        for name in archive.namelist()
        if name.endswith(".npy")
    ]
    assert check_skops_file(io.BytesIO(blob)) == sum(array.nbytes for array in arrays) > 0
    assert check_skops_file(io.BytesIO(blobs["keras fit"])) > 0


def test_a_file_on_disk_passes(blobs, tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(blobs["pipeline"])
    assert check_skops_file(path) == check_skops_file(str(path)) > 0


def test_a_weight_declared_larger_than_its_network_is_refused_from_its_header(blobs):
    # 1 GiB declared in 16 bytes: only the header is read, or this would fail otherwise.
    def edit(schema, files):
        files[_network(_step(schema, 1))["weights"]["content"][0]["file"]] = _declaring(
            (16384, 8192)
        )

    blob = edited_skops(blobs["pipeline"], edit)
    with pytest.raises(ValueError) as refused:
        check_skops_file(io.BytesIO(blob))
    assert str(refused.value) == (
        "Refusing the skops file in memory: steps[1][1]: Cannot load the fitted network: "
        "weights[0] must be float64 of shape (3, 16); got float64 of shape (16384, 8192)."
    )


@pytest.mark.parametrize(
    "field, index, declared, message",
    [
        ("optimizer_state", 4, ((3, 16), "<f4"), "optimizer_state[4] must be float64 of shape"),
        ("optimizer_state", 13, ((), "<f8"), "optimizer_state must hold"),
    ],
)
def test_the_optimizer_state_is_refused_as_declared(blobs, field, index, declared, message):
    def edit(schema, files):
        node = _network(_step(schema, 1))[field]["content"]
        if index < len(node):
            files[node[index]["file"]] = _declaring(*declared)
        else:  # one array too many
            extra = dict(node[0], file="extra.npy", __id__=1)
            node.append(extra)
            files["extra.npy"] = _declaring(*declared)

    blob = edited_skops(blobs["pipeline"], edit)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        check_skops_file(io.BytesIO(blob))


def test_a_keras_optimizer_variable_larger_than_the_largest_weight_is_refused(blobs):
    def edit(schema, files):
        node = _network(schema["content"])["keras_optimizer_state"]["content"][-1]
        files[node["file"]] = _declaring((10**8,))

    blob = edited_skops(blobs["keras fit"], edit)
    with pytest.raises(ValueError) as refused:
        check_skops_file(io.BytesIO(blob))
    assert str(refused.value) == (
        "Refusing the skops file in memory: the estimator: Cannot load the fitted network: "
        "keras_optimizer_state[7] may hold at most 128 values, the network's largest "
        "weight; declares shape (100000000,)."
    )


def test_a_spec_that_is_not_a_network_is_refused(blobs):
    def edit(schema, files):
        node = _network(_step(schema, 1))["spec"]["content"]["activations"]["content"][0]
        node["content"] = json.dumps("__import__('os')")

    with pytest.raises(ValueError, match=r"activations\[0\] is not an activation's name"):
        check_skops_file(io.BytesIO(edited_skops(blobs["pipeline"], edit)))


def test_arrays_of_other_estimators_are_bounded_in_all(blobs):
    def edit(schema, files):
        files[_step(schema, 0)["content"]["mean_"]["file"]] = _declaring((10**8,))

    blob = edited_skops(blobs["pipeline"], edit)
    with pytest.raises(ValueError) as refused:
        check_skops_file(io.BytesIO(blob))
    assert str(refused.value) == (
        "Refusing the skops file in memory: its arrays declare more than 268,435,456 bytes "
        "in all (steps[0][1].mean_ declares shape (100000000,) of float64); pass a larger "
        "max_array_bytes if you expect them."
    )
    assert check_skops_file(io.BytesIO(blob), max_array_bytes=np.int64(10**9)) > 8 * 10**8


def test_a_schema_larger_than_the_bound_is_refused_unread(blobs, monkeypatch):
    monkeypatch.setattr(sharing, "MAX_SCHEMA_BYTES", 1000)
    with pytest.raises(ValueError, match="its schema.json is larger than 1,000 bytes"):
        check_skops_file(io.BytesIO(blobs["pipeline"]))


@pytest.mark.parametrize(
    "blob, message",
    [
        (b"not a zip", "it is not a zip file"),
        (None, "it holds no schema.json"),
    ],
)
def test_what_is_not_a_skops_file_is_refused(blob, message):
    if blob is None:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("other.json", "{}")
        blob = out.getvalue()
    with pytest.raises(ValueError, match=message):
        check_skops_file(io.BytesIO(blob))


def test_an_array_the_schema_names_but_the_file_lacks_is_refused(blobs):
    def edit(schema, files):
        del files[_step(schema, 0)["content"]["mean_"]["file"]]

    with pytest.raises(ValueError, match="which it does not hold"):
        check_skops_file(io.BytesIO(edited_skops(blobs["pipeline"], edit)))


@pytest.mark.parametrize("bound", [1.5, "big", True])
def test_max_array_bytes_must_be_an_integer(blobs, bound):
    with pytest.raises(TypeError, match="max_array_bytes must be an integer"):
        check_skops_file(io.BytesIO(blobs["pipeline"]), max_array_bytes=bound)
