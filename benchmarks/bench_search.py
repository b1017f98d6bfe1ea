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
holds out its own validation rows and stops at its own epoch.

Then the gain of training together against the number of members (1, 2, 5,
10, 20, 50 copies of one fold's network with different ``alpha``) and
against width, as the time of one stacked group over that of the same
members fitted one after another. Writes benchmarks/SEARCH.md and
docs/img/search_gain.png.

    python benchmarks/bench_search.py              # 3 repeats, about 6 minutes
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
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV as ScikitLearnGridSearchCV
from sklearn.model_selection import KFold
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import stacked
from sklearn_fitfn.model_selection import GridSearchCV

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
    counts, widths, dtypes = (1, 2, 5, 10, 20, 50), (16, 64, 256), ("float64", "float32")
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    rows = canonical(args.repeats)
    rows += canonical(args.repeats, (("float64", True),))
    counts, by_count, widths, by_width = scaling()
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
