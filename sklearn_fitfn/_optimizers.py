"""Adam and SGD with scikit-learn's update rules, state kept in TensorFlow variables.

Each optimizer has two halves: a Python object that owns the state and the
per-epoch learning-rate schedule (exactly as in scikit-learn's
``_stochastic_optimizers``), and a pure ``apply`` function that the compiled
training step calls with that state passed in as arguments, so one compiled
step serves every model of the same shape.
"""

import numpy as np
import tensorflow as tf


class _Optimizer:
    """State, hyperparameters and learning-rate schedule shared by both solvers."""

    def __init__(self, params, learning_rate_init, state=None):
        self.learning_rate = float(learning_rate_init)
        shapes = [p.shape for p in params]
        dtype = params[0].dtype
        if state is None:
            state = [np.zeros(s, dtype.as_numpy_dtype) for s in self._slot_shapes(shapes)]
        self.slots = [tf.Variable(value, dtype=dtype) for value in state]

    def state(self):
        """Return the optimizer's state as numpy arrays (for pickling and resuming)."""
        return [slot.numpy() for slot in self.slots]

    def iteration_ends(self, time_step):
        """Update the learning rate after an epoch; ``time_step`` counts samples seen."""

    def trigger_stopping(self, message, verbose):
        """Decide whether training stops after ``n_iter_no_change`` flat epochs."""
        if verbose:
            print(message + " Stopping.")
        return True


class Adam(_Optimizer):
    """Adam as in scikit-learn (Kingma and Ba, 2014), bias-corrected step size."""

    kind = "adam"

    def __init__(self, params, learning_rate_init, beta_1, beta_2, epsilon, state=None):
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        super().__init__(params, learning_rate_init, state)

    @staticmethod
    def _slot_shapes(shapes):
        return [*shapes, *shapes, ()]  # first moments, second moments, step count

    def hyperparameters(self):
        return [self.learning_rate, self.beta_1, self.beta_2, self.epsilon]

    @staticmethod
    def apply(params, grads, slots, hyper, nesterov):
        learning_rate_init, beta_1, beta_2, epsilon = tf.unstack(hyper)
        n = len(params)
        first, second, step = slots[:n], slots[n : 2 * n], slots[2 * n]
        step.assign_add(tf.ones_like(step))
        learning_rate = (
            learning_rate_init
            * tf.sqrt(1 - tf.pow(beta_2, step))
            / (1 - tf.pow(beta_1, step))
        )
        keep_1, keep_2 = 1 - beta_1, 1 - beta_2
        for param, grad, m, v in zip(params, grads, first, second):
            m_new = beta_1 * m + keep_1 * grad
            v_new = beta_2 * v + keep_2 * tf.square(grad)
            m.assign(m_new)
            v.assign(v_new)
            param.assign_sub(learning_rate * m_new / (tf.sqrt(v_new) + epsilon))


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum and scikit-learn's schedules."""

    kind = "sgd"

    def __init__(
        self,
        params,
        learning_rate_init,
        learning_rate,
        momentum,
        nesterovs_momentum,
        power_t,
        state=None,
    ):
        self.learning_rate_init = float(learning_rate_init)
        self.lr_schedule = learning_rate
        self.momentum = momentum
        self.nesterov = bool(nesterovs_momentum)
        self.power_t = power_t
        super().__init__(params, learning_rate_init, state)

    @staticmethod
    def _slot_shapes(shapes):
        return list(shapes)  # velocities

    def hyperparameters(self):
        return [self.learning_rate, self.momentum]

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, message, verbose):
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(message, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(message + f" Setting learning rate to {self.learning_rate:f}")
        return False

    @staticmethod
    def apply(params, grads, slots, hyper, nesterov):
        learning_rate, momentum = tf.unstack(hyper)
        for param, grad, velocity in zip(params, grads, slots):
            updated = momentum * velocity - learning_rate * grad
            velocity.assign(updated)
            if nesterov:
                param.assign_add(momentum * updated - learning_rate * grad)
            else:
                param.assign_add(updated)


OPTIMIZERS = {"adam": Adam, "sgd": SGD}
