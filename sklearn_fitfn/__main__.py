"""``python -m sklearn_fitfn``: the same as the ``fitfn`` command."""

from ._commands.cli import run

run()
