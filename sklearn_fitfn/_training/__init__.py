"""Training: the three back-ends behind one call, and the rules they share.

- :mod:`.settings`: what a back-end is given (the fit's settings, its data,
  where it starts) and what it gives back;
- :mod:`.record`: the training record and MLPRegressor's rules (stopping,
  warnings, the validation score, non-finite checks);
- :mod:`.engine`: the compiled mini-batch engine (Adam and SGD);
- :mod:`.xla`: XLA's padded shapes and compiled loops, and the cost model
  behind ``jit_compile="auto"``;
- :mod:`.lbfgs`: full-batch L-BFGS;
- :mod:`.keras_fit`: Keras's own ``fit``, through SciKeras;
- :mod:`.keras_pool`: compiled Keras models lent from one fit to the next;
- :mod:`.interrupt`: Ctrl-C during a fit;
- :mod:`.optimizers`: Adam and SGD, step for step as MLPRegressor's, with
  its learning-rate schedules;
- :mod:`.layout`: the network's weights as one flat vector and back;
- :mod:`.compiled`: traced programs kept per shape, a bounded number of them;
- :mod:`.executor`: where a step runs (inline, or TensorFlow's executor);
- :mod:`.quadratic_start`: square units' start from the least-squares
  quadratic;
- :mod:`.rational_start`: log and exponential units' start from the
  least-squares ratio of two linear forms;
- :mod:`.columns`: the starts' column means and spreads;
- :mod:`.blas`: one BLAS thread for the starts' small dense algebra;
- :mod:`.stacked`: a search's members of one shape trained as one program,
  their results kept for their own fits;
- :mod:`.stacked_numpy`: the stacked epochs on NumPy and OpenBLAS, for
  scikit-learn's activations and the squared error;
- :mod:`.rounds`: a search's round of members, grouped as they come, the
  same fit trained once, a bounded number of members' rows held at once;
- :mod:`.fitted_state`: the fitted network as plain data, validated when
  loaded, for pickles and skops files.

Every back-end is called as ``backend(spec, settings, data, start)`` and
returns a :class:`.settings.Trained`; none reads the estimator. It imports
:mod:`sklearn_fitfn._network` and :mod:`sklearn_fitfn._quiet`, and nothing
above them.
"""


def train(spec, settings, data, start):
    """Train with the back-end the settings choose.

    Parameters
    ----------
    spec : NetworkSpec
    settings : TrainingSettings
    data : TrainingData
    start : TrainingStart

    Returns
    -------
    Trained
    """
    # Imported here, so that the settings (and the command's choices) need no TensorFlow.
    from .._quiet.tensorflow import without_retracing_notices

    if settings.keras is not None:
        from .keras_fit import train_keras as backend
    elif settings.solver == "lbfgs":
        from .lbfgs import train_lbfgs as backend
    else:
        from .engine import train_stochastic as backend
    with without_retracing_notices():
        return backend(spec, settings, data, start)
