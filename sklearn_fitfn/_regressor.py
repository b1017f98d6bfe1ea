"""MLPFunctionRegressor: a Keras multilayer perceptron as a scikit-learn regressor."""

import copy
import dataclasses
import threading
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._network import numpy_forward
from ._network.activations import ACTIVATION_NAMES
from ._network.inputs import canonical_csr, dense_chunks
from ._network.polynomial import (
    RATIO_ACTIVATIONS,
    check_polynomial_network,
    check_ratio_network,
    network_polynomials,
    network_ratio,
)
from ._network.spec import DTYPES, NetworkSpec, dense_weights
from ._quiet.tensorflow import keras, tf
from ._training import fitted_state, stacked, train
from ._training import quadratic_start as quadratic
from ._training import rational_start as rational
from ._training import record as rules
from ._training.interrupt import Interruption
from ._training.keras_fit import KerasSettings, check_loss_for_targets
from ._training.optimizers import OPTIMIZERS
from ._training.record import TrainingRecord
from ._training.settings import (
    TrainingData,
    TrainingSettings,
    TrainingStart,
    ValidationSet,
    uses_keras_fit,
)


def _solver_is_stochastic(estimator):
    return estimator.solver != "lbfgs"


#: Held while a fitted network's Keras model is built on first reading, so
#: that threads reading ``model_`` together get one model.
_BUILDING = threading.Lock()


class MLPFunctionRegressor(RegressorMixin, BaseEstimator):
    """Multilayer perceptron regressor built on Keras, with scikit-learn's API.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor` whose network is
    a Keras model (``model_``). The architecture and the activation are plain
    hyperparameters, so a grid search can compare a linear network with a relu
    one on the same data.

    Two ways to train, chosen by the parameters:

    - MLPRegressor's solvers (``"adam"``, ``"sgd"``, ``"lbfgs"``) and losses
      (``"squared_error"``, ``"poisson"``) with no callbacks run on a
      compiled engine that follows ``MLPRegressor``'s rules step by step
      (initialisation, update rules, batching, stopping criteria, loss
      curve), only faster.
    - A Keras optimizer, a Keras loss or Keras callbacks train with Keras's
      own ``fit``, through SciKeras's Keras lifecycle, on the same network
      with the same starting weights, validation split and stopping rule;
      ``history_`` records Keras's per-epoch metrics.

    Parameters
    ----------
    loss : str or keras.losses.Loss, default="squared_error"
        ``"squared_error"``: half the mean squared error plus the L2 penalty,
        as in MLPRegressor (whose signature, positional order included, this
        one follows). ``"poisson"``: half the Poisson deviance with an
        exponential output layer, as in MLPRegressor; y must be non-negative.
        Any other name of a Keras loss (``"huber"``,
        ``"mean_absolute_error"``, ``"log_cosh"``, ...) or a
        ``keras.losses.Loss`` instance trains with Keras's ``fit``.
    hidden_layer_sizes : array-like of int, default=(100,)
        Units of each hidden layer. ``()`` gives a linear model.
    activation : str or sequence of str, default="relu"
        Activation of the hidden layers: one name for all, or one per layer.
        scikit-learn's names (``"identity"``, ``"logistic"``, ``"tanh"``,
        ``"relu"``) and Keras's (``"linear"``, ``"sigmoid"``, ``"elu"``,
        ``"selu"``, ``"gelu"``, ``"swish"``/``"silu"``, ``"softplus"``) are
        both accepted, and ``"square"`` (z -> z²), whose single hidden
        layer represents x² and x1·x2 exactly. The output layer is always
        linear.
    solver : str or keras.optimizers.Optimizer, default="adam"
        ``"adam"`` and ``"sgd"`` train on mini-batches with scikit-learn's
        update rules; ``"lbfgs"`` minimises the full-batch loss with SciPy's
        L-BFGS-B and TensorFlow's gradients. It suits small data, and with
        ``"square"`` units it fits squares and products exactly. Any other
        name of a Keras optimizer (``"rmsprop"``, ``"adamw"``, ``"nadam"``,
        ``"adagrad"``, ...), a Keras optimizer class (built with
        ``learning_rate=learning_rate_init``) or an optimizer instance (copied
        for each fit) trains with Keras's ``fit``.
    alpha : float, default=1e-4
        Strength of the L2 penalty on the kernels.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Learning-rate schedule for ``solver="sgd"``.
    learning_rate_init : float, default=1e-3
        Initial step size; also the learning rate of a Keras optimizer given
        by name or class.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    max_iter : int, default=200
        Maximum number of epochs (iterations for ``"lbfgs"``).
    shuffle : bool, default=True
        Reshuffle the rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split and the shuffling.
        An int gives identical results across fits and processes. No global
        random state (Python, NumPy or TensorFlow) is read or changed.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement; for
        ``"lbfgs"``, the gradient size at which it stops.
    verbose : bool or int, default=False
        Print the loss (and validation score) after every epoch.
    warm_start : bool, default=False
        Continue from the previous solution when ``fit`` is called again.
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``.
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with ``solver="sgd"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its R²
        stops improving; the best weights are kept.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping, in (0, 1).
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's decay rates of the first and second moment estimates.
    epsilon : float, default=1e-8
        Adam's numerical-stability term.
    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping.
    max_fun : int, default=15000
        Loss evaluations at most, for ``solver="lbfgs"``.
    dtype : {"float64", "float32"} or None, default=None
        Dtype of the weights and of the computation. None follows
        MLPRegressor: float32 input trains and predicts in float32, any other
        input in float64 (and a warm start or ``partial_fit`` keeps the
        fitted network's dtype). A given dtype applies whatever the input.
    callbacks : list of keras.callbacks.Callback, default=None
        Keras callbacks (``EarlyStopping``, ``ReduceLROnPlateau``,
        ``CSVLogger``, ``TensorBoard``, ...). Given, training runs with
        Keras's ``fit``. Each fit trains with fresh copies of them, so no
        callback state passes from one fit to the next; the instances passed
        are never trained with. With ``early_stopping=True`` Keras also sees
        the validation split, so ``"val_loss"`` can be monitored.
    jit_compile : bool or "auto", default="auto"
        Compile training with XLA, as Keras's ``Model.compile(jit_compile=...)``
        does (and it is passed there on the Keras path, where ``"auto"`` is
        Keras's own choice). On the compiled engine ``True`` runs each
        epoch's mini-batches, or L-BFGS's loss and gradient, as one XLA
        computation: later fits of a shape are faster, but each new size of
        the data costs a compilation (Adam and SGD pad the rows with rows of
        weight zero to a few sizes, so that the folds of a cross-validation
        share one), the round-off differs from the default path's (within
        MLPRegressor's parity), X must be dense, and a Ctrl-C is read between
        epochs rather than between mini-batches. ``"auto"`` decides for each
        Adam or SGD fit from a measured cost model: XLA when the training
        time it is expected to save over ``max_iter`` epochs pays for its
        compilation. The choice depends on the fit's own settings and data
        shape only, so a fit takes the same path whatever ran before it. A
        sparse X and L-BFGS stay on the default path. ``False`` never uses
        XLA. Measured: docs/performance.md.

    Attributes
    ----------
    model_ : keras.Model
        The fitted Keras network, made of Keras's own layers (Dense layers, a
        ``Multiply`` for square units, a linear output). Compiled when it was
        trained with Keras's ``fit``. It saves with ``model_.save`` and loads
        with ``keras.models.load_model`` without this package. A pickle or a
        skops file of the estimator holds the network as data (its layer
        sizes, activation names, dtype and weights as arrays) and rebuilds
        this model when loaded, not compiled: a ``partial_fit`` then resumes
        the optimizer's saved state. Where the fit needed no Keras model (the
        compiled engine, scikit-learn's activations, the squared error), it
        is built from the weights when first read, and ``predict`` computes
        the same network on NumPy, from the weights set into it.
    history_ : dict of str to list
        After training with Keras's ``fit`` only: SciKeras's record of
        Keras's per-epoch metrics, such as ``"loss"`` and ``"val_loss"``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when X was a DataFrame with string column names.
    n_outputs_ : int
        Number of targets.
    n_layers_ : int
        Number of layers, input and output included.
    out_activation_ : str
        ``"identity"`` (a linear output layer), or ``"exp"`` with
        ``loss="poisson"``.
    coefs_ : list of ndarray
        Copies of the kernels, ``coefs_[i]`` of shape (units_i, units_i+1).
    intercepts_ : list of ndarray
        Copies of the biases.
    loss_ : float
        Training loss after the last epoch.
    loss_curve_ : list of float
        Training loss after each epoch (each iteration for ``"lbfgs"``).
    best_loss_ : float or None
        Lowest training loss seen; None with early stopping.
    validation_scores_ : list of float or None
        Validation R² after each epoch, with early stopping.
    best_validation_score_ : float or None
        Best validation R², with early stopping.
    n_iter_ : int
        Epochs run by the last call to fit or partial_fit.
    converged_ : bool
        Whether the last fit ended by its stopping rule (``tol`` and
        ``n_iter_no_change``; for ``"lbfgs"``, SciPy's convergence test).
        False exactly when it raised MLPRegressor's ``ConvergenceWarning``,
        and after ``partial_fit`` or an interrupted fit. Not in MLPRegressor:
        it lets a script or a grid search record convergence without
        catching warnings.
    t_ : int
        Training samples seen, over all calls.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : The NumPy implementation this mirrors.

    Notes
    -----
    As in MLPRegressor, a fit that runs all ``max_iter`` epochs without its
    stopping rule warns ``ConvergenceWarning`` (``converged_`` records it too),
    and Ctrl-C during ``fit`` ends training with the warning "Training
    interrupted by user." and keeps what was trained. Here the fit returns
    at the next mini-batch, and the network is exactly the one of the
    ``n_iter_`` whole epochs trained: the part of training the signal landed
    in is undone. A second Ctrl-C raises ``KeyboardInterrupt`` and leaves the
    estimator as it was before the fit. Sparse X trains with sparse products
    and is never densified as a whole.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fitfn import MLPFunctionRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> y = X.ravel() ** 2
    >>> linear = MLPFunctionRegressor(hidden_layer_sizes=(), max_iter=300,
    ...                               random_state=0).fit(X, y)
    >>> relu = MLPFunctionRegressor(hidden_layer_sizes=(32, 32), max_iter=300,
    ...                             learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> bool(relu.score(X, y) > 0.95 > linear.score(X, y))
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        # One name for every layer, or one per layer (NetworkSpec checks those).
        "activation": [StrOptions(ACTIVATION_NAMES), "array-like"],
        "solver": [str, keras.optimizers.Optimizer, type],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "loss": [str, keras.losses.Loss],
        "dtype": [StrOptions(set(DTYPES)), None],
        "callbacks": [list, None],
        "jit_compile": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        callbacks=None,
        jit_compile="auto",
    ):
        # Only stores the arguments, as scikit-learn requires.
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.callbacks = callbacks
        self.jit_compile = jit_compile

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        # XLA has no sparse matrices; Keras's fit densifies batches before them.
        tags.input_tags.sparse = self.jit_compile is not True or uses_keras_fit(
            self.solver, self.loss, self.callbacks
        )
        return tags

    @property
    def current_epoch(self):
        """Epochs trained in total since the weights were initialised."""
        return len(getattr(self, "_record", TrainingRecord.start(False)).loss_curve)

    # -- fitting ---------------------------------------------------------------

    def _compute_dtype(self, X, reset):
        """The dtype to train in: the parameter's, the fitted network's, or X's."""
        if self.dtype is not None:
            return np.dtype(self.dtype)
        if not reset:
            return np.dtype(self._spec.dtype)
        return X.dtype  # float32 stays float32, everything else is float64 by now

    def _validate_training_data(self, X, y, sample_weight, reset):
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            accept_sparse=["csr", "csc"],
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        dtype = self._compute_dtype(X, reset)
        y = y.reshape(len(y), -1).astype(dtype)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=dtype, ensure_non_negative=True
        )
        if not sample_weight.any():
            raise ValueError(
                "sample_weight is zero for every sample: there is nothing to train on."
            )
        X = X.astype(dtype, copy=False)
        if scipy.sparse.issparse(X):
            X = canonical_csr(X)  # rows are what training slices
        return X, y, sample_weight

    def _prepare(self, X, y, sample_weight, reset):
        """Validate the data and resolve the network.

        Returns X, 2-D y and sample weights in the compute dtype, and the
        network's :class:`NetworkSpec`.
        """
        X, y, sample_weight = self._validate_training_data(X, y, sample_weight, reset)
        poisson = isinstance(self.loss, str) and self.loss == "poisson"
        if poisson and (y < 0).any():
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson "
                "regression (loss='poisson')."
            )
        spec = NetworkSpec.from_params(
            self.hidden_layer_sizes,
            self.activation,
            X.dtype.name,
            X.shape[1],
            y.shape[1],
            out_activation="exp" if poisson else "identity",
            owner=type(self).__name__,
        )
        return X, y, sample_weight, spec

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        return int(np.clip(self.batch_size, 1, n_samples))

    def _warn_if_batch_clipped(self, n_samples):
        if self.batch_size != "auto" and self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. "
                "It is going to be clipped",
                stacklevel=2,
            )

    def _split_validation(self, X, y, sample_weight, random_state):
        X, X_val, y, y_val, sample_weight, w_val = train_test_split(
            X,
            y,
            sample_weight,
            random_state=random_state,
            test_size=self.validation_fraction,
        )
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        for part, weights in (("training", sample_weight), ("validation", w_val)):
            if not weights.any():
                # scikit-learn's words first: MLPRegressor fails with them when it scores.
                raise ValueError(
                    "Sample weights must contain at least one non-zero number: every row "
                    f"of the {part} split has weight zero (early stopping holds out "
                    f"validation_fraction={self.validation_fraction} of the rows). "
                    "Change validation_fraction or random_state, or give more rows a "
                    "non-zero weight."
                )
        return X, y, sample_weight, ValidationSet(X_val, y_val, w_val)

    def _training_settings(self, incremental):
        """The fit's settings, with the Keras optimizer, loss and callbacks
        resolved when it trains with Keras's ``fit``."""
        settings = TrainingSettings.of(self, incremental)
        if uses_keras_fit(self.solver, self.loss, self.callbacks):
            settings = dataclasses.replace(settings, keras=KerasSettings.of(self))
        return settings

    def _start(self, spec, settings, first_pass, random_state):
        """Where training starts: new weights and record, or the fitted ones."""
        if first_pass:
            weights = spec.initial_weights(random_state)
            record = TrainingRecord.start(settings.early_stopping)
            return TrainingStart(weights, record, None, random_state)
        spec.check_model(self.model_)
        # As MLPRegressor: partial_fit resumes the optimizer, a warm-started
        # fit starts a new one from the current weights.
        optimizer_state = None
        weights = dense_weights(self.model_)
        if settings.incremental and settings.keras is not None:
            optimizer_state = self._keras_optimizer_state
        elif settings.incremental and self._optimizer_state is not None:
            # A state of the solver set now, or none: after set_params(solver=...)
            # the other solver starts from a fresh state.
            solver = OPTIMIZERS.get(settings.solver)
            shapes = [w.shape for w in weights]
            if solver is not None and solver.holds_state_for(self._optimizer_state, shapes):
                optimizer_state = self._optimizer_state
        record = copy.deepcopy(self._record)
        return TrainingStart(weights, record, optimizer_state, random_state, self.model_)

    def _training_data(self, X, y, sample_weight, settings, random_state):
        """The rows to train on: the validation split held out, rows of weight
        zero dropped, the batch size resolved."""
        if settings.solver == "lbfgs":
            # As MLPRegressor: L-BFGS ignores early_stopping and batching.
            return TrainingData(X, y, sample_weight, None, X.shape[0])
        validation = None
        if settings.early_stopping:
            X, y, sample_weight, validation = self._split_validation(
                X, y, sample_weight, random_state
            )
        self._warn_if_batch_clipped(X.shape[0])
        # Rows of weight zero change nothing but the batch boundaries.
        keep = sample_weight > 0
        X, y, sample_weight = X[keep], y[keep], sample_weight[keep]
        return TrainingData(X, y, sample_weight, validation, self._batch_size(X.shape[0]))

    def _fit(self, X, y, sample_weight, incremental):
        spec, settings, data, start, first_pass = self._training_plan(
            X, y, sample_weight, incremental
        )
        trained = self._train(spec, settings, data, start)
        return self._install(spec, trained, reuse=not first_pass, went_on=incremental)

    def _train(self, spec, settings, data, start):
        """Train, or take the training a search already did for this very fit
        with the members of its shape (see :mod:`._training.stacked`)."""
        together = stacked.take(stacked.Member(spec, settings, data, start))
        if together is None:
            return train(spec, settings, data, start)
        if isinstance(together, BaseException):
            raise together
        trained = together.trained
        if together.warned is None:  # trained with its group
            rules.end_of_training(trained.record, settings, together.stopped, Interruption(False))
        for category, message in together.warned or []:
            warnings.warn(message, category, stacklevel=2)
        rules.check_finite_weights(trained.weights)
        return trained

    def _training_member(self, X, y, sample_weight=None):
        """What a fresh ``fit(X, y, sample_weight)`` would hand its back-end,
        prepared but not trained, for a search to train with others."""
        return stacked.Member(*self._training_plan(X, y, sample_weight, False)[:4])

    def _training_plan(self, X, y, sample_weight, incremental):
        """Everything a fit decides before training: the network, the
        settings, the data and where training starts, and whether this is a
        first pass (no fitted network to continue)."""
        settings = self._training_settings(incremental)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if settings.jit_compile is True and settings.keras is None and scipy.sparse.issparse(X):
            raise ValueError(
                "jit_compile=True needs a dense X: XLA has no sparse matrices. "
                "Pass X.toarray(), or leave jit_compile='auto' (or False)."
            )
        first_pass = not self._has_network() or not (self.warm_start or incremental)
        X, y, sample_weight, spec = self._prepare(X, y, sample_weight, first_pass)
        if settings.keras is not None:
            check_loss_for_targets(settings.keras.loss, y, spec.out_activation, type(self).__name__)
        random_state = check_random_state(self.random_state)
        start = self._start(spec, settings, first_pass, random_state)
        data = self._training_data(X, y, sample_weight, settings, random_state)
        if first_pass and quadratic.applies(spec, settings):
            start = start._replace(weights=quadratic.quadratic_start(spec, data, start.weights))
        elif first_pass and rational.applies(spec, settings):
            start = start._replace(weights=rational.rational_start(spec, data, start.weights))
        spec.check_positive_inputs(start.weights, data.X, type(self).__name__)
        return spec, settings, data, start, first_pass

    def _install(self, spec, trained, reuse, went_on):
        """Keep what training gave back: Keras's model and history (a
        ``partial_fit``'s added to the earlier calls'), or the compiled
        engine's weights, set into the fitted model when training continued it
        (and Keras's fit has not compiled it), else into a new one."""
        fitted = self.__dict__.get("_model")  # built: not to be built here
        if trained.model is not None:
            history = trained.history
            if reuse and went_on and hasattr(self, "history_"):
                history = {k: self.history_.get(k, []) + v for k, v in history.items()}
            self._set_network(spec, trained.model, trained.record, None)
            self.history_ = history
            return self
        model = fitted if reuse else None
        if model is not None and not model.compiled:
            model.set_weights(trained.weights)
        elif numpy_forward.computes(spec):
            model = trained.weights  # model_ is built from them when first read
        else:
            model = spec.keras_model(trained.weights)
        self._set_network(spec, model, trained.record, trained.optimizer_state)
        self.__dict__.pop("history_", None)  # Keras's record, of an earlier fit
        return self

    def _set_network(self, spec, model, record, optimizer_state, keras_optimizer_state=None):
        """Set the fitted network and what training keeps for its next call:
        the engine's optimizer state, or a Keras optimizer's variables that a
        model loaded from a file holds aside until it trains again.

        ``model`` is a Keras model, or the network's weights
        (``[kernel, bias, ...]``) where NumPy computes it
        (:func:`._network.numpy_forward.computes`): prediction then needs no
        Keras model, and :attr:`model_` builds one when first read."""
        self.__dict__.pop("_model", None)
        self.__dict__.pop("_weights", None)
        if isinstance(model, list):
            self._weights = model
        else:
            self._model = model
        self._spec = spec
        self.n_outputs_ = spec.n_outputs
        self.n_layers_ = len(spec.layer_units)
        self.out_activation_ = spec.out_activation
        self._record = record
        self._optimizer_state = optimizer_state
        self._keras_optimizer_state = keras_optimizer_state
        return self

    def _fit_or_restore(self, X, y, sample_weight, incremental):
        """Fit, or leave the estimator exactly as it was if fitting fails."""
        before = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight, incremental)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs: a NumPy array, a pandas DataFrame, or a SciPy
            CSR or CSC matrix or array (never densified as a whole).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a weight of k counts as k repeated rows.

        Returns
        -------
        self : MLPFunctionRegressor
            The fitted estimator.
        """
        return self._fit_or_restore(X, y, sample_weight, incremental=False)

    @available_if(_solver_is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one more epoch on (X, y), starting from the current weights.

        The first call initialises the network. The optimizer's state (Adam's
        or SGD's moments, or the Keras optimizer's) carries over between calls.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MLPFunctionRegressor
        """
        return self._fit_or_restore(X, y, sample_weight, incremental=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def initialize(self, X, y):
        """Build the network with its initial weights without training it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : MLPFunctionRegressor
        """
        X, y, _, spec = self._prepare(X, y, None, reset=True)
        weights = spec.initial_weights(check_random_state(self.random_state))
        record = TrainingRecord.start(TrainingSettings.of(self, False).early_stopping)
        self.__dict__.pop("history_", None)
        return self._set_network(spec, spec.keras_model(weights), record, None)

    # -- persistence -------------------------------------------------------------

    #: Fitted attributes rebuilt from the network's data when loading.
    _NETWORK_ATTRIBUTES = (
        "model_",
        "_model",
        "_weights",
        "_spec",
        "_record",
        "_optimizer_state",
        "_keras_optimizer_state",
        "n_outputs_",
        "n_layers_",
        "out_activation_",
    )

    def __getstate__(self):
        """The estimator's state with the network as plain data: no Keras
        object, so that loading runs no code from the file (see
        :mod:`._training.fitted_state`)."""
        state = dict(super().__getstate__())
        if self._has_network():
            state[fitted_state.KEY] = fitted_state.as_data(
                self._spec,
                self.model_,
                self._record,
                self._optimizer_state,
                self._keras_optimizer_state,
            )
            for name in self._NETWORK_ATTRIBUTES:
                state.pop(name, None)
        return state

    def __setstate__(self, state):
        """Validate the network's data and rebuild the Keras model from it.

        Raises
        ------
        ValueError
            Naming the field of the state that is not what this version writes.
        """
        state = dict(state)
        network = state.pop(fitted_state.KEY, None)
        for name in self._NETWORK_ATTRIBUTES:
            if name in state:
                raise ValueError(
                    f"Cannot load the fitted network: the state holds {name}, which is "
                    "rebuilt from the network's data. A file written by an earlier "
                    "sklearn_fitfn holds the Keras model itself: fit again and save anew."
                )
        fitted_state.check_fields(state, self._get_param_names())
        if "history_" in state:
            fitted_state.check_history(state["history_"])
        if network is not None:
            restored = fitted_state.from_data(network)
            parameters = {name: state.get(name) for name in self._get_param_names()}
            fitted_state.check_against_parameters(
                restored.spec, parameters, state.get("n_features_in_"), type(self).__name__
            )
        super().__setstate__(state)
        if network is not None:
            self._set_network(*restored)

    # -- the fitted network ------------------------------------------------------

    def _has_network(self):
        return "_model" in self.__dict__ or "_weights" in self.__dict__

    @property
    def model_(self):
        """The fitted Keras network (see the class's Attributes), built from
        the weights on first reading where the fit did not need one."""
        model = self.__dict__.get("_model")
        if model is not None:
            return model
        with _BUILDING:
            if "_model" not in self.__dict__:
                if "_weights" not in self.__dict__:
                    raise AttributeError(
                        f"'{type(self).__name__}' object has no attribute 'model_'"
                    )
                self._model = self._spec.keras_model(self._weights)
                del self._weights
        return self._model

    def _network_weights(self):
        """The network's weights ``[kernel, bias, ...]``: the fitted ones
        until :attr:`model_` is built, then the model's (which its user may
        have set)."""
        weights = self.__dict__.get("_weights")
        return weights if weights is not None else dense_weights(self.model_)

    # -- prediction ------------------------------------------------------------

    def predict(self, X):
        """Predict with the fitted network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A sparse X goes to the network densified a few rows at a time.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, in the estimator's ``dtype``.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=(np.float64, np.float32), accept_sparse=["csr", "csc"]
        )
        spec = self._spec
        if numpy_forward.computes(spec):  # as the Keras model computes it, without one
            weights = self._network_weights()
            chunks = [
                numpy_forward.network_output(spec.activations, weights, chunk)
                for chunk in dense_chunks(X, spec.dtype)
            ]
        else:
            chunks = [
                np.asarray(self.model_(tf.constant(chunk), training=False))
                for chunk in dense_chunks(X, spec.dtype)
            ]
        y_pred = np.concatenate(chunks)
        return y_pred.ravel() if self.n_outputs_ == 1 else y_pred

    # -- the function a network of square and identity units computes --------

    def _polynomials(self, inputs):
        """The outputs as :class:`._polynomial.Polynomial` of ``inputs``, for a
        fitted network (:func:`sklearn_fitfn.formula.to_polynomial` checks)."""
        spec = self._spec
        check_polynomial_network(spec.activations, spec.out_activation, type(self).__name__)
        return network_polynomials(self._network_weights(), spec.activations, inputs)

    def _computes_ratio(self):
        return self._spec.activations == RATIO_ACTIVATIONS

    def _ratio(self, inputs):
        """The numerator and denominator :class:`._polynomial.Polynomial` of
        ``inputs`` of a fitted network of log units under an exponential unit."""
        spec = self._spec
        check_ratio_network(
            spec.activations, spec.out_activation, spec.n_outputs, type(self).__name__
        )
        return network_ratio(self._network_weights(), inputs)

    def to_formula(self, tol=1e-6):
        """The function the fitted network computes, read back from its weights.

        A network of square and identity units computes a polynomial (as
        :meth:`to_polynomial` gives it); two log units under one exponential
        unit compute a ratio of two linear forms, ``exp(log p - log q) = p/q``,
        given as a :class:`sklearn_fitfn.formula.Ratio` of two polynomials.

        Parameters
        ----------
        tol : float, default=1e-6
            Terms whose coefficient is no larger than this are left out.

        Returns
        -------
        dict, list of dict, or Ratio
            :func:`sklearn_fitfn.formula.format_polynomial` writes any of them;
            :func:`sklearn_fitfn.formula.to_formula` gives it in the original
            units of a pipeline with StandardScaler.

        Raises
        ------
        ValueError
            When the network computes neither a polynomial nor a ratio.
        """
        from .formula import to_formula

        return to_formula(self, tol)

    def to_polynomial(self, tol=1e-6):
        """The polynomial the fitted network computes, term by term.

        One hidden layer of square units computes a quadratic of the inputs
        (each further square layer doubles the degree); identity units keep
        what they are given. The polynomial is expanded exactly from the
        weights, so it is the network, not an approximation of it.

        Parameters
        ----------
        tol : float, default=1e-6
            Terms whose coefficient is no larger than this are left out.

        Returns
        -------
        dict or list of dict
            From exponent tuples (one exponent per input feature) to
            coefficients; a list with one dict per output when y has several.
            :func:`sklearn_fitfn.formula.format_polynomial` writes one as
            ``"y = 1·x0·x1"``; :func:`sklearn_fitfn.formula.to_polynomial`
            gives it in the original units of a pipeline with StandardScaler.

        Raises
        ------
        ValueError
            When a hidden layer has another activation, or the output is
            exponential (``loss="poisson"``).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_fitfn import MLPFunctionRegressor
        >>> X = np.random.default_rng(0).uniform(1, 2, size=(100, 2))
        >>> net = MLPFunctionRegressor(hidden_layer_sizes=(2,), activation="square",
        ...                            solver="lbfgs", random_state=0)
        >>> {powers: round(c, 6) for powers, c in
        ...  net.fit(X, X[:, 0] * X[:, 1]).to_polynomial().items()}
        {(1, 1): 1.0}
        """
        from .formula import to_polynomial

        return to_polynomial(self, tol)

    # -- fitted attributes derived from the network and the training record ---

    @property
    def coefs_(self):
        """Copies of the kernels, input to output."""
        return [w.copy() for w in self._network_weights()[0::2]]

    @property
    def intercepts_(self):
        """Copies of the biases, input to output."""
        return [w.copy() for w in self._network_weights()[1::2]]

    loss_curve_ = property(lambda self: self._record.loss_curve, doc="Loss per epoch.")
    loss_ = property(lambda self: self._record.loss, doc="Loss after the last epoch.")
    best_loss_ = property(lambda self: self._record.best_loss, doc="Lowest loss.")
    validation_scores_ = property(
        lambda self: self._record.validation_scores, doc="Validation R² per epoch."
    )
    best_validation_score_ = property(
        lambda self: self._record.best_validation_score, doc="Best validation R²."
    )
    n_iter_ = property(lambda self: self._record.n_iter, doc="Epochs in the last call.")
    converged_ = property(
        lambda self: bool(self._record.converged), doc="Whether the last fit converged."
    )
    t_ = property(lambda self: self._record.t, doc="Training samples seen in total.")
