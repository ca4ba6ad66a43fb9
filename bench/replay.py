"""Replay cost: ``notelock replay`` against ``jupyter nbconvert --execute`` of the same notebook.

Both start a fresh kernel and run the same cells; replay additionally pins
inputs, records in verify mode and compares every node.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[1] / "notebooks" / "fraud_detection.ipynb"


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}… exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return elapsed


def bench_replay(rows: int = 20000, repeat: int = 3) -> list[dict[str, Any]]:
    """Median wall time of a replay and of an nbconvert execution of the example."""
    env = dict(os.environ, FRAUD_ROWS=str(rows))
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="notelock-bench-replay-") as tmp:
        folder = Path(tmp)
        shutil.copy(EXAMPLE, folder / EXAMPLE.name)
        _timed([sys.executable, "-m", "notelock", "lock", EXAMPLE.name], folder, env)  # data + lock
        lock = folder / "fraud_detection.lock.json"
        nbconvert = [str(bindir / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                     EXAMPLE.name, "--output", "executed.ipynb"]
        replay = [sys.executable, "-m", "notelock", "replay", lock.name]
        a, b = [], []
        for _ in range(repeat):
            a.append(_timed(nbconvert, folder, env))
            b.append(_timed(replay, folder, env))
    plain, ours = statistics.median(a), statistics.median(b)
    return [{"what": f"replay of the example ({rows:,} rows) vs nbconvert --execute", "notelock": ours,
             "peer": plain, "peer_name": "jupyter nbconvert --execute", "ratio": ours / plain, "unit": "s"}]
