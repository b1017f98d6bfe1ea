"""MLPRegressor's public behaviours that a script swapping the class relies on:
convergence warnings, batch and validation edge cases, sparse input, Ctrl-C.

Where MLPRegressor has the behaviour, the test runs both estimators and
compares them directly.
"""

import re
import signal
import subprocess
import sys
import threading
import warnings

import keras
import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

import sklearn_fitfn._network.inputs
import sklearn_fitfn._training.engine
import sklearn_fitfn._training.record
from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training.interrupt import INTERRUPTED, catch_interruption

SMALL = dict(hidden_layer_sizes=(16,), max_iter=15, random_state=0)
SOLVERS = ["adam", "sgd", "lbfgs"]


def _warnings_of(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return [(w.category, str(w.message)) for w in caught]


def _both(options, X, y, method="fit"):
    """Warnings of MLPRegressor and of ours, fitted alike."""
    theirs = MLPRegressor(**options)
    ours = MLPFunctionRegressor(**options)
    return (
        _warnings_of(lambda: getattr(theirs, method)(X, y)),
        _warnings_of(lambda: getattr(ours, method)(X, y)),
        theirs,
        ours,
    )


# -- ConvergenceWarning ------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_convergence_warning_as_mlpregressor(regression_data, solver):
    X, y = regression_data
    theirs, ours, _, reg = _both({**SMALL, "solver": solver}, X, y)
    assert ours == theirs
    assert [category for category, _ in ours] == [ConvergenceWarning]
    assert reg.converged_ is False


@pytest.mark.parametrize("solver", SOLVERS)
def test_no_warning_when_the_stopping_rule_ends_training(regression_data, solver):
    X, y = regression_data
    options = dict(SMALL, solver=solver, max_iter=500, tol=0.5, n_iter_no_change=2)
    theirs, ours, mlp, reg = _both(options, X, y)
    assert ours == theirs == []
    assert reg.converged_ is True and reg.n_iter_ == mlp.n_iter_ < 500


def test_convergence_warning_on_the_keras_path(regression_data):
    X, y = regression_data
    caught = _warnings_of(lambda: MLPFunctionRegressor(**SMALL, solver="rmsprop").fit(X, y))
    _, expected, _, _ = _both(SMALL, X, y)
    assert caught == expected


@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_warns_and_counts_each_fit_as_mlpregressor(solver):
    # scikit-learn's test_mlp_warm_start_no_convergence, on a regression.
    X, y = np.random.default_rng(0).normal(size=(150, 4)), np.arange(150.0) % 3
    options = dict(
        solver=solver, warm_start=True, max_iter=10, n_iter_no_change=np.inf, random_state=0
    )
    for estimator in (MLPRegressor(**options), MLPFunctionRegressor(**options)):
        with pytest.warns(ConvergenceWarning):
            estimator.fit(X, y)
        assert estimator.n_iter_ == 10
        estimator.set_params(max_iter=20)
        with pytest.warns(ConvergenceWarning):
            estimator.fit(X, y)
        assert estimator.n_iter_ == 20


def test_lbfgs_warns_when_max_fun_is_reached(regression_data):
    X, y = regression_data
    options = dict(SMALL, solver="lbfgs", max_iter=150, max_fun=10)
    theirs, ours, mlp, reg = _both(options, X, y)
    assert [c for c, _ in ours] == [c for c, _ in theirs] == [ConvergenceWarning]
    assert "TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT" in ours[0][1]
    assert reg.n_iter_ <= 10


def test_partial_fit_never_warns(regression_data):
    X, y = regression_data
    theirs, ours, _, reg = _both(dict(SMALL, max_iter=1), X, y, method="partial_fit")
    assert ours == theirs == []


# -- batch_size and validation_fraction -----------------------------------------------


@pytest.mark.parametrize("batch_size, n_warnings", [(10_000, 1), (240, 0), ("auto", 0)])
def test_batch_size_larger_than_the_data_warns_and_is_clipped(
    regression_data, batch_size, n_warnings
):
    X, y = regression_data
    options = dict(SMALL, batch_size=batch_size, max_iter=2)
    theirs, ours, mlp, reg = _both(options, X, y)
    ours = [w for w in ours if w[0] is not ConvergenceWarning]
    theirs = [w for w in theirs if w[0] is not ConvergenceWarning]
    assert ours == theirs and len(ours) == n_warnings
    np.testing.assert_allclose(reg.predict(X), mlp.predict(X), rtol=1e-10, atol=1e-12)


def test_batch_size_is_checked_against_the_training_split(regression_data):
    # 240 rows, 10% held out for early stopping: 216 train.
    X, y = regression_data
    options = dict(SMALL, batch_size=230, early_stopping=True, max_iter=2)
    theirs, ours, _, _ = _both(options, X, y)
    assert [m for _, m in ours if "batch_size" in m] == [m for _, m in theirs if "batch_size" in m]
    assert any("batch_size" in m for _, m in ours)


@pytest.mark.parametrize(
    "options",
    [
        dict(validation_fraction=0.0),
        dict(validation_fraction=0.0, early_stopping=True),
        dict(validation_fraction=1.0),
        dict(validation_fraction=-0.1),
        dict(validation_fraction=0.001, early_stopping=True),
        dict(validation_fraction=0.999, early_stopping=True),
        dict(batch_size=0),
        dict(batch_size=1.5),
    ],
)
def test_edge_values_are_accepted_or_refused_as_mlpregressor(regression_data, options):
    X, y = regression_data

    def outcome(estimator):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimator.fit(X, y)
        except Exception as error:  # the same type and message as MLPRegressor's
            return type(error).__name__, str(error).replace("MLPFunctionRegressor", "MLP")
        return "fitted"

    options = dict(SMALL, max_iter=2, **options)
    theirs = outcome(MLPRegressor(**options))
    ours = outcome(MLPFunctionRegressor(**options))
    if isinstance(theirs, tuple):
        theirs = theirs[0], theirs[1].replace("MLPRegressor", "MLP")
    assert ours == theirs


# -- a diverging fit ------------------------------------------------------------------


@pytest.mark.parametrize("extra", [{}, dict(n_iter_no_change=3)], ids=["20-epochs", "stops"])
def test_a_diverging_fit_with_early_stopping_ends_as_mlpregressors(extra):
    # scikit-learn's test_mlp_diverging_loss, side by side: no exception, the
    # NaN validation scores recorded as Python floats, the best weights kept.
    X, y = load_iris(return_X_y=True)
    options = dict(
        hidden_layer_sizes=100,
        activation="identity",
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=1,
        max_iter=20,
        early_stopping=True,
        n_iter_no_change=10,
        random_state=0,
    )
    theirs, ours, mlp, reg = _both({**options, **extra}, X, y)
    # NumPy's overflow warnings are MLPRegressor's arithmetic, not its API.
    assert ours == [w for w in theirs if w[0] is not RuntimeWarning]
    assert reg.n_iter_ == mlp.n_iter_ == len(reg.validation_scores_)
    assert all(type(score) is float for score in reg.validation_scores_)
    assert np.isnan(reg.validation_scores_[-1])
    assert reg.validation_scores_ == pytest.approx(mlp.validation_scores_, rel=1e-10, nan_ok=True)
    assert reg.loss_curve_ == pytest.approx(mlp.loss_curve_, rel=1e-10, nan_ok=True)
    assert reg.best_validation_score_ == pytest.approx(mlp.best_validation_score_, rel=1e-10)
    assert reg.best_loss_ is mlp.best_loss_ is None
    np.testing.assert_allclose(reg.predict(X), mlp.predict(X), rtol=1e-10)


class _WeightsEachEpoch(keras.callbacks.Callback):
    """Keeps the weights after each epoch, in a list of the class: a fit
    trains a copy of the user's callback."""

    kept = []

    def on_epoch_end(self, epoch, logs=None):
        _WeightsEachEpoch.kept.append(self.model.get_weights())


def test_a_diverging_fit_with_early_stopping_on_keras_fit_keeps_the_best_weights():
    X, y = load_iris(return_X_y=True)
    _WeightsEachEpoch.kept = []
    reg = MLPFunctionRegressor(
        hidden_layer_sizes=100,
        activation="identity",
        solver="sgd",
        learning_rate_init=1.0,
        callbacks=[_WeightsEachEpoch()],  # Keras's fit, with Keras's SGD
        max_iter=20,
        early_stopping=True,
        n_iter_no_change=np.inf,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    scores = reg.validation_scores_
    assert reg.n_iter_ == 20 and np.isnan(scores).any()
    assert all(type(score) is float for score in scores)
    assert reg.best_validation_score_ == np.nanmax(scores)
    kept = _WeightsEachEpoch.kept[int(np.nanargmax(scores))]
    for mine, theirs in zip(reg.model_.get_weights(), kept, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    best = MLPFunctionRegressor(**{**reg.get_params(), "max_iter": int(np.nanargmax(scores)) + 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best.fit(X, y)
    np.testing.assert_array_equal(reg.predict(X), best.predict(X))


MLPREGRESSOR_NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large "
    "values and need to be preprocessed."
)


@pytest.mark.parametrize(
    "options",
    [
        dict(solver="adam"),
        dict(solver="sgd"),
        dict(solver="lbfgs"),
        dict(solver="rmsprop"),
        dict(solver="adam", jit_compile=True),
        dict(solver="adam", dtype="float32"),
    ],
    ids=["adam", "sgd", "lbfgs", "keras-fit", "xla", "float32"],
)
def test_non_finite_training_raises_mlpregressors_error(options):
    # scikit-learn's test_nonfinite_params, on every solver and path.
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    for estimator in (MLPRegressor(), MLPFunctionRegressor(**options)):
        if isinstance(estimator, MLPRegressor) and options != dict(solver="adam"):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with pytest.raises(ValueError, match=re.escape(MLPREGRESSOR_NON_FINITE)):
                estimator.fit(X, y)
    assert not hasattr(estimator, "model_")  # ours is left unfitted, as it was


def test_validation_rows_all_of_weight_zero_are_refused_as_mlpregressor_refuses_them():
    # One row of weight 1 among 30: wherever the split puts it, one side is all zeros.
    X, y = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30.0)
    weights = np.zeros(30)
    weights[7] = 1.0
    options = dict(hidden_layer_sizes=(4,), max_iter=3, early_stopping=True, random_state=0)
    refused = {}
    for estimator in (MLPRegressor(**options), MLPFunctionRegressor(**options)):
        with pytest.raises(ValueError) as error:
            estimator.fit(X, y, sample_weight=weights)
        refused[type(estimator).__name__] = str(error.value)
    sentence = "Sample weights must contain at least one non-zero number"
    assert refused["MLPRegressor"].startswith(sentence)
    assert refused["MLPFunctionRegressor"].startswith(sentence)
    assert "validation split" in refused["MLPFunctionRegressor"]


# -- sparse input ---------------------------------------------------------------------


def _sparse_problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 40)) * (rng.random((300, 40)) < 0.1)
    y = X @ rng.normal(size=40) + np.abs(X[:, 0])
    return X, y


SPARSE_FORMATS = [
    scipy.sparse.csr_matrix,
    scipy.sparse.csc_matrix,
    scipy.sparse.csr_array,
    scipy.sparse.csc_array,
]


@pytest.mark.parametrize(
    "options",
    [
        dict(solver="adam"),
        dict(solver="sgd", early_stopping=True),
        dict(solver="lbfgs"),
        dict(solver="rmsprop"),
        dict(solver="adam", loss="poisson"),
    ],
    ids=["adam", "sgd-early-stopping", "lbfgs", "keras-rmsprop", "poisson"],
)
@pytest.mark.parametrize("sparse_format", SPARSE_FORMATS, ids=lambda f: f.__name__)
def test_sparse_input_gives_the_dense_predictions(options, sparse_format):
    X, y = _sparse_problem()
    if options.get("loss") == "poisson":
        y = np.exp(0.1 * y)
    options = dict(SMALL, max_iter=25, **options)
    dense = MLPFunctionRegressor(**options).fit(X, y)
    sparse = MLPFunctionRegressor(**options).fit(sparse_format(X), y)
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X), rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        sparse.predict(sparse_format(X)), dense.predict(X), rtol=0, atol=1e-10
    )
    assert sparse.loss_curve_ == pytest.approx(dense.loss_curve_, rel=1e-10)


@pytest.mark.parametrize("solver", SOLVERS)
def test_sparse_input_matches_mlpregressor_on_sparse_input(solver):
    X, y = _sparse_problem()
    X = scipy.sparse.csr_matrix(X)
    options = dict(SMALL, max_iter=25, solver=solver)
    ours = MLPFunctionRegressor(**options).fit(X, y).predict(X)
    theirs = MLPRegressor(**options).fit(X, y).predict(X)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


def test_sparse_input_is_densified_a_chunk_at_a_time_at_most(monkeypatch):
    # 50,000 columns: densifying all 400 rows at once would be 20,000,000 values.
    rng = np.random.default_rng(0)
    X = scipy.sparse.random(400, 50_000, density=2e-4, format="csr", random_state=0)
    y = np.asarray(X.sum(axis=1)).ravel() + rng.normal(size=400)
    densified = []
    toarray = scipy.sparse.csr_matrix.toarray

    def recording_toarray(self, *args, **kwargs):
        densified.append(self.shape[0] * self.shape[1])
        return toarray(self, *args, **kwargs)

    monkeypatch.setattr(scipy.sparse.csr_matrix, "toarray", recording_toarray)
    monkeypatch.setattr(sklearn_fitfn._network.inputs, "DENSE_CHUNK_ELEMENTS", 5_000_000)
    for solver in ["adam", "rmsprop"]:
        reg = MLPFunctionRegressor(
            hidden_layer_sizes=(4,), max_iter=2, solver=solver, early_stopping=True, random_state=0
        ).fit(X, y)
        assert reg.predict(X).shape == (400,)
    assert densified and max(densified) <= 5_000_000


# -- Ctrl-C -------------------------------------------------------------------------------


@pytest.mark.usefixtures("python_sigint_handler")
def test_catch_interruption_defers_a_first_ctrl_c_and_raises_a_second():
    with pytest.raises(KeyboardInterrupt):
        with catch_interruption() as interruption:
            assert interruption.active
            signal.raise_signal(signal.SIGINT)
            assert interruption.requested
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.usefixtures("python_sigint_handler")
def test_catch_interruption_changes_nothing_outside_the_main_thread():
    seen = []

    def in_a_thread():
        with catch_interruption() as interruption:
            seen.append(interruption)

    worker = threading.Thread(target=in_a_thread)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert not seen[0].active
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_catch_interruption_leaves_an_ignored_sigint_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with catch_interruption() as interruption:
            assert not interruption.active
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


#: Epochs of a fit that Ctrl-C should end: a test fails on reaching them.
_UNINTERRUPTED_EPOCHS = 20_000


@pytest.mark.usefixtures("python_sigint_handler")
@pytest.mark.parametrize(
    "options",
    [
        dict(solver="adam"),
        dict(solver="rmsprop"),
        dict(solver="sgd", early_stopping=True),
        dict(solver="adam", jit_compile=True),
    ],
    ids=["engine", "keras-fit", "engine-early-stopping", "engine-xla"],
)
def test_ctrl_c_keeps_the_epochs_trained_so_far(regression_data, monkeypatch, options):
    """Ctrl-C, wherever it lands after the third epoch, ends the fit with
    MLPRegressor's warning and a network that is exactly the uninterrupted
    fit of n_iter_ epochs: weights, loss curve and n_iter_ agree."""
    X, y = regression_data
    main = threading.main_thread().ident
    end_of_epoch = sklearn_fitfn._training.record.end_of_epoch
    sent = threading.Event()

    def press_ctrl_c():
        signal.pthread_kill(main, signal.SIGINT)
        sent.set()

    def press_ctrl_c_after_three_epochs(record, *args):
        if record.n_iter == 2:  # booking the third epoch
            # Usually lands inside the next compiled call or Keras epoch.
            threading.Timer(0.05, press_ctrl_c).start()
        elif record.n_iter > 2:
            # However late the timer runs, the signal is out before training
            # goes on, so the fit cannot end first.
            assert sent.wait(timeout=60), "the timer never sent Ctrl-C"
        return end_of_epoch(record, *args)

    monkeypatch.setattr(
        sklearn_fitfn._training.record, "end_of_epoch", press_ctrl_c_after_three_epochs
    )
    # The path is fixed: "auto" could give XLA to the long fit and not to the short one.
    long = {
        **SMALL,
        "max_iter": _UNINTERRUPTED_EPOCHS,
        "n_iter_no_change": np.inf,
        "jit_compile": False,
        **options,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        interrupted = MLPFunctionRegressor(**long).fit(X, y)
    monkeypatch.undo()
    assert [(w.category, str(w.message)) for w in caught] == [(UserWarning, INTERRUPTED)]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    n_iter = interrupted.n_iter_
    assert 3 <= n_iter == len(interrupted.loss_curve_) < _UNINTERRUPTED_EPOCHS
    assert interrupted.converged_ is False

    uninterrupted = MLPFunctionRegressor(**{**long, "max_iter": n_iter}).fit(X, y)
    assert interrupted.loss_curve_ == uninterrupted.loss_curve_
    np.testing.assert_array_equal(interrupted.predict(X), uninterrupted.predict(X))
    if "history_" in vars(uninterrupted):
        assert interrupted.history_ == uninterrupted.history_


_FIT_WITH_SIGINT_IGNORED = """
import signal, os, warnings
import numpy as np
import sklearn_fitfn._training.record
from sklearn_fitfn import MLPFunctionRegressor

assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
end_of_epoch = sklearn_fitfn._training.record.end_of_epoch

def press_ctrl_c(record, *args):
    os.kill(os.getpid(), signal.SIGINT)
    return end_of_epoch(record, *args)

sklearn_fitfn._training.record.end_of_epoch = press_ctrl_c
rng = np.random.default_rng(0)
X = rng.normal(size=(120, 3))
y = X[:, 0] ** 2
for solver in ["adam", "rmsprop"]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = MLPFunctionRegressor(
            hidden_layer_sizes=(8,), max_iter=12, n_iter_no_change=np.inf,
            solver=solver, random_state=0,
        ).fit(X, y)
    assert fitted.n_iter_ == 12, (solver, fitted.n_iter_)
    assert [str(w.message) for w in caught if w.category is UserWarning] == [], solver
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN, solver
print("trained through", 2 * 12, "ignored SIGINTs")
"""


def test_a_process_that_ignores_sigint_trains_through_it_and_keeps_ignoring_it():
    # As a process started with `nohup` or `cmd &` from a script: SIGINT
    # arrives ignored, and a fit neither re-enables it nor stops for it.
    result = subprocess.run(
        [sys.executable, "-c", _FIT_WITH_SIGINT_IGNORED],
        capture_output=True,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == "trained through 24 ignored SIGINTs\n"


def test_how_epochs_are_grouped_into_calls_changes_nothing(regression_data, monkeypatch):
    X, y = regression_data
    options = dict(SMALL, max_iter=40, early_stopping=True, n_iter_no_change=5, tol=1e-3)
    grouped = MLPFunctionRegressor(**options).fit(X, y)
    monkeypatch.setattr(sklearn_fitfn._training.engine, "BLOCK_SECONDS", 0.0)  # one epoch per call
    one_by_one = MLPFunctionRegressor(**options).fit(X, y)
    assert grouped.loss_curve_ == one_by_one.loss_curve_
    assert grouped.validation_scores_ == one_by_one.validation_scores_
    np.testing.assert_array_equal(grouped.predict(X), one_by_one.predict(X))
