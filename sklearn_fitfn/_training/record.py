"""What training has seen, and MLPRegressor's rules for it, shared by every back-end.

The record (loss curve, best loss or validation score, counters), the
validation score of early stopping, the stopping rule booked after each
epoch, the warnings a fit ends with, and the checks for a training that
diverged. The compiled engine, L-BFGS and Keras's fit all call these, so
they stop, warn and fail alike.
"""

import dataclasses
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._quiet.tensorflow import tf


@dataclasses.dataclass
class TrainingRecord:
    """What training has seen so far; it carries over to warm starts and partial fits."""

    loss_curve: list
    best_loss: float | None
    validation_scores: list | None
    best_validation_score: float | None
    best_weights: list | None = None
    no_improvement_count: int = 0
    n_iter: int = 0
    t: int = 0
    loss: float | None = None
    converged: bool | None = None  # the last fit stopped by its rule, without a ConvergenceWarning

    @classmethod
    def start(cls, early_stopping):
        """A fresh record, shaped as MLPRegressor shapes it for ``early_stopping``."""
        if early_stopping:
            return cls([], None, [], -np.inf)
        return cls([], np.inf, None, None)


def validation_r2(predicted, y, w, total):
    """The validation score of MLPRegressor's early stopping, as a tensor.

    R² averaged over outputs, as ``sklearn.metrics.r2_score`` with weights (a
    constant target scores 1 when predicted exactly, else 0), from the
    predictions, the 2-D targets, the weights and :func:`total_sum_of_squares`;
    NaN when a prediction is NaN or infinite, as MLPRegressor scores a
    diverged network. With a leading axis of members (predictions and
    targets ``[K, rows, outputs]``, weights ``[K, rows]``, totals ``[K,
    outputs]``), each member's score, ``[K]``.
    """
    sse = tf.reduce_sum(w[..., None] * tf.square(y - predicted), axis=-2)
    has_spread = total > 0
    ratio = sse / tf.where(has_spread, total, tf.ones_like(total))
    exact = tf.cast(tf.equal(sse, 0), sse.dtype)
    score = tf.reduce_mean(tf.where(has_spread, 1 - ratio, exact), axis=-1)
    finite = tf.reduce_all(tf.math.is_finite(predicted), axis=[-2, -1])
    return tf.where(finite, score, tf.constant(np.nan, score.dtype))


def total_sum_of_squares(y, w):
    """Weighted sum of squares of each output of ``y`` about its weighted mean."""
    mean = np.average(y, axis=0, weights=w)
    return (w[:, None] * (y - mean) ** 2).sum(axis=0)


def _remedy(dtype, stochastic):
    """What to do about a fit that diverged, as far as the fit allows: a
    learning rate only where there is one, float64 only where it is not
    already the dtype."""
    steps = ["scale X and y (StandardScaler, and TransformedTargetRegressor for y)"]
    if stochastic:
        steps.append("lower learning_rate_init")
    if np.dtype(dtype) != np.float64:
        steps.append("train in dtype='float64'")
    text = ", ".join(steps[:-1]) + (" or " if len(steps) > 1 else "") + steps[-1]
    return text[0].upper() + text[1:] + "."


#: MLPRegressor's words for a fit that diverged; every such error here starts with them.
NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain "
    "large values and need to be preprocessed."
)


def check_finite_loss(loss, iteration, dtype, unit="epoch"):
    """Raise MLPRegressor's ValueError, saying where and what to do, if a
    training loss is NaN or infinite."""
    if not np.isfinite(loss):
        raise ValueError(
            f"{NON_FINITE} The training loss became non-finite ({loss}) at {unit} "
            f"{iteration}, computing in {dtype}. " + _remedy(dtype, unit == "epoch")
        )


def check_finite_weights(weights, stochastic=True):
    """Raise MLPRegressor's ValueError, and what to do, if a weight is NaN or
    infinite; ``stochastic`` says whether the fit had a learning rate."""
    if not all(np.isfinite(w).all() for w in weights):
        raise ValueError(f"{NON_FINITE} " + _remedy(weights[0].dtype, stochastic))


def end_of_epoch(record, loss, n_samples, score, schedule, settings):
    """Book an epoch as MLPRegressor does; return True when training stops.

    Parameters
    ----------
    record : TrainingRecord
        Updated in place.
    loss : float
    n_samples : int
        Training rows, added to ``record.t``.
    score : float or None
        The epoch's validation R², or None without early stopping.
    schedule : object
        Whose ``trigger_stopping(message, verbose)`` decides what
        ``n_iter_no_change`` flat epochs do (see :mod:`.._optimizers`).
    settings : TrainingSettings
        ``tol``, ``n_iter_no_change`` and ``verbose``.
    """
    tol, n_iter_no_change, verbose = settings.tol, settings.n_iter_no_change, settings.verbose
    record.n_iter += 1
    record.loss = loss
    record.t += n_samples
    record.loss_curve.append(loss)
    if verbose:
        print(f"Iteration {record.n_iter}, loss = {loss:.8f}")

    if score is not None:
        record.validation_scores.append(score)
        if verbose:
            print(f"Validation score: {score:f}")
        if score < record.best_validation_score + tol:
            record.no_improvement_count += 1
        else:
            record.no_improvement_count = 0
        record.best_validation_score = max(record.best_validation_score, score)
    else:
        if loss > record.best_loss - tol:
            record.no_improvement_count += 1
        else:
            record.no_improvement_count = 0
        record.best_loss = min(record.best_loss, loss)

    if record.no_improvement_count > n_iter_no_change:
        watched = "Validation score" if score is not None else "Training loss"
        message = (
            f"{watched} did not improve more than tol={tol:f} "
            f"for {n_iter_no_change} consecutive epochs."
        )
        if schedule.trigger_stopping(message, verbose):
            return True
        record.no_improvement_count = 0
    return False


def end_of_training(record, settings, stopped, interruption):
    """MLPRegressor's last words on a stochastic fit: the warning for Ctrl-C,
    or the ConvergenceWarning when ``max_iter`` epochs ran without a stop."""
    record.converged = stopped
    interruption.warn()
    incremental, max_iter = settings.incremental, settings.max_iter
    if not (stopped or incremental or interruption.requested) and record.n_iter == max_iter:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
            "optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=2,
        )
