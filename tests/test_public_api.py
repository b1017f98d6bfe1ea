"""The public API is the library's: the estimator and ten modules, each name
documented in the API reference, and the command line's helpers private."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

import sklearn_fitfn

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference.rst"
PUBLIC_MODULES = [
    "datasets",
    "experiments",
    "formula",
    "arithmetic",
    "replay",
    "plotting",
    "distributed",
    "model_selection",
    "onnx",
    "sharing",
]


def _defined_public_names(module):
    """Functions and classes defined in ``module`` whose names are public."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    }


def test_the_api_reference_lists_every_public_name_and_only_those():
    listed = set(re.findall(r"^   (\w+)$", REFERENCE.read_text(), flags=re.MULTILINE))
    public = set(sklearn_fitfn.__all__) - {"__version__"}
    for name in PUBLIC_MODULES:
        module = importlib.import_module(f"sklearn_fitfn.{name}")
        assert _defined_public_names(module) <= set(module.__all__), name
        assert all(hasattr(module, entry) for entry in module.__all__), name
        public |= set(module.__all__)
    assert listed == public


@pytest.mark.parametrize(
    "module, name, place",
    [
        ("experiments", "format_rmse", "f'{value:,.1f}'"),
        ("experiments", "format_architecture", "str(tuple(hidden_layer_sizes))"),
        ("replay", "straight_pieces", "replay's figure"),
        ("replay", "replay_markdown", "ReplayResult.table"),
        ("arithmetic", "wilson_interval", "scipy.stats.binomtest"),
        ("plotting", "activation_colour", "figures"),
        ("distributed", "check_scheduler_address", "dask_backend checks the address"),
        ("distributed", "redo_lost_work", "running it again is safe"),
    ],
)
def test_a_name_that_is_no_longer_public_says_where_it_went(module, name, place):
    with pytest.raises(ImportError, match=f"{module}.{name} is no longer public") as moved:
        exec(f"from sklearn_fitfn.{module} import {name}", {})
    assert place in str(moved.value)
    assert not hasattr(importlib.import_module(f"sklearn_fitfn.{module}"), "no_such_name")


def test_the_command_line_offers_only_its_entry_points():
    from sklearn_fitfn._commands import cli

    assert _defined_public_names(cli) == {"main", "run"}
    assert "sklearn_fitfn._commands.cli" not in REFERENCE.read_text()
