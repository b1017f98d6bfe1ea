"""scikit-learn's estimator checks, every one of them, on every public estimator:
the compiled engine's solvers, the same compiled by XLA, and Keras's own fit
(a Keras optimizer)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_fitfn import MLPFunctionRegressor


@parametrize_with_checks(
    [
        MLPFunctionRegressor(),
        MLPFunctionRegressor(solver="lbfgs"),
        MLPFunctionRegressor(jit_compile=True),
        MLPFunctionRegressor(solver="rmsprop", max_iter=20),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
