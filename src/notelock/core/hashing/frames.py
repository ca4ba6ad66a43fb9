"""pandas values: DataFrame, Series, Index, extension arrays and scalars.

A DataFrame is written as: shape, the column Index, a header of every
column's dtype name, every column's values, then the row index. Columns of a
fixed-width numpy dtype are written as their raw buffers with no framing
(their length follows from the header), so a 2-D block holding consecutive
columns is written with a single update: equal to writing its columns one by
one, which keeps the hash independent of the block layout (copies,
``pd.concat``, consolidation) while costing no Python work per column.

No per-row Python loop for numeric, bool, datetime (with or without tz),
timedelta, period, categorical, nullable (Int64, boolean, Float64) and
pyarrow-backed columns. ``object`` columns of strings go through pyarrow (C
speed); only ``object`` columns of mixed types are written element by element.

Only called when pandas is already in ``sys.modules``.
"""

from __future__ import annotations

import sys
from typing import Any

from notelock.core.hashing.arrays import encode_ndarray, write_raw
from notelock.core.hashing.arrow import encode_chunks, encode_string_array
from notelock.core.hashing.base import i64, tag, text, u64
from notelock.core.hashing.encoder import handlers, range_triple

_T_FRAME = tag("DataFrame")
_T_DTYPES = tag("dtypes")
_T_SERIES = tag("Series")
_T_INDEX = tag("Index")
_T_RANGEINDEX = tag("RangeIndex")
_T_MULTIINDEX = tag("MultiIndex")
_T_EA = tag("ExtensionArray")
_T_ARROWCOL = tag("arrow-values")
_T_OBJECTS = tag("objects")
_T_CATEGORICAL = tag("categorical")
_T_MASKED = tag("masked")
_T_DATETIMELIKE = tag("datetimelike")
_T_INTERVALS = tag("intervals")
_T_GENERIC_EA = tag("ea-objects")
_T_TIMESTAMP = tag("Timestamp")
_T_TIMEDELTA = tag("Timedelta")
_T_PERIOD = tag("Period")
_T_INTERVAL = tag("Interval")
_T_NAT = tag("NaT")
_T_NA = tag("NA")
_T_PDDTYPE = tag("pandas-dtype")

_RUN = "run"
_COL = "col"
_SKIP = ("skip",)


@handlers.register_lazy("pandas")
def _register_pandas() -> None:
    pd = sys.modules["pandas"]
    for cls, fn in (
        (pd.DataFrame, encode_frame),
        (pd.Series, _encode_series),
        (pd.Index, encode_index),
        (pd.api.extensions.ExtensionArray, _encode_ea),
        (type(pd.NaT), _encode_nat),
        (type(pd.NA), _encode_na),
        (pd.Timestamp, _encode_timestamp),
        (pd.Timedelta, _encode_timedelta),
        (pd.Period, _encode_period),
        (pd.Interval, _encode_interval),
        (pd.api.extensions.ExtensionDtype, _encode_pd_dtype),
    ):
        handlers.register(cls, subclasses=True)(fn)


def _encode_series(enc: Any, obj: Any) -> None:
    enc.write(_T_SERIES + u64(len(obj)) + text(dtype_name(obj.dtype)))
    enc.encode(obj.name)
    emit_values(enc, _values(obj))
    encode_index(enc, obj.index)


def _encode_ea(enc: Any, obj: Any) -> None:
    enc.write(_T_EA + u64(len(obj)) + text(dtype_name(obj.dtype)))
    emit_values(enc, obj)


def _encode_nat(enc: Any, obj: Any) -> None:
    enc.write(_T_NAT)


def _encode_na(enc: Any, obj: Any) -> None:
    enc.write(_T_NA)


def _encode_timestamp(enc: Any, obj: Any) -> None:
    # isoformat keeps nanoseconds and the UTC offset; the zone name is added.
    enc.write(_T_TIMESTAMP + text(obj.isoformat()) + text(str(obj.tz)))


def _encode_timedelta(enc: Any, obj: Any) -> None:
    enc.write(_T_TIMEDELTA + text(obj.isoformat()))


def _encode_period(enc: Any, obj: Any) -> None:
    enc.write(_T_PERIOD + text(str(obj)) + text(obj.freqstr))


def _encode_interval(enc: Any, obj: Any) -> None:
    enc.write(_T_INTERVAL + text(obj.closed))
    enc.encode(obj.left)
    enc.encode(obj.right)


def _encode_pd_dtype(enc: Any, obj: Any) -> None:
    pd = sys.modules["pandas"]
    enc.write(_T_PDDTYPE + text(type(obj).__name__) + text(str(obj)))
    if isinstance(obj, pd.CategoricalDtype):
        enc.encode(obj.ordered)
        enc.encode(obj.categories)


def dtype_name(dtype: Any) -> str:
    """The dtype's name as pandas prints it, numpy dtypes in native byte order.

    Values are written in native order (see :func:`emit_values`), so the name
    must not carry the original byte order either.
    """
    np = sys.modules["numpy"]
    if isinstance(dtype, np.dtype) and not dtype.isnative:
        dtype = dtype.newbyteorder("=")
    return str(dtype)


def _values(obj: Any) -> Any:
    """The array behind a Series or Index (ndarray for numpy dtypes, else the ExtensionArray)."""
    values = getattr(obj, "_values", None)
    if values is None:
        values = obj.array
    return values


def emit_values(enc: Any, values: Any) -> None:
    """Write a 1-D column's values; the caller has already written its dtype name and length."""
    np = sys.modules["numpy"]
    if isinstance(values, np.ndarray):
        dt = values.dtype
        if dt.kind in "biufcmM":
            if not dt.isnative:
                values = values.astype(dt.newbyteorder("="))
            write_raw(enc, values)
        elif dt.kind == "O":
            _encode_objects(enc, values)
        else:  # fixed-width bytes/unicode/void: framed with their numpy dtype
            encode_ndarray(enc, values)
        return
    _encode_extension(enc, values)


def _encode_objects(enc: Any, values: Any) -> None:
    """An ``object`` column: strings through pyarrow at C speed, anything else one by one.

    pyarrow infers ``string`` only when every non-missing value is a ``str``
    (a mix with ``bytes`` infers ``binary``, other mixes fail), so the check
    and the conversion are one pass. Missing values (None, NaN, pd.NA) all
    become nulls there, as pandas treats them alike.
    """
    n = len(values)
    if n:
        arr = _strings_to_arrow(values)
        if arr is not None:

            enc.write(_T_ARROWCOL)
            encode_string_array(enc, arr)
            return
    enc.write(_T_OBJECTS + u64(n))
    encode = enc.encode
    for item in values:
        encode(item)


def _strings_to_arrow(values: Any) -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        return None
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    return None


def _encode_extension(enc: Any, arr: Any) -> None:
    pd = sys.modules["pandas"]
    np = sys.modules["numpy"]
    pa_array = getattr(arr, "_pa_array", None)
    if pa_array is not None and "pyarrow" in sys.modules:

        enc.write(_T_ARROWCOL)
        encode_chunks(enc, pa_array.type, pa_array.chunks)
        return
    arrays = pd.arrays
    if isinstance(arr, pd.Categorical):
        _encode_categorical(enc, arr)
        return
    if isinstance(arr, (arrays.IntegerArray, arrays.FloatingArray, arrays.BooleanArray)):
        data, mask = getattr(arr, "_data", None), getattr(arr, "_mask", None)
        if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray):
            nulls = int(np.count_nonzero(mask))
            enc.write(_T_MASKED + u64(nulls))
            if nulls:
                data = data.copy()
                data[mask] = 0  # values under NA are arbitrary: they must not count
                write_raw(enc, data)
                write_raw(enc, mask)
            else:
                write_raw(enc, data)
            return
    if isinstance(arr, (arrays.DatetimeArray, arrays.TimedeltaArray, arrays.PeriodArray)):
        raw = getattr(arr, "_ndarray", None)
        if not isinstance(raw, np.ndarray):
            raw = np.asarray(arr.asi8)
        enc.write(_T_DATETIMELIKE)
        write_raw(enc, raw)
        return
    if isinstance(arr, arrays.StringArray):
        # Python-storage strings: same encoding as pyarrow-backed ones, so the
        # two storages of one dtype hash equal.
        enc.write(_T_ARROWCOL)
        _encode_python_strings(enc, np.asarray(arr, dtype=object))
        return
    if isinstance(arr, arrays.NumpyExtensionArray):
        emit_values(enc, arr.to_numpy())
        return
    if isinstance(arr, arrays.IntervalArray):
        enc.write(_T_INTERVALS + text(arr.closed))
        for side in (arr.left, arr.right):
            enc.write(text(dtype_name(side.dtype)))
            emit_values(enc, _values(side))
        enc.write(u64(int(np.count_nonzero(arr.isna()))))
        write_raw(enc, np.asarray(arr.isna(), dtype=bool))
        return
    # Anything else (sparse, third-party arrays): value by value.
    enc.write(_T_GENERIC_EA + text(type(arr).__module__ + "." + type(arr).__qualname__))
    values = np.asarray(arr, dtype=object)
    enc.write(_T_OBJECTS + u64(len(values)))
    for item in values:
        enc.encode(item)


def _encode_python_strings(enc: Any, values: Any) -> None:
    import pyarrow as pa


    encode_string_array(enc, pa.array(values, type=pa.large_string(), from_pandas=True))


def _encode_categorical(enc: Any, cat: Any) -> None:
    """Categories (as an Index), ordered flag, then the codes.

    For unordered categoricals the category order is not part of equality
    (``CategoricalDtype(["a", "b"]) == CategoricalDtype(["b", "a"])``), so
    categories are sorted first and the codes remapped, when they can be.
    """
    np = sys.modules["numpy"]
    categories = cat.categories
    codes = np.asarray(cat.codes)
    if not cat.ordered and len(categories) > 1 and not categories.is_monotonic_increasing:
        try:
            order = np.asarray(categories.argsort())
        except TypeError:  # categories of mixed, unorderable types: keep them as they are
            order = None
        if order is not None:
            lut = np.empty(len(categories) + 1, dtype=codes.dtype)
            lut[order] = np.arange(len(categories), dtype=codes.dtype)
            lut[-1] = -1  # code -1 (missing) indexes the last slot
            codes = lut[codes]
            categories = categories.take(order)
    enc.write(_T_CATEGORICAL + (b"\x01" if cat.ordered else b"\x00"))
    encode_index(enc, categories)
    enc.write(text(codes.dtype.str) + u64(len(codes)))
    write_raw(enc, codes)


def encode_index(enc: Any, idx: Any) -> None:
    """An Index: type tag, name(s), dtype, values.

    A RangeIndex is written as (length, start, step) without materialising
    it: ``RangeIndex(5, 10)`` and ``RangeIndex(0, 5)`` differ. A MultiIndex
    is written as its levels and codes, after dropping unused levels (which
    do not change equality).
    """
    pd = sys.modules["pandas"]
    np = sys.modules["numpy"]
    if isinstance(idx, pd.RangeIndex):
        n, start, step = range_triple(len(idx), idx.start, idx.step)
        enc.write(_T_RANGEINDEX + i64(n) + i64(start) + i64(step))
        enc.encode(list(idx.names))
        return
    if isinstance(idx, pd.MultiIndex):
        mi = idx.remove_unused_levels()
        enc.write(_T_MULTIINDEX + u64(len(mi)) + u64(mi.nlevels))
        enc.encode(list(mi.names))
        for level, codes in zip(mi.levels, mi.codes):
            encode_index(enc, level)
            # codes are int8..int64 depending on the level size: normalise
            write_raw(enc, np.asarray(codes, dtype=np.int64))
        return
    enc.write(_T_INDEX + text(type(idx).__name__) + u64(len(idx)) + text(dtype_name(idx.dtype)))
    enc.encode(list(idx.names))
    emit_values(enc, _values(idx))


def encode_frame(enc: Any, df: Any) -> None:
    """Shape, column Index, dtype header, column values (in column order), row index."""
    nrows, ncols = df.shape
    enc.write(_T_FRAME + u64(nrows) + u64(ncols))
    encode_index(enc, df.columns)
    plan = _column_plan(df)
    names: list[str] = []
    for item in plan:
        if item[0] == _RUN:
            names.extend([item[3]] * item[2])
        elif item[0] == _COL:
            names.append(item[2])
    cache: dict[str, bytes] = {}
    header = []
    for name in names:
        encoded = cache.get(name)
        if encoded is None:
            encoded = cache[name] = text(name)
        header.append(encoded)
    enc.write(_T_DTYPES + u64(len(names)) + b"".join(header))
    columns: list[Any] = []
    for item in plan:
        if item[0] == _RUN:
            columns.extend(item[1][j] for j in range(item[2]))  # rows of a block are its columns
        elif item[0] == _COL:
            columns.append(item[1])
    enc.write(_T_COLUMNS + b"".join(_column_digests(enc, columns)))
    encode_index(enc, df.index)


_T_COLUMNS = tag("column-digests")
_PARALLEL_BYTES = 16 << 20
_POOL: Any = None


def _column_digests(enc: Any, columns: list[Any]) -> list[bytes]:
    """One 16-byte digest per column, each hashed on its own.

    Per-column digests make the result independent of how pandas groups
    columns into blocks, and let large frames be hashed on two threads:
    xxh3 and NumPy release the GIL, so a second core halves the time. Object
    columns (whose encoding walks Python objects and shared encoder state)
    are always done on the calling thread; the digests do not depend on
    which thread computed them.
    """
    def digest(col: Any) -> bytes:
        child = enc.child()
        emit_values(child, col)
        return child.h.digest()

    def is_object(col: Any) -> bool:
        return getattr(getattr(col, "dtype", None), "kind", "O") == "O" and not hasattr(col, "_pa_array")

    total = sum(int(getattr(c, "nbytes", 0) or 0) for c in columns)
    if len(columns) < 2 or total < _PARALLEL_BYTES:
        return [digest(c) for c in columns]
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notelock-frame")
    futures = {i: _POOL.submit(digest, c) for i, c in enumerate(columns) if not is_object(c)}
    local = {i: digest(c) for i, c in enumerate(columns) if i not in futures}
    return [futures[i].result() if i in futures else local[i] for i in range(len(columns))]


def _column_plan(df: Any) -> list[tuple]:
    """Columns in frame order as ("run", 2-D values, n, dtype name) or ("col", values, dtype name).

    Read from the block manager when possible (one entry per run of
    consecutive numpy columns); otherwise column by column through ``iloc``.
    """
    n = df.shape[1]
    try:
        blocks = df._mgr.blocks
        return _plan_from_blocks(blocks, n)
    except Exception:  # noqa: BLE001 - internals changed: the public path below is exact too
        pass
    plan: list[tuple] = []
    for i in range(n):
        values = _values(df.iloc[:, i])
        plan.append((_COL, values, dtype_name(values.dtype)))
    return plan


def _plan_from_blocks(blocks: Any, n: int) -> list[tuple]:
    np = sys.modules["numpy"]
    slots: list[Any] = [None] * n
    for blk in blocks:
        locs = np.asarray(blk.mgr_locs.as_array, dtype=np.int64)
        if not len(locs):
            continue
        vals = blk.values
        if isinstance(vals, np.ndarray) and vals.ndim == 2 and vals.dtype.kind in "biufcmM":
            if not vals.dtype.isnative:
                vals = vals.astype(vals.dtype.newbyteorder("="))
            name = dtype_name(vals.dtype)
            bounds = (np.flatnonzero(np.diff(locs) != 1) + 1).tolist()
            for a, b in zip([0, *bounds], [*bounds, len(locs)]):
                first = int(locs[a])
                slots[first] = (_RUN, vals[a:b], b - a, name)
                slots[first + 1 : first + (b - a)] = [_SKIP] * (b - a - 1)
        elif getattr(vals, "ndim", 1) == 2:
            for j, loc in enumerate(locs.tolist()):
                col = vals[j]
                slots[loc] = (_COL, col, dtype_name(col.dtype))
        else:
            slots[int(locs[0])] = (_COL, vals, dtype_name(vals.dtype))
    if len(slots) != n or any(s is None for s in slots):
        raise ValueError("block manager does not cover every column")
    return [s for s in slots if s is not _SKIP]
