"""A search that trains its members together, against scikit-learn's searches.

The canonical search: scikit-learn's bundled diabetes data, a 2x2 grid over
``alpha`` and ``learning_rate_init``, 5 shuffled folds (20 fits), the
network (64, 64) for 300 epochs behind a StandardScaler. Three searches run
side by side in one process, alternating, each repeat in the same order:

- ``sklearn_fitfn.model_selection.GridSearchCV`` over MLPFunctionRegressor
  (members trained together);
- scikit-learn's GridSearchCV over MLPFunctionRegressor (one at a time);
- scikit-learn's GridSearchCV over MLPRegressor.

The same grid with ``early_stopping=True`` follows, in float64: each member
holds out its own validation rows and stops at its own epoch. Then:

- the same 20 members for a fixed 300 epochs (the stopping rule off: the same
  work on every side), trained as one group, against 20 MLPRegressor fits
  and against the same training as one ``jax.jit(jax.vmap(...))`` program
  (jax_vmap_reference.py, the best case; needs ``pip install ".[bench]"``);
- the mission's grid (the README's recipe: StandardScaler,
  TransformedTargetRegressor, identity/relu x (16,)/(64, 64), cv=3, 500
  epochs on the squares data) against scikit-learn's search over MLPRegressor;
- ``cross_validate`` on diabetes (5 folds, (64, 64), 300 epochs) against
  scikit-learn's over this estimator and over MLPRegressor;
- with ``--scaling``, the gain of training together against the number of
  members and against width (docs/img/search_gain.png).

Writes benchmarks/SEARCH.md.

    python benchmarks/bench_search.py              # 3 repeats, about 8 minutes
    python benchmarks/bench_search.py --repeats 1  # about 3 minutes
"""

import argparse
import platform
import statistics
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV as ScikitLearnGridSearchCV
from sklearn.model_selection import KFold
from sklearn.model_selection import cross_validate as scikit_learns_cross_validate
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import stacked
from sklearn_fitfn.model_selection import GridSearchCV, cross_validate

HERE = Path(__file__).resolve().parent
GRID = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}
NETWORK = dict(hidden_layer_sizes=(64, 64), max_iter=300, random_state=0)


def _grid(name):
    return {f"{name}__{key}": values for key, values in GRID.items()}


def searches(dtype, early_stopping=False):
    """The three searches of the canonical workload, as callables."""
    X, y = load_diabetes(return_X_y=True)
    X = X.astype(dtype)
    cv = KFold(5, shuffle=True, random_state=0)
    network = dict(NETWORK, early_stopping=early_stopping)
    ours = make_pipeline(StandardScaler(), MLPFunctionRegressor(**network))
    theirs = make_pipeline(StandardScaler(), MLPRegressor(**network))
    return {
        "together": lambda: GridSearchCV(ours, _grid("mlpfunctionregressor"), cv=cv).fit(X, y),
        "scikit-learn's search, ours": lambda: ScikitLearnGridSearchCV(
            ours, _grid("mlpfunctionregressor"), cv=cv
        ).fit(X, y),
        "scikit-learn's search, MLPRegressor": lambda: ScikitLearnGridSearchCV(
            theirs, _grid("mlpregressor"), cv=cv
        ).fit(X, y),
    }


def seconds(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def canonical(repeats, cases=(("float64", False), ("float32", False))):
    rows = []
    for dtype, early_stopping in cases:
        arms = searches(dtype, early_stopping)
        for function in arms.values():  # warm-up: TensorFlow's traces, BLAS threads
            function()
        times = {name: [] for name in arms}
        for _ in range(repeats):
            for name, function in arms.items():
                times[name].append(seconds(function))
        median = {name: statistics.median(values) for name, values in times.items()}
        mlp = median["scikit-learn's search, MLPRegressor"]
        one_at_a_time = median["scikit-learn's search, ours"]
        label = f"{dtype}, early stopping" if early_stopping else dtype
        rows.append(
            f"| {label} | {median['together']:.2f} s | {one_at_a_time:.2f} s | {mlp:.2f} s | "
            f"{median['together'] / mlp:.2f}x | {median['together'] / one_at_a_time:.2f}x |"
        )
        print(rows[-1], flush=True)
    return rows


def _members(count, hidden, dtype, max_iter):
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(dtype)
    networks = [
        MLPFunctionRegressor(
            hidden_layer_sizes=hidden, alpha=alpha, max_iter=max_iter, random_state=0, tol=0.0
        )
        for alpha in np.geomspace(1e-5, 1e-1, count)
    ]
    return networks, X, y


def gain(count, hidden, dtype="float64", max_iter=100):
    """Seconds of ``count`` members trained as one group, over the seconds of
    the same members fitted one after another."""
    networks, X, y = _members(count, hidden, dtype, max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        networks[0].fit(X, y)  # the single path's trace
        members = [network._training_member(X, y) for network in networks]
        stacked._train_group(members)  # the stacked trace (the TensorFlow route)
        members = [network._training_member(X, y) for network in networks]
        together = seconds(lambda: stacked._train_group(members))
        alone = seconds(lambda: [network.fit(X, y) for network in networks])
    return together / alone


def scaling():
    counts, widths, dtypes = (1, 2, 3, 5, 10, 20), (16, 64, 256), ("float64", "float32")
    by_count = {dtype: [gain(k, (64, 64), dtype) for k in counts] for dtype in dtypes}
    by_width = {dtype: [gain(20, (w, w), dtype) for w in widths] for dtype in dtypes}
    for dtype in by_count:
        print(dtype, "members", dict(zip(counts, np.round(by_count[dtype], 2))), flush=True)
        print(dtype, "width", dict(zip(widths, np.round(by_width[dtype], 2))), flush=True)
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    left, right = figure.subplots(1, 2)
    for dtype, marker in (("float64", "o"), ("float32", "s")):
        left.plot(counts, by_count[dtype], marker=marker, label=dtype)
        right.plot(widths, by_width[dtype], marker=marker, label=dtype)
    left.set_xscale("log")
    left.set_xlabel("members trained together, (64, 64)")
    right.set_xscale("log", base=2)
    right.set_xlabel("width of both hidden layers, 20 members")
    for axes in (left, right):
        axes.axhline(1, color="0.6", linewidth=1)
        axes.set_ylabel("time together / one at a time")
        axes.set_ylim(bottom=0)
        axes.legend()
    figure.suptitle("Diabetes data, 353 rows, batches of 200, 100 epochs")
    figure.savefig(HERE.parent / "docs" / "img" / "search_gain.png", dpi=110)
    return counts, by_count, widths, by_width


def _timed_arms(arms, repeats):
    """Medians of each arm's seconds, after a warm-up of each, alternating."""
    for function in arms.values():
        function()
    times = {name: [] for name in arms}
    for _ in range(repeats):
        for name, function in arms.items():
            times[name].append(seconds(function))
    return {name: statistics.median(values) for name, values in times.items()}


def fixed_epochs(repeats, dtype):
    """The 20 diabetes members for 300 epochs each: our group, 20
    MLPRegressor fits and the JAX vmap program, on the same folds."""
    import jax_vmap_reference

    X, y = load_diabetes(return_X_y=True)
    folds = list(KFold(5, shuffle=True, random_state=0).split(X, y))
    candidates = [(a, r) for a in GRID["alpha"] for r in GRID["learning_rate_init"]]
    fixed = dict(NETWORK, tol=0.0, n_iter_no_change=300)
    scaled = []
    for train, _ in folds:
        scaler = StandardScaler().fit(X[train])
        scaled.append((scaler.transform(X[train]).astype(dtype), y[train].astype(dtype)))

    def ours():
        members = [
            MLPFunctionRegressor(**fixed, alpha=a, learning_rate_init=r)._training_member(*fold)
            for a, r in candidates
            for fold in scaled
        ]
        stacked._train_group(members)

    def mlp():
        for a, r in candidates:
            for fold in scaled:
                MLPRegressor(**fixed, alpha=a, learning_rate_init=r).fit(*fold)

    medians = _timed_arms({"together": ours, "MLPRegressor": mlp}, repeats)
    folds_jax = [fold for _ in candidates for fold in scaled]
    alphas = [a for a, _ in candidates for _ in scaled]
    rates = [r for _, r in candidates for _ in scaled]
    runs = [
        jax_vmap_reference.train_members(folds_jax, alphas, rates, (64, 64), 300, 200, dtype)
        for _ in range(repeats)
    ]
    medians["JAX"] = statistics.median(second for _, second, _ in runs)
    compile_seconds = statistics.median(first - second for first, second, _ in runs)
    row = (
        f"| {dtype} | {medians['together']:.2f} s | {medians['MLPRegressor']:.2f} s | "
        f"{medians['JAX']:.2f} s (+{compile_seconds:.1f} s to compile) | "
        f"{medians['together'] / medians['MLPRegressor']:.2f}x | "
        f"{medians['together'] / medians['JAX']:.2f}x |"
    )
    print(row, flush=True)
    return row


def mission_grid(repeats):
    """The README's recipe on the squares data: ours against scikit-learn's
    search over MLPRegressor, the same pipeline."""
    from sklearn_fitfn.datasets import make_squares

    X, y = make_squares(1000, random_state=0)
    grid = {
        "regressor__{}__activation": ["identity", "relu"],
        "regressor__{}__hidden_layer_sizes": [(16,), (64, 64)],
    }
    params = dict(max_iter=500, n_iter_no_change=500, tol=0.0, batch_size=100, random_state=0)

    def search(kind, network):
        name = type(network).__name__.lower()
        model = TransformedTargetRegressor(
            make_pipeline(StandardScaler(), network), transformer=StandardScaler()
        )
        return lambda: kind(model, {k.format(name): v for k, v in grid.items()}, cv=3).fit(X, y)

    medians = _timed_arms(
        {
            "together": search(GridSearchCV, MLPFunctionRegressor(**params)),
            "MLPRegressor": search(ScikitLearnGridSearchCV, MLPRegressor(**params)),
        },
        repeats,
    )
    row = (
        f"| the mission's grid (12 fits, 500 epochs) | {medians['together']:.2f} s | "
        f"{medians['MLPRegressor']:.2f} s | {medians['together'] / medians['MLPRegressor']:.2f}x |"
    )
    print(row, flush=True)
    return row


def cross_validation(repeats):
    """5-fold cross_validate on diabetes, (64, 64), 300 epochs: ours, and
    scikit-learn's over this estimator and over MLPRegressor."""
    X, y = load_diabetes(return_X_y=True)
    cv = KFold(5, shuffle=True, random_state=0)
    ours = make_pipeline(StandardScaler(), MLPFunctionRegressor(**NETWORK))
    theirs = make_pipeline(StandardScaler(), MLPRegressor(**NETWORK))
    medians = _timed_arms(
        {
            "together": lambda: cross_validate(ours, X, y, cv=cv),
            "ours": lambda: scikit_learns_cross_validate(ours, X, y, cv=cv),
            "MLPRegressor": lambda: scikit_learns_cross_validate(theirs, X, y, cv=cv),
        },
        repeats,
    )
    row = (
        f"| cross_validate, diabetes, 5 folds | {medians['together']:.2f} s | "
        f"{medians['MLPRegressor']:.2f} s | {medians['together'] / medians['MLPRegressor']:.2f}x "
        f"(scikit-learn's over ours: {medians['ours']:.2f} s, "
        f"{medians['together'] / medians['ours']:.2f}x) |"
    )
    print(row, flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scaling", action="store_true", help="also the gain figure")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    rows = canonical(args.repeats)
    rows += canonical(args.repeats, (("float64", True),))
    fixed = [fixed_epochs(args.repeats, dtype) for dtype in ("float64", "float32")]
    others = [mission_grid(args.repeats), cross_validation(args.repeats)]
    lines = [
        "# A search that trains its members together",
        "",
        f"`python benchmarks/bench_search.py --repeats {args.repeats}`, {date.today()}, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}: "
        "medians of the repeats, in one process, alternating.",
        "",
        "The diabetes grid (2x2 over alpha and learning_rate_init, 5 folds, (64, 64), 300 epochs):",
        "",
        "| dtype | together | scikit-learn's search, ours | scikit-learn's search, "
        "MLPRegressor | together / MLPRegressor's | together / ours one at a time |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "The same 20 members for a fixed 300 epochs each (the stopping rule off), trained as one "
        "group, against 20 MLPRegressor fits and the same training as one jax.jit(jax.vmap) "
        "program (a second call: compiled):",
        "",
        "| dtype | together | MLPRegressor | JAX | together / MLPRegressor | together / JAX |",
        "|---|---|---|---|---|---|",
        *fixed,
        "",
        "| workload | together | scikit-learn's, MLPRegressor | ratio |",
        "|---|---|---|---|",
        *others,
        "",
    ]
    if args.scaling:
        counts, by_count, widths, by_width = scaling()
        lines += [
            "One group's time over the same members fitted one after another (100 epochs):",
            "",
            "| dtype, members | " + " | ".join(str(k) for k in counts) + " |",
            "|---|" + "---|" * len(counts),
            *(f"| {d} | " + " | ".join(f"{g:.2f}" for g in by_count[d]) + " |" for d in by_count),
            "",
            "| dtype, 20 members | " + " | ".join(f"({w}, {w})" for w in widths) + " |",
            "|---|" + "---|" * len(widths),
            *(f"| {d} | " + " | ".join(f"{g:.2f}" for g in by_width[d]) + " |" for d in by_width),
            "",
        ]
    (HERE / "SEARCH.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
