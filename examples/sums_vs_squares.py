"""
Sums are easy, squares are not
==============================

The easy case and the hard case side by side: x1 + x2 against x².

A network with linear activations fits a sum, because a sum is linear; it
cannot fit a square, whatever its size. relu fits both.
"""

import numpy as np

from sklearn_fitfn.datasets import make_squares, make_sums
from sklearn_fitfn.experiments import build_pipeline, least_squares_rmse

for name, make in [("sums", make_sums), ("squares", make_squares)]:
    X_train, y_train = make(1000, random_state=0)
    X_test, y_test = make(1000, random_state=1)
    print(f"{name}: best straight line RMSE {least_squares_rmse(X_train, y_train):,.1f}")
    for activation in ["identity", "relu"]:
        model = build_pipeline(activation, (64, 64), max_iter=300).fit(X_train, y_train)
        rmse = np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))
        print(f"  {activation:>8}: held-out RMSE {rmse:,.1f}")
