"""Members of a search trained together: one compiled program for every
network of the same shape.

A grid search fits many small networks of one shape, each on its own fold
with its own hyperparameters. Alone, each pays the cost of running a step at
all (about a hundred TensorFlow operations one after another) for a few small
products. Here ``K`` members of one shape train as one stacked network: every
weight gains a leading axis of members, the products become batched products,
and one step of the program is one step of every member.

Each member keeps what is its own: its starting weights, its rows (padded
with rows of weight zero to the longest member's), the order of its epochs
(drawn from its own ``RandomState`` as the compiled engine draws it), its
optimizer's hyperparameters and learning-rate schedule, its L2 penalty, its
record and its stopping rule; with early stopping, its validation rows, its
scores and its best weights. Between compiled calls, members whose rule
stopped them, whose ``max_iter`` is reached or whose loss turned non-finite
leave the group, so that they no longer move and no longer cost.

The arithmetic is the compiled engine's, in batched form: a member's weights
equal those of fitting it alone to float rounding (batched products add in
another order), not bit for bit.
"""

import dataclasses
import functools
import hashlib
import threading
import time
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse

from .._network import numpy_forward
from .._quiet.tensorflow import tf
from . import record as rules
from . import stacked_numpy, train
from .compiled import BoundedCompiled, size_free_variable
from .engine import _block_runner, _epochs_per_call, _Pace, shuffled
from .interrupt import catch_interruption
from .optimizers import OPTIMIZERS
from .settings import Trained

#: Members a group needs to train together: fewer gain little or train
#: faster alone (benchmarks/SEARCH.md: 5 members of (64, 64) together took
#: 0.91x-1.02x the time of one at a time in float64 and 0.92x-1.10x in
#: float32 over two runs, 10 took 0.78x-0.81x and 0.68x-0.80x).
MIN_MEMBERS = 8

#: Members a group needs on NumPy (:mod:`.stacked_numpy`), against one at a
#: time (docs/performance.md): 3 members of (64, 64) took 0.71x (float64) and
#: 0.82x (float32) on the diabetes data but 0.97x on the squares (one input,
#: batches of 100), where a search's parallel fits beat them; 5 took 0.62x,
#: 0.67x and 0.78x.
MIN_NUMPY_MEMBERS = 5

#: Elements of the stacked training data (X, y and weights of every member)
#: one group holds at most: 2**24, 128 MB in float64. Larger groups train in
#: chunks of members.
MAX_GROUP_ELEMENTS = 2**24


class Member(NamedTuple):
    """What one fit would hand its back-end: ``backend(spec, settings, data, start)``."""

    spec: object
    settings: object
    data: object
    start: object


class TrainedTogether(NamedTuple):
    """A member's training, done before its fit (with its group, or alone in
    a task of its own): what its back-end would have returned, whether its
    stopping rule ended it, and its share of the training's seconds. Its fit
    gives the warnings: those its back-end gave alone (``warned``, as
    (category, message) pairs), or, trained with its group (``warned`` is
    None), those of the engine's end of training."""

    trained: Trained
    stopped: bool
    seconds: float = 0.0
    warned: list | None = None


def why_alone(member):
    """Why this member cannot share a program with others, or None."""
    settings, data = member.settings, member.data
    if settings.keras is not None or settings.solver not in OPTIMIZERS:
        return "Keras's fit" if settings.keras is not None else "L-BFGS"
    if settings.incremental or member.start.optimizer_state is not None:
        return "partial_fit"
    if member.start.record.n_iter or member.start.record.loss_curve:
        return "a warm start"
    if data.sparse:
        return "a sparse X"
    if settings.jit_compile is True:
        return "jit_compile=True"
    return None


def group_key(member):
    """What members must share to train as one program, or None when this
    member trains alone (:func:`why_alone`)."""
    if why_alone(member) is not None:
        return None
    settings, data, spec = member.settings, member.data, member.spec
    nesterov = settings.nesterov if settings.solver == "sgd" else None
    validate = data.validation is not None
    if numpy_forward.computes(spec):  # each member applies its own activations there
        spec = spec._replace(activations=None)
    return (spec, settings.solver, nesterov, settings.shuffle, data.batch_size, validate)


def min_members(member):
    """Members a group of ``member``'s program needs to gain from training together."""
    return MIN_NUMPY_MEMBERS if numpy_forward.computes(member.spec) else MIN_MEMBERS


def elements(member):
    """Elements of a member's stacked training data: its rows (and held-out
    rows), one padding row, times the columns of X, y and the weights."""
    data = member.data
    rows = data.n_samples + 1
    if data.validation is not None:
        rows += len(data.validation.w)
    return rows * (data.X.shape[1] + data.y.shape[1] + 1)


def chunk_is_full(members):
    """Whether ``members``, stacked to the longest one's rows, leave no room
    within :data:`MAX_GROUP_ELEMENTS` for one more of that size."""
    return (len(members) + 1) * max(elements(m) for m in members) > MAX_GROUP_ELEMENTS


def train_task(members):
    """Train one task of a round (:mod:`.rounds`): several members as one
    stacked network, a single one alone as its own fit would train it.

    Returns
    -------
    outcomes : list
        Each member's outcome, in order: a :class:`TrainedTogether`, or the
        exception its training raised (a non-finite loss).
    seconds : float
        The time the task took.
    """
    started = time.perf_counter()
    outcomes = [_train_alone(members[0])] if len(members) == 1 else _train_group(members)
    return outcomes, time.perf_counter() - started


def _train_alone(member):
    """Train one member with its own back-end, as its fit would, keeping the
    warnings it gives for its fit to give again."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trained = train(member.spec, member.settings, member.data, member.start)
    except Exception as error:  # its own fit raises it, and error_score decides
        return error
    warned = [(warning.category, str(warning.message)) for warning in caught]
    return TrainedTogether(trained, trained.record.converged, warned=warned)


class StackShape(NamedTuple):
    """What the stacked epochs are traced for; ``validate`` scores each
    member's validation rows after each epoch."""

    spec: object
    kind: str
    nesterov: bool
    validate: bool


def _run_stacked_epochs(params, slots, data, orders, hypers, validation, stop, *, shape):
    """Train every member one epoch per row of ``orders`` (``[epochs, K,
    length]``), or until ``stop``.

    ``data`` is ``(X, y, w, alpha, batch_size, n_batches)``; ``validation``
    is ``(X, y, w, total, best_score)`` for each member, its rows padded with
    rows of weight zero (no rows without early stopping). Return each
    epoch's mean loss and validation score per member (``[epochs, K]``;
    no scores without early stopping), and each member's best score and the
    weights that scored it, as the engine's epochs do for one network.
    """
    X, y, w, alpha, batch_size, n_batches = data
    X_val, y_val, w_val, total_val, best_before = validation
    apply = OPTIMIZERS[shape.kind].stacked_apply
    dtype = y.dtype
    total_weight = tf.reduce_sum(w, axis=1)

    def running():
        return tf.logical_not(stop.read_value())

    def epoch(index, losses, scores, best_score, best_params):
        order = orders[index]
        hyper = hypers[index]

        def step(batch, total):
            rows = order[:, batch * batch_size : (batch + 1) * batch_size]
            w_batch = tf.gather(w, rows, batch_dims=1)
            loss, grads = shape.spec.stacked_loss_and_gradients(
                [p.read_value() for p in params],
                tf.gather(X, rows, batch_dims=1),
                tf.gather(y, rows, batch_dims=1),
                w_batch,
                alpha,
            )
            weight = tf.reduce_sum(w_batch, axis=1)
            apply(params, grads, slots, hyper, shape.nesterov, weight > 0)
            return batch + 1, total + loss * weight

        _, total = tf.while_loop(
            lambda batch, total: tf.logical_and(batch < n_batches, running()),
            step,
            (tf.constant(0), tf.zeros_like(total_weight)),
        )
        losses = losses.write(index, total / total_weight)
        if shape.validate:
            current = [p.read_value() for p in params]
            predicted = shape.spec.stacked_forward(current, X_val)
            score = rules.validation_r2(predicted, y_val, w_val, total_val)
            scores = scores.write(index, score)
            improved = score > best_score
            best_params = [
                tf.where(tf.reshape(improved, [-1] + [1] * (len(p.shape) - 1)), p, b)
                for p, b in zip(current, best_params)
            ]
            best_score = tf.where(improved, score, best_score)
        return index + 1, losses, scores, best_score, best_params

    # Once ``stop`` is set, each epoch left ends before its first batch, so
    # that every row of the losses is written (the caller discards them).
    n_epochs = tf.shape(orders)[0]
    _, losses, scores, best_score, best_params = tf.while_loop(
        lambda index, *_: index < n_epochs,
        epoch,
        (
            tf.constant(0),
            tf.TensorArray(dtype, size=n_epochs),
            tf.TensorArray(dtype, size=n_epochs) if shape.validate else tf.zeros([0, 0], dtype),
            best_before,
            [tf.identity(p) for p in params] if shape.validate else [],
        ),
    )
    return losses.stack(), scores.stack() if shape.validate else scores, best_score, best_params


#: The compiled stacked epochs, one ``tf.function`` per :class:`StackShape`.
compiled_stacks = BoundedCompiled(_run_stacked_epochs)


def _traced(shape, group):
    """The stacked epochs for ``shape``, traced with the numbers of members,
    rows and epochs left open; a trace that fails is not kept."""
    function = compiled_stacks(shape=shape)
    dtype, spec = group.dtype, shape.spec
    data = (
        tf.TensorSpec([None, None, spec.n_inputs], dtype),
        tf.TensorSpec([None, None, spec.n_outputs], dtype),
        tf.TensorSpec([None, None], dtype),
        tf.TensorSpec([None], dtype),
        tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.int32),
    )
    validation = (
        tf.TensorSpec([None, None, spec.n_inputs], dtype),
        tf.TensorSpec([None, None, spec.n_outputs], dtype),
        tf.TensorSpec([None, None], dtype),
        tf.TensorSpec([None, spec.n_outputs], dtype),
        tf.TensorSpec([None], dtype),
    )
    n_hyperparameters = len(group.optimizers[0].hyperparameters())
    try:
        function.get_concrete_function(
            group.params,
            group.slots,
            data,
            tf.TensorSpec([None, None, None], tf.int32),
            tf.TensorSpec([None, None, n_hyperparameters], dtype),
            validation,
            group.stop,
        )
    except BaseException:
        compiled_stacks.forget(function)
        raise
    return function


def _stack(arrays, length, fill=None):
    """Arrays of different numbers of rows as one ``[K, length, ...]`` array,
    padded with ``fill``, or without it with copies of each array's first
    row: a padding row weighs zero, and a real row keeps every unit's input
    in its domain (a log unit given zeros would make the loss NaN)."""
    first = arrays[0]
    stacked = np.zeros((len(arrays), length, *first.shape[1:]), first.dtype)
    for index, array in enumerate(arrays):
        stacked[index, : len(array)] = array
        stacked[index, len(array) :] = array[0] if fill is None else fill
    return stacked


class _Group:
    """The live members of a group, their stacked variables and data."""

    def __init__(self, members):
        spec, settings = members[0].spec, members[0].settings
        self.members = list(members)
        self.dtype = tf.as_dtype(members[0].data.y.dtype)
        self.kind = settings.solver
        self.validate = members[0].data.validation is not None
        self.shape = StackShape(
            spec, self.kind, bool(settings.solver == "sgd" and settings.nesterov), self.validate
        )
        self.batch_size = members[0].data.batch_size
        self.rows = max(m.data.n_samples for m in members)  # row `rows` is a padding row
        self.length = -(-self.rows // self.batch_size) * self.batch_size
        self.optimizers = [OPTIMIZERS[self.kind].without_state(m.settings) for m in members]
        self.orders = [np.arange(m.data.n_samples, dtype=np.int32) for m in members]
        self._build(members)

    def _build(self, members):
        """The stacked variables, data and traced epochs."""
        self.stop = tf.Variable(False)
        n_weights = len(members[0].start.weights)
        self.params = [
            size_free_variable(np.stack([m.start.weights[j] for m in members]), self.dtype)
            for j in range(n_weights)
        ]
        per_weight = 2 if self.kind == "adam" else 1
        self.slots = [
            size_free_variable(np.zeros_like(p.numpy()), self.dtype)
            for _ in range(per_weight)
            for p in self.params
        ]
        if self.kind == "adam":
            self.slots.append(size_free_variable(np.zeros(len(members)), self.dtype))
        self._data_of(members)
        self.run = _traced(self.shape, self)

    def _data_of(self, members):
        data = [m.data for m in members]
        self.X = tf.constant(_stack([d.X for d in data], self.rows + 1), self.dtype)
        self.y = tf.constant(_stack([d.y for d in data], self.rows + 1), self.dtype)
        self.w = tf.constant(_stack([d.w for d in data], self.rows + 1, fill=0.0), self.dtype)
        self.alpha = tf.constant([m.settings.alpha for m in members], self.dtype)
        n_inputs, n_outputs = data[0].X.shape[1], data[0].y.shape[1]
        if not self.validate:
            self.validation = (
                tf.zeros([len(members), 0, n_inputs], self.dtype),
                tf.zeros([len(members), 0, n_outputs], self.dtype),
                tf.zeros([len(members), 0], self.dtype),
                tf.zeros([len(members), n_outputs], self.dtype),
            )
            return
        held_out = [d.validation for d in data]
        rows = max(len(v.w) for v in held_out)
        self.validation = (
            tf.constant(_stack([v.X for v in held_out], rows), self.dtype),
            tf.constant(_stack([v.y for v in held_out], rows), self.dtype),
            tf.constant(_stack([v.w for v in held_out], rows, fill=0.0), self.dtype),
            tf.constant(
                np.stack([rules.total_sum_of_squares(v.y, v.w) for v in held_out]), self.dtype
            ),
        )

    def epochs_per_call(self, pace):
        limits = [_epochs_per_call(m.start.record, m.settings, self.length) for m in self.members]
        return min(*limits, pace.epochs())

    def plan(self, n_epochs):
        """Each member's next epochs: orders ``[epochs, K, length]`` and
        hyperparameters ``[epochs, K, H]``, drawn as the engine draws them."""
        orders = np.full((n_epochs, len(self.members), self.length), self.rows, np.int32)
        hypers = []
        for k, (member, optimizer) in enumerate(zip(self.members, self.optimizers)):
            n, t = member.data.n_samples, member.start.record.t
            member_hypers = []
            for ahead in range(n_epochs):
                if member.settings.shuffle:
                    self.orders[k] = shuffled(self.orders[k], member.start.random_state)
                orders[ahead, k, :n] = self.orders[k]
                member_hypers.append(optimizer.hyperparameters())
                optimizer.iteration_ends(t + (ahead + 1) * n)
            hypers.append(member_hypers)
        hypers = np.transpose(np.array(hypers, dtype=self.dtype.as_numpy_dtype), (1, 0, 2))
        return orders, hypers

    def best_scores(self):
        """Each member's best validation score so far (-inf before the first)."""
        scores = [m.start.record.best_validation_score for m in self.members]
        return np.array([-np.inf if s is None else s for s in scores])

    def call(self, orders, hypers, best_before):
        """Run the epochs of ``orders``; return the losses ``[epochs, K]``,
        the scores, and each member's best score and weights (NumPy)."""
        n_batches = tf.constant(self.length // self.batch_size)
        data = (self.X, self.y, self.w, self.alpha, tf.constant(self.batch_size), n_batches)
        validation = (*self.validation, tf.constant(best_before, self.dtype))
        orders, hypers = tf.constant(orders), tf.constant(hypers)
        losses, scores, best_score, best_params = self.run(
            self.params, self.slots, data, orders, hypers, validation, self.stop
        )
        return losses.numpy(), scores.numpy(), best_score.numpy(), [b.numpy() for b in best_params]

    def trained(self, k, stopped):
        """Member ``k``'s weights, optimizer state and record, as its own
        back-end returns them: with early stopping, as MLPRegressor, the best
        epoch's weights (or the starting ones); otherwise the last."""
        member = self.members[k]
        record = member.start.record
        last, state = self._arrays_of(k)
        if self.validate:
            weights = [np.array(b) for b in record.best_weights or member.start.weights]
        else:
            weights = last
        return TrainedTogether(Trained(record, weights, state), stopped)

    def _arrays_of(self, k):
        """Member ``k``'s last weights and optimizer state, as NumPy arrays."""
        return [np.array(p[k].numpy()) for p in self.params], [
            np.array(s[k].numpy()) for s in self.slots
        ]

    def keep(self, kept):
        """Go on with the members at positions ``kept`` only."""
        self._keep_arrays(kept)
        self.members = [self.members[k] for k in kept]
        self.optimizers = [self.optimizers[k] for k in kept]
        self.orders = [self.orders[k] for k in kept]

    def _keep_arrays(self, kept):
        index = tf.constant(kept, tf.int32)
        for variable in [*self.params, *self.slots]:
            variable.assign(tf.gather(variable, index))
        self.X, self.y, self.w, self.alpha = (
            tf.gather(tensor, index) for tensor in (self.X, self.y, self.w, self.alpha)
        )
        self.validation = tuple(tf.gather(tensor, index) for tensor in self.validation)


class _NumpyGroup(_Group):
    """A group whose epochs run on NumPy (:mod:`.stacked_numpy`)."""

    def _build(self, members):
        dtype = self.dtype.as_numpy_dtype
        data = [m.data for m in members]
        params = [
            np.stack([m.start.weights[j] for m in members]).astype(dtype)
            for j in range(len(members[0].start.weights))
        ]
        per_weight = 2 if self.kind == "adam" else 1
        slots = [np.zeros_like(p) for _ in range(per_weight) for p in params]
        if self.kind == "adam":
            slots.append(np.zeros(len(members), dtype))
        arrays = (
            _stack([d.X for d in data], self.rows + 1).astype(dtype, copy=False),
            _stack([d.y for d in data], self.rows + 1).astype(dtype, copy=False),
            _stack([d.w for d in data], self.rows + 1, fill=0.0).astype(dtype, copy=False),
            np.array([m.settings.alpha for m in members], dtype),
        )
        n_inputs, n_outputs = data[0].X.shape[1], data[0].y.shape[1]
        if self.validate:
            held_out = [d.validation for d in data]
            rows = max(len(v.w) for v in held_out)
            validation = (
                _stack([v.X for v in held_out], rows).astype(dtype, copy=False),
                _stack([v.y for v in held_out], rows).astype(dtype, copy=False),
                _stack([v.w for v in held_out], rows, fill=0.0).astype(dtype, copy=False),
                np.stack([rules.total_sum_of_squares(v.y, v.w) for v in held_out]).astype(dtype),
            )
        else:
            validation = (
                np.zeros((len(members), 0, n_inputs), dtype),
                np.zeros((len(members), 0, n_outputs), dtype),
                np.zeros((len(members), 0), dtype),
                np.zeros((len(members), n_outputs), dtype),
            )
        activations = [m.spec.activations for m in members]
        self.stack = stacked_numpy.NumpyStack(
            self.shape, activations, params, slots, arrays, validation
        )
        self.stop = self.stack.stop

    def call(self, orders, hypers, best_before):
        # Past the longest member's rows, ``orders`` holds only padding: the
        # last batch stops there, as short as MLPRegressor's own last batch.
        return self.stack.run(orders[:, :, : self.rows], hypers, self.batch_size, best_before)

    def _arrays_of(self, k):
        return [p[k].copy() for p in self.stack.params], [np.array(s[k]) for s in self.stack.slots]

    def _keep_arrays(self, kept):
        self.stack.keep(kept)


def _group_of(members):
    """The group of ``members``, on NumPy where it computes their network
    (:func:`sklearn_fitfn._network.numpy_forward.computes`), on TensorFlow
    otherwise."""
    if numpy_forward.computes(members[0].spec):
        return _NumpyGroup(members)
    return _Group(members)


def _book(group, results, best_before):
    """Book a call's epochs for each member, as the engine books one
    network's; return {position: outcome} for the members that are done
    (stopped, at max_iter, or failed)."""
    losses, scores, best_score, best_params = results
    done = {}
    for k, (member, optimizer) in enumerate(zip(group.members, group.optimizers)):
        record, settings = member.start.record, member.settings
        if group.validate and best_score[k] > best_before[k]:
            record.best_weights = [np.array(b[k]) for b in best_params]
        for epoch, loss in enumerate(losses[:, k]):
            score = float(scores[epoch, k]) if group.validate else None
            if not group.validate:  # early stopping scores a diverged network NaN
                try:
                    rules.check_finite_loss(loss, record.n_iter + 1, group.dtype.name)
                except ValueError as error:
                    done[k] = error
                    break
            stopped = rules.end_of_epoch(
                record, float(loss), member.data.n_samples, score, optimizer, settings
            )
            if stopped or record.n_iter >= settings.max_iter:
                done[k] = group.trained(k, stopped)
                break
    return done


def _train_group(members):
    """Train one group to the end; return each member's outcome, in order."""
    for member in members:
        member.start.record.n_iter = 0
    group = _group_of(members)
    outcomes = {}
    positions = list(range(len(members)))  # each live member's index in `members`
    pace = _Pace()
    with catch_interruption() as interruption, _block_runner(interruption, group.stop) as run:
        while group.members:
            n_epochs = group.epochs_per_call(pace)
            orders, hypers = group.plan(n_epochs)
            best_before = group.best_scores()
            started = time.perf_counter()
            results = run(functools.partial(group.call, orders, hypers, best_before))
            if interruption.requested:  # a search stops on Ctrl-C, as a loop of fits would
                raise KeyboardInterrupt
            pace.record(n_epochs, time.perf_counter() - started)
            done = _book(group, results, best_before)
            for k, outcome in done.items():
                outcomes[positions[k]] = outcome
            if done:
                kept = [k for k in range(len(group.members)) if k not in done]
                positions = [positions[k] for k in kept]
                if kept:
                    group.keep(kept)
                else:
                    group.members = []
    return [outcomes[i] for i in range(len(members))]


# -- results waiting for their member's own fit ---------------------------------

_waiting = {}
_announcements = {}  # key -> the lines to print when the first of their round is taken
_waiting_lock = threading.Lock()


def announce(keys, lines):
    """Print ``lines`` once, when the first outcome kept under one of ``keys``
    is taken (after what the search prints before its fits), or when they
    are forgotten."""
    printed = []

    def print_once():
        if not printed:
            printed.append(True)
            for line in lines:
                print(line)

    with _waiting_lock:
        for key in keys:
            _announcements[key] = print_once


def _announce(key):
    """Print what waits for ``key``'s round, once (holding the lock)."""
    print_once = _announcements.pop(key, None)
    if print_once is not None:
        print_once()


def fingerprint(member):
    """A digest of everything a member's back-end is given: every field of
    its network, settings, data (the batch size among them) and start (the
    weights, the record and the random state that will shuffle its epochs),
    whatever fields those hold. Two fits with the same fingerprint train alike."""
    digest = hashlib.blake2b(digest_size=20)
    _digest(digest, member)
    return digest.hexdigest()


def _digest(digest, value):
    """Add ``value`` to ``digest``, field by field, arrays by their bytes."""
    if isinstance(value, np.random.RandomState):
        _, keys, position, has_gauss, gauss = value.get_state()
        _digest(digest, ("RandomState", keys, position, has_gauss, gauss))
    elif isinstance(value, np.ndarray | np.generic):
        array = np.ascontiguousarray(value)
        digest.update(repr(("array", array.shape, array.dtype.str)).encode())
        digest.update(array.tobytes())
    elif scipy.sparse.issparse(value):
        value = value.tocsr()
        _digest(digest, ("sparse", value.shape, value.data, value.indices, value.indptr))
    elif isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple
        _digest(digest, (type(value).__name__, *zip(value._fields, value)))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
        _digest(digest, (type(value).__name__, *fields))
    elif isinstance(value, list | tuple):
        digest.update(f"{type(value).__name__}[{len(value)}](".encode())
        for item in value:
            _digest(digest, item)
        digest.update(b")")
    else:
        digest.update(f"{type(value).__name__}:{value!r};".encode())


def keep_for_later(keys, outcomes):
    """Keep each outcome under its member's :func:`fingerprint`, taken before
    training (which draws from the member's random state); return the keys
    kept, once per outcome. Members with the same fingerprint (candidates that
    differ only in how they name the same setting) each keep their own."""
    kept = []
    with _waiting_lock:
        for key, outcome in zip(keys, outcomes):
            if outcome is not None:
                _waiting.setdefault(key, []).append(outcome)
                kept.append(key)
    return kept


def take(member):
    """The outcome kept for this member's fit (and no longer kept), or None."""
    if not _waiting:
        return None
    key = fingerprint(member)
    with _waiting_lock:
        outcomes = _waiting.get(key)
        if not outcomes:
            return None
        outcome = outcomes.pop(0)
        if not outcomes:
            del _waiting[key]
        _announce(key)
        return outcome


def forget(keys):
    """Drop the outcomes no fit took (one per key given), and print what
    waited to be announced for them."""
    with _waiting_lock:
        for key in keys:
            _announce(key)
            outcomes = _waiting.get(key)
            if outcomes:
                outcomes.pop()
                if not outcomes:
                    del _waiting[key]
