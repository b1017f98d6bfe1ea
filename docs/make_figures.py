"""Make the figures and tables of docs/why_squares_fail.md from real fits.

    python docs/make_figures.py            # writes docs/img/relu_units.png,
                                           # docs/img/extrapolation.png and
                                           # prints the tables quoted in the text
    python docs/make_figures.py --quick -o /tmp/figs   # a few small fits

Every number comes from the canonical squares data (x drawn from the
integers 1..1000, training seed 0, held-out seed 1), in the original units of y.
"""

import argparse
import math
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sklearn_fitfn._commands.figures import _plain_axes, activation_colour  # noqa: E402
from sklearn_fitfn.datasets import make_squares  # noqa: E402
from sklearn_fitfn.experiments import build_pipeline, least_squares_rmse  # noqa: E402

HERE = Path(__file__).resolve().parent
EXACT = dict(solver="lbfgs", alpha=0.0, tol=0.0)


def rmse(model, X, y):
    return float(np.sqrt(np.mean((model.predict(X) - y) ** 2)))


def piecewise_floor(width, pieces):
    """RMSE of the best fit of x² by ``pieces`` straight segments on an interval
    of ``width`` (equal segments, each its own best line): a lower bound for a
    relu layer of ``pieces - 1`` units."""
    return (width / pieces) ** 2 / (6 * math.sqrt(5))


def relu_units_figure(units, lbfgs_iter, path):
    """Held-out RMSE of one relu layer of each width, with Adam and with L-BFGS."""
    X, y = make_squares(random_state=0)
    X_test, y_test = make_squares(random_state=1)
    floor = least_squares_rmse(X, y)
    rows = []
    for k in units:
        started = time.perf_counter()
        adam = rmse(build_pipeline("relu", (k,), random_state=0).fit(X, y), X_test, y_test)
        lbfgs_model = build_pipeline("relu", (k,), random_state=0, max_iter=lbfgs_iter, **EXACT)
        lbfgs = rmse(lbfgs_model.fit(X, y), X_test, y_test)
        rows.append((k, adam, lbfgs, piecewise_floor(999, k + 1)))
        print(
            f"  relu ({k}): Adam {adam:,.1f}, L-BFGS {lbfgs:,.1f} "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )

    k, adam, lbfgs, bound = (np.array(column) for column in zip(*rows))
    figure, axes = plt.subplots(figsize=(7.5, 4.8))
    axes.axhline(
        floor,
        color="black",
        ls="--",
        lw=1,
        label=f"best straight line (any linear network): {floor:,.0f}",
    )
    relu = activation_colour("relu")
    axes.plot(k, adam, "o-", color=relu, label="relu, Adam, 500 epochs (canonical)")
    axes.plot(k, lbfgs, "s--", color=relu, label=f"relu, L-BFGS, {lbfgs_iter} iterations")
    axes.plot(
        k, bound, ":", color="tab:gray", label="best k + 1 straight pieces: (999/(k+1))² / (6√5)"
    )
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("relu units k in one hidden layer")
    axes.set_ylabel("held-out RMSE of x² (original units)")
    axes.set_title("squares: relu is a piecewise-linear fit; more units, more pieces")
    axes.legend(fontsize=8.5, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return rows


def extrapolation_figure(lbfgs_iter, path):
    """Fits trained on 1..1000, evaluated on every integer 1..2000."""
    X, y = make_squares(random_state=0)
    models = {
        ("identity", "(64, 64), Adam"): build_pipeline("identity", (64, 64), random_state=0),
        ("relu", "(64, 64), Adam"): build_pipeline("relu", (64, 64), random_state=0),
        ("square", "(4), L-BFGS"): build_pipeline(
            "square", (4,), random_state=0, max_iter=lbfgs_iter, **EXACT
        ),
    }
    x = np.arange(1, 2001)
    inside, outside = x <= 1000, x > 1000
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    top.plot(x, x**2, color="0.6", lw=4, label="y = x²")
    rows = []
    for (activation, setting), model in models.items():
        name, colour = f"{activation} {setting}", activation_colour(activation)
        error = model.fit(X, y).predict(x.reshape(-1, 1)) - x**2
        rms_in = float(np.sqrt(np.mean(error[inside] ** 2)))
        rms_out = float(np.sqrt(np.mean(error[outside] ** 2)))
        exact = bool(np.array_equal(np.round(x**2 + error), x**2))
        rows.append((name, rms_in, rms_out, exact))
        print(
            f"  {name}: RMSE {rms_in:.3g} on 1..1000, {rms_out:.3g} on 1001..2000, "
            f"every rounded prediction exact: {exact}",
            flush=True,
        )
        top.plot(x, x**2 + error, color=colour, lw=1.5, label=name)
        # An exact prediction (error 0) is drawn at 1e-12 on the log scale.
        bottom.plot(x, np.maximum(np.abs(error), 1e-12), color=colour, lw=0.8)
    for axes in (top, bottom):
        axes.axvspan(1, 1000, color="0.5", alpha=0.12, lw=0)
    top.text(500, 3.6e6, "training range", ha="center", color="0.35")
    top.set_ylabel("y")
    top.set_title("trained on 1..1000, asked about 1..2000")
    top.legend(loc="lower right", fontsize=9)
    bottom.set_yscale("log")
    bottom.axhline(0.5, color="black", ls="--", lw=0.8)
    bottom.text(1990, 0.8, "0.5: rounding still exact below", ha="right", fontsize=8)
    bottom.set_ylabel("|predicted - true|")
    bottom.set_xlabel("x")
    _plain_axes(top, bottom)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three widths, short L-BFGS runs")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=HERE / "img",
        help="folder for the PNGs (default: docs/img)",
    )
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    # Every fit runs its whole budget on purpose; the tables say how it ended.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    units = [1, 2, 4] if args.quick else [1, 2, 4, 8, 16, 32, 64, 128]
    lbfgs_iter = 300 if args.quick else 3000

    print("relu width against error:")
    rows = relu_units_figure(units, lbfgs_iter, args.output / "relu_units.png")
    print("\n| relu units k | Adam, 500 epochs | L-BFGS | best k + 1 pieces |")
    print("|---|---|---|---|")
    for k, adam, lbfgs, bound in rows:
        print(f"| {k} | {adam:,.0f} | {lbfgs:,.0f} | {bound:,.1f} |")

    print("\nextrapolation:")
    rows = extrapolation_figure(2000 if not args.quick else 1000, args.output / "extrapolation.png")
    print("\n| model | RMSE on 1..1000 | RMSE on 1001..2000 | every rounded prediction exact |")
    print("|---|---|---|---|")
    for name, rms_in, rms_out, exact in rows:
        print(f"| {name} | {rms_in:,.3g} | {rms_out:,.3g} | {'yes' if exact else 'no'} |")
    print(f"\nwrote {args.output / 'relu_units.png'}, {args.output / 'extrapolation.png'}")


if __name__ == "__main__":
    main()
