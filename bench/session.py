"""A long session: the per-cell cost of ``%%lock`` must not grow with the
length of the lock (target: cell 2,000 within 1.5× of cell 10).

One real kernel runs N small locked cells (each binds a few values and reads
one from the cell before, as notebooks do); the round-trip time of the cells
around number 10 is compared with that of the last ones.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.kernel import BenchKernel


def bench_long_session(cells: int = 2000, window: int = 20) -> list[dict[str, Any]]:
    """The median per-cell time near cell 10 and near cell *cells*."""
    with tempfile.TemporaryDirectory(prefix="notelock-bench-") as tmp:
        kernel = BenchKernel(Path(tmp))
        try:
            kernel.run("%load_ext notelock\nimport numpy as np\nv0 = np.arange(100.0)")
            times = []
            for i in range(1, cells + 1):
                times.append(kernel.run(f"%%lock\nv{i} = v{i - 1} + {i}\ns{i} = float(v{i}.sum())"))
        finally:
            kernel.close()
    early = statistics.median(times[:window])
    late = statistics.median(times[-window:])
    return [
        {"what": f"locked cell near #10 of a {cells}-cell session", "notelock": early * 1e3, "unit": "ms",
         "peer_name": "", "peer": None, "ratio": None},
        {"what": f"locked cell near #{cells} (growth: target ≤ 1.5×)", "notelock": late * 1e3, "unit": "ms",
         "peer_name": "cell #10", "peer": early * 1e3, "peer_unit": "ms", "ratio": late / early},
    ]
