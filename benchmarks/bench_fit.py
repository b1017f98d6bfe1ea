"""Fit time, accuracy and memory: MLPFunctionRegressor against MLPRegressor and SciKeras.

Every measurement runs in a fresh Python process (so peak RSS belongs to one
estimator), the estimators alternate within each repeat, and the report gives
medians and ratios against scikit-learn's MLPRegressor from the same run.

    python benchmarks/bench_fit.py            # writes benchmarks/RESULTS.md
    python benchmarks/bench_fit.py --quick    # 1 repeat, smaller scaling table
    python benchmarks/bench_fit.py --sections canonical check
                                              # re-measure those sections only,
                                              # keeping the others in RESULTS.md
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CANONICAL = dict(n=1000, sizes=[64, 64], epochs=500)
ESTIMATORS = ["MLPFunctionRegressor", "MLPRegressor"]
#: The same network and training through Keras's own fit: this package's
#: Keras path, plain SciKeras and Keras's own scikit-learn wrapper.
KERAS_FITS = [
    "MLPFunctionRegressor, solver='rmsprop' (Keras fit via SciKeras)",
    "MLPFunctionRegressor, solver='rmsprop', dtype='float32'",
    "scikeras KerasRegressor, RMSprop",
    "keras.wrappers.SKLearnRegressor, RMSprop",
    "scikeras KerasRegressor, Adam",
    "plain Keras fit, float64, one batch repeated, 10 steps per call",
]
#: Keras's own step with the cheapest input: its floor on this machine.
KERAS_FLOOR = KERAS_FITS[-1]
#: The best case: the same training as one jitted JAX program (jax_reference.py).
JAX_REFERENCE = "one jax.jit program"
#: The speed targets' workloads: the canonical fit and the wide network.
REFERENCE_WORKLOADS = [CANONICAL, dict(n=10000, sizes=[256, 256, 256], epochs=50)]
SECTIONS = (
    "canonical",
    "reference",
    "early_stopping",
    "scaling",
    "check",
    "grids",
    "grid_vs_mlpregressor",
    "real_data",
)
#: The estimator with the engine's earlier default, XLA never used.
WITHOUT_XLA = "MLPFunctionRegressor, jit_compile=False"


def _data(n):
    from sklearn.preprocessing import StandardScaler

    from sklearn_fitfn.datasets import make_squares

    X, y = make_squares(n, random_state=0)
    X_test, y_test = make_squares(1000, random_state=1)
    x_scaler = StandardScaler().fit(X)
    y_scaler = StandardScaler().fit(y.reshape(-1, 1).astype(float))
    return (
        x_scaler.transform(X),
        y_scaler.transform(y.reshape(-1, 1).astype(float)).ravel(),
        x_scaler.transform(X_test),
        y_test,
        y_scaler,
    )


def _make(name, sizes, epochs, random_state=0, early_stopping=False):
    if name.startswith("MLPFunctionRegressor"):
        from sklearn_fitfn import MLPFunctionRegressor

        keras_fit = {"solver": "rmsprop"} if "rmsprop" in name else {}
        if "float32" in name:
            keras_fit["dtype"] = "float32"
        if "jit_compile=True" in name:
            keras_fit["jit_compile"] = True
        if "jit_compile=False" in name:
            keras_fit["jit_compile"] = False
        return MLPFunctionRegressor(
            hidden_layer_sizes=tuple(sizes),
            batch_size=100,
            max_iter=epochs,
            n_iter_no_change=epochs,
            tol=0,
            early_stopping=early_stopping,
            random_state=random_state,
            **keras_fit,
        )
    if name == "MLPRegressor":
        from sklearn.neural_network import MLPRegressor

        return MLPRegressor(
            hidden_layer_sizes=tuple(sizes),
            solver="adam",
            batch_size=100,
            max_iter=epochs,
            n_iter_no_change=epochs,
            tol=0,
            early_stopping=early_stopping,
            random_state=random_state,
        )
    import keras

    optimizer = keras.optimizers.Adam if name.endswith("Adam") else keras.optimizers.RMSprop

    def network(X=None, y=None):
        layers = [keras.Input((1,))] + [keras.layers.Dense(u, "relu") for u in sizes]
        model = keras.Sequential(layers + [keras.layers.Dense(1)])
        model.compile(optimizer=optimizer(1e-3), loss="mse")
        return model

    if name.startswith("keras.wrappers"):
        keras.utils.set_random_seed(random_state)
        return keras.wrappers.SKLearnRegressor(
            network, fit_kwargs={"batch_size": 100, "epochs": epochs, "verbose": 0}
        )
    from scikeras.wrappers import KerasRegressor

    return KerasRegressor(
        network, batch_size=100, epochs=epochs, verbose=0, random_state=random_state
    )


def _accuracy_and_memory(predicted, y_scaler, y_test):
    """Held-out RMSE in the original units of y, and this process's peak RSS."""
    import resource

    predicted = y_scaler.inverse_transform(np.asarray(predicted).reshape(-1, 1)).ravel()
    return {
        "rmse": float(np.sqrt(np.mean((predicted - y_test) ** 2))),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def worker(task):
    """Run one fit in this process and return its measurements."""
    import warnings

    warnings.simplefilter("ignore")
    if task["kind"] == "check_estimator":
        from sklearn.utils.estimator_checks import check_estimator

        if task["name"] == "MLPRegressor":
            from sklearn.neural_network import MLPRegressor

            estimator = MLPRegressor()
        else:
            from sklearn_fitfn import MLPFunctionRegressor

            estimator = MLPFunctionRegressor(**task.get("params", {}))
        started = time.perf_counter()
        check_estimator(estimator)
        return {"seconds": time.perf_counter() - started}
    if task["kind"] == "grid":
        import contextlib

        import joblib

        from sklearn_fitfn import MLPFunctionRegressor  # TensorFlow's start-up, not timed
        from sklearn_fitfn.experiments import run_experiment

        parallel = dict(task["parallel"])
        backend, warm = parallel.pop("backend", None), parallel.pop("warm", False)
        if parallel.pop("without_xla", False):
            # This benchmark process only: the experiment's networks take the
            # engine's earlier default, for a side-by-side comparison.
            MLPFunctionRegressor.__init__.__kwdefaults__["jit_compile"] = False
        chosen = joblib.parallel_config(backend) if backend else contextlib.nullcontext()
        with chosen:
            for _ in range(2 if warm else 1):  # warm: time the second of two runs
                started = time.perf_counter()
                run_experiment("squares", **task["grid"], **parallel, progress=False)
                seconds = time.perf_counter() - started
        return {"seconds": seconds}

    if task["kind"] == "diabetes":
        return _cross_validate_diabetes(task["name"])
    if task["kind"] == "same_grid":
        return {"seconds": _time_the_demo_grid(task["name"], task["n_jobs"], task["backend"])}

    if task.get("executor", "auto") != "auto":  # bench_threads.py: force one executor
        from sklearn_fitfn._training import executor as _executor

        inline = task["executor"] == "inline"
        _executor.INLINE_MAX_MULTIPLY_ADDS = float("inf") if inline else 0
    X, y, X_test, y_test, y_scaler = _data(task["n"])
    if task["name"].startswith(JAX_REFERENCE):
        import jax_reference

        dtype = "float32" if "float32" in task["name"] else "float64"
        seconds, second_seconds, predicted = jax_reference.fit_and_predict(
            X, y, X_test, task["sizes"], task["epochs"], dtype=dtype
        )
        return {
            "seconds": seconds,
            "second_seconds": second_seconds,
            **_accuracy_and_memory(predicted, y_scaler, y_test),
        }
    if task["name"] == KERAS_FLOOR:
        return _time_the_keras_floor(X, task["sizes"], task["epochs"], X_test, y_scaler, y_test)
    estimator = _make(
        task["name"],
        task["sizes"],
        task["epochs"],
        early_stopping=task.get("early_stopping", False),
    )
    started = time.perf_counter()
    estimator.fit(X, y)
    seconds = time.perf_counter() - started
    measured = {
        "seconds": seconds,
        **_accuracy_and_memory(estimator.predict(X_test), y_scaler, y_test),
    }
    if task.get("second_fit"):
        # A new estimator of the same shape, as the next fold or candidate of a
        # grid search would be: one-off costs of the process are behind it.
        again = _make(task["name"], task["sizes"], task["epochs"])
        started = time.perf_counter()
        again.fit(X, y)
        measured["second_seconds"] = time.perf_counter() - started
    return measured


def _time_the_keras_floor(X, sizes, epochs, X_test, y_scaler, y_test):
    """Plain Keras on the canonical network in float64, RMSprop, fed one
    batch of 100 rows over and over from memory (no shuffling, no gathering),
    an epoch's 10 steps per call: Keras's ``fit`` at its cheapest. Times a
    first fit (tracing included) and a second on the same model."""
    import keras
    import tensorflow as tf

    layers = [keras.Input((1,), dtype="float64")]
    layers += [keras.layers.Dense(u, "relu", dtype="float64") for u in sizes]
    model = keras.Sequential(layers + [keras.layers.Dense(1, dtype="float64")])
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="mse", steps_per_execution=10)
    batch = tf.constant(X[:100]), tf.constant(X[:100] ** 2)
    batches = tf.data.Dataset.from_tensors(batch).repeat()
    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        model.fit(batches, epochs=epochs, steps_per_epoch=10, verbose=0)
        seconds.append(time.perf_counter() - started)
    predicted = model.predict(X_test, verbose=0)
    return {
        "seconds": seconds[0],
        "second_seconds": seconds[1],
        **_accuracy_and_memory(predicted, y_scaler, y_test),
    }


def _time_the_demo_grid(name, n_jobs, backend):
    """Seconds of the demo grid's GridSearchCV (scaled X and y, activation x
    architecture, 3 shuffled folds, refit) with ``name`` as the network."""
    import joblib
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_fitfn.datasets import make_function_data

    X, y = make_function_data("squares", 1000, random_state=0)
    network = _make(name, (64, 64), 500)
    model = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), network), transformer=StandardScaler()
    )
    mlp = "regressor__" + type(network).__name__.lower() + "__"
    grid = {mlp + "activation": ["identity", "relu"], mlp + "hidden_layer_sizes": [(16,), (64, 64)]}
    search = GridSearchCV(
        model,
        grid,
        scoring="neg_root_mean_squared_error",
        cv=KFold(3, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )
    with joblib.parallel_config(backend):
        started = time.perf_counter()
        search.fit(X, y)
        return time.perf_counter() - started


def measure(task, tf_threads=None):
    """Run ``task`` in a fresh process; ``tf_threads`` replaces every
    ``TF_NUM_*`` variable and ``TF_ENABLE_ONEDNN_OPTS`` of the environment
    with the ones it gives."""
    env = None
    if tf_threads is not None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not (k.startswith("TF_NUM_") or k == "TF_ENABLE_ONEDNN_OPTS")
        }
        env.update(tf_threads)
    output = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(task)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _median(runs, key):
    return statistics.median(run[key] for run in runs)


def canonical_section(repeats, log):
    """The canonical fit: the compiled engine, MLPRegressor and Keras's own fit."""
    names = ESTIMATORS + KERAS_FITS
    runs = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            # The package's own rows also time a second fit of the same shape.
            second = name.startswith("MLPFunctionRegressor") or name == KERAS_FLOOR
            runs[name].append(
                measure({"kind": "fit", "name": name, **CANONICAL, "second_fit": second})
            )
    reference = _median(runs["MLPRegressor"], "seconds")
    log("## Canonical fit: squares, 1,000 rows, (64, 64) relu, Adam 1e-3, batch 100, 500 epochs")
    log()
    log(
        f"Median of {repeats} alternating repeats, each fit in a fresh process (for the "
        "package's rows, a second fit of the same shape follows in that process, as the "
        "next fold of a grid search would). The rows "
        "below the line train the same network with Keras's own `fit` (RMSprop at 1e-3 "
        "unless named): this package's Keras path, plain SciKeras, and Keras's own "
        "scikit-learn wrapper; plain Keras computes in float32. The last row is Keras's "
        "`fit` at its cheapest: plain Keras in float64 fed one batch of 100 rows over "
        "and over from memory, 10 steps a call (its RMSE is of a network that saw 100 "
        "rows), with a second `fit` of the same model."
    )
    log()
    log(
        "| estimator | fit s (median) | ratio to MLPRegressor | second fit s, ratio | "
        "held-out RMSE | peak RSS MB |"
    )
    log("|---|---|---|---|---|---|")
    for name in names:
        if name == KERAS_FITS[0]:
            log("| *Keras's own fit* | | | | | |")
        seconds = _median(runs[name], "seconds")
        second = "—"
        if "second_seconds" in runs[name][0]:
            again = _median(runs[name], "second_seconds")
            second = f"{again:.2f}, {again / reference:.2f}x"
        log(
            f"| {name} | {seconds:.2f} | {seconds / reference:.2f}x | {second} | "
            f"{_median(runs[name], 'rmse'):,.0f} | {_median(runs[name], 'peak_rss_mb'):,.0f} |"
        )
    ours = _median(runs["MLPFunctionRegressor"], "seconds")
    keras_path = _median(runs[KERAS_FITS[0]], "seconds")
    keras_path_32 = _median(runs[KERAS_FITS[1]], "seconds")
    scikeras = _median(runs["scikeras KerasRegressor, RMSprop"], "seconds")
    scikeras_adam = _median(runs["scikeras KerasRegressor, Adam"], "seconds")
    log()
    log(
        f"The compiled engine (Adam) is {scikeras_adam / ours:.1f}x faster than plain "
        f"SciKeras with Adam. With RMSprop, the Keras path takes {keras_path / scikeras:.2f}x "
        f"(float64) and {keras_path_32 / scikeras:.2f}x (float32) the time of plain SciKeras."
    )
    return runs


def early_stopping_section(repeats, canonical, log):
    """Early stopping on a 10% validation split, still running all 500 epochs."""
    early = {name: [] for name in ESTIMATORS}
    for _ in range(repeats):
        for name in early:
            early[name].append(
                measure({"kind": "fit", "name": name, **CANONICAL, "early_stopping": True})
            )
    log("## Early stopping: the canonical fit with a 10% validation split, all 500 epochs")
    log()
    log("| estimator | fit s (median) | ratio to the same fit without validation |")
    log("|---|---|---|")
    for name in early:
        seconds = _median(early[name], "seconds")
        if canonical is None:
            without = _median(
                [measure({"kind": "fit", "name": name, **CANONICAL}) for _ in range(repeats)],
                "seconds",
            )
        else:
            without = _median(canonical[name], "seconds")
        log(f"| {name} | {seconds:.2f} | {seconds / without:.2f}x |")


def reference_section(repeats, log):
    """Each dtype's fit against MLPRegressor and against one jitted JAX program."""
    log("## Against the best case: the same training as one jitted JAX program")
    log()
    log(
        f"Median of {repeats} alternating repeats, each in a fresh process. First fit: "
        "the first in the process, every one-off cost (tracing, XLA's compilation for "
        "JAX) included; second fit: the same shape again in the same process, as the "
        "folds of a grid search. MLPRegressor trains in float64 in every row; "
        "`jax_reference.py` follows its training step by step. The first rows of each "
        'workload use the default `jit_compile="auto"`; with `jit_compile=True` the '
        "estimator's epochs are always compiled by XLA (its first fit includes XLA's "
        'compilation), with `jit_compile=False` never (the default before "auto").'
    )
    log()
    log(
        "| workload | dtype | MLPFunctionRegressor s, first / second fit | "
        "one jax.jit program s, first / second | MLPRegressor s, first / second | "
        "ours / MLPRegressor, first / second | ours / JAX, second | JAX / MLPRegressor, "
        "second | held-out RMSE, ours / JAX / MLPRegressor |"
    )
    log("|---|---|---|---|---|---|---|---|---|")
    for workload in REFERENCE_WORKLOADS:
        task = {"kind": "fit", "second_fit": True, **workload}
        names = [
            "MLPFunctionRegressor",
            JAX_REFERENCE,
            "MLPFunctionRegressor, dtype='float32'",
            f"{JAX_REFERENCE}, float32",
            "MLPRegressor",
            "MLPFunctionRegressor, jit_compile=True",
            "MLPFunctionRegressor, dtype='float32', jit_compile=True",
            WITHOUT_XLA,
            "MLPFunctionRegressor, dtype='float32', jit_compile=False",
        ]
        runs = {name: [] for name in names}
        for _ in range(repeats):
            for name in names:
                runs[name].append(measure({**task, "name": name}))
        reference = _median(runs["MLPRegressor"], "second_seconds")
        label = f"{workload['n']:,} rows, {tuple(workload['sizes'])}, {workload['epochs']} epochs"
        for dtype, ours, jax_name in (
            ("float64", names[0], names[1]),
            ("float32", names[2], names[3]),
            ("float64, `jit_compile=True`", names[5], names[1]),
            ("float32, `jit_compile=True`", names[6], names[3]),
            ("float64, `jit_compile=False`", names[7], names[1]),
            ("float32, `jit_compile=False`", names[8], names[3]),
        ):
            first, second = (_median(runs[ours], k) for k in ("seconds", "second_seconds"))
            jax_first, jax_second = (
                _median(runs[jax_name], k) for k in ("seconds", "second_seconds")
            )
            mlp_first = _median(runs["MLPRegressor"], "seconds")
            rmse = " / ".join(
                f"{_median(runs[n], 'rmse'):,.1f}" for n in (ours, jax_name, "MLPRegressor")
            )
            log(
                f"| {label} | {dtype} | {first:.2f} / {second:.2f} | "
                f"{jax_first:.2f} / {jax_second:.2f} | {mlp_first:.2f} / {reference:.2f} | "
                f"{first / mlp_first:.2f}x / {second / reference:.2f}x | "
                f"{second / jax_second:.2f}x | {jax_second / reference:.2f}x | {rmse} |"
            )


def scaling_section(extra, quick, log):
    """The same number of rows processed (500,000) at every size."""
    sizes = [1000, 10000] if quick else [1000, 10000, 100000]
    log("## Scaling: equal work (epochs x rows = 500,000), batch 100")
    log()
    log(f"Median of {extra} alternating repeat(s).")
    log()
    log(
        "First fit: the first fit in a fresh process, TensorFlow's tracing of the "
        "architecture and other one-off costs included. Second fit: a new estimator of "
        "the same shape fitted next in the same process, as in a grid search."
    )
    log()
    log(
        "| rows | epochs | hidden layers | MLPFunctionRegressor s, first fit | "
        "MLPRegressor s, first fit | ratio | MLPFunctionRegressor s, second fit | "
        "MLPRegressor s, second fit | ratio |"
    )
    log("|---|---|---|---|---|---|---|---|---|")
    for width in ([64, 64], [256, 256, 256]):
        for n in sizes:
            epochs = max(1, 500_000 // n)
            task = {"kind": "fit", "n": n, "sizes": width, "epochs": epochs, "second_fit": True}
            pair = {name: [] for name in ESTIMATORS}
            for _ in range(extra):
                for name in pair:
                    pair[name].append(measure({**task, "name": name}))
            cells = []
            for key in ("seconds", "second_seconds"):
                ours, reference = (_median(pair[name], key) for name in ESTIMATORS)
                cells += [f"{ours:.2f}", f"{reference:.2f}", f"{ours / reference:.2f}x"]
            log(f"| {n:,} | {epochs} | {tuple(width)} | " + " | ".join(cells) + " |")


def check_section(extra, log):
    """scikit-learn's check_estimator on each training path."""
    log("## check_estimator")
    log()
    log("| what | seconds (median), wall clock |")
    log("|---|---|")
    estimators = {
        "MLPFunctionRegressor()": ("MLPFunctionRegressor", {}),
        "MLPFunctionRegressor(solver='rmsprop', max_iter=20), Keras fit": (
            "MLPFunctionRegressor",
            {"solver": "rmsprop", "max_iter": 20},
        ),
        "MLPRegressor()": ("MLPRegressor", {}),
    }
    for label, (name, params) in estimators.items():
        timed = [
            measure({"kind": "check_estimator", "name": name, "params": params})
            for _ in range(extra)
        ]
        log(f"| check_estimator({label}) | {_median(timed, 'seconds'):.1f} |")


def grids_section(extra, log):
    """The demo grid search, serial and in parallel."""
    log("## The demo grid search")
    log()
    log("| what | seconds (median), wall clock |")
    log("|---|---|")
    grids = {
        "demo grid (4 candidates x 3 folds + refits)": {},
        "larger grid (9 candidates x 3 folds + refits)": {
            "activations": ["identity", "tanh", "relu"],
            "architectures": [[16], [64, 64], [128, 128]],
        },
    }
    ways = {
        "n_jobs=1": {"n_jobs": 1},
        "n_jobs=2, threads (run_experiment's choice)": {"n_jobs": 2},
        "n_jobs=1, `jit_compile=False`": {"n_jobs": 1, "without_xla": True},
        "n_jobs=2, threads, `jit_compile=False`": {"n_jobs": 2, "without_xla": True},
        "n_jobs=2, joblib process workers, first run": {"n_jobs": 2, "backend": "loky"},
        "n_jobs=2, joblib process workers, second run": {
            "n_jobs": 2,
            "backend": "loky",
            "warm": True,
        },
        "Dask LocalCluster, 2 workers x 1 thread, started for the run": {
            "scheduler": "local",
            "n_workers": 2,
        },
    }
    for grid_name, grid in grids.items():
        timed = {way: [] for way in ways}
        for _ in range(extra):
            for way, parallel in ways.items():
                task = {"kind": "grid", "grid": grid, "parallel": parallel}
                timed[way].append(measure(task))
        reference = _median(timed["n_jobs=1"], "seconds")
        for way in ways:
            seconds = _median(timed[way], "seconds")
            log(
                f"| run_experiment('squares'), {grid_name}, {way} | {seconds:.1f} "
                f"({reference / seconds:.2f}x the speed of n_jobs=1) |"
            )


def grid_vs_mlpregressor_section(extra, log):
    """The demo grid as one GridSearchCV, on each estimator, each process fresh."""
    log("## The demo grid against the same grid on MLPRegressor")
    log()
    log(
        "One `GridSearchCV` in a fresh process: scaled X and y, activation (identity, relu) "
        "x architecture ((16,), (64, 64)), 3 shuffled folds and the refit, batches of 100, "
        "500 epochs, on the canonical squares data. Seconds of `fit`, imports excluded."
    )
    log()
    log(
        "| parallelism | MLPFunctionRegressor s | MLPRegressor s | ratio | "
        "MLPFunctionRegressor, `jit_compile=False` s | ratio of the default to it |"
    )
    log("|---|---|---|---|---|---|")
    ways = {
        "n_jobs=1": (1, "threading"),
        "n_jobs=2, threads": (2, "threading"),
        "n_jobs=2, joblib process workers (loky)": (2, "loky"),
    }
    for way, (n_jobs, backend) in ways.items():
        names = [*ESTIMATORS, WITHOUT_XLA]
        timed = {name: [] for name in names}
        for _ in range(extra):
            for name in names:
                task = {"kind": "same_grid", "name": name, "n_jobs": n_jobs, "backend": backend}
                timed[name].append(measure(task))
        ours, theirs, without = (_median(timed[name], "seconds") for name in names)
        log(
            f"| {way} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f}x | {without:.2f} | "
            f"{ours / without:.2f}x |"
        )


def _cross_validate_diabetes(name):
    """Seconds of a 5-fold ``cross_val_score`` on scikit-learn's bundled diabetes
    data (442 rows, 10 features), StandardScaler then a (64, 64) network with
    every other parameter at its default except ``max_iter=1000``."""
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import cross_val_score
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_fitfn import MLPFunctionRegressor

    X, y = load_diabetes(return_X_y=True)
    options = dict(hidden_layer_sizes=(64, 64), max_iter=1000, random_state=0)
    if name == "MLPRegressor":
        network = MLPRegressor(**options)
    else:
        jit_compile = {"True": True, "False": False}.get(name.rpartition("=")[2], "auto")
        network = MLPFunctionRegressor(**options, jit_compile=jit_compile)
    started = time.perf_counter()
    scores = cross_val_score(make_pipeline(StandardScaler(), network), X, y, cv=5)
    return {"seconds": time.perf_counter() - started, "r2": float(np.mean(scores))}


def real_data_section(repeats, log):
    """A default fit on a small real dataset: the diabetes cross-validation."""
    names = [
        "MLPFunctionRegressor",
        "MLPRegressor",
        WITHOUT_XLA,
        "MLPFunctionRegressor, jit_compile=True",
    ]
    runs = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            runs[name].append(measure({"kind": "diabetes", "name": name}))
    reference = _median(runs["MLPRegressor"], "seconds")
    log("## Real data: scikit-learn's diabetes data, 5-fold cross-validation, default parameters")
    log()
    log(
        f"Median of {repeats} alternating repeats, each a fresh process: `cross_val_score` "
        "of StandardScaler and a (64, 64) network, `max_iter=1000`, every other parameter "
        "at its default (batches of min(200, rows), MLPRegressor's stopping rule), "
        "tracing and compilation included. 353 training rows a fold: 2 batches an epoch."
    )
    log()
    log("| estimator | seconds (median) | ratio to MLPRegressor | mean R² |")
    log("|---|---|---|---|")
    for name in names:
        seconds = _median(runs[name], "seconds")
        log(
            f"| {name} | {seconds:.2f} | {seconds / reference:.2f}x | "
            f"{_median(runs[name], 'r2'):.3f} |"
        )


def _split_sections(text):
    """RESULTS.md as (heading, lines) pairs; the header before the first '## ' has heading None."""
    sections, heading, lines = [], None, []
    for line in text.splitlines():
        if line.startswith("## "):
            sections.append((heading, lines))
            heading, lines = line, []
        lines.append(line)
    sections.append((heading, lines))
    return sections


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="1 repeat, smaller scaling table")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the canonical fit")
    parser.add_argument(
        "--extra-repeats",
        type=int,
        default=1,
        help="repeats of the scaling, check_estimator and grid rows",
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="measure only these; the others stay as RESULTS.md has them",
    )
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    repeats = 1 if args.quick else args.repeats
    extra = 1 if args.quick else args.extra_repeats
    measured = {}

    def run(function, *arguments):
        lines = []

        def log(text=""):
            print(text, flush=True)
            lines.append(text)

        result = function(*arguments, log)
        log()
        measured[lines[0]] = lines
        return result

    canonical = None
    if "canonical" in args.sections:
        canonical = run(canonical_section, repeats)
    if "reference" in args.sections:
        run(reference_section, repeats)
    if "early_stopping" in args.sections:
        run(early_stopping_section, repeats, canonical)
    if "scaling" in args.sections:
        run(scaling_section, extra, args.quick)
    if "check" in args.sections:
        run(check_section, extra)
    if "grids" in args.sections:
        run(grids_section, extra)
    if "grid_vs_mlpregressor" in args.sections:
        run(grid_vs_mlpregressor_section, extra)
    if "real_data" in args.sections:
        run(real_data_section, repeats)

    import sklearn

    from sklearn_fitfn._quiet.tensorflow import tf as tensorflow  # imported without its log lines

    header = [
        "# Benchmark results",
        "",
        f"Produced by `python benchmarks/bench_fit.py` on {time.strftime('%Y-%m-%d')}: "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"TensorFlow {tensorflow.__version__}, scikit-learn {sklearn.__version__}, "
        f"NumPy {np.__version__}.",
        "MLPRegressor runs all epochs (`n_iter_no_change=max_iter, tol=0`); so does "
        "MLPFunctionRegressor (float64). Fit time excludes imports; peak RSS includes them.",
        "",
    ]
    if set(args.sections) != set(SECTIONS) and args.output.exists():
        # Keep the sections not measured now, and say when each was measured.
        kept = _split_sections(args.output.read_text())
        body = []
        for heading, lines in kept[1:]:
            lines = measured.pop(heading, None) or lines
            body += lines if lines[-1] == "" else lines + [""]  # the file's last one was cut
        for lines in measured.values():
            body += lines
        header[2] = (
            f"Sections re-measured on {time.strftime('%Y-%m-%d')} with "
            f"`--sections {' '.join(args.sections)}`; the others as measured before. "
            + header[2].split(": ", 1)[1]
        )
    else:
        body = [line for lines in measured.values() for line in lines]
    args.output.write_text("\n".join(header + body).rstrip() + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
