"""scikit-learn's own tests of its searches pass with this package's classes
in their place: the training in front of scikit-learn's loop changes nothing
a search of other estimators does (splits, scoring, refit, callbacks, errors)."""

import os
import subprocess
import sys
from pathlib import Path

import sklearn

TESTS = Path(sklearn.__file__).parent / "model_selection" / "tests" / "test_search.py"

SWAP = """
import sklearn_fitfn.model_selection as ours

swapped = set()


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if item.module.__name__.endswith("test_search"):
            item.module.GridSearchCV = ours.GridSearchCV
            item.module.RandomizedSearchCV = ours.RandomizedSearchCV
            swapped.add(item.module.__name__)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"searches swapped in {len(swapped)} module")
"""


def test_scikit_learns_search_tests_pass_with_these_searches(tmp_path):
    assert TESTS.exists(), f"scikit-learn's tests are not installed at {TESTS}"
    (tmp_path / "swap_searches.py").write_text(SWAP)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(TESTS), "-p", "swap_searches", "-q"]
        + ["-p", "no:cacheprovider", "-W", "ignore", "-o", "addopts=", "--rootdir", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "searches swapped in 1 module" in result.stdout
    assert " passed" in summary and "failed" not in summary, summary
