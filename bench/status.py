"""Up-to-date checks: ``notelock status`` against ``notelock lock`` of the same unchanged notebook.

The notebook is the fraud example's computation with every read a file (the
example itself reads a SQL table, so its status is "cannot tell" by design):
a CSV read, the split and the forest fit, all cells locked. ``status`` decides
from files alone; ``lock --force`` starts a kernel and runs everything (what a
build without up-to-date checks costs); ``lock`` without ``--force`` skips it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CELLS = [
    "import numpy as np\nimport pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\n"
    "from sklearn.model_selection import train_test_split",
    "df = pd.read_csv('transactions.csv')",
    "features = ['amount', 'hour', 'device_risk_score']\n"
    "train, test = train_test_split(df, test_size=0.25, random_state=42, stratify=df['is_fraud'])",
    "model = RandomForestClassifier(n_estimators=200, max_depth=10, random_state=42)\n"
    "model.fit(train[features], train['is_fraud'])\npred = model.predict(test[features])",
]


def _write(folder: Path, rows: int) -> Path:
    import nbformat
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    amount = rng.lognormal(3.5, 1.1, rows).round(2)
    device = rng.beta(2, 5, rows).round(4)
    hour = rng.integers(0, 24, rows)
    fraud = (rng.random(rows) < 1 / (1 + np.exp(-(-6 + 0.004 * amount + 3.5 * device)))).astype(int)
    pd.DataFrame({"amount": amount, "hour": hour, "device_risk_score": device, "is_fraud": fraud}).to_csv(
        folder / "transactions.csv", index=False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "fraud_files.ipynb"
    nbformat.write(nb, path)
    return path


def _timed(cmd: list[str], cwd: Path, expect: int = 0) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=dict(os.environ))
    elapsed = time.perf_counter() - start
    if done.returncode != expect:
        raise RuntimeError(f"{' '.join(cmd[2:4])} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return elapsed


def bench_status(rows: int = 20000, repeat: int = 3) -> list[dict[str, Any]]:
    """Median wall times: status (a process; in-process), lock of the unchanged notebook, lock --force."""
    from notelock.core.uptodate import status

    cli = [sys.executable, "-m", "notelock"]
    with tempfile.TemporaryDirectory(prefix="notelock-bench-status-") as tmp:
        folder = Path(tmp)
        nb = _write(folder, rows)
        _timed([*cli, "lock", nb.name], folder)
        verdict = status(nb)
        if verdict.state != "current":
            raise RuntimeError(f"expected a current lock, got: {verdict.line()}")
        proc, inproc, skip, force = [], [], [], []
        for _ in range(repeat):
            proc.append(_timed([*cli, "status", nb.name], folder))
            start = time.perf_counter()
            status(nb)
            inproc.append(time.perf_counter() - start)
            skip.append(_timed([*cli, "lock", nb.name], folder))
            force.append(_timed([*cli, "lock", nb.name, "--force"], folder))
    rebuild = statistics.median(force)
    out = []
    for what, values in ((f"notelock status, unchanged notebook ({rows:,} rows), whole process", proc),
                         ("notelock status, in-process (the verdict itself)", inproc),
                         ("notelock lock of the unchanged notebook (skipped: current)", skip)):
        ours = statistics.median(values)
        out.append({"what": what, "notelock": ours, "peer": rebuild, "peer_name": "notelock lock --force",
                    "ratio": ours / rebuild, "unit": "s"})
    return out
