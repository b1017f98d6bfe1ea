"""
Multiplying two sums of inputs, exactly
=======================================

The neural-arithmetic benchmark's task (Madsen & Johansen, ICLR 2020): 100
inputs drawn from U[1, 2]; y is the product of the sums of two overlapping
windows of 25 of them. One hidden layer of two square units, trained with
L-BFGS, learns it and extrapolates to U[2, 6], where relu cannot; the
network is then read back as the polynomial it computes.

About 6 seconds on two idle CPU cores, after TensorFlow's import.
"""

import numpy as np
from matplotlib.figure import Figure

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn.datasets import arithmetic_success_threshold, make_arithmetic
from sklearn_fitfn.formula import format_polynomial

# 6,000 rows: more than the 5,151 coefficients of a quadratic in 100 inputs.
X, y, windows = make_arithmetic(6000, "mul", random_state=0)
X_out, y_out, _ = make_arithmetic(10_000, "mul", interval=(2, 6), random_state=1, windows=windows)
threshold = arithmetic_success_threshold("mul", windows)
print(f"a sums columns {windows.a}, b columns {windows.b}; success threshold {threshold:.3f}")

square = MLPFunctionRegressor(
    hidden_layer_sizes=(2,), activation="square", solver="lbfgs", random_state=0
).fit(X, y)
relu = MLPFunctionRegressor(
    hidden_layer_sizes=(64, 64), max_iter=300, learning_rate_init=1e-2, random_state=0
).fit(X, y)
# Predictions against the truth outside the training range: on the diagonal
# for the square units, flat for relu, which cannot grow past what it saw.
figure = Figure(figsize=(5, 4), layout="constrained")
axes = figure.subplots()
axes.axline((y_out.min(), y_out.min()), slope=1, color="0.6", linewidth=1, label="exact")
for name, model in [("square units, L-BFGS", square), ("relu (64, 64), Adam", relu)]:
    predicted = model.predict(X_out)
    mse = np.mean((predicted - y_out) ** 2)
    verdict = "solved" if mse < threshold else "not solved"
    print(f"{name}: extrapolation MSE {mse:.3g}, RMSE {np.sqrt(mse):.3g} ({verdict})")
    axes.scatter(y_out[:500], predicted[:500], s=4, label=name)
axes.set_xlabel("true y on U[2, 6]")
axes.set_ylabel("predicted y")
axes.legend()

terms = square.to_polynomial()
print(f"the square units compute {len(terms)} terms, every coefficient in", end=" ")
print(sorted({round(c, 6) for c in terms.values()}))
a_start, a_end = windows.a
first = {p: c for p, c in terms.items() if p[a_start] == 1 and sum(p) == 2}
print("the terms of x" + str(a_start) + ":", format_polynomial(dict(list(first.items())[:3])))
