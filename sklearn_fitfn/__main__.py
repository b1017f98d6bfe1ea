"""``python -m sklearn_fitfn``: the same as the ``fitfn`` command."""

from .cli import run

run()
