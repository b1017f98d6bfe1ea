"""The fitted network as plain data: what a pickle or a skops file of the estimator holds.

A fitted estimator's state keeps no Keras object. The network is the plain
fields of its :class:`~sklearn_fitfn._network.spec.NetworkSpec` (input and
output widths, hidden layer sizes, activation names, dtype, output
activation); its weights, the compiled engine's optimizer state and the
Keras optimizer's variables are NumPy arrays; the training record is a dict
of numbers and lists. Loading rebuilds the Keras model from the spec and the
weights, so nothing in a file decides what code runs: Keras's own
unpickling (``safe_mode=False``) is never reached.

Everything is validated on the way in, so that what loads is what ``fit``
could have produced for the estimator's parameters: the state's fields (the
parameters and the fitted attributes ``fit`` sets, nothing else), the format
version, every spec field against
:data:`~sklearn_fitfn._network.activations.ACTIVATIONS` and the dtypes, the
spec against the network the parameters make (layers, activations, dtype,
output, inputs), every array's shape, dtype and finiteness against the spec,
the optimizer state against Adam's or SGD's layout, every record field's
type. A file that fails is refused with a ValueError naming the field.
"""

import dataclasses
import math
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np

from .._network.activations import ACTIVATIONS
from .._network.spec import DTYPES, NetworkSpec, dense_weights
from .optimizers import OPTIMIZERS
from .record import TrainingRecord

#: The version of the layout below; a file of any other is refused.
FORMAT = 1

#: The key of the network's data in the estimator's state.
KEY = "_fitted_network"

#: What a fitted estimator's state holds besides its parameters.
FITTED_FIELDS = frozenset({KEY, "n_features_in_", "feature_names_in_", "history_"})

_OUT_ACTIVATIONS = ("identity", "exp")
_KERAS_NAMES = frozenset(row.keras for row in ACTIVATIONS.values())


class Restored(NamedTuple):
    """What :func:`from_data` gives back, ready for the estimator's attributes."""

    spec: NetworkSpec
    model: object
    record: TrainingRecord
    optimizer_state: list | None
    keras_optimizer_state: list | None


def _arrays(values):
    return None if values is None else [np.array(value) for value in values]


def as_data(spec, model, record, optimizer_state, keras_optimizer_state=None):
    """The fitted network as a dict of plain values and NumPy arrays.

    Parameters
    ----------
    spec : NetworkSpec
    model : keras.Model
        Its Dense layers' weights are saved; a compiled model's optimizer
        variables too, unless ``keras_optimizer_state`` is given.
    record : TrainingRecord
    optimizer_state : list of ndarray or None
        The compiled engine's.
    keras_optimizer_state : list of ndarray or None
        A Keras optimizer's variables not held by ``model`` (a model loaded
        from a file is not compiled, and keeps them aside until it trains).

    Returns
    -------
    dict
    """
    if keras_optimizer_state is None and model.compiled and model.optimizer.built:
        keras_optimizer_state = [v.numpy() for v in model.optimizer.variables]
    fields = dataclasses.asdict(record)
    fields["best_weights"] = _arrays(record.best_weights)
    return {
        "format": FORMAT,
        "spec": {
            "n_inputs": spec.n_inputs,
            "hidden_layer_sizes": list(spec.hidden_layer_sizes),
            "activations": list(spec.activations),
            "n_outputs": spec.n_outputs,
            "dtype": spec.dtype,
            "out_activation": spec.out_activation,
        },
        "weights": dense_weights(model),
        "optimizer_state": _arrays(optimizer_state),
        "keras_optimizer_state": _arrays(keras_optimizer_state),
        "record": fields,
    }


def _refuse(field, problem):
    raise ValueError(f"Cannot load the fitted network: {field} {problem}.")


def _integer(value, field, low=1):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
        _refuse(field, f"must be an integer of at least {low}; got {value!r}")
    return int(value)


def _number(value, field, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, Real) or isinstance(value, bool):
        _refuse(field, f"must be a number; got {value!r}")
    return float(value)


def _numbers(values, field, optional=False):
    if values is None and optional:
        return None
    if not isinstance(values, list | tuple):
        _refuse(field, f"must be a list of numbers; got {type(values).__name__}")
    return [_number(value, f"{field}[{i}]") for i, value in enumerate(values)]


def _spec(fields):
    if not isinstance(fields, dict):
        _refuse("spec", f"must be a dict; got {type(fields).__name__}")
    expected = set(NetworkSpec._fields)
    if set(fields) != expected:
        _refuse("spec", f"must have the fields {sorted(expected)}; got {sorted(fields)}")
    sizes = fields["hidden_layer_sizes"]
    if not isinstance(sizes, list | tuple):
        _refuse("spec.hidden_layer_sizes", f"must be a list; got {sizes!r}")
    activations = fields["activations"]
    if not isinstance(activations, list | tuple) or len(activations) != len(sizes):
        _refuse("spec.activations", f"must be one name per hidden layer; got {activations!r}")
    for i, name in enumerate(activations):
        if not isinstance(name, str) or name not in _KERAS_NAMES:
            _refuse(f"spec.activations[{i}]", f"is not an activation's name: {name!r}")
    if fields["dtype"] not in DTYPES:
        _refuse("spec.dtype", f"must be one of {DTYPES}; got {fields['dtype']!r}")
    if fields["out_activation"] not in _OUT_ACTIVATIONS:
        _refuse(
            "spec.out_activation",
            f"must be one of {_OUT_ACTIVATIONS}; got {fields['out_activation']!r}",
        )
    return NetworkSpec(
        _integer(fields["n_inputs"], "spec.n_inputs"),
        tuple(_integer(s, f"spec.hidden_layer_sizes[{i}]") for i, s in enumerate(sizes)),
        tuple(activations),
        _integer(fields["n_outputs"], "spec.n_outputs"),
        fields["dtype"],
        fields["out_activation"],
    )


def _weight_shapes(spec):
    units = spec.layer_units
    shapes = []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        shapes += [(fan_in, fan_out), (fan_out,)]
    return shapes


def _checked_arrays(values, field, shapes, dtype):
    """``values`` as arrays of ``dtype`` with ``shapes`` in order, or refused."""
    if not isinstance(values, list | tuple) or len(values) != len(shapes):
        _refuse(field, f"must be a list of {len(shapes)} arrays")
    for i, (value, shape) in enumerate(zip(values, shapes)):
        if not isinstance(value, np.ndarray):
            _refuse(f"{field}[{i}]", f"must be a NumPy array; got {type(value).__name__}")
        _check_layout(value, f"{field}[{i}]", shape, dtype)
        if not np.isfinite(value).all():
            _refuse(f"{field}[{i}]", "must be finite (fit never keeps NaN or infinite values)")
    return list(values)


def _check_layout(value, field, shape, dtype):
    """Refuse an array, or an array's declaration, not of ``shape`` and ``dtype``."""
    if tuple(value.shape) != tuple(shape) or np.dtype(value.dtype) != np.dtype(dtype):
        _refuse(
            field,
            f"must be {dtype} of shape {tuple(shape)}; got {np.dtype(value.dtype)} of shape "
            f"{tuple(value.shape)}",
        )


def _optimizer_state(values, spec):
    """The engine's state, Adam's or SGD's: per-array slots in the weights'
    order, then scalars."""
    if values is None:
        return None
    if not isinstance(values, list | tuple):
        _refuse("optimizer_state", "must be a list of arrays")
    expected = _optimizer_layout(len(values), spec)
    return _checked_arrays(values, "optimizer_state", expected, spec.dtype)


def _optimizer_layout(n_arrays, spec):
    """The shapes of the engine's optimizer state of ``n_arrays`` arrays:
    the layout of the solver that keeps that many, or refused."""
    shapes = _weight_shapes(spec)
    for solver in OPTIMIZERS.values():
        expected = shapes * solver.per_array_slots + [()] * solver.scalar_slots
        if n_arrays == len(expected):
            return expected
    layouts = ", ".join(
        f"{name}'s {solver.per_array_slots} per weight and {solver.scalar_slots} scalars"
        for name, solver in OPTIMIZERS.items()
    )
    _refuse("optimizer_state", f"must hold {layouts}; got {n_arrays} arrays")


def _keras_optimizer_state(values):
    if values is None:
        return None
    if not isinstance(values, list | tuple):
        _refuse("keras_optimizer_state", "must be a list of arrays")
    for i, value in enumerate(values):
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
            _refuse(f"keras_optimizer_state[{i}]", "must be a numeric NumPy array")
        if not np.isfinite(value).all():
            _refuse(f"keras_optimizer_state[{i}]", "must be finite")
    return list(values)


def _record(fields, spec):
    if not isinstance(fields, dict):
        _refuse("record", f"must be a dict; got {type(fields).__name__}")
    expected = {field.name for field in dataclasses.fields(TrainingRecord)}
    if set(fields) != expected:
        _refuse("record", f"must have the fields {sorted(expected)}; got {sorted(fields)}")
    best_weights = fields["best_weights"]
    if best_weights is not None:
        best_weights = _checked_arrays(
            best_weights, "record.best_weights", _weight_shapes(spec), spec.dtype
        )
    converged = fields["converged"]
    if converged not in (None, True, False):
        _refuse("record.converged", f"must be True, False or None; got {converged!r}")
    return TrainingRecord(
        loss_curve=_numbers(fields["loss_curve"], "record.loss_curve"),
        best_loss=_number(fields["best_loss"], "record.best_loss", optional=True),
        validation_scores=_numbers(
            fields["validation_scores"], "record.validation_scores", optional=True
        ),
        best_validation_score=_number(
            fields["best_validation_score"], "record.best_validation_score", optional=True
        ),
        best_weights=best_weights,
        no_improvement_count=_integer(
            fields["no_improvement_count"], "record.no_improvement_count", low=0
        ),
        n_iter=_integer(fields["n_iter"], "record.n_iter", low=0),
        t=_integer(fields["t"], "record.t", low=0),
        loss=_number(fields["loss"], "record.loss", optional=True),
        converged=None if converged is None else bool(converged),
    )


def check_history(history):
    """Refuse a loaded ``history_`` that is not Keras's per-epoch numbers."""
    if not isinstance(history, dict) or not all(
        isinstance(key, str)
        and isinstance(values, list)
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in values)
        for key, values in history.items()
    ):
        _refuse("history_", "must map metric names to lists of numbers")


def from_data(data):
    """Validate :func:`as_data`'s dict and rebuild the network from it.

    Parameters
    ----------
    data : dict

    Returns
    -------
    Restored
        With a new Keras model (not compiled) holding the saved weights.

    Raises
    ------
    ValueError
        Naming the first field that is missing, of the wrong type, shape or
        dtype, or of another format version.
    """
    if not isinstance(data, dict):
        _refuse("the network's data", f"must be a dict; got {type(data).__name__}")
    expected = {"format", "spec", "weights", "optimizer_state", "keras_optimizer_state", "record"}
    if set(data) != expected:
        problem = f"must have the fields {sorted(expected)}; got {sorted(data)}"
        _refuse("the network's data", problem)
    if data["format"] != FORMAT:
        _refuse("format", f"must be {FORMAT} (this version's); got {data['format']!r}")
    spec = _spec(data["spec"])
    weights = _checked_arrays(data["weights"], "weights", _weight_shapes(spec), spec.dtype)
    return Restored(
        spec,
        spec.keras_model(weights),
        _record(data["record"], spec),
        _optimizer_state(data["optimizer_state"], spec),
        _keras_optimizer_state(data["keras_optimizer_state"]),
    )


class Declared(NamedTuple):
    """An array as a file declares it, before any of its values are read."""

    shape: tuple
    dtype: np.dtype


def check_declared(data):
    """Refuse :func:`as_data`'s dict, its arrays given as :class:`Declared`,
    when an array's declared shape or dtype is not what its spec gives it.

    What :func:`from_data` checks of the arrays' layout, checked on their
    declarations alone, so that a file's arrays can be refused before they
    are read. A Keras optimizer's variables, whose layout is the optimizer's,
    may each hold no more values than the network's largest weight.

    Parameters
    ----------
    data : dict

    Raises
    ------
    ValueError
        Naming the first field whose declaration is refused.
    """
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
        _refuse("the network's data", "must be a dict holding the spec")
    spec = _spec(data["spec"])
    shapes = _weight_shapes(spec)
    record = data.get("record")
    best_weights = record.get("best_weights") if isinstance(record, dict) else None
    optimizer_state = data.get("optimizer_state")
    if not isinstance(optimizer_state, list | tuple):
        optimizer_state = []
    optimizer_layout = _optimizer_layout(len(optimizer_state), spec) if optimizer_state else []
    for field, values, expected in (
        ("weights", data.get("weights"), shapes),
        ("record.best_weights", best_weights, shapes),
        ("optimizer_state", optimizer_state, optimizer_layout),
    ):
        if not isinstance(values, list | tuple):
            continue  # not arrays: from_data refuses it, once skops has built it
        if len(values) != len(expected):
            _refuse(field, f"must be a list of {len(expected)} arrays")
        for i, (value, shape) in enumerate(zip(values, expected)):
            if isinstance(value, Declared):
                _check_layout(value, f"{field}[{i}]", shape, spec.dtype)
    largest = max(math.prod(shape) for shape in shapes)
    keras_state = data.get("keras_optimizer_state")
    for i, value in enumerate(keras_state if isinstance(keras_state, list | tuple) else []):
        if isinstance(value, Declared) and math.prod(value.shape) > largest:
            _refuse(
                f"keras_optimizer_state[{i}]",
                f"may hold at most {largest} values, the network's largest weight; "
                f"declares shape {tuple(value.shape)}",
            )


def check_fields(state, parameters):
    """Refuse a state holding a field that is neither a parameter nor one
    of the fitted attributes ``fit`` sets (a field named ``predict`` would
    hide the method)."""
    unknown = set(state) - set(parameters) - FITTED_FIELDS
    if unknown:
        _refuse("the state", f"holds fields fit never sets: {sorted(unknown)}")


def check_against_parameters(spec, parameters, n_features_in, owner):
    """Refuse a network that ``fit`` would not make for these parameters.

    Parameters
    ----------
    spec : NetworkSpec
        The loaded network's.
    parameters : dict
        The estimator's parameters, as loaded.
    n_features_in : int or None
        The loaded ``n_features_in_``.
    owner : str
        The estimator's class name.
    """
    if n_features_in != spec.n_inputs:
        _refuse(
            "n_features_in_", f"must be the network's {spec.n_inputs} inputs; got {n_features_in!r}"
        )
    dtype = parameters.get("dtype")
    if dtype is not None and dtype != spec.dtype:
        _refuse("spec.dtype", f"is {spec.dtype!r}, where the parameter dtype is {dtype!r}")
    poisson = isinstance(parameters.get("loss"), str) and parameters["loss"] == "poisson"
    try:
        expected = NetworkSpec.from_params(
            parameters.get("hidden_layer_sizes"),
            parameters.get("activation"),
            spec.dtype,
            spec.n_inputs,
            spec.n_outputs,
            out_activation="exp" if poisson else "identity",
            owner=owner,
        )
    except (ValueError, TypeError) as error:
        _refuse("the parameters", f"make no network: {error}")
    for field, have, made in zip(NetworkSpec._fields, spec, expected):
        if have != made:
            _refuse(
                f"spec.{field}",
                f"is {have!r}, where the estimator's parameters make {made!r} (set the "
                "parameters the network was fitted with, or fit again, before saving)",
            )
