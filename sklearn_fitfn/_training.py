"""The training loop: compiled epochs, scikit-learn's stopping rules, the loss curve.

One call of the compiled epoch runs every mini-batch of an epoch inside a
single TensorFlow graph (a ``tf.while_loop`` over slices of a permutation), so
the per-batch cost is a few graph ops instead of a Keras ``fit`` round trip.
Everything around it (shuffling, the loss curve, early stopping, the learning
rate schedule) follows scikit-learn's ``MLPRegressor`` step by step and
draws from the same ``RandomState`` in the same order.
"""

import concurrent.futures
import contextlib
import dataclasses
import functools
import time
import warnings

import numpy as np
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.optimize import _check_optimize_result

from ._compiled import BoundedCompiled, size_free_variable
from ._data import all_rows, empty_inputs, engine_inputs, gather_rows, input_signature
from ._executor import executor, runs_inline
from ._interrupt import catch_interruption
from ._layout import ParameterLayout
from ._optimizers import OPTIMIZERS
from ._quiet import tf


@dataclasses.dataclass
class TrainingRecord:
    """What training has seen so far; it carries over to warm starts and partial fits."""

    loss_curve: list
    best_loss: float | None
    validation_scores: list | None
    best_validation_score: float | None
    best_weights: list | None = None
    no_improvement_count: int = 0
    n_iter: int = 0
    t: int = 0
    loss: float | None = None
    keras_penalty: float | None = None  # the L2 strength traced into a Keras train step
    converged: bool | None = None  # the last fit stopped by its rule, without a ConvergenceWarning

    @classmethod
    def start(cls, early_stopping):
        """A fresh record, shaped as MLPRegressor shapes it for ``early_stopping``."""
        if early_stopping:
            return cls([], None, [], -np.inf)
        return cls([], np.inf, None, None)


def validation_r2(predicted, y, w, total):
    """The validation score of MLPRegressor's early stopping, as a tensor.

    R² averaged over outputs, as ``sklearn.metrics.r2_score`` with weights (a
    constant target scores 1 when predicted exactly, else 0), from the
    predictions, the 2-D targets, the weights and :func:`total_sum_of_squares`;
    NaN when a prediction is NaN or infinite, as MLPRegressor scores a
    diverged network.
    """
    sse = tf.reduce_sum(w[:, None] * tf.square(y - predicted), axis=0)
    has_spread = total > 0
    ratio = sse / tf.where(has_spread, total, tf.ones_like(total))
    exact = tf.cast(tf.equal(sse, 0), sse.dtype)
    score = tf.reduce_mean(tf.where(has_spread, 1 - ratio, exact))
    finite = tf.reduce_all(tf.math.is_finite(predicted))
    return tf.where(finite, score, tf.constant(np.nan, score.dtype))


def total_sum_of_squares(y, w):
    """Weighted sum of squares of each output of ``y`` about its weighted mean."""
    mean = np.average(y, axis=0, weights=w)
    return (w[:, None] * (y - mean) ** 2).sum(axis=0)


def _run_epochs(
    params,
    slots,
    hypers,
    alpha,
    X,
    y,
    w,
    orders,
    n_rows,
    batch_size,
    X_val,
    y_val,
    w_val,
    val_total,
    best_score,
    stop,
    *,
    kind,
    nesterov,
    spec,
    layout,
    validate,
    inline,
    jit_compile,
):
    """Train one epoch per row of ``orders``, or until ``stop`` becomes true.

    Each row of ``orders`` starts with a permutation of the ``n_rows`` rows to
    train on. ``params`` holds the network's parameters as ``layout`` groups
    them, and so do the best weights returned.
    ``X`` and ``X_val`` are as :func:`._data.engine_inputs` gives them (dense
    or sparse). ``hypers[e]`` holds the optimizer's hyperparameters for epoch
    ``e`` (the learning rate may change between epochs). Returns the epochs'
    mean losses; with ``validate``, also each epoch's validation R², the best
    R² seen (starting from ``best_score``) and the weights that reached it
    (the starting weights when no epoch beat ``best_score``). ``stop`` is
    read before every mini-batch: set, the call ends part-way and its results
    are to be discarded. ``inline`` is not used here: it keeps graphs traced
    for the two executors apart (see :mod:`._executor`). With ``jit_compile``
    each epoch's mini-batches run as one XLA computation, on inputs and
    orders laid out by :func:`xla_padding`, and ``stop`` is read between
    epochs only.
    """
    apply_update = OPTIMIZERS[kind].apply
    n_epochs = tf.shape(orders)[0]
    n_batches = (n_rows + batch_size - 1) // batch_size
    total_weight = tf.reduce_sum(w)
    dtype = y.dtype

    def running():
        return tf.logical_not(stop.read_value())

    def epoch(index, losses, scores, best_score, best_params):
        order, hyper = orders[index], hypers[index]

        def step(rows, total):
            w_batch = tf.gather(w, rows)
            loss, grads = spec.loss_and_gradients(
                layout.split([p.read_value() for p in params]),
                gather_rows(X, rows, spec.n_inputs),
                tf.gather(y, rows),
                w_batch,
                alpha,
            )
            apply_update(params, layout.join(grads), slots, hyper, nesterov)
            return total + loss * tf.reduce_sum(w_batch)

        if jit_compile:
            total = _epoch_through_xla(order, n_batches, step, batch_size, dtype)
        else:
            _, total = tf.while_loop(
                lambda batch, total: tf.logical_and(batch < n_batches, running()),
                lambda batch, total: (
                    batch + 1,
                    step(order[batch * batch_size : (batch + 1) * batch_size], total),
                ),
                (tf.constant(0), tf.zeros([], dtype)),
            )
        losses = losses.write(index, total / total_weight)
        if validate:
            current = layout.split([p.read_value() for p in params])
            predicted = spec.forward(current, all_rows(X_val, spec.n_inputs))
            score = validation_r2(predicted, y_val, w_val, val_total)
            scores = scores.write(index, score)
            improved = score > best_score
            best_params = [tf.where(improved, p, b) for p, b in zip(params, best_params)]
            best_score = tf.where(improved, score, best_score)
        return index + 1, losses, scores, best_score, best_params

    _, losses, scores, best_score, best_params = tf.while_loop(
        lambda index, *_: tf.logical_and(index < n_epochs, running()),
        epoch,
        (
            tf.constant(0),
            tf.TensorArray(dtype, size=n_epochs, element_shape=[]),
            tf.TensorArray(dtype, size=n_epochs if validate else 0, element_shape=[]),
            best_score,
            [tf.identity(p) for p in params] if validate else [],
        ),
    )
    return losses.stack(), scores.stack(), best_score, best_params


def _epoch_through_xla(order, n_batches, step, batch_size, dtype):
    """``step(rows, total)`` over the first ``n_batches`` mini-batches of
    ``order``, compiled by XLA; returns the final ``total``.

    XLA compiles for fixed shapes, so every batch is a whole one: ``order``
    is padded (see :func:`xla_padding`) with rows of weight zero, which
    change neither the loss nor the gradient.
    """

    def whole_batches(order, n_batches, batch_size):
        _, total = tf.while_loop(
            lambda batch, total: batch < n_batches,
            lambda batch, total: (
                batch + 1,
                step(tf.slice(order, [batch * batch_size], [batch_size]), total),
            ),
            (tf.constant(0), tf.zeros([], dtype)),
        )
        return total

    compiled = tf.function(whole_batches, jit_compile=True, autograph=False)
    return compiled(order, n_batches, batch_size)


def xla_padding(n_rows, batch_size):
    """Rows to which XLA's inputs and epoch orders are padded.

    At least one row more than ``n_rows`` (the padding rows' first is where
    a short last batch takes its missing rows) and every row of the whole
    batches; rounded up to ``m * 2**e`` with ``m`` from 8 to 16, so that a
    few compiled shapes serve every number of rows, each at most an eighth
    larger than needed (the folds of a cross-validation, which differ by a
    row, share one).

    Parameters
    ----------
    n_rows, batch_size : int

    Returns
    -------
    int
    """
    needed = max(n_rows + 1, -(-n_rows // batch_size) * batch_size)
    scale = 2 ** max(0, needed.bit_length() - 4)
    return -(-needed // scale) * scale


#: The compiled epochs, one ``tf.function`` per network shape and solver.
compiled_epochs = BoundedCompiled(_run_epochs)


def _prepare_epoch_function(
    function, params, optimizer, stop, dtype, sparse, n_features, n_outputs
):
    """Trace the epochs once per shape, with the numbers of rows and epochs left open."""

    def spec(*shape):
        return tf.TensorSpec(shape, dtype)

    inputs = input_signature(sparse, n_features, dtype)
    function.get_concrete_function(
        params,
        optimizer.slots,
        spec(None, len(optimizer.hyperparameters())),
        spec(),
        inputs,
        spec(None, n_outputs),
        spec(None),
        tf.TensorSpec([None, None], tf.int32),
        tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.int32),
        inputs,
        spec(None, n_outputs),
        spec(None),
        spec(n_outputs),
        spec(),
        stop,
    )


# Rows of permutations sent in one call at most (int32, so 4 MB).
_MAX_ORDER_ELEMENTS = 1_000_000

#: Wall time one compiled call aims at. Ctrl-C undoes the call it lands in
#: (see train_stochastic), so this is the most training an interruption loses.
BLOCK_SECONDS = 0.25


def _epochs_per_call(record, max_iter, n_iter_no_change, order_length, incremental):
    """How many epochs can run in one compiled call without passing a stop.

    Stopping needs ``n_iter_no_change + 1`` epochs without improvement (of the
    training loss, or of the validation score), so with ``count`` such epochs
    behind, no stop can come before ``n_iter_no_change + 1 - count`` more:
    that many run together, and only the last of them can trigger a stop.
    ``partial_fit`` runs one epoch. ``order_length`` is the length of one
    epoch's order as sent (padded for XLA), which bounds the call's memory.
    """
    if incremental:
        return 1
    to_stop = n_iter_no_change + 1 - record.no_improvement_count
    limit = min(max_iter - record.n_iter, to_stop, _MAX_ORDER_ELEMENTS // order_length)
    return max(1, int(limit))


class _Pace:
    """Epochs per compiled call that take about :data:`BLOCK_SECONDS`, from the
    time the calls so far took; one epoch until the first has been timed.

    How epochs are grouped into calls never changes the arithmetic, so the
    results do not depend on the timings.
    """

    def __init__(self):
        self.seconds_per_epoch = None

    def epochs(self):
        if self.seconds_per_epoch is None:
            return 1
        return max(1, int(BLOCK_SECONDS / max(self.seconds_per_epoch, 1e-9)))

    def record(self, n_epochs, seconds):
        self.seconds_per_epoch = seconds / n_epochs


def shuffled(rows, random_state):
    """``rows`` permuted with the draws ``sklearn.utils.shuffle`` makes.

    ``shuffle`` validates and indexes through scikit-learn's generic helpers,
    which cost about 0.1 ms a call, a tenth of an epoch of a small network.
    """
    permutation = np.arange(len(rows))
    random_state.shuffle(permutation)
    return rows[permutation]


def _call_in_executor(inline, function, *args):
    """``function(*args)`` on the executor chosen for the network (see :mod:`._executor`)."""
    with executor(inline):
        return function(*args)


@contextlib.contextmanager
def _block_runner(interruption, stop):
    """Run compiled calls where Ctrl-C can reach them.

    With an active interruption, each call runs in a worker thread while the
    main thread waits, so that the SIGINT handler runs at once; it sets
    ``stop``, which the running call reads before its next mini-batch.
    """
    if not interruption.active:
        yield lambda call: call()
        return
    interruption.on_request(lambda: stop.assign(True))
    with concurrent.futures.ThreadPoolExecutor(1, "sklearn_fitfn-training") as worker:
        yield lambda call: worker.submit(call).result()


_REMEDY = (
    "Scale X and y (StandardScaler, and TransformedTargetRegressor for y), lower "
    "learning_rate_init, or train in dtype='float64'."
)


#: MLPRegressor's words for a fit that diverged; every such error here starts with them.
NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain "
    "large values and need to be preprocessed."
)


def check_finite_loss(loss, iteration, dtype, unit="epoch"):
    """Raise MLPRegressor's ValueError, saying where and what to do, if a
    training loss is NaN or infinite."""
    if not np.isfinite(loss):
        raise ValueError(
            f"{NON_FINITE} The training loss became non-finite ({loss}) at {unit} "
            f"{iteration}, computing in {dtype}. " + _REMEDY
        )


def check_finite_weights(weights):
    """Raise MLPRegressor's ValueError, and what to do, if a weight is NaN or infinite."""
    if not all(np.isfinite(w).all() for w in weights):
        raise ValueError(f"{NON_FINITE} " + _REMEDY)


def end_of_epoch(record, loss, n_samples, score, optimizer, tol, n_iter_no_change, verbose):
    """Book an epoch as MLPRegressor does; return True when training stops.

    ``score`` is the epoch's validation R², or None without early stopping.
    """
    record.n_iter += 1
    record.loss = loss
    record.t += n_samples
    record.loss_curve.append(loss)
    if verbose:
        print(f"Iteration {record.n_iter}, loss = {loss:.8f}")

    if score is not None:
        record.validation_scores.append(score)
        if verbose:
            print(f"Validation score: {score:f}")
        if score < record.best_validation_score + tol:
            record.no_improvement_count += 1
        else:
            record.no_improvement_count = 0
        record.best_validation_score = max(record.best_validation_score, score)
    else:
        if loss > record.best_loss - tol:
            record.no_improvement_count += 1
        else:
            record.no_improvement_count = 0
        record.best_loss = min(record.best_loss, loss)

    if record.no_improvement_count > n_iter_no_change:
        watched = "Validation score" if score is not None else "Training loss"
        message = (
            f"{watched} did not improve more than tol={tol:f} "
            f"for {n_iter_no_change} consecutive epochs."
        )
        if optimizer.trigger_stopping(message, verbose):
            return True
        record.no_improvement_count = 0
    return False


def end_of_training(record, max_iter, stopped, interruption, incremental):
    """MLPRegressor's last words on a stochastic fit: the warning for Ctrl-C,
    or the ConvergenceWarning when ``max_iter`` epochs ran without a stop."""
    record.converged = stopped
    interruption.warn()
    if not (stopped or incremental or interruption.requested) and record.n_iter == max_iter:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
            "optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=2,
        )


def train_stochastic(
    weights,
    optimizer_factory,
    spec,
    X,
    y,
    w,
    record,
    *,
    batch_size,
    max_iter,
    shuffle,
    random_state,
    alpha,
    tol,
    n_iter_no_change,
    validation,
    verbose,
    incremental,
    jit_compile=False,
):
    """Train with mini-batch Adam or SGD, following ``MLPRegressor._fit_stochastic``.

    Epochs run in compiled calls of about :data:`BLOCK_SECONDS` each. A first
    Ctrl-C (see :mod:`._interrupt`) ends the running call at its next
    mini-batch and undoes it, so the weights, the optimizer's state and the
    record agree on the epochs kept; training then ends with MLPRegressor's
    warning.

    Parameters
    ----------
    weights : list of ndarray
        Starting ``[kernel, bias, ...]``; not modified.
    optimizer_factory : callable
        Called with the parameters' :class:`._layout.ParameterLayout` and the
        compute dtype, returns an optimizer from :mod:`._optimizers`.
    spec : NetworkSpec
        The network.
    X : ndarray or scipy sparse matrix
        Training inputs, in the compute dtype.
    y, w : ndarray
        2-D targets and sample weights, in the compute dtype.
    record : TrainingRecord
        Updated in place: loss curve, best loss or validation score, counters.
    batch_size : int
    max_iter : int
        Epochs to run at most (one when ``incremental``).
    shuffle : bool
    random_state : numpy.random.RandomState
        Source of the per-epoch permutations.
    alpha, tol : float
    n_iter_no_change : int or float
    validation : tuple or None
        ``(X_val, y_val, w_val)`` for early stopping on validation R².
    verbose : bool or int
    incremental : bool
        Run a single epoch, as ``partial_fit`` does.
    jit_compile : bool, default=False
        Run each epoch's mini-batches as one XLA computation (dense X only).

    Returns
    -------
    weights : list of ndarray
        The trained weights (the best ones when early stopping).
    optimizer : object
        The optimizer, whose ``state()`` a later ``partial_fit`` resumes from.
    """
    dtype = tf.as_dtype(y.dtype)
    inline = runs_inline(spec.layer_units, batch_size)
    layout = ParameterLayout([w.shape for w in weights], grouped=inline)
    params = [size_free_variable(value, dtype) for value in layout.pack(weights)]
    optimizer = optimizer_factory(layout, dtype)
    stop = tf.Variable(False)
    static = {
        "kind": optimizer.kind,
        "nesterov": getattr(optimizer, "nesterov", False),
        "spec": spec,
        "layout": layout,
        "validate": validation is not None,
        "inline": inline,
        "jit_compile": jit_compile,
    }
    sparse = scipy.sparse.issparse(X)
    n_features, n_outputs = spec.n_inputs, y.shape[1]
    # Taken once per fit: the cache may evict this shape while the fit runs.
    run_epochs = compiled_epochs(**static)
    try:
        with executor(static["inline"]):
            _prepare_epoch_function(
                run_epochs, params, optimizer, stop, dtype, sparse, n_features, n_outputs
            )
    except BaseException:
        compiled_epochs.forget(run_epochs)
        raise

    n_samples = X.shape[0]
    padded_rows = xla_padding(n_samples, batch_size) if jit_compile else n_samples
    if jit_compile:  # rows of weight zero: see _epoch_through_xla
        X, y, w = (
            np.concatenate([a, np.zeros((padded_rows - n_samples, *a.shape[1:]), a.dtype)])
            for a in (X, y, w)
        )
    tensors = [engine_inputs(X, dtype), tf.constant(y, dtype), tf.constant(w, dtype)]
    if validation is None:
        val_tensors = [
            empty_inputs(sparse, n_features, dtype),
            tf.zeros([0, n_outputs], dtype),
            tf.zeros([0], dtype),
            tf.zeros([n_outputs], dtype),
        ]
    else:
        X_val, y_val, w_val = validation
        val_tensors = [engine_inputs(X_val, dtype)] + [
            tf.constant(a, dtype) for a in (y_val, w_val, total_sum_of_squares(y_val, w_val))
        ]
    alpha_t = tf.constant(alpha, dtype)
    batch_t = tf.constant(batch_size, tf.int32)
    n_rows_t = tf.constant(n_samples, tf.int32)
    state = [*params, *optimizer.slots]

    sample_idx = np.arange(n_samples, dtype=np.int32)
    order_padding = np.full(padded_rows - n_samples, n_samples, np.int32)
    record.n_iter = 0
    stopped = False
    pace = _Pace()
    with catch_interruption() as interruption, _block_runner(interruption, stop) as run:
        while record.n_iter < max_iter and not stopped and not interruption.requested:
            n_epochs = min(
                _epochs_per_call(record, max_iter, n_iter_no_change, padded_rows, incremental),
                pace.epochs(),
            )
            orders, hypers = [], []
            for ahead in range(1, n_epochs + 1):
                if shuffle:
                    sample_idx = shuffled(sample_idx, random_state)
                orders.append(
                    np.concatenate([sample_idx, order_padding]) if jit_compile else sample_idx
                )
                hypers.append(optimizer.hyperparameters())
                optimizer.iteration_ends(record.t + ahead * n_samples)
            best_before = record.best_validation_score
            saved = [v.numpy() for v in state] if interruption.active else None

            call = functools.partial(
                _call_in_executor,
                static["inline"],
                run_epochs,
                params,
                optimizer.slots,
                tf.constant(hypers, dtype),
                alpha_t,
                *tensors,
                tf.constant(np.stack(orders)),
                n_rows_t,
                batch_t,
                *val_tensors,
                tf.constant(-np.inf if best_before is None else best_before, dtype),
                stop,
            )
            started = time.perf_counter()
            losses, scores, best_score, best_params = run(call)
            if interruption.requested:  # the call may have ended part-way: undo it
                for variable, value in zip(state, saved):
                    variable.assign(value)
                break
            pace.record(n_epochs, time.perf_counter() - started)
            scores = scores.numpy() if validation is not None else [None] * len(losses)
            for loss, score in zip(losses.numpy(), scores):
                if validation is None:  # early stopping scores a diverged network NaN
                    check_finite_loss(loss, record.n_iter + 1, dtype.name)
                stopped = end_of_epoch(
                    record,
                    float(loss),
                    n_samples,
                    None if score is None else float(score),
                    optimizer,
                    tol,
                    n_iter_no_change,
                    verbose,
                )
                if stopped:  # only ever on a call's last epoch (see _epochs_per_call)
                    break
            if validation is not None and float(best_score) > best_before:
                record.best_weights = layout.unpack([b.numpy() for b in best_params])
            if incremental:
                break
    end_of_training(record, max_iter, stopped, interruption, incremental)

    if validation is not None:  # as MLPRegressor: the best epoch's, or the starting weights
        return [np.array(b) for b in record.best_weights or weights], optimizer
    return [np.array(a) for a in layout.unpack([p.numpy() for p in params])], optimizer


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
        loss_and_gradient = tf.function(loss_and_gradient, jit_compile=True, autograph=False)
    return loss_and_gradient(flat, X, y, w, alpha)


#: The compiled full-batch loss and gradient, one per network shape.
compiled_full_batch = BoundedCompiled(_full_batch_loss_and_gradient)


def train_lbfgs(
    weights, spec, X, y, w, record, *, max_iter, max_fun, tol, alpha, verbose, jit_compile=False
):
    """Train with full-batch L-BFGS, following ``MLPRegressor._fit_lbfgs``.

    SciPy's L-BFGS-B drives the search; TensorFlow computes the loss and its
    gradient on the Keras weights. The search runs in float64 whatever the
    compute dtype.

    Parameters
    ----------
    weights : list of ndarray
        Starting ``[kernel, bias, ...]``; not modified.
    spec : NetworkSpec
    X : ndarray or scipy sparse matrix
        Training inputs, in the compute dtype.
    y, w : ndarray
        2-D targets and sample weights, in the compute dtype.
    record : TrainingRecord
        Receives the loss after every iteration, ``n_iter`` and ``loss``.
    max_iter, max_fun : int
        Iterations and loss evaluations at most.
    tol : float
        Stop when every gradient component is below ``tol`` (``gtol``).
    alpha : float
    verbose : bool or int
        Print the loss after every iteration.
    jit_compile : bool, default=False
        Compute the loss and gradient as one XLA computation (dense X only).

    Returns
    -------
    list of ndarray
        The trained weights.
    """
    import scipy.optimize

    dtype = tf.as_dtype(y.dtype)
    layout = ParameterLayout([w.shape for w in weights], grouped=True)
    static = {"layout": layout, "spec": spec, "jit_compile": jit_compile}
    tensors = [engine_inputs(X, dtype), tf.constant(y, dtype), tf.constant(w, dtype)]
    alpha_t = tf.constant(alpha, dtype)
    function = compiled_full_batch(**static)
    try:
        function.get_concrete_function(
            tf.TensorSpec([None], tf.float64),
            input_signature(scipy.sparse.issparse(X), spec.n_inputs, dtype),
            tf.TensorSpec([None, y.shape[1]], dtype),
            tf.TensorSpec([None], dtype),
            tf.TensorSpec([], dtype),
        )
    except BaseException:
        compiled_full_batch.forget(function)
        raise

    def loss_and_gradient(vector):
        loss, gradient = function(tf.constant(vector), *tensors, alpha_t)
        return float(loss), gradient.numpy()

    curve = []

    def after_iteration(intermediate_result):
        check_finite_loss(
            intermediate_result.fun, record.n_iter + len(curve) + 1, dtype.name, "iteration"
        )
        curve.append(float(intermediate_result.fun))
        if verbose:
            print(f"Iteration {record.n_iter + len(curve)}, loss = {curve[-1]:.8f}")

    result = scipy.optimize.minimize(
        loss_and_gradient,
        layout.pack(weights)[0].astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=after_iteration,
        # SciPy's default ftol is an absolute floor on the improvement once
        # the loss is below 1, too coarse for exact fits: a smaller tol lowers it.
        options={
            "maxfun": max_fun,
            "maxiter": max_iter,
            "gtol": tol,
            "ftol": min(_SCIPY_FTOL, tol),
        },
    )
    check_finite_loss(result.fun, record.n_iter + max(1, len(curve)), dtype.name, "iteration")
    # MLPRegressor's ConvergenceWarning, from scikit-learn's own check.
    record.n_iter = _check_optimize_result("lbfgs", result, max_iter)
    record.converged = result.status == 0
    record.loss = float(result.fun)
    record.loss_curve.extend(curve)
    record.best_loss = min(record.best_loss, record.loss)
    record.t += X.shape[0] * record.n_iter
    if verbose and not result.success:
        print(f"L-BFGS stopped: {result.message}")
    return [a.astype(y.dtype) for a in layout.unpack([result.x])]
