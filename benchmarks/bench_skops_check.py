"""What a small skops file that declares a large array costs each reader.

A pipeline (StandardScaler, a (32,) MLPFunctionRegressor) is dumped with
skops, then its first weight is replaced by a header declaring 16,384 x
8,192 float64 (1 GiB) followed by that many deflated zero bytes: a file of
about 1 MB. Each reader runs in a fresh process, which reports the peak
resident set size it added (``ru_maxrss``, after importing the package) and
what it answered: skops's ``get_untrusted_types`` and ``load``, and
``sklearn_fitfn.sharing.check_skops_file``.

    python benchmarks/bench_skops_check.py        # writes SKOPS_CHECK.md
"""

import io
import json
import platform
import subprocess
import sys
import tempfile
import warnings
import zipfile
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DECLARED = (16384, 8192)

_READER = """
import resource, sys, warnings
warnings.simplefilter("ignore")
import skops.io as sio
import sklearn_fitfn._regressor
from sklearn_fitfn.sharing import check_skops_file
reader, path = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    if reader == "get_untrusted_types":
        answer = "lists " + repr(sio.get_untrusted_types(file=path))
    elif reader == "load":
        sio.load(path, trusted=["sklearn_fitfn._regressor.MLPFunctionRegressor"])
        answer = "loaded"
    else:
        answer = f"passed ({check_skops_file(path)} bytes)"
except ValueError as error:
    answer = "refused: " + str(error)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
print(answer)
"""


def _weight_file(schema):
    steps = schema["content"]["content"]["steps"]["content"]
    network = steps[1]["content"][1]["content"]["content"]["_fitted_network"]["content"]
    return network["weights"]["content"][0]["file"]


def write_declaring_file(path):
    """Dump the pipeline to ``path`` with its first weight declared as 1 GiB."""
    import skops.io as sio
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_fitfn import MLPFunctionRegressor

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 10, size=(200, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 5 epochs are enough here
        model = make_pipeline(
            StandardScaler(), MLPFunctionRegressor(hidden_layer_sizes=(32,), max_iter=5)
        ).fit(X, X.ravel() ** 2)
    source = zipfile.ZipFile(io.BytesIO(sio.dumps(model)))
    member = _weight_file(json.loads(source.read("schema.json")))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": DECLARED}
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            if name != member:
                target.writestr(name, source.read(name))
                continue
            with target.open(name, "w", force_zip64=True) as stream:
                stream.write(header.getvalue())
                left, chunk = int(np.prod(DECLARED)) * 8, bytes(2**24)
                while left > 0:
                    stream.write(chunk[: min(left, len(chunk))])
                    left -= len(chunk)


def main():
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "declares-1GiB.skops"
        write_declaring_file(path)
        size = path.stat().st_size
        rows = []
        for reader in ("check_skops_file", "get_untrusted_types", "load"):
            done = subprocess.run(
                [sys.executable, "-c", _READER, reader, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            peak, answer = done.stdout.strip().splitlines()[-2:]
            rows.append(
                f"| `{reader}` | +{float(peak):,.0f} | {answer.replace(str(path), 'FILE')} |"
            )
            print(rows[-1], flush=True)
    text = "\n".join(
        [
            "# A small skops file that declares a large array",
            "",
            f"Written by `benchmarks/bench_skops_check.py` on {date.today()}, "
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}.",
            f"The file is {size:,} bytes; its first weight declares {DECLARED[0]:,} x "
            f"{DECLARED[1]:,} float64 (1 GiB) of deflated zeros.",
            "",
            "| reader | peak memory added (MB) | answer |",
            "|---|---|---|",
            *rows,
            "",
        ]
    )
    (HERE / "SKOPS_CHECK.md").write_text(text)


if __name__ == "__main__":
    main()
