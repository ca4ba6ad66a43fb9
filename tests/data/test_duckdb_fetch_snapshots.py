"""DuckDB results that are not frames: ``.fetchall()`` (a list of tuples) and
``.fetchnumpy()`` (a dict of NumPy arrays, masked where a column has NULLs)
inside ``%%lock --snapshot`` in a real kernel. The notebook gets exactly what
plain DuckDB returns; each result is hashed as that value and snapshotted
with its exact types; after a Parquet file the queries read changes, the real
``notelock replay`` serves both from their snapshots and the cells get back
the same objects."""

from __future__ import annotations

import json
import math
import pickle
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from data.helpers import lock_in, reads_by_reader, replay_json
from notelock.core import hashing, lockschema, pyvalues
from notelock.core.store import store_for

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

ROWS = ("SELECT id, merchant, amount, day, seen, CAST(amount AS DECIMAL(10, 2)) AS cents, flag, tags "
        "FROM read_parquet('tx_*.parquet') WHERE id % 7 = 0 ORDER BY id")
ARRAYS = ("SELECT id, merchant, amount, day, flag, tags FROM read_parquet('tx_*.parquet') "
          "WHERE id % ? = 0 ORDER BY id")
CELLS = (
    "%load_ext notelock",
    "%%lock --snapshot\nimport duckdb\ncon = duckdb.connect()\n"
    f"rows = con.sql({ROWS!r}).fetchall()\n"
    f"arrays = con.execute({ARRAYS!r}, [5]).fetchnumpy()\n"
    "print(len(rows), len(arrays['id']))",
    "import pickle\nwith open('seen.pkl', 'wb') as fh:\n    pickle.dump((rows, arrays), fh)",
)


def tx(ids: range) -> pl.DataFrame:
    return pl.DataFrame({
        "id": list(ids),
        "merchant": [None if i % 11 == 0 else f"m{i % 4}" for i in ids],
        "amount": [None if i % 3 == 0 else round(i * 1.37, 2) for i in ids],
        "day": [date(2025, 1, 1 + i % 28) for i in ids],
        "seen": [datetime(2025, 1, 1, i % 24, i % 60, 0, i * 1000) for i in ids],
        "flag": [None if i % 5 == 1 else i % 2 == 0 for i in ids],
        "tags": [[f"t{i % 3}"] * (i % 3) for i in ids],
    })


def sources(folder: Path) -> None:
    tx(range(0, 60)).write_parquet(folder / "tx_1.parquet")
    tx(range(60, 130)).write_parquet(folder / "tx_2.parquet")


def plain(folder: Path) -> tuple[list, dict]:
    """What DuckDB itself returns for the two fetches, without notelock."""
    with duckdb.connect() as con:
        where = str(folder / "tx_*.parquet")
        rows = con.sql(ROWS.replace("tx_*.parquet", where)).fetchall()
        arrays = con.execute(ARRAYS.replace("tx_*.parquet", where), [5]).fetchnumpy()
    return rows, arrays


def same(a, b, path: str = "value") -> None:
    """Equal values of the same types all the way down (dtypes, masks, fill values)."""
    assert type(a) is type(b), (path, type(a), type(b))
    if isinstance(a, np.ma.MaskedArray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert np.array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b)), path
        assert (a.mask is np.ma.nomask) == (b.mask is np.ma.nomask), path
        same(a.fill_value, b.fill_value, path + ".fill_value")
        keep = ~np.ma.getmaskarray(a)
        same(np.asarray(a.data)[keep], np.asarray(b.data)[keep], path + ".data")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, (path, a.dtype, b.dtype)
        if a.dtype.hasobject:
            for i, (x, y) in enumerate(zip(a.reshape(-1), b.reshape(-1))):
                same(x, y, f"{path}[{i}]")
        else:
            assert a.tobytes() == b.tobytes(), path
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, np.generic) and not a.dtype.hasobject:
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), (path, a, b)  # NaT, NaN included
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    else:
        assert a == b, (path, a, b)


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("duckfetch")
    sources(folder)
    lock = lock_in(folder, "fetch", CELLS)
    return folder, lock


def test_the_notebook_gets_exactly_what_duckdb_returns(locked):
    folder, _ = locked
    rows, arrays = plain(folder)
    assert rows and isinstance(rows[0], tuple)
    assert {type(v) for row in rows for v in row} == {int, str, float, date, datetime, Decimal, bool, list,
                                                      type(None)}
    assert any(isinstance(v, np.ma.MaskedArray) for v in arrays.values())  # nulls: masked arrays
    seen_rows, seen_arrays = pickle.loads((folder / "seen.pkl").read_bytes())
    same(seen_rows, rows)
    same(seen_arrays, arrays)


def test_both_fetches_are_reads_hashed_as_the_value_and_snapshotted_exactly(locked):
    folder, lock = locked
    lockschema.validate(lock)
    found = reads_by_reader(lock)
    rows, arrays = plain(folder)
    _, fetchall = found["duckdb.DuckDBPyRelation.fetchall"]
    _, fetchnumpy = found["duckdb.DuckDBPyConnection.fetchnumpy"]
    assert fetchall["output"] == hashing.value_hash(rows)
    assert fetchnumpy["output"] == hashing.value_hash(arrays)
    assert fetchnumpy["options"] == {"params": [5]}
    store = store_for(folder / "original.lock.json")
    for node, value in ((fetchall, rows), (fetchnumpy, arrays)):
        assert [f["path"] for f in node["files"]] == ["tx_1.parquet", "tx_2.parquet"]
        assert node["snapshot_format"] == "python-json"
        data = Path(store.path(node["snapshot"])).read_bytes()
        back = pyvalues.loads(data)
        same(back, value)
        assert hashing.value_hash(back) == node["output"]
    # the document spells the types out: the first row is a tuple, its day a date
    doc = json.loads(Path(store.path(fetchall["snapshot"])).read_bytes())
    first = doc["value"][1][0]
    assert first[0] == "tuple" and first[1][3] == ["date", rows[0][3].isoformat()]


def test_replay_serves_the_rows_and_arrays_from_snapshots_after_a_parquet_file_changed(locked, tmp_path):
    folder, _ = locked
    rows, arrays = plain(folder)
    work = tmp_path / "work"
    shutil.copytree(folder, work)
    (work / "seen.pkl").unlink()
    changed = tx(range(60, 140)).with_columns(amount=pl.col("amount") * 2)
    changed.write_parquet(work / "tx_2.parquet")
    code, report = replay_json(work, "original.lock.json")
    assert code == 0, report
    assert {v["verdict"] for v in report["verdicts"]} == {"reproduced"}, report["verdicts"]
    served = [v for v in report["verdicts"] if v["op"] == "read" and "replayed from snapshot" in v["detail"]]
    assert len(served) == 2, report["verdicts"]
    seen_rows, seen_arrays = pickle.loads((work / "seen.pkl").read_bytes())
    same(seen_rows, rows)
    same(seen_arrays, arrays)
    # on today's data both reads differ, and the replay says so
    code, current = replay_json(work, "original.lock.json", "--against-current", "--out", "current.lock.json")
    assert code == 1
    diverged = [v for v in current["verdicts"] if v["op"] == "read" and v["verdict"] == "DIVERGED"]
    assert len(diverged) == 2, current["verdicts"]
    today_rows, today_arrays = pickle.loads((work / "seen.pkl").read_bytes())
    same(today_rows, plain(work)[0])
    same(today_arrays, plain(work)[1])
