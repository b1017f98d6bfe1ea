"""The README's Layout diagram is the tree: one line for each file and folder
of the package and of benchmarks/, and nothing that is not there; and the
install page names what the test extra adds."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BRANCH = re.compile(r"^((?:│   |    )*)(?:├── |└── )(\S+)")


def _diagram():
    """The paths the Layout section's diagram lists, as written (folders end in /)."""
    section = (ROOT / "README.md").read_text().split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 2)[1]
    listed, parents = [], []
    for line in block.splitlines():
        branch = BRANCH.match(line)
        if branch:
            depth = len(branch.group(1)) // 4 + 1
            parents = parents[:depth]
            path = "".join(parents) + branch.group(2)
            listed.append(path)
            if path.endswith("/"):
                parents.append(branch.group(2))
        elif line and not line[0].isspace():
            parents = [line.split()[0]]
            listed.append(parents[0])
    return listed


def _tree(folder, pattern):
    found = {folder + "/"}
    for path in (ROOT / folder).rglob(pattern):
        if "__pycache__" in path.parts:
            continue
        relative = path.relative_to(ROOT).as_posix()
        found.add(relative + "/" if path.is_dir() else relative)
    return found


def test_the_layout_diagram_lists_every_package_and_benchmark_file_once():
    listed = _diagram()
    assert len(listed) == len(set(listed)), "a line appears twice"
    for folder, pattern in [("sklearn_fitfn", "*"), ("benchmarks", "*")]:
        on_disk = {path for path in _tree(folder, pattern) if not path.endswith(".pyc")}
        in_diagram = {path for path in listed if path.startswith(folder + "/")}
        assert in_diagram == on_disk, (
            f"missing: {sorted(on_disk - in_diagram)}; gone: {sorted(in_diagram - on_disk)}"
        )
    assert {"tests/", "examples/", "docs/"} <= set(listed)


def test_the_diagram_reader_sees_nesting():
    # _diagram must place a file under its folder, or the test above proves nothing.
    listed = _diagram()
    assert "sklearn_fitfn/_training/engine.py" in listed
    assert "sklearn_fitfn/_network/" in listed
    assert "benchmarks/RESULTS.md" in listed


def test_the_install_page_names_every_package_the_test_extra_adds():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [re.match(r"[\w-]+", r).group() for r in project["optional-dependencies"]["test"]]
    page = " ".join((ROOT / "docs" / "index.md").read_text().split())
    sentence = page.split('pip install ".[test]"` adds ', 1)[1].split(".")[0]
    assert sorted(re.findall(r"[\w-]+", sentence.replace(" and ", ", "))) == sorted(names)
