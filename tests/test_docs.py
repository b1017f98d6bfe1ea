"""Every code block of the documentation runs.

The ``python`` blocks of each page run in order in one namespace, as a reader
would paste them; the ``bash`` blocks' ``fitfn`` commands run as written. Install
lines (``pip install``) are what CI itself runs first. Blocks without a
language are printed output, not code. The figure script of the explainer
runs in its quick mode.
"""

import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_blocks(page, language):
    return [body for lang, body in BLOCK.findall(page.read_text()) if lang == language]


def fitfn_commands(page):
    return [
        line.strip()
        for body in code_blocks(page, "bash")
        for line in body.splitlines()
        if line.strip().startswith("fitfn ")
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


@pytest.mark.parametrize(
    "command",
    [command for page in PAGES for command in fitfn_commands(page)],
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


def test_figure_script_quick(tmp_path, capsys):
    runpy.run_path(str(ROOT / "docs" / "make_figures.py"), run_name="not_main")["main"](
        ["--quick", "-o", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert "| square (4), L-BFGS |" in out and "| yes |" in out
    for png in ["relu_units.png", "extrapolation.png"]:
        assert (tmp_path / png).stat().st_size > 10_000
