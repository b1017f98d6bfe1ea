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
record and its stopping rule. Between compiled calls, members whose rule
stopped them, whose ``max_iter`` is reached or whose loss turned non-finite
leave the group, so that they no longer move and no longer cost.

The arithmetic is the compiled engine's, in batched form: a member's weights
equal those of fitting it alone to float rounding (batched products add in
another order), not bit for bit.
"""

import collections
import functools
import hashlib
import threading
import time
from typing import NamedTuple

import numpy as np

from .._quiet.tensorflow import tf
from . import record as rules
from .compiled import BoundedCompiled, size_free_variable
from .engine import _block_runner, _epochs_per_call, _Pace, shuffled
from .interrupt import catch_interruption
from .optimizers import OPTIMIZERS
from .settings import Trained

#: Members a group needs to train together: fewer train faster alone
#: (benchmarks/SEARCH.md: 5 members of (64, 64) together took 1.02x the time
#: of one at a time in float64 and 1.10x in float32, 10 took 0.81x and 0.80x).
MIN_MEMBERS = 8

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
    """A member's training, done with its group: what its back-end would have
    returned, and whether its stopping rule ended it (for the warnings its
    own fit gives)."""

    trained: Trained
    stopped: bool


def group_key(member):
    """What members must share to train as one program, or None when this
    member trains alone: Keras's fit, L-BFGS, a sparse X, early stopping,
    ``jit_compile=True``, a warm start or ``partial_fit``."""
    settings, data = member.settings, member.data
    if settings.keras is not None or settings.solver not in OPTIMIZERS:
        return None
    if settings.incremental or member.start.optimizer_state is not None:
        return None
    if data.sparse or data.validation is not None or settings.jit_compile is True:
        return None
    nesterov = settings.nesterov if settings.solver == "sgd" else None
    return (member.spec, settings.solver, nesterov, settings.shuffle, data.batch_size)


def train_together(members, report=None):
    """Train every member that can share a program with others of its shape.

    Parameters
    ----------
    members : list of Member
    report : callable, optional
        Called as ``report(spec, n_members, seconds)`` after each group.

    Returns
    -------
    list
        For each member, in order: a :class:`TrainedTogether`, the exception
        its training raised (a non-finite loss), or None when it was not
        trained here (it trains alone, as it would have).
    """
    outcomes = [None] * len(members)
    groups = collections.defaultdict(list)
    for index, member in enumerate(members):
        key = group_key(member)
        if key is not None:
            groups[key].append(index)
    for indices in groups.values():
        if len(indices) < MIN_MEMBERS:
            continue  # they train as fast one at a time
        for chunk in _chunks(indices, members):
            started = time.perf_counter()
            for index, outcome in zip(chunk, _train_group([members[i] for i in chunk])):
                outcomes[index] = outcome
            if report is not None:
                report(members[chunk[0]].spec, len(chunk), time.perf_counter() - started)
    return outcomes


def _chunks(indices, members):
    """``indices`` in chunks whose stacked data stay within :data:`MAX_GROUP_ELEMENTS`."""
    data = members[indices[0]].data
    longest = max(members[i].data.n_samples for i in indices) + 1
    per_member = longest * (data.X.shape[1] + data.y.shape[1] + 1)
    size = max(1, MAX_GROUP_ELEMENTS // per_member)
    return [indices[start : start + size] for start in range(0, len(indices), size)]


class StackShape(NamedTuple):
    """What the stacked epochs are traced for."""

    spec: object
    kind: str
    nesterov: bool


def _run_stacked_epochs(params, slots, data, orders, hypers, stop, *, shape):
    """Train every member one epoch per row of ``orders`` (``[epochs, K,
    length]``), or until ``stop``; return each epoch's mean loss per member
    (``[epochs, K]``). ``data`` is ``(X, y, w, alpha, batch_size, n_batches)``."""
    X, y, w, alpha, batch_size, n_batches = data
    apply = OPTIMIZERS[shape.kind].stacked_apply
    dtype = y.dtype
    total_weight = tf.reduce_sum(w, axis=1)

    def running():
        return tf.logical_not(stop.read_value())

    def epoch(index, losses):
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
        return index + 1, losses.write(index, total / total_weight)

    # Once ``stop`` is set, each epoch left ends before its first batch, so
    # that every row of the losses is written (the caller discards them).
    _, losses = tf.while_loop(
        lambda index, losses: index < tf.shape(orders)[0],
        epoch,
        (tf.constant(0), tf.TensorArray(dtype, size=tf.shape(orders)[0])),
    )
    return losses.stack()


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
    n_hyperparameters = len(group.optimizers[0].hyperparameters())
    try:
        function.get_concrete_function(
            group.params,
            group.slots,
            data,
            tf.TensorSpec([None, None, None], tf.int32),
            tf.TensorSpec([None, None, n_hyperparameters], dtype),
            group.stop,
        )
    except BaseException:
        compiled_stacks.forget(function)
        raise
    return function


def _stack(arrays, length, fill=0.0):
    """Arrays of different numbers of rows as one ``[K, length, ...]`` array,
    padded with ``fill``."""
    first = arrays[0]
    stacked = np.full((len(arrays), length, *first.shape[1:]), fill, first.dtype)
    for index, array in enumerate(arrays):
        stacked[index, : len(array)] = array
    return stacked


class _Group:
    """The live members of a group, their stacked variables and data."""

    def __init__(self, members):
        spec, settings = members[0].spec, members[0].settings
        self.members = list(members)
        self.dtype = tf.as_dtype(members[0].data.y.dtype)
        self.kind = settings.solver
        self.shape = StackShape(
            spec, self.kind, bool(settings.solver == "sgd" and settings.nesterov)
        )
        self.batch_size = members[0].data.batch_size
        self.rows = max(m.data.n_samples for m in members)  # row `rows` is a padding row
        self.length = -(-self.rows // self.batch_size) * self.batch_size
        self.optimizers = [OPTIMIZERS[self.kind].without_state(m.settings) for m in members]
        self.orders = [np.arange(m.data.n_samples, dtype=np.int32) for m in members]
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
        self.w = tf.constant(_stack([d.w for d in data], self.rows + 1), self.dtype)
        self.alpha = tf.constant([m.settings.alpha for m in members], self.dtype)

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
        return tf.constant(orders), tf.constant(hypers)

    def call(self, orders, hypers):
        n_batches = tf.constant(self.length // self.batch_size)
        data = (self.X, self.y, self.w, self.alpha, tf.constant(self.batch_size), n_batches)
        return self.run(self.params, self.slots, data, orders, hypers, self.stop).numpy()

    def trained(self, k, stopped):
        """Member ``k``'s weights, optimizer state and record, as its own back-end returns them."""
        member = self.members[k]
        weights = [np.array(p[k].numpy()) for p in self.params]
        state = [np.array(s[k].numpy()) for s in self.slots]
        record = member.start.record
        return TrainedTogether(Trained(record, weights, state), stopped)

    def keep(self, kept):
        """Go on with the members at positions ``kept`` only."""
        index = tf.constant(kept, tf.int32)
        for variable in [*self.params, *self.slots]:
            variable.assign(tf.gather(variable, index))
        self.members = [self.members[k] for k in kept]
        self.optimizers = [self.optimizers[k] for k in kept]
        self.orders = [self.orders[k] for k in kept]
        self.X, self.y, self.w, self.alpha = (
            tf.gather(tensor, index) for tensor in (self.X, self.y, self.w, self.alpha)
        )


def _book(group, losses):
    """Book a call's epochs for each member; return {position: outcome} for
    the members that are done (stopped, at max_iter, or failed)."""
    done = {}
    for k, (member, optimizer) in enumerate(zip(group.members, group.optimizers)):
        record, settings = member.start.record, member.settings
        for loss in losses[:, k]:
            try:
                rules.check_finite_loss(loss, record.n_iter + 1, group.dtype.name)
            except ValueError as error:
                done[k] = error
                break
            stopped = rules.end_of_epoch(
                record, float(loss), member.data.n_samples, None, optimizer, settings
            )
            if stopped or record.n_iter >= settings.max_iter:
                done[k] = group.trained(k, stopped)
                break
    return done


def _train_group(members):
    """Train one group to the end; return each member's outcome, in order."""
    for member in members:
        member.start.record.n_iter = 0
    group = _Group(members)
    outcomes = {}
    positions = list(range(len(members)))  # each live member's index in `members`
    pace = _Pace()
    with catch_interruption() as interruption, _block_runner(interruption, group.stop) as run:
        while group.members:
            n_epochs = group.epochs_per_call(pace)
            orders, hypers = group.plan(n_epochs)
            started = time.perf_counter()
            losses = run(functools.partial(group.call, orders, hypers))
            if interruption.requested:  # a search stops on Ctrl-C, as a loop of fits would
                raise KeyboardInterrupt
            pace.record(n_epochs, time.perf_counter() - started)
            done = _book(group, losses)
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
_waiting_lock = threading.Lock()


def fingerprint(member):
    """A digest of everything that decides a member's training: the network,
    the settings, the rows, the starting weights and the random state that
    will shuffle its epochs. Two fits with the same fingerprint train alike."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr((member.spec, member.settings)).encode())
    data, start = member.data, member.start
    for array in [data.X, data.y, data.w, *start.weights]:
        array = np.ascontiguousarray(array)
        digest.update(repr((array.shape, array.dtype.str)).encode())
        digest.update(array.tobytes())
    _, keys, position, *_ = start.random_state.get_state()
    digest.update(keys.tobytes() + repr(position).encode())
    return digest.hexdigest()


def keep_for_later(keys, outcomes):
    """Keep each outcome under its member's :func:`fingerprint`, taken before
    training (which draws from the member's random state); return the keys
    kept."""
    kept = []
    with _waiting_lock:
        for key, outcome in zip(keys, outcomes):
            if outcome is not None:
                _waiting[key] = outcome
                kept.append(key)
    return kept


def take(member):
    """The outcome kept for this member's fit (and no longer kept), or None."""
    if not _waiting:
        return None
    key = fingerprint(member)
    with _waiting_lock:
        return _waiting.pop(key, None)


def forget(keys):
    """Drop the outcomes no fit took."""
    with _waiting_lock:
        for key in keys:
            _waiting.pop(key, None)
