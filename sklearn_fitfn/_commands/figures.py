"""Figures of an experiment and of the replay: fitted curves with residuals,
and RMSE per candidate.

Each activation has one colour, the same in every figure and every run
(:data:`ACTIVATION_COLOURS`), and every residual panel has its own scale, so
that a small error stays visible beside a large one.

The figures are built with matplotlib's object API, never through pyplot:
importing this module or drawing a figure leaves the user's backend as it
was and keeps no figure open, and no TensorFlow is imported.
"""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .._network.activations import canonical_activation
from .arithmetic import units_of
from .text import format_architecture, format_rmse

__all__ = [
    "plot_fits",
    "plot_rmse",
    "plot_replay",
    "plot_arithmetic",
    "activation_colour",
]

#: One colour per activation (by its Keras name; scikit-learn's names share
#: their Keras twin's), fixed so that relu is the same blue in every figure.
ACTIVATION_COLOURS = {
    "linear": "tab:red",
    "relu": "tab:blue",
    "square": "tab:green",
    "tanh": "tab:purple",
    "sigmoid": "tab:orange",
    "elu": "tab:brown",
    "selu": "tab:pink",
    "gelu": "tab:olive",
    "silu": "tab:cyan",
    "softplus": "goldenrod",
    "exponential": "slategray",
    "log": "darkcyan",
}

_DATA = "0.6"  # the data, behind the fits
_TRAINING_RANGE = "0.5"  # the shading of the training range, at low alpha


def activation_colour(activation):
    """The colour of an activation in every figure.

    Parameters
    ----------
    activation : str
        A name in scikit-learn's or Keras's vocabulary (``"identity"`` and
        ``"linear"`` share a colour).

    Returns
    -------
    str
        A matplotlib colour.
    """
    return ACTIVATION_COLOURS[canonical_activation(activation)]


def _compact(value, _position=None):
    """Tick labels without an offset or a multiplier above the axis:
    1,500, 250k, 4M, 0.25, 1e-10."""
    size = abs(value)
    if size == 0:
        return "0"
    if size >= 1e6:
        return f"{value / 1e6:g}M"
    if size >= 1e4:
        return f"{value / 1e3:g}k"
    if size >= 0.01:
        return f"{value:,.4g}"
    return f"{value:.0e}"


def _plain_axes(*axes_list):
    """Label the linear axes of panels with plain numbers such as 250k or 4M.

    Never an offset or a multiplier above the axis, which can collide with a
    title.

    Parameters
    ----------
    *axes_list : matplotlib.axes.Axes
    """
    for axes in axes_list:
        for axis in (axes.xaxis, axes.yaxis):
            if axis.get_scale() == "linear":
                axis.set_major_formatter(FuncFormatter(_compact))


def _finished(figure, path, dpi=120):
    """``figure`` laid out, and saved as a PNG to ``path`` when one is given."""
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=dpi)
    return figure


def plot_fits(result, path=None):
    """Held-out data with each activation's best model, and its residuals.

    With one input the top panel draws each model's curve over x; with
    several it draws each model's predictions against the true y, beside
    the line where they are equal. Below, one panel per activation shows its
    residuals at their own scale. When the experiment extrapolated, the data
    from outside the training range are drawn too, and the training range is
    shaded.

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
    n_models = len(result.models)
    figure = Figure(figsize=(8, 4.6 + 1.7 * n_models))
    axes = figure.subplots(
        1 + n_models,
        1,
        sharex=True,
        gridspec_kw={"height_ratios": [3] + [1.2] * n_models},
        squeeze=False,
    )
    top, residual_axes = axes[0, 0], axes[1:, 0]
    if one_input:
        top.scatter(x, y, s=6, color=_DATA, label="held-out data", zorder=1)
    else:
        top.plot(x, y, color="black", lw=1, label="predicted = true", zorder=1)
    if extrapolated:
        if one_input:
            span = (result.config["low"], result.config["high"])
        else:  # the range of true y that the training data cover
            span = (result.y_train.min(), result.y_train.max())
        for panel in axes[:, 0]:
            panel.axvspan(
                *span,
                color=_TRAINING_RANGE,
                alpha=0.12,
                lw=0,
                label="training range" if panel is top else None,
            )
    for (activation, model), panel in zip(result.models.items(), residual_axes):
        colour = activation_colour(activation)
        prediction = model.predict(X)
        label = f"{activation} {format_architecture(_hidden_sizes(model))}: RMSE "
        label += format_rmse(result.test_rmse[activation])
        if extrapolated:
            label += f" inside, {format_rmse(result.extrapolation_rmse[activation])} outside"
        residual = prediction - y
        if extrapolated:
            # Errors outside the range dwarf those inside: a log scale shows both
            # (an exact prediction, error 0, is drawn at 1e-12).
            residual = np.maximum(np.abs(residual), 1e-12)
            panel.set_yscale("log")
        else:
            panel.axhline(0, color="black", lw=0.8)
        if one_input:
            top.plot(x, prediction, color=colour, lw=1.8, label=label, zorder=2)
            panel.plot(x, residual, color=colour, lw=1.2)
        else:
            top.scatter(x, prediction, s=7, alpha=0.6, color=colour, label=label, zorder=2)
            panel.scatter(x, residual, s=5, alpha=0.6, color=colour)
        panel.set_ylabel(
            f"{activation}\n" + ("|error|" if extrapolated else "residual"), fontsize=9
        )
    top.set_ylabel("y" if one_input else "predicted y")
    where = "inside and outside the training range" if extrapolated else "on held-out data"
    top.set_title(f"{result.function}: best model of each activation {where}")
    top.legend(loc="upper left", fontsize=9)
    residual_axes[-1].set_xlabel("x" if one_input else "true y")
    residual_axes[0].set_title(
        "size of the error |predicted - true|, log scale"
        if extrapolated
        else "residuals (predicted - true), each at its own scale",
        fontsize=9,
    )
    _plain_axes(*axes[:, 0])
    return _finished(figure, path)


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
    colours = [activation_colour(a) for a in table["activation"]]
    figure = Figure(figsize=(max(6, 1.2 * len(table)), 4.5))
    axes = figure.subplots()
    axes.bar(labels, table["cv_rmse_mean"], yerr=table["cv_rmse_std"], color=colours, capsize=3)
    if result.linear_floor > 0:
        axes.axhline(
            result.linear_floor,
            color="black",
            ls="--",
            lw=1,
            label=f"best straight line on the training data: {format_rmse(result.linear_floor)}",
        )
        axes.set_yscale("log")
        axes.set_ylim(top=3 * max(result.linear_floor, table["cv_rmse_mean"].max()))
        axes.legend(loc="upper left")
    axes.set_ylabel("CV RMSE (original units)")
    axes.set_title(f"{result.function}: error of every candidate")
    return _finished(figure, path)


def plot_replay(result, path=None):
    """Each step of the replay: its fitted curve on the data, and its residuals.

    One column per step, in the replay's order; the curves share one scale,
    so that the steps compare at a glance, and each residual panel has its own.

    Parameters
    ----------
    result : ReplayResult
    path : str or Path, optional
        Where to save the PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    order = np.argsort(result.X[:, 0])
    x, y = result.X[order, 0], result.y[order]
    columns = 3
    rows = -(-len(result.steps) // columns)
    figure = Figure(figsize=(4.3 * columns, 5.6 * rows))
    axes = figure.subplots(
        2 * rows,
        columns,
        gridspec_kw={"height_ratios": [2.4, 1] * rows},
        sharex=True,
    )
    for index, step in enumerate(result.steps):
        row, column = divmod(index, columns)
        curve, residual = axes[2 * row, column], axes[2 * row + 1, column]
        network = step.model.regressor_[-1]
        colour = activation_colour(network.activation)
        prediction = step.model.predict(result.X[order])
        curve.scatter(x, y, s=4, color=_DATA, zorder=1)
        curve.plot(x, prediction, color=colour, lw=1.8, zorder=2)
        curve.set_ylim(-0.15 * y.max(), 1.15 * y.max())
        curve.set_title(f"{index + 1}. {step.name}", fontsize=9.5)
        curve.text(
            0.03,
            0.95,
            f"{network.activation} {format_architecture(network.hidden_layer_sizes)}\n"
            f"RMSE {format_rmse(step.rmse)}\n{step.epochs} of {step.max_epochs} "
            + ("iterations" if network.solver == "lbfgs" else "epochs"),
            transform=curve.transAxes,
            va="top",
            fontsize=8.5,
        )
        residual.plot(x, prediction - y, color=colour, lw=1)
        residual.axhline(0, color="black", lw=0.8)
        residual.set_xlabel("x", fontsize=9)
        if column == 0:
            curve.set_ylabel("y = x²")
            residual.set_ylabel("residual")
        _plain_axes(curve, residual)
    for index in range(len(result.steps), rows * columns):
        row, column = divmod(index, columns)
        axes[2 * row, column].set_visible(False)
        axes[2 * row + 1, column].set_visible(False)
    figure.suptitle(
        "The original report, replayed: each step's fit on the training data "
        "(residuals at their own scale)",
        fontsize=11,
    )
    return _finished(figure, path, dpi=110)


def plot_arithmetic(result, path=None):
    """Each fit's extrapolation MSE beside the success threshold it had to beat.

    Parameters
    ----------
    result : ArithmeticResult
    path : str or Path, optional
        Where to save the PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = result.table
    if result.primer:  # one column per range, its seeds side by side
        pairs = list(dict.fromkeys(zip(table["train"], table["extrapolation"])))
        column = [pairs.index(pair) for pair in zip(table["train"], table["extrapolation"])]
        n_seeds = max(1, len(table) // len(pairs))
        positions = np.array(column) + 0.6 * (table["seed"].to_numpy() / n_seeds - 0.3)
        ticks, labels = np.arange(len(pairs)), [f"{t}\n→ {e}" for t, e in pairs]
        width = 11
    else:
        positions = ticks = np.arange(len(table))
        labels = [str(seed) for seed in table["seed"]]
        width = max(6, 0.3 * len(table) + 2)
    figure = Figure(figsize=(width, 4.5))
    axes = figure.subplots()
    solved = table["success"].to_numpy()
    refused = (table["refused"] != "").to_numpy() if "refused" in table else np.zeros_like(solved)
    colour = activation_colour("square")
    # A perfect fit's MSE can be 0: drawn at the axis' floor, as is a refused fit's.
    mse = table["mse"].to_numpy()
    floor = max(np.min(mse[mse > 0], initial=1e-30) / 10, 1e-32)
    mse = np.maximum(np.nan_to_num(mse, nan=floor), floor)
    if solved.any():
        axes.scatter(positions[solved], mse[solved], color=colour, label="solved", zorder=3)
    failed = ~solved & ~refused
    if failed.any():
        axes.scatter(
            positions[failed],
            mse[failed],
            color="black",
            marker="x",
            label="not solved",
            zorder=3,
        )
    if refused.any():
        axes.scatter(
            positions[refused],
            mse[refused],
            color="firebrick",
            marker="v",
            label="refused, not solved: the rows cross b = 0",
            zorder=3,
        )
    axes.scatter(
        positions, table["threshold"], color="grey", marker="_", s=300, label="success threshold"
    )
    axes.set_yscale("log")
    axes.set_xticks(ticks, labels, fontsize=7 if result.primer else 8)
    axes.set_xlabel("training → extrapolation range" if result.primer else "seed")
    axes.set_ylabel("extrapolation MSE")
    rate = f"{result.successes} of {len(table)} solved"
    task = "Primer's 2-input task" if result.primer else "100 inputs, U[1,2] → U[2,6]"
    axes.set_title(f"{result.operation}, {task}\n{units_of(result.operation)} and L-BFGS: {rate}")
    axes.legend(loc="best", fontsize=8)
    return _finished(figure, path)
