"""The ``python-json`` snapshot of DuckDB's ``.fetchall()`` and ``.fetchnumpy()``
results, on real DuckDB results of every type they return: read back, a
value is the same object tree (types, order, NULLs, dtypes, masks) and hashes
equal; a value whose exact type cannot be kept is refused, not approximated."""

from __future__ import annotations

import datetime as dt
import json
import math
import struct
from decimal import Decimal

import duckdb
import numpy as np
import pytest

from data.test_duckdb_fetch_snapshots import same
from notelock.core import hashing, pyvalues, tables

WIDE = """SELECT 1::INTEGER i, 2::BIGINT b, 3::HUGEINT h, 1.5::DOUBLE d, 1.25::REAL r, 'x' s, NULL::VARCHAR n, true t,
DATE '2024-01-02' dt, TIMESTAMP '2024-01-02 03:04:05.123456' ts, TIMESTAMPTZ '2024-01-02 03:04:05+00' tz,
TIME '01:02:03' tm, INTERVAL 3 DAY iv, 12.34::DECIMAL(10,2) dec, 'ab'::BLOB bl, uuid() u, [1,2] l, {'a':1,'b':'z'} st,
MAP {'k': 1} m, 'ok'::mood e, [1,2,3]::INTEGER[3] arr, 'nan'::DOUBLE nan, -0.0::DOUBLE nz, 5::UTINYINT ut, '101'::BIT bit,
TIMESTAMP_NS '2024-01-01 00:00:00.123456789' tns, union_value(num := 2) un, NULL::INT ni@EXTRA@
UNION ALL SELECT 7, NULL, 8, NULL, NULL, NULL, 'q', false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, [NULL], NULL,
NULL, NULL, NULL, 'inf', 1e300, NULL, NULL, NULL, NULL, 4@NULL@"""


def wide(extra: str, extra_null: str) -> str:
    return WIDE.replace("@EXTRA@", extra).replace("@NULL@", extra_null)


@pytest.fixture(scope="module")
def con():
    with duckdb.connect() as c:
        c.execute("SET TimeZone = 'Europe/Paris'")
        c.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        yield c


def test_fetchall_of_every_type_comes_back_as_the_same_tuples(con):
    rows = con.sql(wide(", TIMETZ '01:02:03+05:30' ttz", ", NULL")).fetchall()
    kinds = {type(v) for row in rows for v in row}
    assert kinds >= {int, float, str, bool, type(None), dt.date, dt.datetime, dt.time, dt.timedelta, Decimal, bytes,
                     list, dict, tuple}
    data, kind = tables.snapshot_bytes(rows)
    assert kind == "python-json"
    back = pyvalues.loads(data)
    same(back, rows)
    assert hashing.value_hash(back) == hashing.value_hash(rows)
    assert back[0][10].tzinfo is rows[0][10].tzinfo  # the same zoneinfo object
    assert math.copysign(1.0, back[1][22]) == 1.0 and math.copysign(1.0, back[0][22]) == -1.0  # -0.0 kept


def test_fetchnumpy_of_every_type_comes_back_with_the_same_dtypes_and_masks(con):
    arrays = con.sql(wide("", "")).fetchnumpy()
    assert isinstance(arrays["ni"], np.ma.MaskedArray) and arrays["l"].dtype == object
    data, kind = tables.snapshot_bytes(arrays)
    back = pyvalues.loads(data)
    same(back, arrays)
    assert hashing.value_hash(back) == hashing.value_hash(arrays)
    assert [type(back[k]) for k in back] == [type(arrays[k]) for k in arrays]
    assert back["l"][0].dtype == np.int32  # a LIST cell is a nested array, kept as one


def test_nan_payloads_and_an_empty_result():
    odd = struct.unpack("<d", bytes.fromhex("010000000000f87f"))[0]  # a NaN with a payload
    value = [(odd, float("-inf"))]
    back = pyvalues.loads(pyvalues.dumps(value))
    assert struct.pack("<d", back[0][0]) == struct.pack("<d", odd) and back[0][1] == float("-inf")
    assert hashing.value_hash(back) == hashing.value_hash(value)
    assert pyvalues.loads(pyvalues.dumps([])) == []


def test_the_document_is_plain_tagged_json():
    doc = json.loads(pyvalues.dumps([(1, "a", None, dt.date(2025, 1, 2), Decimal("1.50"))]))
    assert doc == {"python-json": 1, "value": ["list", [["tuple", [1, "a", None, ["date", "2025-01-02"],
                                                                    ["decimal", "1.50"]]]]]}


def test_a_value_whose_exact_type_cannot_be_kept_is_refused():
    class Mine(int):
        pass

    assert pyvalues.dumps([(Mine(3),)]) is None  # a subclass is not its base
    assert pyvalues.dumps([(object(),)]) is None
    assert tables.snapshot_bytes([(Mine(3),)]) is None
    assert pyvalues.dumps({"a": np.zeros(2, dtype=[("x", "i4")])}) is None  # structured arrays


def test_only_rows_and_dicts_of_arrays_are_results_of_this_kind():
    assert pyvalues.is_python_result([])
    assert pyvalues.is_python_result({"a": np.arange(3)})
    assert not pyvalues.is_python_result({"a": [1, 2]})
    assert not pyvalues.is_python_result({})
    assert not pyvalues.is_python_result((1, 2))


def test_the_snapshot_observer_pins_rows_and_says_when_it_cannot(tmp_path, con):
    from notelock.core.snapshots import SnapshotObserver, read_snapshot
    from notelock.core.store import Store

    store = Store(tmp_path / "store")
    said: list[str] = []
    observer = SnapshotObserver(lambda: store, lambda: True, said.append)
    rows = con.sql("SELECT 1 AS a, DATE '2025-01-02' AS b UNION ALL SELECT NULL, NULL").fetchall()
    facts: dict = {}
    observer({"reader": "duckdb.DuckDBPyRelation.fetchall", "query": "q"}, rows, facts)
    assert facts["snapshot_format"] == "python-json" and not said
    same(read_snapshot(store, {**facts, "reader": "duckdb.DuckDBPyRelation.fetchall"}), rows)

    class Mine(int):
        pass

    facts = {}
    observer({"reader": "duckdb.DuckDBPyRelation.fetchall", "query": "q"}, [(Mine(1),)], facts)
    assert "snapshot" not in facts
    assert said == ["notelock: SQL result not pinned: its result (list) holds values notelock cannot snapshot "
                    "with their exact types (recorded by hash only)"]
