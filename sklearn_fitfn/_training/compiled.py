"""Compiled functions per network shape, a bounded number of them kept.

A ``tf.function`` keeps every graph it ever traced, and each network shape
(layer widths, activations, dtype, solver) needs its own, and each takes
megabytes that are never freed (docs/performance.md, "Memory over many
network shapes"), so a search over a thousand architectures would grow
without bound. Here each
shape gets its own ``tf.function``, and only the most recently used
:data:`KEPT_SHAPES` are kept; a shape dropped and met again is traced again.

A dropped compiled function is not freed when it is dropped: its graphs
are full of reference cycles, which only Python's full garbage collection
frees, and with TensorFlow's hundreds of thousands of objects alive that
runs only every few dozen fits. Until then each dropped function's
megabytes stay, so after every :data:`DROPS_BEFORE_COLLECTING` drops the
cycles are collected at once (0.19 s measured with TensorFlow loaded, paid
only by a search that keeps meeting new shapes; docs/performance.md).

The variables a fit creates declare no sizes (:func:`size_free_variable`),
for the same reason: TensorFlow keeps, for the life of the process, the
kernel that created a variable of each declared shape.
"""

import collections
import functools
import gc
import threading

from .._quiet.tensorflow import tf

#: Network shapes whose compiled functions stay in memory: enough for every
#: candidate of a typical grid, few enough for a flat memory footprint.
KEPT_SHAPES = 8

#: Compiled functions dropped (by every :class:`BoundedCompiled` together)
#: between two garbage collections that free them.
DROPS_BEFORE_COLLECTING = 4

_drops = 0
_drops_lock = threading.Lock()


def _count_drops(dropped):
    """Count ``dropped`` compiled functions, and collect the garbage once
    :data:`DROPS_BEFORE_COLLECTING` have been dropped since the last time."""
    global _drops
    if not dropped:
        return
    with _drops_lock:
        _drops += dropped
        if _drops < DROPS_BEFORE_COLLECTING:
            return
        _drops = 0
    gc.collect()


class BoundedCompiled:
    """A ``tf.function`` of ``python_function`` per set of static arguments.

    Parameters
    ----------
    python_function : callable
        Traced with its keyword-only static arguments bound.
    size : int, optional
        Compiled functions kept, the most recently used first; defaults to
        :data:`KEPT_SHAPES` (read at each call, so it can be changed).
    """

    def __init__(self, python_function, size=None):
        self._python_function = python_function
        self._size = size
        self._functions = collections.OrderedDict()
        self._lock = threading.Lock()  # grid searches fit in parallel threads
        functools.update_wrapper(self, python_function)

    def __call__(self, **static):
        """The compiled function for these static arguments."""
        key = tuple(sorted(static.items()))
        with self._lock:
            function = self._functions.pop(key, None)
            if function is None:
                bound = functools.partial(self._python_function, **static)
                function = tf.function(bound, autograph=False)
            self._functions[key] = function
            size = KEPT_SHAPES if self._size is None else self._size
            dropped = max(0, len(self._functions) - size)
            for _ in range(dropped):
                self._functions.popitem(last=False)
        _count_drops(dropped)
        return function

    def forget(self, function):
        """Drop ``function``: a trace that failed must not serve a later fit."""
        with self._lock:
            for key in [k for k, kept in self._functions.items() if kept is function]:
                del self._functions[key]

    def tracing_count(self):
        """Traces made by the compiled functions kept now."""
        with self._lock:
            return sum(f.experimental_get_tracing_count() for f in self._functions.values())

    def __len__(self):
        return len(self._functions)


def size_free_variable(value, dtype):
    """A ``tf.Variable`` holding ``value`` whose declared shape leaves every size open.

    Creating a variable runs an eager operation whose kernel TensorFlow caches
    by the declared shape and never releases, so a search over many
    architectures would grow without bound (docs/performance.md). With the
    sizes left open, one cached kernel per rank serves every network. The
    compiled functions are traced per network shape anyway.

    Parameters
    ----------
    value : array-like
        The initial value.
    dtype : tf.DType

    Returns
    -------
    tf.Variable
    """
    value = tf.convert_to_tensor(value, dtype)
    return tf.Variable(value, shape=tf.TensorShape([None] * value.shape.rank))
