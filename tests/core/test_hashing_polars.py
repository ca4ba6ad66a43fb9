"""Polars values (and Arrow tables) hash by content with the same guarantees as pandas frames."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import xxhash

from notelock.core import nodes, schema, tables
from notelock.core.hashing import hash_value
from notelock.core.hashing import value_hash as v
from notelock.core.hashing.arrow import _T_ARROW, _T_FIXED, _T_VARBIN
from notelock.core.hashing.base import text, u64
from notelock.core.hashing.encoder import Encoder
from notelock.core.hashing.polars import _T_COLUMNS, _T_FRAME


def frame() -> pl.DataFrame:
    return pl.DataFrame({"id": [1, 2, 3, 4], "amount": [1.5, 2.25, None, 4.0], "merchant": ["ab", "c", None, "d"]})


def test_equal_frames_hash_equal_and_are_not_opaque():
    assert v(frame()) == v(frame())
    assert not hash_value(frame()).opaque


@pytest.mark.parametrize("change", [
    "dtype", "rename", "swap", "permute", "ulp", "concat_ambiguity", "null_vs_value", "row_dropped",
])
def test_each_meaningful_change_changes_the_hash(change):
    base = frame()
    changed = {
        "dtype": lambda f: f.with_columns(pl.col("id").cast(pl.Int32)),
        "rename": lambda f: f.rename({"amount": "amount_usd"}),
        "swap": lambda f: f.select("amount", "id", "merchant"),
        "permute": lambda f: f[[1, 0, 2, 3]],
        "ulp": lambda f: f.with_columns(pl.Series("amount", [math.nextafter(1.5, 2.0), 2.25, None, 4.0])),
        "concat_ambiguity": lambda f: f.with_columns(pl.Series("merchant", ["a", "bc", None, "d"])),
        "null_vs_value": lambda f: f.with_columns(pl.Series("merchant", ["ab", "c", "", "d"])),
        "row_dropped": lambda f: f.head(3),
    }[change](base)
    assert v(changed) != v(base)


def test_two_slices_of_one_buffer_differ_and_a_slice_equals_its_copy():
    big = pl.DataFrame({"x": np.arange(20), "s": [f"v{i}" * (i % 3) for i in range(20)]})
    first, second = big.slice(0, 10), big.slice(10, 10)
    assert v(first) != v(second)
    copy = pl.DataFrame({"x": np.arange(10, 20), "s": [f"v{i}" * (i % 3) for i in range(10, 20)]})
    assert v(second) == v(copy)


def test_chunked_and_contiguous_frames_hash_equal():
    parts = [frame().slice(0, 1), frame().slice(1, 2), frame().slice(3, 1)]
    chunked = pl.concat(parts, rechunk=False)
    assert chunked.n_chunks() > 1
    assert v(chunked) == v(frame()) == v(chunked.rechunk())
    series = pl.concat([frame()["merchant"].slice(0, 2), frame()["merchant"].slice(2, 2)], rechunk=False)
    assert series.n_chunks() > 1 and v(series) == v(frame()["merchant"])


def test_frame_hash_is_the_arrow_stream_recomputed_independently():
    df = pl.DataFrame({"a": [7, 9], "s": ["xy", "z"]})
    data = xxhash.xxh3_128(np.array([7, 9], dtype=np.int64).tobytes()).digest()
    empty = xxhash.xxh3_128(b"").digest()
    ints = xxhash.xxh3_128(_T_ARROW + text("int64") + u64(2) + u64(0) + _T_FIXED + u64(8) + data + empty).digest()
    lengths = xxhash.xxh3_128(np.array([2, 1], dtype=np.int64)).digest()
    strings = xxhash.xxh3_128(_T_ARROW + text("utf8") + u64(2) + u64(0) + _T_VARBIN + lengths
                              + xxhash.xxh3_128(b"xyz").digest() + empty).digest()
    enc = Encoder()
    enc.write(_T_FRAME + u64(2) + u64(2) + text("a") + text("Int64") + text("s") + text("String"))
    enc.write(_T_COLUMNS + ints + strings)
    assert v(df) == enc.hexdigest()


def test_large_frames_hash_the_same_on_two_threads():
    from notelock.core.hashing import polars as handler

    big = pl.DataFrame({"a": np.arange(3_000_000), "s": [f"v{i % 1000}" for i in range(3_000_000)]})
    assert big.estimated_size() > handler._PARALLEL_BYTES
    threaded = v(big)
    saved, handler._PARALLEL_BYTES = handler._PARALLEL_BYTES, 1 << 62
    try:
        assert v(big) == threaded
    finally:
        handler._PARALLEL_BYTES = saved


def test_string_columns_exported_a_slice_at_a_time_hash_as_the_whole_column(monkeypatch):
    """Strings are exported to Arrow a slice at a time: the digest is the one
    of the whole column's export, with nulls, mixed lengths, a sliced frame
    and binaries, whatever the slice size."""
    from notelock.core.hashing import polars as handler
    from notelock.core.hashing.arrow import encode_chunks

    rng = np.random.default_rng(0)
    words = [None if i % 97 == 0 else "w" * int(rng.integers(0, 30)) + str(i) for i in range(5_000)]
    df = pl.DataFrame({"s": words, "b": [None if w is None else w.encode() for w in words]}).slice(3, 4_990)

    def whole(series: pl.Series) -> str:
        enc = Encoder()
        column = series.to_frame().to_arrow(compat_level=pl.CompatLevel.oldest()).column(0)
        encode_chunks(enc, column.type, column.chunks)
        return enc.hexdigest()

    expected = {name: whole(df[name]) for name in df.columns}
    for rows in (1, 7, 1000, 4_989):
        monkeypatch.setattr(handler, "_EXPORT_ROWS", rows)
        for name in df.columns:
            enc = Encoder()
            handler._encode_values(enc, df[name])
            assert enc.hexdigest() == expected[name], (name, rows)
        assert v(df) == v(df.rechunk())
    monkeypatch.setattr(handler, "_EXPORT_ROWS", 1 << 20)
    sliced = v(df)
    monkeypatch.setattr(handler, "_EXPORT_ROWS", 64)
    assert v(df) == sliced
    assert v(df) != v(df.with_columns(pl.col("s").str.replace("w", "x")))


def test_categorical_datetime_and_nested_columns():
    cats = pl.DataFrame({"c": pl.Series(["x", "y", "x"], dtype=pl.Categorical)})
    assert v(cats) == v(pl.DataFrame({"c": pl.Series(["x", "y", "x"], dtype=pl.Categorical)}))
    assert v(cats) != v(cats.with_columns(pl.col("c").cast(pl.String)))
    ts = pl.DataFrame({"t": pl.Series([0, 1], dtype=pl.Datetime("us"))})
    assert v(ts) != v(ts.with_columns(pl.col("t").dt.replace_time_zone("UTC")))
    lists = pl.DataFrame({"l": [[1, 2], None, [3]]})
    assert v(lists) == v(pl.DataFrame({"l": [[1, 2], None, [3]]})) != v(pl.DataFrame({"l": [[1], None, [2, 3]]}))


def test_series_name_counts_and_frames_of_other_libraries_differ():
    s = pl.Series("a", [1, 2, 3])
    assert v(s) != v(s.alias("b"))
    assert v(s.to_frame()) != v(s)
    assert v(frame()) != v(frame().to_pandas()) != v(frame().to_arrow())


def test_lazy_frames_hash_by_their_plan():
    one = pl.LazyFrame({"a": [1, 2]}).filter(pl.col("a") > 1)
    assert v(one) == v(pl.LazyFrame({"a": [1, 2]}).filter(pl.col("a") > 1))
    assert v(one) != v(pl.LazyFrame({"a": [1, 2]}).filter(pl.col("a") > 0))
    assert v(one) != v(pl.LazyFrame({"a": [1, 3]}).filter(pl.col("a") > 1))


class Thing:
    def __init__(self, x):
        self.x = x


def test_object_columns_hash_their_values_not_their_addresses():
    one = pl.DataFrame({"o": pl.Series([Thing(1), Thing(2)], dtype=pl.Object)})
    assert v(one) == v(pl.DataFrame({"o": pl.Series([Thing(1), Thing(2)], dtype=pl.Object)}))
    assert v(one) != v(pl.DataFrame({"o": pl.Series([Thing(1), Thing(3)], dtype=pl.Object)}))
    assert v(one["o"]) != v(pl.Series("o", [Thing(2), Thing(1)], dtype=pl.Object))


def test_arrow_tables_record_batches_and_chunking():
    table = pa.table({"a": [1, 2, 3], "s": ["ab", "c", None]})
    batch = pa.RecordBatch.from_pydict({"a": [1, 2, 3], "s": ["ab", "c", None]})
    chunked = pa.concat_tables([table.slice(0, 1), table.slice(1, 2)])
    assert chunked.column("a").num_chunks == 2
    assert v(table) == v(batch) == v(chunked)
    assert v(table) != v(pa.table({"a": [1, 2, 3], "s": ["a", "bc", None]}))
    assert v(table) != v(table.select(["s", "a"]))
    assert v(table.slice(0, 2)) != v(table.slice(1, 2))


def test_schemas_of_polars_and_arrow_frames_and_their_drift():
    facts = nodes.frame_facts(frame())
    assert facts == {"rows": 4, "columns": 3, "schema": {"columns": [
        {"name": "id", "dtype": "Int64", "nulls": 0},
        {"name": "amount", "dtype": "Float64", "nulls": 1},
        {"name": "merchant", "dtype": "String", "nulls": 1}]}}
    backfilled = pl.concat([frame(), frame()]).with_columns(
        merchant_risk_score=pl.Series([None, 0.5] * 4, dtype=pl.Float64))
    new = nodes.frame_facts(backfilled)
    change = schema.compare(facts["schema"], facts["rows"], new["schema"], new["rows"])
    text_ = schema.message("transactions.parquet", change)
    assert text_ == "transactions.parquet: schema changed: + merchant_risk_score (Float64, 50% null); rows 4 → 8"
    arrow = nodes.frame_facts(frame().to_arrow())
    assert [c["dtype"] for c in arrow["schema"]["columns"]] == ["int64", "double", "large_string"]
    assert arrow["rows"] == 4 and arrow["schema"]["columns"][2]["nulls"] == 1


def test_snapshots_read_back_hash_equal(tmp_path):
    df = frame().with_columns(c=pl.Series(["x", "y", "x", None], dtype=pl.Categorical),
                              t=pl.Series([0, 1, 2, 3], dtype=pl.Datetime("ms", "Europe/Paris")))
    for value in (df, df.to_arrow(), df.to_arrow().to_batches()[0]):
        data, kind = tables.snapshot_bytes(value)
        path = tmp_path / kind
        path.write_bytes(data)
        back = tables.read_snapshot_file(path, kind)
        assert type(back) is (pl.DataFrame if kind == tables.POLARS_IPC else pa.Table)
        assert v(back) == v(value)
