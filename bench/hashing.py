"""Benchmarks of notelock's hashing against the usual alternatives.

Every timing function takes a size/scale argument and returns rows
``{"what", "notelock", "peer", "peer_name", "ratio", "unit"}``. ``ratio`` is
always "how many times better notelock is": ``notelock / peer`` for
throughputs (GB/s), ``peer / notelock`` for times and memory. Times are the
best of a few runs, in CPU seconds (``time.process_time``: everything timed
is single-threaded, and CPU time is robust to a busy machine).

``correctness_table`` checks, for notelock and three common ways of hashing a
DataFrame, which changes each one detects and whether equal data in fresh
objects hashes equal.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xxhash

from notelock.core.hashing import hash_file, value_hash

GB = 1e9


def _best(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Best CPU time (user + system) of *repeat* runs.

    Every function timed here is single-threaded, so CPU time equals wall
    time on an idle machine and stays meaningful on a busy one.
    """
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _row(what: str, notelock: float, peer: float, peer_name: str, unit: str, higher_is_better: bool) -> dict:
    ratio = (notelock / peer if higher_is_better else peer / notelock) if notelock and peer else float("nan")
    return {
        "what": what,
        "notelock": round(notelock, 4),
        "peer": round(peer, 4),
        "peer_name": peer_name,
        "ratio": round(ratio, 2),
        "unit": unit,
    }


# -- files ------------------------------------------------------------------------------


def make_csv(path: str | os.PathLike[str], size_bytes: int) -> Path:
    """Write a CSV of roughly *size_bytes* (numbers, strings, dates), reused if already there."""
    path = Path(path)
    if path.exists() and path.stat().st_size >= size_bytes:
        return path
    import numpy as np

    rng = np.random.default_rng(0)
    rows = 200_000
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id,amount,merchant,date\n")
        written, start = 0, 0
        while written < size_bytes:
            ids = np.arange(start, start + rows)
            amounts = rng.random(rows) * 1000
            merchants = rng.integers(0, 50_000, rows)
            days = rng.integers(0, 365, rows)
            block = "".join(
                f"{i},{a:.2f},merchant_{m},2025-{1 + d // 31:02d}-{1 + d % 28:02d}\n"
                for i, a, m, d in zip(ids.tolist(), amounts.tolist(), merchants.tolist(), days.tolist())
            )
            fh.write(block)
            written += len(block)
            start += rows
    return path


def _md5_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    buf = bytearray(chunk)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def _read_only(path: Path, chunk: int = 256 << 10) -> None:
    buf = bytearray(chunk)
    with open(path, "rb", buffering=0) as fh:
        while fh.readinto(buf):
            pass


def bench_file(size_mb: int = 512, path: str | os.PathLike[str] | None = None) -> list[dict]:
    """hash_file throughput (GB/s, from the page cache) vs md5 streaming and a plain read."""
    path = Path(path) if path else Path(tempfile.gettempdir()) / f"notelock-bench-{size_mb}mb.csv"
    make_csv(path, size_mb << 20)
    size = path.stat().st_size
    _read_only(path)  # warm the page cache
    ours = size / _best(lambda: hash_file(path), 5) / GB
    md5 = size / _best(lambda: _md5_file(path), 3) / GB
    ceiling = size / _best(lambda: _read_only(path), 5) / GB
    return [
        _row(f"hash_file {size / 1e6:.0f} MB CSV", ours, md5, "hashlib.md5 streaming", "GB/s", True),
        _row(f"hash_file {size / 1e6:.0f} MB CSV", ours, ceiling, "plain readinto (ceiling)", "GB/s", True),
    ]


def bench_peak_rss(size_mb: int = 2048, path: str | os.PathLike[str] | None = None) -> list[dict]:
    """Peak RSS (MB) of a fresh interpreter that hashes a big file, vs the naive way.

    The naive way is ``xxh3(path.read_bytes())``; both processes import the
    same modules, so the difference is what hashing itself holds.
    """
    path = Path(path) if path else Path(tempfile.gettempdir()) / f"notelock-bench-{size_mb}mb.csv"
    make_csv(path, size_mb << 20)
    script = textwrap.dedent(
        """
        import resource, sys, xxhash
        from pathlib import Path
        from notelock.core.hashing import hash_file
        if sys.argv[2] == "notelock":
            hash_file(sys.argv[1])
        else:
            xxhash.xxh3_128_hexdigest(Path(sys.argv[1]).read_bytes())
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux
        """
    )
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")

    def peak(mode: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", script, str(path), mode], capture_output=True, text=True, env=env, check=True
        )
        return float(out.stdout.strip())

    size = path.stat().st_size
    return [
        _row(
            f"peak RSS hashing a {size / 1e6:.0f} MB file",
            peak("notelock"),
            peak("read_bytes"),
            "xxh3 of Path.read_bytes()",
            "MB",
            False,
        )
    ]


# -- DataFrames ---------------------------------------------------------------------------


def make_frame(rows: int, seed: int = 0):
    """A mixed frame with pandas 3 defaults: int, float, str (pyarrow), bool, datetime, category."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "amount": rng.random(rows) * 1000,
            "merchant": pd.Series(rng.integers(0, 50_000, rows)).astype(str).radd("merchant_"),
            "fraud": rng.random(rows) < 0.01,
            "ts": pd.date_range("2025-01-01", periods=rows, freq="s"),
            "channel": pd.Categorical(rng.choice(["web", "app", "pos"], rows)),
        }
    )


def _copy_same_bytes(df) -> None:
    """np.copy of every buffer the frame's values live in (the memory-bandwidth floor)."""
    import numpy as np

    for i in range(df.shape[1]):
        values = df.iloc[:, i]._values
        pa_array = getattr(values, "_pa_array", None)
        if pa_array is not None:
            for chunk in pa_array.chunks:
                for buf in chunk.buffers():
                    if buf is not None:
                        np.frombuffer(buf, dtype=np.uint8).copy()
        elif hasattr(values, "codes"):
            np.copy(values.codes)
        elif hasattr(values, "_ndarray"):
            np.copy(values._ndarray)
        else:
            np.copy(np.asarray(values))


def _hpo(obj) -> str:
    import pandas as pd

    return xxhash.xxh3_128_hexdigest(pd.util.hash_pandas_object(obj, index=True).values)


def _joblib(obj) -> str:
    import joblib

    return joblib.hash(obj)


def _pickle_xxh(obj) -> str:
    return xxhash.xxh3_128_hexdigest(pickle.dumps(obj, protocol=5))


def bench_frame(rows: int = 4_000_000, peers: tuple[str, ...] = ("copy", "hpo", "joblib", "pickle")) -> list[dict]:
    """Hashing a mixed DataFrame of *rows* rows vs hash_pandas_object, joblib, pickle, np.copy."""
    df = make_frame(rows)
    value_hash(df)  # warm-up (first-call imports)
    ours = _best(lambda: value_hash(df), 3)
    label = f"DataFrame {rows:,} rows x {df.shape[1]} cols"
    peer_fns = {
        "copy": ("np.copy of the same buffers", lambda: _copy_same_bytes(df), 3),
        "hpo": ("hash_pandas_object(index=True) + xxh3", lambda: _hpo(df), 1),
        "joblib": ("joblib.hash", lambda: _joblib(df), 1),
        "pickle": ("pickle.dumps + xxh3", lambda: _pickle_xxh(df), 1),
    }
    rows_out = []
    for key in peers:
        name, fn, repeat = peer_fns[key]
        rows_out.append(_row(label, ours, _best(fn, repeat), name, "s", False))
    return rows_out


def bench_object_strings(rows: int = 4_000_000) -> list[dict]:
    """An ``object`` column of strings (pandas 2 style) vs hash_pandas_object."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    s = pd.Series(rng.integers(0, 50_000, rows)).astype(str).radd("merchant_").astype(object)
    value_hash(s)
    ours = _best(lambda: value_hash(s), 3)
    peer = _best(lambda: _hpo(s), 2)
    return [_row(f"object str Series {rows:,} rows", ours, peer, "hash_pandas_object(index=True) + xxh3", "s", False)]


def bench_wide_frame(columns: int = 5000, rows: int = 1000) -> list[dict]:
    """A wide numeric frame (thousands of columns) vs hash_pandas_object."""
    import numpy as np
    import pandas as pd

    df = pd.DataFrame(np.random.default_rng(0).random((rows, columns)))
    value_hash(df)
    ours = _best(lambda: value_hash(df), 3)
    peer = _best(lambda: _hpo(df), 1)
    return [_row(f"wide DataFrame {rows:,} x {columns:,}", ours, peer, "hash_pandas_object(index=True) + xxh3", "s", False)]


# -- estimators -------------------------------------------------------------------------------


def bench_forest(n_samples: int = 5000, n_estimators: int = 200, max_depth: int = 10) -> list[dict]:
    """Hashing a fitted RandomForestClassifier vs joblib.hash and pickle + xxh3."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples, 20, random_state=0)
    rf = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, random_state=0, n_jobs=1).fit(X, y)
    value_hash(rf)
    ours = _best(lambda: value_hash(rf), 7)
    label = f"fitted RandomForest({n_estimators} trees, depth {max_depth}, {n_samples:,} samples)"
    return [
        _row(label, ours, _best(lambda: _joblib(rf), 5), "joblib.hash", "s", False),
        _row(label, ours, _best(lambda: _pickle_xxh(rf), 5), "pickle.dumps + xxh3 (not canonical)", "s", False),
    ]


# -- correctness --------------------------------------------------------------------------------


def _cases() -> tuple[list[tuple[str, Any, Any]], list[tuple[str, Callable[[], Any], Callable[[], Any]]]]:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    base = make_frame(1000, seed=1)
    csv = base[["id", "amount", "merchant", "fraud"]].to_csv(index=False)
    ulp = base.copy()
    ulp.loc[3, "amount"] = np.nextafter(ulp.loc[3, "amount"], np.inf)
    big = pa.array([f"v{i}" for i in range(20)])
    differ = [
        ("int64 -> int32", base, base.astype({"id": "int32"})),
        ("int -> bool column", pd.DataFrame({"x": [1, 0, 1]}), pd.DataFrame({"x": [True, False, True]})),
        ("column rename", base, base.rename(columns={"amount": "amt"})),
        ("column swap", base, base[["amount", "id", *base.columns[2:]]]),
        ("row permutation", base, base.iloc[np.r_[1, 0, 2 : len(base)]].reset_index(drop=True)),
        ("RangeIndex shift", base, base.set_axis(pd.RangeIndex(5, 5 + len(base)))),
        ("1-ulp float", base, ulp),
        ("concatenation ambiguity", pd.DataFrame({"s": ["a-b", "c"]}), pd.DataFrame({"s": ["a", "b-c"]})),
        ("two slices of one Arrow array", pd.Series(pd.arrays.ArrowExtensionArray(big.slice(0, 10))),
         pd.Series(pd.arrays.ArrowExtensionArray(big.slice(10, 10)))),
        ("object vs str dtype", pd.Series(["a", "b"], dtype=object), pd.Series(["a", "b"], dtype="str")),
    ]

    def chunked():
        values = [f"name_{i}" for i in range(100)]
        return pd.concat([pd.Series(values[:30], dtype="str"), pd.Series(values[30:], dtype="str")], ignore_index=True)

    def single():
        return pd.Series([f"name_{i}" for i in range(100)], dtype="str")

    def layout():
        return pd.concat([base[[c]] for c in base.columns], axis=1)

    equal = [
        ("copy of a frame", lambda: base, lambda: base.copy()),
        ("same CSV read twice", lambda: pd.read_csv(io.StringIO(csv)), lambda: pd.read_csv(io.StringIO(csv))),
        ("concat-chunked vs single-chunk Arrow str", chunked, single),
        ("different block layout", lambda: base, layout),
    ]
    return differ, equal


def correctness_table() -> list[dict]:
    """For each case and method: True when the method behaves correctly.

    Sensitivity cases (kind "differs") are correct when the two values hash
    differently; equality cases (kind "equal") when they hash the same. A
    method that raises counts as incorrect.
    """
    methods: dict[str, Callable[[Any], str]] = {
        "notelock": value_hash,
        "hash_pandas_object": _hpo,
        "joblib.hash": _joblib,
        "pickle+xxh3": _pickle_xxh,
    }
    differ, equal = _cases()
    table = []

    def safe(fn: Callable[[Any], str], obj: Any) -> str | None:
        try:
            return fn(obj)
        except Exception:  # noqa: BLE001 - a method failing on a case is a result
            return None

    for name, a, b in differ:
        row = {"case": name, "kind": "differs"}
        for method, fn in methods.items():
            ha, hb = safe(fn, a), safe(fn, b)
            row[method] = ha is not None and hb is not None and ha != hb
        table.append(row)
    for name, make_a, make_b in equal:
        row = {"case": name, "kind": "equal"}
        for method, fn in methods.items():
            ha, hb = safe(fn, make_a()), safe(fn, make_b())
            row[method] = ha is not None and ha == hb
        table.append(row)
    try:  # the same cases as Polars and Arrow values (with the data extra installed)
        from bench.data import polars_arrow_columns
    except ModuleNotFoundError:
        return table
    return polars_arrow_columns(table, differ, equal)
