"""What every back-end is given and gives back: one fit's settings, its data,
where it starts and what it trained.

The estimator builds these once per fit, from its parameters and the
validated data; a back-end (the compiled engine, L-BFGS, Keras's fit) reads
them and never the estimator. Which back-end a fit takes is decided here too,
from names that need no TensorFlow (the ``fitfn`` command offers the same
solvers).
"""

import dataclasses
from typing import NamedTuple

import numpy as np

#: Solvers of the compiled engine (MLPRegressor's).
ENGINE_SOLVERS = ("adam", "sgd", "lbfgs")

#: MLPRegressor's losses, which the compiled engine computes; the Keras path
#: maps each to a Keras loss and its weight (the network's output layer,
#: exponential for "poisson", comes from the spec).
MLP_LOSSES = {"squared_error": ("mean_squared_error", 0.5), "poisson": ("poisson", None)}


def uses_keras_fit(solver, loss, callbacks):
    """Whether these settings train with Keras's ``fit`` rather than the compiled engine."""
    return not (
        isinstance(solver, str)
        and solver in ENGINE_SOLVERS
        and isinstance(loss, str)
        and loss in MLP_LOSSES
        and not callbacks
    )


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """One fit's training parameters, validated once, as plain Python values.

    The names and meanings are MLPRegressor's (see the estimator), with
    ``nesterov`` for ``nesterovs_momentum``; ``incremental`` is a
    ``partial_fit`` (one epoch, the optimizer carried on); ``keras`` holds the
    resolved optimizer, loss and callbacks of a fit that trains with Keras's
    ``fit``, and is None on the compiled engine.
    """

    solver: str
    max_iter: int
    tol: float
    alpha: float
    learning_rate_init: float
    learning_rate: str
    power_t: float
    momentum: float
    nesterov: bool
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: float
    max_fun: int
    shuffle: bool
    early_stopping: bool
    verbose: int
    jit_compile: bool | str
    incremental: bool = False
    keras: object = None

    @classmethod
    def of(cls, estimator, incremental):
        """The settings of ``estimator``'s parameters, NumPy scalars made plain.

        A solver given as a Keras optimizer (class or instance) is named
        ``"keras"`` here; its object travels in ``keras``.
        """
        solver = estimator.solver if isinstance(estimator.solver, str) else "keras"
        n_iter_no_change = estimator.n_iter_no_change
        return cls(
            solver=str(solver),
            max_iter=int(estimator.max_iter),
            tol=float(estimator.tol),
            alpha=float(estimator.alpha),
            learning_rate_init=float(estimator.learning_rate_init),
            learning_rate=str(estimator.learning_rate),
            power_t=float(estimator.power_t),
            momentum=float(estimator.momentum),
            nesterov=bool(estimator.nesterovs_momentum),
            beta_1=float(estimator.beta_1),
            beta_2=float(estimator.beta_2),
            epsilon=float(estimator.epsilon),
            n_iter_no_change=float(n_iter_no_change)
            if np.isinf(n_iter_no_change)
            else int(n_iter_no_change),
            max_fun=int(estimator.max_fun),
            shuffle=bool(estimator.shuffle),
            early_stopping=bool(estimator.early_stopping) and solver != "lbfgs",
            verbose=int(estimator.verbose),
            jit_compile=_plain_jit_compile(estimator.jit_compile),
            incremental=bool(incremental),
        )


def _plain_jit_compile(value):
    """``"auto"``, or the flag as a plain ``bool`` (NumPy's would become a
    tensor where TensorFlow binds it)."""
    return "auto" if isinstance(value, str) else bool(value)


class ValidationSet(NamedTuple):
    """The rows early stopping holds out: X (dense or sparse), 2-D y, weights."""

    X: object
    y: np.ndarray
    w: np.ndarray


class TrainingData(NamedTuple):
    """The rows to train on, in the compute dtype.

    Attributes
    ----------
    X : ndarray or scipy.sparse.csr_matrix
    y : ndarray of shape (n_samples, n_outputs)
    w : ndarray of shape (n_samples,)
        Sample weights (the mini-batch solvers get no rows of weight zero).
    validation : ValidationSet or None
        With early stopping.
    batch_size : int
        Rows per mini-batch, clipped to the rows there are.
    """

    X: object
    y: np.ndarray
    w: np.ndarray
    validation: ValidationSet | None
    batch_size: int

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def sparse(self):
        import scipy.sparse  # here: the command reads this module's names at once

        return scipy.sparse.issparse(self.X)

    def padded(self, n_rows):
        """These rows followed by rows of zeros (weight zero) up to ``n_rows``,
        as XLA's fixed shapes want them; they change no loss or gradient."""
        extra = n_rows - self.n_samples
        X, y, w = (np.concatenate([a, np.zeros((extra, *a.shape[1:]), a.dtype)]) for a in self[:3])
        return self._replace(X=X, y=y, w=w)


class TrainingStart(NamedTuple):
    """Where a fit starts.

    Attributes
    ----------
    weights : list of ndarray
        ``[kernel, bias, ...]``; not modified.
    record : TrainingRecord
        A fresh record, or a copy of the fitted one to continue; updated in place.
    optimizer_state : list of ndarray or None
        The optimizer state a ``partial_fit`` resumes: the compiled engine's,
        or on Keras's fit the Keras optimizer's variables of a model loaded
        from a file (not compiled).
    random_state : numpy.random.RandomState
        Source of the shuffling.
    model : keras.Model or None
        The fitted model, which a ``partial_fit`` on Keras's fit continues
        when it was compiled there.
    """

    weights: list
    record: object
    optimizer_state: list | None
    random_state: np.random.RandomState
    model: object = None


class Trained(NamedTuple):
    """What a back-end gives back.

    Attributes
    ----------
    record : TrainingRecord
    weights : list of ndarray or None
        The trained weights (the best ones with early stopping); None when
        ``model`` holds them.
    optimizer_state : list of ndarray or None
        The compiled engine's, for a later ``partial_fit``.
    model : keras.Model or None
        Keras's fit: the trained, compiled model.
    history : dict or None
        Keras's fit: SciKeras's ``history_`` of this call.
    """

    record: object
    weights: list | None = None
    optimizer_state: list | None = None
    model: object = None
    history: dict | None = None
