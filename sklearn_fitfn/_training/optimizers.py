"""Adam and SGD with scikit-learn's update rules, state kept in TensorFlow variables.

Each optimizer has two halves: a Python object that owns the state and the
per-epoch learning-rate schedule (exactly as in scikit-learn's
``_stochastic_optimizers``), and a pure ``apply`` function that the compiled
training step calls with that state passed in as arguments, so one compiled
step serves every model of the same shape.
"""

import numpy as np

from .._quiet.tensorflow import tf
from .compiled import size_free_variable


class LearningRateSchedule:
    """scikit-learn's learning-rate schedules, stepped once per epoch.

    ``"constant"`` keeps ``learning_rate_init``; ``"invscaling"`` divides it
    by ``(t + 1) ** power_t`` with ``t`` the samples seen; ``"adaptive"``
    divides it by 5 each time ``n_iter_no_change`` epochs go by without
    improvement, and stops training once it falls to 1e-6. The compiled
    engine and the Keras path both step their optimizer through one of these.
    """

    def __init__(self, learning_rate_init, schedule="constant", power_t=0.5):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.schedule = schedule
        self.power_t = power_t

    def iteration_ends(self, time_step):
        """Update the learning rate after an epoch; ``time_step`` counts samples seen."""
        if self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, message, verbose):
        """Decide whether training stops after ``n_iter_no_change`` flat epochs."""
        if self.schedule != "adaptive":
            if verbose:
                print(message + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(message + f" Setting learning rate to {self.learning_rate:f}")
        return False


def _per_member(values, param):
    """``values``, one per member, shaped to broadcast against ``param``'s
    stacked ``[K, ...]`` tensor."""
    return tf.reshape(values, [-1] + [1] * (len(param.shape) - 1))


class _Optimizer:
    """State and learning-rate schedule shared by both solvers.

    Built from the fit's :class:`.settings.TrainingSettings`, of which each
    solver reads its own hyperparameters (:meth:`configure`). The state is
    held per group of a :class:`.layout.ParameterLayout` (the compiled step
    updates whole groups) and given and returned per array,
    ``[moment of kernel, moment of bias, ...] * per_array_slots + scalars``,
    whatever the layout.
    """

    def __init__(self, settings, layout, dtype, state=None):
        self.schedule = self.configure(settings)
        self.layout = layout
        if state is None:
            state = [
                np.zeros(shape, dtype.as_numpy_dtype)
                for _ in range(self.per_array_slots)
                for shape in layout.shapes
            ] + [np.zeros((), dtype.as_numpy_dtype) for _ in range(self.scalar_slots)]
        n = layout.n_arrays
        per_group = [
            vector
            for slot in range(self.per_array_slots)
            for vector in layout.pack(state[slot * n : (slot + 1) * n])
        ]
        scalars = state[self.per_array_slots * n :]
        self.slots = [size_free_variable(value, dtype) for value in per_group + scalars]

    def state(self):
        """Return the optimizer's state as numpy arrays (for pickling and resuming)."""
        values = [slot.numpy() for slot in self.slots]
        n = len(self.layout.groups)
        per_array = [
            array
            for slot in range(self.per_array_slots)
            for array in self.layout.unpack(values[slot * n : (slot + 1) * n])
        ]
        return [np.array(a) for a in per_array] + values[self.per_array_slots * n :]

    @classmethod
    def holds_state_for(cls, state, shapes):
        """Whether ``state`` (as :meth:`state` gives it) is this solver's for
        weights of ``shapes``: its moments shaped as the weights, then its
        scalars. A state of the other solver, or cut short, is not."""
        expected = [tuple(shape) for _ in range(cls.per_array_slots) for shape in shapes]
        expected += [()] * cls.scalar_slots
        return len(state) == len(expected) and all(
            np.shape(array) == shape for array, shape in zip(state, expected)
        )

    @classmethod
    def without_state(cls, settings):
        """The solver's hyperparameters and learning-rate schedule alone, with
        no variables: what each member of a stacked group keeps of its own
        (see :mod:`.stacked`)."""
        optimizer = cls.__new__(cls)
        optimizer.schedule = optimizer.configure(settings)
        return optimizer

    def iteration_ends(self, time_step):
        """Step the learning-rate schedule after an epoch."""
        self.schedule.iteration_ends(time_step)

    def trigger_stopping(self, message, verbose):
        """Decide whether training stops after ``n_iter_no_change`` flat epochs."""
        return self.schedule.trigger_stopping(message, verbose)


class Adam(_Optimizer):
    """Adam as in scikit-learn (Kingma and Ba, 2014), bias-corrected step size."""

    kind = "adam"
    per_array_slots = 2  # first and second moments
    scalar_slots = 1  # step count

    def configure(self, settings):
        """Read Adam's hyperparameters; return its (constant) schedule."""
        self.beta_1, self.beta_2, self.epsilon = settings.beta_1, settings.beta_2, settings.epsilon
        return LearningRateSchedule(settings.learning_rate_init)

    def hyperparameters(self):
        return [self.schedule.learning_rate, self.beta_1, self.beta_2, self.epsilon]

    @staticmethod
    def apply(params, grads, slots, hyper, nesterov):
        learning_rate_init, beta_1, beta_2, epsilon = tf.unstack(hyper)
        n = len(params)
        first, second, step = slots[:n], slots[n : 2 * n], slots[2 * n]
        step.assign_add(tf.ones_like(step))
        learning_rate = (
            learning_rate_init * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
        )
        keep_1, keep_2 = 1 - beta_1, 1 - beta_2
        for param, grad, m, v in zip(params, grads, first, second):
            m_new = beta_1 * m + keep_1 * grad
            v_new = beta_2 * v + keep_2 * tf.square(grad)
            m.assign(m_new)
            v.assign(v_new)
            param.assign_sub(learning_rate * m_new / (tf.sqrt(v_new) + epsilon))

    @staticmethod
    def stacked_apply(params, grads, slots, hyper, nesterov, moving):
        """:meth:`apply` for ``K`` members at once: every tensor has a leading
        axis of members, ``hyper`` is ``[K, 4]``, and only the members where
        ``moving`` is true take the step (their step count advances)."""
        learning_rate_init, beta_1, beta_2, epsilon = tf.unstack(hyper, axis=1)
        n = len(params)
        first, second, step = slots[:n], slots[n : 2 * n], slots[2 * n]
        step.assign_add(tf.cast(moving, step.dtype))
        learning_rate = (
            learning_rate_init * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
        )
        for param, grad, m, v in zip(params, grads, first, second):
            keep, b_1, b_2, rate, eps = (
                _per_member(value, param)
                for value in (moving, beta_1, beta_2, learning_rate, epsilon)
            )
            m_new = b_1 * m + (1 - b_1) * grad
            v_new = b_2 * v + (1 - b_2) * tf.square(grad)
            m.assign(tf.where(keep, m_new, m))
            v.assign(tf.where(keep, v_new, v))
            step_size = rate * m_new / (tf.sqrt(v_new) + eps)
            param.assign(tf.where(keep, param - step_size, param))


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum and scikit-learn's schedules."""

    kind = "sgd"
    per_array_slots = 1  # velocities
    scalar_slots = 0

    def configure(self, settings):
        """Read SGD's hyperparameters; return its learning-rate schedule."""
        self.momentum = settings.momentum
        self.nesterov = bool(settings.nesterov)
        return LearningRateSchedule(
            settings.learning_rate_init, settings.learning_rate, settings.power_t
        )

    def hyperparameters(self):
        return [self.schedule.learning_rate, self.momentum]

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

    @staticmethod
    def stacked_apply(params, grads, slots, hyper, nesterov, moving):
        """:meth:`apply` for ``K`` members at once (see :meth:`Adam.stacked_apply`)."""
        learning_rate, momentum = tf.unstack(hyper, axis=1)
        for param, grad, velocity in zip(params, grads, slots):
            keep, rate, push = (_per_member(v, param) for v in (moving, learning_rate, momentum))
            updated = push * velocity - rate * grad
            velocity.assign(tf.where(keep, updated, velocity))
            change = push * updated - rate * grad if nesterov else updated
            param.assign(tf.where(keep, param + change, param))


OPTIMIZERS = {"adam": Adam, "sgd": SGD}
