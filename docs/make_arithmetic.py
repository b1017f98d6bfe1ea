"""Make the section "A run" of docs/arithmetic.md.

    python docs/make_arithmetic.py    # runs fitfn arithmetic's default seeds for
                                      # mul and square, 20 of div, and the Primer's
                                      # ranges (about two minutes); writes
                                      # docs/img/arithmetic.png and the section
                                      # between its two markers

tests/test_docs.py runs the same and checks that the page agrees.
"""

import argparse
from pathlib import Path

from sklearn_fitfn.arithmetic import run_arithmetic
from sklearn_fitfn.plotting import plot_arithmetic

HERE = Path(__file__).resolve().parent
PAGE = HERE / "arithmetic.md"
START = "<!-- run: made by python docs/make_arithmetic.py -->\n"
END = "<!-- end of run -->\n"

#: What the section runs: (operation, seeds, primer).
RUNS = (
    ("mul", 10, False),
    ("square", 10, False),
    ("div", 20, False),
    ("mul", 10, True),
    ("div", 10, True),
)


def section():
    """The section's text, and the last run's result (division on the
    Primer's ranges, for the figure)."""
    results = [
        run_arithmetic(op, seeds, primer=primer, progress=False) for op, seeds, primer in RUNS
    ]
    return "".join(result.markdown() for result in results), results[-1]


def replace_section(page_text, text):
    """The page with the text between the markers replaced by ``text``."""
    before, found, rest = page_text.partition(START)
    if not found or END not in rest:
        raise ValueError(f"the page has no section between {START.strip()} and {END.strip()}")
    return before + START + text + END + rest.split(END, 1)[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    text, division = section()
    print(text)
    plot_arithmetic(division, HERE / "img" / "arithmetic.png")
    PAGE.write_text(replace_section(PAGE.read_text(), text))
    print(f"wrote {HERE / 'img' / 'arithmetic.png'} and the run section of {PAGE}")


if __name__ == "__main__":
    main()
