"""The stacked epochs on NumPy and OpenBLAS: the same arithmetic as
:func:`.stacked._run_stacked_epochs`, for the shapes where NumPy is faster.

A stacked step is a handful of batched products of small matrices
(``[K, batch, units] x [K, units, units]``) and many elementwise passes over
arrays of the same size. For float64, OpenBLAS multiplies these shapes about
3x faster than TensorFlow's batched products, which run on Eigen
(docs/performance.md, "Searches that train their members together"), and
NumPy's elementwise passes over arrays that fit in cache cost about as much
as TensorFlow's. So for networks of scikit-learn's activations and its
squared error, the group's epochs run here: every array of the step is
preallocated per batch length and overwritten in place, and the products
run on one BLAS thread, which is as fast for these shapes and does not stall
beside other work (:mod:`.blas`). The cores go to the members instead: a
group whose step has work enough trains in as many parts as the process has
cores, each on a thread of its own (:meth:`NumpyStack.run`).

The formulas are those of ``NetworkSpec.stacked_loss_and_gradients`` and
the optimizers' ``stacked_apply``: each member's loss and gradients over
its own rows of the batch, with its own L2 penalty and hyperparameters; a
member whose batch holds only padding rows (weight zero) does not move.
"""

import concurrent.futures
import copy

import numpy as np

from .._network.numpy_forward import ACTIVATIONS
from . import record as rules
from .blas import one_blas_thread

#: The fewest members a thread trains: below it, a group trains on one thread.
MIN_MEMBERS_PER_THREAD = 2

#: The fewest multiply-adds of a thread's products per float64 step (twice as
#: many in float32, which NumPy computes twice as fast). Below it, the time
#: each NumPy call holds the GIL outweighs the second core: measured on 2
#: cores, a group of 20 members of (16,) on 200 rows took 1.29x its one-thread
#: time in two parts, and 4 of (64, 64) 1.02x (1.9 million a part), where 6
#: of (64, 64) took 0.88x (2.9 million) and 20 took 0.64x (float32: 0.99x at
#: 3 of (64, 64) a part, 0.94x at 6 and 0.75x at 10).
MIN_MULTIPLY_ADDS_PER_THREAD = 2_500_000

#: The derivatives of the activations NumPy computes
#: (:data:`.numpy_forward.ACTIVATIONS`), from their values, written to ``out``.
_SLOPE = {
    "relu": lambda a, out: np.greater(a, 0, out=out),
    "tanh": lambda a, out: np.subtract(1, np.square(a, out=out), out=out),
    "sigmoid": lambda a, out: np.multiply(a, np.subtract(1, a, out=out), out=out),
}


class StoppedFlag:
    """The stop request of a running call: set from the main thread on
    Ctrl-C, read before each mini-batch (the engine's ``tf.Variable`` role)."""

    def __init__(self):
        self.value = False

    def assign(self, value):
        self.value = bool(value)

    def read_value(self):
        return self.value


class _Workspace:
    """The arrays of one step for batches of ``rows`` rows, reused."""

    def __init__(self, spec, n_members, rows, dtype):
        units = spec.layer_units
        self.layer_outputs = [np.empty((n_members, rows, u), dtype) for u in units[1:]]
        self.deltas = [np.empty((n_members, rows, u), dtype) for u in units[1:]]
        self.slopes = [np.empty((n_members, rows, u), dtype) for u in units[1:-1]]
        # A bias's gradient is the sum of its rows of delta: a product with a
        # row of ones, which BLAS gives faster than NumPy's sum over the axis.
        self.ones = np.ones((1, rows), dtype)


def _squared_norms(kernels):
    """Each member's sum of squared entries of ``kernels`` (``[K, in, out]``)."""
    rows = kernels.reshape(kernels.shape[0], 1, -1)
    return np.matmul(rows, rows.transpose(0, 2, 1))[:, 0, 0]


def _runs(activations):
    """``(members, activations)`` for each run of consecutive members with
    the same activations, ``members`` a slice: the views each activation is
    written through, in place."""
    runs, start = [], 0
    for end in range(1, len(activations) + 1):
        if end == len(activations) or activations[end] != activations[start]:
            runs.append((slice(start, end), activations[start]))
            start = end
    return runs


def _views(flat, shapes):
    """Views of ``flat`` (``[K, P]``) as arrays ``[K, *shape]``, in order."""
    views, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[:, start : start + size].reshape(flat.shape[0], *shape))
        start += size
    return views


def _rows_of(stacked, rows, n_members):
    """The rows at flat positions ``rows`` of ``stacked`` (``[K, R, ...]``,
    contiguous), as ``[K, len(rows) // K, ...]``: one gather of whole rows,
    where indexing both axes at once would gather element by element."""
    flat = stacked.reshape(-1, *stacked.shape[2:])
    return np.take(flat, rows, axis=0).reshape(n_members, -1, *stacked.shape[2:])


class NumpyStack:
    """The stacked network's weights, optimizer state and data as NumPy
    arrays, and its epochs.

    Each member's weights are one row of a flat ``[K, P]`` array, with a
    view per layer's kernel and bias, and so are its gradients and its
    optimizer's moments: the optimizer's step is a dozen passes over whole
    arrays, whatever the number of layers.

    Parameters
    ----------
    shape : StackShape
    activations : list of tuple of str
        Each member's hidden activations (Keras names): members of one
        shape may differ in them, each layer applying each run of members'
        own activation to their rows of the stacked arrays.
    params, slots : list of ndarray
        Weights ``[K, ...]`` and the optimizer's state (Adam: first and
        second moments, then the step counts ``[K]``; SGD: velocities).
    data : tuple
        ``(X, y, w, alpha)`` stacked ``[K, rows + 1, ...]`` (the last row
        pads), and ``alpha`` ``[K]``.
    validation : tuple
        ``(X, y, w, total)`` of each member's held-out rows, or empty arrays.
    """

    def __init__(self, shape, activations, params, slots, data, validation):
        self.shape = shape
        self.activations = list(activations)
        self._shapes = [p.shape[1:] for p in params]
        n = len(params)
        self.flat = self._flatten(params)
        per_array = len(slots) // n
        self.moments = [self._flatten(slots[i * n : (i + 1) * n]) for i in range(per_array)]
        self.steps = slots[per_array * n] if len(slots) > per_array * n else None
        self.X, self.y, self.w, self.alpha = (np.ascontiguousarray(a) for a in data)
        self.validation = validation
        self.stop = StoppedFlag()
        self._workspaces = {}
        self._views()

    @staticmethod
    def _flatten(arrays):
        return np.concatenate([a.reshape(a.shape[0], -1) for a in arrays], axis=1)

    def _views(self):
        self._runs = _runs(self.activations)
        self.params = _views(self.flat, self._shapes)
        self.gradient = np.empty_like(self.flat)
        self.grads = _views(self.gradient, self._shapes)
        self._scratch = np.empty_like(self.flat)

    @property
    def slots(self):
        """The optimizer's state as the engine gives it: per weight, then scalars."""
        per_array = [view for flat in self.moments for view in _views(flat, self._shapes)]
        return per_array + ([] if self.steps is None else [self.steps])

    def keep(self, kept):
        """Go on with the members at positions ``kept`` only."""
        self.flat = self.flat[kept]
        self.moments = [m[kept] for m in self.moments]
        if self.steps is not None:
            self.steps = self.steps[kept]
        self.X, self.y, self.w, self.alpha = (a[kept] for a in (self.X, self.y, self.w, self.alpha))
        self.validation = tuple(a[kept] for a in self.validation)
        self.activations = [self.activations[k] for k in kept]
        self._workspaces = {}
        self._views()

    def run(self, orders, hypers, batch_size, best_before):
        """Train one epoch per row of ``orders`` (``[epochs, K, length]``),
        until :attr:`stop` is set; as ``_run_stacked_epochs``, return each
        epoch's mean loss and validation score per member (``[epochs, K]``)
        and each member's best score and the weights that scored it.

        The members never meet: with more than one core free, they train in
        as many parts as cores (of at least :data:`MIN_MEMBERS_PER_THREAD`
        members and :data:`MIN_MULTIPLY_ADDS_PER_THREAD` multiply-adds a
        step), each part on a thread of its own, writing to its rows of
        the stacked arrays; NumPy lets go of the GIL in its products and
        passes. Unlike BLAS's own threads, these wait for nothing but their
        own work, so a busy machine slows them only by the cores it takes
        (docs/performance.md, "The route").
        """
        with one_blas_thread() as cores:
            n_members = orders.shape[1]
            n_parts = min(
                cores,
                n_members // MIN_MEMBERS_PER_THREAD,
                self._threads_worth(n_members, min(batch_size, orders.shape[2])),
            )
            if n_parts <= 1:
                return self._run(orders, hypers, batch_size, best_before)
            bounds = np.linspace(0, orders.shape[1], n_parts + 1).astype(int)
            parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
            with concurrent.futures.ThreadPoolExecutor(n_parts) as pool:
                results = list(
                    pool.map(
                        lambda members: self._part(members)._run(
                            orders[:, members],
                            hypers[:, members],
                            batch_size,
                            np.asarray(best_before)[members],
                        ),
                        parts,
                    )
                )
        losses, scores, best_score, best = zip(*results)
        return (
            np.concatenate(losses, axis=1),
            np.concatenate(scores, axis=1) if self.shape.validate else scores[0],
            np.concatenate(best_score),
            [np.concatenate(views) for views in zip(*best)],
        )

    def _threads_worth(self, n_members, rows):
        """The threads a step of ``rows`` rows for ``n_members`` keeps busy
        enough to gain from (:data:`MIN_MULTIPLY_ADDS_PER_THREAD`)."""
        per_row = sum(int(np.prod(kernel)) for kernel in self._shapes[0::2])
        needed = MIN_MULTIPLY_ADDS_PER_THREAD * 8 / self.flat.dtype.itemsize
        return int(n_members * rows * per_row // needed)

    def _part(self, members):
        """This stack's ``members`` (a slice), sharing its arrays: what the
        part trains is written to this stack's rows."""
        part = copy.copy(self)
        part.flat = self.flat[members]
        part.moments = [m[members] for m in self.moments]
        part.steps = None if self.steps is None else self.steps[members]
        part.X, part.y, part.w, part.alpha = (
            a[members] for a in (self.X, self.y, self.w, self.alpha)
        )
        part.validation = tuple(a[members] for a in self.validation)
        part.activations = self.activations[members]
        part._workspaces = {}
        part._views()
        return part

    def _run(self, orders, hypers, batch_size, best_before):
        n_epochs, n_members, length = orders.shape
        losses = np.zeros((n_epochs, n_members), self.y.dtype)
        scores = np.zeros((n_epochs, n_members) if self.shape.validate else (0, 0), self.y.dtype)
        best_score = np.array(best_before, self.y.dtype)
        best_flat = self.flat.copy()
        total_weight = self.w.sum(axis=1)
        first_rows = np.arange(n_members)[:, None] * self.w.shape[1]
        # A member that diverges is reported by its record (the engine's
        # non-finite loss error), not by NumPy's warnings.
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            for epoch in range(n_epochs):
                total = np.zeros(n_members, self.y.dtype)
                for start in range(0, length, batch_size):
                    if self.stop.read_value():
                        return losses, scores, best_score, self._best(best_flat)
                    rows = (first_rows + orders[epoch][:, start : start + batch_size]).ravel()
                    X_batch, y_batch, w_batch = (
                        _rows_of(a, rows, n_members) for a in (self.X, self.y, self.w)
                    )
                    loss = self._loss_and_gradients(X_batch, y_batch, w_batch)
                    weight = w_batch.sum(axis=1)
                    self._apply(hypers[epoch], weight > 0)
                    total += loss * weight
                losses[epoch] = total / total_weight
                if self.shape.validate:
                    scores[epoch] = self._score()
                    improved = scores[epoch] > best_score
                    best_flat[improved] = self.flat[improved]
                    best_score = np.where(improved, scores[epoch], best_score)
        return losses, scores, best_score, self._best(best_flat)

    def _best(self, best_flat):
        return _views(best_flat, self._shapes) if self.shape.validate else []

    def _workspace(self, rows):
        if rows not in self._workspaces:
            n_members, dtype = self.flat.shape[0], self.flat.dtype
            self._workspaces[rows] = _Workspace(self.shape.spec, n_members, rows, dtype)
        return self._workspaces[rows]

    def _forward(self, X, outputs=None):
        spec, params = self.shape.spec, self.params
        hidden = X
        for layer in range(len(params) // 2):
            out = None if outputs is None else outputs[layer]
            hidden = np.matmul(hidden, params[2 * layer], out=out)
            hidden += params[2 * layer + 1][:, None, :]
            if layer < len(spec.hidden_layer_sizes):
                for members, activations in self._runs:
                    ACTIVATIONS[activations[layer]](hidden[members])
        return hidden

    def _loss_and_gradients(self, X, y, w):
        """``NetworkSpec.stacked_loss_and_gradients`` for the squared error:
        the loss per member, the gradients written to :attr:`grads`."""
        params, grads = self.params, self.grads
        space = self._workspace(X.shape[1])
        predicted = self._forward(X, space.layer_outputs)
        kernels = params[0::2]
        weight_sum = w.sum(axis=1)
        weight_sum = np.where(weight_sum > 0, weight_sum, 1)
        penalty = sum(_squared_norms(kernel) for kernel in kernels)
        residual = np.subtract(predicted, y, out=space.deltas[-1])
        squared = np.mean(np.square(residual), axis=2)
        loss = (0.5 * np.sum(w * squared, axis=1) + 0.5 * self.alpha * penalty) / weight_sum
        delta = residual
        delta *= (w / (y.shape[2] * weight_sum[:, None]))[:, :, None]
        decay = (self.alpha / weight_sum)[:, None, None]
        inputs = [X, *space.layer_outputs[:-1]]
        for layer in reversed(range(len(kernels))):
            np.matmul(inputs[layer].transpose(0, 2, 1), delta, out=grads[2 * layer])
            grads[2 * layer] += decay * kernels[layer]
            np.matmul(space.ones, delta, out=grads[2 * layer + 1][:, None, :])
            if layer > 0:
                upstream = space.deltas[layer - 1]
                if delta.shape[2] == 1:  # a product with one column is an outer product
                    np.multiply(delta, kernels[layer][:, None, :, 0], out=upstream)
                else:
                    np.matmul(delta, kernels[layer].transpose(0, 2, 1), out=upstream)
                for members, activations in self._runs:
                    activation = activations[layer - 1]
                    if activation != "linear":
                        slope = _SLOPE[activation](
                            inputs[layer][members], space.slopes[layer - 1][members]
                        )
                        np.multiply(upstream[members], slope, out=upstream[members])
                delta = upstream
        return loss

    def _apply(self, hyper, moving):
        """The optimizer's ``stacked_apply``: a step for the members that
        move; the others' weights and state are put back as they were."""
        still = ~moving
        if still.any():
            kept = [self.flat[still], *(m[still] for m in self.moments)]
        if self.shape.kind == "adam":
            self._adam(hyper, moving)
        else:
            self._sgd(hyper)
        if still.any():
            for array, values in zip([self.flat, *self.moments], kept):
                array[still] = values

    def _adam(self, hyper, moving):
        learning_rate_init, beta_1, beta_2, epsilon = (h[:, None] for h in hyper.T)
        first, second = self.moments
        self.steps += moving
        step = self.steps[:, None]
        rate = learning_rate_init * np.sqrt(1 - beta_2**step) / (1 - beta_1**step)
        gradient, scratch = self.gradient, self._scratch
        first *= beta_1
        first += np.multiply(1 - beta_1, gradient, out=scratch)
        second *= beta_2
        np.square(gradient, out=scratch)
        scratch *= 1 - beta_2
        second += scratch
        np.sqrt(second, out=scratch)
        scratch += epsilon
        np.divide(first, scratch, out=scratch)
        scratch *= rate
        self.flat -= scratch

    def _sgd(self, hyper):
        learning_rate, momentum = (h[:, None] for h in hyper.T)
        (velocity,) = self.moments
        velocity *= momentum
        velocity -= np.multiply(learning_rate, self.gradient, out=self._scratch)
        if self.shape.nesterov:
            self.flat += momentum * velocity - self._scratch
        else:
            self.flat += velocity

    def _score(self):
        X_val, y_val, w_val, total = self.validation
        predicted = self._forward(X_val)
        return np.asarray(rules.validation_r2(predicted, y_val, w_val, total))
