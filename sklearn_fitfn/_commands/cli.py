"""The ``fitfn`` command: run the linear-versus-nonlinear experiment from a shell.

Help, ``--version`` and argument errors answer at once: TensorFlow, the
estimator and the experiment are imported only when work starts.
"""

import argparse
import contextlib
import dataclasses
import gc
import logging
import os
import signal
import sys
import tempfile
import typing
from pathlib import Path

from .. import __version__
from .._network.activations import activation_choices, canonical_activation
from .._training.settings import ENGINE_SOLVERS
from ..datasets import ARITHMETIC_OPERATIONS, FUNCTIONS, _integer_overflow
from ..distributed import _check_scheduler_address, _import_distributed
from .settings import ExperimentSettings, InvalidExperiment


def _architecture(text):
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of layer sizes: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes must be positive integers: {text!r}")
    return sizes


def _activation(text):
    try:
        canonical_activation(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _non_negative(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0: {text!r}")
    return value


def _output_folder(text):
    if not text.strip():  # Path("") is the current folder, which no one asked for
        raise argparse.ArgumentTypeError("give a folder name, such as fitfn-results")
    return Path(text)


#: The seeds NumPy's RandomState takes.
_SEEDS = range(2**32)


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value not in _SEEDS:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to {_SEEDS[-1]}: {text!r}")
    return value


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer: {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _analytic_floor_line(function, low, high, value):
    """The closed form of the best line's error, said as what it is."""
    from .experiments import ANALYTIC_FLOORS

    formula = FUNCTIONS[function][2]
    if value == 0:
        return f"(y = {formula} is linear: a line fits it exactly, up to round-off)"
    return (
        f"(for inputs uniform on [{low}, {high}], a line's RMSE on y = {formula} tends to "
        f"{ANALYTIC_FLOORS[function]} = {value:,.1f}, L = {high - low}, as rows grow)"
    )


def _build_parser():
    """The argument parser of ``fitfn``."""
    parser = _Parser(
        prog="fitfn",
        description=(
            "Grid-search activation x architecture on a function such as y = x^2 and "
            "show that a network with linear activations is stuck at the error of "
            "the best straight line, while relu fits."
        ),
        epilog=(
            "fitfn replay replays the original report (a linear Keras network that "
            "could not learn x^2, and relu that 'did not help') step by step: "
            "see fitfn replay --help. fitfn arithmetic runs the neural-arithmetic "
            "benchmark on square units: see fitfn arithmetic --help."
        ),
    )
    parser.add_argument(
        "function",
        choices=[*FUNCTIONS, *_COMMANDS],
        metavar="COMMAND",
        help="what y is, for the grid search ("
        + ", ".join(FUNCTIONS)
        + "), or another command ("
        + ", ".join(_COMMANDS)
        + ", each with options of its own)",
    )
    parser.add_argument(
        "-n",
        "--n-samples",
        type=_positive,
        default=1000,
        help="training rows (and test rows) (default: 1000)",
    )
    parser.add_argument("--low", type=int, default=1, help="smallest input (default: 1)")
    parser.add_argument("--high", type=int, default=1000, help="largest input (default: 1000)")
    parser.add_argument("--cv", type=_positive, default=3, help="CV folds (default: 3)")
    parser.add_argument(
        "--epochs",
        type=_positive,
        default=500,
        help="epochs per fit, iterations with lbfgs (default: 500)",
    )
    parser.add_argument(
        "--activations",
        type=_activation,
        nargs="+",
        default=["identity", "relu"],
        metavar="ACTIVATION",
        help=f"activations to compare, from: {activation_choices()} (default: identity relu)",
    )
    parser.add_argument(
        "--architectures",
        type=_architecture,
        nargs="+",
        default=[(16,), (64, 64)],
        help="hidden layer sizes, e.g. 16 64,64 (default: 16 64,64)",
    )
    parser.add_argument(
        "--solver",
        choices=list(ENGINE_SOLVERS),
        default="adam",
        help="solver of every candidate (default: adam)",
    )
    parser.add_argument(
        "--alpha",
        type=_non_negative,
        default=1e-4,
        help="L2 penalty (default: 1e-4; exact fits need 0)",
    )
    parser.add_argument(
        "--tol",
        type=_non_negative,
        default=1e-4,
        help="lbfgs stops at this gradient size (default: 1e-4; exact fits need 0)",
    )
    parser.add_argument(
        "--extrapolate",
        type=int,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="also score every candidate on inputs from LOW..HIGH, outside the training range",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="training data and model seed; test data use seed+1 (default: 0)",
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="parallel fits on this machine, in threads (default: -1, one per core; "
        "the results are the same for any number)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the fits on a Dask cluster: a scheduler address such as "
        "tcp://HOST:8786, or 'local' for a cluster on this machine "
        "(needs the dask extra)",
    )
    parser.add_argument(
        "--n-workers",
        type=_positive,
        metavar="N",
        help="worker processes of --scheduler local (default: one per core)",
    )
    _with_output_options(
        parser, quiet="print only the verdict and where the results went: no progress, no tables"
    )
    parser.add_argument("--version", action="version", version=f"fitfn {__version__}")
    return parser


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


class _Stopped(BaseException):
    """SIGINT or SIGTERM arrived while the run was under way."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class _StopOnSignals:
    """While active, SIGINT and SIGTERM raise :class:`_Stopped` in the main thread.

    Once ``settled`` (the results are in place, or the run is ending on a
    failure or an earlier signal), a signal is only recorded.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.settled = False
        self.signum = None

    def _handle(self, signum, frame):
        self.signum = signum
        if not self.settled:
            raise _Stopped(signum)

    def __enter__(self):
        # A signal the process started out ignoring (SIGINT in a job started
        # with `cmd &` from a script, or under nohup) stays ignored, as Unix
        # programs leave it: whoever started the run chose that.
        self._previous = {
            s: signal.signal(s, self._handle)
            for s in self.SIGNALS
            if signal.getsignal(s) is not signal.SIG_IGN
        }
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @contextlib.contextmanager
    def deferred(self):
        """Hold both signals back while the block runs (it must not be cut short)."""
        signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.SIGNALS)


def _experiment_files(result):
    """The files of a grid search: name -> function that writes it to a path."""
    from .figures import plot_fits, plot_rmse

    return {
        "results.csv": lambda path: result.table.to_csv(path, index=False),
        "results.json": lambda path: Path(path).write_text(result.to_json()),
        "fits.png": lambda path: plot_fits(result, path),
        "rmse.png": lambda path: plot_rmse(result, path),
    }


def _replay_files(result):
    """The files of the replay: name -> function that writes it to a path."""
    from .figures import plot_replay

    return {
        "replay.csv": lambda path: result.table().to_csv(path, index=False),
        "replay.json": lambda path: Path(path).write_text(result.to_json()),
        "replay.png": lambda path: plot_replay(result, path),
    }


def _write_results(writers, folder, stopping):
    """Write every file under a temporary name first, then move them all into
    place with SIGINT and SIGTERM held back, so that the folder holds either
    the old files or all the new ones.

    ``writers`` maps each file name to a function that writes it to a path.
    """
    staged = {}
    try:
        for name, write in writers.items():
            handle, temporary = tempfile.mkstemp(
                dir=folder, prefix=f".{name}.", suffix=Path(name).suffix
            )
            os.close(handle)
            staged[name] = temporary
            write(temporary)
            os.chmod(temporary, 0o666 & ~_umask())
        with stopping.deferred():
            for name, temporary in staged.items():
                os.replace(temporary, folder / name)
            stopping.settled = True
    finally:
        for temporary in staged.values():
            if os.path.exists(temporary):
                os.remove(temporary)
    return [folder / name for name in writers]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _report(result, args, files):
    """Print the ranking, samples and verdict (only the verdict with --quiet)."""
    from .experiments import format_rmse

    if not args.quiet:
        unit = "iterations" if args.solver == "lbfgs" else "epochs"
        print(
            f"\n{result.function}: cross-validated ranking ({args.cv} folds, "
            f"{args.solver}, {args.epochs} {unit}, {result.config['seconds']} s)"
        )
        print(result.ranking())
        print(
            f"\nbest straight line: RMSE {format_rmse(result.linear_floor)} on the training "
            f"data, {format_rmse(result.held_out_floor)} on the held-out data"
        )
        if result.analytic_floor is not None:
            print(_analytic_floor_line(result.function, args.low, args.high, result.analytic_floor))
        print("\nheld-out samples:")
        print(result.samples.to_string(index=False))
        if result.extrapolation_samples is not None:
            print("\nsamples from outside the training range ({}..{}):".format(*args.extrapolate))
            print(result.extrapolation_samples.to_string(index=False))
        print()
    print(result.verdict())
    if result.convergence_note() is not None:
        print(result.convergence_note())
    print(("" if args.quiet else "\n") + "wrote " + ", ".join(str(path) for path in files))


def _fail(message):
    """One line on stderr for a failure that is not a usage problem: status 1."""
    print(f"fitfn: {message}", file=sys.stderr)
    return 1


def _settle_imports(own_process):
    """Keep the garbage collector's full passes off the objects imported so far.

    Each full collection walks every object the process holds, and
    TensorFlow's import leaves so many that a pass is slow by then
    (docs/performance.md); the first fits set one off. ``gc.freeze`` puts the imported objects out
    of the collector's reach. It acts on the whole process, so only the
    ``fitfn`` command, which owns its process, does it.
    """
    if own_process:
        gc.freeze()


#: The options whose names differ from run_experiment's settings.
_OPTIONS = {"max_iter": "epochs", "random_state": "seed"}


def _experiment_settings(args):
    """run_experiment's settings, from the parsed options."""
    names = [f.name for f in dataclasses.fields(ExperimentSettings) if f.name != "n_samples_shown"]
    return {name: getattr(args, _OPTIONS.get(name, name)) for name in names}


def _as_option(name, value):
    """A setting as it is written on the command line: ``--epochs 5``."""
    values = value if isinstance(value, tuple) else (value,)
    written = " ".join(",".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in values)
    return f"--{_OPTIONS.get(name, name).replace('_', '-')} {written}"


def main(argv=None, *, own_process=False):
    """Run ``fitfn`` (``fitfn replay`` and ``fitfn arithmetic`` too); return the exit status.

    0 done; 2 a usage problem (bad arguments, an unwritable output folder, an
    address that is not a scheduler's); 1 another failure (a scheduler that
    cannot be reached, a failed write), always one line on stderr; 130 and
    143 after SIGINT and SIGTERM, which leave the output folder as it was.
    ``own_process`` says that the process runs nothing else (the ``fitfn``
    command), so that process-wide settings are the command's to make.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _COMMANDS.get(argv[0]) if argv else None
    if command is None:
        command = _GRID_SEARCH
    else:
        argv = argv[1:]
    parser = command.parser()
    args = parser.parse_args(argv)
    if command.check is not None:
        status = command.check(parser, args)
        if status is not None:
            return status
    try:
        created = _check_writable(args.output)
    except OSError as error:
        parser.error(str(error))

    def do_work():
        _settle_imports(own_process)
        return command.work(args)

    return _run(args, created, do_work, command.files_of, command.report)


def _check_grid_search(parser, args):
    """Check the grid search's settings and its scheduler before any work:
    a usage problem ends in ``parser.error``, an unreachable scheduler is
    returned as exit status 1, and None means all is well."""
    if args.function in _COMMANDS:  # fitfn -q replay: the command's options come after it
        parser.error(f"{args.function} is a command: write fitfn {args.function} [options]")
    try:
        ExperimentSettings(**_experiment_settings(args))
    except InvalidExperiment as error:
        parser.error(error.spelled(_as_option))
    overflow = _integer_overflow(args.function, None, args.low, args.high)
    if overflow is not None:
        parser.error(f"--low {args.low} --high {args.high}: {overflow}; give a smaller range")
    if args.scheduler is not None:
        scheme, separator, _ = args.scheduler.rpartition("://")
        if separator and scheme not in ("tcp", "tls"):
            parser.error(
                f"--scheduler {args.scheduler}: fitfn reaches a scheduler by tcp:// or tls://, "
                "or starts one with 'local'"
            )
        try:
            if args.scheduler != "local":
                _check_scheduler_address(args.scheduler)
            _import_distributed()
            # Every failure is one line here: Dask's own log lines (a closed
            # connection to a worker just ended, a reconnection) are not shown.
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
        except (ImportError, ValueError) as error:
            parser.error(str(error))
        except OSError as error:
            return _fail(f"Dask scheduler {args.scheduler}: {error}")
    return None


def _grid_search(args):
    from .experiments import run_experiment

    return run_experiment(args.function, progress=not args.quiet, **_experiment_settings(args))


def _run(args, created, work, files_of, report):
    """Do the work, write its files, print its report; return the exit status.

    SIGINT and SIGTERM stop it at any point before the files are in place,
    leaving the output folder as it was; a failure is one line on stderr.
    """
    with _StopOnSignals() as stopping:
        worked = False
        try:
            result = work()
            worked = True
            files = _write_results(files_of(result), args.output, stopping)
        except BaseException as error:
            stopping.settled = True  # a second signal must not cut the clean-up short
            if created and not any(args.output.iterdir()):
                args.output.rmdir()
            if isinstance(error, _Stopped):
                name = signal.Signals(error.signum).name
                print(
                    f"fitfn: stopped by {name}; {args.output} is as it was before the run",
                    file=sys.stderr,
                )
                return 128 + error.signum
            if worked and isinstance(error, OSError):
                return _fail(
                    f"cannot write the results to {str(args.output)!r}: {error.strerror or error}"
                )
            scheduler = getattr(args, "scheduler", None)
            if scheduler is not None and isinstance(error, (OSError, RuntimeError)):
                return _fail(f"Dask scheduler {scheduler}: {error}")
            raise
        report(result, args, files)

    if stopping.signum is not None:  # it came as the results were moved into place
        name = signal.Signals(stopping.signum).name
        print(f"fitfn: stopped by {name} after the results were written", file=sys.stderr)
        return 128 + stopping.signum
    return 0


def _with_output_options(parser, quiet="no progress lines on stderr"):
    """``parser`` with the output folder and ``--quiet`` of every command,
    ``quiet`` saying what the latter leaves out."""
    parser.add_argument(
        "-o",
        "--output",
        type=_output_folder,
        default=Path("fitfn-results"),
        help="folder for the results and figures (default: ./fitfn-results)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet)
    return parser


def _build_replay_parser():
    """The argument parser of ``fitfn replay``."""
    parser = _Parser(
        prog="fitfn replay",
        description=(
            "Replay the original report step by step: a linear Dense network "
            "(20, 100, 1000, 100, 20, 1) trained with Adam on y = x^2 with x and y "
            "divided by 1e6; the same with relu; relu with MLPRegressor's default "
            "stopping; relu with standardised data; the package's canonical model; and "
            "square units. Prints one table with a sentence per step and writes "
            "replay.csv, replay.json and replay.png. About a minute on two cores."
        ),
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of the training data and of every model (default: 0)",
    )
    return _with_output_options(parser)


def _print_report(result, args, files):
    """Print a replay's or a benchmark's report, and where its files went."""
    print(result.report())
    print("\nwrote " + ", ".join(str(path) for path in files))


def _replay(args):
    from .replay import run_replay

    return run_replay(random_state=args.seed, progress=not args.quiet)


def _build_arithmetic_parser():
    """The argument parser of ``fitfn arithmetic``."""
    parser = _Parser(
        prog="fitfn arithmetic",
        description=(
            "Run the neural-arithmetic benchmark (Madsen & Johansen, ICLR 2020) on square "
            "units trained with L-BFGS (for a/b, two log units under an exponential unit): "
            "100 inputs drawn from U[1,2], y an operation on the "
            "sums of two overlapping windows of 25 of them, and success when the MSE on "
            "U[2,6] beats the paper's threshold. Prints the success rate with its Wilson "
            "95% interval beside the published units' rates, and writes arithmetic.csv, "
            "arithmetic.json and arithmetic.png. About a minute for the default seeds."
        ),
    )
    parser.add_argument(
        "--operation",
        choices=list(ARITHMETIC_OPERATIONS),
        default="mul",
        help="y = a+b, a-b, a·b, a² or a/b (default: mul)",
    )
    parser.add_argument(
        "--seeds", type=_positive, default=10, help="seeds to run, from 0 (default: 10)"
    )
    parser.add_argument(
        "--primer",
        action="store_true",
        help="the Primer benchmark's 2-input task over its nine training and "
        "extrapolation ranges instead (each seed on every range)",
    )
    parser.add_argument(
        "--hidden",
        type=_positive,
        default=2,
        help="square units in the hidden layer, for the operations other than div (default: 2)",
    )
    return _with_output_options(parser)


def _arithmetic_files(result):
    """The files of the benchmark: name -> function that writes it to a path."""
    from .figures import plot_arithmetic

    return {
        "arithmetic.csv": lambda path: result.table.to_csv(path, index=False),
        "arithmetic.json": lambda path: Path(path).write_text(result.to_json()),
        "arithmetic.png": lambda path: plot_arithmetic(result, path),
    }


def _check_arithmetic(parser, args):
    """The benchmark's settings, before any work: a usage problem ends in
    ``parser.error``."""
    from .arithmetic import check_arithmetic

    try:
        check_arithmetic(args.operation, args.seeds, primer=args.primer, hidden=args.hidden)
    except ValueError as error:
        parser.error(str(error))


def _arithmetic(args):
    from .arithmetic import run_arithmetic

    return run_arithmetic(
        args.operation, args.seeds, primer=args.primer, hidden=args.hidden, progress=not args.quiet
    )


class _Command(typing.NamedTuple):
    """What a command is made of: its parser, a check of its options before
    any work (or None), the work, its files and its report."""

    parser: typing.Callable
    check: typing.Callable | None
    work: typing.Callable
    files_of: typing.Callable
    report: typing.Callable


_GRID_SEARCH = _Command(_build_parser, _check_grid_search, _grid_search, _experiment_files, _report)

#: The commands other than the grid search, by the name that starts them.
_COMMANDS = {
    "replay": _Command(_build_replay_parser, None, _replay, _replay_files, _print_report),
    "arithmetic": _Command(
        _build_arithmetic_parser,
        _check_arithmetic,
        _arithmetic,
        _arithmetic_files,
        _print_report,
    ),
}


def run():
    """The ``fitfn`` command: exit with :func:`main`'s status.

    After SIGINT or SIGTERM the process ends at once, once its one line is
    out: the interpreter's normal teardown (TensorFlow's included, and
    parallel fits that nobody waits for any more) takes over a second.
    """
    status = main(own_process=True)
    if status >= 128:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)
