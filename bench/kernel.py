"""The cost of leaving ``%%lock`` on, measured in a real kernel.

Each cell is executed through the kernel protocol, alternately with and
without ``%%lock``, and the median round-trip time is compared; the same
messaging cost is in both, so the difference is notelock's.
"""

from __future__ import annotations

import os
import queue
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

FRAUD_COLUMNS = ("date", "amount", "hour", "device_risk_score", "ip_risk_score", "merchant_category", "is_fraud")


def make_fraud_csv(path: Path, size_mb: int, seed: int = 7) -> Path:
    """A synthetic transactions CSV (the example notebook's columns) of about *size_mb* MB."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = max(1000, int(size_mb * 1e6 / 44))  # ~44 bytes a row
    amount = rng.lognormal(3.5, 1.1, rows).round(2)
    hour = rng.integers(0, 24, rows)
    device = rng.beta(2, 5, rows).round(4)
    ip = rng.beta(2, 6, rows).round(4)
    merchant = rng.choice(["grocery", "travel", "electronics", "fashion", "gaming"], rows)
    date = (np.datetime64("2025-01-01") + rng.integers(0, 365, rows)).astype(str)
    logit = -6 + 0.004 * amount + 3.5 * device + 3.0 * ip + (merchant == "electronics") * 0.8
    fraud = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    pd.DataFrame(dict(zip(FRAUD_COLUMNS, (date, amount, hour, device, ip, merchant, fraud))))\
        .to_csv(path, index=False)
    return path


class BenchKernel:
    """A real kernel in *cwd* with a round-trip timer."""

    def __init__(self, cwd: Path):
        from jupyter_client.manager import KernelManager

        env = dict(os.environ, JPY_SESSION_NAME=str(cwd / "bench.ipynb"))
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env, cwd=str(cwd))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def run(self, code: str, timeout: float = 3600) -> float:
        """Execute *code*; return the round-trip seconds; raise if the cell failed."""
        start = time.perf_counter()
        msg_id = self.kc.execute(code)
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        elapsed = time.perf_counter() - start
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"bench cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
        self._drain()
        return elapsed

    def _drain(self) -> None:
        while True:
            try:
                self.kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                return

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def _paired(kernel: BenchKernel, plain: str, locked: str, repeat: int) -> tuple[float, float]:
    """Median seconds of *plain* and *locked*, run alternately to cancel drift."""
    a, b = [], []
    for _ in range(repeat):
        a.append(kernel.run(plain))
        b.append(kernel.run(locked))
    return statistics.median(a), statistics.median(b)


def bench_lock_overhead(csv_mb: int = 20, fit_rows: int = 20000, repeat: int = 3,
                        trivial_repeat: int = 40) -> list[dict[str, Any]]:
    """%load_ext cost, and %%lock overhead on a read cell, a fit cell and `x = 1`."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="notelock-bench-") as tmp:
        folder = Path(tmp)
        make_fraud_csv(folder / "transactions.csv", csv_mb)
        size = (folder / "transactions.csv").stat().st_size
        kernel = BenchKernel(folder)
        try:
            kernel.run("import pandas as pd, numpy as np\nfrom sklearn.ensemble import RandomForestClassifier")
            baseline = statistics.median(kernel.run("pass") for _ in range(10))
            load = kernel.run("%load_ext notelock") - baseline
            rows.append({"what": "%load_ext notelock", "notelock": load * 1000, "peer": None,
                         "peer_name": "", "ratio": None, "unit": "ms"})
            kernel.run("x = 0")
            plain, locked = _paired(kernel, "x = 1", "%%lock\nx = 1", trivial_repeat)
            rows.append({"what": "trivial cell `x = 1`: fixed cost of %%lock", "notelock": (locked - plain) * 1000,
                         "peer": plain * 1000, "peer_name": "the cell without %%lock (round trip)",
                         "ratio": None, "unit": "ms"})
            read = "df = pd.read_csv('transactions.csv')"
            plain, locked = _paired(kernel, read, "%%lock\n" + read, repeat)
            rows.append(_overhead_row(f"read cell: read_csv of a {size / 1e6:.0f} MB CSV", plain, locked))
            kernel.run(f"train = df.sample({fit_rows}, random_state=0)\n"
                       "features = ['amount', 'hour', 'device_risk_score', 'ip_risk_score']")
            fit = ("model = RandomForestClassifier(n_estimators=200, max_depth=10, random_state=42)\n"
                   "model.fit(train[features], train['is_fraud'])\npred = model.predict(train[features])")
            plain, locked = _paired(kernel, fit, "%%lock\n" + fit, repeat)
            rows.append(_overhead_row(f"fit cell: RandomForest(200 trees) on {fit_rows:,} rows + predict",
                                      plain, locked))
        finally:
            kernel.close()
    return rows


def _overhead_row(what: str, plain: float, locked: float) -> dict[str, Any]:
    return {"what": what + " — %%lock overhead", "notelock": (locked - plain) / plain * 100,
            "peer": plain, "peer_name": "cell without %%lock (s)", "ratio": locked / plain, "unit": "%"}
