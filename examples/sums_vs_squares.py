"""
Sums are easy, squares are not
==============================

The easy case and the hard case side by side: x1 + x2 against x².

A network with linear activations fits a sum, because a sum is linear; it
cannot fit a square, whatever its size. relu fits both.

About 2 seconds on two idle CPU cores, after TensorFlow's import.
"""

import numpy as np
from matplotlib.figure import Figure

from sklearn_fitfn.datasets import make_squares, make_sums
from sklearn_fitfn.experiments import build_pipeline, least_squares_rmse

errors = {}  # (case, model) -> held-out RMSE
for name, make in [("sums", make_sums), ("squares", make_squares)]:
    X_train, y_train = make(1000, random_state=0)
    X_test, y_test = make(1000, random_state=1)
    line = least_squares_rmse(X_train, y_train)
    print(f"{name}: best straight line RMSE {line:,.1f}")
    for activation in ["identity", "relu"]:
        model = build_pipeline(activation, (64, 64), max_iter=300).fit(X_train, y_train)
        rmse = np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))
        errors[name, activation] = rmse
        print(f"  {activation:>8}: held-out RMSE {rmse:,.1f}")

# Held-out RMSE of each network, on a log scale: the linear network's square
# error is the best line's, thousands of times relu's.
figure = Figure(figsize=(6, 3.5), layout="constrained")
axes = figure.subplots()
for offset, activation in [(-0.2, "identity"), (0.2, "relu")]:
    heights = [errors[case, activation] for case in ("sums", "squares")]
    axes.bar(np.arange(2) + offset, heights, width=0.4, label=activation)
axes.set_xticks([0, 1], ["y = x1 + x2", "y = x²"])
axes.set_yscale("log")
axes.set_ylabel("held-out RMSE")
axes.legend(title="hidden activation")
