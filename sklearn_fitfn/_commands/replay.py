"""The original report, replayed step by step: why the network could not learn
x², why relu "did not help", and what does.

The report: a Keras network of Dense layers 20, 100, 1000, 100, 20 and 1, all
linear, trained with Adam (batches of 100, 500 epochs) on 1,000 integers x
from 1..1000 with y = x², inputs and targets divided by 1e6 (the largest x
squared); RMSE 75,777 on the training rows. Then, in a comment: "I applied
relu, still the result is same". :func:`run_replay` runs that setup and the
changes that explain it, one at a time, on the canonical squares data.
"""

import dataclasses
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from .._network.activations import canonical_activation
from ..datasets import make_squares
from .experiments import best_line_residuals, build_pipeline, least_squares_rmse
from .text import format_architecture, format_rmse

__all__ = [
    "run_replay",
    "ReplayResult",
    "ReplayStep",
    "report_network",
    "first_layer_bends",
    "straight_pieces",
    "replay_markdown",
]

#: Hidden layers of the report's network (its output layer is the 1).
REPORT_LAYERS = (20, 100, 1000, 100, 20)
#: What the report divided inputs and targets by: the largest x, squared.
REPORT_SCALE = 1e6
#: Epochs the report trained for.
REPORT_EPOCHS = 500
#: MLPRegressor's default stopping rule: stop when the training loss has not
#: improved by ``tol`` for ``n_iter_no_change`` epochs in a row.
DEFAULT_STOPPING = {"tol": 1e-4, "n_iter_no_change": 10}


def _divide(X, scale):
    return np.asarray(X, dtype=float) / scale


def _multiply(X, scale):
    return np.asarray(X, dtype=float) * scale


def report_network(activation="identity", *, scaling="report", stopping=False, random_state=0):
    """The report's network and training, as a scikit-learn pipeline.

    Parameters
    ----------
    activation : str, default="identity"
        Activation of every hidden layer (the report had none: identity).
    scaling : {"report", "standard"}, default="report"
        ``"report"`` divides x and y by 1e6, as the report did;
        ``"standard"`` standardises both (mean 0, standard deviation 1).
    stopping : bool, default=False
        False trains all 500 epochs, as Keras's ``fit`` does; True applies
        MLPRegressor's default stopping rule (``tol=1e-4``,
        ``n_iter_no_change=10``), what a user of the defaults gets.
    random_state : int, default=0

    Returns
    -------
    sklearn.compose.TransformedTargetRegressor
        Predictions in the original units of y. The network trains in
        float32, Keras's default, with Adam at 1e-3 on batches of 100 and no
        L2 penalty (Keras's Dense layers have none).
    """
    from .._regressor import MLPFunctionRegressor

    rule = DEFAULT_STOPPING if stopping else {"tol": 0.0, "n_iter_no_change": REPORT_EPOCHS}
    network = MLPFunctionRegressor(
        hidden_layer_sizes=REPORT_LAYERS,
        activation=activation,
        solver="adam",
        alpha=0.0,
        batch_size=100,
        learning_rate_init=1e-3,
        max_iter=REPORT_EPOCHS,
        random_state=random_state,
        dtype="float32",
        **rule,
    )
    if scaling == "report":
        divide = FunctionTransformer(
            _divide,
            inverse_func=_multiply,
            kw_args={"scale": REPORT_SCALE},
            inv_kw_args={"scale": REPORT_SCALE},
            check_inverse=False,
        )
        return TransformedTargetRegressor(make_pipeline(divide, network), transformer=divide)
    if scaling == "standard":
        return TransformedTargetRegressor(
            make_pipeline(StandardScaler(), network), transformer=StandardScaler()
        )
    raise ValueError(f"scaling must be 'report' or 'standard'; got {scaling!r}")


def _network(model):
    return model.regressor_[-1]


def _network_inputs(model, X):
    """X as the network's first layer sees it, after the model's scaling."""
    return model.regressor_[:-1].transform(X)


def first_layer_bends(model, X):
    """How many first-layer relu units bend inside the range of the data.

    A relu unit of a one-input network bends where its input weight times
    the scaled x plus its bias crosses 0; a unit whose bend lies outside the
    data is straight on all of it.

    Parameters
    ----------
    model : fitted pipeline
        A :class:`~sklearn.compose.TransformedTargetRegressor` around a
        pipeline that ends with an ``MLPFunctionRegressor`` of one input, as
        :func:`report_network` and :func:`~sklearn_fitfn.experiments.build_pipeline`
        make.
    X : array-like of shape (n_samples, 1)
        The data, in original units.

    Returns
    -------
    int
        0 for a network whose activation is not relu.
    """
    network = _network(model)
    if canonical_activation(network.activation) != "relu":
        return 0
    z = _network_inputs(model, X)[:, 0]
    weights, biases = network.coefs_[0][0], network.intercepts_[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        bends = -biases / weights
    return int(np.sum((bends > z.min()) & (bends < z.max())))


def straight_pieces(model, x):
    """Number of straight pieces of a relu network's curve over sorted inputs.

    One more than the number of neighbouring inputs between which some hidden
    unit, in any layer, switches on or off.

    Parameters
    ----------
    model : fitted pipeline
        As for :func:`first_layer_bends`.
    x : array-like of shape (n_points, 1)
        Sorted inputs in original units, such as every integer of the range.

    Returns
    -------
    int or None
        1 for a linear network, None for an activation other than relu and
        identity.
    """
    network = _network(model)
    if canonical_activation(network.activation) == "linear":
        return 1
    if canonical_activation(network.activation) != "relu":
        return None
    hidden = _network_inputs(model, x)
    switched = np.zeros(len(x) - 1, dtype=bool)
    for weights, biases in zip(network.coefs_[:-1], network.intercepts_[:-1]):
        hidden = hidden @ weights + biases
        on = hidden > 0
        switched |= np.any(on[1:] != on[:-1], axis=1)
        hidden = np.maximum(hidden, 0)
    return 1 + int(switched.sum())


def _distance_from_a_line(x, predicted):
    """Largest distance of the predictions from their own best straight line,
    as a fraction of their range."""
    return float(np.max(np.abs(best_line_residuals(x, predicted))) / np.ptp(predicted))


@dataclasses.dataclass
class ReplayStep:
    """One step of the replay: a model, what changed, and what it measured.

    Attributes
    ----------
    name : str
        Short name of the step.
    change : str
        What this step changes, in a few words.
    rmse : float
        RMSE on the training rows after rounding, in the original units.
    line_rmse : float
        The best straight line's RMSE on the same rows.
    epochs : int
        Epochs actually run (iterations for L-BFGS).
    max_epochs : int
        Epochs allowed.
    seconds : float
        Wall time of the fit.
    why : str
        One plain sentence: what changed and why it matters, with the
        measured cause.
    measured : dict
        The figures behind ``why``.
    model : estimator
        The fitted model.
    """

    name: str
    change: str
    rmse: float
    line_rmse: float
    epochs: int
    max_epochs: int
    seconds: float
    why: str
    measured: dict
    model: object = dataclasses.field(repr=False)


@dataclasses.dataclass
class ReplayResult:
    """What :func:`run_replay` found.

    Attributes
    ----------
    steps : list of ReplayStep
        One per step, in the replay's order.
    X, y : ndarray
        The training data every step was fitted and scored on.
    config : dict
        The seed and the report's settings.
    """

    steps: list
    X: np.ndarray
    y: np.ndarray
    config: dict

    def table(self):
        """One row per step: RMSE, the best line's RMSE, epochs run, seconds, why."""
        return pd.DataFrame(
            {
                "step": [s.name for s in self.steps],
                "rmse": [s.rmse for s in self.steps],
                "line_rmse": [s.line_rmse for s in self.steps],
                "epochs": [s.epochs for s in self.steps],
                "max_epochs": [s.max_epochs for s in self.steps],
                "seconds": [s.seconds for s in self.steps],
                "why": [s.why for s in self.steps],
            }
        )

    def report(self):
        """The table and the sentences, as ``fitfn replay`` prints them."""
        header = ["step", "RMSE", "best line", "epochs", "time"]
        rows = [
            [
                f"{i}. {s.name}",
                format_rmse(s.rmse),
                format_rmse(s.line_rmse),
                f"{s.epochs}/{s.max_epochs}",
                f"{s.seconds:.1f} s",
            ]
            for i, s in enumerate(self.steps, 1)
        ]
        widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

        def line(cells):
            first = cells[0].ljust(widths[0])
            rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:]))
            return "  ".join([first, *rest])

        lines = [
            f"The original report, replayed on y = x² ({len(self.X):,} integers x from "
            "1..1000): RMSE on those rows after rounding, as in the report, beside the best "
            "straight line's on the same rows.",
            "",
            line(header),
            *map(line, rows),
            "",
        ]
        lines += [f"{i}. {s.why}" for i, s in enumerate(self.steps, 1)]
        return "\n".join(lines)

    def markdown(self):
        """The table and the sentences as Markdown, without the wall times
        (which vary from run to run): the text of the docs' replay section."""
        return replay_markdown(self.summary()["steps"])

    def summary(self):
        """A JSON-ready dictionary of everything but the fitted models."""
        return {
            "config": self.config,
            "steps": [
                {k: v for k, v in dataclasses.asdict(s).items() if k != "model"} for s in self.steps
            ],
        }

    def to_json(self):
        """``summary()`` as JSON text."""
        return json.dumps(self.summary(), indent=2)


def replay_markdown(steps):
    """The replay's table and sentences as Markdown, wall times left out.

    Parameters
    ----------
    steps : list of dict
        The ``"steps"`` of :meth:`ReplayResult.summary`, or of ``replay.json``.

    Returns
    -------
    str
    """
    lines = [
        "| step | RMSE | best straight line | epochs run |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {i}. {s['name']} | {format_rmse(s['rmse'])} | {format_rmse(s['line_rmse'])} "
        f"| {s['epochs']} of {s['max_epochs']} |"
        for i, s in enumerate(steps, 1)
    ]
    lines.append("")
    lines += [f"{i}. {s['why']}" for i, s in enumerate(steps, 1)]
    return "\n".join(lines) + "\n"


def _rounded_rmse(model, X, y):
    return float(np.sqrt(np.mean((np.round(model.predict(X)) - y) ** 2)))


def _fit(model, X, y):
    started = time.perf_counter()
    with warnings.catch_warnings():
        # Running out of epochs is the point of several steps; the epochs
        # column says it.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, time.perf_counter() - started


def _decimal(value):
    """0.000001 rather than 1e-06: the scale the report's inputs had."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _percent(rmse, line):
    return f"{100 * rmse / line:.1f}%"


def run_replay(*, random_state=0, progress=True):
    """Replay the original report, and the changes that explain it, step by step.

    Six fits on the canonical squares training data (1,000 integers x from
    1..1000, seed ``random_state``, y = x²), each scored as the report did:
    RMSE on the training rows after rounding, in the original units, beside
    the best straight line's RMSE on the same rows.

    1. The report: its linear network, x and y divided by 1e6, 500 epochs.
    2. The same with relu in every hidden layer (the report's comment).
    3. That relu network with MLPRegressor's default stopping rule.
    4. That relu network with x and y standardised instead, 500 epochs.
    5. The package's canonical model, :func:`~sklearn_fitfn.experiments.build_pipeline`.
    6. Square units with L-BFGS, for when y is known to be a square: exact.

    Steps 1 to 4 train in float32 as Keras does; they run the package's
    compiled engine with MLPRegressor's Adam (Keras's Adam but for its
    epsilon, 1e-7 against 1e-8) and initialisation, not Keras's own ``fit``.

    Parameters
    ----------
    random_state : int, default=0
        Seed of the training data and of every model.
    progress : bool, default=True
        Print a line on stderr as each step finishes.

    Returns
    -------
    ReplayResult
    """
    X, y = make_squares(1000, random_state=random_state)
    grid = np.unique(X).reshape(-1, 1).astype(float)
    line = least_squares_rmse(X, y)
    plan = [
        (
            "the report: linear, x and y / 1e6",
            "none: the report's own network and training",
            report_network("identity", random_state=random_state),
        ),
        (
            "relu in every hidden layer",
            "every hidden layer gets relu; all else as the report",
            report_network("relu", random_state=random_state),
        ),
        (
            "relu, MLPRegressor's default stopping",
            "the stopping rule of MLPRegressor's defaults (tol=1e-4, n_iter_no_change=10)",
            report_network("relu", stopping=True, random_state=random_state),
        ),
        (
            "relu, x and y standardised",
            "x and y standardised (mean 0, standard deviation 1) instead of divided by 1e6",
            report_network("relu", scaling="standard", random_state=random_state),
        ),
        (
            "the package's canonical model",
            "build_pipeline(): standardised x and y, a (64, 64) relu network, float64",
            build_pipeline(random_state=random_state),
        ),
        (
            "square units, L-BFGS",
            "two square units (z -> z²) trained by L-BFGS in float64",
            build_pipeline(
                "square",
                (2,),
                solver="lbfgs",
                alpha=0.0,
                tol=0.0,
                max_iter=2000,
                random_state=random_state,
            ),
        ),
    ]
    steps = []
    for name, change, model in plan:
        fitted, seconds = _fit(model, X, y)
        network = _network(fitted)
        rmse = _rounded_rmse(fitted, X, y)
        steps.append(
            ReplayStep(
                name=name,
                change=change,
                rmse=rmse,
                line_rmse=line,
                epochs=int(network.n_iter_),
                max_epochs=int(network.max_iter),
                seconds=round(seconds, 2),
                why="",
                measured=_measure(fitted, X, grid),
                model=fitted,
            )
        )
        if progress:
            print(
                f"[{len(steps)}/{len(plan)}] {name}: RMSE {format_rmse(rmse)} ({seconds:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    for written, why in zip(steps, _explain(steps, X)):
        written.why = why
    config = {
        "random_state": random_state,
        "n_samples": len(X),
        "report_layers": list(REPORT_LAYERS),
        "report_scale": REPORT_SCALE,
        "report_epochs": REPORT_EPOCHS,
    }
    return ReplayResult(steps=steps, X=X, y=y, config=config)


def _measure(model, X, grid):
    """The figures the sentences quote, for one fitted step."""
    network = _network(model)
    curve = network.loss_curve_
    return {
        "first_layer_units": int(network.coefs_[0].shape[1]),
        "first_layer_bends": first_layer_bends(model, X),
        "straight_pieces": straight_pieces(model, grid),
        "distance_from_a_line": _distance_from_a_line(grid[:, 0], model.predict(grid)),
        "first_loss": float(curve[0]),
        "final_loss": float(network.loss_),
        # What the last n_iter_no_change epochs gained over the best loss before them.
        "last_gain": float(min(curve[:-10]) - min(curve[-10:])) if len(curve) > 10 else None,
        "weights": _weights(model),
    }


def _explain(steps, X):
    """One sentence per step, quoting what was measured."""
    report, comment, stopped, standard, canonical, square = steps
    m = [s.measured for s in steps]
    inputs = _divide(X, REPORT_SCALE)
    return [
        "With no activation the six Dense layers multiply out to one slope and one "
        "offset: the predictions lie on a straight line (the farthest is "
        f"{m[0]['distance_from_a_line']:.0e} of their range from it), so the network ends "
        f"at {report.rmse / report.line_rmse:.3f} times the best straight line's error and "
        "can never go below it.",
        #
        "relu lets the curve bend, and the error falls to "
        f"{_percent(comment.rmse, comment.line_rmse)} of the line's; but divided by 1e6 "
        f"the inputs lie between {_decimal(inputs.min())} and {_decimal(inputs.max())}, "
        f"far from where the first layer's units bend: {m[1]['first_layer_bends']} of its "
        f"{m[1]['first_layer_units']} units bend inside the data, and after 500 epochs the "
        f"curve has {m[1]['straight_pieces']} straight pieces over 1..1000 "
        f"(standardised: {m[3]['first_layer_bends']} units and "
        f"{m[3]['straight_pieces']} pieces).",
        #
        f"MLPRegressor's default stopping rule ended training after {stopped.epochs} of "
        f"{stopped.max_epochs} epochs: on y / 1e6 the loss is small from the start "
        f"({m[2]['first_loss']:.2g} after one epoch) and its last 10 epochs gained "
        f"{m[2]['last_gain']:.1g} in all, less than tol = 1e-4, so the relu network "
        f"stopped {'worse than' if stopped.rmse > stopped.line_rmse else 'near'} a "
        f"straight line ({format_rmse(stopped.rmse)} against "
        f'{format_rmse(stopped.line_rmse)}): "relu did not help".',
        #
        "Standardised x and y put the data where the units bend, and the same network "
        f"and epochs end {comment.rmse / standard.rmse:,.0f} times lower than with x and "
        f"y divided by 1e6: {_percent(standard.rmse, standard.line_rmse)} of the line's "
        "error.",
        #
        "The package's canonical model, build_pipeline(), standardises x and y and trains "
        f"a {format_architecture(_network(canonical.model).hidden_layer_sizes)} relu "
        f"network for {canonical.max_epochs} epochs: "
        f"{_percent(canonical.rmse, canonical.line_rmse)} of the line's error with "
        f"{m[4]['weights']:,} weights, where the report's network has {m[1]['weights']:,}.",
        #
        "When y is known to be a square: a hidden layer of square units (z → z²) "
        "represents x² exactly, and L-BFGS finds it: "
        + (
            "every rounded prediction is exact."
            if square.rmse == 0
            else f"RMSE {format_rmse(square.rmse)} after rounding."
        ),
    ]


def _weights(model):
    network = _network(model)
    return int(sum(w.size for w in network.coefs_) + sum(b.size for b in network.intercepts_))
