"""The compiled mini-batch engine: Adam and SGD epochs inside TensorFlow graphs.

One call of the compiled epochs runs many epochs' mini-batches inside a
single TensorFlow graph (``tf.while_loop`` over slices of each epoch's
permutation), so the per-batch cost is a few graph operations instead of a
Keras ``fit`` round trip. Everything around it (shuffling, the loss curve,
early stopping, the learning-rate schedule) follows scikit-learn's
``MLPRegressor`` step by step and draws from the same ``RandomState`` in the
same order. The tensors of a call travel as named tuples (:class:`EpochData`,
:class:`EpochPlan`, :class:`ValidationData`), whose ``signature`` gives the
``TensorSpec`` each function is traced with.
"""

import concurrent.futures
import contextlib
import functools
import time
from typing import NamedTuple

import numpy as np

from .._network.inputs import all_rows, empty_inputs, engine_inputs, gather_rows, input_signature
from .._quiet.tensorflow import tf
from . import record as rules
from .compiled import BoundedCompiled, size_free_variable
from .executor import executor, runs_inline
from .interrupt import catch_interruption
from .layout import ParameterLayout
from .optimizers import OPTIMIZERS
from .settings import Trained
from .xla import compiled_by_xla, xla_choice, xla_padding


class EngineShape(NamedTuple):
    """What the compiled epochs are traced for: one ``tf.function`` per value.

    ``kind`` is the optimizer (``"adam"`` or ``"sgd"``); ``validate`` scores
    a validation set after each epoch; ``inline`` keeps the graphs traced for
    the two executors apart (see :mod:`.._executor`); ``jit_compile`` runs
    each epoch's mini-batches as one XLA computation.
    """

    kind: str
    nesterov: bool
    spec: object
    layout: ParameterLayout
    validate: bool
    inline: bool
    jit_compile: bool


class EngineState(NamedTuple):
    """The variables a call trains: the parameters as the layout groups them,
    and the optimizer's slots."""

    params: list
    slots: list


def _rows_signature(sparse, n_features, n_outputs, dtype):
    """TensorSpecs of X (as :func:`.._data.engine_inputs` gives it), 2-D y and
    the weights, for any number of rows."""
    return (
        input_signature(sparse, n_features, dtype),
        tf.TensorSpec([None, n_outputs], dtype),
        tf.TensorSpec([None], dtype),
    )


class EpochData(NamedTuple):
    """The training tensors of a fit, the same for every call.

    ``X`` is as :func:`.._data.engine_inputs` gives it (dense or sparse);
    ``n_rows`` counts the rows to train on (XLA's padding rows follow them).
    """

    X: object
    y: object
    w: object
    n_rows: object
    batch_size: object
    alpha: object

    @classmethod
    def signature(cls, sparse, n_features, n_outputs, dtype):
        """TensorSpecs for any number of rows."""
        return cls(
            *_rows_signature(sparse, n_features, n_outputs, dtype),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], dtype),
        )


class EpochPlan(NamedTuple):
    """One call's epochs: each epoch's row order, and the optimizer's
    hyperparameters for it (the learning rate may change between epochs)."""

    orders: object
    hypers: object

    @classmethod
    def signature(cls, n_hyperparameters, dtype):
        """TensorSpecs for any number of epochs and rows."""
        return cls(
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None, n_hyperparameters], dtype),
        )


class ValidationData(NamedTuple):
    """The rows early stopping scores (none without it), the total sum of
    squares of their targets, and the best score before the call."""

    X: object
    y: object
    w: object
    total: object
    best_score: object

    @classmethod
    def signature(cls, sparse, n_features, n_outputs, dtype):
        """TensorSpecs for any number of rows."""
        return cls(
            *_rows_signature(sparse, n_features, n_outputs, dtype),
            tf.TensorSpec([n_outputs], dtype),
            tf.TensorSpec([], dtype),
        )


def _batches(step, order, n_batches, batch_size, dtype, running, whole):
    """``step(rows, total)`` over the first ``n_batches`` mini-batches of
    ``order``; returns the final ``total``.

    The one mini-batch loop, for both ways of taking a batch. By default
    batch ``b`` is ``order[b * batch_size : (b + 1) * batch_size]`` (the last
    may be short), and ``running()`` is read before each, so that Ctrl-C ends
    the loop at the next mini-batch. With ``whole`` every batch has
    ``batch_size`` rows (``order`` is padded, see :mod:`.xla`) and the loop is
    compiled by XLA, which needs fixed shapes and reads no variable the
    interruption sets: ``stop`` is then read between epochs only.
    """

    def take(order, batch, batch_size):
        if whole:
            return tf.slice(order, [batch * batch_size], [batch_size])
        return order[batch * batch_size : (batch + 1) * batch_size]

    def go_on():
        return tf.constant(True) if whole else running()

    def loop(order, n_batches, batch_size):
        _, total = tf.while_loop(
            lambda batch, total: tf.logical_and(batch < n_batches, go_on()),
            lambda batch, total: (batch + 1, step(take(order, batch, batch_size), total)),
            (tf.constant(0), tf.zeros([], dtype)),
        )
        return total

    return (compiled_by_xla(loop) if whole else loop)(order, n_batches, batch_size)


def _run_epochs(state, data, plan, validation, stop, *, shape):
    """Train one epoch per row of ``plan.orders``, or until ``stop`` becomes true.

    Each order starts with a permutation of the ``data.n_rows`` rows to train
    on. Returns the epochs' mean losses; with ``shape.validate``, also each
    epoch's validation R², the best R² seen (starting from
    ``validation.best_score``) and the parameters that reached it (the
    starting ones when no epoch beat it), grouped as ``state.params``. Once
    ``stop`` is set the call ends part-way, and its results are to be
    discarded.
    """
    apply_update = OPTIMIZERS[shape.kind].apply
    spec, layout, params = shape.spec, shape.layout, state.params
    n_epochs = tf.shape(plan.orders)[0]
    n_batches = (data.n_rows + data.batch_size - 1) // data.batch_size
    total_weight = tf.reduce_sum(data.w)
    dtype = data.y.dtype

    def running():
        return tf.logical_not(stop.read_value())

    def epoch(index, losses, scores, best_score, best_params):
        hyper = plan.hypers[index]

        def step(rows, total):
            w_batch = tf.gather(data.w, rows)
            loss, grads = spec.loss_and_gradients(
                layout.split([p.read_value() for p in params]),
                gather_rows(data.X, rows, spec.n_inputs),
                tf.gather(data.y, rows),
                w_batch,
                data.alpha,
            )
            apply_update(params, layout.join(grads), state.slots, hyper, shape.nesterov)
            return total + loss * tf.reduce_sum(w_batch)

        total = _batches(
            step,
            plan.orders[index],
            n_batches,
            data.batch_size,
            dtype,
            running,
            shape.jit_compile,
        )
        losses = losses.write(index, total / total_weight)
        if shape.validate:
            current = layout.split([p.read_value() for p in params])
            predicted = spec.forward(current, all_rows(validation.X, spec.n_inputs))
            score = rules.validation_r2(predicted, validation.y, validation.w, validation.total)
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
            tf.TensorArray(dtype, size=n_epochs if shape.validate else 0, element_shape=[]),
            validation.best_score,
            [tf.identity(p) for p in params] if shape.validate else [],
        ),
    )
    return losses.stack(), scores.stack(), best_score, best_params


#: The compiled epochs, one ``tf.function`` per :class:`EngineShape`.
compiled_epochs = BoundedCompiled(_run_epochs)


def _traced_epochs(shape, state, stop, data, n_hyperparameters):
    """The compiled epochs for ``shape``, traced with the numbers of rows and
    epochs left open; a trace that fails is not kept."""
    function = compiled_epochs(shape=shape)
    dtype = tf.as_dtype(data.y.dtype)
    inputs = (data.sparse, shape.spec.n_inputs, data.y.shape[1], dtype)
    try:
        with executor(shape.inline):
            function.get_concrete_function(
                state,
                EpochData.signature(*inputs),
                EpochPlan.signature(n_hyperparameters, dtype),
                ValidationData.signature(*inputs),
                stop,
            )
    except BaseException:
        compiled_epochs.forget(function)
        raise
    return function


def _validation_data(data, dtype):
    """The validation tensors, with no rows when there is no early stopping."""
    n_features, n_outputs = data.X.shape[1], data.y.shape[1]
    if data.validation is None:
        return ValidationData(
            empty_inputs(data.sparse, n_features, dtype),
            tf.zeros([0, n_outputs], dtype),
            tf.zeros([0], dtype),
            tf.zeros([n_outputs], dtype),
            tf.constant(-np.inf, dtype),
        )
    X_val, y_val, w_val = data.validation
    return ValidationData(
        engine_inputs(X_val, dtype),
        *(tf.constant(a, dtype) for a in (y_val, w_val, rules.total_sum_of_squares(y_val, w_val))),
        tf.constant(-np.inf, dtype),
    )


# Rows of permutations sent in one call at most (int32, so 4 MB).
_MAX_ORDER_ELEMENTS = 1_000_000

#: Wall time one compiled call aims at. Ctrl-C undoes the call it lands in
#: (see train_stochastic), so this is the most training an interruption loses.
BLOCK_SECONDS = 0.25


def _epochs_per_call(record, settings, order_length):
    """How many epochs can run in one compiled call without passing a stop.

    Stopping needs ``n_iter_no_change + 1`` epochs without improvement (of the
    training loss, or of the validation score), so with ``count`` such epochs
    behind, no stop can come before ``n_iter_no_change + 1 - count`` more:
    that many run together, and only the last of them can trigger a stop.
    ``partial_fit`` runs one epoch. ``order_length`` is the length of one
    epoch's order as sent (padded for XLA), which bounds the call's memory.
    """
    if settings.incremental:
        return 1
    to_stop = settings.n_iter_no_change + 1 - record.no_improvement_count
    limit = min(settings.max_iter - record.n_iter, to_stop, _MAX_ORDER_ELEMENTS // order_length)
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
    whose cost is a sizeable part of a small network's epoch
    (docs/performance.md).
    """
    permutation = np.arange(len(rows))
    random_state.shuffle(permutation)
    return rows[permutation]


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


def _uses_xla(spec, settings, data):
    """Whether this fit runs under XLA: ``jit_compile``, or for ``"auto"``
    the cost model of :func:`.xla.xla_choice` (a sparse X never)."""
    if settings.jit_compile != "auto":
        return settings.jit_compile
    if data.sparse:  # XLA has no sparse matrices
        return False
    epochs = 1 if settings.incremental else settings.max_iter
    steps = epochs * -(-data.n_samples // data.batch_size)
    return xla_choice(spec.layer_units, spec.dtype, steps, data.batch_size).uses_xla


class _Engine:
    """One fit on the compiled engine: its variables, optimizer, compiled
    epochs and tensors, and the epochs' orders, drawn as MLPRegressor draws them."""

    def __init__(self, spec, settings, data, start):
        dtype = tf.as_dtype(data.y.dtype)
        inline = runs_inline(spec.layer_units, data.batch_size)
        self.layout = ParameterLayout([w.shape for w in start.weights], grouped=inline)
        params = [size_free_variable(value, dtype) for value in self.layout.pack(start.weights)]
        self.optimizer = OPTIMIZERS[settings.solver](
            settings, self.layout, dtype, start.optimizer_state
        )
        self.state = EngineState(params, self.optimizer.slots)
        self.stop = tf.Variable(False)
        self.shape = EngineShape(
            self.optimizer.kind,
            bool(getattr(self.optimizer, "nesterov", False)),
            spec,
            self.layout,
            data.validation is not None,
            inline,
            bool(_uses_xla(spec, settings, data)),
        )
        n_hyperparameters = len(self.optimizer.hyperparameters())
        # Taken once per fit: the cache may evict this shape while the fit runs.
        self.run_epochs = _traced_epochs(self.shape, self.state, self.stop, data, n_hyperparameters)

        self.settings, self.dtype, self.random_state = settings, dtype, start.random_state
        self.n_samples = data.n_samples
        padded_rows = data.n_samples
        if self.shape.jit_compile:
            padded_rows = xla_padding(data.n_samples, data.batch_size)
            data = data.padded(padded_rows)
        self.order_length = padded_rows
        self.data = EpochData(
            engine_inputs(data.X, dtype),
            tf.constant(data.y, dtype),
            tf.constant(data.w, dtype),
            tf.constant(self.n_samples, tf.int32),
            tf.constant(data.batch_size, tf.int32),
            tf.constant(settings.alpha, dtype),
        )
        self.validation = _validation_data(data, dtype)
        self.sample_idx = np.arange(self.n_samples, dtype=np.int32)
        self.order_padding = np.full(padded_rows - self.n_samples, self.n_samples, np.int32)

    def plan(self, n_epochs, t):
        """The next ``n_epochs`` epochs' orders and hyperparameters; ``t``
        counts the samples seen before them (the schedule steps on it)."""
        orders, hypers = [], []
        for ahead in range(1, n_epochs + 1):
            if self.settings.shuffle:
                self.sample_idx = shuffled(self.sample_idx, self.random_state)
            orders.append(np.concatenate([self.sample_idx, self.order_padding]))
            hypers.append(self.optimizer.hyperparameters())
            self.optimizer.iteration_ends(t + ahead * self.n_samples)
        return EpochPlan(tf.constant(np.stack(orders)), tf.constant(hypers, self.dtype))

    def call(self, plan, best_before):
        """Run the epochs of ``plan``, on the executor chosen for the network."""
        best = -np.inf if best_before is None else best_before
        validation = self.validation._replace(best_score=tf.constant(best, self.dtype))
        with executor(self.shape.inline):
            return self.run_epochs(self.state, self.data, plan, validation, self.stop)

    def snapshot(self):
        """The variables' values, to undo a call that Ctrl-C cut short."""
        return [v.numpy() for v in [*self.state.params, *self.state.slots]]

    def restore(self, values):
        for variable, value in zip([*self.state.params, *self.state.slots], values):
            variable.assign(value)

    def book(self, results, record, best_before):
        """Book a call's epochs in ``record``; return True when training stops."""
        losses, scores, best_score, best_params = results
        validating = self.shape.validate
        scores = scores.numpy() if validating else [None] * len(losses)
        stopped = False
        for loss, score in zip(losses.numpy(), scores):
            if not validating:  # early stopping scores a diverged network NaN
                rules.check_finite_loss(loss, record.n_iter + 1, self.dtype.name)
            stopped = rules.end_of_epoch(
                record,
                float(loss),
                self.n_samples,
                None if score is None else float(score),
                self.optimizer,
                self.settings,
            )
            if stopped:  # only ever on a call's last epoch (see _epochs_per_call)
                break
        if validating and float(best_score) > best_before:
            record.best_weights = self.layout.unpack([b.numpy() for b in best_params])
        return stopped

    def trained_weights(self, record, starting_weights):
        """The weights to keep: with early stopping, as MLPRegressor, the best
        epoch's (or the starting ones); otherwise the last."""
        if self.shape.validate:
            return [np.array(b) for b in record.best_weights or starting_weights]
        return [np.array(a) for a in self.layout.unpack([p.numpy() for p in self.state.params])]


def train_stochastic(spec, settings, data, start):
    """Train with mini-batch Adam or SGD, following ``MLPRegressor._fit_stochastic``.

    Epochs run in compiled calls of about :data:`BLOCK_SECONDS` each. A first
    Ctrl-C (see :mod:`.interrupt`) ends the running call at its next
    mini-batch and undoes it, so the weights, the optimizer's state and the
    record agree on the epochs kept; training then ends with MLPRegressor's
    warning.

    Parameters
    ----------
    spec : NetworkSpec
    settings : TrainingSettings
    data : TrainingData
    start : TrainingStart

    Returns
    -------
    Trained
        The weights, the record, and the optimizer's state, which a later
        ``partial_fit`` resumes from.
    """
    engine = _Engine(spec, settings, data, start)
    record = start.record
    record.n_iter = 0
    stopped = False
    pace = _Pace()
    with catch_interruption() as interruption, _block_runner(interruption, engine.stop) as run:
        while record.n_iter < settings.max_iter and not stopped and not interruption.requested:
            n_epochs = min(_epochs_per_call(record, settings, engine.order_length), pace.epochs())
            plan = engine.plan(n_epochs, record.t)
            best_before = record.best_validation_score
            saved = engine.snapshot() if interruption.active else None
            started = time.perf_counter()
            results = run(functools.partial(engine.call, plan, best_before))
            if interruption.requested:  # the call may have ended part-way: undo it
                engine.restore(saved)
                break
            pace.record(n_epochs, time.perf_counter() - started)
            stopped = engine.book(results, record, best_before)
            if settings.incremental:
                break
    rules.end_of_training(record, settings, stopped, interruption)
    weights = engine.trained_weights(record, start.weights)
    rules.check_finite_weights(weights)
    return Trained(record, weights, engine.optimizer.state())
