"""A search's peak memory against scikit-learn's on the same grid.

Each search runs in a fresh process, which reports its peak resident set
size (``ru_maxrss``) and its time: this package's GridSearchCV, which trains
its members together, and scikit-learn's GridSearchCV over the same
estimator and over MLPRegressor. The grid is many candidates on rows large
enough that holding every member's copy of its rows at once would show:
20,000 rows of 20 inputs, 5 folds, a (16,) network for 2 epochs.

    python benchmarks/bench_search_memory.py                  # 40 candidates
    python benchmarks/bench_search_memory.py --candidates 160
"""

import argparse
import json
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = """
import json, resource, sys, time, warnings
import numpy as np
from sklearn.model_selection import KFold
warnings.simplefilter("ignore")
search, n_candidates = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.normal(size=(20000, 20))
y = X[:, 0] * X[:, 1] + X[:, 2]
grid = {"alpha": list(np.geomspace(1e-6, 1e-1, n_candidates))}
params = dict(hidden_layer_sizes=(16,), max_iter=2, random_state=0)
if search == "MLPRegressor":
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPRegressor as Estimator
elif search == "scikit-learn's search":
    from sklearn.model_selection import GridSearchCV
    from sklearn_fitfn import MLPFunctionRegressor as Estimator
else:
    from sklearn_fitfn import MLPFunctionRegressor as Estimator
    from sklearn_fitfn.model_selection import GridSearchCV
started = time.perf_counter()
GridSearchCV(Estimator(**params), grid, cv=KFold(5, shuffle=True, random_state=0)).fit(X, y)
seconds = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))
"""

SEARCHES = ["together", "scikit-learn's search", "MLPRegressor"]


def measure(search, n_candidates):
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, search, str(n_candidates)],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=40)
    args = parser.parse_args()
    rows = {search: measure(search, args.candidates) for search in SEARCHES}
    reference = rows["scikit-learn's search"]
    lines = [
        "# A search's peak memory",
        "",
        f"`python benchmarks/bench_search_memory.py --candidates {args.candidates}`, "
        f"{date.today()}, {platform.machine()}: {args.candidates} candidates x 5 folds on "
        "20,000 x 20 rows, (16,) for 2 epochs, each search in a fresh process.",
        "",
        "| search | peak RSS, MB | / scikit-learn's search over ours | seconds |",
        "|---|---|---|---|",
    ]
    for search, row in rows.items():
        ratio = row["peak_mb"] / reference["peak_mb"]
        lines.append(f"| {search} | {row['peak_mb']:,.0f} | {ratio:.2f}x | {row['seconds']:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "SEARCH_MEMORY.md").write_text(text)


if __name__ == "__main__":
    main()
