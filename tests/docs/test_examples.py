"""Every example runs as a user would run it, prints its figures, draws at
least one figure with data on it, and writes no file where it runs."""

import os
import re
import runpy
from pathlib import Path

import pytest
from matplotlib.figure import Figure

# The examples run at their full size: `python -m pytest -m slow`.
pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RAW_FLOAT = re.compile(r"(?<![\d.])[1-9]\d+\.\d{5,}")  # 624.485408; not R² 1.000000


def _drawn(figure):
    """Lines, markers and bars drawn on the figure's axes."""
    return sum(len(axes.lines) + len(axes.collections) + len(axes.patches) for axes in figure.axes)


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs_prints_draws_and_writes_nothing(script, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    printed = capsys.readouterr().out
    assert "RMSE" in printed
    # Figures as the command writes them (624.5, 0.999996), not raw floats (624.485408).
    assert not RAW_FLOAT.findall(printed), RAW_FLOAT.findall(printed)
    figures = [value for value in namespace.values() if isinstance(value, Figure)]
    assert figures and all(_drawn(figure) > 0 for figure in figures), script
    assert os.listdir(tmp_path) == []
