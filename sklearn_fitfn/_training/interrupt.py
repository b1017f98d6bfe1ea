"""Ctrl-C during training: stop at the next mini-batch and keep what was trained.

MLPRegressor catches ``KeyboardInterrupt`` in its training loop, warns
"Training interrupted by user." and keeps the partly trained network, which
notebook users rely on. The compiled engine runs many epochs in one call into
TensorFlow, and Python raises ``KeyboardInterrupt`` only when such a call
returns. So while training runs in the main thread under Python's default
SIGINT handler, :func:`catch_interruption` records a first Ctrl-C instead of
raising it, and tells the training loops, which stop at their next
mini-batch; a second Ctrl-C raises ``KeyboardInterrupt`` at once, as usual
(the estimator then keeps its state from before the fit). The previous
handler is back in place when training ends. Elsewhere (a worker thread, a
handler of the user's own, a process that ignores SIGINT, as one started with
``nohup`` or ``cmd &`` from a script does) nothing is changed: Ctrl-C does not
reach the training there, or the user's handler decides, or it stays ignored.
"""

import contextlib
import signal
import threading
import warnings

#: MLPRegressor's warning when Ctrl-C ends its training.
INTERRUPTED = "Training interrupted by user."


class Interruption:
    """Whether Ctrl-C ended training; ``active`` when it can happen at all."""

    def __init__(self, active):
        self.active = active
        self.requested = False
        self._listeners = []

    def on_request(self, listener):
        """Call ``listener()`` when Ctrl-C is pressed (from the main thread)."""
        self._listeners.append(listener)

    def _handle_sigint(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        for listener in self._listeners:
            listener()

    def warn(self):
        """Warn as MLPRegressor does, if training was interrupted."""
        if self.requested:
            warnings.warn(INTERRUPTED, UserWarning, stacklevel=3)


@contextlib.contextmanager
def catch_interruption():
    """Within the block, a first Ctrl-C sets ``requested`` instead of raising.

    Yields
    ------
    Interruption
        Inactive (never requested) outside the main thread or when SIGINT's
        handler is not Python's default one.
    """
    in_main_thread = threading.current_thread() is threading.main_thread()
    if not in_main_thread or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield Interruption(active=False)
        return
    interruption = Interruption(active=True)
    signal.signal(signal.SIGINT, interruption._handle_sigint)
    try:
        yield interruption
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
