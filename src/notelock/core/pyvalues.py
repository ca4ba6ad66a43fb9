"""Python results of a read (DuckDB's ``.fetchall()`` and ``.fetchnumpy()``) as snapshots.

``.fetchall()`` returns a list of tuples of Python values, ``.fetchnumpy()``
a dict of NumPy arrays (masked arrays where a column has NULLs). Neither is a
frame, so neither has a Parquet or Arrow IPC form that gives back the same
objects. This module writes them as one JSON document in which every value
keeps its exact type, so the value read back hashes equal to the one that
was read and is what the reader returned:

* ``None``, ``bool``, ``int``, ``str`` and finite ``float`` are JSON's own;
* everything else is a list ``[tag, ...]``: ``["tuple", [...]]``,
  ``["list", [...]]``, ``["dict", [[key, value], ...]]`` (order kept),
  ``["float", hex]`` (NaN and infinities, bit for bit), ``["bytes", b64]``,
  ``["bytearray", b64]``, ``["decimal", text]``, ``["date", iso]``,
  ``["datetime", iso, fold, tz]``, ``["time", iso, fold, tz]``,
  ``["timedelta", days, seconds, microseconds]``, ``["uuid", text]``,
  ``["ndarray", dtype, shape, b64]`` (the buffer, C order),
  ``["ndarray-object", shape, [...]]``, ``["masked", data, mask, fill_value]``
  and ``["numpy-scalar", dtype, b64]``; a time zone is ``null``,
  ``["zoneinfo", key]`` or ``["offset", days, seconds, microseconds]``.

Types are matched exactly (a subclass is not its base): a value of any other
type (a pytz time zone, an object of the notebook's own class…) makes the
result one this module cannot snapshot, and :func:`dumps` returns None.
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import json
import math
import struct
import sys
import uuid
from typing import Any

#: ``snapshot_format`` of such a snapshot
PYTHON_JSON = "python-json"
_VERSION = 1


class Unsupported(Exception):
    """A value this module cannot write with its exact type."""


def is_python_result(value: Any) -> bool:
    """Whether *value* has the shape of ``.fetchall()`` (a list) or of
    ``.fetchnumpy()`` (a dict of NumPy arrays)."""
    if type(value) is list:
        return True
    if type(value) is dict and value:
        np = sys.modules.get("numpy")
        return np is not None and all(type(k) is str and isinstance(v, np.ndarray) for k, v in value.items())
    return False


def estimated_bytes(value: Any) -> int:
    """A cheap lower bound of the snapshot's size (to refuse a huge result before writing it)."""
    if type(value) is list:
        width = len(value[0]) if value and type(value[0]) is tuple else 1
        return len(value) * width * 4
    return sum(int(getattr(v, "nbytes", 0)) for v in value.values())


def dumps(value: Any) -> bytes | None:
    """*value* as this module's JSON document, or None when a value in it has
    a type it cannot write exactly."""
    try:
        body = _enc(value)
    except Unsupported:
        return None
    return json.dumps({"python-json": _VERSION, "value": body}, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def loads(data: bytes) -> Any:
    """The value a :func:`dumps` document holds."""
    doc = json.loads(data.decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("python-json") != _VERSION:
        raise ValueError("not a python-json snapshot of a known version")
    return _dec(doc["value"])


# ---------------------------------------------------------------- writing


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _enc(v: Any) -> Any:
    t = type(v)
    if v is None or t is bool or t is int or t is str:
        return v
    if t is float:
        return v if math.isfinite(v) else ["float", struct.pack("<d", v).hex()]
    if t is tuple:
        return ["tuple", [_enc(x) for x in v]]
    if t is list:
        return ["list", [_enc(x) for x in v]]
    if t is dict:
        return ["dict", [[_enc(k), _enc(x)] for k, x in v.items()]]
    if t is bytes:
        return ["bytes", _b64(v)]
    if t is bytearray:
        return ["bytearray", _b64(bytes(v))]
    if t is decimal.Decimal:
        return ["decimal", str(v)]
    if t is _dt.datetime:
        return ["datetime", v.replace(tzinfo=None).isoformat(), v.fold, _enc_tz(v.tzinfo)]
    if t is _dt.date:
        return ["date", v.isoformat()]
    if t is _dt.time:
        return ["time", v.replace(tzinfo=None).isoformat(), v.fold, _enc_tz(v.tzinfo)]
    if t is _dt.timedelta:
        return ["timedelta", v.days, v.seconds, v.microseconds]
    if t is uuid.UUID:
        return ["uuid", str(v)]
    np = sys.modules.get("numpy")
    if np is not None:
        if t is np.ndarray:
            return _enc_array(np, v)
        if t is np.ma.MaskedArray:
            mask = None if v.mask is np.ma.nomask else _enc_array(np, np.ascontiguousarray(v.mask))
            # the fill value only when one was set (reading ``fill_value`` would set the default)
            fill = getattr(v, "_fill_value", None)
            return ["masked", _enc_array(np, np.asarray(v.data)), mask,
                    None if fill is None else _enc_array(np, np.asarray(fill))]
        if isinstance(v, np.generic) and t.__module__ == "numpy" and not v.dtype.hasobject:
            return ["numpy-scalar", v.dtype.str, _b64(v.tobytes())]
    raise Unsupported(t.__qualname__)


def _enc_array(np: Any, arr: Any) -> Any:
    dt = arr.dtype
    if dt.fields is not None or dt.subdtype is not None:
        raise Unsupported("structured array")
    if dt.hasobject:
        return ["ndarray-object", list(arr.shape), [_enc(x) for x in _object_items(arr)]]
    return ["ndarray", dt.str, list(arr.shape), _b64(np.ascontiguousarray(arr).tobytes())]


def _object_items(arr: Any) -> list[Any]:
    """The elements of an object array as the objects it holds (``tolist()``
    would turn NumPy scalars and nested arrays into Python values)."""
    flat = arr.reshape(-1, order="C")
    return [flat[i] for i in range(flat.shape[0])]


def _enc_tz(tz: Any) -> Any:
    if tz is None:
        return None
    zoneinfo = sys.modules.get("zoneinfo")
    if zoneinfo is not None and type(tz) is zoneinfo.ZoneInfo and isinstance(getattr(tz, "key", None), str):
        return ["zoneinfo", tz.key]
    if type(tz) is _dt.timezone:
        offset = tz.utcoffset(None)
        name = tz.tzname(None)
        default = _dt.timezone(offset).tzname(None)
        return ["offset", offset.days, offset.seconds, offset.microseconds, *([name] if name != default else [])]
    raise Unsupported(type(tz).__qualname__)


# ---------------------------------------------------------------- reading


def _dec(v: Any) -> Any:
    if not isinstance(v, list):
        return v
    tag = v[0]
    if tag == "tuple":
        return tuple(_dec(x) for x in v[1])
    if tag == "list":
        return [_dec(x) for x in v[1]]
    if tag == "dict":
        return {_dec(k): _dec(x) for k, x in v[1]}
    if tag == "float":
        return struct.unpack("<d", bytes.fromhex(v[1]))[0]
    if tag == "bytes":
        return base64.b64decode(v[1])
    if tag == "bytearray":
        return bytearray(base64.b64decode(v[1]))
    if tag == "decimal":
        return decimal.Decimal(v[1])
    if tag == "datetime":
        return _dt.datetime.fromisoformat(v[1]).replace(fold=v[2], tzinfo=_dec_tz(v[3]))
    if tag == "date":
        return _dt.date.fromisoformat(v[1])
    if tag == "time":
        return _dt.time.fromisoformat(v[1]).replace(fold=v[2], tzinfo=_dec_tz(v[3]))
    if tag == "timedelta":
        return _dt.timedelta(days=v[1], seconds=v[2], microseconds=v[3])
    if tag == "uuid":
        return uuid.UUID(v[1])
    if tag in ("ndarray", "ndarray-object", "masked", "numpy-scalar"):
        return _dec_numpy(v)
    raise ValueError(f"python-json snapshot: unknown tag {tag!r}")


def _dec_numpy(v: list[Any]) -> Any:
    import numpy as np

    tag = v[0]
    if tag == "ndarray":
        dtype = np.dtype(v[1])
        return np.frombuffer(base64.b64decode(v[3]), dtype=dtype).reshape(v[2]).copy()
    if tag == "ndarray-object":
        items = [_dec(x) for x in v[2]]
        out = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):  # element by element: nested arrays stay arrays
            out[i] = item
        return out.reshape(v[1])
    if tag == "masked":
        out = np.ma.MaskedArray(_dec(v[1]), mask=np.ma.nomask if v[2] is None else _dec(v[2]))
        if v[3] is not None:
            out.fill_value = _dec(v[3])
        return out
    dtype = np.dtype(v[1])
    return np.frombuffer(base64.b64decode(v[2]), dtype=dtype)[0]


def _dec_tz(v: Any) -> Any:
    if v is None:
        return None
    if v[0] == "zoneinfo":
        import zoneinfo

        return zoneinfo.ZoneInfo(v[1])
    offset = _dt.timedelta(days=v[1], seconds=v[2], microseconds=v[3])
    return _dt.timezone(offset, v[4]) if len(v) > 4 else _dt.timezone(offset)


__all__ = ["PYTHON_JSON", "is_python_result", "estimated_bytes", "dumps", "loads", "Unsupported"]
