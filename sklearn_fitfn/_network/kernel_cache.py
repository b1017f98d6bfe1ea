"""TensorFlow's eager kernel cache, kept from growing with every new network shape.

Creating a ``tf.Variable`` runs an eager operation whose kernel TensorFlow
caches by the variable's declared shape and never releases (about 0.1 MB a
shape, measured in docs/performance.md). The compiled engine's variables
declare no sizes (:func:`sklearn_fitfn._training.compiled.size_free_variable`),
but a Keras model's layers declare theirs, and every fit builds one: a
search over architectures would grow by the kernels of every shape it met.

:func:`note_variable_shapes` counts the shapes the Keras models built here
have declared; after :data:`NEW_SHAPES_BEFORE_CLEARING` new ones it clears
the cache, as ``keras.backend.clear_session()`` does, but without resetting
anything else of Keras. The cache is a cache only: a kernel cleared is
created again, in microseconds, the next time an operation needs it.
"""

import threading

#: New variable shapes declared before the kernel cache is cleared.
NEW_SHAPES_BEFORE_CLEARING = 64

_seen = set()
_lock = threading.Lock()


def _clear_kernel_cache():
    from tensorflow.python.eager import context  # the call Keras's clear_session makes

    context.context().clear_kernel_cache()


def note_variable_shapes(shapes, dtype):
    """Count the variable ``shapes`` of ``dtype`` a new model declared, and
    clear TensorFlow's eager kernel cache once enough new ones have come.

    Parameters
    ----------
    shapes : iterable of tuple of int
    dtype : str

    Returns
    -------
    bool
        Whether the cache was cleared.
    """
    with _lock:
        _seen.update((tuple(shape), dtype) for shape in shapes)
        if len(_seen) < NEW_SHAPES_BEFORE_CLEARING:
            return False
        _seen.clear()
    _clear_kernel_cache()
    return True
