"""The original report, replayed step by step, for use from Python: why the
network could not learn x², why relu "did not help", and what does.
"""

from . import _moved_names
from ._commands.replay import (
    ReplayResult,
    ReplayStep,
    first_layer_bends,
    report_network,
    run_replay,
)

__all__ = ["ReplayResult", "ReplayStep", "first_layer_bends", "report_network", "run_replay"]

__getattr__ = _moved_names(
    __name__,
    {
        "straight_pieces": "it was a helper of the replay's figure",
        "replay_markdown": "it was a helper of the documentation (use ReplayResult.table)",
    },
)
