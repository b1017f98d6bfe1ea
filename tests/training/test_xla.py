"""``jit_compile=True``: training compiled by XLA; ``"auto"``: XLA where it pays.

XLA fuses operations and so rounds differently, so these tests compare with
the default path to a tolerance, never to the bit; the default path itself is
compared with MLPRegressor in test_dropin.py.
"""

import numpy as np
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.neural_network import MLPRegressor

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import engine, xla
from sklearn_fitfn._training import executor as _executor
from sklearn_fitfn._training.xla import xla_choice, xla_padding

SHORT = dict(hidden_layer_sizes=(16, 16), max_iter=30, random_state=0, tol=0, n_iter_no_change=30)


def _fit_both(X, y, **options):
    default = MLPFunctionRegressor(jit_compile=False, **options).fit(X, y)
    compiled = MLPFunctionRegressor(jit_compile=True, **options).fit(X, y)
    return default, compiled


def _assert_same_training(default, compiled, X, rtol):
    assert compiled.n_iter_ == default.n_iter_
    np.testing.assert_allclose(compiled.loss_curve_, default.loss_curve_, rtol=rtol)
    if default.validation_scores_ is not None:
        np.testing.assert_allclose(
            compiled.validation_scores_, default.validation_scores_, rtol=rtol
        )
    np.testing.assert_allclose(compiled.predict(X), default.predict(X), rtol=rtol, atol=rtol)


@pytest.mark.parametrize(
    "options",
    [
        dict(solver="adam"),
        # 240 rows in batches of 64: three whole batches and a last one of 48.
        dict(solver="adam", batch_size=64),
        dict(solver="adam", batch_size=60),  # four whole batches, no shorter one
        dict(solver="sgd", learning_rate="adaptive"),
        dict(solver="adam", early_stopping=True),
        dict(solver="lbfgs", max_iter=40),
        dict(solver="adam", dtype="float32"),
    ],
    ids=["adam", "short-last-batch", "whole-batches", "sgd", "early-stopping", "lbfgs", "f32"],
)
def test_xla_trains_as_the_default_path_up_to_round_off(regression_data, options):
    X, y = regression_data
    default, compiled = _fit_both(X, y, **{**SHORT, **options})
    float32 = options.get("dtype") == "float32"
    _assert_same_training(default, compiled, X, rtol=1e-4 if float32 else 1e-10)
    assert compiled.predict(X).dtype == default.predict(X).dtype


def test_xla_keeps_parity_with_mlpregressor(regression_data):
    X, y = regression_data
    options = dict(SHORT, batch_size=64)
    ours = MLPFunctionRegressor(jit_compile=True, **options).fit(X, y)
    theirs = MLPRegressor(**options).fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10, atol=1e-10)


def test_xla_on_a_network_wide_enough_for_the_thread_pool(regression_data):
    X, y = regression_data
    options = dict(SHORT, hidden_layer_sizes=(400, 400), batch_size=100, max_iter=3)
    assert not _executor.runs_inline([3, 400, 400, 1], 100)
    default, compiled = _fit_both(X, y, **options)
    _assert_same_training(default, compiled, X, rtol=1e-9)


def test_partial_fit_and_warm_start_continue_under_xla(regression_data):
    X, y = regression_data
    runs = []
    for jit_compile in (False, True):
        model = MLPFunctionRegressor(jit_compile=jit_compile, warm_start=True, **SHORT)
        model.fit(X, y)
        model.partial_fit(X, y)
        model.fit(X, y)
        runs.append(model)
    _assert_same_training(*runs, X, rtol=1e-10)


def test_sparse_input_under_xla_is_refused_on_the_engine_and_left_unfitted():
    X = scipy.sparse.random(60, 4, density=0.5, format="csr", random_state=0)
    y = np.arange(60.0)
    model = MLPFunctionRegressor(jit_compile=True, max_iter=2)
    for solver in ("adam", "lbfgs"):
        with pytest.raises(ValueError, match="jit_compile=True needs a dense X"):
            model.set_params(solver=solver).fit(X, y)
        assert not hasattr(model, "model_")
    dense = MLPFunctionRegressor(jit_compile=True, max_iter=2, random_state=0).fit(X.toarray(), y)
    assert np.isfinite(dense.loss_)


def test_the_keras_path_compiles_with_xla_when_asked(regression_data):
    X, y = regression_data
    options = dict(solver="rmsprop", hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    assert MLPFunctionRegressor(**options).fit(X, y).model_.jit_compile is False
    compiled = MLPFunctionRegressor(jit_compile=True, **options).fit(X, y)
    assert compiled.model_.jit_compile is True
    sparse = scipy.sparse.csr_matrix(X)
    assert np.isfinite(clone(compiled).fit(sparse, y).loss_)


@pytest.mark.parametrize("batch_size", [1, 7, 100, 200])
def test_xla_padding_holds_whole_batches_and_a_spare_row_in_a_few_shapes(batch_size):
    shapes = set()
    for n_rows in range(1, 3000):
        padded = xla_padding(n_rows, batch_size)
        whole_batches = -(-n_rows // batch_size) * batch_size
        assert padded >= max(n_rows + 1, whole_batches)
        assert padded <= max(16, 1.125 * max(n_rows + 1, whole_batches))
        shapes.add(padded)
    assert len(shapes) < 80  # 15 below 16, then 8 per doubling
    # The folds of a 3-fold cross-validation on 1,000 rows share one shape.
    assert xla_padding(666, batch_size) == xla_padding(667, batch_size)


def test_a_grid_search_in_threads_under_xla_matches_one_fit_at_a_time(regression_data):
    import joblib
    from sklearn.model_selection import GridSearchCV

    X, y = regression_data
    grid = {"activation": ["relu", "tanh"], "hidden_layer_sizes": [(8,), (8, 8)]}
    estimator = MLPFunctionRegressor(jit_compile=True, max_iter=20, random_state=0)
    results = []
    for n_jobs in (1, 2):
        with joblib.parallel_config("threading"):
            search = GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs).fit(X, y)
        results.append(search.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(*results)


def test_auto_weighs_the_measured_step_and_compilation_costs():
    wide = (10, 256, 256, 1)
    long_fit = xla_choice(wide, "float64", 50_000, 100)
    assert long_fit.saving > long_fit.xla_one_off and long_fit.uses_xla
    short_fit = xla_choice((10, 16, 1), "float64", 100, 32)
    assert 0 < short_fit.saving < short_fit.xla_one_off and not short_fit.uses_xla
    assert not xla_choice(wide, "float64", 0, 100).uses_xla
    # float32 steps gain less from XLA than float64 ones, per the measurements.
    f32 = xla_choice(wide, "float32", 1000, 100)
    f64 = xla_choice(wide, "float64", 1000, 100)
    assert 0 < f32.saving < f64.saving
    # Between two measured points the saving is interpolated, never beyond them.
    small, large = xla.STEP_SAVING["float64"][0], xla.STEP_SAVING["float64"][-1]
    for layer_units in [(1, 1, 1), (10, 16, 1), (100, 1000, 1000, 1)]:
        saving = xla.step_saving(layer_units, 100, "float64")
        assert min(s for _, s in xla.STEP_SAVING["float64"]) <= saving <= large[1]
    assert xla.step_saving((1, 1, 1), 1, "float64") == small[1]


def _choices(monkeypatch):
    """Record whether each fit on the compiled engine runs under XLA."""
    made = []
    choose = engine._uses_xla

    def recording(spec, settings, data):
        made.append(choose(spec, settings, data))
        return made[-1]

    monkeypatch.setattr(engine, "_uses_xla", recording)
    return made


def test_auto_trains_bit_for_bit_as_the_path_it_chooses(regression_data, monkeypatch):
    X, y = regression_data
    options = dict(SHORT, hidden_layer_sizes=(15, 9))
    made = _choices(monkeypatch)
    short = MLPFunctionRegressor(**options).fit(X, y)
    assert made[-1] is False
    assert (
        short.loss_curve_
        == MLPFunctionRegressor(jit_compile=False, **options).fit(X, y).loss_curve_
    )
    # Free compilation: XLA's saving always pays.
    monkeypatch.setattr(xla, "TRACE_SECONDS", 0.0)
    monkeypatch.setattr(xla, "XLA_COMPILE_SECONDS", (0.0, 0.0))
    chosen = MLPFunctionRegressor(**options).fit(X, y)
    assert made[-1] is True
    compiled = MLPFunctionRegressor(jit_compile=True, **options).fit(X, y)
    assert chosen.loss_curve_ == compiled.loss_curve_
    np.testing.assert_array_equal(chosen.predict(X), compiled.predict(X))
    _assert_same_training(short, chosen, X, rtol=1e-10)


def test_auto_chooses_the_same_path_whatever_ran_before(regression_data, monkeypatch):
    # The choice depends on the fit alone: repeated fits, with XLA's
    # compilation for the shape already made, give the same bits.
    X, y = regression_data
    made = _choices(monkeypatch)
    options = dict(SHORT, hidden_layer_sizes=(14, 10), batch_size=16, max_iter=40)
    MLPFunctionRegressor(jit_compile=True, **options).fit(X, y)
    fits = [MLPFunctionRegressor(**options).fit(X, y) for _ in range(3)]
    assert made == [True, False, False, False]
    for fit in fits[1:]:
        assert fit.loss_curve_ == fits[0].loss_curve_
        np.testing.assert_array_equal(fit.predict(X), fits[0].predict(X))


def test_auto_keeps_sparse_input_and_lbfgs_on_the_default_path(regression_data, monkeypatch):
    X, y = regression_data
    made = _choices(monkeypatch)
    sparse = MLPFunctionRegressor(**SHORT).fit(scipy.sparse.csr_matrix(X), y)
    assert made == [False]
    assert MLPFunctionRegressor().__sklearn_tags__().input_tags.sparse
    dense = MLPFunctionRegressor(jit_compile=False, **SHORT).fit(X, y)
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X), rtol=1e-10, atol=1e-10)
    lbfgs = MLPFunctionRegressor(solver="lbfgs", max_iter=20, random_state=0)
    assert (
        lbfgs.fit(X, y).loss_curve_
        == clone(lbfgs).set_params(jit_compile=False).fit(X, y).loss_curve_
    )
