"""Keras's own training, run through SciKeras's Keras lifecycle.

When ``solver`` names (or is) a Keras optimizer, ``loss`` a Keras loss, or
``callbacks`` are given, the network from :mod:`.._spec` trains with Keras
``fit``, and SciKeras does what it was made for: its ``KerasRegressor``
validates the data and prepares the callbacks (``initialize``), resolves the
optimizer and the loss from names, classes or instances with routed
parameters and compiles the model (``_ensure_compiled_model``,
``_get_compile_kwargs``), runs Keras's ``fit`` and records ``history_``
(``_fit_keras_model``).

Three of those are private methods of SciKeras (whose last release is
0.13.0, unmaintained): its public ``fit`` takes X as an array and makes the
batches itself, and it must take instead a dataset of MLPRegressor's
per-epoch batches, and hand back the compile arguments that the model given
to the estimator is compiled with. :data:`SCIKERAS_PRIVATE_METHODS` lists
them with the parameters used here, and a test fails, naming the method,
when an installed SciKeras no longer has them.

What stays MLPRegressor's, so that a grid over solvers compares like with
like: the starting weights, the validation split, the loss (for
``"squared_error"``, Keras's mean squared error weighted by ½, plus the L2
penalty ½·alpha·‖W‖² per batch weight), the sample weights (rescaled to mean
1, so that a weight of k counts as k repeated rows), and the bookkeeping and
stopping rule after every epoch (:class:`MLPRegressorRules`).

Randomness comes only from the estimator's ``random_state``: the batches of
epoch ``e`` are a stateless shuffle keyed by ``(seed, e)``. SciKeras's own
``random_state`` handling, which sets Python's, NumPy's and TensorFlow's
global seeds and TensorFlow's op determinism, is never used. SciKeras is
imported only when this path runs: importing it changes some of Keras's
classes (their pickling), which a user of the compiled engine never asked for.
"""

import collections
import copy
import functools
import inspect
import math
import re
import warnings
import weakref
from typing import NamedTuple

import numpy as np

from .._network.inputs import dense_chunks, engine_inputs, gather_rows
from .._network.spec import dense_layers, dense_weights, invalid_parameter
from .._quiet.tensorflow import keras, tf
from . import record as rules
from .interrupt import catch_interruption
from .keras_pool import compiled_models, handed_over, learning_rate, pool_key
from .optimizers import LearningRateSchedule
from .settings import MLP_LOSSES, Trained


@functools.lru_cache(maxsize=64)
def _optimizer_class(name):
    """The class of the Keras optimizer that ``name`` names, or None.

    Keras resolves a name only by building an optimizer, and every optimizer
    built adds to the process (see :func:`_unnumbered`), so each name is
    resolved once.
    """
    try:
        return type(keras.optimizers.get(name))
    except ValueError:
        return None


def _unnumbered(name):
    """``name`` less the number Keras appends to tell instances apart
    (``rm_sprop_12`` becomes ``rm_sprop``).

    An optimizer creates its variables in its name's scope, and TensorFlow
    keeps a kernel for each distinct variable name for the life of the
    process: optimizers numbered anew for every fit grew a search by
    0.36 MB a fit, and grow it by 0.02 MB under one name (docs/keras.md).
    """
    return re.sub(r"_[0-9]+$", "", name)


def _named(optimizer_class, routed):
    """``routed`` with a fixed ``name`` for the optimizer SciKeras builds of
    ``optimizer_class``, where its constructor takes one."""
    parameters = inspect.signature(optimizer_class).parameters.values()
    if any(p.name == "name" or p.kind is p.VAR_KEYWORD for p in parameters):
        routed["name"] = optimizer_class.__name__.lower()
    return routed


def resolve_optimizer(estimator):
    """The optimizer for SciKeras's compile arguments, and its routed parameters.

    MLPRegressor's ``"adam"`` and ``"sgd"`` become Keras's Adam and SGD with
    the estimator's hyperparameters; another name (``"rmsprop"``,
    ``"adamw"``, ...) is resolved to its class, and a class is built by
    SciKeras with ``learning_rate=learning_rate_init``; an instance is copied
    from its config, so that no fit trains the user's object. Each is named
    alike from fit to fit (:func:`_unnumbered`).

    Returns
    -------
    optimizer : type or keras.optimizers.Optimizer
    routed : dict
        ``optimizer__*`` parameters for SciKeras.
    """
    solver, owner = estimator.solver, type(estimator).__name__
    if isinstance(solver, keras.optimizers.Optimizer):
        config = solver.get_config()
        return type(solver).from_config({**config, "name": _unnumbered(config["name"])}), {}
    rate = float(estimator.learning_rate_init)
    if solver == "adam":
        return keras.optimizers.Adam, {
            "name": "adam",
            "learning_rate": rate,
            "beta_1": estimator.beta_1,
            "beta_2": estimator.beta_2,
            "epsilon": estimator.epsilon,
        }
    if solver == "sgd":
        return keras.optimizers.SGD, {
            "name": "sgd",
            "learning_rate": rate,
            "momentum": estimator.momentum,
            "nesterov": bool(estimator.nesterovs_momentum),
        }
    if solver == "lbfgs":
        raise ValueError(
            "solver='lbfgs' trains on the compiled engine, with loss='squared_error' "
            "or 'poisson' and no callbacks; to use a Keras loss or callbacks, choose a Keras "
            "optimizer such as solver='adam' or 'rmsprop'."
        )
    if inspect.isclass(solver) and issubclass(solver, keras.optimizers.Optimizer):
        return solver, _named(solver, {"learning_rate": rate})
    optimizer_class = _optimizer_class(solver) if isinstance(solver, str) else None
    if optimizer_class is None:
        requirement = (
            "'adam', 'sgd', 'lbfgs', the name of a Keras optimizer (such as 'rmsprop', "
            "'adamw', 'nadam', 'adagrad'), or a keras.optimizers.Optimizer"
        )
        raise invalid_parameter(owner, "solver", requirement, solver)
    return optimizer_class, _named(optimizer_class, {"learning_rate": rate})


#: Keras's losses for real-valued targets, as functions (what a name resolves
#: to) and as classes; its other built-in losses are for classes or
#: probabilities, and would train on real targets without a word, or fail
#: deep inside TensorFlow.
REGRESSION_LOSS_FUNCTIONS = frozenset(
    getattr(keras.losses, name)
    for name in (
        "mean_squared_error",
        "mean_absolute_error",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "huber",
        "log_cosh",
        "poisson",
        "cosine_similarity",
    )
)
REGRESSION_LOSS_CLASSES = tuple(
    getattr(keras.losses, name)
    for name in (
        "MeanSquaredError",
        "MeanAbsoluteError",
        "MeanAbsolutePercentageError",
        "MeanSquaredLogarithmicError",
        "Huber",
        "LogCosh",
        "Poisson",
        "CosineSimilarity",
    )
)


def _is_keras_classification_loss(loss):
    """Whether ``loss`` (an instance) is one of Keras's own non-regression losses."""
    builtin = type(loss).__module__.startswith("keras.")
    return builtin and not isinstance(loss, REGRESSION_LOSS_CLASSES)


def resolve_loss(estimator):
    """The loss for SciKeras's compile arguments, and its weight (or None).

    Raises
    ------
    InvalidParameterError
        For a name Keras does not know, and for Keras's losses that are not
        for real-valued targets (cross-entropies, hinges, ...).
    """
    loss, owner = estimator.loss, type(estimator).__name__
    if isinstance(loss, str) and loss in MLP_LOSSES:
        return MLP_LOSSES[loss]
    requirement = (
        "'squared_error', 'poisson', the name of a Keras regression loss (such as "
        "'huber', 'mean_absolute_error', 'log_cosh') or a keras.losses.Loss for "
        "real-valued targets"
    )
    if isinstance(loss, keras.losses.Loss):
        if _is_keras_classification_loss(loss):
            raise invalid_parameter(
                owner, "loss", requirement + f" ({type(loss).__name__} is not one)", loss
            )
        return loss, None
    resolved = None
    if isinstance(loss, str):
        try:
            resolved = keras.losses.get(loss)
        except ValueError:
            pass
    regression = resolved in REGRESSION_LOSS_FUNCTIONS or (
        isinstance(resolved, keras.losses.Loss) and not _is_keras_classification_loss(resolved)
    )
    if not regression:
        problem = f" ({loss!r} is not one)" if resolved is not None else ""
        raise invalid_parameter(owner, "loss", requirement + problem, loss)
    return loss, None


def _loss_function(loss):
    """The Keras function a loss computes: a name's, or a built-in Loss's."""
    if isinstance(loss, str):
        return keras.losses.get(loss)
    if type(loss).__module__.startswith("keras.") and hasattr(loss, "fn"):
        return loss.fn
    return None


def check_loss_for_targets(loss, y, out_activation, owner):
    """Refuse a Keras loss that cannot work on these targets, and warn of one
    that works badly.

    - Keras's mean squared logarithmic error clips y below at 0: on negative
      y it trains on other targets than the user's, without a word.
    - Keras's Poisson loss takes the log of the prediction, which a linear
      output makes negative: ``loss="poisson"`` is the one that works.
    - Cosine similarity compares the directions of y vectors: with one
      output every prediction of the right sign scores the same, and the
      network learns nothing.
    - Mean absolute percentage error divides by ``|y|``: a y of 0 gives a
      weight of 1e7 to its row.

    Parameters
    ----------
    loss : str or keras.losses.Loss
    y : ndarray of shape (n_samples, n_outputs)
    out_activation : {"identity", "exp"}
        The network's output (``"exp"`` with ``loss="poisson"``).
    owner : str

    Raises
    ------
    ValueError
        Naming the loss and what in y or in the network it cannot take.
    """
    function = _loss_function(loss)
    if function is None:
        return
    name = function.__name__
    if function is keras.losses.poisson and out_activation == "identity":
        raise ValueError(
            f"{owner}: Keras's Poisson loss takes the log of the prediction, and the "
            "network's output is linear: a negative prediction makes it NaN. Use "
            "loss='poisson', which pairs the Poisson deviance with an exponential output, "
            "as MLPRegressor does."
        )
    if function is keras.losses.mean_squared_logarithmic_error:
        negative = int((y < 0).sum())
        if negative:
            raise ValueError(
                f"{owner}: Keras's {name} loss needs y >= 0, and {negative} value(s) of y "
                "are negative (Keras would clip them or take their log). Shift y, or use "
                "another loss."
            )
    if function is keras.losses.cosine_similarity and y.shape[1] == 1:
        raise ValueError(
            f"{owner}: Keras's cosine_similarity loss compares the directions of y "
            "vectors, and with one output every prediction of the right sign scores the "
            "same: the network cannot learn. Use it with several outputs, or use another "
            "loss."
        )
    if function is keras.losses.mean_absolute_percentage_error and (y == 0).any():
        warnings.warn(
            f"Keras's {name} loss divides by |y|, and {int((y == 0).sum())} value(s) of y "
            "are 0: their rows weigh about 1e7 times a row of y = 1.",
            UserWarning,
            stacklevel=2,
        )


def check_callbacks(estimator):
    """Fresh copies of the estimator's callbacks, so that no state passes between fits."""
    callbacks = estimator.callbacks
    if callbacks is None:
        return []
    if not all(isinstance(c, keras.callbacks.Callback) for c in callbacks):
        raise invalid_parameter(
            type(estimator).__name__,
            "callbacks",
            "a list of keras.callbacks.Callback instances",
            callbacks,
        )
    copies = []
    for index, callback in enumerate(callbacks):
        try:
            copies.append(copy.deepcopy(callback))
        except Exception as error:
            raise TypeError(
                f"callbacks[{index}] ({type(callback).__name__}) cannot be copied: {error}. "
                "Each fit trains with a fresh copy of every callback, so that no state "
                "passes from one fit to the next; pass a callback that has not been used "
                "yet (a new instance) and holds no open file, lock or connection."
            ) from error
    return copies


class KerasSettings(NamedTuple):
    """What one fit through Keras's ``fit`` compiles and calls back."""

    optimizer: object
    optimizer_params: dict
    loss: object
    loss_weight: float | None
    callbacks: list

    @classmethod
    def of(cls, estimator):
        """Resolve and validate the estimator's Keras settings, before any data is read.

        Raises
        ------
        InvalidParameterError
            Naming ``solver``, ``loss`` or ``callbacks``.
        """
        return cls(
            *resolve_optimizer(estimator), *resolve_loss(estimator), check_callbacks(estimator)
        )


class MLPRegressorRules(keras.callbacks.Callback):
    """MLPRegressor's bookkeeping and stopping rule after every Keras epoch.

    Records the loss curve (and, with a validation set, the validation R² and
    the best weights) in the estimator's training record, steps
    ``solver="sgd"``'s learning-rate schedule, and stops training after
    ``n_iter_no_change`` epochs without a ``tol`` improvement, exactly as the
    compiled engine does (both call :func:`._training.end_of_epoch`).

    Keras runs each epoch's mini-batches in one call (``steps_per_execution``),
    so an epoch is never cut short: after a first Ctrl-C (see
    :mod:`.interrupt`), the running epoch ends, is booked, and training stops.

    Parameters
    ----------
    record : TrainingRecord
    n_samples : int
        Training rows, added to ``record.t`` every epoch.
    schedule : LearningRateSchedule or None
        Applied to the Keras optimizer's learning rate, for ``solver="sgd"``.
    settings : TrainingSettings
        ``tol``, ``n_iter_no_change`` and ``verbose``.
    validation : ValidationSet or None
        X_val may be sparse.

    Attributes
    ----------
    stopped : bool
        Whether the stopping rule ended training.
    """

    def __init__(self, record, n_samples, schedule, settings, validation):
        super().__init__()
        self.record, self.n_samples, self.settings = record, n_samples, settings
        self.stopped = False
        # Any other optimizer keeps its own learning rate: stopping is all
        # that a constant schedule decides.
        self.schedule = schedule or LearningRateSchedule(0.0)
        self.sets_learning_rate = schedule is not None and schedule.schedule != "constant"
        self.validation = None
        if validation is not None:
            X_val, y_val, w_val = validation
            self.validation = (X_val, tf.constant(y_val), tf.constant(w_val))
            self.validation_total = tf.constant(rules.total_sum_of_squares(y_val, w_val))

    def _validation_score(self):
        X_val, y_val, w_val = self.validation
        predicted = tf.concat(
            [self.model(chunk, training=False) for chunk in dense_chunks(X_val, y_val.dtype.name)],
            axis=0,
        )
        return float(rules.validation_r2(predicted, y_val, w_val, self.validation_total))

    def on_epoch_end(self, epoch, logs=None):
        if self.validation is None:  # early stopping scores a diverged network NaN
            dtype = self.model.inputs[0].dtype
            rules.check_finite_loss(logs["loss"], self.record.n_iter + 1, dtype)
        score = None
        if self.validation is not None:
            score = self._validation_score()
            if score > self.record.best_validation_score:
                self.record.best_weights = self.model.get_weights()
        self.schedule.iteration_ends(self.record.t + self.n_samples)
        stopped = rules.end_of_epoch(
            self.record, float(logs["loss"]), self.n_samples, score, self.schedule, self.settings
        )
        if self.sets_learning_rate:
            self.model.optimizer.learning_rate = self.schedule.learning_rate
        if stopped:
            self.stopped = True
            self.model.stop_training = True


def _row_gatherer(X, y, w):
    """A function from row indices to ``(X_rows, y_rows, w_rows)`` tensors, X's dense."""
    n_features = X.shape[1]
    inputs = engine_inputs(X, y.dtype)
    targets = tf.constant(y), tf.constant(w)

    def gather(rows):
        X_rows = gather_rows(inputs, rows, n_features)
        if isinstance(X_rows, tf.SparseTensor):
            X_rows = tf.sparse.to_dense(X_rows)
        return (X_rows, *(tf.gather(t, rows) for t in targets))

    return gather


def _epoch_batches(X, y, w, batch_size, seed, first_epoch, n_epochs, shuffle):
    """Batches of ``n_epochs`` epochs, each a stateless shuffle keyed by ``(seed, epoch)``.

    X may be sparse: each batch is densified on its own.
    """
    n = int(X.shape[0])

    def epoch(index):
        order = tf.range(n)
        if shuffle:
            key = tf.stack([tf.constant(seed, tf.int64), index])
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    epochs = tf.data.Dataset.range(first_epoch, first_epoch + n_epochs)
    return epochs.flat_map(epoch).map(_row_gatherer(X, y, w))


def _validation_batches(X_val, y_val, w_val, batch_size):
    """The validation rows in order, in batches (X_val may be sparse)."""
    rows = tf.data.Dataset.range(int(X_val.shape[0])).batch(batch_size)
    return rows.map(_row_gatherer(X_val, y_val, w_val))


class _Penalty:
    """Keras's L2 penalty, in the dtype of Keras's compiled loss.

    Its strength is a variable, read by the compiled training step: a fit
    sets it, so that a model traced once trains with any alpha and any
    number of rows (the penalty per batch depends on both) without being
    traced again. Keras adds a layer's penalties to its compiled loss, which
    it computes in ``keras.config.floatx()``: a float64 network's penalty is
    cast to match (the cast leaves the float64 gradient exact).
    """

    def __init__(self, strength):
        self.strength = strength

    def __call__(self, kernel):
        penalty = self.strength * keras.ops.sum(keras.ops.square(kernel))
        return keras.ops.cast(penalty, keras.config.floatx())


def _attach_penalty(model, strength):
    """Set the L2 penalty on every kernel for this fit: a strength variable
    per kernel, made the first time (the penalty is not in the saved config)."""
    for layer in dense_layers(model):
        kernel = layer.kernel
        if not isinstance(kernel.regularizer, _Penalty):
            variable = tf.Variable(0.0, dtype=kernel.dtype, trainable=False, shape=[])
            kernel.regularizer = _Penalty(variable)
        kernel.regularizer.strength.assign(strength)


#: Per model, the compiled training steps kept for other numbers of batches
#: an epoch, the most recent last: a ``partial_fit`` whose chunks change size
#: takes back the one traced for its size.
_KEPT_STEPS = 4
_steps_traced = weakref.WeakKeyDictionary()


def _train_in_steps(model, steps_per_epoch):
    """Make ``model`` run ``steps_per_epoch`` mini-batches a call, with the
    training function traced for that number when it has one."""
    if model.steps_per_execution == steps_per_epoch:
        return
    kept = _steps_traced.setdefault(model, collections.OrderedDict())
    if model.train_function is not None:
        kept[model.steps_per_execution] = model.train_function
    model.steps_per_execution = steps_per_epoch
    model.train_function = kept.pop(steps_per_epoch, None)  # None: Keras traces it
    while len(kept) > _KEPT_STEPS:
        kept.popitem(last=False)


#: The private methods of SciKeras's wrapper used here, each with the
#: parameters it is called with (checked against SciKeras by the tests).
SCIKERAS_PRIVATE_METHODS = {
    "_ensure_compiled_model": (),
    "_fit_keras_model": ("X", "y", "sample_weight", "warm_start", "epochs", "initial_epoch"),
    "_get_compile_kwargs": (),
}


def _wrapper(model, settings, rules_callback, n_epochs, steps_per_epoch):
    """SciKeras's ``KerasRegressor`` around ``model``, with the fit's optimizer,
    loss and callbacks (ours first), and one call into the compiled training
    step per epoch; it shuffles, seeds and prints nothing."""
    from scikeras.wrappers import KerasRegressor

    keras_settings = settings.keras
    weighting = {}
    if keras_settings.loss_weight is not None:
        weighting = {"compile__loss_weights": keras_settings.loss_weight}
    return KerasRegressor(
        model=model,
        optimizer=keras_settings.optimizer,
        loss=keras_settings.loss,
        callbacks=[rules_callback, *keras_settings.callbacks],
        epochs=n_epochs,
        batch_size=None,
        verbose=0,
        compile__jit_compile=settings.jit_compile,
        compile__steps_per_execution=steps_per_epoch,
        shuffle=False,
        random_state=None,
        **{f"optimizer__{k}": v for k, v in keras_settings.optimizer_params.items()},
        **weighting,
    )


class _Batching(NamedTuple):
    """How Keras's fit takes the rows: weights of mean 1, the L2 penalty per
    batch, and the steps of an epoch (all run in one call)."""

    w: np.ndarray
    penalty: float
    steps_per_epoch: int

    @classmethod
    def of(cls, settings, data):
        # Keras divides a batch's weighted loss by its rows, MLPRegressor by
        # its weights: weights of mean 1 make the two agree, and the penalty
        # per batch becomes ½·alpha over the batch's expected weight.
        n_samples, batch_size, total = data.n_samples, data.batch_size, data.w.sum()
        return cls(
            data.w * (n_samples / total),
            float(0.5 * settings.alpha * n_samples / (total * batch_size)),
            math.ceil(n_samples / batch_size),
        )


def _fit(model, settings, data, start, batching, compiled=None):
    """Train ``model`` on ``data``, taken as ``batching`` says, with Keras's
    ``fit`` through SciKeras; ``compiled()`` is called once SciKeras has
    compiled it.

    Returns
    -------
    history : dict
        SciKeras's ``history_`` of this call.
    compile_kwargs : dict
        What SciKeras compiles a model with for these settings.
    """
    record, incremental = start.record, settings.incremental
    starting_weights = model.get_weights()
    n_epochs = 1 if incremental else settings.max_iter
    schedule = None
    if settings.solver == "sgd":
        schedule = LearningRateSchedule(
            settings.learning_rate_init, settings.learning_rate, settings.power_t
        )
    mlp_rules = MLPRegressorRules(record, data.n_samples, schedule, settings, data.validation)
    wrapper = _wrapper(model, settings, mlp_rules, n_epochs, batching.steps_per_epoch)
    wrapper.initialize(data.X, data.y)
    _attach_penalty(model, batching.penalty)
    # Private: compiles with SciKeras's resolution of the optimizer and loss;
    # its public fit would do this only on the way to batching X itself.
    wrapper._ensure_compiled_model()
    if compiled is not None:
        compiled()

    first_epoch = len(record.loss_curve)
    seed = int(start.random_state.randint(np.iinfo(np.int32).max))
    batches = _epoch_batches(
        data.X, data.y, batching.w, data.batch_size, seed, first_epoch, n_epochs, settings.shuffle
    )
    fit_options = {"steps_per_epoch": batching.steps_per_epoch}
    if data.validation is not None:
        fit_options["validation_data"] = _validation_batches(*data.validation, data.batch_size)
    record.n_iter = 0
    with catch_interruption() as interruption:
        interruption.on_request(lambda: setattr(model, "stop_training", True))
        try:
            # Keras counts epochs on from earlier partial fits, as SciKeras's
            # partial_fit does. Private: SciKeras's public fit would check X
            # as an array and batch it itself, not take MLPRegressor's batches.
            wrapper._fit_keras_model(
                batches,
                None,
                sample_weight=None,
                warm_start=incremental,
                epochs=n_epochs,
                initial_epoch=first_epoch if incremental else 0,
                **fit_options,
            )
        finally:
            _attach_penalty(model, 0.0)
    history = dict(wrapper.history_)
    # A callback of the user's that ends training early counts as a stop.
    stopped = mlp_rules.stopped or (record.n_iter < n_epochs and not interruption.requested)
    rules.end_of_training(record, settings, stopped, interruption)
    if data.validation is not None:  # as MLPRegressor: the best epoch's, or the starting weights
        model.set_weights(record.best_weights or starting_weights)
    # Private: what the model handed to the estimator is compiled with.
    return history, wrapper._get_compile_kwargs()


def _go_on(model, settings, data, start):
    """A ``partial_fit`` of a model Keras's fit compiled: train it in place,
    its optimizer's state carrying on; leave it as it was if the call fails."""
    batching = _Batching.of(settings, data)
    _train_in_steps(model, batching.steps_per_epoch)  # traced into its training step
    state = model.variables + model.optimizer.variables
    saved = [v.numpy() for v in state]
    try:
        history, _ = _fit(model, settings, data, start, batching)
        rules.check_finite_weights(dense_weights(model))
    except BaseException:
        for variable, value in zip(state, saved):
            variable.assign(value)
        raise
    return Trained(start.record, model=model, history=history)


def train_keras(spec, settings, data, start):
    """Train with Keras's ``fit`` through SciKeras.

    A ``partial_fit`` continues ``start.model`` when Keras's fit compiled it
    (its optimizer's state carries on), and leaves it as it was if the call
    fails. Every other fit trains a compiled model lent by
    :data:`.keras_pool.compiled_models` from ``start.weights``, and hands
    back a new model with the trained weights and optimizer state.

    Parameters
    ----------
    spec : NetworkSpec
    settings : TrainingSettings
        With the optimizer, loss and callbacks in ``settings.keras``.
    data : TrainingData
    start : TrainingStart

    Returns
    -------
    Trained
        The trained model, the record and SciKeras's ``history_`` of the call.
    """
    if settings.incremental and start.model is not None and start.model.compiled:
        return _go_on(start.model, settings, data, start)
    batching = _Batching.of(settings, data)
    key = pool_key(spec, settings, batching.steps_per_epoch)
    with compiled_models.lend(key, spec.keras_model) as trainer:
        trainer.restart(start.weights, start.optimizer_state, learning_rate(settings))
        history, compile_kwargs = _fit(
            trainer.model, settings, data, start, batching, trainer.compiled
        )
        rules.check_finite_weights(dense_weights(trainer.model))
        model = handed_over(spec, trainer, compile_kwargs)
    return Trained(start.record, model=model, history=history)
