"""What a newcomer meets first on the pages: the index's "Where next" leads to
every page of the site, and an install line with an extra works from the
checkout the pages tell them to clone."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def test_where_next_links_every_page_of_the_sites_table_of_contents():
    index = (ROOT / "docs" / "index.md").read_text()
    toctree = index.split(":::{toctree}")[1].split(":::")[0].split("\n\n", 1)[1]
    pages = [line.strip() for line in toctree.splitlines() if line.strip()]
    where_next = index.split("## Where next")[1].split(":::{toctree}")[0]
    linked = re.findall(r"\]\(([^)#]+?)(?:\.md|\.rst)\)", where_next)
    assert sorted(linked) == sorted(pages)


def test_an_extra_named_for_a_package_index_is_also_given_for_a_checkout():
    for page in PAGES:
        text = page.read_text()
        for extra in re.findall(r'pip install "sklearn[-_]fitfn\[(\w+)\]"', text):
            assert f'pip install ".[{extra}]"' in text, f"{page.name}: [{extra}]"
        assert 'pip install "sklearn_fitfn[' not in text, page.name  # the project's name
