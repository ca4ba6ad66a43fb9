"""What the sidebar's status costs: ``notebook_status`` on a notebook whose lock
read a CSV of ``csv_mb`` MB, next to the plain checksum comparison it replaces.

* ``stat`` — sizes and remembered hashes only (after each cell);
* ``hash, file changed`` — reads the CSV again (on open, save, refresh);
* ``hash, file unchanged`` — the hash remembered for its size and mtime;
* peer: ``notebook_checksum`` alone (what ``/notelock/lock`` compared before).

Run: ``python -m bench.badge [--csv-mb N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from notelock.core import lockfile
from notelock.core.hashing.base import hash_file
from notelock.core.status import notebook_status
from notelock.core.workflow import WorkflowTracker, notebook_checksum

SOURCE = "%%lock\ndf = pd.read_csv('big.csv')"


def _setup(folder: Path, csv_mb: int) -> Path:
    csv = folder / "big.csv"
    row = b"1.5,2.25,grocery,0\n"
    with open(csv, "wb") as f:
        f.write(b"a,b,c,d\n")
        f.write(row * (csv_mb * (1 << 20) // len(row)))
    nb = folder / "nb.ipynb"
    nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                              "cells": [{"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": None,
                                         "outputs": [], "source": SOURCE}]}), encoding="utf-8")
    read, node = lockfile.make_node("read", {"reader": "pandas.read_csv", "options": {}, "content": hash_file(csv),
                                             "inputs": []}, {"path": "big.csv", "bytes": csv.stat().st_size})
    cells = [{"source": SOURCE, "execution_count": 1, "locked": True, "nodes": [read], "cell_id": "c1"}]
    data = {"notelock": lockfile.FORMAT_VERSION, "identity": lockfile.lock_identity(cells), "cells": cells,
            "nodes": {read: node}, "workflow": WorkflowTracker(nb).snapshot([SOURCE])}
    lockfile.write_lock(folder / "nb.lock.json", data)
    return nb


def _median_ms(fn: Any, repeat: int, before: Any = None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_status(csv_mb: int = 20, repeat: int = 5) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        nb = _setup(Path(tmp), csv_mb)
        csv = Path(tmp) / "big.csv"
        peer = _median_ms(lambda: notebook_checksum(nb), repeat)
        stat = _median_ms(lambda: notebook_status(nb, inputs="stat"), repeat)
        touch = lambda: os.utime(csv, ns=(time.time_ns(), time.time_ns()))  # noqa: E731 - a new mtime: not remembered
        cold = _median_ms(lambda: notebook_status(nb, inputs="hash"), repeat, before=touch)
        warm = _median_ms(lambda: notebook_status(nb, inputs="hash"), repeat)
    row = {"peer": peer, "peer_name": "checksum only", "unit": "ms"}
    return [
        {"what": "status, stat (after a cell)", "notelock": stat, "ratio": stat / peer, **row},
        {"what": f"status, hash, {csv_mb} MB input changed", "notelock": cold, "ratio": cold / peer, **row},
        {"what": "status, hash, input unchanged", "notelock": warm, "ratio": warm / peer, **row},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv-mb", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for r in bench_status(args.csv_mb, args.repeat):
        print(f"{r['what']:<38} {r['notelock']:8.2f} ms   {r['peer_name']} {r['peer']:.2f} ms   ×{r['ratio']:.1f}")


if __name__ == "__main__":
    main()
