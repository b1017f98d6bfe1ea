"""The best case for the benchmarks: MLPRegressor's Adam training written as one
jitted JAX program.

The whole training (every epoch, every mini-batch) is a single ``jax.jit``
call: an outer ``lax.scan`` over epochs and an inner one over the mini-batches,
so XLA sees and fuses all of it and Python never runs between steps. It
follows MLPRegressor step by step: the same initial weights (drawn with the
same ``RandomState`` calls), the same shuffles, the half mean squared error
with ``alpha``'s L2 penalty, and scikit-learn's Adam (bias correction folded
into the learning rate). Only its round-off differs, so its held-out RMSE is
the same as MLPRegressor's to a few digits.

This is not a dependency of the package: ``pip install ".[bench]"`` installs
JAX for the benchmarks only.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils import shuffle as shuffle_indices

ALPHA = 1e-4
LEARNING_RATE = 1e-3
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-8


def initial_and_orders(n_rows, n_features, sizes, epochs, random_state):
    """MLPRegressor's initial weights (relu) and each epoch's row order, drawn as it draws them."""
    rng = check_random_state(random_state)
    units = [n_features, *sizes, 1]
    params = []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        bound = np.sqrt(6 / (fan_in + fan_out))
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        params.append(rng.uniform(-bound, bound, fan_out))
    order = np.arange(n_rows)
    orders = []
    for _ in range(epochs):
        order = shuffle_indices(order, random_state=rng)
        orders.append(order)
    return params, np.stack(orders).astype(np.int32)


def _forward(params, X):
    activations = X
    for index in range(0, len(params), 2):
        activations = activations @ params[index] + params[index + 1]
        if index + 2 < len(params):
            activations = jnp.maximum(activations, 0)
    return activations[:, 0]


def _loss(params, X, y):
    penalty = sum(jnp.sum(w * w) for w in params[::2])
    return jnp.mean((y - _forward(params, X)) ** 2) / 2 + 0.5 * ALPHA * penalty / X.shape[0]


def adam_step(params, m, v, t, grads, learning_rate):
    """One Adam step, as MLPRegressor takes it: the new ``(params, m, v, t)``."""
    t = t + 1
    m = [BETA_1 * a + (1 - BETA_1) * g for a, g in zip(m, grads)]
    v = [BETA_2 * a + (1 - BETA_2) * g * g for a, g in zip(v, grads)]
    rate = learning_rate * jnp.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
    params = [p - rate * a / (jnp.sqrt(b) + EPSILON) for p, a, b in zip(params, m, v)]
    return params, m, v, t


def _train(params, X, y, orders, batch_size):
    zeros = [jnp.zeros_like(p) for p in params]
    n_batches = orders.shape[1] // batch_size

    def step(state, batch):
        params, m, v, t = state
        grads = jax.grad(_loss)(params, X[batch], y[batch])
        return adam_step(params, m, v, t, grads, LEARNING_RATE), None

    def epoch(state, order):
        return jax.lax.scan(step, state, order.reshape(n_batches, batch_size))

    t0 = jnp.zeros([], params[0].dtype)
    (params, _, _, _), _ = jax.lax.scan(epoch, (params, zeros, zeros, t0), orders)
    return params


def fit_and_predict(X, y, X_test, sizes, epochs, batch_size=100, random_state=0, dtype="float64"):
    """Train as MLPRegressor would and predict ``X_test``; returns (seconds, second_seconds,
    predictions): the first call's time includes XLA's compilation, the second
    trains the same shape again from the same start with the program cached."""
    jax.config.update("jax_enable_x64", dtype == "float64")
    if X.shape[0] % batch_size:
        raise ValueError("the reference needs whole mini-batches")
    initial, orders = initial_and_orders(X.shape[0], X.shape[1], sizes, epochs, random_state)
    train = jax.jit(_train, static_argnums=4)
    arrays = [jnp.asarray(a, dtype) for a in (X, y)]
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        params = [jnp.asarray(p, dtype) for p in initial]
        params = train(params, *arrays, jnp.asarray(orders), batch_size)
        jax.block_until_ready(params)
        timings.append(time.perf_counter() - started)
    predicted = np.asarray(_forward(params, jnp.asarray(X_test, dtype)), dtype=np.float64)
    return timings[0], timings[1], predicted
