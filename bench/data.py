"""Benchmarks of the data stack: Polars frame hashing, and a DuckDB read of a
large Parquet file with and without ``%%lock`` in a real kernel.

* :func:`bench_polars_frame`: notelock's hash of the 16M-row frame of
  ``bench.hashing.make_frame`` as a Polars DataFrame, against Polars' own
  ``hash_rows`` followed by an xxh3 digest of the row hashes, and against
  pickling + xxh3.
* :func:`polars_arrow_columns`: the correctness table's cases, converted to
  Polars and Arrow, as extra columns of ``bench.hashing.correctness_table``.
* :func:`bench_duckdb_parquet`: ``duckdb.sql("SELECT … FROM 'big.parquet'")``
  fetched with ``.pl()`` (every row) and an aggregate fetched with ``.df()``,
  paired runs with and without ``%%lock``.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path
from typing import Any

import xxhash

from bench.hashing import _best, _row, make_frame
from notelock.core.hashing import value_hash

#: correctness cases that are about pandas itself (its index, its object dtype):
#: they have no Polars or Arrow counterpart
PANDAS_ONLY = ("RangeIndex shift", "object vs str dtype")


def _polars(frame: Any) -> Any:
    import polars as pl

    return pl.from_pandas(frame)


def _hash_rows(df: Any) -> str:
    """Polars' own row hashes, digested: the usual "fast" way to fingerprint a frame."""
    frame = df.to_frame() if hasattr(df, "to_frame") and not hasattr(df, "hash_rows") else df
    return xxhash.xxh3_128(frame.hash_rows(seed=0).to_numpy().tobytes()).hexdigest()


def _pickle_xxh(obj: Any) -> str:
    return xxhash.xxh3_128(pickle.dumps(obj, protocol=5)).hexdigest()


def bench_polars_frame(rows: int = 16_000_000, repeat: int = 3) -> list[dict]:
    """Hashing a mixed Polars DataFrame of *rows* rows vs ``hash_rows`` + xxh3 and pickle + xxh3."""
    df = _polars(make_frame(rows))
    label = f"Polars DataFrame {rows:,} rows x {df.width} cols"
    ours = _best(lambda: value_hash(df), repeat)
    return [
        _row(label, ours, _best(lambda: _hash_rows(df), repeat), "Polars hash_rows + xxh3", "s", False),
        _row(label, ours, _best(lambda: _pickle_xxh(df), repeat), "pickle + xxh3", "s", False),
    ]


def _as(kind: str, value: Any) -> Any:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    if kind == "polars":
        return pl.from_pandas(value)
    if isinstance(value, pd.Series):
        return pa.chunked_array([pa.Array.from_pandas(value)])
    return pa.Table.from_pandas(value, preserve_index=False)


def _converted(kind: str, value: Any) -> Any:
    try:
        return _as(kind, value)
    except Exception:  # noqa: BLE001 - no counterpart in that library
        return None


def polars_arrow_columns(table: list[dict], differ: list, equal: list) -> list[dict]:
    """Add Polars and Arrow columns to the correctness table rows (same cases, converted)."""
    methods = {
        "notelock (Polars)": ("polars", value_hash),
        "hash_rows (Polars)": ("polars", _hash_rows),
        "notelock (Arrow)": ("arrow", value_hash),
    }

    def safe(fn: Any, obj: Any) -> str | None:
        try:
            return fn(obj)
        except Exception:  # noqa: BLE001 - a method failing on a case is a result
            return None

    by_case = {r["case"]: r for r in table}
    for name, a, b in differ:
        row = by_case[name]
        for method, (kind, fn) in methods.items():
            if name in PANDAS_ONLY:
                row[method] = "n/a"
                continue
            obj_a, obj_b = _converted(kind, a), _converted(kind, b)
            ha = safe(fn, obj_a) if obj_a is not None else None
            hb = safe(fn, obj_b) if obj_b is not None else None
            row[method] = "n/a" if obj_a is None else (ha is not None and hb is not None and ha != hb)
    for name, make_a, make_b in equal:
        row = by_case[name]
        for method, (kind, fn) in methods.items():
            obj_a, obj_b = _converted(kind, make_a()), _converted(kind, make_b())
            ha = safe(fn, obj_a) if obj_a is not None else None
            row[method] = "n/a" if obj_a is None else (ha is not None and ha == safe(fn, obj_b))
    pandas_methods = [k for k in table[0] if k not in ("case", "kind") and k not in methods] if table else []
    extra = _polars_only_cases(methods)
    for row in extra:
        row.update({m: "n/a" for m in pandas_methods})
    return table + extra


def _polars_only_cases(methods: dict) -> list[dict]:
    """Cases only Polars has: chunked frames, zero-copy slices, string splits."""
    import math

    import polars as pl

    base = pl.DataFrame({"id": list(range(100)), "s": [f"v{i}" for i in range(100)], "x": [i / 7 for i in range(100)]})
    ulp = base.with_columns(pl.Series("x", [math.nextafter(v, 2.0) if i == 3 else v for i, v in enumerate(base["x"])]))
    differ = [
        ("Polars: two slices of one buffer", base.slice(0, 50), base.slice(50, 50)),
        ("Polars: 1-ulp float", base, ulp),
        ("Polars: string split (\"ab\",\"c\") vs (\"a\",\"bc\")", pl.DataFrame({"s": ["ab", "c"]}),
         pl.DataFrame({"s": ["a", "bc"]})),
        ("Polars: Int64 -> Int32", base, base.with_columns(pl.col("id").cast(pl.Int32))),
    ]
    equal = [("Polars: chunked vs contiguous", pl.concat([base.slice(0, 30), base.slice(30, 70)], rechunk=False), base)]
    rows = []
    for name, a, b in differ:
        row: dict[str, Any] = {"case": name, "kind": "differs"}
        for method, (kind, fn) in methods.items():
            x, y = (a, b) if kind == "polars" else (a.to_arrow(), b.to_arrow())
            row[method] = fn(x) != fn(y)
        rows.append(row)
    for name, a, b in equal:
        row = {"case": name, "kind": "equal"}
        for method, (kind, fn) in methods.items():
            x, y = (a, b) if kind == "polars" else (a.to_arrow(), b.to_arrow())
            row[method] = fn(x) == fn(y)
        rows.append(row)
    return rows


def make_parquet(path: Path, size_mb: int) -> Path:
    """A Parquet file of about *size_mb* MB of the fraud columns (reused if there)."""
    if path.exists() and path.stat().st_size >= size_mb * 1e6 * 0.9:
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 2_000_000
    seed = 0
    with pq.ParquetWriter(path, pa.Table.from_pandas(make_frame(10), preserve_index=False).schema) as writer:
        while not path.exists() or path.stat().st_size < size_mb * 1e6:
            writer.write_table(pa.Table.from_pandas(make_frame(rows, seed=seed), preserve_index=False))
            seed += 1
            if seed * rows * 40 > size_mb * 1e6 * 4:  # compression guard: never loop for ever
                break
    return path


def bench_duckdb_parquet(size_mb: int = 1024, repeat: int = 3) -> list[dict[str, Any]]:
    """%%lock overhead on DuckDB reads of a *size_mb* MB Parquet file, in a real kernel."""
    from bench.kernel import BenchKernel, _overhead_row, _paired

    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="notelock-bench-") as tmp:
        folder = Path(tmp)
        path = make_parquet(folder / "big.parquet", size_mb)
        size = path.stat().st_size / 1e6
        kernel = BenchKernel(folder)
        try:
            kernel.run("import duckdb\n%load_ext notelock")
            agg = ("totals = duckdb.sql(\"SELECT merchant, count(*) AS n, sum(amount) AS total "
                   "FROM 'big.parquet' GROUP BY merchant ORDER BY merchant\").df()")
            plain, locked = _paired(kernel, agg, "%%lock\n" + agg, repeat)
            out.append(_overhead_row(f"DuckDB GROUP BY over a {size:.0f} MB Parquet, .df()", plain, locked))
            full = "frame = duckdb.sql(\"SELECT * FROM 'big.parquet'\").pl()"
            plain, locked = _paired(kernel, full + "\ndel frame", "%%lock\n" + full + "\ndel frame", repeat)
            out.append(_overhead_row(f"DuckDB SELECT * of a {size:.0f} MB Parquet, .pl()", plain, locked))
        finally:
            kernel.close()
    return out


def bench_duckdb_steps(size_mb: int = 1024, repeat: int = 3) -> list[dict[str, Any]]:
    """notelock's own steps on DuckDB reads of a *size_mb* MB Parquet file, timed
    in one process against the query alone (robust on a shared machine)."""
    import statistics
    import time

    import duckdb

    from notelock.core import sql
    from notelock.core.hashing import hash_file

    def wall(fn: Any, n: int = repeat) -> tuple[float, Any]:
        times, result = [], None
        for _ in range(n):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times), result

    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="notelock-bench-") as tmp:
        path = make_parquet(Path(tmp) / "big.parquet", size_mb)
        size = path.stat().st_size / 1e6
        agg = f"SELECT merchant, count(*) AS n, sum(amount) AS total FROM '{path}' GROUP BY merchant ORDER BY merchant"
        query, result = wall(lambda: duckdb.sql(agg).df())
        file_hash, _ = wall(lambda: hash_file(path))
        files, _ = wall(lambda: sql.duckdb_query_files(agg))
        result_hash, _ = wall(lambda: value_hash(result))
        ours = file_hash + files + result_hash
        out.append({"what": f"DuckDB GROUP BY over a {size:.0f} MB Parquet: notelock's steps", "notelock": ours / query * 100,
                    "peer": query, "peer_name": "the query alone (s)", "ratio": None, "unit": "%"})
        full, frame = wall(lambda: duckdb.sql(f"SELECT * FROM '{path}'").pl(), 1)
        frame_hash, _ = wall(lambda: value_hash(frame), 1)
        out.append({"what": f"DuckDB SELECT * of a {size:.0f} MB Parquet, .pl(): notelock's steps",
                    "notelock": (file_hash + files + frame_hash) / full * 100, "peer": full,
                    "peer_name": "the query alone (s)", "ratio": None, "unit": "%"})
    return out


__all__ = ["bench_duckdb_steps", "bench_polars_frame", "polars_arrow_columns", "bench_duckdb_parquet", "make_parquet"]
