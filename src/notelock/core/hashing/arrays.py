"""numpy values: arrays from their buffers, scalars tagged with their dtype, RNG state.

Only called when numpy is already in ``sys.modules``.
"""

from __future__ import annotations

import sys
from typing import Any

from notelock.core.hashing.base import tag, text, u64

_T_NDARRAY = tag("ndarray")
_T_NDSUB = tag("ndarray-subclass")
_T_MASKED = tag("masked-array")
_T_NPSCALAR = tag("numpy-scalar")
_T_DTYPE = tag("numpy-dtype")
_T_UFUNC = tag("ufunc")
_T_RANDOMSTATE = tag("RandomState")
_T_GENERATOR = tag("Generator")
_T_BITGEN = tag("BitGenerator")
_T_FIELDS = tag("fields")

# Slabs of a 2-D array copied at once when it is not C-contiguous: bounded memory.
_SLAB_BYTES = 64 << 20


def encode_numpy(enc: Any, obj: Any) -> bool:
    """Write a numpy object; False if *obj* is not one."""
    np = sys.modules["numpy"]
    if isinstance(obj, np.ndarray):
        encode_ndarray(enc, obj)
        return True
    if isinstance(obj, np.generic):
        dt = obj.dtype
        if dt.hasobject:  # numpy.object_ scalars do not exist, but be safe
            return False
        enc.write(_T_NPSCALAR + _dtype_bytes(dt))
        write_raw(enc, np.asarray(obj))
        return True
    if isinstance(obj, np.dtype):
        enc.write(_T_DTYPE + _dtype_bytes(obj))
        return True
    if isinstance(obj, np.ufunc):
        enc.write(_T_UFUNC + text(getattr(obj, "__name__", repr(obj))))
        return True
    random = getattr(np, "random", None)
    if random is not None:
        if isinstance(obj, random.RandomState):
            # The full Mersenne Twister state: two generators that will draw the
            # same numbers hash equal, however they were seeded.
            enc.write(_T_RANDOMSTATE)
            enc.encode(obj.get_state(legacy=False))
            return True
        if isinstance(obj, random.Generator):
            bitgen = obj.bit_generator
            enc.write(_T_GENERATOR + text(type(bitgen).__name__))
            enc.encode(bitgen.state)
            return True
        if isinstance(obj, random.BitGenerator):
            enc.write(_T_BITGEN + text(type(obj).__name__))
            enc.encode(obj.state)
            return True
    return False


def _dtype_bytes(dt: Any) -> bytes:
    """The dtype string (``<i8``, ``|b1``, ``<M8[ns]``), plus the full descr when structured."""
    out = text(dt.str)
    if dt.fields is not None or dt.subdtype is not None:
        out += text(repr(dt.descr))
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
    enc.write(_T_NDARRAY + _dtype_bytes(dt) + u64(arr.ndim) + b"".join(u64(s) for s in arr.shape))
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


def _has_padding(dt: Any) -> bool:
    """Whether a structured dtype leaves bytes no field covers (their content is arbitrary)."""
    spans = sorted((f[1], f[1] + f[0].itemsize) for f in dt.fields.values())
    pos = 0
    for start, end in spans:
        if start > pos:
            return True
        pos = max(pos, end)
    return pos < dt.itemsize or any(_needs_fields(f[0]) for f in dt.fields.values())


def _needs_fields(dt: Any) -> bool:
    if dt.fields is not None:
        return _has_padding(dt)
    if dt.subdtype is not None:
        return _needs_fields(dt.subdtype[0])
    return False


def write_raw(enc: Any, arr: Any) -> None:
    """Write the values of a fixed-width array in C order, without copying when C-contiguous.

    Structured dtypes with padding are written field by field, since padding
    bytes are uninitialised memory (two equal arrays may differ there).
    """
    np = sys.modules["numpy"]
    if arr.size == 0 or arr.dtype.itemsize == 0:
        return
    dt = arr.dtype
    if dt.fields is not None and _needs_fields(dt):
        enc.write(_T_FIELDS)
        for name in dt.names:
            write_raw(enc, np.ascontiguousarray(arr[name]))
        return
    if dt.subdtype is not None and _needs_fields(dt.subdtype[0]):
        write_raw(enc, np.ascontiguousarray(arr).view(dt.subdtype[0]))
        return
    if arr.flags.c_contiguous:
        enc.write(arr.reshape(-1).view(np.uint8))
        return
    if arr.ndim >= 2:
        # Copy row slabs so a big strided array never needs a full second copy.
        row_bytes = max(1, arr[0].size * dt.itemsize)
        step = max(1, _SLAB_BYTES // row_bytes)
        for i in range(0, arr.shape[0], step):
            enc.write(np.ascontiguousarray(arr[i : i + step]).reshape(-1).view(np.uint8))
        return
    enc.write(np.ascontiguousarray(arr).view(np.uint8))
