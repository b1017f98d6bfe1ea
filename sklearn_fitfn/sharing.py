"""Checking a skops file before loading it.

skops's ``load`` and ``get_untrusted_types`` build no type you have not
trusted and run no code from a file, but they read all of it: a schema or
an array declared far larger than it is stored (a zip member deflates
about 1,000 to 1) is decompressed in full before anything can refuse it.
:func:`check_skops_file` reads only what the file declares (the schema, up
to a bound, and each array's header) and refuses, before anything large is
read, an array of an ``MLPFunctionRegressor`` that its network does not
give it, and a file whose arrays declare more than a bound in all.
"""

import json
import math
import os
import zipfile

import numpy as np

from ._training import fitted_state

__all__ = ["check_skops_file", "MAX_SCHEMA_BYTES", "MAX_ARRAY_BYTES"]

#: The largest schema read: a fitted pipeline's is tens of kilobytes.
MAX_SCHEMA_BYTES = 16 * 2**20

#: The most bytes a file's arrays may declare in all, by default.
MAX_ARRAY_BYTES = 256 * 2**20

_ESTIMATOR = ("sklearn_fitfn._regressor", "MLPFunctionRegressor")


class _Opaque:
    """A schema node that is neither plain data nor an array."""


def _refuse(file, problem):
    raise ValueError(f"Refusing the skops file {file}: {problem}.")


def _schema(archive, file):
    try:
        with archive.open("schema.json") as stream:
            text = stream.read(MAX_SCHEMA_BYTES + 1)
    except KeyError:
        _refuse(file, "it holds no schema.json")
    if len(text) > MAX_SCHEMA_BYTES:
        _refuse(file, f"its schema.json is larger than {MAX_SCHEMA_BYTES:,} bytes")
    try:
        schema = json.loads(text)
    except (ValueError, RecursionError) as error:
        _refuse(file, f"its schema.json is not JSON ({error})")
    if not isinstance(schema, dict):
        _refuse(file, "its schema.json is not a skops schema")
    return schema


def _declared(archive, member, file):
    """The shape and dtype a ``.npy`` member declares, read from its header alone."""
    try:
        with archive.open(member) as stream:
            version = np.lib.format.read_magic(stream)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise ValueError(f"unknown .npy version {version}")
            shape, _, dtype = read_header(stream)
    except KeyError:
        _refuse(file, f"its schema names {member!r}, which it does not hold")
    except ValueError as error:
        _refuse(file, f"{member!r} is not a NumPy array file ({error})")
    return fitted_state.Declared(tuple(shape), np.dtype(dtype))


class _Walk:
    """The schema's arrays, each read as declared, and the fitted networks."""

    def __init__(self, archive, file):
        self.archive, self.file = archive, file
        self.arrays = []  # (path, Declared)
        self.networks = []  # (path, the network's data with its arrays Declared)

    def node(self, node, path):
        if isinstance(node, list):
            for i, item in enumerate(node):
                self.node(item, f"{path}[{i}]")
            return
        if not isinstance(node, dict):
            return
        if node.get("__loader__") == "NdArrayNode" and isinstance(node.get("file"), str):
            self.arrays.append((path, _declared(self.archive, node["file"], self.file)))
            return
        if (node.get("__module__"), node.get("__class__")) == _ESTIMATOR:
            state = self.plain(node.get("content"))
            if isinstance(state, dict) and fitted_state.KEY in state:
                self.networks.append((path, state[fitted_state.KEY]))
        for key, value in node.items():
            if "__loader__" in node:  # a node: its content, key types, ... stand at its path
                self.node(value, path)
            else:  # a mapping of names to nodes
                self.node(value, f"{path}.{key}" if path else str(key))

    def plain(self, node):
        """A schema node as the plain values it stands for, arrays as declared."""
        if not isinstance(node, dict):
            return _Opaque()
        loader, content = node.get("__loader__"), node.get("content")
        if loader == "JsonNode" and isinstance(content, str):
            try:
                return json.loads(content) if node.get("is_json") else content
            except (ValueError, RecursionError):
                return _Opaque()
        if loader in ("ListNode", "TupleNode") and isinstance(content, list):
            return [self.plain(item) for item in content]
        if loader == "DictNode" and isinstance(content, dict):
            return {key: self.plain(value) for key, value in content.items()}
        if loader == "NdArrayNode" and isinstance(node.get("file"), str):
            return _declared(self.archive, node["file"], self.file)
        return _Opaque()


def check_skops_file(file, *, max_array_bytes=MAX_ARRAY_BYTES):
    """Refuse a skops file whose declared sizes do not fit what it claims to
    hold, reading only its schema and its arrays' headers.

    Call it before ``skops.io.get_untrusted_types`` and ``skops.io.load`` on
    a file you were sent: both of those decompress every array the file
    holds before anything checks its shape. This check refuses

    - a schema larger than :data:`MAX_SCHEMA_BYTES`, or not skops's JSON;
    - an ``MLPFunctionRegressor`` whose arrays (weights, optimizer state,
      best weights) are declared with another shape or dtype than its
      network gives them, or whose network's fields are not a network's;
    - arrays that declare more than ``max_array_bytes`` in all (those of
      scikit-learn's own estimators in a pipeline included).

    What it passes, ``skops.io.load`` still checks in full when it builds
    the estimator.

    Parameters
    ----------
    file : str or path-like or file-like
        The ``.skops`` file.
    max_array_bytes : int, default=MAX_ARRAY_BYTES
        The most bytes the file's arrays may declare in all.

    Returns
    -------
    int
        The bytes the file's arrays declare in all.

    Raises
    ------
    ValueError
        Naming the file and what it declares that is refused.
    """
    if isinstance(max_array_bytes, bool) or not isinstance(max_array_bytes, int | np.integer):
        raise TypeError(f"max_array_bytes must be an integer; got {max_array_bytes!r}")
    name = os.fspath(file) if isinstance(file, str | os.PathLike) else getattr(file, "name", None)
    name = "in memory" if name is None else repr(str(name))
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError) as error:
        _refuse(name, f"it is not a zip file ({error})")
    with archive:
        walk = _Walk(archive, name)
        walk.node(_schema(archive, name), "")
        for path, network in walk.networks:
            try:
                fitted_state.check_declared(network)
            except ValueError as error:
                _refuse(name, f"{path or 'the estimator'}: {str(error).rstrip('.')}")
        total = 0
        for path, declared in walk.arrays:
            total += math.prod(declared.shape) * declared.dtype.itemsize
            if total > max_array_bytes:
                _refuse(
                    name,
                    f"its arrays declare more than {max_array_bytes:,} bytes in all "
                    f"({path or 'an array'} declares shape {declared.shape} of "
                    f"{declared.dtype}); pass a larger max_array_bytes if you expect them",
                )
    return total
