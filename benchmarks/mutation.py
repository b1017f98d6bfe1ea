"""Mutation testing of chosen modules against chosen tests, in a copy of the repository.

mutmut reads the modules it mutates and the tests it runs from
``[tool.mutmut]`` of pyproject.toml. This script clones the repository's
committed HEAD into a directory of its own, names the modules and the tests
there, generates the mutants, runs all of them or a seeded sample, and
prints the count of each verdict and the survivors by name. The working
tree and its configuration are left as they are; uncommitted changes are not
in the copy. See MUTATION.md for the scores and what the survivors mean.

    pip install -e ".[mutation]"
    python benchmarks/mutation.py \\
        --mutate sklearn_fitfn/_training/keras_fit.py \\
        --tests tests/training/test_keras_fit.py \\
        --functions _fit _go_on train_keras --sample 24 --seed 20261206

Then ``cd`` into the printed directory for ``mutmut show NAME``.
"""

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _toml_list(values):
    """A TOML array of strings (JSON's string syntax is TOML's basic string)."""
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


def configure(pyproject, modules, test_args):
    """Name ``modules`` and ``test_args`` in the ``[tool.mutmut]`` of ``pyproject``."""
    text = pyproject.read_text()
    for key, values in [
        ("only_mutate", modules),
        ("pytest_add_cli_args_test_selection", test_args),
    ]:
        text, found = re.subn(
            rf"^{key} = \[.*?\]", f"{key} = {_toml_list(values)}", text, flags=re.S | re.M
        )
        if found != 1:
            raise SystemExit(f"{pyproject}: no single `{key} = [...]` in [tool.mutmut] to replace")
    pyproject.write_text(text)


def _mutmut(workdir, *args, log=None, expected_failure=None):
    """Run ``mutmut ARGS`` in ``workdir``; its output goes to ``log`` (a file
    of ``workdir``) when given, and is returned. A failure whose output holds
    ``expected_failure`` is not one."""
    beside = Path(sys.executable).with_name("mutmut")  # this Python's, when it has one
    command = str(beside) if beside.exists() else shutil.which("mutmut")
    if command is None:
        raise SystemExit('mutmut is not installed: pip install -e ".[mutation]"')
    if log is None:
        done = subprocess.run([command, *args], cwd=workdir, capture_output=True, text=True)
        output = done.stdout + done.stderr
    else:
        with open(workdir / log, "w") as out:
            done = subprocess.run([command, *args], cwd=workdir, stdout=out, stderr=out)
        output = (workdir / log).read_text()
    if done.returncode != 0 and (expected_failure is None or expected_failure not in output):
        tail = output.replace("\r", "\n").strip().splitlines()[-15:]
        raise SystemExit(f"`mutmut {args[0]}` failed in {workdir}:\n" + "\n".join(tail))
    return output


def mutant_names(workdir):
    """Every mutant's name with its verdict, as ``mutmut results`` lists them."""
    listing = _mutmut(workdir, "results", "--all", "true")
    verdicts = {}
    for line in listing.splitlines():
        name, _, verdict = line.strip().partition(": ")
        if "__mutmut_" in name:
            verdicts[name] = verdict
    return verdicts


def of_functions(names, functions):
    """The mutants of the named functions or methods (mutmut names a function
    ``x_NAME__mutmut_N`` and a method ``xǁCLASSǁNAME__mutmut_N``)."""
    if not functions:
        return sorted(names)
    pattern = re.compile(rf"(\.x_|ǁ)({'|'.join(map(re.escape, functions))})__mutmut_\d+$")
    return sorted(name for name in names if pattern.search(name))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutate", nargs="+", required=True, help="module paths to mutate")
    parser.add_argument(
        "--tests", nargs="+", required=True, help="test paths (and pytest options) to run"
    )
    parser.add_argument("-k", dest="keyword", help="pytest's -k expression for the tests")
    parser.add_argument("--functions", nargs="+", help="only the mutants of these functions")
    parser.add_argument("--sample", type=int, help="run this many mutants, drawn with --seed")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="where to clone (default: a new temp dir)")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fitfn-mutation-"))
    if workdir.exists() and any(workdir.iterdir()):
        raise SystemExit(f"{workdir} is not empty: name a new directory with --workdir")
    subprocess.run(["git", "clone", "-q", str(ROOT), str(workdir)], check=True)
    test_args = list(args.tests) + (["-k", args.keyword] if args.keyword else [])
    configure(workdir / "pyproject.toml", args.mutate, test_args)

    run = ["run", "--max-children", str(args.max_children)]
    print(f"generating the mutants in {workdir}", file=sys.stderr)
    # A filter that matches no mutant: mutmut generates them all, maps which
    # tests reach each function, runs none, and says that nothing matched.
    _mutmut(
        workdir,
        *run,
        "nothing.matches*",
        log="generate.log",
        expected_failure="Filtered for specific mutants, but nothing matches",
    )
    chosen = of_functions(mutant_names(workdir), args.functions)
    if not chosen:
        raise SystemExit("no mutant matches those modules and functions")
    if args.sample is not None and args.sample < len(chosen):
        chosen = sorted(random.Random(args.seed).sample(chosen, args.sample))
    print(f"running {len(chosen)} mutants", file=sys.stderr)
    _mutmut(workdir, *run, *chosen, log="run.log")

    verdicts = mutant_names(workdir)
    counts = Counter(verdicts[name] for name in chosen)
    killed = counts["killed"]
    print(f"{len(chosen)} mutants: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    print(f"score: {killed / len(chosen):.1%} killed (timeouts counted apart)")
    for name in chosen:
        if verdicts[name] != "killed":
            print(f"  {verdicts[name]}: {name}")
    print(f"in {workdir}: `mutmut show NAME` shows a mutant's change")


if __name__ == "__main__":
    main()
