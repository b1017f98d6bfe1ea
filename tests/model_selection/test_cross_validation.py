"""cross_validate and cross_val_score train the folds together and give
scikit-learn's own results: the same keys, scores, estimators and indices,
with groups, sample weights and error_score as scikit-learn handles them."""

import warnings

import numpy as np
import pytest
from sklearn import model_selection as scikit_learn
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import stacked
from sklearn_fitfn.model_selection import cross_val_score, cross_validate


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 3))
    return X, X[:, 0] ** 2 - X[:, 1] + 0.5 * X[:, 2]


@pytest.fixture
def trained(monkeypatch):
    """The sizes of the tasks trained together."""
    sizes = []
    train_task = stacked.train_task

    def counting(members):
        sizes.append(len(members))
        return train_task(members)

    monkeypatch.setattr(stacked, "train_task", counting)
    return sizes


def _model(**params):
    network = MLPFunctionRegressor(hidden_layer_sizes=(8, 8), max_iter=30, random_state=0)
    return make_pipeline(StandardScaler(), network.set_params(**params))


def _both(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = getattr(__import__("sklearn_fitfn.model_selection").model_selection, function)(
            *args, **kwargs
        )
        theirs = getattr(scikit_learn, function)(*args, **kwargs)
    return ours, theirs


def test_the_folds_train_together_with_scikit_learns_results(data, trained):
    X, y = data
    options = dict(cv=5, return_train_score=True, return_estimator=True, return_indices=True)
    ours, theirs = _both("cross_validate", _model(), X, y, **options)
    assert trained == [5]
    assert sorted(ours) == sorted(theirs)
    for key in ("test_score", "train_score"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-9)
    for a, b in zip(ours["indices"]["test"], theirs["indices"]["test"]):
        np.testing.assert_array_equal(a, b)
    for mine, other in zip(ours["estimator"], theirs["estimator"]):
        np.testing.assert_allclose(mine.predict(X), other.predict(X), rtol=1e-9)


def test_cross_val_score_is_scikit_learns(data, trained):
    X, y = data
    ours, theirs = _both("cross_val_score", _model(), X, y, cv=6, scoring="neg_mean_squared_error")
    assert trained == [6]
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_groups_sample_weights_and_a_splitter_seeded_with_a_random_state(data, trained):
    X, y = data
    weights = np.random.default_rng(1).uniform(0.5, 2, len(y))
    groups = np.arange(len(y)) % 5
    ours, theirs = _both(
        "cross_validate",
        _model(),
        X,
        y,
        groups=groups,
        cv=GroupKFold(5),
        params={"mlpfunctionregressor__sample_weight": weights},
    )
    assert trained == [5]
    np.testing.assert_allclose(ours["test_score"], theirs["test_score"], rtol=1e-9)
    scores = [
        function(_model(), X, y, cv=KFold(5, shuffle=True, random_state=np.random.RandomState(0)))
        for function in (cross_val_score, scikit_learn.cross_val_score)
    ]
    np.testing.assert_allclose(scores[0], scores[1], rtol=1e-9)


def test_a_failing_fold_is_scored_by_error_score_as_in_scikit_learn(data):
    X, y = data
    y = y.copy()
    y[:30] = np.nan  # the first fold's training rows are finite, the others' are not
    for function in (cross_validate, scikit_learn.cross_validate):
        with pytest.raises(ValueError, match="contains NaN"):
            function(_model(), X, y, cv=4, error_score="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = _both("cross_validate", _model(), X, y, cv=4, error_score=-1.0)
    np.testing.assert_array_equal(ours["test_score"], theirs["test_score"])


def test_networks_that_cannot_share_train_alone_with_the_same_results(data, trained):
    X, y = data
    ours, theirs = _both("cross_validate", _model(solver="lbfgs", max_iter=5), X, y, cv=3)
    assert trained == []
    np.testing.assert_allclose(ours["test_score"], theirs["test_score"], rtol=1e-12)
