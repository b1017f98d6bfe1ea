"""Figures of an experiment, of the replay and of the arithmetic benchmark:
fitted curves with residuals, and errors per candidate.

Each activation has one colour, the same in every figure and every run, and
every residual panel has its own scale, so that a small error stays visible
beside a large one. The figures are built with matplotlib's object API,
never through pyplot: importing this module or drawing a figure leaves the
user's backend as it was and keeps no figure open, and no TensorFlow is
imported.
"""

from . import _moved_names
from ._commands.figures import plot_arithmetic, plot_fits, plot_replay, plot_rmse

__all__ = ["plot_arithmetic", "plot_fits", "plot_replay", "plot_rmse"]

__getattr__ = _moved_names(
    __name__,
    {"activation_colour": ("a helper of the figures (their colours are fixed per activation)")},
)
