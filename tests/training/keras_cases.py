"""What the Keras-fit tests share: a small network's parameters, a callback
that stops at its third epoch, and optimizer instances made inside a test."""

import keras

SMALL = dict(hidden_layer_sizes=(16, 8), max_iter=10, batch_size=50, random_state=0)


class EpochCounter(keras.callbacks.Callback):
    """Stops training after its third epoch, counted from its creation."""

    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1
        if self.epochs >= 3:
            self.model.stop_training = True


class made_in_the_test:
    """An optimizer instance for a parametrized test, made inside the test.

    Making a Keras optimizer starts TensorFlow's runtime. One made while the
    tests are collected would start it in the collecting process, and the
    processes forked from that one (mutmut's workers) hang at their first fit.
    """

    def __init__(self, cls, **kwargs):
        self.cls, self.kwargs = cls, kwargs

    def __repr__(self):
        return f"{self.cls.__name__}-instance"


def made(value):
    """``value``, or the instance it stands for when it is a ``made_in_the_test``."""
    return value.cls(**value.kwargs) if isinstance(value, made_in_the_test) else value
