"""numpy values: arrays from their buffers, scalars tagged with their dtype, RNG state.

Only called when numpy is already in ``sys.modules``.
"""

from __future__ import annotations

import struct
import sys
from typing import Any

from notelock.core.hashing.base import tag, text
from notelock.core.hashing.encoder import handlers

_T_NDARRAY = tag("ndarray")
_T_NDSUB = tag("ndarray-subclass")
_T_MASKED = tag("masked-array")
_T_NPSCALAR = tag("numpy-scalar")
_T_DTYPE = tag("numpy-dtype")
_T_UFUNC = tag("ufunc")
_T_RANDOMSTATE = tag("RandomState")
_T_GENERATOR = tag("Generator")
_T_BITGEN = tag("BitGenerator")

# Slabs of a 2-D array copied at once when it is not C-contiguous: bounded memory.
_SLAB_BYTES = 64 << 20


@handlers.register_lazy("numpy")
def _register_numpy() -> None:
    np = sys.modules["numpy"]
    handlers.register(np.ndarray, subclasses=True)(encode_ndarray)
    handlers.register(np.generic, subclasses=True)(_encode_scalar)
    handlers.register(np.dtype, subclasses=True)(_encode_dtype)
    handlers.register(np.ufunc, subclasses=True)(_encode_ufunc)
    random = getattr(np, "random", None)
    if random is not None:
        handlers.register(random.RandomState, subclasses=True)(_encode_randomstate)
        handlers.register(random.Generator, subclasses=True)(_encode_generator)
        handlers.register(random.BitGenerator, subclasses=True)(_encode_bitgenerator)


def _encode_scalar(enc: Any, obj: Any) -> None:
    dt = obj.dtype
    if dt.fields is None:
        enc.h.update(_T_NPSCALAR + _dtype_bytes(dt) + obj.tobytes())
        return
    np = sys.modules["numpy"]
    enc.h.update(_T_NPSCALAR + _dtype_bytes(dt))
    write_raw(enc, np.asarray(obj))  # structured: padding masked


def _encode_dtype(enc: Any, obj: Any) -> None:
    enc.write(_T_DTYPE + _dtype_bytes(obj))


def _encode_ufunc(enc: Any, obj: Any) -> None:
    enc.write(_T_UFUNC + text(getattr(obj, "__name__", repr(obj))))


def _encode_randomstate(enc: Any, obj: Any) -> None:
    # The full Mersenne Twister state: two generators that will draw the
    # same numbers hash equal, however they were seeded.
    enc.write(_T_RANDOMSTATE)
    enc.encode(obj.get_state(legacy=False))


def _encode_generator(enc: Any, obj: Any) -> None:
    bitgen = obj.bit_generator
    enc.write(_T_GENERATOR + text(type(bitgen).__name__))
    enc.encode(bitgen.state)


def _encode_bitgenerator(enc: Any, obj: Any) -> None:
    enc.write(_T_BITGEN + text(type(obj).__name__))
    enc.encode(obj.state)


_DTYPE_BYTES: dict[Any, bytes] = {}


def _dtype_bytes(dt: Any) -> bytes:
    """The dtype string (``<i8``, ``|b1``, ``<M8[ns]``), plus the full descr when structured."""
    try:
        return _DTYPE_BYTES[dt]
    except (KeyError, TypeError):
        pass
    out = text(dt.str)
    if dt.fields is not None or dt.subdtype is not None:
        out += text(repr(dt.descr))
    if len(_DTYPE_BYTES) < 4096:  # structured dtypes can be made at will: keep the cache bounded
        _DTYPE_BYTES[dt] = out
    return out


def encode_ndarray(enc: Any, arr: Any) -> None:
    """dtype, shape, then the values: the raw buffer, or element by element for objects."""
    np = sys.modules["numpy"]
    if type(arr) is not np.ndarray:
        ma = getattr(np, "ma", None)
        if ma is not None and isinstance(arr, ma.MaskedArray):
            enc.write(_T_MASKED)
            mask = ma.getmaskarray(arr)
            # Values under the mask do not count: zero them (a copy, only here).
            data = np.where(mask, np.zeros((), dtype=arr.dtype), arr.data) if not arr.dtype.hasobject else arr.data
            encode_ndarray(enc, np.asarray(data))
            encode_ndarray(enc, mask)
            return
        enc.write(_T_NDSUB + text(type(arr).__module__ + "." + type(arr).__qualname__))
        arr = np.asarray(arr)
    dt = arr.dtype
    shape = arr.shape
    enc.h.update(_T_NDARRAY + _dtype_bytes(dt) + _pack_shape(len(shape), shape))
    if dt.hasobject:
        encode = enc.encode
        if dt.fields is None:
            for item in arr.reshape(-1):
                encode(item)
        else:
            for item in arr.reshape(-1).tolist():
                encode(item)
        return
    write_raw(enc, arr)


_PAD_MASKS: dict[Any, Any] = {}


def _padding_mask(dt: Any) -> Any:
    """For a structured dtype with padding: a mask with 0xFF on bytes some field covers.

    None when every byte belongs to a field. Padding bytes hold whatever was
    in memory (two equal arrays may differ there), so they are masked out.
    """
    try:
        return _PAD_MASKS[dt]
    except KeyError:
        pass
    np = sys.modules["numpy"]
    mask = np.zeros(dt.itemsize, dtype=np.uint8)
    _cover(dt, 0, mask)
    if mask.all():
        result = None
    else:
        # Applied word-wise: an AND over 8-byte words is several times faster
        # than broadcasting a byte mask over every record.
        word = next(w for w in (8, 4, 2, 1) if dt.itemsize % w == 0)
        result = mask.view(f"<u{word}")
    if len(_PAD_MASKS) < 4096:
        _PAD_MASKS[dt] = result
    return result


def _cover(dt: Any, base: int, mask: Any) -> None:
    if dt.fields is not None:
        for field in dt.fields.values():
            _cover(field[0], base + field[1], mask)
    elif dt.subdtype is not None:
        sub, shape = dt.subdtype
        count = 1
        for s in shape:
            count *= s
        if sub.fields is None and sub.subdtype is None:
            mask[base : base + count * sub.itemsize] = 0xFF
        else:
            for k in range(count):
                _cover(sub, base + k * sub.itemsize, mask)
    else:
        mask[base : base + dt.itemsize] = 0xFF


_SHAPE_STRUCTS: dict[int, Any] = {}


def _pack_shape(ndim: int, shape: tuple) -> bytes:
    packer = _SHAPE_STRUCTS.get(ndim)
    if packer is None:
        packer = _SHAPE_STRUCTS[ndim] = struct.Struct(f"<{ndim + 1}Q")
    return packer.pack(ndim, *shape)


def write_raw(enc: Any, arr: Any) -> None:
    """Write the values of a fixed-width array in C order, without copying when C-contiguous.

    Structured dtypes with padding have their padding bytes zeroed first (a
    masked copy), since they are uninitialised memory.
    """
    dt = arr.dtype
    if dt.fields is None and arr.flags.c_contiguous:
        # xxhash reads the array's buffer directly: no copy, no view objects.
        # (A zero-size array is an empty buffer and adds nothing.)
        enc.h.update(arr)
        return
    np = sys.modules["numpy"]
    if arr.size == 0 or dt.itemsize == 0:
        return
    if dt.fields is not None:
        mask = _padding_mask(dt)
        if mask is not None:
            rows = np.ascontiguousarray(arr).reshape(-1).view(mask.dtype).reshape(-1, mask.shape[0])
            enc.h.update(np.bitwise_and(rows, mask))
            return
        if arr.flags.c_contiguous:
            enc.h.update(arr.reshape(-1).view(np.uint8))
            return
    if arr.ndim >= 2:
        # Copy row slabs so a big strided array never needs a full second copy.
        row_bytes = max(1, arr[0].size * dt.itemsize)
        step = max(1, _SLAB_BYTES // row_bytes)
        for i in range(0, arr.shape[0], step):
            enc.h.update(np.ascontiguousarray(arr[i : i + step]).reshape(-1).view(np.uint8))
        return
    enc.h.update(np.ascontiguousarray(arr).view(np.uint8))
