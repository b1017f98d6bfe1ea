"""The faults a hostile run found in the search, each against scikit-learn's
own search over this estimator on the same data: batch sizes kept apart,
splitters split as often as scikit-learn splits them, sample weights that
scikit-learn's loop passes on as they are, and equivalent candidates tied."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV as ScikitLearnGridSearchCV
from sklearn.model_selection import KFold, ShuffleSplit

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import stacked
from sklearn_fitfn.model_selection import GridSearchCV

ALPHAS = [1e-5, 1e-4, 1e-3, 1e-2]  # with 3 folds, 12 members a value of the other parameter


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    return X, X[:, 0] ** 2 - X[:, 1]


def _network(**params):
    return MLPFunctionRegressor(
        hidden_layer_sizes=(6,), max_iter=8, random_state=0, learning_rate_init=0.01, **params
    )


def _both(grid, X, y, cv=3, estimator=None, **fit_params):
    """Our search and scikit-learn's, each with its own ``cv()``."""
    estimator = _network() if estimator is None else estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GridSearchCV(estimator, grid, cv=cv() if callable(cv) else cv)
        theirs = ScikitLearnGridSearchCV(estimator, grid, cv=cv() if callable(cv) else cv)
        return ours.fit(X, y, **fit_params), theirs.fit(X, y, **fit_params)


def _assert_same(ours, theirs, rtol=1e-9):
    assert ours.best_params_ == theirs.best_params_
    for key in ("mean_test_score", *(f"split{i}_test_score" for i in range(ours.n_splits_))):
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], rtol=rtol)
    assert list(ours.cv_results_["rank_test_score"]) == list(theirs.cv_results_["rank_test_score"])


@pytest.fixture
def trained(monkeypatch):
    """How many members each search trained together."""
    counts = []
    train_task = stacked.train_task

    def counting(members):
        outcomes, seconds = train_task(members)
        counts.append(len(outcomes))
        return outcomes, seconds

    monkeypatch.setattr(stacked, "train_task", counting)
    return counts


@pytest.mark.parametrize("sizes", [[1, "auto"], [8, 16]])
def test_members_of_other_batch_sizes_keep_their_own_training(data, trained, sizes):
    X, y = data
    ours, theirs = _both({"batch_size": sizes, "alpha": ALPHAS}, X, y)
    assert trained == [12, 12]  # a group of each batch size
    _assert_same(ours, theirs)


def test_a_splitter_seeded_with_a_random_state_is_split_as_scikit_learn_splits_it(data, trained):
    X, y = data
    ours, theirs = _both(
        {"alpha": ALPHAS},
        X,
        y,
        cv=lambda: KFold(3, shuffle=True, random_state=np.random.RandomState(0)),
    )
    assert trained == [12]
    _assert_same(ours, theirs)


class _SplitsOnce(KFold):
    """A splitter that can be split once only, as a generator of folds is."""

    def split(self, X, y=None, groups=None):
        if getattr(self, "used", False):
            return iter(())
        self.used = True
        return super().split(X, y, groups)


def test_a_splitter_that_splits_once_is_enough(data, trained):
    X, y = data
    ours, theirs = _both({"alpha": ALPHAS}, X, y, cv=lambda: _SplitsOnce(3))
    assert trained == [12]
    _assert_same(ours, theirs)


def test_an_unseeded_shuffle_split_is_split_once_a_round(data, monkeypatch):
    X, y = data
    calls = []
    split = ShuffleSplit.split
    monkeypatch.setattr(ShuffleSplit, "split", lambda *a, **k: calls.append(1) or split(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GridSearchCV(_network(), {"alpha": ALPHAS}, cv=ShuffleSplit(3)).fit(X, y)
    assert len(calls) == 1


@pytest.mark.parametrize("weight", [2.0, None])
def test_a_scalar_or_no_sample_weight_is_passed_on_as_scikit_learns_loop_does(data, weight):
    # A scalar reaches each fit as it is (and fails scikit-learn's scorer: NaN scores).
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ours, theirs = _both({"alpha": ALPHAS}, X, y, sample_weight=weight)
    _assert_same(ours, theirs)


@pytest.mark.parametrize(
    "weight, error, match",
    [
        (np.ones(7), ValueError, "All the 12 fits failed"),
        (np.float32(0.5), TypeError, "at least 1 dimension"),
    ],
)
def test_a_sample_weight_scikit_learn_refuses_is_refused_alike(data, weight, error, match):
    X, y = data
    messages = []
    for search in (GridSearchCV, ScikitLearnGridSearchCV):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            with pytest.raises(error, match=match) as raised:
                search(_network(), {"alpha": ALPHAS}, cv=3).fit(X, y, sample_weight=weight)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


def test_candidates_that_name_the_same_setting_two_ways_tie(data, trained):
    X, y = data
    ours, theirs = _both({"dtype": [None, "float64"], "alpha": ALPHAS}, X, y)
    assert trained == [12]  # each pair trains once, and each of the two takes a copy
    _assert_same(ours, theirs)  # the ranks too: each pair ties, as in scikit-learn's
    scores = ours.cv_results_["mean_test_score"]  # alpha, then dtype: pairs side by side
    np.testing.assert_array_equal(scores[0::2], scores[1::2])
