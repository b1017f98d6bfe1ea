"""Every code block of the documentation runs.

The ``python`` blocks of each page run in order in one namespace, as a reader
would paste them; the ``bash`` blocks' ``fitfn`` commands run as written. Install
lines (``pip install``) are what CI itself runs first. Blocks without a
language are printed output, not code. The figure script of the explainer
runs in its quick mode.
"""

import json
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from sklearn_fitfn._commands.replay import replay_markdown

# Full-size runs of the documentation's commands and pages: `python -m pytest -m slow`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_blocks(page, language):
    return [body for lang, body in BLOCK.findall(page.read_text()) if lang == language]


def fitfn_commands(page):
    """The ``fitfn`` commands of the page's bash blocks, the last step of an
    install line (``... && fitfn squares``) included."""
    return [
        line.strip().rpartition("&& ")[2]
        for body in code_blocks(page, "bash")
        for line in body.splitlines()
        if line.strip().rpartition("&& ")[2].startswith("fitfn ")
    ]


def test_the_pages_have_code_to_run():
    assert code_blocks(ROOT / "docs" / "why_squares_fail.md", "python")
    assert code_blocks(ROOT / "README.md", "python")
    assert any(fitfn_commands(page) for page in PAGES)


@pytest.mark.parametrize(
    "page", [p for p in PAGES if code_blocks(p, "python")], ids=lambda p: p.name
)
def test_python_blocks_run(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    for number, block in enumerate(code_blocks(page, "python"), 1):
        try:
            exec(compile(block, f"{page.name} block {number}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{page.name}, python block {number} failed: {error!r}") from error
        printed = capsys.readouterr().out.splitlines()
        for claimed, line in printed_claims(block, printed):
            assert _same_figure(claimed, line), (
                f"{page.name}, python block {number}: printed {line!r}, its comment says "
                f"{claimed!r}"
            )


PRINT_WITH_FIGURE = re.compile(r"^print\(.*\)\s+# ([-\d][\d,.]*)")
FIGURE = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def printed_claims(block, printed):
    """Pairs (figure in the comment, line printed) for the block's top-level
    ``print(...)  # figure`` lines. A block with such claims whose prints did
    not write one line each cannot be matched, and fails."""
    prints = [line for line in block.splitlines() if line.startswith("print(")]
    claims = [PRINT_WITH_FIGURE.match(source) for source in prints]
    if any(claims) and len(prints) != len(printed):
        raise AssertionError(
            f"{len(prints)} print() lines wrote {len(printed)} lines: the figures in "
            f"their comments cannot be matched to what they printed: {printed!r}"
        )
    return [
        (match.group(1).rstrip(",."), line)
        for match, line in zip(claims, printed)
        if match is not None
    ]


def _same_figure(claimed, line):
    """The printed line holds the claimed figure as written: the same digits
    to the precision the comment prints it."""
    return claimed in FIGURE.findall(line)


def test_a_claim_is_matched_to_its_printed_precision():
    assert _same_figure("544.1", "held-out RMSE: 544.1")
    assert not _same_figure("544.1", "held-out RMSE: 544.2")
    assert not _same_figure("1.0", "1.004")
    assert not _same_figure("22", "220")
    with pytest.raises(AssertionError, match="cannot be matched"):
        printed_claims("print(a)  # 1.0\nprint(b)", ["1.0"])
    assert printed_claims("print(a)", []) == []  # no claim, nothing to match


def shown_output(page, command):
    """The output the page shows for ``command``: the block without a language
    right after the bash block that runs it, or after a sentence that says
    what `command` prints; None when the page shows none."""
    text = page.read_text()
    pattern = re.compile(
        r"```bash\n" + re.escape(command) + r"\n```\s*\n```\n(.*?)^```"
        r"|`" + re.escape(command) + r"` prints(?:[^\n]|\n(?!\n))*?:\n\n```\n(.*?)^```",
        re.MULTILINE | re.DOTALL,
    )
    match = pattern.search(text)
    if match is None:
        return None
    return (match.group(1) or match.group(2)).splitlines()


@pytest.mark.parametrize(
    "command",
    # fitfn replay runs in test_the_replay_section_agrees_with_fitfn_replay.
    [command for page in PAGES for command in fitfn_commands(page) if command != "fitfn replay"],
)
def test_fitfn_commands_run(command, tmp_path):
    argv = shlex.split(command)
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_fitfn", *argv[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for line in result.stderr.splitlines():  # progress lines only: no warnings or logs
        assert re.match(r"\[\d+/\d+\] |refitting \d+ more|running the fits on", line), line
    shown = shown_output(ROOT / "README.md", command)
    if shown is not None:  # every line the README shows, as the command prints it
        printed = result.stdout.splitlines()
        missing = [line for line in shown if not any(_same_line(line, p) for p in printed)]
        assert not missing, f"README.md shows lines `{command}` does not print: {missing}"


def _same_line(shown, printed):
    """The same line, each figure to its printed precision, or within 1% (or
    1, a count): a trained network's figures come from one machine, and
    another CPU's kernels round differently (2,000 iterations of L-BFGS on
    relu units printed 4,565.3 on an Intel Xeon, 4,570.1 and "160 times" for
    "161" on an AMD EPYC). A figure below 1e-6 on both sides (the RMSE of an
    exact fit: round-off) counts as the same."""
    if NUMBER.sub("#", shown) != NUMBER.sub("#", printed):
        return False
    pairs = zip(NUMBER.findall(shown), NUMBER.findall(printed))
    return all(_within(a, b) for a, b in pairs)


def _within(shown, printed):
    a, b = (float(n.replace(",", "")) for n in (shown, printed))
    if max(abs(a), abs(b)) < 1e-6:
        return True
    return abs(a - b) <= max(0.01 * max(abs(a), abs(b)), 1 if "." not in shown else 0)


def test_a_shown_line_is_matched_to_its_printed_precision():
    assert _same_line("relu: RMSE 4,565.3 (6.1%)", "relu: RMSE 4,565.3 (6.1%)")
    assert _same_line("relu: RMSE 4,565.3 (6.1%)", "relu: RMSE 4,570.1 (6.1%)")
    assert not _same_line("relu: RMSE 4,565.3 (6.1%)", "relu: RMSE 4,615.4 (6.1%)")
    assert _same_line("relu: 161 times", "relu: 160 times")
    assert not _same_line("relu: 161 times", "relu: 158 times")
    assert _same_line("exact (RMSE 7.0e-11)", "exact (RMSE 7.3e-11)")
    assert not _same_line("exact (RMSE 7.0e-11)", "close (RMSE 7.0e-11)")


def test_figure_script_quick(tmp_path, capsys):
    runpy.run_path(str(ROOT / "docs" / "make_figures.py"), run_name="not_main")["main"](
        ["--quick", "-o", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert "| square (4), L-BFGS |" in out and "| yes |" in out
    for png in ["relu_units.png", "extrapolation.png"]:
        assert (tmp_path / png).stat().st_size > 10_000


NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def _numbers_agree(documented, measured):
    """Figures from two runs agree: within 5%, within 1 (a count, an epoch),
    or both below 1e-3 (a round-off size)."""
    a, b = (float(n.replace(",", "")) for n in (documented, measured))
    return abs(a - b) <= max(0.05 * max(abs(a), abs(b)), 1) or max(abs(a), abs(b)) < 1e-3


#: The replay's lines whose figures come from its 1,000-unit relu networks,
#: which TensorFlow's thread pools train: their digits depend on the CPU and
#: its cores (RMSE 10,496.5 on a 2-core Intel Xeon, 17,398.9 on a 2-core AMD
#: EPYC), so only what the page says of them is checked (below).
THREADED_STEPS = (
    "| 2. relu in every hidden layer",
    "| 4. relu, x and y standardised",
    "2. relu lets the curve bend",
)


def test_the_replay_section_agrees_with_fitfn_replay(tmp_path):
    """The page's replay section is what ``fitfn replay`` measures today: the
    same text, and every figure in it within a small tolerance (the float32
    steps may round differently on another processor)."""
    make_replay = runpy.run_path(str(ROOT / "docs" / "make_replay.py"), run_name="not_main")
    page = (ROOT / "docs" / "why_squares_fail.md").read_text()
    assert "fitfn replay" in fitfn_commands(ROOT / "docs" / "why_squares_fail.md")
    documented = page.split(make_replay["START"])[1].split(make_replay["END"])[0]

    result = subprocess.run(
        [sys.executable, "-m", "sklearn_fitfn", "replay", "-o", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "replay.csv",
        "replay.json",
        "replay.png",
    ]
    steps = json.loads((tmp_path / "out" / "replay.json").read_text())["steps"]
    measured = replay_markdown(steps)
    for why in (step["why"] for step in steps):
        assert why in result.stdout  # the command prints what the page shows

    assert NUMBER.sub("#", documented) == NUMBER.sub("#", measured)
    pairs = [
        pair
        for page_line, run_line in zip(documented.splitlines(), measured.splitlines())
        if not page_line.startswith(THREADED_STEPS)
        for pair in zip(NUMBER.findall(page_line), NUMBER.findall(run_line))
    ]
    disagree = [pair for pair in pairs if not _numbers_agree(*pair)]
    assert not disagree, f"page and run differ (page, run): {disagree}"

    by_name = {step["name"]: step for step in steps}
    report = by_name["the report: linear, x and y / 1e6"]
    comment = by_name["relu in every hidden layer"]
    stopped = by_name["relu, MLPRegressor's default stopping"]
    standard = by_name["relu, x and y standardised"]
    # What the section says, with wide margins: the linear network sits at the
    # line; relu helps with all epochs; the default rule stops it early, no
    # better than a line; standardising beats dividing by 1e6 many times over.
    assert report["line_rmse"] <= report["rmse"] <= 1.05 * report["line_rmse"]
    assert comment["rmse"] < 0.6 * comment["line_rmse"]
    assert stopped["epochs"] < 100 and stopped["rmse"] > 0.9 * stopped["line_rmse"]
    assert standard["rmse"] * 5 < comment["rmse"]
    assert standard["rmse"] < 0.05 * standard["line_rmse"]
    assert by_name["square units, L-BFGS"]["rmse"] == 0


def test_the_arithmetic_run_section_agrees_with_a_run_today():
    """docs/arithmetic.md's run section is what the same runs give today: the
    same text, every figure within a small tolerance."""
    make = runpy.run_path(str(ROOT / "docs" / "make_arithmetic.py"), run_name="not_main")
    page = (ROOT / "docs" / "arithmetic.md").read_text()
    documented = page.split(make["START"])[1].split(make["END"])[0]
    measured, _ = make["section"]()
    assert NUMBER.sub("#", documented) == NUMBER.sub("#", measured)
    pairs = list(zip(NUMBER.findall(documented), NUMBER.findall(measured)))
    disagree = [pair for pair in pairs if not _numbers_agree(*pair)]
    assert not disagree, f"page and run differ (page, run): {disagree}"
    # What the page says, with wide margins: mul, square and division solved
    # on every seed; on the Primer's ranges, division on all but U(-2, 2)'s.
    assert "**mul**, 100 inputs, U[1,2] / U[2,6]: solved in 10 of 10" in documented
    assert "**square**, 100 inputs, U[1,2] / U[2,6]: solved in 10 of 10" in documented
    assert "**div**, 100 inputs, U[1,2] / U[2,6]: solved in 20 of 20" in documented
    assert "**div**, primer: solved in 80 of 90" in documented
    assert "10 fits refused, and counted as not solved: their rows cross b = 0" in documented
