"""
Why can't my network learn x²?
==============================

A grid search over activation x architecture on y = x²: a network with
linear activations is stuck at the best straight line's error, relu fits.

Run it as a script or paste it into a notebook. It takes about 5 seconds on
two idle CPU cores (up to twice that on a busy machine), after TensorFlow's
import.
"""

from sklearn_fitfn.experiments import run_experiment
from sklearn_fitfn.plotting import plot_fits, plot_rmse

result = run_experiment(
    "squares",  # y = x², x drawn from the integers 1..1000
    activations=["identity", "relu"],
    architectures=[(16,), (64, 64)],
    max_iter=500,  # epochs per fit
    cv=3,
)

columns = ["activation", "architecture", "cv_rmse_mean", "cv_r2_mean", "converged"]
print(result.ranking(columns))  # the table as fitfn prints it
print(
    f"\nbest straight line: RMSE {result.linear_floor:,.1f} on the training data, "
    f"{result.held_out_floor:,.1f} on the held-out data"
)
print(result.verdict())
print(result.samples.to_string(index=False))

# Matplotlib figures: a notebook shows them; fits.savefig("fits.png") keeps one.
fits = plot_fits(result)
rmse = plot_rmse(result)
