"""The ``fitfn`` command and the work behind it.

- :mod:`.cli`: parsing, the run of each command, its files and exit status;
- :mod:`.settings`: one check of an experiment's settings, with no TensorFlow,
  so that a usage error is reported at once;
- :mod:`.experiments`: the grid search over activation × architecture, its
  summary and the best straight line's error;
- :mod:`.replay`: the original report, replayed step by step;
- :mod:`.arithmetic`: the neural-arithmetic benchmark on square units;
- :mod:`.cluster`: the experiment's work on a Dask cluster, lost work redone;
- :mod:`.figures`: the figures of an experiment, the replay and the benchmark;
- :mod:`.text`: numbers and networks written for people.

It may import the public library modules (:mod:`sklearn_fitfn.datasets`,
:mod:`sklearn_fitfn.formula`, :mod:`sklearn_fitfn.distributed`,
:mod:`sklearn_fitfn.model_selection`), the estimator and the private
packages; none of them imports it. The public
modules :mod:`sklearn_fitfn.experiments`, :mod:`sklearn_fitfn.replay`,
:mod:`sklearn_fitfn.arithmetic` and :mod:`sklearn_fitfn.plotting` offer its
results, figures and settings to Python users.
"""
