"""Full-batch L-BFGS: SciPy's L-BFGS-B on TensorFlow's loss and gradient,
following ``MLPRegressor._fit_lbfgs``."""

import numpy as np
from sklearn.utils.optimize import _check_optimize_result

from .._network.inputs import all_rows, engine_inputs, input_signature
from .._quiet.tensorflow import tf
from . import record as rules
from .compiled import BoundedCompiled
from .layout import ParameterLayout
from .settings import Trained
from .xla import compiled_by_xla

_SCIPY_FTOL = 2.220446049250313e-09  # scipy.optimize's L-BFGS-B default


def _full_batch_loss_and_gradient(flat, X, y, w, alpha, *, layout, spec, jit_compile):
    """The full-batch loss of ``MLPRegressor`` and its gradient, for a flat
    vector laid out as scikit-learn's L-BFGS lays it out (a grouped ``layout``),
    compiled by XLA with ``jit_compile`` (dense X only)."""

    def loss_and_gradient(flat, X, y, w, alpha):
        params = layout.split([tf.cast(flat, y.dtype)])
        loss, grads = spec.loss_and_gradients(params, all_rows(X, spec.n_inputs), y, w, alpha)
        (gradient,) = layout.join(grads)
        return tf.cast(loss, tf.float64), tf.cast(gradient, tf.float64)

    if jit_compile:
        loss_and_gradient = compiled_by_xla(loss_and_gradient)
    return loss_and_gradient(flat, X, y, w, alpha)


#: The compiled full-batch loss and gradient, one per network shape.
compiled_full_batch = BoundedCompiled(_full_batch_loss_and_gradient)


def _traced_full_batch(layout, spec, data, jit_compile):
    """The compiled loss and gradient, traced for any number of rows; a trace
    that fails is not kept."""
    function = compiled_full_batch(layout=layout, spec=spec, jit_compile=jit_compile)
    dtype = tf.as_dtype(data.y.dtype)
    try:
        function.get_concrete_function(
            tf.TensorSpec([None], tf.float64),
            input_signature(data.sparse, spec.n_inputs, dtype),
            tf.TensorSpec([None, data.y.shape[1]], dtype),
            tf.TensorSpec([None], dtype),
            tf.TensorSpec([], dtype),
        )
    except BaseException:
        compiled_full_batch.forget(function)
        raise
    return function


def _round_off_of_zero(data):
    """The loss below which a fit is exact: the data's round-off of zero.
    Steps below it only reorder round-off, differently on each CPU's BLAS
    kernels, so no step there counts as an improvement."""
    y, w = np.asarray(data.y, dtype=np.float64), np.asarray(data.w, dtype=np.float64)
    size = np.sum(w[:, None] * y**2) / (np.sum(w) * y.shape[1])
    return np.finfo(data.y.dtype).eps * max(size, 1.0)


#: Why a network of log units diverged, and what to do: said after MLPRegressor's words.
LOG_UNITS_LEFT_THEIR_DOMAIN = (
    "L-BFGS moved a log unit's input to zero or below, where log is not defined. Log "
    "units fit a ratio of two linear forms of one sign, y = p(x) / q(x); data that are "
    "not such a ratio (rounded or noisy inputs, a y of zeros, several outputs) give them "
    "no start to polish. Fit these data with other units (relu, or square units for "
    "products), or give the log units a ratio's data."
)


def train_lbfgs(spec, settings, data, start):
    """Train with full-batch L-BFGS, following ``MLPRegressor._fit_lbfgs``;
    a network of log units that diverges says why (:data:`LOG_UNITS_LEFT_THEIR_DOMAIN`).

    Parameters
    ----------
    spec : NetworkSpec
    settings : TrainingSettings
    data : TrainingData
    start : TrainingStart

    Returns
    -------
    Trained
    """
    try:
        return _train_lbfgs(spec, settings, data, start)
    except ValueError as error:
        if "log" in spec.activations and str(error).startswith(rules.NON_FINITE):
            raise ValueError(f"{rules.NON_FINITE} {LOG_UNITS_LEFT_THEIR_DOMAIN}") from error
        raise


def _train_lbfgs(spec, settings, data, start):
    """:func:`train_lbfgs`'s training: SciPy's L-BFGS-B drives the search, in
    float64 whatever the compute dtype; TensorFlow computes the loss and its
    gradient. It stops after ``max_iter`` iterations or ``max_fun`` loss
    evaluations, when every gradient component is below ``tol``, or at an
    exact fit. The record receives the loss after every iteration,
    ``n_iter`` and ``loss``."""
    import scipy.optimize

    record = start.record
    if record.best_loss is None:  # a warm start after a fit with early stopping
        record.best_loss = np.inf
    dtype = tf.as_dtype(data.y.dtype)
    layout = ParameterLayout([w.shape for w in start.weights], grouped=True)
    # "auto" keeps L-BFGS on the default path (not measured for it).
    function = _traced_full_batch(layout, spec, data, settings.jit_compile is True)
    tensors = [engine_inputs(data.X, dtype), tf.constant(data.y, dtype), tf.constant(data.w, dtype)]
    alpha = tf.constant(settings.alpha, dtype)

    def loss_and_gradient(vector):
        loss, gradient = function(tf.constant(vector), *tensors, alpha)
        return float(loss), gradient.numpy()

    curve = []
    exact = _round_off_of_zero(data)

    def after_iteration(intermediate_result):
        iteration = record.n_iter + len(curve) + 1
        rules.check_finite_loss(intermediate_result.fun, iteration, dtype.name, "iteration")
        curve.append(float(intermediate_result.fun))
        if settings.verbose:
            print(f"Iteration {record.n_iter + len(curve)}, loss = {curve[-1]:.8f}")
        if curve[-1] <= exact:
            raise StopIteration  # an exact fit: nothing is left to improve

    result = scipy.optimize.minimize(
        loss_and_gradient,
        layout.pack(start.weights)[0].astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=after_iteration,
        # SciPy's default ftol is an absolute floor on the improvement once
        # the loss is below 1, too coarse for exact fits: a smaller tol lowers it.
        options={
            "maxfun": settings.max_fun,
            "maxiter": settings.max_iter,
            "gtol": settings.tol,
            "ftol": min(_SCIPY_FTOL, settings.tol),
        },
    )
    iteration = record.n_iter + max(1, len(curve))
    rules.check_finite_loss(result.fun, iteration, dtype.name, "iteration")
    if result.fun <= exact:
        # An exact fit (square units' quadratic start): the search ends at
        # the first iteration that reaches it, or, where its line search can
        # find no lower loss, before any, which SciPy reports as a failure.
        record.n_iter, record.converged = len(curve), True
    else:
        # MLPRegressor's ConvergenceWarning, from scikit-learn's own check.
        record.n_iter = _check_optimize_result("lbfgs", result, settings.max_iter)
        record.converged = result.status == 0
    if record.n_iter == 0:  # the search stopped at its start: one iteration checked it
        record.n_iter = 1
        curve.append(float(result.fun))
    record.loss = float(result.fun)
    record.loss_curve.extend(curve)
    record.best_loss = min(record.best_loss, record.loss)
    record.t += data.n_samples * record.n_iter
    if settings.verbose and not result.success and not record.converged:
        print(f"L-BFGS stopped: {result.message}")
    weights = [a.astype(data.y.dtype) for a in layout.unpack([result.x])]
    rules.check_finite_weights(weights, stochastic=False)
    return Trained(record, weights)
