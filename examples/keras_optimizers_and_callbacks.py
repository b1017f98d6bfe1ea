"""
Keras optimizers and callbacks
==============================

Keras's own training on y = x²: a Keras optimizer, Keras callbacks, ``history_``.

MLPRegressor's Adam runs on the compiled engine; RMSprop, and Adam with Keras
callbacks, run through Keras's fit. All three start from the same weights and
are scored on the same held-out rows, in the original units.

About 6 seconds on two idle CPU cores, after TensorFlow's import.
"""

import time

import keras  # noqa: E402
import numpy as np
from matplotlib.figure import Figure

# The package first: it then starts TensorFlow without its log lines
# (docs/keras.md says what TensorFlow prints otherwise).
from sklearn_fitfn.datasets import make_squares
from sklearn_fitfn.experiments import build_pipeline

X_train, y_train = make_squares(1000, random_state=0)
X_test, y_test = make_squares(1000, random_state=1)

settings = {
    "adam, compiled engine": {},
    "rmsprop, Keras fit": {"solver": "rmsprop"},
    "adam + ReduceLROnPlateau and EarlyStopping on val_loss, Keras fit": {
        "learning_rate_init": 1e-2,
        "early_stopping": True,
        "n_iter_no_change": np.inf,  # leave stopping to the Keras callback
        "callbacks": [
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=5),
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=20, restore_best_weights=True
            ),
        ],
    },
}
figure = Figure(figsize=(7, 3.5), layout="constrained")
axes = figure.subplots()
for name, params in settings.items():
    started = time.perf_counter()
    model = build_pipeline("relu", (64, 64), max_iter=200, **params).fit(X_train, y_train)
    seconds = time.perf_counter() - started
    rmse = np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))
    network = model.regressor_[-1]
    keras_losses = getattr(network, "history_", {}).get("loss", [])
    print(
        f"{name}: held-out RMSE {rmse:,.1f} after {len(network.loss_curve_)} epochs "
        f"in {seconds:.1f} s; Keras's history_ has {len(keras_losses)} epochs"
    )
    axes.plot(network.loss_curve_, label=name.split(",")[0] + f" ({name.split(', ')[-1]})")
axes.set_yscale("log")
axes.set_xlabel("epoch")
axes.set_ylabel("training loss (scaled y)")
axes.legend(fontsize="small")
