"""Sphinx configuration of the sklearn_fitfn documentation site.

Build it from a clean checkout with::

    pip install ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html

The guide pages are the Markdown files of this folder (read by MyST), the API
pages come from the docstrings (numpydoc), and the gallery runs every script
in examples/ (sphinx-gallery) and shows what it prints and draws.
"""

import sys
from pathlib import Path

import sklearn_fitfn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # gallery_figures

project = "sklearn_fitfn"
author = "the sklearn_fitfn developers"
copyright = "2026, the sklearn_fitfn developers"
version = release = sklearn_fitfn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]

# Markdown: `:::{toctree}` blocks (so that the docs' tests, which run every
# ``` block, never mistake a directive for code) and anchors for the section
# links the pages use (why_squares_fail.md#6-the-original-report-replayed).
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    # By name, so that Sphinx can cache the configuration (docs/gallery_figures.py).
    "image_scrapers": ("gallery_figures.figures_of_the_example",),
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/",  # run every example, so that its output is real
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
}


html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_fitfn {release}"
html_theme_options = {
    # The examples' pages need the width for what the scripts print.
    # (pages under auto_examples/ match neither pattern, and get none)
    "secondary_sidebar_items": {
        "*": ["page-toc", "sourcelink"],
        "generated/*": ["page-toc", "sourcelink"],
    },
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
}
# The guide pages have no sub-pages: no empty navigation column beside them.
html_sidebars = {
    page: []
    for page in [
        "index",
        "why_squares_fail",
        "experiment",
        "api",
        "keras",
        "performance",
        "distributed",
    ]
}
html_static_path = ["_static"]
html_css_files = ["fitfn.css"]


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """scikit-learn generates ``set_fit_request`` and the like on every
    estimator; their docstrings point into scikit-learn's own site."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
