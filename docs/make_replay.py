"""Make the section "The original report, replayed" of docs/why_squares_fail.md.

    python docs/make_replay.py    # runs the replay (about a minute), writes
                                  # docs/img/replay.png and the section's table
                                  # and sentences between its two markers

The section's text is what ``fitfn replay`` prints, without the wall times;
tests/test_docs.py runs ``fitfn replay`` and checks that the page agrees.
"""

import argparse
from pathlib import Path

from sklearn_fitfn.plotting import plot_replay
from sklearn_fitfn.replay import run_replay

HERE = Path(__file__).resolve().parent
PAGE = HERE / "why_squares_fail.md"
START = "<!-- replay: made by python docs/make_replay.py -->\n"
END = "<!-- end of replay -->\n"


def replace_section(page_text, section):
    """The page with the text between the markers replaced by ``section``."""
    before, found, rest = page_text.partition(START)
    if not found or END not in rest:
        raise ValueError(f"the page has no section between {START.strip()} and {END.strip()}")
    return before + START + section + END + rest.split(END, 1)[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    result = run_replay()
    print(result.report())
    plot_replay(result, HERE / "img" / "replay.png")
    PAGE.write_text(replace_section(PAGE.read_text(), result.markdown()))
    print(f"\nwrote {HERE / 'img' / 'replay.png'} and the replay section of {PAGE}")


if __name__ == "__main__":
    main()
