"""pyarrow values hashed from their buffers, honouring each chunk's offset and length.

The encoding of a column depends only on its logical values: the same data
split into different chunks, or sliced out of a bigger buffer, hashes equal;
two different slices of one array do not collide; bytes under null slots do
not count.

* strings and binaries: the value lengths (int64, computed from the offsets
  buffer with numpy in bounded batches) and the bytes between the first and
  last offset go to two separate hash states, combined at the end, so a
  chunk boundary never changes the stream. ``string`` and ``large_string``
  (and ``binary``/``large_binary``) share one encoding: the offset width is
  storage, not data.
* fixed-width types: the values buffer, slots under nulls zeroed.
* nulls: the positions of null slots (int64, global across chunks) go to a
  third state, so chunks without nulls cost nothing.
* dictionary arrays: decoded to their values. Nested and other exotic types:
  the Arrow IPC stream of the combined array (still not opaque).

Only called when pyarrow is already in ``sys.modules``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from notelock.core.hashing.base import new_hasher, tag, text, u64
from notelock.core.hashing.encoder import handlers

_T_ARROW = tag("arrow")
_T_TABLE = tag("arrow-table")
_T_SCALAR = tag("arrow-scalar")
_T_TYPE = tag("arrow-type")
_T_VARBIN = tag("varbinary")
_T_FIXED = tag("fixed")
_T_BOOL = tag("boolean")
_T_NULL = tag("null")
_T_IPC = tag("ipc")

# Offsets are turned into lengths this many at a time (bounded scratch memory).
_BATCH = 1 << 16


@handlers.register_lazy("pyarrow")
def _register_pyarrow() -> None:
    pa = sys.modules["pyarrow"]
    handlers.register(pa.ChunkedArray, subclasses=True)(_encode_chunked)
    handlers.register(pa.Array, subclasses=True)(_encode_array)
    handlers.register(pa.Table, pa.RecordBatch, subclasses=True)(_encode_table)
    handlers.register(pa.Scalar, subclasses=True)(_encode_scalar)
    handlers.register(pa.DataType, subclasses=True)(_encode_type)


def _encode_chunked(enc: Any, obj: Any) -> None:
    encode_chunks(enc, obj.type, obj.chunks)


def _encode_array(enc: Any, obj: Any) -> None:
    encode_chunks(enc, obj.type, [obj])


def _encode_table(enc: Any, obj: Any) -> None:
    pa = sys.modules["pyarrow"]
    enc.write(_T_TABLE + u64(obj.num_rows) + u64(obj.num_columns))
    for field, column in zip(obj.schema, obj.columns):
        enc.write(text(field.name))
        if isinstance(column, pa.ChunkedArray):
            encode_chunks(enc, column.type, column.chunks)
        else:
            encode_chunks(enc, column.type, [column])


def _encode_scalar(enc: Any, obj: Any) -> None:
    pa = sys.modules["pyarrow"]
    enc.write(_T_SCALAR)
    encode_chunks(enc, obj.type, [pa.array([obj], type=obj.type)])


def _encode_type(enc: Any, obj: Any) -> None:
    enc.write(_T_TYPE + text(str(obj)))


def _type_name(pa: Any, typ: Any) -> str:
    t = pa.types
    if t.is_string(typ) or t.is_large_string(typ):
        return "utf8"
    if t.is_binary(typ) or t.is_large_binary(typ):
        return "binary"
    return str(typ)


def encode_varbinary_stream(enc: Any, typ: Any, length: int, nulls: int, chunks: Iterable[Any]) -> None:
    """Write a string or binary column of *length* values (*nulls* of them
    null) given as an iterable of Arrow chunks, each used once and let go:
    the digest is :func:`encode_chunks`' for the same values, and a producer
    that makes each chunk on demand (a copy per slice) never holds more than
    one at a time."""
    pa = sys.modules["pyarrow"]
    enc.write(_T_ARROW + text(_type_name(pa, typ)) + u64(length) + u64(nulls))
    enc.write(_T_VARBIN)
    _encode_varbinary(enc, pa, chunks)


def encode_chunks(enc: Any, typ: Any, chunks: list[Any]) -> None:
    """Write one logical column given as Arrow chunks of type *typ*."""
    pa = sys.modules["pyarrow"]
    t = pa.types
    chunks = [c for c in chunks if len(c)]
    length = sum(len(c) for c in chunks)
    nulls = sum(c.null_count for c in chunks)
    if t.is_dictionary(typ):
        value_type = typ.value_type
        decoded = [c.dictionary_decode() for c in chunks]
        enc.write(_T_ARROW + text("dictionary") + text(_type_name(pa, value_type)))
        encode_chunks(enc, value_type, decoded)
        return
    enc.write(_T_ARROW + text(_type_name(pa, typ)) + u64(length) + u64(nulls))
    if t.is_string(typ) or t.is_large_string(typ) or t.is_binary(typ) or t.is_large_binary(typ):
        enc.write(_T_VARBIN)
        _encode_varbinary(enc, pa, chunks)
    elif t.is_boolean(typ):
        enc.write(_T_BOOL)
        _encode_boolean(enc, pa, chunks)
    elif t.is_null(typ):
        enc.write(_T_NULL)
    else:
        width = _byte_width(typ)
        if width:
            enc.write(_T_FIXED + u64(width))
            _encode_fixed(enc, pa, chunks, width)
        else:
            enc.write(_T_IPC)
            _encode_ipc(enc, pa, typ, chunks)


def _byte_width(typ: Any) -> int:
    try:
        bits = typ.bit_width
    except (ValueError, AttributeError):
        return 0
    return bits // 8 if bits and bits % 8 == 0 else 0


def _null_positions(np: Any, chunk: Any, start: int) -> tuple[Any, Any]:
    """(mask, global int64 positions of null slots) of a chunk with nulls."""
    mask = chunk.is_null().to_numpy(zero_copy_only=False)
    return mask, np.flatnonzero(mask).astype(np.int64) + start


def _encode_varbinary(enc: Any, pa: Any, chunks: Iterable[Any]) -> None:
    np = sys.modules["numpy"]
    lengths_h, data_h, nulls_h = new_hasher(), new_hasher(), new_hasher()
    scratch = np.empty(_BATCH, dtype=np.int64)
    start = 0
    for chunk in chunks:
        n = len(chunk)
        large = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
        if chunk.null_count:
            mask, positions = _null_positions(np, chunk, start)
            nulls_h.update(positions)
            offs = _offsets(np, chunk, large)
            if (offs[1:][mask] != offs[:-1][mask]).any():
                # Some null slot still spans bytes: rebuild the chunk without them.
                binary = pa.types.is_binary(chunk.type) or pa.types.is_large_binary(chunk.type)
                empty = pa.scalar(b"" if binary else "", type=chunk.type)
                chunk = chunk.fill_null(empty)
        offs = _offsets(np, chunk, large)
        for i in range(0, n, _BATCH):
            seg = offs[i : i + _BATCH + 1]
            k = len(seg) - 1
            out = scratch[:k]
            np.subtract(seg[1:], seg[:-1], out=out, casting="unsafe")
            lengths_h.update(out)
        lo, hi = int(offs[0]), int(offs[-1])
        if hi > lo:
            data = chunk.buffers()[2]
            data_h.update(memoryview(data)[lo:hi])
        start += n
    enc.write(lengths_h.digest() + data_h.digest() + nulls_h.digest())


def _offsets(np: Any, chunk: Any, large: bool) -> Any:
    n = len(chunk)
    buf = chunk.buffers()[1]
    dtype = np.int64 if large else np.int32
    return np.frombuffer(buf, dtype=dtype, count=chunk.offset + n + 1)[chunk.offset :]


def _encode_boolean(enc: Any, pa: Any, chunks: list[Any]) -> None:
    np = sys.modules["numpy"]
    data_h, nulls_h = new_hasher(), new_hasher()
    start = 0
    for chunk in chunks:
        if chunk.null_count:
            _, positions = _null_positions(np, chunk, start)
            nulls_h.update(positions)
            chunk = chunk.fill_null(False)
        # Bits unpacked to one byte per value: honours a slice's bit offset.
        data_h.update(chunk.to_numpy(zero_copy_only=False).view(np.uint8))
        start += len(chunk)
    enc.write(data_h.digest() + nulls_h.digest())


def _encode_fixed(enc: Any, pa: Any, chunks: list[Any], width: int) -> None:
    np = sys.modules["numpy"]
    data_h, nulls_h = new_hasher(), new_hasher()
    start = 0
    for chunk in chunks:
        n = len(chunk)
        buf = chunk.buffers()[1]
        raw = np.frombuffer(buf, dtype=np.uint8, count=(chunk.offset + n) * width)[chunk.offset * width :]
        if chunk.null_count:
            mask, positions = _null_positions(np, chunk, start)
            nulls_h.update(positions)
            raw = raw.reshape(n, width).copy()
            raw[mask] = 0  # whatever the buffer holds under a null does not count
        data_h.update(raw)
        start += n
    enc.write(data_h.digest() + nulls_h.digest())


def _encode_ipc(enc: Any, pa: Any, typ: Any, chunks: list[Any]) -> None:
    """Nested and other types: the IPC stream of the concatenated column.

    Concatenation rewrites offsets and buffers from zero, so chunking and
    slicing do not show in the bytes.
    """
    arr = pa.concat_arrays(chunks) if chunks else pa.array([], type=typ)
    batch = pa.RecordBatch.from_arrays([arr], names=["v"])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    data = sink.getvalue()
    enc.write(u64(data.size))
    enc.write(memoryview(data))


def encode_string_array(enc: Any, arr: Any) -> None:
    """Write a pyarrow (large_)string Array or ChunkedArray (used for object string columns)."""
    pa = sys.modules["pyarrow"]
    if isinstance(arr, pa.ChunkedArray):
        encode_chunks(enc, arr.type, arr.chunks)
    else:
        encode_chunks(enc, arr.type, [arr])
