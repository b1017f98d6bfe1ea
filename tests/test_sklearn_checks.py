"""scikit-learn's estimator checks, every one of them, on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_fitfn import MLPFunctionRegressor


@parametrize_with_checks([MLPFunctionRegressor(), MLPFunctionRegressor(solver="lbfgs")])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
