"""Cache restore versus recompute for the example notebook's RandomForest fit cell.

Each measurement runs the example notebook's cells up to the fit cell in a
fresh kernel, then times the fit cell (client-side wall time of the execute
request, so everything the user waits for counts):

* ``recompute`` — the cell under plain ``%%lock`` (what re-running costs);
* ``first --cache`` — the cell under ``%%lock --cache`` with an empty store
  (recompute plus storing the variables and outputs);
* ``restore`` — the same cell in another fresh kernel on the same store.

Run: ``python -m bench.cache [--rows N] [--repeat R]`` (``PYTHONPATH`` must
reach ``src`` and ``tests``). Prints a table and the medians' ratio.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "fraud_detection.ipynb"


def _cells() -> tuple[list[str], str]:
    """The code cells before the fit cell (without %load_ext) and the fit cell's body."""
    nb = json.loads(NOTEBOOK.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    fit = next(i for i, s in enumerate(sources) if "model.fit(" in s)
    body = sources[fit].split("\n", 1)[1]  # drop the %%lock line
    return [s for s in sources[:fit] if not s.startswith("%load_ext")], body


def _timed_fit(folder: Path, store: Path, header: str, rows: int) -> tuple[float, str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from kernel_utils import Kernel

    setup, body = _cells()
    kernel = Kernel(folder, notebook=NOTEBOOK.name,
                    env={"FRAUD_ROWS": str(rows), "NOTELOCK_STORE": str(store)})
    try:
        kernel.ok("%load_ext notelock")
        for source in setup:
            kernel.ok(source)
        start = time.perf_counter()
        out = kernel.ok(f"{header}\n{body}")
        return time.perf_counter() - start, out["stdout"]
    finally:
        kernel.shutdown()


def measure(rows: int, repeat: int) -> dict[str, list[float]]:
    """Seconds of each variant, *repeat* times, in fresh kernels."""
    times: dict[str, list[float]] = {"recompute": [], "first --cache": [], "restore": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(NOTEBOOK, folder / NOTEBOOK.name)
        for i in range(repeat):
            times["recompute"].append(_timed_fit(folder, folder / f"plain{i}", "%%lock", rows)[0])
            store = folder / f"store{i}"
            times["first --cache"].append(_timed_fit(folder, store, "%%lock --cache", rows)[0])
            seconds, stdout = _timed_fit(folder, store, "%%lock --cache", rows)
            if "restored @cell_" not in stdout:
                raise RuntimeError(f"the second --cache run was not restored: {stdout!r}")
            times["restore"].append(seconds)
    return times


def bench_cache(rows: int = 20000, repeat: int = 3) -> list[dict]:
    """Rows for ``python -m bench``: restore from the cache against recomputing the fit cell."""
    times = measure(rows, repeat)
    recompute = statistics.median(times["recompute"])
    restore = statistics.median(times["restore"])
    first = statistics.median(times["first --cache"])
    return [
        {"what": f"cache: restore of the example's fit cell ({rows:,} rows) vs recompute", "notelock": restore,
         "peer": recompute, "peer_name": "recompute (plain %%lock)", "ratio": recompute / restore, "unit": "s"},
        {"what": "cache: first --cache run (recompute + store) vs plain", "notelock": first,
         "peer": recompute, "peer_name": "recompute (plain %%lock)", "ratio": first / recompute, "unit": "s"},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000, help="FRAUD_ROWS (the example's default: 20000)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    times = measure(args.rows, args.repeat)
    print(f"RandomForest fit cell of {NOTEBOOK.name}, FRAUD_ROWS={args.rows}, "
          f"{args.repeat} fresh kernels each (wall seconds)")
    for name, values in times.items():
        print(f"  {name:<14} median {statistics.median(values):7.3f}   "
              + "  ".join(f"{v:.3f}" for v in values))
    ratio = statistics.median(times["recompute"]) / statistics.median(times["restore"])
    print(f"  restore is {ratio:.1f}x faster than recomputing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
