"""The README's speed table quotes docs/performance.md: every ratio in it is
one the performance page gives, so that the two never show two sets of
figures for the same fit without the page saying which run each is."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RATIO = re.compile(r"\b\d+\.\d+x\b")


def _readme_speed_table():
    section = (ROOT / "README.md").read_text().split("## Speed, and grids on a cluster\n")[1]
    table = section.split("\n\n| fit |", 1)[1].split("\n\n", 1)[0]
    return [line for line in table.splitlines() if line.startswith("|")]


def test_the_readmes_ratios_are_the_performance_pages():
    page = (ROOT / "docs" / "performance.md").read_text()
    rows = _readme_speed_table()
    assert len(rows) >= 4
    for row in rows:
        for ratio in RATIO.findall(row):
            assert ratio in page, f"README quotes {ratio}, which docs/performance.md lacks: {row}"


def test_a_second_run_of_the_same_fit_is_named_as_such():
    # The canonical fit appears in two sections, measured in two runs.
    page = (ROOT / "docs" / "performance.md").read_text()
    canonical = re.search(r"\| canonical, float64, `\"auto\"` \| [^|]+ \| (\S+) / (\S+) \|", page)
    first, second = canonical.groups()
    assert f"{first} and {second}, the figures the README quotes" in page
