"""Grid and randomized searches that train their candidates and folds together.

:class:`GridSearchCV` and :class:`RandomizedSearchCV` are scikit-learn's,
with one step added in front of each round of candidates: every (candidate,
fold) whose network is an :class:`~sklearn_fitfn.MLPFunctionRegressor` that
can share a program with others of its shape (the same layer sizes, dtype
and batch size, Adam or SGD on the compiled engine, and the same
activations unless they are all scikit-learn's, which each member applies
on its own) is trained with them as one stacked network. Then
scikit-learn's own loop runs as always: it clones, fits, scores and
refits, and each member's ``fit``
takes the training its group already did instead of training again. So
``cv_results_``, ``best_params_``, ``refit``, scoring, ``error_score`` and
metadata routing are scikit-learn's code, and each member's fitted weights,
``n_iter_``, ``loss_curve_``, warnings and errors are its own.

Why this design: the members' rows are what scikit-learn's loop would give
them, because the earlier steps of a Pipeline and a
TransformedTargetRegressor's transformer are fitted per fold exactly as that
loop fits them, around a stand-in that records what the network receives,
with the fit parameters indexed as that loop indexes them. Each round's
splits are drawn once, and scikit-learn's loop is handed the same splits, so
a splitter is split as often as in scikit-learn's own search. What was
trained waits under a digest of everything the member's training is given
(its network, settings, rows, starting weights and random state): members
with the same digest (candidates that name one setting two ways) train once
and each takes a copy, so they tie as they would alone. Members are
prepared one after another and each group trains as soon as its chunk is
full, so a search holds a bounded number of members' rows at once
(:mod:`sklearn_fitfn._training.rounds`). A member whose training could
differ from what its own fit would do is left to train alone, so the
results never depend on the stacking:

- Keras's fit (Keras optimizers, losses or callbacks), L-BFGS, a sparse X,
  ``jit_compile=True``, a warm start;
- a ``random_state`` that is not an integer (the draws would differ);
- a shape no other member of the round shares;
- fit parameters other than ``groups`` and sample weights.

Where the training runs: with joblib's backends of this machine (processes
or threads, ``n_jobs``), each group trains here, one after another, using
every core; then scikit-learn's loop runs in threads, taking what was
trained. With a backend of other machines (Dask's), the training goes there
as tasks: one per group, and one per other member, which trains alone
there as its own fit would; scikit-learn's loop then runs here, in threads.
That needs the estimator's network to train from an integer
``random_state`` without Keras's fit (whose compiled model stays where it
was trained); otherwise the loop sends each whole fit to the cluster, as
scikit-learn's search does. A candidate that switches to Keras's fit
trains here, in the loop.
"""

import contextlib
import functools
import types
import warnings

import joblib
import numpy as np
from sklearn import model_selection
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils._metadata_requests import _routing_enabled
from sklearn.utils.validation import _check_method_params

__all__ = ["GridSearchCV", "RandomizedSearchCV", "cross_validate", "cross_val_score"]


class _Recorder(BaseEstimator):
    """Stands where the network stands, and records what it is given."""

    def fit(self, X, y, sample_weight=None):
        self.received_ = (X, y, sample_weight)
        return self

    def predict(self, X):  # never called: a TransformedTargetRegressor asks for one
        raise NotImplementedError


def _network_path(estimator):
    """The wrappers from ``estimator`` to the MLPFunctionRegressor it fits, as
    a list of ``"pipeline"`` (its last step) and ``"target"`` (a
    TransformedTargetRegressor's regressor), or None when there is none."""
    from ._regressor import MLPFunctionRegressor

    if isinstance(estimator, MLPFunctionRegressor):
        return []
    if isinstance(estimator, Pipeline):
        inner = _network_path(estimator.steps[-1][1])
        return None if inner is None else ["pipeline", *inner]
    if isinstance(estimator, TransformedTargetRegressor) and estimator.regressor is not None:
        inner = _network_path(estimator.regressor)
        return None if inner is None else ["target", *inner]
    return None


def _with_recorder(estimator, path):
    """``estimator`` with the network at ``path`` replaced by a recorder;
    returns (the new estimator, the network)."""
    if not path:
        return _Recorder(), estimator
    kind, *rest = path
    if kind == "pipeline":
        name, inner = estimator.steps[-1]
        replaced, network = _with_recorder(inner, rest)
        estimator.steps[-1] = (name, replaced)
        return estimator, network
    replaced, network = _with_recorder(estimator.regressor, rest)
    estimator.regressor = replaced
    return estimator, network


def _recorder_of(fitted, path):
    """The fitted recorder inside ``fitted``, following ``path``."""
    for kind in path:
        fitted = fitted.steps[-1][1] if kind == "pipeline" else fitted.regressor_
    return fitted


def _member(search, candidate, X, y, train, fit_params):
    """The training member of one (candidate, fold), or None and why it trains alone.

    Its rows and fit parameters are those scikit-learn's loop hands the fit
    (``_fit_and_score`` indexes them the same way: a sample weight of another
    length, or a scalar, is passed on as it is, for the fit to accept or refuse)."""
    estimator = clone(search.estimator).set_params(**clone(candidate, safe=False))
    path = _network_path(estimator)
    if path is None:
        return None, "no MLPFunctionRegressor to train"
    outer, network = _with_recorder(estimator, path)
    if not isinstance(network.random_state, (int, np.integer)):
        return None, "a random_state that is not an integer"
    try:
        params = _check_method_params(X, params=fit_params, indices=train)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the member's own fit gives them again
            fitted = outer.fit(_safe_indexing(X, train), _safe_indexing(y, train), **params)
            Xt, yt, sample_weight = _recorder_of(fitted, path).received_
            return network._training_member(Xt, yt, sample_weight), None
    except Exception:  # the member's own fit meets it again, and error_score decides
        return None, "an error its own fit will raise"


class _Splits:
    """A round's splits, drawn once: scikit-learn's loop and the training in
    front of it both read these, so a splitter is split as often as
    scikit-learn's own search splits it (a shuffling splitter seeded with a
    RandomState draws anew at each split)."""

    def __init__(self, splits):
        self.splits = splits

    def split(self, X=None, y=None, groups=None):
        return iter(self.splits)

    def get_n_splits(self, X=None, y=None, groups=None):
        return len(self.splits)


def _only_sample_weights(fit_params):
    """Whether the fit parameters are sample weights only: the network's
    (``sample_weight``) or a pipeline step's (``step__sample_weight``)."""
    return all(name.rpartition("__")[2] == "sample_weight" for name in fit_params)


def _group_report(specs, seconds):
    """The line ``verbose`` prints for each group trained together, naming
    every activation its members apply."""
    spec = specs[0]
    activations = "/".join(dict.fromkeys(a for s in specs for a in s.activations)) or "linear"
    return (
        f"Trained {len(specs)} fits of hidden_layer_sizes={spec.hidden_layer_sizes} "
        f"({activations}, {spec.dtype}) together in {seconds:.1f}s"
    )


def _alone_report(alone, n_fits):
    """The line ``verbose`` prints for the fits that train one at a time, by reason."""
    n_alone = sum(alone.values())
    line = f"{n_alone} of {n_fits} fits train one at a time"
    if n_alone:
        line += ": " + ", ".join(f"{count} for {why}" for why, count in alone.most_common())
    return line


#: joblib's backends whose workers are this machine's: the groups train here,
#: and scikit-learn's loop then runs in threads, sharing what was trained.
_LOCAL_BACKENDS = ("LokyBackend", "MultiprocessingBackend", "ThreadingBackend", "SequentialBackend")


def _trains_without_keras_fit(network):
    """Whether a network's own parameters train it on the compiled engine or
    with L-BFGS, from a seed, as members sent to a cluster must."""
    from ._training.settings import uses_keras_fit

    return isinstance(network.random_state, (int, np.integer)) and not uses_keras_fit(
        network.solver, network.loss, network.callbacks
    )


class _TrainsTogether:
    """What the two searches add to scikit-learn's: the members of each round
    trained together before scikit-learn's loop fits them."""

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters, training members together.

        Parameters are scikit-learn's: see
        :meth:`sklearn.model_selection.GridSearchCV.fit`.
        """
        backend, _ = joblib.parallel.get_active_backend()
        local = type(backend).__name__ in _LOCAL_BACKENDS
        remote = None if local or not self._sends_training(params) else backend
        self._together_data = self._as_scikit_learn_sees(X, y, params) + (remote,)
        # Per candidate, the mean seconds of its fits' training done before
        # them, which their fit times (scikit-learn's) do not count.
        self._training_seconds = []
        try:
            context = contextlib.nullcontext()
            if local or remote is not None:
                # Once trained, what is left of each fit is light: threads share
                # what was trained, where other workers would train it again.
                context = joblib.parallel_config(backend="threading")
            with context:
                return super().fit(X, y, **params)
        finally:
            del self._together_data

    def _as_scikit_learn_sees(self, X, y, params):
        """X, y, the fit parameters and the splitter's parameters, as
        scikit-learn's ``fit`` prepares and routes them; None for the
        parameters where that fails (scikit-learn's ``fit`` then raises)."""
        X, y = indexable(X, y)
        try:
            routed = self._get_routed_params_for_fit(_check_method_params(X, params=params))
        except Exception:
            return X, y, None, None
        return X, y, dict(routed.estimator.fit), dict(routed.splitter.split)

    def _sends_training(self, params):
        """Whether, under a joblib backend of other machines (Dask), this
        search sends its members' training there as tasks of its own: when
        the estimator's network trains from a seed without Keras's fit.
        Otherwise scikit-learn's loop sends each whole fit, as it always has."""
        path = _network_path(self.estimator)
        if path is None or not _only_sample_weights(set(params) - {"groups"}):
            return False
        return _trains_without_keras_fit(_with_recorder(clone(self.estimator), path)[1])

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        # callback_ctx: scikit-learn 1.9's callbacks, passed on where given.
        context = {} if callback_ctx is None else {"callback_ctx": callback_ctx}
        super()._run_search(self._evaluated_together(evaluate_candidates), **context)

    def _evaluated_together(self, evaluate_candidates):
        """``evaluate_candidates``, with each round's members trained together first."""

        def evaluate_together(candidate_params, cv=None, more_results=None, **context):
            candidate_params = list(candidate_params)
            splits = self._split_once(cv)
            if splits is None:  # scikit-learn's loop splits, and raises what it raises
                self._training_seconds.extend([0.0] * len(candidate_params))
                return evaluate_candidates(candidate_params, cv, more_results, **context)
            kept, seconds, lines = self._train_together(candidate_params, splits.splits)
            self._training_seconds.extend(seconds)
            # The lines print after scikit-learn's "Fitting ..." header: when
            # the first fit takes its training, or after the fits otherwise.
            _stacked().announce(kept, lines)
            try:
                return evaluate_candidates(candidate_params, splits, more_results, **context)
            finally:
                _stacked().forget(kept)
                if not kept:
                    for line in lines:
                        print(line)

        return evaluate_together

    def _split_once(self, cv):
        """The round's splits, drawn as scikit-learn's loop draws them (from
        ``cv``, or the search's checked ``cv``), or None where that cannot be
        done here."""
        X, y, fit_params, split_params = self._together_data[:4]
        if split_params is None:
            return None
        cv = cv or getattr(self, "_checked_cv_orig", None)
        if cv is None:
            cv = model_selection.check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        try:
            return _Splits(list(cv.split(X, y, **split_params)))
        except Exception:
            return None

    def _train_together(self, candidate_params, splits):
        """Train the members of these candidates that can share a program
        (and, under a cluster's backend, the others but Keras's fit, each as
        a task of its own) on ``splits``; return the keys their results wait
        under, each candidate's mean seconds of that training per fit, and
        the lines ``verbose`` prints."""
        from ._training.rounds import TrainingRound

        X, y, fit_params, _, remote = self._together_data
        n_fits = len(candidate_params) * len(splits)
        if not n_fits:
            return [], [0.0] * len(candidate_params), []
        lines = []

        def report(specs, seconds):
            lines.append(_group_report(specs, seconds))

        training = TrainingRound(backend=remote, n_jobs=self.n_jobs, report=report)
        other_params = not _only_sample_weights(fit_params)
        for candidate in candidate_params:
            for train, _ in splits:
                if other_params:
                    training.add(None, "fit parameters other than sample_weight")
                else:
                    training.add(*_member(self, candidate, X, y, train, fit_params))
        training.finish()
        lines.append(_alone_report(training.alone, n_fits))
        per_candidate = np.reshape(training.seconds, (len(candidate_params), -1)).mean(axis=1)
        return training.keys, per_candidate.tolist(), lines if self.verbose > 0 else []


def _stacked():
    from ._training import stacked  # TensorFlow, only once a search runs

    return stacked


class GridSearchCV(_TrainsTogether, model_selection.GridSearchCV):
    """scikit-learn's GridSearchCV, with the candidates and folds whose
    networks share a shape trained together.

    Every parameter, attribute and method is scikit-learn's
    (:class:`sklearn.model_selection.GridSearchCV`); see this module's
    description for which members train together.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_fitfn import MLPFunctionRegressor
    >>> from sklearn_fitfn.model_selection import GridSearchCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     MLPFunctionRegressor(hidden_layer_sizes=(16,), max_iter=20, random_state=0))
    >>> search = GridSearchCV(
    ...     model, {"mlpfunctionregressor__alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)
    >>> sorted(search.best_params_)
    ['mlpfunctionregressor__alpha']
    """


class RandomizedSearchCV(_TrainsTogether, model_selection.RandomizedSearchCV):
    """scikit-learn's RandomizedSearchCV, with the candidates and folds whose
    networks share a shape trained together.

    Every parameter, attribute and method is scikit-learn's
    (:class:`sklearn.model_selection.RandomizedSearchCV`); see this module's
    description for which members train together.
    """


@contextlib.contextmanager
def _folds_trained_together(estimator, X, y, groups, cv, params):
    """The folds of a cross-validation whose networks can share a program,
    trained together; yields the splits, drawn once, for scikit-learn's
    function to take (or ``cv`` as it was, where nothing trains ahead:
    metadata routing on, a joblib backend of other machines, fit
    parameters other than sample weights, or a splitter that fails)."""
    backend, _ = joblib.parallel.get_active_backend()
    params = {} if params is None else params
    if (
        _routing_enabled()
        or type(backend).__name__ not in _LOCAL_BACKENDS
        or not _only_sample_weights(params)
    ):
        yield cv
        return
    X, y = indexable(X, y)
    try:
        checked = model_selection.check_cv(cv, y, classifier=is_classifier(estimator))
        splits = _Splits(list(checked.split(X, y, groups)))
        fit_params = _check_method_params(X, params=params)
    except Exception:  # scikit-learn's function meets it again, and raises it
        yield cv
        return
    from ._training.rounds import TrainingRound

    training = TrainingRound()
    holder = types.SimpleNamespace(estimator=estimator)
    for train, _ in splits.splits:
        training.add(*_member(holder, {}, X, y, train, fit_params))
    training.finish()
    try:
        # What is left of each fit is light: threads take what was trained
        # here, where process workers would train it again.
        with joblib.parallel_config(backend="threading"):
            yield splits
    finally:
        _stacked().forget(training.keys)


def _folds_together(function, doc):
    """scikit-learn's ``function`` (cross_validate, cross_val_score) with the
    folds trained together first: the same signature and results."""

    @functools.wraps(function)
    def with_folds_together(estimator, X, y=None, **kwargs):
        groups, cv, params = (kwargs.get(name) for name in ("groups", "cv", "params"))
        with _folds_trained_together(estimator, X, y, groups, cv, params) as splits:
            return function(estimator, X, y, **{**kwargs, "cv": splits})

    with_folds_together.__doc__ = doc
    with_folds_together.__module__ = __name__
    return with_folds_together


cross_validate = _folds_together(
    model_selection.cross_validate,
    """scikit-learn's ``cross_validate``, with the folds whose networks share
    a program trained together first.

    Every parameter and every key of the result is scikit-learn's
    (:func:`sklearn.model_selection.cross_validate`). The folds are split
    once; where the estimator's network can train on the compiled engine from
    an integer ``random_state`` (alone, or at the end of a Pipeline or
    TransformedTargetRegressor), its folds train as one stacked network, as a
    search's members do (this module's description), and each fold's fit
    takes what was trained. The results are those of scikit-learn's function
    on the same estimator.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_fitfn import MLPFunctionRegressor
    >>> from sklearn_fitfn.model_selection import cross_validate
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     MLPFunctionRegressor(hidden_layer_sizes=(16,), max_iter=20, random_state=0))
    >>> sorted(cross_validate(model, X, y, cv=5))
    ['fit_time', 'score_time', 'test_score']
    """,
)

cross_val_score = _folds_together(
    model_selection.cross_val_score,
    """scikit-learn's ``cross_val_score``, with the folds whose networks
    share a program trained together first (see :func:`cross_validate`).

    Every parameter is scikit-learn's
    (:func:`sklearn.model_selection.cross_val_score`); the scores are those
    of scikit-learn's function on the same estimator.
    """,
)
