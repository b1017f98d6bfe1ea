"""A fitted estimator as an ONNX graph, for serving without TensorFlow.

:func:`to_onnx` converts a fitted :class:`~sklearn_fitfn.MLPFunctionRegressor`,
or a Pipeline or TransformedTargetRegressor around one, with skl2onnx. It
registers converters with skl2onnx for the estimator and for
TransformedTargetRegressor (which skl2onnx does not convert), so scikit-learn's
scalers and the other steps skl2onnx knows convert with it.

The graph is the network itself: for each layer a ``MatMul`` and an ``Add``
of its weights, then the layer's activation built from ONNX operators that
onnxruntime runs in float32 and float64 alike, and
an ``Exp`` output for ``loss="poisson"``. It computes in the network's dtype
(an input of another dtype is cast first), so onnxruntime's predictions match
``predict`` to float rounding.

Needs the ``onnx`` extra: ``pip install "sklearn_fitfn[onnx]"`` (skl2onnx,
onnx and onnxruntime).
"""

import numpy as np

__all__ = ["to_onnx"]

_SQRT_HALF = np.sqrt(0.5)
# Keras's selu constants (keras.activations.selu).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class _Graph:
    """Adds nodes and constants of one dtype to skl2onnx's container."""

    def __init__(self, scope, container, dtype):
        from onnx import TensorProto

        self.scope, self.container = scope, container
        self.dtype = np.dtype(dtype)
        self.proto = TensorProto.DOUBLE if self.dtype == np.float64 else TensorProto.FLOAT

    def constant(self, value, hint="c"):
        value = np.asarray(value, self.dtype)
        name = self.scope.get_unique_variable_name(hint)
        self.container.add_initializer(name, self.proto, list(value.shape), value.ravel().tolist())
        return name

    def node(self, op, *inputs, output=None, **attrs):
        output = output or self.scope.get_unique_variable_name(op.lower())
        name = self.scope.get_unique_operator_name(op)
        self.container.add_node(op, list(inputs), [output], name=name, **attrs)
        return output


def _elu(g, z):
    # relu(z) + exp(min(z, 0)) - 1: ELU from operators onnxruntime runs in float64.
    return g.node("Add", g.node("Relu", z), _expm1_of_negative_part(g, z))


def _expm1_of_negative_part(g, z):
    return g.node("Sub", g.node("Exp", g.node("Min", z, g.constant(0.0))), g.constant(1.0))


def _selu(g, z):
    scaled = g.node("Mul", _expm1_of_negative_part(g, z), g.constant(_SELU_ALPHA))
    return g.node("Mul", g.node("Add", g.node("Relu", z), scaled), g.constant(_SELU_SCALE))


def _softplus(g, z):
    # relu(z) + log(1 + exp(-|z|)): softplus without overflow, as TensorFlow computes it.
    tail = g.node("Exp", g.node("Neg", g.node("Abs", z)))
    return g.node("Add", g.node("Relu", z), g.node("Log", g.node("Add", tail, g.constant(1.0))))


def _gelu(g, z):
    if g.dtype == np.float64:
        raise ValueError(
            "Cannot convert activation 'gelu' in float64: onnxruntime has no float64 Erf. "
            "Train with dtype='float32', or choose another activation."
        )
    erf = g.node("Erf", g.node("Mul", z, g.constant(_SQRT_HALF)))
    half = g.node("Mul", z, g.constant(0.5))
    return g.node("Mul", half, g.node("Add", erf, g.constant(1.0)))


#: How each hidden activation (by its Keras name, as in
#: :data:`sklearn_fitfn._network.activations.ACTIVATIONS`) is written in ONNX.
_ACTIVATION_GRAPHS = {
    "linear": lambda g, z: z,
    "relu": lambda g, z: g.node("Relu", z),
    "tanh": lambda g, z: g.node("Tanh", z),
    "sigmoid": lambda g, z: g.node("Sigmoid", z),
    "elu": _elu,
    "selu": _selu,
    "gelu": _gelu,
    "silu": lambda g, z: g.node("Mul", z, g.node("Sigmoid", z)),
    "softplus": _softplus,
    "exponential": lambda g, z: g.node("Exp", z),
    "square": lambda g, z: g.node("Mul", z, z),
    "log": lambda g, z: g.node("Log", z),
}


def _network_dtype(estimator):
    return np.dtype(estimator._spec.dtype)


def _tensor_type(dtype, shape):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    return (DoubleTensorType if dtype == np.float64 else FloatTensorType)(shape)


def _network_shape(operator):
    estimator = operator.raw_operator
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _tensor_type(
        _network_dtype(estimator), [n_rows, estimator.n_outputs_]
    )


def _convert_network(scope, operator, container):
    estimator = operator.raw_operator
    spec = estimator._spec
    g = _Graph(scope, container, spec.dtype)
    hidden = operator.inputs[0].full_name
    if operator.inputs[0].type.to_onnx_type().tensor_type.elem_type != g.proto:
        hidden = g.node("Cast", hidden, to=g.proto)
    kernels, biases = estimator.coefs_, estimator.intercepts_
    for layer, (kernel, bias) in enumerate(zip(kernels, biases)):
        z = g.node("Add", g.node("MatMul", hidden, g.constant(kernel, "kernel")), g.constant(bias))
        if layer < len(spec.activations):
            hidden = _ACTIVATION_GRAPHS[spec.activations[layer]](g, z)
        else:
            hidden = z
    output = operator.outputs[0].full_name
    if spec.out_activation == "exp":
        g.node("Exp", hidden, output=output)
    else:
        g.node("Identity", hidden, output=output)


def _fitted_network(regressor):
    """The MLPFunctionRegressor that ``regressor`` ends with."""
    from . import MLPFunctionRegressor

    last = regressor.steps[-1][1] if hasattr(regressor, "steps") else regressor
    if not isinstance(last, MLPFunctionRegressor):
        raise ValueError(
            "to_onnx converts a TransformedTargetRegressor whose regressor is an "
            f"MLPFunctionRegressor or a Pipeline ending with one; got {type(last).__name__}."
        )
    return last


def _target_affine(ttr):
    """y = prediction * scale + offset: what the target transformer undoes."""
    from sklearn.preprocessing import StandardScaler

    transformer = ttr.transformer_
    if isinstance(transformer, StandardScaler):
        # As its inverse_transform: mean_ is set even with with_mean=False,
        # and only with_mean says whether it was subtracted.
        used_scale = transformer.with_std and transformer.scale_ is not None
        used_mean = transformer.with_mean and transformer.mean_ is not None
        scale = transformer.scale_ if used_scale else 1.0
        offset = transformer.mean_ if used_mean else 0.0
        return np.asarray(scale, float), np.asarray(offset, float)
    if ttr.func is None and ttr.inverse_func is None and ttr.transformer is None:
        return np.ones(1), np.zeros(1)
    raise ValueError(
        "to_onnx converts a TransformedTargetRegressor whose transformer is a "
        f"StandardScaler (or none); got {type(transformer).__name__}."
    )


def _target_shape(operator):
    ttr = operator.raw_operator
    network = _fitted_network(ttr.regressor_)
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _tensor_type(_network_dtype(network), [n_rows, network.n_outputs_])


def _convert_target(scope, operator, container):
    from onnx import TensorProto
    from skl2onnx.algebra.onnx_operator import OnnxSubEstimator
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxCast, OnnxMul

    ttr = operator.raw_operator
    dtype = _network_dtype(_fitted_network(ttr.regressor_))
    scale, offset = _target_affine(ttr)
    version = container.target_opset
    predicted = OnnxSubEstimator(ttr.regressor_, operator.inputs[0], op_version=version)
    # A pipeline's steps before the network may compute in X's dtype: the
    # network's output is cast to its own dtype, which the graph declares.
    proto = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    predicted = OnnxCast(predicted, to=proto, op_version=version)
    restored = OnnxAdd(
        OnnxMul(predicted, scale.astype(dtype), op_version=version),
        offset.astype(dtype),
        op_version=version,
        output_names=operator.outputs[:1],
    )
    restored.add_to(scope, container)


def _register():
    from skl2onnx import update_registered_converter
    from sklearn.compose import TransformedTargetRegressor

    from . import MLPFunctionRegressor

    update_registered_converter(
        MLPFunctionRegressor, "SklearnFitfnMLPFunctionRegressor", _network_shape, _convert_network
    )
    update_registered_converter(
        TransformedTargetRegressor,
        "SklearnFitfnTransformedTargetRegressor",
        _target_shape,
        _convert_target,
    )


#: The oldest ONNX opset ``to_onnx`` writes: onnxruntime runs none older for
#: these graphs (measured: opsets 1 to 6 fail with NOT_IMPLEMENTED, 7 runs;
#: onnxruntime guarantees opset 7 and above).
MIN_OPSET = 7


def _check_activations(model):
    """Refuse, before converting, a network with an activation ONNX cannot hold."""
    for network in _networks(model):
        for name in network._spec.activations:
            if name not in _ACTIVATION_GRAPHS:
                raise ValueError(f"Cannot convert activation {name!r} to ONNX.")


def _networks(model):
    """The fitted MLPFunctionRegressors in ``model``: itself, a Pipeline's
    steps, a TransformedTargetRegressor's fitted regressor."""
    from sklearn.utils.validation import check_is_fitted

    from . import MLPFunctionRegressor

    if isinstance(model, MLPFunctionRegressor):
        check_is_fitted(model)
        return [model]
    if hasattr(model, "steps"):
        return [network for _, step in model.steps for network in _networks(step)]
    if hasattr(model, "regressor_"):
        return _networks(model.regressor_)
    return []


def to_onnx(model, X, *, target_opset=None, **kwargs):
    """Convert a fitted model to ONNX with skl2onnx.

    Parameters
    ----------
    model : estimator
        A fitted MLPFunctionRegressor, or a Pipeline or TransformedTargetRegressor
        (with a StandardScaler or no target transformer) around one, with any
        steps skl2onnx converts.
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Rows like those the model predicts; their dtype and width set the
        graph's input (the first rows suffice). The graph takes dense rows:
        a sparse X's first row is densified for it.
    target_opset : int, optional
        ONNX opset, at least :data:`MIN_OPSET`; skl2onnx's default when None.
    **kwargs
        Passed to :func:`skl2onnx.to_onnx`.

    Returns
    -------
    onnx.ModelProto
        Its input is named ``"X"``; its one output holds the predictions, of
        shape (n_samples, n_outputs), in the network's dtype.

    Raises
    ------
    ValueError
        For an activation or a target transformer it cannot convert, named;
        for rows of another width than the model was fitted on; for an opset
        older than :data:`MIN_OPSET`.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from sklearn_fitfn import MLPFunctionRegressor
    >>> from sklearn_fitfn.onnx import to_onnx
    >>> X = np.random.default_rng(0).uniform(-1, 1, size=(50, 2))
    >>> net = MLPFunctionRegressor(hidden_layer_sizes=(8,), max_iter=20,
    ...                            random_state=0).fit(X, X[:, 0] * X[:, 1])
    >>> session = ort.InferenceSession(to_onnx(net, X).SerializeToString())
    >>> served = session.run(None, {"X": X})[0].ravel()
    >>> bool(np.allclose(served, net.predict(X), rtol=1e-9, atol=0))
    True
    """
    import scipy.sparse
    import skl2onnx

    _check_activations(model)
    if target_opset is not None and target_opset < MIN_OPSET:
        raise ValueError(
            f"target_opset={target_opset} is older than opset {MIN_OPSET}, the oldest whose "
            "graphs onnxruntime runs (it refuses this model's operators below it)."
        )
    rows = X[:1].toarray() if scipy.sparse.issparse(X) else np.asarray(X)[:1]
    if rows.ndim != 2:
        raise ValueError(f"X must be 2-D rows of inputs; got an array of shape {rows.shape}.")
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and rows.shape[1] != expected:
        raise ValueError(
            f"X has {rows.shape[1]} columns, but {type(model).__name__} was fitted on "
            f"{expected}: the graph's input would not take the rows it predicts."
        )
    _register()
    return skl2onnx.to_onnx(model, rows, target_opset=target_opset, **kwargs)
