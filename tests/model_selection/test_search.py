"""The searches that train members together give scikit-learn's own results:
the same cv_results_, best_params_ and refit, each member's weights those of
fitting it alone (to float rounding), and every member that cannot share a
program trained alone, as scikit-learn's search would."""

import contextlib
import os
import re
import signal
import threading
import warnings

import joblib
import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV as ScikitLearnGridSearchCV
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.model_selection import RandomizedSearchCV as ScikitLearnRandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_fitfn import MLPFunctionRegressor, model_selection
from sklearn_fitfn._training import stacked
from sklearn_fitfn.model_selection import GridSearchCV, RandomizedSearchCV

GRID = {
    "mlpfunctionregressor__alpha": [1e-4, 1e-1],
    "mlpfunctionregressor__learning_rate_init": [1e-3, 1e-2],
}
CV = KFold(3, shuffle=True, random_state=0)
#: One candidate of another shape, of an activation NumPy's stacked epochs do
#: not compute: its 3 fits are fewer than TensorFlow's groups need.
SMALL_ELU = {
    "mlpfunctionregressor__hidden_layer_sizes": [(4,)],
    "mlpfunctionregressor__activation": ["elu"],
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    return X, X[:, 0] ** 2 + X[:, 1] - 0.5 * X[:, 2]


def _pipeline(**params):
    network = MLPFunctionRegressor(hidden_layer_sizes=(8, 8), max_iter=40, random_state=0)
    return make_pipeline(StandardScaler(), network.set_params(**params))


@pytest.fixture
def together(monkeypatch):
    """Counts the members trained together and the fits that took their training."""
    counts = {"trained": 0, "taken": 0}
    train, take = stacked.train_task, stacked.take

    def counting_train(members):
        outcomes, seconds = train(members)
        counts["trained"] += len(outcomes)
        return outcomes, seconds

    def counting_take(member):
        outcome = take(member)
        counts["taken"] += outcome is not None
        return outcome

    monkeypatch.setattr(stacked, "train_task", counting_train)
    monkeypatch.setattr(stacked, "take", counting_take)
    return counts


def _searches(estimator, grid, X, y, *, backend=None, **options):
    """Our search (under joblib's ``backend`` with 2 jobs, if given) and
    scikit-learn's, in this process: its process workers would each start
    TensorFlow."""
    ours_backend = (
        contextlib.nullcontext()
        if backend is None
        else joblib.parallel_config(backend=backend, n_jobs=2)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with ours_backend:
            ours = GridSearchCV(estimator, grid, cv=CV, **options).fit(X, y)
        theirs = ScikitLearnGridSearchCV(estimator, grid, cv=CV, **options).fit(X, y)
    return ours, theirs


def _assert_same_results(ours, theirs, rtol):
    assert ours.best_params_ == theirs.best_params_
    assert sorted(ours.cv_results_) == sorted(theirs.cv_results_)
    for key, value in theirs.cv_results_.items():
        if key.endswith("_score") and not key.startswith("rank"):
            np.testing.assert_allclose(ours.cv_results_[key], value, rtol=rtol, err_msg=key)
        elif not key.endswith("_time"):
            assert list(ours.cv_results_[key]) == list(value), key


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-9), ("float32", 1e-3)])
def test_a_grid_trains_together_with_scikit_learns_results(data, together, dtype, rtol):
    X, y = data
    ours, theirs = _searches(_pipeline(dtype=dtype), GRID, X, y, return_train_score=True)
    assert together == {"trained": 12, "taken": 12}  # 4 candidates x 3 folds; the refit alone
    _assert_same_results(ours, theirs, rtol)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=rtol)


def test_the_missions_grid_trains_identity_and_relu_together(data, together, capsys):
    """The README's grid: activations x widths, 3 folds. Each width's
    identity and relu members (6) share a program, each applying its own
    activation, with scikit-learn's results."""
    X, y = data
    grid = {
        "mlpfunctionregressor__activation": ["identity", "relu"],
        "mlpfunctionregressor__hidden_layer_sizes": [(8,), (8, 8)],
    }
    ours, theirs = _searches(_pipeline(), grid, X, y, verbose=1)
    assert together == {"trained": 12, "taken": 12}
    _assert_same_results(ours, theirs, 1e-9)
    printed = capsys.readouterr().out
    assert "Trained 6 fits of hidden_layer_sizes=(8,) (linear/relu, float64)" in printed
    assert "Trained 6 fits of hidden_layer_sizes=(8, 8) (linear/relu, float64)" in printed
    assert "0 of 12 fits train one at a time" in printed


def test_each_member_is_what_fitting_it_alone_gives(data):
    X, y = data
    members, alone = [], []
    for alpha, rate in [(1e-4, 1e-3), (1e-1, 1e-2), (1e-2, 3e-3)]:
        params = dict(alpha=alpha, learning_rate_init=rate, solver="sgd", momentum=0.8)
        network = MLPFunctionRegressor(
            hidden_layer_sizes=(8,), max_iter=25, random_state=1, **params
        )
        members.append(network._training_member(X, y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            alone.append(network.fit(X, y))
    for outcome, network in zip(stacked._train_group(members), alone):
        trained = outcome.trained
        assert trained.record.n_iter == network.n_iter_
        np.testing.assert_allclose(trained.record.loss_curve, network.loss_curve_, rtol=1e-10)
        weights = [w for pair in zip(network.coefs_, network.intercepts_) for w in pair]
        for ours, theirs in zip(trained.weights, weights):
            np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)


def test_each_early_stopping_member_is_what_fitting_it_alone_gives(data):
    # Validation splits of different sizes pad the members' rows differently;
    # each keeps its own scores, stopping epoch and best weights.
    X, y = data
    members, alone = [], []
    for fraction, patience in [(0.1, 2), (0.2, 4), (0.3, 3)]:
        network = MLPFunctionRegressor(
            hidden_layer_sizes=(8,),
            max_iter=60,
            random_state=2,
            early_stopping=True,
            validation_fraction=fraction,
            n_iter_no_change=patience,
            learning_rate_init=0.05,
        )
        members.append(network._training_member(X, y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            alone.append(network.fit(X, y))
    outcomes = stacked._train_group(members)
    assert len({network.n_iter_ for network in alone}) > 1, "members must stop apart"
    for outcome, network in zip(outcomes, alone):
        record = outcome.trained.record
        assert outcome.stopped == (network.n_iter_ < 60)
        assert record.n_iter == network.n_iter_
        np.testing.assert_allclose(record.validation_scores, network.validation_scores_, rtol=1e-9)
        np.testing.assert_allclose(record.best_validation_score, network.best_validation_score_)
        weights = [w for pair in zip(network.coefs_, network.intercepts_) for w in pair]
        for ours, theirs in zip(outcome.trained.weights, weights):
            np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-9), ("float32", 1e-3)])
def test_early_stopping_members_train_together_with_scikit_learns_results(
    data, together, dtype, rtol
):
    X, y = data
    grid = {
        "mlpfunctionregressor__n_iter_no_change": [2, 6],
        "mlpfunctionregressor__learning_rate_init": [1e-2, 3e-2],
    }
    estimator = _pipeline(dtype=dtype, early_stopping=True, max_iter=80)
    ours, theirs = _searches(estimator, grid, X, y)
    assert together == {"trained": 12, "taken": 12}
    _assert_same_results(ours, theirs, rtol)
    best = [ours.best_estimator_[-1], theirs.best_estimator_[-1]]
    assert best[0].n_iter_ == best[1].n_iter_
    np.testing.assert_allclose(best[0].validation_scores_, best[1].validation_scores_, rtol=rtol)


def test_stopped_members_leave_the_group_at_their_own_epoch(data, together):
    X, y = data
    grid = {
        "mlpfunctionregressor__tol": [10.0, 1e-4],
        "mlpfunctionregressor__n_iter_no_change": [2, 5],
    }
    ours, theirs = _searches(_pipeline(), grid, X, y)
    assert together["taken"] == 12
    _assert_same_results(ours, theirs, 1e-9)
    fitted = [ours.best_estimator_[-1].n_iter_, theirs.best_estimator_[-1].n_iter_]
    assert fitted[0] == fitted[1]


@pytest.mark.parametrize(
    "options",
    [
        dict(solver="rmsprop"),  # Keras's fit
        dict(solver="lbfgs"),
        dict(random_state=None),
    ],
)
def test_members_that_cannot_share_train_alone_with_the_same_results(data, together, options):
    X, y = data
    grid = {"mlpfunctionregressor__alpha": [1e-4, 1e-1]}
    estimator = _pipeline(**{**options, "max_iter": 5})
    ours, theirs = _searches(estimator, grid, X, y)
    assert together["trained"] == 0
    if options.get("random_state", 0) is not None:
        _assert_same_results(ours, theirs, 1e-9)


def test_inside_a_transformed_target_regressor_and_a_randomized_search(data, together):
    X, y = data
    model = TransformedTargetRegressor(_pipeline(), transformer=StandardScaler())
    space = {"regressor__mlpfunctionregressor__alpha": [1e-4, 1e-3, 1e-2, 1e-1]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = RandomizedSearchCV(model, space, n_iter=3, cv=CV, random_state=0).fit(X, y)
        theirs = ScikitLearnRandomizedSearchCV(model, space, n_iter=3, cv=CV, random_state=0)
        theirs.fit(X, y)
    assert together["taken"] == 9
    _assert_same_results(ours, theirs, 1e-9)


def test_a_member_whose_loss_diverges_gets_the_error_score_alone(data, together):
    X, y = data
    grid = {"mlpfunctionregressor__learning_rate_init": [1e-3, 3e-3, 1e30]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = GridSearchCV(_pipeline(solver="sgd"), grid, cv=CV, error_score=np.nan)
        ours.fit(X, y)
        theirs = ScikitLearnGridSearchCV(_pipeline(solver="sgd"), grid, cv=CV, error_score=np.nan)
        theirs.fit(X, y)
    scores = ours.cv_results_["mean_test_score"]
    assert np.isfinite(scores[:2]).all() and np.isnan(scores[2])
    np.testing.assert_allclose(scores, theirs.cv_results_["mean_test_score"], rtol=1e-9)
    assert together["trained"] == 9  # the diverging folds among them


def test_nothing_is_left_waiting_after_a_search_and_nothing_printed(data, capsys):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GridSearchCV(_pipeline(), GRID, cv=CV).fit(X, y)
    assert stacked._waiting == {}
    assert capsys.readouterr() == ("", "")  # verbose=0


def test_groups_too_small_to_gain_train_alone(data, together):
    X, y = data
    # 6 members of a network only TensorFlow's program computes: fewer than 8.
    grid = {"mlpfunctionregressor__alpha": [1e-4, 1e-1]}
    ours, theirs = _searches(_pipeline(activation="elu"), grid, X, y)
    assert together["trained"] == 0
    _assert_same_results(ours, theirs, 1e-9)


def test_verbose_says_which_fits_train_together_and_which_alone(data, capsys):
    X, y = data
    # 4 candidates of one shape (12 fits) and 1 of another that only
    # TensorFlow's program computes (3 fits, fewer than its groups need).
    grid = [GRID, SMALL_ELU]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GridSearchCV(_pipeline(), grid, cv=CV, verbose=1).fit(X, y)
    printed = capsys.readouterr().out
    together = r"Trained 12 fits of hidden_layer_sizes=\(8, 8\) \(relu, float64\) together in \d"
    assert len(re.findall(together, printed)) == 1, printed
    alone = "3 of 15 fits train one at a time: 3 for fewer than 8 of their shape\n"
    assert alone in printed
    # After scikit-learn's header, before its first fit's line.
    header = printed.index("Fitting 3 folds for each of 5 candidates, totalling 15 fits")
    assert header < re.search(together, printed).start() < printed.index(alone)


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_joblibs_local_backends_train_the_groups_here(data, together, backend):
    X, y = data
    ours, theirs = _searches(_pipeline(), GRID, X, y, backend=backend)
    assert together["taken"] == 12
    _assert_same_results(ours, theirs, 1e-9)


def test_a_groups_training_seconds_are_shared_among_its_fits(data, monkeypatch):
    X, y = data
    train_task = stacked.train_task
    monkeypatch.setattr(stacked, "train_task", lambda members: (train_task(members)[0], 6.0))
    grid = [GRID, SMALL_ELU]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(_pipeline(), grid, cv=CV).fit(X, y)
    # 12 fits shared 6 s; the 3 fits of (4,) elu trained in their own fits.
    assert search._training_seconds == [0.5, 0.5, 0.5, 0.5, 0.0]


def test_ctrl_c_stops_the_group_and_the_search(data, monkeypatch, python_sigint_handler):
    # Ctrl-C arrives as the group plans its second call: the running call
    # ends at its next mini-batch and the search raises KeyboardInterrupt.
    X, y = data
    plan, calls = stacked._Group.plan, []

    def plan_then_interrupt(group, n_epochs):
        calls.append(n_epochs)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return plan(group, n_epochs)

    monkeypatch.setattr(stacked._Group, "plan", plan_then_interrupt)
    with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GridSearchCV(_pipeline(max_iter=400), GRID, cv=CV).fit(X, y)
    assert len(calls) == 2 and stacked._waiting == {}


@pytest.mark.parametrize(
    "estimator, params, sends",
    [
        (_pipeline(), {}, True),
        (_pipeline(random_state=np.int64(3)), {"groups": None, "sample_weight": None}, True),
        (_pipeline(solver="lbfgs"), {}, True),  # trains alone there, from its seed
        (TransformedTargetRegressor(_pipeline(), transformer=StandardScaler()), {}, True),
        (make_pipeline(StandardScaler(), StandardScaler(), _pipeline()[-1]), {}, True),
        (_pipeline(), {"mlpfunctionregressor__sample_weight": None}, True),
        (_pipeline(), {"standardscaler__copy": True}, False),
        (_pipeline(random_state=None), {}, False),
        (_pipeline(random_state=np.random.RandomState(0)), {}, False),
        (_pipeline(solver="rmsprop"), {}, False),  # Keras's fit: its model stays there
        (_pipeline(loss="huber"), {}, False),
        (_pipeline(callbacks=[object()]), {}, False),
        (make_pipeline(StandardScaler(), TransformedTargetRegressor()), {}, False),
    ],
    ids=lambda value: None if isinstance(value, bool) else "",
)
def test_a_cluster_is_sent_the_training_of_networks_that_train_from_a_seed_without_keras(
    estimator, params, sends
):
    assert GridSearchCV(estimator, GRID)._sends_training(params) is sends


@pytest.mark.parametrize(
    "hidden_layer_sizes, activation, dtype, named",
    [
        ((), "relu", "float64", "linear"),  # no hidden layer: one linear map
        ((8, 4), ("square", "relu"), "float32", "square/relu"),
        ((8, 4), ("relu", "relu"), "float64", "relu"),
        ((8, 4), ["relu", "identity", "tanh"], "float64", "relu/linear/tanh"),
    ],
)
def test_verbose_names_each_groups_network(capsys, hidden_layer_sizes, activation, dtype, named):
    """A group's line names each activation its members apply, once."""
    X, y = np.ones((4, 2)), np.arange(4.0)
    activations = activation if isinstance(activation, list) else [activation]
    specs = [
        MLPFunctionRegressor(hidden_layer_sizes=hidden_layer_sizes, activation=a, dtype=dtype)
        ._training_member(X, y)
        .spec
        for a in [*activations, activations[0]] * 3
    ]
    assert model_selection._group_report(specs, 2.345) == (
        f"Trained {len(specs)} fits of hidden_layer_sizes={hidden_layer_sizes} ({named}, {dtype}) "
        "together in 2.3s"
    )


class _ElsewhereBackend(joblib.parallel.ThreadingBackend):
    """A joblib backend that is not one of this machine's, as Dask's is: the
    search sends it the training; its tasks run in threads here."""


def test_a_backend_of_other_machines_is_sent_each_group_and_each_other_member(
    data, together, monkeypatch
):
    X, y = data
    sent, train_task = [], stacked.train_task

    def recording_task(members):
        sent.append((len(members), threading.current_thread() is threading.main_thread()))
        return train_task(members)

    monkeypatch.setattr(stacked, "train_task", recording_task)
    backend = _ElsewhereBackend()
    # 4 candidates of one shape (12 fits) and 1 of another that only
    # TensorFlow's program computes (3 fits, fewer than its groups need).
    grid = [GRID, SMALL_ELU]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with joblib.parallel_config(backend=backend):
            ours = GridSearchCV(_pipeline(), grid, cv=CV, n_jobs=3).fit(X, y)
        theirs = ScikitLearnGridSearchCV(_pipeline(), grid, cv=CV).fit(X, y)
    # Tasks on the backend's workers: the group of 12, and each fit of (4,) alone.
    assert sorted(sent) == [(1, False), (1, False), (1, False), (12, False)]
    assert together == {"trained": 15, "taken": 15}
    _assert_same_results(ours, theirs, 1e-9)


def test_groups_and_sample_weights_reach_every_fold_and_fit(data, together):
    X, y = data
    params = {
        "groups": np.arange(len(y)) % 5,
        "sample_weight": np.random.default_rng(1).uniform(0.5, 2, len(y)),
    }
    # Folds of 90 and 120 rows share a program with batches of a size both have.
    network = MLPFunctionRegressor(
        hidden_layer_sizes=(8,), max_iter=20, random_state=0, batch_size=32
    )
    grid = {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-3, 1e-2]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GridSearchCV(network, grid, cv=GroupKFold(3)).fit(X, y, **params)
        theirs = ScikitLearnGridSearchCV(network, grid, cv=GroupKFold(3)).fit(X, y, **params)
    assert together == {"trained": 12, "taken": 12}
    _assert_same_results(ours, theirs, 1e-9)


def test_a_splitter_that_reads_y_splits_the_members_rows_as_scikit_learn(data, together):
    X, _ = data
    y = (np.arange(len(X)) % 3).astype(float)  # three levels: folds stratified on y
    network = MLPFunctionRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    grid = {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-3, 1e-2]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GridSearchCV(network, grid, cv=cv).fit(X, y)
        theirs = ScikitLearnGridSearchCV(network, grid, cv=cv).fit(X, y)
    assert together == {"trained": 12, "taken": 12}
    _assert_same_results(ours, theirs, 1e-9)


class _TaskRecorder:
    """A scikit-learn callback that records the tasks it is told of."""

    def __init__(self):
        self.tasks = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.tasks.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.tasks.append(("end", context.task_name, context.task_id))
        return False


def test_scikit_learns_callbacks_see_every_candidate_and_fold_as_in_its_search(data, together):
    X, y = data
    recorded = []
    for search in (GridSearchCV, ScikitLearnGridSearchCV):
        recorder = _TaskRecorder()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search(_pipeline(), GRID, cv=CV).set_callbacks(recorder).fit(X, y)
        recorded.append(recorder.tasks)
    assert together["taken"] == 12
    evaluations = [t for t in recorded[1] if t[:2] == ("end", "candidate-split-evaluation")]
    assert len(evaluations) == 12
    assert recorded[0] == recorded[1]
