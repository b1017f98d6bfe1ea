"""The best case for a search: K members' Adam training as one jitted JAX
program, ``jax.vmap`` over members of the single-network program of
jax_reference.py.

Each member has its own rows (padded with rows of weight zero to the
longest member's and to whole batches), its own L2 penalty and learning
rate, its own starting weights and its own shuffles, drawn as MLPRegressor
draws them; the loss is MLPRegressor's, weighted so that padding rows count
for nothing. The whole training, every epoch and mini-batch of every member,
is one ``jax.jit`` call: XLA fuses each step's elementwise work around its
batched products. Not a dependency of the package: ``pip install ".[bench]"``.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
from jax_reference import adam_step, initial_and_orders


def _forward(params, X):
    hidden = X
    for index in range(0, len(params), 2):
        hidden = hidden @ params[index] + params[index + 1]
        if index + 2 < len(params):
            hidden = jnp.maximum(hidden, 0)
    return hidden[:, 0]


def _loss(params, X, y, w, alpha):
    total = jnp.maximum(jnp.sum(w), 1)
    penalty = sum(jnp.sum(kernel * kernel) for kernel in params[::2])
    return (0.5 * jnp.sum(w * (_forward(params, X) - y) ** 2) + 0.5 * alpha * penalty) / total


def _train_one(params, X, y, w, orders, alpha, learning_rate, batch_size):
    zeros = [jnp.zeros_like(p) for p in params]
    n_batches = orders.shape[1] // batch_size

    def step(state, rows):
        params, m, v, t = state
        grads = jax.grad(_loss)(params, X[rows], y[rows], w[rows], alpha)
        return adam_step(params, m, v, t, grads, learning_rate), None

    def epoch(state, order):
        return jax.lax.scan(step, state, order.reshape(n_batches, batch_size))

    t0 = jnp.zeros([], params[0].dtype)
    (params, _, _, _), _ = jax.lax.scan(epoch, (params, zeros, zeros, t0), orders)
    return params


def stacked_inputs(folds, sizes, epochs, batch_size, random_state=0):
    """Each member's starting weights, padded rows and orders, stacked.

    ``folds`` is a list of (X, y). A member's orders list its own rows in the
    order MLPRegressor shuffles them, then the padding row, to whole batches.
    """
    longest = max(len(y) for _, y in folds)
    length = -(-longest // batch_size) * batch_size
    params, Xs, ys, ws, orders = [], [], [], [], []
    for X, y in folds:
        initial, order = initial_and_orders(len(y), X.shape[1], sizes, epochs, random_state)
        padded = np.full((epochs, length), len(y), np.int32)
        padded[:, : len(y)] = order
        params.append(initial)
        Xs.append(np.vstack([X, np.zeros((1, X.shape[1]))]))
        ys.append(np.append(y, 0.0))
        ws.append(np.append(np.ones(len(y)), 0.0))
        orders.append(padded)
    rows = max(len(y) for y in ys)

    def pad(arrays):
        extra = [np.zeros((rows - len(a), *a.shape[1:])) for a in arrays]
        return np.stack([np.concatenate([a, more]) for a, more in zip(arrays, extra)])

    stacked_params = [np.stack([p[j] for p in params]) for j in range(len(params[0]))]
    return stacked_params, pad(Xs), pad(ys), pad(ws), np.stack(orders)


def train_members(folds, alphas, learning_rates, sizes, epochs, batch_size, dtype="float64"):
    """Train every member as one jitted program; returns (first call's
    seconds, compilation included; a second call's seconds; the weights)."""
    jax.config.update("jax_enable_x64", dtype == "float64")
    params, X, y, w, orders = stacked_inputs(folds, sizes, epochs, batch_size)
    program = jax.jit(jax.vmap(_train_one, in_axes=(0, 0, 0, 0, 0, 0, 0, None)), static_argnums=7)
    arguments = [
        [jnp.asarray(p, dtype) for p in params],
        *(jnp.asarray(a, dtype) for a in (X, y, w)),
        jnp.asarray(orders),
        jnp.asarray(alphas, dtype),
        jnp.asarray(learning_rates, dtype),
    ]
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        trained = program(*arguments, batch_size)
        jax.block_until_ready(trained)
        timings.append(time.perf_counter() - started)
    return timings[0], timings[1], [np.asarray(p) for p in trained]
