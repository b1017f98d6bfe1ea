"""Compiled Keras models kept between fits, so that a search on Keras's fit
neither retraces its training step nor grows.

Keras traces a model's training step the first time the model is fitted, and
TensorFlow keeps what that trace creates for the life of the process: a new
model compiled and fitted in a loop grows the process with every fit, and
pays the trace every time (docs/performance.md). Here a model,
once compiled for a network shape and a set of training settings, is lent to
every later fit with the same ones: its weights are set to the fit's starting
weights and its optimizer's variables back to the values they had when it
was first built, so the fit trains exactly as a new model would. The
learning rate and the L2 penalty are variables of the traced step, set for
each fit, so they are not part of the settings a model is kept for.

A pool keeps :data:`KEPT_SETTINGS` sets of settings (the most recently used)
and up to :data:`KEPT_PER_SETTINGS` idle models for each, one per fit that
runs at the same time in another thread; a model whose fit fails is dropped.
"""

import collections
import contextlib
import threading

import numpy as np

from .._quiet.tensorflow import keras

#: Network shapes and training settings whose compiled models are kept.
KEPT_SETTINGS = 8

#: Idle models kept for one network shape and settings: one per concurrent fit.
KEPT_PER_SETTINGS = 2


class Trainer:
    """A Keras model lent for one fit, and its optimizer's starting values.

    Parameters
    ----------
    model : keras.Model
    """

    def __init__(self, model):
        self.model = model
        self._optimizer_start = None
        self._resume = self._learning_rate = None

    def compiled(self):
        """Build the optimizer and note its starting values (the first time),
        once SciKeras has compiled the model, and set the values this fit
        starts from."""
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        if self._optimizer_start is None:
            self._optimizer_start = [v.numpy() for v in optimizer.variables]
        self._reset_optimizer()

    def restart(self, weights, optimizer_state=None, learning_rate=None):
        """Set ``weights``, and the optimizer's variables to ``optimizer_state``
        (a fit's saved in a file, which a ``partial_fit`` resumes) where they
        fit this optimizer, else back to their starting values with the fit's
        ``learning_rate``."""
        self.model.set_weights(weights)
        self._resume, self._learning_rate = optimizer_state, learning_rate
        if self._optimizer_start is not None:
            self._reset_optimizer()

    def _reset_optimizer(self):
        optimizer, values = self.model.optimizer, self._optimizer_start
        resume = self._resume is not None and [np.shape(v) for v in self._resume] == [
            np.shape(v) for v in values
        ]
        for variable, value in zip(optimizer.variables, self._resume if resume else values):
            variable.assign(value)
        if not resume and self._learning_rate is not None:
            optimizer.learning_rate = self._learning_rate


_PLAIN = (str, int, float, bool, type(None))


def _plain_state(value):
    """The instance attributes of a loss of the user's own class, when they
    are all plain values (its dtype policy by name), else None."""
    state = []
    for name, attribute in sorted(vars(value).items()):
        if name == "name":  # auto-numbered, as Keras's own: my_loss, my_loss_1, ...
            continue
        if isinstance(attribute, keras.DTypePolicy):
            attribute = attribute.name
        elif not isinstance(attribute, _PLAIN):
            return None
        state.append((name, attribute))
    return tuple(state)


def _settings_key(value):
    """A hashable stand-in for an optimizer or loss as given, or None when
    two equal-looking ones may still differ.

    Keras's own are told apart by their config, less a plain learning rate
    (set for each fit, see :func:`learning_rate`) and their auto-numbered
    name. A loss of the user's own class is told apart by its class and its
    attributes when those are all plain values: two such instances compute
    alike. Anything else (an attribute holding an object) is never shared.
    """
    if isinstance(value, str) or isinstance(value, type):
        return value
    if type(value).__module__.startswith("keras.") and hasattr(value, "get_config"):
        config = value.get_config()
        config = {
            k: v
            for k, v in config.items()
            if k != "name" and not (k == "learning_rate" and isinstance(v, float))
        }
        return type(value), repr(sorted(config.items()))
    if isinstance(value, keras.losses.Loss):
        state = _plain_state(value)
        return None if state is None else (type(value), state)
    return None


def learning_rate(settings):
    """The fit's learning rate when it is a plain number, which a lent model's
    optimizer takes for each fit (it is a variable of the traced step), else None."""
    keras_settings = settings.keras
    rate = keras_settings.optimizer_params.get("learning_rate")
    if rate is None and isinstance(keras_settings.optimizer, keras.optimizers.Optimizer):
        rate = keras_settings.optimizer.get_config().get("learning_rate")
    return rate if isinstance(rate, float) else None


def pool_key(spec, settings, steps_per_execution):
    """What a compiled model is traced for: the network, the optimizer and
    its parameters (less a plain learning rate), the loss, XLA and the steps
    per call; None when the fit's optimizer or loss cannot be told apart from
    another's by its settings. The L2 penalty and the learning rate are
    variables of the traced step, set for each fit."""
    keras_settings = settings.keras
    optimizer, loss = _settings_key(keras_settings.optimizer), _settings_key(keras_settings.loss)
    if optimizer is None or loss is None:
        return None
    parameters = {k: v for k, v in keras_settings.optimizer_params.items() if k != "learning_rate"}
    return (
        spec,
        optimizer,
        tuple(sorted(parameters.items())),
        loss,
        keras_settings.loss_weight,
        settings.jit_compile,
        steps_per_execution,
    )


class KerasModelPool:
    """Idle compiled models, per :func:`pool_key`."""

    def __init__(self):
        self._idle = collections.OrderedDict()
        self._lock = threading.Lock()  # grid searches fit in parallel threads

    @contextlib.contextmanager
    def lend(self, key, build):
        """A :class:`Trainer` for the block: an idle one kept for ``key``, or
        one of ``build()``'s model; it is kept again when the block succeeds
        (never for a ``key`` of None)."""
        trainer = None
        with self._lock:
            if key in self._idle and self._idle[key]:
                trainer = self._idle[key].pop()
        if trainer is None:
            trainer = Trainer(build())
        yield trainer
        if key is None:
            return
        with self._lock:
            idle = self._idle.pop(key, [])
            if len(idle) < KEPT_PER_SETTINGS:
                idle.append(trainer)
            self._idle[key] = idle
            while len(self._idle) > KEPT_SETTINGS:
                self._idle.popitem(last=False)

    def __len__(self):
        with self._lock:
            return sum(len(idle) for idle in self._idle.values())

    def clear(self):
        with self._lock:
            self._idle.clear()


#: The package's one pool.
compiled_models = KerasModelPool()


def handed_over(spec, trainer, compile_kwargs):
    """A new model of ``spec`` with the trainer's weights, compiled with
    ``compile_kwargs`` and holding the trainer's optimizer state: the
    estimator's ``model_``, which no later fit changes."""
    trained = trainer.model.optimizer
    model = spec.keras_model(trainer.model.get_weights())
    own = compile_kwargs["optimizer"]
    if own.built:  # an optimizer instance SciKeras has given the lent model too
        own = type(own).from_config(own.get_config())
    model.compile(**{**compile_kwargs, "optimizer": own})
    own.build(model.trainable_variables)
    for variable, source in zip(own.variables, trained.variables):
        variable.assign(source)
    return model
