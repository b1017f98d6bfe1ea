"""The parts of training members together, called directly: which members
share a program, how they are split into tasks and chunks, a member trained
alone in a task of its own, the padding of the stacked data, and the
results that wait for their member's own fit."""

import dataclasses
import re
import threading
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import rounds, stacked


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    return X, X[:, 0] * X[:, 1] + X[:, 2]


def _member(X, y, **params):
    network = MLPFunctionRegressor(
        **{"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0, **params}
    )
    return network._training_member(X, y)


def test_members_share_a_program_when_their_shape_and_way_of_taking_rows_agree(data):
    X, y = data
    key = stacked.group_key(_member(X, y))
    # What differs between members of one program: their own hyperparameters and rows.
    for own in [dict(alpha=0.5), dict(learning_rate_init=0.1), dict(random_state=7)]:
        assert stacked.group_key(_member(X, y, **own)) == key, own
    # Members of different numbers of rows share batches of a size both have.
    fold = stacked.group_key(_member(X[:40], y[:40], batch_size=16))
    assert fold == stacked.group_key(_member(X, y, batch_size=16)) != key
    # Nesterov's momentum is an SGD setting: Adam's members ignore it.
    assert stacked.group_key(_member(X, y, nesterovs_momentum=False)) == key
    sgd = stacked.group_key(_member(X, y, solver="sgd"))
    assert sgd != key
    assert stacked.group_key(_member(X, y, solver="sgd", nesterovs_momentum=False)) != sgd
    # On NumPy each member applies its own activation: scikit-learn's share.
    for activation in ["identity", "logistic", "tanh"]:
        assert stacked.group_key(_member(X, y, activation=activation)) == key, activation
    for other in [
        dict(hidden_layer_sizes=(5,)),
        dict(activation="elu"),  # TensorFlow's program: one activation for all
        dict(dtype="float32"),
        dict(batch_size=16),
        dict(shuffle=False),
        dict(early_stopping=True),
    ]:
        assert stacked.group_key(_member(X, y, **other)) not in (None, key), other


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="rmsprop"),  # Keras's fit
        dict(loss="huber"),  # Keras's fit too
        dict(solver="lbfgs"),
        dict(jit_compile=True),
    ],
)
def test_members_whose_training_could_differ_train_alone(data, params):
    X, y = data
    assert stacked.group_key(_member(X, y, **params)) is None


def test_a_sparse_x_or_a_carried_optimizer_state_trains_alone(data):
    X, y = data
    assert stacked.group_key(_member(scipy.sparse.csr_matrix(X), y)) is None
    member = _member(X, y)
    carried = member.start._replace(optimizer_state=[np.zeros(1)])
    assert stacked.group_key(member._replace(start=carried)) is None
    incremental = dataclasses.replace(member.settings, incremental=True)
    assert stacked.group_key(member._replace(settings=incremental)) is None


def _round_tasks(monkeypatch, members, **options):
    """The tasks a round trains, as lists of positions in ``members``, and the round."""
    tasks = []

    def recording(task):
        tasks.append([next(i for i, m in enumerate(members) if m is t) for t in task])
        return [None] * len(task), 0.0

    monkeypatch.setattr(stacked, "train_task", recording)
    training = rounds.TrainingRound(**options)
    for member in members:
        training.add(member)
    training.finish()
    return tasks, training


def test_tasks_are_the_groups_of_enough_members_and_with_a_cluster_each_other_member(
    data, monkeypatch
):
    X, y = data
    eight = [_member(X, y, alpha=a) for a in np.linspace(1e-4, 1e-1, 8)]
    # Two fits of another shape (alpha=1e-4 is the default), each three
    # times: each trains once, and two are fewer than NumPy's groups need.
    seven = [_member(X, y, hidden_layer_sizes=(5,), alpha=a) for a in (1e-4, 1e-3)] * 3
    seven.append(_member(X, y, hidden_layer_sizes=(5,)))
    keras = _member(X, y, solver="rmsprop")
    lbfgs = _member(X, y, solver="lbfgs")
    members = [keras, *eight, lbfgs, *seven]
    assert stacked.min_members(eight[0]) == stacked.MIN_NUMPY_MEMBERS == 5
    alone = {"Keras's fit": 1, "L-BFGS": 1, "fewer than 5 of their shape": 7}
    tasks, training = _round_tasks(monkeypatch, members)
    assert tasks == [list(range(1, 9))]
    assert training.alone == alone
    # With a cluster, every member but Keras's trains there, alone if not grouped;
    # a copy takes what its first trains.
    backend = joblib.parallel.ThreadingBackend()
    tasks, training = _round_tasks(monkeypatch, members, backend=backend, n_jobs=2)
    assert sorted(tasks) == [list(range(1, 9)), [9], [10], [11]]
    assert training.alone == alone


def test_networks_numpy_does_not_compute_need_tensorflows_larger_groups(data):
    X, y = data
    assert stacked.min_members(_member(X, y, activation="gelu")) == stacked.MIN_MEMBERS == 8
    assert stacked.min_members(_member(X, np.abs(y), loss="poisson")) == 8
    assert stacked.min_members(_member(X, y, activation="tanh")) == 5


@pytest.mark.parametrize("early_stopping", [False, True])
def test_groups_train_in_chunks_whose_stacked_data_stay_within_the_bound(
    data, monkeypatch, early_stopping
):
    X, y = data
    members = [
        _member(
            X[:n],
            y[:n],
            early_stopping=early_stopping,
            validation_fraction=v,
            alpha=a,
            batch_size=16,
        )
        for a, (n, v) in enumerate([(50, 0.1), (60, 0.2), (40, 0.3)] * 4)
    ]
    # A chunk stacks, for each member, the longest member's rows and one
    # padding row, each of X's 3 columns, y and the weight; with early
    # stopping, the longest validation rows too.
    longest = max(m.data.n_samples for m in members) + 1
    assert longest == (49 if early_stopping else 61)
    if early_stopping:
        longest += max(len(m.data.validation.w) for m in members)
        assert longest == 49 + 12
    per_member = longest * (3 + 1 + 1)
    assert max(stacked.elements(m) for m in members) == per_member
    indices = list(range(len(members)))
    for bound, size in [(8 * per_member, 8), (9 * per_member - 1, 8), (2**24, 12)]:
        monkeypatch.setattr(stacked, "MAX_GROUP_ELEMENTS", bound)
        expected = [indices[start : start + size] for start in range(0, 12, size)]
        expected = [chunk for chunk in expected if len(chunk) >= stacked.min_members(members[0])]
        assert _round_tasks(monkeypatch, members)[0] == expected, bound


def test_a_round_holds_a_bounded_number_of_rows_at_once(data, monkeypatch):
    X, y = data
    per_member = stacked.elements(_member(X, y))
    monkeypatch.setattr(rounds, "MAX_HELD_ELEMENTS", 10 * per_member)
    held = []
    hold = rounds.TrainingRound._hold

    def recording_hold(training, member):
        hold(training, member)
        held.append(training._held)

    monkeypatch.setattr(rounds.TrainingRound, "_hold", recording_hold)
    # Members of three shapes, one after another, as a grid of many candidates.
    members = [
        _member(X, y, hidden_layer_sizes=(width,), alpha=alpha)
        for alpha in np.linspace(1e-4, 1e-1, 9)
        for width in (4, 5, 6)
    ]
    tasks, training = _round_tasks(monkeypatch, members)
    assert max(held) <= 10 * per_member
    assert all(len(task) >= stacked.MIN_NUMPY_MEMBERS for task in tasks) and tasks
    trained = sum(len(task) for task in tasks)
    assert trained + sum(training.alone.values()) == len(members)
    assert set(training.alone) <= {
        "too few of their shape among the rows held at once",
        "fewer than 5 of their shape",
    }


def test_a_task_of_one_member_trains_it_as_its_own_fit_would_with_its_warnings(data):
    X, y = data
    network = MLPFunctionRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    member = network._training_member(X, y)
    (outcome,), seconds = stacked.train_task([member])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network.fit(X, y)
    assert seconds > 0
    assert outcome.warned == [(w.category, str(w.message)) for w in caught]
    assert outcome.warned[0][0] is ConvergenceWarning
    assert outcome.stopped is False and outcome.trained.record.n_iter == 3
    weights = [w for pair in zip(network.coefs_, network.intercepts_) for w in pair]
    for ours, theirs in zip(outcome.trained.weights, weights):
        np.testing.assert_array_equal(ours, theirs)


def test_a_task_of_one_member_hands_back_its_error_for_its_own_fit_to_raise(data):
    X, y = data
    member = _member(X, y, solver="sgd", learning_rate_init=1e30)
    (outcome,), _ = stacked.train_task([member])
    assert isinstance(outcome, ValueError) and "non-finite" in str(outcome).lower()


def test_padding_rows_copy_the_first_row_or_take_the_fill():
    arrays = [np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0]])]
    np.testing.assert_array_equal(
        stacked._stack(arrays, 3),
        [[[1, 2], [3, 4], [1, 2]], [[5, 6], [5, 6], [5, 6]]],
    )
    weights = [np.array([1.0, 2.0]), np.array([3.0])]
    np.testing.assert_array_equal(
        stacked._stack(weights, 4, fill=0.0), [[1, 2, 0, 0], [3, 0, 0, 0]]
    )
    assert stacked._stack([np.arange(2, dtype=np.int32)], 2).dtype == np.int32


def test_a_fingerprint_changes_with_everything_that_decides_the_training(data):
    X, y = data
    member = _member(X, y)
    key = stacked.fingerprint(member)
    assert stacked.fingerprint(_member(X, y)) == key
    changed_weights = [w.copy() for w in member.start.weights]
    changed_weights[-1] += 1e-12
    changed_state = np.random.RandomState(0)
    changed_state.randint(2)
    others = [
        _member(X, y, alpha=0.5),  # the settings
        _member(X, y, hidden_layer_sizes=(5,)),  # the network
        _member(X[::-1], y[::-1]),  # the rows' order
        member._replace(start=member.start._replace(weights=changed_weights)),
        member._replace(start=member.start._replace(random_state=changed_state)),
        _member(X, y, early_stopping=True, validation_fraction=0.2),
        _member(X, y, early_stopping=True, validation_fraction=0.3),
    ]
    keys = [stacked.fingerprint(other) for other in others]
    assert len({key, *keys}) == len(others) + 1


def test_results_wait_for_their_member_once_and_are_forgotten_when_not_taken(data):
    X, y = data
    members = [_member(X, y, alpha=a) for a in (1e-4, 1e-3, 1e-2)]
    keys = [stacked.fingerprint(m) for m in members]
    outcomes = ["first", None, "third"]
    assert stacked.keep_for_later(keys, outcomes) == [keys[0], keys[2]]
    try:
        assert stacked.take(members[1]) is None  # it trains in its own fit
        assert stacked.take(members[0]) == "first"
        assert stacked.take(members[0]) is None  # taken once
        stacked.forget(keys)
        assert stacked.take(members[2]) is None
        assert stacked._waiting == {}
    finally:
        stacked.forget(keys)


def test_each_members_learning_rate_schedule_steps_as_alone(data):
    """SGD's schedules, per member: invscaling's rate after each epoch from
    the samples seen, adaptive's divided by 5 after flat epochs (tol=10
    makes every epoch flat) until it stops the member."""
    X, y = data
    schedules = [
        dict(learning_rate="invscaling", power_t=0.5, learning_rate_init=0.1),
        dict(learning_rate="invscaling", power_t=0.25, learning_rate_init=0.05),
        dict(learning_rate="adaptive", tol=10.0, n_iter_no_change=2, learning_rate_init=0.1),
    ]
    members, alone = [], []
    for schedule in schedules:
        network = MLPFunctionRegressor(
            hidden_layer_sizes=(4,), solver="sgd", max_iter=30, random_state=1, **schedule
        )
        members.append(network._training_member(X, y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            alone.append(network.fit(X, y))
    assert alone[2].n_iter_ < 30, "the adaptive member must stop on its schedule"
    for outcome, network in zip(stacked._train_group(members), alone):
        record = outcome.trained.record
        assert record.n_iter == network.n_iter_
        np.testing.assert_allclose(record.loss_curve, network.loss_curve_, rtol=1e-10)
        weights = [w for pair in zip(network.coefs_, network.intercepts_) for w in pair]
        for ours, theirs in zip(outcome.trained.weights, weights):
            np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_member_whose_loss_diverges_leaves_its_group_with_the_error_its_fit_raises(data, dtype):
    X, y = data
    rates = [1e-3, 1e3, 1e-2]  # the second diverges within a few epochs
    networks = [
        MLPFunctionRegressor(
            hidden_layer_sizes=(4,),
            solver="sgd",
            learning_rate_init=rate,
            max_iter=20,
            random_state=0,
            dtype=dtype,
        )
        for rate in rates
    ]
    outcomes = stacked._train_group([n._training_member(X, y) for n in networks])
    with pytest.raises(ValueError) as alone:
        networks[1].fit(X, y)
    # The same message: the epoch at which the loss turned, and the dtype.
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == str(alone.value)
    assert re.search(rf"at epoch [2-9], computing in {dtype}\.", str(outcomes[1]))
    # The others trained on to their max_iter.
    assert [outcomes[k].trained.record.n_iter for k in (0, 2)] == [20, 20]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_group_trains_in_parts_on_threads_as_on_one(data, monkeypatch, early_stopping):
    """Members never meet: a NumPy group split into parts, each on a thread
    of its own, trains each member as the whole group on one thread does,
    members stopping at their own epochs included."""
    import contextlib

    from sklearn_fitfn._training import stacked_numpy

    X, y = data

    def members():
        return [
            _member(
                X,
                y,
                learning_rate_init=rate,
                max_iter=60,
                tol=1e-2,
                n_iter_no_change=3,
                early_stopping=early_stopping,
                validation_fraction=0.2,
            )
            for rate in np.geomspace(1e-3, 0.3, 7)
        ]

    def trained_on(cores):
        threads, sizes = set(), []
        run = stacked_numpy.NumpyStack._run

        def noted(self, orders, *args):
            threads.add(threading.get_ident())
            sizes.append(orders.shape[1])
            return run(self, orders, *args)

        monkeypatch.setattr(stacked_numpy, "one_blas_thread", lambda: contextlib.nullcontext(cores))
        monkeypatch.setattr(stacked_numpy, "MIN_MULTIPLY_ADDS_PER_THREAD", 1)  # tiny members
        monkeypatch.setattr(stacked_numpy.NumpyStack, "_run", noted)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return stacked._train_group(members()), sorted(sizes[:cores]), len(threads)

    (whole, first_whole, _), (parts, first_parts, n_threads) = trained_on(1), trained_on(3)
    assert (first_whole, first_parts) == ([7], [2, 2, 3]) and n_threads > 1
    assert len({outcome.trained.record.n_iter for outcome in whole}) > 1, "members stop apart"
    for one, split in zip(whole, parts, strict=True):
        assert split.trained.record.n_iter == one.trained.record.n_iter
        np.testing.assert_allclose(
            split.trained.record.loss_curve, one.trained.record.loss_curve, rtol=1e-12
        )
        for ours, theirs in zip(split.trained.weights, one.trained.weights, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cores", [1, 2])
def test_members_of_different_activations_train_together_as_each_alone(data, monkeypatch, cores):
    """Each member applies its own activations to its rows of the stacked
    arrays, in runs of consecutive members, also when a part of the group
    (a thread's members) begins or ends inside a run."""
    import contextlib

    from sklearn_fitfn._training import stacked_numpy

    X, y = data
    activations = ["identity", "relu", "relu", "tanh", "logistic", "identity", "relu"]
    networks = [
        MLPFunctionRegressor(
            hidden_layer_sizes=(5, 3),
            activation=activation,
            max_iter=25,
            learning_rate_init=0.01,
            random_state=seed,
        )
        for seed, activation in enumerate(activations)
    ]
    monkeypatch.setattr(stacked_numpy, "one_blas_thread", lambda: contextlib.nullcontext(cores))
    monkeypatch.setattr(stacked_numpy, "MIN_MULTIPLY_ADDS_PER_THREAD", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        members = [network._training_member(X, y) for network in networks]
        assert len({stacked.group_key(member) for member in members}) == 1
        outcomes = stacked._train_group(members)
        alone = [network.fit(X, y) for network in networks]
    for outcome, network in zip(outcomes, alone, strict=True):
        np.testing.assert_allclose(
            outcome.trained.record.loss_curve, network.loss_curve_, rtol=1e-9
        )
        weights = [w for pair in zip(network.coefs_, network.intercepts_) for w in pair]
        for ours, theirs in zip(outcome.trained.weights, weights, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)
    # Different activations gave different networks (the test would not see a mix-up otherwise).
    assert len({round(n.loss_curve_[-1], 6) for n in alone}) == len(activations)


def test_a_group_trains_in_parts_only_where_each_threads_step_has_work_enough(data):
    """Threads gain only where each one's products outweigh the time its
    NumPy calls hold the GIL: by members, rows, widths and dtype."""
    from sklearn_fitfn._training import stacked_numpy

    def threads(n_members, hidden, rows, dtype="float64", n_inputs=10):
        X, y = np.zeros((rows, n_inputs), dtype), np.arange(rows, dtype=dtype)
        members = [
            MLPFunctionRegressor(hidden_layer_sizes=hidden, dtype=dtype)._training_member(X, y)
            for _ in range(n_members)
        ]
        return stacked._group_of(members).stack._threads_worth(n_members, rows)

    # 2 members of (64, 64) on 200 rows of 10 columns: 1.9 million
    # multiply-adds a step, short of one thread's; 6 of them fill two.
    assert 64 * 64 + 10 * 64 + 64 == 4800 and 2 * 200 * 4800 < 2_500_000
    assert threads(2, (64, 64), 200) == 0
    assert threads(6, (64, 64), 200) == 2
    assert threads(20, (16,), 200) == 0  # small networks: one thread
    assert threads(6, (64, 64), 200, "float32") == 1  # float32 needs twice the work
    assert threads(6, (64, 64), 100) == 1
    assert stacked_numpy.MIN_MULTIPLY_ADDS_PER_THREAD == 2_500_000
