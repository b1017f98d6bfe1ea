"""What a fit on Keras's path resolves before it reads any data: the
optimizer and its parameters, the loss and its weight, the callbacks, and
the losses refused for the targets given. Each is checked against what the
estimator's parameters say, by direct calls: no network trains here (the
fits themselves: test_keras_fit.py)."""

import threading
import warnings

import keras
import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training.keras_fit import (
    KerasSettings,
    check_callbacks,
    check_loss_for_targets,
    resolve_loss,
    resolve_optimizer,
)


def test_adam_and_sgd_become_keras_optimizers_with_the_estimators_hyperparameters():
    estimator = MLPFunctionRegressor(
        learning_rate_init=np.float32(0.25), beta_1=0.8, beta_2=0.95, epsilon=1e-6
    )
    optimizer, routed = resolve_optimizer(estimator.set_params(solver="adam"))
    assert optimizer is keras.optimizers.Adam
    assert routed == {
        "name": "adam",
        "learning_rate": 0.25,
        "beta_1": 0.8,
        "beta_2": 0.95,
        "epsilon": 1e-6,
    }
    assert type(routed["learning_rate"]) is float  # a NumPy scalar is made plain

    estimator.set_params(solver="sgd", momentum=0.7, nesterovs_momentum=np.bool_(False))
    optimizer, routed = resolve_optimizer(estimator)
    assert optimizer is keras.optimizers.SGD
    assert routed == {"name": "sgd", "learning_rate": 0.25, "momentum": 0.7, "nesterov": False}
    assert type(routed["nesterov"]) is bool
    _, routed = resolve_optimizer(estimator.set_params(nesterovs_momentum=True))
    assert routed["nesterov"] is True


@pytest.mark.parametrize(
    "solver, optimizer_class",
    [
        ("rmsprop", keras.optimizers.RMSprop),
        ("AdamW", keras.optimizers.AdamW),
        (keras.optimizers.Nadam, keras.optimizers.Nadam),
    ],
)
def test_other_names_and_classes_get_the_learning_rate_and_a_fixed_name(solver, optimizer_class):
    estimator = MLPFunctionRegressor(solver=solver, learning_rate_init=0.03)
    name = optimizer_class.__name__.lower()
    assert resolve_optimizer(estimator) == (optimizer_class, {"learning_rate": 0.03, "name": name})


def test_an_optimizer_instance_is_copied_never_trained():
    given = keras.optimizers.Adagrad(learning_rate=0.05, epsilon=1e-5)
    optimizer, routed = resolve_optimizer(MLPFunctionRegressor(solver=given))
    assert routed == {}
    assert type(optimizer) is keras.optimizers.Adagrad and optimizer is not given
    assert optimizer.get_config() == {**given.get_config(), "name": "adagrad"}


def test_lbfgs_with_a_keras_loss_is_refused_with_the_way_out():
    with pytest.raises(ValueError) as raised:
        resolve_optimizer(MLPFunctionRegressor(solver="lbfgs", loss="huber"))
    assert str(raised.value) == (
        "solver='lbfgs' trains on the compiled engine, with loss='squared_error' or "
        "'poisson' and no callbacks; to use a Keras loss or callbacks, choose a Keras "
        "optimizer such as solver='adam' or 'rmsprop'."
    )


@pytest.mark.parametrize(
    "solver, shown",
    [("no_such_optimizer", "'no_such_optimizer'"), (42, "42"), (None, "None")],
)
def test_an_unknown_optimizer_is_refused_by_name(solver, shown):
    with pytest.raises(InvalidParameterError) as raised:
        resolve_optimizer(MLPFunctionRegressor(solver=solver))
    assert str(raised.value) == (
        "The 'solver' parameter of MLPFunctionRegressor must be 'adam', 'sgd', 'lbfgs', "
        "the name of a Keras optimizer (such as 'rmsprop', 'adamw', 'nadam', 'adagrad'), "
        f"or a keras.optimizers.Optimizer; got {shown}."
    )


@pytest.mark.parametrize(
    "loss, expected",
    [
        ("squared_error", ("mean_squared_error", 0.5)),  # MLPRegressor's ½·squared error
        ("poisson", ("poisson", None)),
        ("huber", ("huber", None)),
        ("mean_absolute_error", ("mean_absolute_error", None)),
        ("log_cosh", ("log_cosh", None)),
        ("mean_squared_logarithmic_error", ("mean_squared_logarithmic_error", None)),
        ("cosine_similarity", ("cosine_similarity", None)),
    ],
)
def test_a_named_loss_resolves_to_itself_and_its_weight(loss, expected):
    assert resolve_loss(MLPFunctionRegressor(loss=loss)) == expected


class HalfSquaredError(keras.losses.Loss):
    """A loss of the user's own: Keras's classes are not the only ones allowed."""

    def call(self, y_true, y_pred):
        return 0.5 * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


@pytest.mark.parametrize("loss", [keras.losses.Huber(delta=0.5), HalfSquaredError()])
def test_a_regression_loss_instance_is_taken_as_it_is(loss):
    assert resolve_loss(MLPFunctionRegressor(loss=loss)) == (loss, None)


def test_a_class_name_resolves_as_keras_resolves_it():
    # Keras's get makes an instance of a class's name.
    assert resolve_loss(MLPFunctionRegressor(loss="Huber")) == ("Huber", None)
    with pytest.raises(InvalidParameterError, match=r"\('BinaryCrossentropy' is not one\)"):
        resolve_loss(MLPFunctionRegressor(loss="BinaryCrossentropy"))


_LOSSES = (
    "The 'loss' parameter of MLPFunctionRegressor must be 'squared_error', 'poisson', "
    "the name of a Keras regression loss (such as 'huber', 'mean_absolute_error', "
    "'log_cosh') or a keras.losses.Loss for real-valued targets"
)


@pytest.mark.parametrize(
    "loss, named",
    [
        ("binary_crossentropy", " ('binary_crossentropy' is not one)"),
        ("hinge", " ('hinge' is not one)"),
        (keras.losses.BinaryCrossentropy(), " (BinaryCrossentropy is not one)"),
        (keras.losses.CategoricalHinge(), " (CategoricalHinge is not one)"),
        ("no_such_loss", ""),  # nothing resolved, so nothing to name
        (3, ""),
    ],
)
def test_losses_for_classes_and_unknown_names_are_refused(loss, named):
    with pytest.raises(InvalidParameterError) as raised:
        resolve_loss(MLPFunctionRegressor(loss=loss))
    assert str(raised.value) == f"{_LOSSES}{named}; got {loss!r}."


def _refusal(loss, y, out_activation="identity"):
    with pytest.raises(ValueError) as raised:
        check_loss_for_targets(loss, y, out_activation, "Owner")
    return str(raised.value)


@pytest.mark.parametrize("loss", ["poisson", keras.losses.Poisson()])
def test_keras_poisson_on_a_linear_output_is_refused(loss):
    y = np.ones((4, 1))
    assert _refusal(loss, y) == (
        "Owner: Keras's Poisson loss takes the log of the prediction, and the network's "
        "output is linear: a negative prediction makes it NaN. Use loss='poisson', which "
        "pairs the Poisson deviance with an exponential output, as MLPRegressor does."
    )
    check_loss_for_targets(loss, y, "exp", "Owner")  # the output loss='poisson' gives


@pytest.mark.parametrize(
    "loss", ["mean_squared_logarithmic_error", keras.losses.MeanSquaredLogarithmicError()]
)
def test_a_logarithmic_loss_counts_the_negative_targets(loss):
    y = np.array([[1.0], [-2.0], [0.0], [-0.5]])
    assert _refusal(loss, y) == (
        "Owner: Keras's mean_squared_logarithmic_error loss needs y >= 0, and 2 value(s) "
        "of y are negative (Keras would clip them or take their log). Shift y, or use "
        "another loss."
    )
    check_loss_for_targets(loss, np.abs(y), "identity", "Owner")


@pytest.mark.parametrize("loss", ["cosine_similarity", keras.losses.CosineSimilarity()])
def test_cosine_similarity_is_refused_for_one_output_only(loss):
    assert _refusal(loss, np.ones((4, 1))) == (
        "Owner: Keras's cosine_similarity loss compares the directions of y vectors, and "
        "with one output every prediction of the right sign scores the same: the network "
        "cannot learn. Use it with several outputs, or use another loss."
    )
    check_loss_for_targets(loss, np.ones((4, 2)), "identity", "Owner")


def test_percentage_error_warns_with_the_number_of_zero_targets():
    y = np.array([[0.0], [2.0], [0.0], [0.0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_loss_for_targets("mean_absolute_percentage_error", y, "identity", "Owner")
    assert [(w.category, str(w.message)) for w in caught] == [
        (
            UserWarning,
            "Keras's mean_absolute_percentage_error loss divides by |y|, and 3 value(s) of "
            "y are 0: their rows weigh about 1e7 times a row of y = 1.",
        )
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_loss_for_targets("mean_absolute_percentage_error", y + 1, "identity", "Owner")


@pytest.mark.parametrize(
    "loss", ["huber", "mean_squared_error", keras.losses.Huber(), HalfSquaredError()]
)
def test_other_losses_take_any_targets(loss):
    y = np.array([[0.0], [-2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_loss_for_targets(loss, y, "identity", "Owner")


class OwnWrapper(keras.losses.Loss):
    """A loss of the user's own that keeps a Keras function as ``fn``: the
    checks are for Keras's own losses, and leave the user's alone."""

    def __init__(self):
        super().__init__()
        self.fn = keras.losses.cosine_similarity

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred)


def test_a_loss_of_ones_own_is_not_second_guessed():
    check_loss_for_targets(OwnWrapper(), np.ones((4, 1)), "identity", "Owner")


class Counter(keras.callbacks.Callback):
    def __init__(self, start):
        super().__init__()
        self.count = start


def test_each_fit_gets_fresh_copies_of_the_callbacks():
    given = [Counter(3), keras.callbacks.TerminateOnNaN()]
    copies = check_callbacks(MLPFunctionRegressor(callbacks=given))
    assert [type(c) for c in copies] == [Counter, keras.callbacks.TerminateOnNaN]
    assert copies[0] is not given[0] and copies[0].count == 3
    assert copies[1] is not given[1]
    assert check_callbacks(MLPFunctionRegressor(callbacks=None)) == []


@pytest.mark.parametrize("callbacks", [["not a callback"], [Counter(0), print]])
def test_anything_but_callbacks_is_refused(callbacks):
    with pytest.raises(InvalidParameterError) as raised:
        check_callbacks(MLPFunctionRegressor(callbacks=callbacks))
    assert str(raised.value) == (
        "The 'callbacks' parameter of MLPFunctionRegressor must be a list of "
        f"keras.callbacks.Callback instances; got {callbacks!r}."
    )


def test_a_callback_that_cannot_be_copied_is_named_by_its_place():
    holding = Counter(0)
    holding.lock = threading.Lock()
    with pytest.raises(TypeError) as raised:
        check_callbacks(MLPFunctionRegressor(callbacks=[Counter(0), holding]))
    assert str(raised.value) == (
        "callbacks[1] (Counter) cannot be copied: cannot pickle '_thread.lock' object. "
        "Each fit trains with a fresh copy of every callback, so that no state passes "
        "from one fit to the next; pass a callback that has not been used yet (a new "
        "instance) and holds no open file, lock or connection."
    )
    assert isinstance(raised.value.__cause__, TypeError)


def test_the_settings_gather_the_optimizer_the_loss_and_the_callbacks():
    callback = Counter(1)
    estimator = MLPFunctionRegressor(
        solver="rmsprop", learning_rate_init=0.02, loss="huber", callbacks=[callback]
    )
    settings = KerasSettings.of(estimator)
    assert settings.optimizer is keras.optimizers.RMSprop
    assert settings.optimizer_params == {"learning_rate": 0.02, "name": "rmsprop"}
    assert (settings.loss, settings.loss_weight) == ("huber", None)
    assert len(settings.callbacks) == 1 and settings.callbacks[0] is not callback
