"""The API reference's pages say what each name is: a constant listed there
is documented in the module it is listed under, by ``#:`` comments above its
assignment (Sphinx's autodoc reads them there only; without them a page
shows the docstring of the value's type, as ``tuple``'s)."""

import importlib
import inspect
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _listed_constants():
    """(module, name) for each upper-case name in the reference's autosummaries."""
    module, listed = None, []
    for line in (ROOT / "docs" / "reference.rst").read_text().splitlines():
        current = re.match(r"\.\. currentmodule:: (\S+)", line)
        if current:
            module = current.group(1)
        elif re.fullmatch(r"   [A-Z][A-Z0-9_]+", line):
            listed.append((module, line.strip()))
    return listed


def test_the_reference_lists_constants():
    assert ("sklearn_fitfn.arithmetic", "PRIMER_RANGES") in _listed_constants()


def test_each_constant_of_the_reference_is_documented_where_it_is_listed():
    for module_name, name in _listed_constants():
        source = inspect.getsource(importlib.import_module(module_name)).splitlines()
        (at,) = [i for i, line in enumerate(source) if line.startswith(f"{name} = ")]
        comment = []
        while at > 0 and source[at - 1].startswith("#: "):
            at -= 1
            comment.append(source[at])
        assert comment, f"{module_name}.{name} has no #: comment above its assignment"
