"""The experiment's settings and their one check, apart from the experiment
itself so that the ``fitfn`` command checks its options at once, before
pandas, scikit-learn's searches or TensorFlow are imported;
:mod:`sklearn_fitfn.experiments` offers both classes as its own. It needs
nothing heavier than the table of activations."""

import dataclasses
import os

from .._network.activations import canonical_activation

#: Bytes a run holds per row at once, about: two inputs and y in float64, for
#: the training, held-out and extrapolation rows, each copied by the scalers
#: and the folds up to four times.
BYTES_PER_ROW = 8 * 3 * 3 * 4


def _physical_memory():
    """This machine's memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _as_python(name, value):
    return f"{name}={value!r}"


class InvalidExperiment(ValueError):
    """A setting of the experiment that cannot be run, and why.

    The message names the settings as ``name=value``; :meth:`spelled` words
    it as another caller names them (the ``fitfn`` command: ``--cv 1``).
    """

    def __init__(self, template, **settings):
        self.template, self.settings = template, settings
        super().__init__(self.spelled(_as_python))

    def spelled(self, spell):
        """The message with each setting written as ``spell(name, value)``."""
        return self.template.format(**{k: spell(k, v) for k, v in self.settings.items()})


@dataclasses.dataclass(frozen=True)
class ExperimentSettings:
    """What :func:`~sklearn_fitfn.experiments.run_experiment` searches, on which
    data and where; checked when made, so that a bad setting fails before any fit.

    The fields are ``run_experiment``'s keyword arguments, with its defaults
    (the canonical squares workload and the demo grid).

    Parameters
    ----------
    n_samples : int, default=1000
        Rows of training data (and of test data); at least 2 per fold.
    low, high : float, default=1, 1000
        Range of the integer inputs.
    cv : int, default=3
        Number of cross-validation folds (shuffled, seeded).
    max_iter : int, default=500
        Epochs per fit (iterations with ``solver="lbfgs"``).
    activations : sequence of str, default=("identity", "relu")
    architectures : sequence of tuple of int, default=((16,), (64, 64))
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Solver of every candidate. With ``"adam"``, the canonical model.
    alpha, tol : float, default=1e-4
        L2 penalty and tolerance of every candidate (``tol`` only matters
        for ``"lbfgs"``: Adam runs all ``max_iter`` epochs here). Square
        units with ``"lbfgs"`` fit squares and products exactly with the
        defaults: they start from the least-squares quadratic.
    extrapolate : (float, float), optional
        A second input range, e.g. ``(1001, 2000)``. Every candidate is
        then refitted on all training data and scored inside the training
        range and on ``n_samples`` rows from this range (seed
        ``random_state + 2``).
    random_state : int, default=0
    n_jobs : int or None, default=None
        Parallel fits on this machine, as in GridSearchCV. They run in
        threads, unless a ``joblib.parallel_config(backend=...)`` around
        the call says otherwise.
    scheduler : str or distributed.Client, optional
        Run the fits on a Dask cluster instead: ``"local"`` (a
        ``LocalCluster`` started for the run and shut down after), a
        scheduler address such as ``"tcp://host:8786"``, or a ``Client``.
        Needs the ``dask`` extra; ``n_jobs`` is then ignored. See
        :func:`sklearn_fitfn.distributed.dask_backend`.
    n_workers : int, optional
        Worker processes of ``scheduler="local"``.
    n_samples_shown : int, default=8
        Rows in the Expected / Predicted table.

    Raises
    ------
    InvalidExperiment
        Naming the first setting that cannot be run.
    """

    n_samples: int = 1000
    low: float = 1
    high: float = 1000
    cv: int = 3
    max_iter: int = 500
    activations: tuple = ("identity", "relu")
    architectures: tuple = ((16,), (64, 64))
    solver: str = "adam"
    alpha: float = 1e-4
    tol: float = 1e-4
    extrapolate: tuple | None = None
    random_state: int = 0
    n_jobs: int | None = None
    scheduler: object = None
    n_workers: int | None = None
    n_samples_shown: int = 8

    def __post_init__(self):
        plain = {
            "activations": tuple(self.activations),
            "architectures": tuple(tuple(a) for a in self.architectures),
            "extrapolate": None if self.extrapolate is None else tuple(self.extrapolate),
        }
        for name, value in plain.items():
            object.__setattr__(self, name, value)
        self._check()

    def _check(self):
        cv, n_samples = self.cv, self.n_samples
        if cv < 2:
            raise InvalidExperiment("{cv}: cross-validation needs at least 2 folds", cv=cv)
        if n_samples < 2 * cv:
            # A held-out fold of one row has no R², and scikit-learn warns for each.
            raise InvalidExperiment(
                "{n_samples} leaves fewer than 2 held-out rows in each of the {cv} folds; "
                f"use at least {2 * cv}",
                n_samples=n_samples,
                cv=cv,
            )
        needed, available = n_samples * BYTES_PER_ROW, _physical_memory()
        if available is not None and needed > available:
            raise InvalidExperiment(
                "{n_samples} rows would take about "
                f"{needed / 1e9:,.0f} GB for the data alone, more than this machine's "
                f"{available / 1e9:,.0f} GB of memory; use fewer rows",
                n_samples=n_samples,
            )
        if not self.low < self.high:
            raise InvalidExperiment(
                "{low} must be smaller than {high}", low=self.low, high=self.high
            )
        if not self.activations or not self.architectures:
            raise InvalidExperiment("give at least one activation and one architecture")
        for activation in self.activations:
            try:
                canonical_activation(activation)
            except ValueError as error:
                raise InvalidExperiment(str(error)) from None
        if self.extrapolate is not None and not self.extrapolate[0] < self.extrapolate[1]:
            raise InvalidExperiment("{extrapolate} needs low < high", extrapolate=self.extrapolate)
        if self.n_jobs == 0:
            raise InvalidExperiment(
                "{n_jobs}: give a positive number of fits at once, or -1 for one per core",
                n_jobs=self.n_jobs,
            )
        if self.n_workers is not None and self.scheduler != "local":
            raise InvalidExperiment(
                "{n_workers} applies to a cluster started for the run only ({scheduler})",
                n_workers=self.n_workers,
                scheduler="local",
            )

    def config(self):
        """The settings as JSON values, for :attr:`ExperimentResult.config`."""
        config = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del config["n_samples_shown"]
        config["activations"] = list(self.activations)
        config["architectures"] = [list(a) for a in self.architectures]
        if self.extrapolate is not None:
            config["extrapolate"] = list(self.extrapolate)
        if self.scheduler is not None:
            config["scheduler"] = str(self.scheduler)
        return config
