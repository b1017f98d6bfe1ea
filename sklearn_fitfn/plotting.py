"""Figures of an experiment: fitted curves with residuals, and RMSE per candidate."""

import matplotlib

matplotlib.use("Agg")  # files only: works on machines without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .experiments import format_architecture, format_rmse  # noqa: E402

_COLOURS = ["tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown"]


def plot_fits(result, path=None):
    """Held-out data with each activation's best fitted curve, and their residuals.

    With one input the horizontal axis is x; with several it is the true y,
    so each curve shows predicted against true values. When the experiment
    extrapolated, the data from outside the training range are drawn too,
    and the training range is shaded.

    Parameters
    ----------
    result : ExperimentResult
    path : str or Path, optional
        Where to save the PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    X, y = result.X_test, result.y_test
    extrapolated = result.X_extrapolate is not None
    if extrapolated:
        X = np.concatenate([X, result.X_extrapolate])
        y = np.concatenate([y, result.y_extrapolate])
    one_input = X.shape[1] == 1
    order = np.argsort(X[:, 0] if one_input else y)
    X, y = X[order], y[order]
    x = X[:, 0] if one_input else y
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    top.scatter(x, y, s=6, color="0.6", label="held-out data")
    if extrapolated:
        if one_input:
            span = (result.config["low"], result.config["high"])
        else:  # the range of true y that the training data cover
            span = (result.y_train.min(), result.y_train.max())
        for axes in (top, bottom):
            axes.axvspan(
                *span,
                color="tab:olive",
                alpha=0.12,
                lw=0,
                label="training range" if axes is top else None,
            )
    for colour, (activation, model) in zip(_COLOURS, result.models.items()):
        prediction = model.predict(X)
        label = f"{activation} {format_architecture(_hidden_sizes(model))}: RMSE "
        label += format_rmse(result.test_rmse[activation])
        if extrapolated:
            label += f" inside, {format_rmse(result.extrapolation_rmse[activation])} outside"
        top.plot(x, prediction, color=colour, lw=1.8, label=label)
        bottom.plot(x, prediction - y, color=colour, lw=1.2, label=activation)
    bottom.axhline(0, color="black", lw=0.8)
    top.set_ylabel("y")
    where = "inside and outside the training range" if extrapolated else "on held-out data"
    top.set_title(f"{result.function}: best model of each activation {where}")
    top.legend(loc="upper left", fontsize=9)
    bottom.set_ylabel("residual (predicted - true)")
    bottom.set_xlabel("x" if one_input else "true y")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def _hidden_sizes(model):
    return model.regressor_.steps[-1][1].hidden_layer_sizes


def plot_rmse(result, path=None):
    """Cross-validated RMSE of every candidate against the best straight line.

    Parameters
    ----------
    result : ExperimentResult
    path : str or Path, optional
        Where to save the PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = result.table
    labels = [f"{a}\n{h}" for a, h in zip(table["activation"], table["architecture"])]
    activations = list(dict.fromkeys(result.config["activations"]))
    colours = [_COLOURS[activations.index(a) % len(_COLOURS)] for a in table["activation"]]
    figure, axes = plt.subplots(figsize=(max(6, 1.2 * len(table)), 4.5))
    axes.bar(labels, table["cv_rmse_mean"], yerr=table["cv_rmse_std"], color=colours, capsize=3)
    if result.linear_floor > 0:
        axes.axhline(
            result.linear_floor,
            color="black",
            ls="--",
            lw=1,
            label=f"best straight line on the training data: {result.linear_floor:,.0f}",
        )
        axes.set_yscale("log")
        axes.set_ylim(top=3 * max(result.linear_floor, table["cv_rmse_mean"].max()))
        axes.legend(loc="upper left")
    axes.set_ylabel("CV RMSE (original units)")
    axes.set_title(f"{result.function}: error of every candidate")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure
