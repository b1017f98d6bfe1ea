"""The ``fitfn`` command: run the linear-versus-nonlinear experiment from a shell."""

import argparse
import os
import tempfile
from pathlib import Path

from ._activations import ACTIVATION_NAMES
from .datasets import FUNCTIONS
from .distributed import import_distributed
from .experiments import format_rmse, run_experiment

_TABLE_FORMATS = {
    "cv_rmse_mean": format_rmse,
    "cv_rmse_std": format_rmse,
    "cv_r2_mean": "{:.6f}".format,
    "fit_seconds": "{:.2f}".format,
    "test_rmse": format_rmse,
    "extrapolation_rmse": format_rmse,
}


def _architecture(text):
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of layer sizes: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes must be positive integers: {text!r}")
    return sizes


def _activation(text):
    if text not in ACTIVATION_NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown activation {text!r}; choose from {', '.join(sorted(ACTIVATION_NAMES))}"
        )
    return text


def _non_negative(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0: {text!r}")
    return value


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer: {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser():
    """The argument parser of ``fitfn``."""
    parser = _Parser(
        prog="fitfn",
        description=(
            "Grid-search activation x architecture on a function such as y = x^2 and "
            "show that a network with linear activations is stuck at the error of "
            "the best straight line, while relu fits."
        ),
    )
    parser.add_argument("function", choices=list(FUNCTIONS), help="what y is: x^2, x1+x2, x1*x2, ...")
    parser.add_argument("-n", "--n-samples", type=_positive, default=1000,
                        help="training rows (and test rows) (default: 1000)")
    parser.add_argument("--low", type=int, default=1, help="smallest input (default: 1)")
    parser.add_argument("--high", type=int, default=1000, help="largest input (default: 1000)")
    parser.add_argument("--cv", type=_positive, default=3, help="CV folds (default: 3)")
    parser.add_argument("--epochs", type=_positive, default=500,
                        help="epochs per fit, iterations with lbfgs (default: 500)")
    parser.add_argument("--activations", type=_activation, nargs="+",
                        default=["identity", "relu"],
                        help="activations to compare (default: identity relu)")
    parser.add_argument("--architectures", type=_architecture, nargs="+",
                        default=[(16,), (64, 64)],
                        help="hidden layer sizes, e.g. 16 64,64 (default: 16 64,64)")
    parser.add_argument("--solver", choices=["adam", "sgd", "lbfgs"], default="adam",
                        help="solver of every candidate (default: adam)")
    parser.add_argument("--alpha", type=_non_negative, default=1e-4,
                        help="L2 penalty (default: 1e-4; exact fits need 0)")
    parser.add_argument("--tol", type=_non_negative, default=1e-4,
                        help="lbfgs stops at this gradient size (default: 1e-4; exact fits need 0)")
    parser.add_argument("--extrapolate", type=int, nargs=2, metavar=("LOW", "HIGH"),
                        help="also score every candidate on inputs from LOW..HIGH, "
                             "outside the training range")
    parser.add_argument("--seed", type=int, default=0,
                        help="training data and model seed; test data use seed+1 (default: 0)")
    parser.add_argument("-o", "--output", type=Path, default=Path("fitfn-results"),
                        help="folder for results and figures (default: ./fitfn-results)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="parallel fits on this machine, in threads (default: 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the fits on a Dask cluster: a scheduler address such as "
                             "tcp://HOST:8786, or 'local' for a cluster on this machine "
                             "(needs the dask extra)")
    parser.add_argument("--n-workers", type=_positive, metavar="N",
                        help="worker processes of --scheduler local (default: one per core)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only the verdict: no progress, no tables")
    return parser  # fmt: skip


def _check_writable(folder):
    """Create ``folder`` if needed and prove a file can be written there."""
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OSError(f"cannot write to output folder {str(folder)!r}: {error.strerror}") from None
    return created


def _write_results(result, folder):
    """Write every file under a temporary name first, then move them into place."""
    from .plotting import plot_fits, plot_rmse

    writers = {
        "results.csv": lambda path: result.table.to_csv(path, index=False),
        "results.json": lambda path: Path(path).write_text(result.to_json()),
        "fits.png": lambda path: plot_fits(result, path),
        "rmse.png": lambda path: plot_rmse(result, path),
    }
    staged = {}
    try:
        for name, write in writers.items():
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=Path(name).suffix)
            os.close(handle)
            staged[name] = temporary
            write(temporary)
            os.chmod(temporary, 0o666 & ~_umask())
        for name, temporary in staged.items():
            os.replace(temporary, folder / name)
    finally:
        for temporary in staged.values():
            if os.path.exists(temporary):
                os.remove(temporary)
    return [folder / name for name in writers]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def main(argv=None):
    """Run ``fitfn``; return the exit status (0 done, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.low >= args.high:
        parser.error(f"--low must be smaller than --high; got {args.low} >= {args.high}")
    if args.cv < 2:
        parser.error(f"--cv needs at least 2 folds; got {args.cv}")
    if args.n_samples < args.cv:
        parser.error(f"--n-samples {args.n_samples} is fewer than the {args.cv} CV folds")
    if args.extrapolate is not None and args.extrapolate[0] >= args.extrapolate[1]:
        parser.error("--extrapolate LOW HIGH needs LOW < HIGH; got {} {}".format(*args.extrapolate))
    if args.n_workers is not None and args.scheduler != "local":
        parser.error("--n-workers goes with --scheduler local")
    if args.scheduler is not None:
        try:
            import_distributed()
        except ImportError as error:
            parser.error(str(error))
    try:
        created = _check_writable(args.output)
    except OSError as error:
        parser.error(str(error))

    try:
        result = run_experiment(
            args.function,
            n_samples=args.n_samples, low=args.low, high=args.high, cv=args.cv,
            max_iter=args.epochs, activations=args.activations,
            architectures=args.architectures, solver=args.solver, alpha=args.alpha,
            tol=args.tol, extrapolate=args.extrapolate, random_state=args.seed,
            n_jobs=args.n_jobs, scheduler=args.scheduler, n_workers=args.n_workers,
            progress=not args.quiet,
        )  # fmt: skip
        files = _write_results(result, args.output)
    except BaseException as error:
        if created and not any(args.output.iterdir()):
            args.output.rmdir()
        if args.scheduler is not None and isinstance(error, (OSError, TimeoutError, RuntimeError)):
            parser.error(f"Dask scheduler {args.scheduler}: {error}")
        raise

    if not args.quiet:
        unit = "iterations" if args.solver == "lbfgs" else "epochs"
        print(f"\n{result.function}: cross-validated ranking ({args.cv} folds, "
              f"{args.solver}, {args.epochs} {unit}, {result.config['seconds']} s)")  # fmt: skip
        print(result.table.to_string(index=False, formatters=_TABLE_FORMATS))
        floor = f"\nbest straight line on the training data: RMSE {result.linear_floor:,.1f}"
        if result.analytic_floor is not None:
            floor += f" (closed form: {result.analytic_floor:,.1f})"
        print(floor)
        print("\nheld-out samples:")
        print(result.samples.to_string(index=False))
        if result.extrapolation_samples is not None:
            print("\nsamples from outside the training range ({}..{}):".format(*args.extrapolate))
            print(result.extrapolation_samples.to_string(index=False))
        print()
    print(result.verdict())
    if result.convergence_note() is not None:
        print(result.convergence_note())
    if not args.quiet:
        print("\nwrote " + ", ".join(str(path) for path in files))
    return 0
