"""Polars values hashed from their Arrow buffers.

A DataFrame is written as: its shape, every column's name and Polars dtype
(``Int64``, ``Datetime(time_unit='us', time_zone='UTC')``, ``Categorical``…),
then one digest per column of its values, written as the Arrow chunks Polars
exports through :func:`notelock.core.hashing.arrow.encode_chunks` (large
frames on two threads). So the guarantees are the
Arrow ones: chunking (``pl.concat(..., rechunk=False)``, appends) and slice
offsets do not count, two slices of one buffer differ, the bytes under null
slots do not count, and strings are written as lengths and bytes in separate
streams (``["ab", "c"]`` and ``["a", "bc"]`` differ). Names, dtypes, column
order and row order all count. A Series is its name, dtype and values.

Polars frames and pandas or Arrow frames of the same data hash differently:
the tags differ, as the types do.

A LazyFrame is a query, not data: it is hashed by its serialized logical plan
(which holds the source paths and any in-memory frames it scans). The data a
lazy query reads is recorded where it is read: ``LazyFrame.collect`` inside
``%%lock`` is a read node with the plan's source files hashed (see
:mod:`notelock.core.tables`).

``Object`` columns (which Polars exports as object addresses) are written
element by element through the generic encoder; values without a canonical
form make the hash opaque, as anywhere else.

Only called when polars is already in ``sys.modules``.
"""

from __future__ import annotations

import sys
from typing import Any

from notelock.core.hashing.arrow import encode_chunks, encode_varbinary_stream
from notelock.core.hashing.base import tag, text, u64
from notelock.core.hashing.encoder import handlers

_T_FRAME = tag("polars-DataFrame")
_T_SERIES = tag("polars-Series")
_T_LAZY = tag("polars-LazyFrame")
_T_DTYPE = tag("polars-dtype")
_T_OBJECTS = tag("polars-objects")
_T_COLUMNS = tag("polars-column-digests")
_PARALLEL_BYTES = 16 << 20
#: rows of a string column exported to Arrow at a time (see ``_encode_values``)
_EXPORT_ROWS = 1 << 20
_POOL: Any = None


@handlers.register_lazy("polars")
def _register_polars() -> None:
    pl = sys.modules["polars"]
    handlers.register(pl.DataFrame, subclasses=True)(encode_frame)
    handlers.register(pl.Series, subclasses=True)(encode_series)
    handlers.register(pl.LazyFrame, subclasses=True)(encode_lazy)
    dtype_class = getattr(getattr(pl, "datatypes", None), "DataType", None)
    if isinstance(dtype_class, type):
        handlers.register(dtype_class, subclasses=True)(_encode_dtype)


def _compat() -> dict[str, Any]:
    """Export with the oldest Arrow layout (``large_string``, not string views):
    the layout the Arrow encoder reads straight from its buffers."""
    pl = sys.modules["polars"]
    level = getattr(pl, "CompatLevel", None)
    return {"compat_level": level.oldest()} if level is not None else {}


def encode_frame(enc: Any, df: Any) -> None:
    """Write a Polars DataFrame (see the module docstring)."""
    enc.write(_T_FRAME + u64(df.height) + u64(df.width))
    for name, dtype in zip(df.columns, df.dtypes):
        enc.write(text(name) + text(str(dtype)))
    enc.write(_T_COLUMNS + b"".join(_column_digests(enc, df)))


def _column_digests(enc: Any, df: Any) -> list[bytes]:
    """One 16-byte digest per column, so that a large frame is hashed on two
    threads (Polars' Arrow export and xxh3 release the GIL); the digests do
    not depend on the thread. Each column is exported on its own: the export
    of strings is a copy, so a wide frame never holds more than two columns twice.
    ``Object`` columns walk Python objects: always on the calling thread."""
    obj = pl_object()

    def digest(i: int) -> bytes:
        child = enc.child()
        if df.dtypes[i] == obj:
            _encode_objects(child, df.to_series(i))
        else:
            _encode_values(child, df.to_series(i))
        return child.h.digest()

    indexes = range(df.width)
    if df.width < 2 or df.estimated_size() < _PARALLEL_BYTES:
        return [digest(i) for i in indexes]
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notelock-polars")
    futures = {i: _POOL.submit(digest, i) for i in indexes if df.dtypes[i] != obj}
    local = {i: digest(i) for i in indexes if i not in futures}
    return [futures[i].result() if i in futures else local[i] for i in indexes]


def encode_series(enc: Any, s: Any) -> None:
    """Write a Polars Series: name, dtype, values (chunks kept as they are)."""
    enc.write(_T_SERIES + text(s.name) + text(str(s.dtype)) + u64(len(s)))
    if s.dtype == pl_object():
        _encode_objects(enc, s)
        return
    _encode_values(enc, s)


def _encode_values(enc: Any, s: Any) -> None:
    """A Series' values as the Arrow chunks Polars exports. Strings and
    binaries are kept as views in Polars, and exporting them is a copy: they
    are exported and hashed a slice at a time (the digest does not depend on
    the slicing), so the copies reuse one slice's memory instead of touching
    a whole column's worth of fresh pages (the bulk of the cost on a large
    frame) and never hold a second copy of the column."""
    pl = sys.modules["polars"]
    if s.dtype in (pl.String, pl.Binary) and len(s) > _EXPORT_ROWS:
        pa = sys.modules["pyarrow"]
        typ = pa.large_string() if s.dtype == pl.String else pa.large_binary()
        encode_varbinary_stream(enc, typ, len(s), s.null_count(), _exported_slices(s))
        return
    column = s.to_frame().to_arrow(**_compat()).column(0)
    encode_chunks(enc, column.type, column.chunks)


def _exported_slices(s: Any) -> Any:
    """The Arrow chunks of *s*, exported ``_EXPORT_ROWS`` rows at a time."""
    compat = _compat()
    for offset in range(0, len(s), _EXPORT_ROWS):
        yield from s.slice(offset, _EXPORT_ROWS).to_frame().to_arrow(**compat).column(0).chunks


def pl_object() -> Any:
    """Polars' ``Object`` dtype: Python objects, which Polars exports as pointers."""
    return sys.modules["polars"].Object


def _encode_objects(enc: Any, s: Any) -> None:
    """An ``Object`` column element by element (its Arrow export is addresses, not values)."""
    enc.write(_T_OBJECTS + u64(len(s)))
    for value in s.to_list():
        enc.encode(value)


def encode_lazy(enc: Any, lf: Any) -> None:
    """Write a LazyFrame as its serialized logical plan."""
    plan = lf.serialize()
    data = plan.encode("utf-8") if isinstance(plan, str) else bytes(plan)
    enc.write(_T_LAZY + u64(len(data)))
    enc.write(data)


def _encode_dtype(enc: Any, dtype: Any) -> None:
    enc.write(_T_DTYPE + text(str(dtype)))
